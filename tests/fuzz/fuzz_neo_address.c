/* Fuzzes Neo N3 address parsing. An address that parses must be the one encoding of its script
 * hash: formatting the hash again gives the input text. */
#include "fuzz.h"
#include "neo/address.h"

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
    uint8_t hash[NSL_NEO_HASH160_LEN];
    struct nsl_error err = {0};
    nsl_err rc = nsl_neo_address_to_hash(text, hash, &err);
    if (rc == NSL_OK) {
        char again[NSL_NEO_ADDRESS_SIZE];
        FUZZ_CHECK(nsl_neo_address_from_hash(hash, again) == 0);
        FUZZ_CHECK(strcmp(again, text) == 0);
    } else {
        FUZZ_CHECK(rc == NSL_ERR_INVALID_PARAMS);
    }
    free(text);
    return 0;
}
