/* Parameter schemas of the operations in routes.def, one array per row, named
 * params_<service>_<operation>. Included only by routes.c. */
#ifndef NSL_COMMON_ROUTE_PARAMS_H
#define NSL_COMMON_ROUTE_PARAMS_H

#include "common/json.h"

static const struct nsl_field_spec params_system_health[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_system_info[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_system_metrics[] = {NSL_FIELDS_END};

#define NSL_ACCOUNT_ID_LEN 47

static const struct nsl_field_spec params_account_bootstrap[] = {
    {"publicKey", NSL_FIELD_HEX, true, 33, 0, 0, "the admin's secp256r1 public key (compressed)"},
    {"name", NSL_FIELD_STRING, false, 64, 0, 0, "a label for the account"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_create[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "a label for the account"},
    {"roles", NSL_FIELD_ARRAY, false, 8, 0, 0, "admin, operator, user (default [user])"},
    {"publicKey", NSL_FIELD_HEX, false, 33, 0, 0, "secp256r1 key for neo-sig requests"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_get[] = {
    {"accountId", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "default: your own"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_list[] = {
    {"after", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "the last id of the page before"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "page size (default 100)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_update[] = {
    {"accountId", NSL_FIELD_STRING, true, NSL_ACCOUNT_ID_LEN, 0, 0, "the account to change"},
    {"roles", NSL_FIELD_ARRAY, false, 8, 0, 0, "replaces the roles"},
    {"permissions", NSL_FIELD_ARRAY, false, 64, 0, 0, "replaces the extra permissions"},
    {"disabled", NSL_FIELD_BOOL, false, 0, 0, 0, "a disabled account cannot authenticate"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_delete[] = {
    {"accountId", NSL_FIELD_STRING, true, NSL_ACCOUNT_ID_LEN, 0, 0, "the account to delete"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_createApiKey[] = {
    {"accountId", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "default: your own"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_revokeApiKey[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_ACCOUNT_ID_LEN, 0, 0, "the key to revoke"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_whoami[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_account_auditLog[] = {
    {"since", NSL_FIELD_INT, false, 0, 0, (int64_t)1 << 53, "first sequence number (default 1)"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "entries to return (default 100)"},
    NSL_FIELDS_END,
};

#endif
