/* Daemon processes for the dev stack (see process.h). */
#include "cli/process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t nsl_cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nsl_cli_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Runs in the forked child: only async-signal-safe calls until exec. */
static void exec_child(const struct nsl_cli_spawn *s, int log_fd, int null_fd, int report_fd,
                       pid_t parent)
{
    if (s->die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent))
        _exit(127);
    /* Own session: a Ctrl-C on nsl's terminal reaches only nsl, which stops the daemons in
     * order, and --background daemons outlive the terminal. */
    setsid();
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        goto fail;
    static const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        signal(reset[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, s->child_mask, NULL);
    execv(s->path, s->argv);
fail:;
    int e = errno;
    if (write(report_fd, &e, sizeof e) < 0) {
        /* nothing more to do: the parent sees EOF and the exit status */
    }
    _exit(127);
}

/* The child reports an exec failure through a close-on-exec pipe; EOF means exec succeeded. */
static nsl_err await_exec(pid_t pid, int report_fd, const char *path, struct nsl_error *err)
{
    int e = 0;
    ssize_t n;
    while ((n = read(report_fd, &e, sizeof e)) < 0 && errno == EINTR) {
    }
    if (n <= 0)
        return NSL_OK;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "cannot run %s: %s", path, strerror(e));
}

nsl_err nsl_cli_process_spawn(const struct nsl_cli_spawn *s, pid_t *pid, struct nsl_error *err)
{
    int log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int report[2] = {-1, -1};
    nsl_err rc = NSL_OK;
    *pid = 0;
    if (log_fd < 0 || null_fd < 0) {
        rc = nsl_fail(err, NSL_ERR_UNAVAILABLE, "cannot open %s: %s", s->log_path, strerror(errno));
        goto cleanup;
    }
    if (pipe2(report, O_CLOEXEC) != 0) {
        rc = nsl_fail(err, NSL_ERR_UNAVAILABLE, "pipe: %s", strerror(errno));
        goto cleanup;
    }
    pid_t parent = getpid();
    *pid = fork();
    if (*pid < 0) {
        *pid = 0;
        rc = nsl_fail(err, NSL_ERR_UNAVAILABLE, "fork: %s", strerror(errno));
        goto cleanup;
    }
    if (*pid == 0)
        exec_child(s, log_fd, null_fd, report[1], parent);
    close(report[1]);
    report[1] = -1;
    rc = await_exec(*pid, report[0], s->path, err);
    if (rc != NSL_OK)
        *pid = 0; /* reaped: its number may already be someone else's */
cleanup:
    for (int i = 0; i < 2; i++)
        if (report[i] >= 0)
            close(report[i]);
    if (log_fd >= 0)
        close(log_fd);
    if (null_fd >= 0)
        close(null_fd);
    return rc;
}

bool nsl_cli_process_alive(pid_t pid, const char *name)
{
    if (pid <= 1 || (kill(pid, 0) != 0 && errno != EPERM))
        return false;
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    /* "pid (comm) state ...": comm may hold spaces and parentheses, so take the last ')'. */
    char *open_paren = strchr(stat, '('), *close_paren = strrchr(stat, ')');
    if (!open_paren || !close_paren || close_paren < open_paren || close_paren[1] != ' ')
        return false;
    char state = close_paren[2];
    if (state == 'Z' || state == 'X' || state == 'x')
        return false;
    /* A recycled pid names some other program: then our daemon is gone. comm holds at most 15
     * characters of the executable's name. */
    size_t clen = (size_t)(close_paren - open_paren - 1);
    return !name || (clen == strnlen(name, 15) && strncmp(open_paren + 1, name, clen) == 0);
}

bool nsl_cli_process_reaped(pid_t pid, int *status)
{
    int st = 0;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r == pid || (r < 0 && errno == ECHILD)) {
        if (status)
            *status = r == pid ? st : 0;
        return true;
    }
    return false;
}

/* Waits until the process is gone or deadline (monotonic ms) passes. */
static bool wait_gone(pid_t pid, const char *name, bool own_child, int64_t deadline, int *status)
{
    for (;;) {
        if (own_child ? nsl_cli_process_reaped(pid, status) : !nsl_cli_process_alive(pid, name))
            return true;
        if (nsl_cli_now_ms() >= deadline)
            return false;
        nsl_cli_sleep_ms(20);
    }
}

int nsl_cli_process_stop(pid_t pid, const char *name, bool own_child, int timeout_ms, int *status)
{
    int st = 0;
    if (pid <= 1)
        return 0;
    kill(pid, SIGTERM);
    bool gone = wait_gone(pid, name, own_child, nsl_cli_now_ms() + timeout_ms, &st);
    if (!gone) {
        kill(pid, SIGKILL);
        wait_gone(pid, name, own_child, nsl_cli_now_ms() + 5000, &st);
    }
    if (status)
        *status = st;
    return gone ? 0 : 1;
}

int nsl_cli_pidfile_write(const char *path, pid_t pid)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = dprintf(fd, "%d\n", (int)pid) > 0 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

int nsl_cli_pidfile_read(const char *path, pid_t *pid)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char text[32] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || (*end && strcmp(end, "\n") != 0) || errno || v <= 1 || v > INT_MAX)
        return -1;
    *pid = (pid_t)v;
    return 1;
}
