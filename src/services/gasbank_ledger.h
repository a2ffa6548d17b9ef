/* The gas bank's ledger in the sealed store (namespace "gasbank", docs/gasbank.md):
 *   acct/<account>          balance record {available, reserved, deposits, withdrawals, charges,
 *                           seq, reservations {id: {amount, expiresAt, reference}}}
 *   entry/<account>/<inv>   one history entry; <inv> = 10^16-1 - seq (16 digits), so listing in
 *                           key order gives newest first
 *   dep/<txHash>, wd/<account>/<key>, sp/<account>/<txid>   idempotency records
 * A ledger operation reads the balance record, lets a callback change it and add entries and one
 * idempotency record, then writes everything in ONE store batch (CAS on the balance record, the
 * new keys expected absent). CONFLICT means someone else won: re-read, re-check, retry. */
#ifndef NSL_SERVICES_GASBANK_LEDGER_H
#define NSL_SERVICES_GASBANK_LEDGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "services/service.h"
#include "store/store.h"

#define NSL_GASBANK_NS               "gasbank"
#define NSL_GASBANK_MAX_RESERVATIONS 100
#define NSL_GASBANK_KEY_LEN          200

struct nsl_gasbank_account {
    int64_t available, reserved;
    int64_t deposits, withdrawals, charges; /* running totals, for audit */
    int64_t seq;                            /* entries written so far */
    json_t *reservations;                   /* owned */
};

/* One attempt of a ledger operation, handed to the callback. */
struct nsl_gasbank_txn {
    struct nsl_call *call;
    struct nsl_store *st;
    const char *account_id;
    struct nsl_gasbank_account acct;
    uint64_t version; /* of acct/<account>; 0 when new */
    int64_t now;      /* unix seconds */
    json_t *entries;  /* new entries, in order */
    char extra_key[NSL_GASBANK_KEY_LEN];
    uint64_t extra_expected;
    json_t *extra; /* idempotency record to write, or NULL */
    bool replay;   /* the callback set call->result from an earlier request: write nothing */
};

typedef nsl_err (*nsl_gasbank_apply)(struct nsl_gasbank_txn *t, void *arg);

/* Runs apply against account's balance record until its batch commits (or a few CONFLICTs in a
 * row). Expired reservations are released (with "expire" entries) before apply sees the record.
 * apply sets call->result on success. */
nsl_err nsl_gasbank_ledger_run(struct nsl_call *call, struct nsl_store *st, const char *account,
                               nsl_gasbank_apply apply, void *arg);

/* Appends an entry of type with amount to t and returns it (owned by t) for more fields. */
json_t *nsl_gasbank_entry_add(struct nsl_gasbank_txn *t, const char *type, int64_t amount);

/* Parses a balance record (NULL: an empty account). */
nsl_err nsl_gasbank_account_parse(const json_t *rec, struct nsl_gasbank_account *out);
void nsl_gasbank_account_clear(struct nsl_gasbank_account *a);
/* {available, reserved, total} as digit strings. */
json_t *nsl_gasbank_account_view(const struct nsl_gasbank_account *a);

/* Reads a JSON record of the gasbank namespace: NOT_FOUND with *version set when absent. */
nsl_err nsl_gasbank_get_json(struct nsl_store *st, const char *key, json_t **out, uint64_t *version,
                             struct nsl_error *err);

void nsl_gasbank_entry_key(const char *account, int64_t seq, char out[NSL_GASBANK_KEY_LEN]);
/* The seq of an entry key's last component, or -1. */
int64_t nsl_gasbank_entry_seq(const char *key);

#endif
