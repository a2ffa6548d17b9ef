/* nsl's readable and JSON rendering of results and errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/output.h"

/* Renders text (JSON) with fn into a string. */
static char *render(void (*fn)(FILE *, const json_t *), const char *text)
{
    json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(value);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    fn(f, value);
    fclose(f);
    json_decref(value);
    return out;
}

static void expect_readable(const char *json, const char *expected)
{
    char *out = render(nsl_cli_output_readable, json);
    assert_string_equal(out, expected);
    free(out);
}

static void test_output_renders_nested_objects_indented(void **state)
{
    (void)state;
    expect_readable("{\"status\":\"ok\",\"uptime\":12,\"enclave\":{\"mode\":\"simulated\","
                    "\"host\":{\"connected\":true,\"latency\":0.5}},\"note\":null}",
                    "status: ok\n"
                    "uptime: 12\n"
                    "enclave:\n"
                    "  mode: simulated\n"
                    "  host:\n"
                    "    connected: true\n"
                    "    latency: 0.5\n"
                    "note: null\n");
}

static void test_output_renders_arrays_of_objects_as_rows(void **state)
{
    (void)state;
    expect_readable("{\"keys\":[{\"keyId\":\"k_1\",\"label\":\"main\"},"
                    "{\"keyId\":\"k_22\",\"label\":\"cold\",\"exportable\":true}]}",
                    "keys:\n"
                    "  keyId  label  exportable\n"
                    "  k_1    main   -\n"
                    "  k_22   cold   true\n");
    expect_readable("[{\"a\":1,\"b\":{\"c\":2}}]", "a  b\n1  {\"c\":2}\n");
}

/* Renders text with fn onto a pseudo-terminal and returns what the terminal received (the pty
 * is put in raw mode so that "\n" is not turned into "\r\n"). */
static char *render_on_terminal(void (*fn)(FILE *, const json_t *), const char *text)
{
    int master, slave;
    assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
    struct termios raw;
    assert_int_equal(tcgetattr(slave, &raw), 0);
    cfmakeraw(&raw);
    assert_int_equal(tcsetattr(slave, TCSANOW, &raw), 0);
    FILE *f = fdopen(slave, "w");
    assert_non_null(f);
    json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(value);
    fn(f, value);
    fclose(f); /* output is small: it fits the pty's buffer before anyone reads */
    json_decref(value);
    char *out = calloc(1, 8192);
    assert_non_null(out);
    fcntl(master, F_SETFL, O_NONBLOCK);
    size_t len = 0;
    ssize_t n;
    while (len < 8191 && (n = read(master, out + len, 8191 - len)) > 0)
        len += (size_t)n;
    close(master);
    return out;
}

static const char table_json[] = "{\"keys\":[{\"keyId\":\"k_1\",\"label\":\"main\"},"
                                 "{\"keyId\":\"k_22\",\"label\":\"cold\"}]}";

static void test_output_colours_table_header_only_on_a_terminal(void **state)
{
    (void)state;
    unsetenv("NO_COLOR");
    char *out = render_on_terminal(nsl_cli_output_readable, table_json);
    /* Bold header cells, padded by their visible width: the columns line up with the rows. */
    assert_string_equal(out, "keys:\n"
                             "  \033[1mkeyId\033[0m  \033[1mlabel\033[0m\n"
                             "  k_1    main\n"
                             "  k_22   cold\n");
    free(out);
    out = render(nsl_cli_output_readable, table_json); /* a memory stream: not a terminal */
    assert_null(strchr(out, '\033'));
    free(out);
}

static void test_output_no_colour_when_no_color_is_set(void **state)
{
    (void)state;
    setenv("NO_COLOR", "1", 1);
    char *out = render_on_terminal(nsl_cli_output_readable, table_json);
    assert_string_equal(out, "keys:\n"
                             "  keyId  label\n"
                             "  k_1    main\n"
                             "  k_22   cold\n");
    free(out);
    setenv("NO_COLOR", "", 1); /* empty counts as unset (no-color.org) */
    out = render_on_terminal(nsl_cli_output_readable, table_json);
    assert_non_null(strstr(out, "\033[1mkeyId"));
    free(out);
    unsetenv("NO_COLOR");
}

static void test_output_error_code_red_only_on_a_terminal(void **state)
{
    (void)state;
    unsetenv("NO_COLOR");
    const char *error = "{\"code\":-32001,\"message\":\"nope\",\"data\":{\"code\":\"NOT_FOUND\"}}";
    char *out = render_on_terminal(nsl_cli_output_error, error);
    assert_string_equal(out, "\033[31merror: NOT_FOUND\033[0m: nope\n");
    free(out);
    out = render(nsl_cli_output_error, error);
    assert_string_equal(out, "error: NOT_FOUND: nope\n");
    free(out);
}

static void test_output_renders_scalar_lists_and_empty_values(void **state)
{
    (void)state;
    expect_readable("{\"roles\":[\"admin\",\"user\"],\"none\":[],\"empty\":{}}", "roles:\n"
                                                                                 "  - admin\n"
                                                                                 "  - user\n"
                                                                                 "none: (none)\n"
                                                                                 "empty: {}\n");
    expect_readable("[]", "(none)\n");
    expect_readable("\"just text\"", "just text\n");
    expect_readable("42", "42\n");
}

static void test_output_escapes_control_characters(void **state)
{
    (void)state;
    expect_readable("{\"name\":\"a\\u001b[31mb\"}", "name: a\\x1b[31mb\n");
    expect_readable("{\"logs\":\"line 1\\nline 2\"}", "logs:\n  line 1\n  line 2\n");
}

static void test_output_json_is_pretty_in_received_order(void **state)
{
    (void)state;
    char *out = render(nsl_cli_output_json, "{\"z\":1,\"a\":{\"y\":[1,2]}}");
    assert_string_equal(out, "{\n  \"z\": 1,\n  \"a\": {\n    \"y\": [\n      1,\n      2\n    ]\n"
                             "  }\n}\n");
    free(out);
}

static void test_output_error_names_data_code(void **state)
{
    (void)state;
    char *out = render(nsl_cli_output_error, "{\"code\":-32009,\"message\":\"enclave is not "
                                             "reachable\",\"data\":{\"code\":\"UNAVAILABLE\"}}");
    assert_string_equal(out, "error: UNAVAILABLE: enclave is not reachable\n");
    free(out);
    /* Without data.code the numeric JSON-RPC code names it. */
    out = render(nsl_cli_output_error, "{\"code\":-32602,\"message\":\"bad\"}");
    assert_string_equal(out, "error: INVALID_PARAMS: bad\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_renders_nested_objects_indented),
        cmocka_unit_test(test_output_renders_arrays_of_objects_as_rows),
        cmocka_unit_test(test_output_renders_scalar_lists_and_empty_values),
        cmocka_unit_test(test_output_colours_table_header_only_on_a_terminal),
        cmocka_unit_test(test_output_no_colour_when_no_color_is_set),
        cmocka_unit_test(test_output_error_code_red_only_on_a_terminal),
        cmocka_unit_test(test_output_escapes_control_characters),
        cmocka_unit_test(test_output_json_is_pretty_in_received_order),
        cmocka_unit_test(test_output_error_names_data_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
