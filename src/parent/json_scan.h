/* A validating scan of JSON text that builds nothing: it checks that a text is one well-formed
 * JSON object and says where its top-level members are, so the parent can copy the enclave's
 * "result" text into a JSON-RPC response as it is instead of parsing it into objects and printing
 * them again. Pure functions, unit-tested in tests/unit/test_parent_json_scan.c. */
#ifndef NSL_PARENT_JSON_SCAN_H
#define NSL_PARENT_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting of arrays and objects accepted (the top-level object counts as 1). */
#define NSL_JSON_SCAN_DEPTH 128

/* Where a value is in a text: bytes [off, off + len), as written (a string keeps its quotes).
 * len == 0 means the member is absent. */
struct nsl_json_span {
    size_t off, len;
};

/* Checks that text[0, len) is exactly one JSON object (RFC 8259: whitespace around it allowed;
 * strings valid UTF-8 without raw control characters and with only the defined escapes; numbers
 * in the grammar's form; nesting up to NSL_JSON_SCAN_DEPTH) and fills spans[i] with the value of
 * the top-level member whose name is exactly names[i] (names are compared as written, so they must
 * need no escaping). Returns 0, or -1 when the text is not such an object or a named member occurs
 * more than once. */
int nsl_json_scan_object(const char *text, size_t len, const char *const *names, size_t n,
                         struct nsl_json_span *spans);

/* True when span covers exactly the literal word (e.g. "true") in text. */
bool nsl_json_span_is(const char *text, struct nsl_json_span span, const char *word);

#endif
