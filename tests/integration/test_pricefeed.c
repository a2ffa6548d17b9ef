/* The price feed end to end (issue 9, docs/pricefeed.md) through the real daemons: nsl-parent's
 * egress proxy with an allowlist, nsl-enclave trusting a test CA, and five local HTTPS servers
 * answering in the shapes of the five presets (binance, coinbase, kraken, okx, coingecko), each
 * preset pointed at its server with a "url". Rounds: median, outliers, too few sources (and the
 * last round kept), a certificate from another CA, a port outside the allowlist, the deviation
 * rule and the heartbeat, history, pairs, the signer key and the signature checked by the openssl
 * command; and a function reading the price and fetching an allowlisted URL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/openssl_verify.h"
#include "harness/https.h"
#include "neo/key.h"

#define SOURCES 5
#define SLOW_MS 5600 /* past the feed's 5 s per-source timeout */

enum mode { GOOD, HTTP_503, GARBAGE, SLOW };

struct source {
    const char *preset;
    const char *path; /* the preset's real path and query, for the url override */
    struct nsl_https_server srv;
    atomic_int mode;
    atomic_int cents; /* the price answered, in hundredths */
};

static struct {
    struct nsl_stack stack;
    struct nsl_client client;
    struct nsl_secret *admin_key;
    char admin_id[64];
    char alice[128];
    struct source src[SOURCES];
    struct source other_ca;  /* certificate from a CA the enclave does not trust */
    struct source forbidden; /* good certificate, port not in the allowlist */
    char allow[512];
    char ca_file[600];
} t = {.src = {{.preset = "binance", .path = "/api/v3/ticker/price?symbol=NEOUSDT"},
               {.preset = "coinbase", .path = "/v2/prices/NEO-USD/spot"},
               {.preset = "kraken", .path = "/0/public/Ticker?pair=NEOUSD"},
               {.preset = "okx", .path = "/api/v5/market/ticker?instId=NEO-USDT"},
               {.preset = "coingecko",
                .path = "/api/v3/simple/price?ids=neo&vs_currencies=usd&include_last_updated_at="
                        "true"}},
       .other_ca = {.preset = "binance", .path = "/api/v3/ticker/price?symbol=NEOUSDT"},
       .forbidden = {.preset = "binance", .path = "/api/v3/ticker/price?symbol=NEOUSDT"}};

/* Answers in the preset's real shape. */
static void answer(void *ctx, const char *path, struct nsl_https_response *resp)
{
    struct source *s = ctx;
    (void)path;
    int mode = atomic_load(&s->mode), cents = atomic_load(&s->cents);
    char price[32];
    snprintf(price, sizeof price, "%d.%02d", cents / 100, cents % 100);
    long long now = (long long)time(NULL);
    if (mode == HTTP_503) {
        resp->status = 503;
        nsl_https_body(resp, "{\"error\":\"maintenance\"}");
        return;
    }
    if (mode == GARBAGE) {
        nsl_https_body(resp, "<html>price: %s</html>", price);
        return;
    }
    if (mode == SLOW)
        resp->delay_ms = SLOW_MS;
    if (strcmp(s->preset, "binance") == 0)
        nsl_https_body(resp, "{\"symbol\":\"NEOUSDT\",\"price\":\"%s\"}", price);
    else if (strcmp(s->preset, "coinbase") == 0)
        nsl_https_body(resp, "{\"data\":{\"amount\":\"%s\",\"base\":\"NEO\",\"currency\":\"USD\"}}",
                       price);
    else if (strcmp(s->preset, "kraken") == 0)
        nsl_https_body(resp, "{\"error\":[],\"result\":{\"NEOUSD\":{\"c\":[\"%s\",\"1.0\"]}}}",
                       price);
    else if (strcmp(s->preset, "okx") == 0)
        nsl_https_body(resp,
                       "{\"code\":\"0\",\"msg\":\"\",\"data\":[{\"instId\":\"NEO-USDT\","
                       "\"last\":\"%s\",\"ts\":\"%lld\"}]}",
                       price, now * 1000);
    else
        nsl_https_body(resp, "{\"neo\":{\"usd\":%s,\"last_updated_at\":%lld}}", price, now);
}

static void set_all(int mode, int cents)
{
    for (int i = 0; i < SOURCES; i++) {
        atomic_store(&t.src[i].mode, mode);
        atomic_store(&t.src[i].cents, cents);
    }
}

static int start_source(struct source *s, const struct nsl_test_ca *ca)
{
    atomic_store(&s->mode, GOOD);
    atomic_store(&s->cents, 1234);
    return nsl_https_server_start(&s->srv, ca->cert, ca->key, answer, s) < 0 ? -1 : 0;
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    nsl_log_init("test_pricefeed", NSL_LOG_ERROR);
    struct nsl_stack *st = &t.stack;
    struct nsl_test_ca srv, other;
    if (nsl_stack_init(st) != 0 || nsl_test_ca_make(st->dir, "srv", &srv) != 0 ||
        nsl_test_ca_make(st->dir, "other", &other) != 0)
        return -1;
    for (int i = 0; i < SOURCES; i++)
        if (start_source(&t.src[i], &srv) != 0)
            return -1;
    if (start_source(&t.other_ca, &other) != 0 || start_source(&t.forbidden, &srv) != 0)
        return -1;
    snprintf(t.allow, sizeof t.allow,
             "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
             t.src[0].srv.port, t.src[1].srv.port, t.src[2].srv.port, t.src[3].srv.port,
             t.src[4].srv.port, t.other_ca.srv.port);
    snprintf(t.ca_file, sizeof t.ca_file, "%s", srv.ca_cert);
    st->parent_extra[0] = "--egress-allow";
    st->parent_extra[1] = t.allow;
    st->enclave_extra[0] = "--ca-file";
    st->enclave_extra[1] = t.ca_file;
    if (nsl_stack_start_enclave(st) != 0 || nsl_stack_start_parent(st) != 0)
        return -1;
    t.client.fd = nsl_test_connect(st->enclave_url);
    if (nsl_wait_storage_ready(t.client.fd, 15000) != 0)
        return -1;
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[67], params[128];
    nsl_neo_key_generate(&t.admin_key, NULL);
    nsl_neo_key_public(t.admin_key, pub, NULL);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    json_t *reply =
        nsl_client_send(&t.client, nsl_client_envelope(&t.client, "account", "bootstrap", params));
    nsl_client_copy_string(reply, "accountId", t.admin_id, sizeof t.admin_id);
    json_decref(reply);
    struct nsl_signing admin = {.key = t.admin_key, .account = t.admin_id};
    reply = nsl_client_signed(&t.client, &admin, "account", "create", "{\"name\":\"alice\"}");
    nsl_client_copy_string(reply, "apiKey", t.alice, sizeof t.alice);
    json_decref(reply);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (t.client.fd > 0)
        close(t.client.fd);
    int rc = nsl_stack_stop(&t.stack);
    for (int i = 0; i < SOURCES; i++)
        nsl_https_server_stop(&t.src[i].srv);
    nsl_https_server_stop(&t.other_ca.srv);
    nsl_https_server_stop(&t.forbidden.srv);
    nsl_secret_free(t.admin_key);
    return rc == 0 ? 0 : -1;
}

static json_t *admin(const char *operation, const char *params)
{
    struct nsl_signing s = {.key = t.admin_key, .account = t.admin_id};
    return nsl_client_signed(&t.client, &s, "pricefeed", operation, params);
}

static void append_source(char *out, size_t len, const struct source *s, const char *name)
{
    size_t used = strlen(out);
    snprintf(out + used, len - used,
             "%s{\"preset\":\"%s\",%s%s%s\"url\":\"https://127.0.0.1:%d%s\"}",
             out[used - 1] == '[' ? "" : ",", s->preset, name ? "\"name\":\"" : "",
             name ? name : "", name ? "\"," : "", s->srv.port, s->path);
}

/* configure NEO/USD with the five presets (and the two bad sources when bad), plus extra
 * members (",\"heartbeatSec\":1"). Returns the stored configuration's reply. */
static json_t *configure(bool bad, const char *extra)
{
    char params[4096] = "{\"pair\":\"NEO/USD\",\"updateIntervalSec\":86400,\"sources\":[";
    for (int i = 0; i < SOURCES; i++)
        append_source(params, sizeof params, &t.src[i], NULL);
    if (bad) {
        append_source(params, sizeof params, &t.other_ca, "otherca");
        append_source(params, sizeof params, &t.forbidden, "forbidden");
    }
    size_t used = strlen(params);
    snprintf(params + used, sizeof params - used, "]%s}", extra ? extra : "");
    return admin("configure", params);
}

static void configure_ok(bool bad, const char *extra)
{
    json_t *reply = configure(bad, extra);
    nsl_client_result(reply);
    json_decref(reply);
}

static const json_t *fate(const json_t *result, const char *name)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(result, "sources"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
            return f;
    }
    fail_msg("no source %s", name);
    return NULL;
}

static const char *str(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    if (!v)
        fail_msg("no string member %s", name);
    return v;
}

static long long num(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v))
        fail_msg("no integer member %s", name);
    return json_integer_value(v);
}

static void expect_fate_ok(const json_t *result, const char *name, const char *price)
{
    const json_t *f = fate(result, name);
    if (!json_is_true(json_object_get(f, "ok")))
        fail_msg("%s: %s", name, json_string_value(json_object_get(f, "error")));
    if (price)
        assert_string_equal(str(f, "price"), price);
}

static void expect_fate_error(const json_t *result, const char *name, const char *in_error)
{
    const json_t *f = fate(result, name);
    assert_true(json_is_false(json_object_get(f, "ok")));
    const char *e = str(f, "error");
    if (!strstr(e, in_error))
        fail_msg("%s: error \"%s\" lacks \"%s\"", name, e, in_error);
}

static long long latest_round(void)
{
    json_t *reply = admin("get", "{\"pair\":\"NEO/USD\"}");
    long long round = num(nsl_client_result(reply), "round");
    json_decref(reply);
    return round;
}

static void test_configure_is_refused_to_users(void **state)
{
    (void)state;
    json_t *reply =
        nsl_client_apikey(&t.client, t.alice, "pricefeed", "configure",
                          "{\"pair\":\"NEO/USD\",\"sources\":[{\"preset\":\"kraken\"}]}");
    nsl_client_expect_error(reply, "PERMISSION_DENIED");
    reply = nsl_client_apikey(&t.client, t.alice, "pricefeed", "get", "{\"pair\":\"NEO/USD\"}");
    nsl_client_expect_error(reply, "NOT_FOUND"); /* before the first round */
}

static void test_first_round_is_the_median_of_all_sources(void **state)
{
    (void)state;
    static const int cents[SOURCES] = {1238, 1230, 1234, 1236, 1232};
    for (int i = 0; i < SOURCES; i++)
        atomic_store(&t.src[i].cents, cents[i]);
    json_t *reply = configure(false, NULL);
    json_t *cfg = nsl_client_result(reply);
    assert_int_equal(json_array_size(json_object_get(cfg, "sources")), SOURCES);
    assert_int_equal(num(cfg, "minSources"), 3);
    assert_int_equal(num(cfg, "decimals"), 8);
    json_decref(reply);

    reply = admin("update", "{\"pair\":\"NEO/USD\"}");
    json_t *r = nsl_client_result(reply);
    assert_true(json_is_true(json_object_get(r, "published")));
    assert_string_equal(str(r, "reason"), "first round");
    assert_string_equal(str(r, "price"), "1234000000");
    expect_fate_ok(r, "binance", "1238000000");
    expect_fate_ok(r, "coinbase", "1230000000");
    expect_fate_ok(r, "kraken", "1234000000");
    expect_fate_ok(r, "okx", "1236000000");
    expect_fate_ok(r, "coingecko", "1232000000");
    const json_t *round = json_object_get(r, "round");
    assert_string_equal(str(round, "pair"), "NEO/USD");
    assert_int_equal(num(round, "round"), 1);
    assert_string_equal(str(round, "price"), "1234000000");
    assert_int_equal(num(round, "decimals"), 8);
    long long now = (long long)time(NULL);
    assert_true(num(round, "timestamp") <= now && num(round, "timestamp") >= now - 30);
    assert_int_equal(json_array_size(json_object_get(round, "sources")), SOURCES);
    assert_int_equal(strlen(str(round, "signature")), 128);
    assert_int_equal(strlen(str(round, "signerPublicKey")), 66);
    json_decref(reply);

    /* users read it */
    reply = nsl_client_apikey(&t.client, t.alice, "pricefeed", "get", "{\"pair\":\"NEO/USD\"}");
    assert_int_equal(num(nsl_client_result(reply), "round"), 1);
    json_decref(reply);
}

static void test_far_off_source_is_dropped_as_outlier(void **state)
{
    (void)state;
    set_all(GOOD, 1250);
    atomic_store(&t.src[4].cents, 2000);
    json_t *reply = admin("update", "{\"pair\":\"NEO/USD\"}");
    json_t *r = nsl_client_result(reply);
    assert_true(json_is_true(json_object_get(r, "published")));
    assert_string_equal(str(r, "price"), "1250000000");
    expect_fate_error(r, "coingecko", "outlier");
    assert_string_equal(str(fate(r, "coingecko"), "price"), "2000000000");
    for (int i = 0; i < 4; i++)
        expect_fate_ok(r, t.src[i].preset, "1250000000");
    assert_int_equal(num(json_object_get(r, "round"), "round"), 2);
    assert_string_equal(str(json_object_get(r, "round"), "price"), "1250000000");
    json_decref(reply);
    set_all(GOOD, 1250);
}

static void test_small_move_is_not_published(void **state)
{
    (void)state;
    set_all(GOOD, 1252); /* 16 bps from 12.50, threshold 50 */
    json_t *reply = admin("update", "{\"pair\":\"NEO/USD\"}");
    json_t *r = nsl_client_result(reply);
    assert_true(json_is_false(json_object_get(r, "published")));
    const char *reason = str(r, "reason");
    if (!strstr(reason, "moved 16 bps (< 50)") || !strstr(reason, "heartbeat is due in"))
        fail_msg("reason: %s", reason);
    assert_string_equal(str(r, "price"), "1252000000");
    assert_int_equal(num(json_object_get(r, "round"), "round"), 2); /* the last one */
    json_decref(reply);
    assert_int_equal(latest_round(), 2);
}

static char heartbeat_reason[160];

static bool heartbeat_published(void *ctx)
{
    (void)ctx;
    json_t *reply = admin("update", "{\"pair\":\"NEO/USD\"}");
    json_t *r = nsl_client_result(reply);
    bool published = json_is_true(json_object_get(r, "published"));
    snprintf(heartbeat_reason, sizeof heartbeat_reason, "%s", str(r, "reason"));
    json_decref(reply);
    return published;
}

static void test_heartbeat_publishes_an_unchanged_price(void **state)
{
    (void)state;
    configure_ok(false, ",\"heartbeatSec\":1");
    assert_int_equal(nsl_wait_until(heartbeat_published, NULL, 10000), 0);
    if (strncmp(heartbeat_reason, "heartbeat", 9) != 0)
        fail_msg("reason: %s", heartbeat_reason);
    json_t *reply = admin("get", "{\"pair\":\"NEO/USD\"}");
    json_t *round = nsl_client_result(reply);
    assert_int_equal(num(round, "round"), 3);
    assert_string_equal(str(round, "price"), "1252000000");
    json_decref(reply);
    configure_ok(false, NULL); /* heartbeat back to an hour */
}

static void test_too_few_sources_is_unavailable_and_keeps_the_last_round(void **state)
{
    (void)state;
    set_all(GOOD, 1300);
    atomic_store(&t.src[2].mode, HTTP_503);
    atomic_store(&t.src[3].mode, GARBAGE);
    atomic_store(&t.src[4].mode, SLOW);
    json_t *reply = admin("update", "{\"pair\":\"NEO/USD\"}");
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(msg);
    static const char *const want[] = {"2 of 5 sources usable for NEO/USD, need 3: ", "binance ok",
                                       "coinbase ok", "kraken HTTP 503", "coingecko TIMEOUT"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(msg, want[i]))
            fail_msg("message \"%s\" lacks \"%s\"", msg, want[i]);
    const char *okx = strstr(msg, "; okx ");
    assert_non_null(okx);
    assert_true(strncmp(okx, "; okx ok", 8) != 0);
    nsl_client_expect_error(reply, "UNAVAILABLE");
    assert_int_equal(latest_round(), 3);
    set_all(GOOD, 1300);
}

static void test_other_ca_and_port_outside_allowlist_fail_alone(void **state)
{
    (void)state;
    set_all(GOOD, 1300);
    configure_ok(true, NULL);
    json_t *reply = admin("update", "{\"pair\":\"NEO/USD\"}");
    json_t *r = nsl_client_result(reply);
    assert_true(json_is_true(json_object_get(r, "published")));
    assert_string_equal(str(r, "price"), "1300000000");
    for (int i = 0; i < SOURCES; i++)
        expect_fate_ok(r, t.src[i].preset, "1300000000");
    expect_fate_error(r, "otherca", "did not verify");
    expect_fate_error(r, "forbidden", "PERMISSION_DENIED");
    expect_fate_error(r, "forbidden", "not in the egress allowlist");
    assert_int_equal(num(json_object_get(r, "round"), "round"), 4);
    json_decref(reply);
}

static void test_history_is_newest_first(void **state)
{
    (void)state;
    json_t *reply = admin("history", "{\"pair\":\"NEO/USD\"}");
    const json_t *rounds = json_object_get(nsl_client_result(reply), "rounds");
    assert_int_equal(json_array_size(rounds), 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(num(json_array_get(rounds, i), "round"), 4 - (long long)i);
    static const char *const prices[] = {"1300000000", "1252000000", "1250000000", "1234000000"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(str(json_array_get(rounds, i), "price"), prices[i]);
    json_t *latest = admin("get", "{\"pair\":\"NEO/USD\"}");
    assert_string_equal(str(json_array_get(rounds, 0), "signature"),
                        str(nsl_client_result(latest), "signature"));
    json_decref(latest);
    json_decref(reply);
    reply = nsl_client_apikey(&t.client, t.alice, "pricefeed", "history",
                              "{\"pair\":\"NEO/USD\",\"limit\":2}");
    rounds = json_object_get(nsl_client_result(reply), "rounds");
    assert_int_equal(json_array_size(rounds), 2);
    assert_int_equal(num(json_array_get(rounds, 1), "round"), 3);
    json_decref(reply);
}

static void test_pairs_lists_the_configuration(void **state)
{
    (void)state;
    json_t *reply = nsl_client_apikey(&t.client, t.alice, "pricefeed", "pairs", NULL);
    const json_t *pairs = json_object_get(nsl_client_result(reply), "pairs");
    assert_int_equal(json_array_size(pairs), 1);
    const json_t *p = json_array_get(pairs, 0);
    assert_string_equal(str(p, "pair"), "NEO/USD");
    assert_int_equal(num(p, "heartbeatSec"), 3600);
    assert_int_equal(num(p, "updateIntervalSec"), 86400);
    assert_int_equal(json_array_size(json_object_get(p, "sources")), SOURCES + 2);
    const json_t *okx = fate(p, "okx");
    char url[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", t.src[3].srv.port, t.src[3].path);
    assert_string_equal(str(okx, "url"), url);
    assert_string_equal(str(okx, "preset"), "okx");
    assert_string_equal(str(okx, "path"), "data.0.last");
    assert_string_equal(str(okx, "timestampPath"), "data.0.ts");
    assert_string_equal(str(okx, "timestampUnit"), "ms");
    assert_string_equal(str(fate(p, "kraken"), "path"), "result.NEOUSD.c.0");
    json_decref(reply);
}

static void put_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_round_signature_verifies_with_openssl(void **state)
{
    (void)state;
    json_t *key = nsl_client_apikey(&t.client, t.alice, "pricefeed", "signerKey", NULL);
    json_t *reply = admin("get", "{\"pair\":\"NEO/USD\"}");
    json_t *round = nsl_client_result(reply);
    const char *signer = str(nsl_client_result(key), "publicKey");
    assert_string_equal(signer, str(round, "signerPublicKey"));
    assert_non_null(strstr(str(nsl_client_result(key), "algorithm"), "P256"));

    /* the message is the documented layout of the round's fields */
    uint8_t want[64], msg[64];
    size_t n = 0, len;
    memcpy(want, "NSL-PRICE-1", 11);
    n = 11;
    want[n++] = 7;
    memcpy(want + n, "NEO/USD", 7);
    n += 7;
    put_le(want + n, (uint64_t)strtoll(str(round, "price"), NULL, 10));
    n += 8;
    want[n++] = (uint8_t)num(round, "decimals");
    put_le(want + n, (uint64_t)num(round, "timestamp"));
    n += 8;
    put_le(want + n, (uint64_t)num(round, "round"));
    n += 8;
    const char *msg_hex = str(round, "message");
    assert_int_equal(nsl_hex_decode(msg_hex, strlen(msg_hex), msg, sizeof msg, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(msg, want, n);

    const char *sig_hex = str(round, "signature");
    assert_int_equal(nsl_openssl_verify_p256_hex(t.stack.dir, signer, sig_hex, msg, n), 0);
    msg[n - 8] ^= 1; /* another round number */
    assert_int_not_equal(nsl_openssl_verify_p256_hex(t.stack.dir, signer, sig_hex, msg, n), 0);
    json_decref(reply);
    json_decref(key);
}

static void test_function_reads_the_price_and_fetches_allowlisted_https(void **state)
{
    (void)state;
    const char *source =
        "function main(args) {\n"
        "  var p = nsl.price.get('NEO/USD');\n"
        "  var r = nsl.http.request({method: 'GET', url: args.url});\n"
        "  var denied = '';\n"
        "  try { nsl.http.request({method: 'GET', url: args.bad}); denied = 'no error'; }\n"
        "  catch (e) { denied = String(e); }\n"
        "  var missing = '';\n"
        "  try { nsl.price.get('GAS/USD'); } catch (e) { missing = String(e); }\n"
        "  return {round: p.round, price: p.price, signature: p.signature, status: r.status,\n"
        "          body: r.body, denied: denied, missing: missing};\n"
        "}\n";
    json_t *p = json_pack("{s:s, s:s, s:{s:i}}", "name", "price", "source", source, "limits",
                          "timeMs", 10000);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    json_t *reply = nsl_client_apikey(&t.client, t.alice, "function", "deploy", text);
    free(text);
    nsl_client_result(reply);
    json_decref(reply);

    set_all(GOOD, 1300);
    char url[256], bad[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", t.src[0].srv.port, t.src[0].path);
    snprintf(bad, sizeof bad, "https://127.0.0.1:%d%s", t.forbidden.srv.port, t.forbidden.path);
    p = json_pack("{s:s, s:{s:s, s:s}}", "name", "price", "args", "url", url, "bad", bad);
    text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    reply = nsl_client_apikey(&t.client, t.alice, "function", "invoke", text);
    free(text);
    const json_t *out = json_object_get(nsl_client_result(reply), "result");
    json_t *latest = admin("get", "{\"pair\":\"NEO/USD\"}");
    assert_int_equal(num(out, "round"), num(nsl_client_result(latest), "round"));
    assert_string_equal(str(out, "price"), "1300000000");
    assert_string_equal(str(out, "signature"), str(nsl_client_result(latest), "signature"));
    assert_int_equal(num(out, "status"), 200);
    assert_string_equal(str(out, "body"), "{\"symbol\":\"NEOUSDT\",\"price\":\"13.00\"}");
    const char *denied = str(out, "denied");
    if (!strstr(denied, "not in the egress allowlist"))
        fail_msg("denied: %s", denied);
    const char *missing = str(out, "missing");
    if (!strstr(missing, "no round yet for GAS/USD"))
        fail_msg("missing: %s", missing);
    json_decref(latest);
    json_decref(reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configure_is_refused_to_users),
        cmocka_unit_test(test_first_round_is_the_median_of_all_sources),
        cmocka_unit_test(test_far_off_source_is_dropped_as_outlier),
        cmocka_unit_test(test_small_move_is_not_published),
        cmocka_unit_test(test_heartbeat_publishes_an_unchanged_price),
        cmocka_unit_test(test_too_few_sources_is_unavailable_and_keeps_the_last_round),
        cmocka_unit_test(test_other_ca_and_port_outside_allowlist_fail_alone),
        cmocka_unit_test(test_history_is_newest_first),
        cmocka_unit_test(test_pairs_lists_the_configuration),
        cmocka_unit_test(test_round_signature_verifies_with_openssl),
        cmocka_unit_test(test_function_reads_the_price_and_fetches_allowlisted_https),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
