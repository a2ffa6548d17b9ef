/* Unit tests of common/json: strict parsing, schema checks and accessors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

static json_t *parse(const char *text, nsl_err code, struct nsl_error *err)
{
    memset(err, 0, sizeof *err);
    return nsl_json_parse_object(text, strlen(text), code, err);
}

/* Parses text (which must be a valid object) and checks it against spec. */
static nsl_err check(const char *text, const struct nsl_field_spec *spec, struct nsl_error *err)
{
    struct nsl_error perr;
    json_t *obj = parse(text, NSL_ERR_INVALID_REQUEST, &perr);
    if (!obj)
        fail_msg("test input does not parse: %s (%s)", text, perr.message);
    memset(err, 0, sizeof *err);
    nsl_err rc = nsl_json_check(obj, spec, NSL_ERR_INVALID_PARAMS, "params", err);
    json_decref(obj);
    return rc;
}

static void test_json_parses_one_object(void **state)
{
    (void)state;
    struct nsl_error err;
    json_t *o = parse("{\"a\": 1, \"b\": [true]}", NSL_ERR_BAD_FRAME, &err);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 2);
    json_decref(o);
}

static void test_json_duplicate_key_in_frame_is_invalid_request(void **state)
{
    (void)state;
    struct nsl_error err;
    assert_null(parse("{\"id\":\"a\",\"id\":\"b\"}", NSL_ERR_BAD_FRAME, &err));
    assert_int_equal(err.code, NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "id"));
    /* Nested duplicates too. */
    assert_null(parse("{\"p\":{\"x\":1,\"x\":2}}", NSL_ERR_BAD_FRAME, &err));
    assert_int_equal(err.code, NSL_ERR_INVALID_REQUEST);
}

static void test_json_duplicate_key_with_other_code_keeps_code(void **state)
{
    (void)state;
    struct nsl_error err;
    assert_null(parse("{\"a\":1,\"a\":1}", NSL_ERR_INVALID_PARAMS, &err));
    assert_int_equal(err.code, NSL_ERR_INVALID_PARAMS);
}

static void test_json_malformed_is_reported_with_given_code(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "{", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":1} {\"b\":2}", "{\"a\":01}", "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nsl_error err;
        assert_null(parse(bad[i], NSL_ERR_BAD_FRAME, &err));
        assert_int_equal(err.code, NSL_ERR_BAD_FRAME);
        assert_true(strlen(err.message) > 0);
    }
}

static void test_json_non_object_top_level_is_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {"[]", "[{\"a\":1}]", "\"text\"", "42", "true", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nsl_error err;
        assert_null(parse(bad[i], NSL_ERR_BAD_FRAME, &err));
        assert_int_equal(err.code, NSL_ERR_BAD_FRAME);
        assert_true(strlen(err.message) > 0);
    }
    /* An array parses as JSON and is then refused for not being an object. */
    struct nsl_error err;
    assert_null(parse("[1]", NSL_ERR_INVALID_REQUEST, &err));
    assert_int_equal(err.code, NSL_ERR_INVALID_REQUEST);
    assert_string_equal(err.message, "expected a JSON object");
}

static void test_json_nul_in_string_is_rejected(void **state)
{
    (void)state;
    struct nsl_error err;
    assert_null(parse("{\"a\":\"x\\u0000y\"}", NSL_ERR_BAD_FRAME, &err));
    assert_int_equal(err.code, NSL_ERR_BAD_FRAME);
    assert_null(parse("{\"a\\u0000\":1}", NSL_ERR_BAD_FRAME, &err));
    /* A raw NUL byte inside the counted payload is refused as well. */
    const char raw[] = "{\"a\":\"x\0y\"}";
    assert_null(nsl_json_parse_object(raw, sizeof raw - 1, NSL_ERR_BAD_FRAME, &err));
}

static void test_json_parse_respects_length_not_terminator(void **state)
{
    (void)state;
    struct nsl_error err;
    const char text[] = "{\"a\":1}garbage";
    json_t *o = nsl_json_parse_object(text, 7, NSL_ERR_BAD_FRAME, &err);
    assert_non_null(o);
    json_decref(o);
}

static const struct nsl_field_spec spec_all[] = {
    {"name", NSL_FIELD_STRING, true, 8, 0, 0, "a name"},
    {"key", NSL_FIELD_HEX, false, 4, 0, 0, "up to 4 bytes"},
    {"blob", NSL_FIELD_BASE64, false, 4, 0, 0, "up to 4 bytes"},
    {"amount", NSL_FIELD_DIGITS, false, 5, 0, 0, "up to 5 digits"},
    {"count", NSL_FIELD_INT, false, 0, -5, 100, "in [-5, 100]"},
    {"flag", NSL_FIELD_BOOL, false, 0, 0, 0, "a flag"},
    {"obj", NSL_FIELD_OBJECT, false, 2, 0, 0, "at most 2 members"},
    {"list", NSL_FIELD_ARRAY, false, 3, 0, 0, "at most 3 items"},
    {"anything", NSL_FIELD_ANY, false, 0, 0, 0, "anything"},
    NSL_FIELDS_END,
};

static void expect_ok(const char *text)
{
    struct nsl_error err;
    nsl_err rc = check(text, spec_all, &err);
    if (rc != NSL_OK)
        fail_msg("expected %s to pass, got %s", text, err.message);
}

/* Expects text to fail with INVALID_PARAMS and a message naming params.<field>. */
static void expect_bad(const char *text, const char *field)
{
    struct nsl_error err;
    nsl_err rc = check(text, spec_all, &err);
    if (rc == NSL_OK)
        fail_msg("expected %s to fail", text);
    assert_int_equal(rc, NSL_ERR_INVALID_PARAMS);
    assert_int_equal(err.code, NSL_ERR_INVALID_PARAMS);
    char want[64];
    snprintf(want, sizeof want, "params.%s", field);
    if (!strstr(err.message, want))
        fail_msg("message \"%s\" does not name %s", err.message, want);
}

static void test_json_check_accepts_valid_object(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"alice\"}");
    expect_ok("{\"name\":\"12345678\",\"key\":\"DEADbeef\",\"blob\":\"AAECAw==\","
              "\"amount\":\"99999\",\"count\":-5,\"flag\":false,\"obj\":{\"a\":1,\"b\":2},"
              "\"list\":[1,2,3],\"anything\":null}");
}

static void test_json_check_refuses_unknown_field_and_names_it(void **state)
{
    (void)state;
    struct nsl_error err;
    assert_int_equal(check("{\"name\":\"a\",\"evil\":1}", spec_all, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "\"evil\""));
    assert_non_null(strstr(err.message, "params"));
}

static void test_json_check_unknown_field_name_is_bounded(void **state)
{
    (void)state;
    char text[600];
    char longname[500];
    memset(longname, 'k', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    snprintf(text, sizeof text, "{\"%s\":1}", longname);
    struct nsl_error err;
    assert_int_equal(check(text, spec_all, &err), NSL_ERR_INVALID_PARAMS);
    assert_true(strlen(err.message) < 128);
}

static void test_json_check_refuses_missing_required(void **state)
{
    (void)state;
    expect_bad("{}", "name");
    struct nsl_error err;
    assert_int_equal(check("{\"flag\":true}", spec_all, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "required"));
}

static void test_json_check_refuses_non_object(void **state)
{
    (void)state;
    struct nsl_error err;
    json_t *a = json_array();
    assert_int_equal(nsl_json_check(a, spec_all, NSL_ERR_INVALID_REQUEST, "request", &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "request"));
    json_decref(a);
    assert_int_equal(nsl_json_check(NULL, spec_all, NSL_ERR_INVALID_PARAMS, "params", &err),
                     NSL_ERR_INVALID_PARAMS);
}

static void test_json_check_uses_given_code(void **state)
{
    (void)state;
    struct nsl_error err;
    json_t *o = json_pack("{s:i}", "name", 5);
    assert_int_equal(nsl_json_check(o, spec_all, NSL_ERR_INVALID_REQUEST, "request", &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "request.name"));
    json_decref(o);
}

static void test_json_empty_schema_accepts_only_empty_object(void **state)
{
    (void)state;
    static const struct nsl_field_spec none[] = {NSL_FIELDS_END};
    struct nsl_error err;
    assert_int_equal(check("{}", none, &err), NSL_OK);
    assert_int_equal(check("{\"x\":1}", none, &err), NSL_ERR_INVALID_PARAMS);
}

static void test_json_string_checks_type_and_max_len(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"\"}");
    expect_ok("{\"name\":\"abcdefgh\"}");
    expect_bad("{\"name\":\"abcdefghi\"}", "name");
    expect_bad("{\"name\":1}", "name");
    expect_bad("{\"name\":null}", "name");
    expect_bad("{\"name\":[\"a\"]}", "name");
    /* The limit counts bytes: four two-byte characters fit, five do not. */
    expect_ok("{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}");
    expect_bad("{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", "name");
}

static void test_json_hex_checks_alphabet_parity_and_size(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"a\",\"key\":\"\"}");
    expect_ok("{\"name\":\"a\",\"key\":\"00ff\"}");
    expect_ok("{\"name\":\"a\",\"key\":\"00FFaa11\"}");
    expect_bad("{\"name\":\"a\",\"key\":\"00ffaa1122\"}", "key"); /* 5 bytes */
    expect_bad("{\"name\":\"a\",\"key\":\"abc\"}", "key");        /* odd */
    expect_bad("{\"name\":\"a\",\"key\":\"zz\"}", "key");
    expect_bad("{\"name\":\"a\",\"key\":\"0x00\"}", "key");
    expect_bad("{\"name\":\"a\",\"key\":12}", "key");
}

static void test_json_base64_checks_encoding_and_decoded_size(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"a\",\"blob\":\"\"}");
    expect_ok("{\"name\":\"a\",\"blob\":\"Zg==\"}");              /* 1 byte */
    expect_ok("{\"name\":\"a\",\"blob\":\"Zm9v\"}");              /* 3 bytes */
    expect_ok("{\"name\":\"a\",\"blob\":\"Zm9vYg==\"}");          /* 4 bytes */
    expect_bad("{\"name\":\"a\",\"blob\":\"Zm9vYmE=\"}", "blob"); /* 5 bytes */
    expect_bad("{\"name\":\"a\",\"blob\":\"Zm9vYmFy\"}", "blob"); /* 6 bytes */
    expect_bad("{\"name\":\"a\",\"blob\":\"Zm9\"}", "blob");
    expect_bad("{\"name\":\"a\",\"blob\":\"Zh==\"}", "blob");
    expect_bad("{\"name\":\"a\",\"blob\":\"Zm-_\"}", "blob");
    expect_bad("{\"name\":\"a\",\"blob\":true}", "blob");
}

static void test_json_base64_max_len_counts_decoded_bytes(void **state)
{
    (void)state;
    static const struct nsl_field_spec two[] = {
        {"b", NSL_FIELD_BASE64, true, 2, 0, 0, "up to 2 bytes"},
        NSL_FIELDS_END,
    };
    struct nsl_error err;
    assert_int_equal(check("{\"b\":\"Zm8=\"}", two, &err), NSL_OK);                 /* 2 bytes */
    assert_int_equal(check("{\"b\":\"Zm9v\"}", two, &err), NSL_ERR_INVALID_PARAMS); /* 3 bytes */
    assert_non_null(strstr(err.message, "params.b"));
}

static void test_json_digits_checks_canonical_decimal(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"a\",\"amount\":\"0\"}");
    expect_ok("{\"name\":\"a\",\"amount\":\"7\"}");
    expect_ok("{\"name\":\"a\",\"amount\":\"10000\"}");
    expect_bad("{\"name\":\"a\",\"amount\":\"01\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\"00\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\"\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\"-1\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\"+1\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\"1.5\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\"1e3\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\" 1\"}", "amount");
    expect_bad("{\"name\":\"a\",\"amount\":\"123456\"}", "amount"); /* 6 digits */
    expect_bad("{\"name\":\"a\",\"amount\":5}", "amount");          /* a number, not a string */
}

static void test_json_int_checks_range_and_integrality(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"a\",\"count\":-5}");
    expect_ok("{\"name\":\"a\",\"count\":0}");
    expect_ok("{\"name\":\"a\",\"count\":100}");
    expect_bad("{\"name\":\"a\",\"count\":-6}", "count");
    expect_bad("{\"name\":\"a\",\"count\":101}", "count");
    expect_bad("{\"name\":\"a\",\"count\":1.0}", "count");
    expect_bad("{\"name\":\"a\",\"count\":1e1}", "count");
    expect_bad("{\"name\":\"a\",\"count\":\"5\"}", "count");
    expect_bad("{\"name\":\"a\",\"count\":true}", "count");
    expect_bad("{\"name\":\"a\",\"count\":9223372036854775807}", "count");
}

static void test_json_int_full_range_bounds(void **state)
{
    (void)state;
    static const struct nsl_field_spec wide[] = {
        {"n", NSL_FIELD_INT, true, 0, INT64_MIN, INT64_MAX, "any int64"},
        NSL_FIELDS_END,
    };
    struct nsl_error err;
    assert_int_equal(check("{\"n\":9223372036854775807}", wide, &err), NSL_OK);
    assert_int_equal(check("{\"n\":-9223372036854775808}", wide, &err), NSL_OK);
    /* Beyond int64 jansson refuses to parse at all. */
    struct nsl_error perr;
    assert_null(parse("{\"n\":9223372036854775808}", NSL_ERR_BAD_FRAME, &perr));
}

static void test_json_bool_checks_type(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"a\",\"flag\":true}");
    expect_bad("{\"name\":\"a\",\"flag\":1}", "flag");
    expect_bad("{\"name\":\"a\",\"flag\":\"true\"}", "flag");
    expect_bad("{\"name\":\"a\",\"flag\":null}", "flag");
}

static void test_json_object_and_array_check_type_and_size(void **state)
{
    (void)state;
    expect_ok("{\"name\":\"a\",\"obj\":{}}");
    expect_ok("{\"name\":\"a\",\"obj\":{\"a\":1,\"b\":2}}");
    expect_bad("{\"name\":\"a\",\"obj\":{\"a\":1,\"b\":2,\"c\":3}}", "obj");
    expect_bad("{\"name\":\"a\",\"obj\":[]}", "obj");
    expect_ok("{\"name\":\"a\",\"list\":[]}");
    expect_ok("{\"name\":\"a\",\"list\":[1,\"x\",{}]}");
    expect_bad("{\"name\":\"a\",\"list\":[1,2,3,4]}", "list");
    expect_bad("{\"name\":\"a\",\"list\":{}}", "list");
}

static void test_json_zero_max_len_means_unbounded(void **state)
{
    (void)state;
    static const struct nsl_field_spec open[] = {
        {"s", NSL_FIELD_STRING, false, 0, 0, 0, ""},
        {"a", NSL_FIELD_ARRAY, false, 0, 0, 0, ""},
        NSL_FIELDS_END,
    };
    char text[3000];
    char s[2000];
    memset(s, 'x', sizeof s - 1);
    s[sizeof s - 1] = 0;
    snprintf(text, sizeof text, "{\"s\":\"%s\",\"a\":[1,2,3,4,5,6,7,8,9,10]}", s);
    struct nsl_error err;
    assert_int_equal(check(text, open, &err), NSL_OK);
}

static void test_json_field_type_names(void **state)
{
    (void)state;
    assert_string_equal(nsl_field_type_name(NSL_FIELD_STRING), "string");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_HEX), "hex");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_BASE64), "base64");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_DIGITS), "digits");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_INT), "integer");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_BOOL), "boolean");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_OBJECT), "object");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_ARRAY), "array");
    assert_string_equal(nsl_field_type_name(NSL_FIELD_ANY), "any");
    assert_string_equal(nsl_field_type_name((enum nsl_field_type)99), "any");
}

static void test_json_accessors_fall_back_when_absent_or_wrong_type(void **state)
{
    (void)state;
    json_t *o =
        json_pack("{s:s, s:I, s:b, s:i}", "s", "text", "i", (json_int_t)-42, "b", 1, "n", 0);
    assert_non_null(o);
    assert_string_equal(nsl_json_str(o, "s"), "text");
    assert_null(nsl_json_str(o, "i"));
    assert_null(nsl_json_str(o, "missing"));
    assert_int_equal(nsl_json_int(o, "i", 7), -42);
    assert_int_equal(nsl_json_int(o, "s", 7), 7);
    assert_int_equal(nsl_json_int(o, "missing", 7), 7);
    assert_true(nsl_json_bool(o, "b", false));
    assert_false(nsl_json_bool(o, "missing", false));
    assert_true(nsl_json_bool(o, "missing", true));
    assert_true(nsl_json_bool(o, "n", true)); /* 0 is not a boolean */
    /* A NULL object behaves like an empty one. */
    assert_null(nsl_json_str(NULL, "s"));
    assert_int_equal(nsl_json_int(NULL, "i", 3), 3);
    assert_false(nsl_json_bool(NULL, "b", false));
    json_decref(o);
}

static void test_json_dump_is_compact(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:i, s:[i, s]}", "a", 1, "b", 2, "c");
    size_t len = 0;
    char *s = nsl_json_dump(o, &len);
    assert_non_null(s);
    assert_null(strchr(s, ' '));
    assert_null(strchr(s, '\n'));
    assert_int_equal(len, strlen(s));
    free(s);
    json_decref(o);
    json_t *str = json_string("x");
    s = nsl_json_dump(str, NULL); /* any value, and len is optional */
    assert_string_equal(s, "\"x\"");
    free(s);
    json_decref(str);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parses_one_object),
        cmocka_unit_test(test_json_duplicate_key_in_frame_is_invalid_request),
        cmocka_unit_test(test_json_duplicate_key_with_other_code_keeps_code),
        cmocka_unit_test(test_json_malformed_is_reported_with_given_code),
        cmocka_unit_test(test_json_non_object_top_level_is_rejected),
        cmocka_unit_test(test_json_nul_in_string_is_rejected),
        cmocka_unit_test(test_json_parse_respects_length_not_terminator),
        cmocka_unit_test(test_json_check_accepts_valid_object),
        cmocka_unit_test(test_json_check_refuses_unknown_field_and_names_it),
        cmocka_unit_test(test_json_check_unknown_field_name_is_bounded),
        cmocka_unit_test(test_json_check_refuses_missing_required),
        cmocka_unit_test(test_json_check_refuses_non_object),
        cmocka_unit_test(test_json_check_uses_given_code),
        cmocka_unit_test(test_json_empty_schema_accepts_only_empty_object),
        cmocka_unit_test(test_json_string_checks_type_and_max_len),
        cmocka_unit_test(test_json_hex_checks_alphabet_parity_and_size),
        cmocka_unit_test(test_json_base64_checks_encoding_and_decoded_size),
        cmocka_unit_test(test_json_base64_max_len_counts_decoded_bytes),
        cmocka_unit_test(test_json_digits_checks_canonical_decimal),
        cmocka_unit_test(test_json_int_checks_range_and_integrality),
        cmocka_unit_test(test_json_int_full_range_bounds),
        cmocka_unit_test(test_json_bool_checks_type),
        cmocka_unit_test(test_json_object_and_array_check_type_and_size),
        cmocka_unit_test(test_json_zero_max_len_means_unbounded),
        cmocka_unit_test(test_json_field_type_names),
        cmocka_unit_test(test_json_accessors_fall_back_when_absent_or_wrong_type),
        cmocka_unit_test(test_json_dump_is_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
