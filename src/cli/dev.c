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

static const struct nsl_option dev_up_options[] = {
    {"state", NSL_OPT_STRING, offsetof(struct dev_config, state), NULL, 0, 0,
     "directory for sockets, logs, pid files and the store (created 0700; required)"},
    {"http", NSL_OPT_STRING, offsetof(struct dev_config, http), "127.0.0.1:8080", 0, 0,
     "HOST:PORT where nsl-parent serves the API"},
    {"log-level", NSL_OPT_STRING, offsetof(struct dev_config, log_level), NULL, 0, 0,
     "LEVEL or COMPONENT=LEVEL,... (docs/logging.md), passed to both daemons"},
    {"background", NSL_OPT_BOOL, offsetof(struct dev_config, background), "false", 0, 0,
     "return once the stack is up and leave it running (stop it with nsl dev down)"},
    {"egress-allow", NSL_OPT_STRING, offsetof(struct dev_config, egress_allow), NULL, 0, 0,
     "HOST:PORT,... the enclave may reach through nsl-parent's egress proxy"},
    {"ca-file", NSL_OPT_STRING, offsetof(struct dev_config, ca_file), NULL, 0, 0,
     "PEM file of extra CAs nsl-enclave trusts for outbound HTTPS"},
    {"db", NSL_OPT_STRING, offsetof(struct dev_config, db), NULL, 0, 0,
     "postgres://… blob store shared with other stacks (default: SQLite under --state)"},
    {"sim-key-file", NSL_OPT_STRING, offsetof(struct dev_config, sim_key_file), NULL, 0, 0,
     "sim wrapping key file shared by stacks on one --db (default: under --state)"},
    NSL_OPTIONS_END,
};

static const struct nsl_option dev_down_options[] = {
    {"state", NSL_OPT_STRING, offsetof(struct dev_config, state), NULL, 0, 0,
     "state directory given to nsl dev up (required)"},
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

/* Checks HOST:PORT (HOST may be [IPv6]) without resolving it. */
static bool http_address_ok(const char *hp)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp || !colon[1] || strlen(colon + 1) > 5)
        return false;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    long port = strtol(colon + 1, NULL, 10);
    return port > 0 && port < 65536;
}

static int check_up_config(const struct dev_config *cfg)
{
    struct nsl_log_levels levels;
    char why[512];
    if (!cfg->state || !cfg->state[0]) {
        fprintf(stderr, "nsl dev up: --state DIR is required\n");
        return 2;
    }
    if (!http_address_ok(cfg->http)) {
        fprintf(stderr, "nsl dev up: --http must be HOST:PORT, not \"%s\"\n", cfg->http);
        return 2;
    }
    if (cfg->log_level && nsl_log_levels_parse(cfg->log_level, &levels, why, sizeof why) != 0) {
        fprintf(stderr, "nsl dev up: --log-level: %s\n", why);
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
