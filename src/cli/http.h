/* A small blocking HTTP client over libcurl for the CLI: one request, the status and a body of
 * bounded size. Transport failures become UNAVAILABLE (cannot connect, connection dropped) or
 * TIMEOUT, with curl's reason as the message. Call curl_global_init once before use. */
#ifndef NSL_CLI_HTTP_H
#define NSL_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/errors.h"

/* Largest response body accepted. */
#define NSL_CLI_HTTP_MAX_BODY (64u << 20)

struct nsl_cli_http_request {
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;           /* POST this body when not NULL, else GET */
    size_t body_len;
    long connect_timeout_ms;
    long timeout_ms;
    bool no_proxy; /* ignore http_proxy & co (for our own loopback daemons) */
};

struct nsl_cli_http_response {
    long status;
    struct nsl_buf body;
};

nsl_err nsl_cli_http_send(const struct nsl_cli_http_request *req,
                          struct nsl_cli_http_response *resp, struct nsl_error *err);
void nsl_cli_http_response_free(struct nsl_cli_http_response *resp);

#endif
