/* Fuzzes RFC 8785 canonicalization: any JSON text jansson parses is serialized with
 * nsl_jcs_serialize; when that succeeds the output must parse back to the same value and be
 * canonical itself (serializing it again gives the same bytes).
 *
 * "The same value" compares numbers as IEEE 754 doubles, not with json_equal alone: JCS writes
 * every number as ECMAScript prints a double (RFC 8785 §3.2.2.3), so 1.0 comes back as the
 * integer 1 and integers beyond 2^53 are rounded, both as the RFC intends. The output is read
 * back with every number as a double, since JCS may print integers wider than 64 bits. */
#include <jansson.h>

#include "common/jcs.h"
#include "fuzz.h"

static int same_value(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_value(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *key;
        size_t key_len;
        json_t *v;
        json_object_keylen_foreach((json_t *)a, key, key_len, v)
        {
            const json_t *w = json_object_getn(b, key, key_len);
            if (!w || !same_value(v, w))
                return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return 0;
    size_t len = 0;
    char *text = nsl_jcs_serialize(v, &len);
    if (text) {
        FUZZ_CHECK(strlen(text) == len); /* control characters are escaped */
        /* As doubles: JCS prints 1e20 as 100000000000000000000, past jansson's int64. */
        json_t *again = json_loadb(
            text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(same_value(v, again));
        size_t len2 = 0;
        char *text2 = nsl_jcs_serialize(again, &len2);
        FUZZ_CHECK(text2 != NULL && len2 == len && memcmp(text, text2, len) == 0);
        free(text2);
        json_decref(again);
    }
    free(text);
    json_decref(v);
    return 0;
}
