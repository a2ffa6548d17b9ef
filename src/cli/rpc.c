/* JSON-RPC client side of the parent API (see rpc.h). */
#include "cli/rpc.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http.h"
#include "common/json.h"

#define CONNECT_TIMEOUT_MS 10000L
/* Generous: function.invoke may run for a while; the enclave enforces its own limits. */
#define REQUEST_TIMEOUT_MS 300000L

static char *url_part(CURLU *u, CURLUPart part)
{
    char *curl_owned = NULL;
    if (curl_url_get(u, part, &curl_owned, 0) != CURLUE_OK)
        return NULL;
    char *copy = strdup(curl_owned);
    curl_free(curl_owned);
    return copy;
}

static nsl_err endpoint_path(CURLU *u, struct nsl_cli_endpoint *ep, struct nsl_error *err)
{
    char *path = url_part(u, CURLUPART_PATH);
    if (!path)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        path[--n] = 0;
    ep->path = malloc(n + sizeof NSL_CLI_RPC_PATH);
    if (ep->path) {
        memcpy(ep->path, path, n);
        memcpy(ep->path + n, NSL_CLI_RPC_PATH, sizeof NSL_CLI_RPC_PATH);
    }
    free(path);
    if (!ep->path || curl_url_set(u, CURLUPART_PATH, ep->path, 0) != CURLUE_OK)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return NSL_OK;
}

static nsl_err endpoint_parse(CURLU *u, const char *base, struct nsl_cli_endpoint *ep,
                              struct nsl_error *err)
{
    if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--url \"%.100s\" is not a valid URL", base);
    char *scheme = url_part(u, CURLUPART_SCHEME);
    bool http = scheme && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    free(scheme);
    if (!http)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--url must be an http:// or https:// URL");
    char *query = url_part(u, CURLUPART_QUERY), *fragment = url_part(u, CURLUPART_FRAGMENT);
    bool extra = query || fragment;
    free(query);
    free(fragment);
    if (extra)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--url must not have a query or fragment");
    ep->host = url_part(u, CURLUPART_HOST);
    char *port = url_part(u, CURLUPART_PORT); /* NULL when the scheme's default */
    if (ep->host && port) {
        char *hp = malloc(strlen(ep->host) + strlen(port) + 2);
        if (hp)
            sprintf(hp, "%s:%s", ep->host, port);
        free(ep->host);
        ep->host = hp;
    }
    free(port);
    if (!ep->host)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--url has no host");
    NSL_TRY(endpoint_path(u, ep, err));
    ep->url = url_part(u, CURLUPART_URL);
    return ep->url ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_cli_endpoint_init(const char *base, struct nsl_cli_endpoint *ep, struct nsl_error *err)
{
    *ep = (struct nsl_cli_endpoint){0};
    CURLU *u = curl_url();
    if (!u)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_err rc = endpoint_parse(u, base, ep, err);
    curl_url_cleanup(u);
    if (rc != NSL_OK)
        nsl_cli_endpoint_free(ep);
    return rc;
}

void nsl_cli_endpoint_free(struct nsl_cli_endpoint *ep)
{
    free(ep->url);
    free(ep->host);
    free(ep->path);
    *ep = (struct nsl_cli_endpoint){0};
}

char *nsl_cli_rpc_body(const char *service, const char *operation, const json_t *params)
{
    size_t mlen = strlen(service) + strlen(operation) + 2;
    char *method = malloc(mlen);
    if (!method)
        return NULL;
    snprintf(method, mlen, "%s.%s", service, operation);
    json_t *req = json_pack("{s:s, s:i, s:s, s:O}", "jsonrpc", "2.0", "id", 1, "method", method,
                            "params", params);
    free(method);
    char *body = req ? nsl_json_dump(req, NULL) : NULL;
    json_decref(req);
    return body;
}

/* The headers we add; curl adds Host, User-Agent and Content-Length. "Expect:" stops curl from
 * waiting for a 100-continue on large bodies. The Authorization line is malloc'd. */
struct rpc_headers {
    const char *lines[6];
    char *auth;
};

static int rpc_headers_init(struct rpc_headers *h, const char *authorization)
{
    *h = (struct rpc_headers){{"Content-Type: application/json", "Accept: application/json"}, NULL};
    size_t n = 2;
    if (authorization) {
        static const char prefix[] = "Authorization: ";
        h->auth = malloc(sizeof prefix + strlen(authorization));
        if (!h->auth)
            return -1;
        memcpy(h->auth, prefix, sizeof prefix - 1);
        strcpy(h->auth + sizeof prefix - 1, authorization);
        h->lines[n++] = h->auth;
    }
    h->lines[n++] = "Expect:";
    h->lines[n] = NULL;
    return 0;
}

static void rpc_headers_free(struct rpc_headers *h)
{
    if (h->auth) {
        /* the line holds the caller's credential */
        memset(h->auth, 0, strlen(h->auth));
        free(h->auth);
    }
    h->auth = NULL;
}

void nsl_cli_rpc_print_request(FILE *out, const struct nsl_cli_endpoint *ep,
                               const char *authorization, const char *body)
{
    /* Lines end in LF, not the wire's CRLF: this is for reading. */
    fprintf(out, "POST %s HTTP/1.1\nHost: %s\nUser-Agent: nsl/%s\n", ep->path, ep->host,
            NSL_VERSION);
    fprintf(out, "Content-Type: application/json\nAccept: application/json\n");
    if (authorization)
        fprintf(out, "Authorization: %s\n", authorization);
    fprintf(out, "Content-Length: %zu\n\n%s\n", strlen(body), body);
}

nsl_err nsl_cli_rpc_call(const struct nsl_cli_endpoint *ep, const char *authorization,
                         const char *body, struct nsl_cli_reply *reply)
{
    *reply = (struct nsl_cli_reply){0};
    struct rpc_headers h;
    if (rpc_headers_init(&h, authorization) != 0)
        return NSL_ERR_INTERNAL;
    struct nsl_cli_http_request req = {
        .url = ep->url,
        .headers = h.lines,
        .body = body,
        .body_len = strlen(body),
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = REQUEST_TIMEOUT_MS,
    };
    struct nsl_cli_http_response resp;
    struct nsl_error err = {0};
    nsl_err rc = nsl_cli_http_send(&req, &resp, &err);
    rpc_headers_free(&h);
    if (rc != NSL_OK) {
        reply->error = nsl_cli_rpc_error_object(err.code, err.message);
        return reply->error ? NSL_OK : NSL_ERR_INTERNAL;
    }
    rc = nsl_cli_rpc_parse_reply(resp.status, (const char *)resp.body.data, resp.body.len, reply);
    nsl_cli_http_response_free(&resp);
    return rc;
}

/* The code a bare HTTP status stands for when the body is not a JSON-RPC response (a proxy's
 * error page, a parent that is starting up). */
static nsl_err status_to_code(long status)
{
    switch (status) {
    case 401:
        return NSL_ERR_UNAUTHENTICATED;
    case 403:
        return NSL_ERR_PERMISSION_DENIED;
    case 404:
        return NSL_ERR_NOT_FOUND;
    case 413:
        return NSL_ERR_LIMIT_EXCEEDED;
    case 429:
        return NSL_ERR_RATE_LIMITED;
    case 502:
    case 503:
        return NSL_ERR_UNAVAILABLE;
    case 504:
        return NSL_ERR_TIMEOUT;
    default:
        return NSL_ERR_INTERNAL;
    }
}

nsl_err nsl_cli_rpc_parse_reply(long status, const char *body, size_t len,
                                struct nsl_cli_reply *reply)
{
    *reply = (struct nsl_cli_reply){0};
    json_t *doc = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *result = json_object_get(doc, "result");
    json_t *error = json_object_get(doc, "error");
    if (json_is_object(error)) {
        reply->error = json_incref(error);
    } else if (result && !error && status >= 200 && status < 300) {
        reply->result = json_incref(result);
    } else {
        char message[128];
        snprintf(message, sizeof message, "HTTP %ld with a body that is not a JSON-RPC response",
                 status);
        reply->error = nsl_cli_rpc_error_object(
            status >= 200 && status < 300 ? NSL_ERR_INTERNAL : status_to_code(status), message);
    }
    json_decref(doc);
    return reply->error || reply->result ? NSL_OK : NSL_ERR_INTERNAL;
}

void nsl_cli_reply_free(struct nsl_cli_reply *reply)
{
    json_decref(reply->result);
    json_decref(reply->error);
    *reply = (struct nsl_cli_reply){0};
}

json_t *nsl_cli_rpc_error_object(nsl_err code, const char *message)
{
    return json_pack("{s:i, s:s, s:{s:s}}", "code", nsl_err_jsonrpc_code(code), "message", message,
                     "data", "code", nsl_err_name(code));
}

const char *nsl_cli_rpc_error_name(const json_t *error)
{
    const char *name = json_string_value(json_object_get(json_object_get(error, "data"), "code"));
    if (name)
        return name;
    json_t *code = json_object_get(error, "code");
    for (int i = 1; json_is_integer(code) && i < NSL_ERR_COUNT; i++)
        if (nsl_err_jsonrpc_code((nsl_err)i) == json_integer_value(code))
            return nsl_err_name((nsl_err)i);
    return "INTERNAL";
}
