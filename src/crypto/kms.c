/* AWS KMS with the attestation document as recipient (see kms.h and docs/kms.md).
 *
 * Request and response shapes: KMS API Reference, Decrypt and GenerateDataKey ("Recipient",
 * "CiphertextForRecipient"), and aws-nitro-enclaves-sdk-c docs/kms-apis. CiphertextForRecipient
 * is a CMS ContentInfo holding EnvelopedData (RFC 5652 §6.1) with one KeyTransRecipientInfo
 * (§6.2.1; AWS's SDK expects version 2, i.e. a subjectKeyIdentifier) whose key is wrapped with
 * RSAES-OAEP-SHA-256 (RFC 8017 §7.1, RFC 4055 §4.1 parameters), content AES-256-CBC (RFC 3565),
 * sometimes as indefinite-length BER with the content in chunks; OpenSSL's decoder takes both. */
#include "crypto/kms.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"

struct nsl_kms_recipient {
    EVP_PKEY *pkey;
    uint8_t *spki;
    int spki_len;
};

/* ---- recipient key ---------------------------------------------------------------------- */

nsl_err nsl_kms_recipient_from_pkey(EVP_PKEY *pkey, struct nsl_kms_recipient **out,
                                    struct nsl_error *err)
{
    *out = NULL;
    if (!pkey || !EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_bits(pkey) != NSL_KMS_RSA_BITS)
        return nsl_fail(err, NSL_ERR_INTERNAL, "KMS recipient key must be RSA-%d",
                        NSL_KMS_RSA_BITS);
    struct nsl_kms_recipient *r = calloc(1, sizeof *r);
    if (!r)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    r->spki_len = i2d_PUBKEY(pkey, &r->spki);
    if (r->spki_len <= 0 || !EVP_PKEY_up_ref(pkey)) {
        OPENSSL_free(r->spki);
        free(r);
        ERR_clear_error();
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot encode the KMS recipient public key");
    }
    r->pkey = pkey;
    *out = r;
    return NSL_OK;
}

nsl_err nsl_kms_recipient_new(struct nsl_kms_recipient **out, struct nsl_error *err)
{
    *out = NULL;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)NSL_KMS_RSA_BITS);
    if (!pkey) {
        ERR_clear_error();
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot generate the KMS recipient key");
    }
    nsl_err rc = nsl_kms_recipient_from_pkey(pkey, out, err);
    EVP_PKEY_free(pkey);
    return rc;
}

void nsl_kms_recipient_free(struct nsl_kms_recipient *rcpt)
{
    if (!rcpt)
        return;
    EVP_PKEY_free(rcpt->pkey);
    OPENSSL_free(rcpt->spki);
    free(rcpt);
}

const uint8_t *nsl_kms_recipient_spki(const struct nsl_kms_recipient *rcpt, size_t *len)
{
    *len = (size_t)rcpt->spki_len;
    return rcpt->spki;
}

/* ---- requests --------------------------------------------------------------------------- */

void nsl_kms_request_clear(struct nsl_kms_request *req)
{
    if (!req)
        return;
    free(req->body);
    memset(req, 0, sizeof *req);
}

static nsl_err check_key_id(const char *key_id, struct nsl_error *err)
{
    size_t n = strlen(key_id);
    if (n == 0 || n > NSL_KMS_MAX_KEY_ID)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "KMS KeyId must be 1..%d bytes",
                        NSL_KMS_MAX_KEY_ID);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key_id[i] < 0x21 || (unsigned char)key_id[i] > 0x7e)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "KMS KeyId must be printable ASCII without spaces");
    return NSL_OK;
}

static json_t *recipient_object(const uint8_t *doc, size_t doc_len)
{
    char *b64 = nsl_base64_encode_alloc(doc, doc_len);
    json_t *r = b64 ? json_pack("{s:s, s:s}", "AttestationDocument", b64, "KeyEncryptionAlgorithm",
                                NSL_KMS_KEY_ENCRYPTION_ALGORITHM)
                    : NULL;
    free(b64);
    return r;
}

/* Serializes body (consumed) into out. */
static nsl_err finish_request(json_t *body, const char *target, struct nsl_kms_request *out,
                              struct nsl_error *err)
{
    size_t len = 0;
    char *text = body ? nsl_json_dump(body, &len) : NULL;
    json_decref(body);
    if (!text)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory building the KMS request");
    out->target = target;
    out->content_type = NSL_KMS_CONTENT_TYPE;
    out->body = text;
    out->body_len = len;
    return NSL_OK;
}

static nsl_err check_attestation_doc(const uint8_t *doc, size_t doc_len, struct nsl_error *err)
{
    if (!doc || doc_len == 0 || doc_len > NSL_KMS_MAX_ATTESTATION_DOC)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "attestation document must be 1..%d bytes",
                        NSL_KMS_MAX_ATTESTATION_DOC);
    return NSL_OK;
}

nsl_err nsl_kms_decrypt_request(const char *key_id, const uint8_t *ciphertext_blob, size_t blob_len,
                                const uint8_t *attestation_doc, size_t doc_len,
                                struct nsl_kms_request *out, struct nsl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!ciphertext_blob || blob_len == 0 || blob_len > NSL_KMS_MAX_CIPHERTEXT_BLOB)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "KMS CiphertextBlob must be 1..%d bytes",
                        NSL_KMS_MAX_CIPHERTEXT_BLOB);
    if (key_id)
        NSL_TRY(check_key_id(key_id, err));
    NSL_TRY(check_attestation_doc(attestation_doc, doc_len, err));

    char *blob = nsl_base64_encode_alloc(ciphertext_blob, blob_len);
    json_t *body = blob ? json_pack("{s:s, s:o}", "CiphertextBlob", blob, "Recipient",
                                    recipient_object(attestation_doc, doc_len))
                        : NULL;
    free(blob);
    if (body && key_id && json_object_set_new(body, "KeyId", json_string(key_id)) != 0) {
        json_decref(body);
        body = NULL;
    }
    return finish_request(body, NSL_KMS_TARGET_DECRYPT, out, err);
}

nsl_err nsl_kms_generate_data_key_request(const char *key_id, const uint8_t *attestation_doc,
                                          size_t doc_len, struct nsl_kms_request *out,
                                          struct nsl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!key_id)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "GenerateDataKey needs a KMS KeyId");
    NSL_TRY(check_key_id(key_id, err));
    NSL_TRY(check_attestation_doc(attestation_doc, doc_len, err));
    json_t *body = json_pack("{s:s, s:s, s:o}", "KeyId", key_id, "KeySpec", "AES_256", "Recipient",
                             recipient_object(attestation_doc, doc_len));
    return finish_request(body, NSL_KMS_TARGET_GENERATE_DATA_KEY, out, err);
}

/* ---- opening CiphertextForRecipient ----------------------------------------------------- */

/* The DER parameters of an AlgorithmIdentifier when they are a SEQUENCE, else NULL. */
static const ASN1_STRING *algorithm_sequence_params(const X509_ALGOR *alg)
{
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    return ptype == V_ASN1_SEQUENCE ? pval : NULL;
}

static bool is_sha256(const X509_ALGOR *alg)
{
    const ASN1_OBJECT *obj = NULL;
    int ptype = V_ASN1_UNDEF;
    X509_ALGOR_get0(&obj, &ptype, NULL, alg);
    return OBJ_obj2nid(obj) == NID_sha256 && (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL);
}

/* MGF1 with SHA-256 (RFC 4055 §4.1). */
static bool is_mgf1_sha256(const X509_ALGOR *mgf)
{
    const ASN1_OBJECT *obj = NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, mgf);
    const ASN1_STRING *seq = algorithm_sequence_params(mgf);
    if (OBJ_obj2nid(obj) != NID_mgf1 || !seq)
        return false;
    const unsigned char *p = ASN1_STRING_get0_data(seq);
    long n = ASN1_STRING_length(seq);
    X509_ALGOR *hash = d2i_X509_ALGOR(NULL, &p, n);
    bool ok = hash && p == ASN1_STRING_get0_data(seq) + n && is_sha256(hash);
    X509_ALGOR_free(hash);
    return ok;
}

/* pSourceFunc absent, or pSpecified with an empty label. */
static bool is_empty_label(const X509_ALGOR *psource)
{
    if (!psource)
        return true;
    const ASN1_OBJECT *obj = NULL;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(&obj, &ptype, &pval, psource);
    return OBJ_obj2nid(obj) == NID_pSpecified && ptype == V_ASN1_OCTET_STRING &&
           ASN1_STRING_length(pval) == 0;
}

/* RSAES-OAEP with SHA-256, MGF1-SHA-256 and no label: the only key transport KMS uses, and the
 * only one the enclave's key may be used for (PKCS#1 v1.5 would give the parent a padding
 * oracle against it). */
static bool is_rsaes_oaep_sha256(const X509_ALGOR *alg)
{
    const ASN1_OBJECT *obj = NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    const ASN1_STRING *seq = algorithm_sequence_params(alg);
    if (OBJ_obj2nid(obj) != NID_rsaesOaep || !seq)
        return false; /* absent parameters mean SHA-1 */
    const unsigned char *p = ASN1_STRING_get0_data(seq);
    long n = ASN1_STRING_length(seq);
    RSA_OAEP_PARAMS *params = d2i_RSA_OAEP_PARAMS(NULL, &p, n);
    bool ok = params && p == ASN1_STRING_get0_data(seq) + n && params->hashFunc &&
              is_sha256(params->hashFunc) && params->maskGenFunc &&
              is_mgf1_sha256(params->maskGenFunc) && is_empty_label(params->pSourceFunc);
    RSA_OAEP_PARAMS_free(params);
    return ok;
}

/* Checks every RecipientInfo, then unwraps the content key with the first that opens. */
static nsl_err unwrap_content_key(CMS_ContentInfo *cms, EVP_PKEY *pkey, struct nsl_error *err)
{
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    int n = ris ? sk_CMS_RecipientInfo_num(ris) : 0;
    if (n < 1 || n > 8)
        return nsl_fail(err, NSL_ERR_INTERNAL,
                        "CiphertextForRecipient must have 1..8 recipients, has %d", n);
    for (int i = 0; i < n; i++) {
        CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
        X509_ALGOR *alg = NULL;
        if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS ||
            CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg) != 1 || !alg ||
            !is_rsaes_oaep_sha256(alg))
            return nsl_fail(err, NSL_ERR_INTERNAL,
                            "CiphertextForRecipient recipient %d is not RSAES-OAEP-SHA-256 key "
                            "transport",
                            i);
    }
    /* The recipient identifier is not compared: KMS does not document how it fills it, and
     * the enclave has no certificate; OAEP's integrity check picks the right one. */
    for (int i = 0; i < n; i++) {
        CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
        if (!EVP_PKEY_up_ref(pkey))
            break;
        CMS_RecipientInfo_set0_pkey(ri, pkey);
        int ok = CMS_RecipientInfo_decrypt(cms, ri);
        CMS_RecipientInfo_set0_pkey(ri, NULL);
        if (ok == 1)
            return NSL_OK;
    }
    return nsl_fail(err, NSL_ERR_INTERNAL,
                    "CiphertextForRecipient does not open with the enclave's key (made for "
                    "another recipient, or altered)");
}

/* Reads the decrypted content from the CMS BIO chain, chunk by chunk through secure memory,
 * into a secret of exactly expected_len bytes. */
static nsl_err read_content(BIO *cont, size_t expected_len, struct nsl_secret **out,
                            struct nsl_error *err)
{
    BIO *cbio = BIO_find_type(cont, BIO_TYPE_CIPHER);
    EVP_CIPHER_CTX *cctx = NULL;
    if (!cbio || BIO_get_cipher_ctx(cbio, &cctx) != 1 || !cctx ||
        EVP_CIPHER_CTX_get_nid(cctx) != NID_aes_256_cbc)
        return nsl_fail(err, NSL_ERR_INTERNAL, "CiphertextForRecipient content is not AES-256-CBC");

    nsl_err rc = NSL_OK;
    NSL_AUTO_SECRET struct nsl_secret *chunk = nsl_secret_new(64);
    NSL_AUTO_SECRET struct nsl_secret *key = nsl_secret_new(expected_len);
    if (!chunk || !key)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of secure memory");
    size_t total = 0;
    for (;;) {
        int r = BIO_read(cont, nsl_secret_bytes(chunk), (int)nsl_secret_len(chunk));
        if (r < 0) {
            rc = nsl_fail(err, NSL_ERR_INTERNAL, "CiphertextForRecipient content is malformed");
            break;
        }
        if (r == 0) {
            if (BIO_get_cipher_status(cbio) != 1)
                rc = nsl_fail(err, NSL_ERR_INTERNAL,
                              "CiphertextForRecipient does not decrypt (altered, or made for "
                              "another key)");
            else if (total != expected_len)
                rc = nsl_fail(err, NSL_ERR_INTERNAL,
                              "CiphertextForRecipient holds %zu bytes, expected %zu", total,
                              expected_len);
            break;
        }
        if ((size_t)r > expected_len - total) {
            rc = nsl_fail(err, NSL_ERR_INTERNAL,
                          "CiphertextForRecipient holds more than the expected %zu bytes",
                          expected_len);
            break;
        }
        memcpy(nsl_secret_bytes(key) + total, nsl_secret_bytes(chunk), (size_t)r);
        total += (size_t)r;
    }
    if (rc == NSL_OK) {
        *out = key;
        key = NULL;
    }
    return rc;
}

nsl_err nsl_kms_open_envelope(const struct nsl_kms_recipient *rcpt, const uint8_t *der, size_t len,
                              size_t expected_len, struct nsl_secret **out, struct nsl_error *err)
{
    *out = NULL;
    if (!der || len == 0 || len > NSL_KMS_MAX_ENVELOPE)
        return nsl_fail(err, NSL_ERR_INTERNAL, "CiphertextForRecipient must be 1..%d bytes",
                        NSL_KMS_MAX_ENVELOPE);
    if (expected_len == 0 || expected_len > 4096)
        return nsl_fail(err, NSL_ERR_INTERNAL, "expected plaintext size out of range");

    nsl_err rc = NSL_OK;
    BIO *cont = NULL;
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (!cms || p != der + len) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "CiphertextForRecipient is not one CMS structure");
        goto cleanup;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "CiphertextForRecipient is not EnvelopedData");
        goto cleanup;
    }
    rc = unwrap_content_key(cms, rcpt->pkey, err);
    if (rc != NSL_OK)
        goto cleanup;
    /* CMS_decrypt would copy the plaintext through an unwiped stack buffer; reading the
     * decrypting BIO chain ourselves keeps it in secure memory. */
    cont = CMS_dataInit(cms, NULL);
    if (!cont) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "CiphertextForRecipient has no usable content");
        goto cleanup;
    }
    rc = read_content(cont, expected_len, out, err);
cleanup:
    BIO_free_all(cont);
    CMS_ContentInfo_free(cms); /* wipes the unwrapped content key */
    ERR_clear_error();
    return rc;
}

/* ---- responses -------------------------------------------------------------------------- */

void nsl_kms_result_clear(struct nsl_kms_result *r)
{
    if (!r)
        return;
    nsl_secret_free(r->data_key);
    nsl_buf_free(&r->ciphertext_blob);
    free(r->key_id);
    memset(r, 0, sizeof *r);
}

/* A KMS error answer ({"__type": "...#AccessDeniedException", "message": ...}) as an error. */
static nsl_err kms_error(const char *type, struct nsl_error *err)
{
    size_t n = strlen(type);
    bool printable = n > 0 && n <= 128;
    for (size_t i = 0; printable && i < n; i++)
        printable = (type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z') ||
                    (type[i] >= '0' && type[i] <= '9') || strchr("#._:-", type[i]) != NULL;
    if (!printable)
        type = "(unreadable type)";
    const char *hash = strrchr(type, '#');
    const char *name = hash ? hash + 1 : type;
    nsl_err code = strcmp(name, "AccessDeniedException") == 0 ? NSL_ERR_PERMISSION_DENIED
                                                              : NSL_ERR_UNAVAILABLE;
    return nsl_fail(err, code, "KMS refused the request: %s", name);
}

/* Decodes the base64 string member name of obj into a new buffer of 1..max bytes. */
static nsl_err base64_member(const json_t *obj, const char *name, size_t max, struct nsl_buf *out,
                             struct nsl_error *err)
{
    const json_t *v = json_object_get(obj, name);
    if (!v)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response lacks %s", name);
    if (!json_is_string(v))
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response field %s must be a string", name);
    const char *s = json_string_value(v);
    size_t slen = json_string_length(v);
    size_t cap = nsl_base64_decoded_max(slen);
    if (slen == 0 || cap > max + 2 || nsl_buf_reserve(out, cap) != 0)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response field %s must be 1..%zu bytes",
                        name, max);
    size_t n = 0;
    if (nsl_base64_decode(s, slen, out->data, cap, &n) != 0)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response field %s is not valid base64",
                        name);
    if (n == 0 || n > max)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response field %s must be 1..%zu bytes",
                        name, max);
    out->len = n;
    return NSL_OK;
}

static nsl_err optional_string(const json_t *obj, const char *name, struct nsl_error *err)
{
    const json_t *v = json_object_get(obj, name);
    if (v && !json_is_string(v))
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response field %s must be a string", name);
    return NSL_OK;
}

/* The checks both responses share, then the opening of CiphertextForRecipient. */
static nsl_err parse_response(const struct nsl_kms_recipient *rcpt, json_t *obj,
                              struct nsl_kms_result *out, struct nsl_error *err)
{
    const json_t *type = json_object_get(obj, "__type");
    if (type)
        return kms_error(json_is_string(type) ? json_string_value(type) : "", err);

    /* With a Recipient, KMS leaves Plaintext null or empty. A value means the request went out
     * without one and the key crossed the parent in clear: refuse it, and wipe our copy. */
    json_t *plain = json_object_get(obj, "Plaintext");
    if (plain && !json_is_null(plain)) {
        bool empty = json_is_string(plain) && json_string_length(plain) == 0;
        if (json_is_string(plain))
            nsl_wipe((char *)json_string_value(plain), json_string_length(plain));
        if (!empty)
            return nsl_fail(err, NSL_ERR_INTERNAL,
                            "KMS response carries Plaintext: the data key was exposed outside "
                            "the enclave; refusing it");
    }

    const json_t *key_id = json_object_get(obj, "KeyId");
    if (!key_id || !json_is_string(key_id) || json_string_length(key_id) == 0 ||
        json_string_length(key_id) > NSL_KMS_MAX_KEY_ID ||
        strlen(json_string_value(key_id)) != json_string_length(key_id))
        return nsl_fail(err, NSL_ERR_UNAVAILABLE,
                        "KMS response field KeyId must be a string of 1..%d bytes",
                        NSL_KMS_MAX_KEY_ID);
    NSL_TRY(optional_string(obj, "EncryptionAlgorithm", err));
    NSL_TRY(optional_string(obj, "KeyMaterialId", err));

    struct nsl_buf envelope = {0};
    nsl_err rc = base64_member(obj, "CiphertextForRecipient", NSL_KMS_MAX_ENVELOPE, &envelope, err);
    if (rc == NSL_OK)
        rc = nsl_kms_open_envelope(rcpt, envelope.data, envelope.len, NSL_KMS_DATA_KEY_LEN,
                                   &out->data_key, err);
    nsl_buf_free(&envelope);
    if (rc != NSL_OK)
        return rc;
    out->key_id = strdup(json_string_value(key_id));
    if (!out->key_id)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return NSL_OK;
}

static nsl_err parse_body(const struct nsl_kms_recipient *rcpt, const char *body, size_t len,
                          bool want_blob, struct nsl_kms_result *out, struct nsl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0 || len > NSL_KMS_MAX_RESPONSE)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response body must be 1..%d bytes",
                        NSL_KMS_MAX_RESPONSE);
    struct nsl_error perr;
    json_t *obj = nsl_json_parse_object(body, len, NSL_ERR_UNAVAILABLE, &perr);
    /* jansson's message can quote the body; say only where it broke. */
    if (!obj)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "KMS response is not one JSON object");
    nsl_err rc = NSL_OK;
    if (want_blob && !json_object_get(obj, "__type"))
        rc = base64_member(obj, "CiphertextBlob", NSL_KMS_MAX_CIPHERTEXT_BLOB,
                           &out->ciphertext_blob, err);
    if (rc == NSL_OK)
        rc = parse_response(rcpt, obj, out, err);
    json_decref(obj);
    if (rc != NSL_OK)
        nsl_kms_result_clear(out);
    return rc;
}

nsl_err nsl_kms_decrypt_response(const struct nsl_kms_recipient *rcpt, const char *body, size_t len,
                                 struct nsl_kms_result *out, struct nsl_error *err)
{
    return parse_body(rcpt, body, len, false, out, err);
}

nsl_err nsl_kms_generate_data_key_response(const struct nsl_kms_recipient *rcpt, const char *body,
                                           size_t len, struct nsl_kms_result *out,
                                           struct nsl_error *err)
{
    return parse_body(rcpt, body, len, true, out, err);
}
