/* Node.js and @cityofzion/neon-core for the tests (see neon.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness/neon.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NPM_TIMEOUT_MS 180000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* nsl_neon_run in dir (NULL: the current one). */
static int run_program(const char *dir, const char *const *argv, const char *log, int timeout_ms)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || (dir && chdir(dir) != 0))
            _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int64_t deadline = now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return -1;
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        struct timespec tick = {0, 20 * 1000 * 1000};
        nanosleep(&tick, NULL); /* polling the child's exit with a deadline */
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int nsl_neon_run(const char *const *argv, const char *log, int timeout_ms)
{
    return run_program(NULL, argv, log, timeout_ms);
}

bool nsl_neon_on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char full[4400];
        snprintf(full, sizeof full, "%s/%s", d, name);
        if (access(full, X_OK) == 0)
            return true;
    }
    return false;
}

void nsl_neon_print_log(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
    if (f)
        fclose(f);
}

const char *nsl_neon_path(const char *file, char *out, size_t len)
{
    const char *src = getenv("NSL_SOURCE_DIR");
    snprintf(out, len, "%s/tests/neon%s%s", src ? src : ".", file ? "/" : "", file ? file : "");
    return out;
}

/* The neon-core version installed under tests/neon, or "" when none is. */
static void installed_version(const char *neon_dir, char *out, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/node_modules/@cityofzion/neon-core/package.json", neon_dir);
    json_t *pkg = json_load_file(path, 0, NULL);
    const char *v = pkg ? json_string_value(json_object_get(pkg, "version")) : NULL;
    snprintf(out, len, "%s", v ? v : "");
    json_decref(pkg);
}

static int install(const char *neon_dir, char *error, size_t error_len)
{
    char version[64], log[] = "/tmp/nsl-npm-XXXXXX";
    installed_version(neon_dir, version, sizeof version);
    if (strcmp(version, NSL_NEON_VERSION) == 0)
        return 0;
    if (!nsl_neon_on_path("npm")) {
        snprintf(error, error_len,
                 "npm is not installed: the neon-core cross-check needs Node.js and npm");
        return -1;
    }
    int log_fd = mkstemp(log);
    if (log_fd < 0) {
        snprintf(error, error_len, "cannot make a log file for npm: %s", strerror(errno));
        return -1;
    }
    close(log_fd);
    fprintf(stderr, "installing @cityofzion/neon-core %s in %s (npm ci)\n", NSL_NEON_VERSION,
            neon_dir);
    const char *argv[] = {"npm", "ci", "--no-audit", "--no-fund", NULL};
    int rc = run_program(neon_dir, argv, log, NPM_TIMEOUT_MS);
    installed_version(neon_dir, version, sizeof version);
    int ok = rc == 0 && strcmp(version, NSL_NEON_VERSION) == 0;
    if (!ok) {
        nsl_neon_print_log(log);
        snprintf(error, error_len, "npm ci in %s failed (exit %d, neon-core version \"%s\")",
                 neon_dir, rc, version);
    }
    unlink(log);
    return ok ? 0 : -1;
}

int nsl_neon_ensure_installed(char *error, size_t error_len)
{
    char neon_dir[512], lockfile[600];
    if (!nsl_neon_on_path("node")) {
        snprintf(error, error_len,
                 "node is not installed (or not on PATH): the cross-check with the Neo reference "
                 "SDK needs Node.js >= 18 and npm; install them (Debian: apt-get install nodejs "
                 "npm)");
        return -1;
    }
    nsl_neon_path(NULL, neon_dir, sizeof neon_dir);
    snprintf(lockfile, sizeof lockfile, "%s/package-lock.json", neon_dir);
    int fd = open(lockfile, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(error, error_len, "cannot open %s: %s", lockfile, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    }
    int rc = install(neon_dir, error, error_len);
    close(fd); /* releases the lock */
    return rc;
}

int nsl_neon_verify_tx(const char *workdir, const char *hex, uint32_t network, json_t **result)
{
    char script[600], log[300], magic[16], line[2048];
    nsl_neon_path("verify_tx.mjs", script, sizeof script);
    snprintf(log, sizeof log, "%s/verify_tx.log", workdir);
    snprintf(magic, sizeof magic, "%u", network);
    unlink(log);
    const char *argv[] = {"node", script, hex, magic, NULL};
    int rc = nsl_neon_run(argv, log, 60000);
    *result = NULL;
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] != '{')
            continue;
        json_decref(*result);
        *result = json_loads(line, 0, NULL);
    }
    if (f)
        fclose(f);
    if (!*result) {
        nsl_neon_print_log(log);
        fail_msg("node %s printed no result (exit %d)", script, rc);
    }
    return rc;
}
