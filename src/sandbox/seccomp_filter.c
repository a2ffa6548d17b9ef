/* The worker's syscall filter (libseccomp; docs/sandbox.md lists each rule and why). Default
 * action: kill the process. Allowed: I/O on the worker's own socket only, memory management for
 * the allocator (never an executable mapping), the clock, futex, and exit. No open, socket,
 * execve, fork/clone, kill, ptrace or getrandom: randomness comes from the service by a host call.
 * Under AddressSanitizer its runtime needs a few more (signal and thread bookkeeping); those are
 * added only in sanitizer builds. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "sandbox/sandbox_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define NSL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NSL_SANITIZED 1
#endif
#endif

/* The fd is the first argument of each of these: allowed only on the worker's socket. */
static const int fd_calls[] = {SCMP_SYS(read),   SCMP_SYS(write),   SCMP_SYS(recvfrom),
                               SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg)};

static const int plain_calls[] = {
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(madvise),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(futex),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll), /* poll() on the socket: pollfd is in memory */
    SCMP_SYS(restart_syscall),
};

#ifdef NSL_SANITIZED
static const int sanitizer_calls[] = {
    SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(getpid),      SCMP_SYS(gettid),       SCMP_SYS(sched_yield),
    SCMP_SYS(prctl),       SCMP_SYS(mincore),      SCMP_SYS(write), /* reports to stderr */
};
#endif

/* Argument comparison spelled out (libseccomp's SCMP_A* macros leave fields implicit). */
static struct scmp_arg_cmp arg(unsigned index, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
    struct scmp_arg_cmp c = {.arg = index, .op = op, .datum_a = a, .datum_b = b};
    return c;
}

int nsl_sandbox_seccomp_install(int fd)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!f)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < sizeof fd_calls / sizeof fd_calls[0]; i++) {
#ifdef NSL_SANITIZED
        if (fd_calls[i] == SCMP_SYS(write))
            continue; /* any fd below */
#endif
        rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, fd_calls[i], 1,
                               arg(0, SCMP_CMP_EQ, (scmp_datum_t)fd, 0));
    }
    for (size_t i = 0; i < sizeof plain_calls / sizeof plain_calls[0]; i++)
        rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, plain_calls[i], 0);
    /* Memory for the allocator, never executable. */
    rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                           arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                           arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mremap), 0);
#ifdef NSL_SANITIZED
    for (size_t i = 0; i < sizeof sanitizer_calls / sizeof sanitizer_calls[0]; i++)
        rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, sanitizer_calls[i], 0);
#endif
    if (rc == 0)
        rc = seccomp_load(f);
    seccomp_release(f);
    return rc == 0 ? 0 : -1;
}
