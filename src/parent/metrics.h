/* Prometheus metrics of nsl-parent (text exposition format 0.0.4), updated with relaxed atomics
 * from any thread. Method labels come from the routes table plus "unknown", so the label set is
 * bounded whatever clients send. */
#ifndef NSL_PARENT_METRICS_H
#define NSL_PARENT_METRICS_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/errors.h"

struct nsl_metrics;

struct nsl_metrics *nsl_metrics_new(void);
void nsl_metrics_free(struct nsl_metrics *m);

/* route is an index in nsl_routes, or -1 for a method the table does not know. */
void nsl_metrics_observe_call(struct nsl_metrics *m, long route, double seconds);
void nsl_metrics_count_error(struct nsl_metrics *m, nsl_err code);
void nsl_metrics_add_connections(struct nsl_metrics *m, int delta);
void nsl_metrics_observe_enclave_rtt(struct nsl_metrics *m, double seconds);
void nsl_metrics_count_reconnect(struct nsl_metrics *m);
void nsl_metrics_set_enclave_up(struct nsl_metrics *m, bool up);

/* Appends the exposition text to out. Returns 0 or -1 on allocation failure. */
int nsl_metrics_render(struct nsl_metrics *m, struct nsl_buf *out);

#endif
