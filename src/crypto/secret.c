/* Secrets on the secure heap (see secret.h). */
#include "crypto/secret.h"

#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <openssl/rand.h>
#include <string.h>

struct nsl_secret {
    size_t len;
    uint8_t bytes[];
};

int nsl_secure_heap_init(size_t size)
{
    if (CRYPTO_secure_malloc_initialized())
        return 0;
    return CRYPTO_secure_malloc_init(size, 32) == 0 ? -1 : 0;
}

struct nsl_secret *nsl_secret_new(size_t len)
{
    if (len > (1u << 24))
        return NULL;
    struct nsl_secret *s = OPENSSL_secure_zalloc(sizeof *s + (len ? len : 1));
    if (s)
        s->len = len;
    return s;
}

struct nsl_secret *nsl_secret_from(const void *data, size_t len)
{
    struct nsl_secret *s = nsl_secret_new(len);
    if (s && len)
        memcpy(s->bytes, data, len);
    return s;
}

struct nsl_secret *nsl_secret_random(size_t len)
{
    struct nsl_secret *s = nsl_secret_new(len);
    if (s && RAND_priv_bytes(s->bytes, (int)len) != 1) {
        nsl_secret_free(s);
        return NULL;
    }
    return s;
}

uint8_t *nsl_secret_bytes(const struct nsl_secret *s)
{
    return (uint8_t *)s->bytes;
}

size_t nsl_secret_len(const struct nsl_secret *s)
{
    return s->len;
}

void nsl_secret_free(struct nsl_secret *s)
{
    if (s)
        OPENSSL_secure_clear_free(s, sizeof *s + (s->len ? s->len : 1));
}

void nsl_secret_freep(struct nsl_secret **s)
{
    nsl_secret_free(*s);
    *s = NULL;
}

int nsl_equal_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void nsl_wipe(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

int nsl_random_bytes(void *out, size_t len)
{
    return len <= INT32_MAX && RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

static void wiping_free(void *p)
{
    if (p)
        OPENSSL_cleanse(p, malloc_usable_size(p));
    free(p);
}

void nsl_json_wipe_on_free(void)
{
    json_set_alloc_funcs(malloc, wiping_free);
}
