/* Base58 (Bitcoin alphabet) and Base58Check = Base58(payload || Hash256(payload)[0..4]), as Neo
 * uses for addresses, WIF and NEP-2. Pure codecs: 0 on success, -1 on bad input or short output.
 * Intermediate buffers are wiped, because WIF payloads are private keys. */
#ifndef NSL_NEO_BASE58_H
#define NSL_NEO_BASE58_H

#include <stddef.h>
#include <stdint.h>

/* Longest payload the Base58Check functions take (NEP-2 is 39 bytes). */
#define NSL_NEO_BASE58_MAX_PAYLOAD 128

/* Writes the text and a NUL to out (capacity cap). */
int nsl_neo_base58_encode(const uint8_t *data, size_t len, char *out, size_t cap);
/* Decodes text (any character outside the alphabet fails) into out (capacity cap). */
int nsl_neo_base58_decode(const char *text, uint8_t *out, size_t cap, size_t *outlen);

int nsl_neo_base58check_encode(const uint8_t *payload, size_t len, char *out, size_t cap);
/* Fails on a bad checksum as well as on bad characters. */
int nsl_neo_base58check_decode(const char *text, uint8_t *out, size_t cap, size_t *outlen);

#endif
