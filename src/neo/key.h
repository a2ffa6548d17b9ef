/* Neo N3 keys: ECDSA over secp256r1 (NIST P-256) with SHA-256. Private keys are 32-byte
 * big-endian scalars in 1..n-1 and live only in struct nsl_secret. Public keys are SEC1
 * compressed points (02|03 || X, 33 bytes), checked to lie on the curve. Signatures are 64 bytes
 * r || s (big-endian, 32 each); we produce low-S signatures and, like Neo nodes
 * (Crypto.VerifySignature), accept any valid one. */
#ifndef NSL_NEO_KEY_H
#define NSL_NEO_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "crypto/secret.h"

#define NSL_NEO_PRIVKEY_LEN 32
#define NSL_NEO_PUBKEY_LEN  33
#define NSL_NEO_SIG_LEN     64

/* A fresh random private key. */
nsl_err nsl_neo_key_generate(struct nsl_secret **key, struct nsl_error *err);
/* Checks that key is 32 bytes holding a scalar in 1..n-1. */
nsl_err nsl_neo_key_check(const struct nsl_secret *key, struct nsl_error *err);
/* The compressed public key of a private key. */
nsl_err nsl_neo_key_public(const struct nsl_secret *key, uint8_t pub[NSL_NEO_PUBKEY_LEN],
                           struct nsl_error *err);
/* Signs SHA-256(msg) with a random nonce; the signature is low-S r || s. */
nsl_err nsl_neo_key_sign(const struct nsl_secret *key, const void *msg, size_t len,
                         uint8_t sig[NSL_NEO_SIG_LEN], struct nsl_error *err);

/* A private key prepared for repeated signing (the EVP key object and its public key), so that
 * hot keys skip the per-signature key set-up. Shareable between threads for signing. */
struct nsl_neo_signing_key;

nsl_err nsl_neo_signing_key_new(const struct nsl_secret *key, struct nsl_neo_signing_key **out,
                                struct nsl_error *err);
/* Another reference to the same key (NULL on allocation failure); free each with _free. */
struct nsl_neo_signing_key *nsl_neo_signing_key_dup(const struct nsl_neo_signing_key *k);
const uint8_t *nsl_neo_signing_key_public(const struct nsl_neo_signing_key *k);
nsl_err nsl_neo_signing_key_sign(const struct nsl_neo_signing_key *k, const void *msg, size_t len,
                                 uint8_t sig[NSL_NEO_SIG_LEN], struct nsl_error *err);
void nsl_neo_signing_key_free(struct nsl_neo_signing_key *k);

/* 0 when pub is a compressed point on the curve (prefix 02 or 03), else -1. */
int nsl_neo_pubkey_check(const uint8_t *pub, size_t len);
/* Compressed (33) <-> uncompressed (04 || X || Y, 65) with on-curve validation: 0 or -1. */
int nsl_neo_pubkey_decompress(const uint8_t pub[NSL_NEO_PUBKEY_LEN], uint8_t out[65]);
int nsl_neo_pubkey_compress(const uint8_t *point, size_t len, uint8_t out[NSL_NEO_PUBKEY_LEN]);
/* Neo's ECPoint order: by X, then by Y (as unsigned integers). Both keys must be valid. */
int nsl_neo_pubkey_compare(const uint8_t a[NSL_NEO_PUBKEY_LEN],
                           const uint8_t b[NSL_NEO_PUBKEY_LEN]);
/* 0 when sig (which must be 64 bytes) is a valid signature of SHA-256(msg) by pub, else -1. */
int nsl_neo_pubkey_verify(const uint8_t *pub, size_t publen, const void *msg, size_t len,
                          const uint8_t *sig, size_t siglen);

#endif
