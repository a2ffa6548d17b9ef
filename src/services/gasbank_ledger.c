/* The gas bank's balance records, history entries and the one-batch ledger operation (see
 * gasbank_ledger.h). */
#include "services/gasbank_ledger.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "crypto/secret.h"
#include "services/gasbank_amount.h"

#define MAX_ATTEMPTS 40
#define STRIPES      256

/* Ledger operations on one account are serialized inside this enclave, so racing clients queue
 * instead of burning CAS attempts; the CAS still guards against other enclaves sharing the store.
 */
static pthread_mutex_t stripes[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *stripe_of(const char *account)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)account; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &stripes[h % STRIPES];
}
#define SEQ_TOP INT64_C(9999999999999999)

void nsl_gasbank_entry_key(const char *account, int64_t seq, char out[NSL_GASBANK_KEY_LEN])
{
    snprintf(out, NSL_GASBANK_KEY_LEN, "entry/%s/%016" PRId64, account, SEQ_TOP - seq);
}

int64_t nsl_gasbank_entry_seq(const char *key)
{
    const char *slash = strrchr(key, '/');
    if (!slash || strlen(slash + 1) != 16)
        return -1;
    return SEQ_TOP - strtoll(slash + 1, NULL, 10);
}

static int64_t int_field(const json_t *rec, const char *name)
{
    json_t *v = json_object_get(rec, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

nsl_err nsl_gasbank_account_parse(const json_t *rec, struct nsl_gasbank_account *out)
{
    memset(out, 0, sizeof *out);
    out->available = int_field(rec, "available");
    out->reserved = int_field(rec, "reserved");
    out->deposits = int_field(rec, "deposits");
    out->withdrawals = int_field(rec, "withdrawals");
    out->charges = int_field(rec, "charges");
    out->seq = int_field(rec, "seq");
    json_t *res = json_object_get(rec, "reservations");
    out->reservations = json_is_object(res) ? json_deep_copy(res) : json_object();
    return out->reservations ? NSL_OK : NSL_ERR_INTERNAL;
}

void nsl_gasbank_account_clear(struct nsl_gasbank_account *a)
{
    json_decref(a->reservations);
    memset(a, 0, sizeof *a);
}

static json_t *account_record(const struct nsl_gasbank_account *a)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:O}", "available", (json_int_t)a->available,
                     "reserved", (json_int_t)a->reserved, "deposits", (json_int_t)a->deposits,
                     "withdrawals", (json_int_t)a->withdrawals, "charges", (json_int_t)a->charges,
                     "seq", (json_int_t)a->seq, "reservations", a->reservations);
}

json_t *nsl_gasbank_account_view(const struct nsl_gasbank_account *a)
{
    return json_pack("{s:o, s:o, s:o}", "available", nsl_gasbank_amount_json(a->available),
                     "reserved", nsl_gasbank_amount_json(a->reserved), "total",
                     nsl_gasbank_amount_json(a->available + a->reserved));
}

nsl_err nsl_gasbank_get_json(struct nsl_store *st, const char *key, json_t **out, uint64_t *version,
                             struct nsl_error *err)
{
    struct nsl_secret *bytes = NULL;
    *out = NULL;
    nsl_err rc = nsl_store_get(st, NSL_GASBANK_NS, key, &bytes, version, err);
    if (rc != NSL_OK)
        return rc;
    *out = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes), nsl_secret_len(bytes),
                                 NSL_ERR_INTERNAL, err);
    nsl_secret_free(bytes);
    return *out ? NSL_OK : NSL_ERR_INTERNAL;
}

json_t *nsl_gasbank_entry_add(struct nsl_gasbank_txn *t, const char *type, int64_t amount)
{
    json_t *e =
        json_pack("{s:I, s:s, s:o, s:I}", "seq", (json_int_t)(t->acct.seq + 1), "type", type,
                  "amount", nsl_gasbank_amount_json(amount), "at", (json_int_t)t->now);
    if (!e || json_array_append_new(t->entries, e) != 0)
        return NULL;
    t->acct.seq++;
    return e;
}

/* Releases every reservation whose time is up, each with an "expire" entry. */
static nsl_err expire_reservations(struct nsl_gasbank_txn *t)
{
    const char *id;
    json_t *r, *tmp;
    json_object_foreach_safe(t->acct.reservations, tmp, id, r)
    {
        if (int_field(r, "expiresAt") > t->now)
            continue;
        int64_t amount = int_field(r, "amount");
        json_t *e = nsl_gasbank_entry_add(t, "expire", amount);
        if (!e || !nsl_gasbank_amount_sub(t->acct.reserved, amount, &t->acct.reserved) ||
            !nsl_gasbank_amount_add(t->acct.available, amount, &t->acct.available))
            return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "gas bank record is inconsistent");
        json_object_set_new(e, "reservationId", json_string(id));
        json_object_del(t->acct.reservations, id);
    }
    return NSL_OK;
}

static nsl_err begin(struct nsl_gasbank_txn *t)
{
    char key[NSL_GASBANK_KEY_LEN];
    json_t *rec = NULL;
    snprintf(key, sizeof key, "acct/%s", t->account_id);
    nsl_err rc = nsl_gasbank_get_json(t->st, key, &rec, &t->version, &t->call->error);
    if (rc != NSL_OK && rc != NSL_ERR_NOT_FOUND)
        return rc;
    t->call->error.code = NSL_OK;
    rc = nsl_gasbank_account_parse(rec, &t->acct);
    json_decref(rec);
    t->entries = json_array();
    t->now = (int64_t)time(NULL);
    if (rc != NSL_OK || !t->entries)
        return nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    return expire_reservations(t);
}

static void end(struct nsl_gasbank_txn *t)
{
    nsl_gasbank_account_clear(&t->acct);
    json_decref(t->entries);
    json_decref(t->extra);
    t->entries = t->extra = NULL;
}

/* Adds one PUT to the batch; the text is kept in texts[] for freeing. */
static void add_put(struct nsl_store_write *w, char **texts, char (*keys)[NSL_GASBANK_KEY_LEN],
                    size_t *n, const char *key, uint64_t expected, const json_t *value)
{
    size_t len = 0;
    snprintf(keys[*n], NSL_GASBANK_KEY_LEN, "%s", key);
    texts[*n] = nsl_json_dump(value, &len);
    w[*n] =
        (struct nsl_store_write){NSL_STORE_PUT, NSL_GASBANK_NS, keys[*n], expected, texts[*n], len};
    (*n)++;
}

static nsl_err commit(struct nsl_gasbank_txn *t)
{
    size_t cap = json_array_size(t->entries) + 2, n = 0;
    struct nsl_store_write *w = calloc(cap, sizeof *w);
    char **texts = calloc(cap, sizeof *texts);
    char(*keys)[NSL_GASBANK_KEY_LEN] = calloc(cap, sizeof *keys);
    uint64_t *versions = calloc(cap, sizeof *versions);
    json_t *rec = account_record(&t->acct);
    nsl_err rc = w && texts && keys && versions && rec && cap <= NSL_STORE_MAX_BATCH
                     ? NSL_OK
                     : nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        char key[NSL_GASBANK_KEY_LEN];
        snprintf(key, sizeof key, "acct/%s", t->account_id);
        add_put(w, texts, keys, &n, key, t->version, rec);
        size_t i;
        json_t *e;
        json_array_foreach(t->entries, i, e)
        {
            nsl_gasbank_entry_key(t->account_id, int_field(e, "seq"), key);
            add_put(w, texts, keys, &n, key, 0, e);
        }
        if (t->extra)
            add_put(w, texts, keys, &n, t->extra_key, t->extra_expected, t->extra);
        for (i = 0; i < n; i++)
            if (!texts[i])
                rc = nsl_fail(&t->call->error, NSL_ERR_INTERNAL, "out of memory");
    }
    if (rc == NSL_OK)
        rc = nsl_store_batch(t->st, w, n, versions, &t->call->error);
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(w);
    free(texts);
    free(keys);
    free(versions);
    json_decref(rec);
    return rc;
}

/* A short random pause that grows with the attempt, so racing writers spread out. */
static void backoff(int attempt)
{
    uint8_t r[2];
    nsl_random_bytes(r, sizeof r);
    unsigned cap = 200u * (unsigned)(attempt < 10 ? attempt + 1 : 10);
    usleep(((unsigned)r[0] << 8 | r[1]) % cap);
}

nsl_err nsl_gasbank_ledger_run(struct nsl_call *call, struct nsl_store *st, const char *account,
                               nsl_gasbank_apply apply, void *arg)
{
    nsl_err rc = NSL_ERR_CONFLICT;
    bool retry = true;
    pthread_mutex_t *lock = stripe_of(account);
    pthread_mutex_lock(lock);
    for (int attempt = 0; attempt < MAX_ATTEMPTS && retry; attempt++) {
        struct nsl_gasbank_txn t = {.call = call, .st = st, .account_id = account};
        json_decref(call->result);
        call->result = NULL;
        if (attempt > 0)
            backoff(attempt);
        rc = begin(&t);
        if (rc == NSL_OK)
            rc = apply(&t, arg);
        retry = false; /* a CONFLICT from apply (an idempotency mismatch) is final */
        if (rc == NSL_OK && !t.replay && (json_array_size(t.entries) > 0 || t.extra)) {
            rc = commit(&t);
            retry = rc == NSL_ERR_CONFLICT; /* someone else wrote first: re-read, re-check */
        }
        end(&t);
    }
    pthread_mutex_unlock(lock);
    if (rc != NSL_OK) {
        json_decref(call->result);
        call->result = NULL;
    }
    return rc;
}
