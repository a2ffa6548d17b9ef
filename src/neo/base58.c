/* Base58 and Base58Check (see base58.h). Quadratic big-number conversion over short inputs. */
#include "neo/base58.h"

#include <string.h>

#include "crypto/secret.h"
#include "neo/hash.h"

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Enough for the longest Base58Check payload plus its checksum. */
#define MAX_BYTES (NSL_NEO_BASE58_MAX_PAYLOAD + 4)
#define MAX_CHARS (MAX_BYTES * 138 / 100 + 2)

int nsl_neo_base58_encode(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (len > MAX_BYTES)
        return -1;
    size_t zeros = 0;
    while (zeros < len && data[zeros] == 0)
        zeros++;
    uint8_t digits[MAX_CHARS]; /* base-58 digits, least significant first */
    size_t ndigits = 0;
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = data[i];
        for (size_t j = 0; j < ndigits; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[ndigits++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    int rc = -1;
    if (zeros + ndigits + 1 <= cap) {
        size_t k = 0;
        for (size_t i = 0; i < zeros; i++)
            out[k++] = '1';
        for (size_t i = ndigits; i-- > 0;)
            out[k++] = alphabet[digits[i]];
        out[k] = 0;
        rc = 0;
    }
    nsl_wipe(digits, sizeof digits);
    return rc;
}

static int digit_of(char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

int nsl_neo_base58_decode(const char *text, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t n = strlen(text);
    if (n > MAX_CHARS)
        return -1;
    size_t zeros = 0;
    while (zeros < n && text[zeros] == '1')
        zeros++;
    uint8_t bytes[MAX_BYTES + 8]; /* least significant first */
    size_t nbytes = 0;
    int rc = 0;
    for (size_t i = zeros; i < n && rc == 0; i++) {
        int d = digit_of(text[i]);
        if (d < 0) {
            rc = -1;
            break;
        }
        unsigned carry = (unsigned)d;
        for (size_t j = 0; j < nbytes; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry && rc == 0) {
            if (nbytes == sizeof bytes)
                rc = -1;
            else
                bytes[nbytes++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (rc == 0 && zeros + nbytes > cap)
        rc = -1;
    if (rc == 0) {
        memset(out, 0, zeros);
        for (size_t i = 0; i < nbytes; i++)
            out[zeros + i] = bytes[nbytes - 1 - i];
        *outlen = zeros + nbytes;
    }
    nsl_wipe(bytes, sizeof bytes);
    return rc;
}

int nsl_neo_base58check_encode(const uint8_t *payload, size_t len, char *out, size_t cap)
{
    if (len > NSL_NEO_BASE58_MAX_PAYLOAD)
        return -1;
    uint8_t buf[MAX_BYTES];
    uint8_t check[32];
    memcpy(buf, payload, len);
    int rc = nsl_neo_hash256(payload, len, check);
    if (rc == 0) {
        memcpy(buf + len, check, 4);
        rc = nsl_neo_base58_encode(buf, len + 4, out, cap);
    }
    nsl_wipe(buf, sizeof buf);
    return rc;
}

int nsl_neo_base58check_decode(const char *text, uint8_t *out, size_t cap, size_t *outlen)
{
    uint8_t buf[MAX_BYTES];
    uint8_t check[32];
    size_t n = 0;
    int rc = nsl_neo_base58_decode(text, buf, sizeof buf, &n);
    if (rc == 0 && (n < 4 || n - 4 > cap))
        rc = -1;
    if (rc == 0 && nsl_neo_hash256(buf, n - 4, check) != 0)
        rc = -1;
    if (rc == 0 && !nsl_equal_ct(check, buf + n - 4, 4))
        rc = -1;
    if (rc == 0) {
        memcpy(out, buf, n - 4);
        *outlen = n - 4;
    }
    nsl_wipe(buf, sizeof buf);
    return rc;
}
