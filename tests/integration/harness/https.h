/* Test HTTPS servers on 127.0.0.1 and test CAs made with the openssl command, for the egress and
 * price feed tests and benches. A server answers one connection at a time; a handler chooses the
 * status, body and delay of each answer from the request path. */
#ifndef NSL_TEST_HTTPS_H
#define NSL_TEST_HTTPS_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stddef.h>

/* A CA "<name>-ca" and a leaf "<name>" for 127.0.0.1 / localhost signed by it, in dir. */
struct nsl_test_ca {
    char ca_cert[512]; /* <dir>/<name>-ca.pem: what a client trusts */
    char cert[512];    /* <dir>/<name>.pem: the server's certificate */
    char key[512];     /* <dir>/<name>.key */
};

/* Makes the CA and the leaf with the openssl command; 0 on success. */
int nsl_test_ca_make(const char *dir, const char *name, struct nsl_test_ca *ca);

/* One answer. The handler sets status (200 if left 0), body (malloc'd, taken by the server; NULL
 * for an empty body) and delay_ms (the server waits this long, or until it is stopped, before
 * answering). */
struct nsl_https_response {
    int status;
    char *body;
    size_t body_len;
    int delay_ms;
};

/* Called on the server's thread for every request; path is the request target ("/price?x=1"). */
typedef void (*nsl_https_handler)(void *ctx, const char *path, struct nsl_https_response *resp);

/* The body as printf would format it (malloc'd, body_len set). */
void nsl_https_body(struct nsl_https_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct nsl_https_server {
    SSL_CTX *ctx;
    int fd, port;
    int stop[2];
    pthread_t thread;
    nsl_https_handler handler;
    void *handler_ctx;
    int running;
};

/* Starts a server on 127.0.0.1 (a free port) with cert/key (PEM files); returns its port, or -1.
 * handler NULL answers every request 200 with "{}". */
int nsl_https_server_start(struct nsl_https_server *srv, const char *cert, const char *key,
                           nsl_https_handler handler, void *ctx);
/* Stops the server (an answer being delayed is cut short) and frees it; safe on a server that
 * never started (zeroed). */
void nsl_https_server_stop(struct nsl_https_server *srv);

/* A listening TCP socket on 127.0.0.1 with a free port (in *port), or -1. Closed at once, it gives
 * a port nothing listens on. */
int nsl_test_listen_loopback(int *port);

#endif
