/* Verification/invocation scripts and script hashes (see script.h). */
#include "neo/script.h"

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "neo/emit.h"
#include "neo/hash.h"

static const uint8_t checksig[5] = {0x41, 0x56, 0xe7, 0xb3, 0x27};
static const uint8_t checkmultisig[5] = {0x41, 0x9e, 0xd0, 0xdc, 0x3a};

int nsl_neo_script_single_sig(const uint8_t pub[NSL_NEO_PUBKEY_LEN],
                              uint8_t out[NSL_NEO_SINGLE_SIG_LEN])
{
    if (nsl_neo_pubkey_check(pub, NSL_NEO_PUBKEY_LEN) != 0)
        return -1;
    out[0] = NSL_NEO_OP_PUSHDATA1;
    out[1] = NSL_NEO_PUBKEY_LEN;
    memcpy(out + 2, pub, NSL_NEO_PUBKEY_LEN);
    memcpy(out + 2 + NSL_NEO_PUBKEY_LEN, checksig, sizeof checksig);
    return 0;
}

int nsl_neo_script_invocation(const uint8_t sig[NSL_NEO_SIG_LEN],
                              uint8_t out[NSL_NEO_INVOCATION_LEN])
{
    out[0] = NSL_NEO_OP_PUSHDATA1;
    out[1] = NSL_NEO_SIG_LEN;
    memcpy(out + 2, sig, NSL_NEO_SIG_LEN);
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    return nsl_neo_pubkey_compare(a, b);
}

nsl_err nsl_neo_script_multisig(size_t m, const uint8_t (*pubs)[NSL_NEO_PUBKEY_LEN], size_t n,
                                struct nsl_buf *out, struct nsl_error *err)
{
    if (n < 1 || n > NSL_NEO_MULTISIG_MAX_KEYS || m < 1 || m > n)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "multisig needs 1 <= m <= n <= %d (got m=%zu, n=%zu)",
                        NSL_NEO_MULTISIG_MAX_KEYS, m, n);
    for (size_t i = 0; i < n; i++)
        if (nsl_neo_pubkey_check(pubs[i], NSL_NEO_PUBKEY_LEN) != 0)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "multisig key %zu is not a valid point",
                            i);
    uint8_t(*sorted)[NSL_NEO_PUBKEY_LEN] = malloc(n * NSL_NEO_PUBKEY_LEN);
    if (!sorted)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    memcpy(sorted, pubs, n * NSL_NEO_PUBKEY_LEN);
    qsort(sorted, n, NSL_NEO_PUBKEY_LEN, compare_keys);
    nsl_err rc = NSL_OK;
    for (size_t i = 1; i < n && rc == NSL_OK; i++)
        if (memcmp(sorted[i - 1], sorted[i], NSL_NEO_PUBKEY_LEN) == 0)
            rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "multisig keys must be distinct");
    int ok = rc == NSL_OK && nsl_neo_emit_int(out, (int64_t)m) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = nsl_neo_emit_data(out, sorted[i], NSL_NEO_PUBKEY_LEN) == 0;
    ok = ok && nsl_neo_emit_int(out, (int64_t)n) == 0 &&
         nsl_neo_emit_syscall(out, NSL_NEO_SYSCALL_CHECKMULTISIG) == 0;
    if (rc == NSL_OK && !ok)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    free(sorted);
    return rc;
}

int nsl_neo_script_parse_single_sig(const uint8_t *script, size_t len, const uint8_t **pub)
{
    if (len != NSL_NEO_SINGLE_SIG_LEN || script[0] != NSL_NEO_OP_PUSHDATA1 ||
        script[1] != NSL_NEO_PUBKEY_LEN || memcmp(script + 35, checksig, sizeof checksig) != 0)
        return -1;
    *pub = script + 2;
    return 0;
}

/* A small count pushed as PUSH1..PUSH16, PUSHINT8 or PUSHINT16 (what Neo's recogniser takes). */
static int read_count(const uint8_t *s, size_t len, size_t *pos, size_t *value)
{
    if (*pos >= len)
        return -1;
    uint8_t op = s[(*pos)++];
    if (op > NSL_NEO_OP_PUSH0 && op <= NSL_NEO_OP_PUSH16) {
        *value = (size_t)(op - NSL_NEO_OP_PUSH0);
    } else if (op == NSL_NEO_OP_PUSHINT8 && *pos + 1 <= len) {
        *value = s[(*pos)++];
    } else if (op == NSL_NEO_OP_PUSHINT16 && *pos + 2 <= len) {
        *value = (size_t)s[*pos] | (size_t)s[*pos + 1] << 8;
        *pos += 2;
    } else {
        return -1;
    }
    return 0;
}

int nsl_neo_script_parse_multisig(const uint8_t *script, size_t len, size_t *m, size_t *n,
                                  const uint8_t **first_key)
{
    size_t pos = 0, mm = 0, nn = 0, keys = 0;
    if (read_count(script, len, &pos, &mm) != 0)
        return -1;
    size_t first = pos + 2;
    while (pos + NSL_NEO_MULTISIG_KEY_STRIDE <= len && script[pos] == NSL_NEO_OP_PUSHDATA1 &&
           script[pos + 1] == NSL_NEO_PUBKEY_LEN) {
        pos += NSL_NEO_MULTISIG_KEY_STRIDE;
        keys++;
    }
    if (read_count(script, len, &pos, &nn) != 0 || nn != keys || mm < 1 || mm > nn ||
        nn > NSL_NEO_MULTISIG_MAX_KEYS || len - pos != sizeof checkmultisig ||
        memcmp(script + pos, checkmultisig, sizeof checkmultisig) != 0)
        return -1;
    *m = mm;
    *n = nn;
    *first_key = script + first;
    return 0;
}

int nsl_neo_script_parse_invocation(const uint8_t *script, size_t len, size_t *count,
                                    const uint8_t **first_sig)
{
    if (len == 0 || len % NSL_NEO_INVOCATION_LEN != 0)
        return -1;
    for (size_t pos = 0; pos < len; pos += NSL_NEO_INVOCATION_LEN)
        if (script[pos] != NSL_NEO_OP_PUSHDATA1 || script[pos + 1] != NSL_NEO_SIG_LEN)
            return -1;
    *count = len / NSL_NEO_INVOCATION_LEN;
    *first_sig = script + 2;
    return 0;
}

int nsl_neo_script_hash(const uint8_t *script, size_t len, uint8_t hash[NSL_NEO_HASH160_LEN])
{
    return nsl_neo_hash160(script, len, hash);
}

void nsl_neo_hash160_display(const uint8_t hash[NSL_NEO_HASH160_LEN],
                             char out[NSL_NEO_HASH160_DISPLAY_LEN])
{
    uint8_t rev[NSL_NEO_HASH160_LEN];
    for (size_t i = 0; i < NSL_NEO_HASH160_LEN; i++)
        rev[i] = hash[NSL_NEO_HASH160_LEN - 1 - i];
    out[0] = '0';
    out[1] = 'x';
    nsl_hex_encode(rev, sizeof rev, out + 2);
}

int nsl_neo_hash160_parse(const char *text, uint8_t hash[NSL_NEO_HASH160_LEN])
{
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        text += 2;
    uint8_t rev[NSL_NEO_HASH160_LEN];
    size_t n = 0;
    if (strlen(text) != 2 * NSL_NEO_HASH160_LEN ||
        nsl_hex_decode(text, 2 * NSL_NEO_HASH160_LEN, rev, sizeof rev, &n) != 0)
        return -1;
    for (size_t i = 0; i < NSL_NEO_HASH160_LEN; i++)
        hash[i] = rev[NSL_NEO_HASH160_LEN - 1 - i];
    return 0;
}
