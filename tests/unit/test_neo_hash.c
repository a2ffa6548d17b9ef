/* SHA-256, Hash160 and Hash256 against published values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "neo/hash.h"

static void assert_hex(const uint8_t *d, size_t n, const char *hex)
{
    char *t = nsl_hex_encode_alloc(d, n);
    assert_string_equal(t, hex);
    free(t);
}

static void test_hashes_of_abc(void **state)
{
    (void)state;
    uint8_t h[32];
    assert_int_equal(nsl_neo_sha256("abc", 3, h), 0);
    assert_hex(h, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(nsl_neo_hash256("abc", 3, h), 0);
    assert_hex(h, 32, "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358");
    /* RIPEMD-160(SHA-256("abc")) */
    assert_int_equal(nsl_neo_hash160("abc", 3, h), 0);
    assert_hex(h, 20, "bb1be98c142444d7a56aa3981c3942a978e4dc33");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashes_of_abc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
