/* Fuzzes WIF decoding. A WIF that decodes must be the one encoding of its key (Base58Check is
 * canonical): encoding the key again gives the input text. */
#include "crypto/secret.h"
#include "fuzz.h"
#include "neo/wif.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct nsl_secret *key = NULL;
    struct nsl_error err = {0};
    nsl_err rc = nsl_neo_wif_decode(text, &key, &err);
    if (rc == NSL_OK) {
        FUZZ_CHECK(key != NULL && nsl_secret_len(key) == 32);
        struct nsl_secret *wif = NULL;
        FUZZ_CHECK(nsl_neo_wif_encode(key, &wif, &err) == NSL_OK);
        FUZZ_CHECK(strcmp((const char *)nsl_secret_bytes(wif), text) == 0);
        nsl_secret_free(wif);
    } else {
        FUZZ_CHECK(key == NULL && rc == NSL_ERR_INVALID_PARAMS);
    }
    nsl_secret_free(key);
    free(text);
    return 0;
}
