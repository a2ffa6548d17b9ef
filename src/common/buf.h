/* Byte buffers that carry their length, and a bounds-checked reader that cannot read past the end
 * of its input. Every function returns 0 on success and -1 on failure (allocation failure, or
 * not enough bytes left); a failed read leaves the reader where it was. */
#ifndef NSL_COMMON_BUF_H
#define NSL_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A growable buffer. The bytes in [0, len) are valid; data may be NULL while cap is 0. */
struct nsl_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

int nsl_buf_reserve(struct nsl_buf *b, size_t extra);
int nsl_buf_append(struct nsl_buf *b, const void *data, size_t len);
int nsl_buf_append_u8(struct nsl_buf *b, uint8_t v);
int nsl_buf_append_u32be(struct nsl_buf *b, uint32_t v);
/* Drops the first n bytes (n <= len). */
void nsl_buf_consume(struct nsl_buf *b, size_t n);
void nsl_buf_reset(struct nsl_buf *b);
void nsl_buf_free(struct nsl_buf *b);
/* Wipes the bytes (including spare capacity) before freeing: for buffers that held secrets. */
void nsl_buf_free_wipe(struct nsl_buf *b);

/* A read cursor over bytes it does not own. */
struct nsl_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
};

void nsl_reader_init(struct nsl_reader *r, const void *data, size_t len);
size_t nsl_reader_remaining(const struct nsl_reader *r);
int nsl_reader_u8(struct nsl_reader *r, uint8_t *out);
int nsl_reader_u16le(struct nsl_reader *r, uint16_t *out);
int nsl_reader_u32le(struct nsl_reader *r, uint32_t *out);
int nsl_reader_u64le(struct nsl_reader *r, uint64_t *out);
int nsl_reader_u32be(struct nsl_reader *r, uint32_t *out);
int nsl_reader_copy(struct nsl_reader *r, void *out, size_t n);
/* Points *out at the next n bytes without copying. */
int nsl_reader_view(struct nsl_reader *r, size_t n, const uint8_t **out);
int nsl_reader_skip(struct nsl_reader *r, size_t n);

#endif
