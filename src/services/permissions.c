/* The role table and permission matching (see permissions.h). */
#include "services/permissions.h"

#include <string.h>

#include "common/routes.h"

/* What each role grants. Users act on their own objects; every handler also checks ownership,
 * so "wallet:*" for a user means "on the user's own wallets". */
static const char *const admin_permissions[] = {"*", NULL};
static const char *const user_permissions[] = {
    "system:info",
    "account:get",
    "account:whoami",
    "account:createApiKey",
    "account:revokeApiKey",
    "attestation:*",
    "wallet:*",
    "secrets:*",
    "function:*",
    "pricefeed:get",
    "pricefeed:history",
    "pricefeed:pairs",
    "pricefeed:signerKey",
    "gasbank:balance",
    "gasbank:reserve",
    "gasbank:settle",
    "gasbank:release",
    "gasbank:withdraw",
    "gasbank:sponsorTransaction",
    "gasbank:history",
    NULL,
};
static const char *const operator_permissions[] = {
    "gasbank:deposit", "pricefeed:update", "pricefeed:configure", "system:metrics", NULL,
};

static const struct {
    const char *name;
    const char *const *grants;
    const char *const *inherits;
} roles[] = {
    {"admin", admin_permissions, NULL},
    {"operator", operator_permissions, user_permissions},
    {"user", user_permissions, NULL},
};

bool nsl_role_valid(const char *role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].name, role) == 0)
            return true;
    return false;
}

static bool service_known(const char *name, size_t len)
{
    for (size_t i = 0; i < nsl_route_count; i++)
        if (strlen(nsl_routes[i].service) == len && strncmp(nsl_routes[i].service, name, len) == 0)
            return true;
    /* Services whose operations land later may already be granted by roles. */
    static const char *const planned[] = {"attestation", "wallet",  "secrets", "function",
                                          "pricefeed",   "gasbank", NULL};
    for (size_t i = 0; planned[i]; i++)
        if (strlen(planned[i]) == len && strncmp(planned[i], name, len) == 0)
            return true;
    return false;
}

bool nsl_permission_valid(const char *p)
{
    if (strcmp(p, "*") == 0)
        return true;
    const char *colon = strchr(p, ':');
    if (!colon || colon == p || !colon[1] || strchr(colon + 1, ':'))
        return false;
    for (const char *c = colon + 1; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '*'))
            return false;
    return service_known(p, (size_t)(colon - p)) &&
           (strcmp(colon + 1, "*") == 0 || !strchr(colon + 1, '*'));
}

static void add_all(json_t *set, const char *const *grants)
{
    for (size_t i = 0; grants && grants[i]; i++)
        json_object_set_new(set, grants[i], json_true());
}

json_t *nsl_permissions_effective(const json_t *role_list, const json_t *extra)
{
    json_t *set = json_object(), *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(role_list, i, v)
    {
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
            if (json_is_string(v) && strcmp(roles[r].name, json_string_value(v)) == 0) {
                add_all(set, roles[r].grants);
                add_all(set, roles[r].inherits);
            }
        }
    }
    json_array_foreach(extra, i, v) if (json_is_string(v))
        json_object_set_new(set, json_string_value(v), json_true());
    const char *key;
    json_object_foreach(set, key, v) json_array_append_new(out, json_string(key));
    json_decref(set);
    return out;
}

/* True when pattern ("*", "svc:*" or "svc:op") covers required ("svc:op"). */
static bool covers(const char *pattern, const char *required)
{
    if (strcmp(pattern, "*") == 0 || strcmp(pattern, required) == 0)
        return true;
    const char *colon = strchr(required, ':');
    size_t service_len = colon ? (size_t)(colon - required) : strlen(required);
    return strlen(pattern) == service_len + 2 && strncmp(pattern, required, service_len) == 0 &&
           strcmp(pattern + service_len, ":*") == 0;
}

bool nsl_permission_granted(const json_t *granted, const char *required)
{
    size_t i;
    json_t *v;
    json_array_foreach(granted, i, v)
    {
        const char *p = json_string_value(v);
        if (p && covers(p, required))
            return true;
    }
    return false;
}

static bool any_covers(const char *const *grants, const char *required)
{
    for (size_t i = 0; grants && grants[i]; i++)
        if (covers(grants[i], required))
            return true;
    return false;
}

bool nsl_permission_held(const json_t *role_list, const json_t *extra, const char *required)
{
    size_t i;
    json_t *v;
    json_array_foreach(role_list, i, v)
    {
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++)
            if (json_is_string(v) && strcmp(roles[r].name, json_string_value(v)) == 0 &&
                (any_covers(roles[r].grants, required) || any_covers(roles[r].inherits, required)))
                return true;
    }
    return nsl_permission_granted(extra, required);
}
