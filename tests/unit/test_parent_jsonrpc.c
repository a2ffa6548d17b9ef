/* Unit tests of parent/jsonrpc: body parsing, Authorization parsing and error mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parent/jsonrpc.h"

static struct nsl_rpc_batch parse(const char *body, size_t max_batch)
{
    struct nsl_rpc_batch b;
    assert_int_equal(nsl_jsonrpc_parse(body, strlen(body), max_batch, &b), 0);
    return b;
}

static void assert_call_error(const struct nsl_rpc_call *c, int rpc_code, nsl_err code)
{
    assert_true(c->failed);
    assert_int_equal(c->error.rpc_code, rpc_code);
    assert_int_equal(c->error.error.code, code);
}

static void test_jsonrpc_single_call(void **state)
{
    (void)state;
    struct nsl_rpc_batch b =
        parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"system.health\",\"params\":{}}", 10);
    assert_false(b.failed);
    assert_false(b.is_batch);
    assert_int_equal(b.count, 1);
    assert_false(b.calls[0].failed);
    assert_int_equal(b.calls[0].route, 0);
    assert_int_equal(json_integer_value(b.calls[0].id), 7);
    size_t len;
    char *req = nsl_jsonrpc_enclave_request(&b.calls[0], "p-1", NULL, NULL, &len);
    assert_string_equal(
        req, "{\"id\":\"p-1\",\"serviceType\":\"system\",\"operation\":\"health\",\"params\":{}}");
    assert_int_equal(len, strlen(req));
    free(req);
    nsl_jsonrpc_batch_free(&b);
}

static void test_jsonrpc_absent_params_become_empty_object(void **state)
{
    (void)state;
    struct nsl_rpc_batch b = parse("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"x.y\"}", 10);
    assert_false(b.calls[0].failed);
    assert_int_equal(b.calls[0].route, -1); /* unknown methods are forwarded, labelled unknown */
    struct nsl_buf auth = {0};
    struct nsl_error err;
    assert_int_equal(nsl_jsonrpc_parse_auth("NSL-APIKEY k", &auth, &err), NSL_OK);
    size_t len;
    char *req = nsl_jsonrpc_enclave_request(&b.calls[0], "p-9", "t-9", &auth, &len);
    assert_string_equal(req, "{\"id\":\"p-9\",\"serviceType\":\"x\",\"operation\":\"y\",\"params\":"
                             "{},\"auth\":{\"scheme\":\"apikey\",\"apiKey\":\"k\"},"
                             "\"traceId\":\"t-9\"}");
    free(req);
    nsl_buf_free_wipe(&auth);
    nsl_jsonrpc_batch_free(&b);
}

static void test_jsonrpc_enclave_request_escapes_names(void **state)
{
    (void)state;
    struct nsl_rpc_batch b =
        parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"s\\u00e9r\\\"v.o p\\n\","
              "\"params\":{\"k\":[1,\"\\u0001\"]}}",
              10);
    assert_false(b.calls[0].failed);
    size_t len;
    char *req = nsl_jsonrpc_enclave_request(&b.calls[0], "p-3", "t.1", NULL, &len);
    json_error_t jerr;
    json_t *frame = json_loadb(req, len, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(frame);
    assert_string_equal(json_string_value(json_object_get(frame, "serviceType")), "s\xc3\xa9r\"v");
    assert_string_equal(json_string_value(json_object_get(frame, "operation")), "o p\n");
    assert_string_equal(json_string_value(json_object_get(frame, "traceId")), "t.1");
    assert_true(json_equal(json_object_get(frame, "params"), b.calls[0].params));
    assert_int_equal(json_object_size(frame), 5);
    json_decref(frame);
    free(req);
    nsl_jsonrpc_batch_free(&b);
}

static void test_jsonrpc_batch_and_notification(void **state)
{
    (void)state;
    struct nsl_rpc_batch b = parse("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"system.health\"},"
                                   "{\"jsonrpc\":\"2.0\",\"method\":\"system.info\"},"
                                   "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"a.b\"}, 3]",
                                   10);
    assert_false(b.failed);
    assert_true(b.is_batch);
    assert_int_equal(b.count, 4);
    assert_true(nsl_jsonrpc_call_answered(&b.calls[0]));
    assert_false(b.calls[1].failed);
    assert_false(nsl_jsonrpc_call_answered(&b.calls[1])); /* notification */
    assert_true(json_is_null(b.calls[2].id));
    assert_true(nsl_jsonrpc_call_answered(&b.calls[2]));
    assert_call_error(&b.calls[3], NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST);
    assert_true(nsl_jsonrpc_call_answered(&b.calls[3]));
    nsl_jsonrpc_batch_free(&b);
}

static void test_jsonrpc_rejects_bad_envelopes(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"a.b\"}",
        "{\"id\":1,\"method\":\"a.b\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\".b\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a.\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}",
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"a.b\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a.b\",\"extra\":1}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct nsl_rpc_batch b = parse(bodies[i], 10);
        assert_false(b.failed);
        assert_call_error(&b.calls[0], NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST);
        assert_true(nsl_jsonrpc_call_answered(&b.calls[0]));
        nsl_jsonrpc_batch_free(&b);
    }
}

static void test_jsonrpc_array_params_are_invalid_params(void **state)
{
    (void)state;
    struct nsl_rpc_batch b =
        parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a.b\",\"params\":[1]}", 10);
    assert_call_error(&b.calls[0], NSL_RPC_INVALID_PARAMS, NSL_ERR_INVALID_PARAMS);
    nsl_jsonrpc_batch_free(&b);
    b = parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a.b\",\"params\":\"x\"}", 10);
    assert_call_error(&b.calls[0], NSL_RPC_INVALID_PARAMS, NSL_ERR_INVALID_PARAMS);
    nsl_jsonrpc_batch_free(&b);
}

static void test_jsonrpc_body_level_errors(void **state)
{
    (void)state;
    struct {
        const char *body;
        int rpc_code;
        nsl_err code;
    } cases[] = {
        {"{not json", NSL_RPC_PARSE_ERROR, NSL_ERR_INVALID_REQUEST},
        {"", NSL_RPC_PARSE_ERROR, NSL_ERR_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a.b\"}",
         NSL_RPC_PARSE_ERROR, NSL_ERR_INVALID_REQUEST},
        {"[]", NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST},
        {"[1,2,3]", NSL_RPC_INVALID_REQUEST, NSL_ERR_LIMIT_EXCEEDED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nsl_rpc_batch b = parse(cases[i].body, 2);
        assert_true(b.failed);
        assert_int_equal(b.error.rpc_code, cases[i].rpc_code);
        assert_int_equal(b.error.error.code, cases[i].code);
        nsl_jsonrpc_batch_free(&b);
    }
}

/* The auth text parsed back as the enclave will parse it (NULL when there is none). */
static json_t *auth_of(const char *header)
{
    struct nsl_buf text = {0};
    struct nsl_error err;
    assert_int_equal(nsl_jsonrpc_parse_auth(header, &text, &err), NSL_OK);
    json_error_t jerr;
    json_t *auth =
        text.len ? json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, &jerr)
                 : NULL;
    if (text.len)
        assert_non_null(auth);
    nsl_buf_free_wipe(&text);
    return auth;
}

static void test_jsonrpc_auth_apikey(void **state)
{
    (void)state;
    assert_null(auth_of(NULL));
    json_t *auth = auth_of("NSL-APIKEY abc123");
    assert_string_equal(json_string_value(json_object_get(auth, "scheme")), "apikey");
    assert_string_equal(json_string_value(json_object_get(auth, "apiKey")), "abc123");
    assert_int_equal(json_object_size(auth), 2);
    json_decref(auth);
    /* Printable characters that JSON escapes come through as they were sent. */
    auth = auth_of("NSL-APIKEY a\"b\\c");
    assert_string_equal(json_string_value(json_object_get(auth, "apiKey")), "a\"b\\c");
    json_decref(auth);
}

static void test_jsonrpc_auth_neo_sig(void **state)
{
    (void)state;
    json_t *auth = auth_of("NSL-SIG nonce=N1,account=NA,sig=ab,ts=17");
    assert_string_equal(json_string_value(json_object_get(auth, "scheme")), "neo-sig");
    assert_string_equal(json_string_value(json_object_get(auth, "account")), "NA");
    assert_string_equal(json_string_value(json_object_get(auth, "timestamp")), "17");
    assert_string_equal(json_string_value(json_object_get(auth, "nonce")), "N1");
    assert_string_equal(json_string_value(json_object_get(auth, "signature")), "ab");
    assert_int_equal(json_object_size(auth), 5);
    json_decref(auth);
}

static void test_jsonrpc_auth_rejects_malformed(void **state)
{
    (void)state;
    static const char *const headers[] = {
        "Bearer x",
        "NSL-APIKEY ",
        "NSL-APIKEY a b",
        "NSL-APIKEY  a",
        "nsl-apikey a",
        "NSL-SIG ",
        "NSL-SIG account=A,ts=1,nonce=N",
        "NSL-SIG account=A,ts=1,nonce=N,sig=S,extra=1",
        "NSL-SIG account=A,account=B,ts=1,nonce=N,sig=S",
        "NSL-SIG account=A,ts=1,nonce=N,sig=S,",
        "NSL-SIG account=,ts=1,nonce=N,sig=S",
        "NSL-SIG account=A, ts=1,nonce=N,sig=S",
        "NSL-SIG account=A,ts,nonce=N,sig=S",
        "NSL-SIG account=A=B,ts=1,nonce=N,sig=S",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        struct nsl_buf auth = {0};
        struct nsl_error err;
        assert_int_equal(nsl_jsonrpc_parse_auth(headers[i], &auth, &err), NSL_ERR_UNAUTHENTICATED);
        assert_int_equal(auth.len, 0);
        assert_null(auth.data);
        assert_null(strstr(err.message, "A,")); /* the value is never echoed */
    }
}

/* An enclave reply as the pool hands it over (text scanned as it does). */
static struct nsl_pool_reply reply_of(const char *text)
{
    static const char *const names[] = {"id", "ok", "result", "error"};
    struct nsl_json_span spans[4];
    assert_int_equal(nsl_json_scan_object(text, strlen(text), names, 4, spans), 0);
    return (struct nsl_pool_reply){.text = (char *)text,
                                   .len = strlen(text),
                                   .ok = spans[1],
                                   .result = spans[2],
                                   .error = spans[3]};
}

/* The JSON-RPC response rendered for the enclave reply text, parsed back. */
static json_t *render(const json_t *id, const char *reply_text, nsl_err *code)
{
    struct nsl_pool_reply reply = reply_of(reply_text);
    struct nsl_buf out = {0};
    assert_int_equal(nsl_jsonrpc_render_enclave(&out, id, &reply, code), 0);
    json_error_t jerr;
    json_t *r = json_loadb((const char *)out.data, out.len, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(r);
    nsl_buf_free(&out);
    return r;
}

static void test_jsonrpc_maps_every_enclave_error(void **state)
{
    (void)state;
    json_t *id = json_string("req");
    for (int code = 1; code < NSL_ERR_COUNT; code++) {
        char text[200];
        snprintf(text, sizeof text,
                 "{\"id\":\"p-1\",\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"why\"}}",
                 nsl_err_name((nsl_err)code));
        nsl_err got;
        json_t *r = render(id, text, &got);
        assert_int_equal(got, code);
        json_t *e = json_object_get(r, "error");
        assert_int_equal(json_integer_value(json_object_get(e, "code")),
                         nsl_err_jsonrpc_code((nsl_err)code));
        assert_string_equal(json_string_value(json_object_get(e, "message")), "why");
        assert_string_equal(json_string_value(json_object_get(json_object_get(e, "data"), "code")),
                            nsl_err_name((nsl_err)code));
        assert_string_equal(json_string_value(json_object_get(r, "id")), "req");
        assert_string_equal(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
        json_decref(r);
    }
    json_decref(id);
}

static void test_jsonrpc_maps_result_and_malformed_responses(void **state)
{
    (void)state;
    nsl_err got;
    json_t *r = render(NULL, "{\"id\":\"p-1\",\"ok\":true,\"result\":{\"n\":5}}", &got);
    assert_int_equal(got, NSL_OK);
    assert_true(json_is_null(json_object_get(r, "id")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"), "n")), 5);
    json_decref(r);
    static const char *const malformed[] = {
        "{\"id\":\"p-1\",\"ok\":false,\"error\":{\"code\":\"NOPE\"}}", /* unknown code */
        "{\"id\":\"p-1\",\"ok\":true}",                                /* no result */
        "{\"id\":\"p-1\",\"ok\":1,\"result\":{}}",                     /* ok not a boolean */
        "{\"id\":\"p-1\",\"ok\":false,\"error\":\"x\"}",               /* error not an object */
        "{\"id\":\"p-1\",\"ok\":false,\"error\":{\"code\":\"OK\"}}",   /* success as an error */
        "{\"id\":\"p-1\",\"ok\":false,\"error\":{\"code\":\"INTERNAL\",\"code\":\"x\"}}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        r = render(NULL, malformed[i], &got);
        assert_int_equal(got, NSL_ERR_INTERNAL);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")),
                         -32603);
        json_decref(r);
    }
}

static void test_jsonrpc_result_text_is_copied_and_ids_render(void **state)
{
    (void)state;
    struct nsl_pool_reply reply =
        reply_of("{\"ok\":true, \"result\" : [1.50e3, \"\\u00e9\"] ,\"id\":\"p-2\"}");
    json_t *ids[] = {json_integer(-12), json_string("a\"b"), json_real(0.5), NULL};
    const char *want[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":-12,\"result\":[1.50e3, \"\\u00e9\"]}",
        "{\"jsonrpc\":\"2.0\",\"id\":\"a\\\"b\",\"result\":[1.50e3, \"\\u00e9\"]}",
        "{\"jsonrpc\":\"2.0\",\"id\":0.5,\"result\":[1.50e3, \"\\u00e9\"]}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":[1.50e3, \"\\u00e9\"]}",
    };
    for (size_t i = 0; i < 4; i++) {
        struct nsl_buf out = {0};
        nsl_err got;
        assert_int_equal(nsl_jsonrpc_render_enclave(&out, ids[i], &reply, &got), 0);
        assert_int_equal(got, NSL_OK);
        assert_int_equal(out.len, strlen(want[i]));
        assert_memory_equal(out.data, want[i], out.len);
        nsl_buf_free(&out);
        json_decref(ids[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonrpc_single_call),
        cmocka_unit_test(test_jsonrpc_absent_params_become_empty_object),
        cmocka_unit_test(test_jsonrpc_enclave_request_escapes_names),
        cmocka_unit_test(test_jsonrpc_batch_and_notification),
        cmocka_unit_test(test_jsonrpc_rejects_bad_envelopes),
        cmocka_unit_test(test_jsonrpc_array_params_are_invalid_params),
        cmocka_unit_test(test_jsonrpc_body_level_errors),
        cmocka_unit_test(test_jsonrpc_auth_apikey),
        cmocka_unit_test(test_jsonrpc_auth_neo_sig),
        cmocka_unit_test(test_jsonrpc_auth_rejects_malformed),
        cmocka_unit_test(test_jsonrpc_maps_every_enclave_error),
        cmocka_unit_test(test_jsonrpc_maps_result_and_malformed_responses),
        cmocka_unit_test(test_jsonrpc_result_text_is_copied_and_ids_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
