/* The real nsl binary: help, --print-request, local refusals, transport failures, the dev
 * stack (nsl dev up / down) with a call through it, and neo-sig signing with --key: the admin key
 * dev up bootstraps, a NEP-6 wallet, API keys made with it. Runs <NSL_BIN_DIR>/nsl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "neo/nep2.h"
#include "neo/wif.h"

#define RUN_TIMEOUT_MS 40000

/* A running nsl with its stdout and stderr collected. */
struct proc {
    pid_t pid;
    int fds[2]; /* stdout, stderr read ends; -1 once at EOF */
    char *text[2];
    size_t len[2];
};

static const char *nsl_path(void)
{
    static char path[512];
    const char *dir = getenv("NSL_BIN_DIR");
    snprintf(path, sizeof path, "%s/nsl", dir ? dir : "build/bin");
    return path;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts nsl (argv[0] when it is an absolute path) with argv, input (small) or nothing on stdin,
 * and an environment without NSL_URL / NSL_API_KEY / NSL_ACCOUNT / NSL_KEY_PASSPHRASE plus env
 * ("NAME=value" strings, NULL-terminated; may be NULL). */
static void proc_start_env(struct proc *p, const char *const *argv, const char *input,
                           const char *const *env)
{
    int in[2], out[2], err[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    *p = (struct proc){0};
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        unsetenv("NSL_URL");
        unsetenv("NSL_API_KEY");
        unsetenv("NSL_ACCOUNT");
        unsetenv("NSL_KEY_PASSPHRASE");
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0][0] == '/' ? argv[0] : nsl_path(), (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    if (input && write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
        fail_msg("cannot write nsl's stdin");
    close(in[1]);
    close(out[1]);
    close(err[1]);
    p->fds[0] = out[0];
    p->fds[1] = err[0];
    for (int i = 0; i < 2; i++) {
        p->text[i] = calloc(1, 1);
        fcntl(p->fds[i], F_SETFL, O_NONBLOCK);
    }
}

static void proc_start_input(struct proc *p, const char *const *argv, const char *input)
{
    proc_start_env(p, argv, input, NULL);
}

static void proc_start(struct proc *p, const char *const *argv)
{
    proc_start_input(p, argv, NULL);
}

/* Reads output until both streams end, or stdout holds until (when not NULL), or timeout. */
static bool proc_pump(struct proc *p, const char *until, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (p->fds[0] >= 0 || p->fds[1] >= 0) {
        if (until && strstr(p->text[0], until))
            return true;
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            return false;
        struct pollfd pfd[2] = {{p->fds[0], POLLIN, 0}, {p->fds[1], POLLIN, 0}};
        if (poll(pfd, 2, left) < 0 && errno != EINTR)
            return false;
        for (int i = 0; i < 2; i++) {
            if (p->fds[i] < 0 || !pfd[i].revents)
                continue;
            char buf[4096];
            ssize_t n = read(p->fds[i], buf, sizeof buf);
            if (n > 0) {
                p->text[i] = realloc(p->text[i], p->len[i] + (size_t)n + 1);
                memcpy(p->text[i] + p->len[i], buf, (size_t)n);
                p->len[i] += (size_t)n;
                p->text[i][p->len[i]] = 0;
            } else if (n == 0 || errno != EAGAIN) {
                close(p->fds[i]);
                p->fds[i] = -1;
            }
        }
    }
    return until ? strstr(p->text[0], until) != NULL : true;
}

/* Collects the rest of the output and the exit code (-1 if killed after the timeout). */
static int proc_finish(struct proc *p)
{
    bool done = proc_pump(p, NULL, RUN_TIMEOUT_MS);
    if (!done)
        kill(p->pid, SIGKILL);
    int status;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
    }
    for (int i = 0; i < 2; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    if (!done || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void proc_free(struct proc *p)
{
    free(p->text[0]);
    free(p->text[1]);
}

/* Runs nsl to completion. */
static int run(struct proc *p, const char *const *argv)
{
    proc_start(p, argv);
    return proc_finish(p);
}

static void expect_in(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

/* A 127.0.0.1 port that nothing listens on (bound and released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_cli_help_lists_operations(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {"nsl", "--help", NULL};
    assert_int_equal(run(&p, argv), 0);
    expect_in(p.text[0], "system.health");
    expect_in(p.text[0], "--api-key");
    proc_free(&p);
    const char *op[] = {"nsl", "system", "health", "--help", NULL};
    assert_int_equal(run(&p, op), 0);
    expect_in(p.text[0], "Parameters: none");
    proc_free(&p);
}

static void test_cli_print_request_shows_jsonrpc_post(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {"nsl", "--print-request", "system", "health", NULL};
    assert_int_equal(run(&p, argv), 0);
    expect_in(p.text[0], "POST /v1/rpc HTTP/1.1\n");
    expect_in(p.text[0], "Host: 127.0.0.1:8080\n");
    expect_in(p.text[0], "Content-Type: application/json\n");
    expect_in(p.text[0], "\n\n{");
    expect_in(p.text[0], "\"method\":\"system.health\"");
    assert_null(strstr(p.text[0], "Authorization"));
    json_t *body = json_loads(strstr(p.text[0], "\n\n") + 2, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "jsonrpc")), "2.0");
    json_decref(body);
    proc_free(&p);
}

static void test_cli_print_request_shows_api_key_header(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {"nsl", "--api-key", "s3cr3t", "--print-request", "system", "info", NULL};
    assert_int_equal(run(&p, argv), 0);
    expect_in(p.text[0], "Authorization: NSL-APIKEY s3cr3t\n");
    proc_free(&p);
}

static void test_cli_params_from_stdin(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {"nsl", "--print-request", "system", "health", "--params", "@-", NULL};
    proc_start_input(&p, argv, "{}\n");
    assert_int_equal(proc_finish(&p), 0);
    expect_in(p.text[0], "\"params\":{}");
    proc_free(&p);
    proc_start_input(&p, argv, "{\"verbose\": true}");
    assert_int_equal(proc_finish(&p), 2);
    expect_in(p.text[1], "error: INVALID_PARAMS: params has unknown field \"verbose\"");
    proc_free(&p);
}

static void test_cli_unknown_operation_exits_2(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {"nsl", "system", "reboot", NULL};
    assert_int_equal(run(&p, argv), 2);
    expect_in(p.text[1], "error: UNKNOWN_OPERATION:");
    proc_free(&p);
    const char *param[] = {"nsl", "system", "health", "verbose=true", NULL};
    assert_int_equal(run(&p, param), 2);
    expect_in(p.text[1], "error: INVALID_PARAMS: unknown parameter \"verbose\"");
    proc_free(&p);
}

static void test_cli_connection_refused_exits_1(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", free_port());
    struct proc p;
    const char *argv[] = {"nsl", "--url", url, "--api-key", "hidden-key", "system", "health", NULL};
    assert_int_equal(run(&p, argv), 1);
    expect_in(p.text[1], "error: UNAVAILABLE: ");
    assert_null(strstr(p.text[1], "hidden-key"));
    proc_free(&p);
    const char *json[] = {"nsl", "--json", "--url", url, "system", "health", NULL};
    assert_int_equal(run(&p, json), 1);
    json_t *error = json_loads(p.text[0], 0, NULL);
    assert_non_null(error);
    assert_string_equal(json_string_value(json_object_get(json_object_get(error, "data"), "code")),
                        "UNAVAILABLE");
    json_decref(error);
    proc_free(&p);
}

/* The dev stack test's state: a temporary directory and the API port. */
struct dev {
    char dir[64];
    char http[32];
    char url[64];
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int dev_setup(void **state)
{
    struct dev *d = calloc(1, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/nsl-cli-dev-XXXXXX");
    if (!mkdtemp(d->dir))
        return -1;
    int port = free_port();
    snprintf(d->http, sizeof d->http, "127.0.0.1:%d", port);
    snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", port);
    *state = d;
    return 0;
}

/* Stops whatever the test left running, then removes the directory. */
static int dev_teardown(void **state)
{
    struct dev *d = *state;
    struct proc p;
    const char *argv[] = {"nsl", "dev", "down", "--state", d->dir, NULL};
    run(&p, argv);
    proc_free(&p);
    nftw(d->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
    return 0;
}

static pid_t read_pid(const char *dir, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.pid", dir, name);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* Gone, or a zombie waiting for whoever inherited it. */
static bool pid_gone(pid_t pid)
{
    char path[64], stat[256] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    char *paren = strrchr(stat, ')');
    return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static void expect_health_through_stack(const struct dev *d)
{
    struct proc p;
    const char *health[] = {"nsl", "--url", d->url, "system", "health", NULL};
    int rc = run(&p, health);
    if (rc != 0)
        fail_msg("system health exited %d: %s", rc, p.text[1]);
    expect_in(p.text[0], "status: ok");
    proc_free(&p);
    const char *json[] = {"nsl", "--url", d->url, "--json", "system", "health", NULL};
    assert_int_equal(run(&p, json), 0);
    json_t *result = json_loads(p.text[0], 0, NULL);
    assert_non_null(result);
    assert_string_equal(json_string_value(json_object_get(result, "status")), "ok");
    json_decref(result);
    proc_free(&p);
}

static void test_cli_dev_up_background_then_down(void **state)
{
    struct dev *d = *state;
    struct proc p;
    const char *up[] = {"nsl",    "dev",   "up",           "--state", d->dir,
                        "--http", d->http, "--background", NULL};
    int rc = run(&p, up);
    if (rc != 0)
        fail_msg("nsl dev up exited %d:\n%s\n%s", rc, p.text[0], p.text[1]);
    expect_in(p.text[0], d->url);
    proc_free(&p);
    pid_t enclave = read_pid(d->dir, "nsl-enclave"), parent = read_pid(d->dir, "nsl-parent");
    assert_true(enclave > 0 && parent > 0);
    assert_false(pid_gone(enclave) || pid_gone(parent));

    /* A second start is refused while the stack is up. */
    assert_int_equal(run(&p, up), 1);
    expect_in(p.text[1], "already up");
    proc_free(&p);

    expect_health_through_stack(d);

    const char *down[] = {"nsl", "dev", "down", "--state", d->dir, NULL};
    assert_int_equal(run(&p, down), 0);
    proc_free(&p);
    assert_true(pid_gone(enclave));
    assert_true(pid_gone(parent));
    assert_int_equal(read_pid(d->dir, "nsl-enclave"), 0);
    assert_int_equal(read_pid(d->dir, "nsl-parent"), 0);
    /* Down again: nothing to do, still success. */
    assert_int_equal(run(&p, down), 0);
    expect_in(p.text[0], "already down");
    proc_free(&p);
}

static void test_cli_dev_up_foreground_stops_on_sigint(void **state)
{
    struct dev *d = *state;
    struct proc p;
    const char *up[] = {"nsl", "dev", "up", "--state", d->dir, "--http", d->http, NULL};
    proc_start(&p, up);
    if (!proc_pump(&p, "Ctrl-C stops", RUN_TIMEOUT_MS)) {
        kill(p.pid, SIGTERM);
        proc_finish(&p);
        fail_msg("nsl dev up did not come up:\n%s\n%s", p.text[0], p.text[1]);
    }
    pid_t enclave = read_pid(d->dir, "nsl-enclave"), parent = read_pid(d->dir, "nsl-parent");
    expect_health_through_stack(d);
    kill(p.pid, SIGINT);
    assert_int_equal(proc_finish(&p), 0);
    expect_in(p.text[0], "dev stack stopped");
    proc_free(&p);
    assert_true(pid_gone(enclave));
    assert_true(pid_gone(parent));
    assert_int_equal(read_pid(d->dir, "nsl-parent"), 0);
}

/* Copies nsl into dir beside a fake nsl-enclave that fails at once and a nsl-parent that would
 * never answer: dev up must report the failure with the log, stop everything, exit 1. */
static void test_cli_dev_up_reports_a_daemon_that_fails(void **state)
{
    struct dev *d = *state;
    char cmd[2048], nsl[128], state_dir[128];
    snprintf(nsl, sizeof nsl, "%s/nsl", d->dir);
    snprintf(state_dir, sizeof state_dir, "%s/state", d->dir);
    snprintf(cmd, sizeof cmd,
             "cp '%s' '%s' && printf '#!/bin/sh\\necho enclave refuses: $*\\nexit 3\\n' > "
             "'%s/nsl-enclave' && printf '#!/bin/sh\\nexec sleep 60\\n' > '%s/nsl-parent' && "
             "chmod +x '%s/nsl-enclave' '%s/nsl-parent'",
             nsl_path(), nsl, d->dir, d->dir, d->dir, d->dir);
    assert_int_equal(system(cmd), 0);
    struct proc p;
    const char *argv[] = {nsl, "dev", "up", "--state", state_dir, "--http", d->http, NULL};
    proc_start(&p, argv);
    assert_int_equal(proc_finish(&p), 1);
    expect_in(p.text[1], "nsl-enclave exited with status 3");
    expect_in(p.text[1], "enclave refuses: --mode sim --key-provider sim --listen unix://");
    assert_int_equal(read_pid(state_dir, "nsl-enclave"), 0);
    proc_free(&p);
}

/* ---- neo-sig: the admin key of nsl dev up, NEP-6 wallets, API keys made with them ---- */

static int run_env(struct proc *p, const char *const *argv, const char *const *env)
{
    proc_start_env(p, argv, NULL, env);
    return proc_finish(p);
}

/* Runs nsl --json ... to success and returns its result. */
static json_t *run_json(const char *const *argv, const char *const *env)
{
    struct proc p;
    int rc = run_env(&p, argv, env);
    if (rc != 0)
        fail_msg("nsl exited %d: %s", rc, p.text[1]);
    json_t *result = json_loads(p.text[0], 0, NULL);
    if (!result)
        fail_msg("not JSON: %s", p.text[0]);
    proc_free(&p);
    return result;
}

static void expect_whoami(const char *const *argv, const char *const *env, const char *account,
                          const char *scheme)
{
    json_t *r = run_json(argv, env);
    if (account)
        assert_string_equal(json_string_value(json_object_get(r, "accountId")), account);
    assert_string_equal(json_string_value(json_object_get(r, "scheme")), scheme);
    json_decref(r);
}

/* Runs nsl expecting a local refusal (exit 2) whose message holds needle. */
static void expect_refused(const char *const *argv, const char *const *env, const char *needle)
{
    struct proc p;
    int rc = run_env(&p, argv, env);
    if (rc != 2)
        fail_msg("expected exit 2, got %d: %s", rc, p.text[1]);
    expect_in(p.text[1], needle);
    proc_free(&p);
}

/* dev up --background must leave admin.key: 0600, exactly the four fields. */
static json_t *expect_admin_key(const struct dev *d, const char *path)
{
    struct proc p;
    const char *up[] = {"nsl",    "dev",   "up",           "--state", d->dir,
                        "--http", d->http, "--background", NULL};
    int rc = run(&p, up);
    if (rc != 0)
        fail_msg("nsl dev up exited %d:\n%s\n%s", rc, p.text[0], p.text[1]);
    char hint[256];
    expect_in(p.text[0], "the admin key is in ");
    snprintf(hint, sizeof hint, "--key %s account whoami", path);
    expect_in(p.text[0], hint);
    proc_free(&p);
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    json_t *key = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(key);
    assert_int_equal(json_object_size(key), 4);
    const char *fields[] = {"address", "publicKey", "wif", "accountId"};
    for (size_t i = 0; i < 4; i++)
        assert_true(json_is_string(json_object_get(key, fields[i])));
    return key;
}

/* A NEP-6 wallet holding the key of key_file, NEP-2 encrypted with pass under cost. */
static void write_wallet(const char *path, const json_t *key_file, const char *pass,
                         struct nsl_neo_scrypt cost)
{
    struct nsl_secret *key = NULL;
    char nep2[NSL_NEO_NEP2_SIZE];
    const char *address = json_string_value(json_object_get(key_file, "address"));
    assert_int_equal(
        nsl_neo_wif_decode(json_string_value(json_object_get(key_file, "wif")), &key, NULL),
        NSL_OK);
    assert_int_equal(nsl_neo_nep2_encrypt(key, pass, strlen(pass), &cost, nep2, NULL), NSL_OK);
    nsl_secret_free(key);
    json_t *wallet =
        json_pack("{s:s, s:s, s:{s:I, s:i, s:i}, s:[{s:s, s:s, s:b, s:b, s:s, "
                  "s:n}], s:n}",
                  "name", "nsl test", "version", "1.0", "scrypt", "n", (json_int_t)cost.n, "r",
                  (int)cost.r, "p", (int)cost.p, "accounts", "address", address, "label", "admin",
                  "isDefault", 1, "lock", 0, "key", nep2, "extra", "extra");
    assert_non_null(wallet);
    assert_int_equal(json_dump_file(wallet, path, JSON_INDENT(2)), 0);
    json_decref(wallet);
}

static void expect_nep6_wallets(const struct dev *d, const json_t *key_file, const char *admin)
{
    char wallet[128], cheap[128], pass_file[128], account_env[96];
    snprintf(wallet, sizeof wallet, "%s/wallet.json", d->dir);
    snprintf(cheap, sizeof cheap, "%s/cheap-wallet.json", d->dir);
    snprintf(pass_file, sizeof pass_file, "%s/passphrase", d->dir);
    snprintf(account_env, sizeof account_env, "NSL_ACCOUNT=%s", admin);
    write_wallet(wallet, key_file, "correct horse", (struct nsl_neo_scrypt){16384, 8, 8});
    write_wallet(cheap, key_file, "battery staple", (struct nsl_neo_scrypt){1024, 8, 1});
    FILE *f = fopen(pass_file, "w");
    fputs("battery staple\n", f);
    fclose(f);

    const char *good_env[] = {"NSL_KEY_PASSPHRASE=correct horse", NULL};
    const char *by_env[] = {"nsl", "--url",  d->url,    "--key",  wallet, "--account",
                            admin, "--json", "account", "whoami", NULL};
    expect_whoami(by_env, good_env, admin, "neo-sig");
    /* The wallet's own scrypt cost, the passphrase from a file, the account from NSL_ACCOUNT. */
    const char *file_env[] = {account_env, NULL};
    const char *by_file[] = {"nsl",     "--url",  d->url,    "--key",  cheap, "--passphrase-file",
                             pass_file, "--json", "account", "whoami", NULL};
    expect_whoami(by_file, file_env, admin, "neo-sig");

    const char *wrong_env[] = {"NSL_KEY_PASSPHRASE=battery", account_env, NULL};
    const char *cheap_whoami[] = {"nsl", "--url",   d->url,   "--key",
                                  cheap, "account", "whoami", NULL};
    expect_refused(cheap_whoami, wrong_env, "error: UNAUTHENTICATED: wrong passphrase");
    expect_refused(cheap_whoami, file_env, "NSL_KEY_PASSPHRASE or --passphrase-file");
    const char *no_account_env[] = {"NSL_KEY_PASSPHRASE=battery staple", NULL};
    expect_refused(cheap_whoami, no_account_env, "error: INVALID_REQUEST: no account id");
}

static void expect_print_request_signed(const struct dev *d, const char *key, const char *admin)
{
    struct proc p;
    const char *argv[] = {"nsl",     "--url", d->url,    "--key", key, "--print-request",
                          "account", "list",  "limit=5", NULL};
    assert_int_equal(run(&p, argv), 0);
    const char *line = strstr(p.text[0], "\nAuthorization: NSL-SIG account=");
    assert_non_null(line);
    char account[64], ts[24], nonce[80], sig[160];
    assert_int_equal(sscanf(line,
                            "\nAuthorization: NSL-SIG account=%63[^,],ts=%23[0-9],"
                            "nonce=%79[0-9a-f],sig=%159[0-9a-f]\n",
                            account, ts, nonce, sig),
                     4);
    assert_string_equal(account, admin);
    assert_true(llabs(atoll(ts) - (long long)time(NULL)) < 60);
    assert_int_equal(strlen(nonce), 32);
    assert_int_equal(strlen(sig), 128);
    expect_in(p.text[0], "\"params\":{\"limit\":5}");
    assert_null(strstr(p.text[0], "wif"));
    proc_free(&p);
}

static void test_cli_dev_up_admin_key_signs_requests(void **state)
{
    struct dev *d = *state;
    char key[128];
    snprintf(key, sizeof key, "%s/admin.key", d->dir);
    json_t *key_file = expect_admin_key(d, key);
    const char *admin = json_string_value(json_object_get(key_file, "accountId"));

    const char *whoami[] = {"nsl",    "--url",   d->url,   "--key", key,
                            "--json", "account", "whoami", NULL};
    expect_whoami(whoami, NULL, admin, "neo-sig");
    const char *create[] = {"nsl",    "--url",   d->url,   "--key",      key,
                            "--json", "account", "create", "name=alice", NULL};
    json_t *alice = run_json(create, NULL);
    const char *api_key = json_string_value(json_object_get(alice, "apiKey"));
    assert_non_null(api_key);
    const char *as_alice[] = {"nsl",    "--url",   d->url,   "--api-key", api_key,
                              "--json", "account", "whoami", NULL};
    expect_whoami(as_alice, NULL, json_string_value(json_object_get(alice, "accountId")), "apikey");
    struct proc p;
    const char *list[] = {"nsl", "--url", d->url, "--api-key", api_key, "account", "list", NULL};
    assert_int_equal(run(&p, list), 1);
    expect_in(p.text[1], "error: PERMISSION_DENIED: ");
    assert_null(strstr(p.text[1], api_key));
    proc_free(&p);
    const char *both[] = {"nsl",       "--url", d->url,    "--key",  key,
                          "--api-key", api_key, "account", "whoami", NULL};
    expect_refused(both, NULL, "mutually exclusive");
    json_decref(alice);

    expect_print_request_signed(d, key, admin);
    expect_nep6_wallets(d, key_file, admin);

    /* Restarted over the same state, the key is left as it is and still signs. */
    char *before = json_dumps(key_file, JSON_COMPACT);
    const char *down[] = {"nsl", "dev", "down", "--state", d->dir, NULL};
    assert_int_equal(run(&p, down), 0);
    proc_free(&p);
    const char *up[] = {"nsl",    "dev",   "up",           "--state", d->dir,
                        "--http", d->http, "--background", NULL};
    assert_int_equal(run(&p, up), 0);
    expect_in(p.text[0], "kept from an earlier start");
    proc_free(&p);
    json_t *again = json_load_file(key, 0, NULL);
    char *after = json_dumps(again, JSON_COMPACT);
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(again);
    expect_whoami(whoami, NULL, admin, "neo-sig");
    json_decref(key_file);
}

/* admin.key gone but the store has its admin: a clear warning, the stack still comes up. */
static void test_cli_dev_up_warns_when_admin_exists_without_key(void **state)
{
    struct dev *d = *state;
    char key[128];
    snprintf(key, sizeof key, "%s/admin.key", d->dir);
    json_decref(expect_admin_key(d, key));
    struct proc p;
    const char *down[] = {"nsl", "dev", "down", "--state", d->dir, NULL};
    assert_int_equal(run(&p, down), 0);
    proc_free(&p);
    assert_int_equal(unlink(key), 0);
    const char *up[] = {"nsl",    "dev",   "up",           "--state", d->dir,
                        "--http", d->http, "--background", NULL};
    assert_int_equal(run(&p, up), 0);
    expect_in(p.text[1], "warning: an admin account already exists");
    assert_null(strstr(p.text[0], "admin key is in"));
    proc_free(&p);
    assert_int_equal(access(key, F_OK), -1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_help_lists_operations),
        cmocka_unit_test(test_cli_print_request_shows_jsonrpc_post),
        cmocka_unit_test(test_cli_print_request_shows_api_key_header),
        cmocka_unit_test(test_cli_params_from_stdin),
        cmocka_unit_test(test_cli_unknown_operation_exits_2),
        cmocka_unit_test(test_cli_connection_refused_exits_1),
        cmocka_unit_test_setup_teardown(test_cli_dev_up_background_then_down, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(test_cli_dev_up_foreground_stops_on_sigint, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(test_cli_dev_up_reports_a_daemon_that_fails, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(test_cli_dev_up_admin_key_signs_requests, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(test_cli_dev_up_warns_when_admin_exists_without_key,
                                        dev_setup, dev_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
