/* NEP-17 transfer script builder (see nep17.h). */
#include "neo/nep17.h"

#include "neo/emit.h"

/* 0xd2a4cff31913016155e38e474a2c06d08be276cf reversed. */
const uint8_t nsl_neo_gas_hash[NSL_NEO_HASH160_LEN] = {0xcf, 0x76, 0xe2, 0x8b, 0xd0, 0x06, 0x2c,
                                                       0x4a, 0x47, 0x8e, 0xe3, 0x55, 0x61, 0x01,
                                                       0x13, 0x19, 0xf3, 0xcf, 0xa4, 0xd2};
/* 0xef4073a0f2b305a38ec4050e4d3d28bc40ea63f5 reversed. */
const uint8_t nsl_neo_neo_hash[NSL_NEO_HASH160_LEN] = {0xf5, 0x63, 0xea, 0x40, 0xbc, 0x28, 0x3d,
                                                       0x4d, 0x0e, 0x05, 0xc4, 0x8e, 0xa3, 0x05,
                                                       0xb3, 0xf2, 0xa0, 0x73, 0x40, 0xef};

#define CALL_FLAGS_ALL 15

nsl_err nsl_neo_nep17_transfer(const uint8_t token[NSL_NEO_HASH160_LEN],
                               const uint8_t from[NSL_NEO_HASH160_LEN],
                               const uint8_t to[NSL_NEO_HASH160_LEN], int64_t amount,
                               struct nsl_buf *out, struct nsl_error *err)
{
    if (amount < 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "transfer amount must not be negative");
    size_t start = out->len;
    /* Arguments go on the stack last first, then their count and PACK (EmitDynamicCall). */
    int ok = nsl_neo_emit_op(out, NSL_NEO_OP_PUSHNULL) == 0 && nsl_neo_emit_int(out, amount) == 0 &&
             nsl_neo_emit_data(out, to, NSL_NEO_HASH160_LEN) == 0 &&
             nsl_neo_emit_data(out, from, NSL_NEO_HASH160_LEN) == 0 &&
             nsl_neo_emit_int(out, 4) == 0 && nsl_neo_emit_op(out, NSL_NEO_OP_PACK) == 0 &&
             nsl_neo_emit_int(out, CALL_FLAGS_ALL) == 0 &&
             nsl_neo_emit_data(out, "transfer", 8) == 0 &&
             nsl_neo_emit_data(out, token, NSL_NEO_HASH160_LEN) == 0 &&
             nsl_neo_emit_syscall(out, NSL_NEO_SYSCALL_CONTRACT_CALL) == 0;
    if (!ok) {
        out->len = start;
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    return NSL_OK;
}
