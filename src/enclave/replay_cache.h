/* Remembers (account, nonce) pairs of neo-sig requests for as long as their timestamp is inside
 * the acceptance window, so a request captured by the parent cannot be replayed (ARCHITECTURE §5).
 * Bounded: when full of unexpired entries it refuses new ones rather than forgetting old ones,
 * because forgetting would reopen the replay window. Thread-safe. */
#ifndef NSL_ENCLAVE_REPLAY_CACHE_H
#define NSL_ENCLAVE_REPLAY_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct nsl_replay_cache;

enum nsl_replay_result { NSL_REPLAY_FRESH, NSL_REPLAY_SEEN, NSL_REPLAY_FULL };

struct nsl_replay_cache *nsl_replay_cache_new(size_t capacity);
void nsl_replay_cache_free(struct nsl_replay_cache *cache);
/* Records the pair until expires_at (seconds) unless it is already recorded. now is in seconds. */
enum nsl_replay_result nsl_replay_cache_check(struct nsl_replay_cache *cache, const char *account,
                                              const char *nonce, int64_t now, int64_t expires_at);
size_t nsl_replay_cache_size(struct nsl_replay_cache *cache);

#endif
