/* gasbank.audit (admin): releases expired reservations, then replays every account's history
 * and checks the ledger's invariants (docs/gasbank.md): no balance or reservation negative; each
 * balance record equals the replay of its entries (which are numbered 1..seq without a gap);
 * reserved = the sum of open reservations; per account and in total,
 * available + reserved = deposits - withdrawals - charges; every deposit's idempotency record
 * names an entry that exists. O(records), which is fine for an admin operation. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "services/gasbank.h"
#include "services/gasbank_amount.h"
#include "services/gasbank_ledger.h"

#define MAX_PROBLEMS 20

/* Sums replayed from entries; fields as in the balance record. */
struct replay {
    int64_t available, reserved, deposits, withdrawals, charges, count;
    bool gap, overflow;
};

struct audit {
    struct nsl_call *call;
    struct nsl_store *st;
    struct replay totals;
    int64_t accounts, expired;
    json_t *problems;
};

static void problem(struct audit *a, const char *account, const char *what)
{
    if (json_array_size(a->problems) < MAX_PROBLEMS)
        json_array_append_new(a->problems,
                              json_pack("{s:s, s:s}", "accountId", account, "problem", what));
    else if (json_array_size(a->problems) == MAX_PROBLEMS)
        json_array_append_new(a->problems, json_pack("{s:s}", "problem", "more problems omitted"));
}

static void add(int64_t *sum, int64_t v, bool *overflow)
{
    if (__builtin_add_overflow(*sum, v, sum))
        *overflow = true;
}

static void replay_entry(struct replay *r, const json_t *e)
{
    const char *type = nsl_json_str(e, "type") ?: "";
    int64_t amount = nsl_gasbank_amount_get(e, "amount", 0);
    int64_t released = nsl_gasbank_amount_get(e, "released", 0);
    int64_t fee = nsl_gasbank_amount_get(e, "fee", 0);
    bool *o = &r->overflow;
    if (strcmp(type, "deposit") == 0) {
        add(&r->available, amount, o);
        add(&r->deposits, amount, o);
    } else if (strcmp(type, "reserve") == 0) {
        add(&r->available, -amount, o);
        add(&r->reserved, amount, o);
    } else if (strcmp(type, "settle") == 0) {
        add(&r->reserved, -(amount + released), o);
        add(&r->available, released, o);
        add(&r->charges, amount, o);
    } else if (strcmp(type, "release") == 0 || strcmp(type, "expire") == 0) {
        add(&r->reserved, -amount, o);
        add(&r->available, amount, o);
    } else if (strcmp(type, "withdraw") == 0) {
        add(&r->available, -(amount + fee), o);
        add(&r->withdrawals, amount, o);
        add(&r->charges, fee, o);
    } else if (strcmp(type, "sponsor") == 0) {
        add(&r->available, -amount, o);
        add(&r->charges, amount, o);
    } else {
        r->gap = true; /* an unknown entry type breaks the replay like a missing entry */
    }
}

/* Replays account's entries (newest first in the store) into r. */
static nsl_err replay_account(struct audit *a, const char *account, struct replay *r)
{
    char prefix[NSL_GASBANK_KEY_LEN], after[NSL_GASBANK_KEY_LEN] = "";
    snprintf(prefix, sizeof prefix, "entry/%s/", account);
    int64_t expect = -1;
    for (bool more = true; more;) {
        struct nsl_store_page page;
        NSL_TRY(nsl_store_list(a->st, NSL_GASBANK_NS, prefix, after[0] ? after : NULL,
                               NSL_STORE_LIST_MAX, &page, &a->call->error));
        for (size_t i = 0; i < page.count; i++) {
            json_t *e =
                nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                      nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
            int64_t seq = nsl_gasbank_entry_seq(page.items[i].key);
            if (!e || nsl_json_int(e, "seq", -1) != seq || (expect >= 0 && seq != expect))
                r->gap = true;
            expect = seq - 1;
            if (e)
                replay_entry(r, e);
            r->count++;
            json_decref(e);
        }
        more = page.more && page.count > 0;
        if (more)
            snprintf(after, sizeof after, "%s", page.items[page.count - 1].key);
        nsl_store_page_free(&page);
    }
    if (r->count > 0 && expect != 0)
        r->gap = true; /* the oldest entry must be seq 1 */
    return NSL_OK;
}

static int64_t reservations_sum(const json_t *res, bool *negative)
{
    int64_t sum = 0;
    const char *id;
    json_t *v;
    json_object_foreach((json_t *)res, id, v)
    {
        int64_t amount = (int64_t)json_integer_value(json_object_get(v, "amount"));
        *negative |= amount < 0;
        sum += amount;
    }
    return sum;
}

static void check_account(struct audit *a, const char *account, const json_t *rec)
{
    struct nsl_gasbank_account acct;
    struct replay r = {0};
    if (nsl_gasbank_account_parse(rec, &acct) != NSL_OK ||
        replay_account(a, account, &r) != NSL_OK) {
        problem(a, account, "could not read the account's records");
        nsl_gasbank_account_clear(&acct);
        return;
    }
    bool negative = acct.available < 0 || acct.reserved < 0;
    int64_t held = reservations_sum(acct.reservations, &negative);
    if (negative)
        problem(a, account, "a balance or reservation is negative");
    if (held != acct.reserved)
        problem(a, account, "reserved differs from the sum of open reservations");
    if (r.gap || r.overflow || r.count != acct.seq)
        problem(a, account, "the history is not entries 1..seq without a gap");
    if (r.available != acct.available || r.reserved != acct.reserved ||
        r.deposits != acct.deposits || r.withdrawals != acct.withdrawals ||
        r.charges != acct.charges)
        problem(a, account, "the balance record differs from the replay of its history");
    if (acct.available + acct.reserved != acct.deposits - acct.withdrawals - acct.charges)
        problem(a, account, "available + reserved != deposits - withdrawals - charges");
    struct replay *t = &a->totals;
    add(&t->available, acct.available, &t->overflow);
    add(&t->reserved, acct.reserved, &t->overflow);
    add(&t->deposits, r.deposits, &t->overflow);
    add(&t->withdrawals, r.withdrawals, &t->overflow);
    add(&t->charges, r.charges, &t->overflow);
    add(&t->count, r.count, &t->overflow);
    a->accounts++;
    nsl_gasbank_account_clear(&acct);
}

/* Calls fn on every record under prefix. */
static nsl_err for_each(struct audit *a, const char *prefix,
                        void (*fn)(struct audit *a, const char *key, const json_t *rec))
{
    char after[NSL_GASBANK_KEY_LEN] = "";
    for (bool more = true; more;) {
        struct nsl_store_page page;
        NSL_TRY(nsl_store_list(a->st, NSL_GASBANK_NS, prefix, after[0] ? after : NULL,
                               NSL_STORE_LIST_MAX, &page, &a->call->error));
        for (size_t i = 0; i < page.count; i++) {
            json_t *rec =
                nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                      nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
            if (rec)
                fn(a, page.items[i].key, rec);
            else
                problem(a, page.items[i].key, "record is not JSON");
            json_decref(rec);
        }
        more = page.more && page.count > 0;
        if (more)
            snprintf(after, sizeof after, "%s", page.items[page.count - 1].key);
        nsl_store_page_free(&page);
    }
    return NSL_OK;
}

static nsl_err noop_apply(struct nsl_gasbank_txn *t, void *arg)
{
    (void)t;
    (void)arg;
    return NSL_OK;
}

static void sweep_one(struct audit *a, const char *key, const json_t *rec)
{
    const char *id;
    json_t *v;
    int64_t now = (int64_t)time(NULL);
    bool due = false;
    json_object_foreach(json_object_get(rec, "reservations"), id, v) due |=
        json_integer_value(json_object_get(v, "expiresAt")) <= now;
    if (!due)
        return;
    if (nsl_gasbank_ledger_run(a->call, a->st, key + strlen("acct/"), noop_apply, NULL) == NSL_OK)
        a->expired++;
    else
        problem(a, key + strlen("acct/"), "could not release expired reservations");
}

static void check_one(struct audit *a, const char *key, const json_t *rec)
{
    check_account(a, key + strlen("acct/"), rec);
}

static void check_deposit(struct audit *a, const char *key, const json_t *rec)
{
    const char *account = nsl_json_str(rec, "accountId") ?: "";
    char entry_key[NSL_GASBANK_KEY_LEN];
    json_t *entry = NULL;
    uint64_t version;
    nsl_gasbank_entry_key(account, nsl_json_int(json_object_get(rec, "entry"), "seq", 0),
                          entry_key);
    if (nsl_gasbank_get_json(a->st, entry_key, &entry, &version, NULL) != NSL_OK ||
        !json_equal(entry, json_object_get(rec, "entry")))
        problem(a, account, key); /* names the deposit whose entry is missing */
    json_decref(entry);
}

static json_t *totals_view(const struct replay *t)
{
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o}", "available", nsl_gasbank_amount_json(t->available), "reserved",
        nsl_gasbank_amount_json(t->reserved), "deposits", nsl_gasbank_amount_json(t->deposits),
        "withdrawals", nsl_gasbank_amount_json(t->withdrawals), "charges",
        nsl_gasbank_amount_json(t->charges));
}

nsl_err nsl_gasbank_audit(struct nsl_call *call)
{
    struct audit a = {.call = call, .st = nsl_gasbank_store(call), .problems = json_array()};
    nsl_err rc = a.st && a.problems ? NSL_OK : call->error.code ?: NSL_ERR_INTERNAL;
    if (rc == NSL_OK)
        rc = for_each(&a, "acct/", sweep_one);
    if (rc == NSL_OK)
        rc = for_each(&a, "acct/", check_one);
    if (rc == NSL_OK)
        rc = for_each(&a, "dep/", check_deposit);
    const struct replay *t = &a.totals;
    if (rc == NSL_OK &&
        (t->overflow || t->available + t->reserved != t->deposits - t->withdrawals - t->charges))
        problem(&a, "*", "total available + reserved != deposits - withdrawals - charges");
    if (rc == NSL_OK)
        call->result = json_pack(
            "{s:b, s:I, s:I, s:I, s:o, s:O}", "ok", json_array_size(a.problems) == 0, "accounts",
            (json_int_t)a.accounts, "entries", (json_int_t)t->count, "expiredReleased",
            (json_int_t)a.expired, "totals", totals_view(t), "problems", a.problems);
    json_decref(a.problems);
    return rc;
}
