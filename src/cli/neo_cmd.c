/* nsl neo ... (see neo_cmd.h and docs/cli.md): one table of commands drives dispatch, the
 * options each accepts, argument counts and the help text. Every command works on local input
 * only, through the Neo module (src/neo). A failure is printed as "error: CODE: message" like the
 * rest of nsl; INVALID_REQUEST (a bad command line) exits 2, anything else 1. */
#include "cli/neo_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/output.h"
#include "cli/rpc.h"
#include "common/buf.h"
#include "common/encoding.h"
#include "common/errors.h"
#include "crypto/secret.h"
#include "neo/account.h"
#include "neo/address.h"
#include "neo/key.h"
#include "neo/nep2.h"
#include "neo/script.h"
#include "neo/tx.h"
#include "neo/tx_witness.h"
#include "neo/varint.h"
#include "neo/wif.h"
#include "neo/witness_rule.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

#define NEO_MAINNET_MAGIC 860833102u /* ProtocolSettings.Network of MainNet */
#define NEO_TESTNET_MAGIC 894710606u /* and of TestNet T5 */
#define PASSPHRASE_MAX    1024
#define TX_TEXT_MAX       (4 * NSL_NEO_TX_MAX_SIZE) /* hex of the largest tx, with room to spare */

enum opt {
    OPT_JSON,
    OPT_HELP,
    OPT_WIF,
    OPT_PRIVATE_KEY,
    OPT_PUBKEY,
    OPT_M,
    OPT_PASSPHRASE,
    OPT_PASSPHRASE_FILE,
    OPT_NEP2,
    OPT_NETWORK,
    OPT_COUNT
};

struct option_spec {
    const char *name;
    const char *arg; /* NULL for a flag */
    bool secret;     /* the value is wiped from argv once the command has run */
    const char *help;
};

static const struct option_spec options[OPT_COUNT] = {
    [OPT_JSON] = {"json", NULL, false, "print the result (or the error object) as JSON"},
    [OPT_HELP] = {"help", NULL, false, "this help"},
    [OPT_WIF] = {"wif", "WIF", true, "private key in Wallet Import Format (52 characters)"},
    [OPT_PRIVATE_KEY] = {"private-key", "HEX", true, "private key as 64 hex digits"},
    [OPT_PUBKEY] = {"pubkey", "HEX", false,
                    "public key, compressed (66 hex digits) or uncompressed (130)"},
    [OPT_M] = {"m", "M", false, "signatures required, 1..number of keys"},
    [OPT_PASSPHRASE] = {"passphrase", "TEXT", true, "NEP-2 passphrase (UTF-8, NFC)"},
    [OPT_PASSPHRASE_FILE] = {"passphrase-file", "FILE", false,
                             "read the passphrase from FILE (- for stdin); trailing newlines are "
                             "dropped"},
    [OPT_NEP2] = {"nep2", "TEXT", false, "NEP-2 encrypted key (58 characters, 6P...)"},
    [OPT_NETWORK] = {"network", "MAGIC", false,
                     "network magic: a number, mainnet (860833102) or testnet (894710606)"},
};

#define BIT(o) (1u << (o))

/* A parsed command line: option values (borrowed from argv) and the command's arguments. */
struct ctx {
    bool json;
    char *val[OPT_COUNT];
    bool set[OPT_COUNT];
    char **args;
    int nargs;
};

struct command {
    const char *word;
    const char *sub; /* second word, or NULL */
    unsigned options;
    int min_args, max_args; /* max -1: no limit */
    const char *usage;      /* after "nsl neo " */
    const char *summary;
    nsl_err (*run)(const struct ctx *c, struct nsl_error *err);
};

static nsl_err oom(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static const char *skip_0x(const char *s)
{
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? s + 2 : s;
}

static struct nsl_secret *secret_take(struct nsl_secret **s)
{
    struct nsl_secret *t = *s;
    *s = NULL;
    return t;
}

/* ---- input ---------------------------------------------------------------------------------- */

static nsl_err private_key_from_hex(const char *text, struct nsl_secret **key,
                                    struct nsl_error *err)
{
    const char *hex = skip_0x(text);
    size_t len = strlen(hex), n = 0;
    NSL_AUTO_SECRET struct nsl_secret *k = nsl_secret_new(NSL_NEO_PRIVKEY_LEN);
    if (!k)
        return oom(err);
    if (len != 2 * NSL_NEO_PRIVKEY_LEN ||
        nsl_hex_decode(hex, len, nsl_secret_bytes(k), NSL_NEO_PRIVKEY_LEN, &n) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "--private-key must be 64 hex digits");
    NSL_TRY(nsl_neo_key_check(k, err));
    *key = secret_take(&k);
    return NSL_OK;
}

/* The private key of --wif or --private-key (exactly one of them). */
static nsl_err read_private_key(const struct ctx *c, struct nsl_secret **key, struct nsl_error *err)
{
    const char *wif = c->val[OPT_WIF], *hex = c->val[OPT_PRIVATE_KEY];
    if (!wif == !hex)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "give either --wif or --private-key");
    return wif ? nsl_neo_wif_decode(wif, key, err) : private_key_from_hex(hex, key, err);
}

/* A public key in hex, compressed or not; what names it in messages. */
static nsl_err parse_pubkey(const char *text, const char *what, uint8_t pub[NSL_NEO_PUBKEY_LEN],
                            struct nsl_error *err)
{
    uint8_t raw[65];
    size_t n = 0;
    const char *hex = skip_0x(text);
    size_t len = strlen(hex);
    if ((len != 2 * NSL_NEO_PUBKEY_LEN && len != 2 * sizeof raw) ||
        nsl_hex_decode(hex, len, raw, sizeof raw, &n) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "%s must be 66 hex digits (compressed) or 130 (uncompressed)", what);
    int rc = n == NSL_NEO_PUBKEY_LEN ? nsl_neo_pubkey_check(raw, n)
                                     : nsl_neo_pubkey_compress(raw, n, pub);
    if (rc != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s is not a valid secp256r1 public key",
                        what);
    if (n == NSL_NEO_PUBKEY_LEN)
        memcpy(pub, raw, NSL_NEO_PUBKEY_LEN);
    return NSL_OK;
}

/* Reads at most cap bytes of fd into p; *n gets the count, cap + 1 meaning "more than cap". */
static int read_fd(int fd, uint8_t *p, size_t cap, size_t *n)
{
    *n = 0;
    while (*n <= cap) {
        ssize_t got = read(fd, p + *n, cap + 1 - *n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        *n += (size_t)got;
    }
    return 0;
}

static nsl_err read_passphrase_file(const char *path, struct nsl_secret **out, size_t *len,
                                    struct nsl_error *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "cannot open the passphrase file: %s",
                        strerror(errno));
    NSL_AUTO_SECRET struct nsl_secret *s = nsl_secret_new(PASSPHRASE_MAX + 1);
    size_t n = 0;
    int rc = s ? read_fd(fd, nsl_secret_bytes(s), PASSPHRASE_MAX, &n) : 0;
    int saved = errno;
    if (!is_stdin)
        close(fd);
    if (!s)
        return oom(err);
    if (rc != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "cannot read the passphrase file: %s",
                        strerror(saved));
    if (n > PASSPHRASE_MAX)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "the passphrase file is over %d bytes",
                        PASSPHRASE_MAX);
    const uint8_t *b = nsl_secret_bytes(s);
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
        n--;
    *len = n;
    *out = secret_take(&s);
    return NSL_OK;
}

/* The passphrase of --passphrase or --passphrase-file (exactly one), as a secret of at least
 * *len bytes. */
static nsl_err read_passphrase(const struct ctx *c, struct nsl_secret **out, size_t *len,
                               struct nsl_error *err)
{
    const char *text = c->val[OPT_PASSPHRASE], *file = c->val[OPT_PASSPHRASE_FILE];
    if (!text == !file)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "give either --passphrase or --passphrase-file");
    if (file)
        return read_passphrase_file(file, out, len, err);
    *len = strlen(text);
    *out = nsl_secret_from(text, *len);
    return *out ? NSL_OK : oom(err);
}

static nsl_err parse_network(const char *text, uint32_t *magic, struct nsl_error *err)
{
    if (!text)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "--network is required (a magic number, mainnet or testnet)");
    if (strcasecmp(text, "mainnet") == 0 || strcasecmp(text, "testnet") == 0) {
        *magic = strcasecmp(text, "mainnet") == 0 ? NEO_MAINNET_MAGIC : NEO_TESTNET_MAGIC;
        return NSL_OK;
    }
    const char *digits = skip_0x(text);
    char *end = NULL;
    errno = 0;
    unsigned long long v =
        isxdigit((unsigned char)digits[0]) ? strtoull(digits, &end, digits == text ? 10 : 16) : 0;
    if (!end || *end || errno || v > UINT32_MAX)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "--network must be a 32-bit magic number, mainnet or testnet");
    *magic = (uint32_t)v;
    return NSL_OK;
}

/* The transaction named by arg (hex, optionally 0x-prefixed, or base64; "-" reads stdin). */
static nsl_err read_tx_bytes(const char *arg, struct nsl_buf *out, struct nsl_error *err)
{
    struct nsl_buf in = {0};
    const char *text = arg;
    size_t len = strlen(arg);
    if (strcmp(arg, "-") == 0) {
        size_t n = 0;
        if (nsl_buf_reserve(&in, TX_TEXT_MAX + 1) != 0)
            return oom(err);
        if (read_fd(STDIN_FILENO, in.data, TX_TEXT_MAX, &n) != 0 || n > TX_TEXT_MAX) {
            nsl_buf_free(&in);
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "cannot read the transaction from stdin (or it is over %d bytes)",
                            TX_TEXT_MAX);
        }
        text = (const char *)in.data;
        len = n;
    }
    while (len > 0 && strchr(" \t\r\n", text[len - 1]))
        len--;
    while (len > 0 && strchr(" \t\r\n", text[0]))
        text++, len--;
    if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        text += 2, len -= 2;
    nsl_err rc = NSL_OK;
    size_t n = 0;
    if (len == 0 || len > TX_TEXT_MAX)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "the transaction is empty or too long");
    else if (nsl_buf_reserve(out, len) != 0)
        rc = oom(err);
    else if (nsl_hex_decode(text, len, out->data, out->cap, &n) != 0 &&
             nsl_base64_decode(text, len, out->data, out->cap, &n) != 0)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "the transaction is neither hex nor base64");
    else
        out->len = n;
    nsl_buf_free(&in);
    return rc;
}

/* ---- output --------------------------------------------------------------------------------- */

/* Sets key to v (taking it); false when v is NULL or memory ran out. */
static bool put(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0;
}

static bool append(json_t *array, json_t *v)
{
    return v && json_array_append_new(array, v) == 0;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char *hex = nsl_hex_encode_alloc(p, n);
    json_t *v = hex ? json_string(hex) : NULL;
    free(hex);
    return v;
}

static json_t *hash160_json(const uint8_t hash[NSL_NEO_HASH160_LEN])
{
    char text[NSL_NEO_HASH160_DISPLAY_LEN];
    nsl_neo_hash160_display(hash, text);
    return json_string(text);
}

static json_t *address_json(const uint8_t hash[NSL_NEO_HASH160_LEN])
{
    char text[NSL_NEO_ADDRESS_SIZE];
    return nsl_neo_address_from_hash(hash, text) == 0 ? json_string(text) : NULL;
}

static json_t *int64_text_json(uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v);
    return json_string(text);
}

/* Prints obj (readable or JSON) and releases it; NULL means memory ran out. */
static nsl_err show(const struct ctx *c, json_t *obj, bool ok, struct nsl_error *err)
{
    if (!obj || !ok) {
        json_decref(obj);
        return oom(err);
    }
    if (c->json)
        nsl_cli_output_json(stdout, obj);
    else
        nsl_cli_output_readable(stdout, obj);
    json_decref(obj);
    return NSL_OK;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes prefix, n bytes of s and suffix straight to stdout, so that the secret never sits in
 * stdio's buffer (which is not wiped). */
static nsl_err write_secret(const char *prefix, const struct nsl_secret *s, size_t n,
                            const char *suffix, struct nsl_error *err)
{
    if (fflush(stdout) != 0 || write_all(STDOUT_FILENO, prefix, strlen(prefix)) != 0 ||
        write_all(STDOUT_FILENO, nsl_secret_bytes(s), n) != 0 ||
        write_all(STDOUT_FILENO, suffix, strlen(suffix)) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot write to stdout: %s", strerror(errno));
    return NSL_OK;
}

/* ---- transactions as JSON (names as in neo Transaction.ToJson and neon-js, hex for bytes) ---- */

static json_t *condition_json(struct nsl_reader *r)
{
    static const char *const names[] = {
        [NSL_NEO_COND_BOOLEAN] = "Boolean",
        [NSL_NEO_COND_NOT] = "Not",
        [NSL_NEO_COND_AND] = "And",
        [NSL_NEO_COND_OR] = "Or",
        [NSL_NEO_COND_SCRIPT_HASH] = "ScriptHash",
        [NSL_NEO_COND_GROUP] = "Group",
        [NSL_NEO_COND_CALLED_BY_ENTRY] = "CalledByEntry",
        [NSL_NEO_COND_CALLED_BY_CONTRACT] = "CalledByContract",
        [NSL_NEO_COND_CALLED_BY_GROUP] = "CalledByGroup",
    };
    uint8_t type, b;
    const uint8_t *p;
    uint64_t n;
    if (nsl_reader_u8(r, &type) != 0 || type >= sizeof names / sizeof *names || !names[type])
        return NULL;
    json_t *o = json_object();
    bool ok = put(o, "type", json_string(names[type]));
    switch (type) {
    case NSL_NEO_COND_BOOLEAN:
        ok = ok && nsl_reader_u8(r, &b) == 0 && put(o, "expression", json_boolean(b));
        break;
    case NSL_NEO_COND_NOT:
        ok = ok && put(o, "expression", condition_json(r));
        break;
    case NSL_NEO_COND_AND:
    case NSL_NEO_COND_OR: {
        json_t *list = json_array();
        ok = ok && put(o, "expressions", list) &&
             nsl_neo_varint_read(r, NSL_NEO_MAX_SUBITEMS, &n, NULL) == 0;
        for (uint64_t i = 0; ok && i < n; i++)
            ok = append(list, condition_json(r));
        break;
    }
    case NSL_NEO_COND_SCRIPT_HASH:
    case NSL_NEO_COND_CALLED_BY_CONTRACT:
        ok = ok && nsl_reader_view(r, NSL_NEO_HASH160_LEN, &p) == 0 &&
             put(o, "hash", hash160_json(p));
        break;
    case NSL_NEO_COND_GROUP:
    case NSL_NEO_COND_CALLED_BY_GROUP:
        ok = ok && nsl_reader_view(r, NSL_NEO_PUBKEY_LEN, &p) == 0 &&
             put(o, "group", hex_json(p, NSL_NEO_PUBKEY_LEN));
        break;
    default: /* CalledByEntry: no body */
        break;
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A signer's rules, already validated by the decoder. */
static json_t *rules_json(const struct nsl_neo_signer *s)
{
    struct nsl_reader r;
    nsl_reader_init(&r, s->rules, s->rules ? s->rules_len : 0);
    json_t *list = json_array();
    bool ok = list != NULL;
    for (size_t i = 0; ok && i < s->nrules; i++) {
        uint8_t action = 0;
        json_t *rule = json_object();
        ok = append(list, rule) && nsl_reader_u8(&r, &action) == 0 &&
             put(rule, "action", json_string(action ? "Allow" : "Deny")) &&
             put(rule, "condition", condition_json(&r));
    }
    if (!ok) {
        json_decref(list);
        return NULL;
    }
    return list;
}

/* Scopes as neo's WitnessScope.ToString() writes them: "CalledByEntry, CustomContracts". */
static json_t *scopes_json(uint8_t scopes)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } names[] = {
        {NSL_NEO_SCOPE_CALLED_BY_ENTRY, "CalledByEntry"},
        {NSL_NEO_SCOPE_CUSTOM_CONTRACTS, "CustomContracts"},
        {NSL_NEO_SCOPE_CUSTOM_GROUPS, "CustomGroups"},
        {NSL_NEO_SCOPE_WITNESS_RULES, "WitnessRules"},
        {NSL_NEO_SCOPE_GLOBAL, "Global"},
    };
    char text[96] = "None";
    size_t len = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (scopes & names[i].bit)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", len ? ", " : "",
                                    names[i].name);
    return json_string(text);
}

static json_t *signer_json(const struct nsl_neo_signer *s)
{
    json_t *o = json_object();
    bool ok = put(o, "account", hash160_json(s->account)) &&
              put(o, "address", address_json(s->account)) &&
              put(o, "scopes", scopes_json(s->scopes));
    if (ok && (s->scopes & NSL_NEO_SCOPE_CUSTOM_CONTRACTS)) {
        json_t *list = json_array();
        ok = put(o, "allowedContracts", list);
        for (size_t i = 0; ok && i < s->ncontracts; i++)
            ok = append(list, hash160_json(s->contracts[i]));
    }
    if (ok && (s->scopes & NSL_NEO_SCOPE_CUSTOM_GROUPS)) {
        json_t *list = json_array();
        ok = put(o, "allowedGroups", list);
        for (size_t i = 0; ok && i < s->ngroups; i++)
            ok = append(list, hex_json(s->groups[i], NSL_NEO_PUBKEY_LEN));
    }
    if (ok && (s->scopes & NSL_NEO_SCOPE_WITNESS_RULES))
        ok = put(o, "rules", rules_json(s));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* OracleResponseCode names (neo OracleResponseCode.cs); the decoder admits no other code. */
static const char *oracle_code_name(uint8_t code)
{
    static const struct {
        uint8_t code;
        const char *name;
    } names[] = {{0x00, "Success"},
                 {0x10, "ProtocolNotSupported"},
                 {0x12, "ConsensusUnreachable"},
                 {0x14, "NotFound"},
                 {0x16, "Timeout"},
                 {0x18, "Forbidden"},
                 {0x1a, "ResponseTooLarge"},
                 {0x1c, "InsufficientFunds"},
                 {0x1f, "ContentTypeNotSupported"}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].code == code)
            return names[i].name;
    return "Error";
}

static json_t *attr_json(const struct nsl_neo_attr *a)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    switch (a->type) {
    case NSL_NEO_ATTR_HIGH_PRIORITY:
        ok = put(o, "type", json_string("HighPriority"));
        break;
    case NSL_NEO_ATTR_ORACLE_RESPONSE:
        ok = put(o, "type", json_string("OracleResponse")) &&
             put(o, "id", int64_text_json(a->oracle_id)) &&
             put(o, "code", json_string(oracle_code_name(a->oracle_code))) &&
             put(o, "result", hex_json(a->oracle_result, a->oracle_result_len));
        break;
    case NSL_NEO_ATTR_NOT_VALID_BEFORE:
        ok = put(o, "type", json_string("NotValidBefore")) &&
             put(o, "height", json_integer(a->not_valid_before));
        break;
    case NSL_NEO_ATTR_CONFLICTS: {
        char hash[NSL_NEO_HASH256_DISPLAY_LEN];
        nsl_neo_hash256_display(a->conflicts, hash);
        ok = put(o, "type", json_string("Conflicts")) && put(o, "hash", json_string(hash));
        break;
    }
    default: /* NotaryAssisted: the decoder admits no other type */
        ok = put(o, "type", json_string("NotaryAssisted")) &&
             put(o, "nKeys", json_integer(a->notary_keys));
        break;
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *witness_json(const struct nsl_neo_witness *w)
{
    json_t *o = json_object();
    if (!put(o, "invocation", hex_json(w->invocation, w->invocation_len)) ||
        !put(o, "verification", hex_json(w->verification, w->verification_len))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *tx_json(const struct nsl_neo_tx *tx, const uint8_t txid[NSL_NEO_TXID_LEN],
                       size_t size)
{
    char id[NSL_NEO_HASH256_DISPLAY_LEN];
    nsl_neo_hash256_display(txid, id);
    json_t *o = json_object();
    bool ok =
        put(o, "txid", json_string(id)) && put(o, "size", json_integer((json_int_t)size)) &&
        put(o, "version", json_integer(tx->version)) && put(o, "nonce", json_integer(tx->nonce)) &&
        put(o, "sender", address_json(tx->signers[0].account)) &&
        put(o, "systemFee", int64_text_json((uint64_t)tx->system_fee)) &&
        put(o, "networkFee", int64_text_json((uint64_t)tx->network_fee)) &&
        put(o, "validUntilBlock", json_integer(tx->valid_until_block)) &&
        put(o, "signers", json_array()) && put(o, "attributes", json_array()) &&
        put(o, "script", hex_json(tx->script, tx->script_len)) && put(o, "witnesses", json_array());
    for (size_t i = 0; ok && i < tx->nsigners; i++)
        ok = append(json_object_get(o, "signers"), signer_json(&tx->signers[i]));
    for (size_t i = 0; ok && i < tx->nattrs; i++)
        ok = append(json_object_get(o, "attributes"), attr_json(&tx->attrs[i]));
    for (size_t i = 0; ok && i < tx->nwitnesses; i++)
        ok = append(json_object_get(o, "witnesses"), witness_json(&tx->witnesses[i]));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Decodes a signed transaction, or (when allow_unsigned) only its unsigned part. */
static nsl_err decode_tx(const char *arg, bool allow_unsigned, struct nsl_buf *raw,
                         struct nsl_neo_tx **out, struct nsl_error *err)
{
    NSL_TRY(read_tx_bytes(arg, raw, err));
    struct nsl_neo_tx *tx = malloc(sizeof *tx);
    if (!tx)
        return oom(err);
    nsl_err rc = nsl_neo_tx_decode(raw->data, raw->len, tx, err);
    struct nsl_error unsigned_err = {0};
    if (rc != NSL_OK && nsl_neo_tx_decode_unsigned(raw->data, raw->len, tx, &unsigned_err) == 0)
        rc = allow_unsigned ? NSL_OK
                            : nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                                       "the transaction has no witnesses to verify");
    if (rc != NSL_OK) {
        free(tx);
        return rc;
    }
    *out = tx;
    return NSL_OK;
}

/* ---- commands ------------------------------------------------------------------------------- */

static nsl_err cmd_address(const struct ctx *c, struct nsl_error *err)
{
    struct nsl_neo_account acct;
    if (!!c->val[OPT_WIF] + !!c->val[OPT_PRIVATE_KEY] + !!c->val[OPT_PUBKEY] != 1)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "give exactly one of --wif, --private-key or --pubkey");
    if (c->val[OPT_PUBKEY]) {
        uint8_t pub[NSL_NEO_PUBKEY_LEN];
        NSL_TRY(parse_pubkey(c->val[OPT_PUBKEY], "--pubkey", pub, err));
        if (nsl_neo_account_from_pub(pub, &acct) != 0)
            return nsl_fail(err, NSL_ERR_INTERNAL, "account derivation failed");
    } else {
        NSL_AUTO_SECRET struct nsl_secret *key = NULL;
        NSL_TRY(read_private_key(c, &key, err));
        NSL_TRY(nsl_neo_account_from_key(key, &acct, err));
    }
    json_t *o = json_object();
    bool ok = put(o, "address", json_string(acct.address)) &&
              put(o, "scriptHash", hash160_json(acct.hash)) &&
              put(o, "publicKey", hex_json(acct.pub, sizeof acct.pub));
    return show(c, o, ok, err);
}

static nsl_err multisig_account(size_t m, const uint8_t (*pubs)[NSL_NEO_PUBKEY_LEN], size_t n,
                                json_t *o, bool *ok, struct nsl_error *err)
{
    struct nsl_buf script = {0};
    uint8_t hash[NSL_NEO_HASH160_LEN];
    nsl_err rc = nsl_neo_script_multisig(m, pubs, n, &script, err);
    if (rc == NSL_OK && nsl_neo_script_hash(script.data, script.len, hash) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "hashing failed");
    if (rc == NSL_OK)
        *ok = put(o, "address", address_json(hash)) && put(o, "scriptHash", hash160_json(hash)) &&
              put(o, "script", hex_json(script.data, script.len));
    nsl_buf_free(&script);
    return rc;
}

static nsl_err cmd_multisig(const struct ctx *c, struct nsl_error *err)
{
    const char *mtext = c->val[OPT_M];
    char *end = NULL;
    unsigned long m = mtext && mtext[0] >= '0' && mtext[0] <= '9' ? strtoul(mtext, &end, 10) : 0;
    if (!end || *end || m == 0 || m > NSL_NEO_MULTISIG_MAX_KEYS)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--m must be a number from 1 to %d",
                        NSL_NEO_MULTISIG_MAX_KEYS);
    size_t n = (size_t)c->nargs;
    if (n > NSL_NEO_MULTISIG_MAX_KEYS)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "at most %d public keys",
                        NSL_NEO_MULTISIG_MAX_KEYS);
    uint8_t(*pubs)[NSL_NEO_PUBKEY_LEN] = calloc(n, NSL_NEO_PUBKEY_LEN);
    if (!pubs)
        return oom(err);
    nsl_err rc = NSL_OK;
    for (size_t i = 0; rc == NSL_OK && i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "public key %zu", i + 1);
        rc = parse_pubkey(c->args[i], what, pubs[i], err);
    }
    json_t *o = json_object();
    bool ok = o != NULL;
    if (rc == NSL_OK)
        rc = multisig_account(m, (const uint8_t(*)[NSL_NEO_PUBKEY_LEN])pubs, n, o, &ok, err);
    free(pubs);
    if (rc != NSL_OK) {
        json_decref(o);
        return rc;
    }
    return show(c, o, ok, err);
}

static nsl_err cmd_nep2_encrypt(const struct ctx *c, struct nsl_error *err)
{
    NSL_AUTO_SECRET struct nsl_secret *key = NULL;
    NSL_AUTO_SECRET struct nsl_secret *pass = NULL;
    size_t len = 0;
    char nep2[NSL_NEO_NEP2_SIZE];
    NSL_TRY(read_passphrase(c, &pass, &len, err));
    NSL_TRY(read_private_key(c, &key, err));
    NSL_TRY(nsl_neo_nep2_encrypt(key, nsl_secret_bytes(pass), len, NULL, nep2, err));
    if (!c->json) {
        puts(nep2);
        return NSL_OK;
    }
    json_t *o = json_object();
    return show(c, o, put(o, "nep2", json_string(nep2)), err);
}

static nsl_err cmd_nep2_decrypt(const struct ctx *c, struct nsl_error *err)
{
    NSL_AUTO_SECRET struct nsl_secret *pass = NULL;
    NSL_AUTO_SECRET struct nsl_secret *key = NULL;
    NSL_AUTO_SECRET struct nsl_secret *wif = NULL;
    size_t len = 0;
    if (!c->val[OPT_NEP2])
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--nep2 is required");
    NSL_TRY(read_passphrase(c, &pass, &len, err));
    NSL_TRY(nsl_neo_nep2_decrypt(c->val[OPT_NEP2], nsl_secret_bytes(pass), len, NULL, &key, err));
    NSL_TRY(nsl_neo_wif_encode(key, &wif, err));
    return write_secret(c->json ? "{\n  \"wif\": \"" : "", wif, NSL_NEO_WIF_LEN,
                        c->json ? "\"\n}\n" : "\n", err);
}

static nsl_err cmd_tx_decode(const struct ctx *c, struct nsl_error *err)
{
    struct nsl_buf raw = {0};
    struct nsl_neo_tx *tx = NULL;
    uint8_t txid[NSL_NEO_TXID_LEN];
    nsl_err rc = decode_tx(c->args[0], true, &raw, &tx, err);
    if (rc == NSL_OK)
        rc = nsl_neo_tx_hash(tx, txid, err);
    if (rc == NSL_OK)
        rc = show(c, tx_json(tx, txid, raw.len), true, err);
    free(tx);
    nsl_buf_free(&raw);
    return rc;
}

static nsl_err cmd_tx_verify(const struct ctx *c, struct nsl_error *err)
{
    uint32_t magic = 0;
    struct nsl_buf raw = {0};
    struct nsl_neo_tx *tx = NULL;
    uint8_t txid[NSL_NEO_TXID_LEN];
    char id[NSL_NEO_HASH256_DISPLAY_LEN];
    NSL_TRY(parse_network(c->val[OPT_NETWORK], &magic, err));
    nsl_err rc = decode_tx(c->args[0], false, &raw, &tx, err);
    if (rc == NSL_OK)
        rc = nsl_neo_tx_hash(tx, txid, err);
    if (rc == NSL_OK)
        rc = nsl_neo_tx_verify(tx, magic, err);
    if (rc == NSL_OK) {
        nsl_neo_hash256_display(txid, id);
        json_t *o = json_object();
        bool ok = put(o, "valid", json_true()) && put(o, "txid", json_string(id)) &&
                  put(o, "network", json_integer(magic)) &&
                  put(o, "witnesses", json_integer((json_int_t)tx->nwitnesses));
        rc = show(c, o, ok, err);
    }
    free(tx);
    nsl_buf_free(&raw);
    return rc;
}

#define KEY_OPTS    (BIT(OPT_WIF) | BIT(OPT_PRIVATE_KEY))
#define PASS_OPTS   (BIT(OPT_PASSPHRASE) | BIT(OPT_PASSPHRASE_FILE))
#define COMMON_OPTS (BIT(OPT_JSON) | BIT(OPT_HELP))

static const struct command commands[] = {
    {"address", NULL, KEY_OPTS | BIT(OPT_PUBKEY), 0, 0,
     "address (--wif WIF | --private-key HEX | --pubkey HEX)",
     "the address, script hash (0x display form) and public key of a key", cmd_address},
    {"multisig", NULL, BIT(OPT_M), 1, -1, "multisig --m M PUBKEY...",
     "the address, script hash and script of an M-of-N account (keys in any order)", cmd_multisig},
    {"nep2", "encrypt", KEY_OPTS | PASS_OPTS, 0, 0,
     "nep2 encrypt (--wif WIF | --private-key HEX) (--passphrase P | --passphrase-file FILE)",
     "the NEP-2 encrypted key (scrypt N=16384, r=8, p=8)", cmd_nep2_encrypt},
    {"nep2", "decrypt", BIT(OPT_NEP2) | PASS_OPTS, 0, 0,
     "nep2 decrypt --nep2 TEXT (--passphrase P | --passphrase-file FILE)",
     "the WIF of a NEP-2 encrypted key; a wrong passphrase fails with UNAUTHENTICATED",
     cmd_nep2_decrypt},
    {"tx", "decode", 0, 1, 1, "tx decode TX",
     "every field of a transaction (signed or unsigned; TX is hex, base64 or - for stdin)",
     cmd_tx_decode},
    {"tx", "verify", BIT(OPT_NETWORK), 1, 1, "tx verify --network MAGIC TX",
     "checks every witness's signature for that network: exit 0 only if all verify", cmd_tx_verify},
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

/* ---- command line and help ------------------------------------------------------------------ */

static void print_options(FILE *out, unsigned mask)
{
    for (int o = 0; o < OPT_COUNT; o++) {
        if (!(mask & BIT(o)))
            continue;
        char left[48];
        snprintf(left, sizeof left, "--%s%s%s", options[o].name, options[o].arg ? " " : "",
                 options[o].arg ? options[o].arg : "");
        fprintf(out, "  %-24s %s\n", left, options[o].help);
    }
}

static void print_command_help(FILE *out, const struct command *cmd)
{
    fprintf(out, "usage: nsl neo %s [--json]\n\n%s.\n\noptions:\n", cmd->usage, cmd->summary);
    print_options(out, cmd->options | COMMON_OPTS);
}

static void print_help(FILE *out)
{
    fputs("nsl neo: offline Neo N3 utilities (nothing is sent anywhere)\n\nusage:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  nsl neo %s [--json]\n      %s\n", commands[i].usage, commands[i].summary);
    fputs("\noptions:\n", out);
    print_options(out, ~0u);
    fputs("\nExit status: 0 success, 1 failure (error: CODE: message on stderr), 2 bad command "
          "line.\nKeys given on the command line are visible to other local users while nsl "
          "runs;\nprefer --passphrase-file for passphrases.\n",
          out);
}

static nsl_err parse_option(int argc, char **argv, int *i, struct ctx *c, struct nsl_error *err)
{
    char *a = argv[*i];
    const char *name = a + 2;
    if (strcmp(a, "-h") == 0)
        name = "help";
    else if (a[1] != '-')
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "unknown option %.40s", a);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int o = 0;
    while (o < OPT_COUNT &&
           !(strlen(options[o].name) == len && strncmp(options[o].name, name, len) == 0))
        o++;
    if (o == OPT_COUNT) /* the name only: a mistyped option's value may be a secret */
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "unknown option --%.*s (nsl neo --help)",
                        (int)(len > 40 ? 40 : len), name);
    if (c->set[o])
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--%s given twice", options[o].name);
    c->set[o] = true;
    if (!options[o].arg) {
        if (eq)
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--%s takes no value", options[o].name);
        return NSL_OK;
    }
    if (eq)
        c->val[o] = (char *)eq + 1;
    else if (*i + 1 < argc)
        c->val[o] = argv[++*i];
    else
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--%s needs a value (%s)", options[o].name,
                        options[o].arg);
    return NSL_OK;
}

/* Options anywhere; words (after "neo") into words[]; "--" ends the options. */
static nsl_err parse_command_line(int argc, char **argv, struct ctx *c, char **words, int *nwords,
                                  struct nsl_error *err)
{
    bool options_done = false;
    *nwords = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0)
            words[(*nwords)++] = a;
        else if (strcmp(a, "--") == 0)
            options_done = true;
        else
            NSL_TRY(parse_option(argc, argv, &i, c, err));
    }
    c->json = c->set[OPT_JSON];
    return NSL_OK;
}

static const struct command *find_command(char **words, int nwords, struct nsl_error *err)
{
    if (nwords < 2)
        return NULL;
    bool known_word = false;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].word, words[1]) != 0)
            continue;
        known_word = true;
        if (!commands[i].sub || (nwords >= 3 && strcmp(commands[i].sub, words[2]) == 0))
            return &commands[i];
    }
    if (known_word)
        nsl_fail(err, NSL_ERR_INVALID_REQUEST, "nsl neo %s needs %s (nsl neo --help)", words[1],
                 strcmp(words[1], "tx") == 0 ? "decode or verify" : "encrypt or decrypt");
    else
        nsl_fail(err, NSL_ERR_INVALID_REQUEST, /* not repeated: it could be a mistyped key */
                 "unknown command after nsl neo (nsl neo --help lists them)");
    return NULL;
}

static int report(bool json, const struct nsl_error *err)
{
    return nsl_cli_output_failure(json, err,
                                  err->code == NSL_ERR_INVALID_REQUEST ? EXIT_USAGE : EXIT_FAILED);
}

/* Parses and runs; *cmd is the command found (for a usage hint), if any. */
static nsl_err dispatch(int argc, char **argv, struct ctx *c, char **words,
                        const struct command **cmd, struct nsl_error *err)
{
    int nwords = 0;
    NSL_TRY(parse_command_line(argc, argv, c, words, &nwords, err));
    if (nwords < 2 && c->set[OPT_HELP]) {
        print_help(stdout);
        return NSL_OK;
    }
    if (nwords < 2)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "nsl neo needs a command (nsl neo --help)");
    *cmd = find_command(words, nwords, err);
    if (!*cmd)
        return err->code;
    if (c->set[OPT_HELP]) {
        print_command_help(stdout, *cmd);
        return NSL_OK;
    }
    for (int o = 0; o < OPT_COUNT; o++)
        if (c->set[o] && !(((*cmd)->options | COMMON_OPTS) & BIT(o)))
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--%s does not apply here",
                            options[o].name);
    int first = (*cmd)->sub ? 3 : 2;
    c->args = words + first;
    c->nargs = nwords - first;
    if (c->nargs < (*cmd)->min_args || ((*cmd)->max_args >= 0 && c->nargs > (*cmd)->max_args))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "wrong number of arguments");
    return (*cmd)->run(c, err);
}

bool nsl_cli_neo_is_command(int argc, char **argv)
{
    int i = 1;
    while (i < argc && strcmp(argv[i], "--json") == 0)
        i++;
    return i < argc && strcmp(argv[i], "neo") == 0;
}

int nsl_cli_neo_main(int argc, char **argv)
{
    (void)nsl_secure_heap_init(1 << 16); /* else secrets are on the normal heap, still wiped */
    struct ctx c = {0};
    struct nsl_error err = {NSL_ERR_INTERNAL, "out of memory"};
    const struct command *cmd = NULL;
    char **words = calloc((size_t)argc + 1, sizeof *words);
    nsl_err rc = words ? dispatch(argc, argv, &c, words, &cmd, &err) : NSL_ERR_INTERNAL;
    for (int o = 0; o < OPT_COUNT; o++)
        if (options[o].secret && c.val[o])
            nsl_wipe(c.val[o], strlen(c.val[o]));
    free(words);
    if (rc == NSL_OK)
        return EXIT_OK;
    int status = report(c.json, &err);
    if (status == EXIT_USAGE && cmd)
        fprintf(stderr, "usage: nsl neo %s [--json]\n", cmd->usage);
    return status;
}
