/* Neo's variable-length integers and byte strings (neo Helper.cs / MemoryReader.ReadVarInt):
 * v < 0xfd: 1 byte; <= 0xffff: 0xfd + u16le; <= 0xffffffff: 0xfe + u32le; else 0xff + u64le.
 * We read only the canonical (shortest) form: Neo itself accepts longer forms, but they would
 * give the same transaction two encodings and two hashes. Pure codecs: 0 or -1. */
#ifndef NSL_NEO_VARINT_H
#define NSL_NEO_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Why a read failed, for the caller's message. */
enum nsl_neo_varint_fail {
    NSL_NEO_VARINT_TRUNCATED = 1,
    NSL_NEO_VARINT_NONCANONICAL,
    NSL_NEO_VARINT_TOO_LARGE,
};

int nsl_neo_varint_append(struct nsl_buf *b, uint64_t v);
int nsl_neo_varbytes_append(struct nsl_buf *b, const void *data, size_t len);
size_t nsl_neo_varint_size(uint64_t v);

/* Reads a canonical var-int no larger than max; on failure *why says why (if why != NULL) and
 * the reader has not moved. */
int nsl_neo_varint_read(struct nsl_reader *r, uint64_t max, uint64_t *out,
                        enum nsl_neo_varint_fail *why);
/* Reads a var-int length no larger than max, then views that many bytes. */
int nsl_neo_varbytes_read(struct nsl_reader *r, size_t max, const uint8_t **data, size_t *len,
                          enum nsl_neo_varint_fail *why);

#endif
