/* JSON well-formedness scan (see json_scan.h). A recursive descent over a cursor that never reads
 * past the end; recursion is bounded by NSL_JSON_SCAN_DEPTH. The rules are jansson's defaults, so
 * what passes here is what the enclave's jansson could have printed: no "\u0000", no lone
 * surrogate escapes, UTF-8 without overlong forms or surrogates. */
#include "parent/json_scan.h"

#include <string.h>

struct scan {
    const char *p, *end;
    int depth;
};

static void skip_space(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool take(struct scan *s, char c)
{
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static bool in_range(const struct scan *s, size_t k, unsigned char lo, unsigned char hi)
{
    return (size_t)(s->end - s->p) > k && (unsigned char)s->p[k] >= lo &&
           (unsigned char)s->p[k] <= hi;
}

/* One UTF-8 sequence of two or more bytes at s->p (RFC 3629 §4). */
static bool utf8_sequence(struct scan *s)
{
    unsigned char c = (unsigned char)*s->p;
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3;
    else
        return false;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (!in_range(s, 1, lo, hi))
        return false;
    for (size_t k = 2; k <= n; k++)
        if (!in_range(s, k, 0x80, 0xbf))
            return false;
    s->p += n + 1;
    return true;
}

/* The four hex digits of a \u escape at s->p; -1 when they are not there. */
static long hex4(struct scan *s)
{
    if (s->end - s->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s->p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    s->p += 4;
    return v;
}

/* After the backslash of an escape. */
static bool escape(struct scan *s)
{
    if (s->p >= s->end)
        return false;
    char c = *s->p++;
    if (strchr("\"\\/bfnrt", c) && c != 0)
        return true;
    if (c != 'u')
        return false;
    long u = hex4(s);
    if (u <= 0 || (u >= 0xdc00 && u <= 0xdfff))
        return false; /* "\u0000", a lone low surrogate, or no hex */
    if (u < 0xd800 || u > 0xdbff)
        return true;
    if (!take(s, '\\') || !take(s, 'u'))
        return false; /* a high surrogate needs its low half */
    long low = hex4(s);
    return low >= 0xdc00 && low <= 0xdfff;
}

/* A string at s->p (which is at its opening quote). */
static bool string(struct scan *s)
{
    if (!take(s, '"'))
        return false;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            s->p++;
            if (!escape(s))
                return false;
        } else if (c < 0x80) {
            s->p++;
        } else if (!utf8_sequence(s)) {
            return false;
        }
    }
    return false;
}

static bool digits(struct scan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number(struct scan *s)
{
    take(s, '-');
    if (!take(s, '0') && !(in_range(s, 0, '1', '9') && digits(s)))
        return false;
    if (take(s, '.') && !digits(s))
        return false;
    if (take(s, 'e') || take(s, 'E')) {
        if (!take(s, '+'))
            take(s, '-');
        return digits(s);
    }
    return true;
}

static bool word(struct scan *s, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return false;
    s->p += n;
    return true;
}

static bool value(struct scan *s);

static bool array(struct scan *s)
{
    s->p++; /* '[' */
    skip_space(s);
    if (take(s, ']'))
        return true;
    do {
        skip_space(s);
        if (!value(s))
            return false;
        skip_space(s);
    } while (take(s, ','));
    return take(s, ']');
}

/* The index of the member name that key (with its quotes) is, or n. */
static size_t named(const char *key, size_t key_len, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == key_len - 2 && memcmp(key + 1, names[i], key_len - 2) == 0)
            return i;
    return n;
}

/* An object at s->p; the members named are recorded (names may be NULL when n is 0). */
static bool object(struct scan *s, const char *const *names, size_t n, struct nsl_json_span *spans,
                   const char *base)
{
    s->p++; /* '{' */
    skip_space(s);
    if (take(s, '}'))
        return true;
    do {
        skip_space(s);
        const char *key = s->p;
        if (!string(s))
            return false;
        size_t which = named(key, (size_t)(s->p - key), names, n);
        skip_space(s);
        if (!take(s, ':'))
            return false;
        skip_space(s);
        const char *start = s->p;
        if (!value(s))
            return false;
        if (which < n) {
            if (spans[which].len)
                return false; /* the same member twice */
            spans[which].off = (size_t)(start - base);
            spans[which].len = (size_t)(s->p - start);
        }
        skip_space(s);
    } while (take(s, ','));
    return take(s, '}');
}

/* One value at s->p (no leading space). */
static bool value(struct scan *s)
{
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '"':
        return string(s);
    case '{':
    case '[': {
        if (++s->depth > NSL_JSON_SCAN_DEPTH)
            return false;
        bool ok = *s->p == '{' ? object(s, NULL, 0, NULL, NULL) : array(s);
        s->depth--;
        return ok;
    }
    case 't':
        return word(s, "true");
    case 'f':
        return word(s, "false");
    case 'n':
        return word(s, "null");
    default:
        return number(s);
    }
}

int nsl_json_scan_object(const char *text, size_t len, const char *const *names, size_t n,
                         struct nsl_json_span *spans)
{
    struct scan s = {.p = text, .end = text + len, .depth = 1};
    memset(spans, 0, n * sizeof *spans);
    skip_space(&s);
    if (s.p >= s.end || *s.p != '{' || !object(&s, names, n, spans, text))
        return -1;
    skip_space(&s);
    return s.p == s.end ? 0 : -1;
}

bool nsl_json_span_is(const char *text, struct nsl_json_span span, const char *word)
{
    return span.len == strlen(word) && memcmp(text + span.off, word, span.len) == 0;
}
