/* Integration test of the host channel's storage (docs/storage.md): the real nsl-parent runs as
 * a child process with no enclave behind it, and this test connects to its host channel as the
 * enclave would. Covers every kv operation and error, pipelined writes, keys.simWrappingKey in
 * both key-provider modes, and that every acknowledged write survives a SIGKILL mid-burst. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/frame.h"
#include "harness/harness.h"

#define MAX_FRAME (16u << 20)

struct parent {
    char dir[64];
    char host_url[128];
    pid_t pid;
};

static bool host_accepts(void *arg)
{
    struct parent *p = arg;
    int status;
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
        p->pid = 0;
        return true; /* it died: stop waiting, the caller checks */
    }
    int fd = nsl_test_connect(p->host_url);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

static void start_parent(struct parent *p, const char *provider)
{
    char bin[512], log[128], http[32], nothing[128], egress[128];
    nsl_bin_path("nsl-parent", bin, sizeof bin);
    snprintf(log, sizeof log, "%s/parent.log", p->dir);
    snprintf(nothing, sizeof nothing, "unix://%s/nothing.sock", p->dir);
    snprintf(p->host_url, sizeof p->host_url, "unix://%s/host.sock", p->dir);
    snprintf(http, sizeof http, "127.0.0.1:0");
    /* Never the default vsock://ANY:5002: tests bind only their own sockets. */
    snprintf(egress, sizeof egress, "unix://%s/egress.sock", p->dir);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, STDERR_FILENO);
        execl(bin, bin, "--enclave", nothing, "--host-listen", p->host_url, "--http", http,
              "--state", p->dir, "--key-provider", provider, "--egress-listen", egress,
              (char *)NULL);
        _exit(127);
    }
    if (nsl_wait_until(host_accepts, p, 15000) != 0 || p->pid <= 0) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "cat '%s' >&2", log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no parent log)\n");
        fail_msg("nsl-parent did not start (its log is above)");
    }
}

static void stop_parent(struct parent *p)
{
    int status = nsl_stack_kill(&p->pid, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int setup(void **state)
{
    struct parent *p = calloc(1, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/nsl-kv-XXXXXX");
    if (!mkdtemp(p->dir))
        return -1;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct parent *p = *state;
    char cmd[128];
    if (p->pid > 0)
        nsl_stack_kill(&p->pid, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
    int rc = system(cmd);
    free(p);
    return rc == 0 ? 0 : -1;
}

/* ---- requests ---- */

static json_t *call(int fd, const char *service, const char *operation, json_t *params)
{
    static atomic_uint next_id;
    char id[32];
    snprintf(id, sizeof id, "h-%u", atomic_fetch_add(&next_id, 1));
    json_t *req = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "serviceType", service, "operation",
                            operation, "params", params);
    char *text = json_dumps(req, JSON_COMPACT), *answer = NULL;
    assert_int_equal(nsl_test_roundtrip(fd, text, &answer), 0);
    json_t *resp = json_loads(answer, 0, NULL);
    assert_non_null(resp);
    assert_string_equal(json_string_value(json_object_get(resp, "id")), id);
    free(text);
    free(answer);
    json_decref(req);
    return resp;
}

/* Calls kv.<operation> with params given as JSON text; returns the result (ok) or NULL and the
 * error code in *code. */
static json_t *kv(int fd, const char *operation, const char *params_json, const char **code)
{
    static char last_code[32];
    json_t *resp = call(fd, "kv", operation, json_loads(params_json, 0, NULL));
    json_t *result = json_incref(json_object_get(resp, "result"));
    const char *c = json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
    snprintf(last_code, sizeof last_code, "%s", c ? c : "OK");
    if (code)
        *code = last_code;
    json_decref(resp);
    return result;
}

static void expect_error(int fd, const char *operation, const char *params, const char *want)
{
    const char *code;
    json_t *r = kv(fd, operation, params, &code);
    if (strcmp(code, want) != 0)
        fail_msg("kv.%s %s: got %s, want %s", operation, params, code, want);
    json_decref(r);
}

static json_int_t expect_version(int fd, const char *operation, const char *params)
{
    const char *code;
    json_t *r = kv(fd, operation, params, &code);
    if (!r)
        fail_msg("kv.%s %s failed: %s", operation, params, code);
    json_int_t v = json_integer_value(json_object_get(r, "version"));
    json_decref(r);
    return v;
}

static void test_kv_operations_follow_the_contract(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    assert_true(fd >= 0);
    assert_int_equal(expect_version(fd, "put",
                                    "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0,"
                                    "\"value\":\"aGk=\"}"),
                     1);
    expect_error(fd, "put", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0,\"value\":\"\"}",
                 "CONFLICT");
    json_t *got = kv(fd, "get", "{\"ns\":\"a\",\"key\":\"k\"}", NULL);
    assert_true(json_is_true(json_object_get(got, "found")));
    assert_string_equal(json_string_value(json_object_get(got, "value")), "aGk=");
    json_decref(got);
    expect_error(fd, "delete", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":7}", "CONFLICT");
    assert_int_equal(
        expect_version(fd, "delete", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":1}"), 2);
    got = kv(fd, "get", "{\"ns\":\"a\",\"key\":\"k\"}", NULL);
    assert_true(json_is_false(json_object_get(got, "found")));
    assert_int_equal(json_integer_value(json_object_get(got, "version")), 2);
    json_decref(got);
    expect_error(fd, "delete", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":2}", "NOT_FOUND");
    expect_error(fd, "delete", "{\"ns\":\"a\",\"key\":\"never\",\"expectedVersion\":0}",
                 "NOT_FOUND");
    json_t *b = kv(fd, "batch",
                   "{\"writes\":[{\"op\":\"put\",\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":2,"
                   "\"value\":\"AA==\"},{\"op\":\"put\",\"ns\":\"a\",\"key\":\"m\","
                   "\"expectedVersion\":0,\"value\":\"AQ==\"}]}",
                   NULL);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(b, "versions"), 0)), 3);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(b, "versions"), 1)), 1);
    json_decref(b);
    expect_error(fd, "batch",
                 "{\"writes\":[{\"op\":\"put\",\"ns\":\"a\",\"key\":\"n\",\"expectedVersion\":0,"
                 "\"value\":\"AA==\"},{\"op\":\"delete\",\"ns\":\"a\",\"key\":\"m\","
                 "\"expectedVersion\":5}]}",
                 "CONFLICT");
    got = kv(fd, "get", "{\"ns\":\"a\",\"key\":\"n\"}", NULL); /* nothing applied */
    assert_true(json_is_false(json_object_get(got, "found")));
    json_decref(got);
    json_t *page = kv(fd, "list", "{\"ns\":\"a\",\"prefix\":\"\",\"limit\":1}", NULL);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
    assert_true(json_is_true(json_object_get(page, "more")));
    json_decref(page);
    page = kv(fd, "list", "{\"ns\":\"a\",\"prefix\":\"\",\"after\":\"k\",\"limit\":10}", NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(page, "items"), 0), "key")),
                        "m");
    assert_true(json_is_false(json_object_get(page, "more")));
    json_decref(page);
    close(fd);
    stop_parent(p);
}

/* kv.version and kv.info, the operations the enclave's caches use (docs/scale-out.md). */
static void test_kv_version_and_info(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    assert_true(fd >= 0);
    assert_int_equal(expect_version(fd, "put",
                                    "{\"ns\":\"v\",\"key\":\"k\",\"expectedVersion\":0,"
                                    "\"value\":\"aGk=\"}"),
                     1);
    json_t *r = kv(fd, "version", "{\"ns\":\"v\",\"key\":\"k\"}", NULL);
    assert_true(json_is_true(json_object_get(r, "found")));
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 1);
    assert_null(json_object_get(r, "value")); /* the version alone */
    json_decref(r);
    r = kv(fd, "version", "{\"ns\":\"v\",\"key\":\"none\"}", NULL);
    assert_true(json_is_false(json_object_get(r, "found")));
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 0);
    json_decref(r);
    expect_error(fd, "version", "{\"ns\":\"v\"}", "INVALID_PARAMS");
    expect_error(fd, "version", "{\"ns\":\"V!\",\"key\":\"k\"}", "INVALID_PARAMS");
    expect_error(fd, "version", "{\"ns\":\"v\",\"key\":\"k\",\"value\":\"\"}", "INVALID_PARAMS");
    r = kv(fd, "info", "{}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "backend")), "sqlite");
    assert_true(json_is_false(json_object_get(r, "shared"))); /* one file, one parent */
    json_decref(r);
    expect_error(fd, "info", "{\"x\":1}", "INVALID_PARAMS");
    close(fd);
    stop_parent(p);
}

/* kv.prune drops the rows of a time-keyed namespace whose key's time is before the bound, and
 * nothing else (docs/storage.md#time-keyed-namespaces). */
static void test_kv_prune_drops_rows_before_the_bound(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    assert_true(fd >= 0);
    static const char *const keys[] = {"0000000100/a/n1", "0000000199/a/n2", "0000000200/a/n3"};
    char params[160];
    for (size_t i = 0; i < 3; i++) {
        snprintf(params, sizeof params,
                 "{\"ns\":\"nonces\",\"key\":\"%s\",\"expectedVersion\":0,\"value\":\"\"}",
                 keys[i]);
        assert_int_equal(expect_version(fd, "put", params), 1);
    }
    json_t *r = kv(fd, "prune", "{\"ns\":\"nonces\",\"before\":200,\"limit\":1}", NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "removed")), 1);
    assert_true(json_is_true(json_object_get(r, "more")));
    json_decref(r);
    r = kv(fd, "prune", "{\"ns\":\"nonces\",\"before\":200,\"limit\":10}", NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "removed")), 1);
    assert_true(json_is_false(json_object_get(r, "more")));
    json_decref(r);
    r = kv(fd, "get", "{\"ns\":\"nonces\",\"key\":\"0000000199/a/n2\"}", NULL);
    assert_true(json_is_false(json_object_get(r, "found")));
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 0); /* no tombstone */
    json_decref(r);
    r = kv(fd, "get", "{\"ns\":\"nonces\",\"key\":\"0000000200/a/n3\"}", NULL);
    assert_true(json_is_true(json_object_get(r, "found")));
    json_decref(r);
    close(fd);
    stop_parent(p);
}

/* Only time-keyed namespaces, and only a bound that is a time of ten digits at most. */
static void test_kv_prune_refuses_other_namespaces_and_bad_bounds(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    assert_true(fd >= 0);
    assert_int_equal(
        expect_version(fd, "put",
                       "{\"ns\":\"secrets\",\"key\":\"0000000001\",\"expectedVersion\":0,"
                       "\"value\":\"aGk=\"}"),
        1);
    static const char *const bad[] = {
        "{\"ns\":\"secrets\",\"before\":200,\"limit\":10}",
        "{\"ns\":\"system\",\"before\":200,\"limit\":10}",
        "{\"ns\":\"NONCES\",\"before\":200,\"limit\":10}",
        "{\"ns\":\"nonces\",\"before\":-1,\"limit\":10}",
        "{\"ns\":\"nonces\",\"before\":10000000000,\"limit\":10}",
        "{\"ns\":\"nonces\",\"before\":\"200\",\"limit\":10}",
        "{\"ns\":\"nonces\",\"before\":2.5,\"limit\":10}",
        "{\"ns\":\"nonces\",\"limit\":10}",
        "{\"ns\":\"nonces\",\"before\":200,\"limit\":0}",
        "{\"ns\":\"nonces\",\"before\":200,\"limit\":10001}",
        "{\"ns\":\"nonces\",\"before\":200}",
        "{\"ns\":\"nonces\",\"before\":200,\"limit\":10,\"prefix\":\"\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(fd, "prune", bad[i], "INVALID_PARAMS");
    json_t *r = kv(fd, "get", "{\"ns\":\"secrets\",\"key\":\"0000000001\"}", NULL);
    assert_true(json_is_true(json_object_get(r, "found"))); /* nothing changed */
    json_decref(r);
    close(fd);
    stop_parent(p);
}

static void test_parent_refuses_a_db_that_is_not_postgres(void **state)
{
    (void)state;
    char bin[512], cmd[700];
    nsl_bin_path("nsl-parent", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "'%s' --db mysql://localhost/x 2>/dev/null", bin);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
}

/* kv.put of n zero bytes at a fresh key; params is a scratch buffer of 2 MiB. */
static void put_zeros(int fd, char *params, size_t n, const char *want)
{
    static int next;
    size_t at = (size_t)snprintf(params, 128,
                                 "{\"ns\":\"a\",\"key\":\"z%d\",\"expectedVersion\":0,"
                                 "\"value\":\"",
                                 next++);
    for (size_t i = 0; i < n / 3; i++, at += 4)
        memcpy(params + at, "AAAA", 4);
    const char *tail = n % 3 == 2 ? "AAA=" : n % 3 == 1 ? "AA==" : "";
    strcpy(params + at, tail);
    strcat(params, "\"}");
    expect_error(fd, "put", params, want);
}

static void test_kv_refuses_invalid_params(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    static const char *const bad[][2] = {
        {"get", "{\"ns\":\"A\",\"key\":\"k\"}"},
        {"get", "{\"ns\":\"\",\"key\":\"k\"}"},
        {"get", "{\"ns\":\"a\",\"key\":\"\"}"},
        {"get", "{\"ns\":\"a\"}"},
        {"get", "{\"ns\":\"a\",\"key\":\"k\",\"extra\":1}"},
        {"put", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":-1,\"value\":\"\"}"},
        {"put", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":1.5,\"value\":\"\"}"},
        {"put", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":\"1\",\"value\":\"\"}"},
        {"put", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0,\"value\":\"not base64!\"}"},
        {"put", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0}"},
        {"delete", "{\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0,\"value\":\"\"}"},
        {"list", "{\"ns\":\"a\",\"prefix\":\"\",\"limit\":0}"},
        {"list", "{\"ns\":\"a\",\"prefix\":\"\",\"limit\":1001}"},
        {"list", "{\"ns\":\"a\",\"limit\":5}"},
        {"batch", "{\"writes\":[]}"},
        {"batch",
         "{\"writes\":[{\"op\":\"swap\",\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0}]}"},
        {"batch",
         "{\"writes\":[{\"op\":\"put\",\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0}]}"},
        {"batch",
         "{\"writes\":[{\"op\":\"delete\",\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":0,"
         "\"extra\":true}]}"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(fd, bad[i][0], bad[i][1], "INVALID_PARAMS");
    /* a key of 513 bytes, a value of 1 MiB + 65 bytes, a batch of 257 writes */
    char *key = calloc(1, 700), *params = malloc(2u << 20);
    memset(key, 'k', 513);
    snprintf(params, 2u << 20, "{\"ns\":\"a\",\"key\":\"%s\"}", key);
    expect_error(fd, "get", params, "INVALID_PARAMS");
    put_zeros(fd, params, (1u << 20) + 65, "INVALID_PARAMS");
    put_zeros(fd, params, (1u << 20) + 64, "OK");
    strcpy(params, "{\"writes\":[");
    for (int i = 0; i < 257; i++)
        strcat(params, "{\"op\":\"delete\",\"ns\":\"a\",\"key\":\"k\",\"expectedVersion\":1},");
    strcpy(params + strlen(params) - 1, "]}");
    expect_error(fd, "batch", params, "INVALID_PARAMS");
    json_decref(call(fd, "kv", "nope", json_object())); /* unknown operation: still answered */
    free(key);
    free(params);
    close(fd);
    stop_parent(p);
}

static void test_kv_pipelined_writes_are_all_answered_by_id(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    enum { N = 200 };
    char text[256];
    for (int i = 0; i < N; i++) {
        int len = snprintf(text, sizeof text,
                           "{\"id\":\"p-%d\",\"serviceType\":\"kv\",\"operation\":\"put\","
                           "\"params\":{\"ns\":\"p\",\"key\":\"k%03d\",\"expectedVersion\":0,"
                           "\"value\":\"AA==\"}}",
                           i, i);
        assert_int_equal(nsl_frame_send(fd, text, (size_t)len), 0);
    }
    bool seen[N] = {0};
    for (int i = 0; i < N; i++) {
        char *answer = NULL;
        size_t len;
        assert_int_equal(nsl_frame_recv(fd, MAX_FRAME, 10000, &answer, &len), 0);
        json_t *r = json_loads(answer, 0, NULL);
        int id = atoi(json_string_value(json_object_get(r, "id")) + 2);
        assert_true(id >= 0 && id < N && !seen[id]);
        assert_true(json_is_true(json_object_get(r, "ok")));
        seen[id] = true;
        json_decref(r);
        free(answer);
    }
    close(fd);
    stop_parent(p);
}

static void test_sim_wrapping_key_is_stable_and_private(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    json_t *a = call(fd, "keys", "simWrappingKey", json_object());
    json_t *b = call(fd, "keys", "simWrappingKey", json_object());
    const char *ka = json_string_value(json_object_get(json_object_get(a, "result"), "key"));
    const char *kb = json_string_value(json_object_get(json_object_get(b, "result"), "key"));
    assert_non_null(ka);
    assert_int_equal(strlen(ka), 44); /* base64 of 32 bytes */
    assert_string_equal(ka, kb);
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/sim-wrapping.key", p->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    json_decref(a);
    json_decref(b);
    close(fd);
    stop_parent(p);
}

static void test_sim_wrapping_key_is_refused_with_kms(void **state)
{
    struct parent *p = *state;
    start_parent(p, "kms");
    int fd = nsl_test_connect(p->host_url);
    json_t *r = call(fd, "keys", "simWrappingKey", json_object());
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                        "PERMISSION_DENIED");
    json_decref(r);
    close(fd);
    stop_parent(p);
}

/* ---- SIGKILL mid-burst ---- */

#define BURST_CONNS 4
#define BURST_PUTS  4000

struct burst {
    const char *url;
    int conn;
    int fd;
    atomic_int acked;
    bool ack[BURST_PUTS];
    pthread_t sender;
};

static atomic_int total_acked;

static void *burst_send(void *arg)
{
    struct burst *b = arg;
    char text[256];
    for (int i = 0; i < BURST_PUTS; i++) {
        int len =
            snprintf(text, sizeof text,
                     "{\"id\":\"b-%d\",\"serviceType\":\"kv\",\"operation\":\"put\","
                     "\"params\":{\"ns\":\"burst\",\"key\":\"c%d/%04d\",\"expectedVersion\":0,"
                     "\"value\":\"AAECAw==\"}}",
                     i, b->conn, i);
        if (nsl_frame_send(b->fd, text, (size_t)len) != 0)
            break;
    }
    return NULL;
}

/* Reads answers until the connection dies, recording which writes were acknowledged. */
static void *burst_receive(void *arg)
{
    struct burst *b = arg;
    for (;;) {
        char *answer = NULL;
        size_t len;
        if (nsl_frame_recv(b->fd, MAX_FRAME, 20000, &answer, &len) != 0)
            break;
        json_t *r = json_loads(answer, 0, NULL);
        int id = atoi(json_string_value(json_object_get(r, "id")) + 2);
        if (json_is_true(json_object_get(r, "ok")) && id >= 0 && id < BURST_PUTS) {
            b->ack[id] = true;
            atomic_fetch_add(&total_acked, 1);
        }
        json_decref(r);
        free(answer);
    }
    return NULL;
}

static bool enough_acked(void *arg)
{
    (void)arg;
    return atomic_load(&total_acked) >= BURST_CONNS * BURST_PUTS / 8;
}

static void test_kv_acknowledged_writes_survive_sigkill(void **state)
{
    struct parent *p = *state;
    start_parent(p, "sim");
    struct burst bursts[BURST_CONNS];
    pthread_t receivers[BURST_CONNS];
    memset(bursts, 0, sizeof bursts);
    for (int c = 0; c < BURST_CONNS; c++) {
        bursts[c].conn = c;
        bursts[c].fd = nsl_test_connect(p->host_url);
        assert_true(bursts[c].fd >= 0);
        pthread_create(&receivers[c], NULL, burst_receive, &bursts[c]);
        pthread_create(&bursts[c].sender, NULL, burst_send, &bursts[c]);
    }
    assert_int_equal(nsl_wait_until(enough_acked, NULL, 30000), 0);
    int status = nsl_stack_kill(&p->pid, SIGKILL);
    assert_true(WIFSIGNALED(status));
    for (int c = 0; c < BURST_CONNS; c++) {
        pthread_join(bursts[c].sender, NULL);
        pthread_join(receivers[c], NULL);
        close(bursts[c].fd);
    }
    int acked = atomic_load(&total_acked);
    assert_true(acked < BURST_CONNS * BURST_PUTS); /* the kill did land mid-burst */
    start_parent(p, "sim");
    int fd = nsl_test_connect(p->host_url);
    char params[128];
    for (int c = 0; c < BURST_CONNS; c++)
        for (int i = 0; i < BURST_PUTS; i++) {
            if (!bursts[c].ack[i])
                continue;
            snprintf(params, sizeof params, "{\"ns\":\"burst\",\"key\":\"c%d/%04d\"}", c, i);
            json_t *got = kv(fd, "get", params, NULL);
            assert_true(json_is_true(json_object_get(got, "found")));
            assert_int_equal(json_integer_value(json_object_get(got, "version")), 1);
            assert_string_equal(json_string_value(json_object_get(got, "value")), "AAECAw==");
            json_decref(got);
        }
    print_message("acknowledged before SIGKILL: %d of %d\n", acked, BURST_CONNS * BURST_PUTS);
    close(fd);
    stop_parent(p);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        T(test_kv_operations_follow_the_contract),
        T(test_kv_version_and_info),
        T(test_kv_prune_drops_rows_before_the_bound),
        T(test_kv_prune_refuses_other_namespaces_and_bad_bounds),
        cmocka_unit_test(test_parent_refuses_a_db_that_is_not_postgres),
        T(test_kv_refuses_invalid_params),
        T(test_kv_pipelined_writes_are_all_answered_by_id),
        T(test_sim_wrapping_key_is_stable_and_private),
        T(test_sim_wrapping_key_is_refused_with_kms),
        T(test_kv_acknowledged_writes_survive_sigkill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
