/* Leases in the sealed store (see lease.h). The record's version is the guard: two enclaves that
 * both see the lease free both try to write it at the version they read, and only one write
 * applies. */
#include "services/lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "common/json.h"
#include "common/log.h"

int nsl_lease_holder_new(char holder[NSL_LEASE_HOLDER_LEN + 1])
{
    uint8_t id[NSL_LEASE_HOLDER_LEN / 2];
    if (nsl_random_bytes(id, sizeof id) != 0)
        return -1;
    nsl_hex_encode(id, sizeof id, holder);
    holder[NSL_LEASE_HOLDER_LEN] = 0;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the lease: NSL_OK with *owner / *expires, NOT_FOUND (free) with *version set. */
static nsl_err read_lease(struct nsl_store *st, const char *name, char *owner, size_t owner_len,
                          int64_t *expires, uint64_t *version, struct nsl_error *err)
{
    struct nsl_secret *bytes = NULL;
    NSL_TRY(nsl_store_get(st, NSL_LEASE_NS, name, &bytes, version, err));
    json_t *o = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes), nsl_secret_len(bytes),
                                      NSL_ERR_INTERNAL, err);
    nsl_secret_free(bytes);
    const char *who = o ? nsl_json_str(o, "holder") : NULL;
    json_t *until = o ? json_object_get(o, "expiresAt") : NULL;
    nsl_err rc = who && json_is_integer(until)
                     ? NSL_OK
                     : nsl_fail(err, NSL_ERR_INTERNAL, "the lease %s is malformed", name);
    if (rc == NSL_OK) {
        snprintf(owner, owner_len, "%s", who);
        *expires = json_integer_value(until);
    }
    json_decref(o);
    return rc;
}

nsl_err nsl_lease_hold(struct nsl_store *st, const char *name, const char *holder, int64_t ttl_ms,
                       bool *held, struct nsl_error *err)
{
    char owner[NSL_LEASE_HOLDER_LEN + 1] = "";
    int64_t expires = 0, now = now_ms();
    uint64_t version = 0;
    *held = false;
    nsl_err rc = read_lease(st, name, owner, sizeof owner, &expires, &version, err);
    if (rc != NSL_OK && rc != NSL_ERR_NOT_FOUND)
        return rc;
    bool mine = rc == NSL_OK && strcmp(owner, holder) == 0;
    if (rc == NSL_OK && !mine && expires > now)
        return NSL_OK; /* another enclave holds it */
    if (mine && expires - now > ttl_ms * 2 / 3) {
        *held = true; /* renewed recently enough */
        return NSL_OK;
    }
    char text[128];
    int len = snprintf(text, sizeof text, "{\"holder\":\"%s\",\"expiresAt\":%lld}", holder,
                       (long long)(now + ttl_ms));
    uint64_t new_version;
    rc = nsl_store_put(st, NSL_LEASE_NS, name, version, text, (size_t)len, &new_version, err);
    if (rc == NSL_ERR_CONFLICT) { /* another enclave wrote it first */
        if (err)
            *err = (struct nsl_error){0};
        return NSL_OK;
    }
    *held = rc == NSL_OK;
    return rc;
}

int nsl_lease_turn_init(struct nsl_lease_turn *turn, const char *name, int64_t ttl_ms,
                        int64_t reload_ms)
{
    *turn = (struct nsl_lease_turn){.name = name, .ttl_ms = ttl_ms, .reload_ms = reload_ms};
    return nsl_lease_holder_new(turn->holder);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool nsl_lease_turn(struct nsl_lease_turn *turn, struct nsl_store *st, bool *reload)
{
    *reload = false;
    if (!nsl_store_shared(st))
        return true;
    bool held = false;
    if (nsl_lease_hold(st, turn->name, turn->holder, turn->ttl_ms, &held, NULL) != NSL_OK)
        held = false;
    if (held != turn->leader) {
        char event[96];
        snprintf(event, sizeof event, "%s_lease_%s", turn->name, held ? "taken" : "lost");
        nsl_log(NSL_LOG_INFO, event, "holder", turn->holder, NULL);
    }
    if (held && (!turn->leader || monotonic_ms() >= turn->reload_at_ms)) {
        *reload = true;
        turn->reload_at_ms = monotonic_ms() + turn->reload_ms;
    }
    turn->leader = held;
    return held;
}
