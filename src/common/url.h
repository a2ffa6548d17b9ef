/* Transport URLs (ARCHITECTURE §1): vsock://CID:PORT (CID may be ANY), unix:///abs/path,
 * tcp://HOST:PORT (HOST an IPv4 address, [IPv6] or a name). One parser for every binary. */
#ifndef NSL_COMMON_URL_H
#define NSL_COMMON_URL_H

#include <stddef.h>
#include <stdint.h>

enum nsl_url_kind { NSL_URL_VSOCK, NSL_URL_UNIX, NSL_URL_TCP };

#define NSL_URL_ANY_CID UINT32_MAX

struct nsl_url {
    enum nsl_url_kind kind;
    uint32_t cid;   /* vsock */
    uint32_t port;  /* vsock, tcp */
    char host[256]; /* tcp, without brackets */
    char path[108]; /* unix: fits sockaddr_un.sun_path */
};

/* Returns 0, or -1 with a reason in why (size why_len). */
int nsl_url_parse(const char *text, struct nsl_url *url, char *why, size_t why_len);
/* Formats url back into its canonical text. */
void nsl_url_format(const struct nsl_url *url, char *out, size_t len);

/* Binds and listens; the socket is non-blocking and close-on-exec. A unix socket path left over
 * from a dead process is replaced; one that a live process listens on is refused (EADDRINUSE).
 * Returns the fd or -1 with errno set. */
int nsl_net_listen(const struct nsl_url *url, int backlog);
/* Connects (blocking, close-on-exec) with a timeout; returns the fd or -1 with errno set. */
int nsl_net_connect(const struct nsl_url *url, int timeout_ms);

#endif
