/* Compact JSON rendering straight into a buffer, without the intermediate string json_dumps
 * makes (the enclave answers every request this way). Members in insertion order, no spaces,
 * strings with the minimal escapes (", \, and control characters; other UTF-8 as is), integers
 * in decimal, reals as jansson prints them ("%.17g", ".0" added when integral). */
#ifndef NSL_COMMON_JSON_RENDER_H
#define NSL_COMMON_JSON_RENDER_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

/* Append value to out. Return 0, or -1 on allocation failure or a non-finite real (out is then
 * left with a partial rendering: callers truncate it). */
int nsl_json_render(const json_t *value, struct nsl_buf *out);
/* Append s (len bytes of UTF-8) as a JSON string; \u escapes use lowercase hex (RFC 8785). */
int nsl_json_render_string(struct nsl_buf *out, const char *s, size_t len);

#endif
