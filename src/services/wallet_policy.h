/* Per-key signing policy (wallet.setPolicy): a transaction that breaks a rule is refused with
 * PERMISSION_DENIED naming the rule. Policy JSON: {maxFee?: "digits", allowedContracts?:
 * ["0x…"], allowedNetworks?: [magic]}. */
#ifndef NSL_SERVICES_WALLET_POLICY_H
#define NSL_SERVICES_WALLET_POLICY_H

#include <jansson.h>
#include <stdint.h>

#include "common/errors.h"
#include "neo/tx.h"

/* Validates setPolicy params and merges them into policy (a new object). */
nsl_err nsl_wallet_policy_merge(const json_t *current, const json_t *params, json_t **merged,
                                struct nsl_error *err);
nsl_err nsl_wallet_policy_check(const json_t *policy, const struct nsl_neo_tx *tx, uint32_t network,
                                struct nsl_error *err);

#endif
