/* Request validation and dispatch through the operations table (see router.h). */
#define NSL_LOG_COMPONENT NSL_LOGC_ROUTER
#include "enclave/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/frame.h"
#include "common/json_render.h"
#include "common/log.h"
#include "common/request_id.h"
#include "enclave/auth.h"
#include "enclave/probe.h"
#include "enclave/sealing.h"
#include "enclave/storage.h"
#include "services/audit.h"

static const nsl_handler handlers[] = {
#define NSL_ROUTE(svc, op, perm, flags, summary) nsl_##svc##_##op,
#include "common/routes.def"
#undef NSL_ROUTE
};

_Static_assert(sizeof handlers / sizeof handlers[0] <= 64, "raise route_calls in service.h");

nsl_err nsl_router_prepare(const char *payload, size_t len, struct nsl_request *req,
                           struct nsl_error *err)
{
    memset(req, 0, sizeof *req);
    req->root = nsl_json_parse_object(payload, len, NSL_ERR_BAD_FRAME, err);
    if (!req->root)
        return err->code;
    /* Echo a well-formed id even when the rest of the envelope is bad. */
    json_t *id = json_object_get(req->root, "id");
    nsl_err rc =
        nsl_json_check(req->root, nsl_request_schema, NSL_ERR_INVALID_REQUEST, "request", err);
    if (json_is_string(id) && json_string_length(id) <= NSL_MAX_ID_LEN &&
        strlen(json_string_value(id)) == json_string_length(id))
        req->id = json_string_value(id);
    if (rc != NSL_OK)
        return rc;
    req->trace_id = nsl_json_str(req->root, "traceId");
    if (req->trace_id && !nsl_request_id_valid(req->trace_id, NSL_TRACE_ID_MAX))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "request.traceId must be 1-%d characters of A-Z a-z 0-9 . _ -",
                        NSL_TRACE_ID_MAX);
    const char *service = nsl_json_str(req->root, "serviceType");
    const char *operation = nsl_json_str(req->root, "operation");
    rc = nsl_route_find(service, operation, &req->route_index);
    if (rc == NSL_ERR_UNKNOWN_SERVICE)
        return nsl_fail(err, rc, "unknown service \"%s\"", service);
    if (rc == NSL_ERR_UNKNOWN_OPERATION)
        return nsl_fail(err, rc, "service %s has no operation \"%s\"", service, operation);
    req->params = json_object_get(req->root, "params");
    if (!req->params) {
        req->params = json_object();
        json_object_set_new(req->root, "params", (json_t *)req->params);
    }
    /* Sealed params are checked against the schema once opened (nsl_router_run). */
    req->sealed = nsl_sealing_is_sealed(req->params);
    if (req->sealed)
        return nsl_sealing_check(req->params, err);
    return nsl_json_check(req->params, nsl_routes[req->route_index].params, NSL_ERR_INVALID_PARAMS,
                          "params", err);
}

bool nsl_router_is_inline(const struct nsl_request *req)
{
    return nsl_routes[req->route_index].flags & NSL_ROUTE_INLINE;
}

/* Appends one frame {"id":…,"ok":…,"<key>":value}, rendered in place with its length patched
 * in afterwards: no intermediate tree or string per answer. On failure nothing is appended. */
static void append_envelope(const char *id, bool ok, const char *key, const json_t *value,
                            struct nsl_buf *out)
{
    long start = nsl_frame_begin(out);
    int rc = start < 0 || nsl_buf_append(out, "{\"id\":", 6) ||
             (id ? nsl_json_render_string(out, id, strlen(id)) : nsl_buf_append(out, "null", 4));
    if (!rc && ok)
        rc = nsl_buf_append(out, ",\"ok\":true,\"", 12);
    else if (!rc)
        rc = nsl_buf_append(out, ",\"ok\":false,\"", 13);
    rc = rc || nsl_buf_append(out, key, strlen(key)) || nsl_buf_append(out, "\":", 2) ||
         nsl_json_render(value, out) || nsl_buf_append_u8(out, '}');
    if (start >= 0 && rc)
        out->len = (size_t)start;
    if (rc || nsl_frame_end(out, (size_t)start) != 0)
        nsl_log(NSL_LOG_ERROR, "response_dropped", "reason", "out of memory", NULL);
}

void nsl_router_append_error(struct nsl_enclave_ctx *ctx, const char *id,
                             const struct nsl_error *err, struct nsl_buf *out)
{
    if ((unsigned)err->code < NSL_ERR_COUNT)
        __atomic_fetch_add(&ctx->error_counts[err->code], 1, __ATOMIC_RELAXED);
    json_t *error =
        json_pack("{s:s, s:s}", "code", nsl_err_name(err->code), "message", err->message);
    if (error)
        append_envelope(id, false, "error", error, out);
    else
        nsl_log(NSL_LOG_ERROR, "response_dropped", "reason", "out of memory", NULL);
    json_decref(error);
}

static bool is_denial(nsl_err rc)
{
    return rc == NSL_ERR_UNAUTHENTICATED || rc == NSL_ERR_PERMISSION_DENIED ||
           rc == NSL_ERR_RATE_LIMITED;
}

/* Every mutating request and every denial is audited (ARCHITECTURE §5). The answer waits for
 * the entry to be durable; if the audit log cannot be written the request's own outcome stands
 * and the failure is logged loudly. */
static void audit(struct nsl_call *call, nsl_err rc)
{
    bool mutates = call->route->flags & NSL_ROUTE_MUTATES;
    if (!mutates && !is_denial(rc))
        return;
    struct nsl_error err = {0};
    if (nsl_probe_refuse(&err))
        return; /* a worker runs the request again and writes the entry */
    struct nsl_store *st = nsl_storage_get(call->ctx->storage, &err);
    if (!st)
        return; /* nothing was stored either: storage is what is missing */
    char operation[128];
    snprintf(operation, sizeof operation, "%s.%s", call->route->service, call->route->operation);
    const char *account = call->caller.account_id[0] ? call->caller.account_id : NULL;
    if (!account && call->result) /* bootstrap: the account it made */
        account = nsl_json_str(call->result, "accountId");
    if (nsl_audit_append(call->ctx->audit, st, account, operation,
                         rc == NSL_OK ? "ok" : nsl_err_name(rc), call->params, &err) != NSL_OK)
        nsl_log(NSL_LOG_ERROR, "audit_append_failed", "operation", operation, "reason", err.message,
                NULL);
}

/* What sealing asks of this request: open sealed params (then check them against the schema)
 * and, where the enclave requires it, refuse sensitive operations sent in the clear. */
struct unsealed {
    json_t *params; /* opened params (owned), NULL when not sealed */
    uint8_t reply_key[NSL_HPKE_PUBLIC_KEY_LEN];
    bool has_reply_key;
};

static nsl_err unseal(struct nsl_call *call, const struct nsl_request *req, struct unsealed *u)
{
    const struct nsl_route *r = call->route;
    struct nsl_enclave_ctx *ctx = call->ctx;
    if (req->sealed) {
        if (!ctx->identity)
            return nsl_fail(&call->error, NSL_ERR_UNAVAILABLE, "sealing is not available");
        NSL_TRY(nsl_sealing_open(ctx->identity, r->service, r->operation, req->params, &u->params,
                                 u->reply_key, &u->has_reply_key, &call->error));
        call->params = u->params;
        NSL_TRY(
            nsl_json_check(u->params, r->params, NSL_ERR_INVALID_PARAMS, "params", &call->error));
    }
    if (ctx->require_sealed && (r->flags & NSL_ROUTE_SEALED_PARAMS) && !req->sealed)
        return nsl_fail(&call->error, NSL_ERR_INVALID_REQUEST,
                        "%s.%s carries secrets: its params must be sealed (ARCHITECTURE 6)",
                        r->service, r->operation);
    if (ctx->require_sealed && (r->flags & NSL_ROUTE_SEALED_RESULT) && !u->has_reply_key)
        return nsl_fail(&call->error, NSL_ERR_INVALID_REQUEST,
                        "%s.%s returns secrets: send sealed params with a replyKey", r->service,
                        r->operation);
    return NSL_OK;
}

static nsl_err seal_result(struct nsl_call *call, const struct unsealed *u)
{
    if (!u->has_reply_key || !call->result)
        return NSL_OK;
    json_t *sealed = NULL;
    NSL_TRY(nsl_sealing_seal_result(call->route->service, call->route->operation, call->result,
                                    u->reply_key, &sealed, &call->error));
    json_decref(call->result);
    call->result = sealed;
    return NSL_OK;
}

/* The request's id in the logs and on the host channel: its traceId, or else its wire id when
 * that is a valid trace id (clients that talk to the enclave directly still get one). */
static const char *trace_id(const struct nsl_request *req)
{
    if (req->trace_id)
        return req->trace_id;
    return req->id && nsl_request_id_valid(req->id, NSL_TRACE_ID_MAX) ? req->id : NULL;
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* One line per request (never its params or result): at info for changes and failures, at debug
 * for successful reads, which are neither audited nor worth a write per call on the hot path
 * (signing, health polls). */
static void log_done(const struct nsl_call *call, nsl_err rc, const struct timespec *start)
{
    enum nsl_log_level level =
        rc == NSL_OK && !(call->route->flags & NSL_ROUTE_MUTATES) ? NSL_LOG_DEBUG : NSL_LOG_INFO;
    if (!nsl_log_enabled(level))
        return;
    char ms[32];
    snprintf(ms, sizeof ms, "%.3f", elapsed_ms(start));
    nsl_log(level, "request_done", "service", call->route->service, "operation",
            call->route->operation, "code", nsl_err_name(rc), "ms", ms, "id", call->id, NULL);
}

static void append_answer(struct nsl_call *call, nsl_err rc, struct nsl_buf *out)
{
    __atomic_fetch_add(&call->ctx->route_calls[call->route_index], 1, __ATOMIC_RELAXED);
    if (call->auth_failure)
        nsl_log(NSL_LOG_WARN, "authentication_failed", "reason", call->auth_failure, "operation",
                call->route->operation, NULL);
    if (rc != NSL_OK) {
        call->error.code = rc;
        if (!call->error.message[0])
            snprintf(call->error.message, sizeof call->error.message, "%s",
                     nsl_err_description(rc));
        nsl_router_append_error(call->ctx, call->id, &call->error, out);
        return;
    }
    json_t *empty = call->result ? NULL : json_object();
    append_envelope(call->id, true, "result", call->result ? call->result : empty, out);
    json_decref(empty);
}

/* Runs req to its answer and appends it to out. Under a probe that met a blocking point nothing
 * is appended or counted and false is returned; what the attempt charged is kept in req. */
static bool run(struct nsl_enclave_ctx *ctx, struct nsl_request *req, struct nsl_buf *out)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct nsl_call call = {.id = req->id,
                            .route_index = req->route_index,
                            .route = &nsl_routes[req->route_index],
                            .params = req->params,
                            .wire_params = req->params,
                            .ctx = ctx,
                            .rate_charged = req->rate_charged};
    struct unsealed u = {0};
    nsl_log_set_request_id(trace_id(req));
    nsl_err rc = unseal(&call, req, &u);
    if (rc == NSL_OK)
        rc = nsl_auth_authenticate(&call, json_object_get(req->root, "auth"));
    if (rc == NSL_OK)
        rc = nsl_auth_authorize(&call);
    if (rc == NSL_OK)
        rc = handlers[req->route_index](&call);
    if (rc == NSL_OK)
        rc = seal_result(&call, &u);
    if (rc != NSL_OK) {
        json_decref(call.result); /* a failing handler's partial result never leaves */
        call.result = NULL;
    }
    if (ctx->audit)
        audit(&call, rc);
    bool answered = !nsl_probe_blocked();
    if (answered)
        append_answer(&call, rc, out);
    req->rate_charged = call.rate_charged;
    json_decref(call.result);
    json_decref(u.params);
    nsl_caller_clear(&call.caller);
    if (answered)
        log_done(&call, rc, &start);
    nsl_log_set_request_id(NULL);
    return answered;
}

void nsl_router_run(struct nsl_enclave_ctx *ctx, struct nsl_request *req, struct nsl_buf *out)
{
    run(ctx, req, out);
}

bool nsl_router_try_inline(struct nsl_enclave_ctx *ctx, struct nsl_request *req,
                           struct nsl_buf *out)
{
    if (!(nsl_routes[req->route_index].flags & NSL_ROUTE_CACHED))
        return false;
    nsl_probe_begin();
    bool answered = run(ctx, req, out);
    nsl_probe_end();
    return answered;
}

void nsl_request_free(struct nsl_request *req)
{
    json_decref(req->root);
    memset(req, 0, sizeof *req);
}
