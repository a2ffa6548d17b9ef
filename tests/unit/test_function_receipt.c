/* Unit tests of services/function_receipt: the JCS text a receipt is signed over, exactly for
 * an ordinary receipt; integers print as their digits up to 2^53; names JCS must escape read
 * back as themselves. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jcs.h"
#include "services/function_receipt.h"

static struct nsl_function_receipt sample(void)
{
    struct nsl_function_receipt r = {.function_name = "price-bot_v2.1",
                                     .version = 3,
                                     .code_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b82"
                                                  "2cd15d6c15b0f00a08",
                                     .timestamp = 1795627962};
    strcpy(r.args_hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    strcpy(r.result_hash, "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
    strcpy(r.signer_public_key,
           "02a1633cafcc01ebfb6d78e39f687a1f0995c62fc95f51ead10a02ee0be551b5dc");
    return r;
}

/* The JCS text the receipt is signed over (malloc'd). */
static char *receipt_jcs(const struct nsl_function_receipt *r)
{
    json_t *o = nsl_function_receipt_json(r);
    size_t len = 0;
    char *text = o ? nsl_jcs_serialize(o, &len) : NULL;
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_decref(o);
    return text;
}

static void test_receipt_jcs_is_the_canonical_text(void **state)
{
    (void)state;
    struct nsl_function_receipt r = sample();
    char *text = receipt_jcs(&r);
    assert_string_equal(
        text, "{\"argsHash\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
              "\"codeHash\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
              "\"functionName\":\"price-bot_v2.1\","
              "\"resultHash\":\"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\","
              "\"signerPublicKey\":"
              "\"02a1633cafcc01ebfb6d78e39f687a1f0995c62fc95f51ead10a02ee0be551b5dc\","
              "\"timestamp\":1795627962,\"version\":3}");
    free(text);
}

static void test_receipt_integers_print_as_digits(void **state)
{
    (void)state;
    static const int64_t ints[] = {0,
                                   1,
                                   -1,
                                   999999999999999,
                                   1000000000000000,
                                   (INT64_C(1) << 53) - 1,
                                   -((INT64_C(1) << 53) - 1)};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        struct nsl_function_receipt r = sample();
        r.version = ints[i];
        char *text = receipt_jcs(&r), want[64];
        snprintf(want, sizeof want, "\"version\":%lld}", (long long)ints[i]);
        assert_non_null(strstr(text, want));
        free(text);
    }
}

static void test_receipt_names_read_back(void **state)
{
    (void)state;
    static const char *names[] = {"quo\"te",
                                  "back\\slash",
                                  "new\nline",
                                  "tab\t",
                                  "\x01",
                                  "caf\xc3\xa9",
                                  "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80",
                                  "del\x7f",
                                  " !#$%&'()*+,/:;<=>?@[]^`{|}~",
                                  ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct nsl_function_receipt r = sample();
        r.function_name = names[i];
        char *text = receipt_jcs(&r);
        json_t *back = json_loads(text, 0, NULL);
        assert_non_null(back);
        assert_string_equal(json_string_value(json_object_get(back, "functionName")), names[i]);
        json_decref(back);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipt_jcs_is_the_canonical_text),
        cmocka_unit_test(test_receipt_integers_print_as_digits),
        cmocka_unit_test(test_receipt_names_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
