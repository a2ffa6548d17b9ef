/* The real nsl sealing sensitive operations end to end (issue 6, docs/cli.md "Sealing"): against
 * `nsl dev up` (its hint, the attestation refusal without --allow-simulated, --print-request,
 * import and export) and against daemons started with --require-sealed true (import and export
 * sealed; --no-seal refused by the enclave). The WIF never reaches either daemon's log.
 * Runs <NSL_BIN_DIR>/nsl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"
#include "neo/nep2.h"
#include "neo/wif.h"

#define RUN_TIMEOUT_MS 40000
#define VECTOR_WIF     "L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4g"
#define VECTOR_ADDRESS "NPTmAHDxo6Pkyic8Nvu3kwyXoYJCvcCB6i"
#define PASSPHRASE     "correct horse"
/* Another key's WIF, for the one request sent in the clear on purpose. */
#define SECRET_VALUE "hunter2-not-in-any-log"
#define CLEAR_WIF    "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn"

/* ---- running nsl -------------------------------------------------------------------------- */

struct proc {
    pid_t pid;
    int fds[2]; /* stdout, stderr */
    char *text[2];
    size_t len[2];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void proc_start(struct proc *p, const char *const *argv, const char *const *env)
{
    int out[2], err[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    *p = (struct proc){0};
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        const char *names[] = {
            "NSL_URL", "NSL_API_KEY", "NSL_ACCOUNT", "NSL_KEY_PASSPHRASE", "NSL_ALLOW_SIMULATED",
            "NSL_PCRS"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            unsetenv(names[i]);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        char path[512];
        execv(nsl_bin_path("nsl", path, sizeof path), (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    p->fds[0] = out[0];
    p->fds[1] = err[0];
    for (int i = 0; i < 2; i++) {
        p->text[i] = calloc(1, 1);
        fcntl(p->fds[i], F_SETFL, O_NONBLOCK);
    }
}

static bool proc_pump(struct proc *p)
{
    int64_t deadline = now_ms() + RUN_TIMEOUT_MS;
    while (p->fds[0] >= 0 || p->fds[1] >= 0) {
        int left = (int)(deadline - now_ms());
        struct pollfd pfd[2] = {{p->fds[0], POLLIN, 0}, {p->fds[1], POLLIN, 0}};
        if (left <= 0 || (poll(pfd, 2, left) < 0 && errno != EINTR))
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
    return true;
}

/* Runs nsl with argv (argv[0] is "nsl") and extra "NAME=value" environment; the exit code, or
 * -1 if it had to be killed. */
static int run_env(struct proc *p, const char *const *argv, const char *const *env)
{
    proc_start(p, argv, env);
    bool done = proc_pump(p);
    if (!done)
        kill(p->pid, SIGKILL);
    int status;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
    }
    for (int i = 0; i < 2; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    return done && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run(struct proc *p, const char *const *argv)
{
    return run_env(p, argv, NULL);
}

static void proc_free(struct proc *p)
{
    free(p->text[0]);
    free(p->text[1]);
}

static void expect_in(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

static void expect_exit(struct proc *p, int rc, int want)
{
    if (rc != want)
        fail_msg("nsl exited %d, not %d:\n%s\n%s", rc, want, p->text[0], p->text[1]);
}

/* ---- what both stacks check --------------------------------------------------------------- */

struct target {
    char dir[300]; /* holds admin.key, parent.log, enclave.log */
    char url[64];
    char key[340];
    char setup_output[4096]; /* dev up's stdout */
};

static json_t *json_of(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    if (!v)
        fail_msg("not JSON:\n%s", text);
    return v;
}

/* wallet import of the vector WIF, sealed; returns the keyId (malloc'd). */
static char *expect_sealed_import(const struct target *t)
{
    struct proc p;
    const char *argv[] = {"nsl",
                          "--url",
                          t->url,
                          "--key",
                          t->key,
                          "--json",
                          "--allow-simulated",
                          "wallet",
                          "import",
                          "wif=" VECTOR_WIF,
                          "exportable=true",
                          NULL};
    expect_exit(&p, run(&p, argv), 0);
    json_t *result = json_of(p.text[0]);
    assert_string_equal(json_string_value(json_object_get(result, "address")), VECTOR_ADDRESS);
    char *key_id = strdup(json_string_value(json_object_get(result, "keyId")));
    json_decref(result);
    proc_free(&p);
    return key_id;
}

/* wallet export (sealed result, opened by nsl): the NEP-2 holds the vector key. */
static void expect_sealed_export(const struct target *t, const char *key_id)
{
    char key_param[64];
    snprintf(key_param, sizeof key_param, "keyId=%s", key_id);
    struct proc p;
    const char *argv[] = {"nsl",    "--url",  t->url,   "--key",   t->key,
                          "--json", "wallet", "export", key_param, "passphrase=" PASSPHRASE,
                          NULL};
    const char *env[] = {"NSL_ALLOW_SIMULATED=1", NULL};
    expect_exit(&p, run_env(&p, argv, env), 0);
    json_t *result = json_of(p.text[0]);
    const char *nep2 = json_string_value(json_object_get(result, "nep2"));
    assert_non_null(nep2);
    struct nsl_secret *key = NULL, *wif = NULL;
    assert_int_equal(nsl_neo_nep2_decrypt(nep2, PASSPHRASE, strlen(PASSPHRASE), NULL, &key, NULL),
                     NSL_OK);
    assert_int_equal(nsl_neo_wif_encode(key, &wif, NULL), NSL_OK);
    assert_string_equal((const char *)nsl_secret_bytes(wif), VECTOR_WIF);
    nsl_secret_free(wif);
    nsl_secret_free(key);
    json_decref(result);
    proc_free(&p);
}

static void expect_file_lacks(const char *dir, const char *name, const char *needle)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char *text = calloc(1, 1 << 22);
    size_t n = fread(text, 1, (1 << 22) - 1, f);
    fclose(f);
    assert_true(n > 0); /* the daemon did log something */
    if (strstr(text, needle))
        fail_msg("%s contains %s", path, needle);
    free(text);
}

static void expect_wif_not_logged(const struct target *t)
{
    expect_file_lacks(t->dir, "parent.log", VECTOR_WIF);
    expect_file_lacks(t->dir, "enclave.log", VECTOR_WIF);
}

/* secrets.put (sealed params) and secrets.get (sealed result) through nsl. */
static void expect_secret_round_trip(const struct target *t)
{
    struct proc p;
    const char *put[] = {"nsl",
                         "--url",
                         t->url,
                         "--key",
                         t->key,
                         "--allow-simulated",
                         "secrets",
                         "put",
                         "name=db/password",
                         "value=" SECRET_VALUE,
                         NULL};
    expect_exit(&p, run(&p, put), 0);
    proc_free(&p);
    const char *get[] = {
        "nsl", "--url", t->url, "--key", t->key, "--json", "secrets", "get", "name=db/password",
        NULL};
    const char *env[] = {"NSL_ALLOW_SIMULATED=1", NULL};
    expect_exit(&p, run_env(&p, get, env), 0);
    json_t *result = json_of(p.text[0]);
    assert_string_equal(json_string_value(json_object_get(result, "value")), SECRET_VALUE);
    json_decref(result);
    proc_free(&p);
}

/* ---- nsl dev up ----------------------------------------------------------------------------- */

static struct target dev;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int dev_setup(void **state)
{
    (void)state;
    snprintf(dev.dir, sizeof dev.dir, "/tmp/nsl-cli-seal-XXXXXX");
    struct nsl_stack ports; /* only for a free port; its directory goes at once */
    if (!mkdtemp(dev.dir) || nsl_stack_init(&ports) != 0)
        return -1;
    rmdir(ports.dir);
    char http[32];
    snprintf(http, sizeof http, "127.0.0.1:%d", ports.http_port);
    snprintf(dev.url, sizeof dev.url, "http://%s", http);
    snprintf(dev.key, sizeof dev.key, "%s/admin.key", dev.dir);
    struct proc p;
    const char *up[] = {"nsl",    "dev", "up",           "--state", dev.dir,
                        "--http", http,  "--background", NULL};
    int rc = run(&p, up);
    snprintf(dev.setup_output, sizeof dev.setup_output, "%s", p.text[0]);
    if (rc != 0)
        fprintf(stderr, "nsl dev up exited %d:\n%s\n%s", rc, p.text[0], p.text[1]);
    proc_free(&p);
    return rc == 0 ? 0 : -1;
}

static int dev_teardown(void **state)
{
    (void)state;
    struct proc p;
    const char *down[] = {"nsl", "dev", "down", "--state", dev.dir, NULL};
    int rc = run(&p, down);
    proc_free(&p);
    nftw(dev.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

static void test_dev_up_hints_allow_simulated(void **state)
{
    (void)state;
    expect_in(dev.setup_output, "--allow-simulated (or set NSL_ALLOW_SIMULATED=1)");
}

static void test_simulated_enclave_is_refused_without_allow_simulated(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {"nsl",    "--url",  dev.url,           "--key", dev.key,
                          "wallet", "import", "wif=" VECTOR_WIF, NULL};
    expect_exit(&p, run(&p, argv), 1);
    expect_in(p.text[1], "error: UNAUTHENTICATED: enclave attestation failed: simulated document "
                         "refused");
    assert_string_equal(p.text[0], "");
    proc_free(&p);
    /* An expected PCR the simulator's zero PCRs do not match. */
    char pcr[128];
    snprintf(pcr, sizeof pcr, "0=%096d", 1);
    const char *pinned[] = {"nsl", "--url",  dev.url,  "--key",           dev.key, "--pcr",
                            pcr,   "wallet", "import", "wif=" VECTOR_WIF, NULL};
    const char *env[] = {"NSL_ALLOW_SIMULATED=1", NULL};
    expect_exit(&p, run_env(&p, pinned, env), 1);
    expect_in(p.text[1], "error: UNAUTHENTICATED: enclave attestation failed: PCR 0 mismatch");
    proc_free(&p);
    /* A malformed policy is refused before anything is sent. */
    const char *bad[] = {"nsl",    "--url", dev.url,  "--pcr", "0=zz",
                         "wallet", "list",  "--seal", NULL};
    expect_exit(&p, run(&p, bad), 2);
    expect_in(p.text[1], "error: INVALID_REQUEST: --pcr: PCR 0 must be 96 hex digits");
    proc_free(&p);
}

static void test_print_request_shows_the_sealed_params(void **state)
{
    (void)state;
    struct proc p;
    const char *argv[] = {"nsl",
                          "--url",
                          dev.url,
                          "--key",
                          dev.key,
                          "--allow-simulated",
                          "--print-request",
                          "wallet",
                          "import",
                          "wif=" VECTOR_WIF,
                          NULL};
    expect_exit(&p, run(&p, argv), 0);
    expect_in(p.text[0], "Authorization: NSL-SIG account=");
    expect_in(p.text[0], "\"params\":{\"sealed\":{\"enc\":\"");
    assert_null(strstr(p.text[0], VECTOR_WIF));
    assert_null(strstr(p.text[0], "replyKey"));
    proc_free(&p);
    /* --no-seal shows what would go in the clear. */
    const char *clear[] = {"nsl",    "--url",  dev.url,           "--no-seal", "--print-request",
                           "wallet", "import", "wif=" VECTOR_WIF, NULL};
    expect_exit(&p, run(&p, clear), 0);
    expect_in(p.text[0], "\"params\":{\"wif\":\"" VECTOR_WIF "\"}");
    proc_free(&p);
}

static void test_dev_stack_import_and_export_sealed(void **state)
{
    (void)state;
    char *key_id = expect_sealed_import(&dev);
    expect_sealed_export(&dev, key_id);
    free(key_id);
    /* --seal works for an operation that is not sensitive too (its result comes back sealed). */
    struct proc p;
    const char *argv[] = {"nsl",    "--url",  dev.url,  "--allow-simulated",
                          "--seal", "system", "health", NULL};
    expect_exit(&p, run(&p, argv), 0);
    expect_in(p.text[0], "status: ok");
    proc_free(&p);
    expect_secret_round_trip(&dev);
    expect_wif_not_logged(&dev);
    expect_file_lacks(dev.dir, "parent.log", SECRET_VALUE);
    expect_file_lacks(dev.dir, "enclave.log", SECRET_VALUE);
}

/* ---- daemons that require sealing ----------------------------------------------------------- */

static struct nsl_stack stack;
static struct target strict;

/* account.bootstrap over the enclave socket, then a key file nsl --key reads. */
static int write_admin_key(void)
{
    struct nsl_client client = {.fd = nsl_test_connect(stack.enclave_url)};
    if (client.fd < 0 || nsl_wait_storage_ready(client.fd, 15000) != 0)
        return -1;
    struct nsl_secret *key = NULL, *wif = NULL;
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[2 * NSL_NEO_PUBKEY_LEN + 1], params[128];
    nsl_neo_key_generate(&key, NULL);
    nsl_neo_key_public(key, pub, NULL);
    nsl_neo_wif_encode(key, &wif, NULL);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    json_t *reply =
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "bootstrap", params));
    json_t *file = json_pack("{s:s, s:O}", "wif", (const char *)nsl_secret_bytes(wif), "accountId",
                             json_object_get(nsl_client_result(reply), "accountId"));
    int fd = open(strict.key, O_WRONLY | O_CREAT | O_EXCL, 0600);
    int rc = fd >= 0 && json_dumpfd(file, fd, 0) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    json_decref(file);
    json_decref(reply);
    nsl_secret_free(wif);
    nsl_secret_free(key);
    close(client.fd);
    return rc;
}

static int strict_setup(void **state)
{
    (void)state;
    if (nsl_stack_init(&stack) != 0)
        return -1;
    stack.enclave_extra[0] = "--require-sealed";
    stack.enclave_extra[1] = "true";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
        return -1;
    snprintf(strict.dir, sizeof strict.dir, "%s", stack.dir);
    snprintf(strict.url, sizeof strict.url, "http://127.0.0.1:%d", stack.http_port);
    snprintf(strict.key, sizeof strict.key, "%s/admin.key", stack.dir);
    return write_admin_key();
}

static int strict_teardown(void **state)
{
    (void)state;
    return nsl_stack_stop(&stack);
}

static void test_required_sealing_import_and_export(void **state)
{
    (void)state;
    /* In the clear, the enclave refuses (another WIF: this one did cross the parent). */
    struct proc p;
    const char *clear[] = {"nsl",       "--url",  strict.url, "--key",          strict.key,
                           "--no-seal", "wallet", "import",   "wif=" CLEAR_WIF, NULL};
    expect_exit(&p, run(&p, clear), 1);
    expect_in(p.text[1], "error: INVALID_REQUEST: wallet.import carries secrets");
    proc_free(&p);
    char *key_id = expect_sealed_import(&strict);
    expect_sealed_export(&strict, key_id);
    free(key_id);
}

static void test_required_sealing_keeps_the_wif_out_of_the_logs(void **state)
{
    (void)state;
    expect_wif_not_logged(&strict);
}

int main(void)
{
    const struct CMUnitTest dev_tests[] = {
        cmocka_unit_test(test_dev_up_hints_allow_simulated),
        cmocka_unit_test(test_simulated_enclave_is_refused_without_allow_simulated),
        cmocka_unit_test(test_print_request_shows_the_sealed_params),
        cmocka_unit_test(test_dev_stack_import_and_export_sealed),
    };
    const struct CMUnitTest strict_tests[] = {
        cmocka_unit_test(test_required_sealing_import_and_export),
        cmocka_unit_test(test_required_sealing_keeps_the_wif_out_of_the_logs),
    };
    int failed = cmocka_run_group_tests_name("nsl dev up", dev_tests, dev_setup, dev_teardown);
    return failed + cmocka_run_group_tests_name("--require-sealed true", strict_tests, strict_setup,
                                                strict_teardown);
}
