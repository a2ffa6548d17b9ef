/* HTTPS through the parent's egress proxy (see egress_client.h), on libcurl. curl is pointed at
 * a dummy HTTP proxy "egress.invalid:1" in tunnel mode; its socket-open callback swaps the
 * proxy's address for the egress URL's (unix or vsock), so curl writes the CONNECT over our
 * transport and then runs TLS inside the enclave. Nothing resolves "egress.invalid" (a
 * CURLOPT_RESOLVE entry pins it, and the pinned address is never dialled); NO_PROXY from the
 * environment is overridden so no request can bypass the proxy. */
#include "enclave/egress_client.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/url.h"

#define DUMMY_PROXY    "http://egress.invalid:1"
#define DUMMY_RESOLVE  "egress.invalid:1:127.0.0.1"
#define HEADERS_MAX    (64u << 10)
#define AUTHORITY_SIZE 300

struct nsl_egress {
    struct nsl_url url;
    /* What every transfer trusts, built once (curl would parse the system bundle again for each
     * transfer, about 16 ms of CPU): the bundle curl was built to use, plus --ca-file's CAs. */
    X509_STORE *trust;
};

/* One request's state, shared by curl's callbacks. */
struct transfer {
    const struct nsl_egress *eg;
    CURL *curl;
    struct curl_slist *headers, *resolve;
    char authority[AUTHORITY_SIZE]; /* host:port, for error messages */
    char *body, *head;
    size_t body_len, body_cap, body_max, head_len, head_cap;
    int timeout_ms;
    bool over_limit, proxy_unreachable, done;
    uint64_t started_us;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Adds every certificate of a PEM file to store. */
static nsl_err add_ca_file(X509_STORE *store, const char *path, struct nsl_error *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "cannot open CA file %s", path);
    X509 *cert;
    int added = 0;
    while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert))
            added++;
        X509_free(cert);
    }
    fclose(f);
    ERR_clear_error(); /* the read that ends the loop leaves "no start line" behind */
    if (added == 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "CA file %s holds no PEM certificate", path);
    return NSL_OK;
}

/* The system bundle curl would load itself (its build-time CA file and directory), then the
 * extra CAs. A missing system bundle is not an error here: transfers then trust only the extra
 * CAs, and fail verification otherwise, as curl's own loading would. */
static X509_STORE *build_trust(const char *ca_file, struct nsl_error *err)
{
    X509_STORE *store = X509_STORE_new();
    if (!store) {
        nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (v->cainfo)
        X509_STORE_load_file(store, v->cainfo);
    if (v->capath)
        X509_STORE_load_path(store, v->capath);
    ERR_clear_error();
    if (ca_file && ca_file[0] && add_ca_file(store, ca_file, err) != NSL_OK) {
        X509_STORE_free(store);
        return NULL;
    }
    return store;
}

nsl_err nsl_egress_new(const char *url, const char *ca_file, struct nsl_egress **out,
                       struct nsl_error *err)
{
    char why[128];
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return nsl_fail(err, NSL_ERR_INTERNAL, "libcurl did not initialise");
    struct nsl_egress *eg = calloc(1, sizeof *eg);
    if (!eg)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (nsl_url_parse(url, &eg->url, why, sizeof why) != 0) {
        free(eg);
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "egress URL: %s", why);
    }
    if (!(eg->trust = build_trust(ca_file, err))) {
        free(eg);
        return err ? err->code : NSL_ERR_INVALID_PARAMS;
    }
    *out = eg;
    return NSL_OK;
}

void nsl_egress_free(struct nsl_egress *eg)
{
    if (!eg)
        return;
    X509_STORE_free(eg->trust);
    free(eg);
}

void nsl_egress_response_clear(struct nsl_egress_response *resp)
{
    free(resp->headers);
    free(resp->body);
    *resp = (struct nsl_egress_response){0};
}

/* --- curl callbacks --- */

/* curl asks for a socket to the dummy proxy's address. libcurl 7.88 ignores
 * CURL_SOCKOPT_ALREADY_CONNECTED (it still calls connect() with that address), so instead the
 * address is rewritten to the egress URL's and a socket of that family is returned: curl then
 * connects it itself, with its own timeout. curl's address storage is a sockaddr_storage, so a
 * sockaddr_un fits. */
static curl_socket_t open_socket(void *data, curlsocktype purpose, struct curl_sockaddr *address)
{
    struct transfer *t = data;
    const struct nsl_url *url = &t->eg->url;
    (void)purpose;
    union {
        struct sockaddr_un un;
        struct sockaddr_vm vm;
    } sa;
    memset(&sa, 0, sizeof sa);
    socklen_t len;
    if (url->kind == NSL_URL_UNIX) {
        sa.un.sun_family = AF_UNIX;
        snprintf(sa.un.sun_path, sizeof sa.un.sun_path, "%s", url->path);
        len = (socklen_t)sizeof sa.un;
    } else if (url->kind == NSL_URL_VSOCK) {
        sa.vm.svm_family = AF_VSOCK;
        sa.vm.svm_cid = url->cid;
        sa.vm.svm_port = url->port;
        len = (socklen_t)sizeof sa.vm;
    } else {
        t->proxy_unreachable = true; /* tcp:// egress URLs are not supported */
        return CURL_SOCKET_BAD;
    }
    int fd = socket(sa.un.sun_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        t->proxy_unreachable = true;
        return CURL_SOCKET_BAD;
    }
    address->family = sa.un.sun_family;
    address->socktype = SOCK_STREAM;
    address->protocol = 0;
    address->addrlen = len;
    memcpy(&address->addr, &sa, len);
    return fd;
}

/* Gives the transfer's TLS context the egress client's trust store (shared, reference counted;
 * X509_STORE lookups are thread-safe). */
static CURLcode use_trust(CURL *curl, void *ssl_ctx, void *data)
{
    const struct nsl_egress *eg = data;
    (void)curl;
    SSL_CTX_set1_cert_store(ssl_ctx, eg->trust);
    return CURLE_OK;
}

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap : 4096;
        while (want < *len + n + 1)
            want *= 2;
        char *p = realloc(*buf, want);
        if (!p)
            return -1;
        *buf = p;
        *cap = want;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    if (t->body_len + n > t->body_max) {
        t->over_limit = true;
        return 0;
    }
    return append(&t->body, &t->body_len, &t->body_cap, data, n) == 0 ? n : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    if (t->head_len + n > HEADERS_MAX) {
        t->over_limit = true;
        return 0;
    }
    return append(&t->head, &t->head_len, &t->head_cap, data, n) == 0 ? n : 0;
}

/* --- one transfer --- */

static void transfer_free(struct transfer *t)
{
    if (t->curl)
        curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->headers);
    curl_slist_free_all(t->resolve);
    free(t->body);
    free(t->head);
    *t = (struct transfer){0};
}

/* Checks the URL (https, parseable) and notes host:port for messages. */
static nsl_err check_url(const char *url, struct transfer *t, struct nsl_error *err)
{
    if (!url || strncasecmp(url, "https://", 8) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "only https:// URLs may be fetched");
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    nsl_err rc = NSL_OK;
    if (!u)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    else if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "url is not a valid https URL");
    else
        snprintf(t->authority, sizeof t->authority, "%s:%s", host, port);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static nsl_err add_headers(const struct nsl_egress_request *req, struct transfer *t,
                           struct nsl_error *err)
{
    for (size_t i = 0; i < req->header_count; i++) {
        const char *h = req->headers[i];
        if (!h || !strchr(h, ':') || h[0] == ':' || strpbrk(h, "\r\n"))
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "header %zu is not \"Name: value\"", i);
        struct curl_slist *l = curl_slist_append(t->headers, h);
        if (!l)
            return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
        t->headers = l;
    }
    return NSL_OK;
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (curl_easy_setopt(t->curl, opt, val) != CURLE_OK)                                       \
            return nsl_fail(err, NSL_ERR_INTERNAL, "libcurl refused option " #opt);                \
    } while (0)

static nsl_err transfer_setup(const struct nsl_egress *eg, const struct nsl_egress_request *req,
                              struct transfer *t, struct nsl_error *err)
{
    *t = (struct transfer){.eg = eg};
    t->started_us = now_us();
    const char *method = req->method ? req->method : "GET";
    bool post = strcmp(method, "POST") == 0;
    if (!post && strcmp(method, "GET") != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "method must be GET or POST");
    NSL_TRY(check_url(req->url, t, err));
    NSL_TRY(add_headers(req, t, err));
    t->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : NSL_EGRESS_DEFAULT_TIMEOUT_MS;
    t->body_max = req->max_response_bytes ? req->max_response_bytes : NSL_EGRESS_DEFAULT_MAX_BYTES;
    t->resolve = curl_slist_append(NULL, DUMMY_RESOLVE);
    t->curl = curl_easy_init();
    if (!t->curl || !t->resolve)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_PROXY, DUMMY_PROXY);
    SET(CURLOPT_PROXYTYPE, (long)CURLPROXY_HTTP);
    SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
    SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SET(CURLOPT_NOPROXY, ""); /* overrides no_proxy from the environment */
    SET(CURLOPT_RESOLVE, t->resolve);
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SET(CURLOPT_OPENSOCKETDATA, t);
    SET(CURLOPT_TCP_NODELAY, 0L); /* not a TCP socket */
    SET(CURLOPT_FORBID_REUSE, 1L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_CAINFO, NULL); /* curl loads no bundle of its own: use_trust brings it */
    SET(CURLOPT_CAPATH, NULL);
    SET(CURLOPT_SSL_CTX_FUNCTION, use_trust);
    SET(CURLOPT_SSL_CTX_DATA, (void *)eg);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->body_max);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_HTTPHEADER, t->headers);
    SET(CURLOPT_USERAGENT, "nsl-enclave/" NSL_VERSION);
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
    SET(CURLOPT_PRIVATE, t);
    if (post) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
    }
    return NSL_OK;
}

#undef SET

/* Turns curl's result into a response or one of the documented errors. */
static nsl_err transfer_finish(struct transfer *t, CURLcode rc, struct nsl_egress_response *resp,
                               struct nsl_error *err)
{
    long connect_code = 0, status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_HTTP_CONNECTCODE, &connect_code);
    t->done = true;
    *resp = (struct nsl_egress_response){0};
    if (rc == CURLE_OK) {
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
        if (!t->body && append(&t->body, &t->body_len, &t->body_cap, "", 0) != 0)
            return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
        resp->status = (int)status;
        resp->body = t->body;
        resp->body_len = t->body_len;
        resp->headers = t->head;
        resp->duration_us = now_us() - t->started_us;
        t->body = t->head = NULL;
        if (err)
            *err = (struct nsl_error){0};
        return NSL_OK;
    }
    const char *a = t->authority;
    if (t->over_limit || rc == CURLE_FILESIZE_EXCEEDED)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "response from %s is over %zu bytes", a,
                        t->body_max);
    if (t->proxy_unreachable || (rc == CURLE_COULDNT_CONNECT && connect_code == 0))
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the egress proxy is unreachable");
    if (connect_code == 403)
        return nsl_fail(err, NSL_ERR_PERMISSION_DENIED, "%s is not in the egress allowlist", a);
    if (connect_code == 504 || rc == CURLE_OPERATION_TIMEDOUT)
        return nsl_fail(err, NSL_ERR_TIMEOUT, "%s did not answer within %d ms", a, t->timeout_ms);
    if (connect_code == 502)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the parent cannot connect to %s", a);
    if (connect_code == 503)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the egress proxy is busy; retry later");
    if (connect_code != 0 && connect_code != 200)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the egress proxy refused %s (HTTP %ld)", a,
                        connect_code);
    if (rc == CURLE_PEER_FAILED_VERIFICATION)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "certificate of %s did not verify", a);
    if (rc == CURLE_SSL_CONNECT_ERROR)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "TLS handshake with %s failed", a);
    if (rc == CURLE_OUT_OF_MEMORY)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "fetching from %s failed: %s", a,
                    curl_easy_strerror(rc));
}

nsl_err nsl_egress_fetch(const struct nsl_egress *eg, const struct nsl_egress_request *req,
                         struct nsl_egress_response *resp, struct nsl_error *err)
{
    struct transfer t;
    *resp = (struct nsl_egress_response){0};
    nsl_err rc = transfer_setup(eg, req, &t, err);
    if (rc == NSL_OK)
        rc = transfer_finish(&t, curl_easy_perform(t.curl), resp, err);
    transfer_free(&t);
    return rc;
}

nsl_err nsl_egress_fetch_many(const struct nsl_egress *eg, const struct nsl_egress_request *reqs,
                              size_t n, struct nsl_egress_response *resps, struct nsl_error *errs)
{
    if (n > NSL_EGRESS_MAX_REQUESTS) {
        for (size_t i = 0; i < n; i++)
            nsl_fail(&errs[i], NSL_ERR_LIMIT_EXCEEDED, "at most %d requests at once",
                     NSL_EGRESS_MAX_REQUESTS);
        return NSL_ERR_LIMIT_EXCEEDED;
    }
    struct transfer *ts = calloc(n ? n : 1, sizeof *ts);
    CURLM *multi = curl_multi_init();
    if (!ts || !multi) {
        free(ts);
        if (multi)
            curl_multi_cleanup(multi);
        for (size_t i = 0; i < n; i++)
            nsl_fail(&errs[i], NSL_ERR_INTERNAL, "out of memory");
        return NSL_ERR_INTERNAL;
    }
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    for (size_t i = 0; i < n; i++) {
        resps[i] = (struct nsl_egress_response){0};
        errs[i] = (struct nsl_error){0};
        if (transfer_setup(eg, &reqs[i], &ts[i], &errs[i]) != NSL_OK ||
            curl_multi_add_handle(multi, ts[i].curl) != CURLM_OK) {
            if (errs[i].code == NSL_OK)
                nsl_fail(&errs[i], NSL_ERR_INTERNAL, "cannot start the request");
            transfer_free(&ts[i]);
        }
    }
    int running = 1;
    while (running > 0) {
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        if (running > 0 && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK)
            break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            struct transfer *t = NULL;
            if (msg->msg != CURLMSG_DONE ||
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK ||
                !t)
                continue;
            size_t i = (size_t)(t - ts);
            transfer_finish(t, msg->data.result, &resps[i], &errs[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!ts[i].curl)
            continue;
        if (!ts[i].done)
            nsl_fail(&errs[i], NSL_ERR_INTERNAL, "the request could not be driven to its end");
        curl_multi_remove_handle(multi, ts[i].curl);
        transfer_free(&ts[i]);
    }
    curl_multi_cleanup(multi);
    free(ts);
    return NSL_OK;
}
