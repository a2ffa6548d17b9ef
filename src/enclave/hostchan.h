/* The enclave's host channel: one connection that the enclave opens to its parent (vsock://3:5001
 * in production, a unix socket in dev), over which it reaches storage and the network. It
 * reconnects by itself whenever the parent goes away, pings every two seconds, and lets any
 * thread make a blocking call; calls in flight when the connection drops fail with UNAVAILABLE. */
#ifndef NSL_ENCLAVE_HOSTCHAN_H
#define NSL_ENCLAVE_HOSTCHAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errors.h"
#include "common/url.h"

struct nsl_hostchan;

struct nsl_hostchan_status {
    bool connected;
    uint64_t reconnects; /* successful connections after the first */
    int64_t last_rtt_us; /* of the last host.ping, -1 before the first */
};

struct nsl_hostchan *nsl_hostchan_start(const struct nsl_url *url, size_t max_frame);
void nsl_hostchan_stop(struct nsl_hostchan *hc);
/* hc may be NULL (no host channel configured): reported as not connected. */
void nsl_hostchan_get_status(const struct nsl_hostchan *hc, struct nsl_hostchan_status *st);

/* Sends service.operation with params (a reference is taken) and waits for the answer; writing
 * the request and waiting share one deadline of timeout_ms (TIMEOUT past it), so a parent that
 * stops reading holds no caller for ever (the channel is reset after a write that did not finish).
 * On success *result holds the reply's result (caller owns it). */
nsl_err nsl_hostchan_call(struct nsl_hostchan *hc, const char *service, const char *operation,
                          json_t *params, int timeout_ms, json_t **result, struct nsl_error *err);

#endif
