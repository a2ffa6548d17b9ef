/* NEP-17 token transfer scripts, as neo's ScriptBuilder.EmitDynamicCall and neon-js build them:
 *   PUSHNULL (data) | PUSH amount | PUSHDATA1 to | PUSHDATA1 from | PUSH4 | PACK |
 *   PUSH15 (CallFlags.All) | PUSHDATA1 "transfer" | PUSHDATA1 token hash | SYSCALL
 *   System.Contract.Call (41 627d5b52)
 * Hashes are 20 bytes in raw (serialization) order. */
#ifndef NSL_NEO_NEP17_H
#define NSL_NEO_NEP17_H

#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"
#include "neo/script.h"

/* Native token hashes, raw order (display 0xd2a4cff3...6cf and 0xef4073a0...3f5). */
extern const uint8_t nsl_neo_gas_hash[NSL_NEO_HASH160_LEN];
extern const uint8_t nsl_neo_neo_hash[NSL_NEO_HASH160_LEN];

/* Appends transfer(from, to, amount, null) on token; amount must be >= 0. */
nsl_err nsl_neo_nep17_transfer(const uint8_t token[NSL_NEO_HASH160_LEN],
                               const uint8_t from[NSL_NEO_HASH160_LEN],
                               const uint8_t to[NSL_NEO_HASH160_LEN], int64_t amount,
                               struct nsl_buf *out, struct nsl_error *err);

#endif
