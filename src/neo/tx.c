/* Transaction codec (see tx.h). The decoder is the single place where the format's rules live;
 * the encoder writes the fields and then decodes its own output to apply the same rules. */
#include "neo/tx.h"

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "neo/hash.h"
#include "neo/varint.h"

/* A decoding pass: the reader, where the error goes, and what is being read (for messages). */
struct dec {
    struct nsl_reader r;
    struct nsl_error *err;
};

static nsl_err truncated(struct dec *d, const char *what)
{
    return nsl_fail(d->err, NSL_ERR_INVALID_PARAMS, "transaction truncated at byte %zu (%s)",
                    d->r.pos, what);
}

static nsl_err bad(struct dec *d, const char *what)
{
    return nsl_fail(d->err, NSL_ERR_INVALID_PARAMS, "invalid transaction at byte %zu: %s", d->r.pos,
                    what);
}

static nsl_err read_u8(struct dec *d, uint8_t *v, const char *what)
{
    return nsl_reader_u8(&d->r, v) == 0 ? NSL_OK : truncated(d, what);
}

static nsl_err read_u32(struct dec *d, uint32_t *v, const char *what)
{
    return nsl_reader_u32le(&d->r, v) == 0 ? NSL_OK : truncated(d, what);
}

static nsl_err read_u64(struct dec *d, uint64_t *v, const char *what)
{
    return nsl_reader_u64le(&d->r, v) == 0 ? NSL_OK : truncated(d, what);
}

static nsl_err read_copy(struct dec *d, void *out, size_t n, const char *what)
{
    return nsl_reader_copy(&d->r, out, n) == 0 ? NSL_OK : truncated(d, what);
}

static nsl_err varint_error(struct dec *d, enum nsl_neo_varint_fail why, uint64_t max,
                            const char *what)
{
    if (why == NSL_NEO_VARINT_TRUNCATED)
        return truncated(d, what);
    if (why == NSL_NEO_VARINT_NONCANONICAL)
        return nsl_fail(d->err, NSL_ERR_INVALID_PARAMS,
                        "invalid transaction at byte %zu: non-canonical var-int (%s)", d->r.pos,
                        what);
    return nsl_fail(d->err, NSL_ERR_INVALID_PARAMS,
                    "invalid transaction at byte %zu: %s over the limit of %llu", d->r.pos, what,
                    (unsigned long long)max);
}

static nsl_err read_count(struct dec *d, uint64_t max, size_t *n, const char *what)
{
    uint64_t v = 0;
    enum nsl_neo_varint_fail why = 0;
    if (nsl_neo_varint_read(&d->r, max, &v, &why) != 0)
        return varint_error(d, why, max, what);
    *n = (size_t)v;
    return NSL_OK;
}

static nsl_err read_varbytes(struct dec *d, size_t max, const uint8_t **p, size_t *len,
                             const char *what)
{
    enum nsl_neo_varint_fail why = 0;
    if (nsl_neo_varbytes_read(&d->r, max, p, len, &why) != 0)
        return varint_error(d, why, max, what);
    return NSL_OK;
}

static nsl_err read_signer(struct dec *d, struct nsl_neo_signer *s)
{
    size_t n = 0;
    NSL_TRY(read_copy(d, s->account, sizeof s->account, "signer account"));
    NSL_TRY(read_u8(d, &s->scopes, "signer scopes"));
    const uint8_t known = NSL_NEO_SCOPE_CALLED_BY_ENTRY | NSL_NEO_SCOPE_CUSTOM_CONTRACTS |
                          NSL_NEO_SCOPE_CUSTOM_GROUPS | NSL_NEO_SCOPE_WITNESS_RULES |
                          NSL_NEO_SCOPE_GLOBAL;
    if (s->scopes & ~known)
        return bad(d, "unknown witness scope flag");
    if ((s->scopes & NSL_NEO_SCOPE_GLOBAL) && s->scopes != NSL_NEO_SCOPE_GLOBAL)
        return bad(d, "Global scope combined with another scope");
    s->ncontracts = s->ngroups = s->nrules = 0;
    s->rules = NULL;
    s->rules_len = 0;
    if (s->scopes & NSL_NEO_SCOPE_CUSTOM_CONTRACTS) {
        NSL_TRY(read_count(d, NSL_NEO_MAX_SUBITEMS, &n, "allowed contracts count"));
        s->ncontracts = (uint8_t)n;
        for (size_t i = 0; i < n; i++)
            NSL_TRY(read_copy(d, s->contracts[i], NSL_NEO_HASH160_LEN, "allowed contract"));
    }
    if (s->scopes & NSL_NEO_SCOPE_CUSTOM_GROUPS) {
        NSL_TRY(read_count(d, NSL_NEO_MAX_SUBITEMS, &n, "allowed groups count"));
        s->ngroups = (uint8_t)n;
        for (size_t i = 0; i < n; i++) {
            NSL_TRY(read_copy(d, s->groups[i], NSL_NEO_PUBKEY_LEN, "allowed group"));
            if (nsl_neo_pubkey_check(s->groups[i], NSL_NEO_PUBKEY_LEN) != 0)
                return bad(d, "allowed group is not a compressed secp256r1 point");
        }
    }
    if (s->scopes & NSL_NEO_SCOPE_WITNESS_RULES) {
        NSL_TRY(read_count(d, NSL_NEO_MAX_SUBITEMS, &n, "witness rules count"));
        s->nrules = (uint8_t)n;
        size_t start = d->r.pos;
        struct nsl_error inner = {0};
        if (nsl_neo_witness_rules_read(&d->r, n, &inner) != NSL_OK)
            return nsl_fail(d->err, NSL_ERR_INVALID_PARAMS, "invalid transaction at byte %zu: %s",
                            d->r.pos, inner.message);
        s->rules = d->r.data + start;
        s->rules_len = d->r.pos - start;
    }
    return NSL_OK;
}

static nsl_err read_signers(struct dec *d, struct nsl_neo_tx *tx)
{
    NSL_TRY(read_count(d, NSL_NEO_TX_MAX_ATTRIBUTES, &tx->nsigners, "signers count"));
    if (tx->nsigners == 0)
        return bad(d, "a transaction needs at least one signer");
    for (size_t i = 0; i < tx->nsigners; i++) {
        NSL_TRY(read_signer(d, &tx->signers[i]));
        for (size_t j = 0; j < i; j++)
            if (memcmp(tx->signers[i].account, tx->signers[j].account, NSL_NEO_HASH160_LEN) == 0)
                return bad(d, "duplicate signer account");
    }
    return NSL_OK;
}

/* OracleResponseCode values (neo OracleResponseCode.cs). */
static int oracle_code_known(uint8_t c)
{
    static const uint8_t codes[] = {0x00, 0x10, 0x12, 0x14, 0x16, 0x18, 0x1a, 0x1c, 0x1f, 0xff};
    return memchr(codes, c, sizeof codes) != NULL;
}

static nsl_err read_attr(struct dec *d, struct nsl_neo_attr *a)
{
    memset(a, 0, sizeof *a);
    NSL_TRY(read_u8(d, &a->type, "attribute type"));
    switch (a->type) {
    case NSL_NEO_ATTR_HIGH_PRIORITY:
        return NSL_OK;
    case NSL_NEO_ATTR_ORACLE_RESPONSE:
        NSL_TRY(read_u64(d, &a->oracle_id, "oracle response id"));
        NSL_TRY(read_u8(d, &a->oracle_code, "oracle response code"));
        if (!oracle_code_known(a->oracle_code))
            return bad(d, "unknown oracle response code");
        NSL_TRY(read_varbytes(d, NSL_NEO_ORACLE_MAX_RESULT, &a->oracle_result,
                              &a->oracle_result_len, "oracle response result"));
        if (a->oracle_code != 0 && a->oracle_result_len > 0)
            return bad(d, "oracle response has a result but its code is not Success");
        return NSL_OK;
    case NSL_NEO_ATTR_NOT_VALID_BEFORE:
        return read_u32(d, &a->not_valid_before, "NotValidBefore height");
    case NSL_NEO_ATTR_CONFLICTS:
        return read_copy(d, a->conflicts, sizeof a->conflicts, "Conflicts hash");
    case NSL_NEO_ATTR_NOTARY_ASSISTED:
        return read_u8(d, &a->notary_keys, "NotaryAssisted key count");
    default:
        return bad(d, "unknown attribute type");
    }
}

static nsl_err read_attrs(struct dec *d, struct nsl_neo_tx *tx)
{
    NSL_TRY(read_count(d, NSL_NEO_TX_MAX_ATTRIBUTES - tx->nsigners, &tx->nattrs,
                       "attributes count (16 minus signers)"));
    for (size_t i = 0; i < tx->nattrs; i++) {
        NSL_TRY(read_attr(d, &tx->attrs[i]));
        if (tx->attrs[i].type == NSL_NEO_ATTR_CONFLICTS)
            continue;
        for (size_t j = 0; j < i; j++)
            if (tx->attrs[j].type == tx->attrs[i].type)
                return bad(d, "attribute type repeated (only Conflicts may repeat)");
    }
    return NSL_OK;
}

static nsl_err read_unsigned(struct dec *d, struct nsl_neo_tx *tx)
{
    uint64_t sys, net;
    NSL_TRY(read_u8(d, &tx->version, "version"));
    if (tx->version != NSL_NEO_TX_VERSION)
        return nsl_fail(d->err, NSL_ERR_INVALID_PARAMS, "unknown transaction version %u",
                        tx->version);
    NSL_TRY(read_u32(d, &tx->nonce, "nonce"));
    NSL_TRY(read_u64(d, &sys, "system fee"));
    NSL_TRY(read_u64(d, &net, "network fee"));
    if (sys > INT64_MAX || net > INT64_MAX || sys + net > INT64_MAX)
        return bad(d, "fees are negative or their sum overflows");
    tx->system_fee = (int64_t)sys;
    tx->network_fee = (int64_t)net;
    NSL_TRY(read_u32(d, &tx->valid_until_block, "validUntilBlock"));
    NSL_TRY(read_signers(d, tx));
    NSL_TRY(read_attrs(d, tx));
    NSL_TRY(read_varbytes(d, NSL_NEO_TX_MAX_SCRIPT, &tx->script, &tx->script_len, "script"));
    if (tx->script_len == 0)
        return bad(d, "script is empty");
    return NSL_OK;
}

static nsl_err read_witnesses(struct dec *d, struct nsl_neo_tx *tx)
{
    NSL_TRY(read_count(d, tx->nsigners, &tx->nwitnesses, "witness count (= signers)"));
    if (tx->nwitnesses != tx->nsigners)
        return bad(d, "witness count differs from signer count");
    for (size_t i = 0; i < tx->nwitnesses; i++) {
        struct nsl_neo_witness *w = &tx->witnesses[i];
        const uint8_t *p;
        NSL_TRY(
            read_varbytes(d, NSL_NEO_MAX_INVOCATION, &p, &w->invocation_len, "invocation script"));
        memcpy(w->invocation, p, w->invocation_len);
        NSL_TRY(read_varbytes(d, NSL_NEO_MAX_VERIFICATION, &p, &w->verification_len,
                              "verification script"));
        memcpy(w->verification, p, w->verification_len);
    }
    return NSL_OK;
}

static nsl_err decode(const uint8_t *data, size_t len, int with_witnesses, struct nsl_neo_tx *tx,
                      struct nsl_error *err)
{
    if (len > NSL_NEO_TX_MAX_SIZE)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "transaction of %zu bytes is over the limit of %d", len,
                        NSL_NEO_TX_MAX_SIZE);
    struct dec d = {.err = err};
    nsl_reader_init(&d.r, data, len);
    memset(tx, 0, sizeof *tx);
    nsl_err rc = read_unsigned(&d, tx);
    if (rc == NSL_OK && with_witnesses)
        rc = read_witnesses(&d, tx);
    if (rc == NSL_OK && nsl_reader_remaining(&d.r) != 0)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                      "transaction has %zu trailing bytes after byte %zu",
                      nsl_reader_remaining(&d.r), d.r.pos);
    return rc;
}

nsl_err nsl_neo_tx_decode(const uint8_t *data, size_t len, struct nsl_neo_tx *tx,
                          struct nsl_error *err)
{
    return decode(data, len, 1, tx, err);
}

nsl_err nsl_neo_tx_decode_unsigned(const uint8_t *data, size_t len, struct nsl_neo_tx *tx,
                                   struct nsl_error *err)
{
    return decode(data, len, 0, tx, err);
}

/* Writing. Counts are checked against the arrays first so that writing never reads past them;
 * every other rule is applied by decoding the result. */

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int write_signer(struct nsl_buf *b, const struct nsl_neo_signer *s)
{
    int ok = nsl_buf_append(b, s->account, sizeof s->account) == 0 &&
             nsl_buf_append_u8(b, s->scopes) == 0;
    if (ok && (s->scopes & NSL_NEO_SCOPE_CUSTOM_CONTRACTS)) {
        ok = nsl_neo_varint_append(b, s->ncontracts) == 0 &&
             nsl_buf_append(b, s->contracts, (size_t)s->ncontracts * NSL_NEO_HASH160_LEN) == 0;
    }
    if (ok && (s->scopes & NSL_NEO_SCOPE_CUSTOM_GROUPS)) {
        ok = nsl_neo_varint_append(b, s->ngroups) == 0 &&
             nsl_buf_append(b, s->groups, (size_t)s->ngroups * NSL_NEO_PUBKEY_LEN) == 0;
    }
    if (ok && (s->scopes & NSL_NEO_SCOPE_WITNESS_RULES)) {
        ok = nsl_neo_varint_append(b, s->nrules) == 0 &&
             (s->rules_len == 0 || nsl_buf_append(b, s->rules, s->rules_len) == 0);
    }
    return ok ? 0 : -1;
}

static int write_attr(struct nsl_buf *b, const struct nsl_neo_attr *a)
{
    uint8_t tmp[9];
    if (nsl_buf_append_u8(b, a->type) != 0)
        return -1;
    switch (a->type) {
    case NSL_NEO_ATTR_ORACLE_RESPONSE:
        put_le(tmp, a->oracle_id, 8);
        tmp[8] = a->oracle_code;
        if (nsl_buf_append(b, tmp, 9) != 0)
            return -1;
        return nsl_neo_varbytes_append(b, a->oracle_result, a->oracle_result_len);
    case NSL_NEO_ATTR_NOT_VALID_BEFORE:
        put_le(tmp, a->not_valid_before, 4);
        return nsl_buf_append(b, tmp, 4);
    case NSL_NEO_ATTR_CONFLICTS:
        return nsl_buf_append(b, a->conflicts, sizeof a->conflicts);
    case NSL_NEO_ATTR_NOTARY_ASSISTED:
        return nsl_buf_append_u8(b, a->notary_keys);
    default:
        return 0; /* HighPriority has no body; unknown types fail in the check */
    }
}

static int write_unsigned(struct nsl_buf *b, const struct nsl_neo_tx *tx)
{
    uint8_t head[25];
    head[0] = tx->version;
    put_le(head + 1, tx->nonce, 4);
    put_le(head + 5, (uint64_t)tx->system_fee, 8);
    put_le(head + 13, (uint64_t)tx->network_fee, 8);
    put_le(head + 21, tx->valid_until_block, 4);
    int ok =
        nsl_buf_append(b, head, sizeof head) == 0 && nsl_neo_varint_append(b, tx->nsigners) == 0;
    for (size_t i = 0; ok && i < tx->nsigners; i++)
        ok = write_signer(b, &tx->signers[i]) == 0;
    ok = ok && nsl_neo_varint_append(b, tx->nattrs) == 0;
    for (size_t i = 0; ok && i < tx->nattrs; i++)
        ok = write_attr(b, &tx->attrs[i]) == 0;
    ok = ok && nsl_neo_varbytes_append(b, tx->script, tx->script_len) == 0;
    return ok ? 0 : -1;
}

static int write_witnesses(struct nsl_buf *b, const struct nsl_neo_tx *tx)
{
    int ok = nsl_neo_varint_append(b, tx->nwitnesses) == 0;
    for (size_t i = 0; ok && i < tx->nwitnesses; i++) {
        const struct nsl_neo_witness *w = &tx->witnesses[i];
        ok = nsl_neo_varbytes_append(b, w->invocation, w->invocation_len) == 0 &&
             nsl_neo_varbytes_append(b, w->verification, w->verification_len) == 0;
    }
    return ok ? 0 : -1;
}

static nsl_err check_counts(const struct nsl_neo_tx *tx, int with_witnesses, struct nsl_error *err)
{
    if (tx->nsigners > NSL_NEO_TX_MAX_ATTRIBUTES || tx->nattrs > NSL_NEO_TX_MAX_ATTRIBUTES)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "more than %d signers or attributes",
                        NSL_NEO_TX_MAX_ATTRIBUTES);
    for (size_t i = 0; i < tx->nsigners; i++) {
        const struct nsl_neo_signer *s = &tx->signers[i];
        if (s->ncontracts > NSL_NEO_MAX_SUBITEMS || s->ngroups > NSL_NEO_MAX_SUBITEMS ||
            s->nrules > NSL_NEO_MAX_SUBITEMS)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "signer %zu has more than %d contracts, groups or rules", i,
                            NSL_NEO_MAX_SUBITEMS);
        if (s->scopes & NSL_NEO_SCOPE_WITNESS_RULES) {
            /* The rules bytes must hold exactly nrules rules, or the encoding would shift. */
            struct nsl_reader r;
            nsl_reader_init(&r, s->rules, s->rules ? s->rules_len : 0);
            NSL_TRY(nsl_neo_witness_rules_read(&r, s->nrules, err));
            if (nsl_reader_remaining(&r) != 0)
                return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                                "signer %zu has bytes after its %u witness rules", i, s->nrules);
        }
    }
    if (!tx->script && tx->script_len)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "transaction script missing");
    if (with_witnesses && tx->nwitnesses != tx->nsigners)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "transaction has %zu witnesses for %zu signers", tx->nwitnesses,
                        tx->nsigners);
    for (size_t i = 0; with_witnesses && i < tx->nwitnesses; i++)
        if (tx->witnesses[i].invocation_len > NSL_NEO_MAX_INVOCATION ||
            tx->witnesses[i].verification_len > NSL_NEO_MAX_VERIFICATION)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "witness %zu script over 1024 bytes", i);
    return NSL_OK;
}

static nsl_err encode(const struct nsl_neo_tx *tx, int with_witnesses, struct nsl_buf *out,
                      struct nsl_error *err)
{
    NSL_TRY(check_counts(tx, with_witnesses, err));
    size_t start = out->len;
    if (write_unsigned(out, tx) != 0 || (with_witnesses && write_witnesses(out, tx) != 0)) {
        out->len = start;
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    struct nsl_neo_tx *check = malloc(sizeof *check);
    nsl_err rc = check ? decode(out->data + start, out->len - start, with_witnesses, check, err)
                       : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    free(check);
    if (rc != NSL_OK)
        out->len = start;
    return rc;
}

nsl_err nsl_neo_tx_encode_unsigned(const struct nsl_neo_tx *tx, struct nsl_buf *out,
                                   struct nsl_error *err)
{
    return encode(tx, 0, out, err);
}

nsl_err nsl_neo_tx_encode(const struct nsl_neo_tx *tx, struct nsl_buf *out, struct nsl_error *err)
{
    return encode(tx, 1, out, err);
}

nsl_err nsl_neo_tx_hash(const struct nsl_neo_tx *tx, uint8_t txid[NSL_NEO_TXID_LEN],
                        struct nsl_error *err)
{
    struct nsl_buf b = {0};
    nsl_err rc = nsl_neo_tx_encode_unsigned(tx, &b, err);
    if (rc == NSL_OK && nsl_neo_sha256(b.data, b.len, txid) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "hashing failed");
    nsl_buf_free(&b);
    return rc;
}

nsl_err nsl_neo_tx_sign_data(const struct nsl_neo_tx *tx, uint32_t network_magic,
                             uint8_t out[NSL_NEO_SIGN_DATA_LEN], struct nsl_error *err)
{
    put_le(out, network_magic, 4);
    return nsl_neo_tx_hash(tx, out + 4, err);
}

void nsl_neo_hash256_display(const uint8_t hash[NSL_NEO_TXID_LEN],
                             char out[NSL_NEO_HASH256_DISPLAY_LEN])
{
    uint8_t rev[NSL_NEO_TXID_LEN];
    for (size_t i = 0; i < NSL_NEO_TXID_LEN; i++)
        rev[i] = hash[NSL_NEO_TXID_LEN - 1 - i];
    out[0] = '0';
    out[1] = 'x';
    nsl_hex_encode(rev, sizeof rev, out + 2);
}
