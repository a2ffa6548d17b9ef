/* OpenRPC document (see openrpc.h). Spec: https://spec.open-rpc.org (1.2.6): a document needs
 * "openrpc", "info" {title, version} and "methods"; a method needs "name" and "params" (Content
 * Descriptors {name, schema, required?}) and has a "result" unless it is a notification. Result
 * shapes are not in the operations table, so every result is described as an object. */
#include "parent/openrpc.h"

#include <stdio.h>

#include "common/errors.h"
#include "common/routes.h"

#define HEX_PATTERN    "^([0-9a-fA-F]{2})*$"
#define DIGITS_PATTERN "^[0-9]+$"

static json_t *string_schema(size_t max_len, const char *pattern, const char *encoding)
{
    json_t *s = json_pack("{s:s}", "type", "string");
    if (s && max_len)
        json_object_set_new(s, "maxLength", json_integer((json_int_t)max_len));
    if (s && pattern)
        json_object_set_new(s, "pattern", json_string(pattern));
    if (s && encoding)
        json_object_set_new(s, "contentEncoding", json_string(encoding));
    return s;
}

json_t *nsl_openrpc_field_schema(const struct nsl_field_spec *f)
{
    switch (f->type) {
    case NSL_FIELD_STRING:
        return string_schema(f->max_len, NULL, NULL);
    case NSL_FIELD_HEX: /* max_len counts decoded bytes: two hex digits each */
        return string_schema(2 * f->max_len, HEX_PATTERN, "base16");
    case NSL_FIELD_BASE64:
        return string_schema(f->max_len ? (f->max_len + 2) / 3 * 4 : 0, NULL, "base64");
    case NSL_FIELD_DIGITS:
        return string_schema(f->max_len, DIGITS_PATTERN, NULL);
    case NSL_FIELD_INT:
        return json_pack("{s:s, s:I, s:I}", "type", "integer", "minimum", (json_int_t)f->min,
                         "maximum", (json_int_t)f->max);
    case NSL_FIELD_BOOL:
        return json_pack("{s:s}", "type", "boolean");
    case NSL_FIELD_OBJECT:
        return f->max_len ? json_pack("{s:s, s:I}", "type", "object", "maxProperties",
                                      (json_int_t)f->max_len)
                          : json_pack("{s:s}", "type", "object");
    case NSL_FIELD_ARRAY:
        return f->max_len
                   ? json_pack("{s:s, s:I}", "type", "array", "maxItems", (json_int_t)f->max_len)
                   : json_pack("{s:s}", "type", "array");
    case NSL_FIELD_ANY:
        return json_object(); /* the empty schema accepts any value */
    }
    return NULL;
}

static json_t *params_json(const struct nsl_field_spec *spec)
{
    json_t *a = json_array();
    for (; a && spec->name; spec++) {
        json_t *p = json_pack("{s:s, s:b, s:o}", "name", spec->name, "required", spec->required,
                              "schema", nsl_openrpc_field_schema(spec));
        if (p && spec->doc)
            json_object_set_new(p, "description", json_string(spec->doc));
        if (!p || json_array_append_new(a, p) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Who may call it (ARCHITECTURE §5), in the method's description. */
static const char *auth_note(unsigned flags)
{
    if (flags & NSL_ROUTE_PUBLIC)
        return "No credentials needed.";
    if (flags & NSL_ROUTE_ADMIN)
        return "Admin operation: needs an NSL-SIG (neo-sig) signed request.";
    return "Needs credentials: NSL-APIKEY or NSL-SIG.";
}

static json_t *method_json(const struct nsl_route *r, json_t *flags)
{
    char name[128], description[512];
    snprintf(name, sizeof name, "%s.%s", r->service, r->operation);
    snprintf(description, sizeof description, "%s%s%s", auth_note(r->flags),
             r->flags & NSL_ROUTE_SEALED_PARAMS
                 ? " Params may (and, where the enclave requires it, must) arrive HPKE-sealed as "
                   "{\"sealed\": {\"enc\", \"ct\"}}."
                 : "",
             r->flags & NSL_ROUTE_SEALED_RESULT
                 ? " The result is sealed to the replyKey given in sealed params."
                 : "");
    json_t *m =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:{s:s}}, s:s*, s:O}", "name", name, "summary",
                  r->summary, "description", description, "paramStructure", "by-name", "params",
                  params_json(r->params), "result", "name", "result", "schema", "type", "object",
                  "x-permission", r->permission, "x-flags", flags);
    return m;
}

static json_t *errors_json(void)
{
    json_t *o = json_object();
    for (int i = 1; o && i < NSL_ERR_COUNT; i++) {
        nsl_err code = (nsl_err)i;
        json_t *e = json_pack("{s:i, s:s, s:{s:s}}", "code", nsl_err_jsonrpc_code(code), "message",
                              nsl_err_description(code), "data", "code", nsl_err_name(code));
        if (!e || json_object_set_new(o, nsl_err_name(code), e) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *nsl_openrpc_document(void)
{
    json_t *table = nsl_routes_to_json(); /* for the flag names, spelled as system.info does */
    json_t *methods = json_array();
    for (size_t i = 0; table && methods && i < nsl_route_count; i++) {
        json_t *flags = json_object_get(json_array_get(table, i), "flags");
        json_t *m = method_json(&nsl_routes[i], flags);
        if (!m || json_array_append_new(methods, m) != 0) {
            json_decref(methods);
            methods = NULL;
        }
    }
    json_decref(table);
    if (!methods)
        return NULL;
    return json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s}], s:o, s:{s:o}}", "openrpc", NSL_OPENRPC_VERSION,
        "info", "title", "Neo Service Layer JSON-RPC API", "version", NSL_VERSION, "description",
        "JSON-RPC 2.0 over POST /v1/rpc (batches allowed). Credentials go in the Authorization "
        "header: NSL-APIKEY <key> or NSL-SIG account=...,ts=...,nonce=...,sig=... (README). "
        "Errors carry data.code, one of components.errors.",
        "servers", "name", "nsl-parent", "url", "/v1/rpc", "methods", methods, "components",
        "errors", errors_json());
}
