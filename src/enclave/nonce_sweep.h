/* Removes spent neo-sig nonce records (nonces/<time>/<account>/<nonce>, src/enclave/auth.c) from a
 * shared store once their time can no longer be accepted, with the parent's kv.prune
 * (docs/scale-out.md#spent-nonce-records). Every enclave sweeps on its own: a prune is idempotent,
 * so pairs need no lease, and a sweep survives the loss of any pair. Nothing is swept while the
 * store is not shared (then no nonce records are written). */
#ifndef NSL_ENCLAVE_NONCE_SWEEP_H
#define NSL_ENCLAVE_NONCE_SWEEP_H

#include <stdint.h>

#include "enclave/storage.h"

struct nsl_nonce_sweep;

/* Sweeps every interval_sec, first one interval after start; window_sec is --auth-window-sec.
 * NULL when the thread could not start. */
struct nsl_nonce_sweep *nsl_nonce_sweep_start(struct nsl_storage *storage, int64_t window_sec,
                                              int64_t interval_sec);
void nsl_nonce_sweep_stop(struct nsl_nonce_sweep *sweep);

/* Records whose time is before this bound are dropped: now - 2 x window. The enclave accepts no
 * timestamp before now - window, so a dropped record is never needed again; the second window is
 * the margin for clocks of different pairs that disagree (by less than a window). */
int64_t nsl_nonce_sweep_bound(int64_t now, int64_t window_sec);

#endif
