/* Enclave connection pool (see enclave_pool.h). Lock order: a connection's lock, then nothing:
 * done() callbacks may run under it (failures, timeouts) and must not call back into the pool;
 * an answered call is finished after the lock is released, so that waking its submitter does not
 * hold up the submitters of that connection. Only a connection's reader
 * closes its fd, so an fd is never reused while another thread may still use it. */
#define NSL_LOG_COMPONENT NSL_LOGC_POOL
#include "parent/enclave_pool.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/url.h"
#include "common/frame_stream.h"

#define PENDING_BUCKETS    256
#define CONNECT_TIMEOUT_MS 1000
#define BACKOFF_FIRST_MS   50
#define BACKOFF_MAX_MS     1000
#define WATCHDOG_TICK_MS   50
#define SEND_TIMEOUT_S     5

struct nsl_pool_conn {
    struct nsl_pool *pool;
    size_t index;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the reader waits here for a connection */
    int fd;              /* -1 while disconnected */
    bool broken;         /* a send failed: the reader is about to close fd */
    bool ever_connected, reported_down;
    int64_t next_attempt_ns;
    int backoff_ms;
    struct nsl_pool_call *pending[PENDING_BUCKETS];
    pthread_t reader;
    bool reader_started;
};

struct nsl_pool {
    struct nsl_url url;
    size_t max_frame;
    struct nsl_metrics *metrics;
    size_t count;
    struct nsl_pool_conn *conns;
    atomic_size_t next;
    atomic_int connected;
    atomic_bool stopping;
    pthread_mutex_t watchdog_lock;
    pthread_cond_t watchdog_wake;
    pthread_t watchdog;
    bool watchdog_started;
};

int64_t nsl_pool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Drops the submitter's or a call's reference; the last one runs done(). */
static void batch_release(struct nsl_pool_batch *b)
{
    if (atomic_fetch_sub(&b->remaining, 1) == 1)
        b->done(b->ctx);
}

static void call_finish(struct nsl_pool_call *c, nsl_err err, struct nsl_pool_reply *response)
{
    c->err = err;
    if (response)
        c->response = *response;
    c->finished_ns = nsl_pool_now_ns();
    batch_release(c->batch);
}

/* Pending table of one connection, keyed by seq; callers hold conn->lock. */
static void pending_add(struct nsl_pool_conn *conn, struct nsl_pool_call *c)
{
    struct nsl_pool_call **head = &conn->pending[c->seq % PENDING_BUCKETS];
    c->conn = conn;
    c->next = *head;
    *head = c;
}

static struct nsl_pool_call *pending_take(struct nsl_pool_conn *conn, uint64_t seq)
{
    for (struct nsl_pool_call **p = &conn->pending[seq % PENDING_BUCKETS]; *p; p = &(*p)->next) {
        if ((*p)->seq == seq) {
            struct nsl_pool_call *c = *p;
            *p = c->next;
            return c;
        }
    }
    return NULL;
}

/* Fails pending calls (all of them, or those past their deadline when now > 0). */
static void pending_fail(struct nsl_pool_conn *conn, nsl_err err, int64_t now)
{
    for (size_t i = 0; i < PENDING_BUCKETS; i++) {
        struct nsl_pool_call **p = &conn->pending[i];
        while (*p) {
            struct nsl_pool_call *c = *p;
            if (now > 0 && c->deadline_ns > now) {
                p = &c->next;
                continue;
            }
            *p = c->next;
            call_finish(c, err, NULL);
        }
    }
}

static void set_up(struct nsl_pool *pool, int delta)
{
    int n = atomic_fetch_add(&pool->connected, delta) + delta;
    nsl_metrics_set_enclave_up(pool->metrics, n > 0);
}

/* Called with conn->lock held and conn->fd < 0. */
static void try_connect(struct nsl_pool_conn *conn, int64_t now)
{
    struct nsl_pool *pool = conn->pool;
    int fd = nsl_net_connect(&pool->url, CONNECT_TIMEOUT_MS);
    if (fd < 0) {
        int saved = errno;
        conn->backoff_ms = conn->backoff_ms ? conn->backoff_ms * 2 : BACKOFF_FIRST_MS;
        if (conn->backoff_ms > BACKOFF_MAX_MS)
            conn->backoff_ms = BACKOFF_MAX_MS;
        conn->next_attempt_ns = now + (int64_t)conn->backoff_ms * 1000000;
        if (!conn->reported_down)
            nsl_logf(NSL_LOG_WARN, "enclave_connect_failed", "connection %zu: %s", conn->index,
                     strerror(saved));
        conn->reported_down = true;
        return;
    }
    struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    conn->fd = fd;
    conn->backoff_ms = 0;
    conn->reported_down = false;
    if (conn->ever_connected)
        nsl_metrics_count_reconnect(pool->metrics);
    conn->ever_connected = true;
    set_up(pool, 1);
    nsl_logf(NSL_LOG_DEBUG, "enclave_connected", "connection %zu", conn->index);
    pthread_cond_signal(&conn->wake);
}

/* Returns a connection that is up, locked; or NULL when none can be reached now. */
static struct nsl_pool_conn *acquire(struct nsl_pool *pool)
{
    size_t start = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
    int64_t now = nsl_pool_now_ns();
    for (size_t k = 0; k < pool->count; k++) {
        struct nsl_pool_conn *conn = &pool->conns[(start + k) % pool->count];
        pthread_mutex_lock(&conn->lock);
        if (conn->fd < 0 && now >= conn->next_attempt_ns && !atomic_load(&pool->stopping))
            try_connect(conn, now);
        if (conn->fd >= 0 && !conn->broken)
            return conn;
        pthread_mutex_unlock(&conn->lock);
    }
    return NULL;
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

/* Frames every call that fits into out; the others fail with LIMIT_EXCEEDED right away (they
 * cannot complete the batch: the submitter still holds its reference). */
static int frame_calls(struct nsl_pool *pool, struct nsl_pool_batch *b, struct nsl_buf *out)
{
    for (size_t i = 0; i < b->count; i++) {
        struct nsl_pool_call *c = &b->calls[i];
        c->batch = b;
        memset(&c->response, 0, sizeof c->response);
        if (c->len == 0 || c->len > pool->max_frame) {
            c->conn = NULL;
            call_finish(c, NSL_ERR_LIMIT_EXCEEDED, NULL);
            continue;
        }
        c->conn = (struct nsl_pool_conn *)pool; /* marks "to send"; set for real below */
        if (nsl_frame_append(out, c->payload, c->len) != 0)
            return -1;
    }
    return 0;
}

void nsl_pool_submit(struct nsl_pool *pool, struct nsl_pool_batch *b)
{
    struct nsl_buf frames = {0};
    atomic_store(&b->remaining, b->count + 1);
    int framed = frame_calls(pool, b, &frames);
    struct nsl_pool_conn *conn = NULL;
    if (framed == 0 && frames.len > 0 && !atomic_load(&pool->stopping))
        conn = acquire(pool);
    int64_t now = nsl_pool_now_ns();
    for (size_t i = 0; i < b->count; i++) {
        struct nsl_pool_call *c = &b->calls[i];
        if (c->conn != (struct nsl_pool_conn *)pool)
            continue;
        if (!conn) {
            call_finish(c, NSL_ERR_UNAVAILABLE, NULL);
            continue;
        }
        c->sent_ns = now;
        c->deadline_ns = now + (int64_t)b->timeout_ms * 1000000;
        pending_add(conn, c);
    }
    if (conn) {
        if (send_all(conn->fd, frames.data, frames.len) != 0) {
            /* The reader sees the shutdown, closes, and fails what was registered above. */
            nsl_logf(NSL_LOG_WARN, "enclave_send_failed", "connection %zu: %s", conn->index,
                     strerror(errno));
            conn->broken = true;
            shutdown(conn->fd, SHUT_RDWR);
        }
        pthread_mutex_unlock(&conn->lock);
    }
    nsl_buf_free(&frames);
    batch_release(b);
}

/* The id member's text "\"p-<digits>\"" -> seq. */
static bool parse_seq(const char *text, struct nsl_json_span id, uint64_t *seq)
{
    const char *p = text + id.off;
    if (id.len < 5 || id.len > 24 || p[0] != '"' || p[1] != 'p' || p[2] != '-' ||
        p[id.len - 1] != '"')
        return false;
    uint64_t v = 0;
    for (size_t i = 3; i + 1 < id.len; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *seq = v;
    return true;
}

/* Logs a response that cannot be matched to a request (the enclave says why when it can). */
static void log_bad_response(const char *payload, size_t len)
{
    json_error_t jerr;
    json_t *resp = json_loadb(payload, len, 0, &jerr);
    json_t *err = json_object_get(resp, "error");
    nsl_log(NSL_LOG_WARN, "enclave_bad_response", "code",
            json_string_value(json_object_get(err, "code")), "message",
            json_string_value(json_object_get(err, "message")), NULL);
    json_decref(resp);
}

/* Handles one response frame: checks it without building it (its text goes to the client as it
 * is) and completes its call. Returns -1 when the connection cannot be trusted any more. */
static int deliver(struct nsl_pool_conn *conn, const char *payload, size_t len)
{
    static const char *const names[] = {"id", "ok", "result", "error"};
    struct nsl_json_span spans[4];
    uint64_t seq;
    if (nsl_json_scan_object(payload, len, names, 4, spans) != 0 ||
        !parse_seq(payload, spans[0], &seq)) {
        log_bad_response(payload, len);
        return -1;
    }
    struct nsl_pool_reply reply = {
        .text = malloc(len + 1), .len = len, .ok = spans[1], .result = spans[2], .error = spans[3]};
    if (!reply.text)
        return -1;
    memcpy(reply.text, payload, len);
    reply.text[len] = 0;
    pthread_mutex_lock(&conn->lock);
    struct nsl_pool_call *c = pending_take(conn, seq); /* now only this thread has c */
    pthread_mutex_unlock(&conn->lock);
    if (c) {
        nsl_metrics_observe_enclave_rtt(conn->pool->metrics,
                                        (double)(nsl_pool_now_ns() - c->sent_ns) / 1e9);
        call_finish(c, NSL_OK, &reply);
        reply.text = NULL;
    }
    if (reply.text) /* a late answer to a request that already timed out */
        nsl_logf(NSL_LOG_DEBUG, "enclave_late_response", "seq %" PRIu64, seq);
    free(reply.text);
    return 0;
}

static void read_until_error(struct nsl_pool_conn *conn, int fd)
{
    struct nsl_frame_stream stream;
    nsl_frame_stream_init(&stream, fd, conn->pool->max_frame);
    const char *payload;
    size_t len;
    while (nsl_frame_stream_next(&stream, &payload, &len) == 0)
        if (deliver(conn, payload, len) != 0)
            break;
    nsl_frame_stream_free(&stream);
}

static void *reader_main(void *arg)
{
    struct nsl_pool_conn *conn = arg;
    struct nsl_pool *pool = conn->pool;
    pthread_mutex_lock(&conn->lock);
    for (;;) {
        while (conn->fd < 0 && !atomic_load(&pool->stopping))
            pthread_cond_wait(&conn->wake, &conn->lock);
        if (conn->fd < 0)
            break;
        int fd = conn->fd;
        pthread_mutex_unlock(&conn->lock);
        read_until_error(conn, fd);
        pthread_mutex_lock(&conn->lock);
        close(fd);
        conn->fd = -1;
        conn->broken = false;
        conn->next_attempt_ns = 0; /* the enclave may be back already: retry at once */
        set_up(pool, -1);
        pending_fail(conn, NSL_ERR_UNAVAILABLE, 0);
        if (!atomic_load(&pool->stopping))
            nsl_logf(NSL_LOG_WARN, "enclave_disconnected", "connection %zu", conn->index);
    }
    pthread_mutex_unlock(&conn->lock);
    return NULL;
}

static void *watchdog_main(void *arg)
{
    struct nsl_pool *pool = arg;
    pthread_mutex_lock(&pool->watchdog_lock);
    while (!atomic_load(&pool->stopping)) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCHDOG_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&pool->watchdog_wake, &pool->watchdog_lock, &until);
        int64_t now = nsl_pool_now_ns();
        for (size_t i = 0; i < pool->count; i++) {
            pthread_mutex_lock(&pool->conns[i].lock);
            pending_fail(&pool->conns[i], NSL_ERR_TIMEOUT, now);
            pthread_mutex_unlock(&pool->conns[i].lock);
        }
    }
    pthread_mutex_unlock(&pool->watchdog_lock);
    return NULL;
}

static int start_threads(struct nsl_pool *pool)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->watchdog_wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&pool->watchdog_lock, NULL);
    for (size_t i = 0; i < pool->count; i++) {
        struct nsl_pool_conn *conn = &pool->conns[i];
        if (pthread_create(&conn->reader, NULL, reader_main, conn) != 0)
            return -1;
        conn->reader_started = true;
    }
    if (pthread_create(&pool->watchdog, NULL, watchdog_main, pool) != 0)
        return -1;
    pool->watchdog_started = true;
    return 0;
}

struct nsl_pool *nsl_pool_new(const struct nsl_pool_config *cfg, struct nsl_metrics *metrics)
{
    struct nsl_pool *pool = calloc(1, sizeof *pool);
    char why[128];
    if (!pool)
        return NULL;
    pool->metrics = metrics;
    pool->max_frame = cfg->max_frame;
    pool->count = cfg->connections ? cfg->connections : 1;
    pool->conns = calloc(pool->count, sizeof *pool->conns);
    if (!pool->conns || nsl_url_parse(cfg->url, &pool->url, why, sizeof why) != 0) {
        nsl_pool_free(pool);
        return NULL;
    }
    for (size_t i = 0; i < pool->count; i++) {
        struct nsl_pool_conn *conn = &pool->conns[i];
        conn->pool = pool;
        conn->index = i;
        conn->fd = -1;
        pthread_mutex_init(&conn->lock, NULL);
        pthread_cond_init(&conn->wake, NULL);
    }
    if (start_threads(pool) != 0) {
        nsl_pool_free(pool);
        return NULL;
    }
    int64_t now = nsl_pool_now_ns();
    for (size_t i = 0; i < pool->count; i++) {
        pthread_mutex_lock(&pool->conns[i].lock);
        try_connect(&pool->conns[i], now);
        pthread_mutex_unlock(&pool->conns[i].lock);
    }
    return pool;
}

void nsl_pool_stop(struct nsl_pool *pool)
{
    if (!pool || atomic_exchange(&pool->stopping, true))
        return;
    if (pool->watchdog_started) {
        pthread_mutex_lock(&pool->watchdog_lock);
        pthread_cond_signal(&pool->watchdog_wake);
        pthread_mutex_unlock(&pool->watchdog_lock);
        pthread_join(pool->watchdog, NULL);
    }
    for (size_t i = 0; pool->conns && i < pool->count; i++) {
        struct nsl_pool_conn *conn = &pool->conns[i];
        if (!conn->reader_started)
            continue;
        pthread_mutex_lock(&conn->lock);
        if (conn->fd >= 0)
            shutdown(conn->fd, SHUT_RDWR);
        pthread_cond_signal(&conn->wake);
        pthread_mutex_unlock(&conn->lock);
        pthread_join(conn->reader, NULL);
        conn->reader_started = false;
    }
}

void nsl_pool_free(struct nsl_pool *pool)
{
    if (!pool)
        return;
    nsl_pool_stop(pool);
    for (size_t i = 0; pool->conns && i < pool->count; i++) {
        pthread_mutex_destroy(&pool->conns[i].lock);
        pthread_cond_destroy(&pool->conns[i].wake);
    }
    if (pool->watchdog_started) {
        pthread_mutex_destroy(&pool->watchdog_lock);
        pthread_cond_destroy(&pool->watchdog_wake);
    }
    free(pool->conns);
    free(pool);
}
