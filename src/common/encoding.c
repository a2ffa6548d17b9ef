/* Hex and base64 codecs (see encoding.h). */
#include "common/encoding.h"

#include <stdlib.h>

static const char hex_digits[] = "0123456789abcdef";

void nsl_hex_encode(const uint8_t *data, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[data[i] >> 4];
        out[2 * i + 1] = hex_digits[data[i] & 15];
    }
    out[2 * len] = 0;
}

char *nsl_hex_encode_alloc(const uint8_t *data, size_t len)
{
    if (len > (SIZE_MAX - 1) / 2)
        return NULL;
    char *out = malloc(2 * len + 1);
    if (out)
        nsl_hex_encode(data, len, out);
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nsl_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap, size_t *outlen)
{
    if (hexlen % 2 != 0 || hexlen / 2 > cap)
        return -1;
    for (size_t i = 0; i < hexlen / 2; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *outlen = hexlen / 2;
    return 0;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t nsl_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

void nsl_base64_encode(const uint8_t *data, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
}

char *nsl_base64_encode_alloc(const uint8_t *data, size_t len)
{
    if (len > SIZE_MAX / 2)
        return NULL;
    char *out = malloc(nsl_base64_encoded_len(len) + 1);
    if (out)
        nsl_base64_encode(data, len, out);
    return out;
}

size_t nsl_base64_decoded_max(size_t b64len)
{
    return b64len / 4 * 3;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int nsl_base64_decode(const char *b64, size_t b64len, uint8_t *out, size_t cap, size_t *outlen)
{
    if (b64len % 4 != 0)
        return -1;
    size_t pad = 0;
    if (b64len >= 4 && b64[b64len - 1] == '=')
        pad = b64[b64len - 2] == '=' ? 2 : 1;
    size_t n = b64len / 4 * 3 - pad;
    if (n > cap)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < b64len; i += 4) {
        int v[4];
        size_t last = i + 4 == b64len;
        for (int k = 0; k < 4; k++) {
            v[k] = b64_value(b64[i + k]);
            if (v[k] < 0) {
                if (!last || b64[i + k] != '=' || k < 4 - (int)pad)
                    return -1;
                v[k] = 0;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        size_t take = last ? 3 - pad : 3;
        /* Non-canonical encodings (bits set in the padding) are refused. */
        if (last && pad && (bytes[3 - pad] != 0 || (pad == 2 && bytes[1] != 0)))
            return -1;
        for (size_t k = 0; k < take; k++)
            out[o++] = bytes[k];
    }
    *outlen = o;
    return 0;
}
