/* Hash-chained audit log (see audit.h). Appends are serialised in the enclave; the head's
 * compare-and-swap makes concurrent enclaves on one store take turns too. */
#include "services/audit.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "common/jcs.h"
#include "common/json.h"
#include "crypto/hash.h"

#define NS       "audit"
#define HEAD_KEY "head"
#define GENESIS  "0000000000000000000000000000000000000000000000000000000000000000"
#define PAGE     500

struct nsl_audit {
    pthread_mutex_t lock;
    bool head_known;
    uint64_t seq, head_version;
    char hash[65];
};

struct nsl_audit *nsl_audit_new(void)
{
    struct nsl_audit *a = calloc(1, sizeof *a);
    if (a)
        pthread_mutex_init(&a->lock, NULL);
    return a;
}

void nsl_audit_free(struct nsl_audit *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static int hash_json(const json_t *v, char out[65])
{
    size_t len;
    char *text = nsl_jcs_serialize(v, &len);
    uint8_t digest[32];
    int rc = text ? nsl_sha256(text, len, digest) : -1;
    free(text);
    if (rc == 0)
        nsl_hex_encode(digest, 32, out);
    return rc;
}

static void entry_key(uint64_t seq, char out[32])
{
    snprintf(out, 32, "e/%016" PRIu64, seq);
}

static nsl_err load_head(struct nsl_audit *a, struct nsl_store *st, struct nsl_error *err)
{
    struct nsl_secret *bytes = NULL;
    nsl_err rc = nsl_store_get(st, NS, HEAD_KEY, &bytes, &a->head_version, err);
    if (rc == NSL_ERR_NOT_FOUND) {
        a->seq = 0;
        strcpy(a->hash, GENESIS);
        a->head_known = true;
        return NSL_OK;
    }
    NSL_TRY(rc);
    json_t *head = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes),
                                         nsl_secret_len(bytes), NSL_ERR_INTERNAL, err);
    nsl_secret_free(bytes);
    const char *hash = nsl_json_str(head, "hash");
    json_int_t seq = nsl_json_int(head, "seq", -1);
    if (!hash || strlen(hash) != 64 || seq < 0) {
        json_decref(head);
        return nsl_fail(err, NSL_ERR_INTERNAL, "the audit head record is malformed");
    }
    a->seq = (uint64_t)seq;
    memcpy(a->hash, hash, 65);
    a->head_known = true;
    json_decref(head);
    return NSL_OK;
}

/* Params with secret-bearing fields replaced, so that the hash in the log cannot be used to
 * test guesses of a low-entropy secret such as a passphrase. */
static json_t *redacted(const json_t *params)
{
    static const char *const secret_fields[] = {"passphrase", "wif",    "nep2", "value",
                                                "apiKey",     "sealed", NULL};
    json_t *copy = params ? json_deep_copy(params) : json_object();
    for (size_t i = 0; copy && secret_fields[i]; i++)
        if (json_object_get(copy, secret_fields[i]))
            json_object_set_new(copy, secret_fields[i], json_string("[redacted]"));
    return copy;
}

static json_t *build_entry(uint64_t seq, const char *prev, const char *account,
                           const char *operation, const char *outcome, const json_t *params)
{
    char params_hash[65];
    json_t *safe = redacted(params);
    int rc = safe ? hash_json(safe, params_hash) : -1;
    json_decref(safe);
    if (rc != 0)
        return NULL;
    return json_pack("{s:I, s:I, s:s?, s:s, s:s, s:s, s:s}", "seq", (json_int_t)seq, "time",
                     (json_int_t)time(NULL), "account", account, "operation", operation, "outcome",
                     outcome, "paramsHash", params_hash, "prev", prev);
}

/* One attempt to chain an entry after the cached head. */
static nsl_err try_append(struct nsl_audit *a, struct nsl_store *st, const char *account,
                          const char *operation, const char *outcome, const json_t *params,
                          struct nsl_error *err)
{
    uint64_t seq = a->seq + 1;
    json_t *entry = build_entry(seq, a->hash, account, operation, outcome, params);
    char hash[65];
    if (!entry || hash_json(entry, hash) != 0) {
        json_decref(entry);
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot build an audit entry");
    }
    json_object_set_new(entry, "hash", json_string(hash));
    json_t *head = json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "hash", hash);
    size_t elen, hlen;
    char *etext = nsl_json_dump(entry, &elen), *htext = nsl_json_dump(head, &hlen);
    char key[32];
    entry_key(seq, key);
    struct nsl_store_write w[] = {
        {NSL_STORE_PUT, NS, key, 0, etext, elen},
        {NSL_STORE_PUT, NS, HEAD_KEY, a->head_version, htext, hlen},
    };
    uint64_t versions[2];
    nsl_err rc = etext && htext ? nsl_store_batch(st, w, 2, versions, err)
                                : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        a->seq = seq;
        a->head_version = versions[1];
        memcpy(a->hash, hash, 65);
    }
    free(etext);
    free(htext);
    json_decref(entry);
    json_decref(head);
    return rc;
}

nsl_err nsl_audit_append(struct nsl_audit *a, struct nsl_store *st, const char *account,
                         const char *operation, const char *outcome, const json_t *params,
                         struct nsl_error *err)
{
    pthread_mutex_lock(&a->lock);
    nsl_err rc = a->head_known ? NSL_OK : load_head(a, st, err);
    for (int attempt = 0; rc == NSL_OK && attempt < 5; attempt++) {
        rc = try_append(a, st, account, operation, outcome, params, err);
        if (rc != NSL_ERR_CONFLICT)
            break;
        rc = load_head(a, st, err); /* another enclave appended: chain after its entry */
        if (rc == NSL_OK)
            rc = NSL_ERR_CONFLICT;
    }
    if (rc != NSL_OK)
        a->head_known = false;
    pthread_mutex_unlock(&a->lock);
    return rc;
}

struct chain_check {
    uint64_t expected_seq;
    char prev[65];
    char problem[160];
};

/* Checks one entry's place in the chain; records the first problem. */
static void check_entry(struct chain_check *c, const json_t *entry)
{
    if (c->problem[0])
        return;
    json_t *copy = json_deep_copy(entry);
    const char *stored = nsl_json_str(entry, "hash"), *prev = nsl_json_str(entry, "prev");
    json_int_t seq = nsl_json_int(entry, "seq", -1);
    char hash[65] = "";
    json_object_del(copy, "hash");
    hash_json(copy, hash);
    json_decref(copy);
    if (seq < 0 || (uint64_t)seq != c->expected_seq)
        snprintf(c->problem, sizeof c->problem, "entry %" PRIu64 " is missing", c->expected_seq);
    else if (!prev || strcmp(prev, c->prev) != 0)
        snprintf(c->problem, sizeof c->problem, "entry %" PRIu64 " does not follow its predecessor",
                 c->expected_seq);
    else if (!stored || strcmp(stored, hash) != 0)
        snprintf(c->problem, sizeof c->problem, "entry %" PRIu64 " does not match its hash",
                 c->expected_seq);
    else {
        memcpy(c->prev, hash, 65);
        c->expected_seq++;
    }
}

nsl_err nsl_audit_read(struct nsl_audit *a, struct nsl_store *st, uint64_t since, size_t limit,
                       json_t **entries, json_t **verification, struct nsl_error *err)
{
    pthread_mutex_lock(&a->lock);
    nsl_err rc = load_head(a, st, err);
    uint64_t head_seq = a->seq;
    char head_hash[65];
    memcpy(head_hash, a->hash, 65);
    pthread_mutex_unlock(&a->lock);
    NSL_TRY(rc);

    struct chain_check c = {.expected_seq = 1};
    strcpy(c.prev, GENESIS);
    json_t *out = json_array();
    char after[32] = "";
    for (bool more = true; more && !c.problem[0];) {
        struct nsl_store_page page;
        rc = nsl_store_list(st, NS, "e/", after[0] ? after : NULL, PAGE, &page, err);
        if (rc == NSL_ERR_INTERNAL) {
            snprintf(c.problem, sizeof c.problem,
                     "an entry after #%" PRIu64 " failed its integrity check", c.expected_seq - 1);
            break;
        }
        if (rc != NSL_OK) {
            json_decref(out);
            return rc;
        }
        for (size_t i = 0; i < page.count; i++) {
            json_t *e =
                nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                      nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
            check_entry(&c, e);
            json_int_t seq = nsl_json_int(e, "seq", 0);
            if (e && (uint64_t)seq >= since && json_array_size(out) < limit)
                json_array_append(out, e);
            json_decref(e);
        }
        if (page.count)
            snprintf(after, sizeof after, "%s", page.items[page.count - 1].key);
        more = page.more;
        nsl_store_page_free(&page);
    }
    if (!c.problem[0] && (c.expected_seq - 1 != head_seq || strcmp(c.prev, head_hash) != 0))
        snprintf(c.problem, sizeof c.problem,
                 "the chain ends at entry %" PRIu64 " but the head names %" PRIu64,
                 c.expected_seq - 1, head_seq);
    *entries = out;
    *verification =
        json_pack("{s:b, s:I}", "verified", !c.problem[0], "head", (json_int_t)head_seq);
    if (c.problem[0])
        json_object_set_new(*verification, "problem", json_string(c.problem));
    return NSL_OK;
}
