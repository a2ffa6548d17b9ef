/* Sealing of stored blobs (ARCHITECTURE §7): AES-256-GCM under a per-namespace key derived with
 * HKDF-SHA256 from the master key, a random 96-bit nonce, and associated data binding the blob to
 * its namespace, key and version, so the parent can neither read, alter, nor move a blob to
 * another key or version undetected.
 *
 * Blob: 0x01 (format version) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
 * Associated data: "nsl-blob-1" ‖ u16be(len ns) ‖ ns ‖ u16be(len key) ‖ key ‖ u64be(version)
 * (lengths make the concatenation unambiguous). Namespace key: HKDF-SHA256(ikm = master key,
 * salt = "nsl-seal-1", info = "ns:" ‖ ns), 32 bytes. */
#ifndef NSL_CRYPTO_SEAL_H
#define NSL_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"
#include "crypto/secret.h"

#define NSL_SEAL_FORMAT   1
#define NSL_SEAL_OVERHEAD (1 + 12 + 16)
#define NSL_SEAL_MAX_NAME 1024

struct nsl_sealer;

/* Takes a copy of the 32-byte master key. */
struct nsl_sealer *nsl_sealer_new(const struct nsl_secret *master);
void nsl_sealer_free(struct nsl_sealer *sealer);

/* Appends the sealed blob to out. */
nsl_err nsl_seal(struct nsl_sealer *sealer, const char *ns, const char *key, uint64_t version,
                 const void *plain, size_t len, struct nsl_buf *out, struct nsl_error *err);
/* Opens a blob; the plaintext is a secret (wiped on free). Any failure (tampered, truncated, wrong
 * key or version, unknown format) is NSL_ERR_INTERNAL saying the object failed its integrity
 * check, and is logged loudly with namespace, key and version (never content). */
nsl_err nsl_unseal(struct nsl_sealer *sealer, const char *ns, const char *key, uint64_t version,
                   const void *blob, size_t len, struct nsl_secret **plain, struct nsl_error *err);

/* HKDF-SHA256 (RFC 5869) into out. Returns 0 or -1. */
int nsl_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                    const void *info, size_t info_len, uint8_t *out, size_t out_len);

#endif
