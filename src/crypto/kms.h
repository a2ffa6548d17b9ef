/* The `kms` master-key provider's pure part (ARCHITECTURE §7, docs/kms.md): the enclave's RSA-2048
 * recipient key, the bodies of AWS KMS Decrypt / GenerateDataKey requests that name the enclave's
 * attestation document as Recipient (KMS JSON 1.1 API), and the opening of the answer's
 * CiphertextForRecipient (CMS EnvelopedData, RFC 5652 §6: RSAES-OAEP-SHA-256 key transport,
 * AES-256-CBC content, DER or chunked BER) inside the enclave. The data key comes out only as a
 * struct nsl_secret; no plaintext crosses the parent. No I/O here: no HTTP, no SigV4, no NSM. */
#ifndef NSL_CRYPTO_KMS_H
#define NSL_CRYPTO_KMS_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"
#include "crypto/secret.h"

/* HTTP headers the forwarding layer must send with a request's body (plus Host, X-Amz-Date,
 * Authorization from SigV4, which this module does not do). */
#define NSL_KMS_TARGET_HEADER            "X-Amz-Target"
#define NSL_KMS_CONTENT_TYPE_HEADER      "Content-Type"
#define NSL_KMS_CONTENT_TYPE             "application/x-amz-json-1.1"
#define NSL_KMS_TARGET_DECRYPT           "TrentService.Decrypt"
#define NSL_KMS_TARGET_GENERATE_DATA_KEY "TrentService.GenerateDataKey"
#define NSL_KMS_KEY_ENCRYPTION_ALGORITHM "RSAES_OAEP_SHA_256"

#define NSL_KMS_DATA_KEY_LEN        32    /* KeySpec AES_256 */
#define NSL_KMS_RSA_BITS            2048  /* what KMS accepts in the attestation document */
#define NSL_KMS_MAX_KEY_ID          2048  /* KMS's KeyId length constraint */
#define NSL_KMS_MAX_CIPHERTEXT_BLOB 6144  /* KMS's CiphertextBlob length constraint */
#define NSL_KMS_MAX_ATTESTATION_DOC 16384 /* NSM answers fit in 12288 bytes */
#define NSL_KMS_MAX_ENVELOPE        8192  /* decoded CiphertextForRecipient */
#define NSL_KMS_MAX_RESPONSE        65536 /* response body */

/* The enclave's recipient key pair. The private key stays in this process (OpenSSL keeps RSA
 * private components on the secure heap once nsl_secure_heap_init has run) and is never
 * exported; only its public half leaves, as DER SubjectPublicKeyInfo for the attestation
 * document's public_key. Seed the DRBG (NSM GetRandom) before creating one. */
struct nsl_kms_recipient;

/* A fresh RSA-2048 key pair. */
nsl_err nsl_kms_recipient_new(struct nsl_kms_recipient **out, struct nsl_error *err);
/* Wraps an existing RSA-2048 key (takes its own reference; for tests and fixtures). */
nsl_err nsl_kms_recipient_from_pkey(EVP_PKEY *pkey, struct nsl_kms_recipient **out,
                                    struct nsl_error *err);
void nsl_kms_recipient_free(struct nsl_kms_recipient *rcpt);
/* DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) of the public key; owned by rcpt. */
const uint8_t *nsl_kms_recipient_spki(const struct nsl_kms_recipient *rcpt, size_t *len);

/* One KMS call for the parent to forward: target is the X-Amz-Target value (static), body the
 * JSON text (malloc'd, NUL-terminated; holds ciphertext and the attestation document only). */
struct nsl_kms_request {
    const char *target;
    const char *content_type;
    char *body;
    size_t body_len;
};
void nsl_kms_request_clear(struct nsl_kms_request *req);

/* {"CiphertextBlob": b64, "KeyId"?: key_id, "Recipient": {"AttestationDocument": b64,
 * "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}; key_id may be NULL (KMS finds the key in
 * the blob's metadata) but naming it is the better practice. Bad sizes: INVALID_PARAMS. */
nsl_err nsl_kms_decrypt_request(const char *key_id, const uint8_t *ciphertext_blob, size_t blob_len,
                                const uint8_t *attestation_doc, size_t doc_len,
                                struct nsl_kms_request *out, struct nsl_error *err);
/* {"KeyId": key_id, "KeySpec": "AES_256", "Recipient": {...}}. */
nsl_err nsl_kms_generate_data_key_request(const char *key_id, const uint8_t *attestation_doc,
                                          size_t doc_len, struct nsl_kms_request *out,
                                          struct nsl_error *err);

/* What a KMS answer yields. */
struct nsl_kms_result {
    struct nsl_secret *data_key;    /* NSL_KMS_DATA_KEY_LEN bytes, secure heap */
    struct nsl_buf ciphertext_blob; /* GenerateDataKey: the KMS-wrapped key to store; else empty */
    char *key_id;                   /* the KMS key ARN the answer names */
};
/* Frees (and wipes) everything in r and zeroes it. */
void nsl_kms_result_clear(struct nsl_kms_result *r);

/* Parse a Decrypt / GenerateDataKey response body and open its CiphertextForRecipient with
 * rcpt's private key. Errors (messages name fields, never content):
 *   PERMISSION_DENIED  KMS answered AccessDeniedException (e.g. the key policy's PCRs differ);
 *   UNAVAILABLE        any other KMS error, or a body that is not the documented shape
 *                      (missing or ill-typed field, bad base64, oversize);
 *   INTERNAL           a non-empty Plaintext (the key crossed the parent in clear: refused), or
 *                      a CiphertextForRecipient that is malformed, uses other algorithms, was
 *                      made for another key, fails to decrypt, or holds other than 32 bytes. */
nsl_err nsl_kms_decrypt_response(const struct nsl_kms_recipient *rcpt, const char *body, size_t len,
                                 struct nsl_kms_result *out, struct nsl_error *err);
nsl_err nsl_kms_generate_data_key_response(const struct nsl_kms_recipient *rcpt, const char *body,
                                           size_t len, struct nsl_kms_result *out,
                                           struct nsl_error *err);

/* Opens a CMS EnvelopedData (ContentInfo, DER or BER) addressed to rcpt: every RecipientInfo
 * must be KeyTransRecipientInfo with RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label), checked
 * before the private key is used; each is tried with the key regardless of its identifier;
 * content must be AES-256-CBC and decrypt to exactly expected_len bytes. INTERNAL otherwise.
 * Note: EnvelopedData carries no MAC, so a change to an early ciphertext block can yield a wrong
 * key without an error here; the sealed store's GCM tags are what catch that (docs/kms.md). */
nsl_err nsl_kms_open_envelope(const struct nsl_kms_recipient *rcpt, const uint8_t *der, size_t len,
                              size_t expected_len, struct nsl_secret **out, struct nsl_error *err);

#endif
