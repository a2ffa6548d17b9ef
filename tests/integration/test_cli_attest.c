/* The real `nsl attest`: verify on the real AWS documents of tests/fixtures/nitro (exit codes,
 * messages, --json, stdin), and get against a one-shot JSON-RPC server in this process that
 * answers attestation.getDocument. Runs <NSL_BIN_DIR>/nsl; fixtures from NSL_SOURCE_DIR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/encoding.h"

#define DOC_DEBUG  "attestation-debug-2024-09-17.cbor"
#define DOC_2025   "attestation-prod-2025-04-01.cbor"
#define DOC_2026   "attestation-prod-2026-02-02.cbor"
#define NONCE_2026 "0123456789abcdef0123456789abcdef01234567"
#define PCR0_2026                                                                                  \
    "9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cc" \
    "e0ff"

static char tmpdir[256];

static const char *nsl_path(void)
{
    static char path[512];
    const char *dir = getenv("NSL_BIN_DIR");
    snprintf(path, sizeof path, "%s/nsl", dir ? dir : "build/bin");
    return path;
}

static const char *fixture(const char *name)
{
    static char path[4][1024];
    static int next;
    const char *src = getenv("NSL_SOURCE_DIR");
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/tests/fixtures/nitro/%s", src ? src : ".", name);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

/* One run of nsl: exit status, stdout and stderr (through files, read after exit). */
struct run {
    int status;
    char *out, *err;
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static struct run run_nsl(const char *const *args, const char *stdin_path)
{
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/stdout", tmpdir);
    snprintf(err_path, sizeof err_path, "%s/stderr", tmpdir);
    const char *argv[32] = {nsl_path()};
    size_t n = 1;
    for (; args[n - 1]; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        unsetenv("NSL_URL");
        unsetenv("NSL_API_KEY");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    struct run r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128, NULL, NULL};
    size_t len = 0;
    r.out = slurp(out_path, &len);
    r.err = slurp(err_path, &len);
    return r;
}

static void expect_in(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

#define RUN(...) run_nsl((const char *const[]){__VA_ARGS__, NULL}, NULL)

/* ---- verify ------------------------------------------------------------------------------ */

static void test_cli_attest_verifies_prod_2026(void **state)
{
    (void)state;
    struct run r = RUN("attest", "verify", "--at", "1770066000", "--nonce", NONCE_2026, "--pcr",
                       "0=" PCR0_2026, fixture(DOC_2026));
    assert_int_equal(r.status, 0);
    expect_in(r.out, "mode: nitro\n");
    expect_in(r.out, "module_id: i-0340e0cb833504eb6-enc019c12d31f78864d");
    expect_in(r.out, "nonce: " NONCE_2026);
    expect_in(r.out, "0: " PCR0_2026);
    expect_in(r.out, "public_key: 64756d6d79");
    assert_string_equal(r.err, "");
    run_free(&r);
}

static void test_cli_attest_verifies_prod_2025_json(void **state)
{
    (void)state;
    struct run r = RUN("--json", "attest", "verify", "--at=1743516971", fixture(DOC_2025));
    assert_int_equal(r.status, 0);
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "valid")));
    assert_string_equal(json_string_value(json_object_get(o, "mode")), "nitro");
    assert_true(json_is_null(json_object_get(o, "nonce")));
    assert_true(json_is_null(json_object_get(o, "user_data")));
    assert_int_equal(json_integer_value(json_object_get(o, "timestamp")), 1743516970144LL);
    assert_int_equal(json_array_size(json_object_get(o, "cabundle")), 4);
    assert_int_equal(json_object_size(json_object_get(o, "pcrs")), 16);
    /* The root as base64 is the pinned AWS root. */
    const char *root = json_string_value(json_array_get(json_object_get(o, "cabundle"), 0));
    assert_non_null(root);
    assert_true(strncmp(root, "MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMw", 60) ==
                0);
    json_decref(o);
    run_free(&r);
}

static void test_cli_attest_debug_needs_flag(void **state)
{
    (void)state;
    struct run r = RUN("attest", "verify", "--at", "1726587375", fixture(DOC_DEBUG));
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: UNAUTHENTICATED: debug-mode enclave (PCR0 is zero) refused");
    assert_string_equal(r.out, "");
    run_free(&r);
    r = RUN("attest", "verify", "--at", "1726587375", "--allow-debug", fixture(DOC_DEBUG));
    assert_int_equal(r.status, 0);
    expect_in(r.out, "mode: nitro-debug");
    run_free(&r);
}

static void test_cli_attest_expired_now(void **state)
{
    (void)state;
    struct run r = RUN("attest", "verify", fixture(DOC_2026));
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: UNAUTHENTICATED: certificate expired or not yet valid at ");
    run_free(&r);
    r = RUN("--json", "attest", "verify", "--at", "1800000000", fixture(DOC_2026));
    assert_int_equal(r.status, 1);
    expect_in(r.out, "\"code\": \"UNAUTHENTICATED\"");
    expect_in(r.err, "at 2027-01-15T08:00:00Z");
    run_free(&r);
}

static void test_cli_attest_rejects_nonce_and_pcr_mismatch(void **state)
{
    (void)state;
    struct run r =
        RUN("attest", "verify", "--at", "1770066000", "--nonce", "00ff", fixture(DOC_2026));
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: UNAUTHENTICATED: nonce mismatch");
    run_free(&r);
    r = RUN("attest", "verify", "--at", "1770066000", "--pcr", "0=" PCR0_2026, "--pcr",
            "1=" PCR0_2026, fixture(DOC_2026));
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: UNAUTHENTICATED: PCR 1 mismatch");
    run_free(&r);
}

static void test_cli_attest_reads_stdin_and_rejects_damage(void **state)
{
    (void)state;
    struct run r =
        run_nsl((const char *const[]){"attest", "verify", "--at", "1770066000", "-", NULL},
                fixture(DOC_2026));
    assert_int_equal(r.status, 0);
    run_free(&r);
    /* A copy with one signature byte flipped, one truncated, and an empty one. */
    size_t len = 0;
    char *doc = slurp(fixture(DOC_2026), &len);
    char path[300];
    snprintf(path, sizeof path, "%s/damaged.cbor", tmpdir);
    doc[len - 1] ^= 1;
    FILE *f = fopen(path, "wb");
    fwrite(doc, 1, len, f);
    fclose(f);
    r = RUN("attest", "verify", "--at", "1770066000", path);
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: UNAUTHENTICATED: signature does not verify");
    run_free(&r);
    assert_int_equal(truncate(path, 100), 0);
    r = RUN("attest", "verify", "--at", "1770066000", path);
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: INVALID_PARAMS: malformed at byte offset 7:");
    run_free(&r);
    assert_int_equal(truncate(path, 0), 0);
    r = RUN("attest", "verify", path);
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: INVALID_PARAMS: malformed at byte offset 0: document is empty");
    run_free(&r);
    r = RUN("attest", "verify", "/nonexistent/doc.cbor");
    assert_int_equal(r.status, 1);
    expect_in(r.err, "cannot open /nonexistent/doc.cbor");
    run_free(&r);
    free(doc);
}

static void test_cli_attest_refuses_bad_command_lines(void **state)
{
    (void)state;
    static const struct {
        const char *args[6];
        const char *message;
    } cases[] = {
        {{"attest", NULL}, "nsl attest needs a command"},
        {{"attest", "frobnicate", NULL}, "unknown command"},
        {{"attest", "verify", NULL}, "takes 1 argument"},
        {{"attest", "verify", "--at", "soon", "x", NULL}, "--at must be a unix time"},
        {{"attest", "verify", "--nonce", "abc", "x", NULL}, "--nonce must be"},
        {{"attest", "verify", "--pcr", "40=00", "x", NULL}, "--pcr takes N=HEX"},
        {{"attest", "verify", "--pcr", "1=00", "x", NULL}, "96 hex digits"},
        {{"attest", "verify", "--out", "f", "x", NULL}, "does not take --out"},
        {{"attest", "get", "--nonce", "00", NULL}, "needs --nonce and --out"},
        {{"attest", "verify", "--bogus", "x", NULL}, "unknown option --bogus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct run r = run_nsl(cases[i].args, NULL);
        assert_int_equal(r.status, 2);
        expect_in(r.err, "error: INVALID_REQUEST: ");
        expect_in(r.err, cases[i].message);
        run_free(&r);
    }
    struct run r = RUN("attest", "--help");
    assert_int_equal(r.status, 0);
    expect_in(r.out, "nsl attest verify");
    expect_in(r.out, "--allow-simulated");
    run_free(&r);
}

/* ---- get --------------------------------------------------------------------------------- */

/* A server that answers one HTTP request with a canned body and keeps what it was sent. */
struct one_shot {
    int listener;
    int port;
    const char *reply;
    char request[8192];
};

static void *serve_once(void *arg)
{
    struct one_shot *s = arg;
    int fd = accept(s->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t got = 0;
    for (;;) { /* headers, then Content-Length bytes */
        ssize_t n = read(fd, s->request + got, sizeof s->request - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        s->request[got] = 0;
        const char *end = strstr(s->request, "\r\n\r\n");
        const char *cl = strcasestr(s->request, "content-length:");
        if (end && cl && got >= (size_t)(end + 4 - s->request) + strtoul(cl + 15, NULL, 10))
            break;
    }
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n",
                     strlen(s->reply));
    if (write(fd, head, (size_t)n) < 0 || write(fd, s->reply, strlen(s->reply)) < 0)
        fprintf(stderr, "one-shot server: write failed\n");
    close(fd);
    return NULL;
}

static void one_shot_start(struct one_shot *s, pthread_t *thread)
{
    s->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s->listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listener, 1), 0);
    assert_int_equal(getsockname(s->listener, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(thread, NULL, serve_once, s), 0);
}

static void test_cli_attest_get_writes_document(void **state)
{
    (void)state;
    size_t len = 0;
    char *doc = slurp(fixture(DOC_2026), &len);
    char *b64 = nsl_base64_encode_alloc((const uint8_t *)doc, len);
    char *reply = NULL;
    assert_true(asprintf(&reply,
                         "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"document\":\"%s\","
                         "\"mode\":\"nitro\",\"hpkePublicKey\":\"aa\",\"signerPublicKey\":\"bb\"}}",
                         b64) > 0);
    struct one_shot s = {.reply = reply};
    pthread_t thread;
    one_shot_start(&s, &thread);
    char url[64], out[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    snprintf(out, sizeof out, "%s/got.cbor", tmpdir);
    struct run r = RUN("attest", "get", "--nonce", NONCE_2026, "--out", out, "--url", url);
    pthread_join(thread, NULL);
    close(s.listener);
    assert_int_equal(r.status, 0);
    expect_in(s.request, "POST /v1/rpc");
    expect_in(s.request, "\"method\":\"attestation.getDocument\"");
    expect_in(s.request, "\"params\":{\"nonce\":\"" NONCE_2026 "\"}");
    expect_in(r.out, "bytes: 4556");
    expect_in(r.out, "hpkePublicKey: aa");
    size_t got_len = 0;
    char *got = slurp(out, &got_len);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, doc, len);
    run_free(&r);
    /* What was fetched verifies like the original. */
    r = RUN("attest", "verify", "--at", "1770066000", "--nonce", NONCE_2026, out);
    assert_int_equal(r.status, 0);
    run_free(&r);
    free(got);
    free(reply);
    free(b64);
    free(doc);
}

static void test_cli_attest_get_reports_server_errors(void **state)
{
    (void)state;
    struct one_shot s = {.reply = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32009,"
                                  "\"message\":\"no attestation provider\",\"data\":{\"code\":"
                                  "\"UNAVAILABLE\"}}}"};
    pthread_t thread;
    one_shot_start(&s, &thread);
    char url[64], out[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    snprintf(out, sizeof out, "%s/none.cbor", tmpdir);
    struct run r = RUN("attest", "get", "--nonce", "01", "--out", out, "--url", url);
    pthread_join(thread, NULL);
    close(s.listener);
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: UNAVAILABLE: no attestation provider");
    assert_int_equal(access(out, F_OK), -1);
    run_free(&r);

    s = (struct one_shot){.reply = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"mode\":\"x\"}}"};
    one_shot_start(&s, &thread);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    r = RUN("attest", "get", "--nonce", "01", "--out", out, "--url", url);
    pthread_join(thread, NULL);
    close(s.listener);
    assert_int_equal(r.status, 1);
    expect_in(r.err, "error: INTERNAL: the answer has no \"document\" string");
    run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nsl-attest-cli-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"stdout", "stderr", "damaged.cbor", "got.cbor", "none.cbor"};
    char path[300];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_attest_verifies_prod_2026),
        cmocka_unit_test(test_cli_attest_verifies_prod_2025_json),
        cmocka_unit_test(test_cli_attest_debug_needs_flag),
        cmocka_unit_test(test_cli_attest_expired_now),
        cmocka_unit_test(test_cli_attest_rejects_nonce_and_pcr_mismatch),
        cmocka_unit_test(test_cli_attest_reads_stdin_and_rejects_damage),
        cmocka_unit_test(test_cli_attest_refuses_bad_command_lines),
        cmocka_unit_test(test_cli_attest_get_writes_document),
        cmocka_unit_test(test_cli_attest_get_reports_server_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
