/* epoll loops and worker pool (see server.h). The first loop accepts and hands each connection to
 * the loop with the fewest open ones; from then on its state is touched only by that loop's
 * thread. Workers see a job (request in, framed response out) and hand it back through the owning
 * loop's queue and wake-up eventfd. A connection closed while it has jobs in flight lingers, fd
 * closed, until the last job comes back. */
#define NSL_LOG_COMPONENT NSL_LOGC_SERVER
#include "enclave/server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/log.h"
#include "enclave/router.h"

#define READ_CHUNK (64 * 1024)
#define MAX_EVENTS 256

struct loop;

struct conn {
    struct loop *loop;
    int fd;
    struct nsl_buf in, out;
    size_t out_off;
    uint32_t inflight;
    uint32_t events;
    bool closing; /* no more reads; close once out is flushed */
    bool dead;    /* fd closed; freed when inflight reaches 0 */
    uint64_t last_active_ms;
    struct conn *prev, *next;  /* idle list, least recently active first */
    struct conn *grave_next;   /* dead connections awaiting free at the end of a loop turn */
    struct conn *arrival_next; /* handed to a loop, not yet adopted by it */
};

struct job {
    struct conn *conn;
    struct nsl_request req;
    struct nsl_buf response;
    struct job *next;
};

struct job_queue {
    struct job *head, *tail;
};

/* One epoll loop: its connections, their idle order, the jobs workers finished for them and the
 * connections handed to it; wake_fd tells it of the last two. */
struct loop {
    struct nsl_server *srv;
    int epfd, wake_fd;
    struct conn *idle_head, *idle_tail;
    struct conn *graveyard;
    struct job_queue done; /* under srv->lock */
    struct conn *arrivals; /* under srv->lock */
    uint32_t open;         /* its connections, atomic: the accepting loop counts them */
    pthread_t thread;
    bool started;
};

struct nsl_server {
    struct nsl_server_config cfg;
    struct nsl_enclave_ctx *ctx;
    int listen_fd, stop_fd, spare_fd;
    pthread_mutex_t lock;
    pthread_cond_t work_ready;
    struct job_queue todo;
    bool stopping;
    pthread_t *threads;
    uint32_t nthreads;
    struct loop *loops;
    uint32_t nloops;
};

/* Markers for the non-connection fds in epoll's data.ptr. */
static char listen_tag, stop_tag, wake_tag;

static void queue_push(struct job_queue *q, struct job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static struct job *queue_take_all(struct job_queue *q)
{
    struct job *all = q->head;
    q->head = q->tail = NULL;
    return all;
}

static void job_free(struct job *j)
{
    nsl_request_free(&j->req);
    nsl_buf_free(&j->response);
    free(j);
}

/* ---- idle list ---- */

static void idle_unlink(struct loop *l, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (l->idle_head == c)
        l->idle_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else if (l->idle_tail == c)
        l->idle_tail = c->prev;
    c->prev = c->next = NULL;
}

static void touch(struct conn *c)
{
    struct loop *l = c->loop;
    c->last_active_ms = nsl_monotonic_ms();
    idle_unlink(l, c);
    c->prev = l->idle_tail;
    if (l->idle_tail)
        l->idle_tail->next = c;
    else
        l->idle_head = c;
    l->idle_tail = c;
}

/* ---- connection lifecycle ---- */

/* Dead connections are freed only between loop turns, so no caller in the middle of handling
 * one is left holding a dangling pointer. */
static void conn_bury(struct conn *c)
{
    c->grave_next = c->loop->graveyard;
    c->loop->graveyard = c;
}

static void free_graveyard(struct loop *l)
{
    while (l->graveyard) {
        struct conn *c = l->graveyard;
        l->graveyard = c->grave_next;
        nsl_buf_free(&c->in);
        nsl_buf_free(&c->out);
        free(c);
    }
}

static void conn_close(struct conn *c)
{
    if (c->dead)
        return;
    struct loop *l = c->loop;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->dead = true;
    __atomic_sub_fetch(&l->open, 1, __ATOMIC_RELAXED);
    idle_unlink(l, c);
    if (c->inflight == 0)
        conn_bury(c);
}

static void conn_set_events(struct conn *c, uint32_t events)
{
    if (c->dead || c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

static bool conn_saturated(const struct nsl_server *srv, const struct conn *c)
{
    return c->inflight >= srv->cfg.max_inflight ||
           c->out.len - c->out_off >= srv->cfg.write_buffer_max;
}

/* Writes what the socket takes; closes on error or once a closing connection is flushed. */
static void conn_flush(struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
        touch(c);
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
        if (c->closing) {
            conn_close(c);
            return;
        }
    } else if (c->out_off > c->out.cap / 2) {
        nsl_buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
}

static void conn_update_events(struct conn *c)
{
    uint32_t events = 0;
    if (!c->closing && !conn_saturated(c->loop->srv, c))
        events |= EPOLLIN;
    if (c->out_off < c->out.len)
        events |= EPOLLOUT;
    conn_set_events(c, events);
}

/* ---- requests ---- */

/* Answers a frame on the I/O thread when its route allows (inline, or cached and the probe
 * met no blocking point); otherwise hands it to a worker. The job is allocated only then. */
static void dispatch_frame(struct nsl_server *srv, struct conn *c, const char *payload, size_t n)
{
    struct nsl_error err = {0};
    struct nsl_request req;
    if (nsl_router_prepare(payload, n, &req, &err) != NSL_OK) {
        nsl_router_append_error(srv->ctx, req.id, &err, &c->out);
        nsl_request_free(&req);
        return;
    }
    if (nsl_router_is_inline(&req)) {
        nsl_router_run(srv->ctx, &req, &c->out);
        nsl_request_free(&req);
        return;
    }
    if (nsl_router_try_inline(srv->ctx, &req, &c->out)) {
        nsl_request_free(&req);
        return;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        nsl_fail(&err, NSL_ERR_INTERNAL, "out of memory");
        nsl_router_append_error(srv->ctx, req.id, &err, &c->out);
        nsl_request_free(&req);
        return;
    }
    j->req = req; /* the job owns the parsed request from here on */
    j->conn = c;
    c->inflight++;
    pthread_mutex_lock(&srv->lock);
    queue_push(&srv->todo, j);
    pthread_cond_signal(&srv->work_ready);
    pthread_mutex_unlock(&srv->lock);
}

/* Handles every whole frame in the input buffer unless the connection is saturated. */
static void conn_process(struct nsl_server *srv, struct conn *c)
{
    size_t off = 0;
    while (!c->closing && !conn_saturated(srv, c)) {
        size_t n;
        enum nsl_frame_status st =
            nsl_frame_peek(c->in.data + off, c->in.len - off, srv->cfg.max_frame, &n);
        if (st == NSL_FRAME_NEED_MORE)
            break;
        if (st == NSL_FRAME_INVALID) {
            struct nsl_error err;
            nsl_fail(&err, NSL_ERR_BAD_FRAME, "frame length must be between 1 and %zu bytes",
                     srv->cfg.max_frame);
            nsl_router_append_error(srv->ctx, NULL, &err, &c->out);
            c->closing = true;
            break;
        }
        dispatch_frame(srv, c, (const char *)c->in.data + off + NSL_FRAME_HEADER_LEN, n);
        off += NSL_FRAME_HEADER_LEN + n;
    }
    nsl_buf_consume(&c->in, off);
}

static void conn_readable(struct conn *c)
{
    if (nsl_buf_reserve(&c->in, READ_CHUNK) != 0) {
        conn_close(c);
        return;
    }
    ssize_t n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* Peer closed (or failed): answers still owed are dropped with the connection. */
        conn_close(c);
        return;
    }
    c->in.len += (size_t)n;
    touch(c);
}

/* Alternates handling buffered frames and writing answers until neither makes progress, so
 * frames held back by a full write buffer are handled as soon as it drains. */
static void conn_pump(struct conn *c)
{
    for (;;) {
        size_t before = c->in.len;
        conn_process(c->loop->srv, c);
        conn_flush(c);
        if (c->dead)
            return;
        if (c->in.len == before || c->in.len == 0)
            break;
    }
    conn_update_events(c);
}

/* ---- worker pool ---- */

static void *worker_main(void *arg)
{
    struct nsl_server *srv = arg;
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        while (!srv->todo.head && !srv->stopping)
            pthread_cond_wait(&srv->work_ready, &srv->lock);
        if (srv->stopping)
            break;
        struct job *j = srv->todo.head;
        srv->todo.head = j->next;
        if (!srv->todo.head)
            srv->todo.tail = NULL;
        pthread_mutex_unlock(&srv->lock);

        nsl_router_run(srv->ctx, &j->req, &j->response);
        nsl_request_free(&j->req);

        /* The owning loop takes its whole done queue once woken, so only a job that finds the
         * queue empty needs to wake it; the wake-up is written outside the lock, which every
         * thread and the loops contend for. */
        struct loop *owner = j->conn->loop;
        pthread_mutex_lock(&srv->lock);
        bool wake = owner->done.head == NULL;
        queue_push(&owner->done, j);
        pthread_mutex_unlock(&srv->lock);
        uint64_t one = 1;
        if (wake && write(owner->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
            nsl_logf(NSL_LOG_ERROR, "worker_wakeup_failed", "errno %d", errno);
        pthread_mutex_lock(&srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* Starts watching a connection on its loop; on failure it is closed and forgotten. */
static void adopt(struct conn *c)
{
    struct loop *l = c->loop;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        __atomic_sub_fetch(&l->open, 1, __ATOMIC_RELAXED);
        close(c->fd);
        free(c);
        return;
    }
    c->events = EPOLLIN;
    touch(c);
}

/* Connections handed over and jobs finished since the last wake-up. */
static void on_wake(struct loop *l)
{
    uint64_t count;
    if (read(l->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&l->srv->lock);
    struct job *j = queue_take_all(&l->done);
    struct conn *arrived = l->arrivals;
    l->arrivals = NULL;
    pthread_mutex_unlock(&l->srv->lock);
    while (arrived) {
        struct conn *next = arrived->arrival_next;
        adopt(arrived);
        arrived = next;
    }
    while (j) {
        struct job *next = j->next;
        struct conn *c = j->conn;
        c->inflight--;
        if (c->dead) {
            if (c->inflight == 0)
                conn_bury(c);
        } else {
            if (nsl_buf_append(&c->out, j->response.data, j->response.len) != 0)
                c->closing = true;
            conn_pump(c); /* frames held back by the in-flight cap */
        }
        job_free(j);
        j = next;
    }
}

/* ---- accept, timers, loop ---- */

/* Out of descriptors: free the spare, shed one connection, keep the spare. */
static void shed_one(struct nsl_server *srv)
{
    close(srv->spare_fd);
    int fd = accept(srv->listen_fd, NULL, NULL);
    if (fd >= 0)
        close(fd);
    srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    nsl_log(NSL_LOG_WARN, "connection_refused", "reason", "out of file descriptors", NULL);
}

/* The loop with the fewest open connections, or NULL at max_connections (counted over every
 * loop). Only the accepting loop adds connections, so the count cannot rise behind its back. */
static struct loop *pick_loop(struct nsl_server *srv)
{
    struct loop *best = &srv->loops[0];
    uint32_t best_open = UINT32_MAX, total = 0;
    for (uint32_t i = 0; i < srv->nloops; i++) {
        uint32_t open = __atomic_load_n(&srv->loops[i].open, __ATOMIC_RELAXED);
        total += open;
        if (open < best_open) {
            best = &srv->loops[i];
            best_open = open;
        }
    }
    return total < srv->cfg.max_connections ? best : NULL;
}

/* Gives c to its loop: at once when that is the calling one, else through its arrivals. */
static void hand_over(struct loop *self, struct conn *c)
{
    struct loop *to = c->loop;
    if (to == self) {
        adopt(c);
        return;
    }
    pthread_mutex_lock(&self->srv->lock);
    bool wake = to->arrivals == NULL && to->done.head == NULL;
    c->arrival_next = to->arrivals;
    to->arrivals = c;
    pthread_mutex_unlock(&self->srv->lock);
    uint64_t one = 1;
    if (wake && write(to->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        nsl_logf(NSL_LOG_ERROR, "loop_wakeup_failed", "errno %d", errno);
}

static void accept_all(struct loop *l)
{
    struct nsl_server *srv = l->srv;
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                shed_one(srv);
                continue;
            }
            return; /* EAGAIN, or a transient error the next wakeup retries */
        }
        struct loop *to = pick_loop(srv);
        struct conn *c = to ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            nsl_log(NSL_LOG_WARN, "connection_refused", "reason",
                    to ? "out of memory" : "connection limit", NULL);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->loop = to;
        __atomic_add_fetch(&to->open, 1, __ATOMIC_RELAXED);
        hand_over(l, c);
    }
}

/* Closes connections idle past the timeout; returns ms until the next one could expire. */
static int expire_idle(struct loop *l)
{
    uint64_t now = nsl_monotonic_ms();
    while (l->idle_head) {
        struct conn *c = l->idle_head;
        uint64_t deadline = c->last_active_ms + l->srv->cfg.idle_timeout_ms;
        if (deadline > now)
            return (int)(deadline - now) + 1;
        if (c->inflight > 0) {
            touch(c); /* waiting on us is not idleness */
            continue;
        }
        conn_close(c);
    }
    return -1;
}

static void conn_event(struct conn *c, uint32_t events)
{
    if (c->dead)
        return;
    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
        conn_close(c);
        return;
    }
    if (events & EPOLLIN)
        conn_readable(c);
    if (!c->dead)
        conn_pump(c);
}

/* One loop's turns until the stop eventfd (never read, so every loop sees it) fires. */
static int loop_run(struct loop *l)
{
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int timeout = expire_idle(l);
        int n = epoll_wait(l->epfd, events, MAX_EVENTS, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &stop_tag)
                return 0;
            if (tag == &listen_tag)
                accept_all(l);
            else if (tag == &wake_tag)
                on_wake(l);
            else
                conn_event(tag, events[i].events);
        }
        free_graveyard(l);
    }
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    char name[16]; /* "nsl-io-N" in ps and /proc: one per extra loop */
    snprintf(name, sizeof name, "nsl-io-%u", (unsigned)(l - l->srv->loops));
    pthread_setname_np(pthread_self(), name);
    if (loop_run(l) != 0) {
        nsl_logf(NSL_LOG_ERROR, "io_loop_failed", "errno %d", errno);
        nsl_server_stop(l->srv); /* the other loops end too */
    }
    return NULL;
}

int nsl_server_run(struct nsl_server *srv)
{
    bool all_started = true;
    for (uint32_t i = 1; i < srv->nloops && all_started; i++)
        all_started = srv->loops[i].started =
            pthread_create(&srv->loops[i].thread, NULL, loop_main, &srv->loops[i]) == 0;
    if (!all_started)
        nsl_server_stop(srv); /* loop 0 and those started end at once */
    int rc = loop_run(&srv->loops[0]);
    if (rc != 0)
        nsl_server_stop(srv);
    for (uint32_t i = 1; i < srv->nloops; i++) {
        if (srv->loops[i].started)
            pthread_join(srv->loops[i].thread, NULL);
        srv->loops[i].started = false;
    }
    return all_started ? rc : -1;
}

void nsl_server_stop(struct nsl_server *srv)
{
    uint64_t one = 1;
    ssize_t rc = write(srv->stop_fd, &one, sizeof one);
    (void)rc;
}

static int watch(struct loop *l, int fd, uint32_t events, void *tag)
{
    struct epoll_event ev = {.events = events, .data.ptr = tag};
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Only the first loop accepts (hand_over spreads the connections); every loop watches the stop
 * eventfd and its own wake-up. */
static int loop_init(struct nsl_server *srv, struct loop *l)
{
    l->srv = srv;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wake_fd < 0)
        return -1;
    if (l == &srv->loops[0] && watch(l, srv->listen_fd, EPOLLIN, &listen_tag) != 0)
        return -1;
    return watch(l, srv->stop_fd, EPOLLIN, &stop_tag) || watch(l, l->wake_fd, EPOLLIN, &wake_tag)
               ? -1
               : 0;
}

static void close_if_open(int fd)
{
    if (fd >= 0)
        close(fd);
}

struct nsl_server *nsl_server_create(const struct nsl_server_config *cfg, int listen_fd,
                                     struct nsl_enclave_ctx *ctx)
{
    struct nsl_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        close(listen_fd);
        return NULL;
    }
    srv->cfg = *cfg;
    srv->ctx = ctx;
    srv->listen_fd = listen_fd;
    srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->work_ready, NULL);
    srv->nloops = cfg->io_threads > 0 ? cfg->io_threads : 1;
    srv->loops = calloc(srv->nloops, sizeof *srv->loops);
    for (uint32_t i = 0; srv->loops && i < srv->nloops; i++)
        srv->loops[i].epfd = srv->loops[i].wake_fd = -1;
    srv->threads = calloc(cfg->workers, sizeof *srv->threads);
    bool ok = srv->stop_fd >= 0 && srv->loops && srv->threads;
    for (uint32_t i = 0; ok && i < srv->nloops; i++)
        ok = loop_init(srv, &srv->loops[i]) == 0;
    while (ok && srv->nthreads < cfg->workers) { /* nthreads counts only threads to join */
        ok = pthread_create(&srv->threads[srv->nthreads], NULL, worker_main, srv) == 0;
        if (ok)
            srv->nthreads++;
    }
    if (!ok) {
        nsl_server_destroy(srv);
        return NULL;
    }
    return srv;
}

static void drop_jobs(struct job *j)
{
    while (j) {
        struct job *next = j->next;
        struct conn *c = j->conn;
        if (--c->inflight == 0 && c->dead)
            conn_bury(c);
        job_free(j);
        j = next;
    }
}

void nsl_server_destroy(struct nsl_server *srv)
{
    if (!srv)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->work_ready);
    pthread_mutex_unlock(&srv->lock);
    for (uint32_t i = 0; i < srv->nthreads; i++)
        pthread_join(srv->threads[i], NULL);
    /* Workers and loops are gone: jobs still queued or done are ours, then every connection. */
    drop_jobs(queue_take_all(&srv->todo));
    for (uint32_t i = 0; srv->loops && i < srv->nloops; i++) {
        struct loop *l = &srv->loops[i];
        drop_jobs(queue_take_all(&l->done));
        while (l->arrivals) {
            struct conn *c = l->arrivals;
            l->arrivals = c->arrival_next;
            close(c->fd);
            free(c);
        }
        while (l->idle_head)
            conn_close(l->idle_head);
        free_graveyard(l);
        close_if_open(l->epfd);
        close_if_open(l->wake_fd);
    }
    free(srv->loops);
    free(srv->threads);
    close_if_open(srv->listen_fd);
    close_if_open(srv->stop_fd);
    close_if_open(srv->spare_fd);
    pthread_mutex_destroy(&srv->lock);
    pthread_cond_destroy(&srv->work_ready);
    free(srv);
}
