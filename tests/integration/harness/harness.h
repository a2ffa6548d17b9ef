/* Integration-test harness: starts the real daemons of build/bin (found through NSL_BIN_DIR) in
 * dev mode on unix sockets in a fresh temporary directory, talks to them by raw frames and HTTP,
 * and stops everything it started. Used by tests/integration and bench/. Its deadlines (start,
 * stop, one round trip, storage ready) are multiplied by NSL_TEST_TIMEOUT_SCALE when set (make
 * valgrind). */
#ifndef NSL_TEST_HARNESS_H
#define NSL_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct nsl_stack {
    char dir[256];                 /* temporary state dir; removed by nsl_stack_stop */
    char enclave_url[300];         /* unix://<dir>/enclave.sock */
    char host_url[300];            /* unix://<dir>/host.sock */
    int http_port;                 /* 127.0.0.1 port of nsl-parent's HTTP API */
    pid_t enclave_pid;             /* 0 when not running */
    pid_t parent_pid;              /* 0 when not running */
    const char *enclave_extra[16]; /* extra flags for nsl-enclave (NULL-terminated) */
    const char *parent_extra[16];  /* extra flags for nsl-parent (NULL-terminated) */
};

/* Prepares s: makes the temporary dir and picks a free HTTP port. */
int nsl_stack_init(struct nsl_stack *s);
/* Starts nsl-enclave (logs to <dir>/enclave.log) and waits until its socket accepts. */
int nsl_stack_start_enclave(struct nsl_stack *s);
/* Starts nsl-parent (logs to <dir>/parent.log) and waits until /healthz answers 200 (or, when no
 * enclave runs, until it answers at all). */
int nsl_stack_start_parent(struct nsl_stack *s);
/* Sends sig to a daemon and waits for it to exit (SIGKILL after 10 s). Returns its wait status. */
int nsl_stack_kill(pid_t *pid, int sig);
/* Stops both daemons (SIGTERM), checks that each exited cleanly, removes dir. Returns 0 if both
 * exited with status 0 (or had already been stopped by the test). */
int nsl_stack_stop(struct nsl_stack *s);

/* A TCP port on 127.0.0.1 that was free a moment ago, taken from below the ephemeral range so
 * that servers binding port 0 cannot take it before its user binds it; -1 if none found. */
int nsl_free_tcp_port(void);

/* Binary path: "<NSL_BIN_DIR>/<name>". */
const char *nsl_bin_path(const char *name, char *out, size_t len);

/* A blocking frame client on the enclave socket. */
int nsl_test_connect(const char *url);
/* Sends one frame with json and reads one response frame (malloc'd, NUL-terminated). */
int nsl_test_roundtrip(int fd, const char *json, char **response);

/* HTTP/1.1 request to 127.0.0.1:port; *status gets the code, *body the malloc'd body. */
int nsl_http_request(int port, const char *method, const char *path, const char *headers,
                     const char *body, int *status, char **response_body);

/* nsl_http_request that also gives the response's status line and headers (malloc'd, without
 * the blank line) in *response_head. */
int nsl_http_exchange(int port, const char *method, const char *path, const char *headers,
                      const char *body, int *status, char **response_head, char **response_body);

/* Waits until the enclave on fd reports its sealed storage ready (system.health); 0 when it did
 * within timeout_ms. */
int nsl_wait_storage_ready(int fd, int timeout_ms);

/* Waits until cond(ctx) is true or timeout_ms passes; returns 0 when it became true. */
int nsl_wait_until(bool (*cond)(void *ctx), void *ctx, int timeout_ms);

#endif
