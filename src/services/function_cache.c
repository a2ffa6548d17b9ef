/* Deployed functions kept in the enclave (see function_cache.h). */
#include "services/function_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"

#define SLOTS 1024

/* What a code reference points to: the public part first. */
struct code {
    struct nsl_function_code pub;
    int refs; /* atomic */
    char text[];
};

struct entry {
    struct entry *next;
    struct code *code;
    char key[]; /* "<account>/<name>" */
};

struct nsl_function_cache {
    pthread_mutex_t lock;
    struct entry *slots[SLOTS];
    size_t count, bytes;
    size_t sweep; /* next slot to empty when over a bound */
    uint64_t generation;
};

struct nsl_function_cache *nsl_function_cache_new(void)
{
    struct nsl_function_cache *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

struct nsl_function_code *nsl_function_code_new(json_t *meta, const char *source, size_t len)
{
    struct code *code = malloc(sizeof *code + len + 1);
    if (!code) {
        json_decref(meta);
        return NULL;
    }
    memcpy(code->text, source, len);
    code->text[len] = 0;
    code->pub = (struct nsl_function_code){.meta = meta, .source = code->text, .source_len = len};
    code->refs = 1;
    return &code->pub;
}

static struct code *code_of(const struct nsl_function_code *pub)
{
    return (struct code *)((char *)pub - offsetof(struct code, pub));
}

void nsl_function_code_release(const struct nsl_function_code *pub)
{
    if (!pub)
        return;
    struct code *code = code_of(pub);
    if (__atomic_sub_fetch(&code->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    json_decref(code->pub.meta);
    nsl_wipe(code->text, code->pub.source_len);
    free(code);
}

static const struct nsl_function_code *code_ref(struct code *code)
{
    __atomic_add_fetch(&code->refs, 1, __ATOMIC_RELAXED);
    return &code->pub;
}

static size_t slot_of(const char *key)
{
    size_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h % SLOTS;
}

static int make_key(const char *account, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", account, name);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static struct entry **find(struct nsl_function_cache *c, const char *key)
{
    struct entry **pp = &c->slots[slot_of(key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Unlinks *pp; lock held. */
static void drop(struct nsl_function_cache *c, struct entry **pp)
{
    struct entry *e = *pp;
    *pp = e->next;
    c->count--;
    c->bytes -= e->code->pub.source_len;
    nsl_function_code_release(&e->code->pub);
    free(e);
}

/* Empties whole slots, round robin, until `more` bytes and one entry fit; lock held. */
static void make_room(struct nsl_function_cache *c, size_t more)
{
    while (c->count > 0 &&
           (c->count >= NSL_FUNCTION_CACHE_ENTRIES || c->bytes + more > NSL_FUNCTION_CACHE_BYTES)) {
        while (c->slots[c->sweep])
            drop(c, &c->slots[c->sweep]);
        c->sweep = (c->sweep + 1) % SLOTS;
    }
}

void nsl_function_cache_free(struct nsl_function_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SLOTS; i++)
        while (c->slots[i])
            drop(c, &c->slots[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const struct nsl_function_code *nsl_function_cache_get(struct nsl_function_cache *c,
                                                       const char *account, const char *name)
{
    char key[256];
    if (!c || make_key(account, name, key, sizeof key) != 0)
        return NULL;
    pthread_mutex_lock(&c->lock);
    struct entry *e = *find(c, key);
    const struct nsl_function_code *code = e ? code_ref(e->code) : NULL;
    pthread_mutex_unlock(&c->lock);
    return code;
}

uint64_t nsl_function_cache_generation(struct nsl_function_cache *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    uint64_t g = c->generation;
    pthread_mutex_unlock(&c->lock);
    return g;
}

void nsl_function_cache_put(struct nsl_function_cache *c, const char *account, const char *name,
                            uint64_t generation, const struct nsl_function_code *code)
{
    char key[256];
    size_t n;
    if (!c || !code || make_key(account, name, key, sizeof key) != 0 ||
        code->source_len > NSL_FUNCTION_CACHE_BYTES)
        return;
    n = strlen(key) + 1;
    struct entry *e = malloc(sizeof *e + n);
    if (!e)
        return;
    memcpy(e->key, key, n);
    pthread_mutex_lock(&c->lock);
    if (c->generation != generation) { /* a deploy or delete came in between: maybe stale */
        pthread_mutex_unlock(&c->lock);
        free(e);
        return;
    }
    struct entry **pp = find(c, key);
    if (*pp)
        drop(c, pp);
    make_room(c, code->source_len);
    e->code = code_of(code);
    code_ref(e->code);
    pp = &c->slots[slot_of(key)];
    e->next = *pp;
    *pp = e;
    c->count++;
    c->bytes += code->source_len;
    pthread_mutex_unlock(&c->lock);
}

void nsl_function_cache_evict(struct nsl_function_cache *c, const char *account, const char *name)
{
    char key[256];
    if (!c)
        return;
    bool named = make_key(account, name, key, sizeof key) == 0;
    pthread_mutex_lock(&c->lock);
    c->generation++;
    struct entry **pp = named ? find(c, key) : NULL;
    if (pp && *pp)
        drop(c, pp);
    pthread_mutex_unlock(&c->lock);
}
