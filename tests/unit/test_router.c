/* Unit tests of the enclave router (validation, dispatch, responses) and of the system service's
 * handlers called directly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"
#include "common/log.h"
#include "enclave/hostchan.h"
#include "enclave/probe.h"
#include "enclave/router.h"
#include "log_capture.h"

static struct nsl_enclave_ctx ctx;

static int setup(void **state)
{
    (void)state;
    memset(&ctx, 0, sizeof ctx);
    ctx.mode = "simulated";
    ctx.started_ms = nsl_monotonic_ms();
    ctx.host = NULL; /* nsl_hostchan_get_status accepts NULL: "not connected" */
    nsl_log_init("test_router", NSL_LOG_ERROR); /* keep the test output quiet */
    return 0;
}

static nsl_err prepare(const char *text, struct nsl_request *req, struct nsl_error *err)
{
    memset(err, 0, sizeof *err);
    return nsl_router_prepare(text, strlen(text), req, err);
}

/* Takes exactly one frame out of out, parses it, and returns it as a JSON object. */
static json_t *only_frame(struct nsl_buf *out)
{
    size_t n = 0;
    assert_int_equal(nsl_frame_peek(out->data, out->len, NSL_FRAME_DEFAULT_MAX, &n),
                     NSL_FRAME_READY);
    assert_int_equal(out->len, NSL_FRAME_HEADER_LEN + n); /* one frame, nothing after it */
    json_error_t jerr;
    json_t *o = json_loadb((const char *)out->data + NSL_FRAME_HEADER_LEN, n,
                           JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        fail_msg("response is not JSON: %s", jerr.text);
    assert_true(json_is_object(o));
    return o;
}

static void expect_error_response(json_t *resp, const char *id, const char *code)
{
    json_t *jid = json_object_get(resp, "id");
    if (id)
        assert_string_equal(json_string_value(jid), id);
    else
        assert_true(json_is_null(jid));
    assert_true(json_is_false(json_object_get(resp, "ok")));
    json_t *error = json_object_get(resp, "error");
    assert_true(json_is_object(error));
    assert_string_equal(json_string_value(json_object_get(error, "code")), code);
    assert_true(json_is_string(json_object_get(error, "message")));
    assert_null(json_object_get(resp, "result"));
    assert_int_equal(json_object_size(resp), 3);
}

static void test_router_prepares_valid_request(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(
        prepare("{\"id\":\"r-1\",\"serviceType\":\"system\",\"operation\":\"health\"}", &req, &err),
        NSL_OK);
    assert_string_equal(req.id, "r-1");
    assert_string_equal(nsl_routes[req.route_index].service, "system");
    assert_string_equal(nsl_routes[req.route_index].operation, "health");
    assert_true(json_is_object(req.params)); /* an absent params becomes {} */
    assert_int_equal(json_object_size(req.params), 0);
    assert_true(nsl_router_is_inline(&req));
    nsl_request_free(&req);
    assert_null(req.root);
    assert_null(req.id);
}

static void test_router_prepares_request_with_empty_params_and_auth(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"r-2\",\"serviceType\":\"system\",\"operation\":\"info\","
                             "\"params\":{},\"auth\":{\"scheme\":\"apikey\",\"apiKey\":\"k\"}}",
                             &req, &err),
                     NSL_OK);
    assert_string_equal(req.id, "r-2");
    assert_string_equal(nsl_routes[req.route_index].operation, "info");
    nsl_request_free(&req);
}

static void test_router_refuses_malformed_json_as_bad_frame(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"r-1\",", &req, &err), NSL_ERR_BAD_FRAME);
    assert_null(req.id);
    nsl_request_free(&req);
    assert_int_equal(prepare("[1,2]", &req, &err), NSL_ERR_BAD_FRAME);
    nsl_request_free(&req);
}

static void test_router_refuses_duplicate_key_as_invalid_request(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"a\",\"id\":\"b\",\"serviceType\":\"system\","
                             "\"operation\":\"health\"}",
                             &req, &err),
                     NSL_ERR_INVALID_REQUEST);
    nsl_request_free(&req);
}

static void test_router_refuses_missing_id(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"serviceType\":\"system\",\"operation\":\"health\"}", &req, &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_int_equal(err.code, NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "request.id"));
    assert_null(req.id);
    nsl_request_free(&req);
}

static void test_router_refuses_id_too_long(void **state)
{
    (void)state;
    char id[NSL_MAX_ID_LEN + 2];
    char text[400];
    struct nsl_request req;
    struct nsl_error err;
    memset(id, 'i', sizeof id - 1);
    id[NSL_MAX_ID_LEN] = 0; /* 128: allowed */
    snprintf(text, sizeof text,
             "{\"id\":\"%s\",\"serviceType\":\"system\",\"operation\":\"health\"}", id);
    assert_int_equal(prepare(text, &req, &err), NSL_OK);
    assert_string_equal(req.id, id);
    nsl_request_free(&req);
    id[NSL_MAX_ID_LEN] = 'i';
    id[NSL_MAX_ID_LEN + 1] = 0; /* 129: refused, and not echoed */
    snprintf(text, sizeof text,
             "{\"id\":\"%s\",\"serviceType\":\"system\",\"operation\":\"health\"}", id);
    assert_int_equal(prepare(text, &req, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "request.id"));
    assert_null(req.id);
    nsl_request_free(&req);
}

static void test_router_refuses_non_string_id(void **state)
{
    (void)state;
    static const char *const ids[] = {"17", "null", "true", "{}", "[\"a\"]", "1.5"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char text[200];
        snprintf(text, sizeof text,
                 "{\"id\":%s,\"serviceType\":\"system\",\"operation\":\"health\"}", ids[i]);
        struct nsl_request req;
        struct nsl_error err;
        assert_int_equal(prepare(text, &req, &err), NSL_ERR_INVALID_REQUEST);
        assert_non_null(strstr(err.message, "request.id"));
        assert_null(req.id);
        nsl_request_free(&req);
    }
}

static void test_router_refuses_unknown_top_level_field_and_echoes_id(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"r-9\",\"serviceType\":\"system\",\"operation\":\"health\","
                             "\"sneaky\":true}",
                             &req, &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "sneaky"));
    assert_string_equal(req.id, "r-9"); /* so that the error can carry it */
    struct nsl_buf out = {0};
    nsl_router_append_error(&ctx, req.id, &err, &out);
    json_t *resp = only_frame(&out);
    expect_error_response(resp, "r-9", "INVALID_REQUEST");
    json_decref(resp);
    nsl_buf_free(&out);
    nsl_request_free(&req);
}

static void test_router_refuses_params_that_are_not_an_object(void **state)
{
    (void)state;
    static const char *const params[] = {"[]", "\"x\"", "1", "null", "true"};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        char text[200];
        snprintf(text, sizeof text,
                 "{\"id\":\"r\",\"serviceType\":\"system\",\"operation\":\"health\","
                 "\"params\":%s}",
                 params[i]);
        struct nsl_request req;
        struct nsl_error err;
        assert_int_equal(prepare(text, &req, &err), NSL_ERR_INVALID_REQUEST);
        assert_non_null(strstr(err.message, "request.params"));
        assert_string_equal(req.id, "r");
        nsl_request_free(&req);
    }
}

static void test_router_refuses_wrong_typed_envelope_fields(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"id\":\"r\",\"serviceType\":1,\"operation\":\"health\"}",
        "{\"id\":\"r\",\"serviceType\":\"system\",\"operation\":[]}",
        "{\"id\":\"r\",\"serviceType\":\"system\",\"operation\":\"health\",\"auth\":\"k\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nsl_request req;
        struct nsl_error err;
        assert_int_equal(prepare(bad[i], &req, &err), NSL_ERR_INVALID_REQUEST);
        nsl_request_free(&req);
    }
}

static void test_router_refuses_unknown_service(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"r-3\",\"serviceType\":\"teleport\",\"operation\":"
                             "\"health\"}",
                             &req, &err),
                     NSL_ERR_UNKNOWN_SERVICE);
    assert_int_equal(err.code, NSL_ERR_UNKNOWN_SERVICE);
    assert_non_null(strstr(err.message, "teleport"));
    assert_string_equal(req.id, "r-3");
    nsl_request_free(&req);
}

static void test_router_refuses_unknown_operation(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"r-4\",\"serviceType\":\"system\",\"operation\":"
                             "\"reboot\"}",
                             &req, &err),
                     NSL_ERR_UNKNOWN_OPERATION);
    assert_int_equal(err.code, NSL_ERR_UNKNOWN_OPERATION);
    assert_non_null(strstr(err.message, "reboot"));
    assert_string_equal(req.id, "r-4");
    nsl_request_free(&req);
}

static void test_router_refuses_bad_params(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"r-5\",\"serviceType\":\"system\",\"operation\":"
                             "\"health\",\"params\":{\"verbose\":true}}",
                             &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(err.code, NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "params"));
    assert_non_null(strstr(err.message, "verbose"));
    assert_string_equal(req.id, "r-5");
    nsl_request_free(&req);
}

static void test_router_runs_system_health(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"h-1\",\"serviceType\":\"system\",\"operation\":"
                             "\"health\"}",
                             &req, &err),
                     NSL_OK);
    struct nsl_buf out = {0};
    nsl_router_run(&ctx, &req, &out);
    json_t *resp = only_frame(&out);
    assert_string_equal(json_string_value(json_object_get(resp, "id")), "h-1");
    assert_true(json_is_true(json_object_get(resp, "ok")));
    assert_null(json_object_get(resp, "error"));
    json_t *result = json_object_get(resp, "result");
    assert_true(json_is_object(result));
    assert_string_equal(json_string_value(json_object_get(result, "status")), "ok");
    json_t *host = json_object_get(result, "hostChannel");
    assert_true(json_is_object(host));
    assert_true(json_is_false(json_object_get(host, "connected")));
    assert_int_equal(json_integer_value(json_object_get(host, "reconnects")), 0);
    assert_int_equal(ctx.route_calls[req.route_index], 1);
    json_decref(resp);
    nsl_buf_free(&out);
    nsl_request_free(&req);
}

static void test_router_refuses_system_info_without_auth(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(
        prepare("{\"id\":\"i-1\",\"serviceType\":\"system\",\"operation\":\"info\"}", &req, &err),
        NSL_OK);
    struct nsl_buf out = {0};
    nsl_router_run(&ctx, &req, &out);
    json_t *resp = only_frame(&out);
    expect_error_response(resp, "i-1", "UNAUTHENTICATED");
    assert_int_equal(ctx.error_counts[NSL_ERR_UNAUTHENTICATED], 1);
    json_decref(resp);
    nsl_buf_free(&out);
    nsl_request_free(&req);
}

static void test_router_answers_unavailable_while_storage_is_not_ready(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"m-1\",\"serviceType\":\"system\",\"operation\":"
                             "\"metrics\",\"auth\":{\"scheme\":\"apikey\",\"apiKey\":\"nope\"}}",
                             &req, &err),
                     NSL_OK);
    struct nsl_buf out = {0};
    nsl_router_run(&ctx, &req, &out);
    json_t *resp = only_frame(&out);
    /* Credentials can only be checked against the sealed store, which is not there. */
    expect_error_response(resp, "m-1", "UNAVAILABLE");
    /* The message never echoes the credential. */
    const char *msg = json_string_value(json_object_get(json_object_get(resp, "error"), "message"));
    assert_null(strstr(msg, "nope"));
    json_decref(resp);
    nsl_buf_free(&out);
    nsl_request_free(&req);
}

static void test_router_append_error_renders_null_id(void **state)
{
    (void)state;
    struct nsl_error err;
    nsl_fail(&err, NSL_ERR_BAD_FRAME, "frame length %u is above the limit", 99u);
    struct nsl_buf out = {0};
    nsl_router_append_error(&ctx, NULL, &err, &out);
    json_t *resp = only_frame(&out);
    expect_error_response(resp, NULL, "BAD_FRAME");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(resp, "error"), "message")),
        "frame length 99 is above the limit");
    assert_int_equal(ctx.error_counts[NSL_ERR_BAD_FRAME], 1);
    json_decref(resp);
    nsl_buf_free(&out);
}

static void test_router_append_error_escapes_message(void **state)
{
    (void)state;
    struct nsl_error err;
    nsl_fail(&err, NSL_ERR_UNKNOWN_SERVICE, "unknown service \"%s\"", "a\"b\\c\n");
    struct nsl_buf out = {0};
    nsl_router_append_error(&ctx, "id\"x", &err, &out);
    json_t *resp = only_frame(&out);
    expect_error_response(resp, "id\"x", "UNKNOWN_SERVICE");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(resp, "error"), "message")),
        "unknown service \"a\"b\\c\n\"");
    json_decref(resp);
    nsl_buf_free(&out);
}

static void test_router_responses_append_after_existing_frames(void **state)
{
    (void)state;
    struct nsl_buf out = {0};
    struct nsl_error err;
    nsl_fail(&err, NSL_ERR_TIMEOUT, "slow");
    nsl_router_append_error(&ctx, "a", &err, &out);
    nsl_router_append_error(&ctx, "b", &err, &out);
    size_t n1, n2;
    assert_int_equal(nsl_frame_peek(out.data, out.len, NSL_FRAME_DEFAULT_MAX, &n1),
                     NSL_FRAME_READY);
    assert_int_equal(
        nsl_frame_peek(out.data + 4 + n1, out.len - 4 - n1, NSL_FRAME_DEFAULT_MAX, &n2),
        NSL_FRAME_READY);
    assert_int_equal(out.len, 8 + n1 + n2);
    nsl_buf_free(&out);
}

static void test_system_info_reports_version_mode_uptime_operations(void **state)
{
    (void)state;
    size_t index;
    assert_int_equal(nsl_route_find("system", "info", &index), NSL_OK);
    ctx.started_ms = nsl_monotonic_ms() - 5000; /* started five seconds ago */
    json_t *params = json_object();
    struct nsl_call call = {.id = "direct",
                            .route_index = index,
                            .route = &nsl_routes[index],
                            .params = params,
                            .ctx = &ctx};
    assert_int_equal(nsl_system_info(&call), NSL_OK);
    json_t *r = call.result;
    assert_true(json_is_object(r));
    assert_string_equal(json_string_value(json_object_get(r, "version")), NSL_VERSION);
    assert_string_equal(json_string_value(json_object_get(r, "mode")), "simulated");
    json_t *uptime = json_object_get(r, "uptimeSec");
    assert_true(json_is_integer(uptime));
    assert_true(json_integer_value(uptime) >= 5 && json_integer_value(uptime) < 60);
    json_t *ops = json_object_get(r, "operations");
    assert_true(json_is_array(ops));
    assert_int_equal(json_array_size(ops), nsl_route_count);
    json_t *expected = nsl_routes_to_json();
    assert_true(json_equal(ops, expected));
    json_decref(expected);
    json_decref(call.result);
    json_decref(params);
}

static void test_system_health_reports_host_channel_down(void **state)
{
    (void)state;
    size_t index;
    assert_int_equal(nsl_route_find("system", "health", &index), NSL_OK);
    struct nsl_call call = {
        .id = "h", .route_index = index, .route = &nsl_routes[index], .ctx = &ctx};
    assert_int_equal(nsl_system_health(&call), NSL_OK);
    assert_string_equal(json_string_value(json_object_get(call.result, "status")), "ok");
    json_t *host = json_object_get(call.result, "hostChannel");
    assert_true(json_is_false(json_object_get(host, "connected")));
    assert_null(json_object_get(host, "lastPingUs")); /* never pinged */
    json_decref(call.result);
}

static void test_system_metrics_counts_requests_and_errors(void **state)
{
    (void)state;
    size_t health;
    assert_int_equal(nsl_route_find("system", "health", &health), NSL_OK);
    /* Two health requests and one refused info request through the router. */
    static const char *const texts[] = {
        "{\"id\":\"1\",\"serviceType\":\"system\",\"operation\":\"health\"}",
        "{\"id\":\"2\",\"serviceType\":\"system\",\"operation\":\"health\"}",
        "{\"id\":\"3\",\"serviceType\":\"system\",\"operation\":\"info\"}",
    };
    for (size_t i = 0; i < 3; i++) {
        struct nsl_request req;
        struct nsl_error err;
        assert_int_equal(prepare(texts[i], &req, &err), NSL_OK);
        struct nsl_buf out = {0};
        nsl_router_run(&ctx, &req, &out);
        nsl_buf_free(&out);
        nsl_request_free(&req);
    }
    size_t index;
    assert_int_equal(nsl_route_find("system", "metrics", &index), NSL_OK);
    struct nsl_call call = {
        .id = "m", .route_index = index, .route = &nsl_routes[index], .ctx = &ctx};
    assert_int_equal(nsl_system_metrics(&call), NSL_OK);
    json_t *requests = json_object_get(call.result, "requests");
    json_t *errors = json_object_get(call.result, "errors");
    assert_int_equal(json_object_size(requests), nsl_route_count);
    assert_int_equal(json_integer_value(json_object_get(requests, "system.health")), 2);
    assert_int_equal(json_integer_value(json_object_get(requests, "system.info")), 1);
    assert_int_equal(json_integer_value(json_object_get(requests, "system.metrics")), 0);
    assert_int_equal(json_object_size(errors), NSL_ERR_COUNT - 1); /* every code but OK */
    assert_null(json_object_get(errors, "OK"));
    assert_int_equal(json_integer_value(json_object_get(errors, "UNAUTHENTICATED")), 1);
    assert_int_equal(json_integer_value(json_object_get(errors, "INTERNAL")), 0);
    assert_true(json_is_object(json_object_get(call.result, "hostChannel")));
    json_decref(call.result);
}

/* Under a probe a host round trip refuses before touching the channel; the probe then reports
 * that it blocked, once, and the thread is back to normal. */
static void test_probe_refuses_host_round_trips_and_resets(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    assert_false(nsl_probe_refuse(&err));
    nsl_probe_begin();
    assert_false(nsl_probe_blocked());
    json_t *params = json_object(), *result = NULL;
    assert_int_equal(nsl_hostchan_call(NULL, "kv", "get", params, 100, &result, &err),
                     NSL_ERR_UNAVAILABLE);
    assert_null(result);
    assert_true(nsl_probe_blocked());
    assert_true(nsl_probe_end());
    assert_false(nsl_probe_blocked());
    assert_false(nsl_probe_end());
    assert_false(nsl_probe_refuse(&err));
    json_decref(params);
}

/* Only routes flagged cached are tried inline; a flagged one that needs nothing from the host
 * (here: refused for lack of credentials) is answered and counted once. */
static void test_try_inline_runs_only_cached_routes(void **state)
{
    (void)state;
    struct nsl_request req;
    struct nsl_error err;
    struct nsl_buf out = {0};
    assert_int_equal(prepare("{\"id\":\"m-2\",\"serviceType\":\"system\",\"operation\":"
                             "\"metrics\"}",
                             &req, &err),
                     NSL_OK);
    assert_false(nsl_router_try_inline(&ctx, &req, &out));
    assert_int_equal(out.len, 0);
    assert_int_equal(ctx.route_calls[req.route_index], 0);
    nsl_request_free(&req);
    assert_int_equal(
        prepare("{\"id\":\"i-2\",\"serviceType\":\"system\",\"operation\":\"info\"}", &req, &err),
        NSL_OK);
    assert_true(nsl_router_try_inline(&ctx, &req, &out));
    json_t *resp = only_frame(&out);
    expect_error_response(resp, "i-2", "UNAUTHENTICATED");
    assert_int_equal(ctx.route_calls[req.route_index], 1);
    json_decref(resp);
    nsl_buf_free(&out);
    nsl_request_free(&req);
}

/* Runs payload through the router with the router's lines captured; returns them (caller frees
 * each) and their count. The response is left in out. */
static size_t run_logged(const char *payload, json_t **lines, size_t max, struct nsl_buf *out)
{
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare(payload, &req, &err), NSL_OK);
    capture_begin();
    nsl_router_run(&ctx, &req, out);
    char *text = capture_end();
    size_t n = parse_lines(text, lines, max);
    free(text);
    nsl_request_free(&req);
    return n;
}

static void test_router_logs_completion_with_trace_id_and_no_params(void **state)
{
    (void)state;
    nsl_log_set_level(NSL_LOGC_ROUTER, NSL_LOG_DEBUG);
    json_t *lines[4];
    struct nsl_buf out = {0};
    size_t n = run_logged("{\"id\":\"p-7\",\"serviceType\":\"system\",\"operation\":\"health\","
                          "\"params\":{},\"traceId\":\"abc-1.2\"}",
                          lines, 4, &out);
    assert_int_equal(n, 1);
    json_t *l = lines[0];
    assert_string_equal(field(l, "component"), "router");
    assert_string_equal(field(l, "level"), "debug"); /* a successful health probe */
    assert_string_equal(field(l, "event"), "request_done");
    assert_string_equal(field(l, "rid"), "abc-1.2");
    assert_string_equal(field(l, "id"), "p-7");
    assert_string_equal(field(l, "service"), "system");
    assert_string_equal(field(l, "operation"), "health");
    assert_string_equal(field(l, "code"), "OK");
    assert_true(strtod(field(l, "ms"), NULL) >= 0);
    assert_null(json_object_get(l, "params"));
    json_decref(l);
    nsl_buf_free(&out);
    /* Without a traceId the wire id is the rid; an error's code is logged by name, at info. */
    nsl_log_set_level(NSL_LOGC_ROUTER, NSL_LOG_INFO);
    n = run_logged("{\"id\":\"i-3\",\"serviceType\":\"system\",\"operation\":\"info\"}", lines, 4,
                   &out);
    assert_true(n >= 1);
    l = lines[n - 1];
    assert_string_equal(field(l, "event"), "request_done");
    assert_string_equal(field(l, "rid"), "i-3");
    assert_string_equal(field(l, "level"), "info");
    assert_string_equal(field(l, "code"), "UNAUTHENTICATED");
    for (size_t i = 0; i < n; i++)
        json_decref(lines[i]);
    nsl_buf_free(&out);
    /* The thread's request id is cleared once the request is done. */
    assert_string_equal(nsl_log_request_id(), "");
    /* At info the health probe is not logged; at warn, no successful request is. */
    n = run_logged("{\"id\":\"p-9\",\"serviceType\":\"system\",\"operation\":\"health\"}", lines, 4,
                   &out);
    assert_int_equal(n, 0);
    nsl_buf_free(&out);
    nsl_log_set_level(NSL_LOGC_ROUTER, NSL_LOG_WARN);
    n = run_logged("{\"id\":\"p-8\",\"serviceType\":\"system\",\"operation\":\"health\"}", lines, 4,
                   &out);
    assert_int_equal(n, 0);
    nsl_buf_free(&out);
}

static void test_router_refuses_bad_trace_id(void **state)
{
    (void)state;
    char too_long[128];
    memset(too_long, 't', 81);
    too_long[81] = 0;
    char payload[512];
    const char *bad[] = {"\"\"", "\"a b\"", "\"a/b\"", "\"caf\u00e9\"", "17", "null", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *v = bad[i];
        char quoted[140];
        if (v == too_long) {
            snprintf(quoted, sizeof quoted, "\"%s\"", too_long);
            v = quoted;
        }
        snprintf(payload, sizeof payload,
                 "{\"id\":\"r-5\",\"serviceType\":\"system\",\"operation\":\"health\","
                 "\"traceId\":%s}",
                 v);
        struct nsl_request req;
        struct nsl_error err;
        assert_int_equal(prepare(payload, &req, &err), NSL_ERR_INVALID_REQUEST);
        if (!strstr(err.message, "traceId"))
            fail_msg("traceId %s: message \"%s\" does not name the field", v, err.message);
        assert_string_equal(req.id, "r-5"); /* the error can still carry the id */
        nsl_request_free(&req);
    }
    /* 80 characters is the limit. */
    memset(too_long, 't', 80);
    too_long[80] = 0;
    snprintf(payload, sizeof payload,
             "{\"id\":\"r-6\",\"serviceType\":\"system\",\"operation\":\"health\","
             "\"traceId\":\"%s\"}",
             too_long);
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare(payload, &req, &err), NSL_OK);
    assert_string_equal(req.trace_id, too_long);
    nsl_request_free(&req);
}

static nsl_err set_log_level(const char *params_text, struct nsl_call *call)
{
    size_t index;
    assert_int_equal(nsl_route_find("system", "setLogLevel", &index), NSL_OK);
    json_t *params = json_loads(params_text, 0, NULL);
    assert_non_null(params);
    memset(call, 0, sizeof *call);
    call->id = "s";
    call->route_index = index;
    call->route = &nsl_routes[index];
    call->params = params;
    call->ctx = &ctx;
    nsl_err rc = nsl_system_setLogLevel(call);
    json_decref(params);
    return rc;
}

static void test_system_set_log_level_changes_levels(void **state)
{
    (void)state;
    struct nsl_call call;
    assert_int_equal(set_log_level("{\"level\":\"warn\"}", &call), NSL_OK);
    json_t *levels = json_object_get(call.result, "levels");
    assert_int_equal(json_object_size(levels), NSL_LOGC_COUNT);
    assert_string_equal(json_string_value(json_object_get(levels, "router")), "warn");
    assert_string_equal(json_string_value(json_object_get(levels, "hostchan")), "warn");
    json_decref(call.result);
    assert_false(nsl_log_enabled_for(NSL_LOGC_STORE, NSL_LOG_INFO));
    assert_int_equal(set_log_level("{\"component\":\"store\",\"level\":\"debug\"}", &call), NSL_OK);
    levels = json_object_get(call.result, "levels");
    assert_string_equal(json_string_value(json_object_get(levels, "store")), "debug");
    assert_string_equal(json_string_value(json_object_get(levels, "router")), "warn");
    json_decref(call.result);
    assert_true(nsl_log_enabled_for(NSL_LOGC_STORE, NSL_LOG_DEBUG));
    assert_false(nsl_log_enabled_for(NSL_LOGC_ROUTER, NSL_LOG_INFO));
}

static void test_system_set_log_level_refuses_bad_params_and_changes_nothing(void **state)
{
    (void)state;
    nsl_log_init("test_router", NSL_LOG_ERROR);
    struct nsl_log_levels before, after;
    nsl_log_levels_current(&before);
    struct nsl_call call;
    assert_int_equal(set_log_level("{\"component\":\"nope\",\"level\":\"debug\"}", &call),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(call.error.message, "params.component must be one of main, server"));
    assert_null(call.result);
    assert_int_equal(set_log_level("{\"component\":\"router\",\"level\":\"loud\"}", &call),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(call.error.message, "params.level must be debug, info, warn or error"));
    nsl_log_levels_current(&after);
    assert_memory_equal(&before, &after, sizeof before);
    /* The schema: level is required. */
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"s-1\",\"serviceType\":\"system\",\"operation\":"
                             "\"setLogLevel\",\"params\":{\"component\":\"router\"}}",
                             &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "level"));
    nsl_request_free(&req);
}

/* Admin only: the table asks for neo-sig and the system:setLogLevel permission (which only the
 * admin role's "*" grants), and an anonymous call is refused before the handler runs. */
static void test_system_set_log_level_needs_admin(void **state)
{
    (void)state;
    size_t index;
    assert_int_equal(nsl_route_find("system", "setLogLevel", &index), NSL_OK);
    assert_true(nsl_routes[index].flags & NSL_ROUTE_ADMIN);
    assert_string_equal(nsl_routes[index].permission, "system:setLogLevel");
    nsl_log_init("test_router", NSL_LOG_ERROR);
    struct nsl_request req;
    struct nsl_error err;
    assert_int_equal(prepare("{\"id\":\"s-2\",\"serviceType\":\"system\",\"operation\":"
                             "\"setLogLevel\",\"params\":{\"level\":\"debug\"}}",
                             &req, &err),
                     NSL_OK);
    struct nsl_buf out = {0};
    nsl_router_run(&ctx, &req, &out);
    json_t *resp = only_frame(&out);
    expect_error_response(resp, "s-2", "UNAUTHENTICATED");
    assert_false(nsl_log_enabled_for(NSL_LOGC_ROUTER, NSL_LOG_DEBUG)); /* unchanged */
    json_decref(resp);
    nsl_buf_free(&out);
    nsl_request_free(&req);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_router_prepares_valid_request),
        T(test_router_prepares_request_with_empty_params_and_auth),
        T(test_router_refuses_malformed_json_as_bad_frame),
        T(test_router_refuses_duplicate_key_as_invalid_request),
        T(test_router_refuses_missing_id),
        T(test_router_refuses_id_too_long),
        T(test_router_refuses_non_string_id),
        T(test_router_refuses_unknown_top_level_field_and_echoes_id),
        T(test_router_refuses_params_that_are_not_an_object),
        T(test_router_refuses_wrong_typed_envelope_fields),
        T(test_router_refuses_unknown_service),
        T(test_router_refuses_unknown_operation),
        T(test_router_refuses_bad_params),
        T(test_router_runs_system_health),
        T(test_router_refuses_system_info_without_auth),
        T(test_router_answers_unavailable_while_storage_is_not_ready),
        T(test_router_append_error_renders_null_id),
        T(test_router_append_error_escapes_message),
        T(test_router_responses_append_after_existing_frames),
        T(test_system_info_reports_version_mode_uptime_operations),
        T(test_system_health_reports_host_channel_down),
        T(test_system_metrics_counts_requests_and_errors),
        T(test_probe_refuses_host_round_trips_and_resets),
        T(test_try_inline_runs_only_cached_routes),
        T(test_router_logs_completion_with_trace_id_and_no_params),
        T(test_router_refuses_bad_trace_id),
        T(test_system_set_log_level_changes_levels),
        T(test_system_set_log_level_refuses_bad_params_and_changes_nothing),
        T(test_system_set_log_level_needs_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
