/* Request id checks and generation (see request_id.h). */
#include "common/request_id.h"

#include <string.h>
#include <sys/random.h>

bool nsl_request_id_valid(const char *id, size_t max_len)
{
    size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    return n > 0 && n <= max_len && id[n] == 0;
}

/* Randomness is drawn for 32 ids at a time per thread: one getrandom call per request showed in
 * the gateway's profile, and an id only has to be unique, not secret. (Only nsl-parent, which
 * does not fork, generates ids; a forked child would repeat its parent's next ids.) */
#define IDS_PER_DRAW 32

int nsl_request_id_generate(char *out)
{
    static const char hex[] = "0123456789abcdef";
    enum { ID_BYTES = NSL_REQUEST_ID_GENERATED_LEN / 2 };
    static _Thread_local unsigned char bytes[ID_BYTES * IDS_PER_DRAW];
    static _Thread_local size_t next = sizeof bytes;
    if (next == sizeof bytes) {
        if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
            return -1;
        next = 0;
    }
    for (size_t i = 0; i < ID_BYTES; i++) {
        out[2 * i] = hex[bytes[next + i] >> 4];
        out[2 * i + 1] = hex[bytes[next + i] & 15];
    }
    next += ID_BYTES;
    out[NSL_REQUEST_ID_GENERATED_LEN] = 0;
    return 0;
}
