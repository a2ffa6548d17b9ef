/* libcurl wrapper (see http.h). */
#include "cli/http.h"

#include <curl/curl.h>
#include <string.h>

static size_t collect_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct nsl_buf *body = ctx;
    size_t n = size * nmemb;
    /* Returning less than n makes curl stop with CURLE_WRITE_ERROR: the size cap. */
    if (body->len + n > NSL_CLI_HTTP_MAX_BODY || nsl_buf_append(body, data, n) != 0)
        return 0;
    return n;
}

static nsl_err map_curl_error(CURLcode rc, const char *why, struct nsl_error *err)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return nsl_fail(err, NSL_ERR_TIMEOUT, "no answer in time: %s", why);
    case CURLE_WRITE_ERROR:
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "response larger than %u bytes",
                        NSL_CLI_HTTP_MAX_BODY);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "bad URL: %s", why);
    default:
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "cannot reach the API: %s", why);
    }
}

static nsl_err perform(CURL *curl, const struct nsl_cli_http_request *req,
                       struct curl_slist *headers, struct nsl_cli_http_response *resp,
                       struct nsl_error *err)
{
    char why[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, why);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "nsl/" NSL_VERSION);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp->body);
    if (headers)
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (req->no_proxy)
        curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (req->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        return map_curl_error(rc, why[0] ? why : curl_easy_strerror(rc), err);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    return NSL_OK;
}

nsl_err nsl_cli_http_send(const struct nsl_cli_http_request *req,
                          struct nsl_cli_http_response *resp, struct nsl_error *err)
{
    *resp = (struct nsl_cli_http_response){0};
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    nsl_err rc = NSL_OK;
    if (!curl) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "cannot start libcurl");
        goto cleanup;
    }
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        struct curl_slist *more = curl_slist_append(headers, req->headers[i]);
        if (!more) {
            rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        headers = more;
    }
    rc = perform(curl, req, headers, resp, err);
cleanup:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != NSL_OK)
        nsl_cli_http_response_free(resp);
    return rc;
}

void nsl_cli_http_response_free(struct nsl_cli_http_response *resp)
{
    nsl_buf_free(&resp->body);
    resp->status = 0;
}
