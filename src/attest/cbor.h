/* Bounded CBOR decoding for attestation documents (RFC 8949), over libcbor: a structural check
 * of the raw bytes that bounds what libcbor may allocate and says where input is malformed,
 * then cbor_load, then typed accessors that take definite and indefinite-length (chunked)
 * strings alike. Errors are INVALID_PARAMS "malformed at byte offset N: ...". */
#ifndef NSL_ATTEST_CBOR_H
#define NSL_ATTEST_CBOR_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

/* Deepest nesting accepted (arrays, maps, tags, chunked strings): an attestation document needs 4.
 */
#define NSL_ATTEST_CBOR_MAX_DEPTH 8

/* Checks that data is exactly one well-formed CBOR item no deeper than the limit whose
 * definite counts fit in the bytes left, then loads it. Offsets in messages are base + the
 * offset in data; what names the input ("document", "payload"). *item is owned by the caller
 * (cbor_decref). */
nsl_err nsl_attest_cbor_load(const uint8_t *data, size_t len, size_t base, const char *what,
                             cbor_item_t **item, struct nsl_error *err);

/* True when data starts with a complete tag head: its value and the head's length. (libcbor 0.8
 * refuses tags 6..20, COSE_Sign1's 18 among them, so the caller takes the tag off itself.) */
bool nsl_attest_cbor_tag(const uint8_t *data, size_t len, uint64_t *tag, size_t *head_len);

/* The offset in data of the contents of element index of the top-level array (after an
 * optional tag), when that element is a definite-length byte string. data must have passed
 * nsl_attest_cbor_load. */
bool nsl_attest_cbor_array_bstr_offset(const uint8_t *data, size_t len, size_t index,
                                       size_t *offset);

/* The contents of a byte or text string item (definite or chunked), at most max bytes, copied
 * to malloc'd *out with a NUL after the last byte (so *out is never NULL on success). what
 * names the field in messages. */
nsl_err nsl_attest_cbor_string(const cbor_item_t *item, size_t max, const char *what, uint8_t **out,
                               size_t *len, struct nsl_error *err);

/* Appends a CBOR head (major type, argument) in its shortest form (RFC 8949 §4.2.1). */
size_t nsl_attest_cbor_head(uint8_t major, uint64_t value, uint8_t out[9]);

#endif
