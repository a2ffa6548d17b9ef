/* Var-int and var-bytes codecs (see varint.h). */
#include "neo/varint.h"

size_t nsl_neo_varint_size(uint64_t v)
{
    return v < 0xfd ? 1 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

int nsl_neo_varint_append(struct nsl_buf *b, uint64_t v)
{
    uint8_t tmp[9];
    size_t n = nsl_neo_varint_size(v);
    if (n == 1) {
        tmp[0] = (uint8_t)v;
    } else {
        tmp[0] = n == 3 ? 0xfd : n == 5 ? 0xfe : 0xff;
        for (size_t i = 1; i < n; i++)
            tmp[i] = (uint8_t)(v >> (8 * (i - 1)));
    }
    return nsl_buf_append(b, tmp, n);
}

int nsl_neo_varbytes_append(struct nsl_buf *b, const void *data, size_t len)
{
    if (nsl_neo_varint_append(b, len) != 0)
        return -1;
    return nsl_buf_append(b, data, len);
}

static int fail(struct nsl_reader *r, size_t pos, enum nsl_neo_varint_fail *why,
                enum nsl_neo_varint_fail reason)
{
    r->pos = pos;
    if (why)
        *why = reason;
    return -1;
}

int nsl_neo_varint_read(struct nsl_reader *r, uint64_t max, uint64_t *out,
                        enum nsl_neo_varint_fail *why)
{
    size_t start = r->pos;
    uint8_t first;
    uint64_t v;
    if (nsl_reader_u8(r, &first) != 0)
        return fail(r, start, why, NSL_NEO_VARINT_TRUNCATED);
    if (first < 0xfd) {
        v = first;
    } else if (first == 0xfd) {
        uint16_t x;
        if (nsl_reader_u16le(r, &x) != 0)
            return fail(r, start, why, NSL_NEO_VARINT_TRUNCATED);
        v = x;
    } else if (first == 0xfe) {
        uint32_t x;
        if (nsl_reader_u32le(r, &x) != 0)
            return fail(r, start, why, NSL_NEO_VARINT_TRUNCATED);
        v = x;
    } else {
        if (nsl_reader_u64le(r, &v) != 0)
            return fail(r, start, why, NSL_NEO_VARINT_TRUNCATED);
    }
    if (nsl_neo_varint_size(v) != r->pos - start)
        return fail(r, start, why, NSL_NEO_VARINT_NONCANONICAL);
    if (v > max)
        return fail(r, start, why, NSL_NEO_VARINT_TOO_LARGE);
    *out = v;
    return 0;
}

int nsl_neo_varbytes_read(struct nsl_reader *r, size_t max, const uint8_t **data, size_t *len,
                          enum nsl_neo_varint_fail *why)
{
    size_t start = r->pos;
    uint64_t n;
    if (nsl_neo_varint_read(r, max, &n, why) != 0)
        return -1;
    if (nsl_reader_view(r, (size_t)n, data) != 0)
        return fail(r, start, why, NSL_NEO_VARINT_TRUNCATED);
    *len = (size_t)n;
    return 0;
}
