/* Checked datoshi arithmetic (see gasbank_amount.h). */
#include "services/gasbank_amount.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

nsl_err nsl_gasbank_amount_parse(const char *digits, const char *field, int64_t min, int64_t *out,
                                 struct nsl_error *err)
{
    size_t n = digits ? strlen(digits) : 0;
    uint64_t v = 0;
    if (n == 0 || n > 19)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "params.%s must be 1 to 19 decimal digits (datoshi)", field);
    for (size_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "params.%s must be decimal digits (datoshi)", field);
        v = v * 10 + (uint64_t)(digits[i] - '0'); /* 19 digits fit in uint64 */
    }
    if (v > (uint64_t)NSL_GASBANK_MAX_AMOUNT)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.%s is above the limit 2^62 datoshi",
                        field);
    if ((int64_t)v < min)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.%s must be at least %" PRId64, field,
                        min);
    *out = (int64_t)v;
    return NSL_OK;
}

bool nsl_gasbank_amount_add(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0 || a > NSL_GASBANK_MAX_AMOUNT || b > NSL_GASBANK_MAX_AMOUNT ||
        a + b > NSL_GASBANK_MAX_AMOUNT)
        return false;
    *out = a + b;
    return true;
}

bool nsl_gasbank_amount_sub(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0 || a > NSL_GASBANK_MAX_AMOUNT || b > NSL_GASBANK_MAX_AMOUNT || b > a)
        return false;
    *out = a - b;
    return true;
}

void nsl_gasbank_amount_format(int64_t v, char out[NSL_GASBANK_AMOUNT_LEN])
{
    snprintf(out, NSL_GASBANK_AMOUNT_LEN, "%" PRId64, v);
}

json_t *nsl_gasbank_amount_json(int64_t v)
{
    char text[NSL_GASBANK_AMOUNT_LEN];
    nsl_gasbank_amount_format(v, text);
    return json_string(text);
}

int64_t nsl_gasbank_amount_get(const json_t *obj, const char *name, int64_t fallback)
{
    int64_t v;
    const char *s = json_string_value(json_object_get(obj, name));
    return s && nsl_gasbank_amount_parse(s, name, 0, &v, NULL) == NSL_OK ? v : fallback;
}
