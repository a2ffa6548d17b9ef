/* Attest, seal, open: the client side of end-to-end sealing (see seal.h). Wire format and HPKE
 * suite: docs/hpke.md (RFC 9180 base mode, X25519 / HKDF-SHA256 / ChaCha20-Poly1305); the
 * document's user_data commitment: enclave/identity.h. */
#include "cli/seal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"
#include "crypto/hash.h"

#define AAD_SIZE 160 /* service "." operation; both are short, bounded by the routes table */

static nsl_err oom(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static nsl_err attestation_failed(struct nsl_error *err, const char *reason)
{
    return nsl_fail(err, NSL_ERR_UNAUTHENTICATED, "enclave attestation failed: %.200s", reason);
}

static void aad_of(const char *service, const char *operation, char out[AAD_SIZE])
{
    snprintf(out, AAD_SIZE, "%s.%s", service, operation);
}

bool nsl_cli_seal_wanted(const struct nsl_route *r, enum nsl_cli_seal_mode mode)
{
    if (mode == NSL_CLI_SEAL_AUTO)
        return r->flags & (NSL_ROUTE_SEALED_PARAMS | NSL_ROUTE_SEALED_RESULT);
    return mode == NSL_CLI_SEAL_ALWAYS;
}

/* ---- policy ------------------------------------------------------------------------------- */

/* One "N=HEX" of len bytes (HEX: 96 digits, optionally 0x-prefixed). */
static nsl_err parse_pcr(const char *text, size_t len, const char *what,
                         struct nsl_attest_policy *policy, struct nsl_error *err)
{
    char item[8 + 2 * NSL_ATTEST_PCR_LEN];
    const char *eq = memchr(text, '=', len);
    unsigned index = 0;
    size_t digits = eq ? (size_t)(eq - text) : 0;
    for (size_t i = 0; i < digits && index < NSL_ATTEST_MAX_PCRS; i++)
        index = text[i] >= '0' && text[i] <= '9' ? index * 10 + (unsigned)(text[i] - '0')
                                                 : NSL_ATTEST_MAX_PCRS;
    if (!eq || digits == 0 || digits > 2 || index >= NSL_ATTEST_MAX_PCRS || len >= sizeof item)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%s takes N=HEX with N in 0..%d", what,
                        NSL_ATTEST_MAX_PCRS - 1);
    if (policy->pcr_mask & (1u << index))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%s: PCR %u given twice", what, index);
    size_t hex_len = len - digits - 1;
    memcpy(item, eq + 1, hex_len);
    item[hex_len] = 0;
    const char *hex = item[0] == '0' && (item[1] == 'x' || item[1] == 'X') ? item + 2 : item;
    if (nsl_attest_policy_expect_pcr(policy, index, hex) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%s: PCR %u must be %d hex digits", what,
                        index, 2 * NSL_ATTEST_PCR_LEN);
    return NSL_OK;
}

/* NSL_PCRS: "N=HEX" items separated by commas; spaces around them are ignored. */
static nsl_err parse_env_pcrs(const char *list, struct nsl_attest_policy *policy,
                              struct nsl_error *err)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed > 0)
            NSL_TRY(parse_pcr(p, trimmed, "NSL_PCRS", policy, err));
        p += len + (p[len] == ',');
    }
    return NSL_OK;
}

static nsl_err env_flag(const char *value, const char *name, bool *on, struct nsl_error *err)
{
    if (!value || !value[0] || strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
        return NSL_OK;
    if (strcmp(value, "1") != 0 && strcmp(value, "true") != 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%s must be 1 or 0", name);
    *on = true;
    return NSL_OK;
}

nsl_err nsl_cli_seal_policy(const struct nsl_cli_args *args, const char *env_allow_simulated,
                            const char *env_pcrs, struct nsl_attest_policy *policy,
                            struct nsl_error *err)
{
    memset(policy, 0, sizeof *policy);
    policy->allow_debug = args->allow_debug;
    policy->allow_simulated = args->allow_simulated;
    if (!policy->allow_simulated)
        NSL_TRY(
            env_flag(env_allow_simulated, "NSL_ALLOW_SIMULATED", &policy->allow_simulated, err));
    for (size_t i = 0; i < args->npcrs; i++)
        NSL_TRY(parse_pcr(args->pcrs[i], strlen(args->pcrs[i]), "--pcr", policy, err));
    if (args->npcrs == 0 && env_pcrs) /* a flag wins over the environment */
        NSL_TRY(parse_env_pcrs(env_pcrs, policy, err));
    return NSL_OK;
}

/* ---- attestation -------------------------------------------------------------------------- */

void nsl_cli_seal_commitment(const uint8_t signer_pub[NSL_NEO_PUBKEY_LEN],
                             uint8_t out[NSL_CLI_SEAL_COMMITMENT_LEN])
{
    out[0] = 0x12; /* multihash: sha2-256, 32 bytes */
    out[1] = 0x20;
    nsl_sha256(signer_pub, NSL_NEO_PUBKEY_LEN, out + 2);
}

/* A member of result holding exactly len bytes in hex. */
static bool hex_member(const json_t *result, const char *name, uint8_t *out, size_t len)
{
    const char *hex = nsl_json_str(result, name);
    size_t n = 0;
    return hex && strlen(hex) == 2 * len && nsl_hex_decode(hex, 2 * len, out, len, &n) == 0 &&
           n == len;
}

/* The document's bytes from the result's base64 "document" (malloc'd into *doc). */
static nsl_err decode_document(const json_t *result, uint8_t **doc, size_t *len,
                               struct nsl_error *err)
{
    const char *b64 = json_is_object(result) ? nsl_json_str(result, "document") : NULL;
    size_t b64_len = b64 ? strlen(b64) : 0;
    if (!b64 || b64_len == 0 || nsl_base64_decoded_max(b64_len) > NSL_ATTEST_MAX_DOCUMENT + 2)
        return attestation_failed(err, "the answer has no document of 1..16384 bytes");
    *doc = malloc(nsl_base64_decoded_max(b64_len));
    if (!*doc)
        return oom(err);
    if (nsl_base64_decode(b64, b64_len, *doc, nsl_base64_decoded_max(b64_len), len) != 0) {
        free(*doc);
        *doc = NULL;
        return attestation_failed(err, "the answer's document is not base64");
    }
    return NSL_OK;
}

/* The keys beside the document must be the ones it vouches for. */
static nsl_err check_bindings(const json_t *result, const struct nsl_attest_document *doc,
                              uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], struct nsl_error *err)
{
    uint8_t signer[NSL_NEO_PUBKEY_LEN], want[NSL_CLI_SEAL_COMMITMENT_LEN];
    if (!hex_member(result, "hpkePublicKey", pk, NSL_HPKE_PUBLIC_KEY_LEN) ||
        doc->public_key.len != NSL_HPKE_PUBLIC_KEY_LEN ||
        memcmp(doc->public_key.data, pk, NSL_HPKE_PUBLIC_KEY_LEN) != 0)
        return attestation_failed(err, "hpkePublicKey is not the document's public_key");
    if (!hex_member(result, "signerPublicKey", signer, sizeof signer))
        return attestation_failed(err, "the answer has no signerPublicKey (33 bytes hex)");
    nsl_cli_seal_commitment(signer, want);
    if (doc->user_data.len != sizeof want || memcmp(doc->user_data.data, want, sizeof want) != 0)
        return attestation_failed(err, "user_data does not commit to signerPublicKey");
    return NSL_OK;
}

nsl_err nsl_cli_seal_check_document(const json_t *result, const struct nsl_attest_policy *policy,
                                    uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], struct nsl_error *err)
{
    uint8_t *doc = NULL;
    size_t len = 0;
    NSL_TRY(decode_document(result, &doc, &len, err));
    struct nsl_attest_result verified;
    nsl_err rc = nsl_attest_verify(doc, len, policy, &verified, err);
    free(doc);
    if (rc != NSL_OK) {
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err ? err->message : "");
        return rc == NSL_ERR_INTERNAL ? rc : attestation_failed(err, why);
    }
    rc = check_bindings(result, &verified.doc, pk, err);
    nsl_attest_result_free(&verified);
    return rc;
}

/* attestation.getDocument {nonce} without credentials (the operation is public). */
static nsl_err get_document(const struct nsl_cli_endpoint *ep, const char *nonce_hex,
                            struct nsl_cli_reply *reply, struct nsl_error *err)
{
    json_t *params = json_pack("{s:s}", "nonce", nonce_hex);
    char *body = params ? nsl_cli_rpc_body("attestation", "getDocument", params) : NULL;
    nsl_err rc = body ? nsl_cli_rpc_call(ep, NULL, body, reply) : NSL_ERR_INTERNAL;
    free(body);
    json_decref(params);
    return rc == NSL_OK ? NSL_OK : oom(err);
}

static nsl_err call_failed(const json_t *error, struct nsl_error *err)
{
    nsl_err code = NSL_ERR_INTERNAL;
    if (!nsl_err_from_name(nsl_cli_rpc_error_name(error), &code) || code == NSL_OK)
        code = NSL_ERR_INTERNAL;
    const char *message = json_string_value(json_object_get(error, "message"));
    return nsl_fail(err, code, "cannot fetch the attestation document: %.200s",
                    message ? message : "no message");
}

nsl_err nsl_cli_seal_attest(const struct nsl_cli_endpoint *ep,
                            const struct nsl_attest_policy *policy,
                            uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], struct nsl_error *err)
{
    uint8_t nonce[NSL_CLI_SEAL_NONCE_LEN];
    char nonce_hex[2 * sizeof nonce + 1];
    if (nsl_random_bytes(nonce, sizeof nonce) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "no randomness for the attestation nonce");
    nsl_hex_encode(nonce, sizeof nonce, nonce_hex);
    struct nsl_attest_policy with_nonce = *policy;
    with_nonce.nonce = nonce;
    with_nonce.nonce_len = sizeof nonce;
    struct nsl_cli_reply reply;
    NSL_TRY(get_document(ep, nonce_hex, &reply, err));
    nsl_err rc = reply.error ? call_failed(reply.error, err)
                             : nsl_cli_seal_check_document(reply.result, &with_nonce, pk, err);
    nsl_cli_reply_free(&reply);
    return rc;
}

/* ---- seal and open ------------------------------------------------------------------------ */

/* The plaintext: params with "replyKey" added, as compact JSON (malloc'd; the caller wipes). */
static char *plaintext_of(const json_t *params, const uint8_t reply_pk[NSL_HPKE_PUBLIC_KEY_LEN],
                          size_t *len)
{
    char reply_hex[2 * NSL_HPKE_PUBLIC_KEY_LEN + 1];
    nsl_hex_encode(reply_pk, NSL_HPKE_PUBLIC_KEY_LEN, reply_hex);
    json_t *plain = json_copy((json_t *)params); /* shallow: the values stay shared */
    char *text = NULL;
    if (plain && json_object_set_new(plain, "replyKey", json_string(reply_hex)) == 0)
        text = nsl_json_dump(plain, len);
    json_decref(plain);
    return text;
}

static json_t *sealed_object(const uint8_t enc[NSL_HPKE_ENC_LEN], const struct nsl_buf *ct)
{
    char enc_hex[2 * NSL_HPKE_ENC_LEN + 1];
    nsl_hex_encode(enc, NSL_HPKE_ENC_LEN, enc_hex);
    char *ct_b64 = nsl_base64_encode_alloc(ct->data, ct->len);
    json_t *sealed =
        ct_b64 ? json_pack("{s:{s:s, s:s}}", "sealed", "enc", enc_hex, "ct", ct_b64) : NULL;
    free(ct_b64);
    return sealed;
}

nsl_err nsl_cli_seal_params(const uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], const char *service,
                            const char *operation, const json_t *params, json_t **sealed,
                            struct nsl_secret **reply_sk, struct nsl_error *err)
{
    *sealed = NULL;
    uint8_t reply_pk[NSL_HPKE_PUBLIC_KEY_LEN], enc[NSL_HPKE_ENC_LEN];
    NSL_TRY(nsl_hpke_keypair(reply_sk, reply_pk, err));
    char aad[AAD_SIZE];
    aad_of(service, operation, aad);
    size_t len = 0;
    char *text = plaintext_of(params, reply_pk, &len);
    struct nsl_buf ct = {0};
    nsl_err rc =
        text ? nsl_hpke_seal(pk, NSL_CLI_SEAL_REQUEST_INFO, strlen(NSL_CLI_SEAL_REQUEST_INFO), aad,
                             strlen(aad), text, len, enc, &ct, err)
             : oom(err);
    if (text)
        nsl_wipe(text, len);
    free(text);
    if (rc == NSL_OK && !(*sealed = sealed_object(enc, &ct)))
        rc = oom(err);
    nsl_buf_free(&ct);
    if (rc != NSL_OK) {
        nsl_secret_free(*reply_sk);
        *reply_sk = NULL;
    }
    return rc;
}

/* enc and ct of {"sealed": {"enc": HEX(32), "ct": BASE64}}; *ct is malloc'd. */
static nsl_err sealed_parts(const json_t *result, uint8_t enc[NSL_HPKE_ENC_LEN], uint8_t **ct,
                            size_t *ct_len, struct nsl_error *err)
{
    const json_t *sealed = json_object_get(result, "sealed");
    const char *b64 = nsl_json_str(sealed, "ct");
    if (json_object_size(result) != 1 || !json_is_object(sealed) ||
        !hex_member(sealed, "enc", enc, NSL_HPKE_ENC_LEN) || !b64)
        return nsl_fail(err, NSL_ERR_UNAUTHENTICATED,
                        "the result was not sealed to this request's reply key");
    size_t cap = nsl_base64_decoded_max(strlen(b64));
    if (!(*ct = malloc(cap ? cap : 1)))
        return oom(err);
    if (nsl_base64_decode(b64, strlen(b64), *ct, cap, ct_len) != 0) {
        free(*ct);
        *ct = NULL;
        return nsl_fail(err, NSL_ERR_UNAUTHENTICATED, "the sealed result is not valid base64");
    }
    return NSL_OK;
}

nsl_err nsl_cli_seal_open_result(const struct nsl_secret *reply_sk, const char *service,
                                 const char *operation, const json_t *result, json_t **opened,
                                 struct nsl_error *err)
{
    *opened = NULL;
    if (json_is_object(result) && json_object_size(result) == 0) {
        *opened = json_incref((json_t *)result);
        return NSL_OK;
    }
    uint8_t enc[NSL_HPKE_ENC_LEN], *ct = NULL;
    size_t ct_len = 0;
    NSL_TRY(sealed_parts(result, enc, &ct, &ct_len, err));
    char aad[AAD_SIZE];
    aad_of(service, operation, aad);
    struct nsl_secret *plain = NULL;
    nsl_err rc =
        nsl_hpke_open(reply_sk, enc, NSL_CLI_SEAL_RESULT_INFO, strlen(NSL_CLI_SEAL_RESULT_INFO),
                      aad, strlen(aad), ct, ct_len, &plain, err);
    free(ct);
    if (rc != NSL_OK)
        return nsl_fail(err, NSL_ERR_UNAUTHENTICATED, "the sealed result does not open");
    *opened = nsl_json_parse_object((const char *)nsl_secret_bytes(plain), nsl_secret_len(plain),
                                    NSL_ERR_UNAUTHENTICATED, err);
    nsl_secret_free(plain);
    if (!*opened)
        return nsl_fail(err, NSL_ERR_UNAUTHENTICATED, "the opened result is not one JSON object");
    return NSL_OK;
}

/* ---- one request -------------------------------------------------------------------------- */

nsl_err nsl_cli_seal_request(const struct nsl_cli_endpoint *ep,
                             const struct nsl_attest_policy *policy, const struct nsl_route *r,
                             const json_t *params, struct nsl_cli_sealing *s, struct nsl_error *err)
{
    *s = (struct nsl_cli_sealing){0};
    uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN];
    NSL_TRY(nsl_cli_seal_attest(ep, policy, pk, err));
    return nsl_cli_seal_params(pk, r->service, r->operation, params, &s->params, &s->reply_sk, err);
}

nsl_err nsl_cli_seal_reply(const struct nsl_cli_sealing *s, const struct nsl_route *r,
                           struct nsl_cli_reply *reply, struct nsl_error *err)
{
    if (!s->reply_sk || !reply->result)
        return NSL_OK;
    json_t *opened = NULL;
    nsl_err rc = nsl_cli_seal_open_result(s->reply_sk, r->service, r->operation, reply->result,
                                          &opened, err);
    json_decref(reply->result);
    reply->result = opened;
    return rc;
}

void nsl_cli_sealing_free(struct nsl_cli_sealing *s)
{
    json_decref(s->params);
    nsl_secret_free(s->reply_sk);
    *s = (struct nsl_cli_sealing){0};
}
