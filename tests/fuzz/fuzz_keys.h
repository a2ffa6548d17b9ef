/* The fixed keys and names of the crypto fuzz targets, shared with the seed generator. Test
 * values only. */
#ifndef NSL_TESTS_FUZZ_KEYS_H
#define NSL_TESTS_FUZZ_KEYS_H

/* nsl_hpke_derive_keypair input of the recipient key of fuzz_hpke_open. */
#define FUZZ_HPKE_IKM "nsl fuzz hpke recipient key ikm, 32+ bytes long"
#define FUZZ_HPKE_AAD "secrets.put"

/* The master key of fuzz_unseal (32 bytes) and the name the blobs are sealed under. */
#define FUZZ_SEAL_MASTER  "nsl fuzz sealing master key 32 b"
#define FUZZ_SEAL_NS      "secrets"
#define FUZZ_SEAL_KEY     "fuzz/item"
#define FUZZ_SEAL_VERSION 7

/* Passphrase of the NEP-2 seed (scrypt N=16, r=1, p=1). */
#define FUZZ_NEP2_PASSPHRASE "fuzz"

#endif
