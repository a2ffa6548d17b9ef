/* Wallet Import Format for Neo N3 keys: Base58Check(0x80 || key (32) || 0x01), 52 characters
 * (neo Wallet.GetPrivateKeyFromWIF / KeyPair.Export). A WIF is a private key in clear text, so
 * it too lives only in a struct nsl_secret. */
#ifndef NSL_NEO_WIF_H
#define NSL_NEO_WIF_H

#include "common/errors.h"
#include "crypto/secret.h"

#define NSL_NEO_WIF_LEN 52

/* *wif holds the 52 characters and a NUL (nsl_secret_len = 53). */
nsl_err nsl_neo_wif_encode(const struct nsl_secret *key, struct nsl_secret **wif,
                           struct nsl_error *err);
/* Fails (INVALID_PARAMS) on a bad character or checksum, wrong length, prefix or suffix, or a
 * scalar out of range. The message never repeats the input. */
nsl_err nsl_neo_wif_decode(const char *wif, struct nsl_secret **key, struct nsl_error *err);

#endif
