/* NeoVM script emission (see emit.h). */
#include "neo/emit.h"

int nsl_neo_emit_op(struct nsl_buf *b, enum nsl_neo_opcode op)
{
    return nsl_buf_append_u8(b, (uint8_t)op);
}

int nsl_neo_emit_int(struct nsl_buf *b, int64_t v)
{
    if (v >= -1 && v <= 16)
        return nsl_buf_append_u8(b, (uint8_t)(NSL_NEO_OP_PUSH0 + v));
    /* Shortest two's complement form: drop high bytes that only repeat the sign. */
    uint8_t le[8];
    for (size_t i = 0; i < 8; i++)
        le[i] = (uint8_t)((uint64_t)v >> (8 * i));
    size_t n = 8;
    uint8_t fill = v < 0 ? 0xff : 0x00;
    while (n > 1 && le[n - 1] == fill && ((le[n - 2] ^ fill) & 0x80) == 0)
        n--;
    size_t width = n <= 1 ? 1 : n <= 2 ? 2 : n <= 4 ? 4 : 8;
    uint8_t op = width == 1   ? NSL_NEO_OP_PUSHINT8
                 : width == 2 ? NSL_NEO_OP_PUSHINT16
                 : width == 4 ? NSL_NEO_OP_PUSHINT32
                              : NSL_NEO_OP_PUSHINT64;
    if (nsl_buf_append_u8(b, op) != 0)
        return -1;
    return nsl_buf_append(b, le, width); /* bytes past n are already the sign fill */
}

int nsl_neo_emit_data(struct nsl_buf *b, const void *data, size_t len)
{
    uint8_t head[5];
    size_t n;
    if (len < 0x100) {
        head[0] = NSL_NEO_OP_PUSHDATA1;
        head[1] = (uint8_t)len;
        n = 2;
    } else if (len < 0x10000) {
        head[0] = NSL_NEO_OP_PUSHDATA2;
        head[1] = (uint8_t)len;
        head[2] = (uint8_t)(len >> 8);
        n = 3;
    } else if (len <= 0xffffffffu) {
        head[0] = NSL_NEO_OP_PUSHDATA4;
        for (size_t i = 0; i < 4; i++)
            head[1 + i] = (uint8_t)(len >> (8 * i));
        n = 5;
    } else {
        return -1;
    }
    if (nsl_buf_append(b, head, n) != 0)
        return -1;
    return nsl_buf_append(b, data, len);
}

int nsl_neo_emit_syscall(struct nsl_buf *b, uint32_t id)
{
    uint8_t s[5] = {NSL_NEO_OP_SYSCALL, (uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16),
                    (uint8_t)(id >> 24)};
    return nsl_buf_append(b, s, sizeof s);
}
