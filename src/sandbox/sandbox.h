/* The Function service's sandbox runtime (ARCHITECTURE §8, docs/sandbox.md): user JavaScript runs
 * in Duktape inside worker processes forked from a zygote that was started before any secret was
 * loaded, each worker under a seccomp filter, with a fresh heap per invocation and limits on time,
 * memory, result and log size, and outbound HTTP calls. Thread-safe. */
#ifndef NSL_SANDBOX_SANDBOX_H
#define NSL_SANDBOX_SANDBOX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

struct nsl_sandbox_limits {
    uint32_t time_ms;    /* wall time of the whole invocation, host calls included */
    size_t memory_bytes; /* bytes the function's Duktape heap may hold at once */
    size_t max_result;   /* bytes of main()'s result as JSON text */
    size_t max_logs;     /* bytes of all console messages together */
    uint32_t max_http;   /* nsl.http.request calls */
};

/* Calls a running function makes back into the service (run on the invoking thread, in the
 * enclave). */
struct nsl_sandbox_host {
    void *ctx;
    /* value malloc'd (caller of the callback frees with wipe); NOT_FOUND when not granted */
    nsl_err (*secret_get)(void *ctx, const char *name, char **value, size_t *len,
                          struct nsl_error *err);
    nsl_err (*price_get)(void *ctx, const char *pair, json_t **price, struct nsl_error *err);
    nsl_err (*http_request)(void *ctx, const json_t *request, json_t **response,
                            struct nsl_error *err);
};

struct nsl_sandbox_run {
    const char *source;
    size_t source_len;
    const json_t *args; /* NULL = null */
    struct nsl_sandbox_limits limits;
    const struct nsl_sandbox_host *host; /* NULL or NULL callbacks: the call throws in JS */
};

struct nsl_sandbox_outcome {
    json_t *result;
    json_t *logs; /* [{level, message}] */
    uint64_t duration_us;
    size_t memory_peak;
    uint32_t http_requests;
    json_t *error; /* {message, stack} when the function threw (FUNCTION_FAILED), else NULL */
};

struct nsl_sandbox;

/* Forks the zygote process NOW (call before any secret is loaded and before threads start): it
 * later forks workers on request. workers = pool size. */
nsl_err nsl_sandbox_start(unsigned workers, struct nsl_sandbox **out, struct nsl_error *err);
void nsl_sandbox_stop(struct nsl_sandbox *sb);

/* Compiles only (in a worker): INVALID_PARAMS "line N: message" on a syntax error. */
nsl_err nsl_sandbox_check_syntax(struct nsl_sandbox *sb, const char *source, size_t len,
                                 struct nsl_error *err);

/* Runs main(args) in a fresh global environment. FUNCTION_FAILED with the JS message and stack
 * when it throws; TIMEOUT over time; LIMIT_EXCEEDED over memory, result or log size, or HTTP
 * count. On FUNCTION_FAILED and LIMIT_EXCEEDED, out still holds the logs captured so far (free it
 * with nsl_sandbox_outcome_free whatever the return). */
nsl_err nsl_sandbox_invoke(struct nsl_sandbox *sb, const struct nsl_sandbox_run *run,
                           struct nsl_sandbox_outcome *out, struct nsl_error *err);
void nsl_sandbox_outcome_free(struct nsl_sandbox_outcome *out);

#endif
