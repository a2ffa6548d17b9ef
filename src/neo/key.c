/* secp256r1 keys, signing and verification on OpenSSL 3's EVP interface (see key.h). EC_POINT and
 * ECDSA_SIG are the non-deprecated helpers for point arithmetic and r||s -> DER conversion; the
 * signing side reads OpenSSL's DER itself (der_to_raw). */
#include "neo/key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"

/* The curve's group with a secure BN context; both freed by curve_done. */
struct curve {
    EC_GROUP *group;
    BN_CTX *bn;
};

static int curve_init(struct curve *c)
{
    c->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    c->bn = BN_CTX_secure_new();
    return c->group && c->bn ? 0 : -1;
}

static void curve_done(struct curve *c)
{
    BN_CTX_free(c->bn);
    EC_GROUP_free(c->group);
}

/* The scalar of a valid private key as a secure BIGNUM, or NULL. */
static BIGNUM *scalar_of(const struct curve *c, const struct nsl_secret *key)
{
    if (!key || nsl_secret_len(key) != NSL_NEO_PRIVKEY_LEN)
        return NULL;
    BIGNUM *d = BN_secure_new();
    if (!d || !BN_bin2bn(nsl_secret_bytes(key), NSL_NEO_PRIVKEY_LEN, d) || BN_is_zero(d) ||
        BN_cmp(d, EC_GROUP_get0_order(c->group)) >= 0) {
        BN_clear_free(d);
        return NULL;
    }
    return d;
}

nsl_err nsl_neo_key_check(const struct nsl_secret *key, struct nsl_error *err)
{
    struct curve c;
    BIGNUM *d = NULL;
    int ok = curve_init(&c) == 0 && (d = scalar_of(&c, key)) != NULL;
    BN_clear_free(d);
    curve_done(&c);
    return ok ? NSL_OK : nsl_fail(err, NSL_ERR_INVALID_PARAMS, "not a valid secp256r1 private key");
}

nsl_err nsl_neo_key_generate(struct nsl_secret **key, struct nsl_error *err)
{
    /* A random 32-byte value is out of range with probability ~2^-32; draw again then. */
    for (int attempt = 0; attempt < 8; attempt++) {
        struct nsl_secret *k = nsl_secret_random(NSL_NEO_PRIVKEY_LEN);
        if (!k)
            return nsl_fail(err, NSL_ERR_INTERNAL, "random key generation failed");
        if (nsl_neo_key_check(k, NULL) == NSL_OK) {
            *key = k;
            return NSL_OK;
        }
        nsl_secret_free(k);
    }
    return nsl_fail(err, NSL_ERR_INTERNAL, "random key generation failed");
}

static int public_of(const struct curve *c, const BIGNUM *d, uint8_t *out, size_t len,
                     point_conversion_form_t form)
{
    EC_POINT *p = EC_POINT_new(c->group);
    int ok = p && EC_POINT_mul(c->group, p, d, NULL, NULL, c->bn) == 1 &&
             EC_POINT_point2oct(c->group, p, form, out, len, c->bn) == len;
    EC_POINT_free(p);
    return ok ? 0 : -1;
}

nsl_err nsl_neo_key_public(const struct nsl_secret *key, uint8_t pub[NSL_NEO_PUBKEY_LEN],
                           struct nsl_error *err)
{
    struct curve c;
    BIGNUM *d = NULL;
    nsl_err rc = NSL_OK;
    if (curve_init(&c) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "secp256r1 unavailable");
    else if (!(d = scalar_of(&c, key)))
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "not a valid secp256r1 private key");
    else if (public_of(&c, d, pub, NSL_NEO_PUBKEY_LEN, POINT_CONVERSION_COMPRESSED) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "public key derivation failed");
    BN_clear_free(d);
    curve_done(&c);
    return rc;
}

/* Decodes a SEC1 point (02/03 compressed or 04 uncompressed) and re-encodes it in form. The
 * decoder rejects points off the curve; we also refuse the point at infinity and hybrid forms. */
static int point_convert(const uint8_t *in, size_t len, point_conversion_form_t form, uint8_t *out,
                         size_t outlen)
{
    if (!((len == 33 && (in[0] == 2 || in[0] == 3)) || (len == 65 && in[0] == 4)))
        return -1;
    struct curve c;
    EC_POINT *p = NULL;
    int ok = curve_init(&c) == 0 && (p = EC_POINT_new(c.group)) != NULL &&
             EC_POINT_oct2point(c.group, p, in, len, c.bn) == 1 &&
             EC_POINT_is_on_curve(c.group, p, c.bn) == 1 && !EC_POINT_is_at_infinity(c.group, p) &&
             (!out || EC_POINT_point2oct(c.group, p, form, out, outlen, c.bn) == outlen);
    EC_POINT_free(p);
    curve_done(&c);
    return ok ? 0 : -1;
}

int nsl_neo_pubkey_check(const uint8_t *pub, size_t len)
{
    if (!pub || len != NSL_NEO_PUBKEY_LEN)
        return -1;
    return point_convert(pub, len, POINT_CONVERSION_COMPRESSED, NULL, 0);
}

int nsl_neo_pubkey_decompress(const uint8_t pub[NSL_NEO_PUBKEY_LEN], uint8_t out[65])
{
    return point_convert(pub, NSL_NEO_PUBKEY_LEN, POINT_CONVERSION_UNCOMPRESSED, out, 65);
}

int nsl_neo_pubkey_compress(const uint8_t *point, size_t len, uint8_t out[NSL_NEO_PUBKEY_LEN])
{
    return point_convert(point, len, POINT_CONVERSION_COMPRESSED, out, NSL_NEO_PUBKEY_LEN);
}

int nsl_neo_pubkey_compare(const uint8_t a[NSL_NEO_PUBKEY_LEN], const uint8_t b[NSL_NEO_PUBKEY_LEN])
{
    int x = memcmp(a + 1, b + 1, 32);
    if (x != 0 || a[0] == b[0])
        return x;
    /* Same X, opposite Y: compare the Y values themselves. */
    uint8_t ua[65], ub[65];
    if (nsl_neo_pubkey_decompress(a, ua) != 0 || nsl_neo_pubkey_decompress(b, ub) != 0)
        return a[0] - b[0];
    return memcmp(ua + 33, ub + 33, 32);
}

/* An EVP_PKEY from OSSL_PARAMs (public, or keypair when priv is given). */
static EVP_PKEY *pkey_from(const uint8_t *pub, size_t publen, const BIGNUM *priv)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    int ok = bld &&
             OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) &&
             (!priv || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) &&
             (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
             (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
             EVP_PKEY_fromdata_init(ctx) == 1;
    if (ok &&
        EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* a secure allocation when priv is secure: cleared on free */
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* secp256r1's group order n (big-endian). */
static const uint8_t group_order[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* One positive DER INTEGER of at most 32 significant bytes, right-aligned into out; advances *p.
 * Byte-level rather than through ECDSA_SIG and BIGNUMs: this runs on every signature. */
static int der_scalar(const uint8_t **p, const uint8_t *end, uint8_t out[32])
{
    const uint8_t *q = *p;
    if (end - q < 2 || q[0] != 0x02 || q[1] == 0 || q[1] > 33 || end - q - 2 < q[1])
        return -1;
    size_t len = q[1];
    q += 2;
    if (q[0] & 0x80)
        return -1; /* negative */
    if (len == 33) {
        if (q[0] != 0)
            return -1;
        q++;
        len--;
    }
    memset(out, 0, 32 - len);
    memcpy(out + 32 - len, q, len);
    *p = q + len;
    return 0;
}

/* r || s of a DER ECDSA-Sig-Value (as OpenSSL gives it), s folded to the low half of the order
 * (Neo, like Bitcoin, wants low-S): s becomes n - s when that is the smaller (n is odd, so they
 * never tie). */
static int der_to_raw(const uint8_t *der, size_t len, uint8_t sig[NSL_NEO_SIG_LEN])
{
    const uint8_t *p = der + 2, *end = der + len;
    if (len < 2 || der[0] != 0x30 || der[1] != len - 2 || der_scalar(&p, end, sig) != 0 ||
        der_scalar(&p, end, sig + 32) != 0 || p != end)
        return -1;
    uint8_t negated[32];
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = group_order[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        negated[i] = (uint8_t)(d + 256 * borrow);
    }
    if (memcmp(sig + 32, negated, 32) > 0)
        memcpy(sig + 32, negated, 32);
    return 0;
}

/* Immutable once made and shared by reference count, so cached keys are handed out without
 * copying. sign_ctx is initialised for signing once; each signature works on a duplicate of it,
 * which spares the provider lookups of a fresh context. */
struct nsl_neo_signing_key {
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *sign_ctx;
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    int refs;
};

static EVP_PKEY_CTX *sign_ctx_of(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx && EVP_PKEY_sign_init(ctx) == 1)
        return ctx;
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

nsl_err nsl_neo_signing_key_new(const struct nsl_secret *key, struct nsl_neo_signing_key **out,
                                struct nsl_error *err)
{
    struct curve c;
    BIGNUM *d = NULL;
    struct nsl_neo_signing_key *k = calloc(1, sizeof *k);
    nsl_err rc = NSL_OK;
    if (!k || curve_init(&c) != 0) {
        free(k);
        return nsl_fail(err, NSL_ERR_INTERNAL, "secp256r1 unavailable");
    }
    if (!(d = scalar_of(&c, key)))
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "not a valid secp256r1 private key");
    else if (public_of(&c, d, k->pub, sizeof k->pub, POINT_CONVERSION_COMPRESSED) != 0 ||
             !(k->pkey = pkey_from(k->pub, sizeof k->pub, d)) ||
             !(k->sign_ctx = sign_ctx_of(k->pkey)))
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "cannot prepare the signing key");
    k->refs = 1;
    BN_clear_free(d);
    curve_done(&c);
    if (rc != NSL_OK)
        nsl_neo_signing_key_free(k);
    else
        *out = k;
    return rc;
}

struct nsl_neo_signing_key *nsl_neo_signing_key_dup(const struct nsl_neo_signing_key *k)
{
    struct nsl_neo_signing_key *shared = (struct nsl_neo_signing_key *)k;
    __atomic_add_fetch(&shared->refs, 1, __ATOMIC_RELAXED);
    return shared;
}

const uint8_t *nsl_neo_signing_key_public(const struct nsl_neo_signing_key *k)
{
    return k->pub;
}

void nsl_neo_signing_key_free(struct nsl_neo_signing_key *k)
{
    if (!k || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    EVP_PKEY_CTX_free(k->sign_ctx);
    EVP_PKEY_free(k->pkey);
    free(k);
}

nsl_err nsl_neo_signing_key_sign(const struct nsl_neo_signing_key *k, const void *msg, size_t len,
                                 uint8_t sig[NSL_NEO_SIG_LEN], struct nsl_error *err)
{
    uint8_t der[80], digest[32];
    size_t derlen = sizeof der;
    EVP_PKEY_CTX *ctx = NULL;
    int ok = nsl_sha256(msg, len, digest) == 0 && (ctx = EVP_PKEY_CTX_dup(k->sign_ctx)) &&
             EVP_PKEY_sign(ctx, der, &derlen, digest, sizeof digest) == 1 &&
             der_to_raw(der, derlen, sig) == 0;
    EVP_PKEY_CTX_free(ctx);
    return ok ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "signing failed");
}

nsl_err nsl_neo_key_sign(const struct nsl_secret *key, const void *msg, size_t len,
                         uint8_t sig[NSL_NEO_SIG_LEN], struct nsl_error *err)
{
    struct nsl_neo_signing_key *k = NULL;
    NSL_TRY(nsl_neo_signing_key_new(key, &k, err));
    nsl_err rc = nsl_neo_signing_key_sign(k, msg, len, sig, err);
    nsl_neo_signing_key_free(k);
    return rc;
}

/* DER encoding of r || s; fails for r or s of zero. */
static int raw_to_der(const uint8_t sig[NSL_NEO_SIG_LEN], uint8_t **der, size_t *len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    int ok = es && r && s && !BN_is_zero(r) && !BN_is_zero(s) && ECDSA_SIG_set0(es, r, s) == 1;
    if (ok)
        r = s = NULL; /* owned by es now */
    int n = ok ? i2d_ECDSA_SIG(es, der) : -1;
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    if (n <= 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

int nsl_neo_pubkey_verify(const uint8_t *pub, size_t publen, const void *msg, size_t len,
                          const uint8_t *sig, size_t siglen)
{
    if (siglen != NSL_NEO_SIG_LEN || nsl_neo_pubkey_check(pub, publen) != 0)
        return -1;
    uint8_t *der = NULL;
    size_t derlen = 0;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    int ok = raw_to_der(sig, &der, &derlen) == 0 && (pkey = pkey_from(pub, publen, NULL)) &&
             (md = EVP_MD_CTX_new()) &&
             EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
             EVP_DigestVerify(md, der, derlen, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    OPENSSL_free(der);
    return ok ? 0 : -1;
}
