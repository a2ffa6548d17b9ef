/* The COSE_Sign1 pieces an attestation document needs (RFC 9052 §4.2, §4.4, RFC 9053 §2.1):
 * the Sig_structure that ES384 signs, and the conversion between COSE's fixed-size r || s
 * signature and the DER ECDSA-Sig-Value that OpenSSL's EVP interface takes and gives. Shared by
 * the verifier and by whoever builds documents (the simulated NSM). */
#ifndef NSL_ATTEST_COSE_H
#define NSL_ATTEST_COSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"

#define NSL_ATTEST_COSE_TAG_SIGN1 18  /* CBOR tag of COSE_Sign1 */
#define NSL_ATTEST_COSE_ALG_ES384 -35 /* protected header {1: -35} */
#define NSL_ATTEST_ES384_COORD    48  /* bytes of r and of s */
#define NSL_ATTEST_SIGNATURE_LEN  96  /* r || s */

/* Appends ["Signature1", protected, h'' (empty external_aad), payload] to out, every head in
 * its shortest form, strings definite. Returns 0 or -1 (out of memory). */
int nsl_attest_cose_sig_structure(const uint8_t *protected_header, size_t protected_len,
                                  const uint8_t *payload, size_t payload_len, struct nsl_buf *out);

/* r || s (96 bytes) to a malloc'd DER ECDSA-Sig-Value. Returns 0 or -1. */
int nsl_attest_cose_sig_to_der(const uint8_t sig[NSL_ATTEST_SIGNATURE_LEN], uint8_t **der,
                               size_t *der_len);
/* A DER ECDSA-Sig-Value (as EVP_DigestSign gives) to r || s. Returns 0 or -1 (not DER, or r or
 * s above 48 bytes). */
int nsl_attest_cose_sig_from_der(const uint8_t *der, size_t der_len,
                                 uint8_t sig[NSL_ATTEST_SIGNATURE_LEN]);

#endif
