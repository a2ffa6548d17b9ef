/* Compact JSON rendering (see json_render.h). */
#include "common/json_render.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int put(struct nsl_buf *out, const char *s)
{
    return nsl_buf_append(out, s, strlen(s));
}

/* The escape for c, or NULL when c is written as is. */
static const char *escape_of(unsigned char c, char spare[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (c >= 0x20)
            return NULL;
        snprintf(spare, 8, "\\u%04x", c);
        return spare;
    }
}

int nsl_json_render_string(struct nsl_buf *out, const char *s, size_t len)
{
    if (nsl_buf_reserve(out, len + 2) || nsl_buf_append_u8(out, '"'))
        return -1;
    size_t run = 0; /* start of the bytes not yet written */
    for (size_t i = 0; i < len; i++) {
        char spare[8];
        const char *e = escape_of((unsigned char)s[i], spare);
        if (!e)
            continue;
        if (nsl_buf_append(out, s + run, i - run) || put(out, e))
            return -1;
        run = i + 1;
    }
    return nsl_buf_append(out, s + run, len - run) || nsl_buf_append_u8(out, '"');
}

/* Drops the exponent's '+' and leading zeros: "1e+05" -> "1e5", "1e-07" -> "1e-7". */
static void trim_exponent(char *text)
{
    char *e = strchr(text, 'e');
    if (!e)
        return;
    char *digits = e + 1;
    if (*digits == '+')
        memmove(digits, digits + 1, strlen(digits));
    else if (*digits == '-')
        digits++;
    size_t zeros = strspn(digits, "0");
    if (zeros && digits[zeros])
        memmove(digits, digits + zeros, strlen(digits + zeros) + 1);
}

/* As jansson: 17 significant digits, ".0" when the text would read back as an integer. */
static int render_real(struct nsl_buf *out, double v)
{
    if (!isfinite(v))
        return -1;
    char text[40];
    int n = snprintf(text, sizeof text, "%.17g", v);
    if (n <= 0 || (size_t)n >= sizeof text - 2)
        return -1;
    if (!strpbrk(text, ".e"))
        memcpy(text + n, ".0", 3);
    trim_exponent(text);
    return put(out, text);
}

static int render_object(const json_t *v, struct nsl_buf *out)
{
    const char *key;
    json_t *member;
    bool first = true;
    if (nsl_buf_append_u8(out, '{'))
        return -1;
    json_object_foreach((json_t *)v, key, member)
    {
        if ((!first && nsl_buf_append_u8(out, ',')) ||
            nsl_json_render_string(out, key, strlen(key)) || nsl_buf_append_u8(out, ':') ||
            nsl_json_render(member, out))
            return -1;
        first = false;
    }
    return nsl_buf_append_u8(out, '}');
}

static int render_array(const json_t *v, struct nsl_buf *out)
{
    if (nsl_buf_append_u8(out, '['))
        return -1;
    for (size_t i = 0; i < json_array_size(v); i++)
        if ((i && nsl_buf_append_u8(out, ',')) || nsl_json_render(json_array_get(v, i), out))
            return -1;
    return nsl_buf_append_u8(out, ']');
}

int nsl_json_render(const json_t *value, struct nsl_buf *out)
{
    char num[24];
    if (!value)
        return -1;
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return render_object(value, out);
    case JSON_ARRAY:
        return render_array(value, out);
    case JSON_STRING:
        return nsl_json_render_string(out, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return put(out, num);
    case JSON_REAL:
        return render_real(out, json_real_value(value));
    case JSON_TRUE:
        return put(out, "true");
    case JSON_FALSE:
        return put(out, "false");
    case JSON_NULL:
        return put(out, "null");
    }
    return -1;
}
