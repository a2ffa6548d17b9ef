/* The enclave's HTTPS client (docs/egress.md). The enclave has no network: every request goes as
 * HTTP CONNECT to the parent's egress proxy over the egress URL (vsock or unix), and TLS runs
 * here, end to end with the target, certificates always verified (system CA bundle plus an
 * optional extra CA file). https only, no redirects, bounded time and size. */
#ifndef NSL_ENCLAVE_EGRESS_CLIENT_H
#define NSL_ENCLAVE_EGRESS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

#define NSL_EGRESS_DEFAULT_TIMEOUT_MS 5000
#define NSL_EGRESS_DEFAULT_MAX_BYTES  (1u << 20)
#define NSL_EGRESS_MAX_REQUESTS       64 /* per nsl_egress_fetch_many */

struct nsl_egress;

/* url: the parent's egress listener (vsock://3:5002 in production). ca_file: NULL, or a PEM file
 * of extra trusted CAs (all its certificates), trusted in addition to the system bundle.
 * INVALID_PARAMS for a bad URL or CA file. Nothing is connected until a fetch. */
nsl_err nsl_egress_new(const char *url, const char *ca_file, struct nsl_egress **out,
                       struct nsl_error *err);
void nsl_egress_free(struct nsl_egress *eg);

struct nsl_egress_request {
    const char *method;         /* "GET" (NULL means GET) or "POST" */
    const char *url;            /* https://… only */
    const char *const *headers; /* "Name: value" strings */
    size_t header_count;
    const void *body; /* POST body (may be NULL) */
    size_t body_len;
    int timeout_ms;            /* whole request; 0: NSL_EGRESS_DEFAULT_TIMEOUT_MS */
    size_t max_response_bytes; /* body cap; 0: NSL_EGRESS_DEFAULT_MAX_BYTES */
};

struct nsl_egress_response {
    int status;    /* HTTP status of the target's answer */
    char *headers; /* raw response header lines (malloc'd, NUL-terminated) */
    char *body;    /* malloc'd, NUL-terminated (the NUL not counted in body_len) */
    size_t body_len;
    uint64_t duration_us; /* from start to the last byte */
};

void nsl_egress_response_clear(struct nsl_egress_response *resp);

/* One request. Any HTTP status is a success (resp->status says which); errors:
 * INVALID_PARAMS (not https, bad method, URL or header), PERMISSION_DENIED (the target is not in
 * the parent's allowlist), UNAVAILABLE (proxy, connect, TLS, or "certificate of HOST did not
 * verify"), TIMEOUT, LIMIT_EXCEEDED (response over max_response_bytes), INTERNAL. On error resp
 * is left cleared. */
nsl_err nsl_egress_fetch(const struct nsl_egress *eg, const struct nsl_egress_request *req,
                         struct nsl_egress_response *resp, struct nsl_error *err);

/* n requests at once (one curl multi handle): resps[i] and errs[i] as nsl_egress_fetch would
 * give them for reqs[i]. Returns an error only when nothing could be started (n over
 * NSL_EGRESS_MAX_REQUESTS, out of memory); per-request failures are in errs[i].code. */
nsl_err nsl_egress_fetch_many(const struct nsl_egress *eg, const struct nsl_egress_request *reqs,
                              size_t n, struct nsl_egress_response *resps, struct nsl_error *errs);

#endif
