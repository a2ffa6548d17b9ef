/* Witness rules of a transaction signer (neo WitnessRule.cs, Conditions/WitnessCondition.cs):
 *   rule      = action (0 Deny, 1 Allow) || condition
 *   condition = type || body:  Boolean 0x00 (one byte, 0 or 1), Not 0x01 (condition),
 *               And 0x02 / Or 0x03 (var-int count 1..16, conditions), ScriptHash 0x18 (20 bytes),
 *               Group 0x19 (33-byte compressed key), CalledByEntry 0x20 (nothing),
 *               CalledByContract 0x28 (20 bytes), CalledByGroup 0x29 (33-byte key).
 * Nesting: a rule's condition is read with depth 3 (neo master WitnessCondition.MaxNestingDepth
 * = 3) and each Not/And/Or reads its children with one less; a condition at depth 0 is refused,
 * so at most three levels (e.g. And(Or(Boolean))) exist. Rules stay in their serialized form inside
 * a transaction; this module validates them. */
#ifndef NSL_NEO_WITNESS_RULE_H
#define NSL_NEO_WITNESS_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/errors.h"

#define NSL_NEO_MAX_SUBITEMS        16
#define NSL_NEO_CONDITION_MAX_DEPTH 3

enum nsl_neo_condition_type {
    NSL_NEO_COND_BOOLEAN = 0x00,
    NSL_NEO_COND_NOT = 0x01,
    NSL_NEO_COND_AND = 0x02,
    NSL_NEO_COND_OR = 0x03,
    NSL_NEO_COND_SCRIPT_HASH = 0x18,
    NSL_NEO_COND_GROUP = 0x19,
    NSL_NEO_COND_CALLED_BY_ENTRY = 0x20,
    NSL_NEO_COND_CALLED_BY_CONTRACT = 0x28,
    NSL_NEO_COND_CALLED_BY_GROUP = 0x29,
};

/* Reads and validates count rules from r (INVALID_PARAMS naming what is wrong). */
nsl_err nsl_neo_witness_rules_read(struct nsl_reader *r, size_t count, struct nsl_error *err);

#endif
