/* Byte buffers and the bounds-checked reader (see buf.h). */
#include "common/buf.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

int nsl_buf_reserve(struct nsl_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int nsl_buf_append(struct nsl_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (nsl_buf_reserve(b, len) != 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int nsl_buf_append_u8(struct nsl_buf *b, uint8_t v)
{
    return nsl_buf_append(b, &v, 1);
}

int nsl_buf_append_u32be(struct nsl_buf *b, uint32_t v)
{
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return nsl_buf_append(b, be, 4);
}

void nsl_buf_consume(struct nsl_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void nsl_buf_reset(struct nsl_buf *b)
{
    b->len = 0;
}

void nsl_buf_free(struct nsl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void nsl_buf_free_wipe(struct nsl_buf *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    nsl_buf_free(b);
}

void nsl_reader_init(struct nsl_reader *r, const void *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
}

size_t nsl_reader_remaining(const struct nsl_reader *r)
{
    return r->len - r->pos;
}

int nsl_reader_view(struct nsl_reader *r, size_t n, const uint8_t **out)
{
    if (n > nsl_reader_remaining(r))
        return -1;
    *out = r->data ? r->data + r->pos : r->data; /* NULL + 0 is undefined */
    r->pos += n;
    return 0;
}

int nsl_reader_copy(struct nsl_reader *r, void *out, size_t n)
{
    const uint8_t *p;
    if (nsl_reader_view(r, n, &p) != 0)
        return -1;
    if (n)
        memcpy(out, p, n);
    return 0;
}

int nsl_reader_skip(struct nsl_reader *r, size_t n)
{
    const uint8_t *p;
    return nsl_reader_view(r, n, &p);
}

int nsl_reader_u8(struct nsl_reader *r, uint8_t *out)
{
    return nsl_reader_copy(r, out, 1);
}

static int read_le(struct nsl_reader *r, size_t n, uint64_t *out)
{
    const uint8_t *p;
    if (nsl_reader_view(r, n, &p) != 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--)
        v = (v << 8) | p[i - 1];
    *out = v;
    return 0;
}

int nsl_reader_u16le(struct nsl_reader *r, uint16_t *out)
{
    uint64_t v;
    if (read_le(r, 2, &v) != 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int nsl_reader_u32le(struct nsl_reader *r, uint32_t *out)
{
    uint64_t v;
    if (read_le(r, 4, &v) != 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int nsl_reader_u64le(struct nsl_reader *r, uint64_t *out)
{
    return read_le(r, 8, out);
}

int nsl_reader_u32be(struct nsl_reader *r, uint32_t *out)
{
    const uint8_t *p;
    if (nsl_reader_view(r, 4, &p) != 0)
        return -1;
    *out = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return 0;
}
