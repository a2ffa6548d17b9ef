/* Cross-check of the Neo module against the Neo reference SDK, @cityofzion/neon-core (pinned in
 * tests/neon/package.json): random keys, multisig accounts, NEP-2 keys, messages, NEP-17 transfers
 * and transactions (random signers, scopes, witness rules, attributes, scripts, fees) made here
 * go to tests/neon/crosscheck.mjs, which recomputes them with neon-core, verifies our signatures
 * and signs with keys we give it; this file compares everything both ways and verifies neon's
 * signatures with our code. Needs Node.js (the test fails, not skips, without it) and installs the
 * npm package with `npm ci` when tests/neon/node_modules lacks it. NSL_CROSSCHECK_SEED=N repeats
 * a run's structure (keys and signature nonces stay random). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/encoding.h"
#include "crypto/secret.h"
#include "harness/neon.h"
#include "neo/account.h"
#include "neo/address.h"
#include "neo/key.h"
#include "neo/nep17.h"
#include "neo/nep2.h"
#include "neo/script.h"
#include "neo/tx.h"
#include "neo/tx_witness.h"
#include "neo/varint.h"
#include "neo/wif.h"
#include "neo/witness_rule.h"

#define NKEYS           300
#define NNEON_KEYS      25
#define NMULTISIG       40
#define NNEP2_STANDARD  3 /* N=16384, r=8, p=8: about 1 s each way in neon-core */
#define NNEP2_LIGHT     8
#define NMESSAGES       100
#define NBAD_MESSAGES   10
#define NNEON_SIGN      60
#define NTRANSFERS      60
#define NTRANSACTIONS   200
#define MAX_TX_SIGNERS  4
#define MAINNET         860833102u
#define TESTNET         894710606u
#define NODE_TIMEOUT_MS 120000
#define MAX_REPORTED    10

/* ---- deterministic structure ---------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* ---- small JSON helpers --------------------------------------------------------------------- */

static json_t *hexj(const uint8_t *p, size_t n)
{
    char *s = nsl_hex_encode_alloc(p, n);
    assert_non_null(s);
    json_t *v = json_string(s);
    free(s);
    return v;
}

/* A hash in neon's "big-endian" form: the display form without 0x. */
static json_t *be_hexj(const uint8_t *raw, size_t n)
{
    uint8_t rev[32];
    for (size_t i = 0; i < n; i++)
        rev[i] = raw[n - 1 - i];
    return hexj(rev, n);
}

static json_t *display160(const uint8_t hash[NSL_NEO_HASH160_LEN])
{
    char text[NSL_NEO_HASH160_DISPLAY_LEN];
    nsl_neo_hash160_display(hash, text);
    return json_string(text);
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(missing)";
}

/* ---- the run: keys, what we sent, and a mismatch log ---------------------------------------- */

struct key {
    struct nsl_secret *sk;
    struct nsl_neo_account acct;
    char priv_hex[2 * NSL_NEO_PRIVKEY_LEN + 1];
};

struct run {
    struct key keys[NKEYS];
    char dir[256];
    int failures;
    int checks;
};

static struct run R;

static void mismatch(const char *what, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void mismatch(const char *what, size_t index, const char *fmt, ...)
{
    if (R.failures++ < MAX_REPORTED) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "MISMATCH %s[%zu]: ", what, index);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

static void expect_same(const char *what, size_t i, const char *field, const char *ours,
                        const json_t *theirs_obj)
{
    const char *theirs = str(theirs_obj, field);
    R.checks++;
    if (strcmp(ours, theirs) != 0)
        mismatch(what, i, "%s: ours %s, neon-core %s", field, ours, theirs);
}

/* An item neon-core threw on is a mismatch; returns true when it did. */
static bool neon_error(const char *what, size_t i, const json_t *item)
{
    const json_t *e = json_object_get(item, "error");
    if (!item || e) {
        R.checks++;
        mismatch(what, i, "neon-core failed: %s", e ? json_string_value(e) : "no answer");
        return true;
    }
    return false;
}

static void key_private_hex(const struct nsl_secret *sk, char out[2 * NSL_NEO_PRIVKEY_LEN + 1])
{
    nsl_hex_encode(nsl_secret_bytes(sk), NSL_NEO_PRIVKEY_LEN, out);
}

static struct nsl_secret *key_from_hex(const char *hex)
{
    struct nsl_secret *k = nsl_secret_new(NSL_NEO_PRIVKEY_LEN);
    size_t n = 0;
    assert_non_null(k);
    if (strlen(hex) != 64 ||
        nsl_hex_decode(hex, 64, nsl_secret_bytes(k), NSL_NEO_PRIVKEY_LEN, &n) != 0) {
        nsl_secret_free(k);
        return NULL;
    }
    return k;
}

static void wif_of(const struct nsl_secret *sk, char out[NSL_NEO_WIF_LEN + 1])
{
    struct nsl_secret *wif = NULL;
    struct nsl_error err;
    assert_int_equal(nsl_neo_wif_encode(sk, &wif, &err), NSL_OK);
    memcpy(out, nsl_secret_bytes(wif), NSL_NEO_WIF_LEN + 1);
    nsl_secret_free(wif);
}

/* ---- timing --------------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- generation: keys, accounts, NEP-2, messages, transfers --------------------------------- */

static void make_keys(json_t *in)
{
    json_t *list = json_array();
    struct nsl_error err;
    for (size_t i = 0; i < NKEYS; i++) {
        struct key *k = &R.keys[i];
        char wif[NSL_NEO_WIF_LEN + 1];
        assert_int_equal(nsl_neo_key_generate(&k->sk, &err), NSL_OK);
        assert_int_equal(nsl_neo_account_from_key(k->sk, &k->acct, &err), NSL_OK);
        key_private_hex(k->sk, k->priv_hex);
        wif_of(k->sk, wif);
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "privateKey", k->priv_hex, "wif", wif,
                            "publicKey", hexj(k->acct.pub, NSL_NEO_PUBKEY_LEN),
                            "verificationScript", hexj(k->acct.script, NSL_NEO_SINGLE_SIG_LEN),
                            "scriptHash", display160(k->acct.hash), "address", k->acct.address));
    }
    json_object_set_new(in, "keys", list);
    json_object_set_new(in, "neonKeyCount", json_integer(NNEON_KEYS));
}

/* n distinct key indexes. */
static void pick_keys(size_t n, size_t *out)
{
    for (size_t i = 0; i < n; i++) {
        bool again;
        do {
            out[i] = below(NKEYS);
            again = false;
            for (size_t j = 0; j < i; j++)
                again |= out[j] == out[i];
        } while (again);
    }
}

/* An m-of-n account of keys idx[0..n) (in that, unsorted, order). */
static void multisig_script(size_t m, const size_t *idx, size_t n, struct nsl_buf *script)
{
    uint8_t pubs[16][NSL_NEO_PUBKEY_LEN];
    struct nsl_error err;
    for (size_t i = 0; i < n; i++)
        memcpy(pubs[i], R.keys[idx[i]].acct.pub, NSL_NEO_PUBKEY_LEN);
    assert_int_equal(
        nsl_neo_script_multisig(m, (const uint8_t(*)[NSL_NEO_PUBKEY_LEN])pubs, n, script, &err),
        NSL_OK);
}

static json_t *multisig_sent;

static void make_multisig(json_t *in)
{
    multisig_sent = json_array();
    for (size_t i = 0; i < NMULTISIG; i++) {
        size_t n = 1 + below(i < 4 ? 1 : 10), m = 1 + below(n), idx[16];
        pick_keys(n, idx);
        struct nsl_buf script = {0};
        multisig_script(m, idx, n, &script);
        uint8_t hash[NSL_NEO_HASH160_LEN];
        char address[NSL_NEO_ADDRESS_SIZE];
        assert_int_equal(nsl_neo_script_hash(script.data, script.len, hash), 0);
        assert_int_equal(nsl_neo_address_from_hash(hash, address), 0);
        json_t *pubs = json_array();
        for (size_t j = 0; j < n; j++)
            json_array_append_new(pubs, hexj(R.keys[idx[j]].acct.pub, NSL_NEO_PUBKEY_LEN));
        json_array_append_new(multisig_sent,
                              json_pack("{s:I, s:o, s:o, s:o, s:s}", "m", (json_int_t)m,
                                        "publicKeys", pubs, "script", hexj(script.data, script.len),
                                        "scriptHash", display160(hash), "address", address));
        nsl_buf_free(&script);
    }
    json_object_set(in, "multisig", multisig_sent);
}

static const char *const passphrases[] = {"city of zion", "\xe6\x88\x91\xe7\x9a\x84\xe5\xaf\x86",
                                          "MyL33tP@33w0rd", "",
                                          "p\xc3\xa4ss phr\xc3\xa4se \xf0\x9f\x94\x91"};

static void make_nep2(json_t *in)
{
    json_t *list = json_array();
    struct nsl_error err;
    for (size_t i = 0; i < NNEP2_STANDARD + NNEP2_LIGHT; i++) {
        const struct key *k = &R.keys[below(NKEYS)];
        struct nsl_neo_scrypt cost = {16384, 8, 8};
        if (i >= NNEP2_STANDARD)
            cost = (struct nsl_neo_scrypt){(uint64_t)1 << (4 + below(7)), 1 + (uint32_t)below(8),
                                           1 + (uint32_t)below(2)};
        const char *pass = passphrases[i % (sizeof passphrases / sizeof *passphrases)];
        char nep2[NSL_NEO_NEP2_SIZE];
        assert_int_equal(nsl_neo_nep2_encrypt(k->sk, pass, strlen(pass), &cost, nep2, &err),
                         NSL_OK);
        json_t *item = json_pack("{s:s, s:s, s:{s:I, s:I, s:I}, s:s}", "privateKey", k->priv_hex,
                                 "passphrase", pass, "scrypt", "n", (json_int_t)cost.n, "r",
                                 (json_int_t)cost.r, "p", (json_int_t)cost.p, "encrypted", nep2);
        if (i >= NNEP2_STANDARD && i % 2 == 0)
            json_object_set_new(item, "wrongPassphrase", json_string("not the passphrase"));
        json_array_append_new(list, item);
    }
    json_object_set_new(in, "nep2", list);
}

static void make_messages(json_t *in)
{
    json_t *ours = json_array(), *theirs = json_array();
    struct nsl_error err;
    for (size_t i = 0; i < NMESSAGES + NBAD_MESSAGES; i++) {
        const struct key *k = &R.keys[below(NKEYS)];
        uint8_t msg[256], sig[NSL_NEO_SIG_LEN];
        size_t len = below(sizeof msg);
        rnd_bytes(msg, len);
        assert_int_equal(nsl_neo_key_sign(k->sk, msg, len, sig, &err), NSL_OK);
        if (i >= NMESSAGES) /* controls: a changed signature must not verify in neon-core */
            sig[below(NSL_NEO_SIG_LEN)] ^= (uint8_t)(1u << below(8));
        json_array_append_new(ours, json_pack("{s:o, s:o, s:o}", "publicKey",
                                              hexj(k->acct.pub, NSL_NEO_PUBKEY_LEN), "message",
                                              hexj(msg, len), "signature", hexj(sig, sizeof sig)));
    }
    for (size_t i = 0; i < NNEON_SIGN; i++) {
        uint8_t msg[256];
        size_t len = below(sizeof msg);
        rnd_bytes(msg, len);
        json_array_append_new(theirs,
                              json_pack("{s:s, s:o}", "privateKey", R.keys[below(NKEYS)].priv_hex,
                                        "message", hexj(msg, len)));
    }
    json_object_set_new(in, "messages", ours);
    json_object_set_new(in, "neonSign", theirs);
}

static int64_t random_amount(void)
{
    static const int64_t edges[] = {0,     1,          16,         17,         127,
                                    128,   255,        256,        32767,      32768,
                                    65535, 2147483647, 2147483648, 4294967296, INT64_MAX};
    if (below(3) == 0)
        return edges[below(sizeof edges / sizeof *edges)];
    return (int64_t)(rnd() >> (1 + below(63)));
}

/* A NEP-17 transfer script into script; its description into *desc when desc is not NULL. */
static void make_transfer(struct nsl_buf *script, json_t **desc)
{
    uint8_t token[NSL_NEO_HASH160_LEN], to[NSL_NEO_HASH160_LEN];
    const uint8_t *from = R.keys[below(NKEYS)].acct.hash;
    size_t t = below(3);
    if (t == 0)
        memcpy(token, nsl_neo_gas_hash, sizeof token);
    else if (t == 1)
        memcpy(token, nsl_neo_neo_hash, sizeof token);
    else
        rnd_bytes(token, sizeof token);
    rnd_bytes(to, sizeof to);
    int64_t amount = random_amount();
    struct nsl_error err;
    size_t start = script->len;
    assert_int_equal(nsl_neo_nep17_transfer(token, from, to, amount, script, &err), NSL_OK);
    if (desc) {
        char text[24];
        snprintf(text, sizeof text, "%lld", (long long)amount);
        *desc = json_pack("{s:o, s:o, s:o, s:s, s:o}", "token", be_hexj(token, 20), "from",
                          be_hexj(from, 20), "to", be_hexj(to, 20), "amount", text, "script",
                          hexj(script->data + start, script->len - start));
    }
}

static void make_transfers(json_t *in)
{
    json_t *list = json_array();
    for (size_t i = 0; i < NTRANSFERS; i++) {
        struct nsl_buf script = {0};
        json_t *desc = NULL;
        make_transfer(&script, &desc);
        json_array_append_new(list, desc);
        nsl_buf_free(&script);
    }
    json_object_set_new(in, "transfers", list);
}

/* ---- generation: transactions --------------------------------------------------------------- */

/* A witness condition readable at depth (composites only at depth >= 2, as neo reads them), as
 * bytes into b and as neon-core's JSON. */
static json_t *make_condition(struct nsl_buf *b, int depth)
{
    static const uint8_t leaves[] = {NSL_NEO_COND_BOOLEAN,
                                     NSL_NEO_COND_SCRIPT_HASH,
                                     NSL_NEO_COND_GROUP,
                                     NSL_NEO_COND_CALLED_BY_ENTRY,
                                     NSL_NEO_COND_CALLED_BY_CONTRACT,
                                     NSL_NEO_COND_CALLED_BY_GROUP};
    static const uint8_t composites[] = {NSL_NEO_COND_NOT, NSL_NEO_COND_AND, NSL_NEO_COND_OR};
    uint8_t type = depth >= 2 && below(2) == 0 ? composites[below(3)] : leaves[below(6)];
    uint8_t hash[NSL_NEO_HASH160_LEN];
    const uint8_t *pub = R.keys[below(NKEYS)].acct.pub;
    nsl_buf_append_u8(b, type);
    switch (type) {
    case NSL_NEO_COND_BOOLEAN: {
        uint8_t v = (uint8_t)below(2);
        nsl_buf_append_u8(b, v);
        return json_pack("{s:s, s:b}", "type", "Boolean", "expression", v);
    }
    case NSL_NEO_COND_NOT:
        return json_pack("{s:s, s:o}", "type", "Not", "expression", make_condition(b, depth - 1));
    case NSL_NEO_COND_AND:
    case NSL_NEO_COND_OR: {
        size_t n = 1 + below(3);
        json_t *list = json_array();
        nsl_neo_varint_append(b, n);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, make_condition(b, depth - 1));
        return json_pack("{s:s, s:o}", "type", type == NSL_NEO_COND_AND ? "And" : "Or",
                         "expressions", list);
    }
    case NSL_NEO_COND_SCRIPT_HASH:
    case NSL_NEO_COND_CALLED_BY_CONTRACT:
        rnd_bytes(hash, sizeof hash);
        nsl_buf_append(b, hash, sizeof hash);
        return json_pack("{s:s, s:o}", "type",
                         type == NSL_NEO_COND_SCRIPT_HASH ? "ScriptHash" : "CalledByContract",
                         "hash", be_hexj(hash, sizeof hash));
    case NSL_NEO_COND_GROUP:
    case NSL_NEO_COND_CALLED_BY_GROUP:
        nsl_buf_append(b, pub, NSL_NEO_PUBKEY_LEN);
        return json_pack("{s:s, s:o}", "type",
                         type == NSL_NEO_COND_GROUP ? "Group" : "CalledByGroup", "group",
                         hexj(pub, NSL_NEO_PUBKEY_LEN));
    default:
        return json_pack("{s:s}", "type", "CalledByEntry");
    }
}

/* One signer's account: a single key, or an m-of-n multisig of keys. */
struct tx_account {
    size_t m, n;
    size_t idx[16];
    struct nsl_buf script; /* multisig only */
    uint8_t hash[NSL_NEO_HASH160_LEN];
};

/* The state of one generated transaction; the tx points into rules, oracle and script. */
struct gen_tx {
    struct nsl_neo_tx tx;
    struct tx_account acc[MAX_TX_SIGNERS];
    struct nsl_buf rules[MAX_TX_SIGNERS];
    uint8_t oracle[64];
    struct nsl_buf script;
    uint32_t network, other_network;
};

static void make_account(struct tx_account *a)
{
    a->n = below(3) == 0 ? 2 + below(4) : 1;
    a->m = a->n == 1 ? 1 : 1 + below(a->n);
    pick_keys(a->n, a->idx);
    if (a->n == 1) {
        memcpy(a->hash, R.keys[a->idx[0]].acct.hash, NSL_NEO_HASH160_LEN);
        return;
    }
    multisig_script(a->m, a->idx, a->n, &a->script);
    assert_int_equal(nsl_neo_script_hash(a->script.data, a->script.len, a->hash), 0);
}

static json_t *make_signer(struct gen_tx *g, size_t i)
{
    static const uint8_t scope_sets[] = {0x00, 0x01, 0x10, 0x20, 0x40, 0x80, 0x11, 0x21,
                                         0x41, 0x31, 0x51, 0x61, 0x71, 0x70, 0x30, 0x50};
    struct nsl_neo_signer *s = &g->tx.signers[i];
    memcpy(s->account, g->acc[i].hash, NSL_NEO_HASH160_LEN);
    s->scopes = scope_sets[below(sizeof scope_sets)];
    json_t *j = json_pack("{s:o, s:i}", "account", be_hexj(s->account, 20), "scopes", s->scopes);
    if (s->scopes & NSL_NEO_SCOPE_CUSTOM_CONTRACTS) {
        json_t *list = json_array();
        s->ncontracts = (uint8_t)below(4);
        for (size_t k = 0; k < s->ncontracts; k++) {
            rnd_bytes(s->contracts[k], NSL_NEO_HASH160_LEN);
            json_array_append_new(list, be_hexj(s->contracts[k], NSL_NEO_HASH160_LEN));
        }
        json_object_set_new(j, "allowedContracts", list);
    }
    if (s->scopes & NSL_NEO_SCOPE_CUSTOM_GROUPS) {
        json_t *list = json_array();
        s->ngroups = (uint8_t)below(4);
        for (size_t k = 0; k < s->ngroups; k++) {
            memcpy(s->groups[k], R.keys[below(NKEYS)].acct.pub, NSL_NEO_PUBKEY_LEN);
            json_array_append_new(list, hexj(s->groups[k], NSL_NEO_PUBKEY_LEN));
        }
        json_object_set_new(j, "allowedGroups", list);
    }
    if (s->scopes & NSL_NEO_SCOPE_WITNESS_RULES) {
        json_t *list = json_array();
        s->nrules = (uint8_t)(1 + below(3));
        for (size_t k = 0; k < s->nrules; k++) {
            uint8_t action = (uint8_t)below(2);
            nsl_buf_append_u8(&g->rules[i], action);
            json_array_append_new(list, json_pack("{s:s, s:o}", "action", action ? "Allow" : "Deny",
                                                  "condition", make_condition(&g->rules[i], 3)));
        }
        s->rules = g->rules[i].data;
        s->rules_len = g->rules[i].len;
        json_object_set_new(j, "rules", list);
    }
    return j;
}

static json_t *make_attributes(struct gen_tx *g)
{
    static const uint8_t codes[] = {0x00, 0x10, 0x12, 0x14, 0x16, 0x18, 0x1a, 0x1c, 0x1f, 0xff};
    json_t *list = json_array();
    size_t n = below(3);
    for (size_t i = 0; i < n; i++) {
        struct nsl_neo_attr *a = &g->tx.attrs[g->tx.nattrs];
        uint8_t type = below(2) ? NSL_NEO_ATTR_HIGH_PRIORITY : NSL_NEO_ATTR_ORACLE_RESPONSE;
        bool seen = false;
        for (size_t k = 0; k < g->tx.nattrs; k++)
            seen |= g->tx.attrs[k].type == type;
        if (seen)
            continue;
        memset(a, 0, sizeof *a);
        a->type = type;
        g->tx.nattrs++;
        if (type == NSL_NEO_ATTR_HIGH_PRIORITY) {
            json_array_append_new(list, json_pack("{s:s}", "type", "HighPriority"));
            continue;
        }
        char id[24];
        a->oracle_id = rnd() >> below(64);
        a->oracle_code = codes[below(sizeof codes)];
        a->oracle_result = g->oracle;
        a->oracle_result_len = a->oracle_code == 0 ? below(sizeof g->oracle) : 0;
        rnd_bytes(g->oracle, a->oracle_result_len);
        snprintf(id, sizeof id, "%llu", (unsigned long long)a->oracle_id);
        json_array_append_new(list, json_pack("{s:s, s:s, s:i, s:o}", "type", "OracleResponse",
                                              "id", id, "code", a->oracle_code, "result",
                                              hexj(g->oracle, a->oracle_result_len)));
    }
    return list;
}

/* Witnesses for every signer: single-sig through nsl_neo_tx_sign, multisig from m of its keys
 * (a random subset, signed in the script's key order). */
static void sign_all(struct gen_tx *g)
{
    struct nsl_neo_tx *tx = &g->tx;
    struct nsl_error err;
    uint8_t data[NSL_NEO_SIGN_DATA_LEN];
    assert_int_equal(nsl_neo_tx_sign_data(tx, g->network, data, &err), NSL_OK);
    tx->nwitnesses = tx->nsigners;
    for (size_t i = 0; i < tx->nsigners; i++)
        tx->witnesses[i].invocation_len = tx->witnesses[i].verification_len = 0;
    for (size_t i = 0; i < tx->nsigners; i++) {
        struct tx_account *a = &g->acc[i];
        if (a->n == 1) {
            assert_int_equal(nsl_neo_tx_sign(tx, g->network, R.keys[a->idx[0]].sk, &err), NSL_OK);
            continue;
        }
        size_t m, n, used = 0;
        const uint8_t *keys;
        uint8_t sigs[16][NSL_NEO_SIG_LEN];
        assert_int_equal(
            nsl_neo_script_parse_multisig(a->script.data, a->script.len, &m, &n, &keys), 0);
        for (size_t y = 0; y < n && used < m; y++) {
            const uint8_t *pub = keys + y * NSL_NEO_MULTISIG_KEY_STRIDE;
            bool take = below(n - y) < m - used; /* a uniform m-subset, in key order */
            for (size_t k = 0; take && k < n; k++)
                if (memcmp(R.keys[a->idx[k]].acct.pub, pub, NSL_NEO_PUBKEY_LEN) == 0)
                    assert_int_equal(nsl_neo_key_sign(R.keys[a->idx[k]].sk, data, sizeof data,
                                                      sigs[used++], &err),
                                     NSL_OK);
        }
        assert_int_equal(used, m);
        assert_int_equal(nsl_neo_witness_multisig(a->script.data, a->script.len,
                                                  (const uint8_t(*)[NSL_NEO_SIG_LEN])sigs, m,
                                                  &tx->witnesses[i], &err),
                         NSL_OK);
    }
}

/* Keys neon-core signs with: all of a single-sig signer, m random ones of a multisig signer. */
static json_t *neon_signers(const struct gen_tx *g)
{
    json_t *list = json_array();
    for (size_t i = 0; i < g->tx.nsigners; i++) {
        const struct tx_account *a = &g->acc[i];
        json_t *keys = json_array();
        size_t start = below(a->n);
        for (size_t k = 0; k < a->m; k++)
            json_array_append_new(keys, json_string(R.keys[a->idx[(start + k) % a->n]].priv_hex));
        json_t *s = json_pack("{s:o}", "privateKeys", keys);
        if (a->n > 1)
            json_object_set_new(s, "verificationScript", hexj(a->script.data, a->script.len));
        json_array_append_new(list, s);
    }
    return list;
}

static bool accounts_distinct(const struct gen_tx *g, size_t upto)
{
    for (size_t j = 0; j < upto; j++)
        if (memcmp(g->acc[j].hash, g->acc[upto].hash, NSL_NEO_HASH160_LEN) == 0)
            return false;
    return true;
}

/* A random transaction: its fields for neon-core, our unsigned and signed bytes and txid. */
static json_t *make_tx(struct gen_tx *g)
{
    static const uint32_t networks[] = {MAINNET, TESTNET, 0x4e454f33u, 0};
    struct nsl_neo_tx *tx = &g->tx;
    struct nsl_error err;
    memset(g, 0, sizeof *g);
    g->network = below(4) == 3 ? (uint32_t)rnd() : networks[below(3)];
    g->other_network = g->network == MAINNET ? TESTNET : MAINNET;
    tx->nonce = (uint32_t)rnd();
    tx->system_fee = (int64_t)(rnd() >> (2 + below(62)));
    tx->network_fee = (int64_t)(rnd() >> (2 + below(62)));
    tx->valid_until_block = (uint32_t)rnd();
    tx->nsigners = 1 + below(MAX_TX_SIGNERS);
    json_t *signers = json_array();
    for (size_t i = 0; i < tx->nsigners; i++) {
        do {
            nsl_buf_free(&g->acc[i].script);
            make_account(&g->acc[i]);
        } while (!accounts_distinct(g, i));
        json_array_append_new(signers, make_signer(g, i));
    }
    json_t *attrs = make_attributes(g);
    if (below(2))
        make_transfer(&g->script, NULL);
    else {
        size_t len = 1 + below(300);
        nsl_buf_reserve(&g->script, len);
        rnd_bytes(g->script.data, len);
        g->script.len = len;
    }
    tx->script = g->script.data;
    tx->script_len = g->script.len;

    struct nsl_buf unsigned_bytes = {0}, signed_bytes = {0};
    uint8_t txid[NSL_NEO_TXID_LEN];
    char id[NSL_NEO_HASH256_DISPLAY_LEN], fee[2][24];
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &unsigned_bytes, &err), NSL_OK);
    assert_int_equal(nsl_neo_tx_hash(tx, txid, &err), NSL_OK);
    sign_all(g);
    assert_int_equal(nsl_neo_tx_encode(tx, &signed_bytes, &err), NSL_OK);
    assert_int_equal(nsl_neo_tx_verify(tx, g->network, &err), NSL_OK);
    nsl_neo_hash256_display(txid, id);
    snprintf(fee[0], sizeof fee[0], "%lld", (long long)tx->system_fee);
    snprintf(fee[1], sizeof fee[1], "%lld", (long long)tx->network_fee);
    json_t *fields =
        json_pack("{s:i, s:I, s:s, s:s, s:I, s:o, s:o, s:o}", "version", 0, "nonce",
                  (json_int_t)tx->nonce, "systemFee", fee[0], "networkFee", fee[1],
                  "validUntilBlock", (json_int_t)tx->valid_until_block, "signers", signers,
                  "attributes", attrs, "script", hexj(tx->script, tx->script_len));
    json_t *item = json_pack("{s:o, s:o, s:o, s:s, s:I, s:I, s:o}", "fields", fields, "unsigned",
                             hexj(unsigned_bytes.data, unsigned_bytes.len), "signed",
                             hexj(signed_bytes.data, signed_bytes.len), "txid", id, "network",
                             (json_int_t)g->network, "otherNetwork", (json_int_t)g->other_network,
                             "neonSigners", neon_signers(g));
    assert_non_null(item);
    nsl_buf_free(&unsigned_bytes);
    nsl_buf_free(&signed_bytes);
    return item;
}

static void free_gen_tx(struct gen_tx *g)
{
    for (size_t i = 0; i < MAX_TX_SIGNERS; i++) {
        nsl_buf_free(&g->acc[i].script);
        nsl_buf_free(&g->rules[i]);
    }
    nsl_buf_free(&g->script);
}

static json_t *tx_sent;

static void make_transactions(json_t *in)
{
    tx_sent = json_array();
    struct gen_tx *g = calloc(1, sizeof *g);
    assert_non_null(g);
    for (size_t i = 0; i < NTRANSACTIONS; i++) {
        json_array_append_new(tx_sent, make_tx(g));
        free_gen_tx(g);
    }
    free(g);
    json_object_set(in, "transactions", tx_sent);
}

/* ---- checks --------------------------------------------------------------------------------- */

static void check_keys(const json_t *in, const json_t *out)
{
    const json_t *sent = json_object_get(in, "keys"), *got = json_object_get(out, "keys");
    for (size_t i = 0; i < NKEYS; i++) {
        const json_t *o = json_array_get(sent, i), *n = json_array_get(got, i);
        if (neon_error("keys", i, n))
            continue;
        static const char *const fields[] = {"wif", "publicKey", "verificationScript", "scriptHash",
                                             "address"};
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
            expect_same("keys", i, fields[f], str(o, fields[f]), n);
        expect_same("keys", i, "privateKeyFromWif", str(o, "privateKey"), n);
        expect_same("keys", i, "hashFromAddress", str(o, "scriptHash"), n);
    }
}

/* Keys neon-core generated: our derivations of them, and our reading of its WIFs. */
static void check_neon_keys(const json_t *out)
{
    const json_t *got = json_object_get(out, "neonKeys");
    struct nsl_error err = {0};
    R.checks++;
    if (json_array_size(got) != NNEON_KEYS)
        mismatch("neonKeys", 0, "expected %d keys, got %zu", NNEON_KEYS, json_array_size(got));
    for (size_t i = 0; i < json_array_size(got); i++) {
        const json_t *n = json_array_get(got, i);
        if (neon_error("neonKeys", i, n))
            continue;
        struct nsl_secret *sk = key_from_hex(str(n, "privateKey")), *from_wif = NULL;
        struct nsl_neo_account acct;
        char wif[NSL_NEO_WIF_LEN + 1], hex[2 * NSL_NEO_PUBKEY_LEN + 1], display[64],
            script[2 * NSL_NEO_SINGLE_SIG_LEN + 1];
        R.checks++;
        if (!sk || nsl_neo_account_from_key(sk, &acct, &err) != NSL_OK ||
            nsl_neo_wif_decode(str(n, "wif"), &from_wif, &err) != NSL_OK ||
            memcmp(nsl_secret_bytes(from_wif), nsl_secret_bytes(sk), NSL_NEO_PRIVKEY_LEN) != 0) {
            mismatch("neonKeys", i, "our code refuses neon-core's key or WIF: %s", err.message);
        } else {
            wif_of(sk, wif);
            nsl_hex_encode(acct.pub, NSL_NEO_PUBKEY_LEN, hex);
            nsl_hex_encode(acct.script, NSL_NEO_SINGLE_SIG_LEN, script);
            nsl_neo_hash160_display(acct.hash, display);
            expect_same("neonKeys", i, "wif", wif, n);
            expect_same("neonKeys", i, "publicKey", hex, n);
            expect_same("neonKeys", i, "verificationScript", script, n);
            expect_same("neonKeys", i, "scriptHash", display, n);
            expect_same("neonKeys", i, "address", acct.address, n);
        }
        nsl_secret_free(sk);
        nsl_secret_free(from_wif);
    }
}

static void check_multisig(const json_t *out)
{
    const json_t *got = json_object_get(out, "multisig");
    for (size_t i = 0; i < NMULTISIG; i++) {
        const json_t *o = json_array_get(multisig_sent, i), *n = json_array_get(got, i);
        if (neon_error("multisig", i, n))
            continue;
        expect_same("multisig", i, "script", str(o, "script"), n);
        expect_same("multisig", i, "scriptHash", str(o, "scriptHash"), n);
        expect_same("multisig", i, "address", str(o, "address"), n);
    }
}

/* neon-core's NEP-2 strings equal ours, it decrypts ours, and we decrypt its. */
static void check_nep2(const json_t *in, const json_t *out)
{
    const json_t *sent = json_object_get(in, "nep2"), *got = json_object_get(out, "nep2");
    struct nsl_error err;
    for (size_t i = 0; i < json_array_size(sent); i++) {
        const json_t *o = json_array_get(sent, i), *n = json_array_get(got, i);
        if (neon_error("nep2", i, n))
            continue;
        expect_same("nep2", i, "encrypted", str(o, "encrypted"), n);
        expect_same("nep2", i, "decrypted", str(o, "privateKey"), n);
        const json_t *cost = json_object_get(o, "scrypt");
        struct nsl_neo_scrypt c = {(uint64_t)json_integer_value(json_object_get(cost, "n")),
                                   (uint32_t)json_integer_value(json_object_get(cost, "r")),
                                   (uint32_t)json_integer_value(json_object_get(cost, "p"))};
        const char *pass = str(o, "passphrase");
        struct nsl_secret *key = NULL;
        char hex[2 * NSL_NEO_PRIVKEY_LEN + 1] = "";
        if (nsl_neo_nep2_decrypt(str(n, "encrypted"), pass, strlen(pass), &c, &key, &err) == NSL_OK)
            key_private_hex(key, hex);
        nsl_secret_free(key);
        R.checks++;
        if (strcmp(hex, str(o, "privateKey")) != 0)
            mismatch("nep2", i, "our decryption of neon-core's NEP-2 failed: %s", err.message);
        if (json_object_get(o, "wrongPassphrase")) {
            R.checks++;
            if (!json_is_true(json_object_get(n, "wrongPassphraseRejected")))
                mismatch("nep2", i, "neon-core accepted a wrong passphrase");
        }
    }
}

static void check_messages(const json_t *in, const json_t *out)
{
    const json_t *got = json_object_get(out, "messages");
    for (size_t i = 0; i < NMESSAGES + NBAD_MESSAGES; i++) {
        const json_t *n = json_array_get(got, i);
        if (neon_error("messages", i, n))
            continue;
        bool expected = i < NMESSAGES;
        R.checks++;
        if (json_is_true(json_object_get(n, "valid")) != expected)
            mismatch("messages", i, "neon-core says our %s signature is %s",
                     expected ? "good" : "altered", expected ? "invalid" : "valid");
    }
    /* neon-core's signatures verify with our code, and not over another message. */
    const json_t *sent = json_object_get(in, "neonSign");
    got = json_object_get(out, "neonSigned");
    for (size_t i = 0; i < NNEON_SIGN; i++) {
        const json_t *o = json_array_get(sent, i), *n = json_array_get(got, i);
        if (neon_error("neonSigned", i, n))
            continue;
        uint8_t pub[NSL_NEO_PUBKEY_LEN], sig[NSL_NEO_SIG_LEN], msg[256];
        size_t publen = 0, siglen = 0, len = 0;
        const char *hmsg = str(o, "message"), *hpub = str(n, "publicKey"),
                   *hsig = str(n, "signature");
        R.checks += 2;
        if (nsl_hex_decode(hpub, strlen(hpub), pub, sizeof pub, &publen) != 0 ||
            nsl_hex_decode(hsig, strlen(hsig), sig, sizeof sig, &siglen) != 0 ||
            nsl_hex_decode(hmsg, strlen(hmsg), msg, sizeof msg, &len) != 0 ||
            nsl_neo_pubkey_verify(pub, publen, msg, len, sig, siglen) != 0) {
            mismatch("neonSigned", i, "neon-core's signature %s does not verify", hsig);
            continue;
        }
        msg[len] = 0x5a; /* one more byte: a different message */
        if (nsl_neo_pubkey_verify(pub, publen, msg, len + 1, sig, siglen) == 0)
            mismatch("neonSigned", i, "neon-core's signature verifies over another message");
    }
}

static void check_transfers(const json_t *in, const json_t *out)
{
    const json_t *sent = json_object_get(in, "transfers"), *got = json_object_get(out, "transfers");
    for (size_t i = 0; i < NTRANSFERS; i++) {
        const json_t *o = json_array_get(sent, i), *n = json_array_get(got, i);
        if (!neon_error("transfers", i, n))
            expect_same("transfers", i, "script", str(o, "script"), n);
    }
}

static bool all_bools(const json_t *list, bool want, size_t count)
{
    if (json_array_size(list) != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (json_is_true(json_array_get(list, i)) != want)
            return false;
    return true;
}

/* A transaction neon-core signed: we decode it, it carries the unsigned part we made, and every
 * witness verifies with our code for its network and not for another. */
static void check_neon_signed_tx(size_t i, const json_t *o, const json_t *n)
{
    const char *hex = str(n, "neonSigned"), *ours = str(o, "unsigned");
    size_t len = strlen(hex) / 2, got = 0;
    uint8_t *bytes = malloc(len + 1);
    struct nsl_neo_tx *tx = malloc(sizeof *tx);
    struct nsl_error err = {0};
    assert_non_null(bytes);
    assert_non_null(tx);
    uint32_t network = (uint32_t)json_integer_value(json_object_get(o, "network"));
    uint32_t other = (uint32_t)json_integer_value(json_object_get(o, "otherNetwork"));
    R.checks += 3;
    if (nsl_hex_decode(hex, strlen(hex), bytes, len + 1, &got) != 0 ||
        nsl_neo_tx_decode(bytes, got, tx, &err) != NSL_OK)
        mismatch("transactions", i, "we cannot decode neon-core's signed tx: %s", err.message);
    else if (strncmp(hex, ours, strlen(ours)) != 0)
        mismatch("transactions", i, "neon-core signed other unsigned bytes");
    else if (nsl_neo_tx_verify(tx, network, &err) != NSL_OK)
        mismatch("transactions", i, "neon-core's witnesses fail our check: %s", err.message);
    else if (nsl_neo_tx_verify(tx, other, &err) == NSL_OK)
        mismatch("transactions", i, "neon-core's witnesses verify for another network too");
    free(tx);
    free(bytes);
}

static void check_transactions(const json_t *out)
{
    const json_t *got = json_object_get(out, "transactions");
    for (size_t i = 0; i < NTRANSACTIONS; i++) {
        const json_t *o = json_array_get(tx_sent, i), *n = json_array_get(got, i);
        if (neon_error("transactions", i, n))
            continue;
        expect_same("transactions", i, "unsigned", str(o, "unsigned"), n);
        expect_same("transactions", i, "hash", str(o, "txid"), n);
        expect_same("transactions", i, "reserialized", str(o, "signed"), n);
        expect_same("transactions", i, "reserializedHash", str(o, "txid"), n);
        size_t nsigners = json_array_size(json_object_get(json_object_get(o, "fields"), "signers"));
        R.checks += 2;
        if (!all_bools(json_object_get(n, "witnessesValid"), true, nsigners))
            mismatch("transactions", i, "neon-core rejects our witnesses");
        if (!all_bools(json_object_get(n, "wrongNetworkValid"), false, nsigners))
            mismatch("transactions", i, "neon-core accepts our witnesses for another network");
        check_neon_signed_tx(i, o, n);
    }
}

/* ---- the test ------------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void test_neon_core_agrees_both_ways(void **state)
{
    (void)state;
    char script[600], in_path[300], out_path[300], log[300], why[512];
    nsl_neon_path("crosscheck.mjs", script, sizeof script);
    if (nsl_neon_ensure_installed(why, sizeof why) != 0)
        fail_msg("%s", why);
    snprintf(R.dir, sizeof R.dir, "/tmp/nsl-neon-XXXXXX");
    assert_non_null(mkdtemp(R.dir));

    const char *seed_env = getenv("NSL_CROSSCHECK_SEED");
    uint64_t seed =
        seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    rng_state = seed ? seed : 1;
    fprintf(stderr, "cross-check seed %llu (NSL_CROSSCHECK_SEED to repeat), files in %s\n",
            (unsigned long long)seed, R.dir);

    json_t *in = json_object();
    make_keys(in);
    make_multisig(in);
    make_nep2(in);
    make_messages(in);
    make_transfers(in);
    make_transactions(in);
    snprintf(in_path, sizeof in_path, "%s/in.json", R.dir);
    snprintf(out_path, sizeof out_path, "%s/out.json", R.dir);
    snprintf(log, sizeof log, "%s/node.log", R.dir);
    assert_int_equal(json_dump_file(in, in_path, JSON_COMPACT), 0);

    const char *argv[] = {"node", script, in_path, out_path, NULL};
    int64_t started = now_ms();
    int rc = nsl_neon_run(argv, log, NODE_TIMEOUT_MS);
    if (rc != 0) {
        nsl_neon_print_log(log);
        fail_msg("node %s failed (exit %d); files kept in %s", script, rc, R.dir);
    }
    fprintf(stderr, "neon-core took %lld ms\n", (long long)(now_ms() - started));
    json_error_t jerr;
    json_t *out = json_load_file(out_path, 0, &jerr);
    if (!out)
        fail_msg("cannot read %s: %s", out_path, jerr.text);
    if (strcmp(str(out, "neonVersion"), NSL_NEON_VERSION) != 0)
        fail_msg("neon-core %s ran, not the pinned %s", str(out, "neonVersion"), NSL_NEON_VERSION);

    check_keys(in, out);
    check_neon_keys(out);
    check_multisig(out);
    check_nep2(in, out);
    check_messages(in, out);
    check_transfers(in, out);
    check_transactions(out);
    fprintf(stderr,
            "cross-checked %d keys (+%d from neon-core), %d multisig accounts, %d NEP-2 keys (%d "
            "at N=16384), %d+%d messages (+%d altered), %d NEP-17 transfers, %d transactions: "
            "%d comparisons, %d mismatches\n",
            NKEYS, NNEON_KEYS, NMULTISIG, NNEP2_STANDARD + NNEP2_LIGHT, NNEP2_STANDARD, NMESSAGES,
            NNEON_SIGN, NBAD_MESSAGES, NTRANSFERS, NTRANSACTIONS, R.checks, R.failures);

    json_decref(out);
    json_decref(in);
    json_decref(multisig_sent);
    json_decref(tx_sent);
    for (size_t i = 0; i < NKEYS; i++)
        nsl_secret_free(R.keys[i].sk);
    if (R.failures)
        fail_msg("%d mismatches with neon-core (seed %llu); files kept in %s", R.failures,
                 (unsigned long long)seed, R.dir);
    nftw(R.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    nsl_secure_heap_init(1 << 20);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neon_core_agrees_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
