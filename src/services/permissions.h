/* Roles and permissions (ARCHITECTURE §5). A permission is "service:operation", "service:*" or
 * "*"; a role bundles permissions; an account holds roles plus extra permissions. The router
 * checks the permission a route names against the caller's effective set before any handler. */
#ifndef NSL_SERVICES_PERMISSIONS_H
#define NSL_SERVICES_PERMISSIONS_H

#include <jansson.h>
#include <stdbool.h>

#define NSL_MAX_ROLES       8
#define NSL_MAX_PERMISSIONS 64

bool nsl_role_valid(const char *role);
/* A well-formed permission: "*", "service:*" or "service:operation" of a known service. */
bool nsl_permission_valid(const char *permission);
/* The union of the roles' permissions and the extra ones: a new JSON array. */
json_t *nsl_permissions_effective(const json_t *roles, const json_t *extra);
/* True when a granted pattern covers required ("svc:op"). */
bool nsl_permission_granted(const json_t *granted, const char *required);
/* The same question asked of roles plus extra permissions, without building the union: what
 * the router asks on every request. */
bool nsl_permission_held(const json_t *roles, const json_t *extra, const char *required);

#endif
