/* A hostile man in the middle (see hostile_proxy.h). Each accepted connection is a pair: one
 * reader thread per way turns the incoming bytes into frames and decides each frame's fate under
 * the proxy lock; one writer thread per way sends what is due from that way's queue, earliest
 * deadline first, so a delayed frame is overtaken by those behind it. */
#include "harness/hostile_proxy.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/encoding.h"
#include "common/frame_stream.h"
#include "common/url.h"

#define MAX_RULES   256
#define MAX_RECORDS 1024
#define MAX_FRAME   (64u << 20)

struct item {
    struct item *next;
    long due_ms;
    size_t len;
    uint8_t bytes[]; /* header and payload, as sent */
};

/* One way of one connection: where its frames go and what waits to go there. */
struct way {
    struct pair *pair;
    enum nsl_hostile_way which;
    int in_fd, out_fd;
    struct item *queue;   /* waiting for their due time, in arrival order */
    struct item *held;    /* HOLD: released after the next frame queued this way */
    struct item *stalled; /* STALL: released by nsl_hostile_clear */
    pthread_cond_t wake;  /* for the writer */
    pthread_t reader, writer;
};

struct request_info {
    struct request_info *next;
    char *id, *operation, *key;
};

struct pair {
    struct pair *next;
    struct nsl_hostile_proxy *proxy;
    int down_fd, up_fd;
    bool closed;
    struct way ways[2];
    struct request_info *requests; /* in flight, by id, to match replies */
};

struct record {
    char *operation, *key;
    json_t *result; /* of the last successful reply */
    char *request;  /* the last request, as sent */
    size_t request_len;
};

struct nsl_hostile_proxy {
    struct nsl_url upstream;
    char listen_path[108];
    int listen_fd;
    pthread_t acceptor;
    pthread_mutex_t lock; /* everything below, and every pair */
    pthread_cond_t unstall;
    bool stopping;
    bool stalled[2];
    struct pair *pairs;
    uint64_t connections;
    struct nsl_hostile_rule rules[MAX_RULES];
    int hits[MAX_RULES];
    bool active[MAX_RULES];
    int nrules;
    struct record records[MAX_RECORDS];
    int nrecords;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* ---- queues ---- */

static struct item *item_new(const void *header, size_t hlen, const void *payload, size_t len,
                             long due_ms)
{
    struct item *it = malloc(sizeof *it + hlen + len);
    if (!it)
        return NULL;
    it->next = NULL;
    it->due_ms = due_ms;
    it->len = hlen + len;
    memcpy(it->bytes, header, hlen);
    if (len)
        memcpy(it->bytes + hlen, payload, len);
    return it;
}

static struct item *frame_item(const void *payload, size_t len, long due_ms)
{
    uint8_t h[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    return item_new(h, sizeof h, payload, len, due_ms);
}

static void append(struct item **list, struct item *it)
{
    while (*list)
        list = &(*list)->next;
    *list = it;
}

static void free_items(struct item *it)
{
    while (it) {
        struct item *next = it->next;
        free(it);
        it = next;
    }
}

/* Queues it to be sent at its due time; frames held for reordering follow it. Lock held. */
static void enqueue(struct way *w, struct item *it)
{
    if (!it)
        return;
    append(&w->queue, it);
    for (struct item *h = w->held; h; h = h->next)
        h->due_ms = it->due_ms;
    append(&w->queue, w->held);
    w->held = NULL;
    pthread_cond_signal(&w->wake);
}

static void release_stalled(struct way *w)
{
    for (struct item *h = w->stalled; h; h = h->next)
        h->due_ms = now_ms();
    append(&w->queue, w->stalled);
    w->stalled = NULL;
    for (struct item *h = w->held; h; h = h->next)
        h->due_ms = now_ms();
    append(&w->queue, w->held);
    w->held = NULL;
    pthread_cond_signal(&w->wake);
}

/* Shuts both sockets so both readers and both writers end. Lock held. */
static void close_pair(struct pair *pair)
{
    if (pair->closed)
        return;
    pair->closed = true;
    shutdown(pair->down_fd, SHUT_RDWR);
    shutdown(pair->up_fd, SHUT_RDWR);
    pthread_cond_signal(&pair->ways[0].wake);
    pthread_cond_signal(&pair->ways[1].wake);
    pthread_cond_broadcast(&pair->proxy->unstall);
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The earliest-due frame (the first of equals), unlinked if it is due now. */
static struct item *take_due(struct way *w, long *wait_ms)
{
    struct item **best = NULL;
    for (struct item **it = &w->queue; *it; it = &(*it)->next)
        if (!best || (*it)->due_ms < (*best)->due_ms)
            best = it;
    if (!best) {
        *wait_ms = -1;
        return NULL;
    }
    long left = (*best)->due_ms - now_ms();
    if (left > 0) {
        *wait_ms = left;
        return NULL;
    }
    struct item *it = *best;
    *best = it->next;
    it->next = NULL;
    return it;
}

static void *writer_main(void *arg)
{
    struct way *w = arg;
    struct nsl_hostile_proxy *p = w->pair->proxy;
    pthread_mutex_lock(&p->lock);
    while (!w->pair->closed) {
        long wait_ms;
        struct item *it = take_due(w, &wait_ms);
        if (!it) {
            if (wait_ms < 0) {
                pthread_cond_wait(&w->wake, &p->lock);
            } else {
                struct timespec ts;
                nsl_deadline_after_ms(&ts, (int)wait_ms);
                pthread_cond_timedwait(&w->wake, &p->lock, &ts);
            }
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        int rc = send_all(w->out_fd, it->bytes, it->len);
        free(it);
        pthread_mutex_lock(&p->lock);
        if (rc != 0)
            close_pair(w->pair);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- matching and recording ---- */

static void remember_request(struct pair *pair, const char *id, const char *operation,
                             const char *key)
{
    struct request_info *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->id = strdup(id);
    r->operation = dup_or_null(operation);
    r->key = dup_or_null(key);
    r->next = pair->requests;
    pair->requests = r;
}

/* The request a reply answers, unlinked (the caller frees it), or NULL. */
static struct request_info *answered_request(struct pair *pair, const char *id)
{
    for (struct request_info **r = &pair->requests; *r; r = &(*r)->next) {
        if (strcmp((*r)->id, id) == 0) {
            struct request_info *found = *r;
            *r = found->next;
            return found;
        }
    }
    return NULL;
}

static void free_request(struct request_info *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->operation);
    free(r->key);
    free(r);
}

/* The record of operation on key, made if new (NULL when full). Lock held. */
static struct record *record_of(struct nsl_hostile_proxy *p, const char *operation, const char *key)
{
    int i = 0;
    while (i < p->nrecords &&
           !(same(p->records[i].operation, operation) && same(p->records[i].key, key)))
        i++;
    if (i == MAX_RECORDS)
        return NULL;
    if (i == p->nrecords) {
        p->records[i].operation = dup_or_null(operation);
        p->records[i].key = dup_or_null(key);
        p->nrecords++;
    }
    return &p->records[i];
}

static void record_result(struct nsl_hostile_proxy *p, const char *operation, const char *key,
                          json_t *result)
{
    struct record *r = record_of(p, operation, key);
    if (!r)
        return;
    json_decref(r->result);
    r->result = json_deep_copy(result);
}

static void record_request(struct nsl_hostile_proxy *p, const char *operation, const char *key,
                           const char *payload, size_t len)
{
    struct record *r = record_of(p, operation, key);
    char *copy = malloc(len);
    if (!r || !copy) {
        free(copy);
        return;
    }
    memcpy(copy, payload, len);
    free(r->request);
    r->request = copy;
    r->request_len = len;
}

static int match(struct nsl_hostile_proxy *p, enum nsl_hostile_way way, const char *operation,
                 const char *key)
{
    for (int i = 0; i < p->nrules; i++) {
        const struct nsl_hostile_rule *r = &p->rules[i];
        if (!p->active[i] || r->way != way)
            continue;
        if ((r->operation && !same(r->operation, operation)) || (r->key && !same(r->key, key)))
            continue;
        if (++p->hits[i] == r->times)
            p->active[i] = false;
        return i;
    }
    return -1;
}

/* ---- editing a frame ---- */

/* The container holding the last component of path, which goes to last. */
static json_t *field_parent(json_t *root, const char *path, char *last, size_t len)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    char *part = copy, *dot;
    json_t *at = root;
    while ((dot = strchr(part, '.')) != NULL) {
        *dot = 0;
        at = json_is_array(at) ? json_array_get(at, strtoul(part, NULL, 10))
                               : json_object_get(at, part);
        part = dot + 1;
    }
    snprintf(last, len, "%s", part);
    return at;
}

static json_t *field_get(json_t *root, const char *path)
{
    char last[256];
    json_t *at = field_parent(root, path, last, sizeof last);
    return json_is_array(at) ? json_array_get(at, strtoul(last, NULL, 10))
                             : json_object_get(at, last);
}

static void field_set(json_t *root, const char *path, json_t *value)
{
    char last[256];
    json_t *at = field_parent(root, path, last, sizeof last);
    if (json_is_array(at))
        json_array_set(at, strtoul(last, NULL, 10), value);
    else if (json_is_object(at))
        json_object_set(at, last, value);
}

/* Flips one bit in the middle of the bytes a base64 string holds (so it stays valid base64 and
 * the damage reaches whatever authenticates the bytes), or of the string itself. */
static void corrupt(json_t *root, const char *path)
{
    json_t *s = field_get(root, path);
    if (!json_is_string(s) || json_string_length(s) == 0)
        return;
    size_t n = json_string_length(s), cap = nsl_base64_decoded_max(n) + 1, len;
    uint8_t *bytes = malloc(cap);
    char *text = NULL;
    if (bytes && nsl_base64_decode(json_string_value(s), n, bytes, cap, &len) == 0 && len > 0) {
        bytes[len / 2] ^= 0x01;
        text = nsl_base64_encode_alloc(bytes, len);
    } else {
        text = strdup(json_string_value(s));
        if (text)
            text[n / 2] = text[n / 2] == 'A' ? 'B' : 'A';
    }
    json_t *v = text ? json_string(text) : NULL;
    if (v)
        field_set(root, path, v);
    json_decref(v);
    free(text);
    free(bytes);
}

static struct item *edited(json_t *frame, const struct nsl_hostile_rule *r)
{
    if (r->action == NSL_HOSTILE_CORRUPT) {
        corrupt(frame, r->field);
    } else if (r->field) {
        json_t *v = json_deep_copy(r->value);
        field_set(frame, r->field, v);
        json_decref(v);
    } else { /* the whole frame but its id */
        json_t *id = json_incref(json_object_get(frame, "id"));
        json_object_clear(frame);
        json_object_update(frame, r->value);
        if (id)
            json_object_set_new(frame, "id", id);
    }
    char *text = json_dumps(frame, JSON_COMPACT);
    struct item *it = text ? frame_item(text, strlen(text), now_ms()) : NULL;
    free(text);
    return it;
}

/* Decides the fate of one frame. Lock held. */
static void act(struct way *w, const struct nsl_hostile_rule *r, json_t *frame, const char *payload,
                size_t len)
{
    struct nsl_hostile_proxy *p = w->pair->proxy;
    static const uint8_t oversize[4] = {0x80, 0, 0, 0}, empty[4] = {0, 0, 0, 0};
    static const char garbage[] = "}{ this is not JSON";
    long now = now_ms();
    switch (r ? r->action : NSL_HOSTILE_DELAY) { /* no rule: forwarded now (a delay of 0) */
    case NSL_HOSTILE_DROP:
        break;
    case NSL_HOSTILE_DELAY:
        enqueue(w, frame_item(payload, len, now + (r ? r->delay_ms : 0)));
        break;
    case NSL_HOSTILE_DUPLICATE:
        enqueue(w, frame_item(payload, len, now));
        enqueue(w, frame_item(payload, len, now));
        break;
    case NSL_HOSTILE_HOLD:
        append(&w->held, frame_item(payload, len, now));
        break;
    case NSL_HOSTILE_CORRUPT:
    case NSL_HOSTILE_SET:
        enqueue(w, frame ? edited(frame, r) : frame_item(payload, len, now));
        break;
    case NSL_HOSTILE_GARBAGE:
        enqueue(w, frame_item(garbage, sizeof garbage - 1, now));
        break;
    case NSL_HOSTILE_OVERSIZE:
        enqueue(w, item_new(oversize, sizeof oversize, NULL, 0, now));
        break;
    case NSL_HOSTILE_EMPTY:
        enqueue(w, item_new(empty, sizeof empty, NULL, 0, now));
        break;
    case NSL_HOSTILE_STALL:
        append(&w->stalled, frame_item(payload, len, now));
        p->stalled[w->which] = true;
        break;
    }
}

static void handle(struct way *w, const char *payload, size_t len)
{
    struct pair *pair = w->pair;
    struct nsl_hostile_proxy *p = pair->proxy;
    json_t *frame = json_loadb(payload, len, 0, NULL);
    if (!json_is_object(frame)) {
        json_decref(frame);
        frame = NULL;
    }
    const char *id = frame ? json_string_value(json_object_get(frame, "id")) : NULL;
    pthread_mutex_lock(&p->lock);
    struct request_info *req = NULL;
    char operation[160] = "";
    const char *key = NULL;
    if (id && w->which == NSL_HOSTILE_REQUEST) {
        const char *service = json_string_value(json_object_get(frame, "serviceType"));
        const char *op = json_string_value(json_object_get(frame, "operation"));
        snprintf(operation, sizeof operation, "%s.%s", service ? service : "", op ? op : "");
        key = json_string_value(json_object_get(json_object_get(frame, "params"), "key"));
        remember_request(pair, id, operation, key);
        record_request(p, operation, key, payload, len);
    } else if (id && (req = answered_request(pair, id)) != NULL) {
        snprintf(operation, sizeof operation, "%s", req->operation ? req->operation : "");
        key = req->key;
        json_t *result = json_object_get(frame, "result");
        if (json_is_true(json_object_get(frame, "ok")) && result)
            record_result(p, operation, key, result);
    }
    int n = match(p, w->which, operation[0] ? operation : NULL, key);
    act(w, n >= 0 ? &p->rules[n] : NULL, frame, payload, len);
    pthread_mutex_unlock(&p->lock);
    free_request(req);
    json_decref(frame);
}

static void *reader_main(void *arg)
{
    struct way *w = arg;
    struct nsl_hostile_proxy *p = w->pair->proxy;
    struct nsl_frame_stream stream;
    nsl_frame_stream_init(&stream, w->in_fd, MAX_FRAME);
    const char *payload;
    size_t len;
    while (nsl_frame_stream_next(&stream, &payload, &len) == 0) {
        handle(w, payload, len);
        pthread_mutex_lock(&p->lock);
        while (p->stalled[w->which] && !w->pair->closed)
            pthread_cond_wait(&p->unstall, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    nsl_frame_stream_free(&stream);
    pthread_mutex_lock(&p->lock);
    close_pair(w->pair);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- connections ---- */

static void start_pair(struct nsl_hostile_proxy *p, int down_fd, int up_fd)
{
    struct pair *pair = calloc(1, sizeof *pair);
    if (!pair) {
        close(down_fd);
        close(up_fd);
        return;
    }
    pair->proxy = p;
    pair->down_fd = down_fd;
    pair->up_fd = up_fd;
    for (int i = 0; i < 2; i++) {
        struct way *w = &pair->ways[i];
        w->pair = pair;
        w->which = (enum nsl_hostile_way)i;
        w->in_fd = i == NSL_HOSTILE_REQUEST ? down_fd : up_fd;
        w->out_fd = i == NSL_HOSTILE_REQUEST ? up_fd : down_fd;
        pthread_cond_init(&w->wake, NULL);
    }
    pthread_mutex_lock(&p->lock);
    pair->next = p->pairs;
    p->pairs = pair;
    p->connections++;
    for (int i = 0; i < 2; i++) {
        pthread_create(&pair->ways[i].reader, NULL, reader_main, &pair->ways[i]);
        pthread_create(&pair->ways[i].writer, NULL, writer_main, &pair->ways[i]);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *acceptor_main(void *arg)
{
    struct nsl_hostile_proxy *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        bool stopping = p->stopping;
        pthread_mutex_unlock(&p->lock);
        if (stopping)
            return NULL;
        struct pollfd pfd = {.fd = p->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int down = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (down < 0)
            continue;
        int up = nsl_net_connect(&p->upstream, 2000);
        if (up < 0) {
            close(down); /* no upstream yet: the other side retries */
            continue;
        }
        start_pair(p, down, up);
    }
}

struct nsl_hostile_proxy *nsl_hostile_start(const char *listen_path, const char *upstream_url)
{
    struct nsl_hostile_proxy *p = calloc(1, sizeof *p);
    char url[200];
    struct nsl_url listen;
    snprintf(url, sizeof url, "unix://%s", listen_path);
    if (!p || nsl_url_parse(upstream_url, &p->upstream, NULL, 0) != 0 ||
        nsl_url_parse(url, &listen, NULL, 0) != 0) {
        free(p);
        return NULL;
    }
    snprintf(p->listen_path, sizeof p->listen_path, "%s", listen_path);
    p->listen_fd = nsl_net_listen(&listen, 16);
    if (p->listen_fd < 0) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->unstall, NULL);
    if (pthread_create(&p->acceptor, NULL, acceptor_main, p) != 0) {
        close(p->listen_fd);
        free(p);
        return NULL;
    }
    return p;
}

static void free_pair(struct pair *pair)
{
    for (int i = 0; i < 2; i++) {
        struct way *w = &pair->ways[i];
        pthread_join(w->reader, NULL);
        pthread_join(w->writer, NULL);
        free_items(w->queue);
        free_items(w->held);
        free_items(w->stalled);
        pthread_cond_destroy(&w->wake);
    }
    while (pair->requests) {
        struct request_info *r = pair->requests;
        pair->requests = r->next;
        free_request(r);
    }
    close(pair->down_fd);
    close(pair->up_fd);
    free(pair);
}

void nsl_hostile_stop(struct nsl_hostile_proxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->acceptor, NULL);
    pthread_mutex_lock(&p->lock);
    for (struct pair *pair = p->pairs; pair; pair = pair->next)
        close_pair(pair);
    struct pair *pairs = p->pairs;
    p->pairs = NULL;
    pthread_mutex_unlock(&p->lock);
    while (pairs) {
        struct pair *next = pairs->next;
        free_pair(pairs);
        pairs = next;
    }
    for (int i = 0; i < p->nrules; i++)
        json_decref(p->rules[i].value);
    for (int i = 0; i < p->nrecords; i++) {
        free(p->records[i].operation);
        free(p->records[i].key);
        json_decref(p->records[i].result);
        free(p->records[i].request);
    }
    close(p->listen_fd);
    unlink(p->listen_path);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->unstall);
    free(p);
}

/* ---- the test's controls ---- */

int nsl_hostile_add(struct nsl_hostile_proxy *p, const struct nsl_hostile_rule *rule)
{
    pthread_mutex_lock(&p->lock);
    int n = p->nrules < MAX_RULES ? p->nrules++ : -1;
    if (n >= 0) {
        p->rules[n] = *rule;
        json_incref(rule->value);
        p->hits[n] = 0;
        p->active[n] = true;
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

int nsl_hostile_hits(struct nsl_hostile_proxy *p, int n)
{
    pthread_mutex_lock(&p->lock);
    int hits = n >= 0 && n < p->nrules ? p->hits[n] : 0;
    pthread_mutex_unlock(&p->lock);
    return hits;
}

void nsl_hostile_clear(struct nsl_hostile_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->nrules; i++)
        p->active[i] = false;
    p->stalled[0] = p->stalled[1] = false;
    for (struct pair *pair = p->pairs; pair; pair = pair->next)
        for (int i = 0; i < 2; i++)
            release_stalled(&pair->ways[i]);
    pthread_cond_broadcast(&p->unstall);
    pthread_mutex_unlock(&p->lock);
}

json_t *nsl_hostile_recorded(struct nsl_hostile_proxy *p, const char *operation, const char *key)
{
    json_t *copy = NULL;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->nrecords && !copy; i++)
        if (same(p->records[i].operation, operation) && same(p->records[i].key, key))
            copy = json_deep_copy(p->records[i].result);
    pthread_mutex_unlock(&p->lock);
    return copy;
}

int nsl_hostile_replay(struct nsl_hostile_proxy *p, const char *operation, const char *key)
{
    int rc = -1;
    pthread_mutex_lock(&p->lock);
    struct pair *newest = p->pairs; /* pairs are kept newest first */
    for (int i = 0; i < p->nrecords && rc != 0; i++) {
        struct record *r = &p->records[i];
        if (newest && !newest->closed && r->request && same(r->operation, operation) &&
            same(r->key, key)) {
            enqueue(&newest->ways[NSL_HOSTILE_REQUEST],
                    frame_item(r->request, r->request_len, now_ms()));
            rc = 0;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

uint64_t nsl_hostile_connections(struct nsl_hostile_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->connections;
    pthread_mutex_unlock(&p->lock);
    return n;
}
