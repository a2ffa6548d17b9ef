/* NeoVM instruction walk (see calls.h). Operand sizes from neo-vm OpCode.cs. */
#include "neo/calls.h"

#include <string.h>

#define OP_PUSHDATA1 0x0c
#define OP_PUSHDATA2 0x0d
#define OP_PUSHDATA4 0x0e
#define OP_SYSCALL   0x41

/* System.Contract.Call interop hash (41 627d5b52). */
static const uint8_t contract_call[4] = {0x62, 0x7d, 0x5b, 0x52};

/* Fixed operand size of op, -1 for unknown opcodes, -2 for PUSHDATA (length prefixed). */
static int operand_size(uint8_t op)
{
    switch (op) {
    case 0x00:
        return 1; /* PUSHINT8 */
    case 0x01:
        return 2; /* PUSHINT16 */
    case 0x02:
        return 4; /* PUSHINT32 */
    case 0x03:
        return 8; /* PUSHINT64 */
    case 0x04:
        return 16; /* PUSHINT128 */
    case 0x05:
        return 32; /* PUSHINT256 */
    case 0x0a:
        return 4; /* PUSHA */
    case OP_PUSHDATA1:
    case OP_PUSHDATA2:
    case OP_PUSHDATA4:
        return -2;
    case 0x22:
    case 0x24:
    case 0x26:
    case 0x28:
    case 0x2a:
    case 0x2c:
    case 0x2e:
    case 0x30:
    case 0x32:
    case 0x34:
        return 1; /* JMP*, CALL */
    case 0x23:
    case 0x25:
    case 0x27:
    case 0x29:
    case 0x2b:
    case 0x2d:
    case 0x2f:
    case 0x31:
    case 0x33:
    case 0x35:
        return 4; /* JMP*_L, CALL_L */
    case 0x37:
        return 2; /* CALLT */
    case 0x3b:
        return 2; /* TRY */
    case 0x3c:
        return 8; /* TRY_L */
    case 0x3d:
        return 1; /* ENDTRY */
    case 0x3e:
        return 4; /* ENDTRY_L */
    case OP_SYSCALL:
        return 4;
    case 0x56:
        return 1; /* INITSSLOT */
    case 0x57:
        return 2; /* INITSLOT */
    case 0x5f:
    case 0x67:
    case 0x6f:
    case 0x77:
    case 0x7f:
    case 0x87:
        return 1; /* LDSFLD, STSFLD, LDLOC, STLOC, LDARG, STARG */
    case 0xc4:
    case 0xd9:
    case 0xdb:
        return 1; /* NEWARRAY_T, ISTYPE, CONVERT */
    }
    /* Opcodes without operands, per OpCode.cs; anything else is unknown. */
    if (op <= 0x21 || (op >= 0x36 && op <= 0x40) || (op >= 0x43 && op <= 0x55) ||
        (op >= 0x58 && op <= 0x8e) || (op >= 0x90 && op <= 0x98) || (op >= 0x99 && op <= 0xbb) ||
        (op >= 0xbe && op <= 0xd8) || op == 0xda || op == 0xe0 || op == 0xe1)
        return 0;
    return -1;
}

int nsl_neo_script_calls(const uint8_t *s, size_t len,
                         uint8_t out[NSL_NEO_MAX_CALLS][NSL_NEO_HASH160_LEN], size_t *n)
{
    size_t pos = 0;
    const uint8_t *last_push = NULL; /* data of the previous instruction if it was a push */
    size_t last_push_len = 0;
    *n = 0;
    while (pos < len) {
        uint8_t op = s[pos++];
        int size = operand_size(op);
        if (size == -1)
            return -1;
        if (size == -2) {
            size_t width = op == OP_PUSHDATA1 ? 1 : op == OP_PUSHDATA2 ? 2 : 4, data = 0;
            if (len - pos < width)
                return -1;
            for (size_t i = 0; i < width; i++)
                data |= (size_t)s[pos + i] << (8 * i);
            pos += width;
            if (len - pos < data)
                return -1;
            last_push = s + pos;
            last_push_len = data;
            pos += data;
            continue;
        }
        if (len - pos < (size_t)size)
            return -1;
        if (op == OP_SYSCALL && memcmp(s + pos, contract_call, 4) == 0) {
            if (!last_push || last_push_len != NSL_NEO_HASH160_LEN || *n == NSL_NEO_MAX_CALLS)
                return -1;
            memcpy(out[(*n)++], last_push, NSL_NEO_HASH160_LEN);
        }
        last_push = NULL;
        pos += (size_t)size;
    }
    return 0;
}
