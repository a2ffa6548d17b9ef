/* The hashes Neo builds on: SHA-256, Hash160 = RIPEMD-160(SHA-256(x)) (script hashes) and
 * Hash256 = SHA-256(SHA-256(x)) (Base58Check checksums, NEP-2 address hash). Each returns 0 or -1.
 */
#ifndef NSL_NEO_HASH_H
#define NSL_NEO_HASH_H

#include <stddef.h>
#include <stdint.h>

int nsl_neo_sha256(const void *data, size_t len, uint8_t out[32]);
int nsl_neo_hash160(const void *data, size_t len, uint8_t out[20]);
int nsl_neo_hash256(const void *data, size_t len, uint8_t out[32]);

#endif
