/* The dev stack's lifecycle under a state directory: start nsl-enclave then nsl-parent (found
 * next to the running nsl), wait for GET /healthz, supervise in the foreground or leave them
 * running; stop them in reverse order from their pid files. Return values are exit codes. */
#ifndef NSL_CLI_DEV_STACK_H
#define NSL_CLI_DEV_STACK_H

#include <stdbool.h>

struct nsl_cli_dev_up {
    const char *state;     /* created 0700 if missing */
    const char *http;      /* HOST:PORT */
    const char *log_level; /* NULL: the daemons' default */
    bool background;
    const char *egress_allow; /* NULL: nsl-parent's default (nothing allowed) */
    const char *ca_file;      /* NULL: the system CA bundle only */
    const char *db; /* NULL: SQLite under state; else postgres://… (docs/scale-out.md) */
    const char *sim_key_file; /* NULL: <state>/sim-wrapping.key */
};

/* 0 when up (background) or stopped on request (foreground); 1 on failure or when a daemon
 * died by itself. */
int nsl_cli_dev_stack_up(const struct nsl_cli_dev_up *opts);
/* 0 whether or not anything was running. */
int nsl_cli_dev_stack_down(const char *state);

#endif
