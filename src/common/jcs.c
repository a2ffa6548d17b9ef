/* RFC 8785 canonical JSON (see jcs.h). */
#include "common/jcs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json_render.h"

/* Shortest decimal digits that read back as value: digits (no dot) and the decimal exponent of
 * the first digit. */
static void shortest_digits(double value, char digits[24], int *exponent)
{
    char text[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*e", precision - 1, value);
        if (strtod(text, NULL) == value)
            break;
    }
    /* text is d[.ddd]e±XX */
    size_t n = 0;
    const char *p = text;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
    *exponent = atoi(p + 1);
}

int nsl_jcs_number(double value, char out[32])
{
    if (!isfinite(value))
        return -1;
    if (value == 0) { /* includes -0 */
        strcpy(out, "0");
        return 0;
    }
    if (value == trunc(value) && fabs(value) < 9007199254740992.0) {
        /* An integer a double holds exactly (|n| < 2^53) prints as its digits: the common case
         * (amounts, counts, timestamps), without the search for the shortest digits below. */
        snprintf(out, 32, "%lld", (long long)value);
        return 0;
    }
    char digits[24], text[64];
    int e;
    const char *sign = value < 0 ? "-" : "";
    shortest_digits(fabs(value), digits, &e);
    int k = (int)strlen(digits), n = e + 1; /* value = 0.digits × 10^n */
    if (k <= n && n <= 21)
        snprintf(text, sizeof text, "%s%s%.*s", sign, digits, n - k, "000000000000000000000");
    else if (0 < n && n <= 21)
        snprintf(text, sizeof text, "%s%.*s.%s", sign, n, digits, digits + n);
    else if (-6 < n && n <= 0)
        snprintf(text, sizeof text, "%s0.%.*s%s", sign, -n, "000000", digits);
    else
        snprintf(text, sizeof text, "%s%c%s%se%c%d", sign, digits[0], k > 1 ? "." : "", digits + 1,
                 n - 1 >= 0 ? '+' : '-', abs(n - 1));
    size_t len = strlen(text); /* at most 26: sign, "0.", six zeros, 17 digits */
    if (len >= 32)
        return -1;
    memcpy(out, text, len + 1);
    return 0;
}

static int put(struct nsl_buf *b, const char *s)
{
    return nsl_buf_append(b, s, strlen(s));
}

/* Next UTF-16 code unit of a UTF-8 string (jansson guarantees valid UTF-8). *pending holds the
 * low surrogate of a supplementary character between calls. */
static unsigned next_unit(const unsigned char **p, unsigned *pending)
{
    if (*pending) {
        unsigned u = *pending;
        *pending = 0;
        return u;
    }
    const unsigned char *s = *p;
    unsigned cp;
    if (s[0] < 0x80) {
        cp = s[0];
        *p += 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        cp = (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu);
        *p += 2;
    } else if ((s[0] & 0xf0) == 0xe0) {
        cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
        *p += 3;
    } else {
        cp = (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3fu);
        *p += 4;
    }
    if (cp < 0x10000)
        return cp;
    cp -= 0x10000;
    *pending = 0xdc00 | (cp & 0x3ff);
    return 0xd800 | (cp >> 10);
}

static int compare_utf16(const void *a, const void *b)
{
    const unsigned char *x = *(const unsigned char *const *)a,
                        *y = *(const unsigned char *const *)b;
    unsigned px = 0, py = 0;
    while ((*x || px) && (*y || py)) {
        unsigned ux = next_unit(&x, &px), uy = next_unit(&y, &py);
        if (ux != uy)
            return ux < uy ? -1 : 1;
    }
    return (*x || px) ? 1 : (*y || py) ? -1 : 0;
}

static int put_value(struct nsl_buf *b, const json_t *v);

static int put_object(struct nsl_buf *b, const json_t *v)
{
    size_t n = json_object_size(v), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return -1;
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)v, key, member) keys[i++] = key;
    qsort(keys, n, sizeof *keys, compare_utf16);
    int rc = nsl_buf_append_u8(b, '{');
    for (i = 0; i < n && rc == 0; i++) {
        if (i)
            rc = nsl_buf_append_u8(b, ',');
        rc = rc || nsl_json_render_string(b, keys[i], strlen(keys[i])) ||
             nsl_buf_append_u8(b, ':') || put_value(b, json_object_get(v, keys[i]));
    }
    free(keys);
    return rc || nsl_buf_append_u8(b, '}');
}

static int put_value(struct nsl_buf *b, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(b, v);
    case JSON_ARRAY: {
        if (nsl_buf_append_u8(b, '['))
            return -1;
        for (size_t i = 0; i < json_array_size(v); i++)
            if ((i && nsl_buf_append_u8(b, ',')) || put_value(b, json_array_get(v, i)))
                return -1;
        return nsl_buf_append_u8(b, ']');
    }
    case JSON_STRING:
        return nsl_json_render_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return nsl_jcs_number((double)json_integer_value(v), num) || put(b, num);
    case JSON_REAL:
        return nsl_jcs_number(json_real_value(v), num) || put(b, num);
    case JSON_TRUE:
        return put(b, "true");
    case JSON_FALSE:
        return put(b, "false");
    case JSON_NULL:
        return put(b, "null");
    }
    return -1;
}

char *nsl_jcs_serialize(const json_t *value, size_t *len)
{
    struct nsl_buf b = {0};
    if (!value || put_value(&b, value) != 0 || nsl_buf_append_u8(&b, 0) != 0) {
        nsl_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len - 1;
    return (char *)b.data;
}
