/* Secrets in memory (ARCHITECTURE §8): bytes on OpenSSL's secure heap (locked, guarded, never in
 * a core file) once nsl_secure_heap_init has run, wiped on free, reached through one accessor.
 * Never format a secret into a string, a log line or an error. */
#ifndef NSL_CRYPTO_SECRET_H
#define NSL_CRYPTO_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct nsl_secret;

/* Sets up the secure heap (size bytes, a power of two). Returns 0, or -1 if the platform refuses
 * (then secrets come from the normal heap and are still wiped). */
int nsl_secure_heap_init(size_t size);

/* A zeroed secret of len bytes, or NULL. */
struct nsl_secret *nsl_secret_new(size_t len);
/* A secret holding a copy of data, or NULL. */
struct nsl_secret *nsl_secret_from(const void *data, size_t len);
/* Random bytes from the DRBG, or NULL. */
struct nsl_secret *nsl_secret_random(size_t len);
uint8_t *nsl_secret_bytes(const struct nsl_secret *s);
size_t nsl_secret_len(const struct nsl_secret *s);
void nsl_secret_free(struct nsl_secret *s);

/* For __attribute__((cleanup)): NSL_AUTO_SECRET struct nsl_secret *k = ...; */
void nsl_secret_freep(struct nsl_secret **s);
#define NSL_AUTO_SECRET __attribute__((cleanup(nsl_secret_freep)))

/* Makes jansson wipe every block it frees: parsed requests and results carry secrets (keys,
 * passphrases, secret values) in jansson's own copies. Call once at start, before any JSON. */
void nsl_json_wipe_on_free(void);

/* Constant-time comparison; returns 1 when equal. */
int nsl_equal_ct(const void *a, const void *b, size_t len);
/* Wipes len bytes so the compiler cannot elide it. */
void nsl_wipe(void *p, size_t len);
/* Fills out with len random bytes from the DRBG; returns 0 or -1. */
int nsl_random_bytes(void *out, size_t len);

#endif
