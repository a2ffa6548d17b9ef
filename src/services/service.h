/* The contract between the router and the services: one call record per request, and the
 * enclave-wide context that services read. Services never see sockets or frames. */
#ifndef NSL_SERVICES_SERVICE_H
#define NSL_SERVICES_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errors.h"
#include "common/routes.h"

struct nsl_hostchan;
struct nsl_storage;
struct nsl_records;
struct nsl_audit;
struct nsl_replay_cache;
struct nsl_rate_limit;
struct nsl_wallet_keys;
struct nsl_identity;
struct nsl_sandbox;
struct nsl_function_cache;
struct nsl_scheduler;
struct nsl_identity;

/* State shared by every service; built by the enclave's main and read-only afterwards except
 * for its atomic counters. */
struct nsl_enclave_ctx {
    const char *mode;                /* "simulated" or "nitro" */
    uint64_t started_ms;             /* CLOCK_MONOTONIC at start, for uptime */
    struct nsl_hostchan *host;       /* host channel to the parent */
    struct nsl_storage *storage;     /* sealed store, ready once the master key is loaded */
    struct nsl_records *accounts;    /* account and API-key records (ns "accounts") */
    struct nsl_audit *audit;         /* hash-chained audit log */
    struct nsl_replay_cache *replay; /* neo-sig nonces inside the time window */
    struct nsl_rate_limit *rate;     /* per-account token buckets */
    struct nsl_wallet_keys *wallet;  /* wallet keys and their cache */
    struct nsl_identity *identity;   /* HPKE key, signing key, attestation provider */
    bool require_sealed;             /* sensitive operations must arrive sealed */
    int64_t max_secrets;             /* per account */
    struct nsl_sandbox *sandbox;     /* function workers (forked before any secret) */
    /* Deployed functions (function_cache.h); NULL: every invocation reads the store. */
    struct nsl_function_cache *functions;
    struct nsl_scheduler *scheduler; /* scheduled functions */
    struct nsl_egress *egress;       /* HTTPS via the parent's egress proxy (egress_client.h) */
    struct nsl_pricefeed *pricefeed; /* price feed scheduler and fetcher */
    int64_t auth_window_sec;         /* neo-sig timestamp tolerance (±) */
    /* Requests answered per route and per error code, for system.metrics. */
    uint64_t route_calls[64];
    uint64_t error_counts[NSL_ERR_COUNT];
};

enum nsl_auth_scheme { NSL_AUTH_NONE, NSL_AUTH_APIKEY, NSL_AUTH_NEO_SIG };

/* Who made the request, once authenticated. */
struct nsl_caller {
    enum nsl_auth_scheme scheme;
    char account_id[48];
    char key_id[48]; /* apikey only */
    /* Shared with the account cache: read-only (nsl_records_view). Effective permissions are
     * roles' grants plus extra_permissions (nsl_permission_held, nsl_permissions_effective). */
    const json_t *roles;
    const json_t *extra_permissions;
};

/* One request on its way through a handler. The handler reads params (already checked against
 * the route's schema) and either sets result (owned by the call) and returns NSL_OK, or returns
 * an error after nsl_fail(&call->error, ...). */
struct nsl_call {
    const char *id;
    size_t route_index;
    const struct nsl_route *route;
    const json_t *params;      /* opened and checked params */
    const json_t *wire_params; /* params as sent (sealed or not): what a neo-sig signs */
    json_t *result;
    struct nsl_error error;
    struct nsl_enclave_ctx *ctx;
    struct nsl_caller caller; /* scheme NSL_AUTH_NONE for public operations */
    const char *auth_failure; /* why credentials were refused: logged once, with the answer */
    bool rate_charged;        /* the caller's rate-limit token for this request is taken */
};

typedef nsl_err (*nsl_handler)(struct nsl_call *call);

/* Handlers of every row of routes.def, named nsl_<service>_<operation>. */
#define NSL_ROUTE(svc, op, perm, flags, summary) nsl_err nsl_##svc##_##op(struct nsl_call *call);
#include "common/routes.def"
#undef NSL_ROUTE

uint64_t nsl_monotonic_ms(void);

#endif
