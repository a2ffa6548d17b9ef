/* Signing policy checks (see wallet_policy.h). */
#include "services/wallet_policy.h"

#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "neo/calls.h"

static nsl_err check_contracts(const json_t *list, struct nsl_error *err)
{
    size_t i;
    json_t *v;
    uint8_t hash[NSL_NEO_HASH160_LEN];
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v) || nsl_neo_hash160_parse(json_string_value(v), hash) != 0)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "params.allowedContracts[%zu] must be a 0x-prefixed script hash", i);
    }
    return NSL_OK;
}

static nsl_err check_networks(const json_t *list, struct nsl_error *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 4294967295LL)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "params.allowedNetworks[%zu] must be a network magic (u32)", i);
    }
    return NSL_OK;
}

nsl_err nsl_wallet_policy_merge(const json_t *current, const json_t *params, json_t **merged,
                                struct nsl_error *err)
{
    static const char *const fields[] = {"maxFee", "allowedContracts", "allowedNetworks"};
    json_t *contracts = json_object_get(params, "allowedContracts");
    json_t *networks = json_object_get(params, "allowedNetworks");
    if (contracts)
        NSL_TRY(check_contracts(contracts, err));
    if (networks)
        NSL_TRY(check_networks(networks, err));
    *merged = current ? json_deep_copy(current) : json_object();
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(params, fields[i]);
        if (v)
            json_object_set(*merged, fields[i], v);
    }
    return NSL_OK;
}

static bool network_allowed(const json_t *list, uint32_t network)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (json_integer_value(v) == (json_int_t)network) return true;
    return false;
}

static bool contract_allowed(const json_t *list, const uint8_t hash[NSL_NEO_HASH160_LEN])
{
    size_t i;
    json_t *v;
    uint8_t allowed[NSL_NEO_HASH160_LEN];
    json_array_foreach(list, i, v)
    {
        if (nsl_neo_hash160_parse(json_string_value(v), allowed) == 0 &&
            memcmp(allowed, hash, sizeof allowed) == 0)
            return true;
    }
    return false;
}

nsl_err nsl_wallet_policy_check(const json_t *policy, const struct nsl_neo_tx *tx, uint32_t network,
                                struct nsl_error *err)
{
    json_t *networks = json_object_get(policy, "allowedNetworks");
    if (networks && !network_allowed(networks, network))
        return nsl_fail(err, NSL_ERR_PERMISSION_DENIED,
                        "policy allowedNetworks: network %u is not allowed for this key", network);
    const char *max_fee = nsl_json_str(policy, "maxFee");
    if (max_fee) {
        unsigned long long limit = strtoull(max_fee, NULL, 10);
        unsigned long long fees =
            (unsigned long long)tx->system_fee + (unsigned long long)tx->network_fee;
        if (fees > limit)
            return nsl_fail(err, NSL_ERR_PERMISSION_DENIED,
                            "policy maxFee: systemFee + networkFee = %llu exceeds %llu", fees,
                            limit);
    }
    json_t *contracts = json_object_get(policy, "allowedContracts");
    if (!contracts)
        return NSL_OK;
    uint8_t calls[NSL_NEO_MAX_CALLS][NSL_NEO_HASH160_LEN];
    size_t n;
    if (nsl_neo_script_calls(tx->script, tx->script_len, calls, &n) != 0)
        return nsl_fail(err, NSL_ERR_PERMISSION_DENIED,
                        "policy allowedContracts: cannot tell which contracts the script calls");
    for (size_t i = 0; i < n; i++) {
        if (!contract_allowed(contracts, calls[i])) {
            char display[NSL_NEO_HASH160_DISPLAY_LEN];
            nsl_neo_hash160_display(calls[i], display);
            return nsl_fail(err, NSL_ERR_PERMISSION_DENIED,
                            "policy allowedContracts: the script calls %s", display);
        }
    }
    return NSL_OK;
}
