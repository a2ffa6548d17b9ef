/* Witness building, signing and offline verification (see tx_witness.h). */
#include "neo/tx_witness.h"

#include <string.h>

#include "neo/account.h"

nsl_err nsl_neo_witness_single(const uint8_t pub[NSL_NEO_PUBKEY_LEN],
                               const uint8_t sig[NSL_NEO_SIG_LEN], struct nsl_neo_witness *out,
                               struct nsl_error *err)
{
    if (nsl_neo_script_single_sig(pub, out->verification) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "public key is not a valid point");
    out->verification_len = NSL_NEO_SINGLE_SIG_LEN;
    nsl_neo_script_invocation(sig, out->invocation);
    out->invocation_len = NSL_NEO_INVOCATION_LEN;
    return NSL_OK;
}

nsl_err nsl_neo_witness_multisig(const uint8_t *verification, size_t len,
                                 const uint8_t (*sigs)[NSL_NEO_SIG_LEN], size_t nsigs,
                                 struct nsl_neo_witness *out, struct nsl_error *err)
{
    size_t m, n;
    const uint8_t *keys;
    if (len > NSL_NEO_MAX_VERIFICATION ||
        nsl_neo_script_parse_multisig(verification, len, &m, &n, &keys) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "not a multisig verification script");
    if (nsigs != m || m * NSL_NEO_INVOCATION_LEN > NSL_NEO_MAX_INVOCATION)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "a %zu-of-%zu account needs %zu signatures (got %zu; at most %d fit)", m, n,
                        m, nsigs, NSL_NEO_MAX_INVOCATION / NSL_NEO_INVOCATION_LEN);
    for (size_t i = 0; i < m; i++)
        nsl_neo_script_invocation(sigs[i], out->invocation + i * NSL_NEO_INVOCATION_LEN);
    out->invocation_len = m * NSL_NEO_INVOCATION_LEN;
    memcpy(out->verification, verification, len);
    out->verification_len = len;
    return NSL_OK;
}

nsl_err nsl_neo_tx_sign(struct nsl_neo_tx *tx, uint32_t network_magic, const struct nsl_secret *key,
                        struct nsl_error *err)
{
    struct nsl_neo_account account;
    uint8_t data[NSL_NEO_SIGN_DATA_LEN];
    uint8_t sig[NSL_NEO_SIG_LEN];
    NSL_TRY(nsl_neo_account_from_key(key, &account, err));
    NSL_TRY(nsl_neo_tx_sign_data(tx, network_magic, data, err));
    size_t i = 0;
    while (i < tx->nsigners &&
           memcmp(tx->signers[i].account, account.hash, NSL_NEO_HASH160_LEN) != 0)
        i++;
    if (i == tx->nsigners)
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "the key's account is not a signer of this tx");
    NSL_TRY(nsl_neo_key_sign(key, data, sizeof data, sig, err));
    for (size_t j = tx->nwitnesses; j < tx->nsigners; j++)
        tx->witnesses[j].invocation_len = tx->witnesses[j].verification_len = 0;
    if (tx->nwitnesses < tx->nsigners)
        tx->nwitnesses = tx->nsigners;
    return nsl_neo_witness_single(account.pub, sig, &tx->witnesses[i], err);
}

/* Neo's m-of-n walk: signatures and keys both in order, each signature must match a later key. */
static int multisig_ok(const uint8_t *data, const uint8_t *sigs, size_t m, const uint8_t *keys,
                       size_t n)
{
    size_t x = 0, y = 0;
    while (x < m && y < n) {
        if (nsl_neo_pubkey_verify(keys + y * NSL_NEO_MULTISIG_KEY_STRIDE, NSL_NEO_PUBKEY_LEN, data,
                                  NSL_NEO_SIGN_DATA_LEN, sigs + x * NSL_NEO_INVOCATION_LEN,
                                  NSL_NEO_SIG_LEN) == 0)
            x++;
        y++;
        if (m - x > n - y)
            return -1;
    }
    return x == m ? 0 : -1;
}

nsl_err nsl_neo_tx_verify(const struct nsl_neo_tx *tx, uint32_t network_magic,
                          struct nsl_error *err)
{
    uint8_t data[NSL_NEO_SIGN_DATA_LEN];
    NSL_TRY(nsl_neo_tx_sign_data(tx, network_magic, data, err));
    if (tx->nwitnesses != tx->nsigners)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "transaction has %zu witnesses for %zu "
                        "signers",
                        tx->nwitnesses, tx->nsigners);
    for (size_t i = 0; i < tx->nwitnesses; i++) {
        const struct nsl_neo_witness *w = &tx->witnesses[i];
        uint8_t hash[NSL_NEO_HASH160_LEN];
        const uint8_t *pub, *keys, *sigs;
        size_t m, n, count;
        if (nsl_neo_script_hash(w->verification, w->verification_len, hash) != 0)
            return nsl_fail(err, NSL_ERR_INTERNAL, "hashing failed");
        int single =
            nsl_neo_script_parse_single_sig(w->verification, w->verification_len, &pub) == 0;
        int multi = !single && nsl_neo_script_parse_multisig(w->verification, w->verification_len,
                                                             &m, &n, &keys) == 0;
        int inv =
            nsl_neo_script_parse_invocation(w->invocation, w->invocation_len, &count, &sigs) == 0;
        if (!inv || !(single ? count == 1 : multi && count == m))
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "witness %zu is not a standard signature witness; it needs chain "
                            "state to check",
                            i);
        if (memcmp(hash, tx->signers[i].account, NSL_NEO_HASH160_LEN) != 0)
            return nsl_fail(err, NSL_ERR_UNAUTHENTICATED,
                            "witness %zu verification script does not hash to signer %zu", i, i);
        int ok = single ? nsl_neo_pubkey_verify(pub, NSL_NEO_PUBKEY_LEN, data, sizeof data, sigs,
                                                NSL_NEO_SIG_LEN) == 0
                        : multisig_ok(data, sigs, m, keys, n) == 0;
        if (!ok)
            return nsl_fail(err, NSL_ERR_UNAUTHENTICATED, "witness %zu signature does not verify",
                            i);
    }
    return NSL_OK;
}
