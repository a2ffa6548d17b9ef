/* Sealed-storage bring-up (see storage.h). */
#define NSL_LOG_COMPONENT NSL_LOGC_STORE
#include "enclave/storage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/periodic.h"
#include "store/master_key.h"

#define RETRY_MS 1000

struct nsl_storage {
    struct nsl_hostchan *hc;
    enum nsl_key_provider provider;
    int timeout_ms;
    pthread_mutex_t lock;
    char failure[sizeof(struct nsl_error){0}.message];
    struct nsl_sealer *sealer;
    struct nsl_store *store; /* published once, under lock */
    struct nsl_periodic *opener;
};

const char *nsl_key_provider_name(enum nsl_key_provider provider)
{
    return provider == NSL_KEY_PROVIDER_SIM ? "sim" : "kms";
}

bool nsl_key_provider_secure(enum nsl_key_provider provider)
{
    return provider != NSL_KEY_PROVIDER_SIM;
}

enum nsl_key_provider nsl_storage_provider(const struct nsl_storage *storage)
{
    return storage->provider;
}

static nsl_err load_master(struct nsl_storage *s, struct nsl_secret **master, struct nsl_error *err)
{
    if (s->provider == NSL_KEY_PROVIDER_SIM)
        return nsl_master_key_load_sim(s->hc, s->timeout_ms, master, err);
    /* Unfinished: the request bodies and the CMS unwrap exist (crypto/kms.h), but the call to
     * AWS KMS itself — SigV4-signed HTTPS through the egress proxy, TLS ending in the enclave,
     * with instance credentials — is not written yet (docs/kms.md). */
    return nsl_fail(err, NSL_ERR_UNAVAILABLE,
                    "the kms key provider is not wired to AWS KMS yet (docs/kms.md)");
}

static bool open_store(struct nsl_storage *s)
{
    struct nsl_error err = {0};
    NSL_AUTO_SECRET struct nsl_secret *master = NULL;
    if (load_master(s, &master, &err) != NSL_OK) {
        pthread_mutex_lock(&s->lock);
        snprintf(s->failure, sizeof s->failure, "%s", err.message);
        pthread_mutex_unlock(&s->lock);
        nsl_log(NSL_LOG_WARN, "storage_not_ready", "provider", nsl_key_provider_name(s->provider),
                "reason", err.message, NULL);
        return false;
    }
    struct nsl_sealer *sealer = nsl_sealer_new(master);
    struct nsl_store *store = sealer ? nsl_store_new(s->hc, sealer, s->timeout_ms) : NULL;
    if (!store) {
        nsl_sealer_free(sealer);
        return false;
    }
    pthread_mutex_lock(&s->lock);
    s->sealer = sealer;
    s->store = store;
    s->failure[0] = 0;
    pthread_mutex_unlock(&s->lock);
    nsl_log(NSL_LOG_INFO, "storage_ready", "provider", nsl_key_provider_name(s->provider), NULL);
    if (!nsl_key_provider_secure(s->provider))
        nsl_log(NSL_LOG_WARN, "insecure_key_provider", "msg",
                "sim key provider: the parent holds the key that wraps the master key: NOT SECURE",
                NULL);
    return true;
}

/* One attempt to open the store; tries again until it is open. */
static long open_turn(struct nsl_periodic *self, void *arg)
{
    (void)self;
    struct nsl_storage *s = arg;
    struct nsl_hostchan_status st;
    nsl_hostchan_get_status(s->hc, &st);
    if (st.connected && open_store(s))
        return -1;
    return st.connected ? RETRY_MS : 100;
}

struct nsl_storage *nsl_storage_start(struct nsl_hostchan *hc, enum nsl_key_provider provider,
                                      int timeout_ms)
{
    struct nsl_storage *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hc = hc;
    s->provider = provider;
    s->timeout_ms = timeout_ms;
    pthread_mutex_init(&s->lock, NULL);
    s->opener = nsl_periodic_start(open_turn, s);
    if (!s->opener) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

void nsl_storage_stop(struct nsl_storage *s)
{
    if (!s)
        return;
    nsl_periodic_stop(s->opener);
    nsl_store_free(s->store);
    nsl_sealer_free(s->sealer);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct nsl_store *nsl_storage_get(struct nsl_storage *s, struct nsl_error *err)
{
    struct nsl_store *store = NULL;
    if (s) {
        pthread_mutex_lock(&s->lock);
        store = s->store;
        pthread_mutex_unlock(&s->lock);
    }
    if (!store)
        nsl_fail(err, NSL_ERR_UNAVAILABLE, "sealed storage is not ready yet");
    return store;
}

const char *nsl_storage_state(struct nsl_storage *s, char *buf, size_t len)
{
    if (!s) {
        snprintf(buf, len, "absent");
        return buf;
    }
    pthread_mutex_lock(&s->lock);
    if (s->store)
        snprintf(buf, len, "ready");
    else if (s->failure[0])
        snprintf(buf, len, "failed: %s", s->failure);
    else
        snprintf(buf, len, "starting");
    pthread_mutex_unlock(&s->lock);
    return buf;
}
