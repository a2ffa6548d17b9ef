/* A host-channel connection: reader thread, outbox and sender thread (see hostchan_conn.h). */
#define NSL_LOG_COMPONENT NSL_LOGC_HOSTCHAN
#include "parent/hostchan_conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/log.h"
#include "common/frame_stream.h"

struct answer {
    struct answer *next;
    char *text;
    size_t len;
};

struct nsl_hostchan_conn {
    struct nsl_host_sink sink; /* first: the sink callbacks cast back to the connection */
    struct nsl_host_context *ctx;
    int fd;
    unsigned number;
    size_t max_frame;
    pthread_t reader, sender;
    atomic_bool finished;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;
    struct answer *head, *tail; /* the outbox */
    size_t held;                /* deferred calls not answered yet */
    bool reading_done;          /* the reader stopped: the sender ends once all is answered */
    bool broken;                /* a send failed: answers are dropped */
};

static void conn_drop(struct nsl_hostchan_conn *c)
{
    shutdown(c->fd, SHUT_RDWR); /* wakes the reader (recv) and the sender (send) */
}

/* ---- the sink ---- */

static void sink_send(struct nsl_host_sink *sink, char *text, size_t len)
{
    struct nsl_hostchan_conn *c = (struct nsl_hostchan_conn *)sink;
    struct answer *a = text ? malloc(sizeof *a) : NULL;
    if (!a) {
        free(text);
        nsl_log(NSL_LOG_ERROR, "hostchan_answer_lost", "reason", "out of memory", NULL);
        conn_drop(c); /* the enclave's call fails with UNAVAILABLE rather than hang */
        return;
    }
    *a = (struct answer){.text = text, .len = len};
    pthread_mutex_lock(&c->lock);
    if (c->tail)
        c->tail->next = a;
    else
        c->head = a;
    c->tail = a;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void sink_hold(struct nsl_host_sink *sink)
{
    struct nsl_hostchan_conn *c = (struct nsl_hostchan_conn *)sink;
    pthread_mutex_lock(&c->lock);
    c->held++;
    pthread_mutex_unlock(&c->lock);
}

static void sink_release(struct nsl_host_sink *sink)
{
    struct nsl_hostchan_conn *c = (struct nsl_hostchan_conn *)sink;
    pthread_mutex_lock(&c->lock);
    c->held--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* ---- the sender ---- */

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

/* Takes every queued answer and sends them in one write: fewer system calls and packets, which
 * vsock prefers (NITRO.md). */
static void *sender_main(void *arg)
{
    struct nsl_hostchan_conn *c = arg;
    struct nsl_buf out = {0};
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->head && !(c->reading_done && c->held == 0))
            pthread_cond_wait(&c->cond, &c->lock);
        struct answer *a = c->head;
        if (!a)
            break; /* the reader is done and every held call has been answered */
        c->head = c->tail = NULL;
        bool broken = c->broken;
        pthread_mutex_unlock(&c->lock);
        nsl_buf_reset(&out);
        for (struct answer *next; a; a = next) {
            next = a->next;
            if (!broken && nsl_frame_append(&out, a->text, a->len) != 0)
                broken = true;
            free(a->text);
            free(a);
        }
        if (!broken && send_all(c->fd, out.data, out.len) != 0)
            broken = true;
        if (broken)
            conn_drop(c);
        pthread_mutex_lock(&c->lock);
        c->broken = c->broken || broken;
    }
    pthread_mutex_unlock(&c->lock);
    nsl_buf_free(&out);
    return NULL;
}

/* ---- the reader ---- */

static void queue_bad_frame(struct nsl_hostchan_conn *c)
{
    static const char msg[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"BAD_FRAME\","
                              "\"message\":\"frame length is zero or above the limit\"}}";
    char *text = strdup(msg);
    sink_send(&c->sink, text, sizeof msg - 1);
}

/* Back-pressure: a connection may not have more than NSL_HOSTCHAN_MAX_INFLIGHT calls held. */
static void wait_for_room(struct nsl_hostchan_conn *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->held >= NSL_HOSTCHAN_MAX_INFLIGHT)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

static void read_frames(struct nsl_hostchan_conn *c)
{
    struct nsl_frame_stream stream;
    nsl_frame_stream_init(&stream, c->fd, c->max_frame);
    const char *payload;
    size_t len;
    int rc;
    while ((rc = nsl_frame_stream_next(&stream, &payload, &len)) == 0) {
        wait_for_room(c);
        if (nsl_host_handle(c->ctx, payload, len, &c->sink))
            break; /* BAD_FRAME: answered, then the connection ends */
    }
    if (rc != 0 && errno == EPROTO)
        queue_bad_frame(c);
    nsl_frame_stream_free(&stream);
}

static void *reader_main(void *arg)
{
    struct nsl_hostchan_conn *c = arg;
    char who[16];
    snprintf(who, sizeof who, "%u", c->number);
    nsl_log(NSL_LOG_INFO, "hostchan_connected", "client", who, NULL);
    read_frames(c);
    pthread_mutex_lock(&c->lock);
    c->reading_done = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->sender, NULL); /* it ends once every call in flight is answered */
    conn_drop(c);
    nsl_log(NSL_LOG_INFO, "hostchan_disconnected", "client", who, NULL);
    atomic_store(&c->finished, true);
    return NULL;
}

struct nsl_hostchan_conn *nsl_hostchan_conn_start(int fd, unsigned number, size_t max_frame,
                                                  struct nsl_host_context *ctx)
{
    struct nsl_hostchan_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->sink = (struct nsl_host_sink){.send = sink_send, .hold = sink_hold, .release = sink_release};
    c->ctx = ctx;
    c->fd = fd;
    c->number = number;
    c->max_frame = max_frame;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->sender, NULL, sender_main, c) != 0)
        goto fail;
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        pthread_mutex_lock(&c->lock);
        c->reading_done = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->sender, NULL);
        goto fail;
    }
    return c;
fail:
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    close(fd);
    free(c);
    return NULL;
}

bool nsl_hostchan_conn_finished(struct nsl_hostchan_conn *c)
{
    return atomic_load(&c->finished);
}

void nsl_hostchan_conn_close(struct nsl_hostchan_conn *c)
{
    conn_drop(c);
}

void nsl_hostchan_conn_free(struct nsl_hostchan_conn *c)
{
    if (!c)
        return;
    pthread_join(c->reader, NULL);
    close(c->fd);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
