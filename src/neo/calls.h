/* Which contracts a script calls: walks the NeoVM instructions (neo-vm OpCode.cs operand sizes)
 * and collects the target of every System.Contract.Call whose contract hash was pushed as the
 * instruction right before it, which is how every standard invocation script (neon-js, neo-go,
 * the C# SDK's ScriptBuilder.EmitDynamicCall) is built. A call whose target cannot be read that
 * way, or an unknown opcode, makes the answer "unknown": a policy must then refuse, not guess. */
#ifndef NSL_NEO_CALLS_H
#define NSL_NEO_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "neo/script.h"

#define NSL_NEO_MAX_CALLS 64

/* 0 with the called hashes (raw order, duplicates kept) in out[0..*n); -1 when unknown. */
int nsl_neo_script_calls(const uint8_t *script, size_t len,
                         uint8_t out[NSL_NEO_MAX_CALLS][NSL_NEO_HASH160_LEN], size_t *n);

#endif
