/* Memory and process hygiene of the running enclave (ARCHITECTURE §8, issue 11): core dumps off
 * (RLIMIT_CORE 0) and the process non-dumpable — proven by a process of the same uid without
 * CAP_SYS_PTRACE being refused /proc/PID/mem while it can open a dumpable control's;
 * memory locked where permitted; every function worker under its seccomp filter; and, across all
 * services at once, no secret (an API key, an imported private key as WIF, hex and raw bytes, a
 * NEP-2 passphrase, a secret value read by a function) in any file of the state dir (database,
 * WAL, both logs) or in any error message, over the enclave socket or the HTTP gateway. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/scan.h"
#include "neo/key.h"
#include "neo/wif.h"

#define VALUE      "hygiene-SECRET-VALUE-4be1c07d"
#define PASSPHRASE "hygiene-PASSPHRASE-91aa3e5f"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static struct nsl_stack stack;
static struct nsl_client client;
static char alice[128];
static char *errors_seen; /* every error message, scanned at the end */

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_hygiene", NSL_LOG_ERROR);
    /* The daemons start without CAP_SYS_PTRACE (as any unprivileged service would), so that the
     * probe below, which must lack it, may still hold every capability they hold. Without
     * CAP_SETPCAP (not root) there is nothing to drop. */
    prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0);
    if (nsl_stack_init(&stack) != 0 || nsl_stack_start_enclave(&stack) != 0 ||
        nsl_stack_start_parent(&stack) != 0)
        return -1;
    client.fd = nsl_test_connect(stack.enclave_url);
    if (nsl_wait_storage_ready(client.fd, 15000) != 0)
        return -1;
    struct nsl_secret *key = NULL;
    char admin_id[64];
    nsl_client_bootstrap(&client, &key, admin_id, sizeof admin_id);
    struct nsl_signing admin = {.key = key, .account = admin_id};
    nsl_client_create_user(&client, &admin, "alice", alice, sizeof alice);
    nsl_secret_free(key);
    errors_seen = calloc(1, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    free(errors_seen);
    return nsl_stack_stop(&stack);
}

/* ---- /proc readers ---- */

static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    int ppid = -1;
    if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1)
        return -1;
    return ppid;
}

/* Children of pid, into out (at most max); returns how many. */
static int children_of(pid_t pid, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        pid_t p = (pid_t)atoi(e->d_name);
        if (p > 0 && parent_of(p) == pid)
            out[n++] = p;
    }
    if (d)
        closedir(d);
    return n;
}

/* ---- dumpability, seen from outside ---- */

/* Drops CAP_SYS_PTRACE from this process's capability sets; 0 on success. */
static int drop_ptrace_capability(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[2];
    if (syscall(SYS_capget, &hdr, caps) != 0)
        return -1;
    caps[0].effective &= ~(1u << CAP_SYS_PTRACE);
    caps[0].permitted &= ~(1u << CAP_SYS_PTRACE);
    caps[0].inheritable &= ~(1u << CAP_SYS_PTRACE);
    return (int)syscall(SYS_capset, &hdr, caps);
}

/* A child of this process without CAP_SYS_PTRACE (which would bypass the check) tries to open
 * /proc/pid/mem, which needs ptrace access: the kernel grants it for a process of the same uid,
 * whose capabilities are no more than ours, only while that process is dumpable. True when the
 * open succeeded. */
static bool same_uid_can_read(pid_t pid)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (drop_ptrace_capability() != 0)
            _exit(2);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
        int fd = open(path, O_RDONLY);
        _exit(fd >= 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 2);
    return WEXITSTATUS(status) == 0;
}

/* A dumpable process of our uid and the daemons' capabilities, proving the probe can tell the
 * difference. */
static pid_t start_control(void)
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        char ok = drop_ptrace_capability() == 0 ? 'k' : 'x';
        if (write(ready[1], &ok, 1) == 1 && ok == 'k')
            pause();
        _exit(0);
    }
    assert_true(pid > 0);
    close(ready[1]);
    char ok = 0;
    /* Probing before the control dropped its capability would be refused for that reason. */
    assert_int_equal(read(ready[0], &ok, 1), 1);
    assert_int_equal(ok, 'k');
    close(ready[0]);
    return pid;
}

static void test_core_dumps_are_off_and_the_enclave_is_not_dumpable(void **state)
{
    (void)state;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)stack.enclave_pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool seen = false;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Max core file size", 18) == 0) {
            unsigned long soft = 1, hard = 1;
            assert_int_equal(sscanf(line + 18, " %lu %lu", &soft, &hard), 2);
            assert_int_equal(soft, 0);
            assert_int_equal(hard, 0);
            seen = true;
        }
    fclose(f);
    assert_true(seen);
    pid_t control = start_control();
    bool control_readable = same_uid_can_read(control);
    kill(control, SIGKILL);
    waitpid(control, NULL, 0);
    assert_true(control_readable);
    assert_false(same_uid_can_read(stack.enclave_pid));
}

static void test_memory_is_locked_where_permitted(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/enclave.log", stack.dir);
    const char *yes = "\"memory_locked\":\"yes\"", *no = "\"memory_locked\":\"no\"";
    bool locked_logged = nsl_file_contains(path, yes, strlen(yes));
    long vmlck = nsl_process_status(stack.enclave_pid, "VmLck");
    print_message("      VmLck %ld kB, euid %d, sanitized build %d\n", vmlck, (int)geteuid(),
                  SANITIZED);
    assert_true(vmlck >= 0);
    if (geteuid() == 0 && !SANITIZED) {
        /* Root holds CAP_IPC_LOCK here: locking must have worked. */
        assert_true(locked_logged);
        assert_true(vmlck > 0);
    } else if (!locked_logged) {
        /* Not permitted (or a sanitizer's shadow memory): said so, with the reason. VmLck may
         * still show the OpenSSL secure heap, which locks its own arena. */
        assert_true(nsl_file_contains(path, no, strlen(no)));
    }
}

static void test_function_workers_run_under_seccomp(void **state)
{
    (void)state;
    json_t *reply = nsl_client_apikey(&client, alice, "function", "deploy",
                                      "{\"name\":\"probe\",\"source\":\"function main() { return "
                                      "1; }\"}");
    nsl_client_result(reply);
    json_decref(reply);
    reply = nsl_client_apikey(&client, alice, "function", "invoke", "{\"name\":\"probe\"}");
    nsl_client_result(reply);
    json_decref(reply);
    pid_t zygotes[8], workers[64];
    int nz = children_of(stack.enclave_pid, zygotes, 8), nw = 0;
    assert_true(nz >= 1);
    for (int i = 0; i < nz; i++)
        nw += children_of(zygotes[i], workers + nw, 64 - nw);
    assert_true(nw >= 1);
    for (int i = 0; i < nw; i++) {
        assert_int_equal(nsl_process_status(workers[i], "Seccomp"), 2); /* SECCOMP_MODE_FILTER */
        assert_int_equal(nsl_process_status(workers[i], "NoNewPrivs"), 1);
        assert_false(same_uid_can_read(workers[i]));
    }
    print_message("      %d worker(s), each with a seccomp filter, no new privileges, not "
                  "dumpable\n",
                  nw);
}

/* ---- secrets across every service ---- */

static json_t *call(const char *service, const char *operation, const char *params)
{
    json_t *reply = nsl_client_apikey(&client, alice, service, operation, params);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    if (msg) {
        size_t old = strlen(errors_seen);
        errors_seen = realloc(errors_seen, old + strlen(msg) + 2);
        strcpy(errors_seen + old, msg);
    }
    return reply;
}

static void ok(const char *service, const char *operation, const char *params)
{
    json_t *reply = call(service, operation, params);
    nsl_client_result(reply);
    json_decref(reply);
}

static void refused(const char *service, const char *operation, const char *params)
{
    json_t *reply = call(service, operation, params);
    assert_false(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
}

/* The same refusals through the HTTP gateway: its error bodies and its log are scanned too. */
static void refused_over_http(const char *method, const char *params)
{
    char *body = NULL, auth[200];
    snprintf(auth, sizeof auth, "Authorization: NSL-APIKEY %s\r\n", alice);
    assert_true(asprintf(&body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
                         method, params) > 0);
    int status = 0;
    char *answer = NULL;
    assert_int_equal(
        nsl_http_request(stack.http_port, "POST", "/v1/rpc", auth, body, &status, &answer), 0);
    assert_non_null(strstr(answer, "\"error\""));
    size_t old = strlen(errors_seen);
    errors_seen = realloc(errors_seen, old + strlen(answer) + 2);
    strcpy(errors_seen + old, answer);
    free(answer);
    free(body);
}

static void expect_nowhere(const char *what, const void *needle, size_t len)
{
    char where[1024];
    if (nsl_dir_contains(stack.dir, needle, len, where, sizeof where))
        fail_msg("%s found in %s", what, where);
    if (memmem(errors_seen, strlen(errors_seen), needle, len))
        fail_msg("%s found in an error message", what);
}

static void test_no_secret_in_any_file_log_or_error(void **state)
{
    (void)state;
    struct nsl_secret *key = NULL, *wif = NULL;
    assert_int_equal(nsl_neo_key_generate(&key, NULL), NSL_OK);
    assert_int_equal(nsl_neo_wif_encode(key, &wif, NULL), NSL_OK);
    char wif_text[64], key_hex[65], params[512], key_id[64];
    snprintf(wif_text, sizeof wif_text, "%.*s", (int)nsl_secret_len(wif),
             (const char *)nsl_secret_bytes(wif));
    nsl_hex_encode(nsl_secret_bytes(key), 32, key_hex);

    /* wallet: import, export under a passphrase, and refusals that carry both */
    snprintf(params, sizeof params, "{\"wif\":\"%s\",\"exportable\":true}", wif_text);
    json_t *reply = call("wallet", "import", params);
    nsl_client_copy_string(reply, "keyId", key_id, sizeof key_id);
    json_decref(reply);
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"passphrase\":\"%s\"}", key_id, PASSPHRASE);
    ok("wallet", "export", params);
    snprintf(params, sizeof params, "{\"keyId\":\"k_missing\",\"passphrase\":\"%s\"}", PASSPHRASE);
    refused("wallet", "export", params);
    snprintf(params, sizeof params, "{\"wif\":\"%s\",\"label\":1}", wif_text);
    refused("wallet", "import", params);
    wif_text[10] = wif_text[10] == 'A' ? 'B' : 'A'; /* a bad checksum: refused, never echoed */
    snprintf(params, sizeof params, "{\"wif\":\"%s\"}", wif_text);
    refused("wallet", "import", params);
    refused_over_http("wallet.import", params);
    wif_text[10] = ((const char *)nsl_secret_bytes(wif))[10];

    /* secrets: a value, read by a granted function, and refusals that carry it */
    ok("secrets", "put", "{\"name\":\"scan/value\",\"value\":\"" VALUE "\"}");
    ok("function", "deploy",
       "{\"name\":\"scanner\",\"source\":\"function main() { var v = "
       "nsl.secrets.get('scan/value'); return {n: v.length}; }\",\"secrets\":[\"scan/value\"]}");
    ok("secrets", "grant", "{\"name\":\"scan/value\",\"function\":\"scanner\"}");
    ok("function", "invoke", "{\"name\":\"scanner\"}");
    refused("secrets", "put", "{\"name\":\"bad name!\",\"value\":\"" VALUE "\"}");
    refused("secrets", "put", "{\"name\":\"scan/x\",\"value\":\"" VALUE "\",\"extra\":1}");
    refused_over_http("secrets.put", "{\"name\":\"bad name!\",\"value\":\"" VALUE "\"}");

    /* account: an API key used in a refused call too */
    refused("account", "update", "{\"accountId\":\"acct_000000000000\"}");
    const char *api_secret = strrchr(alice, '_') + 1;

    expect_nowhere("the API key's secret part", api_secret, strlen(api_secret));
    expect_nowhere("the imported key as WIF", wif_text, strlen(wif_text));
    expect_nowhere("the imported key in hex", key_hex, 64);
    expect_nowhere("the imported key's bytes", nsl_secret_bytes(key), 32);
    expect_nowhere("the NEP-2 passphrase", PASSPHRASE, strlen(PASSPHRASE));
    expect_nowhere("the secret value", VALUE, strlen(VALUE));
    nsl_secret_free(key);
    nsl_secret_free(wif);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_dumps_are_off_and_the_enclave_is_not_dumpable),
        cmocka_unit_test(test_memory_is_locked_where_permitted),
        cmocka_unit_test(test_function_workers_run_under_seccomp),
        cmocka_unit_test(test_no_secret_in_any_file_log_or_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
