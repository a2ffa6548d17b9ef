/* Aggregation and signed rounds (services/pricefeed_round.c), driven through the fetch interface
 * with a fake fetcher: median and outliers, too few sources, staleness, the deviation and
 * heartbeat rules, the exact message layout, and signatures checked by our verifier and by the
 * openssl command line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/ecdsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encoding.h"
#include "services/pricefeed.h"

#define NOW 1711356300

struct fake_answer {
    int status;
    const char *body; /* NULL: the fetch of this source failed */
    int64_t fetched_at;
};

struct fake {
    struct fake_answer answers[NSL_PRICE_MAX_SOURCES];
    size_t calls;
    const char *urls[NSL_PRICE_MAX_SOURCES];
};

static nsl_err fake_fetch(void *ctx, const struct nsl_price_request *reqs, size_t n,
                          struct nsl_price_answer *answers)
{
    struct fake *f = ctx;
    f->calls++;
    for (size_t i = 0; i < n; i++) {
        const struct fake_answer *a = &f->answers[i];
        f->urls[i] = reqs[i].url;
        answers[i].status = a->status;
        answers[i].fetched_at = a->fetched_at;
        if (a->body) {
            answers[i].body = strdup(a->body);
            answers[i].len = strlen(a->body);
        } else {
            snprintf(answers[i].error, sizeof answers[i].error, "connection refused");
        }
    }
    return NSL_OK;
}

static nsl_err failing_fetch(void *ctx, const struct nsl_price_request *reqs, size_t n,
                             struct nsl_price_answer *answers)
{
    (void)ctx;
    (void)reqs;
    (void)n;
    answers[0].body = strdup("{}"); /* whatever was half-filled is still freed */
    answers[0].len = 2;
    return NSL_ERR_UNAVAILABLE;
}

/* A config of n generic sources "s0".."s<n-1>" reading {"p": "<price>"}. */
static void config(struct nsl_price_config *cfg, size_t n)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->pair, sizeof cfg->pair, "NEO/USD");
    cfg->decimals = 8;
    cfg->source_count = n;
    cfg->min_sources = 3;
    cfg->max_deviation_bps = 300;
    cfg->max_age_sec = 60;
    cfg->deviation_threshold_bps = 50;
    cfg->heartbeat_sec = 3600;
    cfg->update_interval_sec = 30;
    for (size_t i = 0; i < n; i++) {
        snprintf(cfg->sources[i].name, sizeof cfg->sources[i].name, "s%zu", i);
        snprintf(cfg->sources[i].url, sizeof cfg->sources[i].url, "https://127.0.0.1/%zu", i);
        snprintf(cfg->sources[i].path, sizeof cfg->sources[i].path, "p");
    }
}

static char bodies[NSL_PRICE_MAX_SOURCES][64];

static void answer(struct fake *f, size_t i, const char *price)
{
    snprintf(bodies[i], sizeof bodies[i], "{\"p\":\"%s\"}", price);
    f->answers[i] = (struct fake_answer){200, bodies[i], NOW};
}

static void test_median_of_survivors_after_outliers_are_dropped(void **state)
{
    (void)state;
    struct nsl_price_config cfg;
    struct fake f = {0};
    struct nsl_price_outcome out;
    struct nsl_error err = {0};
    config(&cfg, 5);
    answer(&f, 0, "10.00");
    answer(&f, 1, "10.10");
    answer(&f, 2, "10.20");
    answer(&f, 3, "10.30");
    answer(&f, 4, "15.00"); /* ~4700 bps off the median 10.20 */
    assert_int_equal(nsl_price_collect(&cfg, fake_fetch, &f, NOW, NULL, &out, &err), NSL_OK);
    assert_int_equal(f.calls, 1);
    assert_string_equal(f.urls[4], "https://127.0.0.1/4");
    assert_int_equal(out.usable, 4);
    assert_false(out.fates[4].ok);
    assert_true(out.fates[4].has_price);
    assert_non_null(strstr(out.fates[4].error, "outlier"));
    /* even count: mean of 10.10 and 10.20 */
    assert_int_equal(out.price, 1015000000);
    assert_true(out.publish);
    assert_string_equal(out.reason, "first round");
}

static void test_outlier_bound_is_inclusive_and_exact(void **state)
{
    (void)state;
    struct nsl_price_config cfg;
    struct fake f = {0};
    struct nsl_price_outcome out;
    struct nsl_error err = {0};
    config(&cfg, 3);
    cfg.min_sources = 2;
    answer(&f, 0, "100");
    answer(&f, 1, "103");         /* exactly 300 bps from the median 100: kept */
    answer(&f, 2, "96.99999999"); /* just over 300 bps below: dropped */
    assert_int_equal(nsl_price_collect(&cfg, fake_fetch, &f, NOW, NULL, &out, &err), NSL_OK);
    assert_true(out.fates[1].ok);
    assert_false(out.fates[2].ok);
    assert_int_equal(out.price, (10000000000 + 10300000000) / 2);
}

static void test_too_few_sources_is_unavailable_listing_each_fate(void **state)
{
    (void)state;
    struct nsl_price_config cfg;
    struct fake f = {0};
    struct nsl_price_outcome out;
    struct nsl_error err = {0};
    config(&cfg, 5);
    answer(&f, 0, "12.34");
    answer(&f, 1, "12.35");
    f.answers[2] = (struct fake_answer){503, "busy", NOW};
    f.answers[3] = (struct fake_answer){0, NULL, 0};
    answer(&f, 4, "-12.34");
    assert_int_equal(nsl_price_collect(&cfg, fake_fetch, &f, NOW, NULL, &out, &err),
                     NSL_ERR_UNAVAILABLE);
    assert_int_equal(out.usable, 2);
    assert_non_null(strstr(err.message, "2 of 5 sources usable for NEO/USD, need 3"));
    assert_non_null(strstr(err.message, "s0 ok"));
    assert_non_null(strstr(err.message, "s2 HTTP 503"));
    assert_non_null(strstr(err.message, "s3 connection refused"));
    assert_non_null(strstr(err.message, "s4 negative price"));
    json_t *fates = nsl_price_fates_json(&out);
    assert_int_equal(json_array_size(fates), 5);
    assert_true(json_is_true(json_object_get(json_array_get(fates, 0), "ok")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(fates, 0), "price")),
                        "1234000000");
    assert_null(json_object_get(json_array_get(fates, 3), "price"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(fates, 2), "error")),
                        "HTTP 503");
    json_decref(fates);
}

static void test_a_fetch_that_fails_whole_is_unavailable(void **state)
{
    (void)state;
    struct nsl_price_config cfg;
    struct nsl_price_outcome out;
    struct nsl_error err = {0};
    config(&cfg, 3);
    assert_int_equal(nsl_price_collect(&cfg, failing_fetch, NULL, NOW, NULL, &out, &err),
                     NSL_ERR_UNAVAILABLE);
    assert_int_equal(nsl_price_collect(&cfg, nsl_price_fetch_default, NULL, NOW, NULL, &out, &err),
                     NSL_ERR_UNAVAILABLE);
    assert_string_equal(err.message,
                        "egress not available (no egress client, or it could not start)");
}

static void test_stale_and_future_answers_are_dropped(void **state)
{
    (void)state;
    struct nsl_price_config cfg;
    struct fake f = {0};
    struct nsl_price_outcome out;
    struct nsl_error err = {0};
    config(&cfg, 5);
    cfg.min_sources = 1;
    /* OKX shape, timestamp in ms, 61 s old */
    snprintf(cfg.sources[0].path, sizeof cfg.sources[0].path, "data.0.last");
    snprintf(cfg.sources[0].timestamp_path, sizeof cfg.sources[0].timestamp_path, "data.0.ts");
    cfg.sources[0].timestamp_ms = true;
    f.answers[0] = (struct fake_answer){
        200, "{\"code\":\"0\",\"data\":[{\"last\":\"12.34\",\"ts\":\"1711356239000\"}]}", NOW};
    /* CoinGecko shape, seconds, fresh */
    snprintf(cfg.sources[1].path, sizeof cfg.sources[1].path, "neo.usd");
    snprintf(cfg.sources[1].timestamp_path, sizeof cfg.sources[1].timestamp_path,
             "neo.last_updated_at");
    f.answers[1] =
        (struct fake_answer){200, "{\"neo\":{\"usd\":12.34,\"last_updated_at\":1711356290}}", NOW};
    /* in the future */
    snprintf(cfg.sources[2].timestamp_path, sizeof cfg.sources[2].timestamp_path, "t");
    f.answers[2] = (struct fake_answer){200, "{\"p\":\"12.34\",\"t\":1711366300}", NOW};
    /* no timestamp in the shape: the fetch time counts */
    f.answers[3] = (struct fake_answer){200, "{\"p\":\"12.34\"}", NOW - 120};
    /* a timestamp that is not a number */
    snprintf(cfg.sources[4].timestamp_path, sizeof cfg.sources[4].timestamp_path, "t");
    f.answers[4] = (struct fake_answer){200, "{\"p\":\"12.34\",\"t\":\"yesterday\"}", NOW};
    assert_int_equal(nsl_price_collect(&cfg, fake_fetch, &f, NOW, NULL, &out, &err), NSL_OK);
    assert_false(out.fates[0].ok);
    assert_string_equal(out.fates[0].error, "stale: 61 s old (maxAgeSec 60)");
    assert_true(out.fates[1].ok);
    assert_false(out.fates[2].ok);
    assert_string_equal(out.fates[2].error, "timestamp is in the future");
    assert_false(out.fates[3].ok);
    assert_non_null(strstr(out.fates[3].error, "stale: 120 s old"));
    assert_false(out.fates[4].ok);
    assert_non_null(strstr(out.fates[4].error, "timestamp:"));
    assert_int_equal(out.usable, 1);
}

static void run_with_last(const char *price, const struct nsl_price_last *last,
                          struct nsl_price_outcome *out)
{
    struct nsl_price_config cfg;
    struct fake f = {0};
    struct nsl_error err = {0};
    config(&cfg, 3);
    for (size_t i = 0; i < 3; i++)
        answer(&f, i, price);
    assert_int_equal(nsl_price_collect(&cfg, fake_fetch, &f, NOW, last, out, &err), NSL_OK);
}

static void test_deviation_threshold_and_heartbeat(void **state)
{
    (void)state;
    struct nsl_price_outcome out;
    struct nsl_price_last last = {true, 7, 1000000000, 8, NOW - 10};
    run_with_last("10.05", &last, &out); /* exactly 50 bps: published */
    assert_true(out.publish);
    assert_string_equal(out.reason, "moved 50 bps (threshold 50)");
    run_with_last("9.95", &last, &out); /* down 50 bps */
    assert_true(out.publish);
    run_with_last("10.04999999", &last, &out); /* 49.99 bps: not yet */
    assert_false(out.publish);
    assert_string_equal(out.reason, "moved 49 bps (< 50) and the heartbeat is due in 3590 s");
    last.timestamp = NOW - 3600; /* heartbeat due */
    run_with_last("10.00", &last, &out);
    assert_true(out.publish);
    assert_string_equal(out.reason, "heartbeat: last round 3600 s old");
    last.timestamp = NOW - 10;
    last.decimals = 6; /* a rescaled pair always publishes */
    run_with_last("10.00", &last, &out);
    assert_true(out.publish);
}

static void test_message_layout_is_exact(void **state)
{
    (void)state;
    uint8_t msg[NSL_PRICE_MESSAGE_MAX];
    char hex[2 * NSL_PRICE_MESSAGE_MAX + 1];
    size_t len = nsl_price_message("NEO/USD", 1234000000, 8, 1711356300, 42, msg);
    assert_int_equal(len, 44);
    nsl_hex_encode(msg, len, hex);
    assert_string_equal(hex, "4e534c2d50524943452d31" /* "NSL-PRICE-1" */
                             "07"
                             "4e454f2f555344"     /* len, "NEO/USD" */
                             "80588d4900000000"   /* i64 LE 1234000000 */
                             "08"                 /* decimals */
                             "8c39016600000000"   /* u64 LE 1711356300 */
                             "2a00000000000000"); /* u64 LE round 42 */
    assert_int_equal(nsl_price_message("ABCDEFGHIJK/ABCDEFGHIJ", 1, 8, 1, 1, msg), 0);
}

static size_t der_signature(const uint8_t sig[64], uint8_t der[72])
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    uint8_t *p = der;
    int n = i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    assert_true(n > 0 && n <= 72);
    return (size_t)n;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_round_signature_verifies_here_and_with_openssl(void **state)
{
    (void)state;
    struct nsl_price_config cfg;
    struct nsl_price_outcome out;
    struct nsl_error err = {0};
    struct nsl_price_last last = {false, 0, 0, 0, 0};
    config(&cfg, 3);
    run_with_last("12.34", &last, &out);
    struct nsl_secret *key = NULL;
    struct nsl_neo_signing_key *signer = NULL;
    assert_int_equal(nsl_neo_key_generate(&key, &err), NSL_OK);
    assert_int_equal(nsl_neo_signing_key_new(key, &signer, &err), NSL_OK);
    json_t *round = NULL;
    assert_int_equal(nsl_price_round_build(&cfg, &out, 42, NOW, signer, &round, &err), NSL_OK);
    assert_string_equal(json_string_value(json_object_get(round, "pair")), "NEO/USD");
    assert_string_equal(json_string_value(json_object_get(round, "price")), "1234000000");
    assert_int_equal(json_integer_value(json_object_get(round, "round")), 42);
    assert_int_equal(json_integer_value(json_object_get(round, "decimals")), 8);
    assert_int_equal(json_integer_value(json_object_get(round, "timestamp")), NOW);
    assert_int_equal(json_array_size(json_object_get(round, "sources")), 3);

    const char *msg_hex = json_string_value(json_object_get(round, "message"));
    const char *sig_hex = json_string_value(json_object_get(round, "signature"));
    const char *pub_hex = json_string_value(json_object_get(round, "signerPublicKey"));
    uint8_t msg[NSL_PRICE_MESSAGE_MAX], sig[64], expect[NSL_PRICE_MESSAGE_MAX], der[72];
    uint8_t spki[26 + 33] = {0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                             0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                             0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00};
    size_t msg_len, n;
    assert_int_equal(nsl_hex_decode(msg_hex, strlen(msg_hex), msg, sizeof msg, &msg_len), 0);
    assert_int_equal(nsl_hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig, &n), 0);
    assert_int_equal(n, 64);
    assert_int_equal(nsl_hex_decode(pub_hex, strlen(pub_hex), spki + 26, 33, &n), 0);
    assert_memory_equal(spki + 26, nsl_neo_signing_key_public(signer), 33);
    assert_int_equal(msg_len, nsl_price_message("NEO/USD", 1234000000, 8, NOW, 42, expect));
    assert_memory_equal(msg, expect, msg_len);
    assert_int_equal(nsl_neo_pubkey_verify(spki + 26, 33, msg, msg_len, sig, 64), 0);
    msg[msg_len - 8] ^= 1; /* another round number */
    assert_int_equal(nsl_neo_pubkey_verify(spki + 26, 33, msg, msg_len, sig, 64), -1);
    msg[msg_len - 8] ^= 1;

    char dir[] = "/tmp/nsl-pricefeed-XXXXXX", path[3][96], cmd[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path[0], sizeof path[0], "%s/msg", dir);
    snprintf(path[1], sizeof path[1], "%s/sig.der", dir);
    snprintf(path[2], sizeof path[2], "%s/pub.der", dir);
    write_file(path[0], msg, msg_len);
    write_file(path[1], der, der_signature(sig, der));
    write_file(path[2], spki, sizeof spki);
    snprintf(cmd, sizeof cmd,
             "openssl dgst -sha256 -verify '%s' -keyform DER -signature '%s' '%s' >/dev/null 2>&1",
             path[2], path[1], path[0]);
    assert_int_equal(system(cmd), 0);
    msg[12] ^= 1; /* another pair */
    write_file(path[0], msg, msg_len);
    assert_int_not_equal(system(cmd), 0);
    for (size_t i = 0; i < 3; i++)
        unlink(path[i]);
    rmdir(dir);
    json_decref(round);
    nsl_neo_signing_key_free(signer);
    nsl_secret_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median_of_survivors_after_outliers_are_dropped),
        cmocka_unit_test(test_outlier_bound_is_inclusive_and_exact),
        cmocka_unit_test(test_too_few_sources_is_unavailable_listing_each_fate),
        cmocka_unit_test(test_a_fetch_that_fails_whole_is_unavailable),
        cmocka_unit_test(test_stale_and_future_answers_are_dropped),
        cmocka_unit_test(test_deviation_threshold_and_heartbeat),
        cmocka_unit_test(test_message_layout_is_exact),
        cmocka_unit_test(test_round_signature_verifies_here_and_with_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
