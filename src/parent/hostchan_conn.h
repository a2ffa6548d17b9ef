/* One enclave connection on the host channel. Its reader thread reads frames and hands each to
 * nsl_host_handle; answers (from the reader, or later from the blob store's writer thread) are
 * queued on the connection's outbox, which its sender thread writes in order of readiness, so
 * neither the reader nor the store's writer ever blocks on the socket. The connection is the
 * sink of its calls: each deferred call holds it, and the reader, once the peer is gone, waits
 * until every held call has been answered before the connection ends. */
#ifndef NSL_PARENT_HOSTCHAN_CONN_H
#define NSL_PARENT_HOSTCHAN_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "parent/host_ops.h"

/* Calls in flight on one connection before its reader stops reading (back-pressure). */
#define NSL_HOSTCHAN_MAX_INFLIGHT 256

struct nsl_hostchan_conn;

/* Serves fd (owned from now on) on new threads; NULL if they cannot start (fd is then closed). */
struct nsl_hostchan_conn *nsl_hostchan_conn_start(int fd, unsigned number, size_t max_frame,
                                                  struct nsl_host_context *ctx);
/* True once the connection has ended and nsl_hostchan_conn_free will not block. */
bool nsl_hostchan_conn_finished(struct nsl_hostchan_conn *c);
/* Asks the connection to end (its calls in flight are still answered). */
void nsl_hostchan_conn_close(struct nsl_hostchan_conn *c);
/* Waits for the connection's threads and frees it. */
void nsl_hostchan_conn_free(struct nsl_hostchan_conn *c);

#endif
