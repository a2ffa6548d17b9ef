/* Host-channel client (see hostchan.h). A reader thread owns the connection: it connects with
 * backoff, reads replies and hands each to the waiting caller by id. A keeper thread pings. */
#define NSL_LOG_COMPONENT NSL_LOGC_HOSTCHAN
#include "enclave/hostchan.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/deadline.h"
#include "common/frame_stream.h"
#include "common/json.h"
#include "common/log.h"
#include "enclave/probe.h"

#define PING_INTERVAL_MS 2000
#define BACKOFF_MIN_MS   50
#define BACKOFF_MAX_MS   2000
#define PENDING_SLOTS    256 /* calls in flight, hashed by id */

struct pending {
    uint64_t id;
    json_t *reply; /* NULL until answered */
    bool failed;
    pthread_cond_t cond;
    struct pending *next;
};

struct nsl_hostchan {
    struct nsl_url url;
    size_t max_frame;
    pthread_mutex_t lock;      /* everything below */
    pthread_mutex_t send_lock; /* one writer at a time on fd */
    pthread_cond_t changed;    /* connection state changed or stopping */
    int fd;
    bool stopping;
    uint64_t next_id, connects;
    int64_t last_rtt_us;
    struct pending *pending[PENDING_SLOTS];
    pthread_t reader, keeper;
};

/* Fails every waiting call: their answers went down with the connection. Lock held. */
static void fail_pending(struct nsl_hostchan *hc)
{
    for (size_t i = 0; i < PENDING_SLOTS; i++) {
        for (struct pending *p = hc->pending[i]; p; p = p->next) {
            if (!p->reply) {
                p->failed = true;
                pthread_cond_signal(&p->cond);
            }
        }
    }
}

static void deliver(struct nsl_hostchan *hc, json_t *reply)
{
    const char *id = nsl_json_str(reply, "id");
    uint64_t n = 0;
    if (!id || sscanf(id, "h-%" SCNu64, &n) != 1) {
        nsl_log(NSL_LOG_WARN, "host_reply_dropped", "reason", "reply without a known id", NULL);
        json_decref(reply);
        return;
    }
    pthread_mutex_lock(&hc->lock);
    struct pending *p = hc->pending[n % PENDING_SLOTS];
    while (p && p->id != n)
        p = p->next;
    if (p && !p->reply && !p->failed) {
        p->reply = reply;
        pthread_cond_signal(&p->cond);
        reply = NULL;
    }
    pthread_mutex_unlock(&hc->lock);
    json_decref(reply); /* late or duplicate: the caller has given up or already has one */
}

static void read_replies(struct nsl_hostchan *hc, int fd)
{
    struct nsl_frame_stream stream;
    nsl_frame_stream_init(&stream, fd, hc->max_frame);
    for (;;) {
        const char *payload;
        size_t len;
        if (nsl_frame_stream_next(&stream, &payload, &len) != 0)
            break;
        json_t *reply = nsl_json_parse_object(payload, len, NSL_ERR_BAD_FRAME, NULL);
        if (reply)
            deliver(hc, reply);
        else
            nsl_log(NSL_LOG_WARN, "host_reply_dropped", "reason", "not a JSON object", NULL);
    }
    nsl_frame_stream_free(&stream);
}

/* Waits ms or until stopping; returns true when stopping. */
static bool pause_unless_stopping(struct nsl_hostchan *hc, int ms)
{
    struct timespec ts;
    nsl_deadline_after_ms(&ts, ms);
    pthread_mutex_lock(&hc->lock);
    while (!hc->stopping && pthread_cond_timedwait(&hc->changed, &hc->lock, &ts) != ETIMEDOUT) {
    }
    bool stopping = hc->stopping;
    pthread_mutex_unlock(&hc->lock);
    return stopping;
}

static void *reader_main(void *arg)
{
    struct nsl_hostchan *hc = arg;
    int backoff = BACKOFF_MIN_MS;
    char where[400];
    nsl_url_format(&hc->url, where, sizeof where);
    while (!pause_unless_stopping(hc, 0)) {
        int fd = nsl_net_connect(&hc->url, 2000);
        if (fd < 0) {
            if (pause_unless_stopping(hc, backoff))
                break;
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = BACKOFF_MIN_MS;
        pthread_mutex_lock(&hc->lock);
        hc->fd = fd;
        hc->connects++;
        pthread_cond_broadcast(&hc->changed);
        bool stopping = hc->stopping;
        pthread_mutex_unlock(&hc->lock);
        nsl_log(NSL_LOG_INFO, "host_channel_connected", "url", where, NULL);
        if (!stopping)
            read_replies(hc, fd);
        pthread_mutex_lock(&hc->lock);
        hc->fd = -1;
        fail_pending(hc);
        pthread_mutex_unlock(&hc->lock);
        pthread_mutex_lock(&hc->send_lock); /* no sender still holds the old fd */
        close(fd);
        pthread_mutex_unlock(&hc->send_lock);
        nsl_log(NSL_LOG_WARN, "host_channel_lost", "url", where, NULL);
    }
    return NULL;
}

static void *keeper_main(void *arg)
{
    struct nsl_hostchan *hc = arg;
    while (!pause_unless_stopping(hc, PING_INTERVAL_MS)) {
        struct timespec a, b;
        json_t *result = NULL;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (nsl_hostchan_call(hc, "host", "ping", NULL, PING_INTERVAL_MS, &result, NULL) != NSL_OK)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &b);
        json_decref(result);
        pthread_mutex_lock(&hc->lock);
        hc->last_rtt_us = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
        pthread_mutex_unlock(&hc->lock);
    }
    return NULL;
}

struct nsl_hostchan *nsl_hostchan_start(const struct nsl_url *url, size_t max_frame)
{
    struct nsl_hostchan *hc = calloc(1, sizeof *hc);
    if (!hc)
        return NULL;
    hc->url = *url;
    hc->max_frame = max_frame;
    hc->fd = -1;
    hc->last_rtt_us = -1;
    pthread_mutex_init(&hc->lock, NULL);
    pthread_mutex_init(&hc->send_lock, NULL);
    pthread_cond_init(&hc->changed, NULL);
    if (pthread_create(&hc->reader, NULL, reader_main, hc) != 0) {
        free(hc);
        return NULL;
    }
    if (pthread_create(&hc->keeper, NULL, keeper_main, hc) != 0) {
        hc->keeper = 0;
        nsl_hostchan_stop(hc);
        return NULL;
    }
    return hc;
}

void nsl_hostchan_stop(struct nsl_hostchan *hc)
{
    if (!hc)
        return;
    pthread_mutex_lock(&hc->lock);
    hc->stopping = true;
    if (hc->fd >= 0)
        shutdown(hc->fd, SHUT_RDWR); /* wakes the reader */
    pthread_cond_broadcast(&hc->changed);
    pthread_mutex_unlock(&hc->lock);
    pthread_join(hc->reader, NULL);
    if (hc->keeper)
        pthread_join(hc->keeper, NULL);
    pthread_mutex_destroy(&hc->lock);
    pthread_mutex_destroy(&hc->send_lock);
    pthread_cond_destroy(&hc->changed);
    free(hc);
}

void nsl_hostchan_get_status(const struct nsl_hostchan *hc, struct nsl_hostchan_status *st)
{
    memset(st, 0, sizeof *st);
    st->last_rtt_us = -1;
    if (!hc)
        return;
    struct nsl_hostchan *m = (struct nsl_hostchan *)hc;
    pthread_mutex_lock(&m->lock);
    st->connected = m->fd >= 0;
    st->reconnects = m->connects ? m->connects - 1 : 0;
    st->last_rtt_us = m->last_rtt_us;
    pthread_mutex_unlock(&m->lock);
}

/* Milliseconds left until the CLOCK_REALTIME deadline ts (0 when past). */
static int ms_until(const struct timespec *ts)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ms =
        (long long)(ts->tv_sec - now.tv_sec) * 1000 + (ts->tv_nsec - now.tv_nsec) / 1000000;
    return ms <= 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* Writes one whole frame by the deadline. A parent that stops reading must not hold a caller
 * (nor the send lock, and with it every other caller) for good: past the deadline the call fails
 * with TIMEOUT, and since part of the frame may have gone out, the connection is shut down so the
 * reader reconnects on a clean stream. */
static nsl_err send_frame_by(struct nsl_hostchan *hc, int fd, const struct nsl_buf *frame,
                             const struct timespec *deadline, struct nsl_error *err)
{
    nsl_err rc = NSL_OK;
    size_t off = 0;
    pthread_mutex_lock(&hc->send_lock);
    while (rc == NSL_OK && off < frame->len) {
        ssize_t n = send(fd, frame->data + off, frame->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            rc = nsl_fail(err, NSL_ERR_UNAVAILABLE, "host channel write failed");
        } else {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int left = ms_until(deadline);
            if (left == 0 || poll(&pfd, 1, left) == 0)
                rc = nsl_fail(err, NSL_ERR_TIMEOUT,
                              "host channel took no request within the deadline");
        }
    }
    if (rc != NSL_OK) {
        shutdown(fd, SHUT_RDWR);
        nsl_log(NSL_LOG_WARN, "host_channel_write_failed", "reason",
                rc == NSL_ERR_TIMEOUT ? "the parent stopped reading" : "write error", NULL);
    }
    pthread_mutex_unlock(&hc->send_lock);
    return rc;
}

static nsl_err send_request(struct nsl_hostchan *hc, int fd, uint64_t id, const char *service,
                            const char *operation, json_t *params, const struct timespec *deadline,
                            struct nsl_error *err)
{
    char idtext[32];
    snprintf(idtext, sizeof idtext, "h-%" PRIu64, id);
    /* The calling thread's request id (set by the router around a request) follows the call,
     * so the parent's log lines for it carry the same rid. */
    const char *trace = nsl_log_request_id();
    json_t *req =
        json_pack("{s:s, s:s, s:s, s:O, s:s*}", "id", idtext, "serviceType", service, "operation",
                  operation, "params", params, "traceId", trace[0] ? trace : NULL);
    size_t len;
    char *text = req ? nsl_json_dump(req, &len) : NULL;
    json_decref(req);
    struct nsl_buf frame = {0};
    int framed = text ? nsl_frame_append(&frame, text, len) : -1;
    free(text);
    nsl_err rc = framed == 0 ? send_frame_by(hc, fd, &frame, deadline, err)
                             : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_buf_free(&frame);
    return rc;
}

static nsl_err reply_to_result(json_t *reply, json_t **result, struct nsl_error *err)
{
    if (json_is_true(json_object_get(reply, "ok"))) {
        json_t *r = json_object_get(reply, "result");
        *result = json_incref(r ? r : json_object_get(reply, "ok"));
        return NSL_OK;
    }
    json_t *e = json_object_get(reply, "error");
    nsl_err code = NSL_ERR_INTERNAL;
    const char *name = nsl_json_str(e, "code"), *msg = nsl_json_str(e, "message");
    if (!name || !nsl_err_from_name(name, &code) || code == NSL_OK)
        code = NSL_ERR_INTERNAL;
    return nsl_fail(err, code, "host: %s", msg ? msg : "error without a message");
}

nsl_err nsl_hostchan_call(struct nsl_hostchan *hc, const char *service, const char *operation,
                          json_t *params, int timeout_ms, json_t **result, struct nsl_error *err)
{
    if (nsl_probe_refuse(err))
        return err->code;
    struct pending p = {0};
    pthread_cond_init(&p.cond, NULL);
    pthread_mutex_lock(&hc->lock);
    int fd = hc->fd;
    if (fd < 0 || hc->stopping) {
        pthread_mutex_unlock(&hc->lock);
        pthread_cond_destroy(&p.cond);
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "host channel is not connected");
    }
    p.id = ++hc->next_id;
    p.next = hc->pending[p.id % PENDING_SLOTS];
    hc->pending[p.id % PENDING_SLOTS] = &p;
    pthread_mutex_unlock(&hc->lock);

    /* One deadline for writing the request and waiting for its answer. */
    struct timespec ts;
    nsl_deadline_after_ms(&ts, timeout_ms);
    json_t *empty = params ? NULL : json_object();
    nsl_err rc = send_request(hc, fd, p.id, service, operation, params ? params : empty, &ts, err);
    json_decref(empty);

    pthread_mutex_lock(&hc->lock);
    while (rc == NSL_OK && !p.reply && !p.failed)
        if (pthread_cond_timedwait(&p.cond, &hc->lock, &ts) == ETIMEDOUT)
            break;
    struct pending **pp = &hc->pending[p.id % PENDING_SLOTS];
    while (*pp != &p)
        pp = &(*pp)->next;
    *pp = p.next;
    pthread_mutex_unlock(&hc->lock);
    pthread_cond_destroy(&p.cond);

    if (rc != NSL_OK)
        return rc;
    if (p.reply) {
        rc = reply_to_result(p.reply, result, err);
        json_decref(p.reply);
        return rc;
    }
    if (p.failed)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "host channel closed before the reply");
    return nsl_fail(err, NSL_ERR_TIMEOUT, "host channel gave no reply within %d ms", timeout_ms);
}
