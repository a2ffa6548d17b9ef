/* NeoVM emission: integer pushes at every width boundary, data pushes, syscalls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "neo/emit.h"

static void assert_buf(struct nsl_buf *b, const char *hex)
{
    char *t = nsl_hex_encode_alloc(b->data, b->len);
    assert_string_equal(t, hex);
    free(t);
    nsl_buf_reset(b);
}

static void test_emit_int_uses_neo_script_builder_forms(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *hex;
    } cases[] = {
        {-1, "0f"},
        {0, "10"},
        {16, "20"},
        {17, "0011"},
        {127, "007f"},
        {128, "018000"},
        {-2, "00fe"},
        {-128, "0080"},
        {-129, "017fff"},
        {32767, "01ff7f"},
        {32768, "0200800000"},
        {INT64_MAX, "03ffffffffffffff7f"},
        {INT64_MIN, "030000000000000080"},
        {0x000a4d88ddd94000LL, "030040d9dd884d0a00"},
    };
    struct nsl_buf b = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(nsl_neo_emit_int(&b, cases[i].v), 0);
        assert_buf(&b, cases[i].hex);
    }
    nsl_buf_free(&b);
}

static void test_emit_data_and_syscall(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_emit_data(&b, "transfer", 8), 0);
    assert_buf(&b, "0c087472616e73666572");
    static uint8_t big[256];
    assert_int_equal(nsl_neo_emit_data(&b, big, 256), 0);
    assert_int_equal(b.len, 259);
    assert_int_equal(b.data[0], 0x0d);
    assert_int_equal(b.data[1], 0x00);
    assert_int_equal(b.data[2], 0x01);
    nsl_buf_reset(&b);
    assert_int_equal(nsl_neo_emit_syscall(&b, NSL_NEO_SYSCALL_CONTRACT_CALL), 0);
    assert_int_equal(nsl_neo_emit_syscall(&b, NSL_NEO_SYSCALL_CHECKSIG), 0);
    assert_int_equal(nsl_neo_emit_syscall(&b, NSL_NEO_SYSCALL_CHECKMULTISIG), 0);
    assert_buf(&b, "41627d5b524156e7b327419ed0dc3a");
    nsl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emit_int_uses_neo_script_builder_forms),
        cmocka_unit_test(test_emit_data_and_syscall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
