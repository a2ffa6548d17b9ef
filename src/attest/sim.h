/* The simulated NSM for dev and test (ARCHITECTURE §6, docs/nsm.md): the same operations as the
 * device provider (nsm.h) and documents of the same form as a real Nitro hypervisor's — an
 * untagged COSE_Sign1 (ES384) whose payload is an indefinite-length map in the order AWS emits
 * it — signed by a P-384 chain made at start-up: root → intermediate → leaf. The root is
 * cabundle[0]; module_id is "sim-" + 32 hex digits; PCRs 0..15 are all zero, as in a debug
 * enclave. The leaf lives 3 hours as on Nitro and is replaced by a fresh one after an hour, so
 * every document has at least two hours of leaf validity left. Nothing here is trusted outside
 * dev: a verifier accepts these documents only when told to (allow_simulated). */
#ifndef NSL_ATTEST_SIM_H
#define NSL_ATTEST_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/nsm.h"
#include "common/buf.h"
#include "common/errors.h"

#define NSL_SIM_MODULE_PREFIX         "sim-"
#define NSL_SIM_LEAF_LIFETIME         (3 * 3600) /* seconds, as a Nitro leaf certificate */
#define NSL_SIM_LEAF_ROTATE           3600       /* a new leaf once the current one is this old */
#define NSL_SIM_ROOT_LIFETIME         (30 * 365 * 86400)
#define NSL_SIM_INTERMEDIATE_LIFETIME (10 * 365 * 86400)

struct nsl_sim;

/* A simulator with a fresh chain and module id (one per boot). Thread-safe once made. */
nsl_err nsl_sim_new(struct nsl_sim **sim, struct nsl_error *err);
void nsl_sim_free(struct nsl_sim *sim);

const char *nsl_sim_module_id(const struct nsl_sim *sim);
/* Appends the DER of the simulated root certificate (what a dev verifier pins). */
nsl_err nsl_sim_root_der(struct nsl_sim *sim, struct nsl_buf *out, struct nsl_error *err);

/* Appends an attestation document to doc. user_data, nonce and public_key are null when NULL;
 * their limits are those of the device (nsm.h), else NSL_ERR_LIMIT_EXCEEDED. */
nsl_err nsl_sim_attest(struct nsl_sim *sim, const uint8_t *user_data, size_t user_data_len,
                       const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key,
                       size_t public_key_len, struct nsl_buf *doc, struct nsl_error *err);
/* nsl_sim_attest as of now_ms (ms since the epoch, not before the simulator was made): the
 * timestamp and the leaf rotation follow it. For tests. */
nsl_err nsl_sim_attest_at(struct nsl_sim *sim, uint64_t now_ms, const uint8_t *user_data,
                          size_t user_data_len, const uint8_t *nonce, size_t nonce_len,
                          const uint8_t *public_key, size_t public_key_len, struct nsl_buf *doc,
                          struct nsl_error *err);

/* GetRandom: len bytes from OpenSSL's DRBG (any length). */
nsl_err nsl_sim_random(uint8_t *out, size_t len, struct nsl_error *err);
/* DescribePCR: every PCR is 48 zero bytes; 0..15 are locked, 16..31 are not; an index of 32 or
 * more is NSL_ERR_INVALID_PARAMS, as the device's InvalidIndex. */
nsl_err nsl_sim_describe_pcr(unsigned index, bool *locked, uint8_t data[NSL_NSM_MAX_PCR_LEN],
                             size_t *data_len, struct nsl_error *err);

#endif
