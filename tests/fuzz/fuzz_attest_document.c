/* Fuzzes attestation documents: COSE_Sign1/CBOR parsing (nsl_attest_document_parse), then the
 * whole verification (signature, certificate chain, policy) with simulated and debug documents
 * allowed, so that the fuzzer reaches every step. The certificates are checked as of the
 * document's own timestamp, which lets the real Nitro documents of the seeds verify in full. */
#include "attest/document.h"
#include "attest/verify.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nsl_attest_policy policy = {
        .at_set = true, .allow_debug = true, .allow_simulated = true};
    policy.at = 1735689600; /* 2025-01-01, when the document has no usable timestamp */

    static struct nsl_attest_document doc; /* about 2 KB of PCRs: off the stack */
    struct nsl_error err = {0};
    nsl_err rc = nsl_attest_document_parse(data, size, &doc, &err);
    if (rc == NSL_OK) {
        FUZZ_CHECK(doc.cabundle_len >= 1 && doc.cabundle_len <= NSL_ATTEST_MAX_CABUNDLE);
        for (unsigned i = 0; i < NSL_ATTEST_MAX_PCRS + 1; i++)
            (void)nsl_attest_document_pcr_is_zero(&doc, i);
        policy.at = (int64_t)(doc.timestamp_ms / 1000);
        enum nsl_attest_mode mode;
        (void)nsl_attest_verify_document(&doc, &policy, &mode, &err);
    }
    nsl_attest_document_free(&doc);

    static struct nsl_attest_result result;
    rc = nsl_attest_verify(data, size, &policy, &result, &err);
    FUZZ_CHECK(rc != NSL_OK || result.at == policy.at);
    nsl_attest_result_free(&result);
    return 0;
}
