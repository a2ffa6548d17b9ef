/* The NSM device provider (src/attest/nsm.c, docs/nsm.md): request encodings byte for byte
 * against CBOR written out by hand here (NITRO.md gives GetRandom as 6947657452616e646f6d),
 * response decoding by key, NSM error bodies, and truncated, garbage and oversize responses.
 * There is no Nitro device on these machines: opening /dev/nsm must fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/nsm.h"
#include "common/encoding.h"

#define FIXTURE NSL_SOURCE_DIR "/tests/fixtures/nitro/attestation-prod-2026-02-02.cbor"

/* Hex with spaces allowed, appended to b. */
static void hex_append(struct nsl_buf *b, const char *text)
{
    char clean[8192];
    size_t n = 0;
    for (const char *p = text; *p; p++)
        if (*p != ' ') {
            assert_true(n < sizeof clean);
            clean[n++] = *p;
        }
    uint8_t bytes[4096];
    size_t len = 0;
    assert_int_equal(nsl_hex_decode(clean, n, bytes, sizeof bytes, &len), 0);
    assert_int_equal(nsl_buf_append(b, bytes, len), 0);
}

static void assert_bytes(const struct nsl_buf *got, const char *want_hex)
{
    struct nsl_buf want = {0};
    hex_append(&want, want_hex);
    assert_int_equal(got->len, want.len);
    assert_memory_equal(got->data, want.data, want.len);
    nsl_buf_free(&want);
}

/* Text heads and strings used below, written out once. */
#define T_ATTESTATION "6b 4174746573746174696f6e"  /* "Attestation" */
#define T_DESCRIBEPCR "6b 44657363726962655043 52" /* "DescribePCR" */
#define T_GETRANDOM   "69 47657452616e646f6d"      /* "GetRandom" */
#define T_USER_DATA   "69 757365725f64617461"      /* "user_data" */
#define T_NONCE       "65 6e6f6e6365"              /* "nonce" */
#define T_PUBLIC_KEY  "6a 7075626c69635f6b6579"    /* "public_key" */
#define T_INDEX       "65 696e646578"              /* "index" */
#define T_RANDOM      "66 72616e646f6d"            /* "random" */
#define T_DOCUMENT    "68 646f63756d656e74"        /* "document" */
#define T_LOCK        "64 6c6f636b"                /* "lock" */
#define T_DATA        "64 64617461"                /* "data" */
#define T_ERROR       "65 4572726f72"              /* "Error" */
#define ZERO16        "00000000000000000000000000000000"
#define PCR48         "58 30 " ZERO16 ZERO16 ZERO16 /* 48 zero bytes */

/* ---- requests ------------------------------------------------------------------------------ */

static void test_nsm_encodes_get_random_as_bare_text(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_nsm_encode_get_random(&b, &err), NSL_OK);
    assert_bytes(&b, "6947657452616e646f6d");
    nsl_buf_free(&b);
}

static void test_nsm_encodes_attestation_requests(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    struct nsl_error err = {0};
    /* all three null */
    assert_int_equal(nsl_nsm_encode_attestation(NULL, 0, NULL, 0, NULL, 0, &b, &err), NSL_OK);
    assert_bytes(&b,
                 "a1 " T_ATTESTATION " a3 " T_USER_DATA " f6 " T_NONCE " f6 " T_PUBLIC_KEY " f6");
    nsl_buf_reset(&b);

    /* user_data 2 bytes, a 24-byte nonce (one-byte length head), public_key "dummy", and an
     * empty user_data that stays a byte string */
    uint8_t nonce[24];
    for (size_t i = 0; i < sizeof nonce; i++)
        nonce[i] = (uint8_t)i;
    assert_int_equal(nsl_nsm_encode_attestation((const uint8_t *)"\x01\x02", 2, nonce, sizeof nonce,
                                                (const uint8_t *)"dummy", 5, &b, &err),
                     NSL_OK);
    assert_bytes(&b, "a1 " T_ATTESTATION " a3 " T_USER_DATA " 42 0102 " T_NONCE
                     " 58 18 000102030405060708090a0b0c0d0e0f1011121314151617 " T_PUBLIC_KEY
                     " 45 64756d6d79");
    nsl_buf_reset(&b);
    assert_int_equal(nsl_nsm_encode_attestation((const uint8_t *)"", 0, NULL, 0, NULL, 0, &b, &err),
                     NSL_OK);
    assert_bytes(&b,
                 "a1 " T_ATTESTATION " a3 " T_USER_DATA " 40 " T_NONCE " f6 " T_PUBLIC_KEY " f6");
    nsl_buf_free(&b);
}

static void test_nsm_attestation_request_limits(void **state)
{
    (void)state;
    static uint8_t big[1025];
    struct nsl_buf b = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_nsm_encode_attestation(big, 513, NULL, 0, NULL, 0, &b, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    assert_string_equal(err.message, "user_data is longer than 512 bytes");
    assert_int_equal(nsl_nsm_encode_attestation(NULL, 0, big, 513, NULL, 0, &b, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    assert_string_equal(err.message, "nonce is longer than 512 bytes");
    assert_int_equal(nsl_nsm_encode_attestation(NULL, 0, NULL, 0, big, 1025, &b, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    assert_string_equal(err.message, "public_key is longer than 1024 bytes");
    assert_int_equal(b.len, 0);
    /* at the limits: 512 and 1024 take two-byte length heads (59 0200, 59 0400) */
    assert_int_equal(nsl_nsm_encode_attestation(big, 512, big, 512, big, 1024, &b, &err), NSL_OK);
    assert_true(b.len <= NSL_NSM_MAX_REQUEST);
    assert_non_null(memmem(b.data, b.len, "\x69user_data\x59\x02\x00", 13));
    assert_non_null(memmem(b.data, b.len, "\x6apublic_key\x59\x04\x00", 14));
    nsl_buf_free(&b);
}

static void test_nsm_encodes_describe_pcr(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_nsm_encode_describe_pcr(0, &b, &err), NSL_OK);
    assert_bytes(&b, "a1 " T_DESCRIBEPCR " a1 " T_INDEX " 00");
    nsl_buf_reset(&b);
    assert_int_equal(nsl_nsm_encode_describe_pcr(23, &b, &err), NSL_OK);
    assert_bytes(&b, "a1 " T_DESCRIBEPCR " a1 " T_INDEX " 17");
    nsl_buf_reset(&b);
    assert_int_equal(nsl_nsm_encode_describe_pcr(31, &b, &err), NSL_OK);
    assert_bytes(&b, "a1 " T_DESCRIBEPCR " a1 " T_INDEX " 18 1f");
    nsl_buf_reset(&b);
    assert_int_equal(nsl_nsm_encode_describe_pcr(32, &b, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(b.len, 0);
    nsl_buf_free(&b);
}

/* ---- responses ----------------------------------------------------------------------------- */

static nsl_err decode_random_hex(const char *hex, uint8_t *out, size_t cap, size_t *n,
                                 struct nsl_error *err)
{
    struct nsl_buf b = {0};
    hex_append(&b, hex);
    nsl_err rc = nsl_nsm_decode_get_random(b.data, b.len, out, cap, n, err);
    nsl_buf_free(&b);
    return rc;
}

static void test_nsm_decodes_get_random(void **state)
{
    (void)state;
    uint8_t out[256];
    size_t n = 0;
    struct nsl_error err = {0};
    assert_int_equal(decode_random_hex("a1 " T_GETRANDOM " a1 " T_RANDOM " 44 deadbeef", out,
                                       sizeof out, &n, &err),
                     NSL_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
    /* an unknown extra key is ignored; an indefinite map and a chunked string are taken */
    assert_int_equal(decode_random_hex("bf " T_GETRANDOM " bf 63 6e6577 01 " T_RANDOM
                                       " 5f 42 0102 41 03 ff ff ff",
                                       out, sizeof out, &n, &err),
                     NSL_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "\x01\x02\x03", 3);
}

static void test_nsm_get_random_rejects_bad_sizes(void **state)
{
    (void)state;
    uint8_t out[300];
    size_t n = 99;
    struct nsl_error err = {0};
    struct nsl_buf b = {0};
    /* 257 bytes: more than one GetRandom gives */
    hex_append(&b, "a1 " T_GETRANDOM " a1 " T_RANDOM " 59 0101");
    uint8_t fill[257] = {0};
    assert_int_equal(nsl_buf_append(&b, fill, sizeof fill), 0);
    assert_int_equal(nsl_nsm_decode_get_random(b.data, b.len, out, sizeof out, &n, &err),
                     NSL_ERR_INTERNAL);
    assert_int_equal(n, 0);
    assert_string_equal(err.message,
                        "malformed NSM GetRandom response: \"random\" is not 1 to 256 bytes long");
    nsl_buf_free(&b);
    /* zero bytes */
    assert_int_equal(
        decode_random_hex("a1 " T_GETRANDOM " a1 " T_RANDOM " 40", out, sizeof out, &n, &err),
        NSL_ERR_INTERNAL);
    /* more than the caller's buffer */
    assert_int_equal(
        decode_random_hex("a1 " T_GETRANDOM " a1 " T_RANDOM " 44 01020304", out, 3, &n, &err),
        NSL_ERR_INTERNAL);
    /* a length head claiming 4 GiB in a short response */
    assert_int_equal(decode_random_hex("a1 " T_GETRANDOM " a1 " T_RANDOM " 5a ffffffff 00", out,
                                       sizeof out, &n, &err),
                     NSL_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "malformed NSM GetRandom response"));
}

static void test_nsm_decodes_a_recorded_attestation_document(void **state)
{
    (void)state;
    FILE *f = fopen(FIXTURE, "rb");
    assert_non_null(f);
    uint8_t doc[8192];
    size_t doc_len = fread(doc, 1, sizeof doc, f);
    fclose(f);
    assert_true(doc_len > 4000);
    /* {"Attestation": {"document": <the real 2026 document>}} */
    struct nsl_buf resp = {0}, out = {0};
    hex_append(&resp, "a1 " T_ATTESTATION " a1 " T_DOCUMENT " 59");
    assert_int_equal(nsl_buf_append_u8(&resp, (uint8_t)(doc_len >> 8)), 0);
    assert_int_equal(nsl_buf_append_u8(&resp, (uint8_t)doc_len), 0);
    assert_int_equal(nsl_buf_append(&resp, doc, doc_len), 0);
    struct nsl_error err = {0};
    assert_int_equal(nsl_nsm_decode_attestation(resp.data, resp.len, &out, &err), NSL_OK);
    assert_int_equal(out.len, doc_len);
    assert_memory_equal(out.data, doc, doc_len);
    nsl_buf_reset(&out);

    /* every truncation fails cleanly and leaves the output alone */
    for (size_t cut = 0; cut < resp.len; cut += (cut < 64 ? 1 : 97)) {
        assert_int_equal(nsl_nsm_decode_attestation(resp.data, cut, &out, &err), NSL_ERR_INTERNAL);
        assert_int_equal(out.len, 0);
    }
    /* a response longer than the device's buffer is refused before parsing */
    uint8_t *huge = calloc(1, NSL_NSM_RESPONSE_CAP + 1);
    assert_non_null(huge);
    assert_int_equal(nsl_nsm_decode_attestation(huge, NSL_NSM_RESPONSE_CAP + 1, &out, &err),
                     NSL_ERR_INTERNAL);
    free(huge);
    nsl_buf_free(&resp);
    nsl_buf_free(&out);
}

static nsl_err decode_pcr_hex(const char *hex, bool *locked, uint8_t *data, size_t *n,
                              struct nsl_error *err)
{
    struct nsl_buf b = {0};
    hex_append(&b, hex);
    nsl_err rc = nsl_nsm_decode_describe_pcr(b.data, b.len, locked, data, n, err);
    nsl_buf_free(&b);
    return rc;
}

static void test_nsm_decodes_describe_pcr_by_key(void **state)
{
    (void)state;
    bool locked = false;
    uint8_t data[NSL_NSM_MAX_PCR_LEN];
    size_t n = 0;
    struct nsl_error err = {0};
    assert_int_equal(decode_pcr_hex("a1 " T_DESCRIBEPCR " a2 " T_LOCK " f5 " T_DATA " " PCR48,
                                    &locked, data, &n, &err),
                     NSL_OK);
    assert_true(locked);
    assert_int_equal(n, 48);
    /* keys in the other order */
    assert_int_equal(decode_pcr_hex("a1 " T_DESCRIBEPCR " a2 " T_DATA " " PCR48 " " T_LOCK " f4",
                                    &locked, data, &n, &err),
                     NSL_OK);
    assert_false(locked);
    /* missing, mistyped, duplicated, wrong-sized fields */
    assert_int_equal(
        decode_pcr_hex("a1 " T_DESCRIBEPCR " a1 " T_DATA " " PCR48, &locked, data, &n, &err),
        NSL_ERR_INTERNAL);
    assert_string_equal(err.message, "malformed NSM DescribePCR response: \"lock\" is missing");
    assert_int_equal(decode_pcr_hex("a1 " T_DESCRIBEPCR " a2 " T_LOCK " 01 " T_DATA " " PCR48,
                                    &locked, data, &n, &err),
                     NSL_ERR_INTERNAL);
    assert_string_equal(err.message,
                        "malformed NSM DescribePCR response: \"lock\" is not a boolean");
    assert_int_equal(decode_pcr_hex("a1 " T_DESCRIBEPCR " a3 " T_LOCK " f5 " T_LOCK " f4 " T_DATA
                                    " " PCR48,
                                    &locked, data, &n, &err),
                     NSL_ERR_INTERNAL);
    assert_string_equal(err.message,
                        "malformed NSM DescribePCR response: \"lock\" is present twice");
    assert_int_equal(decode_pcr_hex("a1 " T_DESCRIBEPCR " a2 " T_LOCK " f5 " T_DATA " 58 1f " ZERO16
                                    "000000000000000000000000000000",
                                    &locked, data, &n, &err),
                     NSL_ERR_INTERNAL);
    assert_int_equal(decode_pcr_hex("a1 " T_DESCRIBEPCR " a2 " T_LOCK " f5 " T_DATA
                                    " 78 30 " ZERO16 ZERO16 ZERO16,
                                    &locked, data, &n, &err),
                     NSL_ERR_INTERNAL);
    assert_string_equal(err.message,
                        "malformed NSM DescribePCR response: \"data\" is not a byte string");
}

static void test_nsm_error_bodies_name_the_error(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        nsl_err code;
    } cases[] = {
        {"InvalidArgument", NSL_ERR_INVALID_PARAMS}, {"InvalidIndex", NSL_ERR_INVALID_PARAMS},
        {"ReadOnlyIndex", NSL_ERR_INVALID_PARAMS},   {"InputTooLarge", NSL_ERR_INVALID_PARAMS},
        {"InvalidResponse", NSL_ERR_INTERNAL},       {"InvalidOperation", NSL_ERR_INTERNAL},
        {"BufferTooSmall", NSL_ERR_INTERNAL},        {"InternalError", NSL_ERR_INTERNAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nsl_buf b = {0}, doc = {0};
        hex_append(&b, "a1 " T_ERROR);
        uint8_t head = (uint8_t)(0x60 | strlen(cases[i].name));
        assert_int_equal(nsl_buf_append_u8(&b, head), 0);
        assert_int_equal(nsl_buf_append(&b, cases[i].name, strlen(cases[i].name)), 0);
        struct nsl_error err = {0};
        char want[96];
        snprintf(want, sizeof want, "NSM refused the request: %s", cases[i].name);
        /* the same body answers any request */
        assert_int_equal(nsl_nsm_decode_attestation(b.data, b.len, &doc, &err), cases[i].code);
        assert_string_equal(err.message, want);
        uint8_t out[8];
        size_t n;
        assert_int_equal(nsl_nsm_decode_get_random(b.data, b.len, out, sizeof out, &n, &err),
                         cases[i].code);
        assert_string_equal(err.message, want);
        bool locked;
        uint8_t data[NSL_NSM_MAX_PCR_LEN];
        assert_int_equal(nsl_nsm_decode_describe_pcr(b.data, b.len, &locked, data, &n, &err),
                         cases[i].code);
        assert_string_equal(err.message, want);
        nsl_buf_free(&b);
        nsl_buf_free(&doc);
    }
    struct nsl_error err = {0};
    uint8_t out[8];
    size_t n;
    /* an error this code does not know, and an error body that is not text */
    assert_int_equal(
        decode_random_hex("a1 " T_ERROR " 67 4e6577456e756d", out, sizeof out, &n, &err),
        NSL_ERR_INTERNAL);
    assert_string_equal(err.message, "NSM refused the request with an unrecognised error");
    assert_int_equal(decode_random_hex("a1 " T_ERROR " 01", out, sizeof out, &n, &err),
                     NSL_ERR_INTERNAL);
}

static void test_nsm_rejects_garbage_responses(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "ff",                                             /* a lone break */
        "a1",                                             /* a map with nothing in it */
        "6a 4c6f636b50435273",                            /* bare text "LockPCRs"-like */
        "80",                                             /* an empty array */
        "a0",                                             /* an empty map */
        "a2 " T_GETRANDOM " a0 " T_ERROR " 60",           /* two entries */
        "a1 " T_DESCRIBEPCR " a1 " T_RANDOM " 41 00",     /* answers another request */
        "a1 " T_GETRANDOM " 41 00",                       /* body is not a map */
        "a1 " T_GETRANDOM " a0",                          /* random missing */
        "a1 " T_GETRANDOM " a1 " T_RANDOM " 64 61626364", /* random as text */
        "a1 " T_GETRANDOM " a1 " T_RANDOM " 41 00 00",    /* bytes after the item */
        "a1 01 a1 " T_RANDOM " 41 00",                    /* integer key */
        "9f 9f 9f 9f 9f 9f 9f 9f 9f 9f ff ff ff ff ff ff ff ff ff ff", /* too deep */
        "d9 d9f7 a1 " T_GETRANDOM " a1 " T_RANDOM " 41 00",            /* tagged */
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        uint8_t out[8];
        size_t n = 42;
        struct nsl_error err = {0};
        assert_int_equal(decode_random_hex(garbage[i], out, sizeof out, &n, &err),
                         NSL_ERR_INTERNAL);
        assert_int_equal(n, 0);
        assert_non_null(strstr(err.message, "malformed NSM GetRandom response"));
    }
    uint8_t out[8];
    size_t n;
    struct nsl_error err = {0};
    assert_int_equal(nsl_nsm_decode_get_random(NULL, 0, out, sizeof out, &n, &err),
                     NSL_ERR_INTERNAL);
}

/* ---- the device ---------------------------------------------------------------------------- */

static void test_nsm_open_fails_cleanly_without_a_device(void **state)
{
    (void)state;
    struct nsl_nsm *nsm = (struct nsl_nsm *)1;
    struct nsl_error err = {0};
    assert_int_equal(nsl_nsm_open(NSL_NSM_DEVICE, &nsm, &err), NSL_ERR_UNAVAILABLE);
    assert_null(nsm);
    assert_non_null(strstr(err.message, "/dev/nsm"));
    assert_non_null(strstr(err.message, "cannot be opened"));
}

/* A character device that is not the NSM: the ioctl fails (ENOTTY) and every operation says
 * UNAVAILABLE without touching the DRBG or leaving partial output. */
static void test_nsm_ioctl_failure_is_unavailable(void **state)
{
    (void)state;
    struct nsl_nsm *nsm = NULL;
    struct nsl_error err = {0};
    assert_int_equal(nsl_nsm_open("/dev/null", &nsm, &err), NSL_OK);
    struct nsl_buf req = {0}, resp = {0};
    assert_int_equal(nsl_nsm_encode_get_random(&req, &err), NSL_OK);
    assert_int_equal(nsl_nsm_call(nsm, req.data, req.len, &resp, &err), NSL_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "NSM request on /dev/null failed"));
    assert_int_equal(resp.len, 0);

    uint8_t big[NSL_NSM_MAX_REQUEST + 1] = {0};
    assert_int_equal(nsl_nsm_call(nsm, big, sizeof big, &resp, &err), NSL_ERR_LIMIT_EXCEEDED);
    assert_int_equal(nsl_nsm_call(nsm, big, 0, &resp, &err), NSL_ERR_LIMIT_EXCEEDED);

    uint8_t out[32];
    memset(out, 0xAA, sizeof out);
    assert_int_equal(nsl_nsm_get_random(nsm, out, sizeof out, &err), NSL_ERR_UNAVAILABLE);
    static const uint8_t zero[32];
    assert_memory_equal(out, zero, sizeof out);
    struct nsl_buf doc = {0};
    assert_int_equal(nsl_nsm_attest(nsm, NULL, 0, NULL, 0, NULL, 0, &doc, &err),
                     NSL_ERR_UNAVAILABLE);
    assert_int_equal(doc.len, 0);
    bool locked;
    uint8_t data[NSL_NSM_MAX_PCR_LEN];
    size_t n;
    assert_int_equal(nsl_nsm_describe_pcr(nsm, 0, &locked, data, &n, &err), NSL_ERR_UNAVAILABLE);
    assert_int_equal(nsl_nsm_describe_pcr(nsm, 99, &locked, data, &n, &err),
                     NSL_ERR_INVALID_PARAMS);
    nsl_err rc = nsl_nsm_seed_drbg(nsm, &err);
    assert_int_equal(rc, NSL_ERR_UNAVAILABLE);
    nsl_buf_free(&req);
    nsl_buf_free(&resp);
    nsl_nsm_close(nsm);
    nsl_nsm_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nsm_encodes_get_random_as_bare_text),
        cmocka_unit_test(test_nsm_encodes_attestation_requests),
        cmocka_unit_test(test_nsm_attestation_request_limits),
        cmocka_unit_test(test_nsm_encodes_describe_pcr),
        cmocka_unit_test(test_nsm_decodes_get_random),
        cmocka_unit_test(test_nsm_get_random_rejects_bad_sizes),
        cmocka_unit_test(test_nsm_decodes_a_recorded_attestation_document),
        cmocka_unit_test(test_nsm_decodes_describe_pcr_by_key),
        cmocka_unit_test(test_nsm_error_bodies_name_the_error),
        cmocka_unit_test(test_nsm_rejects_garbage_responses),
        cmocka_unit_test(test_nsm_open_fails_cleanly_without_a_device),
        cmocka_unit_test(test_nsm_ioctl_failure_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
