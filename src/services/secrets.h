/* What other services may ask of the secrets service. */
#ifndef NSL_SERVICES_SECRETS_H
#define NSL_SERVICES_SECRETS_H

#include "common/errors.h"
#include "crypto/secret.h"
#include "store/store.h"

/* The latest value of account's secret name if it is live and granted to function;
 * NOT_FOUND otherwise (without saying which). */
nsl_err nsl_secrets_read_granted(struct nsl_store *st, const char *account, const char *name,
                                 const char *function, struct nsl_secret **value,
                                 struct nsl_error *err);

#endif
