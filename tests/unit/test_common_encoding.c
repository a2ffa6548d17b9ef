/* Unit tests of common/encoding: hex and strict RFC 4648 base64. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"

static int hex_dec(const char *hex, uint8_t *out, size_t cap, size_t *outlen)
{
    return nsl_hex_decode(hex, strlen(hex), out, cap, outlen);
}

static int b64_dec(const char *b64, uint8_t *out, size_t cap, size_t *outlen)
{
    return nsl_base64_decode(b64, strlen(b64), out, cap, outlen);
}

static void test_hex_encode_is_lowercase(void **state)
{
    (void)state;
    const uint8_t data[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
    char out[13];
    nsl_hex_encode(data, sizeof data, out);
    assert_string_equal(out, "0001abcdefff");
    nsl_hex_encode(data, 0, out);
    assert_string_equal(out, "");
}

static void test_hex_round_trips_every_byte(void **state)
{
    (void)state;
    uint8_t data[256], back[256];
    for (int i = 0; i < 256; i++)
        data[i] = (uint8_t)i;
    char *hex = nsl_hex_encode_alloc(data, sizeof data);
    assert_non_null(hex);
    assert_int_equal(strlen(hex), 512);
    size_t n = 0;
    assert_int_equal(hex_dec(hex, back, sizeof back, &n), 0);
    assert_int_equal(n, 256);
    assert_memory_equal(back, data, 256);
    free(hex);
}

static void test_hex_decode_accepts_uppercase(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t n = 0;
    assert_int_equal(hex_dec("DEADbeef", out, sizeof out, &n), 0);
    assert_int_equal(n, 4);
    const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef};
    assert_memory_equal(out, want, 4);
}

static void test_hex_decode_empty_is_empty(void **state)
{
    (void)state;
    uint8_t out[1];
    size_t n = 99;
    assert_int_equal(hex_dec("", out, 0, &n), 0);
    assert_int_equal(n, 0);
}

static void test_hex_decode_rejects_odd_length(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t n = 99;
    assert_int_equal(hex_dec("abc", out, sizeof out, &n), -1);
    assert_int_equal(hex_dec("a", out, sizeof out, &n), -1);
    assert_int_equal(n, 99);
}

static void test_hex_decode_rejects_bad_characters(void **state)
{
    (void)state;
    static const char *const bad[] = {"0g", "g0", "  ", "0x12", "+1", "ab-d", "zz", "12\n3"};
    uint8_t out[8];
    size_t n = 99;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hex_dec(bad[i], out, sizeof out, &n), -1);
    /* A NUL inside the counted length is a bad character, not a terminator. */
    assert_int_equal(nsl_hex_decode("ab\0d", 4, out, sizeof out, &n), -1);
    assert_int_equal(n, 99);
}

static void test_hex_decode_rejects_too_small_capacity(void **state)
{
    (void)state;
    uint8_t out[4] = {0x55, 0x55, 0x55, 0x55};
    size_t n = 99;
    assert_int_equal(hex_dec("0102030405", out, 4, &n), -1);
    assert_int_equal(out[0], 0x55); /* nothing written */
    assert_int_equal(n, 99);
    assert_int_equal(hex_dec("01020304", out, 4, &n), 0);
    assert_int_equal(n, 4);
}

struct b64_vector {
    const char *plain, *encoded;
};

/* RFC 4648 §10. */
static const struct b64_vector rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_encodes_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        const struct b64_vector *v = &rfc4648[i];
        size_t len = strlen(v->plain);
        assert_int_equal(nsl_base64_encoded_len(len), strlen(v->encoded));
        char out[16];
        nsl_base64_encode((const uint8_t *)v->plain, len, out);
        assert_string_equal(out, v->encoded);
        char *a = nsl_base64_encode_alloc((const uint8_t *)v->plain, len);
        assert_non_null(a);
        assert_string_equal(a, v->encoded);
        free(a);
    }
}

static void test_base64_decodes_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        const struct b64_vector *v = &rfc4648[i];
        size_t elen = strlen(v->encoded);
        assert_true(nsl_base64_decoded_max(elen) >= strlen(v->plain));
        uint8_t out[16];
        size_t n = 99;
        assert_int_equal(nsl_base64_decode(v->encoded, elen, out, sizeof out, &n), 0);
        assert_int_equal(n, strlen(v->plain));
        assert_memory_equal(out, v->plain, n);
        /* The exact size is enough capacity; one less is not. */
        assert_int_equal(nsl_base64_decode(v->encoded, elen, out, strlen(v->plain), &n), 0);
        if (n > 0)
            assert_int_equal(nsl_base64_decode(v->encoded, elen, out, n - 1, &n), -1);
    }
}

static void test_base64_round_trips_binary(void **state)
{
    (void)state;
    uint8_t data[300], back[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof data; len += 7) {
        char *b64 = nsl_base64_encode_alloc(data, len);
        assert_non_null(b64);
        size_t n = 0;
        assert_int_equal(b64_dec(b64, back, sizeof back, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, data, len);
        free(b64);
    }
}

static void test_base64_rejects_length_not_multiple_of_four(void **state)
{
    (void)state;
    static const char *const bad[] = {"Z", "Zg", "Zg=", "Zm9vY", "Zm9vYg", "Zm9vYg="};
    uint8_t out[16];
    size_t n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(b64_dec(bad[i], out, sizeof out, &n), -1);
}

static void test_base64_rejects_bad_padding(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "====",     /* all padding */
        "Z===",     /* three pads */
        "Zg=A",     /* pad before data */
        "Z=g=",     /* pad inside a group */
        "Zg==Zm8=", /* pad in a group that is not the last */
        "Zm8=Zm8=", /* same */
        "=Zm8",     /* leading pad */
    };
    uint8_t out[16];
    size_t n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(b64_dec(bad[i], out, sizeof out, &n), -1);
}

static void test_base64_rejects_noncanonical_trailing_bits(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n;
    /* "f" is Zg==; Zh== .. Zv== carry bits in the unused low nibble. */
    assert_int_equal(b64_dec("Zh==", out, sizeof out, &n), -1);
    assert_int_equal(b64_dec("Zv==", out, sizeof out, &n), -1);
    /* "fo" is Zm8=; Zm9= and Zm/= set the unused two bits. */
    assert_int_equal(b64_dec("Zm9=", out, sizeof out, &n), -1);
    assert_int_equal(b64_dec("Zm/=", out, sizeof out, &n), -1);
    assert_int_equal(b64_dec("Zm9vYh==", out, sizeof out, &n), -1);
    /* The canonical forms still decode. */
    assert_int_equal(b64_dec("Zg==", out, sizeof out, &n), 0);
    assert_int_equal(b64_dec("Zm8=", out, sizeof out, &n), 0);
}

static void test_base64_rejects_characters_outside_alphabet(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zm9v\nYmFy", "Zm 9", "Zm-_", "Zm9v====", "Zm9*", "Zm9\x80", "Zm.v", "Zm9vYmF\t"};
    uint8_t out[16];
    size_t n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(b64_dec(bad[i], out, sizeof out, &n), -1);
    assert_int_equal(nsl_base64_decode("Zm\0v", 4, out, sizeof out, &n), -1);
    /* '+' and '/' are in the alphabet. */
    assert_int_equal(b64_dec("+/+/", out, sizeof out, &n), 0);
    const uint8_t want[] = {0xfb, 0xff, 0xbf};
    assert_int_equal(n, 3);
    assert_memory_equal(out, want, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_encode_is_lowercase),
        cmocka_unit_test(test_hex_round_trips_every_byte),
        cmocka_unit_test(test_hex_decode_accepts_uppercase),
        cmocka_unit_test(test_hex_decode_empty_is_empty),
        cmocka_unit_test(test_hex_decode_rejects_odd_length),
        cmocka_unit_test(test_hex_decode_rejects_bad_characters),
        cmocka_unit_test(test_hex_decode_rejects_too_small_capacity),
        cmocka_unit_test(test_base64_encodes_rfc4648_vectors),
        cmocka_unit_test(test_base64_decodes_rfc4648_vectors),
        cmocka_unit_test(test_base64_round_trips_binary),
        cmocka_unit_test(test_base64_rejects_length_not_multiple_of_four),
        cmocka_unit_test(test_base64_rejects_bad_padding),
        cmocka_unit_test(test_base64_rejects_noncanonical_trailing_bits),
        cmocka_unit_test(test_base64_rejects_characters_outside_alphabet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
