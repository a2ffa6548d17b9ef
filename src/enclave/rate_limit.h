/* Per-account request rate limits: a token bucket per account (rate tokens a second, up to
 * burst), refilled lazily on use. Buckets of accounts that have been quiet long enough to be
 * full again are dropped, so memory follows the number of active accounts. Thread-safe. */
#ifndef NSL_ENCLAVE_RATE_LIMIT_H
#define NSL_ENCLAVE_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct nsl_rate_limit;

/* rate == 0 disables limiting. */
struct nsl_rate_limit *nsl_rate_limit_new(double rate, double burst);
void nsl_rate_limit_free(struct nsl_rate_limit *rl);
/* Takes one token for account at now_ms; false when the account has none left. */
bool nsl_rate_limit_take(struct nsl_rate_limit *rl, const char *account, uint64_t now_ms);

#endif
