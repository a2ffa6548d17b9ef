/* Frames between the pool and a worker: one JSON object per common/frame frame. Messages:
 *   pool -> worker  {"type":"job"|"syntax", "source", "args"?, "limits"?}
 *   worker -> pool  {"type":"call", "op":"secret"|"price"|"http"|"random", ...}
 *   pool -> worker  {"ok":true, "value"?} | {"ok":false, "code", "message"}
 *   worker -> pool  {"type":"done", "status", "message"?, "stack"?, "line"?, "result"?, "logs",
 *                    "memory_peak", "retire"?}
 * Everything the pool reads from a worker is untrusted (it runs user code) and is checked there.
 * Frames can carry secret values, so their text is wiped once parsed or sent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/frame.h"
#include "crypto/secret.h"
#include "sandbox/sandbox_internal.h"

uint64_t nsl_sandbox_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int nsl_sandbox_send(int fd, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(text);
    int rc = len > NSL_SANDBOX_FRAME_MAX ? (errno = EMSGSIZE, -1) : nsl_frame_send(fd, text, len);
    int saved = errno;
    nsl_wipe(text, len);
    free(text);
    errno = saved;
    return rc;
}

int nsl_sandbox_recv(int fd, int timeout_ms, json_t **msg)
{
    char *text = NULL;
    size_t len = 0;
    if (nsl_frame_recv(fd, NSL_SANDBOX_FRAME_MAX, timeout_ms, &text, &len) != 0)
        return -1;
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    nsl_wipe(text, len);
    free(text);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        errno = EPROTO;
        return -1;
    }
    *msg = v;
    return 0;
}
