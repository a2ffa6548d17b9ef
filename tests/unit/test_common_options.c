/* Unit tests of common/options: defaults, flags, config files and their precedence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/options.h"

struct cfg {
    char *name;
    int64_t workers;
    bool verbose;
    char *listen;
    int64_t offset;
    char *mode;
    char *http;
    char *dir;
    char *empty;
};

#define FIELD(f) .offset = offsetof(struct cfg, f)

static const struct nsl_option test_options[] = {
    {"name", NSL_OPT_STRING, FIELD(name), "default-name", .help = "a name"},
    {"workers", NSL_OPT_INT, FIELD(workers), "4", 1, 64, "worker threads"},
    {"verbose", NSL_OPT_BOOL, FIELD(verbose), "false", .help = "log more"},
    {"listen", NSL_OPT_URL, FIELD(listen), "vsock://ANY:5000", .help = "address"},
    {"offset", NSL_OPT_INT, FIELD(offset), NULL, -10, 10, "no default"},
    {"mode", NSL_OPT_STRING, FIELD(mode), "fast", .help = "speed", .choices = "fast|slow"},
    {"http", NSL_OPT_STRING, FIELD(http), "127.0.0.1:8080", .help = "API address",
     .check = nsl_option_check_host_port, .form = NSL_OPTION_FORM_HOST_PORT},
    {"dir", NSL_OPT_STRING, FIELD(dir), NULL, .help = "a directory", .check = nsl_option_check_path,
     .form = NSL_OPTION_FORM_PATH},
    {"empty", NSL_OPT_STRING, FIELD(empty), "", .help = "empty by default"},
    NSL_OPTIONS_END,
};

static const struct nsl_options_spec spec = {"nsl-test", "[OPTIONS]", "a test binary", test_options,
                                             false};
static const struct nsl_options_spec spec_positional = {"nsl-test", "[OPTIONS] CMD",
                                                        "a test binary", test_options, true};

/* What the last run() wrote to stderr. */
static char last_error[1024];

/* Runs the parser on a NULL-terminated argument list with stdout silenced and stderr kept in
 * last_error. */
static enum nsl_options_result run(const struct nsl_options_spec *s, struct cfg *c, int *next, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"nsl-test";
    va_list ap;
    va_start(ap, next);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    FILE *errors = tmpfile();
    assert_non_null(errors);
    dup2(devnull, STDOUT_FILENO);
    dup2(fileno(errors), STDERR_FILENO);
    enum nsl_options_result rc = nsl_options_parse(s, c, argc, argv, next);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    close(devnull);
    rewind(errors);
    size_t n = fread(last_error, 1, sizeof last_error - 1, errors);
    last_error[n] = 0;
    fclose(errors);
    return rc;
}

static struct cfg cfg;
static char config_path[64];

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    config_path[0] = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nsl_options_free(&spec, &cfg); /* also after failures: ASan checks nothing leaks */
    if (config_path[0])
        unlink(config_path);
    return 0;
}

static const char *write_config(const char *json)
{
    snprintf(config_path, sizeof config_path, "/tmp/nsl-options-XXXXXX");
    int fd = mkstemp(config_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    return config_path;
}

static void test_options_defaults_apply(void **state)
{
    (void)state;
    int next = -1;
    assert_int_equal(run(&spec, &cfg, &next, NULL), NSL_OPTIONS_OK);
    assert_string_equal(cfg.name, "default-name");
    assert_int_equal(cfg.workers, 4);
    assert_false(cfg.verbose);
    assert_string_equal(cfg.listen, "vsock://ANY:5000");
    assert_int_equal(cfg.offset, 0); /* no default: left alone */
    assert_int_equal(next, 1);
}

static void test_options_flags_override_defaults(void **state)
{
    (void)state;
    int next = -1;
    assert_int_equal(run(&spec, &cfg, &next, "--name", "alice", "--workers", "64", "--listen",
                         "unix:///tmp/x.sock", "--offset", "-10", NULL),
                     NSL_OPTIONS_OK);
    assert_string_equal(cfg.name, "alice");
    assert_int_equal(cfg.workers, 64);
    assert_string_equal(cfg.listen, "unix:///tmp/x.sock");
    assert_int_equal(cfg.offset, -10);
    assert_int_equal(next, 9);
}

static void test_options_accept_name_equals_value(void **state)
{
    (void)state;
    assert_int_equal(
        run(&spec, &cfg, NULL, "--name=bob", "--workers=2", "--verbose=true", "--name=", NULL),
        NSL_OPTIONS_OK);
    assert_string_equal(cfg.name, ""); /* the last one wins, and may be empty */
    assert_int_equal(cfg.workers, 2);
    assert_true(cfg.verbose);
}

static void test_options_bare_bool_flag_means_true(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--verbose", NULL), NSL_OPTIONS_OK);
    assert_true(cfg.verbose);
    assert_int_equal(run(&spec, &cfg, NULL, "--verbose=0", NULL), NSL_OPTIONS_OK);
    assert_false(cfg.verbose);
    assert_int_equal(run(&spec, &cfg, NULL, "--verbose=1", NULL), NSL_OPTIONS_OK);
    assert_true(cfg.verbose);
    assert_int_equal(run(&spec, &cfg, NULL, "--verbose=false", NULL), NSL_OPTIONS_OK);
    assert_false(cfg.verbose);
}

static void test_options_refuse_bad_bool(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--verbose=yes", NULL), NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_refuse_int_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--workers", "0", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_string_equal(last_error, "nsl-test: option --workers: 0 is out of range 1–64\n");
    assert_int_equal(run(&spec, &cfg, NULL, "--workers", "65", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--offset=-11", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--workers=99999999999999999999", NULL),
                     NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_refuse_non_integer(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--workers", "four", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_string_equal(last_error, "nsl-test: option --workers: must be an integer (range 1–64), "
                                    "not \"four\"\n");
    assert_int_equal(run(&spec, &cfg, NULL, "--workers", "4x", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--workers=", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--workers", "1.5", NULL), NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_refuse_unknown_option(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--nope", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_string_equal(last_error, "nsl-test: unknown option --nope (see --help)\n");
    assert_int_equal(run(&spec, &cfg, NULL, "--nam", "x", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--names=x", NULL), NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_refuse_missing_value(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--name", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--workers", NULL), NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_refuse_positional_unless_allowed(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "stray", NULL), NSL_OPTIONS_EXIT_FAILURE);
    int next = -1;
    assert_int_equal(
        run(&spec_positional, &cfg, &next, "--workers", "3", "status", "--name", "x", NULL),
        NSL_OPTIONS_OK);
    assert_int_equal(next, 3); /* argv[3] is "status"; what follows belongs to the command */
    assert_int_equal(cfg.workers, 3);
    assert_string_equal(cfg.name, "default-name");
}

static void test_options_double_dash_ends_options(void **state)
{
    (void)state;
    int next = -1;
    assert_int_equal(run(&spec_positional, &cfg, &next, "--verbose", "--", "--name", NULL),
                     NSL_OPTIONS_OK);
    assert_int_equal(next, 3);
    assert_true(cfg.verbose);
    assert_string_equal(cfg.name, "default-name");
}

static void test_options_validate_url_option(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--listen", "http://x:1", NULL),
                     NSL_OPTIONS_EXIT_FAILURE);
    assert_non_null(strstr(last_error, "nsl-test: option --listen: "));
    assert_non_null(strstr(last_error, "not \"http://x:1\""));
    assert_int_equal(run(&spec, &cfg, NULL, "--listen", "vsock://3", NULL),
                     NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--listen", "unix://relative", NULL),
                     NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--listen", "tcp://127.0.0.1:8080", NULL),
                     NSL_OPTIONS_OK);
    assert_string_equal(cfg.listen, "tcp://127.0.0.1:8080");
}

static void test_options_refuse_value_not_in_choices(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--mode", "medium", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_string_equal(last_error,
                        "nsl-test: option --mode: must be one of fast|slow, not \"medium\"\n");
    assert_int_equal(run(&spec, &cfg, NULL, "--mode", "fas", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--mode", "", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_int_equal(run(&spec, &cfg, NULL, "--mode", "slow", NULL), NSL_OPTIONS_OK);
    assert_string_equal(cfg.mode, "slow");
}

static void test_options_checked_string_refuses_what_its_check_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {"nohost", "127.0.0.1:65536", "127.0.0.1:", ":80",
                                      "h:8x",   "[::1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (run(&spec, &cfg, NULL, "--http", bad[i], NULL) != NSL_OPTIONS_EXIT_FAILURE)
            fail_msg("--http %s should be refused", bad[i]);
        assert_non_null(strstr(last_error, "nsl-test: option --http: "));
    }
    assert_int_equal(run(&spec, &cfg, NULL, "--dir", "", NULL), NSL_OPTIONS_EXIT_FAILURE);
    assert_non_null(strstr(last_error, "option --dir: must be a path"));
    assert_int_equal(run(&spec, &cfg, NULL, "--http", "[::1]:0", "--dir", "/tmp", NULL),
                     NSL_OPTIONS_OK);
    assert_string_equal(cfg.http, "[::1]:0");
    assert_string_equal(cfg.dir, "/tmp");
}

static void test_options_config_file_applies_and_flags_override(void **state)
{
    (void)state;
    const char *path = write_config("{\"name\":\"from-file\",\"workers\":8,\"verbose\":true,"
                                    "\"listen\":\"tcp://127.0.0.1:9\"}");
    /* The flag before --config still wins over the file. */
    assert_int_equal(run(&spec, &cfg, NULL, "--workers", "16", "--config", path, NULL),
                     NSL_OPTIONS_OK);
    assert_string_equal(cfg.name, "from-file");
    assert_int_equal(cfg.workers, 16);
    assert_true(cfg.verbose);
    assert_string_equal(cfg.listen, "tcp://127.0.0.1:9");
    char arg[96];
    snprintf(arg, sizeof arg, "--config=%s", path);
    assert_int_equal(run(&spec, &cfg, NULL, arg, "--name", "flag", "--verbose=false", NULL),
                     NSL_OPTIONS_OK);
    assert_string_equal(cfg.name, "flag");
    assert_int_equal(cfg.workers, 8);
    assert_false(cfg.verbose);
}

static void test_options_config_file_found_after_option_values(void **state)
{
    (void)state;
    const char *path = write_config("{\"name\":\"from-file\"}");
    /* "3" is the value of --workers, not the first positional argument. */
    int next = -1;
    assert_int_equal(
        run(&spec_positional, &cfg, &next, "--workers", "3", "--config", path, "cmd", NULL),
        NSL_OPTIONS_OK);
    assert_string_equal(cfg.name, "from-file");
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(next, 5);
}

static void test_options_config_needs_a_value(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--config", NULL), NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_config_file_refuses_unknown_key(void **state)
{
    (void)state;
    const char *path = write_config("{\"name\":\"x\",\"bogus\":1}");
    assert_int_equal(run(&spec, &cfg, NULL, "--config", path, NULL), NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_config_file_refuses_bad_values(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"workers\":100}",
        "{\"workers\":\"many\"}",
        "{\"verbose\":\"maybe\"}",
        "{\"listen\":\"x://\"}",
        "{\"mode\":\"medium\"}",
        "{\"http\":\"nohost\"}",
        "{\"name\":null}",
        "{\"name\":[\"a\"]}",
        "{\"name\":{}}",
        "{\"workers\":1.5}",
        "{\"name\":\"a\",\"name\":\"b\"}",
        "[1]",
        "{",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = write_config(bad[i]);
        if (run(&spec, &cfg, NULL, "--config", path, NULL) != NSL_OPTIONS_EXIT_FAILURE)
            fail_msg("config %s should be refused", bad[i]);
        unlink(config_path);
        config_path[0] = 0;
    }
}

static void test_options_config_file_missing_is_refused(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--config", "/nonexistent/nsl.json", NULL),
                     NSL_OPTIONS_EXIT_FAILURE);
}

static void test_options_config_file_integer_and_bool_types(void **state)
{
    (void)state;
    const char *path = write_config("{\"workers\":\"12\",\"verbose\":1,\"offset\":-3}");
    /* Numbers may be written as strings; a bool as 1. */
    enum nsl_options_result rc = run(&spec, &cfg, NULL, "--config", path, NULL);
    assert_int_equal(rc, NSL_OPTIONS_OK);
    assert_int_equal(cfg.workers, 12);
    assert_true(cfg.verbose);
    assert_int_equal(cfg.offset, -3);
}

static void test_options_help_and_version_exit_successfully(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--help", NULL), NSL_OPTIONS_EXIT_SUCCESS);
    assert_int_equal(run(&spec, &cfg, NULL, "-h", NULL), NSL_OPTIONS_EXIT_SUCCESS);
    assert_int_equal(run(&spec_positional, &cfg, NULL, "-h", NULL), NSL_OPTIONS_EXIT_SUCCESS);
    assert_int_equal(run(&spec, &cfg, NULL, "--version", NULL), NSL_OPTIONS_EXIT_SUCCESS);
}

static void test_options_help_lists_every_option(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    nsl_options_print_help(&spec, f);
    fclose(f);
    for (const struct nsl_option *o = test_options; o->name; o++) {
        char want[64];
        snprintf(want, sizeof want, "--%s", o->name);
        assert_non_null(strstr(text, want));
        assert_non_null(strstr(text, o->help));
    }
    assert_non_null(strstr(text, "default 4, range 1–64\n"));
    assert_non_null(strstr(text, "default unset, range -10–10\n"));
    assert_non_null(strstr(text, "default \"default-name\", accepts any text\n"));
    assert_non_null(strstr(text, "default false, one of true, false\n"));
    assert_non_null(strstr(text, "default \"fast\", one of fast, slow\n"));
    assert_non_null(strstr(text, "default \"\", accepts any text\n"));
    assert_non_null(strstr(text, "default unset, accepts " NSL_OPTION_FORM_PATH "\n"));
    assert_non_null(strstr(text, "default \"vsock://ANY:5000\", accepts vsock://CID:PORT"));
    assert_non_null(strstr(text, "--config FILE"));
    free(text);
}

static void test_options_free_clears_strings(void **state)
{
    (void)state;
    assert_int_equal(run(&spec, &cfg, NULL, "--name", "x", NULL), NSL_OPTIONS_OK);
    nsl_options_free(&spec, &cfg);
    assert_null(cfg.name);
    assert_null(cfg.listen);
    nsl_options_free(&spec, &cfg); /* twice is harmless */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_options_defaults_apply),
        T(test_options_flags_override_defaults),
        T(test_options_accept_name_equals_value),
        T(test_options_bare_bool_flag_means_true),
        T(test_options_refuse_bad_bool),
        T(test_options_refuse_int_out_of_range),
        T(test_options_refuse_non_integer),
        T(test_options_refuse_unknown_option),
        T(test_options_refuse_missing_value),
        T(test_options_refuse_positional_unless_allowed),
        T(test_options_double_dash_ends_options),
        T(test_options_validate_url_option),
        T(test_options_refuse_value_not_in_choices),
        T(test_options_checked_string_refuses_what_its_check_refuses),
        T(test_options_config_file_applies_and_flags_override),
        T(test_options_config_file_found_after_option_values),
        T(test_options_config_needs_a_value),
        T(test_options_config_file_refuses_unknown_key),
        T(test_options_config_file_refuses_bad_values),
        T(test_options_config_file_missing_is_refused),
        T(test_options_config_file_integer_and_bool_types),
        T(test_options_help_and_version_exit_successfully),
        T(test_options_help_lists_every_option),
        T(test_options_free_clears_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
