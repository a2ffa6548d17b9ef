/* Trying a request on the I/O thread before handing it to a worker (router.h,
 * nsl_router_try_inline). While a probe is open on the calling thread, every point that would
 * wait or leave a trace — a host-channel round trip (store, egress), an audit entry, spending a
 * neo-sig nonce — refuses at once and marks the probe, so the request is abandoned without an
 * answer and run again from the start on a worker. Requests answered from the enclave's caches
 * thus skip two thread hand-offs while nothing that waits runs on the I/O thread. Only routes
 * flagged NSL_ROUTE_CACHED are probed; their handlers must not wait in any other way (no
 * sandbox, no lock held across host I/O). */
#ifndef NSL_ENCLAVE_PROBE_H
#define NSL_ENCLAVE_PROBE_H

#include <stdbool.h>

#include "common/errors.h"

void nsl_probe_begin(void);
/* Closes this thread's probe; true when it met a blocking point. */
bool nsl_probe_end(void);
/* True when this thread's open probe has met a blocking point. */
bool nsl_probe_blocked(void);
/* Called where the thread is about to wait: while probing, marks the probe, fills err
 * (UNAVAILABLE) and returns true; otherwise returns false and the caller goes on. */
bool nsl_probe_refuse(struct nsl_error *err);

#endif
