/* Deployed functions as invocations need them (issue 8): a function's meta record and the source
 * of its current version, kept in the enclave so that an invocation costs no host round trip.
 * Entries are immutable and reference-counted: a reader keeps its entry while it runs even if a
 * deploy replaces it meanwhile.
 *
 * Consistency with the store: deploy and delete evict the name after their store write,
 * whatever its outcome, and every eviction moves a generation counter; a reader that loaded
 * from the store caches what it read only if the generation has not moved since it started, so
 * a load that raced a redeploy or a delete never re-installs the old code. The store is written
 * only by this enclave with the SQLite backend; when several enclaves share the store
 * (nsl_store_shared), the function service checks an entry's meta_version against the store
 * before using it (docs/scale-out.md).
 *
 * Bounded: at most NSL_FUNCTION_CACHE_ENTRIES entries and NSL_FUNCTION_CACHE_BYTES of source;
 * sources are wiped when their last reference goes. Thread-safe. */
#ifndef NSL_SERVICES_FUNCTION_CACHE_H
#define NSL_SERVICES_FUNCTION_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define NSL_FUNCTION_CACHE_ENTRIES 1024
#define NSL_FUNCTION_CACHE_BYTES   (64u << 20)

/* One deployment: never changed once made. */
struct nsl_function_code {
    json_t *meta;       /* the meta record (shared: read it, never change it) */
    const char *source; /* the source of meta.version, checked against meta.codeHash */
    size_t source_len;
    uint64_t meta_version; /* the meta record's store version, set before the entry is shared */
};

struct nsl_function_cache;

struct nsl_function_cache *nsl_function_cache_new(void);
void nsl_function_cache_free(struct nsl_function_cache *c);

/* A new entry (one reference, the caller's): takes the reference to meta, copies source. NULL
 * when out of memory (meta is then released). */
struct nsl_function_code *nsl_function_code_new(json_t *meta, const char *source, size_t len);
/* Drops one reference; NULL is ignored. */
void nsl_function_code_release(const struct nsl_function_code *code);

/* A reference to the cached code of account's function name, or NULL. */
const struct nsl_function_code *nsl_function_cache_get(struct nsl_function_cache *c,
                                                       const char *account, const char *name);
/* Read before loading from the store; give it to put. */
uint64_t nsl_function_cache_generation(struct nsl_function_cache *c);
/* Caches code (taking a reference of its own) unless an eviction happened since generation. */
void nsl_function_cache_put(struct nsl_function_cache *c, const char *account, const char *name,
                            uint64_t generation, const struct nsl_function_code *code);
/* Forgets account's function name (deploy, delete). */
void nsl_function_cache_evict(struct nsl_function_cache *c, const char *account, const char *name);

#endif
