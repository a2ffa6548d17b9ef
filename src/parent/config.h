/* nsl-parent's settings, filled by common/options.h from flags and --config (see main.c's
 * option table for names, defaults and ranges). */
#ifndef NSL_PARENT_CONFIG_H
#define NSL_PARENT_CONFIG_H

#include <stdint.h>

struct nsl_parent_config {
    char *http;        /* HOST:PORT of the JSON-RPC API */
    char *enclave;     /* URL of the enclave's listener */
    char *host_listen; /* URL where the enclave's host channel connects */
    char *state;       /* state directory */
    char *log_level;
    char *key_provider; /* sim | kms */
    char *db;           /* "" (SQLite under state) or a postgres:// URL (docs/scale-out.md) */
    char *sim_key_file; /* "" (<state>/sim-wrapping.key) or a file shared by several parents */
    char *migrate_from; /* "" or sqlite:PATH: copy that store into --db, then exit */
    int64_t enclave_connections;
    int64_t http_threads;
    int64_t max_body;
    int64_t max_batch;
    int64_t request_timeout_ms;
    int64_t max_frame;      /* enclave pool frames */
    int64_t host_max_frame; /* host-channel frames: must fit a 1 MiB sealed value in base64 */
    char *egress_listen;    /* URL of the egress proxy (docs/egress.md) */
    char *egress_allow;     /* HOST:PORT,... ("" = nothing) */
    int64_t egress_connect_timeout_ms;
    int64_t egress_max_tunnels;
    int64_t egress_max_bytes;
    int64_t egress_idle_timeout_ms;
};

#endif
