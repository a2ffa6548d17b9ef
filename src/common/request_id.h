/* Request ids that follow one request through the parent, the enclave and the host channel
 * (docs/logging.md): the HTTP X-Request-Id header, the enclave request's "traceId" and the
 * host-channel frame's "traceId". An id is 1 to max characters of [A-Za-z0-9._-], so it can be
 * logged and put in a header or JSON without escaping. */
#ifndef NSL_COMMON_REQUEST_ID_H
#define NSL_COMMON_REQUEST_ID_H

#include <stdbool.h>
#include <stddef.h>

#define NSL_REQUEST_ID_MAX           64 /* X-Request-Id */
#define NSL_TRACE_ID_MAX             80 /* traceId: a request id plus a batch suffix ".<n>" */
#define NSL_REQUEST_ID_GENERATED_LEN 16

bool nsl_request_id_valid(const char *id, size_t max_len);
/* Writes 16 random lowercase hex characters and a NUL into out (at least 17 bytes). Returns 0,
 * or -1 when the kernel gave no randomness. */
int nsl_request_id_generate(char *out);

#endif
