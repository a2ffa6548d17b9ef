/* Fuzzes the Neo N3 transaction decoder, signed and unsigned. Decoding is strict (tx.h), so a
 * transaction that decodes must encode back to exactly its input bytes, and its hash and sign
 * data must be computable. */
#include "fuzz.h"
#include "neo/tx.h"

static struct nsl_neo_tx *tx; /* about 50 KB: one, reused */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    tx = malloc(sizeof *tx);
    FUZZ_CHECK(tx != NULL);
    return 0;
}

static void round_trip(const uint8_t *data, size_t size, bool full)
{
    struct nsl_error err = {0};
    memset(tx, 0xa5, sizeof *tx); /* stale state must not leak into a decode */
    nsl_err rc = full ? nsl_neo_tx_decode(data, size, tx, &err)
                      : nsl_neo_tx_decode_unsigned(data, size, tx, &err);
    if (rc != NSL_OK) {
        FUZZ_CHECK(rc == NSL_ERR_INVALID_PARAMS && err.code == rc);
        return;
    }
    struct nsl_buf out = {0};
    rc = full ? nsl_neo_tx_encode(tx, &out, &err) : nsl_neo_tx_encode_unsigned(tx, &out, &err);
    FUZZ_CHECK(rc == NSL_OK);
    FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    nsl_buf_free(&out);
    uint8_t txid[NSL_NEO_TXID_LEN];
    uint8_t sign_data[NSL_NEO_SIGN_DATA_LEN];
    FUZZ_CHECK(nsl_neo_tx_hash(tx, txid, &err) == NSL_OK);
    FUZZ_CHECK(nsl_neo_tx_sign_data(tx, 894710606, sign_data, &err) == NSL_OK);
    FUZZ_CHECK(memcmp(sign_data + 4, txid, NSL_NEO_TXID_LEN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    round_trip(data, size, true);
    round_trip(data, size, false);
    return 0;
}
