/* Verifying an attestation document before trusting the enclave that made it: the ES384
 * signature over the COSE Sig_structure with the leaf certificate's P-384 key; the certificate
 * chain leaf -> cabundle[n-1..1] -> cabundle[0], which must be the compiled-in AWS Nitro root G1
 * (or, only when allowed, a simulated root: module_id "sim-..." and every PCR zero), valid at a
 * given time; then the nonce, expected PCRs and debug mode. Each failure has its own message:
 *   INVALID_PARAMS  "malformed ..."
 *   UNAUTHENTICATED "signature does not verify"
 *                   "certificate expired or not yet valid at <time>"
 *                   "certificate chain does not lead to the AWS Nitro root"
 *                   "simulated document refused"
 *                   "nonce mismatch", "PCR <n> mismatch"
 *                   "debug-mode enclave (PCR0 is zero) refused"
 *   INTERNAL        out of memory, OpenSSL failure
 * (messages may add a detail after the phrase above, in parentheses). */
#ifndef NSL_ATTEST_VERIFY_H
#define NSL_ATTEST_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/document.h"
#include "common/errors.h"

enum nsl_attest_mode {
    NSL_ATTEST_MODE_NITRO,       /* AWS root, production enclave */
    NSL_ATTEST_MODE_NITRO_DEBUG, /* AWS root, PCR0 zero (debug mode); needs allow_debug */
    NSL_ATTEST_MODE_SIMULATED,   /* the document's own root; needs allow_simulated */
};

/* "nitro", "nitro-debug", "simulated". */
const char *nsl_attest_mode_name(enum nsl_attest_mode mode);

#define NSL_ATTEST_SIM_PREFIX "sim-" /* module_id prefix of simulated documents */

/* What the caller expects. Zero-initialise, then set what applies. */
struct nsl_attest_policy {
    bool at_set; /* verify the certificates as of `at` (unix seconds); otherwise now */
    int64_t at;
    const uint8_t *nonce; /* expected nonce (nonce_len bytes), or NULL: not checked */
    size_t nonce_len;
    uint32_t pcr_mask; /* bit i set: PCR i must equal pcrs[i] */
    uint8_t pcrs[NSL_ATTEST_MAX_PCRS][NSL_ATTEST_PCR_LEN];
    bool allow_debug;     /* accept an AWS-signed document whose PCR0 is zero */
    bool allow_simulated; /* accept a simulated document (dev and tests only) */
};

struct nsl_attest_result {
    struct nsl_attest_document doc; /* every decoded field */
    enum nsl_attest_mode mode;
    int64_t at; /* the time the certificates were checked at (unix seconds) */
};

/* Parses and verifies len bytes. On success *result holds the document (free it with
 * nsl_attest_result_free); on failure *result is left empty. */
nsl_err nsl_attest_verify(const uint8_t *data, size_t len, const struct nsl_attest_policy *policy,
                          struct nsl_attest_result *result, struct nsl_error *err);

/* Verifies an already parsed document; *mode is set on success. */
nsl_err nsl_attest_verify_document(const struct nsl_attest_document *doc,
                                   const struct nsl_attest_policy *policy,
                                   enum nsl_attest_mode *mode, struct nsl_error *err);

void nsl_attest_result_free(struct nsl_attest_result *result);

/* Sets policy->pcrs[index] from hex (96 digits). Returns 0, or -1 for a bad index or value. */
int nsl_attest_policy_expect_pcr(struct nsl_attest_policy *policy, unsigned index, const char *hex);

#endif
