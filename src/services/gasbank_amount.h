/* Gas bank amounts (issue 10): datoshi (10^-8 GAS) as int64, carried on the wire as strings of
 * decimal digits (ARCHITECTURE §2). Every amount and every sum is kept in [0, 2^62] so that no
 * addition of two checked values can overflow int64; a result outside that range is refused. */
#ifndef NSL_SERVICES_GASBANK_AMOUNT_H
#define NSL_SERVICES_GASBANK_AMOUNT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errors.h"

#define NSL_GASBANK_MAX_AMOUNT ((int64_t)1 << 62)
#define NSL_GASBANK_AMOUNT_LEN 21 /* digits of 2^62 (19) + sign + NUL, with room */

/* Parses digits (no sign, no spaces, at most 19) into *out in [min, 2^62]; INVALID_PARAMS naming
 * params.<field> otherwise. */
nsl_err nsl_gasbank_amount_parse(const char *digits, const char *field, int64_t min, int64_t *out,
                                 struct nsl_error *err);
/* a + b and a - b; false (and *out untouched) when the result leaves [0, 2^62]. */
bool nsl_gasbank_amount_add(int64_t a, int64_t b, int64_t *out);
bool nsl_gasbank_amount_sub(int64_t a, int64_t b, int64_t *out);
/* Decimal text of v. */
void nsl_gasbank_amount_format(int64_t v, char out[NSL_GASBANK_AMOUNT_LEN]);
/* A JSON string of v's digits (NULL on allocation failure). */
json_t *nsl_gasbank_amount_json(int64_t v);
/* The amount in obj[name] (a digit string); fallback when absent or malformed. */
int64_t nsl_gasbank_amount_get(const json_t *obj, const char *name, int64_t fallback);

#endif
