/* The simulated NSM (see sim.h): a P-384 chain made with OpenSSL's X509 API at start-up, and
 * attestation documents written byte for byte in the form of the 2026 real document
 * (tests/fixtures/nitro/attestation-prod-2026-02-02.cbor): `84 44 A1 01 38 22 A0 59 …`, payload
 * `BF module_id digest timestamp pcrs certificate cabundle public_key user_data nonce FF`. */
#include "attest/sim.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/cbor.h"
#include "attest/cose.h"
#include "common/encoding.h"
#include "crypto/secret.h"

enum { MAJOR_UINT = 0, MAJOR_BYTES = 2, MAJOR_TEXT = 3, MAJOR_ARRAY = 4, MAJOR_MAP = 5 };
#define CBOR_NULL      0xF6
#define CBOR_INDEF_MAP 0xBF
#define CBOR_BREAK     0xFF
#define CLOCK_SKEW     60 /* seconds a certificate starts before it is made */
#define DOCUMENT_PCRS  16 /* a Nitro document carries PCRs 0..15 */

/* protected header {1: -35}: alg ES384 (RFC 9053 §2.1) */
static const uint8_t PROTECTED[] = {0xA1, 0x01, 0x38, 0x22};

struct cert {
    EVP_PKEY *key;
    X509 *x509;
    struct nsl_buf der;
};

struct nsl_sim {
    pthread_mutex_t lock;
    char module_id[sizeof NSL_SIM_MODULE_PREFIX + 32];
    struct cert root, intermediate, leaf;
    int64_t leaf_made; /* unix seconds */
};

static void cert_free(struct cert *c)
{
    EVP_PKEY_free(c->key);
    X509_free(c->x509);
    nsl_buf_free(&c->der);
    memset(c, 0, sizeof *c);
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int set_name(X509 *x, const char *cn)
{
    X509_NAME *name = X509_get_subject_name(x);
    static const char *const fixed[][2] = {
        {"C", "US"}, {"O", "Neo Service Layer"}, {"OU", "simulated NSM"}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (X509_NAME_add_entry_by_txt(name, fixed[i][0], MBSTRING_ASC,
                                       (const unsigned char *)fixed[i][1], -1, -1, 0) != 1)
            return -1;
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                      0) == 1
               ? 0
               : -1;
}

enum cert_kind { ROOT, INTERMEDIATE, LEAF };

/* The extensions of each kind, as the AWS chain has them (CA flags with path lengths, key usage,
 * key identifiers). */
static int add_extensions(X509 *x, X509 *issuer, enum cert_kind kind)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    static const char *const constraints[] = {"critical,CA:TRUE,pathlen:1",
                                              "critical,CA:TRUE,pathlen:0", "critical,CA:FALSE"};
    static const char *const usage[] = {"critical,digitalSignature,keyCertSign,cRLSign",
                                        "critical,keyCertSign,cRLSign",
                                        "critical,digitalSignature"};
    if (add_ext(x, &ctx, NID_basic_constraints, constraints[kind]) != 0 ||
        add_ext(x, &ctx, NID_key_usage, usage[kind]) != 0)
        return -1;
    if (kind != LEAF && add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0)
        return -1;
    if (kind != ROOT && add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0)
        return -1;
    return 0;
}

/* Makes a P-384 key and a certificate for it, signed by issuer (self-signed when NULL), valid
 * from not_before for lifetime seconds. */
static int make_cert(struct cert *out, const struct cert *issuer, enum cert_kind kind,
                     const char *cn, int64_t not_before, int64_t lifetime)
{
    memset(out, 0, sizeof *out);
    uint8_t serial[8];
    uint64_t sn = 0;
    out->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    out->x509 = X509_new();
    X509 *x = out->x509;
    if (!out->key || !x || nsl_random_bytes(serial, sizeof serial) != 0)
        goto fail;
    for (size_t i = 0; i < sizeof serial; i++)
        sn = sn << 8 | serial[i];
    X509 *signer = issuer ? issuer->x509 : x;
    EVP_PKEY *signer_key = issuer ? issuer->key : out->key;
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), (sn >> 1) | 1) != 1 ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(not_before + lifetime)) ||
        set_name(x, cn) != 0 || X509_set_issuer_name(x, X509_get_subject_name(signer)) != 1 ||
        X509_set_pubkey(x, out->key) != 1 || add_extensions(x, signer, kind) != 0 ||
        X509_sign(x, signer_key, EVP_sha384()) <= 0)
        goto fail;
    int n = i2d_X509(x, NULL);
    if (n <= 0 || nsl_buf_reserve(&out->der, (size_t)n) != 0)
        goto fail;
    unsigned char *p = out->der.data;
    if (i2d_X509(x, &p) != n)
        goto fail;
    out->der.len = (size_t)n;
    return 0;
fail:
    cert_free(out);
    return -1;
}

static int make_leaf(struct nsl_sim *sim, int64_t now)
{
    struct cert leaf;
    char cn[sizeof sim->module_id + 32];
    snprintf(cn, sizeof cn, "%s.sim.nitro-enclaves", sim->module_id);
    if (make_cert(&leaf, &sim->intermediate, LEAF, cn, now - CLOCK_SKEW, NSL_SIM_LEAF_LIFETIME) !=
        0)
        return -1;
    cert_free(&sim->leaf);
    sim->leaf = leaf;
    sim->leaf_made = now;
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

nsl_err nsl_sim_new(struct nsl_sim **out, struct nsl_error *err)
{
    *out = NULL;
    struct nsl_sim *sim = calloc(1, sizeof *sim);
    uint8_t id[16];
    if (!sim || nsl_random_bytes(id, sizeof id) != 0) {
        free(sim);
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot start the simulated NSM");
    }
    memcpy(sim->module_id, NSL_SIM_MODULE_PREFIX, sizeof NSL_SIM_MODULE_PREFIX - 1);
    nsl_hex_encode(id, sizeof id, sim->module_id + sizeof NSL_SIM_MODULE_PREFIX - 1);
    pthread_mutex_init(&sim->lock, NULL);
    int64_t now = (int64_t)(now_ms() / 1000);
    char cn[sizeof sim->module_id + 32];
    snprintf(cn, sizeof cn, "%.20s.sim.nitro-enclaves", sim->module_id + 4);
    if (make_cert(&sim->root, NULL, ROOT, "sim.nitro-enclaves", now - 3600,
                  NSL_SIM_ROOT_LIFETIME) != 0 ||
        make_cert(&sim->intermediate, &sim->root, INTERMEDIATE, cn, now - 3600,
                  NSL_SIM_INTERMEDIATE_LIFETIME) != 0 ||
        make_leaf(sim, now) != 0) {
        nsl_sim_free(sim);
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot make the simulated NSM's certificates");
    }
    *out = sim;
    return NSL_OK;
}

void nsl_sim_free(struct nsl_sim *sim)
{
    if (!sim)
        return;
    cert_free(&sim->leaf);
    cert_free(&sim->intermediate);
    cert_free(&sim->root);
    pthread_mutex_destroy(&sim->lock);
    free(sim);
}

const char *nsl_sim_module_id(const struct nsl_sim *sim)
{
    return sim->module_id;
}

nsl_err nsl_sim_root_der(struct nsl_sim *sim, struct nsl_buf *out, struct nsl_error *err)
{
    pthread_mutex_lock(&sim->lock);
    int rc = nsl_buf_append(out, sim->root.der.data, sim->root.der.len);
    pthread_mutex_unlock(&sim->lock);
    return rc == 0 ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

/* ---- CBOR writing (shortest heads, RFC 8949 §4.2.1) ------------------------------------------ */

static int put_head(struct nsl_buf *b, uint8_t major, uint64_t value)
{
    uint8_t head[9];
    return nsl_buf_append(b, head, nsl_attest_cbor_head(major, value, head));
}

static int put_text(struct nsl_buf *b, const char *text)
{
    size_t n = strlen(text);
    return put_head(b, MAJOR_TEXT, n) || nsl_buf_append(b, text, n) ? -1 : 0;
}

static int put_bytes(struct nsl_buf *b, const uint8_t *data, size_t len)
{
    if (put_head(b, MAJOR_BYTES, len) != 0)
        return -1;
    return len ? nsl_buf_append(b, data, len) : 0;
}

static int put_bytes_or_null(struct nsl_buf *b, const uint8_t *data, size_t len)
{
    return data ? put_bytes(b, data, len) : nsl_buf_append_u8(b, CBOR_NULL);
}

struct fields {
    const uint8_t *user_data, *nonce, *public_key;
    size_t user_data_len, nonce_len, public_key_len;
};

/* The payload map in the field order of current Nitro hypervisors, indefinite length. */
static int write_payload(const struct nsl_sim *sim, uint64_t timestamp_ms, const struct fields *f,
                         struct nsl_buf *b)
{
    static const uint8_t zero_pcr[NSL_NSM_PCR_LEN];
    if (nsl_buf_append_u8(b, CBOR_INDEF_MAP) || put_text(b, "module_id") ||
        put_text(b, sim->module_id) || put_text(b, "digest") || put_text(b, "SHA384") ||
        put_text(b, "timestamp") || put_head(b, MAJOR_UINT, timestamp_ms) || put_text(b, "pcrs") ||
        put_head(b, MAJOR_MAP, DOCUMENT_PCRS))
        return -1;
    for (unsigned i = 0; i < DOCUMENT_PCRS; i++)
        if (put_head(b, MAJOR_UINT, i) || put_bytes(b, zero_pcr, sizeof zero_pcr))
            return -1;
    if (put_text(b, "certificate") || put_bytes(b, sim->leaf.der.data, sim->leaf.der.len) ||
        put_text(b, "cabundle") || put_head(b, MAJOR_ARRAY, 2) ||
        put_bytes(b, sim->root.der.data, sim->root.der.len) ||
        put_bytes(b, sim->intermediate.der.data, sim->intermediate.der.len) ||
        put_text(b, "public_key") || put_bytes_or_null(b, f->public_key, f->public_key_len) ||
        put_text(b, "user_data") || put_bytes_or_null(b, f->user_data, f->user_data_len) ||
        put_text(b, "nonce") || put_bytes_or_null(b, f->nonce, f->nonce_len) ||
        nsl_buf_append_u8(b, CBOR_BREAK))
        return -1;
    return 0;
}

/* ES384 over Sig_structure ["Signature1", protected, h'', payload] (RFC 9052 §4.4), as r || s. */
static int sign_payload(EVP_PKEY *key, const struct nsl_buf *payload,
                        uint8_t sig[NSL_ATTEST_SIGNATURE_LEN])
{
    struct nsl_buf tbs = {0};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t der_len = sizeof der;
    int ok = md &&
             nsl_attest_cose_sig_structure(PROTECTED, sizeof PROTECTED, payload->data, payload->len,
                                           &tbs) == 0 &&
             EVP_DigestSignInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL) == 1 &&
             EVP_DigestSign(md, der, &der_len, tbs.data, tbs.len) == 1 &&
             nsl_attest_cose_sig_from_der(der, der_len, sig) == 0;
    EVP_MD_CTX_free(md);
    nsl_buf_free(&tbs);
    return ok ? 0 : -1;
}

static nsl_err check_limits(const struct fields *f, struct nsl_error *err)
{
    if (f->user_data && f->user_data_len > NSL_NSM_MAX_USER_DATA)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "user_data is longer than %d bytes",
                        NSL_NSM_MAX_USER_DATA);
    if (f->nonce && f->nonce_len > NSL_NSM_MAX_NONCE)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "nonce is longer than %d bytes",
                        NSL_NSM_MAX_NONCE);
    if (f->public_key && f->public_key_len > NSL_NSM_MAX_PUBLIC_KEY)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "public_key is longer than %d bytes",
                        NSL_NSM_MAX_PUBLIC_KEY);
    return NSL_OK;
}

nsl_err nsl_sim_attest_at(struct nsl_sim *sim, uint64_t at_ms, const uint8_t *user_data,
                          size_t user_data_len, const uint8_t *nonce, size_t nonce_len,
                          const uint8_t *public_key, size_t public_key_len, struct nsl_buf *doc,
                          struct nsl_error *err)
{
    const struct fields f = {user_data,     nonce,     public_key,
                             user_data_len, nonce_len, public_key_len};
    NSL_TRY(check_limits(&f, err));
    struct nsl_buf payload = {0};
    uint8_t sig[NSL_ATTEST_SIGNATURE_LEN];
    nsl_err rc = NSL_OK;
    int64_t now = (int64_t)(at_ms / 1000);

    pthread_mutex_lock(&sim->lock);
    if ((now < sim->leaf_made || now - sim->leaf_made >= NSL_SIM_LEAF_ROTATE) &&
        make_leaf(sim, now) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "cannot renew the simulated leaf certificate");
    else if (write_payload(sim, at_ms, &f, &payload) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory writing an attestation document");
    else if (sign_payload(sim->leaf.key, &payload, sig) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "cannot sign the attestation document");
    pthread_mutex_unlock(&sim->lock);

    /* COSE_Sign1, untagged: [protected, unprotected {}, payload, signature] */
    if (rc == NSL_OK &&
        (put_head(doc, MAJOR_ARRAY, 4) || put_bytes(doc, PROTECTED, sizeof PROTECTED) ||
         put_head(doc, MAJOR_MAP, 0) || put_bytes(doc, payload.data, payload.len) ||
         put_bytes(doc, sig, sizeof sig)))
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory writing an attestation document");
    nsl_buf_free(&payload);
    return rc;
}

nsl_err nsl_sim_attest(struct nsl_sim *sim, const uint8_t *user_data, size_t user_data_len,
                       const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key,
                       size_t public_key_len, struct nsl_buf *doc, struct nsl_error *err)
{
    return nsl_sim_attest_at(sim, now_ms(), user_data, user_data_len, nonce, nonce_len, public_key,
                             public_key_len, doc, err);
}

nsl_err nsl_sim_random(uint8_t *out, size_t len, struct nsl_error *err)
{
    return nsl_random_bytes(out, len) == 0
               ? NSL_OK
               : nsl_fail(err, NSL_ERR_UNAVAILABLE, "no randomness available");
}

nsl_err nsl_sim_describe_pcr(unsigned index, bool *locked, uint8_t data[NSL_NSM_MAX_PCR_LEN],
                             size_t *data_len, struct nsl_error *err)
{
    if (index >= NSL_NSM_PCR_COUNT)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "NSM refused the request: InvalidIndex");
    *locked = index < NSL_NSM_PCR_LOCKED_COUNT;
    memset(data, 0, NSL_NSM_PCR_LEN);
    *data_len = NSL_NSM_PCR_LEN;
    return NSL_OK;
}
