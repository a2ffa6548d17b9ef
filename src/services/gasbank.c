/* The gas bank service (issue 10), ledger operations: prepaid GAS balances per account in
 * datoshi, credited by operators from on-chain deposits, reserved and settled by callers, with a
 * history of every change. Each operation is one store batch (gasbank_ledger.h). Withdrawals and
 * sponsored transactions are in gasbank_tx.c, the audit in gasbank_audit.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"
#include "crypto/secret.h"
#include "services/gasbank.h"
#include "services/gasbank_amount.h"
#include "services/gasbank_ledger.h"

#define DEFAULT_TTL 300

/* ---- deposit ---- */

struct deposit {
    const char *account;
    int64_t amount;
    char tx_hash[65]; /* lowercase hex, no 0x */
};

static nsl_err parse_tx_hash(struct nsl_call *call, char out[65])
{
    const char *s = nsl_json_str(call->params, "txHash");
    if (strncmp(s, "0x", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    for (size_t i = 0; i < n && n == 64; i++)
        if (!isxdigit((unsigned char)s[i]))
            n = 0;
    if (n != 64)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.txHash must be a 32-byte transaction hash (64 hex, 0x optional)");
    for (size_t i = 0; i < 64; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[64] = 0;
    return NSL_OK;
}

/* The same txHash again returns the original entry; with another account or amount, CONFLICT. */
static nsl_err deposit_replay(struct nsl_gasbank_txn *t, const struct deposit *d, json_t *rec)
{
    json_t *entry = json_object_get(rec, "entry");
    if (strcmp(nsl_json_str(rec, "accountId") ?: "", d->account) != 0 ||
        nsl_gasbank_amount_get(entry, "amount", -1) != d->amount)
        return nsl_fail(&t->call->error, NSL_ERR_CONFLICT,
                        "txHash %s was already deposited with a different account or amount",
                        d->tx_hash);
    t->replay = true;
    t->call->result = json_pack("{s:O, s:b}", "entry", entry, "duplicate", 1);
    return NSL_OK;
}

static nsl_err deposit_apply(struct nsl_gasbank_txn *t, void *arg)
{
    const struct deposit *d = arg;
    json_t *rec = NULL;
    snprintf(t->extra_key, sizeof t->extra_key, "dep/%s", d->tx_hash);
    nsl_err rc =
        nsl_gasbank_get_json(t->st, t->extra_key, &rec, &t->extra_expected, &t->call->error);
    if (rc == NSL_OK)
        rc = deposit_replay(t, d, rec);
    json_decref(rec);
    if (rc != NSL_ERR_NOT_FOUND)
        return rc;
    if (!nsl_gasbank_amount_add(t->acct.available, d->amount, &t->acct.available) ||
        !nsl_gasbank_amount_add(t->acct.deposits, d->amount, &t->acct.deposits) ||
        t->acct.available + t->acct.reserved > NSL_GASBANK_MAX_AMOUNT)
        return nsl_fail(&t->call->error, NSL_ERR_LIMIT_EXCEEDED,
                        "the balance would exceed 2^62 datoshi");
    json_t *e = nsl_gasbank_entry_add(t, "deposit", d->amount);
    if (!e)
        return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    json_object_set_new(e, "txHash", json_string(d->tx_hash));
    t->extra = json_pack("{s:s, s:O}", "accountId", d->account, "entry", e);
    t->call->result = json_pack("{s:O, s:b}", "entry", e, "duplicate", 0);
    return NSL_OK;
}

nsl_err nsl_gasbank_deposit(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    struct deposit d;
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_gasbank_amount_parse(nsl_json_str(call->params, "amount"), "amount", 1, &d.amount,
                                     &call->error));
    NSL_TRY(parse_tx_hash(call, d.tx_hash));
    if (!nsl_json_str(call->params, "accountId"))
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.accountId is required");
    NSL_TRY(nsl_gasbank_target(call, st, &d.account));
    return nsl_gasbank_ledger_run(call, st, d.account, deposit_apply, &d);
}

/* ---- balance ---- */

static nsl_err balance_apply(struct nsl_gasbank_txn *t, void *arg)
{
    (void)arg;
    t->call->result = nsl_gasbank_account_view(&t->acct);
    return t->call->result ? NSL_OK : nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_gasbank_balance(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    const char *account;
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_gasbank_target(call, st, &account));
    /* Through the ledger so that expired reservations are released (and recorded) first. */
    return nsl_gasbank_ledger_run(call, st, account, balance_apply, NULL);
}

/* ---- reserve ---- */

struct reserve {
    int64_t amount, ttl;
    const char *reference;
};

static nsl_err reserve_apply(struct nsl_gasbank_txn *t, void *arg)
{
    const struct reserve *r = arg;
    if (json_object_size(t->acct.reservations) >= NSL_GASBANK_MAX_RESERVATIONS)
        return nsl_fail(&t->call->error, NSL_ERR_LIMIT_EXCEEDED,
                        "an account holds at most %d open reservations",
                        NSL_GASBANK_MAX_RESERVATIONS);
    if (!nsl_gasbank_amount_sub(t->acct.available, r->amount, &t->acct.available))
        return nsl_fail(&t->call->error, NSL_ERR_INSUFFICIENT_FUNDS,
                        "available balance is below the amount to reserve");
    t->acct.reserved += r->amount; /* available + reserved is unchanged, so within 2^62 */
    uint8_t raw[8];
    char hex[17], id[24];
    nsl_random_bytes(raw, sizeof raw);
    nsl_hex_encode(raw, sizeof raw, hex);
    snprintf(id, sizeof id, "res_%s", hex);
    int64_t expires = t->now + r->ttl;
    json_t *e = nsl_gasbank_entry_add(t, "reserve", r->amount);
    json_t *res = json_pack("{s:I, s:I, s:s}", "amount", (json_int_t)r->amount, "expiresAt",
                            (json_int_t)expires, "reference", r->reference);
    if (!e || !res || json_object_set_new(t->acct.reservations, id, res) != 0)
        return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    json_object_set_new(e, "reservationId", json_string(id));
    json_object_set_new(e, "reference", json_string(r->reference));
    t->call->result =
        json_pack("{s:s, s:o, s:I}", "reservationId", id, "amount",
                  nsl_gasbank_amount_json(r->amount), "expiresAt", (json_int_t)expires);
    return NSL_OK;
}

nsl_err nsl_gasbank_reserve(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    struct reserve r = {.reference = nsl_json_str(call->params, "reference")};
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_gasbank_amount_parse(nsl_json_str(call->params, "amount"), "amount", 1, &r.amount,
                                     &call->error));
    r.ttl = nsl_json_int(call->params, "ttlSec", DEFAULT_TTL);
    return nsl_gasbank_ledger_run(call, st, call->caller.account_id, reserve_apply, &r);
}

/* ---- settle and release ---- */

struct close_args {
    const char *id;
    int64_t charge; /* -1: release all */
};

static nsl_err close_apply(struct nsl_gasbank_txn *t, void *arg)
{
    const struct close_args *c = arg;
    json_t *res = json_object_get(t->acct.reservations, c->id);
    if (!res)
        return nsl_fail(&t->call->error, NSL_ERR_NOT_FOUND,
                        "no open reservation %s (settled, released or expired)", c->id);
    int64_t held = (int64_t)json_integer_value(json_object_get(res, "amount"));
    int64_t charge = c->charge < 0 ? 0 : c->charge, released = held - charge;
    if (charge > held)
        return nsl_fail(&t->call->error, NSL_ERR_INVALID_PARAMS,
                        "params.amount is more than the reservation holds");
    if (!nsl_gasbank_amount_sub(t->acct.reserved, held, &t->acct.reserved) ||
        !nsl_gasbank_amount_add(t->acct.available, released, &t->acct.available) ||
        !nsl_gasbank_amount_add(t->acct.charges, charge, &t->acct.charges))
        return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "gas bank record is inconsistent");
    json_t *e = nsl_gasbank_entry_add(t, c->charge < 0 ? "release" : "settle",
                                      c->charge < 0 ? released : charge);
    if (!e)
        return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    json_object_set_new(e, "reservationId", json_string(c->id));
    if (c->charge >= 0)
        json_object_set_new(e, "released", nsl_gasbank_amount_json(released));
    json_object_del(t->acct.reservations, c->id);
    t->call->result =
        json_pack("{s:s, s:o, s:o}", "reservationId", c->id, "charged",
                  nsl_gasbank_amount_json(charge), "released", nsl_gasbank_amount_json(released));
    return NSL_OK;
}

nsl_err nsl_gasbank_settle(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    struct close_args c = {.id = nsl_json_str(call->params, "reservationId")};
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_gasbank_amount_parse(nsl_json_str(call->params, "amount"), "amount", 0, &c.charge,
                                     &call->error));
    return nsl_gasbank_ledger_run(call, st, call->caller.account_id, close_apply, &c);
}

nsl_err nsl_gasbank_release(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    struct close_args c = {.id = nsl_json_str(call->params, "reservationId"), .charge = -1};
    if (!st)
        return call->error.code;
    return nsl_gasbank_ledger_run(call, st, call->caller.account_id, close_apply, &c);
}

/* ---- history ---- */

nsl_err nsl_gasbank_history(struct nsl_call *call)
{
    struct nsl_store *st = nsl_gasbank_store(call);
    const char *account;
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_gasbank_target(call, st, &account));
    char prefix[NSL_GASBANK_KEY_LEN], after[NSL_GASBANK_KEY_LEN];
    const char *cursor = nsl_json_str(call->params, "cursor");
    snprintf(prefix, sizeof prefix, "entry/%s/", account);
    int64_t seq = -1;
    if (cursor && nsl_gasbank_amount_parse(cursor, "cursor", 1, &seq, &call->error) != NSL_OK)
        return NSL_ERR_INVALID_PARAMS;
    if (cursor)
        nsl_gasbank_entry_key(account, seq, after);
    struct nsl_store_page page;
    NSL_TRY(nsl_store_list(st, NSL_GASBANK_NS, prefix, cursor ? after : NULL,
                           (size_t)nsl_json_int(call->params, "limit", 50), &page, &call->error));
    json_t *entries = json_array();
    for (size_t i = 0; i < page.count; i++) {
        json_t *e =
            nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                  nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
        if (e)
            json_array_append_new(entries, e);
    }
    char next[NSL_GASBANK_AMOUNT_LEN] = "";
    if (page.more && page.count == (size_t)nsl_json_int(call->params, "limit", 50))
        nsl_gasbank_amount_format(nsl_gasbank_entry_seq(page.items[page.count - 1].key), next);
    call->result = json_pack("{s:s, s:o}", "accountId", account, "entries", entries);
    if (next[0]) /* absent on the last page */
        json_object_set_new(call->result, "cursor", json_string(next));
    nsl_store_page_free(&page);
    return NSL_OK;
}
