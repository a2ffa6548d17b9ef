/* A NeoVM script builder for the few instructions we emit (neo ScriptBuilder.cs, OpCode.cs):
 * integer pushes (PUSHM1/PUSH0..PUSH16, else PUSHINT8..PUSHINT64 with the shortest two's
 * complement little-endian form sign-extended to the opcode's width), data pushes (PUSHDATA1/2/4),
 * PUSHNULL, plain opcodes and SYSCALL with its 4-byte interop id. Each returns 0 or -1. */
#ifndef NSL_NEO_EMIT_H
#define NSL_NEO_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum nsl_neo_opcode {
    NSL_NEO_OP_PUSHINT8 = 0x00,
    NSL_NEO_OP_PUSHINT16 = 0x01,
    NSL_NEO_OP_PUSHINT32 = 0x02,
    NSL_NEO_OP_PUSHINT64 = 0x03,
    NSL_NEO_OP_PUSHNULL = 0x0b,
    NSL_NEO_OP_PUSHDATA1 = 0x0c,
    NSL_NEO_OP_PUSHDATA2 = 0x0d,
    NSL_NEO_OP_PUSHDATA4 = 0x0e,
    NSL_NEO_OP_PUSHM1 = 0x0f,
    NSL_NEO_OP_PUSH0 = 0x10,
    NSL_NEO_OP_PUSH16 = 0x20,
    NSL_NEO_OP_SYSCALL = 0x41,
    NSL_NEO_OP_PACK = 0xc0,
};

/* Interop ids: the first 4 bytes of SHA-256 of the method name, as they appear in the script. */
#define NSL_NEO_SYSCALL_CHECKSIG      0x27b3e756u /* System.Crypto.CheckSig: 41 56e7b327 */
#define NSL_NEO_SYSCALL_CHECKMULTISIG 0x3adcd09eu /* System.Crypto.CheckMultisig: 41 9ed0dc3a */
#define NSL_NEO_SYSCALL_CONTRACT_CALL 0x525b7d62u /* System.Contract.Call: 41 627d5b52 */

int nsl_neo_emit_op(struct nsl_buf *b, enum nsl_neo_opcode op);
int nsl_neo_emit_int(struct nsl_buf *b, int64_t v);
int nsl_neo_emit_data(struct nsl_buf *b, const void *data, size_t len);
int nsl_neo_emit_syscall(struct nsl_buf *b, uint32_t id);

#endif
