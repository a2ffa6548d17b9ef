/* Unit tests of crypto/kms: recipient key, KMS request bodies, and the opening of
 * CiphertextForRecipient. The fixtures in tests/fixtures/kms were made locally with the openssl
 * command line (see their README); none was recorded from AWS KMS. Other structures are built
 * in-process with OpenSSL's CMS API. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "crypto/kms.h"

#define FIXTURES NSL_SOURCE_DIR "/tests/fixtures/kms/"
#define ARN      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

/* Shared by all tests: the fixture recipient, a second key pair with certificates for both
 * (used only to build envelopes in-process), and the fixture's known data key. */
static struct nsl_kms_recipient *fixture_rcpt;
static EVP_PKEY *fixture_key, *other_key;
static X509 *fixture_cert, *other_cert;
static uint8_t known_key[32];

static uint8_t *read_file(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    uint8_t *data = malloc(65536 + 1);
    assert_non_null(data);
    *len = fread(data, 1, 65536, f);
    data[*len] = 0;
    fclose(f);
    return data;
}

static X509 *self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kms test", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static int group_setup(void **state)
{
    (void)state;
    nsl_secure_heap_init(1 << 20);
    size_t len;
    uint8_t *pem = read_file("recipient-key.pem", &len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    fixture_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(pem);
    assert_non_null(fixture_key);
    struct nsl_error err;
    assert_int_equal(nsl_kms_recipient_from_pkey(fixture_key, &fixture_rcpt, &err), NSL_OK);
    fixture_cert = self_signed(fixture_key);
    other_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(other_key);
    other_cert = self_signed(other_key);
    uint8_t *key = read_file("data-key.bin", &len);
    assert_int_equal(len, 32);
    memcpy(known_key, key, 32);
    free(key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    nsl_kms_recipient_free(fixture_rcpt);
    EVP_PKEY_free(fixture_key);
    EVP_PKEY_free(other_key);
    X509_free(fixture_cert);
    X509_free(other_cert);
    return 0;
}

/* How the key of one in-process recipient is wrapped. */
enum wrap { WRAP_OAEP_SHA256, WRAP_OAEP_SHA1, WRAP_PKCS1 };

/* EnvelopedData for the certificates given, built with OpenSSL's CMS API the way KMS builds
 * CiphertextForRecipient (RSAES-OAEP-SHA-256 with MGF1-SHA-256, AES-256-CBC by default). */
static uint8_t *build_envelope(X509 *const *certs, int n, enum wrap wrap, const EVP_CIPHER *cipher,
                               const uint8_t *plain, size_t plen, size_t *len)
{
    CMS_ContentInfo *cms = CMS_encrypt(NULL, NULL, cipher, CMS_PARTIAL | CMS_BINARY);
    assert_non_null(cms);
    for (int i = 0; i < n; i++) {
        CMS_RecipientInfo *ri = CMS_add1_recipient_cert(cms, certs[i], CMS_KEY_PARAM);
        assert_non_null(ri);
        EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
        assert_non_null(pctx);
        if (wrap == WRAP_PKCS1) {
            assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0);
            continue;
        }
        const EVP_MD *md = wrap == WRAP_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0);
    }
    BIO *in = BIO_new_mem_buf(plain, (int)plen);
    assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
    BIO_free(in);
    unsigned char *der = NULL;
    int dlen = i2d_CMS_ContentInfo(cms, &der);
    assert_true(dlen > 0);
    CMS_ContentInfo_free(cms);
    uint8_t *copy = malloc((size_t)dlen);
    memcpy(copy, der, (size_t)dlen);
    OPENSSL_free(der);
    *len = (size_t)dlen;
    return copy;
}

/* A Decrypt response body carrying envelope as CiphertextForRecipient. */
static char *response_for(const uint8_t *envelope, size_t len)
{
    char *b64 = nsl_base64_encode_alloc(envelope, len);
    json_t *o = json_pack("{s:s, s:s, s:s}", "KeyId", ARN, "CiphertextForRecipient", b64,
                          "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(b64);
    return text;
}

static nsl_err decrypt_text(const struct nsl_kms_recipient *rcpt, const char *body,
                            struct nsl_kms_result *res, struct nsl_error *err)
{
    memset(err, 0, sizeof *err);
    return nsl_kms_decrypt_response(rcpt, body, strlen(body), res, err);
}

/* Asserts that body fails with code and leaves nothing in the result. */
static void assert_decrypt_fails(const char *body, nsl_err code)
{
    struct nsl_kms_result res;
    struct nsl_error err;
    assert_int_equal(decrypt_text(fixture_rcpt, body, &res, &err), code);
    assert_int_equal(err.code, code);
    assert_true(strlen(err.message) > 0);
    assert_null(res.data_key);
    assert_null(res.key_id);
}

static void assert_envelope_fails(const uint8_t *der, size_t len)
{
    char *body = response_for(der, len);
    assert_decrypt_fails(body, NSL_ERR_INTERNAL);
    free(body);
}

/* ---- recipient key ---------------------------------------------------------------------- */

static void test_kms_recipient_spki_parses_back_as_rsa_2048(void **state)
{
    (void)state;
    struct nsl_kms_recipient *r = NULL;
    struct nsl_error err;
    assert_int_equal(nsl_kms_recipient_new(&r, &err), NSL_OK);
    size_t len;
    const uint8_t *spki = nsl_kms_recipient_spki(r, &len);
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)len);
    assert_non_null(pub);
    assert_ptr_equal(p, spki + len);
    assert_true(EVP_PKEY_is_a(pub, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(pub), 2048);
    EVP_PKEY_free(pub);
    nsl_kms_recipient_free(r);
}

static void test_kms_recipient_spki_matches_the_key(void **state)
{
    (void)state;
    size_t len;
    const uint8_t *spki = nsl_kms_recipient_spki(fixture_rcpt, &len);
    unsigned char *expect = NULL;
    int elen = i2d_PUBKEY(X509_get0_pubkey(fixture_cert), &expect);
    assert_int_equal((size_t)elen, len);
    assert_memory_equal(spki, expect, len);
    OPENSSL_free(expect);
}

static void test_kms_recipient_refuses_other_key_types(void **state)
{
    (void)state;
    struct nsl_kms_recipient *r = NULL;
    struct nsl_error err;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    assert_int_equal(nsl_kms_recipient_from_pkey(ec, &r, &err), NSL_ERR_INTERNAL);
    assert_null(r);
    EVP_PKEY_free(ec);
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(small);
    assert_int_equal(nsl_kms_recipient_from_pkey(small, &r, &err), NSL_ERR_INTERNAL);
    EVP_PKEY_free(small);
}

/* ---- requests --------------------------------------------------------------------------- */

static const uint8_t doc[] = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x59, 0xff, 0x00};
static const uint8_t blob[] = {0x01, 0x02, 0x03, 0x00, 0xfe};

static json_t *parse_body(const struct nsl_kms_request *req)
{
    assert_non_null(req->body);
    assert_int_equal(strlen(req->body), req->body_len);
    json_error_t jerr;
    json_t *o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(o);
    return o;
}

static void assert_base64_member(const json_t *o, const char *name, const uint8_t *data, size_t len)
{
    const char *s = json_string_value(json_object_get(o, name));
    assert_non_null(s);
    uint8_t out[64];
    size_t n = 0;
    assert_int_equal(nsl_base64_decode(s, strlen(s), out, sizeof out, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(out, data, len);
}

static void assert_recipient_member(const json_t *o)
{
    const json_t *r = json_object_get(o, "Recipient");
    assert_true(json_is_object(r));
    assert_int_equal(json_object_size(r), 2);
    assert_base64_member(r, "AttestationDocument", doc, sizeof doc);
    assert_string_equal(json_string_value(json_object_get(r, "KeyEncryptionAlgorithm")),
                        "RSAES_OAEP_SHA_256");
}

static void test_kms_decrypt_request_has_documented_fields(void **state)
{
    (void)state;
    struct nsl_kms_request req;
    struct nsl_error err;
    assert_int_equal(nsl_kms_decrypt_request(ARN, blob, sizeof blob, doc, sizeof doc, &req, &err),
                     NSL_OK);
    assert_string_equal(req.target, "TrentService.Decrypt");
    assert_string_equal(req.content_type, "application/x-amz-json-1.1");
    assert_string_equal(NSL_KMS_TARGET_HEADER, "X-Amz-Target");
    json_t *o = parse_body(&req);
    assert_int_equal(json_object_size(o), 3);
    assert_base64_member(o, "CiphertextBlob", blob, sizeof blob);
    assert_string_equal(json_string_value(json_object_get(o, "KeyId")), ARN);
    assert_recipient_member(o);
    json_decref(o);
    nsl_kms_request_clear(&req);
    assert_null(req.body);

    /* KeyId is optional for Decrypt. */
    assert_int_equal(nsl_kms_decrypt_request(NULL, blob, sizeof blob, doc, sizeof doc, &req, &err),
                     NSL_OK);
    o = parse_body(&req);
    assert_int_equal(json_object_size(o), 2);
    assert_null(json_object_get(o, "KeyId"));
    assert_recipient_member(o);
    json_decref(o);
    nsl_kms_request_clear(&req);
}

static void test_kms_generate_data_key_request_has_documented_fields(void **state)
{
    (void)state;
    struct nsl_kms_request req;
    struct nsl_error err;
    assert_int_equal(nsl_kms_generate_data_key_request(ARN, doc, sizeof doc, &req, &err), NSL_OK);
    assert_string_equal(req.target, "TrentService.GenerateDataKey");
    assert_string_equal(req.content_type, "application/x-amz-json-1.1");
    json_t *o = parse_body(&req);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(json_string_value(json_object_get(o, "KeyId")), ARN);
    assert_string_equal(json_string_value(json_object_get(o, "KeySpec")), "AES_256");
    assert_recipient_member(o);
    json_decref(o);
    nsl_kms_request_clear(&req);
}

static void test_kms_requests_refuse_bad_inputs(void **state)
{
    (void)state;
    struct nsl_kms_request req;
    struct nsl_error err;
    static uint8_t big[NSL_KMS_MAX_ATTESTATION_DOC + 1];
    char long_id[NSL_KMS_MAX_KEY_ID + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    assert_int_equal(nsl_kms_generate_data_key_request(NULL, doc, sizeof doc, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_kms_generate_data_key_request("", doc, sizeof doc, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_kms_generate_data_key_request("alias/a b", doc, sizeof doc, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_kms_generate_data_key_request(long_id, doc, sizeof doc, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_kms_generate_data_key_request(ARN, doc, 0, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_kms_generate_data_key_request(ARN, big, sizeof big, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_kms_decrypt_request(ARN, blob, 0, doc, sizeof doc, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_kms_decrypt_request(ARN, big, NSL_KMS_MAX_CIPHERTEXT_BLOB + 1, doc,
                                             sizeof doc, &req, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_null(req.body);
}

/* ---- responses from the fixtures -------------------------------------------------------- */

static void assert_fixture_key(const struct nsl_kms_result *res)
{
    assert_non_null(res->data_key);
    assert_int_equal(nsl_secret_len(res->data_key), 32);
    assert_memory_equal(nsl_secret_bytes(res->data_key), known_key, 32);
    assert_string_equal(res->key_id, ARN);
}

static void test_kms_decrypt_response_fixture_yields_the_known_key(void **state)
{
    (void)state;
    size_t len;
    char *body = (char *)read_file("decrypt-response.json", &len);
    struct nsl_kms_result res;
    struct nsl_error err;
    assert_int_equal(nsl_kms_decrypt_response(fixture_rcpt, body, len, &res, &err), NSL_OK);
    assert_fixture_key(&res);
    assert_int_equal(res.ciphertext_blob.len, 0);
    /* The key lives in a nsl_secret, on OpenSSL's secure heap when it could be set up. */
    if (CRYPTO_secure_malloc_initialized())
        assert_true(CRYPTO_secure_allocated(nsl_secret_bytes(res.data_key)));
    else
        print_message("secure heap unavailable here; key is on the normal heap (wiped)\n");
    nsl_kms_result_clear(&res);
    assert_null(res.data_key);
    free(body);
}

static void test_kms_decrypt_response_chunked_ber_fixture_decrypts(void **state)
{
    (void)state;
    size_t len;
    char *body = (char *)read_file("decrypt-response-chunked.json", &len);
    struct nsl_kms_result res;
    struct nsl_error err;
    assert_int_equal(nsl_kms_decrypt_response(fixture_rcpt, body, len, &res, &err), NSL_OK);
    assert_fixture_key(&res);
    nsl_kms_result_clear(&res);
    free(body);

    /* The fixture really is indefinite-length BER with the content in two chunks. */
    uint8_t *ber = read_file("ciphertext-for-recipient-chunked.ber", &len);
    assert_int_equal(ber[0], 0x30);
    assert_int_equal(ber[1], 0x80);
    assert_non_null(memmem(ber, len, "\xa0\x80\x04\x20", 4));
    free(ber);
}

static void test_kms_generate_data_key_response_fixture_yields_key_and_blob(void **state)
{
    (void)state;
    size_t len, blen;
    char *body = (char *)read_file("generate-data-key-response.json", &len);
    uint8_t *expect_blob = read_file("ciphertext-blob.bin", &blen);
    struct nsl_kms_result res;
    struct nsl_error err;
    assert_int_equal(nsl_kms_generate_data_key_response(fixture_rcpt, body, len, &res, &err),
                     NSL_OK);
    assert_fixture_key(&res);
    assert_int_equal(res.ciphertext_blob.len, blen);
    assert_memory_equal(res.ciphertext_blob.data, expect_blob, blen);
    nsl_kms_result_clear(&res);
    free(expect_blob);
    free(body);
}

static void test_kms_generate_data_key_response_needs_ciphertext_blob(void **state)
{
    (void)state;
    size_t len;
    char *body = (char *)read_file("decrypt-response.json", &len);
    struct nsl_kms_result res;
    struct nsl_error err;
    assert_int_equal(nsl_kms_generate_data_key_response(fixture_rcpt, body, len, &res, &err),
                     NSL_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "CiphertextBlob"));
    assert_null(res.data_key);
    free(body);
}

/* ---- tampering and wrong recipients ----------------------------------------------------- */

static void test_kms_rejects_flipped_last_content_block(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = read_file("ciphertext-for-recipient.der", &len);
    der[len - 1] ^= 0x01; /* DER ends with the encrypted content: this is the padding block */
    assert_envelope_fails(der, len);
    free(der);
}

static void test_kms_rejects_flipped_encrypted_key(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = read_file("ciphertext-for-recipient.der", &len);
    uint8_t *ek = memmem(der, len, "\x04\x82\x01\x00", 4); /* OCTET STRING of 256 bytes */
    assert_non_null(ek);
    ek[4 + 100] ^= 0x80;
    assert_envelope_fails(der, len);
    free(der);
}

/* EnvelopedData has no MAC: a flip in the first ciphertext block garbles the plaintext without
 * breaking the padding. This layer cannot see it; the sealed store's GCM tags do (docs/kms.md). */
static void test_kms_flipped_early_block_gives_a_wrong_key_undetected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = read_file("ciphertext-for-recipient.der", &len);
    der[len - 48] ^= 0x01; /* first of the three ciphertext blocks */
    char *body = response_for(der, len);
    struct nsl_kms_result res;
    struct nsl_error err;
    assert_int_equal(decrypt_text(fixture_rcpt, body, &res, &err), NSL_OK);
    assert_memory_not_equal(nsl_secret_bytes(res.data_key), known_key, 32);
    nsl_kms_result_clear(&res);
    free(body);
    free(der);
}

static void test_kms_rejects_envelope_for_another_key(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der =
        build_envelope(&other_cert, 1, WRAP_OAEP_SHA256, EVP_aes_256_cbc(), known_key, 32, &len);
    assert_envelope_fails(der, len);
    free(der);
}

static void test_kms_fixture_does_not_open_with_another_key(void **state)
{
    (void)state;
    struct nsl_kms_recipient *r = NULL;
    struct nsl_error err;
    assert_int_equal(nsl_kms_recipient_from_pkey(other_key, &r, &err), NSL_OK);
    size_t len;
    char *body = (char *)read_file("decrypt-response.json", &len);
    struct nsl_kms_result res;
    assert_int_equal(decrypt_text(r, body, &res, &err), NSL_ERR_INTERNAL);
    assert_null(res.data_key);
    free(body);
    nsl_kms_recipient_free(r);
}

static void test_kms_rejects_trailing_bytes_after_envelope(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = read_file("ciphertext-for-recipient.der", &len);
    der[len] = 0x00;
    assert_envelope_fails(der, len + 1);
    assert_envelope_fails(der, len - 1); /* truncated */
    assert_envelope_fails((const uint8_t *)"\x30\x03\x02\x01\x01", 5);
    free(der);
}

/* ---- envelopes built in-process --------------------------------------------------------- */

static void test_kms_opens_envelope_built_with_openssl_cms_api(void **state)
{
    (void)state;
    struct nsl_kms_recipient *r = NULL;
    struct nsl_error err;
    assert_int_equal(nsl_kms_recipient_new(&r, &err), NSL_OK);
    /* The fresh key's public half, as KMS would take it from the attestation document. */
    size_t slen;
    const uint8_t *spki = nsl_kms_recipient_spki(r, &slen);
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)slen);
    assert_non_null(pub);
    X509 *cert = X509_new();
    X509_set_pubkey(cert, pub);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)"enclave", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));

    uint8_t key[32];
    assert_int_equal(nsl_random_bytes(key, sizeof key), 0);
    size_t len;
    uint8_t *der =
        build_envelope(&cert, 1, WRAP_OAEP_SHA256, EVP_aes_256_cbc(), key, sizeof key, &len);
    struct nsl_secret *out = NULL;
    assert_int_equal(nsl_kms_open_envelope(r, der, len, 32, &out, &err), NSL_OK);
    assert_memory_equal(nsl_secret_bytes(out), key, 32);
    nsl_secret_free(out);

    char *body = response_for(der, len);
    struct nsl_kms_result res;
    assert_int_equal(decrypt_text(r, body, &res, &err), NSL_OK);
    assert_memory_equal(nsl_secret_bytes(res.data_key), key, 32);
    nsl_kms_result_clear(&res);
    free(body);
    free(der);
    nsl_wipe(key, sizeof key);
    X509_free(cert);
    EVP_PKEY_free(pub);
    nsl_kms_recipient_free(r);
}

static void test_kms_tries_every_recipient(void **state)
{
    (void)state;
    X509 *certs[2] = {other_cert, fixture_cert};
    size_t len;
    uint8_t *der =
        build_envelope(certs, 2, WRAP_OAEP_SHA256, EVP_aes_256_cbc(), known_key, 32, &len);
    struct nsl_secret *out = NULL;
    struct nsl_error err;
    assert_int_equal(nsl_kms_open_envelope(fixture_rcpt, der, len, 32, &out, &err), NSL_OK);
    assert_memory_equal(nsl_secret_bytes(out), known_key, 32);
    nsl_secret_free(out);
    free(der);
}

static void test_kms_refuses_wrong_plaintext_size(void **state)
{
    (void)state;
    size_t sizes[] = {16, 31, 33, 48};
    uint8_t plain[48] = {0};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len;
        uint8_t *der = build_envelope(&fixture_cert, 1, WRAP_OAEP_SHA256, EVP_aes_256_cbc(), plain,
                                      sizes[i], &len);
        char *body = response_for(der, len);
        struct nsl_kms_result res;
        struct nsl_error err;
        assert_int_equal(decrypt_text(fixture_rcpt, body, &res, &err), NSL_ERR_INTERNAL);
        assert_non_null(strstr(err.message, "expected"));
        assert_null(res.data_key);
        free(body);
        free(der);
    }
}

static void test_kms_refuses_other_key_transports_before_using_the_key(void **state)
{
    (void)state;
    enum wrap wraps[] = {WRAP_PKCS1, WRAP_OAEP_SHA1};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        uint8_t *der =
            build_envelope(&fixture_cert, 1, wraps[i], EVP_aes_256_cbc(), known_key, 32, &len);
        struct nsl_secret *out = NULL;
        struct nsl_error err;
        assert_int_equal(nsl_kms_open_envelope(fixture_rcpt, der, len, 32, &out, &err),
                         NSL_ERR_INTERNAL);
        assert_non_null(strstr(err.message, "RSAES-OAEP-SHA-256"));
        assert_null(out);
        free(der);
    }
}

static void test_kms_refuses_content_cipher_other_than_aes_256_cbc(void **state)
{
    (void)state;
    const EVP_CIPHER *ciphers[] = {EVP_aes_128_cbc(), EVP_aes_256_ofb()};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        uint8_t *der =
            build_envelope(&fixture_cert, 1, WRAP_OAEP_SHA256, ciphers[i], known_key, 32, &len);
        struct nsl_secret *out = NULL;
        struct nsl_error err;
        assert_int_equal(nsl_kms_open_envelope(fixture_rcpt, der, len, 32, &out, &err),
                         NSL_ERR_INTERNAL);
        assert_non_null(strstr(err.message, "AES-256-CBC"));
        free(der);
    }
}

/* ---- malformed responses ---------------------------------------------------------------- */

static void test_kms_response_needs_ciphertext_for_recipient(void **state)
{
    (void)state;
    assert_decrypt_fails("{\"KeyId\":\"" ARN "\",\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}",
                         NSL_ERR_UNAVAILABLE);
    assert_decrypt_fails("{\"KeyId\":\"" ARN "\",\"CiphertextForRecipient\":42}",
                         NSL_ERR_UNAVAILABLE);
    assert_decrypt_fails("{\"KeyId\":\"" ARN "\",\"CiphertextForRecipient\":\"\"}",
                         NSL_ERR_UNAVAILABLE);
}

static void test_kms_response_refuses_base64_garbage(void **state)
{
    (void)state;
    assert_decrypt_fails("{\"KeyId\":\"" ARN "\",\"CiphertextForRecipient\":\"MIIB*w==\"}",
                         NSL_ERR_UNAVAILABLE);
    assert_decrypt_fails("{\"KeyId\":\"" ARN "\",\"CiphertextForRecipient\":\"MIIB0w\"}",
                         NSL_ERR_UNAVAILABLE);
    /* Valid base64 that is no CMS structure. */
    assert_decrypt_fails("{\"KeyId\":\"" ARN "\",\"CiphertextForRecipient\":\"aGVsbG8=\"}",
                         NSL_ERR_INTERNAL);
}

static void test_kms_response_checks_key_id_and_types(void **state)
{
    (void)state;
    size_t len;
    char *body = (char *)read_file("decrypt-response.json", &len);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    json_object_del(o, "KeyId");
    char *text = json_dumps(o, 0);
    assert_decrypt_fails(text, NSL_ERR_UNAVAILABLE);
    free(text);
    json_object_set_new(o, "KeyId", json_integer(1));
    text = json_dumps(o, 0);
    assert_decrypt_fails(text, NSL_ERR_UNAVAILABLE);
    free(text);
    json_object_set_new(o, "KeyId", json_string(ARN));
    json_object_set_new(o, "EncryptionAlgorithm", json_true());
    text = json_dumps(o, 0);
    assert_decrypt_fails(text, NSL_ERR_UNAVAILABLE);
    free(text);
    json_decref(o);
    assert_decrypt_fails("not json", NSL_ERR_UNAVAILABLE);
    assert_decrypt_fails("[1]", NSL_ERR_UNAVAILABLE);
}

static void test_kms_response_refuses_plaintext_but_accepts_null(void **state)
{
    (void)state;
    size_t len;
    char *body = (char *)read_file("decrypt-response.json", &len);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    json_object_set_new(o, "Plaintext",
                        json_string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
    char *text = json_dumps(o, 0);
    struct nsl_kms_result res;
    struct nsl_error err;
    assert_int_equal(decrypt_text(fixture_rcpt, text, &res, &err), NSL_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "Plaintext"));
    assert_null(strstr(err.message, "AAECAwQF"));
    free(text);
    json_object_set_new(o, "Plaintext", json_null());
    text = json_dumps(o, 0);
    assert_int_equal(decrypt_text(fixture_rcpt, text, &res, &err), NSL_OK);
    assert_fixture_key(&res);
    nsl_kms_result_clear(&res);
    free(text);
    json_decref(o);
}

static void test_kms_error_answers_map_to_codes(void **state)
{
    (void)state;
    struct nsl_kms_result res;
    struct nsl_error err;
    const char *denied = "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}";
    assert_int_equal(decrypt_text(fixture_rcpt, denied, &res, &err), NSL_ERR_PERMISSION_DENIED);
    assert_non_null(strstr(err.message, "AccessDeniedException"));
    const char *other = "{\"__type\":\"com.amazonaws.kms#KMSInternalException\"}";
    assert_int_equal(decrypt_text(fixture_rcpt, other, &res, &err), NSL_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "KMSInternalException"));
    const char *odd = "{\"__type\":\"<script>\"}";
    assert_int_equal(decrypt_text(fixture_rcpt, odd, &res, &err), NSL_ERR_UNAVAILABLE);
    assert_null(strstr(err.message, "<script>"));
    assert_int_equal(
        nsl_kms_generate_data_key_response(fixture_rcpt, denied, strlen(denied), &res, &err),
        NSL_ERR_PERMISSION_DENIED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kms_recipient_spki_parses_back_as_rsa_2048),
        cmocka_unit_test(test_kms_recipient_spki_matches_the_key),
        cmocka_unit_test(test_kms_recipient_refuses_other_key_types),
        cmocka_unit_test(test_kms_decrypt_request_has_documented_fields),
        cmocka_unit_test(test_kms_generate_data_key_request_has_documented_fields),
        cmocka_unit_test(test_kms_requests_refuse_bad_inputs),
        cmocka_unit_test(test_kms_decrypt_response_fixture_yields_the_known_key),
        cmocka_unit_test(test_kms_decrypt_response_chunked_ber_fixture_decrypts),
        cmocka_unit_test(test_kms_generate_data_key_response_fixture_yields_key_and_blob),
        cmocka_unit_test(test_kms_generate_data_key_response_needs_ciphertext_blob),
        cmocka_unit_test(test_kms_rejects_flipped_last_content_block),
        cmocka_unit_test(test_kms_rejects_flipped_encrypted_key),
        cmocka_unit_test(test_kms_flipped_early_block_gives_a_wrong_key_undetected),
        cmocka_unit_test(test_kms_rejects_envelope_for_another_key),
        cmocka_unit_test(test_kms_fixture_does_not_open_with_another_key),
        cmocka_unit_test(test_kms_rejects_trailing_bytes_after_envelope),
        cmocka_unit_test(test_kms_opens_envelope_built_with_openssl_cms_api),
        cmocka_unit_test(test_kms_tries_every_recipient),
        cmocka_unit_test(test_kms_refuses_wrong_plaintext_size),
        cmocka_unit_test(test_kms_refuses_other_key_transports_before_using_the_key),
        cmocka_unit_test(test_kms_refuses_content_cipher_other_than_aes_256_cbc),
        cmocka_unit_test(test_kms_response_needs_ciphertext_for_recipient),
        cmocka_unit_test(test_kms_response_refuses_base64_garbage),
        cmocka_unit_test(test_kms_response_checks_key_id_and_types),
        cmocka_unit_test(test_kms_response_refuses_plaintext_but_accepts_null),
        cmocka_unit_test(test_kms_error_answers_map_to_codes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
