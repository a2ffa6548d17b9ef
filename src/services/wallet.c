/* The wallet service (issue 5): secp256r1 keys made in (or imported into) the enclave, Neo N3
 * message and transaction signing, per-key policies, NEP-2 export of exportable keys. Every key
 * belongs to one account; another account's keyId is simply not found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "common/json.h"
#include "enclave/storage.h"
#include "neo/account.h"
#include "neo/nep2.h"
#include "neo/tx_witness.h"
#include "neo/wif.h"
#include "services/service.h"
#include "services/wallet_keys.h"
#include "services/wallet_policy.h"

static struct nsl_store *store_of(struct nsl_call *call)
{
    return nsl_storage_get(call->ctx->storage, &call->error);
}

static const char *owner(const struct nsl_call *call)
{
    return call->caller.account_id;
}

/* Decodes a hex param that the schema has already checked. */
static uint8_t *hex_param(const struct nsl_call *call, const char *name, size_t *len)
{
    const char *hex = nsl_json_str(call->params, name);
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    if (out && nsl_hex_decode(hex, n, out, n / 2 + 1, len) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

/* The public view of a key: its metadata as stored (it holds no secret). */
static json_t *key_view(const json_t *meta)
{
    return json_deep_copy(meta);
}

static nsl_err store_new_key(struct nsl_call *call, struct nsl_store *st,
                             const struct nsl_secret *secret)
{
    struct nsl_neo_account acct;
    NSL_TRY(nsl_neo_account_from_key(secret, &acct, &call->error));
    uint8_t id[8];
    char id_hex[17], key_id[NSL_WALLET_KEY_ID_LEN], pub_hex[67];
    char hash[NSL_NEO_HASH160_DISPLAY_LEN];
    nsl_random_bytes(id, sizeof id);
    nsl_hex_encode(id, sizeof id, id_hex);
    snprintf(key_id, sizeof key_id, "wk_%s", id_hex);
    nsl_hex_encode(acct.pub, sizeof acct.pub, pub_hex);
    nsl_neo_hash160_display(acct.hash, hash);
    const char *label = nsl_json_str(call->params, "label");
    json_t *meta = json_pack("{s:s, s:s?, s:b, s:s, s:s, s:s, s:I, s:{}}", "keyId", key_id, "label",
                             label, "exportable", nsl_json_bool(call->params, "exportable", false),
                             "publicKey", pub_hex, "address", acct.address, "scriptHash", hash,
                             "createdAt", (json_int_t)time(NULL), "policy");
    nsl_err rc = meta ? nsl_wallet_keys_create(call->ctx->wallet, st, owner(call), meta, secret,
                                               &call->error)
                      : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK)
        call->result = key_view(meta);
    json_decref(meta);
    return rc;
}

nsl_err nsl_wallet_create(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    NSL_AUTO_SECRET struct nsl_secret *secret = NULL;
    NSL_TRY(nsl_neo_key_generate(&secret, &call->error));
    return store_new_key(call, st, secret);
}

nsl_err nsl_wallet_import(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const char *wif = nsl_json_str(call->params, "wif"), *nep2 = nsl_json_str(call->params, "nep2");
    const char *pass = nsl_json_str(call->params, "passphrase");
    if (!wif == !nep2)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "give exactly one of wif and nep2");
    if (nep2 && !pass)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.passphrase is required with nep2");
    NSL_AUTO_SECRET struct nsl_secret *secret = NULL;
    if (wif)
        NSL_TRY(nsl_neo_wif_decode(wif, &secret, &call->error));
    else if (nsl_neo_nep2_decrypt(nep2, pass, strlen(pass), NULL, &secret, &call->error) ==
             NSL_ERR_UNAUTHENTICATED)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.passphrase does not decrypt the NEP-2 key");
    if (!secret)
        return call->error.code;
    return store_new_key(call, st, secret);
}

static nsl_err load(struct nsl_call *call, struct nsl_store *st, enum nsl_wallet_need need,
                    struct nsl_wallet_key *key)
{
    return nsl_wallet_keys_load(call->ctx->wallet, st, owner(call),
                                nsl_json_str(call->params, "keyId"), need, key, &call->error);
}

nsl_err nsl_wallet_get(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    struct nsl_wallet_key key;
    if (!st)
        return call->error.code;
    NSL_TRY(load(call, st, NSL_WALLET_META, &key));
    call->result = key_view(key.meta);
    nsl_wallet_key_clear(&key);
    return NSL_OK;
}

nsl_err nsl_wallet_list(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    json_t *metas = NULL;
    bool more = false;
    NSL_TRY(nsl_wallet_keys_list(
        call->ctx->wallet, st, owner(call), nsl_json_str(call->params, "after"),
        (size_t)nsl_json_int(call->params, "limit", 100), &metas, &more, &call->error));
    call->result = json_pack("{s:o, s:b}", "keys", metas, "more", more);
    return NSL_OK;
}

nsl_err nsl_wallet_signMessage(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    struct nsl_wallet_key key;
    if (!st)
        return call->error.code;
    NSL_TRY(load(call, st, NSL_WALLET_SIGNER, &key));
    size_t len = 0;
    uint8_t *message = hex_param(call, "message", &len);
    uint8_t sig[NSL_NEO_SIG_LEN];
    nsl_err rc = message ? nsl_neo_signing_key_sign(key.signer, message, len, sig, &call->error)
                         : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        char sig_hex[2 * NSL_NEO_SIG_LEN + 1];
        nsl_hex_encode(sig, sizeof sig, sig_hex);
        call->result = json_pack("{s:s, s:O}", "signature", sig_hex, "publicKey",
                                 json_object_get(key.meta, "publicKey"));
    }
    free(message);
    nsl_wallet_key_clear(&key);
    return rc;
}

/* Accepts a full (partly signed) transaction or only its unsigned part. */
static nsl_err decode_tx(struct nsl_call *call, const uint8_t *bytes, size_t len,
                         struct nsl_neo_tx *tx)
{
    struct nsl_error full = {0};
    if (nsl_neo_tx_decode(bytes, len, tx, &full) == NSL_OK)
        return NSL_OK;
    if (nsl_neo_tx_decode_unsigned(bytes, len, tx, &call->error) == NSL_OK)
        return NSL_OK;
    /* Report the full-format problem: it is the likelier intent for a partly signed one. */
    return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.transaction: %s", full.message);
}

static json_t *signed_result(const struct nsl_neo_tx *tx, size_t slot, struct nsl_error *err)
{
    struct nsl_buf out = {0};
    uint8_t txid[NSL_NEO_TXID_LEN];
    char txid_text[NSL_NEO_HASH256_DISPLAY_LEN];
    if (nsl_neo_tx_encode(tx, &out, err) != NSL_OK || nsl_neo_tx_hash(tx, txid, err) != NSL_OK) {
        nsl_buf_free(&out);
        return NULL;
    }
    nsl_neo_hash256_display(txid, txid_text);
    const struct nsl_neo_witness *w = &tx->witnesses[slot];
    char *signed_hex = nsl_hex_encode_alloc(out.data, out.len);
    char *inv = nsl_hex_encode_alloc(w->invocation, w->invocation_len);
    char *ver = nsl_hex_encode_alloc(w->verification, w->verification_len);
    char sig[2 * NSL_NEO_SIG_LEN + 1];
    nsl_hex_encode(w->invocation + 2, NSL_NEO_SIG_LEN, sig); /* after 0c40 */
    json_t *result = signed_hex && inv && ver
                         ? json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "txid", txid_text,
                                     "signature", sig, "witness", "invocation", inv, "verification",
                                     ver, "signedTransaction", signed_hex)
                         : NULL;
    free(signed_hex);
    free(inv);
    free(ver);
    nsl_buf_free(&out);
    return result;
}

static size_t signer_slot(const struct nsl_neo_tx *tx, const struct nsl_secret *key)
{
    struct nsl_neo_account acct;
    if (nsl_neo_account_from_key(key, &acct, NULL) != NSL_OK)
        return SIZE_MAX;
    for (size_t i = 0; i < tx->nsigners; i++)
        if (memcmp(tx->signers[i].account, acct.hash, NSL_NEO_HASH160_LEN) == 0)
            return i;
    return SIZE_MAX;
}

nsl_err nsl_wallet_signTransaction(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    struct nsl_wallet_key key;
    if (!st)
        return call->error.code;
    NSL_TRY(load(call, st, NSL_WALLET_SECRET, &key));
    uint32_t network = (uint32_t)nsl_json_int(call->params, "network", 0);
    size_t len = 0;
    uint8_t *bytes = hex_param(call, "transaction", &len);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    nsl_err rc = bytes && tx ? decode_tx(call, bytes, len, tx)
                             : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    size_t slot = rc == NSL_OK ? signer_slot(tx, key.secret) : SIZE_MAX;
    if (rc == NSL_OK && slot == SIZE_MAX)
        rc = nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                      "the key's account is not a signer of this transaction");
    if (rc == NSL_OK)
        rc =
            nsl_wallet_policy_check(json_object_get(key.meta, "policy"), tx, network, &call->error);
    if (rc == NSL_OK)
        rc = nsl_neo_tx_sign(tx, network, key.secret, &call->error);
    if (rc == NSL_OK && !(call->result = signed_result(tx, slot, &call->error)))
        rc = call->error.code ? call->error.code : NSL_ERR_INTERNAL;
    free(tx);
    free(bytes);
    nsl_wallet_key_clear(&key);
    return rc;
}

nsl_err nsl_wallet_verify(struct nsl_call *call)
{
    size_t pub_len = 0, msg_len = 0, sig_len = 0;
    uint8_t *pub = hex_param(call, "publicKey", &pub_len);
    uint8_t *msg = hex_param(call, "message", &msg_len);
    uint8_t *sig = hex_param(call, "signature", &sig_len);
    nsl_err rc = NSL_OK;
    if (!pub || !msg || !sig)
        rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    else if (nsl_neo_pubkey_check(pub, pub_len) != 0)
        rc = nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                      "params.publicKey is not a compressed secp256r1 point");
    else if (sig_len != NSL_NEO_SIG_LEN)
        rc = nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.signature must be 64 bytes");
    else
        call->result = json_pack(
            "{s:b}", "valid", nsl_neo_pubkey_verify(pub, pub_len, msg, msg_len, sig, sig_len) == 0);
    free(pub);
    free(msg);
    free(sig);
    return rc;
}

nsl_err nsl_wallet_export(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    struct nsl_wallet_key key;
    if (!st)
        return call->error.code;
    NSL_TRY(load(call, st, NSL_WALLET_SECRET, &key));
    const char *pass = nsl_json_str(call->params, "passphrase");
    char nep2[NSL_NEO_NEP2_SIZE];
    nsl_err rc = NSL_OK;
    if (!nsl_json_bool(key.meta, "exportable", false))
        rc = nsl_fail(&call->error, NSL_ERR_PERMISSION_DENIED,
                      "this key was not created exportable");
    else if (strlen(pass) < 8)
        rc = nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                      "params.passphrase must be at least 8 characters");
    else
        rc = nsl_neo_nep2_encrypt(key.secret, pass, strlen(pass), NULL, nep2, &call->error);
    if (rc == NSL_OK)
        call->result =
            json_pack("{s:O, s:s}", "keyId", json_object_get(key.meta, "keyId"), "nep2", nep2);
    nsl_wallet_key_clear(&key);
    return rc;
}

nsl_err nsl_wallet_delete(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    struct nsl_wallet_key key;
    if (!st)
        return call->error.code;
    NSL_TRY(load(call, st, NSL_WALLET_META, &key));
    nsl_err rc =
        nsl_wallet_keys_delete(call->ctx->wallet, st, owner(call), nsl_json_str(key.meta, "keyId"),
                               key.meta_version, &call->error);
    if (rc == NSL_OK)
        call->result =
            json_pack("{s:O, s:b}", "keyId", json_object_get(key.meta, "keyId"), "deleted", 1);
    nsl_wallet_key_clear(&key);
    return rc;
}

nsl_err nsl_wallet_setPolicy(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    struct nsl_wallet_key key;
    if (!st)
        return call->error.code;
    NSL_TRY(load(call, st, NSL_WALLET_META, &key));
    json_t *policy = NULL;
    nsl_err rc = nsl_wallet_policy_merge(json_object_get(key.meta, "policy"), call->params, &policy,
                                         &call->error);
    if (rc == NSL_OK) {
        json_object_set_new(key.meta, "policy", policy);
        rc = nsl_wallet_keys_update(call->ctx->wallet, st, owner(call), key.meta, key.meta_version,
                                    &call->error);
    }
    if (rc == NSL_OK)
        call->result = key_view(key.meta);
    nsl_wallet_key_clear(&key);
    return rc;
}
