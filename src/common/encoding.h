/* Hex (lowercase out, either case in) and base64 (RFC 4648 §4, padded, strict) codecs.
 * Decoders reject any character outside the alphabet, odd hex lengths and bad padding. */
#ifndef NSL_COMMON_ENCODING_H
#define NSL_COMMON_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len characters and a NUL to out (size >= 2*len + 1). */
void nsl_hex_encode(const uint8_t *data, size_t len, char *out);
/* Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char *nsl_hex_encode_alloc(const uint8_t *data, size_t len);
/* Decodes hexlen characters into out (capacity cap); *outlen = hexlen / 2. Returns 0 or -1. */
int nsl_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap, size_t *outlen);

size_t nsl_base64_encoded_len(size_t len); /* without the NUL */
void nsl_base64_encode(const uint8_t *data, size_t len, char *out);
char *nsl_base64_encode_alloc(const uint8_t *data, size_t len);
/* Upper bound of the decoded size of b64len characters. */
size_t nsl_base64_decoded_max(size_t b64len);
int nsl_base64_decode(const char *b64, size_t b64len, uint8_t *out, size_t cap, size_t *outlen);

#endif
