/* Witness rule validation (see witness_rule.h). */
#include "neo/witness_rule.h"

#include "neo/key.h"
#include "neo/varint.h"

static nsl_err truncated(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "witness rule is truncated");
}

static nsl_err read_condition(struct nsl_reader *r, int depth, struct nsl_error *err)
{
    if (depth <= 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "witness condition nesting deeper than %d levels",
                        NSL_NEO_CONDITION_MAX_DEPTH);
    uint8_t type, b;
    const uint8_t *p;
    if (nsl_reader_u8(r, &type) != 0)
        return truncated(err);
    switch (type) {
    case NSL_NEO_COND_BOOLEAN:
        if (nsl_reader_u8(r, &b) != 0)
            return truncated(err);
        if (b > 1)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "Boolean condition byte must be 0 or 1");
        return NSL_OK;
    case NSL_NEO_COND_NOT:
        return read_condition(r, depth - 1, err);
    case NSL_NEO_COND_AND:
    case NSL_NEO_COND_OR: {
        uint64_t n;
        enum nsl_neo_varint_fail why = 0;
        if (nsl_neo_varint_read(r, NSL_NEO_MAX_SUBITEMS, &n, &why) != 0)
            return why == NSL_NEO_VARINT_TRUNCATED ? truncated(err)
                   : why == NSL_NEO_VARINT_NONCANONICAL
                       ? nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                                  "non-canonical var-int in a witness condition")
                       : nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                                  "And/Or condition has more than %d subconditions",
                                  NSL_NEO_MAX_SUBITEMS);
        if (n == 0)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "And/Or condition is empty");
        for (uint64_t i = 0; i < n; i++)
            NSL_TRY(read_condition(r, depth - 1, err));
        return NSL_OK;
    }
    case NSL_NEO_COND_SCRIPT_HASH:
    case NSL_NEO_COND_CALLED_BY_CONTRACT:
        return nsl_reader_skip(r, 20) == 0 ? NSL_OK : truncated(err);
    case NSL_NEO_COND_GROUP:
    case NSL_NEO_COND_CALLED_BY_GROUP:
        if (nsl_reader_view(r, NSL_NEO_PUBKEY_LEN, &p) != 0)
            return truncated(err);
        if (nsl_neo_pubkey_check(p, NSL_NEO_PUBKEY_LEN) != 0)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "group in a witness condition is not a compressed secp256r1 point");
        return NSL_OK;
    case NSL_NEO_COND_CALLED_BY_ENTRY:
        return NSL_OK;
    default:
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "unknown witness condition type 0x%02x", type);
    }
}

nsl_err nsl_neo_witness_rules_read(struct nsl_reader *r, size_t count, struct nsl_error *err)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t action;
        if (nsl_reader_u8(r, &action) != 0)
            return truncated(err);
        if (action > 1)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "witness rule action 0x%02x is neither Deny (0) nor Allow (1)", action);
        NSL_TRY(read_condition(r, NSL_NEO_CONDITION_MAX_DEPTH, err));
    }
    return NSL_OK;
}
