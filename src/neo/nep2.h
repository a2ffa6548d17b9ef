/* NEP-2 passphrase-protected private keys (https://github.com/neo-project/proposals nep-2):
 *   addresshash = Hash256(address as ASCII)[0..4]
 *   dk = scrypt(passphrase, salt = addresshash, N, r, p, 64 bytes)      (N=16384, r=8, p=8)
 *   ciphertext = AES-256-ECB(key = dk[32..64], key XOR dk[0..32])       (32 bytes, no padding)
 *   text = Base58Check(0x01 0x42 0xe0 || addresshash || ciphertext)     (58 characters)
 * Decryption recomputes the address of the recovered key and compares the address hash, which is
 * how a wrong passphrase is detected. The passphrase is taken as given bytes (NEP-2 says NFC
 * normalised UTF-8: the caller normalises). */
#ifndef NSL_NEO_NEP2_H
#define NSL_NEO_NEP2_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "crypto/secret.h"

#define NSL_NEO_NEP2_LEN  58
#define NSL_NEO_NEP2_SIZE 59 /* with the NUL */

/* scrypt cost; NULL means NEP-2's N=16384, r=8, p=8 (NEP-6 wallets may name others). */
struct nsl_neo_scrypt {
    uint64_t n;
    uint32_t r;
    uint32_t p;
};

nsl_err nsl_neo_nep2_encrypt(const struct nsl_secret *key, const void *passphrase, size_t len,
                             const struct nsl_neo_scrypt *cost, char out[NSL_NEO_NEP2_SIZE],
                             struct nsl_error *err);
/* INVALID_PARAMS for a malformed NEP-2 string; UNAUTHENTICATED for a wrong passphrase. */
nsl_err nsl_neo_nep2_decrypt(const char *nep2, const void *passphrase, size_t len,
                             const struct nsl_neo_scrypt *cost, struct nsl_secret **key,
                             struct nsl_error *err);

#endif
