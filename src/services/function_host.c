/* Host callbacks of running functions (see function_host.h). A secret is readable only when the
 * deployment declared it AND its owner granted it to this function (secrets.grant). Prices and
 * outbound HTTP need the price feed and the egress proxy (issue 9), which this build does not
 * have: those calls fail with UNAVAILABLE saying so. */
#include "services/function_host.h"

#include <stdlib.h>
#include <string.h>

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
    (void)ctx;
    (void)pair;
    (void)price;
    return nsl_fail(err, NSL_ERR_UNAVAILABLE,
                    "nsl.price.get needs the price feed service, "
                    "which this build does not include yet");
}

static nsl_err http_request(void *ctx, const json_t *request, json_t **response,
                            struct nsl_error *err)
{
    (void)ctx;
    (void)request;
    (void)response;
    return nsl_fail(err, NSL_ERR_UNAVAILABLE,
                    "nsl.http.request needs the parent's egress proxy, "
                    "which this build does not include yet");
}

struct nsl_sandbox_host nsl_function_host_callbacks(struct nsl_function_host *host)
{
    return (struct nsl_sandbox_host){host, secret_get, price_get, http_request};
}
