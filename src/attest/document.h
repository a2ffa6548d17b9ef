/* Parsing an AWS Nitro attestation document: a COSE_Sign1 (untagged or tag 18) with protected
 * header {1: -35} (ES384), an empty unprotected map, the payload map as a byte string and a
 * 96-byte r || s signature; the payload's fields by key. Definite and indefinite lengths are
 * both taken; sizes are bounded; unknown, duplicate, missing and mistyped fields are refused.
 * Parsing checks form only: nsl_attest_verify (verify.h) decides whether to trust it.
 * Failures are INVALID_PARAMS "malformed ..." (INTERNAL when memory runs out). */
#ifndef NSL_ATTEST_DOCUMENT_H
#define NSL_ATTEST_DOCUMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/cose.h"
#include "common/errors.h"

#define NSL_ATTEST_MAX_DOCUMENT   16384 /* whole COSE_Sign1 */
#define NSL_ATTEST_MAX_CABUNDLE   8
#define NSL_ATTEST_MAX_CERT       4096 /* each DER certificate */
#define NSL_ATTEST_MAX_USER_DATA  512
#define NSL_ATTEST_MAX_NONCE      512
#define NSL_ATTEST_MAX_PUBLIC_KEY 1024
#define NSL_ATTEST_MAX_MODULE_ID  128
#define NSL_ATTEST_MAX_PCRS       32 /* indices 0..31 */
#define NSL_ATTEST_PCR_LEN        48 /* SHA-384 */

/* Owned bytes. data == NULL means the field was CBOR null; an empty string has data != NULL. */
struct nsl_attest_blob {
    uint8_t *data;
    size_t len;
};

struct nsl_attest_document {
    /* COSE_Sign1, as signed */
    bool tagged;                                 /* carried tag 18 */
    struct nsl_attest_blob protected_header;     /* the bstr's contents: encoded {1: -35} */
    struct nsl_attest_blob payload;              /* the bstr's contents: the encoded payload map */
    uint8_t signature[NSL_ATTEST_SIGNATURE_LEN]; /* r || s */
    /* payload */
    char *module_id; /* printable ASCII */
    char digest[8];  /* "SHA384" */
    uint64_t timestamp_ms;
    uint32_t pcr_mask; /* bit i set: pcrs[i] was in the document */
    uint8_t pcrs[NSL_ATTEST_MAX_PCRS][NSL_ATTEST_PCR_LEN];
    struct nsl_attest_blob certificate;                       /* leaf, DER */
    struct nsl_attest_blob cabundle[NSL_ATTEST_MAX_CABUNDLE]; /* DER, root first */
    size_t cabundle_len;                                      /* >= 1 */
    struct nsl_attest_blob public_key;                        /* each may be null */
    struct nsl_attest_blob user_data;
    struct nsl_attest_blob nonce;
};

/* Parses len bytes into *doc, which the caller frees with nsl_attest_document_free. On failure
 * *doc is left empty (freeing it is harmless). */
nsl_err nsl_attest_document_parse(const uint8_t *data, size_t len, struct nsl_attest_document *doc,
                                  struct nsl_error *err);
void nsl_attest_document_free(struct nsl_attest_document *doc);

/* True when PCR index is in the document and all zero. */
bool nsl_attest_document_pcr_is_zero(const struct nsl_attest_document *doc, unsigned index);

#endif
