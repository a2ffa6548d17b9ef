/* The price feed (issue 9, docs/pricefeed.md): per pair, a set of HTTPS sources is fetched, each
 * answer is parsed strictly into an integer at the pair's decimals, outliers are dropped around
 * the median, and when enough sources agree and the price moved enough (or the heartbeat came
 * due) a new round is signed by the enclave's signing key and kept in the sealed store
 * (namespace "pricefeed").
 *
 * The fetching is an interface (nsl_price_fetch_fn) so that the core can be tested with a fake
 * and the transport (the parent's egress proxy) plugs in without the core knowing it. */
#ifndef NSL_SERVICES_PRICEFEED_H
#define NSL_SERVICES_PRICEFEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "neo/key.h"
#include "services/service.h"

#define NSL_PRICE_MAX_SOURCES  16
#define NSL_PRICE_MAX_DECIMALS 18
#define NSL_PRICE_MAX_DIGITS   18 /* significant digits of one answer */
#define NSL_PRICE_PAIR_MAX     21 /* "BASE/QUOTE", each [A-Z0-9]{1,10} */
#define NSL_PRICE_MAGIC        "NSL-PRICE-1"
#define NSL_PRICE_MESSAGE_MAX  (11 + 1 + NSL_PRICE_PAIR_MAX + 8 + 1 + 8 + 8)
#define NSL_PRICE_BODY_MAX     (256u << 10) /* a source's answer above this is refused */

/* One source, resolved (a preset already expanded to its URL and paths). */
struct nsl_price_source {
    char name[33];
    char url[512];
    char path[129];           /* dotted JSON path to the price: "result.NEOUSD.c.0" */
    char timestamp_path[129]; /* "" when the answer carries no timestamp */
    bool timestamp_ms;        /* the timestamp is in milliseconds (else seconds) */
    char preset[16];          /* "" for a generic source */
};

/* A pair's configuration (pricefeed.configure). */
struct nsl_price_config {
    char pair[NSL_PRICE_PAIR_MAX + 1];
    int decimals;
    size_t source_count;
    struct nsl_price_source sources[NSL_PRICE_MAX_SOURCES];
    int64_t min_sources, max_deviation_bps, max_age_sec, deviation_threshold_bps, heartbeat_sec,
        update_interval_sec;
};

/* What the fetcher is asked for: one GET per source. */
struct nsl_price_request {
    const char *name;
    const char *url;
};

/* What the fetcher answers, one per request. body is malloc'd and owned by the answer (freed by
 * nsl_price_answers_clear); a failed fetch leaves body NULL and says why in error. */
struct nsl_price_answer {
    int status; /* HTTP status, 0 when there was no response */
    char *body;
    size_t len;
    int64_t fetched_at; /* unix seconds when the answer arrived (0: the caller's "now") */
    char error[96];
};

/* Fetches n URLs, filling answers[i] for reqs[i]. A per-source failure goes in that answer; the
 * return value is an error only when nothing could be fetched at all (no transport). */
typedef nsl_err (*nsl_price_fetch_fn)(void *ctx, const struct nsl_price_request *reqs, size_t n,
                                      struct nsl_price_answer *answers);

void nsl_price_answers_clear(struct nsl_price_answer *answers, size_t n);

/* --- sources (pricefeed_source.c) --- */

/* Resolves one element of configure's "sources" for pair: {"preset": p, "url"?, "name"?} or
 * {"name", "url", "path", "timestampPath"?, "timestampUnit"?: "s"|"ms"}. INVALID_PARAMS naming
 * what is wrong (where = "params.sources[2]"). */
nsl_err nsl_price_source_resolve(const json_t *spec, const char *pair, const char *where,
                                 struct nsl_price_source *out, struct nsl_error *err);
/* The preset names, NULL-terminated (for docs and errors). */
extern const char *const nsl_price_preset_names[];

/* Finds the value at a dotted path (numeric segments index arrays) in a JSON body and gives its
 * raw text: a string's contents (escapes refused) or a number's literal. The body is first
 * validated by jansson (duplicate keys refused). *is_string says which. */
nsl_err nsl_price_json_locate(const char *body, size_t len, const char *path, const char **text,
                              size_t *text_len, bool *is_string, struct nsl_error *err);
/* Parses a positive decimal ("12.34", "1.2e-3"; at most 18 significant digits) into an integer
 * scaled by 10^decimals, rounding half up; no floating point. */
nsl_err nsl_price_parse_decimal(const char *text, size_t len, int decimals, int64_t *out,
                                struct nsl_error *err);
/* A price integer at decimals as the decimal text the round carries (digits only). */
void nsl_price_format(int64_t price, char out[24]);

/* --- aggregation and rounds (pricefeed_round.c) --- */

struct nsl_price_fate {
    char name[33];
    bool ok;
    bool has_price;
    int64_t price;
    char error[96];
};

/* The last published round of the pair, as far as the decision needs it. */
struct nsl_price_last {
    bool present;
    uint64_t round;
    int64_t price;
    int decimals;
    uint64_t timestamp;
};

struct nsl_price_outcome {
    size_t count;
    struct nsl_price_fate fates[NSL_PRICE_MAX_SOURCES];
    size_t usable;
    int64_t price;    /* median of the survivors */
    bool publish;     /* a new round is due */
    char reason[160]; /* why it is (or is not) published */
};

/* Parses every answer, drops stale ones and outliers, and decides whether to publish. Returns
 * UNAVAILABLE (each source's fate in the message and in out->fates) when fewer than minSources
 * survive. now is unix seconds. */
nsl_err nsl_price_aggregate(const struct nsl_price_config *cfg,
                            const struct nsl_price_answer *answers, int64_t now,
                            const struct nsl_price_last *last, struct nsl_price_outcome *out,
                            struct nsl_error *err);

/* Fetches cfg's sources with fetch and aggregates the answers (nsl_price_aggregate). A fetch
 * that fails as a whole gives UNAVAILABLE. */
nsl_err nsl_price_collect(const struct nsl_price_config *cfg, nsl_price_fetch_fn fetch,
                          void *fetch_ctx, int64_t now, const struct nsl_price_last *last,
                          struct nsl_price_outcome *out, struct nsl_error *err);

/* [{name, ok, price?, error?}] for each source of an outcome (NULL when out of memory). */
json_t *nsl_price_fates_json(const struct nsl_price_outcome *outcome);

/* The signed message: "NSL-PRICE-1" ‖ u8 len(pair) ‖ pair ‖ i64 LE price ‖ u8 decimals ‖
 * u64 LE timestamp ‖ u64 LE round. Returns its length (0 when pair is too long). */
size_t nsl_price_message(const char *pair, int64_t price, int decimals, uint64_t timestamp,
                         uint64_t round, uint8_t out[NSL_PRICE_MESSAGE_MAX]);

/* A signed round as JSON: {pair, round, price, decimals, timestamp, sources, message,
 * signature, signerPublicKey}. */
nsl_err nsl_price_round_build(const struct nsl_price_config *cfg,
                              const struct nsl_price_outcome *outcome, uint64_t round,
                              uint64_t timestamp, const struct nsl_neo_signing_key *signer,
                              json_t **round_json, struct nsl_error *err);

/* --- the service (pricefeed.c) --- */

struct nsl_pricefeed;
struct nsl_store;

/* Starts the feed and its scheduler thread; fetch NULL means the default transport (the
 * egress client in ctx->egress), and fetch_ctx is then ignored. */
struct nsl_pricefeed *nsl_pricefeed_start(struct nsl_enclave_ctx *ctx, nsl_price_fetch_fn fetch,
                                          void *fetch_ctx);
void nsl_pricefeed_stop(struct nsl_pricefeed *feed);
/* The latest signed round of pair (NOT_FOUND before the first), for function.nsl.price.get too. */
nsl_err nsl_pricefeed_latest(struct nsl_store *st, const char *pair, json_t **round,
                             struct nsl_error *err);

/* The default transport: ctx is a struct nsl_enclave_ctx; every request goes at once through
 * its egress client (UNAVAILABLE when it has none). */
nsl_err nsl_price_fetch_default(void *ctx, const struct nsl_price_request *reqs, size_t n,
                                struct nsl_price_answer *answers);

#endif
