/* Request credentials and neo-sig signing for nsl (see auth.h). Key files: a NEP-6 wallet
 * (https://github.com/neo-project/proposals nep-6: "accounts"[].key is NEP-2, "scrypt" {n,r,p}
 * its cost) or nsl's dev key file {"address","publicKey","wif","accountId"}. */
#include "cli/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/encoding.h"
#include "crypto/request_sig.h"
#include "neo/account.h"
#include "neo/key.h"
#include "neo/nep2.h"
#include "neo/wif.h"

#define NONCE_BYTES 16

/* The bytes of a file that may hold a secret, NUL-terminated, on the secure heap. */
struct file_bytes {
    struct nsl_secret *data;
    size_t len;
};

static void file_bytes_free(struct file_bytes *f)
{
    nsl_secret_free(f->data);
    *f = (struct file_bytes){0};
}

/* Grows f to hold at least need bytes, copying (and wiping) what it held. */
static int file_bytes_reserve(struct file_bytes *f, size_t need)
{
    size_t cap = f->data ? nsl_secret_len(f->data) : 0;
    if (need <= cap)
        return 0;
    size_t grown = cap ? cap : 4096;
    while (grown < need)
        grown *= 2;
    struct nsl_secret *bigger = nsl_secret_new(grown);
    if (!bigger)
        return -1;
    if (f->len)
        memcpy(nsl_secret_bytes(bigger), nsl_secret_bytes(f->data), f->len);
    nsl_secret_free(f->data);
    f->data = bigger;
    return 0;
}

/* Reads a whole file (a pipe too, for --passphrase-file <(...)) without leaving copies behind
 * on the normal heap. */
static nsl_err read_file_bytes(const char *path, const char *what, size_t max, struct file_bytes *f,
                               struct nsl_error *err)
{
    *f = (struct file_bytes){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "cannot open %s %.200s: %s", what, path,
                        strerror(errno));
    nsl_err rc = NSL_OK;
    for (;;) {
        if (file_bytes_reserve(f, f->len + 4096 + 1) != 0) {
            rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory reading %s", what);
            break;
        }
        ssize_t n = read(fd, nsl_secret_bytes(f->data) + f->len, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = nsl_fail(err, NSL_ERR_INVALID_REQUEST, "cannot read %s %.200s: %s", what, path,
                          strerror(errno));
            break;
        }
        if (n == 0)
            break;
        f->len += (size_t)n;
        if (f->len > max) {
            rc = nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%s %.200s is larger than %zu bytes", what,
                          path, max);
            break;
        }
    }
    close(fd);
    if (rc != NSL_OK)
        file_bytes_free(f);
    else
        nsl_secret_bytes(f->data)[f->len] = 0;
    return rc;
}

bool nsl_cli_account_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= NSL_CLI_ACCOUNT_SIZE)
        return false;
    for (size_t i = 0; i < n; i++)
        if (id[i] <= ' ' || id[i] >= 0x7f || id[i] == ',' || id[i] == '=')
            return false;
    return true;
}

static const char *given(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* The passphrase of a NEP-2 key: --passphrase-file wins over NSL_KEY_PASSPHRASE; neither is an
 * error, never a prompt (nsl runs in scripts). Trailing newlines of the file are dropped. */
static nsl_err load_passphrase(const struct nsl_cli_key_source *src, struct nsl_secret **pass,
                               struct nsl_error *err)
{
    *pass = NULL;
    if (src->passphrase_file) {
        struct file_bytes f;
        NSL_TRY(read_file_bytes(src->passphrase_file, "passphrase file", 64 * 1024, &f, err));
        uint8_t *b = nsl_secret_bytes(f.data);
        while (f.len > 0 && (b[f.len - 1] == '\n' || b[f.len - 1] == '\r'))
            b[--f.len] = 0;
        *pass = nsl_secret_from(b, f.len);
        file_bytes_free(&f);
    } else if (given(src->passphrase)) {
        *pass = nsl_secret_from(src->passphrase, strlen(src->passphrase));
    } else {
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "the key in %.200s is NEP-2 encrypted: give its passphrase with "
                        "NSL_KEY_PASSPHRASE or --passphrase-file FILE",
                        src->path);
    }
    return *pass ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

/* NEP-6: the account marked isDefault, else the first. */
static const json_t *nep6_pick_account(const json_t *accounts)
{
    size_t i;
    const json_t *a;
    json_array_foreach(accounts, i, a)
    {
        if (json_is_true(json_object_get(a, "isDefault")))
            return a;
    }
    return json_array_get(accounts, 0);
}

/* NEP-6 "scrypt": {"n","r","p"}; absent means NEP-2's 16384, 8, 8. nep2 checks the ranges. */
static nsl_err nep6_scrypt(const json_t *wallet, const char *path, struct nsl_neo_scrypt *cost,
                           struct nsl_error *err)
{
    *cost = (struct nsl_neo_scrypt){16384, 8, 8};
    const json_t *s = json_object_get(wallet, "scrypt");
    if (!s || json_is_null(s))
        return NSL_OK;
    json_t *n = json_object_get(s, "n"), *r = json_object_get(s, "r"), *p = json_object_get(s, "p");
    if (!json_is_integer(n) || !json_is_integer(r) || !json_is_integer(p) ||
        json_integer_value(n) <= 0 || json_integer_value(r) <= 0 || json_integer_value(p) <= 0 ||
        json_integer_value(r) > UINT32_MAX || json_integer_value(p) > UINT32_MAX)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "%.200s: \"scrypt\" must hold positive integers n, r and p", path);
    *cost =
        (struct nsl_neo_scrypt){(uint64_t)json_integer_value(n), (uint32_t)json_integer_value(r),
                                (uint32_t)json_integer_value(p)};
    return NSL_OK;
}

/* The key's address must be the one the file names, so a mixed-up file is caught before a
 * request is signed with a key the server does not expect. */
static nsl_err check_matches(const struct nsl_secret *key, const json_t *obj, const char *path,
                             struct nsl_error *err)
{
    struct nsl_neo_account acct;
    NSL_TRY(nsl_neo_account_from_key(key, &acct, err));
    const char *address = json_string_value(json_object_get(obj, "address"));
    if (address && strcmp(address, acct.address) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "%.200s: the key does not belong to the address %.40s", path, address);
    const char *pub = json_string_value(json_object_get(obj, "publicKey"));
    char pub_hex[2 * NSL_NEO_PUBKEY_LEN + 1];
    nsl_hex_encode(acct.pub, sizeof acct.pub, pub_hex);
    if (pub && strcasecmp(pub, pub_hex) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "%.200s: the key does not match its \"publicKey\"", path);
    return NSL_OK;
}

static nsl_err load_nep6(const struct nsl_cli_key_source *src, const json_t *wallet,
                         struct nsl_secret **key, struct nsl_error *err)
{
    const json_t *account = nep6_pick_account(json_object_get(wallet, "accounts"));
    if (!json_is_object(account))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%.200s: the wallet has no accounts",
                        src->path);
    const char *nep2 = json_string_value(json_object_get(account, "key"));
    const char *address = json_string_value(json_object_get(account, "address"));
    if (!nep2)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "%.200s: account %.40s has no private key (watch-only)", src->path,
                        address ? address : "");
    struct nsl_neo_scrypt cost;
    NSL_TRY(nep6_scrypt(wallet, src->path, &cost, err));
    NSL_AUTO_SECRET struct nsl_secret *pass = NULL;
    NSL_TRY(load_passphrase(src, &pass, err));
    nsl_err rc =
        nsl_neo_nep2_decrypt(nep2, nsl_secret_bytes(pass), nsl_secret_len(pass), &cost, key, err);
    if (rc == NSL_ERR_UNAUTHENTICATED)
        return nsl_fail(err, rc, "wrong passphrase for the key in %.200s", src->path);
    if (rc != NSL_OK) {
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err ? err->message : "");
        return nsl_fail(err, rc == NSL_ERR_INTERNAL ? rc : NSL_ERR_INVALID_REQUEST,
                        "%.200s: the account's key: %s", src->path, why);
    }
    return check_matches(*key, account, src->path, err);
}

static nsl_err load_dev_key(const struct nsl_cli_key_source *src, json_t *file,
                            struct nsl_secret **key, struct nsl_error *err)
{
    json_t *wif = json_object_get(file, "wif");
    nsl_err rc = nsl_neo_wif_decode(json_string_value(wif), key, err);
    /* jansson's copy of the WIF is freed without a wipe: wipe it here. */
    nsl_wipe((char *)json_string_value(wif), json_string_length(wif));
    if (rc != NSL_OK)
        return nsl_fail(err, rc == NSL_ERR_INTERNAL ? rc : NSL_ERR_INVALID_REQUEST,
                        "%.200s: \"wif\" is not a valid WIF private key", src->path);
    return check_matches(*key, file, src->path, err);
}

/* --account, then the file's own accountId, then NSL_ACCOUNT. */
static nsl_err settle_account(const struct nsl_cli_key_source *src, const json_t *file,
                              struct nsl_cli_signer *signer, struct nsl_error *err)
{
    const char *id = given(src->account);
    if (!id)
        id = given(json_string_value(json_object_get(file, "accountId")));
    if (!id)
        id = given(src->env_account);
    if (!id)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "no account id for the NSL-SIG header: %.200s names none; give --account "
                        "ID or set NSL_ACCOUNT",
                        src->path);
    if (!nsl_cli_account_id_valid(id))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "the account id must be 1 to %d printable characters without spaces, "
                        "',' or '='",
                        NSL_CLI_ACCOUNT_SIZE - 1);
    snprintf(signer->account, sizeof signer->account, "%s", id);
    return NSL_OK;
}

static nsl_err load_from_json(const struct nsl_cli_key_source *src, json_t *file,
                              struct nsl_cli_signer *signer, struct nsl_error *err)
{
    if (!json_is_object(file))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%.200s must hold a JSON object", src->path);
    /* The account id first: a missing one is refused before any scrypt work. */
    NSL_TRY(settle_account(src, file, signer, err));
    if (json_is_array(json_object_get(file, "accounts")))
        return load_nep6(src, file, &signer->key, err);
    if (json_is_string(json_object_get(file, "wif")))
        return load_dev_key(src, file, &signer->key, err);
    return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                    "%.200s is neither a NEP-6 wallet (\"accounts\") nor an nsl key file "
                    "(\"wif\")",
                    src->path);
}

nsl_err nsl_cli_signer_load(const struct nsl_cli_key_source *src, struct nsl_cli_signer *signer,
                            struct nsl_error *err)
{
    *signer = (struct nsl_cli_signer){0};
    struct file_bytes f;
    NSL_TRY(read_file_bytes(src->path, "key file", NSL_CLI_MAX_KEY_FILE, &f, err));
    json_error_t jerr;
    json_t *file =
        json_loadb((const char *)nsl_secret_bytes(f.data), f.len, JSON_REJECT_DUPLICATES, &jerr);
    file_bytes_free(&f);
    nsl_err rc;
    if (!file) /* jansson's text may quote the file (a WIF): only say where */
        rc = nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%.200s is not valid JSON (line %d, column %d)",
                      src->path, jerr.line, jerr.column);
    else
        rc = load_from_json(src, file, signer, err);
    json_decref(file);
    if (rc != NSL_OK)
        nsl_cli_signer_free(signer);
    return rc;
}

void nsl_cli_signer_free(struct nsl_cli_signer *signer)
{
    nsl_secret_free(signer->key);
    *signer = (struct nsl_cli_signer){0};
}

char *nsl_cli_sig_header(const char *account, const char *timestamp, const char *nonce,
                         const char *sig_hex)
{
    char *out = NULL;
    if (asprintf(&out, "NSL-SIG account=%s,ts=%s,nonce=%s,sig=%s", account, timestamp, nonce,
                 sig_hex) < 0)
        return NULL;
    return out;
}

nsl_err nsl_cli_signer_authorization(const struct nsl_cli_signer *signer, const char *service,
                                     const char *operation, const json_t *params, int64_t now,
                                     char **value, struct nsl_error *err)
{
    *value = NULL;
    char ts[24], nonce[2 * NONCE_BYTES + 1], sig_hex[2 * NSL_NEO_SIG_LEN + 1];
    uint8_t nonce_bytes[NONCE_BYTES], sig[NSL_NEO_SIG_LEN];
    snprintf(ts, sizeof ts, "%lld", (long long)now);
    if (nsl_random_bytes(nonce_bytes, sizeof nonce_bytes) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "no randomness for the nonce");
    nsl_hex_encode(nonce_bytes, sizeof nonce_bytes, nonce);
    char *message = nsl_request_canonical_string(service, operation, params, ts, nonce);
    if (!message)
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot canonicalise the params");
    nsl_err rc = nsl_neo_key_sign(signer->key, message, strlen(message), sig, err);
    free(message);
    NSL_TRY(rc);
    nsl_hex_encode(sig, sizeof sig, sig_hex);
    *value = nsl_cli_sig_header(signer->account, ts, nonce, sig_hex);
    return *value ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

char *nsl_cli_apikey_header(const char *api_key)
{
    char *out = NULL;
    if (asprintf(&out, "NSL-APIKEY %s", api_key) < 0)
        return NULL;
    return out;
}

void nsl_cli_header_free(char *value)
{
    if (value)
        nsl_wipe(value, strlen(value));
    free(value);
}
