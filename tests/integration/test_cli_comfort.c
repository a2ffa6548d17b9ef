/* nsl's comforts, through the real binary: the bash completion script (every service, operation
 * and parameter of the routes table; candidates bash actually offers), nsl <service> --help and
 * nsl <service> <operation> --help for every row, and list results as aligned columns with
 * colours on a terminal (a pseudo-terminal from forkpty) but none when piped or with NO_COLOR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/routes.h"
#include "harness/client.h"
#include "harness/harness.h"

#define RUN_TIMEOUT_MS 30000

static char nsl[512];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads fd until EOF (or EIO, a pty whose child has gone) into a malloc'd string. */
static char *read_all(int fd)
{
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    assert_non_null(text);
    int64_t deadline = now_ms() + RUN_TIMEOUT_MS;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || (poll(&pfd, 1, left) < 0 && errno != EINTR))
            fail_msg("no end of output within %d ms", RUN_TIMEOUT_MS);
        if (len + 1024 > cap)
            assert_non_null(text = realloc(text, cap *= 2));
        ssize_t n = read(fd, text + len, cap - len - 1);
        if (n > 0)
            len += (size_t)n;
        else if (n == 0 || errno != EINTR)
            break;
    }
    text[len] = 0;
    return text;
}

/* Runs argv (argv[0] a path) with env added ("NAME=value", NULL-terminated, may be NULL) and
 * NO_COLOR removed unless env sets it; on a pseudo-terminal when on_terminal (raw mode: no "\r"
 * added), else with stdout on a pipe. Returns stdout (the pty also carries stderr); *status gets
 * the exit status. */
static char *run(const char *const *argv, const char *const *env, bool on_terminal, int *status)
{
    int fd, pipefd[2];
    pid_t pid;
    if (on_terminal) {
        struct termios raw;
        memset(&raw, 0, sizeof raw);
        cfmakeraw(&raw);
        pid = forkpty(&fd, NULL, &raw, NULL);
    } else {
        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        fd = pipefd[0];
    }
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!on_terminal) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, STDERR_FILENO); /* refusals are checked by status, not by text */
            dup2(pipefd[1], STDOUT_FILENO);
            close(pipefd[0]);
            close(pipefd[1]);
        }
        unsetenv("NO_COLOR");
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (!on_terminal)
        close(pipefd[1]);
    char *out = read_all(fd);
    close(fd);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    return out;
}

/* Runs a bash snippet; NSL in it is the nsl binary's path. */
static char *run_bash(const char *script, int *status)
{
    char env_nsl[600];
    snprintf(env_nsl, sizeof env_nsl, "NSL=%s", nsl);
    const char *const argv[] = {"/bin/bash", "--norc", "--noprofile", "-c", script, NULL};
    const char *const env[] = {env_nsl, NULL};
    return run(argv, env, false, status);
}

static void expect_in(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

static void test_completion_script_names_every_operation_and_parses(void **state)
{
    (void)state;
    int status;
    const char *const argv[] = {nsl, "completion", "bash", NULL};
    char *script = run(argv, NULL, false, &status);
    assert_int_equal(status, 0);
    for (size_t i = 0; i < nsl_route_count; i++) {
        char want[160];
        snprintf(want, sizeof want, "    %s) echo '", nsl_routes[i].service);
        expect_in(script, want);
        char *line = strstr(script, want) + strlen(want);
        char ops[1024];
        snprintf(ops, sizeof ops, " %.*s ", (int)strcspn(line, "'"), line);
        snprintf(want, sizeof want, " %s ", nsl_routes[i].operation);
        expect_in(ops, want);
        for (const struct nsl_field_spec *f = nsl_routes[i].params; f->name; f++) {
            snprintf(want, sizeof want, "%s=", f->name);
            expect_in(script, want);
        }
    }
    expect_in(script, "complete -F _nsl nsl");
    free(script);
    char *out = run_bash("bash -n <(\"$NSL\" completion bash) && echo syntax-ok", &status);
    assert_int_equal(status, 0);
    expect_in(out, "syntax-ok");
    free(out);
    const char *const bad[] = {nsl, "completion", "fish", NULL};
    out = run(bad, NULL, false, &status);
    assert_int_equal(status, 2);
    free(out);
}

/* What _nsl offers for the words (the last one is being completed), space-separated. */
static char *complete_words(const char *words)
{
    char script[1024];
    snprintf(script, sizeof script,
             "source <(\"$NSL\" completion bash) || exit 3; COMP_WORDS=(%s); "
             "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _nsl; echo \"${COMPREPLY[*]}\"",
             words);
    int status;
    char *out = run_bash(script, &status);
    assert_int_equal(status, 0);
    out[strcspn(out, "\n")] = 0;
    return out;
}

static void expect_candidates(const char *words, const char *expected)
{
    char *got = complete_words(words);
    if (strcmp(got, expected) != 0)
        fail_msg("completing (%s): expected \"%s\", got \"%s\"", words, expected, got);
    free(got);
}

static void test_completion_offers_the_expected_candidates(void **state)
{
    (void)state;
    expect_candidates("nsl wal", "wallet");
    expect_candidates("nsl a", "attestation account attest");
    expect_candidates("nsl wallet s", "signMessage signTransaction setPolicy");
    expect_candidates("nsl wallet list ''", "after= limit=");
    expect_candidates("nsl wallet signMessage keyId=k m", "message=");
    /* options and their values are skipped when finding the service and operation */
    expect_candidates("nsl --url http://x:1 --json secrets ver", "versions");
    expect_candidates("nsl --api-key K secrets get n", "name=");
    expect_candidates("nsl --pr", "--print-request");
    /* offline commands */
    expect_candidates("nsl function verify-r", "verify-receipt");
    expect_candidates("nsl neo nep2 ''", "encrypt decrypt");
    expect_candidates("nsl dev ''", "up down");
    expect_candidates("nsl dev up --back", "--background");
    expect_candidates("nsl dev up --log-level w", "warn");
    expect_candidates("nsl comp", "completion");
    expect_candidates("nsl wallet nothing ''", "");
}

/* Every option the script offers for an offline command is in that command's --help. */
static void test_completion_offline_options_exist(void **state)
{
    (void)state;
    static const struct {
        const char *words, *help_argv[4];
    } commands[] = {
        {"nsl dev up --", {"dev", "up", "--help", NULL}},
        {"nsl neo address --", {"neo", "--help", NULL}},
        {"nsl attest verify --", {"attest", "--help", NULL}},
        {"nsl --", {"--help", NULL}},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *argv[5] = {nsl};
        memcpy(argv + 1, commands[i].help_argv, sizeof commands[i].help_argv);
        int status;
        char *help = run(argv, NULL, false, &status);
        assert_int_equal(status, 0);
        char *offered = complete_words(commands[i].words);
        assert_true(strlen(offered) > 0);
        for (char *opt = strtok(offered, " "); opt; opt = strtok(NULL, " "))
            if (strcmp(opt, "--help") != 0 && strcmp(opt, "--version") != 0 &&
                strcmp(opt, "--config") != 0)
                expect_in(help, opt);
        free(offered);
        free(help);
    }
}

static void test_service_and_operation_help_from_the_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        int status;
        char want[200];
        if (i == 0 || strcmp(nsl_routes[i - 1].service, r->service) != 0) {
            const char *const argv[] = {nsl, r->service, "--help", NULL};
            char *out = run(argv, NULL, false, &status);
            assert_int_equal(status, 0);
            snprintf(want, sizeof want, "Operations of %s:", r->service);
            expect_in(out, want);
            for (size_t j = i; j < nsl_route_count && !strcmp(nsl_routes[j].service, r->service);
                 j++) {
                snprintf(want, sizeof want, "\n  %s", nsl_routes[j].operation);
                expect_in(out, want);
                expect_in(out, nsl_routes[j].summary);
            }
            free(out);
        }
        const char *const argv[] = {nsl, r->service, r->operation, "--help", NULL};
        char *out = run(argv, NULL, false, &status);
        assert_int_equal(status, 0);
        snprintf(want, sizeof want, "Permission: %s",
                 r->permission ? r->permission : "none (public)");
        expect_in(out, want);
        expect_in(out, (r->flags & (NSL_ROUTE_SEALED_PARAMS | NSL_ROUTE_SEALED_RESULT))
                           ? "Sealed: "
                           : "Sealed: no");
        for (const struct nsl_field_spec *f = r->params; f->name; f++) {
            snprintf(want, sizeof want, "\n  %s (%s, %s;", f->name, nsl_field_type_name(f->type),
                     f->required ? "required" : "optional");
            expect_in(out, want);
        }
        free(out);
    }
    const char *const sealed[] = {nsl, "wallet", "import", "--help", NULL};
    int status;
    char *out = run(sealed, NULL, false, &status);
    expect_in(out, "Sealed: params, end to end");
    free(out);
}

/* A dev stack with one user who owns two keys with labels of different lengths. */
static struct nsl_stack stack;
static char url[64], api_key[128];

static int stack_setup(void **state)
{
    (void)state;
    nsl_log_init("test_cli_comfort", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0 || nsl_stack_start_enclave(&stack) != 0 ||
        nsl_stack_start_parent(&stack) != 0)
        return -1;
    struct nsl_client client = {.fd = nsl_test_connect(stack.enclave_url)};
    if (client.fd < 0 || nsl_wait_storage_ready(client.fd, 15000) != 0)
        return -1;
    struct nsl_secret *admin_key;
    char admin_id[64];
    nsl_client_bootstrap(&client, &admin_key, admin_id, sizeof admin_id);
    struct nsl_signing admin = {.key = admin_key, .account = admin_id};
    nsl_client_create_user(&client, &admin, "alice", api_key, sizeof api_key);
    nsl_secret_free(admin_key);
    json_decref(nsl_client_apikey(&client, api_key, "wallet", "create", "{\"label\":\"a\"}"));
    json_decref(nsl_client_apikey(&client, api_key, "wallet", "create",
                                  "{\"label\":\"a-much-longer-label\"}"));
    close(client.fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", stack.http_port);
    return 0;
}

static int stack_teardown(void **state)
{
    (void)state;
    return nsl_stack_stop(&stack);
}

/* Drops "\033[...m" sequences. */
static void strip_colour(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        if (r[0] == '\033' && r[1] == '[') {
            r += 2 + strspn(r + 2, "0123456789;");
            r += *r == 'm';
            continue;
        }
        *w++ = *r++;
    }
    *w = 0;
}

/* The wallet list table: the header's "label" column starts where each row's label does. */
static void expect_aligned_labels(char *text)
{
    strip_colour(text);
    char *header = strstr(text, "keyId");
    assert_non_null(header);
    char *line_start = header;
    while (line_start > text && line_start[-1] != '\n')
        line_start--;
    char *label = strstr(header, "label");
    assert_non_null(label);
    size_t column = (size_t)(label - line_start);
    int rows = 0;
    for (char *line = strchr(header, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *row = line + 1;
        if (strncmp(row, "  wk_", 5) != 0)
            continue;
        if (strlen(row) <= column || row[column] != 'a' || row[column - 1] != ' ')
            fail_msg("row not aligned at column %zu:\n%s", column, text);
        rows++;
    }
    if (rows != 2)
        fail_msg("expected 2 rows of keys in:\n%s", text);
}

static void test_list_is_a_table_with_colour_only_on_a_terminal(void **state)
{
    (void)state;
    const char *const argv[] = {nsl, "--url", url, "--api-key", api_key, "wallet", "list", NULL};
    int status;
    char *tty = run(argv, NULL, true, &status);
    if (status != 0)
        fail_msg("nsl wallet list on a terminal: status %d:\n%s", status, tty);
    expect_in(tty, "\033[1mkeyId\033[0m");
    expect_aligned_labels(tty);
    free(tty);

    char *piped = run(argv, NULL, false, &status);
    assert_int_equal(status, 0);
    assert_null(strchr(piped, '\033'));
    expect_aligned_labels(piped);
    free(piped);

    const char *const no_color[] = {"NO_COLOR=1", NULL};
    tty = run(argv, no_color, true, &status);
    assert_int_equal(status, 0);
    assert_null(strchr(tty, '\033'));
    expect_aligned_labels(tty);
    free(tty);

    const char *const json_argv[] = {nsl,      "--url",  url,    "--api-key", api_key,
                                     "--json", "wallet", "list", NULL};
    tty = run(json_argv, NULL, true, &status);
    assert_int_equal(status, 0);
    assert_null(strchr(tty, '\033'));
    expect_in(tty, "\"keys\": [");
    free(tty);
}

int main(void)
{
    const char *dir = getenv("NSL_BIN_DIR");
    snprintf(nsl, sizeof nsl, "%s/nsl", dir ? dir : "build/bin");
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_completion_script_names_every_operation_and_parses),
        cmocka_unit_test(test_completion_offers_the_expected_candidates),
        cmocka_unit_test(test_completion_offline_options_exist),
        cmocka_unit_test(test_service_and_operation_help_from_the_table),
    };
    const struct CMUnitTest online[] = {
        cmocka_unit_test(test_list_is_a_table_with_colour_only_on_a_terminal),
    };
    int failed = cmocka_run_group_tests_name("offline", offline, NULL, NULL);
    return failed + cmocka_run_group_tests_name("stack", online, stack_setup, stack_teardown);
}
