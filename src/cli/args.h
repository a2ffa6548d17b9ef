/* The nsl command line: global options, the operation named by <service> <operation>, and its
 * params built from key=value pairs typed by the operation's schema in the routes table (or from
 * --params JSON). Pure apart from reading @FILE / @- values: no network, no globals. */
#ifndef NSL_CLI_ARGS_H
#define NSL_CLI_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/errors.h"
#include "common/json.h"

#define NSL_CLI_DEFAULT_URL "http://127.0.0.1:8080"
/* Largest value read from @FILE / @- (the enclave refuses frames above 1 MiB anyway). */
#define NSL_CLI_MAX_VALUE_FILE (8u << 20)
/* Most --pcr options (one per PCR index). */
#define NSL_CLI_MAX_PCR_OPTIONS 32

enum nsl_cli_action {
    NSL_CLI_RPC,          /* send (or print) one request */
    NSL_CLI_HELP,         /* nsl --help, or nsl with no arguments */
    NSL_CLI_SERVICE_HELP, /* nsl <service> --help: route is the service's first operation */
    NSL_CLI_OP_HELP,      /* nsl <service> <operation> --help */
    NSL_CLI_VERSION,
    NSL_CLI_DEV, /* nsl dev ...: argv[next..] belong to the dev stack */
};

/* When params are sealed to the attested enclave (cli/seal.h). */
enum nsl_cli_seal_mode {
    NSL_CLI_SEAL_AUTO,   /* the operations the routes table marks sensitive */
    NSL_CLI_SEAL_ALWAYS, /* --seal: every operation */
    NSL_CLI_SEAL_NEVER,  /* --no-seal: none (debugging; the enclave may refuse) */
};

/* What the environment offers; flags win over it. */
struct nsl_cli_env {
    const char *url;        /* NSL_URL */
    const char *api_key;    /* NSL_API_KEY */
    const char *account;    /* NSL_ACCOUNT */
    const char *passphrase; /* NSL_KEY_PASSPHRASE */
};

struct nsl_cli_args {
    enum nsl_cli_action action;
    const char *url;     /* never NULL after a successful parse; borrowed */
    const char *api_key; /* NULL when none or when signing with --key; borrowed */
    /* neo-sig signing (--key FILE); the file is read by cli/auth.c, not here. All borrowed;
     * account and passphrase are the flag's or the environment's, NULL when neither. */
    const char *key_file;
    const char *passphrase_file;
    const char *passphrase;
    const char *account;
    const char *env_account;
    bool json;
    bool print_request;
    /* Sealing and the attestation policy's flags; NSL_ALLOW_SIMULATED and NSL_PCRS are read by
     * cli/seal.c's caller. pcrs are the --pcr N=HEX values as given, borrowed. */
    enum nsl_cli_seal_mode seal;
    bool allow_simulated;
    bool allow_debug;
    const char *pcrs[NSL_CLI_MAX_PCR_OPTIONS];
    size_t npcrs;
    size_t route;   /* index into nsl_routes (RPC, SERVICE_HELP, OP_HELP) */
    json_t *params; /* RPC: the checked params object; owned */
    int next;       /* DEV: index in argv of the word after "dev" */
};

/* Parses argv. Global options may stand before or after <service> <operation>. On failure the
 * code is UNKNOWN_SERVICE, UNKNOWN_OPERATION or INVALID_PARAMS for a refused request and
 * INVALID_REQUEST for a malformed command line; nothing is left to free. */
nsl_err nsl_cli_args_parse(int argc, char **argv, const struct nsl_cli_env *env,
                           struct nsl_cli_args *args, struct nsl_error *err);
void nsl_cli_args_free(struct nsl_cli_args *args);

/* nsl's global options, for completion: the name of option i (without "--") and whether it
 * takes a value; NULL past the last one. */
const char *nsl_cli_global_option(size_t i, bool *takes_value);

/* Builds a params object from "key=value" pairs typed by schema (see docs/cli.md):
 * STRING/HEX/BASE64/DIGITS stay strings, INT becomes an integer, BOOL true|false, OBJECT/ARRAY/ANY
 * are parsed as JSON. The result is checked against schema (limits, required fields). */
nsl_err nsl_cli_params_from_pairs(const struct nsl_field_spec *schema, const char *const *pairs,
                                  size_t count, json_t **params, struct nsl_error *err);
/* Parses text (or @FILE / @-) as the whole params object and checks it against schema. */
nsl_err nsl_cli_params_from_json(const struct nsl_field_spec *schema, const char *text,
                                 json_t **params, struct nsl_error *err);
/* Types one value's text for field f. */
nsl_err nsl_cli_value_from_text(const struct nsl_field_spec *f, const char *text, size_t len,
                                json_t **value, struct nsl_error *err);

#endif
