/* The tamper-evident audit log (ARCHITECTURE §5): every mutating request and every denial, with
 * time, account, operation, outcome and SHA-256(JCS(params)) (never the values; fields that carry
 * secrets — passphrase, wif, nep2, value, apiKey, sealed — are replaced before hashing). Entries
 * are sealed in the store under "audit" as e/<seq> and chained: each holds the previous entry's
 * hash and its own, hash = SHA-256(JCS(entry without "hash")). A head record names the last entry,
 * and entry and head are written in one batch, so a removed, reordered or edited entry breaks the
 * chain (an edited blob already fails its seal). */
#ifndef NSL_SERVICES_AUDIT_H
#define NSL_SERVICES_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "common/errors.h"
#include "store/store.h"

struct nsl_audit;

struct nsl_audit *nsl_audit_new(void);
void nsl_audit_free(struct nsl_audit *audit);

/* Appends one entry and returns once it is durable. account may be NULL (no caller). */
nsl_err nsl_audit_append(struct nsl_audit *audit, struct nsl_store *st, const char *account,
                         const char *operation, const char *outcome, const json_t *params,
                         struct nsl_error *err);

/* Entries with seq >= since (at most limit), and a verification of the whole chain:
 * {verified: bool, head: seq, problem?: text}. */
nsl_err nsl_audit_read(struct nsl_audit *audit, struct nsl_store *st, uint64_t since, size_t limit,
                       json_t **entries, json_t **verification, struct nsl_error *err);

#endif
