/* The operations catalogue (see routes.h). */
#include "common/routes.h"

#include <string.h>

#include "common/request_id.h"

#include "common/route_params.h"

const struct nsl_route nsl_routes[] = {
#define NSL_ROUTE(svc, op, perm, flags, summary)                                                   \
    {#svc, #op, perm, flags, params_##svc##_##op, summary},
#include "common/routes.def"
#undef NSL_ROUTE
};

const size_t nsl_route_count = sizeof nsl_routes / sizeof nsl_routes[0];

const struct nsl_field_spec nsl_request_schema[] = {
    {"id", NSL_FIELD_STRING, true, NSL_MAX_ID_LEN, 0, 0, "request id, echoed in the response"},
    {"serviceType", NSL_FIELD_STRING, true, NSL_MAX_SERVICE_LEN, 0, 0, "service name"},
    {"operation", NSL_FIELD_STRING, true, NSL_MAX_OPERATION_LEN, 0, 0, "operation name"},
    {"params", NSL_FIELD_OBJECT, false, 0, 0, 0, "the operation's parameters"},
    {"auth", NSL_FIELD_OBJECT, false, 16, 0, 0, "credentials (ARCHITECTURE §5)"},
    {"traceId", NSL_FIELD_STRING, false, NSL_TRACE_ID_MAX, 0, 0,
     "request id for the logs, 1-80 of [A-Za-z0-9._-] (common/request_id.h)"},
    NSL_FIELDS_END,
};

nsl_err nsl_route_find(const char *service, const char *operation, size_t *index)
{
    bool service_known = false;
    for (size_t i = 0; i < nsl_route_count; i++) {
        if (strcmp(nsl_routes[i].service, service) != 0)
            continue;
        service_known = true;
        if (strcmp(nsl_routes[i].operation, operation) == 0) {
            *index = i;
            return NSL_OK;
        }
    }
    return service_known ? NSL_ERR_UNKNOWN_OPERATION : NSL_ERR_UNKNOWN_SERVICE;
}

long nsl_route_find_method(const char *method)
{
    const char *dot = strchr(method, '.');
    if (!dot)
        return -1;
    size_t slen = (size_t)(dot - method);
    for (size_t i = 0; i < nsl_route_count; i++)
        if (strlen(nsl_routes[i].service) == slen &&
            strncmp(nsl_routes[i].service, method, slen) == 0 &&
            strcmp(nsl_routes[i].operation, dot + 1) == 0)
            return (long)i;
    return -1;
}

static json_t *flags_to_json(unsigned flags)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{NSL_ROUTE_PUBLIC, "public"},
                 {NSL_ROUTE_MUTATES, "mutates"},
                 {NSL_ROUTE_ADMIN, "admin"},
                 {NSL_ROUTE_SEALED_PARAMS, "sealedParams"},
                 {NSL_ROUTE_SEALED_RESULT, "sealedResult"},
                 {NSL_ROUTE_INLINE, "inline"},
                 {NSL_ROUTE_CACHED, "cached"}};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & names[i].bit)
            json_array_append_new(a, json_string(names[i].name));
    return a;
}

static json_t *params_to_json(const struct nsl_field_spec *spec)
{
    json_t *a = json_array();
    for (; spec->name; spec++) {
        json_t *f = json_pack("{s:s, s:s, s:b}", "name", spec->name, "type",
                              nsl_field_type_name(spec->type), "required", spec->required);
        if (spec->max_len)
            json_object_set_new(f, "maxLength", json_integer((json_int_t)spec->max_len));
        if (spec->type == NSL_FIELD_INT) {
            json_object_set_new(f, "min", json_integer(spec->min));
            json_object_set_new(f, "max", json_integer(spec->max));
        }
        json_array_append_new(a, f);
    }
    return a;
}

json_t *nsl_routes_to_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:o, s:s, s:o}", "service", r->service,
                                           "operation", r->operation, "permission", r->permission,
                                           "flags", flags_to_json(r->flags), "summary", r->summary,
                                           "params", params_to_json(r->params)));
    }
    return a;
}
