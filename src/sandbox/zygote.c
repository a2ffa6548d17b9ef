/* The zygote: a process forked while the service is still single-threaded and holds no secret. It
 * forks workers on request and hands the parent's end of each worker's socket back over its
 * control socket with SCM_RIGHTS. Workers are its children, so only it can reap them: the pool
 * asks it to kill-and-reap a pid, which keeps a pid from being reused while the pool still
 * names it. When the control socket closes, the zygote kills its workers and exits. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox_internal.h"

enum { ZYGOTE_SPAWN = 1, ZYGOTE_REAP = 2 };

struct zygote_msg {
    int32_t op;     /* request */
    int32_t pid;    /* REAP: which; reply: the worker's pid, or -1 */
    int32_t status; /* reply to REAP: wait status */
};

/* Closes every descriptor above stderr except keep. */
static void close_other_fds(int keep)
{
#ifdef SYS_close_range
    if (keep > 3)
        syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u);
    if (syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < (int)max; fd++)
        if (fd != keep)
            close(fd);
}

static void die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
}

static void no_core(void)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0);
}

static int send_reply(int ctl, const struct zygote_msg *m, int fd)
{
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof *m};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&u, 0, sizeof u);
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n;
    do
        n = sendmsg(ctl, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *m ? 0 : -1;
}

/* Forks one worker; returns its pid and the parent's end of its socket, or -1. */
static pid_t fork_worker(int ctl, int *parent_end)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    pid_t zygote = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(ctl);
        close(sv[0]);
        die_with_parent(zygote);
        int fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
        close_other_fds(fd);
        nsl_worker_main(fd);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -1;
    }
    *parent_end = sv[0];
    return pid;
}

struct children {
    pid_t *pids;
    size_t n, cap;
};

static void children_add(struct children *c, pid_t pid)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        pid_t *p = realloc(c->pids, cap * sizeof *p);
        if (!p)
            return; /* still reaped when asked; only the exit sweep misses it (PDEATHSIG covers) */
        c->pids = p;
        c->cap = cap;
    }
    c->pids[c->n++] = pid;
}

/* Kills and reaps pid if it is one of ours; returns its wait status or -1. */
static int children_reap(struct children *c, pid_t pid)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->pids[i] != pid)
            continue;
        kill(pid, SIGKILL);
        int status = -1;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        c->pids[i] = c->pids[--c->n];
        return status;
    }
    return -1;
}

__attribute__((noreturn)) static void zygote_main(int ctl)
{
    struct children kids = {0};
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        struct zygote_msg req;
        ssize_t n = recv(ctl, &req, sizeof req, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof req)
            break; /* EOF: the service is stopping (or gone) */
        struct zygote_msg rep = {.op = req.op, .pid = -1, .status = -1};
        int fd = -1;
        if (req.op == ZYGOTE_SPAWN) {
            rep.pid = fork_worker(ctl, &fd);
            if (rep.pid > 0)
                children_add(&kids, rep.pid);
        } else if (req.op == ZYGOTE_REAP) {
            rep.pid = req.pid;
            rep.status = children_reap(&kids, req.pid);
        }
        int rc = send_reply(ctl, &rep, fd);
        if (fd >= 0)
            close(fd);
        if (rc != 0)
            break;
    }
    while (kids.n)
        children_reap(&kids, kids.pids[kids.n - 1]);
    _exit(0);
}

int nsl_zygote_start(struct nsl_zygote *z)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        die_with_parent(parent);
        no_core();
        int ctl = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
        close_other_fds(ctl);
        zygote_main(ctl);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -1;
    }
    z->pid = pid;
    z->fd = sv[0];
    return 0;
}

static int request(struct nsl_zygote *z, const struct zygote_msg *req, struct zygote_msg *rep,
                   int *fd)
{
    ssize_t n;
    do
        n = send(z->fd, req, sizeof *req, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof *req)
        return -1;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = rep, .iov_len = sizeof *rep};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    do
        n = recvmsg(z->fd, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof *rep)
        return -1;
    if (fd) {
        *fd = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                c->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(fd, CMSG_DATA(c), sizeof *fd);
    }
    return 0;
}

int nsl_zygote_spawn(struct nsl_zygote *z, pid_t *pid, int *fd)
{
    struct zygote_msg req = {.op = ZYGOTE_SPAWN}, rep;
    int got = -1;
    if (request(z, &req, &rep, &got) != 0)
        return -1;
    if (rep.pid <= 0 || got < 0) {
        if (got >= 0)
            close(got);
        return -1;
    }
    *pid = rep.pid;
    *fd = got;
    return 0;
}

int nsl_zygote_reap(struct nsl_zygote *z, pid_t pid, int *status)
{
    struct zygote_msg req = {.op = ZYGOTE_REAP, .pid = pid}, rep;
    if (request(z, &req, &rep, NULL) != 0)
        return -1;
    *status = rep.status;
    return 0;
}

void nsl_zygote_stop(struct nsl_zygote *z)
{
    if (z->fd >= 0)
        close(z->fd);
    z->fd = -1;
    if (z->pid > 0)
        while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    z->pid = -1;
}
