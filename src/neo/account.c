/* Standard single-sig accounts (see account.h). */
#include "neo/account.h"

#include <string.h>

int nsl_neo_account_from_pub(const uint8_t pub[NSL_NEO_PUBKEY_LEN], struct nsl_neo_account *out)
{
    memcpy(out->pub, pub, NSL_NEO_PUBKEY_LEN);
    if (nsl_neo_script_single_sig(pub, out->script) != 0 ||
        nsl_neo_script_hash(out->script, sizeof out->script, out->hash) != 0 ||
        nsl_neo_address_from_hash(out->hash, out->address) != 0)
        return -1;
    return 0;
}

nsl_err nsl_neo_account_from_key(const struct nsl_secret *key, struct nsl_neo_account *out,
                                 struct nsl_error *err)
{
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    NSL_TRY(nsl_neo_key_public(key, pub, err));
    if (nsl_neo_account_from_pub(pub, out) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "account derivation failed");
    return NSL_OK;
}
