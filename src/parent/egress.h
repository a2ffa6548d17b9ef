/* The egress proxy (--egress-listen, docs/egress.md): the enclave has no network (ARCHITECTURE
 * §1, NITRO.md), so it sends "CONNECT host:port HTTP/1.1" here; an allowlisted target is
 * connected over TCP and bytes are relayed both ways. The enclave does TLS end to end: the parent
 * sees only the target and ciphertext. One thread per tunnel, a poll() relay. */
#ifndef NSL_PARENT_EGRESS_H
#define NSL_PARENT_EGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "parent/metrics.h"

struct nsl_egress_proxy_config {
    const char *listen;     /* URL */
    const char *allow;      /* "HOST:PORT,..." ("" = nothing allowed) */
    int connect_timeout_ms; /* upstream TCP connect (504 after it) */
    size_t max_tunnels;     /* open at once (503 above) */
    uint64_t max_bytes;     /* per tunnel, both directions together (closed above) */
    int idle_timeout_ms;    /* no byte either way for this long closes a tunnel */
};

struct nsl_egress_proxy;

/* Listens and starts accepting. Returns NULL (with a log line) when it cannot. */
struct nsl_egress_proxy *nsl_egress_proxy_start(const struct nsl_egress_proxy_config *cfg,
                                                struct nsl_metrics *metrics);
/* Closes the listener, shuts every tunnel down, joins all threads and frees. */
void nsl_egress_proxy_stop(struct nsl_egress_proxy *proxy);

#endif
