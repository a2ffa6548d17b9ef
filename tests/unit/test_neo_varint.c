/* Var-ints: each width at its edges, canonical form only, limits, truncation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "neo/varint.h"

static void test_varint_widths_round_trip(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *hex;
    } cases[] = {
        {0, "00"},
        {0xfc, "fc"},
        {0xfd, "fdfd00"},
        {0xffff, "fdffff"},
        {0x10000, "fe00000100"},
        {0xffffffffu, "feffffffff"},
        {0x100000000ull, "ff0000000001000000"},
        {UINT64_MAX, "ffffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nsl_buf b = {0};
        assert_int_equal(nsl_neo_varint_append(&b, cases[i].v), 0);
        char *t = nsl_hex_encode_alloc(b.data, b.len);
        assert_string_equal(t, cases[i].hex);
        free(t);
        assert_int_equal(nsl_neo_varint_size(cases[i].v), b.len);
        struct nsl_reader r;
        uint64_t v = 0;
        nsl_reader_init(&r, b.data, b.len);
        assert_int_equal(nsl_neo_varint_read(&r, UINT64_MAX, &v, NULL), 0);
        assert_true(v == cases[i].v);
        assert_int_equal(nsl_reader_remaining(&r), 0);
        nsl_buf_free(&b);
    }
}

static void expect_fail(const char *hex, uint64_t max, enum nsl_neo_varint_fail expect)
{
    uint8_t d[16];
    size_t n = 0;
    assert_int_equal(nsl_hex_decode(hex, strlen(hex), d, sizeof d, &n), 0);
    struct nsl_reader r;
    nsl_reader_init(&r, d, n);
    uint64_t v;
    enum nsl_neo_varint_fail why = 0;
    assert_int_equal(nsl_neo_varint_read(&r, max, &v, &why), -1);
    assert_int_equal(why, expect);
    assert_int_equal(r.pos, 0);
}

static void test_varint_rejects_noncanonical_oversize_and_truncated(void **state)
{
    (void)state;
    expect_fail("fd0100", UINT64_MAX, NSL_NEO_VARINT_NONCANONICAL);
    expect_fail("fdfc00", UINT64_MAX, NSL_NEO_VARINT_NONCANONICAL);
    expect_fail("feffff0000", UINT64_MAX, NSL_NEO_VARINT_NONCANONICAL);
    expect_fail("ffffffffff00000000", UINT64_MAX, NSL_NEO_VARINT_NONCANONICAL);
    expect_fail("11", 16, NSL_NEO_VARINT_TOO_LARGE);
    expect_fail("", 16, NSL_NEO_VARINT_TRUNCATED);
    expect_fail("fd01", 16, NSL_NEO_VARINT_TRUNCATED);
    expect_fail("fe010000", UINT64_MAX, NSL_NEO_VARINT_TRUNCATED);
    expect_fail("ff01", UINT64_MAX, NSL_NEO_VARINT_TRUNCATED);
}

static void test_varbytes_views_and_refuses_short_data(void **state)
{
    (void)state;
    const uint8_t d[] = {3, 'a', 'b', 'c', 4, 'x'};
    struct nsl_reader r;
    nsl_reader_init(&r, d, sizeof d);
    const uint8_t *p;
    size_t n;
    enum nsl_neo_varint_fail why = 0;
    assert_int_equal(nsl_neo_varbytes_read(&r, 16, &p, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "abc", 3);
    assert_int_equal(nsl_neo_varbytes_read(&r, 16, &p, &n, &why), -1);
    assert_int_equal(why, NSL_NEO_VARINT_TRUNCATED);
    assert_int_equal(r.pos, 4);
    assert_int_equal(nsl_neo_varbytes_read(&r, 3, &p, &n, &why), -1);
    assert_int_equal(why, NSL_NEO_VARINT_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_widths_round_trip),
        cmocka_unit_test(test_varint_rejects_noncanonical_oversize_and_truncated),
        cmocka_unit_test(test_varbytes_views_and_refuses_short_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
