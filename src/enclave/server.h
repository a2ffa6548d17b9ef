/* The enclave's request server: io_threads epoll loops (I/O threads; the first one accepts and
 * gives each connection to the loop with the fewest), each owning its connections and answering
 * cached and inline requests itself, plus a pool of worker threads for handlers that may block.
 * Requests on one connection are pipelined and their responses leave in completion order. Per
 * connection: a frame-size cap, an in-flight cap, a write-buffer cap (both caps apply backpressure
 * by pausing reads, never by dropping), and an idle timeout, so a slow or silent client only ever
 * holds up itself. */
#ifndef NSL_ENCLAVE_SERVER_H
#define NSL_ENCLAVE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "services/service.h"

struct nsl_server_config {
    size_t max_frame;
    uint32_t max_connections;
    uint32_t max_inflight;
    uint32_t idle_timeout_ms;
    size_t write_buffer_max;
    uint32_t workers;
    uint32_t io_threads; /* 0 is taken as 1 */
};

struct nsl_server;

/* Takes ownership of listen_fd (non-blocking). Returns NULL on failure. */
struct nsl_server *nsl_server_create(const struct nsl_server_config *cfg, int listen_fd,
                                     struct nsl_enclave_ctx *ctx);
/* Runs until nsl_server_stop; returns 0, or -1 if the loop failed. */
int nsl_server_run(struct nsl_server *srv);
/* Async-signal-safe: asks the loop to finish. */
void nsl_server_stop(struct nsl_server *srv);
void nsl_server_destroy(struct nsl_server *srv);

#endif
