/* URL parsing and socket set-up for the three transports (see url.h). */
#include "common/url.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(char *why, size_t len, const char *msg)
{
    if (why && len)
        snprintf(why, len, "%s", msg);
    return -1;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    if (*s < '0' || *s > '9' || strlen(s) > 10) /* strtoul would skip spaces and signs */
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_vsock(const char *rest, struct nsl_url *url, char *why, size_t why_len)
{
    const char *colon = strrchr(rest, ':');
    if (!colon)
        return fail(why, why_len, "vsock URL needs CID:PORT");
    char cid[16];
    size_t n = (size_t)(colon - rest);
    if (n == 0 || n >= sizeof cid)
        return fail(why, why_len, "vsock CID is missing or too long");
    memcpy(cid, rest, n);
    cid[n] = 0;
    if (strcmp(cid, "ANY") == 0 || strcmp(cid, "any") == 0)
        url->cid = NSL_URL_ANY_CID;
    else if (parse_u32(cid, UINT32_MAX - 1, &url->cid) != 0)
        return fail(why, why_len, "vsock CID must be a number or ANY");
    if (parse_u32(colon + 1, UINT32_MAX, &url->port) != 0)
        return fail(why, why_len, "vsock port must be a number");
    url->kind = NSL_URL_VSOCK;
    return 0;
}

static int parse_tcp(const char *rest, struct nsl_url *url, char *why, size_t why_len)
{
    const char *host = rest, *port;
    size_t hlen;
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':')
            return fail(why, why_len, "tcp URL with IPv6 host needs [ADDR]:PORT");
        host = rest + 1;
        hlen = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strrchr(rest, ':');
        if (!colon || strchr(rest, ':') != colon)
            return fail(why, why_len, "tcp URL needs HOST:PORT");
        hlen = (size_t)(colon - rest);
        port = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof url->host)
        return fail(why, why_len, "tcp host is missing or too long");
    memcpy(url->host, host, hlen);
    url->host[hlen] = 0;
    if (parse_u32(port, 65535, &url->port) != 0)
        return fail(why, why_len, "tcp port must be a number in [0, 65535]");
    url->kind = NSL_URL_TCP;
    return 0;
}

int nsl_url_parse(const char *text, struct nsl_url *url, char *why, size_t why_len)
{
    memset(url, 0, sizeof *url);
    if (!text)
        return fail(why, why_len, "URL is missing");
    if (strncmp(text, "vsock://", 8) == 0)
        return parse_vsock(text + 8, url, why, why_len);
    if (strncmp(text, "tcp://", 6) == 0)
        return parse_tcp(text + 6, url, why, why_len);
    if (strncmp(text, "unix://", 7) == 0) {
        const char *path = text + 7;
        if (path[0] != '/')
            return fail(why, why_len, "unix URL needs an absolute path (unix:///path)");
        if (strlen(path) >= sizeof url->path)
            return fail(why, why_len, "unix socket path is longer than 107 bytes");
        strcpy(url->path, path);
        url->kind = NSL_URL_UNIX;
        return 0;
    }
    return fail(why, why_len, "URL scheme must be vsock://, unix:// or tcp://");
}

void nsl_url_format(const struct nsl_url *url, char *out, size_t len)
{
    switch (url->kind) {
    case NSL_URL_VSOCK:
        if (url->cid == NSL_URL_ANY_CID)
            snprintf(out, len, "vsock://ANY:%u", url->port);
        else
            snprintf(out, len, "vsock://%u:%u", url->cid, url->port);
        break;
    case NSL_URL_UNIX:
        snprintf(out, len, "unix://%s", url->path);
        break;
    case NSL_URL_TCP:
        snprintf(out, len, strchr(url->host, ':') ? "tcp://[%s]:%u" : "tcp://%s:%u", url->host,
                 url->port);
        break;
    }
}

/* Calls fn(family, addr, addrlen) for each address of url until one returns a fd >= 0. */
typedef int (*addr_fn)(int family, const struct sockaddr *addr, socklen_t len, void *ctx);

static int with_addresses(const struct nsl_url *url, bool passive, addr_fn fn, void *ctx)
{
    switch (url->kind) {
    case NSL_URL_UNIX: {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        memcpy(sun.sun_path, url->path, strlen(url->path) + 1);
        return fn(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, ctx);
    }
    case NSL_URL_VSOCK: {
        struct sockaddr_vm svm = {.svm_family = AF_VSOCK,
                                  .svm_port = url->port,
                                  .svm_cid =
                                      url->cid == NSL_URL_ANY_CID ? VMADDR_CID_ANY : url->cid};
        return fn(AF_VSOCK, (struct sockaddr *)&svm, sizeof svm, ctx);
    }
    case NSL_URL_TCP: {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
        struct addrinfo *res = NULL;
        char port[8];
        snprintf(port, sizeof port, "%u", url->port);
        int rc = getaddrinfo(url->host, port, &hints, &res);
        if (rc != 0) {
            errno = rc == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
            return -1;
        }
        int fd = -1, saved = EADDRNOTAVAIL;
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = fn(ai->ai_family, ai->ai_addr, ai->ai_addrlen, ctx);
            if (fd < 0)
                saved = errno;
        }
        freeaddrinfo(res);
        if (fd < 0)
            errno = saved;
        return fd;
    }
    }
    errno = EINVAL;
    return -1;
}

static void replace_stale_unix_socket(const struct sockaddr *addr, socklen_t len)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)addr;
    struct stat st;
    /* connect() to a path that is not a socket also fails with ECONNREFUSED: never unlink one. */
    if (lstat(sun->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return;
    if (connect(probe, addr, len) != 0 && errno == ECONNREFUSED)
        unlink(sun->sun_path);
    close(probe);
}

static int listen_one(int family, const struct sockaddr *addr, socklen_t len, void *ctx)
{
    int backlog = *(int *)ctx;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (family == AF_INET || family == AF_INET6)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_UNIX)
        replace_stale_unix_socket(addr, len);
    if (bind(fd, addr, len) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int nsl_net_listen(const struct nsl_url *url, int backlog)
{
    return with_addresses(url, true, listen_one, &backlog);
}

static int connect_one(int family, const struct sockaddr *addr, socklen_t len, void *ctx)
{
    int timeout_ms = *(int *)ctx;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, addr, len);
    if (rc != 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        rc = poll(&p, 1, timeout_ms);
        if (rc == 0) {
            errno = ETIMEDOUT;
            rc = -1;
        } else if (rc > 0) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            errno = soerr;
            rc = soerr ? -1 : 0;
        }
    }
    if (rc != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (family == AF_INET || family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int nsl_net_connect(const struct nsl_url *url, int timeout_ms)
{
    return with_addresses(url, false, connect_one, &timeout_ms);
}
