/* Egress proxy (see egress.h). The accept thread owns the list of tunnels and reaps finished
 * ones; a tunnel's thread never closes its sockets (the reaper does, after joining), so stop can
 * shut them down from outside without racing a reused descriptor. Every poll also watches the
 * wake pipe, which stays readable once stop has written to it, so each thread notices at once. */
#define NSL_LOG_COMPONENT NSL_LOGC_EGRESS
#include "parent/egress.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/url.h"
#include "parent/egress_request.h"

#define BACKLOG    64
#define RELAY_BUF  16384
#define TARGET_MAX (NSL_EGRESS_HOST_MAX + 9)

struct nsl_egress_proxy;

struct tunnel {
    struct nsl_egress_proxy *proxy;
    int client_fd;
    int upstream_fd; /* -1 until connected; set under the proxy's lock */
    pthread_t thread;
    atomic_bool finished;
    struct tunnel *next;
};

struct nsl_egress_proxy {
    struct nsl_url url;
    struct nsl_egress_allowlist allow;
    int connect_timeout_ms;
    size_t max_tunnels;
    uint64_t max_bytes;
    int idle_timeout_ms;
    struct nsl_metrics *metrics;
    int listen_fd;
    int wake[2];
    pthread_t acceptor;
    pthread_mutex_t lock;
    struct tunnel *tunnels;
    size_t count;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A refusal: status line, a one-line plain-text reason, and the connection closes. */
static void respond(int fd, int status, const char *reason, const char *body)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s\n",
                     status, reason, strlen(body) + 1, body);
    if (n > 0 && (size_t)n < sizeof msg && write_all(fd, msg, (size_t)n) != 0)
        nsl_log(NSL_LOG_DEBUG, "egress_respond_failed", "reason", strerror(errno), NULL);
}

static bool stopping(const struct nsl_egress_proxy *p)
{
    struct pollfd w = {.fd = p->wake[0], .events = POLLIN};
    return poll(&w, 1, 0) > 0;
}

/* Reads until the blank line that ends the head. Returns its length, 0 when the enclave closed,
 * stop was asked or the idle timeout passed, or -1 when the head is too large. *have gets the
 * bytes read, which may run past the head. */
static long read_head(struct nsl_egress_proxy *p, int fd, char *buf, size_t size, size_t *have)
{
    long long deadline = now_ms() + p->idle_timeout_ms;
    *have = 0;
    for (;;) {
        size_t head = nsl_egress_head_length(buf, *have);
        if (head)
            return (long)head;
        if (*have == size)
            return -1;
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = p->wake[0], .events = POLLIN}};
        int n = poll(pf, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || pf[1].revents)
            return 0;
        if (n == 0)
            continue;
        ssize_t r = recv(fd, buf + *have, size - *have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        *have += (size_t)r;
    }
}

/* Tries each address of target until one connects or the deadline passes. */
static enum nsl_egress_outcome connect_upstream(struct nsl_egress_proxy *p,
                                                const struct nsl_egress_target *target, int *out)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)target->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV},
                    *res = NULL;
    long long deadline = now_ms() + p->connect_timeout_ms;
    int gai = getaddrinfo(target->host, port, &hints, &res);
    if (gai != 0) {
        nsl_log(NSL_LOG_WARN, "egress_resolve_failed", "host", target->host, "reason",
                gai_strerror(gai), NULL);
        return NSL_EGRESS_OUTCOME_CONNECT_FAILED;
    }
    enum nsl_egress_outcome outcome = NSL_EGRESS_OUTCOME_CONNECT_FAILED;
    for (struct addrinfo *ai = res; ai && *out < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pf[2] = {{.fd = fd, .events = POLLOUT},
                                   {.fd = p->wake[0], .events = POLLIN}};
            long long left;
            int n = 0;
            while ((left = deadline - now_ms()) > 0 &&
                   ((n = poll(pf, 2, (int)left)) < 0 && errno == EINTR))
                ;
            int so_error = 0;
            socklen_t len = sizeof so_error;
            if (left <= 0 || n == 0)
                outcome = NSL_EGRESS_OUTCOME_TIMEOUT;
            else if (n > 0 && !pf[1].revents &&
                     getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error == 0)
                rc = 0;
        }
        if (rc == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0) {
            *out = fd;
            outcome = NSL_EGRESS_OUTCOME_OK;
        } else {
            close(fd);
        }
        if (outcome == NSL_EGRESS_OUTCOME_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
    return outcome;
}

/* Relays until both sides have closed, an error, the idle timeout, the byte cap or stop. */
static void relay(struct tunnel *t, const char *early, size_t early_len, uint64_t counts[2])
{
    struct nsl_egress_proxy *p = t->proxy;
    int fds[2] = {t->client_fd, t->upstream_fd}; /* [0] reads the enclave, [1] the upstream */
    bool open[2] = {true, true};
    uint64_t total = early_len;
    char buf[RELAY_BUF];
    if (early_len && (total > p->max_bytes || write_all(t->upstream_fd, early, early_len) != 0))
        return;
    counts[0] += early_len;
    nsl_metrics_add_egress_bytes(p->metrics, true, early_len);
    while (open[0] || open[1]) {
        struct pollfd pf[3] = {{.fd = open[0] ? fds[0] : -1, .events = POLLIN},
                               {.fd = open[1] ? fds[1] : -1, .events = POLLIN},
                               {.fd = p->wake[0], .events = POLLIN}};
        int n = poll(pf, 3, p->idle_timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            nsl_log(NSL_LOG_DEBUG, "egress_tunnel_idle", NULL);
            return;
        }
        if (n < 0 || pf[2].revents)
            return;
        for (int d = 0; d < 2; d++) {
            if (!open[d] || !pf[d].revents)
                continue;
            ssize_t r = recv(fds[d], buf, sizeof buf, 0);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r < 0)
                return;
            if (r == 0) { /* half-close: pass the EOF on, keep the other direction */
                shutdown(fds[!d], SHUT_WR);
                open[d] = false;
                continue;
            }
            if (total + (uint64_t)r > p->max_bytes) {
                nsl_log(NSL_LOG_WARN, "egress_tunnel_over_limit", "reason",
                        "--egress-max-bytes reached; tunnel closed", NULL);
                return;
            }
            if (write_all(fds[!d], buf, (size_t)r) != 0)
                return;
            total += (uint64_t)r;
            counts[d] += (uint64_t)r;
            nsl_metrics_add_egress_bytes(p->metrics, d == 0, (size_t)r);
        }
    }
}

/* One CONNECT from request head to the end of the relay. */
static void serve_tunnel(struct tunnel *t)
{
    struct nsl_egress_proxy *p = t->proxy;
    char head[NSL_EGRESS_HEAD_MAX], why[128], target_text[TARGET_MAX], msg[TARGET_MAX + 64];
    struct nsl_egress_target target;
    size_t have = 0;
    long head_len = read_head(p, t->client_fd, head, sizeof head, &have);
    if (head_len <= 0) {
        if (head_len < 0)
            respond(t->client_fd, 400, "Bad Request", "request head too large");
        if (head_len < 0 || !stopping(p))
            nsl_metrics_count_egress_tunnel(p->metrics, NSL_EGRESS_OUTCOME_BAD_REQUEST);
        return;
    }
    if (nsl_egress_parse_connect(head, (size_t)head_len, &target, why, sizeof why) != 0) {
        nsl_log(NSL_LOG_WARN, "egress_bad_request", "reason", why, NULL);
        respond(t->client_fd, 400, "Bad Request", why);
        nsl_metrics_count_egress_tunnel(p->metrics, NSL_EGRESS_OUTCOME_BAD_REQUEST);
        return;
    }
    nsl_egress_target_format(&target, target_text, sizeof target_text);
    if (!nsl_egress_allowlist_match(&p->allow, &target)) {
        nsl_log(NSL_LOG_WARN, "egress_forbidden", "target", target_text, NULL);
        snprintf(msg, sizeof msg, "%s is not in the egress allowlist", target_text);
        respond(t->client_fd, 403, "Forbidden", msg);
        nsl_metrics_count_egress_tunnel(p->metrics, NSL_EGRESS_OUTCOME_FORBIDDEN);
        return;
    }
    int up = -1;
    enum nsl_egress_outcome outcome = connect_upstream(p, &target, &up);
    nsl_metrics_count_egress_tunnel(p->metrics, outcome);
    if (outcome != NSL_EGRESS_OUTCOME_OK) {
        bool late = outcome == NSL_EGRESS_OUTCOME_TIMEOUT;
        nsl_log(NSL_LOG_WARN, "egress_connect_failed", "target", target_text, "reason",
                late ? "timeout" : "refused or unreachable", NULL);
        snprintf(msg, sizeof msg, "%s %s", late ? "connecting to" : "cannot connect to",
                 target_text);
        if (late)
            strncat(msg, " timed out", sizeof msg - strlen(msg) - 1);
        respond(t->client_fd, late ? 504 : 502, late ? "Gateway Timeout" : "Bad Gateway", msg);
        return;
    }
    struct timeval tv = {.tv_sec = p->idle_timeout_ms / 1000,
                         .tv_usec = (p->idle_timeout_ms % 1000) * 1000};
    setsockopt(up, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    pthread_mutex_lock(&p->lock);
    t->upstream_fd = up;
    pthread_mutex_unlock(&p->lock);
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (write_all(t->client_fd, ok, sizeof ok - 1) != 0)
        return;
    nsl_metrics_add_egress_open(p->metrics, 1);
    uint64_t counts[2] = {0, 0};
    long long started = now_ms();
    relay(t, head + head_len, have - (size_t)head_len, counts);
    nsl_metrics_add_egress_open(p->metrics, -1);
    char up_text[24], down_text[24], ms[24];
    snprintf(up_text, sizeof up_text, "%llu", (unsigned long long)counts[0]);
    snprintf(down_text, sizeof down_text, "%llu", (unsigned long long)counts[1]);
    snprintf(ms, sizeof ms, "%lld", now_ms() - started);
    nsl_log(NSL_LOG_INFO, "egress_tunnel_closed", "target", target_text, "bytes_up", up_text,
            "bytes_down", down_text, "ms", ms, NULL);
}

static void *tunnel_main(void *arg)
{
    struct tunnel *t = arg;
    serve_tunnel(t);
    atomic_store(&t->finished, true);
    return NULL;
}

static void free_tunnel(struct tunnel *t)
{
    pthread_join(t->thread, NULL);
    close(t->client_fd);
    if (t->upstream_fd >= 0)
        close(t->upstream_fd);
    free(t);
}

/* Frees finished tunnels (all of them, after shutting their sockets, when all is true). */
static void reap(struct nsl_egress_proxy *p, bool all)
{
    struct tunnel *done = NULL;
    pthread_mutex_lock(&p->lock);
    struct tunnel **link = &p->tunnels;
    while (*link) {
        struct tunnel *t = *link;
        if (!all && !atomic_load(&t->finished)) {
            link = &t->next;
            continue;
        }
        if (all) { /* unblocks a send stuck on a peer that does not read */
            shutdown(t->client_fd, SHUT_RDWR);
            if (t->upstream_fd >= 0)
                shutdown(t->upstream_fd, SHUT_RDWR);
        }
        *link = t->next;
        p->count--;
        t->next = done;
        done = t;
    }
    pthread_mutex_unlock(&p->lock);
    while (done) {
        struct tunnel *t = done;
        done = t->next;
        free_tunnel(t);
    }
}

static void accept_one(struct nsl_egress_proxy *p)
{
    int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct timeval tv = {.tv_sec = p->idle_timeout_ms / 1000,
                         .tv_usec = (p->idle_timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct tunnel *t = NULL;
    pthread_mutex_lock(&p->lock);
    bool busy = p->count >= p->max_tunnels;
    if (!busy && (t = calloc(1, sizeof *t)) != NULL) {
        *t = (struct tunnel){.proxy = p, .client_fd = fd, .upstream_fd = -1, .next = p->tunnels};
        if (pthread_create(&t->thread, NULL, tunnel_main, t) == 0) {
            p->tunnels = t;
            p->count++;
        } else {
            free(t);
            t = NULL;
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (t)
        return;
    nsl_log(NSL_LOG_WARN, "egress_refused", "reason",
            busy ? "too many tunnels (--egress-max-tunnels)" : "out of memory or threads", NULL);
    respond(fd, 503, "Service Unavailable", "too many egress tunnels open; retry later");
    nsl_metrics_count_egress_tunnel(p->metrics, NSL_EGRESS_OUTCOME_BUSY);
    close(fd);
}

static void *acceptor_main(void *arg)
{
    struct nsl_egress_proxy *p = arg;
    for (;;) {
        struct pollfd pf[2] = {{.fd = p->listen_fd, .events = POLLIN},
                               {.fd = p->wake[0], .events = POLLIN}};
        int n = poll(pf, 2, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (pf[1].revents)
            break;
        if (n > 0 && (pf[0].revents & POLLIN))
            accept_one(p);
        reap(p, false);
    }
    return NULL;
}

struct nsl_egress_proxy *nsl_egress_proxy_start(const struct nsl_egress_proxy_config *cfg,
                                                struct nsl_metrics *metrics)
{
    struct nsl_egress_proxy *p = calloc(1, sizeof *p);
    char why[128];
    if (!p)
        return NULL;
    p->listen_fd = p->wake[0] = p->wake[1] = -1;
    p->connect_timeout_ms = cfg->connect_timeout_ms;
    p->max_tunnels = cfg->max_tunnels;
    p->max_bytes = cfg->max_bytes;
    p->idle_timeout_ms = cfg->idle_timeout_ms;
    p->metrics = metrics;
    pthread_mutex_init(&p->lock, NULL);
    if (nsl_egress_allowlist_parse(cfg->allow ? cfg->allow : "", &p->allow, why, sizeof why) != 0) {
        nsl_logf(NSL_LOG_ERROR, "egress_listen_failed", "--egress-allow: %s", why);
        goto fail;
    }
    if (nsl_url_parse(cfg->listen, &p->url, why, sizeof why) != 0) {
        nsl_logf(NSL_LOG_ERROR, "egress_listen_failed", "%s", why);
        goto fail;
    }
    p->listen_fd = nsl_net_listen(&p->url, BACKLOG);
    if (p->listen_fd < 0) {
        nsl_logf(NSL_LOG_ERROR, "egress_listen_failed", "%s: %s", cfg->listen, strerror(errno));
        goto fail;
    }
    if (pipe2(p->wake, O_CLOEXEC) != 0 || pthread_create(&p->acceptor, NULL, acceptor_main, p) != 0)
        goto fail;
    char allowed[16];
    snprintf(allowed, sizeof allowed, "%zu", p->allow.count);
    nsl_log(NSL_LOG_INFO, "egress_listening", "url", cfg->listen, "allowed_targets", allowed, NULL);
    return p;
fail:
    if (p->listen_fd >= 0)
        close(p->listen_fd);
    if (p->wake[0] >= 0) {
        close(p->wake[0]);
        close(p->wake[1]);
    }
    nsl_egress_allowlist_clear(&p->allow);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}

void nsl_egress_proxy_stop(struct nsl_egress_proxy *p)
{
    if (!p)
        return;
    char one = 1;
    if (write(p->wake[1], &one, 1) != 1)
        nsl_log(NSL_LOG_WARN, "egress_stop_signal_failed", NULL);
    pthread_join(p->acceptor, NULL);
    close(p->listen_fd);
    if (p->url.kind == NSL_URL_UNIX)
        unlink(p->url.path);
    reap(p, true);
    close(p->wake[0]);
    close(p->wake[1]);
    nsl_egress_allowlist_clear(&p->allow);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
