/* The enclave's identity (ARCHITECTURE §6): an X25519 HPKE key pair made at every boot (clients
 * seal to it; the attestation document's public_key carries it), a long-lived P-256 signing key
 * kept in the sealed store (signs price rounds and function receipts; contracts pin it), and the
 * attestation provider: /dev/nsm in Nitro mode, the simulator in dev mode.
 *
 * A document's user_data commits to the signing key: the multihash
 * 0x12 0x20 ‖ SHA-256(signerPublicKey (33 bytes) ‖ caller's userData (may be empty)). */
#ifndef NSL_ENCLAVE_IDENTITY_H
#define NSL_ENCLAVE_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"
#include "crypto/hpke.h"
#include "neo/key.h"
#include "store/store.h"

#define NSL_IDENTITY_USER_DATA_LEN 34

struct nsl_identity;

/* simulated: use the simulator; else open /dev/nsm (and seed the DRBG from it). */
nsl_err nsl_identity_new(bool simulated, struct nsl_identity **out, struct nsl_error *err);
void nsl_identity_free(struct nsl_identity *id);

const uint8_t *nsl_identity_hpke_public(const struct nsl_identity *id);
/* Opens an HPKE-sealed payload sent to this boot's key. */
nsl_err nsl_identity_open(const struct nsl_identity *id, const uint8_t enc[NSL_HPKE_ENC_LEN],
                          const char *info, const void *aad, size_t aad_len, const void *ct,
                          size_t ct_len, struct nsl_secret **plain, struct nsl_error *err);

/* The long-lived signing key (loaded or created in the store on first use); a reference the
 * caller frees with nsl_neo_signing_key_free. */
nsl_err nsl_identity_signer(struct nsl_identity *id, struct nsl_store *st,
                            struct nsl_neo_signing_key **signer, struct nsl_error *err);

/* An attestation document (COSE_Sign1 bytes appended to doc) for nonce and user data. */
nsl_err nsl_identity_attest(struct nsl_identity *id, struct nsl_store *st, const uint8_t *nonce,
                            size_t nonce_len, const uint8_t *user_data, size_t user_data_len,
                            struct nsl_buf *doc, struct nsl_error *err);
/* The user_data a document carries for a signing key and caller data. */
void nsl_identity_commitment(const uint8_t signer_pub[NSL_NEO_PUBKEY_LEN], const uint8_t *data,
                             size_t len, uint8_t out[NSL_IDENTITY_USER_DATA_LEN]);

#endif
