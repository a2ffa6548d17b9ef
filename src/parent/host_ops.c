/* Host operations table and request handling for the host channel (see host_ops.h). Envelope
 * validation is the enclave's own (common/routes.h nsl_request_schema), so both ends agree. */
#include "parent/host_ops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/routes.h"

static nsl_err host_ping(struct nsl_host_context *ctx, const json_t *params, json_t **result,
                         struct nsl_error *err)
{
    (void)ctx;
    if (json_object_size(params) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "host.ping takes no params");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_int_t ms = (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    *result = json_pack("{s:I}", "time", ms);
    return *result ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static const struct nsl_host_op host_ops[] = {
    {"host", "ping", host_ping},
};

nsl_err nsl_host_op_find(const char *service, const char *operation, const struct nsl_host_op **op)
{
    bool service_known = false;
    for (size_t i = 0; i < sizeof host_ops / sizeof host_ops[0]; i++) {
        if (strcmp(host_ops[i].service, service) != 0)
            continue;
        service_known = true;
        if (strcmp(host_ops[i].operation, operation) == 0) {
            *op = &host_ops[i];
            return NSL_OK;
        }
    }
    return service_known ? NSL_ERR_UNKNOWN_OPERATION : NSL_ERR_UNKNOWN_SERVICE;
}

static char *dump_response(const json_t *id, json_t *result, const struct nsl_error *err,
                           size_t *len)
{
    json_t *resp =
        result
            ? json_pack("{s:O, s:b, s:O}", "id", id ? id : json_null(), "ok", 1, "result", result)
            : json_pack("{s:O, s:b, s:{s:s, s:s}}", "id", id ? id : json_null(), "ok", 0, "error",
                        "code", nsl_err_name(err->code), "message", err->message);
    char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
    json_decref(resp);
    if (text)
        *len = strlen(text);
    return text;
}

char *nsl_host_handle(struct nsl_host_context *ctx, const char *payload, size_t len,
                      size_t *out_len, int *fatal)
{
    struct nsl_error err = {0};
    json_t *result = NULL, *id = NULL;
    const struct nsl_host_op *op = NULL;
    *fatal = 0;
    json_t *req = nsl_json_parse_object(payload, len, NSL_ERR_BAD_FRAME, &err);
    if (!req) {
        *fatal = 1;
        return dump_response(NULL, NULL, &err, out_len);
    }
    json_t *raw_id = json_object_get(req, "id");
    if (json_is_string(raw_id))
        id = raw_id;
    nsl_err code =
        nsl_json_check(req, nsl_request_schema, NSL_ERR_INVALID_REQUEST, "request", &err);
    const char *service = nsl_json_str(req, "serviceType"),
               *operation = nsl_json_str(req, "operation");
    if (code == NSL_OK && (code = nsl_host_op_find(service, operation, &op)) != NSL_OK)
        nsl_fail(&err, code, "no host operation %s.%s", service, operation);
    if (code == NSL_OK) {
        json_t *params = json_object_get(req, "params");
        json_t *empty = params ? NULL : json_object();
        op->handler(ctx, params ? params : empty, &result, &err);
        json_decref(empty);
    }
    char *text = dump_response(id, result, &err, out_len);
    json_decref(result);
    json_decref(req);
    return text;
}
