/* Host operations table and request handling for the host channel (see host_ops.h). Envelope
 * validation is the enclave's own (common/routes.h nsl_request_schema), so both ends agree. */
#define NSL_LOG_COMPONENT NSL_LOGC_HOSTCHAN
#include "parent/host_ops.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "common/request_id.h"
#include "common/routes.h"
#include "parent/host_keys.h"
#include "parent/host_kv.h"

/* Two references while deferred: the dispatcher's (dropped when the handler has returned) and
 * the handler's (dropped by nsl_host_call_finish, maybe on another thread before that). */
struct nsl_host_call {
    struct nsl_host_sink *sink;
    json_t *id; /* the request's id (a string) or NULL */
    bool deferred;
    const struct nsl_host_op *op;     /* for the log line; NULL when the envelope was bad */
    char trace[NSL_TRACE_ID_MAX + 1]; /* the enclave request's id, "" when none */
    struct timespec start;
    atomic_int refs;
};

static void call_unref(struct nsl_host_call *call)
{
    if (atomic_fetch_sub(&call->refs, 1) != 1)
        return;
    json_decref(call->id);
    free(call);
}

static nsl_err host_ping(struct nsl_host_context *ctx, const json_t *params,
                         struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)ctx;
    (void)call;
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
    {"kv", "get", nsl_host_kv_get},
    {"kv", "put", nsl_host_kv_put},
    {"kv", "delete", nsl_host_kv_delete},
    {"kv", "list", nsl_host_kv_list},
    {"kv", "batch", nsl_host_kv_batch},
    {"kv", "version", nsl_host_kv_version},
    {"kv", "info", nsl_host_kv_info},
    {"kv", "prune", nsl_host_kv_prune},
    {"keys", "simWrappingKey", nsl_host_keys_sim_wrapping_key},
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
    *len = text ? strlen(text) : 0;
    return text;
}

/* One debug line per call with the enclave request's id as rid (pings are left out: they are
 * the channel's heartbeat, not work). */
static void log_call(const struct nsl_host_call *call, const struct nsl_error *err, bool ok)
{
    const struct nsl_host_op *op = call->op;
    if (!nsl_log_enabled(NSL_LOG_DEBUG) || (op && strcmp(op->service, "host") == 0))
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char ms[32];
    snprintf(ms, sizeof ms, "%.3f",
             (double)(now.tv_sec - call->start.tv_sec) * 1e3 +
                 (double)(now.tv_nsec - call->start.tv_nsec) / 1e6);
    nsl_log_set_request_id(call->trace[0] ? call->trace : NULL);
    nsl_log(NSL_LOG_DEBUG, "host_call", "service", op ? op->service : "?", "operation",
            op ? op->operation : "?", "code", ok ? "OK" : nsl_err_name(err->code), "ms", ms, NULL);
    nsl_log_set_request_id(NULL);
}

static void answer(struct nsl_host_call *call, json_t *result, const struct nsl_error *err)
{
    log_call(call, err, result != NULL);
    size_t len;
    char *text = dump_response(call->id, result, err, &len);
    call->sink->send(call->sink, text, len);
}

void nsl_host_call_defer(struct nsl_host_call *call)
{
    call->deferred = true;
    atomic_fetch_add(&call->refs, 1);
    call->sink->hold(call->sink);
}

void nsl_host_call_finish(struct nsl_host_call *call, json_t *result, const struct nsl_error *err)
{
    struct nsl_host_sink *sink = call->sink;
    answer(call, result, err);
    json_decref(result);
    call_unref(call);
    sink->release(sink); /* last: the connection may go away once its calls are answered */
}

/* Runs the operation the envelope names; the call is answered now unless the handler deferred. */
static void dispatch(struct nsl_host_context *ctx, json_t *req, struct nsl_host_call *call)
{
    struct nsl_error err = {0};
    json_t *result = NULL;
    const struct nsl_host_op *op = NULL;
    nsl_err code =
        nsl_json_check(req, nsl_request_schema, NSL_ERR_INVALID_REQUEST, "request", &err);
    const char *service = nsl_json_str(req, "serviceType"),
               *operation = nsl_json_str(req, "operation"), *trace = nsl_json_str(req, "traceId");
    if (code == NSL_OK && trace && !nsl_request_id_valid(trace, NSL_TRACE_ID_MAX))
        code = nsl_fail(&err, NSL_ERR_INVALID_REQUEST,
                        "request.traceId must be 1-%d characters of A-Z a-z 0-9 . _ -",
                        NSL_TRACE_ID_MAX);
    if (code == NSL_OK && trace)
        snprintf(call->trace, sizeof call->trace, "%s", trace);
    if (code == NSL_OK && (code = nsl_host_op_find(service, operation, &op)) != NSL_OK)
        nsl_fail(&err, code, "no host operation %s.%s", service, operation);
    call->op = op;
    if (code == NSL_OK) {
        json_t *params = json_object_get(req, "params");
        json_t *empty = params ? NULL : json_object();
        nsl_log_set_request_id(call->trace[0] ? call->trace : NULL); /* for the store's lines */
        code = op->handler(ctx, params ? params : empty, call, &result, &err);
        nsl_log_set_request_id(NULL);
        json_decref(empty);
        if (call->deferred)
            return;
        if (code == NSL_OK && !result)
            nsl_fail(&err, NSL_ERR_INTERNAL, "out of memory");
    }
    answer(call, result, &err);
    json_decref(result);
}

bool nsl_host_handle(struct nsl_host_context *ctx, const char *payload, size_t len,
                     struct nsl_host_sink *sink)
{
    struct nsl_error err = {0};
    struct nsl_host_call *call = calloc(1, sizeof *call);
    if (!call) {
        sink->send(sink, NULL, 0);
        return true;
    }
    call->sink = sink;
    atomic_init(&call->refs, 1);
    clock_gettime(CLOCK_MONOTONIC, &call->start);
    json_t *req = nsl_json_parse_object(payload, len, NSL_ERR_BAD_FRAME, &err);
    bool fatal = !req;
    if (fatal) {
        answer(call, NULL, &err);
    } else {
        /* A copy, not a reference: a deferred answer is built on another thread while req is
         * being freed here. */
        json_t *id = json_object_get(req, "id");
        call->id =
            json_is_string(id) ? json_stringn(json_string_value(id), json_string_length(id)) : NULL;
        dispatch(ctx, req, call);
    }
    json_decref(req);
    call_unref(call);
    return fatal;
}
