/* The price feed service (see pricefeed.h): the six handlers, the records in the sealed store and
 * the scheduler thread that runs updates every updateIntervalSec.
 *
 * Store (namespace "pricefeed"): config/<pair> the pair's configuration; latest/<pair> the last
 * published round (its version is the compare-and-swap guard that keeps round numbers unique);
 * round/<pair>/<20 digits of UINT64_MAX - round> every round, so a listing comes newest first.
 * The last KEEP_ROUNDS rounds are kept.
 *
 * When several enclaves share the store (docs/scale-out.md), only the holder of the lease
 * leases/pricefeed_scheduler runs scheduled updates, and it reloads the schedule from the store
 * every RELOAD_MS so that pairs configured through another enclave are picked up. */
#define NSL_LOG_COMPONENT NSL_LOGC_SERVICE
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "common/json.h"
#include "common/periodic.h"
#include "common/log.h"
#include "enclave/egress_client.h"
#include "enclave/identity.h"
#include "enclave/storage.h"
#include "services/lease.h"
#include "services/pricefeed.h"

#define NS          "pricefeed"
#define KEEP_ROUNDS 10000
#define MAX_PAIRS   256
#define TICK_MS     500
#define LEASE_NAME  "pricefeed_scheduler"
#define LEASE_MS    10000
#define RELOAD_MS   5000

struct scheduled_pair {
    char pair[NSL_PRICE_PAIR_MAX + 1];
    int64_t interval_sec;
    int64_t next_run;
};

struct nsl_pricefeed {
    struct nsl_enclave_ctx *ctx;
    nsl_price_fetch_fn fetch;
    void *fetch_ctx;
    pthread_mutex_t update_lock; /* one update at a time: no duplicate fetches, no CAS races */
    pthread_mutex_t lock;        /* the schedule below */
    bool loaded;
    struct scheduled_pair pairs[MAX_PAIRS];
    size_t count;
    struct nsl_periodic *ticker;
    struct nsl_lease_turn lease; /* shared stores: only its holder runs the schedule */
};

/* The default transport: every source at once through the enclave's egress client (ctx is the
 * enclave context; without an egress client there is no transport at all). */
nsl_err nsl_price_fetch_default(void *ctx, const struct nsl_price_request *reqs, size_t n,
                                struct nsl_price_answer *answers)
{
    const struct nsl_enclave_ctx *ectx = ctx;
    if (!ectx || !ectx->egress || n > NSL_PRICE_MAX_SOURCES || n > NSL_EGRESS_MAX_REQUESTS)
        return NSL_ERR_UNAVAILABLE;
    struct nsl_egress_request ereqs[NSL_PRICE_MAX_SOURCES];
    struct nsl_egress_response resps[NSL_PRICE_MAX_SOURCES];
    struct nsl_error errs[NSL_PRICE_MAX_SOURCES];
    static const char *const headers[] = {"Accept: application/json"};
    memset(ereqs, 0, sizeof ereqs);
    memset(resps, 0, sizeof resps);
    memset(errs, 0, sizeof errs);
    for (size_t i = 0; i < n; i++)
        ereqs[i] = (struct nsl_egress_request){
            .method = "GET",
            .url = reqs[i].url,
            .headers = headers,
            .header_count = 1,
            .timeout_ms = NSL_EGRESS_DEFAULT_TIMEOUT_MS,
            .max_response_bytes = NSL_PRICE_BODY_MAX,
        };
    nsl_err rc = nsl_egress_fetch_many(ectx->egress, ereqs, n, resps, errs);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; rc == NSL_OK && i < n; i++) {
        answers[i].fetched_at = now;
        if (errs[i].code != NSL_OK) {
            snprintf(answers[i].error, sizeof answers[i].error, "%s: %.80s",
                     nsl_err_name(errs[i].code), errs[i].message);
            continue;
        }
        answers[i].status = resps[i].status;
        answers[i].body = resps[i].body; /* taken */
        answers[i].len = resps[i].body_len;
        resps[i].body = NULL;
    }
    for (size_t i = 0; i < n; i++)
        nsl_egress_response_clear(&resps[i]);
    return rc == NSL_OK ? NSL_OK : NSL_ERR_UNAVAILABLE;
}

static bool pair_valid(const char *pair)
{
    const char *slash = pair ? strchr(pair, '/') : NULL;
    if (!slash || slash == pair || slash - pair > 10 || !slash[1] || strlen(slash + 1) > 10)
        return false;
    for (const char *c = pair; *c; c++)
        if (c != slash && !((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return false;
    return true;
}

static nsl_err check_pair(struct nsl_call *call, const char **pair)
{
    *pair = nsl_json_str(call->params, "pair");
    if (!pair_valid(*pair))
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.pair must be BASE/QUOTE, each [A-Z0-9]{1,10} (e.g. NEO/USD)");
    return NSL_OK;
}

/* A JSON record at key; NOT_FOUND with *version the tombstone's when absent. */
static nsl_err load_json(struct nsl_store *st, const char *key, json_t **out, uint64_t *version,
                         struct nsl_error *err)
{
    struct nsl_secret *bytes = NULL;
    uint64_t v = 0;
    *out = NULL;
    nsl_err rc = nsl_store_get(st, NS, key, &bytes, &v, err);
    if (version)
        *version = v;
    if (rc != NSL_OK)
        return rc;
    *out = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes), nsl_secret_len(bytes),
                                 NSL_ERR_INTERNAL, err);
    nsl_secret_free(bytes);
    return *out ? NSL_OK : NSL_ERR_INTERNAL;
}

/* --- configuration records --- */

static json_t *config_to_json(const struct nsl_price_config *cfg)
{
    json_t *sources = json_array();
    for (size_t i = 0; sources && i < cfg->source_count; i++) {
        const struct nsl_price_source *s = &cfg->sources[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", s->name, "url", s->url, "path", s->path);
        if (o && s->preset[0])
            json_object_set_new(o, "preset", json_string(s->preset));
        if (o && s->timestamp_path[0]) {
            json_object_set_new(o, "timestampPath", json_string(s->timestamp_path));
            json_object_set_new(o, "timestampUnit", json_string(s->timestamp_ms ? "ms" : "s"));
        }
        if (!o || json_array_append_new(sources, o) != 0) {
            json_decref(sources);
            return NULL;
        }
    }
    return sources ? json_pack("{s:s, s:i, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "pair", cfg->pair,
                               "decimals", cfg->decimals, "sources", sources, "minSources",
                               (json_int_t)cfg->min_sources, "maxDeviationBps",
                               (json_int_t)cfg->max_deviation_bps, "maxAgeSec",
                               (json_int_t)cfg->max_age_sec, "deviationThresholdBps",
                               (json_int_t)cfg->deviation_threshold_bps, "heartbeatSec",
                               (json_int_t)cfg->heartbeat_sec, "updateIntervalSec",
                               (json_int_t)cfg->update_interval_sec)
                   : NULL;
}

/* The stored form back into a config (written by us; still checked for shape). */
static nsl_err config_from_json(const json_t *o, struct nsl_price_config *cfg,
                                struct nsl_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    const json_t *sources = json_object_get(o, "sources");
    const char *pair = nsl_json_str(o, "pair");
    if (!pair || !json_is_array(sources) || json_array_size(sources) > NSL_PRICE_MAX_SOURCES)
        return nsl_fail(err, NSL_ERR_INTERNAL, "stored price feed configuration is malformed");
    snprintf(cfg->pair, sizeof cfg->pair, "%s", pair);
    cfg->decimals = (int)nsl_json_int(o, "decimals", 8);
    cfg->min_sources = nsl_json_int(o, "minSources", 3);
    cfg->max_deviation_bps = nsl_json_int(o, "maxDeviationBps", 300);
    cfg->max_age_sec = nsl_json_int(o, "maxAgeSec", 60);
    cfg->deviation_threshold_bps = nsl_json_int(o, "deviationThresholdBps", 50);
    cfg->heartbeat_sec = nsl_json_int(o, "heartbeatSec", 3600);
    cfg->update_interval_sec = nsl_json_int(o, "updateIntervalSec", 30);
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s)
    {
        struct nsl_price_source *d = &cfg->sources[cfg->source_count++];
        const char *unit = nsl_json_str(s, "timestampUnit");
        snprintf(d->name, sizeof d->name, "%s", nsl_json_str(s, "name") ?: "");
        snprintf(d->url, sizeof d->url, "%s", nsl_json_str(s, "url") ?: "");
        snprintf(d->path, sizeof d->path, "%s", nsl_json_str(s, "path") ?: "");
        snprintf(d->timestamp_path, sizeof d->timestamp_path, "%s",
                 nsl_json_str(s, "timestampPath") ?: "");
        snprintf(d->preset, sizeof d->preset, "%s", nsl_json_str(s, "preset") ?: "");
        d->timestamp_ms = unit && strcmp(unit, "ms") == 0;
    }
    return NSL_OK;
}

/* configure's params into a config, with the defaults of docs/pricefeed.md. */
static nsl_err config_from_params(struct nsl_call *call, const char *pair,
                                  struct nsl_price_config *cfg)
{
    const json_t *p = call->params, *sources = json_object_get(p, "sources");
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->pair, sizeof cfg->pair, "%s", pair);
    cfg->decimals = (int)nsl_json_int(p, "decimals", 8);
    cfg->min_sources = nsl_json_int(p, "minSources", 3);
    cfg->max_deviation_bps = nsl_json_int(p, "maxDeviationBps", 300);
    cfg->max_age_sec = nsl_json_int(p, "maxAgeSec", 60);
    cfg->deviation_threshold_bps = nsl_json_int(p, "deviationThresholdBps", 50);
    cfg->heartbeat_sec = nsl_json_int(p, "heartbeatSec", 3600);
    cfg->update_interval_sec = nsl_json_int(p, "updateIntervalSec", 30);
    if (json_array_size(sources) == 0)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.sources must not be empty");
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s)
    {
        char where[48];
        snprintf(where, sizeof where, "params.sources[%zu]", i);
        NSL_TRY(nsl_price_source_resolve(s, pair, where, &cfg->sources[i], &call->error));
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->sources[j].name, cfg->sources[i].name) == 0)
                return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                                "%s: the name %s is used twice (give one a \"name\")", where,
                                cfg->sources[i].name);
        cfg->source_count = i + 1;
    }
    if (cfg->min_sources > (int64_t)cfg->source_count)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.minSources (%lld) is more than the %zu sources given",
                        (long long)cfg->min_sources, cfg->source_count);
    return NSL_OK;
}

/* --- the schedule --- */

/* Adds or replaces pair's entry; lock held. */
static void schedule_pair(struct nsl_pricefeed *feed, const char *pair, int64_t interval)
{
    struct scheduled_pair *e = NULL;
    for (size_t i = 0; i < feed->count && !e; i++)
        if (strcmp(feed->pairs[i].pair, pair) == 0)
            e = &feed->pairs[i];
    if (!e && feed->count == MAX_PAIRS)
        return;
    if (e && e->interval_sec == interval)
        return; /* unchanged (a reload): keep its next run */
    if (!e)
        e = &feed->pairs[feed->count++];
    snprintf(e->pair, sizeof e->pair, "%s", pair);
    e->interval_sec = interval;
    e->next_run = (int64_t)time(NULL) + interval;
}

static void load_schedule(struct nsl_pricefeed *feed, struct nsl_store *st)
{
    struct nsl_store_page page;
    if (nsl_store_list(st, NS, "config/", NULL, MAX_PAIRS, &page, NULL) != NSL_OK)
        return;
    for (size_t i = 0; i < page.count; i++) {
        json_t *r =
            nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                  nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
        if (r && nsl_json_str(r, "pair"))
            schedule_pair(feed, nsl_json_str(r, "pair"), nsl_json_int(r, "updateIntervalSec", 30));
        json_decref(r);
    }
    nsl_store_page_free(&page);
    feed->loaded = true;
}

/* --- one update --- */

static void round_key(const char *pair, uint64_t round, char *out, size_t len)
{
    snprintf(out, len, "round/%s/%020" PRIu64, pair, UINT64_MAX - round);
}

static void last_from_json(const json_t *latest, struct nsl_price_last *last)
{
    memset(last, 0, sizeof *last);
    const char *price = nsl_json_str(latest, "price");
    if (!latest || !price)
        return;
    last->present = true;
    last->round = (uint64_t)nsl_json_int(latest, "round", 0);
    last->price = strtoll(price, NULL, 10);
    last->decimals = (int)nsl_json_int(latest, "decimals", 0);
    last->timestamp = (uint64_t)nsl_json_int(latest, "timestamp", 0);
}

/* Writes the new round and moves latest in one batch (CAS on latest's version). */
static nsl_err publish(struct nsl_store *st, const char *pair, const json_t *round_json,
                       uint64_t round, uint64_t latest_version, struct nsl_error *err)
{
    char latest_key[64], key[96], old_key[96];
    snprintf(latest_key, sizeof latest_key, "latest/%s", pair);
    round_key(pair, round, key, sizeof key);
    size_t len;
    char *text = nsl_json_dump(round_json, &len);
    if (!text)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    struct nsl_store_write w[3] = {
        {NSL_STORE_PUT, NS, latest_key, latest_version, text, len},
        {NSL_STORE_PUT, NS, key, 0, text, len},
    };
    size_t n = 2;
    if (round > KEEP_ROUNDS) {
        round_key(pair, round - KEEP_ROUNDS, old_key, sizeof old_key);
        w[n++] = (struct nsl_store_write){NSL_STORE_DELETE, NS, old_key, 1, NULL, 0};
    }
    uint64_t versions[3];
    nsl_err rc = nsl_store_batch(st, w, n, versions, err);
    free(text);
    return rc;
}

/* Fetches, aggregates and (when due) publishes pair's next round. *result: {published, reason,
 * price?, sources, round?}. */
static nsl_err update_pair(struct nsl_pricefeed *feed, struct nsl_store *st, const char *pair,
                           json_t **result, struct nsl_error *err)
{
    char key[64];
    json_t *cfg_json = NULL, *latest = NULL, *round_json = NULL;
    struct nsl_price_config *cfg = calloc(1, sizeof *cfg);
    struct nsl_price_outcome *outcome = calloc(1, sizeof *outcome);
    struct nsl_neo_signing_key *signer = NULL;
    uint64_t latest_version = 0;
    struct nsl_price_last last;
    nsl_err rc = cfg && outcome ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    snprintf(key, sizeof key, "config/%s", pair);
    if (rc == NSL_OK && (rc = load_json(st, key, &cfg_json, NULL, err)) == NSL_ERR_NOT_FOUND)
        rc = nsl_fail(err, NSL_ERR_NOT_FOUND, "no price feed for %s (pricefeed.configure)", pair);
    if (rc == NSL_OK)
        rc = config_from_json(cfg_json, cfg, err);
    snprintf(key, sizeof key, "latest/%s", pair);
    if (rc == NSL_OK &&
        (rc = load_json(st, key, &latest, &latest_version, err)) == NSL_ERR_NOT_FOUND) {
        rc = NSL_OK;
        err->message[0] = 0;
    }
    int64_t now = (int64_t)time(NULL);
    last_from_json(latest, &last);
    if (rc == NSL_OK)
        rc = nsl_price_collect(cfg, feed->fetch, feed->fetch_ctx, now, &last, outcome, err);
    if (rc == NSL_OK && outcome->publish) {
        rc = nsl_identity_signer(feed->ctx->identity, st, &signer, err);
        uint64_t round = last.round + 1;
        if (rc == NSL_OK)
            rc =
                nsl_price_round_build(cfg, outcome, round, (uint64_t)now, signer, &round_json, err);
        if (rc == NSL_OK)
            rc = publish(st, pair, round_json, round, latest_version, err);
    }
    if (rc == NSL_OK) {
        char price[24];
        nsl_price_format(outcome->price, price);
        *result =
            json_pack("{s:b, s:s, s:s, s:o, s:O?}", "published", outcome->publish, "reason",
                      outcome->reason, "price", price, "sources", nsl_price_fates_json(outcome),
                      "round", outcome->publish ? round_json : latest);
        if (!*result)
            rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    nsl_neo_signing_key_free(signer);
    free(outcome);
    free(cfg);
    json_decref(cfg_json);
    json_decref(latest);
    json_decref(round_json);
    return rc;
}

static nsl_err update_serialized(struct nsl_pricefeed *feed, struct nsl_store *st, const char *pair,
                                 json_t **result, struct nsl_error *err)
{
    pthread_mutex_lock(&feed->update_lock);
    nsl_err rc = update_pair(feed, st, pair, result, err);
    pthread_mutex_unlock(&feed->update_lock);
    return rc;
}

/* --- the scheduler thread --- */

static void run_due(struct nsl_pricefeed *feed, struct nsl_store *st, struct nsl_periodic *self)
{
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < feed->count && !nsl_periodic_stopping(self); i++) {
        if (feed->pairs[i].next_run > now)
            continue;
        char pair[NSL_PRICE_PAIR_MAX + 1];
        snprintf(pair, sizeof pair, "%s", feed->pairs[i].pair);
        feed->pairs[i].next_run = now + feed->pairs[i].interval_sec;
        pthread_mutex_unlock(&feed->lock);
        json_t *result = NULL;
        struct nsl_error err = {0};
        nsl_err rc = update_serialized(feed, st, pair, &result, &err);
        if (rc != NSL_OK)
            nsl_log(NSL_LOG_WARN, "pricefeed_update_failed", "pair", pair, "code", nsl_err_name(rc),
                    "reason", err.message, NULL);
        else
            nsl_log(NSL_LOG_DEBUG, "pricefeed_update", "pair", pair, "reason",
                    nsl_json_str(result, "reason"), NULL);
        json_decref(result);
        pthread_mutex_lock(&feed->lock);
    }
}

/* One tick: runs the rounds that are due, if this enclave holds the scheduler's lease. */
static long pricefeed_turn(struct nsl_periodic *self, void *arg)
{
    struct nsl_pricefeed *feed = arg;
    pthread_mutex_lock(&feed->lock);
    struct nsl_store *st = nsl_storage_get(feed->ctx->storage, NULL);
    bool reload = false, turn = st && nsl_lease_turn(&feed->lease, st, &reload);
    if (reload)
        feed->loaded = false;
    if (turn && !feed->loaded)
        load_schedule(feed, st);
    if (turn)
        run_due(feed, st, self);
    pthread_mutex_unlock(&feed->lock);
    return TICK_MS;
}

struct nsl_pricefeed *nsl_pricefeed_start(struct nsl_enclave_ctx *ctx, nsl_price_fetch_fn fetch,
                                          void *fetch_ctx)
{
    struct nsl_pricefeed *feed = calloc(1, sizeof *feed);
    if (!feed || nsl_lease_turn_init(&feed->lease, LEASE_NAME, LEASE_MS, RELOAD_MS) != 0) {
        free(feed);
        return NULL;
    }
    feed->ctx = ctx;
    feed->fetch = fetch ? fetch : nsl_price_fetch_default;
    feed->fetch_ctx = fetch ? fetch_ctx : ctx;
    pthread_mutex_init(&feed->update_lock, NULL);
    pthread_mutex_init(&feed->lock, NULL);
    feed->ticker = nsl_periodic_start(pricefeed_turn, feed);
    if (!feed->ticker) {
        pthread_mutex_destroy(&feed->update_lock);
        pthread_mutex_destroy(&feed->lock);
        free(feed);
        return NULL;
    }
    return feed;
}

void nsl_pricefeed_stop(struct nsl_pricefeed *feed)
{
    if (!feed)
        return;
    nsl_periodic_stop(feed->ticker);
    pthread_mutex_destroy(&feed->update_lock);
    pthread_mutex_destroy(&feed->lock);
    free(feed);
}

/* --- handlers --- */

static struct nsl_store *store_of(struct nsl_call *call)
{
    return nsl_storage_get(call->ctx->storage, &call->error);
}

nsl_err nsl_pricefeed_configure(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    const char *pair;
    if (!st)
        return call->error.code;
    NSL_TRY(check_pair(call, &pair));
    struct nsl_price_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    nsl_err rc = config_from_params(call, pair, cfg);
    json_t *record = rc == NSL_OK ? config_to_json(cfg) : NULL, *old = NULL;
    if (rc == NSL_OK && !record)
        rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    char key[64];
    snprintf(key, sizeof key, "config/%s", pair);
    uint64_t version = 0, new_version;
    if (rc == NSL_OK &&
        (rc = load_json(st, key, &old, &version, &call->error)) == NSL_ERR_NOT_FOUND) {
        rc = NSL_OK;
        call->error.message[0] = 0;
    }
    size_t len = 0;
    char *text = rc == NSL_OK ? nsl_json_dump(record, &len) : NULL;
    if (rc == NSL_OK && !text)
        rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK)
        rc = nsl_store_put(st, NS, key, version, text, len, &new_version, &call->error);
    struct nsl_pricefeed *feed = call->ctx->pricefeed;
    if (rc == NSL_OK && feed) {
        pthread_mutex_lock(&feed->lock);
        schedule_pair(feed, pair, cfg->update_interval_sec);
        pthread_mutex_unlock(&feed->lock);
    }
    if (rc == NSL_OK)
        call->result = json_incref(record);
    free(text);
    json_decref(old);
    json_decref(record);
    free(cfg);
    return rc;
}

nsl_err nsl_pricefeed_update(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    const char *pair;
    if (!st)
        return call->error.code;
    NSL_TRY(check_pair(call, &pair));
    if (!call->ctx->pricefeed)
        return nsl_fail(&call->error, NSL_ERR_UNAVAILABLE, "the price feed is not running");
    return update_serialized(call->ctx->pricefeed, st, pair, &call->result, &call->error);
}

nsl_err nsl_pricefeed_get(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    const char *pair;
    if (!st)
        return call->error.code;
    NSL_TRY(check_pair(call, &pair));
    return nsl_pricefeed_latest(st, pair, &call->result, &call->error);
}

nsl_err nsl_pricefeed_latest(struct nsl_store *st, const char *pair, json_t **round,
                             struct nsl_error *err)
{
    char key[64];
    if (strlen(pair) > 32)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "pair names are at most 32 characters");
    snprintf(key, sizeof key, "latest/%s", pair);
    nsl_err rc = load_json(st, key, round, NULL, err);
    if (rc == NSL_ERR_NOT_FOUND)
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "no round yet for %s", pair);
    return rc;
}

nsl_err nsl_pricefeed_history(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    const char *pair;
    if (!st)
        return call->error.code;
    NSL_TRY(check_pair(call, &pair));
    char prefix[64];
    snprintf(prefix, sizeof prefix, "round/%s/", pair);
    struct nsl_store_page page;
    NSL_TRY(nsl_store_list(st, NS, prefix, NULL, (size_t)nsl_json_int(call->params, "limit", 20),
                           &page, &call->error));
    json_t *rounds = json_array();
    for (size_t i = 0; rounds && i < page.count; i++) {
        json_t *r =
            nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                  nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
        if (r)
            json_array_append_new(rounds, r);
    }
    nsl_store_page_free(&page);
    call->result = rounds ? json_pack("{s:s, s:o}", "pair", pair, "rounds", rounds) : NULL;
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_pricefeed_pairs(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    struct nsl_store_page page;
    NSL_TRY(nsl_store_list(st, NS, "config/", NULL, MAX_PAIRS, &page, &call->error));
    json_t *pairs = json_array();
    for (size_t i = 0; pairs && i < page.count; i++) {
        json_t *r =
            nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                  nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
        if (r)
            json_array_append_new(pairs, r);
    }
    nsl_store_page_free(&page);
    call->result = pairs ? json_pack("{s:o}", "pairs", pairs) : NULL;
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_pricefeed_signerKey(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    struct nsl_neo_signing_key *signer = NULL;
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_identity_signer(call->ctx->identity, st, &signer, &call->error));
    char pub[2 * NSL_NEO_PUBKEY_LEN + 1];
    nsl_hex_encode(nsl_neo_signing_key_public(signer), NSL_NEO_PUBKEY_LEN, pub);
    nsl_neo_signing_key_free(signer);
    call->result = json_pack(
        "{s:s, s:s, s:s}", "publicKey", pub, "algorithm", "ECDSA-P256-SHA256 (r || s)", "message",
        "\"NSL-PRICE-1\" | u8 len(pair) | pair | i64 LE price | u8 decimals | u64 LE timestamp | "
        "u64 LE round");
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}
