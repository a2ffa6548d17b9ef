/* HPKE (RFC 9180) in base mode with one suite: DHKEM(X25519, HKDF-SHA256) (kem_id 0x0020),
 * HKDF-SHA256 (kdf_id 0x0001), ChaCha20-Poly1305 (aead_id 0x0003). It seals request params and
 * results end to end (ARCHITECTURE §6, docs/hpke.md): the parent forwards ciphertext it cannot
 * read.
 *
 * The single-shot API (nsl_hpke_seal / nsl_hpke_open) encrypts one message at sequence number 0.
 * The context functions below it expose the key schedule so that the published vectors of RFC 9180
 * Appendix A.2 can be checked exactly; services use only the single-shot API. */
#ifndef NSL_CRYPTO_HPKE_H
#define NSL_CRYPTO_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"
#include "crypto/secret.h"

#define NSL_HPKE_KEM_ID  0x0020
#define NSL_HPKE_KDF_ID  0x0001
#define NSL_HPKE_AEAD_ID 0x0003

#define NSL_HPKE_PUBLIC_KEY_LEN  32 /* Npk */
#define NSL_HPKE_PRIVATE_KEY_LEN 32 /* Nsk */
#define NSL_HPKE_ENC_LEN         32 /* Nenc */
#define NSL_HPKE_SECRET_LEN      32 /* Nsecret, Nh */
#define NSL_HPKE_KEY_LEN         32 /* Nk */
#define NSL_HPKE_NONCE_LEN       12 /* Nn */
#define NSL_HPKE_TAG_LEN         16 /* Nt */
/* Largest plaintext accepted (the AEAD takes int lengths; sealed params are far smaller). */
#define NSL_HPKE_MAX_PLAINTEXT (16u << 20)

/* A fresh X25519 key pair: the private key as a 32-byte secret, the public key in pk. */
nsl_err nsl_hpke_keypair(struct nsl_secret **sk, uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN],
                         struct nsl_error *err);
/* The public key of a 32-byte X25519 private key. */
nsl_err nsl_hpke_public_key(const struct nsl_secret *sk, uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN],
                            struct nsl_error *err);
/* DeriveKeyPair(ikm) of RFC 9180 §7.1.3 (ikm at least 32 bytes). */
nsl_err nsl_hpke_derive_keypair(const void *ikm, size_t ikm_len, struct nsl_secret **sk,
                                uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], struct nsl_error *err);

/* Seals pt to the recipient key pkR: writes the encapsulated key to enc and appends
 * ciphertext ‖ tag (pt_len + 16 bytes) to ct. A recipient key that yields an all-zero shared
 * value (a low-order point) is NSL_ERR_INVALID_PARAMS. */
nsl_err nsl_hpke_seal(const uint8_t pkR[NSL_HPKE_PUBLIC_KEY_LEN], const void *info, size_t info_len,
                      const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                      uint8_t enc[NSL_HPKE_ENC_LEN], struct nsl_buf *ct, struct nsl_error *err);
/* nsl_hpke_seal with a given ephemeral private key instead of a fresh one: for known-answer tests
 * only (reusing skE across messages breaks HPKE's security). */
nsl_err nsl_hpke_seal_with_ephemeral(const struct nsl_secret *skE,
                                     const uint8_t pkR[NSL_HPKE_PUBLIC_KEY_LEN], const void *info,
                                     size_t info_len, const void *aad, size_t aad_len,
                                     const void *pt, size_t pt_len, uint8_t enc[NSL_HPKE_ENC_LEN],
                                     struct nsl_buf *ct, struct nsl_error *err);
/* Opens what nsl_hpke_seal made with the same info and aad; the plaintext is a secret. Any failure
 * to open (tampered enc, ct, aad or info, wrong key, truncated) is NSL_ERR_INVALID_PARAMS with the
 * one message "sealed payload does not open", so the error tells an attacker nothing. */
nsl_err nsl_hpke_open(const struct nsl_secret *skR, const uint8_t enc[NSL_HPKE_ENC_LEN],
                      const void *info, size_t info_len, const void *aad, size_t aad_len,
                      const void *ct, size_t ct_len, struct nsl_secret **pt, struct nsl_error *err);

/* The encryption context of RFC 9180 §5.1 (base mode). Holds keys: wipe it with
 * nsl_hpke_context_wipe. */
struct nsl_hpke_context {
    uint8_t key[NSL_HPKE_KEY_LEN];
    uint8_t base_nonce[NSL_HPKE_NONCE_LEN];
    uint8_t exporter_secret[NSL_HPKE_SECRET_LEN];
};

/* SetupBaseS with a given ephemeral key: enc, the KEM shared secret and the context. */
nsl_err nsl_hpke_setup_sender(const struct nsl_secret *skE,
                              const uint8_t pkR[NSL_HPKE_PUBLIC_KEY_LEN], const void *info,
                              size_t info_len, uint8_t enc[NSL_HPKE_ENC_LEN],
                              uint8_t shared_secret[NSL_HPKE_SECRET_LEN],
                              struct nsl_hpke_context *ctx, struct nsl_error *err);
/* SetupBaseR: the KEM shared secret and the context (same failure rule as nsl_hpke_open). */
nsl_err nsl_hpke_setup_recipient(const struct nsl_secret *skR, const uint8_t enc[NSL_HPKE_ENC_LEN],
                                 const void *info, size_t info_len,
                                 uint8_t shared_secret[NSL_HPKE_SECRET_LEN],
                                 struct nsl_hpke_context *ctx, struct nsl_error *err);
/* ComputeNonce(seq) of RFC 9180 §5.2: base_nonce XOR I2OSP(seq, Nn). */
void nsl_hpke_context_nonce(const struct nsl_hpke_context *ctx, uint64_t seq,
                            uint8_t nonce[NSL_HPKE_NONCE_LEN]);
/* Seal / Open of message number seq under the context (append to ct; plaintext as a secret). */
nsl_err nsl_hpke_context_seal(const struct nsl_hpke_context *ctx, uint64_t seq, const void *aad,
                              size_t aad_len, const void *pt, size_t pt_len, struct nsl_buf *ct,
                              struct nsl_error *err);
nsl_err nsl_hpke_context_open(const struct nsl_hpke_context *ctx, uint64_t seq, const void *aad,
                              size_t aad_len, const void *ct, size_t ct_len, struct nsl_secret **pt,
                              struct nsl_error *err);
void nsl_hpke_context_wipe(struct nsl_hpke_context *ctx);

#endif
