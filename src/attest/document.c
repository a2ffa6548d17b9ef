/* Attestation document parsing (see document.h). Layout: RFC 9052 §4.2 (COSE_Sign1), RFC 9053
 * §2.1 (ES384), and AWS's attestation document specification (payload fields, as summarised in
 * ../shared/NITRO.md). libcbor does the decoding behind attest/cbor.h's bounds. */
#include "attest/document.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/cbor.h"

#define MAX_PROTECTED_HEADER 64 /* {1: -35} is 4 bytes */
#define MAX_FIELD_NAME       32

enum field {
    F_MODULE_ID,
    F_DIGEST,
    F_TIMESTAMP,
    F_PCRS,
    F_CERTIFICATE,
    F_CABUNDLE,
    F_PUBLIC_KEY,
    F_USER_DATA,
    F_NONCE,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    [F_MODULE_ID] = "module_id",
    [F_DIGEST] = "digest",
    [F_TIMESTAMP] = "timestamp",
    [F_PCRS] = "pcrs",
    [F_CERTIFICATE] = "certificate",
    [F_CABUNDLE] = "cabundle",
    [F_PUBLIC_KEY] = "public_key",
    [F_USER_DATA] = "user_data",
    [F_NONCE] = "nonce",
};

static nsl_err malformed(struct nsl_error *err, const char *what)
{
    return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: %s", what);
}

static nsl_err take_bytes(const cbor_item_t *item, size_t min, size_t max, const char *what,
                          struct nsl_attest_blob *out, struct nsl_error *err)
{
    if (!cbor_isa_bytestring(item))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: %s must be a byte string", what);
    NSL_TRY(nsl_attest_cbor_string(item, max, what, &out->data, &out->len, err));
    if (out->len < min)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: %s must be at least %zu bytes",
                        what, min);
    return NSL_OK;
}

/* A byte string or null (public_key, user_data, nonce). */
/* cbor_is_null asserts (aborts) when handed a float: look at the width first. */
static bool is_null(const cbor_item_t *item)
{
    return cbor_isa_float_ctrl(item) && cbor_float_get_width(item) == CBOR_FLOAT_0 &&
           cbor_ctrl_value(item) == CBOR_CTRL_NULL;
}

static nsl_err take_optional_bytes(const cbor_item_t *item, size_t max, const char *what,
                                   struct nsl_attest_blob *out, struct nsl_error *err)
{
    if (is_null(item))
        return NSL_OK;
    if (!cbor_isa_bytestring(item))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: %s must be a byte string or null",
                        what);
    return take_bytes(item, 0, max, what, out, err);
}

static bool get_uint(const cbor_item_t *item, uint64_t *value)
{
    if (!cbor_isa_uint(item))
        return false;
    *value = cbor_get_int(item);
    return true;
}

static nsl_err take_module_id(const cbor_item_t *item, struct nsl_attest_document *doc,
                              struct nsl_error *err)
{
    if (!cbor_isa_string(item))
        return malformed(err, "module_id must be a text string");
    uint8_t *text = NULL;
    size_t len = 0;
    NSL_TRY(nsl_attest_cbor_string(item, NSL_ATTEST_MAX_MODULE_ID, "module_id", &text, &len, err));
    doc->module_id = (char *)text;
    if (len == 0)
        return malformed(err, "module_id is empty");
    for (size_t i = 0; i < len; i++)
        if (text[i] < 0x21 || text[i] > 0x7E)
            return malformed(err, "module_id must be printable ASCII");
    return NSL_OK;
}

static nsl_err take_digest(const cbor_item_t *item, struct nsl_attest_document *doc,
                           struct nsl_error *err)
{
    if (!cbor_isa_string(item))
        return malformed(err, "digest must be a text string");
    uint8_t *text = NULL;
    size_t len = 0;
    NSL_TRY(nsl_attest_cbor_string(item, sizeof doc->digest - 1, "digest", &text, &len, err));
    bool ok = len == 6 && memcmp(text, "SHA384", 6) == 0;
    if (ok)
        memcpy(doc->digest, text, len + 1);
    free(text);
    return ok ? NSL_OK : malformed(err, "digest must be \"SHA384\"");
}

static nsl_err take_pcr(const struct cbor_pair *pair, struct nsl_attest_document *doc,
                        struct nsl_error *err)
{
    uint64_t index = 0;
    if (!get_uint(pair->key, &index) || index >= NSL_ATTEST_MAX_PCRS)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: pcrs keys must be integers 0..%d",
                        NSL_ATTEST_MAX_PCRS - 1);
    uint32_t bit = (uint32_t)1 << index;
    if (doc->pcr_mask & bit)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: PCR %u appears twice",
                        (unsigned)index);
    char what[16];
    snprintf(what, sizeof what, "PCR %u", (unsigned)index);
    struct nsl_attest_blob value = {0};
    nsl_err rc = take_bytes(pair->value, 0, NSL_ATTEST_PCR_LEN, what, &value, err);
    if (rc == NSL_OK && value.len != NSL_ATTEST_PCR_LEN)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: %s must be %d bytes", what,
                      NSL_ATTEST_PCR_LEN);
    if (rc == NSL_OK) {
        memcpy(doc->pcrs[index], value.data, NSL_ATTEST_PCR_LEN);
        doc->pcr_mask |= bit;
    }
    free(value.data);
    return rc;
}

static nsl_err take_pcrs(const cbor_item_t *item, struct nsl_attest_document *doc,
                         struct nsl_error *err)
{
    if (!cbor_isa_map(item))
        return malformed(err, "pcrs must be a map");
    size_t n = cbor_map_size(item);
    if (n > NSL_ATTEST_MAX_PCRS)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: pcrs has %zu entries, above %d", n,
                        NSL_ATTEST_MAX_PCRS);
    const struct cbor_pair *pairs = cbor_map_handle(item);
    for (size_t i = 0; i < n; i++)
        NSL_TRY(take_pcr(&pairs[i], doc, err));
    return NSL_OK;
}

static nsl_err take_cabundle(const cbor_item_t *item, struct nsl_attest_document *doc,
                             struct nsl_error *err)
{
    if (!cbor_isa_array(item))
        return malformed(err, "cabundle must be an array");
    size_t n = cbor_array_size(item);
    if (n == 0 || n > NSL_ATTEST_MAX_CABUNDLE)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "malformed: cabundle must hold 1..%d certificates, not %zu",
                        NSL_ATTEST_MAX_CABUNDLE, n);
    cbor_item_t **items = cbor_array_handle(item);
    for (size_t i = 0; i < n; i++) {
        char what[24];
        snprintf(what, sizeof what, "cabundle[%zu]", i);
        NSL_TRY(take_bytes(items[i], 1, NSL_ATTEST_MAX_CERT, what, &doc->cabundle[i], err));
        doc->cabundle_len = i + 1;
    }
    return NSL_OK;
}

static nsl_err take_field(enum field f, const cbor_item_t *value, struct nsl_attest_document *doc,
                          struct nsl_error *err)
{
    switch (f) {
    case F_MODULE_ID:
        return take_module_id(value, doc, err);
    case F_DIGEST:
        return take_digest(value, doc, err);
    case F_TIMESTAMP:
        return get_uint(value, &doc->timestamp_ms)
                   ? NSL_OK
                   : malformed(err, "timestamp must be an unsigned integer");
    case F_PCRS:
        return take_pcrs(value, doc, err);
    case F_CERTIFICATE:
        return take_bytes(value, 1, NSL_ATTEST_MAX_CERT, "certificate", &doc->certificate, err);
    case F_CABUNDLE:
        return take_cabundle(value, doc, err);
    case F_PUBLIC_KEY:
        return take_optional_bytes(value, NSL_ATTEST_MAX_PUBLIC_KEY, "public_key", &doc->public_key,
                                   err);
    case F_USER_DATA:
        return take_optional_bytes(value, NSL_ATTEST_MAX_USER_DATA, "user_data", &doc->user_data,
                                   err);
    case F_NONCE:
        return take_optional_bytes(value, NSL_ATTEST_MAX_NONCE, "nonce", &doc->nonce, err);
    default:
        return malformed(err, "unknown field");
    }
}

/* The field a key names; the key must be a short text string. */
static nsl_err find_field(const cbor_item_t *key, enum field *f, struct nsl_error *err)
{
    if (!cbor_isa_string(key))
        return malformed(err, "a payload key is not a text string");
    uint8_t *name = NULL;
    size_t len = 0;
    NSL_TRY(nsl_attest_cbor_string(key, MAX_FIELD_NAME, "a payload key", &name, &len, err));
    nsl_err rc = NSL_ERR_INVALID_PARAMS;
    for (int i = 0; i < F_COUNT; i++)
        if (strlen(field_names[i]) == len && memcmp(field_names[i], name, len) == 0) {
            *f = (enum field)i;
            rc = NSL_OK;
        }
    if (rc != NSL_OK) {
        bool printable = true;
        for (size_t i = 0; i < len; i++)
            printable = printable && name[i] >= 0x20 && name[i] < 0x7F;
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: unknown payload field \"%s\"",
                      printable ? (const char *)name : "(not printable)");
    }
    free(name);
    return rc;
}

static nsl_err parse_payload(const struct nsl_attest_blob *payload, size_t base, const char *what,
                             struct nsl_attest_document *doc, struct nsl_error *err)
{
    cbor_item_t *map = NULL;
    NSL_TRY(nsl_attest_cbor_load(payload->data, payload->len, base, what, &map, err));
    nsl_err rc = NSL_OK;
    unsigned seen = 0;
    if (!cbor_isa_map(map)) {
        rc = malformed(err, "the payload is not a map");
        goto cleanup;
    }
    const struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map) && rc == NSL_OK; i++) {
        enum field f = F_COUNT;
        rc = find_field(pairs[i].key, &f, err);
        if (rc == NSL_OK && (seen & (1u << f)))
            rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                          "malformed: payload field \"%s\" appears twice", field_names[f]);
        if (rc == NSL_OK) {
            seen |= 1u << f;
            rc = take_field(f, pairs[i].value, doc, err);
        }
    }
    for (int f = 0; f < F_COUNT && rc == NSL_OK; f++)
        if (!(seen & (1u << f)))
            rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "malformed: payload field \"%s\" is missing",
                          field_names[f]);
cleanup:
    cbor_decref(&map);
    return rc;
}

/* The protected header must be exactly {1: -35}: alg ES384 and nothing else. */
static nsl_err check_protected(const struct nsl_attest_blob *header, struct nsl_error *err)
{
    cbor_item_t *map = NULL;
    NSL_TRY(nsl_attest_cbor_load(header->data, header->len, 0,
                                 "protected header (offset within it)", &map, err));
    bool ok = cbor_isa_map(map) && cbor_map_size(map) == 1;
    if (ok) {
        const struct cbor_pair *p = cbor_map_handle(map);
        uint64_t key = 0;
        ok = get_uint(p->key, &key) && key == 1 && cbor_isa_negint(p->value) &&
             cbor_get_int(p->value) == (uint64_t)(-1 - NSL_ATTEST_COSE_ALG_ES384);
    }
    cbor_decref(&map);
    return ok ? NSL_OK : malformed(err, "the protected header must be {1: -35} (ES384)");
}

static nsl_err parse_envelope(const cbor_item_t *top, struct nsl_attest_document *doc,
                              struct nsl_error *err)
{
    const cbor_item_t *sign1 = top;
    if (!cbor_isa_array(sign1) || cbor_array_size(sign1) != 4)
        return malformed(err, "COSE_Sign1 must be an array of 4 items");
    cbor_item_t **items = cbor_array_handle(sign1);
    NSL_TRY(take_bytes(items[0], 1, MAX_PROTECTED_HEADER, "the protected header",
                       &doc->protected_header, err));
    NSL_TRY(check_protected(&doc->protected_header, err));
    if (!cbor_isa_map(items[1]) || cbor_map_size(items[1]) != 0)
        return malformed(err, "the unprotected header must be an empty map");
    NSL_TRY(take_bytes(items[2], 1, NSL_ATTEST_MAX_DOCUMENT, "the payload", &doc->payload, err));
    struct nsl_attest_blob sig = {0};
    nsl_err rc = take_bytes(items[3], 0, NSL_ATTEST_SIGNATURE_LEN, "the signature", &sig, err);
    if (rc == NSL_OK && sig.len != NSL_ATTEST_SIGNATURE_LEN)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                      "malformed: the signature must be %d bytes (ES384 r || s), not %zu",
                      NSL_ATTEST_SIGNATURE_LEN, sig.len);
    if (rc == NSL_OK)
        memcpy(doc->signature, sig.data, NSL_ATTEST_SIGNATURE_LEN);
    free(sig.data);
    return rc;
}

nsl_err nsl_attest_document_parse(const uint8_t *data, size_t len, struct nsl_attest_document *doc,
                                  struct nsl_error *err)
{
    memset(doc, 0, sizeof *doc);
    if (len > NSL_ATTEST_MAX_DOCUMENT)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "malformed: the document is %zu bytes, above the %d-byte limit", len,
                        NSL_ATTEST_MAX_DOCUMENT);
    uint64_t tag = 0;
    size_t skip = 0;
    if (nsl_attest_cbor_tag(data, len, &tag, &skip)) {
        if (tag != NSL_ATTEST_COSE_TAG_SIGN1)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "malformed: the document's tag %llu is not COSE_Sign1 (18)",
                            (unsigned long long)tag);
        doc->tagged = true;
    }
    cbor_item_t *top = NULL;
    NSL_TRY(nsl_attest_cbor_load(data + skip, len - skip, skip, "document", &top, err));
    nsl_err rc = parse_envelope(top, doc, err);
    cbor_decref(&top);
    if (rc == NSL_OK) {
        /* Offsets in the payload are the document's when its bytes lie there contiguously. */
        size_t base = 0;
        bool contiguous = nsl_attest_cbor_array_bstr_offset(data, len, 2, &base);
        rc =
            parse_payload(&doc->payload, contiguous ? base : 0,
                          contiguous ? "payload" : "payload (offset within the payload)", doc, err);
    }
    if (rc != NSL_OK)
        nsl_attest_document_free(doc);
    return rc;
}

static void blob_free(struct nsl_attest_blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

void nsl_attest_document_free(struct nsl_attest_document *doc)
{
    if (!doc)
        return;
    blob_free(&doc->protected_header);
    blob_free(&doc->payload);
    free(doc->module_id);
    blob_free(&doc->certificate);
    for (size_t i = 0; i < NSL_ATTEST_MAX_CABUNDLE; i++)
        blob_free(&doc->cabundle[i]);
    blob_free(&doc->public_key);
    blob_free(&doc->user_data);
    blob_free(&doc->nonce);
    memset(doc, 0, sizeof *doc);
}

bool nsl_attest_document_pcr_is_zero(const struct nsl_attest_document *doc, unsigned index)
{
    if (index >= NSL_ATTEST_MAX_PCRS || !(doc->pcr_mask & ((uint32_t)1 << index)))
        return false;
    uint8_t acc = 0;
    for (size_t i = 0; i < NSL_ATTEST_PCR_LEN; i++)
        acc |= doc->pcrs[index][i];
    return acc == 0;
}
