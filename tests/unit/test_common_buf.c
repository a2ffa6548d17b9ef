/* Unit tests of common/buf: the growable buffer and the bounds-checked reader. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/buf.h"

static void test_buf_append_grows_and_keeps_bytes(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    for (int i = 0; i < 1000; i++) {
        uint8_t v = (uint8_t)i;
        assert_int_equal(nsl_buf_append(&b, &v, 1), 0);
    }
    assert_int_equal(b.len, 1000);
    assert_true(b.cap >= 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(b.data[i], (uint8_t)i);
    char big[5000];
    memset(big, 'x', sizeof big);
    assert_int_equal(nsl_buf_append(&b, big, sizeof big), 0);
    assert_int_equal(b.len, 6000);
    assert_memory_equal(b.data + 1000, big, sizeof big);
    nsl_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_buf_append_empty_leaves_buffer_untouched(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_buf_append(&b, NULL, 0), 0);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    nsl_buf_free(&b);
}

static void test_buf_reserve_refuses_size_overflow(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_buf_append_u8(&b, 1), 0);
    assert_int_equal(nsl_buf_reserve(&b, SIZE_MAX), -1);
    assert_int_equal(b.len, 1);
    assert_int_equal(nsl_buf_reserve(&b, 10000), 0);
    assert_true(b.cap >= 10001);
    nsl_buf_free(&b);
}

static void test_buf_append_u8_and_u32be(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_buf_append_u8(&b, 0xab), 0);
    assert_int_equal(nsl_buf_append_u32be(&b, 0x01020304u), 0);
    const uint8_t want[] = {0xab, 1, 2, 3, 4};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    nsl_buf_free(&b);
}

static void test_buf_consume_drops_prefix(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_buf_append(&b, "abcdef", 6), 0);
    nsl_buf_consume(&b, 0);
    assert_int_equal(b.len, 6);
    nsl_buf_consume(&b, 2);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "cdef", 4);
    nsl_buf_consume(&b, 4);
    assert_int_equal(b.len, 0);
    assert_int_equal(nsl_buf_append(&b, "xy", 2), 0);
    nsl_buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    nsl_buf_free(&b);
}

static void test_buf_reset_keeps_capacity(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_buf_append(&b, "abc", 3), 0);
    size_t cap = b.cap;
    nsl_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_non_null(b.data);
    nsl_buf_free(&b);
}

static void test_buf_free_wipe_releases_and_zeroes_record(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_buf_append(&b, "secret key material", 19), 0);
    nsl_buf_free_wipe(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* An empty buffer is fine too, and freeing twice is harmless. */
    nsl_buf_free_wipe(&b);
    nsl_buf_free(&b);
}

static void test_reader_reads_integers_in_both_byte_orders(void **state)
{
    (void)state;
    const uint8_t data[] = {0x7f,                                           /* u8 */
                            0x34, 0x12,                                     /* u16le */
                            0x78, 0x56, 0x34, 0x12,                         /* u32le */
                            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0xf1, /* u64le */
                            0x12, 0x34, 0x56, 0x78};                        /* u32be */
    struct nsl_reader r;
    nsl_reader_init(&r, data, sizeof data);
    assert_int_equal(nsl_reader_remaining(&r), sizeof data);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    assert_int_equal(nsl_reader_u8(&r, &u8), 0);
    assert_int_equal(u8, 0x7f);
    assert_int_equal(nsl_reader_u16le(&r, &u16), 0);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(nsl_reader_u32le(&r, &u32), 0);
    assert_int_equal(u32, 0x12345678u);
    assert_int_equal(nsl_reader_u64le(&r, &u64), 0);
    assert_true(u64 == 0xf102030405060708ull);
    assert_int_equal(nsl_reader_u32be(&r, &u32), 0);
    assert_int_equal(u32, 0x12345678u);
    assert_int_equal(nsl_reader_remaining(&r), 0);
}

static void test_reader_every_read_past_end_fails_and_keeps_position(void **state)
{
    (void)state;
    const uint8_t data[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* For each amount already consumed, every read that needs more than what is left fails. */
    for (size_t used = 0; used <= sizeof data; used++) {
        struct nsl_reader r;
        nsl_reader_init(&r, data, sizeof data);
        assert_int_equal(nsl_reader_skip(&r, used), 0);
        size_t left = sizeof data - used;
        uint8_t u8 = 0xee;
        uint16_t u16 = 0xeeee;
        uint32_t u32 = 0xeeeeeeee;
        uint64_t u64 = 0xeeeeeeeeeeeeeeeeull;
        uint8_t out[16];
        const uint8_t *view = NULL;
        if (left < 1) {
            assert_int_equal(nsl_reader_u8(&r, &u8), -1);
            assert_int_equal(u8, 0xee);
        }
        if (left < 2) {
            assert_int_equal(nsl_reader_u16le(&r, &u16), -1);
            assert_int_equal(u16, 0xeeee);
        }
        if (left < 4) {
            assert_int_equal(nsl_reader_u32le(&r, &u32), -1);
            assert_int_equal(nsl_reader_u32be(&r, &u32), -1);
            assert_int_equal(u32, 0xeeeeeeee);
        }
        if (left < 8) {
            assert_int_equal(nsl_reader_u64le(&r, &u64), -1);
            assert_true(u64 == 0xeeeeeeeeeeeeeeeeull);
        }
        assert_int_equal(nsl_reader_copy(&r, out, left + 1), -1);
        assert_int_equal(nsl_reader_view(&r, left + 1, &view), -1);
        assert_null(view);
        assert_int_equal(nsl_reader_skip(&r, left + 1), -1);
        assert_int_equal(nsl_reader_skip(&r, SIZE_MAX), -1);
        assert_int_equal(r.pos, used);
        assert_int_equal(nsl_reader_remaining(&r), left);
        /* Exactly what is left still reads. */
        assert_int_equal(nsl_reader_copy(&r, out, left), 0);
        assert_memory_equal(out, data + used, left);
        assert_int_equal(nsl_reader_remaining(&r), 0);
    }
}

static void test_reader_view_points_into_input_and_skip_advances(void **state)
{
    (void)state;
    const char text[] = "headerPAYLOADtail";
    struct nsl_reader r;
    nsl_reader_init(&r, text, strlen(text));
    assert_int_equal(nsl_reader_skip(&r, 6), 0);
    const uint8_t *p;
    assert_int_equal(nsl_reader_view(&r, 7, &p), 0);
    assert_ptr_equal(p, (const uint8_t *)text + 6);
    assert_memory_equal(p, "PAYLOAD", 7);
    assert_int_equal(nsl_reader_remaining(&r), 4);
    assert_int_equal(nsl_reader_view(&r, 0, &p), 0);
    assert_int_equal(nsl_reader_skip(&r, 4), 0);
    assert_int_equal(nsl_reader_remaining(&r), 0);
}

static void test_reader_over_empty_input(void **state)
{
    (void)state;
    struct nsl_reader r;
    nsl_reader_init(&r, NULL, 0);
    uint8_t v;
    assert_int_equal(nsl_reader_remaining(&r), 0);
    assert_int_equal(nsl_reader_u8(&r, &v), -1);
    assert_int_equal(nsl_reader_copy(&r, &v, 0), 0);
    assert_int_equal(nsl_reader_skip(&r, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_grows_and_keeps_bytes),
        cmocka_unit_test(test_buf_append_empty_leaves_buffer_untouched),
        cmocka_unit_test(test_buf_reserve_refuses_size_overflow),
        cmocka_unit_test(test_buf_append_u8_and_u32be),
        cmocka_unit_test(test_buf_consume_drops_prefix),
        cmocka_unit_test(test_buf_reset_keeps_capacity),
        cmocka_unit_test(test_buf_free_wipe_releases_and_zeroes_record),
        cmocka_unit_test(test_reader_reads_integers_in_both_byte_orders),
        cmocka_unit_test(test_reader_every_read_past_end_fails_and_keeps_position),
        cmocka_unit_test(test_reader_view_points_into_input_and_skip_advances),
        cmocka_unit_test(test_reader_over_empty_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
