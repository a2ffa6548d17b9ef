/* The standard account of a key: its single-sig verification script, script hash and address
 * (neo Contract.CreateSignatureContract). Shared by WIF/NEP-2 checks and by callers. */
#ifndef NSL_NEO_ACCOUNT_H
#define NSL_NEO_ACCOUNT_H

#include <stdint.h>

#include "common/errors.h"
#include "neo/address.h"
#include "neo/key.h"
#include "neo/script.h"

struct nsl_neo_account {
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    uint8_t script[NSL_NEO_SINGLE_SIG_LEN];
    uint8_t hash[NSL_NEO_HASH160_LEN];
    char address[NSL_NEO_ADDRESS_SIZE];
};

/* From a compressed public key: 0, or -1 when it is not a valid point. */
int nsl_neo_account_from_pub(const uint8_t pub[NSL_NEO_PUBKEY_LEN], struct nsl_neo_account *out);
nsl_err nsl_neo_account_from_key(const struct nsl_secret *key, struct nsl_neo_account *out,
                                 struct nsl_error *err);

#endif
