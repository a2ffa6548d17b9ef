/* Aggregation and signed rounds (see pricefeed.h). Integer arithmetic only: prices are int64 at
 * the pair's decimals and every basis-point comparison is done in __int128 by cross
 * multiplication, so no division rounds a bound the wrong way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"
#include "services/pricefeed.h"

#define FUTURE_SKEW_SEC 60 /* a source's clock may run this far ahead of ours */

void nsl_price_answers_clear(struct nsl_price_answer *answers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(answers[i].body);
        memset(&answers[i], 0, sizeof answers[i]);
    }
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The median of n > 0 values (sorted in place); the mean of the middle two, rounded down. */
static int64_t median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_i64);
    if (n % 2)
        return v[n / 2];
    return (int64_t)(((__int128)v[n / 2 - 1] + v[n / 2]) / 2);
}

/* |a - b| in basis points of b (b > 0), rounded down. */
static int64_t bps_from(int64_t a, int64_t b)
{
    __int128 diff = (__int128)a - b;
    if (diff < 0)
        diff = -diff;
    __int128 bps = diff * 10000 / b;
    return bps > INT64_MAX ? INT64_MAX : (int64_t)bps;
}

static void fate_fail(struct nsl_price_fate *f, const char *why)
{
    f->ok = false;
    snprintf(f->error, sizeof f->error, "%.95s", why);
}

/* Reads one source's answer into its fate (ok with a price, or an error). */
static void read_answer(const struct nsl_price_config *cfg, const struct nsl_price_source *src,
                        const struct nsl_price_answer *a, int64_t now, struct nsl_price_fate *f)
{
    struct nsl_error e = {0};
    const char *text;
    size_t len;
    bool is_string;
    snprintf(f->name, sizeof f->name, "%s", src->name);
    if (!a->body) {
        fate_fail(f, a->error[0] ? a->error : "no answer");
        return;
    }
    if (a->status != 200) {
        snprintf(f->error, sizeof f->error, "HTTP %d", a->status);
        return;
    }
    if (a->len > NSL_PRICE_BODY_MAX) {
        fate_fail(f, "answer too large");
        return;
    }
    if (nsl_price_json_locate(a->body, a->len, src->path, &text, &len, &is_string, &e) != NSL_OK ||
        nsl_price_parse_decimal(text, len, cfg->decimals, &f->price, &e) != NSL_OK) {
        fate_fail(f, e.message);
        return;
    }
    f->has_price = true;
    int64_t stamp = a->fetched_at ? a->fetched_at : now;
    if (src->timestamp_path[0]) {
        int64_t t;
        if (nsl_price_json_locate(a->body, a->len, src->timestamp_path, &text, &len, &is_string,
                                  &e) != NSL_OK ||
            nsl_price_parse_decimal(text, len, 0, &t, &e) != NSL_OK) {
            snprintf(f->error, sizeof f->error, "timestamp: %.80s", e.message);
            return;
        }
        stamp = src->timestamp_ms ? t / 1000 : t;
    }
    if (stamp > now + FUTURE_SKEW_SEC) {
        fate_fail(f, "timestamp is in the future");
        return;
    }
    if (now - stamp > cfg->max_age_sec) {
        snprintf(f->error, sizeof f->error, "stale: %lld s old (maxAgeSec %lld)",
                 (long long)(now - stamp), (long long)cfg->max_age_sec);
        return;
    }
    f->ok = true;
}

/* "binance ok; kraken HTTP 503; …" into the error message, cut to fit. */
static nsl_err refuse(const struct nsl_price_config *cfg, const struct nsl_price_outcome *out,
                      struct nsl_error *err)
{
    char list[200];
    size_t used = 0;
    list[0] = 0;
    for (size_t i = 0; i < out->count && used < sizeof list; i++) {
        const struct nsl_price_fate *f = &out->fates[i];
        int n = snprintf(list + used, sizeof list - used, "%s%s %.40s", i ? "; " : "", f->name,
                         f->ok ? "ok" : f->error);
        used += n > 0 ? (size_t)n : 0;
    }
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "%zu of %zu sources usable for %s, need %lld: %s",
                    out->usable, out->count, cfg->pair, (long long)cfg->min_sources, list);
}

static void decide(const struct nsl_price_config *cfg, const struct nsl_price_last *last,
                   int64_t now, struct nsl_price_outcome *out)
{
    if (!last || !last->present) {
        out->publish = true;
        snprintf(out->reason, sizeof out->reason, "first round");
        return;
    }
    if (last->decimals != cfg->decimals) {
        out->publish = true;
        snprintf(out->reason, sizeof out->reason, "decimals changed from %d to %d", last->decimals,
                 cfg->decimals);
        return;
    }
    int64_t moved = bps_from(out->price, last->price);
    int64_t age = now - (int64_t)last->timestamp;
    if (moved >= cfg->deviation_threshold_bps) {
        out->publish = true;
        snprintf(out->reason, sizeof out->reason, "moved %lld bps (threshold %lld)",
                 (long long)moved, (long long)cfg->deviation_threshold_bps);
    } else if (age >= cfg->heartbeat_sec) {
        out->publish = true;
        snprintf(out->reason, sizeof out->reason, "heartbeat: last round %lld s old",
                 (long long)age);
    } else {
        out->publish = false;
        snprintf(out->reason, sizeof out->reason,
                 "moved %lld bps (< %lld) and the heartbeat is due in %lld s", (long long)moved,
                 (long long)cfg->deviation_threshold_bps, (long long)(cfg->heartbeat_sec - age));
    }
}

nsl_err nsl_price_aggregate(const struct nsl_price_config *cfg,
                            const struct nsl_price_answer *answers, int64_t now,
                            const struct nsl_price_last *last, struct nsl_price_outcome *out,
                            struct nsl_error *err)
{
    memset(out, 0, sizeof *out);
    out->count = cfg->source_count;
    int64_t prices[NSL_PRICE_MAX_SOURCES];
    size_t n = 0;
    for (size_t i = 0; i < cfg->source_count; i++) {
        read_answer(cfg, &cfg->sources[i], &answers[i], now, &out->fates[i]);
        if (out->fates[i].ok)
            prices[n++] = out->fates[i].price;
    }
    if (n > 0) {
        /* Outliers: further than maxDeviationBps from the median of every fresh answer. */
        int64_t mid = median(prices, n);
        n = 0;
        for (size_t i = 0; i < out->count; i++) {
            struct nsl_price_fate *f = &out->fates[i];
            if (!f->ok)
                continue;
            __int128 diff = (__int128)f->price - mid;
            if ((diff < 0 ? -diff : diff) * 10000 > (__int128)cfg->max_deviation_bps * mid) {
                f->ok = false;
                snprintf(f->error, sizeof f->error, "outlier: %lld bps from the median",
                         (long long)bps_from(f->price, mid));
                continue;
            }
            prices[n++] = f->price;
        }
    }
    out->usable = n;
    if ((int64_t)n < cfg->min_sources || n == 0)
        return refuse(cfg, out, err);
    out->price = median(prices, n);
    decide(cfg, last, now, out);
    return NSL_OK;
}

nsl_err nsl_price_collect(const struct nsl_price_config *cfg, nsl_price_fetch_fn fetch,
                          void *fetch_ctx, int64_t now, const struct nsl_price_last *last,
                          struct nsl_price_outcome *out, struct nsl_error *err)
{
    struct nsl_price_request reqs[NSL_PRICE_MAX_SOURCES];
    struct nsl_price_answer *answers = calloc(NSL_PRICE_MAX_SOURCES, sizeof *answers);
    if (!answers)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < cfg->source_count; i++)
        reqs[i] = (struct nsl_price_request){cfg->sources[i].name, cfg->sources[i].url};
    nsl_err rc = fetch(fetch_ctx, reqs, cfg->source_count, answers);
    if (rc != NSL_OK)
        rc = nsl_fail(err, NSL_ERR_UNAVAILABLE, "%s",
                      fetch == nsl_price_fetch_default
                          ? "egress not available (no egress client, or it could not start)"
                          : "the sources could not be fetched");
    else
        rc = nsl_price_aggregate(cfg, answers, now, last, out, err);
    nsl_price_answers_clear(answers, NSL_PRICE_MAX_SOURCES);
    free(answers);
    return rc;
}

static size_t put_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 8;
}

size_t nsl_price_message(const char *pair, int64_t price, int decimals, uint64_t timestamp,
                         uint64_t round, uint8_t out[NSL_PRICE_MESSAGE_MAX])
{
    size_t pair_len = strlen(pair), n = 0;
    if (pair_len > NSL_PRICE_PAIR_MAX)
        return 0;
    memcpy(out, NSL_PRICE_MAGIC, 11);
    n += 11;
    out[n++] = (uint8_t)pair_len;
    memcpy(out + n, pair, pair_len);
    n += pair_len;
    n += put_le(out + n, (uint64_t)price);
    out[n++] = (uint8_t)decimals;
    n += put_le(out + n, timestamp);
    n += put_le(out + n, round);
    return n;
}

json_t *nsl_price_fates_json(const struct nsl_price_outcome *outcome)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < outcome->count; i++) {
        const struct nsl_price_fate *f = &outcome->fates[i];
        json_t *o = json_pack("{s:s, s:b}", "name", f->name, "ok", f->ok);
        if (o && f->has_price) {
            char text[24];
            nsl_price_format(f->price, text);
            json_object_set_new(o, "price", json_string(text));
        }
        if (o && !f->ok)
            json_object_set_new(o, "error", json_string(f->error));
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

nsl_err nsl_price_round_build(const struct nsl_price_config *cfg,
                              const struct nsl_price_outcome *outcome, uint64_t round,
                              uint64_t timestamp, const struct nsl_neo_signing_key *signer,
                              json_t **round_json, struct nsl_error *err)
{
    uint8_t msg[NSL_PRICE_MESSAGE_MAX], sig[NSL_NEO_SIG_LEN];
    size_t len = nsl_price_message(cfg->pair, outcome->price, cfg->decimals, timestamp, round, msg);
    if (len == 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "pair too long");
    NSL_TRY(nsl_neo_signing_key_sign(signer, msg, len, sig, err));
    char msg_hex[2 * NSL_PRICE_MESSAGE_MAX + 1], sig_hex[2 * NSL_NEO_SIG_LEN + 1],
        pub_hex[2 * NSL_NEO_PUBKEY_LEN + 1], price[24];
    nsl_hex_encode(msg, len, msg_hex);
    nsl_hex_encode(sig, sizeof sig, sig_hex);
    nsl_hex_encode(nsl_neo_signing_key_public(signer), NSL_NEO_PUBKEY_LEN, pub_hex);
    nsl_price_format(outcome->price, price);
    json_t *sources = nsl_price_fates_json(outcome);
    *round_json =
        sources ? json_pack("{s:s, s:I, s:s, s:i, s:I, s:o, s:s, s:s, s:s}", "pair", cfg->pair,
                            "round", (json_int_t)round, "price", price, "decimals", cfg->decimals,
                            "timestamp", (json_int_t)timestamp, "sources", sources, "message",
                            msg_hex, "signature", sig_hex, "signerPublicKey", pub_hex)
                : NULL;
    return *round_json ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}
