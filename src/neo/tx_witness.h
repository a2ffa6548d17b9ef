/* Witnesses of a Neo N3 transaction: building them from signatures and checking the standard
 * ones offline, as a node's state-independent verification does (neo Transaction.cs
 * VerifyStateIndependent): the verification script must hash to the signer's account; a
 * single-sig witness is 0c40<sig> + the key's CheckSig script; an m-of-n multisig witness is m
 * 0c40<sig> pushes in key order + the CheckMultisig script, and the signatures must match keys in
 * that order. Every signature is ECDSA P-256/SHA-256 over the sign data
 * u32le(network magic) || txid. */
#ifndef NSL_NEO_TX_WITNESS_H
#define NSL_NEO_TX_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "crypto/secret.h"
#include "neo/tx.h"

/* The witness of a single-sig account: 0c40<sig> and 0c21<pub>4156e7b327. */
nsl_err nsl_neo_witness_single(const uint8_t pub[NSL_NEO_PUBKEY_LEN],
                               const uint8_t sig[NSL_NEO_SIG_LEN], struct nsl_neo_witness *out,
                               struct nsl_error *err);
/* The witness of a multisig account: the m signatures (already in the order of the script's
 * sorted keys) and its verification script. */
nsl_err nsl_neo_witness_multisig(const uint8_t *verification, size_t len,
                                 const uint8_t (*sigs)[NSL_NEO_SIG_LEN], size_t nsigs,
                                 struct nsl_neo_witness *out, struct nsl_error *err);

/* Signs tx for network_magic with key and stores the witness at the signer whose account is the
 * key's single-sig account (NOT_FOUND when there is none). Other signers' witnesses are kept;
 * missing ones become empty until they are set. */
nsl_err nsl_neo_tx_sign(struct nsl_neo_tx *tx, uint32_t network_magic, const struct nsl_secret *key,
                        struct nsl_error *err);

/* Checks every witness: UNAUTHENTICATED naming the witness when a signature or script hash does
 * not match, INVALID_PARAMS when a witness is not a standard single-sig or multisig one (those
 * need chain state to check). */
nsl_err nsl_neo_tx_verify(const struct nsl_neo_tx *tx, uint32_t network_magic,
                          struct nsl_error *err);

#endif
