/* The gas bank's on-chain side (issue 10): the bank's hot-wallet address, withdrawals (a NEP-17
 * GAS transfer from the bank's account, signed in the enclave) and sponsored transactions (the
 * bank co-signs a user's transaction as its first, fee-paying signer with scope None, and the
 * fees are charged to the caller's balance). Each charge is one ledger batch with its
 * idempotency record (gasbank_ledger.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"
#include "neo/nep17.h"
#include "neo/tx_witness.h"
#include "services/gasbank.h"
#include "services/gasbank_amount.h"
#include "services/gasbank_ledger.h"

#define WITHDRAW_SYSTEM_FEE  997780  /* a GAS transfer's usual system fee, datoshi */
#define WITHDRAW_NETWORK_FEE 1228520 /* a single-sig witness plus the transaction's size */
#define DEFAULT_VALID_BLOCKS 5760    /* MaxValidUntilBlockIncrement on MainNet */

nsl_err nsl_gasbank_bankAddress(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    struct nsl_secret *key = NULL;
    struct nsl_neo_account acct;
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_gasbank_bank_key(st, &key, &acct, &call->error));
    nsl_secret_free(key);
    char pub[2 * NSL_NEO_PUBKEY_LEN + 1], hash[NSL_NEO_HASH160_DISPLAY_LEN];
    nsl_hex_encode(acct.pub, sizeof acct.pub, pub);
    nsl_neo_hash160_display(acct.hash, hash);
    call->result =
        json_pack("{s:s, s:s, s:s}", "address", acct.address, "publicKey", pub, "scriptHash", hash);
    return NSL_OK;
}

/* Signs tx with the bank's key for network and puts txid and signedTransaction into result. */
static nsl_err sign_into(struct nsl_neo_tx *tx, uint32_t network, const struct nsl_secret *key,
                         json_t *result, struct nsl_error *err)
{
    struct nsl_buf out = {0};
    uint8_t txid[NSL_NEO_TXID_LEN];
    char txid_text[NSL_NEO_HASH256_DISPLAY_LEN];
    nsl_err rc = nsl_neo_tx_sign(tx, network, key, err);
    if (rc == NSL_OK)
        rc = nsl_neo_tx_encode(tx, &out, err);
    if (rc == NSL_OK)
        rc = nsl_neo_tx_hash(tx, txid, err);
    char *hex = rc == NSL_OK ? nsl_hex_encode_alloc(out.data, out.len) : NULL;
    if (rc == NSL_OK && !hex)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        nsl_neo_hash256_display(txid, txid_text);
        json_object_set_new(result, "txid", json_string(txid_text));
        json_object_set_new(result, "signedTransaction", json_string(hex));
    }
    free(hex);
    nsl_buf_free(&out);
    return rc;
}

/* ---- withdraw ---- */

struct withdraw {
    int64_t amount, fee;
    const char *to_address;
    uint8_t to[NSL_NEO_HASH160_LEN];
    uint32_t network, valid_until;
    const char *key_name;
    struct nsl_secret *bank;
    struct nsl_neo_account bank_acct;
};

/* The transfer bank -> to of amount, signed by the bank. */
static nsl_err withdraw_tx(struct nsl_gasbank_txn *t, const struct withdraw *w, json_t *result)
{
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    struct nsl_buf script = {0};
    nsl_err rc = tx ? nsl_neo_nep17_transfer(nsl_neo_gas_hash, w->bank_acct.hash, w->to, w->amount,
                                             &script, &t->call->error)
                    : nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        nsl_random_bytes(&tx->nonce, sizeof tx->nonce);
        tx->system_fee = WITHDRAW_SYSTEM_FEE;
        tx->network_fee = WITHDRAW_NETWORK_FEE;
        tx->valid_until_block = w->valid_until;
        tx->nsigners = 1;
        memcpy(tx->signers[0].account, w->bank_acct.hash, NSL_NEO_HASH160_LEN);
        tx->signers[0].scopes = NSL_NEO_SCOPE_CALLED_BY_ENTRY;
        tx->script = script.data;
        tx->script_len = script.len;
        rc = sign_into(tx, w->network, w->bank, result, &t->call->error);
    }
    nsl_buf_free(&script);
    free(tx);
    return rc;
}

static nsl_err withdraw_replay(struct nsl_gasbank_txn *t, const struct withdraw *w, json_t *rec)
{
    if (nsl_gasbank_amount_get(rec, "amount", -1) != w->amount ||
        strcmp(nsl_json_str(rec, "toAddress") ?: "", w->to_address) != 0 ||
        nsl_json_int(rec, "network", -1) != (json_int_t)w->network)
        return nsl_fail(&t->call->error, NSL_ERR_CONFLICT,
                        "idempotencyKey %s was used for a different withdrawal", w->key_name);
    t->replay = true;
    t->call->result = json_deep_copy(json_object_get(rec, "result"));
    json_object_set_new(t->call->result, "duplicate", json_true());
    return NSL_OK;
}

static nsl_err withdraw_apply(struct nsl_gasbank_txn *t, void *arg)
{
    const struct withdraw *w = arg;
    json_t *rec = NULL;
    snprintf(t->extra_key, sizeof t->extra_key, "wd/%s/%s", t->account_id, w->key_name);
    nsl_err rc =
        nsl_gasbank_get_json(t->st, t->extra_key, &rec, &t->extra_expected, &t->call->error);
    if (rc == NSL_OK)
        rc = withdraw_replay(t, w, rec);
    json_decref(rec);
    if (rc != NSL_ERR_NOT_FOUND)
        return rc;
    int64_t total;
    if (!nsl_gasbank_amount_add(w->amount, w->fee, &total) ||
        !nsl_gasbank_amount_sub(t->acct.available, total, &t->acct.available))
        return nsl_fail(&t->call->error, NSL_ERR_INSUFFICIENT_FUNDS,
                        "available balance is below amount + fee (%d datoshi)",
                        WITHDRAW_SYSTEM_FEE + WITHDRAW_NETWORK_FEE);
    t->acct.withdrawals += w->amount; /* both bounded by deposits, themselves <= 2^62 */
    t->acct.charges += w->fee;
    json_t *result = json_pack("{s:o, s:o, s:s}", "amount", nsl_gasbank_amount_json(w->amount),
                               "fee", nsl_gasbank_amount_json(w->fee), "toAddress", w->to_address);
    json_t *e = nsl_gasbank_entry_add(t, "withdraw", w->amount);
    rc = result && e ? withdraw_tx(t, w, result)
                     : nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        json_object_set_new(e, "fee", nsl_gasbank_amount_json(w->fee));
        json_object_set(e, "txid", json_object_get(result, "txid"));
        json_object_set_new(e, "toAddress", json_string(w->to_address));
        t->extra = json_pack("{s:O, s:s, s:I, s:O}", "amount", json_object_get(result, "amount"),
                             "toAddress", w->to_address, "network", (json_int_t)w->network,
                             "result", result);
        t->call->result = json_incref(result);
        json_object_set_new(t->call->result, "duplicate", json_false());
    }
    json_decref(result);
    return rc;
}

static bool key_name_valid(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

nsl_err nsl_gasbank_withdraw(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    struct withdraw w = {.fee = WITHDRAW_SYSTEM_FEE + WITHDRAW_NETWORK_FEE};
    if (!st)
        return call->error.code;
    w.to_address = nsl_json_str(call->params, "toAddress");
    w.key_name = nsl_json_str(call->params, "idempotencyKey");
    w.network = (uint32_t)nsl_json_int(call->params, "network", 0);
    w.valid_until = (uint32_t)nsl_json_int(call->params, "validUntilBlock", DEFAULT_VALID_BLOCKS);
    NSL_TRY(nsl_gasbank_amount_parse(nsl_json_str(call->params, "amount"), "amount", 1, &w.amount,
                                     &call->error));
    if (!key_name_valid(w.key_name) || !w.key_name[0])
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.idempotencyKey must match [A-Za-z0-9_.-]{1,64}");
    if (nsl_neo_address_to_hash(w.to_address, w.to, &call->error) != NSL_OK)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.toAddress: %s",
                        call->error.message);
    NSL_TRY(nsl_gasbank_bank_key(st, &w.bank, &w.bank_acct, &call->error));
    nsl_err rc = nsl_gasbank_ledger_run(call, st, call->caller.account_id, withdraw_apply, &w);
    nsl_secret_free(w.bank);
    return rc;
}

/* ---- sponsorTransaction ---- */

struct sponsor {
    struct nsl_neo_tx *tx;
    uint32_t network;
    int64_t fees;
    char txid_hex[2 * NSL_NEO_TXID_LEN + 1];
    struct nsl_secret *bank;
};

static nsl_err sponsor_apply(struct nsl_gasbank_txn *t, void *arg)
{
    struct sponsor *s = arg;
    json_t *rec = NULL;
    snprintf(t->extra_key, sizeof t->extra_key, "sp/%s/%s", t->account_id, s->txid_hex);
    nsl_err rc =
        nsl_gasbank_get_json(t->st, t->extra_key, &rec, &t->extra_expected, &t->call->error);
    t->replay = rc == NSL_OK; /* charged once already: only sign again */
    json_decref(rec);
    if (rc != NSL_OK && rc != NSL_ERR_NOT_FOUND)
        return rc;
    if (!t->replay && !nsl_gasbank_amount_sub(t->acct.available, s->fees, &t->acct.available))
        return nsl_fail(&t->call->error, NSL_ERR_INSUFFICIENT_FUNDS,
                        "available balance is below systemFee + networkFee");
    t->call->result = json_pack("{s:o, s:b}", "charged", nsl_gasbank_amount_json(s->fees),
                                "duplicate", t->replay);
    if (!t->call->result)
        return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    NSL_TRY(sign_into(s->tx, s->network, s->bank, t->call->result, &t->call->error));
    if (t->replay)
        return NSL_OK;
    t->acct.charges += s->fees;
    json_t *e = nsl_gasbank_entry_add(t, "sponsor", s->fees);
    if (!e)
        return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    json_object_set(e, "txid", json_object_get(t->call->result, "txid"));
    t->extra = json_pack("{s:O, s:I}", "entry", e, "network", (json_int_t)s->network);
    return t->extra ? NSL_OK : nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
}

/* The rule that makes sponsoring safe: the bank pays the fees as first signer (the sender) and,
 * with scope None, its witness is good for nothing else in the transaction. */
static nsl_err sponsor_check(struct nsl_call *call, struct sponsor *s,
                             const struct nsl_neo_account *bank)
{
    const struct nsl_neo_tx *tx = s->tx;
    if (tx->nsigners == 0 || memcmp(tx->signers[0].account, bank->hash, NSL_NEO_HASH160_LEN) != 0 ||
        tx->signers[0].scopes != NSL_NEO_SCOPE_NONE)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.transaction: the first signer must be the gas bank's account %s "
                        "with scope None (0x00)",
                        bank->address);
    if (!nsl_gasbank_amount_add(tx->system_fee, tx->network_fee, &s->fees))
        return nsl_fail(&call->error, NSL_ERR_LIMIT_EXCEEDED,
                        "systemFee + networkFee is above 2^62 datoshi");
    const char *max = nsl_json_str(call->params, "maxFee");
    int64_t limit;
    if (max)
        NSL_TRY(nsl_gasbank_amount_parse(max, "maxFee", 0, &limit, &call->error));
    if (max && s->fees > limit)
        return nsl_fail(&call->error, NSL_ERR_PERMISSION_DENIED,
                        "maxFee: systemFee + networkFee = %lld exceeds %lld", (long long)s->fees,
                        (long long)limit);
    uint8_t txid[NSL_NEO_TXID_LEN];
    NSL_TRY(nsl_neo_tx_hash(tx, txid, &call->error));
    nsl_hex_encode(txid, sizeof txid, s->txid_hex);
    return NSL_OK;
}

static nsl_err decode_param(struct nsl_call *call, uint8_t **bytes, struct nsl_neo_tx **tx)
{
    const char *hex = nsl_json_str(call->params, "transaction");
    size_t n = strlen(hex), len = 0;
    struct nsl_error full = {0};
    *bytes = malloc(n / 2 + 1);
    *tx = calloc(1, sizeof **tx);
    if (!*bytes || !*tx)
        return nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (nsl_hex_decode(hex, n, *bytes, n / 2 + 1, &len) != 0)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.transaction is not hex");
    if (nsl_neo_tx_decode(*bytes, len, *tx, &full) == NSL_OK ||
        nsl_neo_tx_decode_unsigned(*bytes, len, *tx, &call->error) == NSL_OK)
        return NSL_OK;
    return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.transaction: %s", full.message);
}

nsl_err nsl_gasbank_sponsorTransaction(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    struct sponsor s = {.network = (uint32_t)nsl_json_int(call->params, "network", 0)};
    struct nsl_neo_account bank;
    uint8_t *bytes = NULL;
    if (!st)
        return call->error.code;
    nsl_err rc = decode_param(call, &bytes, &s.tx);
    if (rc == NSL_OK)
        rc = nsl_gasbank_bank_key(st, &s.bank, &bank, &call->error);
    if (rc == NSL_OK)
        rc = sponsor_check(call, &s, &bank);
    if (rc == NSL_OK)
        rc = nsl_gasbank_ledger_run(call, st, call->caller.account_id, sponsor_apply, &s);
    nsl_secret_free(s.bank);
    free(s.tx);
    free(bytes);
    return rc;
}
