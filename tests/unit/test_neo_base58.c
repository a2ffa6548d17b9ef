/* Base58 and Base58Check: known encodings, leading zeros, bad characters, bad checksums. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/encoding.h"
#include "neo/base58.h"

static void test_base58_known_encodings(void **state)
{
    (void)state;
    static const struct {
        const char *hex, *text;
    } cases[] = {
        {"", ""},
        {"61", "2g"},
        {"626262", "a3gV"},
        {"636363", "aPEr"},
        {"68656c6c6f20776f726c64", "StV1DL6CwTryKyV"},
        {"0000287fb4cd", "11233QC4"},
        {"00", "1"},
        {"572e4794", "3EFU7m"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t bytes[32], back[32];
        size_t n = 0, m = 0;
        char text[64];
        assert_int_equal(nsl_hex_decode(cases[i].hex, strlen(cases[i].hex), bytes, 32, &n), 0);
        assert_int_equal(nsl_neo_base58_encode(bytes, n, text, sizeof text), 0);
        assert_string_equal(text, cases[i].text);
        assert_int_equal(nsl_neo_base58_decode(cases[i].text, back, sizeof back, &m), 0);
        assert_int_equal(m, n);
        assert_memory_equal(back, bytes, n);
    }
}

static void test_base58_rejects_characters_outside_the_alphabet(void **state)
{
    (void)state;
    uint8_t out[32];
    size_t n;
    const char *bad[] = {"0", "O", "I", "l", "abc+", "ab c", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(nsl_neo_base58_decode(bad[i], out, sizeof out, &n), -1);
}

static void test_base58_refuses_short_output(void **state)
{
    (void)state;
    char text[4];
    uint8_t bytes[11] = "hello world", out[4];
    size_t n;
    assert_int_equal(nsl_neo_base58_encode(bytes, 11, text, sizeof text), -1);
    assert_int_equal(nsl_neo_base58_decode("StV1DL6CwTryKyV", out, sizeof out, &n), -1);
}

static void test_base58check_round_trip_and_bad_checksum(void **state)
{
    (void)state;
    uint8_t payload[21] = {0x35, 1, 2, 3}, out[64];
    char text[64];
    size_t n = 0;
    assert_int_equal(nsl_neo_base58check_encode(payload, sizeof payload, text, sizeof text), 0);
    assert_int_equal(nsl_neo_base58check_decode(text, out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof payload);
    assert_memory_equal(out, payload, n);
    for (size_t i = 0; text[i]; i++) {
        char saved = text[i];
        text[i] = saved == 'z' ? 'y' : 'z';
        assert_int_equal(nsl_neo_base58check_decode(text, out, sizeof out, &n), -1);
        text[i] = saved;
    }
    assert_int_equal(nsl_neo_base58check_decode("1", out, sizeof out, &n), -1); /* < 4 bytes */
    assert_int_equal(nsl_neo_base58check_decode(text, out, 20, &n), -1);        /* no room */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base58_known_encodings),
        cmocka_unit_test(test_base58_rejects_characters_outside_the_alphabet),
        cmocka_unit_test(test_base58_refuses_short_output),
        cmocka_unit_test(test_base58check_round_trip_and_bad_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
