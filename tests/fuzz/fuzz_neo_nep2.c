/* Fuzzes NEP-2 decryption. Input: one byte n, then a passphrase of n % 64 bytes, then the NEP-2
 * text. The scrypt cost is N=16, r=1, p=1 instead of NEP-2's 16384/8/8, so that a well-formed
 * text costs microseconds; the seeds are made with the same cost (nsl-fuzz-seeds). */
#include "crypto/secret.h"
#include "fuzz.h"
#include "neo/nep2.h"

static const struct nsl_neo_scrypt cheap = {.n = 16, .r = 1, .p = 1};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t pass_len = data[0] % 64;
    if (size - 1 < pass_len)
        return 0;
    const uint8_t *pass = data + 1;
    char *text = fuzz_cstr(data + 1 + pass_len, size - 1 - pass_len);
    struct nsl_secret *key = NULL;
    struct nsl_error err = {0};
    nsl_err rc = nsl_neo_nep2_decrypt(text, pass, pass_len, &cheap, &key, &err);
    if (rc == NSL_OK) {
        FUZZ_CHECK(key != NULL && nsl_secret_len(key) == 32);
        /* Re-encrypting the key with the same passphrase and cost gives the same text. */
        char again[NSL_NEO_NEP2_SIZE];
        FUZZ_CHECK(nsl_neo_nep2_encrypt(key, pass, pass_len, &cheap, again, &err) == NSL_OK);
        FUZZ_CHECK(strcmp(again, text) == 0);
    } else {
        FUZZ_CHECK(key == NULL);
        FUZZ_CHECK(rc == NSL_ERR_INVALID_PARAMS || rc == NSL_ERR_UNAUTHENTICATED);
    }
    nsl_secret_free(key);
    free(text);
    return 0;
}
