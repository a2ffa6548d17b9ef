/* Shared helpers of the test_neo_* unit tests: the Neo vectors (tests/fixtures/neo/vectors.json,
 * a copy of ../shared/fixtures/neo/vectors.json) and hex helpers. Include after cmocka.h. */
#ifndef NSL_TEST_NEO_FIXTURE_H
#define NSL_TEST_NEO_FIXTURE_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "crypto/secret.h"

#define NEO_VECTORS NSL_SOURCE_DIR "/tests/fixtures/neo/vectors.json"

static json_t *neo_vectors_root;

static __attribute__((unused)) int neo_vectors_setup(void **state)
{
    (void)state;
    nsl_secure_heap_init(1 << 16);
    json_error_t e;
    neo_vectors_root = json_load_file(NEO_VECTORS, JSON_REJECT_DUPLICATES, &e);
    if (!neo_vectors_root)
        fprintf(stderr, "cannot load %s: %s (line %d)\n", NEO_VECTORS, e.text, e.line);
    return neo_vectors_root ? 0 : -1;
}

static __attribute__((unused)) int neo_vectors_teardown(void **state)
{
    (void)state;
    json_decref(neo_vectors_root);
    return 0;
}

/* vectors[section] (an array or object). */
static __attribute__((unused)) json_t *neo_vec(const char *section)
{
    json_t *v = json_object_get(neo_vectors_root, section);
    assert_non_null(v);
    return v;
}

static __attribute__((unused)) const char *neo_str(json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* Decodes hex into a malloc'd buffer; *len gets its length. */
static __attribute__((unused)) uint8_t *neo_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    assert_non_null(out);
    assert_int_equal(nsl_hex_decode(hex, n, out, n / 2 + 1, len), 0);
    return out;
}

/* Decodes exactly n bytes of hex into out. */
static __attribute__((unused)) void neo_unhex_into(const char *hex, uint8_t *out, size_t n)
{
    size_t got = 0;
    assert_int_equal(strlen(hex), 2 * n);
    assert_int_equal(nsl_hex_decode(hex, 2 * n, out, n, &got), 0);
    assert_int_equal(got, n);
}

static __attribute__((unused)) void neo_assert_hex(const uint8_t *data, size_t len, const char *hex)
{
    char *text = nsl_hex_encode_alloc(data, len);
    assert_non_null(text);
    assert_string_equal(text, hex);
    free(text);
}

/* The private key of vectors.keys[i] as a secret. */
static __attribute__((unused)) struct nsl_secret *neo_key(size_t i)
{
    uint8_t raw[32];
    neo_unhex_into(neo_str(json_array_get(neo_vec("keys"), i), "privateKey"), raw, 32);
    struct nsl_secret *k = nsl_secret_from(raw, 32);
    nsl_wipe(raw, sizeof raw);
    assert_non_null(k);
    return k;
}

#endif
