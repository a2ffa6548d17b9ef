/* Daemon processes of the dev stack: start one in its own session with its output appended to
 * a log, pid files, a liveness test that a recycled pid cannot fool, and stopping with a
 * deadline (SIGTERM, then SIGKILL). Functions return 0 on success, -1 on failure. */
#ifndef NSL_CLI_PROCESS_H
#define NSL_CLI_PROCESS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errors.h"

struct nsl_cli_spawn {
    const char *path; /* executable */
    char *const *argv;
    const char *log_path;       /* stdout and stderr are appended here */
    bool die_with_parent;       /* the daemon gets SIGTERM if nsl dies (foreground mode) */
    const sigset_t *child_mask; /* signal mask the daemon starts with */
};

/* Starts the daemon; fails (and reaps the child) if it could not be executed. */
nsl_err nsl_cli_process_spawn(const struct nsl_cli_spawn *s, pid_t *pid, struct nsl_error *err);

/* True when pid is a live (not zombie) process whose name is name. */
bool nsl_cli_process_alive(pid_t pid, const char *name);
/* For our own child: true (with its wait status) once it has exited; it is then reaped. */
bool nsl_cli_process_reaped(pid_t pid, int *status);
/* SIGTERM, then SIGKILL after timeout_ms. own_child: reap it with waitpid (status set), else
 * poll until it is gone (status 0). Returns 1 if it had to be killed, 0 if it stopped. */
int nsl_cli_process_stop(pid_t pid, const char *name, bool own_child, int timeout_ms, int *status);

int nsl_cli_pidfile_write(const char *path, pid_t pid);
/* 1 with *pid set, 0 when the file does not exist, -1 when it is unreadable or malformed. */
int nsl_cli_pidfile_read(const char *path, pid_t *pid);

int64_t nsl_cli_now_ms(void);
void nsl_cli_sleep_ms(int ms);

#endif
