/* The daemons refuse bad settings before starting anything: out of range, not a number, unknown
 * option, bad URL, a value outside an option's choices or form, a bad config file; each exits 2
 * with one line naming the option, and creates none of the sockets it was given. Runs the real
 * <NSL_BIN_DIR>/nsl-enclave and nsl-parent (docs/configuration.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin_dir[400], work[64], sock[128];

/* Runs BIN_DIR/argv[0] with argv; returns its exit status and its stderr in err. */
static int run(const char *const *argv, char *err, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", bin_dir, argv[0]);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < len &&
           ((r = read(pipefd[0], err + n, len - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    err[n] = 0;
    close(pipefd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* argv is refused with status 2, a message containing want, and no socket at sock. */
static void expect_refused(const char *const *argv, const char *want)
{
    char err[2048];
    int status = run(argv, err, sizeof err);
    if (status != 2 || !strstr(err, want))
        fail_msg("%s %s: status %d, stderr:\n%s(expected \"%s\")", argv[0], argv[1], status, err,
                 want);
    struct stat st;
    assert_int_equal(stat(sock, &st), -1); /* nothing was started */
}

static int setup(void **state)
{
    (void)state;
    const char *dir = getenv("NSL_BIN_DIR");
    snprintf(bin_dir, sizeof bin_dir, "%s", dir ? dir : "build/bin");
    snprintf(work, sizeof work, "/tmp/nsl-options-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    snprintf(sock, sizeof sock, "%s/listen.sock", work);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", work);
    unlink(path);
    unlink(sock);
    return rmdir(work);
}

#define ENCLAVE(...)                                                                               \
    (const char *const[])                                                                          \
    {                                                                                              \
        "nsl-enclave", "--mode", "sim", "--key-provider", "sim", "--listen", listen_url,           \
            __VA_ARGS__, NULL                                                                      \
    }
#define PARENT(...)                                                                                \
    (const char *const[])                                                                          \
    {                                                                                              \
        "nsl-parent", "--state", work, "--host-listen", listen_url, __VA_ARGS__, NULL              \
    }

static void test_daemons_refuse_out_of_range_and_non_numeric(void **state)
{
    (void)state;
    char listen_url[200];
    snprintf(listen_url, sizeof listen_url, "unix://%s", sock);
    expect_refused(ENCLAVE("--workers", "0"), "option --workers: 0 is out of range 1–256");
    expect_refused(ENCLAVE("--max-frame=70000000"), "option --max-frame: 70000000 is out of range");
    expect_refused(ENCLAVE("--rate-limit", "-1"), "option --rate-limit: -1 is out of range");
    expect_refused(ENCLAVE("--workers", "four"),
                   "option --workers: must be an integer (range 1–256), not \"four\"");
    expect_refused(ENCLAVE("--workers", "4x"), "option --workers: must be an integer");
    expect_refused(PARENT("--max-batch", "0"), "option --max-batch: 0 is out of range 1–1000");
    expect_refused(PARENT("--http-threads", ""), "option --http-threads: must be an integer");
    expect_refused(PARENT("--host-max-frame", "1048576"),
                   "option --host-max-frame: 1048576 is out of range");
}

static void test_daemons_refuse_unknown_options_and_bad_choices(void **state)
{
    (void)state;
    char listen_url[200];
    snprintf(listen_url, sizeof listen_url, "unix://%s", sock);
    expect_refused(ENCLAVE("--wokers", "4"), "unknown option --wokers");
    expect_refused(PARENT("--verbose"), "unknown option --verbose");
    expect_refused(ENCLAVE("--mode", "debug"), "option --mode: must be one of nitro|sim");
    expect_refused(ENCLAVE("--require-sealed", "yes"),
                   "option --require-sealed: must be one of true|false|auto");
    expect_refused(PARENT("--key-provider", "aws"),
                   "option --key-provider: must be one of kms|sim");
    expect_refused(PARENT("--log-level", "loud"),
                   "option --log-level: \"loud\": level must be debug, info, warn or error");
    expect_refused(PARENT("--db", "mysql://db"),
                   "option --db: must be empty (SQLite) or a postgres:// URL");
    expect_refused(PARENT("--log-level", "router=loud"), "option --log-level:");
    expect_refused(PARENT("--http", "8080"), "option --http: ");
    expect_refused(PARENT("--http", "127.0.0.1:65536"), "option --http: ");
    expect_refused(PARENT("--egress-allow", "example.com"), "option --egress-allow: ");
    expect_refused(PARENT("--state", ""), "option --state: must be a path");
}

static void test_daemons_refuse_bad_urls(void **state)
{
    (void)state;
    char listen_url[200];
    snprintf(listen_url, sizeof listen_url, "unix://%s", sock);
    expect_refused(ENCLAVE("--host-channel", "http://127.0.0.1:5001"), "option --host-channel: ");
    expect_refused(ENCLAVE("--egress", "vsock://3"), "option --egress: ");
    expect_refused(ENCLAVE("--host-channel", "unix://relative.sock"), "option --host-channel: ");
    expect_refused(PARENT("--enclave", "tcp://127.0.0.1"), "option --enclave: ");
    expect_refused(PARENT("--egress-listen", "vsock://ANY:99999999999"),
                   "option --egress-listen: ");
}

static void test_daemons_refuse_bad_config_files(void **state)
{
    (void)state;
    char listen_url[200], path[128];
    snprintf(listen_url, sizeof listen_url, "unix://%s", sock);
    snprintf(path, sizeof path, "%s/config.json", work);
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"workers\": 0}", "config file --workers: 0 is out of range"},
        {"{\"wokers\": 4}", "unknown setting \"wokers\""},
        {"{\"mode\": \"debug\"}", "config file --mode: must be one of nitro|sim"},
        {"{\"host-channel\": \"ftp://x\"}", "config file --host-channel: "},
        {"{\"workers\": 4", "config file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i].json, f);
        fclose(f);
        expect_refused(ENCLAVE("--config", path), bad[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemons_refuse_out_of_range_and_non_numeric),
        cmocka_unit_test(test_daemons_refuse_unknown_options_and_bad_choices),
        cmocka_unit_test(test_daemons_refuse_bad_urls),
        cmocka_unit_test(test_daemons_refuse_bad_config_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
