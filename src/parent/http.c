/* HTTP front end (see http.h). Each request's state lives in MHD's per-request pointer and is
 * freed in the request-completed callback, whatever path the request took. */
#define NSL_LOG_COMPONENT NSL_LOGC_HTTP
#include "parent/http.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/request_id.h"
#include "common/url.h"
#include "parent/jsonrpc.h"
#include "parent/web.h"

#define HEALTH_TIMEOUT_MS   2000
#define HARD_BODY_LIMIT     (64u << 20) /* above this, answer 413 without reading the body */
#define STOP_WAIT_MS        5000
#define CONNECTION_LIMIT    4096
#define IDLE_TIMEOUT_S      120
#define CONTENT_TYPE_JSON   "application/json"
#define CONTENT_TYPE_METRIC "text/plain; version=0.0.4; charset=utf-8"

struct nsl_http {
    struct nsl_http_config cfg;
    struct nsl_pool *pool;
    struct nsl_metrics *metrics;
    struct MHD_Daemon *daemon;
    unsigned port;
    atomic_uint_fast64_t next_seq;
    atomic_int suspended;
};

enum request_kind { REQ_RPC, REQ_HEALTHZ };
enum request_state { RECEIVING, WAITING };

struct request {
    struct nsl_http *http;
    struct MHD_Connection *conn;
    enum request_kind kind;
    enum request_state state;
    int64_t start_ns;
    uint64_t first_seq;
    const char *method;               /* MHD's, valid until the request completes */
    char rid[NSL_REQUEST_ID_MAX + 1]; /* X-Request-Id: the client's, or generated */
    struct nsl_buf body;
    bool too_big;
    struct nsl_rpc_batch rpc;
    struct nsl_buf auth; /* the enclave's "auth" object (a credential) */
    struct nsl_pool_batch batch;
    struct nsl_pool_call *calls; /* batch.count of them */
    size_t *pool_index;          /* per rpc call: index in calls, or SIZE_MAX */
    char **payloads;             /* per pool call */
};

static void request_free(struct request *r)
{
    for (size_t i = 0; i < r->batch.count; i++) {
        free(r->calls[i].response.text);
        free(r->payloads ? r->payloads[i] : NULL);
    }
    free(r->calls); /* with payloads and pool_index (calls_new) */
    nsl_buf_free_wipe(&r->auth);
    nsl_jsonrpc_batch_free(&r->rpc);
    nsl_buf_free(&r->body);
    free(r);
}

/* The access-log line: info for the API, debug for health probes (load balancers poll them). */
static void log_request(const struct request *r, unsigned status)
{
    enum nsl_log_level level = r->kind == REQ_RPC ? NSL_LOG_INFO : NSL_LOG_DEBUG;
    if (!nsl_log_enabled(level))
        return;
    char code[16], ms[32], calls[24];
    snprintf(code, sizeof code, "%u", status);
    snprintf(ms, sizeof ms, "%.3f", (double)(nsl_pool_now_ns() - r->start_ns) / 1e6);
    snprintf(calls, sizeof calls, "%zu", r->rpc.count);
    nsl_log(level, "http_request", "method", r->method, "path",
            r->kind == REQ_RPC ? "/v1/rpc" : "/healthz", "status", code, "ms", ms, "calls", calls,
            NULL);
}

static enum MHD_Result respond(struct request *r, struct MHD_Connection *conn, unsigned status,
                               const char *type, char *text, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, text, text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (r) {
        MHD_add_response_header(resp, "X-Request-Id", r->rid);
        log_request(r, status);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r ? "POST" : "GET");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result respond_json(struct request *r, struct MHD_Connection *conn, unsigned status,
                                    json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (!text)
        return MHD_NO;
    return respond(r, conn, status, CONTENT_TYPE_JSON, text, strlen(text));
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *copy = strdup(text);
    return copy ? respond(NULL, conn, status, CONTENT_TYPE_JSON, copy, strlen(copy)) : MHD_NO;
}

/* A body-level JSON-RPC error (id null), counted like any failed call. */
static enum MHD_Result respond_rpc_error(struct request *r, unsigned status,
                                         const struct nsl_rpc_error *e)
{
    struct nsl_http *http = r->http;
    nsl_metrics_observe_call(http->metrics, -1, (double)(nsl_pool_now_ns() - r->start_ns) / 1e9);
    nsl_metrics_count_error(http->metrics, -1, e->error.code);
    return respond_json(
        r, r->conn, status,
        nsl_jsonrpc_error_response(NULL, e->rpc_code, e->error.code, e->error.message));
}

static void on_done(void *ctx)
{
    struct request *r = ctx;
    MHD_resume_connection(r->conn);
}

static void begin_wait(struct request *r)
{
    r->state = WAITING;
    atomic_fetch_add(&r->http->suspended, 1);
    MHD_suspend_connection(r->conn);
    r->batch.done = on_done;
    r->batch.ctx = r;
    nsl_pool_submit(r->http->pool, &r->batch);
}

/* The traceId of call i: the request id, or for a batch "<request id>.<i>" (i from 0, the
 * call's index in the batch array). */
static void call_trace_id(const struct request *r, size_t i, char *out, size_t len)
{
    size_t n = strlen(r->rid); /* at most NSL_REQUEST_ID_MAX: callers have room */
    if (n >= len)
        n = len - 1;
    memcpy(out, r->rid, n);
    out[n] = 0;
    if (r->rpc.is_batch)
        snprintf(out + n, len - n, ".%zu", i);
}

/* Room for n pool calls, their payloads and the per-call pool_index, zeroed, in one allocation
 * (a request is a handful of allocations, and they showed in the gateway's profile). */
static int calls_new(struct request *r, size_t n)
{
    size_t each = sizeof *r->calls + sizeof *r->payloads + sizeof *r->pool_index;
    r->calls = calloc(n, each);
    if (!r->calls)
        return -1;
    r->payloads = (char **)(r->calls + n);
    r->pool_index = (size_t *)(r->payloads + n);
    return 0;
}

/* Builds the enclave frames of the calls that go to the enclave. Returns 0 or -1. */
static int prepare_calls(struct request *r)
{
    size_t n = 0;
    if (calls_new(r, r->rpc.count) != 0)
        return -1;
    for (size_t i = 0; i < r->rpc.count; i++) {
        const struct nsl_rpc_call *call = &r->rpc.calls[i];
        r->pool_index[i] = SIZE_MAX;
        if (call->failed)
            continue;
        char id[32], trace[NSL_REQUEST_ID_MAX + 24];
        snprintf(id, sizeof id, "p-%" PRIu64, r->first_seq + i);
        call_trace_id(r, i, trace, sizeof trace);
        struct nsl_pool_call *pc = &r->calls[n];
        r->payloads[n] = nsl_jsonrpc_enclave_request(call, id, trace, &r->auth, &pc->len);
        if (!r->payloads[n])
            return -1;
        pc->payload = r->payloads[n];
        pc->seq = r->first_seq + i;
        r->pool_index[i] = n++;
        r->batch.count = n;
    }
    r->batch.calls = r->calls;
    r->batch.timeout_ms = r->http->cfg.request_timeout_ms;
    return 0;
}

static const char *pool_error_message(nsl_err err)
{
    switch (err) {
    case NSL_ERR_TIMEOUT:
        return "the enclave did not answer in time";
    case NSL_ERR_LIMIT_EXCEEDED:
        return "the request is larger than the enclave frame limit";
    default:
        return "the enclave is unavailable; retry later";
    }
}

/* Appends the JSON-RPC response of call i to out, with its metrics. Returns 0 or -1. */
static int render_call(struct request *r, size_t i, struct nsl_buf *out)
{
    const struct nsl_rpc_call *call = &r->rpc.calls[i];
    int64_t finished = nsl_pool_now_ns();
    nsl_err code;
    int rc;
    if (call->failed) {
        code = call->error.error.code;
        rc = nsl_jsonrpc_render_error(out, call->id, call->error.rpc_code, code,
                                      call->error.error.message);
    } else {
        const struct nsl_pool_call *pc = &r->calls[r->pool_index[i]];
        finished = pc->finished_ns;
        code = pc->err;
        rc = code == NSL_OK ? nsl_jsonrpc_render_enclave(out, call->id, &pc->response, &code)
                            : nsl_jsonrpc_render_error(out, call->id, nsl_err_jsonrpc_code(code),
                                                       code, pool_error_message(code));
    }
    nsl_metrics_observe_call(r->http->metrics, call->route, (double)(finished - r->start_ns) / 1e9);
    if (code != NSL_OK)
        nsl_metrics_count_error(r->http->metrics, call->route, code);
    if (nsl_log_enabled(NSL_LOG_DEBUG)) {
        char trace[NSL_REQUEST_ID_MAX + 24]; /* ".<index>" fits: max-batch <= 1000 */
        call_trace_id(r, i, trace, sizeof trace);
        nsl_log(NSL_LOG_DEBUG, "rpc_call", "traceId", trace, "method",
                call->method ? call->method : "", "code", nsl_err_name(code), NULL);
    }
    return rc;
}

/* The response text: one call's response, or a batch's array of those that are answered
 * (notifications are not); none at all is 204. */
static enum MHD_Result finish_rpc(struct request *r)
{
    struct nsl_buf out = {0}, unused = {0};
    bool any = false;
    size_t room = 2; /* the results as the enclave wrote them, and room for the envelopes */
    for (size_t i = 0; i < r->batch.count; i++)
        room += r->calls[i].response.len + 64;
    int rc = nsl_buf_reserve(&out, room);
    rc = rc || (r->rpc.is_batch && nsl_buf_append(&out, "[", 1) != 0);
    for (size_t i = 0; rc == 0 && i < r->rpc.count; i++) {
        bool answered = nsl_jsonrpc_call_answered(&r->rpc.calls[i]);
        if (answered && any)
            rc = nsl_buf_append(&out, ",", 1);
        if (rc == 0) /* unanswered calls still count in the metrics */
            rc = render_call(r, i, answered ? &out : &unused);
        nsl_buf_reset(&unused);
        any = any || answered;
    }
    if (rc == 0 && r->rpc.is_batch)
        rc = nsl_buf_append(&out, "]", 1);
    nsl_buf_free(&unused);
    if (rc != 0 || !any) {
        nsl_buf_free(&out);
        return rc != 0 ? MHD_NO : respond(r, r->conn, MHD_HTTP_NO_CONTENT, NULL, NULL, 0);
    }
    return respond(r, r->conn, MHD_HTTP_OK, CONTENT_TYPE_JSON, (char *)out.data, out.len);
}

static enum MHD_Result start_rpc(struct request *r)
{
    struct nsl_rpc_error e = {.rpc_code = NSL_RPC_INVALID_REQUEST};
    if (r->too_big) {
        nsl_fail(&e.error, NSL_ERR_LIMIT_EXCEEDED, "body is larger than %zu bytes",
                 r->http->cfg.max_body);
        return respond_rpc_error(r, MHD_HTTP_CONTENT_TOO_LARGE, &e);
    }
    const char *header =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (nsl_jsonrpc_parse_auth(header, &r->auth, &e.error) != NSL_OK)
        return respond_rpc_error(r, MHD_HTTP_OK, &e);
    if (nsl_jsonrpc_parse((const char *)r->body.data, r->body.len, r->http->cfg.max_batch,
                          &r->rpc) != 0)
        return MHD_NO;
    nsl_buf_free(&r->body);
    if (r->rpc.failed)
        return respond_rpc_error(r, MHD_HTTP_OK, &r->rpc.error);
    if (prepare_calls(r) != 0)
        return MHD_NO;
    if (r->batch.count == 0)
        return finish_rpc(r);
    begin_wait(r);
    return MHD_YES;
}

static enum MHD_Result start_healthz(struct request *r)
{
    char payload[128];
    int n =
        snprintf(payload, sizeof payload,
                 "{\"id\":\"p-%" PRIu64 "\",\"serviceType\":\"system\",\"operation\":\"health\","
                 "\"params\":{},\"traceId\":\"%s\"}",
                 r->first_seq, r->rid); /* rid: [A-Za-z0-9._-] only, nothing to escape */
    if (calls_new(r, 1) != 0 || !(r->payloads[0] = strdup(payload)))
        return MHD_NO;
    r->calls[0].seq = r->first_seq;
    r->calls[0].payload = r->payloads[0];
    r->calls[0].len = (size_t)n;
    r->batch.calls = r->calls;
    r->batch.count = 1;
    r->batch.timeout_ms = HEALTH_TIMEOUT_MS;
    begin_wait(r);
    return MHD_YES;
}

static enum MHD_Result finish_healthz(struct request *r)
{
    const struct nsl_pool_call *c = &r->calls[0];
    bool up = c->err == NSL_OK && nsl_json_span_is(c->response.text, c->response.ok, "true");
    nsl_metrics_set_enclave_up(r->http->metrics, up);
    const char *body = up ? "{\"status\":\"ok\",\"enclave\":\"up\"}"
                          : "{\"status\":\"degraded\",\"enclave\":\"down\"}";
    char *copy = strdup(body);
    if (!copy)
        return MHD_NO;
    return respond(r, r->conn, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, CONTENT_TYPE_JSON,
                   copy, strlen(copy));
}

static enum MHD_Result serve_metrics(struct nsl_http *http, struct MHD_Connection *conn)
{
    struct nsl_buf out = {0};
    if (nsl_metrics_render(http->metrics, &out) != 0) {
        nsl_buf_free(&out);
        return MHD_NO;
    }
    return respond(NULL, conn, MHD_HTTP_OK, CONTENT_TYPE_METRIC, (char *)out.data, out.len);
}

static bool acceptable_content_type(const char *type)
{
    size_t n = strlen(CONTENT_TYPE_JSON);
    return !type || (strncasecmp(type, CONTENT_TYPE_JSON, n) == 0 &&
                     (type[n] == 0 || type[n] == ';' || type[n] == ' '));
}

static struct request *request_new(struct nsl_http *http, struct MHD_Connection *conn,
                                   enum request_kind kind)
{
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->http = http;
    r->conn = conn;
    r->kind = kind;
    r->start_ns = nsl_pool_now_ns();
    return r;
}

/* The client's X-Request-Id when it is 1-64 of [A-Za-z0-9._-]; otherwise a random one (and a
 * line saying the client's was refused, without quoting it). */
static void choose_request_id(struct request *r)
{
    const char *given = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given && nsl_request_id_valid(given, NSL_REQUEST_ID_MAX)) {
        snprintf(r->rid, sizeof r->rid, "%s", given);
    } else if (nsl_request_id_generate(r->rid) != 0) { /* no randomness: still unique here */
        snprintf(r->rid, sizeof r->rid, "p-%" PRIu64, atomic_fetch_add(&r->http->next_seq, 1));
    }
    nsl_log_set_request_id(r->rid);
    if (given && strcmp(given, r->rid) != 0) {
        char length[24];
        snprintf(length, sizeof length, "%zu", strlen(given));
        nsl_log(NSL_LOG_WARN, "request_id_refused", "reason",
                "X-Request-Id must be 1-64 characters of A-Z a-z 0-9 . _ -", "length", length,
                NULL);
    }
}

/* The first call for a request (headers only): routes it. */
static enum MHD_Result begin_request(struct nsl_http *http, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **state)
{
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    if (nsl_web_handles(url))
        return nsl_web_serve(conn, url, method);
    if (strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0) {
        if (!get)
            return respond(NULL, conn, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, NULL, 0);
        if (url[1] == 'm')
            return serve_metrics(http, conn);
    } else if (strcmp(url, "/v1/rpc") != 0) {
        return respond_text(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}");
    }
    struct request *r = request_new(http, conn, url[1] == 'h' ? REQ_HEALTHZ : REQ_RPC);
    if (!r)
        return MHD_NO;
    *state = r;
    r->method = method;
    choose_request_id(r);
    if (r->kind == REQ_HEALTHZ) {
        r->first_seq = atomic_fetch_add(&http->next_seq, 1);
        return start_healthz(r);
    }
    if (!post)
        return respond(r, conn, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, NULL, 0);
    /* Ids for every call the body may hold, so a batch's ids are consecutive. */
    r->first_seq = atomic_fetch_add(&http->next_seq, http->cfg.max_batch);
    if (!acceptable_content_type(
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return respond(r, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL, NULL, 0);
    const char *length =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = length ? strtoull(length, NULL, 10) : 0;
    r->too_big = declared > http->cfg.max_body;
    if (declared > HARD_BODY_LIMIT)
        return start_rpc(r);
    return MHD_YES;
}

/* Stores or, past the limit, discards a piece of the body. */
static void take_body(struct request *r, const char *data, size_t size)
{
    if (!r->too_big && r->body.len + size > r->http->cfg.max_body) {
        r->too_big = true;
        nsl_buf_free(&r->body);
    }
    if (!r->too_big && nsl_buf_append(&r->body, data, size) != 0) {
        r->too_big = true;
        nsl_buf_free(&r->body);
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **state)
{
    (void)version;
    struct nsl_http *http = cls;
    struct request *r = *state;
    if (!r) {
        enum MHD_Result first = begin_request(http, conn, url, method, state);
        nsl_log_set_request_id(NULL);
        return first;
    }
    nsl_log_set_request_id(r->rid);
    enum MHD_Result ret = MHD_YES;
    if (*upload_data_size) {
        take_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
    } else if (r->state == RECEIVING) {
        ret = start_rpc(r);
    } else {
        atomic_fetch_sub(&http->suspended, 1);
        ret = r->kind == REQ_RPC ? finish_rpc(r) : finish_healthz(r);
    }
    nsl_log_set_request_id(NULL);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
                      enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    if (*state)
        request_free(*state);
    *state = NULL;
}

static void connection_event(void *cls, struct MHD_Connection *conn, void **socket_state,
                             enum MHD_ConnectionNotificationCode event)
{
    (void)conn;
    (void)socket_state;
    struct nsl_http *http = cls;
    nsl_metrics_add_connections(http->metrics, event == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    nsl_log(NSL_LOG_WARN, "http_server", "msg", msg, NULL);
}

static int listen_socket(const char *hostport)
{
    char text[300];
    char why[128];
    struct nsl_url url;
    snprintf(text, sizeof text, "tcp://%s", hostport);
    if (nsl_url_parse(text, &url, why, sizeof why) != 0) {
        nsl_logf(NSL_LOG_ERROR, "http_listen_failed", "--http %s: %s", hostport, why);
        return -1;
    }
    int fd = nsl_net_listen(&url, 1024);
    if (fd < 0)
        nsl_logf(NSL_LOG_ERROR, "http_listen_failed", "%s: %s", hostport, strerror(errno));
    return fd;
}

struct nsl_http *nsl_http_start(const struct nsl_http_config *cfg, struct nsl_pool *pool,
                                struct nsl_metrics *metrics)
{
    struct nsl_http *http = calloc(1, sizeof *http);
    if (!http)
        return NULL;
    http->cfg = *cfg;
    http->pool = pool;
    http->metrics = metrics;
    atomic_store(&http->next_seq, 1);
    int fd = listen_socket(cfg->listen);
    if (fd < 0) {
        free(http);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    http->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, handle, http, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                         http, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
                         cfg->threads > 1 ? cfg->threads : 0u, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, completed, http,
                         MHD_OPTION_NOTIFY_CONNECTION, connection_event, http, MHD_OPTION_END);
    if (!http->daemon) {
        nsl_log(NSL_LOG_ERROR, "http_start_failed", "listen", cfg->listen, NULL);
        close(fd);
        free(http);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
    http->port = info ? info->port : 0;
    return http;
}

unsigned nsl_http_port(const struct nsl_http *http)
{
    return http->port;
}

void nsl_http_stop(struct nsl_http *http)
{
    if (!http)
        return;
    /* MHD must not be stopped with suspended requests: the stopped pool has completed them all,
     * so they are only waiting for their thread to resume them. */
    int64_t deadline = nsl_pool_now_ns() + (int64_t)STOP_WAIT_MS * 1000000;
    while (atomic_load(&http->suspended) > 0 && nsl_pool_now_ns() < deadline) {
        struct timespec ts = {.tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(http->daemon);
    free(http);
}
