/* The host-channel listener (--host-listen): the enclave connects out to it and sends framed
 * requests (ARCHITECTURE §2) for host operations (host_ops.h). Requests on one connection are
 * handled concurrently: its reader thread parses each frame and runs the operation, reads at
 * once, writes deferred to the blob store's group commit; its sender thread writes the answers
 * in whatever order they are ready (the enclave matches them by id). */
#ifndef NSL_PARENT_HOSTCHAN_SERVER_H
#define NSL_PARENT_HOSTCHAN_SERVER_H

#include <stddef.h>

#include "parent/host_ops.h"

struct nsl_hostchan;

/* Listens on url and starts accepting. Returns NULL (with a log line) when it cannot. */
struct nsl_hostchan *nsl_hostchan_start(const char *url, size_t max_frame,
                                        struct nsl_host_context *ctx);
/* Closes the listener and every connection (waiting for their calls in flight to be answered),
 * joins all threads and frees. */
void nsl_hostchan_stop(struct nsl_hostchan *hc);

#endif
