/* Bounded CBOR decoding (see cbor.h). libcbor 0.8 allocates a definite array or map's slots
 * from the count in its head before it has seen the items, so `9A FF FF FF FF` alone would ask
 * for 32 GiB, and it frees nested items recursively. The scan below walks the raw bytes first
 * (RFC 8949 §3: heads, indefinite lengths §3.2, breaks) with a depth limit and checks every count
 * against the bytes left, so libcbor only ever sees input whose size it can afford. */
#include "attest/cbor.h"

#include <stdlib.h>
#include <string.h>

enum {
    MAJOR_UINT,
    MAJOR_NEGINT,
    MAJOR_BYTES,
    MAJOR_TEXT,
    MAJOR_ARRAY,
    MAJOR_MAP,
    MAJOR_TAG,
    MAJOR_SIMPLE
};

#define AI_INDEFINITE 31
#define BREAK_BYTE    0xFF

struct scan {
    const uint8_t *p;
    size_t len;
    size_t pos;
    size_t bad_pos; /* where the first problem is */
    const char *why;
};

struct head {
    uint8_t major;
    uint8_t ai; /* additional information: 0..27 or 31 */
    uint64_t value;
};

static int scan_fail(struct scan *s, size_t at, const char *why)
{
    s->bad_pos = at;
    s->why = why;
    return -1;
}

static int scan_head(struct scan *s, struct head *h)
{
    size_t at = s->pos;
    if (at >= s->len)
        return scan_fail(s, at, "the input ends in the middle of an item");
    h->major = s->p[at] >> 5;
    h->ai = s->p[at] & 0x1F;
    h->value = h->ai;
    size_t n = 0;
    if (h->ai >= 24 && h->ai <= 27)
        n = (size_t)1 << (h->ai - 24);
    else if (h->ai >= 28 && h->ai <= 30)
        return scan_fail(s, at, "reserved additional information (28..30) in an item head");
    else if (h->ai == AI_INDEFINITE &&
             (h->major == MAJOR_UINT || h->major == MAJOR_NEGINT || h->major == MAJOR_TAG))
        return scan_fail(s, at, "indefinite length on an integer or tag");
    if (n > s->len - at - 1)
        return scan_fail(s, at, "the input ends in the middle of an item head");
    if (n > 0) {
        h->value = 0;
        for (size_t i = 0; i < n; i++)
            h->value = (h->value << 8) | s->p[at + 1 + i];
    }
    if (h->major == MAJOR_SIMPLE && h->ai == 24 && h->value < 32)
        return scan_fail(s, at, "simple value below 32 in two-byte form");
    s->pos = at + 1 + n;
    return 0;
}

static int scan_item(struct scan *s, unsigned depth);

/* The chunks of an indefinite-length string, each a definite string of the same major type,
 * up to the break (RFC 8949 §3.2.3). */
static int scan_chunks(struct scan *s, uint8_t major)
{
    for (;;) {
        if (s->pos < s->len && s->p[s->pos] == BREAK_BYTE) {
            s->pos++;
            return 0;
        }
        size_t at = s->pos;
        struct head h;
        if (scan_head(s, &h) != 0)
            return -1;
        if (h.major != major || h.ai == AI_INDEFINITE)
            return scan_fail(s, at,
                             "a chunk of an indefinite-length string is not a definite "
                             "string of the same type");
        if (h.value > s->len - s->pos)
            return scan_fail(s, at, "a string chunk runs past the end of the input");
        s->pos += (size_t)h.value;
    }
}

/* Items of an indefinite-length array or map up to the break; a map needs pairs. */
static int scan_indefinite(struct scan *s, unsigned depth, bool map)
{
    for (bool key = true;; key = !key) {
        if (s->pos < s->len && s->p[s->pos] == BREAK_BYTE) {
            if (map && !key)
                return scan_fail(s, s->pos, "a map ends between a key and its value");
            s->pos++;
            return 0;
        }
        if (scan_item(s, depth + 1) != 0)
            return -1;
    }
}

static int scan_container(struct scan *s, const struct head *h, size_t at, unsigned depth)
{
    bool map = h->major == MAJOR_MAP;
    if (h->ai == AI_INDEFINITE)
        return scan_indefinite(s, depth, map);
    /* Every item takes at least one byte: a count above the bytes left is a lie. */
    uint64_t per = map ? 2 : 1, left = s->len - s->pos;
    if (h->value > left / per)
        return scan_fail(s, at,
                         map ? "a map claims more entries than the input can hold"
                             : "an array claims more items than the input can hold");
    for (uint64_t i = 0; i < h->value * per; i++)
        if (scan_item(s, depth + 1) != 0)
            return -1;
    return 0;
}

static int scan_item(struct scan *s, unsigned depth)
{
    size_t at = s->pos;
    if (depth > NSL_ATTEST_CBOR_MAX_DEPTH)
        return scan_fail(s, at, "items nested too deeply");
    if (at < s->len && s->p[at] == BREAK_BYTE)
        return scan_fail(s, at, "a break (0xFF) outside an indefinite-length item");
    struct head h;
    if (scan_head(s, &h) != 0)
        return -1;
    switch (h.major) {
    case MAJOR_BYTES:
    case MAJOR_TEXT:
        if (h.ai == AI_INDEFINITE)
            return scan_chunks(s, h.major);
        if (h.value > s->len - s->pos)
            return scan_fail(s, at, "a string runs past the end of the input");
        s->pos += (size_t)h.value;
        return 0;
    case MAJOR_ARRAY:
    case MAJOR_MAP:
        return scan_container(s, &h, at, depth);
    case MAJOR_TAG:
        return scan_item(s, depth + 1);
    default: /* integers and simple values/floats: the head is the whole item */
        return 0;
    }
}

static const char *load_error_name(cbor_error_code code)
{
    switch (code) {
    case CBOR_ERR_NOTENOUGHDATA:
        return "the input ends early";
    case CBOR_ERR_NODATA:
        return "no data";
    case CBOR_ERR_MALFORMATED:
        return "malformed item";
    case CBOR_ERR_MEMERROR:
        return "out of memory";
    case CBOR_ERR_SYNTAXERROR:
        return "syntax error";
    default:
        return "unknown error";
    }
}

nsl_err nsl_attest_cbor_load(const uint8_t *data, size_t len, size_t base, const char *what,
                             cbor_item_t **item, struct nsl_error *err)
{
    *item = NULL;
    if (len == 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed at byte offset %zu: %s is empty",
                        base, what);
    struct scan s = {data, len, 0, 0, NULL};
    if (scan_item(&s, 0) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed at byte offset %zu: %s: %s",
                        base + s.bad_pos, what, s.why);
    if (s.pos != len)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "malformed at byte offset %zu: %s: %zu bytes after the end of the item",
                        base + s.pos, what, len - s.pos);
    struct cbor_load_result result;
    memset(&result, 0, sizeof result);
    cbor_item_t *loaded = cbor_load(data, len, &result);
    if (!loaded || result.error.code != CBOR_ERR_NONE) {
        if (loaded)
            cbor_decref(&loaded);
        if (result.error.code == CBOR_ERR_MEMERROR)
            return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory decoding the %s", what);
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed at byte offset %zu: %s: %s",
                        base + result.error.position, what, load_error_name(result.error.code));
    }
    if (result.read != len) {
        cbor_decref(&loaded);
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "malformed at byte offset %zu: %s: bytes after the end of the item",
                        base + result.read, what);
    }
    *item = loaded;
    return NSL_OK;
}

/* Moves s past one item; s must hold input that passed the scan. */
static int skip_item(struct scan *s)
{
    return scan_item(s, 0);
}

bool nsl_attest_cbor_tag(const uint8_t *data, size_t len, uint64_t *tag, size_t *head_len)
{
    struct scan s = {data, len, 0, 0, NULL};
    struct head h;
    if (scan_head(&s, &h) != 0 || h.major != MAJOR_TAG)
        return false;
    *tag = h.value;
    *head_len = s.pos;
    return true;
}

bool nsl_attest_cbor_array_bstr_offset(const uint8_t *data, size_t len, size_t index,
                                       size_t *offset)
{
    struct scan s = {data, len, 0, 0, NULL};
    struct head h;
    if (scan_head(&s, &h) != 0)
        return false;
    if (h.major == MAJOR_TAG && scan_head(&s, &h) != 0)
        return false;
    if (h.major != MAJOR_ARRAY || (h.ai != AI_INDEFINITE && h.value <= index))
        return false;
    for (size_t i = 0; i < index; i++)
        if (skip_item(&s) != 0)
            return false;
    if (scan_head(&s, &h) != 0 || h.major != MAJOR_BYTES || h.ai == AI_INDEFINITE)
        return false;
    *offset = s.pos;
    return true;
}

nsl_err nsl_attest_cbor_string(const cbor_item_t *item, size_t max, const char *what, uint8_t **out,
                               size_t *len, struct nsl_error *err)
{
    *out = NULL;
    *len = 0;
    bool text = cbor_isa_string(item);
    if (!text && !cbor_isa_bytestring(item))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: %s is not a string", what);
    bool chunked = text ? cbor_string_is_indefinite(item) : cbor_bytestring_is_indefinite(item);
    size_t nchunks = 1;
    cbor_item_t *const *chunks = NULL;
    if (chunked) {
        nchunks = text ? cbor_string_chunk_count(item) : cbor_bytestring_chunk_count(item);
        chunks = text ? cbor_string_chunks_handle(item) : cbor_bytestring_chunks_handle(item);
    }
    size_t total = 0;
    for (size_t i = 0; i < nchunks; i++) {
        const cbor_item_t *c = chunked ? chunks[i] : item;
        size_t n = text ? cbor_string_length(c) : cbor_bytestring_length(c);
        if (n > max - total)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: %s is longer than %zu bytes",
                            what, max);
        total += n;
    }
    uint8_t *buf = malloc(total + 1);
    if (!buf)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    size_t at = 0;
    for (size_t i = 0; i < nchunks; i++) {
        const cbor_item_t *c = chunked ? chunks[i] : item;
        size_t n = text ? cbor_string_length(c) : cbor_bytestring_length(c);
        if (n > 0)
            memcpy(buf + at, text ? cbor_string_handle(c) : cbor_bytestring_handle(c), n);
        at += n;
    }
    buf[total] = 0;
    *out = buf;
    *len = total;
    return NSL_OK;
}

size_t nsl_attest_cbor_head(uint8_t major, uint64_t value, uint8_t out[9])
{
    uint8_t mt = (uint8_t)(major << 5);
    if (value < 24) {
        out[0] = mt | (uint8_t)value;
        return 1;
    }
    size_t n = value <= 0xFF ? 1 : value <= 0xFFFF ? 2 : value <= 0xFFFFFFFFu ? 4 : 8;
    out[0] = mt | (uint8_t)(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27);
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (uint8_t)(value >> (8 * (n - 1 - i)));
    return 1 + n;
}
