/* The enclave master key (ARCHITECTURE §7), from which every sealing key is derived. It never
 * leaves the enclave unwrapped and lives on the secure heap.
 *
 * Provider "sim" (dev and tests, NOT SECURE): a random key made at first start, stored by the
 * parent as kv system/master-key wrapped (AES-256-GCM, associated data "nsl-master-sim-1") under a
 * wrapping key that the parent keeps in a 0600 file in its state dir and hands over on
 * `keys.simWrappingKey`. Whoever can read that file can unwrap the master key: that is why it is
 * flagged as not secure in the logs and in system.info.
 * Provider "kms": see kms.h. */
#ifndef NSL_STORE_MASTER_KEY_H
#define NSL_STORE_MASTER_KEY_H

#include "common/buf.h"
#include "common/errors.h"
#include "crypto/secret.h"
#include "enclave/hostchan.h"

/* Loads the master key, creating it on first start (two enclaves racing agree: the loser of the
 * compare-and-swap reads the winner's key). */
nsl_err nsl_master_key_load_sim(struct nsl_hostchan *hc, int timeout_ms, struct nsl_secret **master,
                                struct nsl_error *err);

/* Wrapping format used by the sim provider, exposed for tests. */
nsl_err nsl_master_key_wrap(const struct nsl_secret *wrapping, const struct nsl_secret *master,
                            struct nsl_buf *out, struct nsl_error *err);
nsl_err nsl_master_key_unwrap(const struct nsl_secret *wrapping, const void *blob, size_t len,
                              struct nsl_secret **master, struct nsl_error *err);

#endif
