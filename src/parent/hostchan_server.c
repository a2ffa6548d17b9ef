/* Host-channel server (see hostchan_server.h): the listener and its accept thread, which owns the
 * list of connections (hostchan_conn.h); finished ones are freed there, so threads never outlive
 * the server and LSan sees nothing left. */
#define NSL_LOG_COMPONENT NSL_LOGC_HOSTCHAN
#include "parent/hostchan_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/url.h"
#include "parent/hostchan_conn.h"

#define MAX_CLIENTS 64
#define BACKLOG     16

struct client {
    struct nsl_hostchan_conn *conn;
    struct client *next;
};

struct nsl_hostchan {
    struct nsl_url url;
    size_t max_frame;
    struct nsl_host_context *ctx;
    int listen_fd;
    int wake[2]; /* written once to stop the accept thread */
    pthread_t acceptor;
    pthread_mutex_t lock;
    struct client *clients;
    size_t client_count;
    unsigned next_number;
};

/* Frees clients whose connection has ended (all of them, closing them first, when all is true). */
static void reap(struct nsl_hostchan *hc, bool all)
{
    pthread_mutex_lock(&hc->lock);
    struct client **p = &hc->clients;
    while (*p) {
        struct client *c = *p;
        if (!all && !nsl_hostchan_conn_finished(c->conn)) {
            p = &c->next;
            continue;
        }
        *p = c->next;
        hc->client_count--;
        pthread_mutex_unlock(&hc->lock);
        nsl_hostchan_conn_close(c->conn);
        nsl_hostchan_conn_free(c->conn);
        free(c);
        pthread_mutex_lock(&hc->lock);
        p = &hc->clients;
    }
    pthread_mutex_unlock(&hc->lock);
}

static void accept_one(struct nsl_hostchan *hc)
{
    int fd = accept4(hc->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct client *c = NULL;
    pthread_mutex_lock(&hc->lock);
    if (hc->client_count < MAX_CLIENTS)
        c = calloc(1, sizeof *c);
    if (c) {
        c->conn = nsl_hostchan_conn_start(fd, ++hc->next_number, hc->max_frame, hc->ctx);
        fd = -1; /* the connection owns it now, or has closed it */
        if (c->conn) {
            c->next = hc->clients;
            hc->clients = c;
            hc->client_count++;
        } else {
            free(c);
            c = NULL;
        }
    }
    pthread_mutex_unlock(&hc->lock);
    if (!c) {
        nsl_log(NSL_LOG_WARN, "hostchan_refused", "reason", "too many connections", NULL);
        if (fd >= 0)
            close(fd);
    }
}

static void *acceptor_main(void *arg)
{
    struct nsl_hostchan *hc = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = hc->listen_fd, .events = POLLIN},
                              {.fd = hc->wake[0], .events = POLLIN}};
        int n = poll(p, 2, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (n > 0 && (p[0].revents & POLLIN))
            accept_one(hc);
        reap(hc, false);
    }
    return NULL;
}

struct nsl_hostchan *nsl_hostchan_start(const char *url, size_t max_frame,
                                        struct nsl_host_context *ctx)
{
    struct nsl_hostchan *hc = calloc(1, sizeof *hc);
    char why[128];
    if (!hc)
        return NULL;
    hc->listen_fd = hc->wake[0] = hc->wake[1] = -1;
    hc->max_frame = max_frame;
    hc->ctx = ctx;
    pthread_mutex_init(&hc->lock, NULL);
    if (nsl_url_parse(url, &hc->url, why, sizeof why) != 0) {
        nsl_logf(NSL_LOG_ERROR, "hostchan_listen_failed", "%s", why);
        goto fail;
    }
    hc->listen_fd = nsl_net_listen(&hc->url, BACKLOG);
    if (hc->listen_fd < 0) {
        nsl_logf(NSL_LOG_ERROR, "hostchan_listen_failed", "%s: %s", url, strerror(errno));
        goto fail;
    }
    if (pipe2(hc->wake, O_CLOEXEC) != 0 ||
        pthread_create(&hc->acceptor, NULL, acceptor_main, hc) != 0)
        goto fail;
    nsl_log(NSL_LOG_INFO, "hostchan_listening", "url", url, NULL);
    return hc;
fail:
    if (hc->listen_fd >= 0)
        close(hc->listen_fd);
    if (hc->wake[0] >= 0) {
        close(hc->wake[0]);
        close(hc->wake[1]);
    }
    pthread_mutex_destroy(&hc->lock);
    free(hc);
    return NULL;
}

void nsl_hostchan_stop(struct nsl_hostchan *hc)
{
    if (!hc)
        return;
    char one = 1;
    if (write(hc->wake[1], &one, 1) != 1)
        nsl_log(NSL_LOG_WARN, "hostchan_stop_signal_failed", NULL);
    pthread_join(hc->acceptor, NULL);
    reap(hc, true);
    close(hc->listen_fd);
    if (hc->url.kind == NSL_URL_UNIX)
        unlink(hc->url.path);
    close(hc->wake[0]);
    close(hc->wake[1]);
    pthread_mutex_destroy(&hc->lock);
    free(hc);
}
