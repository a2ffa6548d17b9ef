/* A hostile man in the middle for the enclave wire protocol (docs/hostile-parent.md): it listens
 * on a unix socket, connects each accepted connection to an upstream socket and forwards frames
 * both ways, except where a rule set by the test says to drop, delay, duplicate, reorder, corrupt,
 * rewrite or replace one. Put between nsl-enclave and nsl-parent's host channel it is a parent
 * that lies about storage; put between a client and the enclave socket it is a parent that
 * alters or replays forwarded requests.
 *
 * Frames are matched by the request they are or answer: its "service.operation" and its
 * params.key. Only id, serviceType, operation and params.key (and a reply's ok and result, to
 * record it) are read; every other field (a traceId, say) passes through untouched, and a frame no
 * rule touches is forwarded byte for byte.
 * Every request and every reply is also recorded (the last one per operation and key) so that a
 * test can send or serve it again later, as a parent replaying or rolling back would. */
#ifndef NSL_TEST_HOSTILE_PROXY_H
#define NSL_TEST_HOSTILE_PROXY_H

#include <jansson.h>
#include <stdint.h>

enum nsl_hostile_way {
    NSL_HOSTILE_REQUEST, /* from the connecting side (enclave, client) to upstream */
    NSL_HOSTILE_REPLY,   /* from upstream back */
};

enum nsl_hostile_action {
    NSL_HOSTILE_DROP,      /* not forwarded */
    NSL_HOSTILE_DELAY,     /* forwarded delay_ms later; frames behind it overtake it */
    NSL_HOSTILE_DUPLICATE, /* forwarded twice */
    NSL_HOSTILE_HOLD,      /* forwarded right after the next frame going the same way */
    NSL_HOSTILE_CORRUPT,   /* one bit flipped in the base64 (or any) string at field */
    NSL_HOSTILE_SET,       /* field replaced by value (created if absent) */
    NSL_HOSTILE_GARBAGE,   /* replaced by a well-framed payload that is not JSON */
    NSL_HOSTILE_OVERSIZE,  /* replaced by a frame header announcing 2 GiB */
    NSL_HOSTILE_EMPTY,     /* replaced by a frame header announcing 0 bytes */
    NSL_HOSTILE_STALL,     /* held, and nothing more is read this way until cleared */
};

struct nsl_hostile_rule {
    enum nsl_hostile_way way;
    const char *operation; /* "kv.get"; NULL: any */
    const char *key;       /* params.key of the request must equal it; NULL: any */
    enum nsl_hostile_action action;
    int times;         /* frames to act on, then the rule is spent; 0: every match */
    int delay_ms;      /* DELAY */
    const char *field; /* CORRUPT, SET: dotted path, numbers index arrays: "result.items.0.value";
                        * SET with NULL: every member but the id becomes value's */
    json_t *value;     /* SET: the new value (the proxy takes a reference) */
};

struct nsl_hostile_proxy;

/* Listens on listen_path (a unix socket path) and forwards to upstream_url. */
struct nsl_hostile_proxy *nsl_hostile_start(const char *listen_path, const char *upstream_url);
/* Closes every connection and frees everything (rules, held frames, recordings). */
void nsl_hostile_stop(struct nsl_hostile_proxy *p);

/* Adds a rule (checked after those added before it; the first that matches acts) and returns
 * its number for nsl_hostile_hits. */
int nsl_hostile_add(struct nsl_hostile_proxy *p, const struct nsl_hostile_rule *rule);
/* Frames rule number n has acted on so far. */
int nsl_hostile_hits(struct nsl_hostile_proxy *p, int n);
/* Removes every rule, ends stalls and releases held frames. */
void nsl_hostile_clear(struct nsl_hostile_proxy *p);

/* A copy of the result of the last successful reply to operation on key (NULL if none). */
json_t *nsl_hostile_recorded(struct nsl_hostile_proxy *p, const char *operation, const char *key);
/* Sends the last request made for operation on key again, upstream on the newest connection,
 * as a parent replaying a request it forwarded once. Returns 0, or -1 if there is none. */
int nsl_hostile_replay(struct nsl_hostile_proxy *p, const char *operation, const char *key);
/* Connections accepted so far (a reconnect adds one). */
uint64_t nsl_hostile_connections(struct nsl_hostile_proxy *p);

#endif
