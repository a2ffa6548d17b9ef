/* Prometheus metrics of nsl-parent (text exposition format 0.0.4), updated with relaxed atomics
 * from any thread. Method labels come from the routes table plus "unknown", so the label set is
 * bounded whatever clients send. */
#ifndef NSL_PARENT_METRICS_H
#define NSL_PARENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/errors.h"

struct nsl_metrics;

struct nsl_metrics *nsl_metrics_new(void);
void nsl_metrics_free(struct nsl_metrics *m);

/* route is an index in nsl_routes, or -1 for a method the table does not know. */
void nsl_metrics_observe_call(struct nsl_metrics *m, long route, double seconds);
/* A call answered with an error: counted by code (nsl_rpc_errors_total) and by method
 * (nsl_http_request_errors_total). */
void nsl_metrics_count_error(struct nsl_metrics *m, long route, nsl_err code);
void nsl_metrics_add_connections(struct nsl_metrics *m, int delta);
void nsl_metrics_observe_enclave_rtt(struct nsl_metrics *m, double seconds);
void nsl_metrics_count_reconnect(struct nsl_metrics *m);
void nsl_metrics_set_enclave_up(struct nsl_metrics *m, bool up);

/* Host-channel storage operations (nsl_kv_ops_total{op}). */
enum nsl_kv_op {
    NSL_KV_GET,
    NSL_KV_PUT,
    NSL_KV_DELETE,
    NSL_KV_LIST,
    NSL_KV_BATCH,
    NSL_KV_PRUNE,
    NSL_KV_OP_COUNT
};
void nsl_metrics_count_kv_op(struct nsl_metrics *m, enum nsl_kv_op op);
/* One group commit of the blob store: how many writes it made durable and how long it took. */
void nsl_metrics_observe_kv_commit(struct nsl_metrics *m, size_t writes, double seconds);

/* Egress proxy tunnels (docs/egress.md): how each CONNECT ended, tunnels open, bytes relayed. */
enum nsl_egress_outcome {
    NSL_EGRESS_OUTCOME_OK,
    NSL_EGRESS_OUTCOME_FORBIDDEN,
    NSL_EGRESS_OUTCOME_BAD_REQUEST,
    NSL_EGRESS_OUTCOME_CONNECT_FAILED,
    NSL_EGRESS_OUTCOME_TIMEOUT,
    NSL_EGRESS_OUTCOME_BUSY,
    NSL_EGRESS_OUTCOME_COUNT
};
void nsl_metrics_count_egress_tunnel(struct nsl_metrics *m, enum nsl_egress_outcome outcome);
void nsl_metrics_add_egress_open(struct nsl_metrics *m, int delta);
/* up: enclave to upstream; down: upstream to enclave. */
void nsl_metrics_add_egress_bytes(struct nsl_metrics *m, bool up, size_t bytes);

/* Appends the exposition text to out. Returns 0 or -1 on allocation failure. */
int nsl_metrics_render(struct nsl_metrics *m, struct nsl_buf *out);

#endif
