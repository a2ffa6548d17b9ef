/* Bringing up sealed storage at boot: once the host channel is up, load (or create) the master
 * key through the configured provider, then open the sealed store. Until that has happened the
 * store is "starting" and services that need it answer UNAVAILABLE; a failed attempt is logged
 * and retried, because the parent may simply not be there yet. */
#ifndef NSL_ENCLAVE_STORAGE_H
#define NSL_ENCLAVE_STORAGE_H

#include "common/errors.h"
#include "enclave/hostchan.h"
#include "store/store.h"

enum nsl_key_provider { NSL_KEY_PROVIDER_SIM, NSL_KEY_PROVIDER_KMS };

struct nsl_storage;

struct nsl_storage *nsl_storage_start(struct nsl_hostchan *hc, enum nsl_key_provider provider,
                                      int timeout_ms);
void nsl_storage_stop(struct nsl_storage *storage);

/* The store once ready; otherwise NULL with UNAVAILABLE in err. */
struct nsl_store *nsl_storage_get(struct nsl_storage *storage, struct nsl_error *err);
/* "starting", "ready" or "failed: <reason>" (no secrets), for system.health/info. */
const char *nsl_storage_state(struct nsl_storage *storage, char *buf, size_t len);
const char *nsl_key_provider_name(enum nsl_key_provider provider);
/* False for sim: the parent can unwrap its master key. */
bool nsl_key_provider_secure(enum nsl_key_provider provider);
enum nsl_key_provider nsl_storage_provider(const struct nsl_storage *storage);

#endif
