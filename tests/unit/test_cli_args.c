/* nsl's command line: key=value typing by schema, --params, and local refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "common/routes.h"

static const struct nsl_field_spec schema[] = {
    {"amount", NSL_FIELD_DIGITS, false, 20, 0, 0, NULL},
    {"limit", NSL_FIELD_INT, false, 0, 1, 100, NULL},
    {"disabled", NSL_FIELD_BOOL, false, 0, 0, 0, NULL},
    {"policy", NSL_FIELD_OBJECT, false, 8, 0, 0, NULL},
    {"roles", NSL_FIELD_ARRAY, false, 4, 0, 0, NULL},
    {"name", NSL_FIELD_STRING, false, 16, 0, 0, NULL},
    {"message", NSL_FIELD_HEX, false, 32, 0, 0, NULL},
    {"args", NSL_FIELD_ANY, false, 0, 0, 0, NULL},
    NSL_FIELDS_END,
};

static const struct nsl_field_spec required_schema[] = {
    {"keyId", NSL_FIELD_STRING, true, 64, 0, 0, NULL},
    NSL_FIELDS_END,
};

/* Types pairs against schema and returns the compact JSON, or NULL with err set. */
static char *typed(const struct nsl_field_spec *spec, const char *const *pairs, size_t n,
                   struct nsl_error *err)
{
    json_t *params = NULL;
    if (nsl_cli_params_from_pairs(spec, pairs, n, &params, err) != NSL_OK) {
        assert_null(params);
        return NULL;
    }
    char *text = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    return text;
}

static void test_args_types_each_field_by_schema(void **state)
{
    (void)state;
    const char *pairs[] = {
        "amount=100",          "limit=5",   "disabled=true",      "policy={\"a\":1}",
        "roles=[\"x\",\"y\"]", "name=true", "message=68656c6c6f", "args=[1,\"two\"]"};
    struct nsl_error err = {0};
    char *text = typed(schema, pairs, 8, &err);
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"amount\":\"100\",\"limit\":5,\"disabled\":true,\"policy\":{\"a\":1},"
                        "\"roles\":[\"x\",\"y\"],\"name\":\"true\",\"message\":"
                        "\"68656c6c6f\",\"args\":[1,\"two\"]}");
    free(text);
}

static void test_args_keeps_a_digits_value_a_string(void **state)
{
    (void)state;
    const char *pairs[] = {"amount=12345678901234567890"};
    char *text = typed(schema, pairs, 1, NULL);
    assert_string_equal(text, "{\"amount\":\"12345678901234567890\"}");
    free(text);
}

static void expect_refusal(const char *pair, nsl_err code, const char *needle)
{
    struct nsl_error err = {0};
    const char *pairs[] = {pair};
    assert_null(typed(schema, pairs, 1, &err));
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("\"%s\" not in \"%s\"", needle, err.message);
}

static void test_args_refuses_unknown_key(void **state)
{
    (void)state;
    expect_refusal("amonut=1", NSL_ERR_INVALID_PARAMS, "unknown parameter \"amonut\"");
}

static void test_args_refuses_bad_int(void **state)
{
    (void)state;
    expect_refusal("limit=5x", NSL_ERR_INVALID_PARAMS, "params.limit must be an integer");
    expect_refusal("limit=", NSL_ERR_INVALID_PARAMS, "params.limit must be an integer");
    expect_refusal("limit=1000", NSL_ERR_INVALID_PARAMS, "params.limit must be an integer in");
}

static void test_args_refuses_bad_bool_digits_and_json(void **state)
{
    (void)state;
    expect_refusal("disabled=yes", NSL_ERR_INVALID_PARAMS, "true or false");
    expect_refusal("amount=-1", NSL_ERR_INVALID_PARAMS, "decimal digits");
    expect_refusal("policy={bad", NSL_ERR_INVALID_PARAMS, "params.policy must be JSON");
    expect_refusal("policy=[1]", NSL_ERR_INVALID_PARAMS, "params.policy must be an object");
    expect_refusal("message=xyz", NSL_ERR_INVALID_PARAMS, "hex");
    expect_refusal("name=this-name-is-far-too-long", NSL_ERR_INVALID_PARAMS, "longer than 16");
    expect_refusal("args=hello", NSL_ERR_INVALID_PARAMS, "quote text");
}

static void test_args_refuses_pair_without_equals(void **state)
{
    (void)state;
    expect_refusal("amount", NSL_ERR_INVALID_REQUEST, "expected key=value");
}

static void test_args_refuses_duplicate_key(void **state)
{
    (void)state;
    const char *pairs[] = {"limit=1", "limit=2"};
    struct nsl_error err = {0};
    assert_null(typed(schema, pairs, 2, &err));
    assert_int_equal(err.code, NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "given twice"));
}

static void test_args_refuses_missing_required(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    assert_null(typed(required_schema, NULL, 0, &err));
    assert_string_equal(err.message, "params.keyId is required");
}

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/nsl-test-cli-args-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void test_args_reads_at_file_values(void **state)
{
    (void)state;
    char *hex = write_temp("68656c6c6f\n");
    char *obj = write_temp("{\"max\": 2}\n\n");
    char pair1[300], pair2[300];
    snprintf(pair1, sizeof pair1, "message=@%s", hex);
    snprintf(pair2, sizeof pair2, "policy=@%s", obj);
    const char *pairs[] = {pair1, pair2, "name=@@home"};
    char *text = typed(schema, pairs, 3, NULL);
    assert_string_equal(text,
                        "{\"message\":\"68656c6c6f\",\"policy\":{\"max\":2},\"name\":\"@home\"}");
    free(text);
    unlink(hex);
    unlink(obj);
    free(hex);
    free(obj);
}

static void test_args_refuses_missing_at_file(void **state)
{
    (void)state;
    expect_refusal("name=@/nonexistent/nsl-test", NSL_ERR_INVALID_REQUEST, "cannot open");
}

static void test_args_params_json_is_checked_by_schema(void **state)
{
    (void)state;
    json_t *params = NULL;
    struct nsl_error err = {0};
    assert_int_equal(
        nsl_cli_params_from_json(schema, "{\"limit\":3,\"amount\":\"7\"}", &params, &err), NSL_OK);
    assert_int_equal(json_integer_value(json_object_get(params, "limit")), 3);
    json_decref(params);
    assert_int_equal(nsl_cli_params_from_json(schema, "{\"limit\":\"3\"}", &params, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_cli_params_from_json(schema, "[1]", &params, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_cli_params_from_json(schema, "{\"a\":1,\"a\":2}", &params, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_null(params);
}

/* Runs nsl_cli_args_parse over a NULL-terminated word list. */
static nsl_err parse(const char *const *words, const struct nsl_cli_env *env,
                     struct nsl_cli_args *args, struct nsl_error *err)
{
    int argc = 0;
    while (words[argc])
        argc++;
    return nsl_cli_args_parse(argc, (char **)words, env, args, err);
}

static void test_args_parses_operation_and_options(void **state)
{
    (void)state;
    const char *words[] = {"nsl", "--url", "http://x:1", "system", "info", "--json", NULL};
    struct nsl_cli_args args;
    struct nsl_error err = {0};
    assert_int_equal(parse(words, NULL, &args, &err), NSL_OK);
    assert_int_equal(args.action, NSL_CLI_RPC);
    assert_string_equal(nsl_routes[args.route].operation, "info");
    assert_string_equal(args.url, "http://x:1");
    assert_true(args.json);
    assert_null(args.api_key);
    assert_int_equal(json_object_size(args.params), 0);
    nsl_cli_args_free(&args);
}

static void test_args_flags_win_over_environment(void **state)
{
    (void)state;
    struct nsl_cli_env env = {"http://env:1", "envkey", NULL, NULL};
    const char *words[] = {"nsl", "--api-key=flagkey", "system", "health", NULL};
    struct nsl_cli_args args;
    assert_int_equal(parse(words, &env, &args, NULL), NSL_OK);
    assert_string_equal(args.url, "http://env:1");
    assert_string_equal(args.api_key, "flagkey");
    nsl_cli_args_free(&args);
    const char *bare[] = {"nsl", "system", "health", NULL};
    assert_int_equal(parse(bare, NULL, &args, NULL), NSL_OK);
    assert_string_equal(args.url, NSL_CLI_DEFAULT_URL);
    nsl_cli_args_free(&args);
}

static void test_args_refuses_unknown_operation_and_service(void **state)
{
    (void)state;
    struct nsl_cli_args args;
    struct nsl_error err = {0};
    const char *op[] = {"nsl", "system", "reboot", NULL};
    assert_int_equal(parse(op, NULL, &args, &err), NSL_ERR_UNKNOWN_OPERATION);
    assert_non_null(strstr(err.message, "system.reboot"));
    const char *svc[] = {"nsl", "nosuch", "thing", NULL};
    assert_int_equal(parse(svc, NULL, &args, &err), NSL_ERR_UNKNOWN_SERVICE);
    const char *none[] = {"nsl", "system", NULL};
    assert_int_equal(parse(none, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
}

static void test_args_refuses_params_mixed_with_pairs(void **state)
{
    (void)state;
    struct nsl_cli_args args;
    struct nsl_error err = {0};
    const char *words[] = {"nsl", "system", "health", "--params", "{}", "a=1", NULL};
    assert_int_equal(parse(words, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "cannot be mixed"));
    const char *ok[] = {"nsl", "system", "health", "--params", "{}", NULL};
    assert_int_equal(parse(ok, NULL, &args, &err), NSL_OK);
    nsl_cli_args_free(&args);
}

static void test_args_refuses_unknown_option_and_bad_key(void **state)
{
    (void)state;
    struct nsl_cli_args args;
    struct nsl_error err = {0};
    const char *opt[] = {"nsl", "--wallet", "wallet.json", "system", "health", NULL};
    assert_int_equal(parse(opt, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "unknown option --wallet"));
    const char *key[] = {"nsl", "--api-key", "a\r\nX: y", "system", "health", NULL};
    assert_int_equal(parse(key, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
    const char *novalue[] = {"nsl", "system", "health", "--url", NULL};
    assert_int_equal(parse(novalue, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
}

static void test_args_key_options_and_environment(void **state)
{
    (void)state;
    struct nsl_cli_env env = {NULL, "envkey", "acct_env", "pass"};
    struct nsl_cli_args args;
    const char *words[] = {"nsl",     "--key",  "w.json",    "--passphrase-file", "p.txt",
                           "account", "whoami", "--account", "acct_flag",         NULL};
    assert_int_equal(parse(words, &env, &args, NULL), NSL_OK);
    assert_string_equal(args.key_file, "w.json");
    assert_string_equal(args.passphrase_file, "p.txt");
    assert_string_equal(args.account, "acct_flag");
    assert_string_equal(args.env_account, "acct_env");
    assert_string_equal(args.passphrase, "pass");
    assert_null(args.api_key); /* --key wins over NSL_API_KEY */
    nsl_cli_args_free(&args);
}

static void test_args_refuses_key_with_api_key(void **state)
{
    (void)state;
    struct nsl_cli_args args;
    struct nsl_error err = {0};
    const char *both[] = {"nsl", "--key", "w.json", "--api-key", "k", "system", "health", NULL};
    assert_int_equal(parse(both, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "mutually exclusive"));
    const char *account[] = {"nsl", "--account", "a", "system", "health", NULL};
    assert_int_equal(parse(account, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "--account is used only with --key"));
    const char *pass[] = {"nsl", "--passphrase-file", "p", "system", "health", NULL};
    assert_int_equal(parse(pass, NULL, &args, &err), NSL_ERR_INVALID_REQUEST);
}

static void test_args_recognises_help_version_and_dev(void **state)
{
    (void)state;
    struct nsl_cli_args args;
    const char *help[] = {"nsl", "--help", NULL};
    assert_int_equal(parse(help, NULL, &args, NULL), NSL_OK);
    assert_int_equal(args.action, NSL_CLI_HELP);
    const char *op_help[] = {"nsl", "system", "info", "--help", NULL};
    assert_int_equal(parse(op_help, NULL, &args, NULL), NSL_OK);
    assert_int_equal(args.action, NSL_CLI_OP_HELP);
    const char *service_help[] = {"nsl", "wallet", "--help", NULL};
    assert_int_equal(parse(service_help, NULL, &args, NULL), NSL_OK);
    assert_int_equal(args.action, NSL_CLI_SERVICE_HELP);
    assert_string_equal(nsl_routes[args.route].service, "wallet");
    assert_string_equal(nsl_routes[args.route].operation, "create"); /* its first row */
    const char *bad_service_help[] = {"nsl", "walet", "--help", NULL};
    struct nsl_error err = {0};
    assert_int_equal(parse(bad_service_help, NULL, &args, &err), NSL_ERR_UNKNOWN_SERVICE);
    assert_non_null(strstr(err.message, "unknown service \"walet\""));
    const char *version[] = {"nsl", "--version", NULL};
    assert_int_equal(parse(version, NULL, &args, NULL), NSL_OK);
    assert_int_equal(args.action, NSL_CLI_VERSION);
    const char *dev[] = {"nsl", "dev", "up", "--state", "x", NULL};
    assert_int_equal(parse(dev, NULL, &args, NULL), NSL_OK);
    assert_int_equal(args.action, NSL_CLI_DEV);
    assert_int_equal(args.next, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_types_each_field_by_schema),
        cmocka_unit_test(test_args_keeps_a_digits_value_a_string),
        cmocka_unit_test(test_args_refuses_unknown_key),
        cmocka_unit_test(test_args_refuses_bad_int),
        cmocka_unit_test(test_args_refuses_bad_bool_digits_and_json),
        cmocka_unit_test(test_args_refuses_pair_without_equals),
        cmocka_unit_test(test_args_refuses_duplicate_key),
        cmocka_unit_test(test_args_refuses_missing_required),
        cmocka_unit_test(test_args_reads_at_file_values),
        cmocka_unit_test(test_args_refuses_missing_at_file),
        cmocka_unit_test(test_args_params_json_is_checked_by_schema),
        cmocka_unit_test(test_args_parses_operation_and_options),
        cmocka_unit_test(test_args_flags_win_over_environment),
        cmocka_unit_test(test_args_refuses_unknown_operation_and_service),
        cmocka_unit_test(test_args_refuses_params_mixed_with_pairs),
        cmocka_unit_test(test_args_refuses_unknown_option_and_bad_key),
        cmocka_unit_test(test_args_key_options_and_environment),
        cmocka_unit_test(test_args_refuses_key_with_api_key),
        cmocka_unit_test(test_args_recognises_help_version_and_dev),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
