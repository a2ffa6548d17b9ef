/* Fuzzes parent/json_scan against jansson: whatever the scan accepts, jansson parses too (apart
 * from numbers too large for jansson, which the scan's grammar allows), as one object whose named
 * members are exactly the values at the spans the scan returned. (Names are compared as written:
 * a name spelled with escapes is not found, so presence is compared only for texts without.) */
#include <jansson.h>

#include "fuzz.h"
#include "parent/json_scan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

static bool too_large_for_jansson(const json_error_t *err)
{
    return strstr(err->text, "overflow") || strstr(err->text, "too big");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"id", "ok", "result", "error"};
    struct nsl_json_span spans[4];
    const char *text = (const char *)data;
    if (nsl_json_scan_object(text, size, names, 4, spans) != 0)
        return 0;
    json_error_t err;
    json_t *root = json_loadb(text, size, 0, &err);
    if (!root) {
        FUZZ_CHECK(too_large_for_jansson(&err));
        return 0;
    }
    FUZZ_CHECK(json_is_object(root));
    bool escapes = memchr(text, '\\', size) != NULL;
    for (size_t i = 0; i < 4; i++) {
        json_t *member = json_object_get(root, names[i]);
        FUZZ_CHECK(escapes || (member != NULL) == (spans[i].len > 0));
        if (!spans[i].len)
            continue;
        FUZZ_CHECK(member != NULL);
        FUZZ_CHECK(spans[i].off + spans[i].len <= size);
        json_t *value = json_loadb(text + spans[i].off, spans[i].len, JSON_DECODE_ANY, &err);
        FUZZ_CHECK(value != NULL && json_equal(value, member));
        json_decref(value);
    }
    json_decref(root);
    return 0;
}
