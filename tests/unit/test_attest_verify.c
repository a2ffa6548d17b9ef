/* Unit tests of attest/verify: the three real AWS documents (tests/fixtures/nitro, copied from
 * ../shared/fixtures/nitro) verify at their own time with their nonce and PCRs and fail now with
 * the expiry message; damaged copies fail each with its own message; simulated documents, built
 * here with a throwaway P-384 CA, are accepted only when allowed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cbor.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/aws_root.h"
#include "attest/cbor.h"
#include "attest/cose.h"
#include "attest/verify.h"
#include "common/buf.h"
#include "common/encoding.h"

#define FIXTURES  NSL_SOURCE_DIR "/tests/fixtures/nitro/"
#define DOC_DEBUG "attestation-debug-2024-09-17.cbor"
#define DOC_2025  "attestation-prod-2025-04-01.cbor"
#define DOC_2026  "attestation-prod-2026-02-02.cbor"
#define AT_DEBUG  1726587375
#define AT_2025   1743516971
#define AT_2026   1770066000

#define NONCE_DEBUG "0000000000000000000000000000000000000001"
#define NONCE_2026  "0123456789abcdef0123456789abcdef01234567"

#define PCR1_PROD                                                                                  \
    "4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbd" \
    "a493"
#define PCR0_2026                                                                                  \
    "9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cc" \
    "e0ff"
#define PCR2_2026                                                                                  \
    "769925c8ae0c5c2d1aa86de149213b1c5dec642557bf0c426c6581f0e562a042d1c7d2578443515d103f74ce5533" \
    "7666"
#define PCR4_2026                                                                                  \
    "eb85f08a56f45ba20730ca9f061557e0d8361000b03348bb7afb1af949bcd6af7a7bb863e93e8a89326ff79bb021" \
    "074b"
#define PCR0_2025                                                                                  \
    "517a9ec66c4c8e8f3b309c4a4598e2383dff4ec07dfa48617c2d7ec9b1fbf86a597b4376b18114914a31af2ea12a" \
    "2db6"
#define PCR2_2025                                                                                  \
    "365caf856d5ef95d4ef49b1883367179fd5d40504d75d8b0c8af7672aff3bb37c0026a69c89d170bdc724b53e842" \
    "3a7d"
#define PCR4_2025                                                                                  \
    "6386cee86c94b2a713c98e1d883134e8f2c019a17a712eb950fde15e9d6667575569c4e5c5e66eb9c92036996102" \
    "5f"                                                                                           \
    "d2"
#define PCR8_2025                                                                                  \
    "7e3f4c20f65f0a62de884a41ef73fd693c136173fec4ad19336d2ce3b1d63246da3383cbb83cd10dad77d5d1aafc" \
    "dce1"

static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    uint8_t *data = malloc(65536);
    assert_non_null(data);
    *len = fread(data, 1, 65536, f);
    fclose(f);
    return data;
}

static uint8_t nonce_buf[64];

static void set_nonce(struct nsl_attest_policy *p, const char *hex)
{
    size_t n = 0;
    assert_int_equal(nsl_hex_decode(hex, strlen(hex), nonce_buf, sizeof nonce_buf, &n), 0);
    p->nonce = nonce_buf;
    p->nonce_len = n;
}

static void expect_pcr(struct nsl_attest_policy *p, unsigned i, const char *hex)
{
    assert_int_equal(nsl_attest_policy_expect_pcr(p, i, hex), 0);
}

/* The policy each fixture passes with: its own time, nonce and production PCRs. */
static struct nsl_attest_policy policy_2026(void)
{
    struct nsl_attest_policy p = {0};
    p.at_set = true;
    p.at = AT_2026;
    set_nonce(&p, NONCE_2026);
    expect_pcr(&p, 0, PCR0_2026);
    expect_pcr(&p, 1, PCR1_PROD);
    expect_pcr(&p, 2, PCR2_2026);
    expect_pcr(&p, 4, PCR4_2026);
    return p;
}

static void verify_ok(const uint8_t *data, size_t len, const struct nsl_attest_policy *p,
                      enum nsl_attest_mode mode)
{
    struct nsl_attest_result r;
    struct nsl_error err = {0};
    nsl_err rc = nsl_attest_verify(data, len, p, &r, &err);
    if (rc != NSL_OK)
        fail_msg("verify failed: %s: %s", nsl_err_name(rc), err.message);
    assert_int_equal(r.mode, mode);
    nsl_attest_result_free(&r);
}

static void verify_fails(const uint8_t *data, size_t len, const struct nsl_attest_policy *p,
                         nsl_err code, const char *fragment)
{
    struct nsl_attest_result r;
    struct nsl_error err = {0};
    nsl_err rc = nsl_attest_verify(data, len, p, &r, &err);
    if (rc != code || !strstr(err.message, fragment))
        fail_msg("expected %s \"%s\", got %s \"%s\"", nsl_err_name(code), fragment,
                 nsl_err_name(rc), err.message);
    assert_null(r.doc.module_id); /* nothing left behind */
}

/* Offset of needle in hay (both from the same document), or fail. */
static size_t find(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= hay_len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return i;
    fail_msg("bytes not found");
    return 0;
}

/* ---- the real documents ------------------------------------------------------------------ */

static void test_verify_prod_2026_at_its_time(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    struct nsl_attest_result r;
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_verify(data, len, &p, &r, &err), NSL_OK);
    assert_int_equal(r.mode, NSL_ATTEST_MODE_NITRO);
    assert_string_equal(nsl_attest_mode_name(r.mode), "nitro");
    assert_int_equal(r.at, AT_2026);
    assert_string_equal(r.doc.module_id, "i-0340e0cb833504eb6-enc019c12d31f78864d");
    assert_int_equal(r.doc.cabundle_len, 4);
    assert_int_equal(r.doc.cabundle[0].len, NSL_ATTEST_AWS_ROOT_DER_LEN);
    nsl_attest_result_free(&r);
    nsl_attest_result_free(&r);
    free(data);
}

static void test_verify_prod_2025_at_its_time(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2025, &len);
    struct nsl_attest_policy p = {0};
    p.at_set = true;
    p.at = AT_2025;
    expect_pcr(&p, 0, PCR0_2025);
    expect_pcr(&p, 1, PCR1_PROD);
    expect_pcr(&p, 2, PCR2_2025);
    expect_pcr(&p, 4, PCR4_2025);
    expect_pcr(&p, 8, PCR8_2025);
    verify_ok(data, len, &p, NSL_ATTEST_MODE_NITRO);
    /* Expecting a nonce from a document that has none. */
    set_nonce(&p, NONCE_2026);
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "nonce mismatch (the document has no");
    free(data);
}

static void test_verify_debug_2024_needs_allow_debug(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_DEBUG, &len);
    struct nsl_attest_policy p = {0};
    p.at_set = true;
    p.at = AT_DEBUG;
    set_nonce(&p, NONCE_DEBUG);
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED,
                 "debug-mode enclave (PCR0 is zero) refused");
    p.allow_debug = true;
    verify_ok(data, len, &p, NSL_ATTEST_MODE_NITRO_DEBUG);
    p.allow_simulated = true; /* changes nothing for an AWS-signed document */
    verify_ok(data, len, &p, NSL_ATTEST_MODE_NITRO_DEBUG);
    free(data);
}

static void test_verify_fails_now_and_before_with_expiry(void **state)
{
    (void)state;
    const char *names[] = {DOC_DEBUG, DOC_2025, DOC_2026};
    const int64_t ats[] = {AT_DEBUG, AT_2025, AT_2026};
    for (size_t i = 0; i < 3; i++) {
        size_t len = 0;
        uint8_t *data = read_fixture(names[i], &len);
        struct nsl_attest_policy p = {0};
        p.allow_debug = true;
        verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED,
                     "certificate expired or not yet valid at "); /* now */
        p.at_set = true;
        p.at = ats[i] + 24 * 3600;
        verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED,
                     "certificate expired or not yet valid at ");
        p.at = ats[i] - 24 * 3600;
        verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "not yet valid");
        free(data);
    }
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    p.at = 1800000000;
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED,
                 "certificate expired or not yet valid at 2027-01-15T08:00:00Z (unix 1800000000");
    free(data);
}

static void test_verify_accepts_tagged_and_chunked_forms(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    uint8_t *tagged = malloc(len + 1);
    tagged[0] = 0xD2;
    memcpy(tagged + 1, data, len);
    verify_ok(tagged, len + 1, &p, NSL_ATTEST_MODE_NITRO);
    /* The payload as two chunks: the signature covers the contents, not their framing. */
    struct nsl_attest_document doc;
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_document_parse(data, len, &doc, &err), NSL_OK);
    uint8_t *out = malloc(len + 32);
    size_t at = 0, half = 1000;
    memcpy(out, data, 7); /* 84, protected, A0 */
    at = 7;
    out[at++] = 0x5F;
    at += nsl_attest_cbor_head(2, half, out + at);
    memcpy(out + at, doc.payload.data, half);
    at += half;
    at += nsl_attest_cbor_head(2, doc.payload.len - half, out + at);
    memcpy(out + at, doc.payload.data + half, doc.payload.len - half);
    at += doc.payload.len - half;
    out[at++] = 0xFF;
    at += nsl_attest_cbor_head(2, 96, out + at);
    memcpy(out + at, doc.signature, 96);
    at += 96;
    verify_ok(out, at, &p, NSL_ATTEST_MODE_NITRO);
    nsl_attest_document_free(&doc);
    free(out);
    free(tagged);
    free(data);
}

/* The same payload re-encoded with a definite map parses, but it is not what AWS signed. */
static void test_verify_definite_reencoding_breaks_signature(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    assert_int_equal(data[7], 0x59);
    size_t plen = ((size_t)data[8] << 8) | data[9];
    assert_int_equal(data[10], 0xBF);
    assert_int_equal(data[10 + plen - 1], 0xFF); /* the map's break */
    /* Definite-length items inside, so the map head and break are the only changes. */
    uint8_t *re = malloc(len);
    memcpy(re, data, 10);
    re[8] = (uint8_t)((plen - 1) >> 8);
    re[9] = (uint8_t)(plen - 1);
    re[10] = 0xA9;
    memcpy(re + 11, data + 11, plen - 2);
    memcpy(re + 10 + plen - 1, data + 10 + plen, len - 10 - plen);
    struct nsl_attest_document doc;
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_document_parse(re, len - 1, &doc, &err), NSL_OK);
    nsl_attest_document_free(&doc);
    struct nsl_attest_policy p = policy_2026();
    verify_fails(re, len - 1, &p, NSL_ERR_UNAUTHENTICATED, "signature does not verify");
    free(re);
    free(data);
}

/* ---- damaged documents ------------------------------------------------------------------- */

static void test_verify_rejects_flipped_signature(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    const size_t offsets[] = {len - 1, len - 48, len - 96};
    for (size_t i = 0; i < 3; i++) {
        data[offsets[i]] ^= 0x01;
        verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "signature does not verify");
        data[offsets[i]] ^= 0x01;
    }
    verify_ok(data, len, &p, NSL_ATTEST_MODE_NITRO);
    free(data);
}

static void test_verify_rejects_flipped_payload(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    uint8_t pcr0[NSL_ATTEST_PCR_LEN];
    size_t n = 0;
    assert_int_equal(nsl_hex_decode(PCR0_2026, 96, pcr0, sizeof pcr0, &n), 0);
    size_t at = find(data, len, pcr0, sizeof pcr0) + 17;
    data[at] ^= 0x80; /* inside PCR0 */
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "signature does not verify");
    p.pcr_mask = 0; /* the PCR check is not what catches it */
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "signature does not verify");
    data[at] ^= 0x80;
    size_t ts = find(data, len, (const uint8_t *)"timestamp", 9) + 12;
    data[ts] ^= 0x01; /* inside the timestamp's value */
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "signature does not verify");
    free(data);
}

static void test_verify_rejects_flipped_certificates(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    struct nsl_attest_document doc;
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_document_parse(data, len, &doc, &err), NSL_OK);
    /* The last byte of a DER certificate is in its signature value. */
    size_t leaf = find(data, len, doc.certificate.data, doc.certificate.len);
    size_t leaf_sig = leaf + doc.certificate.len - 2;
    data[leaf_sig] ^= 0x01;
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED,
                 "certificate chain does not lead to the AWS Nitro root (certificate signature "
                 "failure, depth 0)");
    data[leaf_sig] ^= 0x01;
    size_t mid = find(data, len, doc.cabundle[2].data, doc.cabundle[2].len);
    data[mid + doc.cabundle[2].len - 3] ^= 0x01;
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED,
                 "certificate chain does not lead to the AWS Nitro root");
    data[mid + doc.cabundle[2].len - 3] ^= 0x01;
    size_t root = find(data, len, doc.cabundle[0].data, doc.cabundle[0].len);
    data[root + 200] ^= 0x01;
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED,
                 "certificate chain does not lead to the AWS Nitro root (cabundle[0] is not the "
                 "AWS Nitro root G1)");
    data[root + 200] ^= 0x01;
    data[leaf + 1] ^= 0xFF; /* the leaf's DER length */
    verify_fails(data, len, &p, NSL_ERR_INVALID_PARAMS, "malformed: the certificate is not");
    data[leaf + 1] ^= 0xFF;
    verify_ok(data, len, &p, NSL_ATTEST_MODE_NITRO);
    nsl_attest_document_free(&doc);
    free(data);
}

static void test_verify_rejects_truncated_empty_garbage(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    const size_t cuts[] = {0, 1, 8, 11, 64, 1500, 4000, len - 97, len - 10, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++)
        verify_fails(data, cuts[i], &p, NSL_ERR_INVALID_PARAMS, "malformed at byte offset");
    verify_fails(data, 0, &p, NSL_ERR_INVALID_PARAMS, "document is empty");
    uint8_t garbage[512];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)(i * 73 + 41);
    verify_fails(garbage, sizeof garbage, &p, NSL_ERR_INVALID_PARAMS, "malformed");
    verify_fails((const uint8_t *)"{\"document\": 1}", 15, &p, NSL_ERR_INVALID_PARAMS,
                 "malformed at byte offset");
    free(data);
}

static void test_verify_rejects_wrong_nonce_and_pcrs(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_policy p = policy_2026();
    set_nonce(&p, "0123456789abcdef0123456789abcdef01234568");
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "nonce mismatch");
    set_nonce(&p, "0123456789abcdef0123456789abcdef012345"); /* a prefix */
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "nonce mismatch");
    p = policy_2026();
    expect_pcr(&p, 2, PCR2_2025);
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "PCR 2 mismatch");
    p = policy_2026();
    expect_pcr(&p, 20, PCR2_2025);
    verify_fails(data, len, &p, NSL_ERR_UNAUTHENTICATED, "PCR 20 mismatch");
    p = policy_2026();
    char zeros[97];
    memset(zeros, '0', 96);
    zeros[96] = 0;
    expect_pcr(&p, 3, zeros); /* PCR3 is zero in this document */
    verify_ok(data, len, &p, NSL_ATTEST_MODE_NITRO);
    free(data);
}

static void test_verify_policy_expect_pcr_checks_input(void **state)
{
    (void)state;
    struct nsl_attest_policy p = {0};
    assert_int_equal(nsl_attest_policy_expect_pcr(&p, 32, PCR0_2026), -1);
    assert_int_equal(nsl_attest_policy_expect_pcr(&p, 0, "00"), -1);
    assert_int_equal(nsl_attest_policy_expect_pcr(&p, 0, PCR0_2026 "00"), -1);
    char bad[97];
    memcpy(bad, PCR0_2026, 97);
    bad[5] = 'g';
    assert_int_equal(nsl_attest_policy_expect_pcr(&p, 0, bad), -1);
    assert_int_equal(p.pcr_mask, 0);
    assert_int_equal(nsl_attest_policy_expect_pcr(&p, 31, PCR0_2026), 0);
    assert_int_equal(p.pcr_mask, 1u << 31);
    assert_string_equal(nsl_attest_mode_name(NSL_ATTEST_MODE_SIMULATED), "simulated");
    assert_string_equal(nsl_attest_mode_name(NSL_ATTEST_MODE_NITRO_DEBUG), "nitro-debug");
}

static void test_verify_compiled_root_matches_fixture(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *pem = read_fixture("aws-nitro-root-g1.pem", &len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(x);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_int_equal(n, NSL_ATTEST_AWS_ROOT_DER_LEN);
    assert_memory_equal(der, nsl_attest_aws_root_der, (size_t)n);
    uint8_t digest[32];
    unsigned int dlen = 0;
    assert_int_equal(X509_digest(x, EVP_sha256(), digest, &dlen), 1);
    assert_memory_equal(digest, nsl_attest_aws_root_sha256, 32);
    char hex[65];
    nsl_hex_encode(digest, 32, hex);
    assert_string_equal(hex, "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
    free(pem);
}

/* ---- simulated documents ----------------------------------------------------------------- */

static EVP_PKEY *sim_root_key, *sim_leaf_key;

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *issuer_key, X509 *issuer, const char *cn, bool ca,
                       long from, long to)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), to);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                              ca ? "critical,CA:TRUE" : "CA:FALSE");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, issuer_key, EVP_sha384()) > 0);
    return x;
}

static cbor_item_t *der_item(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    cbor_item_t *item = cbor_build_bytestring(der, (size_t)n);
    OPENSSL_free(der);
    return item;
}

static void map_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
    assert_true(
        cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_string(key)), cbor_move(value)}));
}

/* A simulated document signed by a fresh leaf under a fresh root, certificates valid for an hour
 * around now (shifted by `from`), with PCR pcr_set (if < 16) set to 0x11s. */
static uint8_t *sim_document(const char *module_id, unsigned pcr_set, long from, size_t *len)
{
    X509 *root =
        make_cert(sim_root_key, sim_root_key, NULL, "sim root", true, from - 3600, from + 3600);
    X509 *leaf =
        make_cert(sim_leaf_key, sim_root_key, root, "sim leaf", false, from - 3600, from + 3600);
    cbor_item_t *pcrs = cbor_new_definite_map(16);
    uint8_t value[NSL_ATTEST_PCR_LEN];
    for (unsigned i = 0; i < 16; i++) {
        memset(value, i == pcr_set ? 0x11 : 0, sizeof value);
        assert_true(cbor_map_add(
            pcrs, (struct cbor_pair){cbor_move(cbor_build_uint8((uint8_t)i)),
                                     cbor_move(cbor_build_bytestring(value, sizeof value))}));
    }
    cbor_item_t *bundle = cbor_new_definite_array(1);
    assert_true(cbor_array_push(bundle, cbor_move(der_item(root))));
    cbor_item_t *map = cbor_new_indefinite_map();
    map_put(map, "module_id", cbor_build_string(module_id));
    map_put(map, "digest", cbor_build_string("SHA384"));
    map_put(map, "timestamp", cbor_build_uint64((uint64_t)time(NULL) * 1000));
    map_put(map, "pcrs", pcrs);
    map_put(map, "certificate", der_item(leaf));
    map_put(map, "cabundle", bundle);
    map_put(map, "public_key", cbor_build_bytestring((const uint8_t *)"pk", 2));
    map_put(map, "user_data", cbor_new_null());
    map_put(map, "nonce", cbor_build_bytestring((const uint8_t *)"\x01\x02", 2));
    unsigned char *payload = NULL;
    size_t cap = 0, plen = cbor_serialize_alloc(map, &payload, &cap);
    cbor_decref(&map);
    assert_true(plen > 0);

    static const uint8_t prot[] = {0xA1, 0x01, 0x38, 0x22};
    struct nsl_buf tbs = {0};
    assert_int_equal(nsl_attest_cose_sig_structure(prot, sizeof prot, payload, plen, &tbs), 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof der;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, sim_leaf_key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, tbs.data, tbs.len), 1);
    EVP_MD_CTX_free(md);
    nsl_buf_free(&tbs);
    uint8_t sig[NSL_ATTEST_SIGNATURE_LEN];
    assert_int_equal(nsl_attest_cose_sig_from_der(der, der_len, sig), 0);

    uint8_t *out = malloc(plen + 128);
    size_t at = 0;
    at += nsl_attest_cbor_head(4, 4, out + at);
    at += nsl_attest_cbor_head(2, sizeof prot, out + at);
    memcpy(out + at, prot, sizeof prot);
    at += sizeof prot;
    out[at++] = 0xA0;
    at += nsl_attest_cbor_head(2, plen, out + at);
    memcpy(out + at, payload, plen);
    at += plen;
    at += nsl_attest_cbor_head(2, sizeof sig, out + at);
    memcpy(out + at, sig, sizeof sig);
    at += sizeof sig;
    *len = at;
    free(payload);
    X509_free(root);
    X509_free(leaf);
    return out;
}

static int sim_setup(void **state)
{
    (void)state;
    sim_root_key = EVP_EC_gen("P-384");
    sim_leaf_key = EVP_EC_gen("P-384");
    return sim_root_key && sim_leaf_key ? 0 : -1;
}

static int sim_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(sim_root_key);
    EVP_PKEY_free(sim_leaf_key);
    return 0;
}

static void test_verify_simulated_only_when_allowed(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *doc = sim_document("sim-enclave-1", 99, 0, &len);
    struct nsl_attest_policy p = {0};
    verify_fails(doc, len, &p, NSL_ERR_UNAUTHENTICATED, "simulated document refused");
    p.allow_debug = true; /* debug is not simulated */
    verify_fails(doc, len, &p, NSL_ERR_UNAUTHENTICATED, "simulated document refused");
    p.allow_simulated = true;
    verify_ok(doc, len, &p, NSL_ATTEST_MODE_SIMULATED);
    p.allow_debug = false;
    set_nonce(&p, "0102");
    struct nsl_attest_result r;
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_verify(doc, len, &p, &r, &err), NSL_OK);
    assert_string_equal(nsl_attest_mode_name(r.mode), "simulated");
    assert_string_equal(r.doc.module_id, "sim-enclave-1");
    assert_memory_equal(r.doc.public_key.data, "pk", 2);
    nsl_attest_result_free(&r);
    set_nonce(&p, "0103");
    verify_fails(doc, len, &p, NSL_ERR_UNAUTHENTICATED, "nonce mismatch");
    p.nonce = NULL;
    doc[len - 5] ^= 0x01;
    verify_fails(doc, len, &p, NSL_ERR_UNAUTHENTICATED, "signature does not verify");
    free(doc);
}

static void test_verify_simulated_needs_sim_name_and_zero_pcrs(void **state)
{
    (void)state;
    struct nsl_attest_policy p = {0};
    p.allow_simulated = true;
    size_t len = 0;
    uint8_t *doc = sim_document("i-pretending-enc01", 99, 0, &len);
    verify_fails(doc, len, &p, NSL_ERR_UNAUTHENTICATED,
                 "certificate chain does not lead to the AWS Nitro root (cabundle[0] is not");
    free(doc);
    doc = sim_document("sim-enclave-2", 2, 0, &len);
    verify_fails(doc, len, &p, NSL_ERR_UNAUTHENTICATED,
                 "simulated document refused (its PCRs are not all zero)");
    free(doc);
    doc = sim_document("sim-old", 99, -3 * 3600, &len); /* certificates expired an hour ago */
    verify_fails(doc, len, &p, NSL_ERR_UNAUTHENTICATED, "certificate expired or not yet valid at");
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_prod_2026_at_its_time),
        cmocka_unit_test(test_verify_prod_2025_at_its_time),
        cmocka_unit_test(test_verify_debug_2024_needs_allow_debug),
        cmocka_unit_test(test_verify_fails_now_and_before_with_expiry),
        cmocka_unit_test(test_verify_accepts_tagged_and_chunked_forms),
        cmocka_unit_test(test_verify_definite_reencoding_breaks_signature),
        cmocka_unit_test(test_verify_rejects_flipped_signature),
        cmocka_unit_test(test_verify_rejects_flipped_payload),
        cmocka_unit_test(test_verify_rejects_flipped_certificates),
        cmocka_unit_test(test_verify_rejects_truncated_empty_garbage),
        cmocka_unit_test(test_verify_rejects_wrong_nonce_and_pcrs),
        cmocka_unit_test(test_verify_policy_expect_pcr_checks_input),
        cmocka_unit_test(test_verify_compiled_root_matches_fixture),
        cmocka_unit_test(test_verify_simulated_only_when_allowed),
        cmocka_unit_test(test_verify_simulated_needs_sim_name_and_zero_pcrs),
    };
    return cmocka_run_group_tests(tests, sim_setup, sim_teardown);
}
