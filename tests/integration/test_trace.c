/* Request ids and log levels end to end (issue 12, item 4) on the dev stack: an X-Request-Id
 * sent over HTTP is found in the parent's JSON log lines, in the enclave router's completion line
 * and in the parent's host-channel line for the store write it caused; a missing one is
 * generated, a bad one replaced; each call of a batch gets "<id>.<index>"; system.setLogLevel
 * needs an admin and changes what the enclave logs; SIGHUP makes the parent re-read its level. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/secret.h"
#include "harness/client.h"
#include "harness/harness.h"

#define WAIT_MS 10000

static struct nsl_stack stack;
static struct nsl_client client = {.fd = -1};
static struct nsl_secret *admin_key;
static char admin_id[64], user_api_key[128];
static char config_path[300];

static void write_config(const char *log_level)
{
    FILE *f = fopen(config_path, "w");
    assert_non_null(f);
    fprintf(f, "{\"log-level\": \"%s\"}\n", log_level);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_trace", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0)
        return -1;
    /* The parent's level comes from its config file (so that SIGHUP can change it): info, with
     * the host channel's per-call lines (debug) on. */
    snprintf(config_path, sizeof config_path, "%s/parent.json", stack.dir);
    write_config("info,hostchan=debug");
    stack.parent_extra[0] = "--config";
    stack.parent_extra[1] = config_path;
    /* The router logs successful reads (whoami here) at debug. */
    stack.enclave_extra[0] = "--log-level";
    stack.enclave_extra[1] = "info,router=debug";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
        return -1;
    client.fd = nsl_test_connect(stack.enclave_url);
    if (client.fd < 0 || nsl_wait_storage_ready(client.fd, 15000) != 0)
        return -1;
    nsl_client_bootstrap(&client, &admin_key, admin_id, sizeof admin_id);
    struct nsl_signing admin = {.key = admin_key, .account = admin_id};
    nsl_client_create_user(&client, &admin, "tracer", user_api_key, sizeof user_api_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (client.fd >= 0)
        close(client.fd);
    nsl_secret_free(admin_key);
    return nsl_stack_stop(&stack);
}

/* ---- log lines ---- */

struct wanted {
    const char *file;       /* "parent.log" or "enclave.log" */
    const char *fields[16]; /* name, value, ..., NULL: every one must match */
};

/* True when some line of the file is a JSON object with all the wanted fields. Every line must
 * parse: a line that does not fails the test. */
static bool log_has(void *ctx)
{
    const struct wanted *w = ctx;
    char path[400];
    snprintf(path, sizeof path, "%s/%s", stack.dir, w->file);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    ssize_t n;
    while (!found && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* still being written */
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        if (!o) {
            if (line[0] != '{') /* only our JSON lines matter (sanitizer output may interleave) */
                continue;
            fail_msg("%s: a log line is not JSON: %s", w->file, line);
        }
        found = true;
        for (size_t i = 0; w->fields[i]; i += 2) {
            const char *v = json_string_value(json_object_get(o, w->fields[i]));
            if (!v || strcmp(v, w->fields[i + 1]) != 0)
                found = false;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return found;
}

static void expect_line(const struct wanted *w)
{
    if (nsl_wait_until(log_has, (void *)w, WAIT_MS) != 0)
        fail_msg("%s has no line with %s=%s %s=%s %s=%s", w->file, w->fields[0], w->fields[1],
                 w->fields[2] ? w->fields[2] : "", w->fields[2] ? w->fields[3] : "",
                 w->fields[4] ? w->fields[4] : "", w->fields[4] ? w->fields[5] : "");
}

static void expect_no_line(const struct wanted *w)
{
    assert_false(log_has((void *)w));
}

/* ---- HTTP ---- */

/* POSTs body to /v1/rpc with the user's API key and extra headers; returns the X-Request-Id
 * the parent answered with, in rid. */
static void post_rpc(const char *extra_headers, const char *body, char *rid, size_t len)
{
    char headers[512];
    snprintf(headers, sizeof headers, "Authorization: NSL-APIKEY %s\r\n%s", user_api_key,
             extra_headers);
    int status = 0;
    char *head = NULL, *resp = NULL;
    assert_int_equal(
        nsl_http_exchange(stack.http_port, "POST", "/v1/rpc", headers, body, &status, &head, &resp),
        0);
    assert_int_equal(status, 200);
    json_t *v = json_loads(resp, 0, NULL);
    assert_non_null(v);
    assert_null(json_object_get(json_is_array(v) ? json_array_get(v, 0) : v, "error"));
    json_decref(v);
    const char *h = strstr(head, "X-Request-Id: ");
    assert_non_null(h);
    snprintf(rid, len, "%.*s", (int)strcspn(h + 14, "\r\n"), h + 14);
    free(head);
    free(resp);
}

static bool is_generated_id(const char *id)
{
    return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

static const char *const wallet_create =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"wallet.create\",\"params\":{}}";

/* ---- tests ---- */

static void test_trace_request_id_reaches_enclave_and_host_channel(void **state)
{
    (void)state;
    char rid[128];
    post_rpc("X-Request-Id: it-trace_1.a\r\n", wallet_create, rid, sizeof rid);
    assert_string_equal(rid, "it-trace_1.a");
    /* The parent's access line, the enclave's completion line, and the parent's host-channel
     * line for the store write that wallet.create made (a kv write carries the same id). */
    struct wanted parent = {"parent.log",
                            {"rid", rid, "component", "http", "event", "http_request", "status",
                             "200", "proc", "nsl-parent", NULL}};
    struct wanted router = {"enclave.log",
                            {"rid", rid, "component", "router", "event", "request_done", "service",
                             "wallet", "operation", "create", "code", "OK", NULL}};
    struct wanted host = {"parent.log",
                          {"rid", rid, "component", "hostchan", "event", "host_call", "service",
                           "kv", "code", "OK", NULL}};
    expect_line(&parent);
    expect_line(&router);
    expect_line(&host);
}

static void test_trace_missing_request_id_is_generated(void **state)
{
    (void)state;
    char rid[128];
    post_rpc("", wallet_create, rid, sizeof rid);
    assert_true(is_generated_id(rid));
    struct wanted parent = {"parent.log", {"rid", rid, "event", "http_request", NULL}};
    struct wanted router = {"enclave.log", {"rid", rid, "event", "request_done", NULL}};
    expect_line(&parent);
    expect_line(&router);
}

static void test_trace_bad_request_id_is_replaced_and_logged(void **state)
{
    (void)state;
    char rid[128];
    post_rpc("X-Request-Id: not valid!\r\n", wallet_create, rid, sizeof rid);
    assert_true(is_generated_id(rid));
    struct wanted refused = {"parent.log",
                             {"rid", rid, "event", "request_id_refused", "level", "warn", NULL}};
    struct wanted router = {"enclave.log", {"rid", rid, "event", "request_done", NULL}};
    expect_line(&refused);
    expect_line(&router);
}

static void test_trace_batch_calls_get_indexed_ids(void **state)
{
    (void)state;
    char rid[128];
    post_rpc("X-Request-Id: batch-7\r\n",
             "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"account.whoami\"},"
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"wallet.create\"}]",
             rid, sizeof rid);
    assert_string_equal(rid, "batch-7");
    struct wanted first = {
        "enclave.log", {"rid", "batch-7.0", "event", "request_done", "operation", "whoami", NULL}};
    struct wanted second = {
        "enclave.log", {"rid", "batch-7.1", "event", "request_done", "operation", "create", NULL}};
    struct wanted host = {"parent.log", {"rid", "batch-7.1", "event", "host_call", NULL}};
    expect_line(&first);
    expect_line(&second);
    expect_line(&host);
}

/* A raw-frame request with a traceId (the way to find it in the enclave's log). */
static json_t *traced(json_t *request, const char *trace)
{
    json_object_set_new(request, "traceId", json_string(trace));
    return request;
}

static json_t *set_log_level_as_admin(const char *params)
{
    struct nsl_signing admin = {.key = admin_key, .account = admin_id};
    return nsl_client_signed(&client, &admin, "system", "setLogLevel", params);
}

/* account.whoami as the user, with a traceId. */
static void whoami(const char *trace)
{
    json_t *req = traced(nsl_client_envelope(&client, "account", "whoami", NULL), trace);
    json_object_set_new(req, "auth",
                        json_pack("{s:s, s:s}", "scheme", "apikey", "apiKey", user_api_key));
    json_t *reply = nsl_client_send(&client, req);
    nsl_client_result(reply);
    json_decref(reply);
}

static void test_trace_set_log_level_needs_admin_and_changes_enclave_logs(void **state)
{
    (void)state;
    /* A user is refused; bad params are refused; nothing changes. */
    nsl_client_expect_error(nsl_client_apikey(&client, user_api_key, "system", "setLogLevel",
                                              "{\"component\":\"router\",\"level\":\"warn\"}"),
                            "PERMISSION_DENIED");
    nsl_client_expect_error(set_log_level_as_admin("{\"component\":\"nope\",\"level\":\"warn\"}"),
                            "INVALID_PARAMS");
    nsl_client_expect_error(set_log_level_as_admin("{\"component\":\"router\",\"level\":\"loud\"}"),
                            "INVALID_PARAMS");
    whoami("still-logged-1");
    struct wanted logged = {"enclave.log",
                            {"rid", "still-logged-1", "event", "request_done", NULL}};
    expect_line(&logged);

    json_t *reply = set_log_level_as_admin("{\"component\":\"router\",\"level\":\"warn\"}");
    json_t *levels = json_object_get(nsl_client_result(reply), "levels");
    assert_string_equal(json_string_value(json_object_get(levels, "router")), "warn");
    assert_string_equal(json_string_value(json_object_get(levels, "store")), "info");
    json_decref(reply);
    struct wanted changed = {"enclave.log",
                             {"event", "log_level_changed", "target", "router", "to", "warn",
                              "component", "service", NULL}};
    expect_line(&changed);
    whoami("silenced-2");

    reply = set_log_level_as_admin("{\"component\":\"router\",\"level\":\"debug\"}");
    nsl_client_result(reply);
    json_decref(reply);
    whoami("logged-again-3");
    struct wanted again = {"enclave.log", {"rid", "logged-again-3", "event", "request_done", NULL}};
    expect_line(&again);
    /* Requests are answered in order on this connection: the line of the one in between would be
     * in the file by now. */
    struct wanted silenced = {"enclave.log", {"rid", "silenced-2", NULL}};
    expect_no_line(&silenced);
}

static void test_trace_parent_rereads_log_level_on_sighup(void **state)
{
    (void)state;
    char rid[128];
    write_config("info,http=warn");
    assert_int_equal(kill(stack.parent_pid, SIGHUP), 0);
    struct wanted changed = {"parent.log",
                             {"event", "log_level_changed", "log_level", "info,http=warn", NULL}};
    expect_line(&changed);
    post_rpc("X-Request-Id: quiet-http-1\r\n", wallet_create, rid, sizeof rid);
    /* hostchan is back at info: its per-call debug lines are gone too. */
    struct wanted router = {"enclave.log", {"rid", "quiet-http-1", "event", "request_done", NULL}};
    expect_line(&router);

    write_config("info");
    assert_int_equal(kill(stack.parent_pid, SIGHUP), 0);
    struct wanted back = {"parent.log", {"event", "log_level_changed", "log_level", "info", NULL}};
    expect_line(&back);
    post_rpc("X-Request-Id: loud-http-2\r\n", wallet_create, rid, sizeof rid);
    struct wanted loud = {"parent.log", {"rid", "loud-http-2", "event", "http_request", NULL}};
    expect_line(&loud);
    struct wanted quiet = {"parent.log", {"rid", "quiet-http-1", NULL}};
    expect_no_line(&quiet);

    /* A bad level in the file leaves the levels as they were, and says why. */
    write_config("http=loud");
    assert_int_equal(kill(stack.parent_pid, SIGHUP), 0);
    struct wanted refused = {"parent.log",
                             {"event", "log_level_unchanged", "level", "error", NULL}};
    expect_line(&refused);
    post_rpc("X-Request-Id: still-info-3\r\n", wallet_create, rid, sizeof rid);
    struct wanted still = {"parent.log", {"rid", "still-info-3", "event", "http_request", NULL}};
    expect_line(&still);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_request_id_reaches_enclave_and_host_channel),
        cmocka_unit_test(test_trace_missing_request_id_is_generated),
        cmocka_unit_test(test_trace_bad_request_id_is_replaced_and_logged),
        cmocka_unit_test(test_trace_batch_calls_get_indexed_ids),
        cmocka_unit_test(test_trace_set_log_level_needs_admin_and_changes_enclave_logs),
        cmocka_unit_test(test_trace_parent_rereads_log_level_on_sighup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
