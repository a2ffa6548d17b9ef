/* Time-keyed namespaces of the sealed store (docs/storage.md#time-keyed-namespaces): every key
 * starts with the unix time in seconds it belongs to, written as exactly NSL_TIME_KEY_DIGITS
 * decimal digits, so byte order of keys is time order and kv.prune can drop every key older than
 * a bound in one range delete. Only the namespaces this module names may be pruned: dropping a
 * row anywhere else would reset its version to 0, which the store's tombstones exist to prevent.
 * Shared by the enclave (which builds the keys and the bound) and the parent (which refuses
 * kv.prune of any other namespace). */
#ifndef NSL_COMMON_TIME_KEYS_H
#define NSL_COMMON_TIME_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#define NSL_TIME_KEY_DIGITS 10
#define NSL_TIME_KEY_MAX    9999999999LL /* 2286-11-20: ten digits until then */

/* Spent neo-sig nonces on a shared store: nonces/<time>/<account>/<nonce> (src/enclave/auth.c). */
#define NSL_NONCES_NS "nonces"

/* Whether ns is a time-keyed namespace that kv.prune may clear. */
bool nsl_time_keyed_ns(const char *ns);
/* Writes seconds as a key's leading time; -1 when outside 0..NSL_TIME_KEY_MAX. */
int nsl_time_key_format(int64_t seconds, char out[NSL_TIME_KEY_DIGITS + 1]);

#endif
