/* RFC 8785 JSON Canonicalization Scheme: the one byte string a JSON value signs as (used by the
 * neo-sig request signature, ARCHITECTURE §5). Object members sorted by their names' UTF-16 code
 * units, no whitespace, strings with the minimal escapes of RFC 8785 §3.2.2.2, numbers as
 * ECMAScript's Number.prototype.toString prints an IEEE 754 double (§3.2.2.3). */
#ifndef NSL_COMMON_JCS_H
#define NSL_COMMON_JCS_H

#include <jansson.h>
#include <stddef.h>

/* Returns the canonical text (malloc'd, NUL-terminated, *len bytes) or NULL on failure. */
char *nsl_jcs_serialize(const json_t *value, size_t *len);
/* Formats a finite double as ECMAScript does; out needs 32 bytes. Returns -1 for NaN/Infinity. */
int nsl_jcs_number(double value, char out[32]);

#endif
