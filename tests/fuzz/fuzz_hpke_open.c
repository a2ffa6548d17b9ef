/* Fuzzes HPKE opening of sealed request params (crypto/hpke.h, enclave/sealing.c) with a fixed
 * recipient key. Input: enc (32 bytes) || ciphertext || tag. info and aad are those of a sealed
 * secrets.put request; the seed is a valid ciphertext made by nsl-fuzz-seeds. */
#include "crypto/hpke.h"
#include "crypto/secret.h"
#include "enclave/sealing.h"
#include "fuzz.h"
#include "fuzz_keys.h"

static struct nsl_secret *sk;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN];
    struct nsl_error err;
    FUZZ_CHECK(nsl_hpke_derive_keypair(FUZZ_HPKE_IKM, sizeof FUZZ_HPKE_IKM - 1, &sk, pk, &err) ==
               NSL_OK);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < NSL_HPKE_ENC_LEN)
        return 0;
    struct nsl_secret *pt = NULL;
    struct nsl_error err = {0};
    nsl_err rc = nsl_hpke_open(sk, data, NSL_SEAL_REQUEST_INFO, strlen(NSL_SEAL_REQUEST_INFO),
                               FUZZ_HPKE_AAD, strlen(FUZZ_HPKE_AAD), data + NSL_HPKE_ENC_LEN,
                               size - NSL_HPKE_ENC_LEN, &pt, &err);
    if (rc == NSL_OK)
        FUZZ_CHECK(pt != NULL && nsl_secret_len(pt) + NSL_HPKE_TAG_LEN == size - NSL_HPKE_ENC_LEN);
    else
        FUZZ_CHECK(pt == NULL && rc == NSL_ERR_INVALID_PARAMS);
    nsl_secret_free(pt);
    return 0;
}
