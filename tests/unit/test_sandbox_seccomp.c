/* Unit tests of sandbox/seccomp_filter: after the worker's filter is installed, I/O on its own
 * socket still works and any other syscall (socket, open, fork, an executable mapping) kills the
 * process with SIGSYS. Each case runs in a forked child. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox_internal.h"

enum attempt { TRY_NOTHING, TRY_SOCKET, TRY_OPEN, TRY_FORK, TRY_EXEC_MAP, TRY_GETRANDOM };

/* Runs attempt in a filtered child; returns its wait status. The child reports on its socket
 * first, proving allowed I/O still works. */
static int run_filtered(enum attempt what, char *reported)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        if (nsl_sandbox_seccomp_install(sv[1]) != 0)
            _exit(100);
        char ok = 'k';
        if (write(sv[1], &ok, 1) != 1)
            _exit(101);
        void *p = malloc(1 << 20); /* the allocator's syscalls are allowed */
        if (!p)
            _exit(102);
        free(p);
        switch (what) {
        case TRY_SOCKET:
            syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
            break;
        case TRY_OPEN:
            syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
            break;
        case TRY_FORK:
            syscall(SYS_fork);
            break;
        case TRY_EXEC_MAP:
            syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                    0);
            break;
        case TRY_GETRANDOM: {
            char b[8];
            syscall(SYS_getrandom, b, sizeof b, 0);
            break;
        }
        case TRY_NOTHING:
            break;
        }
        syscall(SYS_exit_group, 0);
    }
    close(sv[1]);
    *reported = 0;
    if (read(sv[0], reported, 1) != 1)
        *reported = 0;
    close(sv[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_killed(enum attempt what)
{
    char reported;
    int status = run_filtered(what, &reported);
    assert_int_equal(reported, 'k');
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void test_seccomp_allows_socket_io_and_memory(void **state)
{
    (void)state;
    char reported;
    int status = run_filtered(TRY_NOTHING, &reported);
    assert_int_equal(reported, 'k');
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_seccomp_kills_socket(void **state)
{
    (void)state;
    expect_killed(TRY_SOCKET);
}

static void test_seccomp_kills_open(void **state)
{
    (void)state;
    expect_killed(TRY_OPEN);
}

static void test_seccomp_kills_fork(void **state)
{
    (void)state;
    expect_killed(TRY_FORK);
}

static void test_seccomp_kills_executable_mapping(void **state)
{
    (void)state;
    expect_killed(TRY_EXEC_MAP);
}

static void test_seccomp_kills_getrandom(void **state)
{
    (void)state;
    expect_killed(TRY_GETRANDOM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seccomp_allows_socket_io_and_memory),
        cmocka_unit_test(test_seccomp_kills_socket),
        cmocka_unit_test(test_seccomp_kills_open),
        cmocka_unit_test(test_seccomp_kills_fork),
        cmocka_unit_test(test_seccomp_kills_executable_mapping),
        cmocka_unit_test(test_seccomp_kills_getrandom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
