/* Price sources (see pricefeed.h): the built-in presets with their real URLs and answer shapes,
 * the resolution of configure's "sources", the path walk over an answer's raw text and the strict
 * decimal parser.
 *
 * Why walk the raw text: jansson turns a JSON real into a double and forgets its text, so 12.34
 * would come back as 12.339999999999999857… and scaling it would need floating point. We let
 * jansson validate the whole answer (and refuse duplicate keys, so a path names one value), then
 * walk the validated text ourselves to the path and take the number's literal digits. */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "services/pricefeed.h"

/* --- presets --- */

struct preset_pair {
    const char *pair;   /* ours: "NEO/USD" */
    const char *symbol; /* what goes in the URL */
    const char *key;    /* what the answer is keyed by, where it differs from symbol */
};

struct preset {
    const char *name;
    const char *url;            /* "{}" is replaced by the symbol */
    const char *path;           /* "{}" is replaced by the key (or the symbol) */
    const char *timestamp_path; /* NULL: the answer carries no timestamp */
    bool timestamp_ms;
    struct preset_pair pairs[6];
};

/* Exchanges quote in USDT where they have no USD book (Binance, OKX); the docs say so. */
static const struct preset presets[] = {
    {"binance",
     "https://api.binance.com/api/v3/ticker/price?symbol={}",
     "price",
     NULL,
     false,
     {{"NEO/USD", "NEOUSDT", NULL},
      {"GAS/USD", "GASUSDT", NULL},
      {"BTC/USD", "BTCUSDT", NULL},
      {"ETH/USD", "ETHUSDT", NULL},
      {NULL, NULL, NULL}}},
    {"coinbase",
     "https://api.coinbase.com/v2/prices/{}/spot",
     "data.amount",
     NULL,
     false,
     {{"NEO/USD", "NEO-USD", NULL},
      {"BTC/USD", "BTC-USD", NULL},
      {"ETH/USD", "ETH-USD", NULL},
      {NULL, NULL, NULL}}},
    {"kraken",
     "https://api.kraken.com/0/public/Ticker?pair={}",
     "result.{}.c.0",
     NULL,
     false,
     {{"NEO/USD", "NEOUSD", "NEOUSD"},
      {"BTC/USD", "XBTUSD", "XXBTZUSD"},
      {"ETH/USD", "ETHUSD", "XETHZUSD"},
      {NULL, NULL, NULL}}},
    {"okx",
     "https://www.okx.com/api/v5/market/ticker?instId={}",
     "data.0.last",
     "data.0.ts",
     true,
     {{"NEO/USD", "NEO-USDT", NULL},
      {"BTC/USD", "BTC-USDT", NULL},
      {"ETH/USD", "ETH-USDT", NULL},
      {NULL, NULL, NULL}}},
    {"coingecko",
     "https://api.coingecko.com/api/v3/simple/"
     "price?ids={}&vs_currencies=usd&include_last_updated_at=true",
     "{}.usd",
     "{}.last_updated_at",
     false,
     {{"NEO/USD", "neo", NULL},
      {"GAS/USD", "gas", NULL},
      {"BTC/USD", "bitcoin", NULL},
      {"ETH/USD", "ethereum", NULL},
      {NULL, NULL, NULL}}},
};

const char *const nsl_price_preset_names[] = {"binance", "coinbase",  "kraken",
                                              "okx",     "coingecko", NULL};

/* Copies tmpl into out with "{}" replaced by value; false when it does not fit. */
static bool substitute(const char *tmpl, const char *value, char *out, size_t cap)
{
    const char *at = strstr(tmpl, "{}");
    size_t head = at ? (size_t)(at - tmpl) : strlen(tmpl);
    int n = at ? snprintf(out, cap, "%.*s%s%s", (int)head, tmpl, value, at + 2)
               : snprintf(out, cap, "%s", tmpl);
    return n >= 0 && (size_t)n < cap;
}

static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

/* A path is 1..16 non-empty segments of printable ASCII without '.'. */
static bool path_valid(const char *s)
{
    size_t n = strlen(s), segments = 1, seg_len = 0;
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (seg_len == 0)
                return false;
            segments++;
            seg_len = 0;
        } else if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\') {
            return false;
        } else {
            seg_len++;
        }
    }
    return seg_len > 0 && segments <= 16;
}

static bool url_valid(const char *s)
{
    size_t n = strlen(s);
    if (n <= 8 || n >= 512 || strncmp(s, "https://", 8) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

/* Refuses members of spec that are not in allowed (NULL-terminated). */
static nsl_err only_members(const json_t *spec, const char *const *allowed, const char *where,
                            struct nsl_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)spec, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s.%.40s is not a source field", where,
                            key);
        if (!json_is_string(value))
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s.%s must be a string", where, key);
    }
    return NSL_OK;
}

static nsl_err resolve_preset(const json_t *spec, const char *preset_name, const char *pair,
                              const char *where, struct nsl_price_source *out,
                              struct nsl_error *err)
{
    static const char *const allowed[] = {"preset", "url", "name", NULL};
    NSL_TRY(only_members(spec, allowed, where, err));
    const struct preset *p = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, preset_name) == 0)
            p = &presets[i];
    if (!p)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "%s.preset: unknown preset %.20s (binance, coinbase, kraken, okx, "
                        "coingecko)",
                        where, preset_name);
    const struct preset_pair *pp = NULL;
    for (size_t i = 0; p->pairs[i].pair; i++)
        if (strcmp(p->pairs[i].pair, pair) == 0)
            pp = &p->pairs[i];
    if (!pp)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "%s: preset %s has no symbol for %s (use a generic source)", where, p->name,
                        pair);
    const char *key = pp->key ? pp->key : pp->symbol;
    snprintf(out->preset, sizeof out->preset, "%s", p->name);
    snprintf(out->name, sizeof out->name, "%s", p->name);
    if (!substitute(p->url, pp->symbol, out->url, sizeof out->url) ||
        !substitute(p->path, key, out->path, sizeof out->path) ||
        (p->timestamp_path &&
         !substitute(p->timestamp_path, key, out->timestamp_path, sizeof out->timestamp_path)))
        return nsl_fail(err, NSL_ERR_INTERNAL, "preset %s does not fit", p->name);
    out->timestamp_ms = p->timestamp_ms;
    const char *url = nsl_json_str(spec, "url");
    if (url) /* an override keeps the preset's answer shape */
        snprintf(out->url, sizeof out->url, "%s", url);
    const char *name = nsl_json_str(spec, "name");
    if (name)
        snprintf(out->name, sizeof out->name, "%s", name);
    return NSL_OK;
}

nsl_err nsl_price_source_resolve(const json_t *spec, const char *pair, const char *where,
                                 struct nsl_price_source *out, struct nsl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(spec))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s must be an object", where);
    const char *preset = nsl_json_str(spec, "preset");
    if (preset) {
        NSL_TRY(resolve_preset(spec, preset, pair, where, out, err));
    } else {
        static const char *const allowed[] = {"name",          "url",           "path",
                                              "timestampPath", "timestampUnit", NULL};
        NSL_TRY(only_members(spec, allowed, where, err));
        const char *name = nsl_json_str(spec, "name"), *url = nsl_json_str(spec, "url"),
                   *path = nsl_json_str(spec, "path"), *ts = nsl_json_str(spec, "timestampPath"),
                   *unit = nsl_json_str(spec, "timestampUnit");
        if (!name || !url || !path)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "%s needs name, url and path (or a preset)", where);
        if (ts && !path_valid(ts))
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "%s.timestampPath must be dotted segments (up to 128 bytes)", where);
        if (unit && strcmp(unit, "s") != 0 && strcmp(unit, "ms") != 0)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s.timestampUnit must be s or ms", where);
        snprintf(out->name, sizeof out->name, "%.32s", name);
        snprintf(out->url, sizeof out->url, "%.511s", url);
        snprintf(out->path, sizeof out->path, "%.128s", path);
        snprintf(out->timestamp_path, sizeof out->timestamp_path, "%.128s", ts ? ts : "");
        out->timestamp_ms = unit && strcmp(unit, "ms") == 0;
        if (!path_valid(path))
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "%s.path must be dotted segments (up to 128 bytes)", where);
    }
    const char *name = nsl_json_str(spec, "name"), *url = nsl_json_str(spec, "url");
    if (name && !name_valid(name))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s.name must match [A-Za-z0-9_.-]{1,32}",
                        where);
    if (url && !url_valid(url))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "%s.url must be an https:// URL of printable ASCII under 512 bytes", where);
    return NSL_OK;
}

/* --- the path walk over validated JSON text --- */

struct cursor {
    const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* At a '"': moves past the string, giving its raw contents. */
static bool scan_string(struct cursor *c, const char **start, size_t *len)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    const char *s = ++c->p;
    while (c->p < c->end && *c->p != '"')
        c->p += (*c->p == '\\' && c->p + 1 < c->end) ? 2 : 1;
    if (c->p >= c->end)
        return false;
    *start = s;
    *len = (size_t)(c->p - s);
    c->p++;
    return true;
}

/* Moves past one value of any kind. */
static bool skip_value(struct cursor *c)
{
    const char *s;
    size_t n;
    skip_ws(c);
    if (c->p >= c->end)
        return false;
    if (*c->p == '"')
        return scan_string(c, &s, &n);
    if (*c->p == '{' || *c->p == '[') {
        size_t depth = 0;
        while (c->p < c->end) {
            if (*c->p == '"') {
                if (!scan_string(c, &s, &n))
                    return false;
                continue;
            }
            if (*c->p == '{' || *c->p == '[')
                depth++;
            else if ((*c->p == '}' || *c->p == ']') && --depth == 0) {
                c->p++;
                return true;
            }
            c->p++;
        }
        return false;
    }
    while (c->p < c->end && !strchr(",}] \t\r\n", *c->p))
        c->p++;
    return true;
}

/* Inside the container at c (object or array), moves to the value the segment names. */
static bool step(struct cursor *c, const char *seg, size_t seg_len)
{
    skip_ws(c);
    if (c->p >= c->end)
        return false;
    bool object = *c->p == '{';
    if (!object && *c->p != '[')
        return false;
    size_t want = 0;
    if (!object) {
        if (seg_len == 0 || seg_len > 6)
            return false;
        for (size_t i = 0; i < seg_len; i++) {
            if (seg[i] < '0' || seg[i] > '9')
                return false;
            want = want * 10 + (size_t)(seg[i] - '0');
        }
    }
    c->p++;
    for (size_t index = 0;; index++) {
        skip_ws(c);
        if (c->p < c->end && (*c->p == '}' || *c->p == ']'))
            return false;
        bool match;
        if (object) {
            const char *k;
            size_t klen;
            if (!scan_string(c, &k, &klen))
                return false;
            match = klen == seg_len && memcmp(k, seg, klen) == 0;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return false;
            c->p++;
        } else {
            match = index == want;
        }
        skip_ws(c);
        if (match)
            return true;
        if (!skip_value(c))
            return false;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ',')
            return false;
        c->p++;
    }
}

nsl_err nsl_price_json_locate(const char *body, size_t len, const char *path, const char **text,
                              size_t *text_len, bool *is_string, struct nsl_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!doc)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "answer is not JSON");
    json_decref(doc);
    struct cursor c = {body, body + len};
    for (const char *seg = path; *seg;) {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        if (!step(&c, seg, n))
            return nsl_fail(err, NSL_ERR_UNAVAILABLE, "no value at %.64s", path);
        seg += n + (dot ? 1 : 0);
    }
    skip_ws(&c);
    if (c.p >= c.end)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "no value at %.64s", path);
    if (*c.p == '"') {
        const char *s;
        size_t n;
        if (!scan_string(&c, &s, &n) || memchr(s, '\\', n))
            return nsl_fail(err, NSL_ERR_UNAVAILABLE, "value at %.64s is not a plain string", path);
        *text = s;
        *text_len = n;
        *is_string = true;
        return NSL_OK;
    }
    if (*c.p != '-' && (*c.p < '0' || *c.p > '9'))
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "value at %.64s is not a number or a string",
                        path);
    const char *s = c.p;
    skip_value(&c);
    *text = s;
    *text_len = (size_t)(c.p - s);
    *is_string = false;
    return NSL_OK;
}

/* --- strict decimals --- */

static const int64_t pow10_table[19] = {1,
                                        10,
                                        100,
                                        1000,
                                        10000,
                                        100000,
                                        1000000,
                                        10000000,
                                        100000000,
                                        1000000000,
                                        10000000000,
                                        100000000000,
                                        1000000000000,
                                        10000000000000,
                                        100000000000000,
                                        1000000000000000,
                                        10000000000000000,
                                        100000000000000000,
                                        1000000000000000000};

nsl_err nsl_price_parse_decimal(const char *text, size_t len, int decimals, int64_t *out,
                                struct nsl_error *err)
{
    if (decimals < 0 || decimals > NSL_PRICE_MAX_DECIMALS)
        return nsl_fail(err, NSL_ERR_INTERNAL, "decimals out of range");
    size_t i = 0;
    if (len == 0)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "empty price");
    if (text[0] == '-')
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "negative price");
    if (text[0] < '0' || text[0] > '9')
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price is not a decimal number");
    /* Mantissa digits (leading zeros skipped) and where the decimal point falls. */
    int64_t mantissa = 0;
    int digits = 0, exponent = 0, int_digits = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, int_digits++) {
        if (digits == 0 && text[i] == '0')
            continue;
        if (++digits > NSL_PRICE_MAX_DIGITS)
            return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price has more than 18 significant digits");
        mantissa = mantissa * 10 + (text[i] - '0');
    }
    if (int_digits > 1 && text[0] == '0')
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price has a leading zero");
    if (i < len && text[i] == '.') {
        size_t frac_start = ++i;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
            exponent--;
            if (digits == 0 && text[i] == '0')
                continue;
            if (++digits > NSL_PRICE_MAX_DIGITS)
                return nsl_fail(err, NSL_ERR_UNAVAILABLE,
                                "price has more than 18 significant digits");
            mantissa = mantissa * 10 + (text[i] - '0');
        }
        if (i == frac_start)
            return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price has no digits after the point");
    }
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        bool negative = i < len && text[i] == '-';
        if (i < len && (text[i] == '-' || text[i] == '+'))
            i++;
        size_t exp_start = i;
        int e = 0;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
            if ((e = e * 10 + (text[i] - '0')) > 99)
                return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price exponent out of range");
        if (i == exp_start)
            return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price exponent has no digits");
        exponent += negative ? -e : e;
    }
    if (i != len)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price is not a decimal number");
    if (mantissa == 0)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price is zero");
    int shift = exponent + decimals; /* value at decimals = mantissa * 10^shift */
    if (shift >= 0) {
        if (shift > 18 || mantissa > INT64_MAX / pow10_table[shift])
            return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price too large at %d decimals", decimals);
        *out = mantissa * pow10_table[shift];
    } else if (-shift > 18) {
        *out = 0; /* mantissa < 10^18 <= 10^-shift / 2 */
    } else {
        int64_t div = pow10_table[-shift], q = mantissa / div, r = mantissa % div;
        *out = q + (r >= div - r ? 1 : 0); /* half up */
    }
    if (*out <= 0)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "price rounds to zero at %d decimals", decimals);
    return NSL_OK;
}

void nsl_price_format(int64_t price, char out[24])
{
    snprintf(out, 24, "%lld", (long long)price);
}
