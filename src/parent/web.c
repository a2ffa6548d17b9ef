/* Static web resources (see web.h). */
#include "parent/web.h"

#include <stdlib.h>
#include <string.h>

#include "parent/openrpc.h"
#include "parent/web_assets.h"

/* The page loads its script and style from this origin and talks only to it; nothing inline,
 * no plugins, no forms posting elsewhere, never inside a frame (clickjacking). */
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "                 \
    "frame-ancestors 'none'"

static const char *const security_headers[] = {
    "Content-Security-Policy",
    CSP,
    "X-Content-Type-Options",
    "nosniff",
    "X-Frame-Options",
    "DENY",
    "Referrer-Policy",
    "no-referrer",
    "Cache-Control",
    "no-store",
    NULL,
};

static const struct nsl_web_asset *find_asset(const char *url)
{
    for (size_t i = 0; i < nsl_web_asset_count; i++)
        if (strcmp(nsl_web_assets[i].path, url) == 0)
            return &nsl_web_assets[i];
    return NULL;
}

bool nsl_web_handles(const char *url)
{
    return strcmp(url, NSL_WEB_OPENRPC_PATH) == 0 || find_asset(url) != NULL;
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *resp, const char *type)
{
    if (!resp)
        return MHD_NO;
    for (size_t i = 0; security_headers[i]; i += 2)
        MHD_add_response_header(resp, security_headers[i], security_headers[i + 1]);
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result serve_openrpc(struct MHD_Connection *conn)
{
    json_t *doc = nsl_openrpc_document();
    char *text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
    json_decref(doc);
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(text);
    return queue(conn, MHD_HTTP_OK, resp, "application/json");
}

enum MHD_Result nsl_web_serve(struct MHD_Connection *conn, const char *url, const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                     MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), NULL);
    if (strcmp(url, NSL_WEB_OPENRPC_PATH) == 0)
        return serve_openrpc(conn);
    const struct nsl_web_asset *a = find_asset(url);
    if (!a)
        return MHD_NO;
    return queue(conn, MHD_HTTP_OK,
                 MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT),
                 a->type);
}
