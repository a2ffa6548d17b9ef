/* HPKE (src/crypto/hpke.c, docs/hpke.md): the published vectors of RFC 9180, round trips, and
 * every way a sealed payload can be altered or misdirected, each of which must fail with the one
 * uninformative error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "crypto/hpke.h"

static size_t unhex(const char *text, uint8_t *out, size_t cap)
{
    size_t len = 0;
    assert_int_equal(nsl_hex_decode(text, strlen(text), out, cap, &len), 0);
    return len;
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
    uint8_t buf[256];
    assert_int_equal(unhex(want, buf, sizeof buf), len);
    assert_memory_equal(got, buf, len);
}

static struct nsl_secret *secret_hex(const char *text)
{
    uint8_t buf[64];
    size_t len = unhex(text, buf, sizeof buf);
    struct nsl_secret *s = nsl_secret_from(buf, len);
    assert_non_null(s);
    return s;
}

/* RFC 9180 §A.2.1 "Base Setup Information" for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20Poly1305 (mode 0, kem_id 32, kdf_id 1, aead_id 3), and §A.2.1.1 "Encryptions". */
#define A21_INFO   "4f6465206f6e2061204772656369616e2055726e" /* "Ode on a Grecian Urn" */
#define A21_IKME   "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b"
#define A21_PKEM   "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"
#define A21_SKEM   "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600"
#define A21_IKMR   "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df"
#define A21_PKRM   "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a"
#define A21_SKRM   "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb"
#define A21_ENC    A21_PKEM
#define A21_SHARED "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7"
#define A21_KEY    "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91"
#define A21_NONCE  "5c4d98150661b848853b547f"
#define A21_EXP    "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922"
/* "Beauty is truth, truth beauty" */
#define A21_PT "4265617574792069732074727574682c20747275746820626561757479"

static const struct {
    uint64_t seq;
    const char *aad; /* "Count-<seq>" */
    const char *nonce;
    const char *ct;
} A211[] = {
    {0, "436f756e742d30", "5c4d98150661b848853b547f",
     "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"},
    {1, "436f756e742d31", "5c4d98150661b848853b547e",
     "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c"},
    {2, "436f756e742d32", "5c4d98150661b848853b547d",
     "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b"},
    {4, "436f756e742d34", "5c4d98150661b848853b547b",
     "63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe16"},
    {255, "436f756e742d323535", "5c4d98150661b848853b5480",
     "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95c"},
    {256, "436f756e742d323536", "5c4d98150661b848853b557f",
     "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5b"},
};

static void test_hpke_derive_keypair_matches_rfc9180_a21(void **state)
{
    (void)state;
    uint8_t ikm[32], pk[32];
    struct nsl_secret *sk = NULL;
    struct nsl_error err = {0};
    unhex(A21_IKME, ikm, sizeof ikm);
    assert_int_equal(nsl_hpke_derive_keypair(ikm, sizeof ikm, &sk, pk, &err), NSL_OK);
    assert_hex(nsl_secret_bytes(sk), 32, A21_SKEM);
    assert_hex(pk, 32, A21_PKEM);
    nsl_secret_free(sk);
    unhex(A21_IKMR, ikm, sizeof ikm);
    assert_int_equal(nsl_hpke_derive_keypair(ikm, sizeof ikm, &sk, pk, &err), NSL_OK);
    assert_hex(nsl_secret_bytes(sk), 32, A21_SKRM);
    assert_hex(pk, 32, A21_PKRM);
    nsl_secret_free(sk);
    assert_int_equal(nsl_hpke_derive_keypair(ikm, 31, &sk, pk, &err), NSL_ERR_INVALID_PARAMS);
    assert_null(sk);
}

static void test_hpke_setup_matches_rfc9180_a21(void **state)
{
    (void)state;
    uint8_t info[64], pkR[32], enc[32], shared[32];
    size_t info_len = unhex(A21_INFO, info, sizeof info);
    unhex(A21_PKRM, pkR, sizeof pkR);
    struct nsl_secret *skE = secret_hex(A21_SKEM), *skR = secret_hex(A21_SKRM);
    struct nsl_hpke_context ctx;
    struct nsl_error err = {0};

    assert_int_equal(nsl_hpke_setup_sender(skE, pkR, info, info_len, enc, shared, &ctx, &err),
                     NSL_OK);
    assert_hex(enc, 32, A21_ENC);
    assert_hex(shared, 32, A21_SHARED);
    assert_hex(ctx.key, sizeof ctx.key, A21_KEY);
    assert_hex(ctx.base_nonce, sizeof ctx.base_nonce, A21_NONCE);
    assert_hex(ctx.exporter_secret, sizeof ctx.exporter_secret, A21_EXP);
    nsl_hpke_context_wipe(&ctx);

    memset(shared, 0, sizeof shared);
    assert_int_equal(nsl_hpke_setup_recipient(skR, enc, info, info_len, shared, &ctx, &err),
                     NSL_OK);
    assert_hex(shared, 32, A21_SHARED);
    assert_hex(ctx.key, sizeof ctx.key, A21_KEY);
    assert_hex(ctx.base_nonce, sizeof ctx.base_nonce, A21_NONCE);
    assert_hex(ctx.exporter_secret, sizeof ctx.exporter_secret, A21_EXP);
    nsl_hpke_context_wipe(&ctx);

    uint8_t pk[32];
    assert_int_equal(nsl_hpke_public_key(skR, pk, &err), NSL_OK);
    assert_hex(pk, 32, A21_PKRM);
    nsl_secret_free(skE);
    nsl_secret_free(skR);
}

/* Every sequence number the RFC lists: ComputeNonce, then Seal and Open under the context. */
static void test_hpke_encryptions_match_rfc9180_a211(void **state)
{
    (void)state;
    uint8_t info[64], pkR[32], enc[32], shared[32], pt[64], aad[16], nonce[12];
    size_t info_len = unhex(A21_INFO, info, sizeof info), pt_len = unhex(A21_PT, pt, sizeof pt);
    unhex(A21_PKRM, pkR, sizeof pkR);
    struct nsl_secret *skE = secret_hex(A21_SKEM), *skR = secret_hex(A21_SKRM);
    struct nsl_hpke_context sender, recipient;
    struct nsl_error err = {0};
    assert_int_equal(nsl_hpke_setup_sender(skE, pkR, info, info_len, enc, shared, &sender, &err),
                     NSL_OK);
    assert_int_equal(nsl_hpke_setup_recipient(skR, enc, info, info_len, shared, &recipient, &err),
                     NSL_OK);
    for (size_t i = 0; i < sizeof A211 / sizeof A211[0]; i++) {
        size_t aad_len = unhex(A211[i].aad, aad, sizeof aad);
        nsl_hpke_context_nonce(&sender, A211[i].seq, nonce);
        assert_hex(nonce, sizeof nonce, A211[i].nonce);

        struct nsl_buf ct = {0};
        assert_int_equal(
            nsl_hpke_context_seal(&sender, A211[i].seq, aad, aad_len, pt, pt_len, &ct, &err),
            NSL_OK);
        assert_int_equal(ct.len, pt_len + NSL_HPKE_TAG_LEN);
        assert_hex(ct.data, ct.len, A211[i].ct);

        struct nsl_secret *opened = NULL;
        assert_int_equal(nsl_hpke_context_open(&recipient, A211[i].seq, aad, aad_len, ct.data,
                                               ct.len, &opened, &err),
                         NSL_OK);
        assert_int_equal(nsl_secret_len(opened), pt_len);
        assert_memory_equal(nsl_secret_bytes(opened), pt, pt_len);
        nsl_secret_free(opened);
        /* the same ciphertext under the next sequence number's nonce does not open */
        assert_int_equal(nsl_hpke_context_open(&recipient, A211[i].seq + 1, aad, aad_len, ct.data,
                                               ct.len, &opened, &err),
                         NSL_ERR_INVALID_PARAMS);
        assert_null(opened);
        nsl_buf_free(&ct);
    }
    nsl_hpke_context_wipe(&sender);
    nsl_hpke_context_wipe(&recipient);
    nsl_secret_free(skE);
    nsl_secret_free(skR);
}

/* The single-shot API is sequence number 0 of the same vectors. */
static void test_hpke_single_shot_matches_rfc9180_a211_sequence_0(void **state)
{
    (void)state;
    uint8_t info[64], pkR[32], enc[32], pt[64], aad[16];
    size_t info_len = unhex(A21_INFO, info, sizeof info), pt_len = unhex(A21_PT, pt, sizeof pt);
    size_t aad_len = unhex(A211[0].aad, aad, sizeof aad);
    unhex(A21_PKRM, pkR, sizeof pkR);
    struct nsl_secret *skE = secret_hex(A21_SKEM), *skR = secret_hex(A21_SKRM);
    struct nsl_buf ct = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_hpke_seal_with_ephemeral(skE, pkR, info, info_len, aad, aad_len, pt,
                                                  pt_len, enc, &ct, &err),
                     NSL_OK);
    assert_hex(enc, 32, A21_ENC);
    assert_hex(ct.data, ct.len, A211[0].ct);
    struct nsl_secret *opened = NULL;
    assert_int_equal(
        nsl_hpke_open(skR, enc, info, info_len, aad, aad_len, ct.data, ct.len, &opened, &err),
        NSL_OK);
    assert_int_equal(nsl_secret_len(opened), pt_len);
    assert_memory_equal(nsl_secret_bytes(opened), pt, pt_len);
    nsl_secret_free(opened);
    nsl_buf_free(&ct);
    nsl_secret_free(skE);
    nsl_secret_free(skR);
}

static const char INFO[] = "nsl-request-1";
static const char AAD[] = "wallet.signMessage";
static const char MSG[] = "{\"keyId\":\"k_1\",\"message\":\"68656c6c6f\"}";

struct sealed {
    struct nsl_secret *skR;
    uint8_t pkR[32];
    uint8_t enc[32];
    struct nsl_buf ct;
};

static void seal_sample(struct sealed *s)
{
    struct nsl_error err = {0};
    memset(s, 0, sizeof *s);
    assert_int_equal(nsl_hpke_keypair(&s->skR, s->pkR, &err), NSL_OK);
    assert_int_equal(nsl_hpke_seal(s->pkR, INFO, strlen(INFO), AAD, strlen(AAD), MSG, strlen(MSG),
                                   s->enc, &s->ct, &err),
                     NSL_OK);
    assert_int_equal(s->ct.len, strlen(MSG) + NSL_HPKE_TAG_LEN);
}

static void sealed_free(struct sealed *s)
{
    nsl_secret_free(s->skR);
    nsl_buf_free(&s->ct);
}

static void assert_does_not_open(const struct nsl_secret *skR, const uint8_t enc[32],
                                 const char *info, const char *aad, const uint8_t *ct,
                                 size_t ct_len)
{
    struct nsl_secret *pt = (struct nsl_secret *)1;
    struct nsl_error err = {0};
    assert_int_equal(
        nsl_hpke_open(skR, enc, info, strlen(info), aad, strlen(aad), ct, ct_len, &pt, &err),
        NSL_ERR_INVALID_PARAMS);
    assert_null(pt);
    assert_string_equal(err.message, "sealed payload does not open");
}

static void test_hpke_round_trip(void **state)
{
    (void)state;
    struct sealed s;
    seal_sample(&s);
    assert_null(memmem(s.ct.data, s.ct.len, "keyId", 5));
    struct nsl_secret *pt = NULL;
    struct nsl_error err = {0};
    assert_int_equal(nsl_hpke_open(s.skR, s.enc, INFO, strlen(INFO), AAD, strlen(AAD), s.ct.data,
                                   s.ct.len, &pt, &err),
                     NSL_OK);
    assert_int_equal(nsl_secret_len(pt), strlen(MSG));
    assert_memory_equal(nsl_secret_bytes(pt), MSG, strlen(MSG));
    nsl_secret_free(pt);

    /* a second seal of the same message uses a fresh ephemeral key */
    uint8_t enc2[32];
    struct nsl_buf ct2 = {0};
    assert_int_equal(nsl_hpke_seal(s.pkR, INFO, strlen(INFO), AAD, strlen(AAD), MSG, strlen(MSG),
                                   enc2, &ct2, &err),
                     NSL_OK);
    assert_memory_not_equal(enc2, s.enc, 32);
    assert_memory_not_equal(ct2.data, s.ct.data, ct2.len);
    nsl_buf_free(&ct2);
    sealed_free(&s);
}

static void test_hpke_round_trip_empty_and_large(void **state)
{
    (void)state;
    struct nsl_secret *skR = NULL, *pt = NULL;
    uint8_t pkR[32], enc[32];
    struct nsl_error err = {0};
    assert_int_equal(nsl_hpke_keypair(&skR, pkR, &err), NSL_OK);

    struct nsl_buf ct = {0};
    assert_int_equal(nsl_hpke_seal(pkR, NULL, 0, NULL, 0, NULL, 0, enc, &ct, &err), NSL_OK);
    assert_int_equal(ct.len, NSL_HPKE_TAG_LEN);
    assert_int_equal(nsl_hpke_open(skR, enc, NULL, 0, NULL, 0, ct.data, ct.len, &pt, &err), NSL_OK);
    assert_int_equal(nsl_secret_len(pt), 0);
    nsl_secret_free(pt);
    nsl_buf_free(&ct);

    size_t big = 1 << 20;
    uint8_t *msg = malloc(big);
    assert_non_null(msg);
    for (size_t i = 0; i < big; i++)
        msg[i] = (uint8_t)(i * 31);
    assert_int_equal(
        nsl_hpke_seal(pkR, INFO, strlen(INFO), AAD, strlen(AAD), msg, big, enc, &ct, &err), NSL_OK);
    assert_int_equal(
        nsl_hpke_open(skR, enc, INFO, strlen(INFO), AAD, strlen(AAD), ct.data, ct.len, &pt, &err),
        NSL_OK);
    assert_int_equal(nsl_secret_len(pt), big);
    assert_memory_equal(nsl_secret_bytes(pt), msg, big);
    nsl_secret_free(pt);
    nsl_buf_free(&ct);
    free(msg);
    nsl_secret_free(skR);
}

static void test_hpke_open_rejects_every_flipped_bit_of_enc_and_ct(void **state)
{
    (void)state;
    struct sealed s;
    seal_sample(&s);
    for (size_t i = 0; i < sizeof s.enc; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            uint8_t enc[32];
            memcpy(enc, s.enc, sizeof enc);
            enc[i] ^= (uint8_t)(1u << bit);
            /* bit 255 of an X25519 u-coordinate is ignored (RFC 7748 §5), so the top bit of the
             * last byte yields the same DH value; HPKE still fails because enc is hashed into
             * the KEM context. */
            assert_does_not_open(s.skR, enc, INFO, AAD, s.ct.data, s.ct.len);
        }
    }
    for (size_t i = 0; i < s.ct.len; i++) {
        s.ct.data[i] ^= 0x01;
        assert_does_not_open(s.skR, s.enc, INFO, AAD, s.ct.data, s.ct.len);
        s.ct.data[i] ^= 0x01;
    }
    sealed_free(&s);
}

static void test_hpke_open_rejects_truncated_or_extended_ct(void **state)
{
    (void)state;
    struct sealed s;
    seal_sample(&s);
    assert_does_not_open(s.skR, s.enc, INFO, AAD, s.ct.data, s.ct.len - 1);
    assert_does_not_open(s.skR, s.enc, INFO, AAD, s.ct.data, NSL_HPKE_TAG_LEN);
    assert_does_not_open(s.skR, s.enc, INFO, AAD, s.ct.data, NSL_HPKE_TAG_LEN - 1);
    assert_does_not_open(s.skR, s.enc, INFO, AAD, s.ct.data, 0);
    assert_int_equal(nsl_buf_append_u8(&s.ct, 0), 0);
    assert_does_not_open(s.skR, s.enc, INFO, AAD, s.ct.data, s.ct.len);
    sealed_free(&s);
}

static void test_hpke_open_rejects_other_aad_or_info(void **state)
{
    (void)state;
    struct sealed s;
    seal_sample(&s);
    /* moved to another operation, or presented as a result instead of a request */
    assert_does_not_open(s.skR, s.enc, INFO, "wallet.signTransaction", s.ct.data, s.ct.len);
    assert_does_not_open(s.skR, s.enc, INFO, "", s.ct.data, s.ct.len);
    assert_does_not_open(s.skR, s.enc, "nsl-result-1", AAD, s.ct.data, s.ct.len);
    assert_does_not_open(s.skR, s.enc, "", AAD, s.ct.data, s.ct.len);
    sealed_free(&s);
}

static void test_hpke_open_rejects_wrong_key(void **state)
{
    (void)state;
    struct sealed s;
    seal_sample(&s);
    struct nsl_secret *other = NULL;
    uint8_t pk[32];
    struct nsl_error err = {0};
    assert_int_equal(nsl_hpke_keypair(&other, pk, &err), NSL_OK);
    assert_does_not_open(other, s.enc, INFO, AAD, s.ct.data, s.ct.len);
    nsl_secret_free(other);
    /* a private key of the wrong length is refused the same way */
    other = nsl_secret_new(31);
    assert_non_null(other);
    assert_does_not_open(other, s.enc, INFO, AAD, s.ct.data, s.ct.len);
    nsl_secret_free(other);
    sealed_free(&s);
}

/* A low-order point makes the X25519 output all zero (RFC 9180 §7.1.4): refused both ways. */
static void test_hpke_rejects_low_order_points(void **state)
{
    (void)state;
    uint8_t zero[32] = {0}, one[32] = {1}, enc[32];
    struct nsl_buf ct = {0};
    struct nsl_error err = {0};
    assert_int_equal(
        nsl_hpke_seal(zero, INFO, strlen(INFO), AAD, strlen(AAD), "x", 1, enc, &ct, &err),
        NSL_ERR_INVALID_PARAMS);
    assert_int_equal(
        nsl_hpke_seal(one, INFO, strlen(INFO), AAD, strlen(AAD), "x", 1, enc, &ct, &err),
        NSL_ERR_INVALID_PARAMS);
    assert_int_equal(ct.len, 0);
    nsl_buf_free(&ct);

    struct sealed s;
    seal_sample(&s);
    assert_does_not_open(s.skR, zero, INFO, AAD, s.ct.data, s.ct.len);
    assert_does_not_open(s.skR, one, INFO, AAD, s.ct.data, s.ct.len);
    sealed_free(&s);
}

static void test_hpke_keypair_public_key_matches(void **state)
{
    (void)state;
    struct nsl_secret *sk = NULL;
    uint8_t pk[32], again[32];
    struct nsl_error err = {0};
    assert_int_equal(nsl_hpke_keypair(&sk, pk, &err), NSL_OK);
    assert_int_equal(nsl_secret_len(sk), NSL_HPKE_PRIVATE_KEY_LEN);
    assert_int_equal(nsl_hpke_public_key(sk, again, &err), NSL_OK);
    assert_memory_equal(pk, again, 32);
    nsl_secret_free(sk);
    sk = nsl_secret_new(16);
    assert_int_equal(nsl_hpke_public_key(sk, again, &err), NSL_ERR_INVALID_PARAMS);
    nsl_secret_free(sk);
}

static void test_hpke_seal_rejects_oversize_info(void **state)
{
    (void)state;
    struct nsl_secret *sk = NULL;
    uint8_t pk[32], enc[32], info[1025] = {0};
    struct nsl_buf ct = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_hpke_keypair(&sk, pk, &err), NSL_OK);
    assert_int_equal(nsl_hpke_seal(pk, info, sizeof info, NULL, 0, "x", 1, enc, &ct, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_hpke_seal(pk, info, sizeof info - 1, NULL, 0, "x", 1, enc, &ct, &err),
                     NSL_OK);
    nsl_buf_free(&ct);
    nsl_secret_free(sk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hpke_derive_keypair_matches_rfc9180_a21),
        cmocka_unit_test(test_hpke_setup_matches_rfc9180_a21),
        cmocka_unit_test(test_hpke_encryptions_match_rfc9180_a211),
        cmocka_unit_test(test_hpke_single_shot_matches_rfc9180_a211_sequence_0),
        cmocka_unit_test(test_hpke_round_trip),
        cmocka_unit_test(test_hpke_round_trip_empty_and_large),
        cmocka_unit_test(test_hpke_open_rejects_every_flipped_bit_of_enc_and_ct),
        cmocka_unit_test(test_hpke_open_rejects_truncated_or_extended_ct),
        cmocka_unit_test(test_hpke_open_rejects_other_aad_or_info),
        cmocka_unit_test(test_hpke_open_rejects_wrong_key),
        cmocka_unit_test(test_hpke_rejects_low_order_points),
        cmocka_unit_test(test_hpke_keypair_public_key_matches),
        cmocka_unit_test(test_hpke_seal_rejects_oversize_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
