/* Price sources (services/pricefeed_source.c): the presets resolved for a pair, the path walk over
 * each exchange's real answer shape, and the strict decimal parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "services/pricefeed.h"

/* Answer shapes as the exchanges send them (trimmed of fields we do not read only where long). */
static const char binance_body[] = "{\"symbol\":\"NEOUSDT\",\"price\":\"12.34000000\"}";
static const char coinbase_body[] =
    "{\"data\":{\"amount\":\"12.345\",\"base\":\"NEO\",\"currency\":\"USD\"}}";
static const char kraken_body[] =
    "{\"error\":[],\"result\":{\"NEOUSD\":{\"a\":[\"12.35000\",\"120\",\"120.000\"],"
    "\"b\":[\"12.33000\",\"3\",\"3.000\"],\"c\":[\"12.34000\",\"1.00000000\"],"
    "\"v\":[\"1000.0\",\"2000.0\"],\"p\":[\"12.3\",\"12.2\"],\"t\":[100,200],"
    "\"l\":[\"12.0\",\"11.9\"],\"h\":[\"12.5\",\"12.6\"],\"o\":\"12.10000\"}}}";
static const char okx_body[] =
    "{\"code\":\"0\",\"msg\":\"\",\"data\":[{\"instType\":\"SPOT\",\"instId\":\"NEO-USDT\","
    "\"last\":\"12.34\",\"lastSz\":\"0.5\",\"askPx\":\"12.35\",\"askSz\":\"10\",\"bidPx\":"
    "\"12.33\",\"bidSz\":\"3\",\"open24h\":\"12\",\"high24h\":\"12.6\",\"low24h\":\"11.8\","
    "\"volCcy24h\":\"1000\",\"vol24h\":\"80\",\"ts\":\"1711356300123\",\"sodUtc0\":\"12.1\","
    "\"sodUtc8\":\"12.2\"}]}";
static const char coingecko_body[] = "{\"neo\":{\"usd\":12.34,\"last_updated_at\":1711356300}}";

static void resolve_ok(const char *spec_text, const char *pair, struct nsl_price_source *src)
{
    json_error_t jerr;
    json_t *spec = json_loads(spec_text, 0, &jerr);
    struct nsl_error err = {0};
    assert_non_null(spec);
    if (nsl_price_source_resolve(spec, pair, "params.sources[0]", src, &err) != NSL_OK)
        fail_msg("%s: %s", spec_text, err.message);
    json_decref(spec);
}

static nsl_err resolve_fails(const char *spec_text, const char *pair, struct nsl_error *err)
{
    json_error_t jerr;
    json_t *spec = json_loads(spec_text, 0, &jerr);
    struct nsl_price_source src;
    assert_non_null(spec);
    nsl_err rc = nsl_price_source_resolve(spec, pair, "params.sources[0]", &src, err);
    json_decref(spec);
    return rc;
}

/* The text at src's path in body, at 8 decimals. */
static int64_t price_at(const struct nsl_price_source *src, const char *body)
{
    const char *text;
    size_t len;
    bool is_string;
    int64_t v = 0;
    struct nsl_error err = {0};
    if (nsl_price_json_locate(body, strlen(body), src->path, &text, &len, &is_string, &err) !=
            NSL_OK ||
        nsl_price_parse_decimal(text, len, 8, &v, &err) != NSL_OK)
        fail_msg("%s at %s: %s", src->name, src->path, err.message);
    return v;
}

static void test_presets_resolve_to_real_urls_and_read_real_shapes(void **state)
{
    (void)state;
    struct nsl_price_source s;
    resolve_ok("{\"preset\":\"binance\"}", "NEO/USD", &s);
    assert_string_equal(s.url, "https://api.binance.com/api/v3/ticker/price?symbol=NEOUSDT");
    assert_string_equal(s.path, "price");
    assert_string_equal(s.name, "binance");
    assert_int_equal(price_at(&s, binance_body), 1234000000);

    resolve_ok("{\"preset\":\"coinbase\"}", "NEO/USD", &s);
    assert_string_equal(s.url, "https://api.coinbase.com/v2/prices/NEO-USD/spot");
    assert_string_equal(s.path, "data.amount");
    assert_int_equal(price_at(&s, coinbase_body), 1234500000);

    resolve_ok("{\"preset\":\"kraken\"}", "NEO/USD", &s);
    assert_string_equal(s.url, "https://api.kraken.com/0/public/Ticker?pair=NEOUSD");
    assert_string_equal(s.path, "result.NEOUSD.c.0");
    assert_int_equal(price_at(&s, kraken_body), 1234000000);

    resolve_ok("{\"preset\":\"okx\"}", "NEO/USD", &s);
    assert_string_equal(s.url, "https://www.okx.com/api/v5/market/ticker?instId=NEO-USDT");
    assert_string_equal(s.path, "data.0.last");
    assert_string_equal(s.timestamp_path, "data.0.ts");
    assert_true(s.timestamp_ms);
    assert_int_equal(price_at(&s, okx_body), 1234000000);

    resolve_ok("{\"preset\":\"coingecko\"}", "NEO/USD", &s);
    assert_string_equal(s.url,
                        "https://api.coingecko.com/api/v3/simple/price?ids=neo&vs_currencies="
                        "usd&include_last_updated_at=true");
    assert_string_equal(s.path, "neo.usd");
    assert_string_equal(s.timestamp_path, "neo.last_updated_at");
    assert_false(s.timestamp_ms);
    assert_int_equal(price_at(&s, coingecko_body), 1234000000); /* a JSON number, read exactly */
}

static void test_presets_map_pairs_to_exchange_symbols(void **state)
{
    (void)state;
    struct nsl_price_source s;
    resolve_ok("{\"preset\":\"kraken\"}", "BTC/USD", &s);
    assert_string_equal(s.url, "https://api.kraken.com/0/public/Ticker?pair=XBTUSD");
    assert_string_equal(s.path, "result.XXBTZUSD.c.0");
    resolve_ok("{\"preset\":\"binance\"}", "GAS/USD", &s);
    assert_string_equal(s.url, "https://api.binance.com/api/v3/ticker/price?symbol=GASUSDT");
    resolve_ok("{\"preset\":\"coingecko\"}", "GAS/USD", &s);
    assert_string_equal(s.path, "gas.usd");
    struct nsl_error err = {0};
    assert_int_equal(resolve_fails("{\"preset\":\"coinbase\"}", "GAS/USD", &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "no symbol for GAS/USD"));
}

static void test_preset_url_override_keeps_the_answer_shape(void **state)
{
    (void)state;
    struct nsl_price_source s;
    resolve_ok("{\"preset\":\"kraken\",\"url\":\"https://127.0.0.1:8443/k\",\"name\":\"k2\"}",
               "NEO/USD", &s);
    assert_string_equal(s.url, "https://127.0.0.1:8443/k");
    assert_string_equal(s.path, "result.NEOUSD.c.0");
    assert_string_equal(s.name, "k2");
    assert_string_equal(s.preset, "kraken");
}

static void test_generic_source_and_refusals(void **state)
{
    (void)state;
    struct nsl_price_source s;
    struct nsl_error err = {0};
    resolve_ok("{\"name\":\"x\",\"url\":\"https://x.example/p\",\"path\":\"a.0.b\","
               "\"timestampPath\":\"a.0.t\",\"timestampUnit\":\"ms\"}",
               "NEO/USD", &s);
    assert_string_equal(s.path, "a.0.b");
    assert_true(s.timestamp_ms);
    assert_int_equal(resolve_fails("{\"preset\":\"bitstamp\"}", "NEO/USD", &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(resolve_fails("{\"preset\":\"binance\",\"path\":\"x\"}", "NEO/USD", &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "params.sources[0].path"));
    assert_int_equal(resolve_fails("{\"name\":\"x\",\"url\":\"http://x.example/\",\"path\":\"a\"}",
                                   "NEO/USD", &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "https://"));
    assert_int_equal(
        resolve_fails("{\"name\":\"x\",\"url\":\"https://x.example/\"}", "NEO/USD", &err),
        NSL_ERR_INVALID_PARAMS);
    assert_int_equal(resolve_fails("{\"name\":\"x\",\"url\":\"https://x.example/\",\"path\":"
                                   "\"a..b\"}",
                                   "NEO/USD", &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(resolve_fails("{\"name\":\"bad name\",\"url\":\"https://x.example/\","
                                   "\"path\":\"a\"}",
                                   "NEO/USD", &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(resolve_fails("[1]", "NEO/USD", &err), NSL_ERR_INVALID_PARAMS);
}

static nsl_err locate(const char *body, const char *path, char *out, size_t cap, bool *is_string)
{
    const char *text;
    size_t len;
    struct nsl_error err = {0};
    nsl_err rc = nsl_price_json_locate(body, strlen(body), path, &text, &len, is_string, &err);
    if (rc == NSL_OK) {
        assert_true(len < cap);
        memcpy(out, text, len);
        out[len] = 0;
    }
    return rc;
}

static void test_locate_walks_past_nested_values_and_tricky_strings(void **state)
{
    (void)state;
    char out[64];
    bool is_string;
    const char *body = " { \"x\" : [ {\"a\":\"]}\\\"{\"}, [1,[2,{}]], -1.5e3 , \"q\" ] ,"
                       " \"data\":[{\"last\":\"1\"},{\"skip\":{\"last\":\"9\"},\"last\":\"2.5\"}]}";
    assert_int_equal(locate(body, "data.1.last", out, sizeof out, &is_string), NSL_OK);
    assert_string_equal(out, "2.5");
    assert_true(is_string);
    assert_int_equal(locate(body, "x.2", out, sizeof out, &is_string), NSL_OK);
    assert_string_equal(out, "-1.5e3");
    assert_false(is_string);
    assert_int_equal(locate(body, "x.3", out, sizeof out, &is_string), NSL_OK);
    assert_string_equal(out, "q");
    assert_int_equal(locate("[\"7\",\"8\"]", "1", out, sizeof out, &is_string), NSL_OK);
    assert_string_equal(out, "8");
}

static void test_locate_refuses_what_is_not_there_or_not_plain(void **state)
{
    (void)state;
    char out[64];
    bool is_string;
    assert_int_equal(locate(okx_body, "data.1.last", out, sizeof out, &is_string),
                     NSL_ERR_UNAVAILABLE);
    assert_int_equal(locate(okx_body, "data.last", out, sizeof out, &is_string),
                     NSL_ERR_UNAVAILABLE);
    assert_int_equal(locate(kraken_body, "result.NEOUSD.c", out, sizeof out, &is_string),
                     NSL_ERR_UNAVAILABLE); /* an array is not a price */
    assert_int_equal(locate(kraken_body, "result.NEOUSD.c.0.x", out, sizeof out, &is_string),
                     NSL_ERR_UNAVAILABLE);
    assert_int_equal(locate("{\"p\":\"1\\u0032\"}", "p", out, sizeof out, &is_string),
                     NSL_ERR_UNAVAILABLE); /* escapes refused */
    assert_int_equal(locate("{\"p\":\"1\",\"p\":\"2\"}", "p", out, sizeof out, &is_string),
                     NSL_ERR_UNAVAILABLE); /* duplicate keys: ambiguous */
    assert_int_equal(locate("{\"p\":\"1\"", "p", out, sizeof out, &is_string), NSL_ERR_UNAVAILABLE);
    assert_int_equal(locate("<html>503</html>", "p", out, sizeof out, &is_string),
                     NSL_ERR_UNAVAILABLE);
    assert_int_equal(locate("{\"p\":true}", "p", out, sizeof out, &is_string), NSL_ERR_UNAVAILABLE);
    assert_int_equal(locate("{\"p\":null}", "p", out, sizeof out, &is_string), NSL_ERR_UNAVAILABLE);
}

static nsl_err parse(const char *text, int decimals, int64_t *v, struct nsl_error *err)
{
    return nsl_price_parse_decimal(text, strlen(text), decimals, v, err);
}

static void test_decimal_converts_exactly_without_floating_point(void **state)
{
    (void)state;
    int64_t v;
    struct nsl_error err = {0};
    assert_int_equal(parse("12.34", 8, &v, &err), NSL_OK);
    assert_int_equal(v, 1234000000);
    assert_int_equal(parse("0.1", 18, &v, &err), NSL_OK);
    assert_int_equal(v, 100000000000000000);
    assert_int_equal(parse("12.345678905", 8, &v, &err), NSL_OK); /* half up */
    assert_int_equal(v, 1234567891);
    assert_int_equal(parse("12.345678904999", 8, &v, &err), NSL_OK);
    assert_int_equal(v, 1234567890);
    assert_int_equal(parse("123456789012345678", 0, &v, &err), NSL_OK); /* 18 digits */
    assert_int_equal(v, 123456789012345678);
    assert_int_equal(parse("0.000000000000000012345", 0, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_int_equal(parse("92233720368.5477580", 8, &v, &err), NSL_OK); /* 18 digits */
    assert_int_equal(v, INT64_MAX - 7);
    assert_int_equal(parse("9.2e18", 0, &v, &err), NSL_OK);
    assert_int_equal(v, 9200000000000000000);
    assert_int_equal(parse("9.3e18", 0, &v, &err), NSL_ERR_UNAVAILABLE); /* above int64 */
    assert_non_null(strstr(err.message, "too large"));
    assert_int_equal(parse("1700000000123", 0, &v, &err), NSL_OK);
    assert_int_equal(v, 1700000000123);
}

static void test_decimal_exponent_forms(void **state)
{
    (void)state;
    int64_t v;
    struct nsl_error err = {0};
    assert_int_equal(parse("1.234e1", 8, &v, &err), NSL_OK);
    assert_int_equal(v, 1234000000);
    assert_int_equal(parse("1234E-2", 2, &v, &err), NSL_OK);
    assert_int_equal(v, 1234);
    assert_int_equal(parse("1e+2", 0, &v, &err), NSL_OK);
    assert_int_equal(v, 100);
    assert_int_equal(parse("1.5e-5", 8, &v, &err), NSL_OK);
    assert_int_equal(v, 1500);
    assert_int_equal(parse("1e-9", 8, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "rounds to zero"));
    assert_int_equal(parse("1e25", 0, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_int_equal(parse("1e100", 0, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_int_equal(parse("1e", 0, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_int_equal(parse("1e+", 0, &v, &err), NSL_ERR_UNAVAILABLE);
}

static void test_decimal_refuses_what_is_not_a_positive_finite_number(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "-1",
        "-0.5",
        "0",
        "0.000",
        "0e5",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "",
        "+1",
        ".5",
        "5.",
        "012",
        "00.1",
        " 12",
        "12 ",
        "1,5",
        "0x10",
        "12.3.4",
        "1234567890123456789" /* 19 digits */,
        "12.34567890123456789",
        "1_000",
        "١٢",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 7;
        struct nsl_error err = {0};
        if (parse(bad[i], 8, &v, &err) != NSL_ERR_UNAVAILABLE)
            fail_msg("accepted \"%s\" as %lld", bad[i], (long long)v);
        assert_true(err.message[0] != 0);
    }
    int64_t v;
    struct nsl_error err = {0};
    assert_int_equal(parse("-1", 8, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "negative"));
    assert_int_equal(parse("0.00", 8, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "zero"));
    assert_int_equal(parse("1234567890123456789", 0, &v, &err), NSL_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "18 significant digits"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_resolve_to_real_urls_and_read_real_shapes),
        cmocka_unit_test(test_presets_map_pairs_to_exchange_symbols),
        cmocka_unit_test(test_preset_url_override_keeps_the_answer_shape),
        cmocka_unit_test(test_generic_source_and_refusals),
        cmocka_unit_test(test_locate_walks_past_nested_values_and_tricky_strings),
        cmocka_unit_test(test_locate_refuses_what_is_not_there_or_not_plain),
        cmocka_unit_test(test_decimal_converts_exactly_without_floating_point),
        cmocka_unit_test(test_decimal_exponent_forms),
        cmocka_unit_test(test_decimal_refuses_what_is_not_a_positive_finite_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
