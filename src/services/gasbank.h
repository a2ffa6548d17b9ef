/* Helpers shared by the gas bank's handler files (gasbank.c, gasbank_tx.c, gasbank_audit.c). */
#ifndef NSL_SERVICES_GASBANK_H
#define NSL_SERVICES_GASBANK_H

#include <stdbool.h>

#include "crypto/secret.h"
#include "neo/account.h"
#include "services/service.h"
#include "store/store.h"

/* The sealed store, or NULL with UNAVAILABLE in call->error. */
struct nsl_store *nsl_gasbank_store(struct nsl_call *call);
/* Admins and operators may act on other accounts' balances and history. */
bool nsl_gasbank_privileged(const struct nsl_call *call);
/* The account named by params.accountId (checked to exist; PERMISSION_DENIED for someone else's
 * unless privileged), else the caller's own. */
nsl_err nsl_gasbank_target(struct nsl_call *call, struct nsl_store *st, const char **account);

/* The bank's hot-wallet key (secp256r1), created on first use and kept sealed at bank/key. */
nsl_err nsl_gasbank_bank_key(struct nsl_store *st, struct nsl_secret **key,
                             struct nsl_neo_account *acct, struct nsl_error *err);

#endif
