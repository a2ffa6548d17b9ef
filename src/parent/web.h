/* nsl-parent's web resources on GET: the operator dashboard (/, /dashboard.js, /dashboard.css;
 * docs/dashboard.md) and the OpenRPC description of /v1/rpc (/v1/openrpc.json; docs/api.md).
 * Every answer carries a strict Content-Security-Policy (scripts and styles from this origin
 * only, no inline code, no framing) and X-Content-Type-Options: nosniff. */
#ifndef NSL_PARENT_WEB_H
#define NSL_PARENT_WEB_H

#include <microhttpd.h>
#include <stdbool.h>

#define NSL_WEB_OPENRPC_PATH "/v1/openrpc.json"

/* True when url is one of the resources above. */
bool nsl_web_handles(const char *url);
/* Answers a request for such a url: the resource on GET or HEAD, 405 otherwise. */
enum MHD_Result nsl_web_serve(struct MHD_Connection *conn, const char *url, const char *method);

#endif
