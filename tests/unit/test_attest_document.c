/* Unit tests of attest/document (and attest/cbor beneath it): the three real AWS documents in
 * tests/fixtures/nitro (copied from ../shared/fixtures/nitro), their tagged and re-encoded
 * forms, and documents built here with libcbor to hit every refusal: truncation, garbage,
 * sizes, unknown / duplicate / missing / mistyped fields, and where the error is. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cbor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/cbor.h"
#include "attest/document.h"
#include "common/encoding.h"

#define FIXTURES  NSL_SOURCE_DIR "/tests/fixtures/nitro/"
#define DOC_DEBUG "attestation-debug-2024-09-17.cbor"
#define DOC_2025  "attestation-prod-2025-04-01.cbor"
#define DOC_2026  "attestation-prod-2026-02-02.cbor"

static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    uint8_t *data = malloc(65536);
    assert_non_null(data);
    *len = fread(data, 1, 65536, f);
    fclose(f);
    return data;
}

static void expect_malformed(const uint8_t *data, size_t len, const char *fragment)
{
    struct nsl_attest_document doc;
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_document_parse(data, len, &doc, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(err.code, NSL_ERR_INVALID_PARAMS);
    if (!strstr(err.message, fragment))
        fail_msg("expected \"%s\" in \"%s\"", fragment, err.message);
    assert_true(strncmp(err.message, "malformed", 9) == 0);
    assert_null(doc.payload.data); /* nothing left behind */
    nsl_attest_document_free(&doc);
}

static void parse_ok(const uint8_t *data, size_t len, struct nsl_attest_document *doc)
{
    struct nsl_error err = {0};
    nsl_err rc = nsl_attest_document_parse(data, len, doc, &err);
    if (rc != NSL_OK)
        fail_msg("parse failed: %s", err.message);
}

static void assert_hex(const struct nsl_attest_blob *b, const char *hex)
{
    assert_non_null(b->data);
    char *got = nsl_hex_encode_alloc(b->data, b->len);
    assert_string_equal(got, hex);
    free(got);
}

static void assert_pcr(const struct nsl_attest_document *doc, unsigned i, const char *hex)
{
    char got[2 * NSL_ATTEST_PCR_LEN + 1];
    assert_true(doc->pcr_mask & (1u << i));
    nsl_hex_encode(doc->pcrs[i], NSL_ATTEST_PCR_LEN, got);
    assert_string_equal(got, hex);
}

/* ---- building documents ------------------------------------------------------------------ */

static const uint8_t PROTECTED_ES384[] = {0xA1, 0x01, 0x38, 0x22};

static void put_head(uint8_t *out, size_t *at, uint8_t major, uint64_t value)
{
    *at += nsl_attest_cbor_head(major, value, out + *at);
}

/* [protected, {}, payload, signature] as bytes, tagged 18 when asked. */
static uint8_t *cose(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
                     size_t payload_len, size_t sig_len, bool tagged, size_t *len)
{
    uint8_t *out = calloc(1, payload_len + prot_len + sig_len + 64);
    assert_non_null(out);
    size_t at = 0;
    if (tagged)
        put_head(out, &at, 6, 18);
    put_head(out, &at, 4, 4);
    put_head(out, &at, 2, prot_len);
    memcpy(out + at, prot, prot_len);
    at += prot_len;
    put_head(out, &at, 5, 0);
    put_head(out, &at, 2, payload_len);
    memcpy(out + at, payload, payload_len);
    at += payload_len;
    put_head(out, &at, 2, sig_len);
    at += sig_len; /* zeros */
    *len = at;
    return out;
}

static uint8_t *serialize(cbor_item_t *item, size_t *len)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    *len = cbor_serialize_alloc(item, &buf, &cap);
    assert_true(*len > 0);
    cbor_decref(&item);
    return buf;
}

struct field {
    const char *name;
    cbor_item_t *value;
};

enum { NFIELDS = 9 };

static cbor_item_t *bytes_of(uint8_t fill, size_t n)
{
    uint8_t buf[8192];
    assert_true(n <= sizeof buf);
    memset(buf, fill, n);
    return cbor_build_bytestring(buf, n);
}

/* Indefinite, so that tests can add entries. */
static cbor_item_t *pcrs_map(unsigned n)
{
    cbor_item_t *m = cbor_new_indefinite_map();
    for (unsigned i = 0; i < n; i++)
        assert_true(cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8((uint8_t)i)),
                                                       cbor_move(bytes_of((uint8_t)i, 48))}));
    return m;
}

/* A well-formed payload's fields (signature and certificates are not checked by the parser). */
static void standard_fields(struct field f[NFIELDS])
{
    cbor_item_t *bundle = cbor_new_definite_array(1);
    assert_true(cbor_array_push(bundle, cbor_move(bytes_of(0xCA, 10))));
    uint8_t nonce[3] = {1, 2, 3};
    f[0] = (struct field){"module_id", cbor_build_string("i-test-enc0123")};
    f[1] = (struct field){"digest", cbor_build_string("SHA384")};
    f[2] = (struct field){"timestamp", cbor_build_uint64(1700000000123)};
    f[3] = (struct field){"pcrs", pcrs_map(16)};
    f[4] = (struct field){"certificate", bytes_of(0xCE, 20)};
    f[5] = (struct field){"cabundle", bundle};
    f[6] = (struct field){"public_key", cbor_new_null()};
    f[7] = (struct field){"user_data", cbor_new_null()};
    f[8] = (struct field){"nonce", cbor_build_bytestring(nonce, sizeof nonce)};
}

static void replace(struct field *f, size_t n, const char *name, cbor_item_t *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0) {
            cbor_decref(&f[i].value);
            f[i].value = value;
            return;
        }
    fail_msg("no field %s", name);
}

/* The document for fields f[0..n): takes the values. */
static uint8_t *document(struct field *f, size_t n, bool indefinite, size_t *len)
{
    cbor_item_t *map = indefinite ? cbor_new_indefinite_map() : cbor_new_definite_map(n);
    for (size_t i = 0; i < n; i++)
        assert_true(cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_string(f[i].name)),
                                                         cbor_move(f[i].value)}));
    size_t plen = 0;
    uint8_t *payload = serialize(map, &plen);
    uint8_t *doc = cose(PROTECTED_ES384, sizeof PROTECTED_ES384, payload, plen, 96, false, len);
    free(payload);
    return doc;
}

static void expect_fields_malformed(struct field *f, size_t n, const char *fragment)
{
    size_t len = 0;
    uint8_t *doc = document(f, n, false, &len);
    expect_malformed(doc, len, fragment);
    free(doc);
}

/* ---- the real documents ------------------------------------------------------------------ */

static void test_document_parses_debug_2024(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_DEBUG, &len);
    struct nsl_attest_document doc;
    parse_ok(data, len, &doc);
    assert_false(doc.tagged);
    assert_string_equal(doc.module_id, "i-0bbf1bfe232b8c2ce-enc01920092bd47cdd9");
    assert_string_equal(doc.digest, "SHA384");
    assert_int_equal(doc.timestamp_ms, 1726587374133ULL);
    assert_int_equal(doc.pcr_mask, 0xFFFF);
    assert_true(nsl_attest_document_pcr_is_zero(&doc, 0));
    assert_true(nsl_attest_document_pcr_is_zero(&doc, 2));
    assert_false(nsl_attest_document_pcr_is_zero(&doc, 3));
    assert_hex(&doc.nonce, "0000000000000000000000000000000000000001");
    assert_hex(&doc.public_key, "64756d6d79"); /* "dummy" */
    assert_int_equal(doc.user_data.len, 68);
    assert_memory_equal(doc.user_data.data, "\x12\x20\x61\x04\xa1\xbb", 6);
    assert_int_equal(doc.cabundle_len, 4);
    assert_int_equal(doc.protected_header.len, 4);
    assert_memory_equal(doc.protected_header.data, PROTECTED_ES384, 4);
    nsl_attest_document_free(&doc);
    nsl_attest_document_free(&doc); /* twice is harmless */
    free(data);
}

static void test_document_parses_prod_2025_with_nulls(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2025, &len);
    struct nsl_attest_document doc;
    parse_ok(data, len, &doc);
    assert_string_equal(doc.module_id, "i-0ffff615a409a72d7-enc0195f17eaba9b385");
    assert_int_equal(doc.timestamp_ms, 1743516970144ULL);
    assert_null(doc.nonce.data);
    assert_null(doc.user_data.data);
    assert_int_equal(doc.public_key.len, 32);
    assert_int_equal(doc.public_key.data[0], 0xac);
    assert_int_equal(doc.public_key.data[31], 0x41);
    assert_pcr(&doc, 0,
               "517a9ec66c4c8e8f3b309c4a4598e2383dff4ec07dfa48617c2d7ec9b1fbf86a597b4376b"
               "18114914a31af2ea12a2db6");
    assert_pcr(&doc, 8,
               "7e3f4c20f65f0a62de884a41ef73fd693c136173fec4ad19336d2ce3b1d63246da3383cbb"
               "83cd10dad77d5d1aafcdce1");
    nsl_attest_document_free(&doc);
    free(data);
}

static void test_document_parses_prod_2026_indefinite_map(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    assert_int_equal(data[10], 0xBF); /* the payload map really is indefinite */
    struct nsl_attest_document doc;
    parse_ok(data, len, &doc);
    assert_string_equal(doc.module_id, "i-0340e0cb833504eb6-enc019c12d31f78864d");
    assert_int_equal(doc.timestamp_ms, 1770065027502ULL);
    assert_hex(&doc.nonce, "0123456789abcdef0123456789abcdef01234567");
    assert_pcr(&doc, 2,
               "769925c8ae0c5c2d1aa86de149213b1c5dec642557bf0c426c6581f0e562a042d1c7d2578"
               "443515d103f74ce55337666");
    nsl_attest_document_free(&doc);
    free(data);
}

static void test_document_accepts_tag_18(void **state)
{
    (void)state;
    const char *names[] = {DOC_DEBUG, DOC_2025, DOC_2026};
    for (size_t i = 0; i < 3; i++) {
        size_t len = 0;
        uint8_t *data = read_fixture(names[i], &len);
        uint8_t *tagged = malloc(len + 1);
        tagged[0] = 0xD2;
        memcpy(tagged + 1, data, len);
        struct nsl_attest_document a, b;
        parse_ok(data, len, &a);
        parse_ok(tagged, len + 1, &b);
        assert_false(a.tagged);
        assert_true(b.tagged);
        assert_string_equal(a.module_id, b.module_id);
        assert_int_equal(a.payload.len, b.payload.len);
        assert_memory_equal(a.payload.data, b.payload.data, a.payload.len);
        assert_memory_equal(a.signature, b.signature, sizeof a.signature);
        nsl_attest_document_free(&a);
        nsl_attest_document_free(&b);
        tagged[0] = 0xD1; /* tag 17 is COSE_Mac0 */
        expect_malformed(tagged, len + 1, "not COSE_Sign1");
        free(tagged);
        free(data);
    }
}

/* The 2026 payload re-encoded with a definite-length map (A9): the same fields. */
static void test_document_accepts_definite_reencoding(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    struct nsl_attest_document orig;
    parse_ok(data, len, &orig);
    struct cbor_load_result res;
    cbor_item_t *map = cbor_load(orig.payload.data, orig.payload.len, &res);
    assert_non_null(map);
    assert_true(cbor_map_is_indefinite(map));
    cbor_item_t *def = cbor_new_definite_map(cbor_map_size(map));
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        struct cbor_pair p = cbor_map_handle(map)[i];
        assert_true(cbor_map_add(def, (struct cbor_pair){p.key, p.value}));
    }
    cbor_decref(&map);
    size_t plen = 0;
    uint8_t *payload = serialize(def, &plen);
    assert_int_equal(payload[0], 0xA9);
    assert_int_equal(plen, orig.payload.len - 1); /* no break byte */
    size_t dlen = 0;
    uint8_t *doc = cose(PROTECTED_ES384, 4, payload, plen, 96, false, &dlen);
    struct nsl_attest_document again;
    parse_ok(doc, dlen, &again);
    assert_string_equal(again.module_id, orig.module_id);
    assert_int_equal(again.timestamp_ms, orig.timestamp_ms);
    assert_int_equal(again.pcr_mask, orig.pcr_mask);
    assert_memory_equal(again.pcrs, orig.pcrs, sizeof orig.pcrs);
    assert_int_equal(again.cabundle_len, orig.cabundle_len);
    assert_memory_equal(again.certificate.data, orig.certificate.data, orig.certificate.len);
    assert_memory_equal(again.nonce.data, orig.nonce.data, orig.nonce.len);
    nsl_attest_document_free(&again);
    nsl_attest_document_free(&orig);
    free(doc);
    free(payload);
    free(data);
}

/* Outer array indefinite (9F .. FF) and the payload as a chunked byte string (5F .. FF). */
static void test_document_accepts_indefinite_envelope(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2025, &len);
    struct nsl_attest_document orig;
    parse_ok(data, len, &orig);
    size_t half = orig.payload.len / 2;
    uint8_t *out = malloc(len + 32);
    size_t at = 0;
    out[at++] = 0x9F;
    out[at++] = 0x44;
    memcpy(out + at, PROTECTED_ES384, 4);
    at += 4;
    out[at++] = 0xA0;
    out[at++] = 0x5F;
    put_head(out, &at, 2, half);
    memcpy(out + at, orig.payload.data, half);
    at += half;
    put_head(out, &at, 2, orig.payload.len - half);
    memcpy(out + at, orig.payload.data + half, orig.payload.len - half);
    at += orig.payload.len - half;
    out[at++] = 0xFF;
    put_head(out, &at, 2, 96);
    memcpy(out + at, orig.signature, 96);
    at += 96;
    out[at++] = 0xFF;
    struct nsl_attest_document again;
    parse_ok(out, at, &again);
    assert_int_equal(again.payload.len, orig.payload.len);
    assert_memory_equal(again.payload.data, orig.payload.data, orig.payload.len);
    assert_string_equal(again.module_id, orig.module_id);
    nsl_attest_document_free(&again);
    nsl_attest_document_free(&orig);
    free(out);
    free(data);
}

/* ---- damaged documents ------------------------------------------------------------------- */

static void test_document_rejects_empty_and_garbage(void **state)
{
    (void)state;
    expect_malformed((const uint8_t *)"", 0, "malformed at byte offset 0: document is empty");
    expect_malformed((const uint8_t *)"hello, world", 12,
                     "malformed at byte offset 9: document: 3 bytes after the end of the item");
    static const uint8_t noise[] = {0xFE, 0x12, 0x34};
    expect_malformed(noise, sizeof noise, "malformed at byte offset 0: document: reserved");
    static const uint8_t reserved[] = {0x1C};
    expect_malformed(reserved, 1, "malformed at byte offset 0: document: reserved");
    static const uint8_t brk[] = {0xFF};
    expect_malformed(brk, 1, "malformed at byte offset 0: document: a break");
    static const uint8_t number[] = {0x01};
    expect_malformed(number, 1, "COSE_Sign1 must be an array of 4 items");
    static const uint8_t three[] = {0x83, 0x40, 0xA0, 0x40};
    expect_malformed(three, sizeof three, "COSE_Sign1 must be an array of 4 items");
    static const uint8_t huge_array[] = {0x9A, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
    expect_malformed(huge_array, sizeof huge_array,
                     "malformed at byte offset 0: document: an array claims more items");
    static const uint8_t huge_map[] = {0xBB, 0, 0, 0, 1, 0, 0, 0, 0, 0x00};
    expect_malformed(huge_map, sizeof huge_map, "a map claims more entries");
    uint8_t deep[64];
    memset(deep, 0x81, sizeof deep);
    deep[63] = 0x00;
    expect_malformed(deep, sizeof deep, "malformed at byte offset 9: document: items nested");
    static const uint8_t odd_map[] = {0xBF, 0x01, 0xFF};
    expect_malformed(odd_map, sizeof odd_map, "malformed at byte offset 2: document: a map ends");
    static const uint8_t bad_chunk[] = {0x5F, 0x61, 0x41, 0xFF};
    expect_malformed(bad_chunk, sizeof bad_chunk, "malformed at byte offset 1: document: a chunk");
}

static void test_document_rejects_truncation_everywhere(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2026, &len);
    /* Inside the envelope heads, inside the payload, inside the signature, one byte short. */
    const size_t cuts[] = {1, 2, 5, 7, 9, 10, 11, 100, 2000, len - 98, len - 50, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++)
        expect_malformed(data, cuts[i], "malformed at byte offset");
    expect_malformed(data, 9, "malformed at byte offset 7: document: the input ends");
    expect_malformed(data, 100, "malformed at byte offset 7: document: a string runs past");
    free(data);
}

static void test_document_rejects_trailing_and_oversize(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2025, &len);
    uint8_t *more = calloc(1, NSL_ATTEST_MAX_DOCUMENT + 2);
    memcpy(more, data, len);
    char want[64];
    snprintf(want, sizeof want, "malformed at byte offset %zu: document: 1 bytes after", len);
    expect_malformed(more, len + 1, want);
    expect_malformed(more, NSL_ATTEST_MAX_DOCUMENT + 1, "above the 16384-byte limit");
    free(more);
    free(data);
}

/* Errors inside the payload name the document offset of the offending byte. */
static void test_document_error_offsets_inside_payload(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = read_fixture(DOC_2025, &len);
    assert_int_equal(data[10], 0xA9); /* payload starts at 10 */
    data[10] = 0x1C;
    expect_malformed(data, len, "malformed at byte offset 10: payload: reserved");
    data[10] = 0xA9;
    data[11] = 0xFF; /* where the first key's head was */
    expect_malformed(data, len, "malformed at byte offset 11: payload: a break");
    free(data);
}

static void test_document_rejects_bad_envelope(void **state)
{
    (void)state;
    uint8_t payload[] = {0xA0};
    size_t len = 0;
    static const uint8_t es256[] = {0xA1, 0x01, 0x26};
    uint8_t *doc = cose(es256, sizeof es256, payload, 1, 96, false, &len);
    expect_malformed(doc, len, "the protected header must be {1: -35} (ES384)");
    free(doc);
    static const uint8_t extra[] = {0xA2, 0x01, 0x38, 0x22, 0x04, 0x40};
    doc = cose(extra, sizeof extra, payload, 1, 96, false, &len);
    expect_malformed(doc, len, "the protected header must be {1: -35}");
    free(doc);
    doc = cose(PROTECTED_ES384, 4, payload, 1, 95, false, &len);
    expect_malformed(doc, len, "the signature must be 96 bytes");
    free(doc);
    doc = cose(PROTECTED_ES384, 4, payload, 1, 96, false, &len);
    doc[6] = 0xA1; /* unprotected {0: ...} would need more bytes: also refused */
    expect_malformed(doc, len, "malformed");
    doc[6] = 0xA0;
    expect_malformed(doc, len, "payload field \"module_id\" is missing");
    free(doc);
    payload[0] = 0x01;
    doc = cose(PROTECTED_ES384, 4, payload, 1, 96, false, &len);
    expect_malformed(doc, len, "the payload is not a map");
    free(doc);
}

static void test_document_rejects_missing_payload_fields(void **state)
{
    (void)state;
    uint8_t payload[] = {0xA0};
    size_t len = 0;
    uint8_t *doc = cose(PROTECTED_ES384, 4, payload, 1, 96, false, &len);
    expect_malformed(doc, len, "payload field \"module_id\" is missing");
    free(doc);
    struct field f[NFIELDS];
    standard_fields(f);
    cbor_decref(&f[8].value);
    expect_fields_malformed(f, NFIELDS - 1, "payload field \"nonce\" is missing");
}

static void test_document_rejects_unknown_and_duplicate_fields(void **state)
{
    (void)state;
    struct field f[NFIELDS + 1];
    standard_fields(f);
    f[NFIELDS] = (struct field){"extra", cbor_new_null()};
    expect_fields_malformed(f, NFIELDS + 1, "unknown payload field \"extra\"");
    standard_fields(f);
    f[NFIELDS] = (struct field){"module_id", cbor_build_string("i-other")};
    expect_fields_malformed(f, NFIELDS + 1, "payload field \"module_id\" appears twice");
    standard_fields(f);
    f[NFIELDS] = (struct field){"nonce", cbor_new_null()};
    expect_fields_malformed(f, NFIELDS + 1, "payload field \"nonce\" appears twice");
}

static void test_document_rejects_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *message;
    } cases[] = {
        {"module_id", "module_id must be a text string"},
        {"digest", "digest must be a text string"},
        {"timestamp", "timestamp must be an unsigned integer"},
        {"pcrs", "pcrs must be a map"},
        {"certificate", "certificate must be a byte string"},
        {"cabundle", "cabundle must be an array"},
        {"public_key", "public_key must be a byte string or null"},
        {"user_data", "user_data must be a byte string or null"},
        {"nonce", "nonce must be a byte string or null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct field f[NFIELDS];
        standard_fields(f);
        /* A float fits none of them (text for the byte fields, bytes for the text ones). */
        replace(f, NFIELDS, cases[i].name, cbor_build_float8(1.5));
        expect_fields_malformed(f, NFIELDS, cases[i].message);
    }
    struct field f[NFIELDS];
    standard_fields(f);
    replace(f, NFIELDS, "nonce", cbor_build_string("abc"));
    expect_fields_malformed(f, NFIELDS, "nonce must be a byte string or null");
    standard_fields(f);
    replace(f, NFIELDS, "digest", cbor_build_string("SHA256"));
    expect_fields_malformed(f, NFIELDS, "digest must be \"SHA384\"");
    standard_fields(f);
    replace(f, NFIELDS, "module_id", cbor_build_string("bad id"));
    expect_fields_malformed(f, NFIELDS, "module_id must be printable ASCII");
    standard_fields(f);
    replace(f, NFIELDS, "timestamp", cbor_build_negint8(3));
    expect_fields_malformed(f, NFIELDS, "timestamp must be an unsigned integer");
}

static void test_document_rejects_bad_pcrs(void **state)
{
    (void)state;
    struct field f[NFIELDS];
    cbor_item_t *m;
    standard_fields(f);
    m = pcrs_map(2);
    assert_true(cbor_map_add(
        m, (struct cbor_pair){cbor_move(cbor_build_uint8(3)), cbor_move(bytes_of(1, 47))}));
    replace(f, NFIELDS, "pcrs", m);
    expect_fields_malformed(f, NFIELDS, "PCR 3 must be 48 bytes");
    standard_fields(f);
    m = pcrs_map(2);
    assert_true(cbor_map_add(
        m, (struct cbor_pair){cbor_move(cbor_build_uint8(32)), cbor_move(bytes_of(1, 48))}));
    replace(f, NFIELDS, "pcrs", m);
    expect_fields_malformed(f, NFIELDS, "pcrs keys must be integers 0..31");
    standard_fields(f);
    m = pcrs_map(2);
    assert_true(cbor_map_add(
        m, (struct cbor_pair){cbor_move(cbor_build_uint8(1)), cbor_move(bytes_of(1, 48))}));
    replace(f, NFIELDS, "pcrs", m);
    expect_fields_malformed(f, NFIELDS, "PCR 1 appears twice");
    standard_fields(f);
    m = pcrs_map(2);
    assert_true(cbor_map_add(
        m, (struct cbor_pair){cbor_move(cbor_build_string("2")), cbor_move(bytes_of(1, 48))}));
    replace(f, NFIELDS, "pcrs", m);
    expect_fields_malformed(f, NFIELDS, "pcrs keys must be integers");
    standard_fields(f);
    replace(f, NFIELDS, "pcrs", pcrs_map(32)); /* all 32: fine */
    size_t len = 0;
    uint8_t *doc = document(f, NFIELDS, false, &len);
    struct nsl_attest_document d;
    parse_ok(doc, len, &d);
    assert_int_equal(d.pcr_mask, 0xFFFFFFFFu);
    nsl_attest_document_free(&d);
    free(doc);
}

static void test_document_enforces_size_limits(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t ok, over;
        const char *message;
    } cases[] = {
        {"nonce", 512, 513, "nonce is longer than 512 bytes"},
        {"user_data", 512, 513, "user_data is longer than 512 bytes"},
        {"public_key", 1024, 1025, "public_key is longer than 1024 bytes"},
        {"certificate", 4096, 4097, "certificate is longer than 4096 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct field f[NFIELDS];
        standard_fields(f);
        replace(f, NFIELDS, cases[i].name, bytes_of(7, cases[i].ok));
        size_t len = 0;
        uint8_t *doc = document(f, NFIELDS, true, &len);
        struct nsl_attest_document d;
        parse_ok(doc, len, &d);
        nsl_attest_document_free(&d);
        free(doc);
        standard_fields(f);
        replace(f, NFIELDS, cases[i].name, bytes_of(7, cases[i].over));
        expect_fields_malformed(f, NFIELDS, cases[i].message);
    }
    struct field f[NFIELDS];
    standard_fields(f);
    cbor_item_t *bundle = cbor_new_definite_array(9);
    for (int i = 0; i < 9; i++)
        assert_true(cbor_array_push(bundle, cbor_move(bytes_of(1, 10))));
    replace(f, NFIELDS, "cabundle", bundle);
    expect_fields_malformed(f, NFIELDS, "cabundle must hold 1..8 certificates, not 9");
    standard_fields(f);
    replace(f, NFIELDS, "cabundle", cbor_new_definite_array(0));
    expect_fields_malformed(f, NFIELDS, "cabundle must hold 1..8 certificates, not 0");
    standard_fields(f);
    bundle = cbor_new_definite_array(1);
    assert_true(cbor_array_push(bundle, cbor_move(bytes_of(1, 0))));
    replace(f, NFIELDS, "cabundle", bundle);
    expect_fields_malformed(f, NFIELDS, "cabundle[0] must be at least 1 bytes");
}

/* Chunked (indefinite-length) strings are put together; an empty nonce is not null. */
static void test_document_joins_chunked_strings(void **state)
{
    (void)state;
    struct field f[NFIELDS];
    standard_fields(f);
    cbor_item_t *id = cbor_new_indefinite_string();
    assert_true(cbor_string_add_chunk(id, cbor_move(cbor_build_string("sim-"))));
    assert_true(cbor_string_add_chunk(id, cbor_move(cbor_build_string("chunked"))));
    replace(f, NFIELDS, "module_id", id);
    cbor_item_t *nonce = cbor_new_indefinite_bytestring();
    assert_true(cbor_bytestring_add_chunk(nonce, cbor_move(bytes_of(0xAB, 2))));
    assert_true(cbor_bytestring_add_chunk(nonce, cbor_move(bytes_of(0xCD, 1))));
    replace(f, NFIELDS, "nonce", nonce);
    replace(f, NFIELDS, "user_data", bytes_of(0, 0));
    size_t len = 0;
    uint8_t *doc = document(f, NFIELDS, true, &len);
    struct nsl_attest_document d;
    parse_ok(doc, len, &d);
    assert_string_equal(d.module_id, "sim-chunked");
    assert_hex(&d.nonce, "ababcd");
    assert_non_null(d.user_data.data);
    assert_int_equal(d.user_data.len, 0);
    assert_null(d.public_key.data);
    assert_int_equal(d.timestamp_ms, 1700000000123ULL);
    assert_int_equal(d.cabundle_len, 1);
    nsl_attest_document_free(&d);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_parses_debug_2024),
        cmocka_unit_test(test_document_parses_prod_2025_with_nulls),
        cmocka_unit_test(test_document_parses_prod_2026_indefinite_map),
        cmocka_unit_test(test_document_accepts_tag_18),
        cmocka_unit_test(test_document_accepts_definite_reencoding),
        cmocka_unit_test(test_document_accepts_indefinite_envelope),
        cmocka_unit_test(test_document_rejects_empty_and_garbage),
        cmocka_unit_test(test_document_rejects_truncation_everywhere),
        cmocka_unit_test(test_document_rejects_trailing_and_oversize),
        cmocka_unit_test(test_document_error_offsets_inside_payload),
        cmocka_unit_test(test_document_rejects_bad_envelope),
        cmocka_unit_test(test_document_rejects_missing_payload_fields),
        cmocka_unit_test(test_document_rejects_unknown_and_duplicate_fields),
        cmocka_unit_test(test_document_rejects_wrong_types),
        cmocka_unit_test(test_document_rejects_bad_pcrs),
        cmocka_unit_test(test_document_enforces_size_limits),
        cmocka_unit_test(test_document_joins_chunked_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
