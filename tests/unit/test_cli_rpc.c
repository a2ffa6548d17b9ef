/* nsl's JSON-RPC side: endpoint from a base URL, request body, and reading any HTTP answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/rpc.h"

static void test_rpc_endpoint_appends_path_to_base(void **state)
{
    (void)state;
    struct nsl_cli_endpoint ep;
    assert_int_equal(nsl_cli_endpoint_init("http://127.0.0.1:8080", &ep, NULL), NSL_OK);
    assert_string_equal(ep.url, "http://127.0.0.1:8080/v1/rpc");
    assert_string_equal(ep.host, "127.0.0.1:8080");
    assert_string_equal(ep.path, "/v1/rpc");
    nsl_cli_endpoint_free(&ep);
    assert_int_equal(nsl_cli_endpoint_init("https://api.example/nsl/", &ep, NULL), NSL_OK);
    assert_string_equal(ep.url, "https://api.example/nsl/v1/rpc");
    assert_string_equal(ep.host, "api.example");
    nsl_cli_endpoint_free(&ep);
}

static void test_rpc_endpoint_refuses_other_schemes_and_queries(void **state)
{
    (void)state;
    struct nsl_cli_endpoint ep;
    struct nsl_error err = {0};
    assert_int_equal(nsl_cli_endpoint_init("unix:///tmp/x.sock", &ep, &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_int_equal(nsl_cli_endpoint_init("http://h/?a=1", &ep, &err), NSL_ERR_INVALID_REQUEST);
    assert_int_equal(nsl_cli_endpoint_init("not a url", &ep, &err), NSL_ERR_INVALID_REQUEST);
}

static void test_rpc_body_is_jsonrpc_2(void **state)
{
    (void)state;
    json_t *params = json_pack("{s:s}", "amount", "100");
    char *body = nsl_cli_rpc_body("gasbank", "deposit", params);
    assert_string_equal(body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"gasbank.deposit\","
                              "\"params\":{\"amount\":\"100\"}}");
    free(body);
    json_decref(params);
}

static void parse(long status, const char *body, struct nsl_cli_reply *reply)
{
    assert_int_equal(nsl_cli_rpc_parse_reply(status, body, body ? strlen(body) : 0, reply), NSL_OK);
    assert_true((reply->result == NULL) != (reply->error == NULL));
}

static void test_rpc_reply_result_and_error(void **state)
{
    (void)state;
    struct nsl_cli_reply reply;
    parse(200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"status\":\"ok\"}}", &reply);
    assert_string_equal(json_string_value(json_object_get(reply.result, "status")), "ok");
    nsl_cli_reply_free(&reply);
    parse(200,
          "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32002,\"message\":\"no\","
          "\"data\":{\"code\":\"PERMISSION_DENIED\"}}}",
          &reply);
    assert_string_equal(nsl_cli_rpc_error_name(reply.error), "PERMISSION_DENIED");
    nsl_cli_reply_free(&reply);
    /* An error body is believed whatever the status. */
    parse(401, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"who\"}}",
          &reply);
    assert_string_equal(nsl_cli_rpc_error_name(reply.error), "UNAUTHENTICATED");
    nsl_cli_reply_free(&reply);
}

static void test_rpc_reply_without_jsonrpc_body_maps_status(void **state)
{
    (void)state;
    struct nsl_cli_reply reply;
    parse(503, "<html>busy</html>", &reply);
    assert_string_equal(nsl_cli_rpc_error_name(reply.error), "UNAVAILABLE");
    nsl_cli_reply_free(&reply);
    parse(200, "not json", &reply);
    assert_string_equal(nsl_cli_rpc_error_name(reply.error), "INTERNAL");
    nsl_cli_reply_free(&reply);
    parse(404, NULL, &reply);
    assert_string_equal(nsl_cli_rpc_error_name(reply.error), "NOT_FOUND");
    nsl_cli_reply_free(&reply);
}

static void test_rpc_print_request_shows_headers_and_body(void **state)
{
    (void)state;
    struct nsl_cli_endpoint ep;
    assert_int_equal(nsl_cli_endpoint_init("http://localhost:9", &ep, NULL), NSL_OK);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    nsl_cli_rpc_print_request(f, &ep, "NSL-APIKEY k3y", "{}");
    fclose(f);
    assert_string_equal(out,
                        "POST /v1/rpc HTTP/1.1\nHost: localhost:9\nUser-Agent: nsl/" NSL_VERSION
                        "\nContent-Type: application/json\nAccept: application/json\n"
                        "Authorization: NSL-APIKEY k3y\nContent-Length: 2\n\n{}\n");
    free(out);
    nsl_cli_endpoint_free(&ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpc_endpoint_appends_path_to_base),
        cmocka_unit_test(test_rpc_endpoint_refuses_other_schemes_and_queries),
        cmocka_unit_test(test_rpc_body_is_jsonrpc_2),
        cmocka_unit_test(test_rpc_reply_result_and_error),
        cmocka_unit_test(test_rpc_reply_without_jsonrpc_body_maps_status),
        cmocka_unit_test(test_rpc_print_request_shows_headers_and_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
