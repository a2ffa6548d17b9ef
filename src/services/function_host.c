/* Host callbacks of running functions (see function_host.h). A secret is readable only when the
 * deployment declared it AND its owner granted it to this function (secrets.grant). Prices are
 * the price feed's latest signed rounds; HTTP goes through the parent's egress proxy (allowlisted
 * there) with TLS ending here, and the sandbox counts calls against the function's limit. */
#include "services/function_host.h"

#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "enclave/egress_client.h"
#include "services/pricefeed.h"
#include "services/secrets.h"

static bool declared(const json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v) ?: "", name) == 0) return true;
    return false;
}

static nsl_err secret_get(void *ctx, const char *name, char **value, size_t *len,
                          struct nsl_error *err)
{
    struct nsl_function_host *h = ctx;
    if (!declared(h->declared, name))
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "secret %s is not declared by this function", name);
    struct nsl_secret *secret = NULL;
    NSL_TRY(nsl_secrets_read_granted(h->store, h->account, name, h->function, &secret, err));
    *len = nsl_secret_len(secret);
    *value = malloc(*len + 1);
    if (*value) {
        memcpy(*value, nsl_secret_bytes(secret), *len);
        (*value)[*len] = 0;
    }
    nsl_secret_free(secret);
    return *value ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static nsl_err price_get(void *ctx, const char *pair, json_t **price, struct nsl_error *err)
{
    struct nsl_function_host *h = ctx;
    return nsl_pricefeed_latest(h->store, pair, price, err);
}

/* {method, url, headers: {name: value}, body} → an egress request; header lines in lines[]. */
static nsl_err to_request(const json_t *request, char **lines, size_t *n,
                          struct nsl_egress_request *req, struct nsl_error *err)
{
    const char *method = nsl_json_str(request, "method");
    const json_t *headers = json_object_get(request, "headers");
    const char *name;
    json_t *value;
    *n = 0;
    if (method && strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "http.request method must be GET or POST");
    if (!nsl_json_str(request, "url"))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "http.request needs a url");
    json_object_foreach((json_t *)headers, name, value)
    {
        if (*n == 32 || !json_is_string(value) ||
            asprintf(&lines[*n], "%s: %s", name, json_string_value(value)) < 0)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "http.request headers: at most 32, each a string");
        (*n)++;
    }
    const char *body = nsl_json_str(request, "body");
    *req = (struct nsl_egress_request){method,
                                       nsl_json_str(request, "url"),
                                       (const char *const *)lines,
                                       *n,
                                       body,
                                       body ? strlen(body) : 0,
                                       0,
                                       0};
    return NSL_OK;
}

static nsl_err http_request(void *ctx, const json_t *request, json_t **response,
                            struct nsl_error *err)
{
    struct nsl_function_host *h = ctx;
    if (!h->ctx->egress)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "outbound HTTP is not configured");
    char *lines[32];
    size_t n = 0;
    struct nsl_egress_request req;
    struct nsl_egress_response resp = {0};
    nsl_err rc = to_request(request, lines, &n, &req, err);
    if (rc == NSL_OK)
        rc = nsl_egress_fetch(h->ctx->egress, &req, &resp, err);
    if (rc == NSL_OK) {
        *response = json_pack("{s:i, s:s%}", "status", resp.status, "body",
                              resp.body ? resp.body : "", resp.body ? resp.body_len : 0);
        if (!*response)
            rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "the response body is not UTF-8 text");
    }
    nsl_egress_response_clear(&resp);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    return rc;
}

struct nsl_sandbox_host nsl_function_host_callbacks(struct nsl_function_host *host)
{
    return (struct nsl_sandbox_host){host, secret_get, price_get, http_request};
}
