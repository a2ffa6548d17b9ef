/* Unit tests of services/function_receipt: the receipt's directly written JCS text is
 * byte-identical to the general canonicalisation (common/jcs) of the same receipt, for ordinary
 * receipts and at the edges of the direct path; receipts outside its shape (strings JCS escapes,
 * integers a double does not hold exactly) go through the general path and still match. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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

/* The direct text equals nsl_jcs_serialize of the receipt object. */
static void expect_same_as_general(const struct nsl_function_receipt *r)
{
    size_t len = 0, glen = 0;
    char *direct = nsl_function_receipt_jcs(r, &len);
    json_t *o = nsl_function_receipt_json(r);
    char *general = nsl_jcs_serialize(o, &glen);
    assert_non_null(direct);
    assert_non_null(general);
    assert_int_equal(len, strlen(direct));
    assert_int_equal(len, glen);
    assert_string_equal(direct, general);
    free(direct);
    free(general);
    json_decref(o);
}

static void test_receipt_jcs_matches_the_general_jcs(void **state)
{
    (void)state;
    struct nsl_function_receipt r = sample();
    expect_same_as_general(&r);
    size_t len;
    char *text = nsl_function_receipt_jcs(&r, &len);
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

static void test_receipt_jcs_edges_of_the_direct_path(void **state)
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
        r.timestamp = ints[sizeof ints / sizeof ints[0] - 1 - i];
        expect_same_as_general(&r);
    }
    struct nsl_function_receipt r = sample();
    r.function_name = " !#$%&'()*+,/:;<=>?@[]^`{|}~"; /* printable ASCII JCS leaves alone */
    expect_same_as_general(&r);
    r.function_name = "";
    expect_same_as_general(&r);
}

/* Outside the fixed shape: the general path answers, so the text is still the JCS. */
static void test_receipt_jcs_outside_the_shape_falls_back(void **state)
{
    (void)state;
    static const char *names[] = {"quo\"te", "back\\slash", "new\nline",    "tab\t",
                                  "\x01",    "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                  "del\x7f"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct nsl_function_receipt r = sample();
        r.function_name = names[i];
        expect_same_as_general(&r);
    }
    struct nsl_function_receipt r = sample();
    r.version = INT64_C(1) << 53; /* a double holds it, but not every neighbour: general path */
    expect_same_as_general(&r);
    r.timestamp = INT64_MAX;
    expect_same_as_general(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipt_jcs_matches_the_general_jcs),
        cmocka_unit_test(test_receipt_jcs_edges_of_the_direct_path),
        cmocka_unit_test(test_receipt_jcs_outside_the_shape_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
