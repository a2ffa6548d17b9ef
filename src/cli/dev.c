/* nsl dev up / nsl dev down (see dev.h). Start order is enclave then parent (the parent
 * forwards to the enclave); stop order is the reverse, so no request is cut off mid-way. */
#include "cli/dev.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/dev_stack.h"
#include "cli/process.h"
#include "common/log.h"
#include "common/options.h"

/* HOST:PORT as nsl-parent --http takes it, but port 0 is refused: the dev stack must know where
 * the API is to wait for it. */
static int http_address_check(const char *value, char *why, size_t why_len)
{
    if (nsl_option_check_host_port(value, why, why_len) != 0)
        return -1;
    const char *colon = strrchr(value, ':');
    if (strtol(colon + 1, NULL, 10) == 0) {
        snprintf(why, why_len, "needs a port other than 0");
        return -1;
    }
    return 0;
}

struct dev_config {
    char *state;
    char *http;
    char *log_level;
    bool background;
    char *egress_allow;
    char *ca_file;
    char *db;
    char *sim_key_file;
};

#define FIELD(f) .offset = offsetof(struct dev_config, f)

static int dev_db_check(const char *value, char *why, size_t why_len)
{
    if (strncmp(value, "postgres://", 11) == 0 || strncmp(value, "postgresql://", 13) == 0)
        return 0;
    snprintf(why, why_len, "must be a postgres:// URL");
    return -1;
}

static const struct nsl_option dev_up_options[] = {
    {"state", NSL_OPT_STRING, FIELD(state), .check = nsl_option_check_path,
     .form = NSL_OPTION_FORM_PATH,
     .help = "directory for sockets, logs, pid files and the store (created 0700; required)"},
    {"http", NSL_OPT_STRING, FIELD(http), "127.0.0.1:8080", .check = http_address_check,
     .form = "HOST:PORT (name, IPv4 or [IPv6]; port 1-65535)",
     .help = "where nsl-parent serves the API"},
    {"log-level", NSL_OPT_STRING, FIELD(log_level), .check = nsl_log_levels_check,
     .form = NSL_LOG_LEVELS_FORM, .help = "passed to both daemons (unset: their default, info)"},
    {"background", NSL_OPT_BOOL, FIELD(background), "false",
     .help = "return once the stack is up and leave it running (stop it with nsl dev down)"},
    {"egress-allow", NSL_OPT_STRING, FIELD(egress_allow), .form = "HOST:PORT,...",
     .help = "targets the enclave may reach through nsl-parent's egress proxy (checked by it)"},
    {"ca-file", NSL_OPT_STRING, FIELD(ca_file), .check = nsl_option_check_path,
     .form = NSL_OPTION_FORM_PATH,
     .help = "PEM file of extra CAs nsl-enclave trusts for outbound HTTPS"},
    {"db", NSL_OPT_STRING, FIELD(db), .check = dev_db_check,
     .form = "a postgres:// (postgresql://) URL",
     .help = "blob store shared with other stacks (unset: SQLite under --state)"},
    {"sim-key-file", NSL_OPT_STRING, FIELD(sim_key_file), .check = nsl_option_check_path,
     .form = NSL_OPTION_FORM_PATH,
     .help = "sim wrapping key file shared by stacks on one --db (unset: under --state)"},
    NSL_OPTIONS_END,
};

static const struct nsl_option dev_down_options[] = {
    {"state", NSL_OPT_STRING, FIELD(state), .check = nsl_option_check_path,
     .form = NSL_OPTION_FORM_PATH, .help = "state directory given to nsl dev up (required)"},
    NSL_OPTIONS_END,
};

static const struct nsl_options_spec dev_up_spec = {
    "nsl dev up", "--state DIR [OPTIONS]",
    "Starts nsl-enclave (simulated attestation) and nsl-parent in dev mode under DIR and waits "
    "until the API answers;\nwithout --background, stays until Ctrl-C and then stops both.",
    dev_up_options, false};

static const struct nsl_options_spec dev_down_spec = {
    "nsl dev down", "--state DIR", "Stops the dev stack started with nsl dev up --background.",
    dev_down_options, false};

static int check_up_config(const struct dev_config *cfg)
{
    if (!cfg->state || !cfg->state[0]) {
        fprintf(stderr, "nsl dev up: --state DIR is required\n");
        return 2;
    }
    return 0;
}

static int dev_up(int argc, char **argv)
{
    struct dev_config cfg = {0};
    int next, rc;
    enum nsl_options_result pr = nsl_options_parse(&dev_up_spec, &cfg, argc, argv, &next);
    if (pr != NSL_OPTIONS_OK)
        rc = pr == NSL_OPTIONS_EXIT_SUCCESS ? 0 : 2;
    else if ((rc = check_up_config(&cfg)) == 0)
        rc = nsl_cli_dev_stack_up(&(struct nsl_cli_dev_up){cfg.state, cfg.http, cfg.log_level,
                                                           cfg.background, cfg.egress_allow,
                                                           cfg.ca_file, cfg.db, cfg.sim_key_file});
    nsl_options_free(&dev_up_spec, &cfg);
    return rc;
}

static int dev_down(int argc, char **argv)
{
    struct dev_config cfg = {0};
    int next, rc;
    enum nsl_options_result pr = nsl_options_parse(&dev_down_spec, &cfg, argc, argv, &next);
    if (pr != NSL_OPTIONS_OK) {
        rc = pr == NSL_OPTIONS_EXIT_SUCCESS ? 0 : 2;
    } else if (!cfg.state || !cfg.state[0]) {
        fprintf(stderr, "nsl dev down: --state DIR is required\n");
        rc = 2;
    } else {
        rc = nsl_cli_dev_stack_down(cfg.state);
    }
    nsl_options_free(&dev_down_spec, &cfg);
    return rc;
}

int nsl_cli_dev_main(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "up") == 0)
        return dev_up(argc, argv);
    if (argc >= 1 && strcmp(argv[0], "down") == 0)
        return dev_down(argc, argv);
    FILE *out = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
                    ? stdout
                    : stderr;
    fprintf(out, "Usage: nsl dev up --state DIR [--http HOST:PORT] [--log-level LEVEL] "
                 "[--background]\n              [--egress-allow HOST:PORT,...] [--ca-file FILE]\n"
                 "              [--db postgres://...] [--sim-key-file FILE]\n"
                 "       nsl dev down --state DIR\n");
    return out == stdout ? 0 : 2;
}
