/* OpenSSL command-line signature check (see openssl_verify.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness/openssl_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/encoding.h"

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* DER of an ECDSA signature from r || s. */
static size_t der_signature(const uint8_t sig[64], uint8_t out[72])
{
    size_t n = 2;
    for (int half = 0; half < 2; half++) {
        const uint8_t *v = sig + 32 * half;
        size_t skip = 0;
        while (skip < 31 && v[skip] == 0)
            skip++;
        size_t len = 32 - skip + (v[skip] & 0x80 ? 1 : 0);
        out[n++] = 0x02;
        out[n++] = (uint8_t)len;
        if (v[skip] & 0x80)
            out[n++] = 0;
        memcpy(out + n, v + skip, 32 - skip);
        n += 32 - skip;
    }
    out[0] = 0x30;
    out[1] = (uint8_t)(n - 2);
    return n;
}

int nsl_openssl_verify_p256(const char *dir, const uint8_t pub[33], const uint8_t sig[64],
                            const void *msg, size_t len)
{
    /* SubjectPublicKeyInfo prefix of a compressed P-256 key (id-ecPublicKey, prime256v1). */
    uint8_t spki[26 + 33] = {0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                             0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                             0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00};
    uint8_t der[72];
    char msg_path[300], sig_path[300], pub_path[300], cmd[1200];
    memcpy(spki + 26, pub, 33);
    snprintf(msg_path, sizeof msg_path, "%s/openssl-check.msg", dir);
    snprintf(sig_path, sizeof sig_path, "%s/openssl-check.sig", dir);
    snprintf(pub_path, sizeof pub_path, "%s/openssl-check.pub", dir);
    write_file(msg_path, msg, len);
    write_file(sig_path, der, der_signature(sig, der));
    write_file(pub_path, spki, sizeof spki);
    snprintf(cmd, sizeof cmd,
             "openssl dgst -sha256 -verify '%s' -keyform DER -signature '%s' '%s' >/dev/null 2>&1",
             pub_path, sig_path, msg_path);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int nsl_openssl_verify_p256_hex(const char *dir, const char *pub_hex, const char *sig_hex,
                                const void *msg, size_t len)
{
    uint8_t pub[33], sig[64];
    size_t n1 = 0, n2 = 0;
    assert_int_equal(nsl_hex_decode(pub_hex, strlen(pub_hex), pub, sizeof pub, &n1), 0);
    assert_int_equal(nsl_hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig, &n2), 0);
    assert_int_equal(n1, 33);
    assert_int_equal(n2, 64);
    return nsl_openssl_verify_p256(dir, pub, sig, msg, len);
}
