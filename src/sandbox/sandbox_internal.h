/* Internals shared by the sandbox's files: the zygote's control protocol (zygote.c), the worker's
 * entry (worker.c), its JS API (runtime_api.c), its syscall filter (seccomp_filter.c), the JSON
 * frames between pool and worker (protocol.c) and the in-worker SHA-256 (digest.c). */
#ifndef NSL_SANDBOX_INTERNAL_H
#define NSL_SANDBOX_INTERNAL_H

#include <duktape.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errors.h"
#include "sandbox/heap_state.h"

/* Largest frame either side accepts: source + args, or result + logs + envelope. */
#define NSL_SANDBOX_FRAME_MAX (32u << 20)
/* nsl.crypto.randomBytes(n): n <= this. */
#define NSL_SANDBOX_RANDOM_MAX 1024
/* Secret names, price pairs: at most this many bytes. */
#define NSL_SANDBOX_NAME_MAX 256

/* ---- protocol.c: one JSON object per frame (common/frame) ---- */
int nsl_sandbox_send(int fd, const json_t *msg);
/* Receives one object; timeout_ms < 0 waits for ever. Returns 0, or -1 with errno (ETIMEDOUT,
 * ECONNRESET, EPROTO for a bad frame or payload, or bytes past the frame: the peer spoke out of
 * turn). */
int nsl_sandbox_recv(int fd, int timeout_ms, json_t **msg);
uint64_t nsl_sandbox_now_ns(void);

/* ---- zygote.c ---- */
struct nsl_zygote {
    pid_t pid;
    int fd; /* control socket (SOCK_SEQPACKET) */
};
/* Forks the zygote; the caller must still be single-threaded. */
int nsl_zygote_start(struct nsl_zygote *z);
/* Asks for a new worker: its pid and the parent's end of its socket. Not thread-safe (the pool
 * serialises). */
int nsl_zygote_spawn(struct nsl_zygote *z, pid_t *pid, int *fd);
/* SIGKILLs the worker (if still running), reaps it and returns its wait status in *status. */
int nsl_zygote_reap(struct nsl_zygote *z, pid_t pid, int *status);
/* Closes the control socket (the zygote kills and reaps its workers and exits), then reaps it. */
void nsl_zygote_stop(struct nsl_zygote *z);

/* ---- worker.c: a worker's life; never returns ---- */
__attribute__((noreturn)) void nsl_worker_main(int fd);

/* ---- seccomp_filter.c ---- */
/* Sets no_new_privs and installs the worker's filter: only I/O on fd and what the interpreter
 * needs; anything else kills the process. Returns 0 or -1. */
int nsl_sandbox_seccomp_install(int fd);

/* ---- runtime_api.c: the globals a function sees ---- */
struct nsl_worker_job {
    int fd;              /* the worker's socket to the pool */
    size_t max_logs;     /* bytes of all messages */
    size_t logs_bytes;   /* used so far */
    json_t *logs;        /* [{level, message}] */
    bool logs_exceeded;  /* console output went over max_logs */
    bool limit_reported; /* the pool answered a host call with LIMIT_EXCEEDED */
    bool channel_broken; /* a host call could not be completed */
    bool closed;         /* answered: the heap is being destroyed, natives throw */
    uint32_t host_calls;
    /* C memory a native holds across Duktape calls that may throw (longjmp): released by the
     * next host call and by the worker once the job ends, never leaked by an error. */
    json_t *pending;
    char *pending_text;
};
/* Frees (wiping) what the natives left pending. */
void nsl_runtime_release(struct nsl_worker_job *job);
/* Deletes every global not on the allow-list and installs nsl.* and console. Runs inside a
 * protected call. */
void nsl_runtime_install(duk_context *ctx);

/* ---- digest.c: FIPS 180-4 SHA-256, pure C so the filter needs no libcrypto syscalls ---- */
void nsl_sandbox_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
