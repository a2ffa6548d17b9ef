/* The operations catalogue generated from routes.def, shared by the enclave (dispatch), the
 * parent (metrics labels) and the CLI (parameter typing). Route i here is handler i in the
 * enclave's router. Also the request envelope's schema (ARCHITECTURE §2). */
#ifndef NSL_COMMON_ROUTES_H
#define NSL_COMMON_ROUTES_H

#include <jansson.h>
#include <stddef.h>

#include "common/errors.h"
#include "common/json.h"

enum nsl_route_flags {
    NSL_ROUTE_PUBLIC = 1 << 0,        /* no caller needed (§5) */
    NSL_ROUTE_MUTATES = 1 << 1,       /* changes state; audited */
    NSL_ROUTE_ADMIN = 1 << 2,         /* requires neo-sig */
    NSL_ROUTE_SEALED_PARAMS = 1 << 3, /* params may/must arrive HPKE-sealed (§6) */
    NSL_ROUTE_SEALED_RESULT = 1 << 4, /* result is sealed to the caller's replyKey */
    NSL_ROUTE_INLINE = 1 << 5,        /* cheap and non-blocking: runs on the I/O thread */
    NSL_ROUTE_CACHED = 1 << 6,        /* usually answered from caches: tried on the I/O thread
                                         first, run by a worker when it must wait (probe.h) */
};

struct nsl_route {
    const char *service;
    const char *operation;
    const char *permission;
    unsigned flags;
    const struct nsl_field_spec *params;
    const char *summary;
};

extern const struct nsl_route nsl_routes[];
extern const size_t nsl_route_count;

/* Finds service.operation. Returns NSL_OK with *index set, NSL_ERR_UNKNOWN_SERVICE or
 * NSL_ERR_UNKNOWN_OPERATION. */
nsl_err nsl_route_find(const char *service, const char *operation, size_t *index);
/* Finds "service.operation" (the JSON-RPC method form); -1 when unknown. */
long nsl_route_find_method(const char *method);

/* Limits of the request envelope. */
#define NSL_MAX_ID_LEN        128
#define NSL_MAX_SERVICE_LEN   32
#define NSL_MAX_OPERATION_LEN 64

extern const struct nsl_field_spec nsl_request_schema[];

/* The operations table as JSON: [{service, operation, permission, flags:[...], summary,
 * params:[{name, type, required, maxLength?, min?, max?}]}]. */
json_t *nsl_routes_to_json(void);

#endif
