/* Test HTTPS servers and CAs (see https.h). */
#include "harness/https.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    return system(cmd);
}

int nsl_test_ca_make(const char *dir, const char *name, struct nsl_test_ca *ca)
{
    snprintf(ca->ca_cert, sizeof ca->ca_cert, "%s/%s-ca.pem", dir, name);
    snprintf(ca->cert, sizeof ca->cert, "%s/%s.pem", dir, name);
    snprintf(ca->key, sizeof ca->key, "%s/%s.key", dir, name);
    return run("cd '%s' && "
               "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
               "-keyout %s-ca.key -out %s-ca.pem -days 2 -subj /CN=%s-test-ca "
               "-addext basicConstraints=critical,CA:TRUE "
               "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
               "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
               "-out %s.csr -subj /CN=localhost 2>/dev/null && "
               "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n"
               "extendedKeyUsage=serverAuth\\n' > %s.ext && "
               "openssl x509 -req -in %s.csr -CA %s-ca.pem -CAkey %s-ca.key -CAcreateserial "
               "-out %s.pem -days 2 -extfile %s.ext 2>/dev/null",
               dir, name, name, name, name, name, name, name, name, name, name, name);
}

int nsl_test_listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

void nsl_https_body(struct nsl_https_response *resp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&resp->body, fmt, ap);
    va_end(ap);
    if (n < 0) {
        resp->body = NULL;
        n = 0;
    }
    resp->body_len = (size_t)n;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static void serve_one(struct nsl_https_server *s, int fd)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SSL *ssl = SSL_new(s->ctx);
    char req[8192], path[2048] = "/";
    size_t have = 0;
    struct nsl_https_response resp = {0};
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
        goto done;
    while (have < sizeof req - 1) {
        int n = SSL_read(ssl, req + have, (int)(sizeof req - 1 - have));
        if (n <= 0)
            goto done;
        have += (size_t)n;
        req[have] = 0;
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    const char *sp = strchr(req, ' ');
    if (sp) {
        size_t len = strcspn(sp + 1, " \r\n");
        if (len > 0 && len < sizeof path) {
            memcpy(path, sp + 1, len);
            path[len] = 0;
        }
    }
    if (s->handler)
        s->handler(s->handler_ctx, path, &resp);
    else
        nsl_https_body(&resp, "{}");
    if (resp.status == 0)
        resp.status = 200;
    if (resp.delay_ms > 0) {
        struct pollfd p = {.fd = s->stop[0], .events = POLLIN};
        poll(&p, 1, resp.delay_ms);
    }
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     resp.status, reason_of(resp.status), resp.body_len);
    if (SSL_write(ssl, head, n) == n && resp.body_len)
        SSL_write(ssl, resp.body, (int)resp.body_len);
    SSL_shutdown(ssl);
done:
    free(resp.body);
    SSL_free(ssl);
    ERR_clear_error();
    close(fd);
}

static void *server_main(void *arg)
{
    struct nsl_https_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
                              {.fd = s->stop[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 || p[1].revents)
            return NULL;
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            serve_one(s, fd);
    }
}

int nsl_https_server_start(struct nsl_https_server *srv, const char *cert, const char *key,
                           nsl_https_handler handler, void *ctx)
{
    memset(srv, 0, sizeof *srv);
    srv->fd = srv->stop[0] = srv->stop[1] = -1;
    srv->handler = handler;
    srv->handler_ctx = ctx;
    srv->ctx = SSL_CTX_new(TLS_server_method());
    if (!srv->ctx || SSL_CTX_use_certificate_file(srv->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(srv->ctx, key, SSL_FILETYPE_PEM) != 1)
        goto fail;
    srv->fd = nsl_test_listen_loopback(&srv->port);
    if (srv->fd < 0 || pipe2(srv->stop, O_CLOEXEC) != 0 ||
        pthread_create(&srv->thread, NULL, server_main, srv) != 0)
        goto fail;
    srv->running = 1;
    return srv->port;
fail:
    nsl_https_server_stop(srv);
    return -1;
}

void nsl_https_server_stop(struct nsl_https_server *srv)
{
    if (!srv->ctx)
        return;
    if (srv->running && write(srv->stop[1], "x", 1) == 1)
        pthread_join(srv->thread, NULL);
    srv->running = 0;
    if (srv->fd >= 0)
        close(srv->fd);
    if (srv->stop[0] >= 0) {
        close(srv->stop[0]);
        close(srv->stop[1]);
    }
    SSL_CTX_free(srv->ctx);
    memset(srv, 0, sizeof *srv);
}
