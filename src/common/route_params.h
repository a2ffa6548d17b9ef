/* Parameter schemas of the operations in routes.def, one array per row, named
 * params_<service>_<operation>. Included only by routes.c. */
#ifndef NSL_COMMON_ROUTE_PARAMS_H
#define NSL_COMMON_ROUTE_PARAMS_H

#include "common/json.h"

static const struct nsl_field_spec params_system_health[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_system_info[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_system_metrics[] = {NSL_FIELDS_END};

#endif
