/* The real nsl binary's offline Neo commands (nsl neo ...) on the shared vectors of
 * tests/fixtures/neo/vectors.json: addresses from a WIF, a private key and a public key, the
 * multisig address, NEP-2 encrypt/decrypt (with a wrong passphrase), tx decode's txid and fields,
 * tx verify on TestNet and MainNet, and the command-line refusals. Runs <NSL_BIN_DIR>/nsl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "neo/key.h"
#include "neo/script.h"

#define RUN_TIMEOUT_MS 30000

static json_t *vectors;

/* What one run of nsl printed and how it exited (-1: killed after the timeout or a signal). */
struct result {
    int status;
    char *out;
    char *err;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(char **text, size_t *len, const char *buf, size_t n)
{
    *text = realloc(*text, *len + n + 1);
    assert_non_null(*text);
    memcpy(*text + *len, buf, n);
    *len += n;
    (*text)[*len] = 0;
}

/* Runs nsl with argv (argv[0] is replaced by the binary) and input on stdin (or none). */
static struct result run_input(const char *const *argv, const char *input)
{
    char path[512];
    const char *dir = getenv("NSL_BIN_DIR");
    snprintf(path, sizeof path, "%s/nsl", dir ? dir : "build/bin");
    int in[2], out[2], err[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(in[0]), close(out[1]), close(err[1]);
    if (input && write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
        fail_msg("cannot write nsl's stdin");
    close(in[1]);
    struct result r = {0, calloc(1, 1), calloc(1, 1)};
    char **text[2] = {&r.out, &r.err};
    size_t len[2] = {0, 0};
    int fds[2] = {out[0], err[0]};
    int64_t deadline = now_ms() + RUN_TIMEOUT_MS;
    while ((fds[0] >= 0 || fds[1] >= 0) && now_ms() < deadline) {
        struct pollfd pfd[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        if (poll(pfd, 2, (int)(deadline - now_ms())) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !pfd[i].revents)
                continue;
            char buf[4096];
            ssize_t n = read(fds[i], buf, sizeof buf);
            if (n > 0) {
                append(text[i], &len[i], buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
    bool timed_out = fds[0] >= 0 || fds[1] >= 0;
    if (timed_out)
        kill(pid, SIGKILL);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.status = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

static struct result run(const char *const *argv)
{
    return run_input(argv, NULL);
}

static void result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

static void expect_status(const struct result *r, int status)
{
    if (r->status != status)
        fail_msg("exit %d (wanted %d)\nstdout:\n%s\nstderr:\n%s", r->status, status, r->out,
                 r->err);
}

static void expect_in(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

/* stdout parsed as one JSON object. */
static json_t *out_json(const struct result *r)
{
    json_error_t jerr;
    json_t *v = json_loads(r->out, 0, &jerr);
    if (!json_is_object(v))
        fail_msg("stdout is not a JSON object (%s):\n%s", jerr.text, r->out);
    return v;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        fail_msg("no string member \"%s\"", key);
    return s;
}

static const json_t *key_vector(size_t i)
{
    return json_array_get(json_object_get(vectors, "keys"), i);
}

/* The vector transaction whose name starts with prefix. */
static const json_t *tx_vector(const char *prefix)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(vectors, "transactions"), i, t)
    {
        if (strncmp(jstr(t, "name"), prefix, strlen(prefix)) == 0)
            return t;
    }
    fail_msg("no transaction vector \"%s\"", prefix);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    char path[600];
    const char *src = getenv("NSL_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/neo/vectors.json", src ? src : ".");
    json_error_t jerr;
    vectors = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!vectors)
        fprintf(stderr, "cannot load %s: %s\n", path, jerr.text);
    return vectors ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(vectors);
    return 0;
}

/* Exactly address, scriptHash and publicKey, each as in the vector. */
static void expect_account_json(const struct result *r, const json_t *v)
{
    expect_status(r, 0);
    json_t *o = out_json(r);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(jstr(o, "address"), jstr(v, "address"));
    assert_string_equal(jstr(o, "scriptHash"), jstr(v, "scriptHashDisplay"));
    assert_string_equal(jstr(o, "publicKey"), jstr(v, "publicKey"));
    json_decref(o);
}

static void test_cli_neo_address_from_wif_private_key_and_pubkey(void **state)
{
    (void)state;
    for (size_t i = 0; i < json_array_size(json_object_get(vectors, "keys")); i++) {
        const json_t *v = key_vector(i);
        const char *wif[] = {"nsl", "neo", "address", "--wif", jstr(v, "wif"), "--json", NULL};
        const char *priv[] = {
            "nsl", "--json", "neo", "address", "--private-key", jstr(v, "privateKey"), NULL};
        const char *pub[] = {"nsl", "neo", "address", "--json", "--pubkey", jstr(v, "publicKey"),
                             NULL};
        const char *const *forms[] = {wif, priv, pub};
        for (size_t f = 0; f < 3; f++) {
            struct result r = run(forms[f]);
            expect_account_json(&r, v);
            result_free(&r);
        }
    }
}

static void test_cli_neo_address_readable_and_uncompressed_pubkey(void **state)
{
    (void)state;
    const json_t *v = key_vector(0);
    uint8_t pub[NSL_NEO_PUBKEY_LEN], full[65];
    size_t n = 0;
    char hex[131];
    const char *text = jstr(v, "publicKey");
    assert_int_equal(nsl_hex_decode(text, strlen(text), pub, sizeof pub, &n), 0);
    assert_int_equal(nsl_neo_pubkey_decompress(pub, full), 0);
    nsl_hex_encode(full, sizeof full, hex);
    const char *argv[] = {"nsl", "neo", "address", "--pubkey", hex, NULL};
    struct result r = run(argv);
    expect_status(&r, 0);
    char line[128];
    snprintf(line, sizeof line, "address: %s\n", jstr(v, "address"));
    expect_in(r.out, line);
    snprintf(line, sizeof line, "scriptHash: %s\n", jstr(v, "scriptHashDisplay"));
    expect_in(r.out, line);
    snprintf(line, sizeof line, "publicKey: %s\n", text);
    expect_in(r.out, line);
    result_free(&r);
}

static void test_cli_neo_multisig_address_in_any_key_order(void **state)
{
    (void)state;
    const json_t *ms = json_array_get(json_object_get(vectors, "multisig"), 0);
    const json_t *keys = json_object_get(ms, "publicKeys");
    char m[8];
    snprintf(m, sizeof m, "%lld", (long long)json_integer_value(json_object_get(ms, "m")));
    static const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
    for (size_t k = 0; k < 3; k++) {
        const char *argv[] = {"nsl",
                              "neo",
                              "multisig",
                              "--json",
                              "--m",
                              m,
                              json_string_value(json_array_get(keys, orders[k][0])),
                              json_string_value(json_array_get(keys, orders[k][1])),
                              json_string_value(json_array_get(keys, orders[k][2])),
                              NULL};
        struct result r = run(argv);
        expect_status(&r, 0);
        json_t *o = out_json(&r);
        assert_int_equal(json_object_size(o), 3);
        assert_string_equal(jstr(o, "address"), jstr(ms, "address"));
        assert_string_equal(jstr(o, "scriptHash"), jstr(ms, "scriptHashDisplay"));
        /* the script printed is the one that hashes to that account */
        uint8_t script[256], hash[NSL_NEO_HASH160_LEN];
        char display[NSL_NEO_HASH160_DISPLAY_LEN];
        size_t len = 0;
        const char *hex = jstr(o, "script");
        assert_int_equal(nsl_hex_decode(hex, strlen(hex), script, sizeof script, &len), 0);
        assert_int_equal(nsl_neo_script_hash(script, len, hash), 0);
        nsl_neo_hash160_display(hash, display);
        assert_string_equal(display, jstr(ms, "scriptHashDisplay"));
        json_decref(o);
        result_free(&r);
    }
}

static void test_cli_neo_nep2_encrypt_gives_the_vectors(void **state)
{
    (void)state;
    char file[] = "/tmp/nsl-neo-pass-XXXXXX";
    for (size_t i = 0; i < json_array_size(json_object_get(vectors, "keys")); i++) {
        const json_t *v = key_vector(i), *nep2 = json_object_get(v, "nep2");
        const char *pass = jstr(nep2, "passphrase");
        struct result r;
        if (i == 0) { /* --passphrase */
            const char *argv[] = {"nsl",          "neo",          "nep2", "encrypt", "--wif",
                                  jstr(v, "wif"), "--passphrase", pass,   NULL};
            r = run(argv);
        } else if (i == 1) { /* --passphrase-file, saved by an editor with a newline */
            int fd = mkstemp(file);
            assert_true(fd >= 0);
            assert_int_equal(write(fd, pass, strlen(pass)), (ssize_t)strlen(pass));
            assert_int_equal(write(fd, "\n", 1), 1);
            close(fd);
            const char *argv[] = {"nsl",
                                  "neo",
                                  "nep2",
                                  "encrypt",
                                  "--private-key",
                                  jstr(v, "privateKey"),
                                  "--passphrase-file",
                                  file,
                                  NULL};
            r = run(argv);
            unlink(file);
        } else { /* --passphrase-file - */
            const char *argv[] = {
                "nsl", "neo", "nep2", "encrypt", "--wif", jstr(v, "wif"), "--passphrase-file=-",
                NULL};
            r = run_input(argv, pass);
        }
        expect_status(&r, 0);
        char line[80];
        snprintf(line, sizeof line, "%s\n", jstr(nep2, "encrypted"));
        assert_string_equal(r.out, line);
        result_free(&r);
    }
}

static void test_cli_neo_nep2_decrypt_and_wrong_passphrase(void **state)
{
    (void)state;
    for (size_t i = 0; i < json_array_size(json_object_get(vectors, "keys")); i++) {
        const json_t *v = key_vector(i), *nep2 = json_object_get(v, "nep2");
        const char *argv[] = {"nsl",
                              "neo",
                              "nep2",
                              "decrypt",
                              "--nep2",
                              jstr(nep2, "encrypted"),
                              "--passphrase",
                              jstr(nep2, "passphrase"),
                              i == 0 ? "--json" : NULL,
                              NULL};
        struct result r = run(argv);
        expect_status(&r, 0);
        if (i == 0) {
            json_t *o = out_json(&r);
            assert_int_equal(json_object_size(o), 1);
            assert_string_equal(jstr(o, "wif"), jstr(v, "wif"));
            json_decref(o);
        } else {
            char line[80];
            snprintf(line, sizeof line, "%s\n", jstr(v, "wif"));
            assert_string_equal(r.out, line);
        }
        result_free(&r);
    }
    const json_t *nep2 = json_object_get(key_vector(0), "nep2");
    const char *wrong[] = {"nsl",          "neo",          "nep2",
                           "decrypt",      "--nep2",       jstr(nep2, "encrypted"),
                           "--passphrase", "city of zi0n", NULL};
    struct result r = run(wrong);
    expect_status(&r, 1);
    assert_string_equal(r.out, "");
    expect_in(r.err, "error: UNAUTHENTICATED: ");
    assert_null(strstr(r.err, "zi0n"));
    result_free(&r);
    const char *bad[] = {"nsl",         "neo",          "nep2",         "decrypt", "--nep2",
                         "6PYnotanep2", "--passphrase", "city of zion", NULL};
    r = run(bad);
    expect_status(&r, 1);
    expect_in(r.err, "error: INVALID_PARAMS: ");
    result_free(&r);
}

/* The C# UT_Transaction vector, built from its description: one signer (zero account, scope
 * None), script 0x42 then 31 x 0x20, one empty witness (size 84). */
static void csharp_tx_hex(char *out, size_t len)
{
    char account[41], script[65];
    memset(account, '0', 40);
    account[40] = 0;
    strcpy(script, "42");
    for (int i = 0; i < 31; i++)
        strcat(script, "20");
    snprintf(out, len,
             "00%s%s%s%s01%s00"
             "00"
             "20%s"
             "01"
             "00"
             "00",
             "00000000", "00ea56fa00000000" /* 4200000000 */, "0000000000000000", "00000000",
             account, script);
}

static void test_cli_neo_tx_decode_gives_the_txid_and_fields(void **state)
{
    (void)state;
    const json_t *go = tx_vector("neo-go"), *nep17 = tx_vector("NEP-17");
    char csharp[400];
    csharp_tx_hex(csharp, sizeof csharp);
    struct {
        const char *hex, *txid;
        size_t witnesses;
    } cases[] = {
        {jstr(go, "unsigned"), jstr(go, "txid"), 0},
        {jstr(nep17, "unsigned"), jstr(nep17, "txid"), 0},
        {jstr(nep17, "signed"), jstr(nep17, "txid"), 1},
        {csharp, jstr(tx_vector("neo C#"), "txid"), 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *argv[] = {"nsl", "neo", "tx", "decode", "--json", cases[i].hex, NULL};
        struct result r = run(argv);
        expect_status(&r, 0);
        json_t *o = out_json(&r);
        assert_string_equal(jstr(o, "txid"), cases[i].txid);
        assert_int_equal(json_integer_value(json_object_get(o, "size")), strlen(cases[i].hex) / 2);
        assert_int_equal(json_array_size(json_object_get(o, "witnesses")), cases[i].witnesses);
        json_decref(o);
        result_free(&r);
    }
    /* every field of the signed NEP-17 vector (hex on stdin) */
    const char *argv[] = {"nsl", "--json", "neo", "tx", "decode", "-", NULL};
    struct result r = run_input(argv, jstr(nep17, "signed"));
    expect_status(&r, 0);
    json_t *o = out_json(&r);
    assert_int_equal(json_integer_value(json_object_get(o, "version")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "nonce")), 12345);
    assert_string_equal(jstr(o, "systemFee"), "997775");
    assert_string_equal(jstr(o, "networkFee"), "1230610");
    assert_int_equal(json_integer_value(json_object_get(o, "validUntilBlock")), 1000000);
    const json_t *k0 = key_vector(0);
    assert_string_equal(jstr(o, "sender"), jstr(k0, "address"));
    const json_t *signer = json_array_get(json_object_get(o, "signers"), 0);
    assert_string_equal(jstr(signer, "account"), jstr(k0, "scriptHashDisplay"));
    assert_string_equal(jstr(signer, "scopes"), "CalledByEntry");
    assert_int_equal(json_array_size(json_object_get(o, "attributes")), 0);
    expect_in(jstr(nep17, "unsigned"), jstr(o, "script"));
    const json_t *w = json_array_get(json_object_get(o, "witnesses"), 0);
    assert_string_equal(jstr(w, "verification"), jstr(k0, "verificationScript"));
    expect_in(jstr(w, "invocation"), jstr(nep17, "signature"));
    json_decref(o);
    result_free(&r);
}

static void test_cli_neo_tx_decode_shows_scopes_rules_and_attributes(void **state)
{
    (void)state;
    /* signer: account 0x11.., CalledByEntry|CustomContracts|CustomGroups|WitnessRules with one
     * contract, one group and the rule Allow And(Boolean true, CalledByEntry); attributes
     * HighPriority and NotValidBefore 7; script PUSH1. */
    const char *group = jstr(key_vector(0), "publicKey");
    char hex[600];
    snprintf(hex, sizeof hex,
             "00"
             "01000000"
             "0000000000000000"
             "0000000000000000"
             "0a000000"
             "01"
             "1111111111111111111111111111111111111111"
             "71"
             "01"
             "2222222222222222222222222222222222222222"
             "01"
             "%s"
             "01"
             "01"
             "02"
             "02"
             "0001"
             "20"
             "02"
             "01"
             "2007000000"
             "01"
             "11",
             group);
    const char *argv[] = {"nsl", "neo", "tx", "decode", "--json", hex, NULL};
    struct result r = run(argv);
    expect_status(&r, 0);
    json_t *o = out_json(&r);
    const json_t *s = json_array_get(json_object_get(o, "signers"), 0);
    assert_string_equal(jstr(s, "scopes"),
                        "CalledByEntry, CustomContracts, CustomGroups, WitnessRules");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(s, "allowedContracts"), 0)),
        "0x2222222222222222222222222222222222222222");
    assert_string_equal(json_string_value(json_array_get(json_object_get(s, "allowedGroups"), 0)),
                        group);
    json_t *want = json_loads("[{\"action\":\"Allow\",\"condition\":{\"type\":\"And\","
                              "\"expressions\":[{\"type\":\"Boolean\",\"expression\":true},"
                              "{\"type\":\"CalledByEntry\"}]}}]",
                              0, NULL);
    assert_true(json_equal(json_object_get(s, "rules"), want));
    json_decref(want);
    want = json_loads("[{\"type\":\"HighPriority\"},{\"type\":\"NotValidBefore\",\"height\":7}]", 0,
                      NULL);
    assert_true(json_equal(json_object_get(o, "attributes"), want));
    json_decref(want);
    assert_string_equal(jstr(o, "script"), "11");
    assert_int_equal(json_array_size(json_object_get(o, "witnesses")), 0);
    json_decref(o);
    result_free(&r);
}

static void test_cli_neo_tx_verify_testnet_ok_mainnet_fails(void **state)
{
    (void)state;
    const char *signed_hex = jstr(tx_vector("NEP-17"), "signed");
    const char *nets_ok[] = {"testnet", "894710606", "0x3554334e"};
    for (size_t i = 0; i < 3; i++) {
        const char *argv[] = {"nsl",       "neo",      "tx",       "verify",
                              "--network", nets_ok[i], signed_hex, NULL};
        struct result r = run(argv);
        expect_status(&r, 0);
        expect_in(r.out, "valid: true\n");
        expect_in(r.out, jstr(tx_vector("NEP-17"), "txid"));
        result_free(&r);
    }
    const char *mainnet[] = {"nsl",       "neo",       "tx",       "verify",
                             "--network", "860833102", signed_hex, NULL};
    struct result r = run(mainnet);
    expect_status(&r, 1);
    expect_in(r.err, "error: UNAUTHENTICATED: witness 0 ");
    assert_string_equal(r.out, "");
    result_free(&r);
    const char *json[] = {"nsl",       "neo",     "tx",       "verify", "--json",
                          "--network", "mainnet", signed_hex, NULL};
    r = run(json);
    expect_status(&r, 1);
    json_t *o = out_json(&r);
    assert_string_equal(jstr(json_object_get(o, "data"), "code"), "UNAUTHENTICATED");
    json_decref(o);
    result_free(&r);
    /* an unsigned transaction has nothing to verify */
    const char *unsigned_tx[] = {
        "nsl", "neo", "tx", "verify", "--network", "testnet", jstr(tx_vector("NEP-17"), "unsigned"),
        NULL};
    r = run(unsigned_tx);
    expect_status(&r, 1);
    expect_in(r.err, "error: INVALID_PARAMS: ");
    result_free(&r);
}

static void test_cli_neo_bad_input_exits_1_bad_usage_exits_2(void **state)
{
    (void)state;
    const char *wif = jstr(key_vector(0), "wif");
    struct {
        const char *argv[10];
        int status;
        const char *err;
    } cases[] = {
        {{"nsl", "neo", NULL}, 2, "error: INVALID_REQUEST: "},
        {{"nsl", "neo", "frobnicate", NULL}, 2, "unknown command"},
        {{"nsl", "neo", "nep2", NULL}, 2, "encrypt or decrypt"},
        {{"nsl", "neo", "address", NULL}, 2, "exactly one of"},
        {{"nsl", "neo", "address", "--wif", wif, "--pubkey", "02", NULL}, 2, "exactly one of"},
        {{"nsl", "neo", "address", "--wiff", "secret-value", NULL}, 2, "unknown option --wiff"},
        {{"nsl", "neo", "address", "--wif", NULL}, 2, "needs a value"},
        {{"nsl", "neo", "address", "--wif", wif, "--network", "1", NULL}, 2, "does not apply"},
        {{"nsl", "neo", "multisig", "--m", "two", "02", NULL}, 2, "--m must be"},
        {{"nsl", "neo", "tx", "verify", "00", NULL}, 2, "--network is required"},
        {{"nsl", "neo", "tx", "verify", "--network", "moonnet", "00", NULL}, 2, "--network must"},
        {{"nsl", "neo", "tx", "decode", NULL}, 2, "wrong number of arguments"},
        {{"nsl", "neo", "nep2", "encrypt", "--wif", wif, NULL}, 2, "--passphrase"},
        {{"nsl", "neo", "address", "--wif", "L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4h",
          NULL},
         1,
         "error: INVALID_PARAMS: "},
        {{"nsl", "neo", "address", "--private-key", "00", NULL}, 1, "64 hex digits"},
        {{"nsl", "neo", "address", "--pubkey", "04aabb", NULL}, 1, "error: INVALID_PARAMS: "},
        {{"nsl", "neo", "multisig", "--m", "3", jstr(key_vector(0), "publicKey"),
          jstr(key_vector(1), "publicKey"), NULL},
         1,
         "error: INVALID_PARAMS: "},
        {{"nsl", "neo", "tx", "decode", "zz", NULL}, 1, "neither hex nor base64"},
        {{"nsl", "neo", "tx", "decode", "0100", NULL}, 1, "error: INVALID_PARAMS: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct result r = run(cases[i].argv);
        if (r.status != cases[i].status || !strstr(r.err, cases[i].err))
            fail_msg("case %zu: exit %d (wanted %d), stderr:\n%s(wanted \"%s\")", i, r.status,
                     cases[i].status, r.err, cases[i].err);
        /* a refused key is never repeated back */
        assert_null(strstr(r.err, "secret-value"));
        assert_null(strstr(r.err, "Fe4h"));
        result_free(&r);
    }
}

static void test_cli_neo_help(void **state)
{
    (void)state;
    const char *all[] = {"nsl", "neo", "--help", NULL};
    struct result r = run(all);
    expect_status(&r, 0);
    static const char *const commands[] = {
        "nsl neo address",   "nsl neo multisig",  "nsl neo nep2 encrypt", "nsl neo nep2 decrypt",
        "nsl neo tx decode", "nsl neo tx verify", "--passphrase-file"};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        expect_in(r.out, commands[i]);
    result_free(&r);
    const char *one[] = {"nsl", "neo", "tx", "verify", "--help", NULL};
    r = run(one);
    expect_status(&r, 0);
    expect_in(r.out, "usage: nsl neo tx verify --network MAGIC TX");
    expect_in(r.out, "--network MAGIC");
    result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_neo_address_from_wif_private_key_and_pubkey),
        cmocka_unit_test(test_cli_neo_address_readable_and_uncompressed_pubkey),
        cmocka_unit_test(test_cli_neo_multisig_address_in_any_key_order),
        cmocka_unit_test(test_cli_neo_nep2_encrypt_gives_the_vectors),
        cmocka_unit_test(test_cli_neo_nep2_decrypt_and_wrong_passphrase),
        cmocka_unit_test(test_cli_neo_tx_decode_gives_the_txid_and_fields),
        cmocka_unit_test(test_cli_neo_tx_decode_shows_scopes_rules_and_attributes),
        cmocka_unit_test(test_cli_neo_tx_verify_testnet_ok_mainnet_fails),
        cmocka_unit_test(test_cli_neo_bad_input_exits_1_bad_usage_exits_2),
        cmocka_unit_test(test_cli_neo_help),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
