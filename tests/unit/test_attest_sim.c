/* The simulated NSM (src/attest/sim.c, docs/nsm.md): its documents have the form of a real Nitro
 * document (checked against the 2026 fixture's field order with libcbor, not with our parser),
 * the COSE signature verifies with the leaf key over a Sig_structure built here by hand, the chain
 * verifies root → intermediate → leaf with X509_verify_cert, the leaf lives three hours and is
 * renewed, and the project's verifier accepts the document only with allow_simulated. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/sim.h"
#include "attest/verify.h"

#define FIXTURE NSL_SOURCE_DIR "/tests/fixtures/nitro/attestation-prod-2026-02-02.cbor"

static struct nsl_sim *SIM;

static int setup(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    return nsl_sim_new(&SIM, &err) == NSL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nsl_sim_free(SIM);
    return 0;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The four elements of an untagged COSE_Sign1, loaded with libcbor. */
struct sign1 {
    cbor_item_t *root;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *signature;
};

static void sign1_load(const uint8_t *doc, size_t len, struct sign1 *s)
{
    struct cbor_load_result res;
    s->root = cbor_load(doc, len, &res);
    assert_non_null(s->root);
    assert_int_equal(res.error.code, CBOR_ERR_NONE);
    assert_int_equal(res.read, len);
    assert_true(cbor_isa_array(s->root));
    assert_int_equal(cbor_array_size(s->root), 4);
    cbor_item_t **items = cbor_array_handle(s->root);
    assert_true(cbor_isa_bytestring(items[0]) && cbor_isa_map(items[1]));
    assert_true(cbor_isa_bytestring(items[2]) && cbor_isa_bytestring(items[3]));
    assert_int_equal(cbor_map_size(items[1]), 0);
    assert_int_equal(cbor_bytestring_length(items[0]), 4);
    assert_memory_equal(cbor_bytestring_handle(items[0]), "\xA1\x01\x38\x22", 4);
    s->payload = cbor_bytestring_handle(items[2]);
    s->payload_len = cbor_bytestring_length(items[2]);
    assert_int_equal(cbor_bytestring_length(items[3]), 96);
    s->signature = cbor_bytestring_handle(items[3]);
}

static void sign1_free(struct sign1 *s)
{
    cbor_decref(&s->root);
}

static cbor_item_t *load(const uint8_t *data, size_t len)
{
    struct cbor_load_result res;
    cbor_item_t *item = cbor_load(data, len, &res);
    assert_non_null(item);
    assert_int_equal(res.error.code, CBOR_ERR_NONE);
    assert_int_equal(res.read, len);
    return item;
}

static void key_of(const cbor_item_t *key, char *out, size_t cap)
{
    assert_true(cbor_isa_string(key) && !cbor_string_is_indefinite(key));
    size_t n = cbor_string_length(key);
    assert_true(n < cap);
    memcpy(out, cbor_string_handle(key), n);
    out[n] = 0;
}

static cbor_item_t *field(const cbor_item_t *map, const char *name)
{
    struct cbor_pair *pairs = cbor_map_handle(map);
    char key[32];
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        key_of(pairs[i].key, key, sizeof key);
        if (strcmp(key, name) == 0)
            return pairs[i].value;
    }
    fail_msg("field %s missing", name);
    return NULL;
}

static void attest(const uint8_t *ud, size_t ud_len, const uint8_t *nonce, size_t nonce_len,
                   const uint8_t *pk, size_t pk_len, struct nsl_buf *doc)
{
    struct nsl_error err = {0};
    assert_int_equal(nsl_sim_attest(SIM, ud, ud_len, nonce, nonce_len, pk, pk_len, doc, &err),
                     NSL_OK);
}

static X509 *der_x509(const cbor_item_t *bstr)
{
    assert_true(cbor_isa_bytestring(bstr));
    const unsigned char *p = cbor_bytestring_handle(bstr);
    X509 *x = d2i_X509(NULL, &p, (long)cbor_bytestring_length(bstr));
    assert_non_null(x);
    assert_ptr_equal(p, cbor_bytestring_handle(bstr) + cbor_bytestring_length(bstr));
    return x;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(16384);
    assert_non_null(buf);
    *len = fread(buf, 1, 16384, f);
    fclose(f);
    return buf;
}

static void test_sim_document_has_the_bytes_of_a_nitro_document(void **state)
{
    (void)state;
    struct nsl_buf doc = {0};
    attest(NULL, 0, NULL, 0, NULL, 0, &doc);
    /* 84 (array 4), 44 A1 01 38 22 (protected {1: -35}), A0 (unprotected {}), 59 (payload bstr
     * with a two-byte length), and the payload map with indefinite length */
    static const uint8_t head[] = {0x84, 0x44, 0xA1, 0x01, 0x38, 0x22, 0xA0, 0x59};
    assert_true(doc.len > 100);
    assert_memory_equal(doc.data, head, sizeof head);
    assert_int_equal(doc.data[10], 0xBF);
    struct sign1 s;
    sign1_load(doc.data, doc.len, &s);
    /* libcbor copies the payload: compare it with the bytes after the two-byte length */
    assert_int_equal(((size_t)doc.data[8] << 8 | doc.data[9]), s.payload_len);
    assert_memory_equal(s.payload, doc.data + 10, s.payload_len);
    assert_int_equal(s.payload[0], 0xBF);
    assert_int_equal(s.payload[s.payload_len - 1], 0xFF);
    /* the signature is the last 96 bytes, after 58 60 */
    assert_int_equal(doc.data[doc.len - 98], 0x58);
    assert_int_equal(doc.data[doc.len - 97], 0x60);
    sign1_free(&s);
    nsl_buf_free(&doc);
}

/* Field order and encoding as the real 2026 document: module_id, digest, timestamp, pcrs,
 * certificate, cabundle, public_key, user_data, nonce. */
static void test_sim_payload_matches_the_fixture_field_order_and_types(void **state)
{
    (void)state;
    size_t fixture_len = 0;
    uint8_t *fixture = read_file(FIXTURE, &fixture_len);
    struct sign1 real;
    sign1_load(fixture, fixture_len, &real);
    cbor_item_t *real_map = load(real.payload, real.payload_len);

    uint8_t ud[68], nonce[20], pk[5] = {'d', 'u', 'm', 'm', 'y'};
    memset(ud, 0x12, sizeof ud);
    memset(nonce, 0x01, sizeof nonce);
    uint64_t before = wall_ms();
    struct nsl_buf doc = {0};
    attest(ud, sizeof ud, nonce, sizeof nonce, pk, sizeof pk, &doc);
    uint64_t after = wall_ms();
    struct sign1 sim;
    sign1_load(doc.data, doc.len, &sim);
    cbor_item_t *map = load(sim.payload, sim.payload_len);

    assert_true(cbor_isa_map(map) && cbor_map_is_indefinite(map));
    assert_true(cbor_map_is_indefinite(real_map));
    assert_int_equal(cbor_map_size(map), 9);
    assert_int_equal(cbor_map_size(map), cbor_map_size(real_map));
    struct cbor_pair *mine = cbor_map_handle(map), *theirs = cbor_map_handle(real_map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        char a[32], b[32];
        key_of(mine[i].key, a, sizeof a);
        key_of(theirs[i].key, b, sizeof b);
        assert_string_equal(a, b);
        assert_int_equal(cbor_typeof(mine[i].value), cbor_typeof(theirs[i].value));
    }

    cbor_item_t *v = field(map, "module_id");
    char module_id[64];
    key_of(v, module_id, sizeof module_id);
    assert_string_equal(module_id, nsl_sim_module_id(SIM));
    assert_int_equal(strncmp(module_id, "sim-", 4), 0);
    assert_int_equal(strlen(module_id), 4 + 32);
    assert_int_equal(strspn(module_id + 4, "0123456789abcdef"), 32);
    char digest[16];
    key_of(field(map, "digest"), digest, sizeof digest);
    assert_string_equal(digest, "SHA384");

    v = field(map, "timestamp");
    assert_true(cbor_isa_uint(v) && cbor_int_get_width(v) == CBOR_INT_64);
    assert_in_range(cbor_get_uint64(v), before, after);

    v = field(map, "pcrs");
    assert_true(cbor_isa_map(v) && !cbor_map_is_indefinite(v));
    assert_int_equal(cbor_map_size(v), 16);
    static const uint8_t zero[48];
    for (size_t i = 0; i < 16; i++) {
        struct cbor_pair *p = cbor_map_handle(v) + i;
        assert_true(cbor_isa_uint(p->key) && cbor_int_get_width(p->key) == CBOR_INT_8);
        assert_int_equal(cbor_get_uint8(p->key), i);
        assert_true(cbor_isa_bytestring(p->value));
        assert_int_equal(cbor_bytestring_length(p->value), 48);
        assert_memory_equal(cbor_bytestring_handle(p->value), zero, 48);
    }

    X509_free(der_x509(field(map, "certificate")));
    v = field(map, "cabundle");
    assert_true(cbor_isa_array(v) && cbor_array_size(v) == 2);
    X509_free(der_x509(cbor_array_handle(v)[0]));
    X509_free(der_x509(cbor_array_handle(v)[1]));

    v = field(map, "public_key");
    assert_int_equal(cbor_bytestring_length(v), sizeof pk);
    assert_memory_equal(cbor_bytestring_handle(v), pk, sizeof pk);
    v = field(map, "user_data");
    assert_int_equal(cbor_bytestring_length(v), sizeof ud);
    assert_memory_equal(cbor_bytestring_handle(v), ud, sizeof ud);
    v = field(map, "nonce");
    assert_int_equal(cbor_bytestring_length(v), sizeof nonce);
    assert_memory_equal(cbor_bytestring_handle(v), nonce, sizeof nonce);

    cbor_decref(&map);
    sign1_free(&sim);
    cbor_decref(&real_map);
    sign1_free(&real);
    nsl_buf_free(&doc);
    free(fixture);
}

static void test_sim_absent_fields_are_null(void **state)
{
    (void)state;
    struct nsl_buf doc = {0};
    attest(NULL, 0, NULL, 0, NULL, 0, &doc);
    struct sign1 s;
    sign1_load(doc.data, doc.len, &s);
    cbor_item_t *map = load(s.payload, s.payload_len);
    assert_true(cbor_is_null(field(map, "public_key")));
    assert_true(cbor_is_null(field(map, "user_data")));
    assert_true(cbor_is_null(field(map, "nonce")));
    /* the last bytes: 65 "nonce" F6 FF */
    assert_memory_equal(s.payload + s.payload_len - 8, "\x65nonce\xF6\xFF", 8);
    cbor_decref(&map);
    sign1_free(&s);
    nsl_buf_free(&doc);

    /* an empty byte string is not null */
    attest((const uint8_t *)"", 0, NULL, 0, NULL, 0, &doc);
    sign1_load(doc.data, doc.len, &s);
    map = load(s.payload, s.payload_len);
    assert_true(cbor_isa_bytestring(field(map, "user_data")));
    assert_int_equal(cbor_bytestring_length(field(map, "user_data")), 0);
    cbor_decref(&map);
    sign1_free(&s);
    nsl_buf_free(&doc);
}

/* ES384 over ["Signature1", h'A1013822', h'', payload], the Sig_structure written by hand. */
static int verify_signature(X509 *leaf, const uint8_t *payload, size_t payload_len,
                            const uint8_t sig[96])
{
    static const uint8_t prefix[] = {0x84, 0x6A, 'S',  'i',  'g',  'n',  'a',  't',  'u', 'r',
                                     'e',  '1',  0x44, 0xA1, 0x01, 0x38, 0x22, 0x40, 0x59};
    size_t tbs_len = sizeof prefix + 2 + payload_len;
    uint8_t *tbs = malloc(tbs_len);
    assert_non_null(tbs);
    assert_true(payload_len > 255 && payload_len <= 0xFFFF);
    memcpy(tbs, prefix, sizeof prefix);
    tbs[sizeof prefix] = (uint8_t)(payload_len >> 8);
    tbs[sizeof prefix + 1] = (uint8_t)payload_len;
    memcpy(tbs + sizeof prefix + 2, payload, payload_len);

    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 48, NULL), *s = BN_bin2bn(sig + 48, 48, NULL);
    assert_non_null(es);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    assert_true(der_len > 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    assert_int_equal(EVP_PKEY_get_bits(key), 384);
    assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL), 1);
    int rc = EVP_DigestVerify(md, der, (size_t)der_len, tbs, tbs_len);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    free(tbs);
    return rc;
}

static void test_sim_signature_verifies_with_the_leaf_key(void **state)
{
    (void)state;
    struct nsl_buf doc = {0};
    attest((const uint8_t *)"hello", 5, (const uint8_t *)"nonce", 5, NULL, 0, &doc);
    struct sign1 s;
    sign1_load(doc.data, doc.len, &s);
    cbor_item_t *map = load(s.payload, s.payload_len);
    X509 *leaf = der_x509(field(map, "certificate"));
    assert_int_equal(verify_signature(leaf, s.payload, s.payload_len, s.signature), 1);

    /* one flipped payload bit, or a flipped signature bit, and it no longer verifies */
    uint8_t *copy = malloc(s.payload_len);
    assert_non_null(copy);
    memcpy(copy, s.payload, s.payload_len);
    copy[s.payload_len / 2] ^= 1;
    assert_int_not_equal(verify_signature(leaf, copy, s.payload_len, s.signature), 1);
    uint8_t sig[96];
    memcpy(sig, s.signature, sizeof sig);
    sig[95] ^= 1;
    assert_int_not_equal(verify_signature(leaf, s.payload, s.payload_len, sig), 1);
    free(copy);
    X509_free(leaf);
    cbor_decref(&map);
    sign1_free(&s);
    nsl_buf_free(&doc);
}

/* X509_verify_cert of leaf with [intermediate] untrusted and root trusted, as of at. */
static int verify_chain(X509 *leaf, X509 *intermediate, X509 *root, time_t at)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    assert_true(store && ctx && untrusted);
    assert_int_equal(X509_STORE_add_cert(store, root), 1);
    if (intermediate)
        assert_true(sk_X509_push(untrusted, intermediate) > 0);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, at);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    int rc = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    return rc;
}

static long seconds_between(const ASN1_TIME *from, const ASN1_TIME *to)
{
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, from, to), 1);
    return (long)days * 86400 + secs;
}

static void test_sim_chain_verifies_root_intermediate_leaf(void **state)
{
    (void)state;
    struct nsl_buf doc = {0};
    attest(NULL, 0, NULL, 0, NULL, 0, &doc);
    struct sign1 s;
    sign1_load(doc.data, doc.len, &s);
    cbor_item_t *map = load(s.payload, s.payload_len);
    X509 *leaf = der_x509(field(map, "certificate"));
    cbor_item_t *bundle = field(map, "cabundle");
    X509 *root = der_x509(cbor_array_handle(bundle)[0]);
    X509 *intermediate = der_x509(cbor_array_handle(bundle)[1]);
    time_t at = (time_t)(cbor_get_uint64(field(map, "timestamp")) / 1000);

    assert_int_equal(verify_chain(leaf, intermediate, root, at), 1);
    assert_int_not_equal(verify_chain(leaf, NULL, root, at), 1);
    assert_int_not_equal(verify_chain(leaf, intermediate, leaf, at), 1);
    /* the leaf lives three hours, as on Nitro; two hours on it still verifies, four do not */
    long life = seconds_between(X509_get0_notBefore(leaf), X509_get0_notAfter(leaf));
    assert_int_equal(life, 3 * 3600);
    assert_int_equal(verify_chain(leaf, intermediate, root, at + 2 * 3600), 1);
    assert_int_not_equal(verify_chain(leaf, intermediate, root, at + 4 * 3600), 1);
    /* root and intermediate are long-lived CAs with path lengths; the leaf is no CA */
    assert_true(seconds_between(X509_get0_notBefore(root), X509_get0_notAfter(root)) >
                20L * 365 * 86400);
    assert_true(seconds_between(X509_get0_notBefore(intermediate),
                                X509_get0_notAfter(intermediate)) > 5L * 365 * 86400);
    assert_int_equal(X509_check_ca(root), 1);
    assert_int_equal(X509_check_ca(intermediate), 1);
    assert_int_equal(X509_check_ca(leaf), 0);
    assert_int_equal(X509_get_pathlen(root), 1);
    assert_int_equal(X509_get_pathlen(intermediate), 0);
    assert_true(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE);
    assert_true(X509_get_key_usage(intermediate) & KU_KEY_CERT_SIGN);
    assert_int_equal(X509_check_issued(root, root), X509_V_OK);

    /* the root in the bundle is the one nsl_sim_root_der hands out */
    struct nsl_buf root_der = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_sim_root_der(SIM, &root_der, &err), NSL_OK);
    assert_int_equal(root_der.len, cbor_bytestring_length(cbor_array_handle(bundle)[0]));
    assert_memory_equal(root_der.data, cbor_bytestring_handle(cbor_array_handle(bundle)[0]),
                        root_der.len);
    nsl_buf_free(&root_der);

    X509_free(leaf);
    X509_free(root);
    X509_free(intermediate);
    cbor_decref(&map);
    sign1_free(&s);
    nsl_buf_free(&doc);
}

/* The leaf certificate DER of a document made at at_ms. */
static void leaf_at(uint64_t at_ms, struct nsl_buf *leaf_der, X509 **leaf)
{
    struct nsl_buf doc = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_sim_attest_at(SIM, at_ms, NULL, 0, NULL, 0, NULL, 0, &doc, &err), NSL_OK);
    struct sign1 s;
    sign1_load(doc.data, doc.len, &s);
    cbor_item_t *map = load(s.payload, s.payload_len);
    cbor_item_t *cert = field(map, "certificate");
    assert_int_equal(
        nsl_buf_append(leaf_der, cbor_bytestring_handle(cert), cbor_bytestring_length(cert)), 0);
    *leaf = der_x509(cert);
    assert_int_equal(verify_signature(*leaf, s.payload, s.payload_len, s.signature), 1);
    assert_int_equal(cbor_get_uint64(field(map, "timestamp")), at_ms);
    cbor_decref(&map);
    sign1_free(&s);
    nsl_buf_free(&doc);
}

static void test_sim_renews_the_leaf_after_an_hour(void **state)
{
    (void)state;
    uint64_t t0 = wall_ms() + 1000;
    struct nsl_buf a = {0}, b = {0}, c = {0};
    X509 *la, *lb, *lc;
    leaf_at(t0, &a, &la);
    leaf_at(t0 + 30 * 60 * 1000, &b, &lb);
    leaf_at(t0 + 61 * 60 * 1000, &c, &lc);
    assert_true(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    assert_false(c.len == a.len && memcmp(c.data, a.data, a.len) == 0);
    /* each document's leaf has at least two hours left at the document's time */
    time_t later = (time_t)((t0 + 61 * 60 * 1000) / 1000 + 2 * 3600);
    assert_true(X509_cmp_time(X509_get0_notAfter(lc), &later) > 0);
    later = (time_t)((t0 + 30 * 60 * 1000) / 1000 + 2 * 3600);
    assert_true(X509_cmp_time(X509_get0_notAfter(lb), &later) > 0);
    X509_free(la);
    X509_free(lb);
    X509_free(lc);
    nsl_buf_free(&a);
    nsl_buf_free(&b);
    nsl_buf_free(&c);
}

static void test_sim_refuses_oversize_fields(void **state)
{
    (void)state;
    uint8_t big[1025] = {0};
    struct nsl_buf doc = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_sim_attest(SIM, big, 513, NULL, 0, NULL, 0, &doc, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    assert_string_equal(err.message, "user_data is longer than 512 bytes");
    assert_int_equal(nsl_sim_attest(SIM, NULL, 0, big, 513, NULL, 0, &doc, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    assert_int_equal(nsl_sim_attest(SIM, NULL, 0, NULL, 0, big, 1025, &doc, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    assert_int_equal(doc.len, 0);
    assert_int_equal(nsl_sim_attest(SIM, big, 512, big, 512, big, 1024, &doc, &err), NSL_OK);
    nsl_buf_free(&doc);
}

static void test_sim_random_and_describe_pcr(void **state)
{
    (void)state;
    uint8_t a[300] = {0}, b[300] = {0}, zero[300] = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_sim_random(a, sizeof a, &err), NSL_OK);
    assert_int_equal(nsl_sim_random(b, sizeof b, &err), NSL_OK);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(a, b, sizeof a);

    bool locked = false;
    uint8_t data[NSL_NSM_MAX_PCR_LEN];
    size_t len = 0;
    assert_int_equal(nsl_sim_describe_pcr(0, &locked, data, &len, &err), NSL_OK);
    assert_true(locked);
    assert_int_equal(len, 48);
    assert_memory_equal(data, zero, 48);
    assert_int_equal(nsl_sim_describe_pcr(15, &locked, data, &len, &err), NSL_OK);
    assert_true(locked);
    assert_int_equal(nsl_sim_describe_pcr(16, &locked, data, &len, &err), NSL_OK);
    assert_false(locked);
    assert_int_equal(nsl_sim_describe_pcr(31, &locked, data, &len, &err), NSL_OK);
    assert_int_equal(nsl_sim_describe_pcr(32, &locked, data, &len, &err), NSL_ERR_INVALID_PARAMS);
    assert_string_equal(err.message, "NSM refused the request: InvalidIndex");
}

static void test_sim_documents_differ_per_simulator(void **state)
{
    (void)state;
    struct nsl_sim *other = NULL;
    struct nsl_error err = {0};
    assert_int_equal(nsl_sim_new(&other, &err), NSL_OK);
    assert_string_not_equal(nsl_sim_module_id(other), nsl_sim_module_id(SIM));
    struct nsl_buf r1 = {0}, r2 = {0};
    assert_int_equal(nsl_sim_root_der(SIM, &r1, &err), NSL_OK);
    assert_int_equal(nsl_sim_root_der(other, &r2, &err), NSL_OK);
    assert_false(r1.len == r2.len && memcmp(r1.data, r2.data, r1.len) == 0);
    nsl_buf_free(&r1);
    nsl_buf_free(&r2);
    nsl_sim_free(other);
}

/* The project's verifier (src/attest/verify.c): a simulated document passes only when the
 * policy allows simulated documents. */
static void test_sim_document_passes_verification_only_with_allow_simulated(void **state)
{
    (void)state;
    uint8_t nonce[20];
    memset(nonce, 0x5A, sizeof nonce);
    struct nsl_buf doc = {0};
    attest((const uint8_t *)"ud", 2, nonce, sizeof nonce, NULL, 0, &doc);

    struct nsl_attest_policy policy;
    memset(&policy, 0, sizeof policy);
    policy.nonce = nonce;
    policy.nonce_len = sizeof nonce;
    struct nsl_attest_result result;
    memset(&result, 0, sizeof result);
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_verify(doc.data, doc.len, &policy, &result, &err),
                     NSL_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(err.message, "simulated document refused"));
    nsl_attest_result_free(&result);

    policy.allow_simulated = true;
    memset(&result, 0, sizeof result);
    assert_int_equal(nsl_attest_verify(doc.data, doc.len, &policy, &result, &err), NSL_OK);
    assert_int_equal(result.mode, NSL_ATTEST_MODE_SIMULATED);
    assert_string_equal(result.doc.module_id, nsl_sim_module_id(SIM));
    assert_int_equal(result.doc.cabundle_len, 2);
    assert_int_equal(result.doc.user_data.len, 2);
    assert_null(result.doc.public_key.data);
    nsl_attest_result_free(&result);

    /* a wrong nonce still fails with allow_simulated */
    uint8_t other[20] = {0};
    policy.nonce = other;
    memset(&result, 0, sizeof result);
    assert_int_not_equal(nsl_attest_verify(doc.data, doc.len, &policy, &result, &err), NSL_OK);
    nsl_attest_result_free(&result);

    /* so does a document whose payload was altered after signing */
    policy.nonce = nonce;
    doc.data[40] ^= 1;
    memset(&result, 0, sizeof result);
    assert_int_not_equal(nsl_attest_verify(doc.data, doc.len, &policy, &result, &err), NSL_OK);
    nsl_attest_result_free(&result);
    nsl_buf_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_document_has_the_bytes_of_a_nitro_document),
        cmocka_unit_test(test_sim_payload_matches_the_fixture_field_order_and_types),
        cmocka_unit_test(test_sim_absent_fields_are_null),
        cmocka_unit_test(test_sim_signature_verifies_with_the_leaf_key),
        cmocka_unit_test(test_sim_chain_verifies_root_intermediate_leaf),
        cmocka_unit_test(test_sim_renews_the_leaf_after_an_hour),
        cmocka_unit_test(test_sim_refuses_oversize_fields),
        cmocka_unit_test(test_sim_random_and_describe_pcr),
        cmocka_unit_test(test_sim_documents_differ_per_simulator),
        cmocka_unit_test(test_sim_document_passes_verification_only_with_allow_simulated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
