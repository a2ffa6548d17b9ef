/* End-to-end sealing for nsl (ARCHITECTURE §6, docs/cli.md "Sealing"). Before an operation the
 * routes table marks sensitive (NSL_ROUTE_SEALED_PARAMS / NSL_ROUTE_SEALED_RESULT; any with
 * --seal), nsl fetches the enclave's attestation document for a fresh nonce, verifies it against
 * the caller's policy, checks that it vouches for the HPKE key and the signing key sent beside
 * it, and seals the params, with a fresh replyKey, to that key (docs/hpke.md). A sealed result
 * is opened with the reply key's private half, which never leaves an nsl_secret. The parent sees
 * only ciphertext. */
#ifndef NSL_CLI_SEAL_H
#define NSL_CLI_SEAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "attest/verify.h"
#include "cli/args.h"
#include "cli/rpc.h"
#include "common/errors.h"
#include "common/routes.h"
#include "crypto/hpke.h"
#include "crypto/secret.h"
#include "neo/key.h"

#define NSL_CLI_SEAL_REQUEST_INFO "nsl-request-1"
#define NSL_CLI_SEAL_RESULT_INFO  "nsl-result-1"
#define NSL_CLI_SEAL_NONCE_LEN    32
/* user_data of a document: multihash 0x12 0x20 ‖ SHA-256(signerPublicKey) (enclave/identity.h). */
#define NSL_CLI_SEAL_COMMITMENT_LEN 34

/* True when a request for route r is sealed under mode. */
bool nsl_cli_seal_wanted(const struct nsl_route *r, enum nsl_cli_seal_mode mode);

/* The attestation policy from the command line and the environment: --allow-simulated or
 * NSL_ALLOW_SIMULATED (1/true or 0/false), --allow-debug, every --pcr N=HEX or, when none is
 * given, NSL_PCRS "N=HEX,N=HEX,...". Either NULL env value counts as unset. Bad syntax is
 * INVALID_REQUEST. The nonce is set later, by nsl_cli_seal_attest. */
nsl_err nsl_cli_seal_policy(const struct nsl_cli_args *args, const char *env_allow_simulated,
                            const char *env_pcrs, struct nsl_attest_policy *policy,
                            struct nsl_error *err);

/* The commitment a document's user_data must hold for a signer key (no caller userData). */
void nsl_cli_seal_commitment(const uint8_t signer_pub[NSL_NEO_PUBKEY_LEN],
                             uint8_t out[NSL_CLI_SEAL_COMMITMENT_LEN]);

/* Checks an attestation.getDocument result {document, hpkePublicKey, signerPublicKey} against
 * policy (its nonce too), then that hpkePublicKey is the document's public_key and user_data the
 * commitment to signerPublicKey. On success pk is the verified key. Failures are UNAUTHENTICATED
 * "enclave attestation failed: <reason>" (INTERNAL when memory runs out). */
nsl_err nsl_cli_seal_check_document(const json_t *result, const struct nsl_attest_policy *policy,
                                    uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], struct nsl_error *err);

/* Calls attestation.getDocument (public) at ep with a fresh 32-byte nonce and checks the answer
 * as above. A failed call keeps the server's code, its message prefixed. */
nsl_err nsl_cli_seal_attest(const struct nsl_cli_endpoint *ep,
                            const struct nsl_attest_policy *policy,
                            uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], struct nsl_error *err);

/* Seals params plus a fresh "replyKey" to pk for service.operation: *sealed is
 * {"sealed": {"enc": HEX, "ct": BASE64}}, *reply_sk the reply key's private half. */
nsl_err nsl_cli_seal_params(const uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], const char *service,
                            const char *operation, const json_t *params, json_t **sealed,
                            struct nsl_secret **reply_sk, struct nsl_error *err);

/* Opens a result {"sealed": {...}} with reply_sk: *opened is the result object. An empty {} (an
 * operation with nothing to return) stands as it is; any other unsealed result, or one that
 * does not open, is UNAUTHENTICATED. */
nsl_err nsl_cli_seal_open_result(const struct nsl_secret *reply_sk, const char *service,
                                 const char *operation, const json_t *result, json_t **opened,
                                 struct nsl_error *err);

/* One sealed request: what to send in place of the params and the key its result opens with. */
struct nsl_cli_sealing {
    json_t *params; /* {"sealed": ...}, owned; NULL when the request is not sealed */
    struct nsl_secret *reply_sk;
};

/* nsl_cli_seal_attest, then nsl_cli_seal_params of params for r. */
nsl_err nsl_cli_seal_request(const struct nsl_cli_endpoint *ep,
                             const struct nsl_attest_policy *policy, const struct nsl_route *r,
                             const json_t *params, struct nsl_cli_sealing *s,
                             struct nsl_error *err);
/* Replaces reply->result by the opened result; an error reply is left as it is. On failure
 * reply->result is dropped. */
nsl_err nsl_cli_seal_reply(const struct nsl_cli_sealing *s, const struct nsl_route *r,
                           struct nsl_cli_reply *reply, struct nsl_error *err);
void nsl_cli_sealing_free(struct nsl_cli_sealing *s);

#endif
