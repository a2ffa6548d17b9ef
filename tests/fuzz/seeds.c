/* Writes the seeds of the crypto fuzz targets that cannot be written by hand, under the fixed keys
 * of fuzz_keys.h: a valid HPKE ciphertext (corpus/hpke_open), a valid sealed blob
 * (corpus/unseal) and a NEP-2 key at the fuzz target's cheap scrypt cost (corpus/neo_nep2).
 * Usage: nsl-fuzz-seeds <corpus dir>. Run once; its output is checked in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "crypto/hpke.h"
#include "crypto/seal.h"
#include "crypto/secret.h"
#include "enclave/sealing.h"
#include "fuzz_keys.h"
#include "neo/nep2.h"

static void put_file(const char *dir, const char *name, const void *a, size_t alen, const void *b,
                     size_t blen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
        fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static void check(nsl_err rc, const struct nsl_error *err, const char *what)
{
    if (rc != NSL_OK) {
        fprintf(stderr, "%s: %s\n", what, err->message);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    struct nsl_error err = {0};
    char path[4096];

    /* HPKE: enc || ct of a sealed secrets.put params object, to the fuzz target's key. */
    struct nsl_secret *sk = NULL;
    uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], enc[NSL_HPKE_ENC_LEN];
    check(nsl_hpke_derive_keypair(FUZZ_HPKE_IKM, sizeof FUZZ_HPKE_IKM - 1, &sk, pk, &err), &err,
          "hpke key");
    static const char plain[] = "{\"name\":\"db-password\",\"value\":\"hunter2\"}";
    struct nsl_buf ct = {0};
    check(nsl_hpke_seal(pk, NSL_SEAL_REQUEST_INFO, strlen(NSL_SEAL_REQUEST_INFO), FUZZ_HPKE_AAD,
                        strlen(FUZZ_HPKE_AAD), plain, strlen(plain), enc, &ct, &err),
          &err, "hpke seal");
    snprintf(path, sizeof path, "%s/hpke_open", dir);
    put_file(path, "valid", enc, sizeof enc, ct.data, ct.len);
    nsl_buf_reset(&ct);
    check(nsl_hpke_seal(pk, NSL_SEAL_REQUEST_INFO, strlen(NSL_SEAL_REQUEST_INFO), FUZZ_HPKE_AAD,
                        strlen(FUZZ_HPKE_AAD), "", 0, enc, &ct, &err),
          &err, "hpke seal empty");
    put_file(path, "valid-empty", enc, sizeof enc, ct.data, ct.len);
    nsl_buf_free(&ct);
    nsl_secret_free(sk);

    /* Sealed blob under the fuzz target's master key, namespace, key and version. */
    struct nsl_secret *master = nsl_secret_from(FUZZ_SEAL_MASTER, 32);
    struct nsl_sealer *sealer = master ? nsl_sealer_new(master) : NULL;
    if (!sealer)
        return 1;
    struct nsl_buf blob = {0};
    check(nsl_seal(sealer, FUZZ_SEAL_NS, FUZZ_SEAL_KEY, FUZZ_SEAL_VERSION, plain, strlen(plain),
                   &blob, &err),
          &err, "seal");
    snprintf(path, sizeof path, "%s/unseal", dir);
    put_file(path, "valid", blob.data, blob.len, NULL, 0);
    nsl_buf_free(&blob);
    nsl_sealer_free(sealer);
    nsl_secret_free(master);

    /* NEP-2 of key 0 of tests/fixtures/neo/vectors.json at N=16, r=1, p=1. */
    uint8_t raw[32];
    size_t raw_len = 0;
    static const char key_hex[] =
        "7d128a6d096f0c14c3a25a2b0c41cf79661bfcb4a8cc95aaaea28bde4d732344";
    if (nsl_hex_decode(key_hex, strlen(key_hex), raw, sizeof raw, &raw_len) != 0 || raw_len != 32)
        return 1;
    struct nsl_secret *key = nsl_secret_from(raw, 32);
    static const struct nsl_neo_scrypt cheap = {.n = 16, .r = 1, .p = 1};
    char nep2[NSL_NEO_NEP2_SIZE];
    check(nsl_neo_nep2_encrypt(key, FUZZ_NEP2_PASSPHRASE, strlen(FUZZ_NEP2_PASSPHRASE), &cheap,
                               nep2, &err),
          &err, "nep2");
    nsl_secret_free(key);
    uint8_t pass_len = (uint8_t)strlen(FUZZ_NEP2_PASSPHRASE);
    char input[1 + 64 + NSL_NEO_NEP2_LEN];
    input[0] = (char)pass_len;
    memcpy(input + 1, FUZZ_NEP2_PASSPHRASE, pass_len);
    memcpy(input + 1 + pass_len, nep2, NSL_NEO_NEP2_LEN);
    snprintf(path, sizeof path, "%s/neo_nep2", dir);
    put_file(path, "valid", input, 1 + pass_len + NSL_NEO_NEP2_LEN, NULL, 0);
    return 0;
}
