/* Fuzzes opening of sealed store blobs (crypto/seal.h) with a fixed master key: the blob comes
 * from the parent's store, so it is untrusted. Input: the blob. The seed is a valid blob made by
 * nsl-fuzz-seeds under the same namespace, key and version. */
#include "crypto/seal.h"
#include "crypto/secret.h"
#include "fuzz.h"
#include "fuzz_keys.h"

static struct nsl_sealer *sealer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs(); /* every failed blob is logged as an error */
    struct nsl_secret *master = nsl_secret_from(FUZZ_SEAL_MASTER, 32);
    FUZZ_CHECK(master != NULL);
    sealer = nsl_sealer_new(master);
    FUZZ_CHECK(sealer != NULL);
    nsl_secret_free(master);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nsl_secret *plain = NULL;
    struct nsl_error err = {0};
    nsl_err rc = nsl_unseal(sealer, FUZZ_SEAL_NS, FUZZ_SEAL_KEY, FUZZ_SEAL_VERSION, data, size,
                            &plain, &err);
    if (rc == NSL_OK)
        FUZZ_CHECK(plain != NULL && nsl_secret_len(plain) + NSL_SEAL_OVERHEAD == size);
    else
        FUZZ_CHECK(plain == NULL && rc == NSL_ERR_INTERNAL);
    nsl_secret_free(plain);
    return 0;
}
