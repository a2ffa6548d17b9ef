/* Sealed params and results (see sealing.h). */
#include "enclave/sealing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"

#define MAX_SEALED_BYTES (1u << 20)

static const struct nsl_field_spec sealed_schema[] = {
    {"enc", NSL_FIELD_HEX, true, NSL_HPKE_ENC_LEN, 0, 0, "HPKE encapsulated key"},
    {"ct", NSL_FIELD_BASE64, true, MAX_SEALED_BYTES, 0, 0, "ciphertext and tag"},
    NSL_FIELDS_END,
};

bool nsl_sealing_is_sealed(const json_t *params)
{
    return json_is_object(params) && json_object_size(params) == 1 &&
           json_object_get(params, "sealed");
}

nsl_err nsl_sealing_check(const json_t *params, struct nsl_error *err)
{
    const json_t *sealed = json_object_get(params, "sealed");
    NSL_TRY(nsl_json_check(sealed, sealed_schema, NSL_ERR_INVALID_PARAMS, "params.sealed", err));
    if (json_string_length(json_object_get(sealed, "enc")) != 2 * NSL_HPKE_ENC_LEN)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.sealed.enc must be 32 bytes hex");
    return NSL_OK;
}

static void aad_of(const char *service, const char *operation, char *out, size_t len)
{
    snprintf(out, len, "%s.%s", service, operation);
}

/* Takes replyKey out of the opened params. */
static nsl_err take_reply_key(json_t *plain, uint8_t key[NSL_HPKE_PUBLIC_KEY_LEN], bool *has,
                              struct nsl_error *err)
{
    json_t *v = json_object_get(plain, "replyKey");
    *has = false;
    if (!v)
        return NSL_OK;
    size_t n = 0;
    if (!json_is_string(v) ||
        nsl_hex_decode(json_string_value(v), json_string_length(v), key, NSL_HPKE_PUBLIC_KEY_LEN,
                       &n) != 0 ||
        n != NSL_HPKE_PUBLIC_KEY_LEN)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.replyKey must be 32 bytes hex");
    json_object_del(plain, "replyKey");
    *has = true;
    return NSL_OK;
}

nsl_err nsl_sealing_open(const struct nsl_identity *id, const char *service, const char *operation,
                         const json_t *params, json_t **plain,
                         uint8_t reply_key[NSL_HPKE_PUBLIC_KEY_LEN], bool *has_reply_key,
                         struct nsl_error *err)
{
    NSL_TRY(nsl_sealing_check(params, err));
    const json_t *sealed = json_object_get(params, "sealed");
    const char *enc_hex = nsl_json_str(sealed, "enc"), *ct_b64 = nsl_json_str(sealed, "ct");
    uint8_t enc[NSL_HPKE_ENC_LEN];
    size_t n = 0, cap = nsl_base64_decoded_max(strlen(ct_b64)), ct_len = 0;
    uint8_t *ct = malloc(cap ? cap : 1);
    char aad[160];
    aad_of(service, operation, aad, sizeof aad);
    struct nsl_secret *text = NULL;
    nsl_err rc = NSL_OK;
    if (!ct)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    else if (nsl_hex_decode(enc_hex, strlen(enc_hex), enc, sizeof enc, &n) != 0 ||
             nsl_base64_decode(ct_b64, strlen(ct_b64), ct, cap, &ct_len) != 0)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.sealed is not valid hex/base64");
    else
        rc = nsl_identity_open(id, enc, NSL_SEAL_REQUEST_INFO, aad, strlen(aad), ct, ct_len, &text,
                               err);
    free(ct);
    if (rc != NSL_OK)
        return rc;
    *plain = nsl_json_parse_object((const char *)nsl_secret_bytes(text), nsl_secret_len(text),
                                   NSL_ERR_INVALID_PARAMS, err);
    nsl_secret_free(text);
    if (!*plain)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "sealed params are not one JSON object");
    rc = take_reply_key(*plain, reply_key, has_reply_key, err);
    if (rc != NSL_OK) {
        json_decref(*plain);
        *plain = NULL;
    }
    return rc;
}

nsl_err nsl_sealing_seal_result(const char *service, const char *operation, const json_t *result,
                                const uint8_t reply_key[NSL_HPKE_PUBLIC_KEY_LEN], json_t **sealed,
                                struct nsl_error *err)
{
    char aad[160];
    aad_of(service, operation, aad, sizeof aad);
    size_t len;
    char *text = nsl_json_dump(result, &len);
    if (!text)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    uint8_t enc[NSL_HPKE_ENC_LEN];
    struct nsl_buf ct = {0};
    nsl_err rc = nsl_hpke_seal(reply_key, NSL_SEAL_RESULT_INFO, strlen(NSL_SEAL_RESULT_INFO), aad,
                               strlen(aad), text, len, enc, &ct, err);
    nsl_wipe(text, len);
    free(text);
    if (rc != NSL_OK) {
        nsl_buf_free(&ct);
        return rc;
    }
    char enc_hex[2 * NSL_HPKE_ENC_LEN + 1];
    nsl_hex_encode(enc, sizeof enc, enc_hex);
    char *ct_b64 = nsl_base64_encode_alloc(ct.data, ct.len);
    nsl_buf_free(&ct);
    *sealed = ct_b64 ? json_pack("{s:{s:s, s:s}}", "sealed", "enc", enc_hex, "ct", ct_b64) : NULL;
    free(ct_b64);
    return *sealed ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}
