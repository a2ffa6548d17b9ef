/* Request id checks and generation (see request_id.h). */
#include "common/request_id.h"

#include <string.h>
#include <sys/random.h>

bool nsl_request_id_valid(const char *id, size_t max_len)
{
    size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    return n > 0 && n <= max_len && id[n] == 0;
}

int nsl_request_id_generate(char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[NSL_REQUEST_ID_GENERATED_LEN / 2];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        return -1;
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[NSL_REQUEST_ID_GENERATED_LEN] = 0;
    return 0;
}
