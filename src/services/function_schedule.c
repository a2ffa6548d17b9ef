/* The function scheduler (see function_schedule.h). When several enclaves share the store
 * (docs/scale-out.md), only the holder of the lease leases/function_scheduler fires schedules,
 * and it reads them again from the store every RELOAD_MS (schedules set or removed through
 * another enclave), keeping the next run of those that did not change. */
#include "services/function_schedule.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/periodic.h"
#include "common/log.h"
#include "enclave/storage.h"
#include "services/lease.h"

#define NS          "functions"
#define MAX_ENTRIES 1024
#define TICK_MS     250
#define LEASE_MS    10000
#define RELOAD_MS   5000

struct entry {
    char account[48];
    char name[72];
    int64_t interval_sec;
    int64_t next_run; /* unix seconds */
    json_t *args;
};

struct nsl_scheduler {
    struct nsl_enclave_ctx *ctx;
    pthread_mutex_t lock; /* the entries */
    bool loaded;
    struct entry entries[MAX_ENTRIES];
    size_t count;
    struct nsl_periodic *ticker;
    struct nsl_lease_turn lease; /* shared stores: only its holder fires schedules */
};

static struct entry *find(struct nsl_scheduler *s, const char *account, const char *name)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->entries[i].account, account) == 0 && strcmp(s->entries[i].name, name) == 0)
            return &s->entries[i];
    return NULL;
}

/* Adds or replaces a schedule in memory; lock held. */
static bool remember(struct nsl_scheduler *s, const char *account, const char *name,
                     int64_t interval, const json_t *args)
{
    struct entry *e = find(s, account, name);
    if (!e && s->count == MAX_ENTRIES)
        return false;
    if (!e)
        e = &s->entries[s->count++];
    else
        json_decref(e->args);
    snprintf(e->account, sizeof e->account, "%s", account);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->interval_sec = interval;
    e->next_run = (int64_t)time(NULL) + interval;
    e->args = json_deep_copy(args);
    return true;
}

static void forget(struct nsl_scheduler *s, const char *account, const char *name)
{
    struct entry *e = find(s, account, name);
    if (!e)
        return;
    json_decref(e->args);
    *e = s->entries[--s->count];
}

/* Forgets every schedule, keeping their next runs in *kept (count in *n) for restore_runs. */
static struct entry *forget_all(struct nsl_scheduler *s, size_t *n)
{
    struct entry *kept = malloc((s->count ? s->count : 1) * sizeof *kept);
    *n = kept ? s->count : 0;
    for (size_t i = 0; i < s->count; i++) {
        if (kept)
            kept[i] = s->entries[i];
        json_decref(s->entries[i].args);
        if (kept)
            kept[i].args = NULL;
    }
    s->count = 0;
    return kept;
}

/* A schedule read again with the same interval keeps its next run. */
static void restore_runs(struct nsl_scheduler *s, struct entry *kept, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct entry *e = find(s, kept[i].account, kept[i].name);
        if (e && e->interval_sec == kept[i].interval_sec)
            e->next_run = kept[i].next_run;
    }
    free(kept);
}

/* Loads every stored schedule once storage is up. */
static void load_all(struct nsl_scheduler *s, struct nsl_store *st)
{
    char after[256] = "";
    for (bool more = true; more;) {
        struct nsl_store_page page;
        if (nsl_store_list(st, NS, "sched/", after[0] ? after : NULL, 500, &page, NULL) != NSL_OK)
            return;
        for (size_t i = 0; i < page.count; i++) {
            json_t *r =
                nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                      nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
            if (r)
                remember(s, nsl_json_str(r, "account") ?: "", nsl_json_str(r, "name") ?: "",
                         nsl_json_int(r, "intervalSec", 60), json_object_get(r, "args"));
            json_decref(r);
        }
        if (page.count)
            snprintf(after, sizeof after, "%s", page.items[page.count - 1].key);
        more = page.more;
        nsl_store_page_free(&page);
    }
    s->loaded = true;
}

static void record_run(struct nsl_store *st, const struct entry *e, nsl_err rc,
                       const json_t *result, const struct nsl_error *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char key[256];
    snprintf(key, sizeof key, "run/%s/%s/%020" PRId64, e->account, e->name,
             (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    json_t *run = json_pack("{s:I, s:b}", "time", (json_int_t)ts.tv_sec, "ok", rc == NSL_OK);
    if (rc == NSL_OK)
        json_object_set(run, "result", json_object_get(result, "result"));
    else
        json_object_set_new(
            run, "error",
            json_pack("{s:s, s:s}", "code", nsl_err_name(rc), "message", err->message));
    size_t len;
    char *text = nsl_json_dump(run, &len);
    uint64_t v;
    if (text)
        nsl_store_put(st, NS, key, 0, text, len, &v, NULL);
    free(text);
    json_decref(run);
}

/* Fires what is due, unless asked to stop; the lock is released around each run. */
static void fire_due(struct nsl_scheduler *s, struct nsl_store *st, struct nsl_periodic *self)
{
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < s->count && !nsl_periodic_stopping(self); i++) {
        if (s->entries[i].next_run > now)
            continue;
        struct entry e = s->entries[i];
        e.args = json_incref(e.args);
        s->entries[i].next_run = now + s->entries[i].interval_sec;
        pthread_mutex_unlock(&s->lock);
        json_t *result = NULL;
        struct nsl_error err = {0};
        nsl_err rc = nsl_function_run(s->ctx, e.account, e.name, e.args, &result, &err);
        record_run(st, &e, rc, result, &err);
        json_decref(result);
        json_decref(e.args);
        pthread_mutex_lock(&s->lock);
    }
}

/* One tick: follow changes made through other enclaves, then fire what is due if this
 * enclave holds the lease. */
static long scheduler_turn(struct nsl_periodic *self, void *arg)
{
    struct nsl_scheduler *s = arg;
    pthread_mutex_lock(&s->lock);
    struct nsl_store *st = nsl_storage_get(s->ctx->storage, NULL);
    bool reload = false, turn = st && nsl_lease_turn(&s->lease, st, &reload);
    if (reload) { /* schedules may have changed through another enclave */
        size_t n;
        struct entry *kept = forget_all(s, &n);
        s->loaded = false;
        load_all(s, st);
        restore_runs(s, kept, n);
    }
    if (turn && !s->loaded)
        load_all(s, st);
    if (turn)
        fire_due(s, st, self);
    pthread_mutex_unlock(&s->lock);
    return TICK_MS;
}

struct nsl_scheduler *nsl_scheduler_start(struct nsl_enclave_ctx *ctx)
{
    struct nsl_scheduler *s = calloc(1, sizeof *s);
    if (!s || nsl_lease_turn_init(&s->lease, "function_scheduler", LEASE_MS, RELOAD_MS) != 0) {
        free(s);
        return NULL;
    }
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    s->ticker = nsl_periodic_start(scheduler_turn, s);
    if (!s->ticker) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

void nsl_scheduler_stop(struct nsl_scheduler *s)
{
    if (!s)
        return;
    nsl_periodic_stop(s->ticker);
    for (size_t i = 0; i < s->count; i++)
        json_decref(s->entries[i].args);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void sched_key(const char *account, const char *name, char *out, size_t len)
{
    snprintf(out, len, "sched/%s/%s", account, name);
}

void nsl_function_unschedule_name(struct nsl_enclave_ctx *ctx, const char *account,
                                  const char *name)
{
    struct nsl_scheduler *s = ctx->scheduler;
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    forget(s, account, name);
    pthread_mutex_unlock(&s->lock);
    struct nsl_store *st = nsl_storage_get(ctx->storage, NULL);
    struct nsl_secret *old = NULL;
    uint64_t version;
    char key[200];
    sched_key(account, name, key, sizeof key);
    if (st && nsl_store_get(st, NS, key, &old, &version, NULL) == NSL_OK)
        nsl_store_delete(st, NS, key, version, NULL);
    nsl_secret_free(old);
}

nsl_err nsl_function_schedule(struct nsl_call *call)
{
    struct nsl_store *st = nsl_storage_get(call->ctx->storage, &call->error);
    if (!st || !call->ctx->scheduler)
        return st ? nsl_fail(&call->error, NSL_ERR_UNAVAILABLE, "the scheduler is not running")
                  : call->error.code;
    const char *name = nsl_json_str(call->params, "name");
    json_t *meta_probe = NULL;
    uint64_t version = 0;
    char key[200];
    snprintf(key, sizeof key, "meta/%s/%s", call->caller.account_id, name);
    struct nsl_secret *bytes = NULL;
    nsl_err rc = nsl_store_get(st, NS, key, &bytes, &version, &call->error);
    nsl_secret_free(bytes);
    if (rc == NSL_ERR_NOT_FOUND)
        return nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "no function %s", name);
    NSL_TRY(rc);
    json_decref(meta_probe);
    json_t *args = json_object_get(call->params, "args");
    int64_t interval = nsl_json_int(call->params, "intervalSec", 60);
    json_t *record = json_pack("{s:s, s:s, s:I, s:o}", "account", call->caller.account_id, "name",
                               name, "intervalSec", (json_int_t)interval, "args",
                               args ? json_incref(args) : json_object());
    sched_key(call->caller.account_id, name, key, sizeof key);
    struct nsl_secret *old = NULL;
    uint64_t old_version = 0;
    rc = nsl_store_get(st, NS, key, &old, &old_version, &call->error);
    nsl_secret_free(old);
    size_t len;
    char *text = record ? nsl_json_dump(record, &len) : NULL;
    uint64_t v;
    rc = (rc == NSL_OK || rc == NSL_ERR_NOT_FOUND) && text
             ? nsl_store_put(st, NS, key, old_version, text, len, &v, &call->error)
             : (text ? rc : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory"));
    free(text);
    if (rc == NSL_OK) {
        struct nsl_scheduler *s = call->ctx->scheduler;
        pthread_mutex_lock(&s->lock);
        bool ok =
            remember(s, call->caller.account_id, name, interval, json_object_get(record, "args"));
        pthread_mutex_unlock(&s->lock);
        rc = ok ? NSL_OK : nsl_fail(&call->error, NSL_ERR_LIMIT_EXCEEDED, "too many schedules");
    }
    if (rc == NSL_OK)
        call->result = json_pack("{s:s, s:I}", "name", name, "intervalSec", (json_int_t)interval);
    json_decref(record);
    return rc;
}

nsl_err nsl_function_unschedule(struct nsl_call *call)
{
    const char *name = nsl_json_str(call->params, "name");
    nsl_function_unschedule_name(call->ctx, call->caller.account_id, name);
    call->result = json_pack("{s:s, s:b}", "name", name, "scheduled", 0);
    return NSL_OK;
}

nsl_err nsl_function_runs(struct nsl_call *call)
{
    struct nsl_store *st = nsl_storage_get(call->ctx->storage, &call->error);
    if (!st)
        return call->error.code;
    char prefix[200];
    snprintf(prefix, sizeof prefix, "run/%s/%s/", call->caller.account_id,
             nsl_json_str(call->params, "name"));
    struct nsl_store_page page;
    NSL_TRY(nsl_store_list(st, NS, prefix, NULL, (size_t)nsl_json_int(call->params, "limit", 20),
                           &page, &call->error));
    json_t *runs = json_array();
    for (size_t i = 0; i < page.count; i++) {
        json_t *r =
            nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                  nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
        if (r)
            json_array_append_new(runs, r);
    }
    nsl_store_page_free(&page);
    call->result = json_pack("{s:o}", "runs", runs);
    return NSL_OK;
}
