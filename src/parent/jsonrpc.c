/* JSON-RPC 2.0 parsing and response assembly (see jsonrpc.h). Rules: JSON-RPC 2.0 §4-§6 and
 * ARCHITECTURE §9; the enclave envelope is §2. */
#include "parent/jsonrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_render.h"
#include "common/routes.h"

#define AUTH_VALUE_MAX 512

static void set_error(struct nsl_rpc_error *e, int rpc_code, nsl_err code, const char *message)
{
    e->rpc_code = rpc_code;
    nsl_fail(&e->error, code, "%s", message);
}

static bool valid_id(const json_t *id)
{
    return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

static bool known_member(const char *key)
{
    return strcmp(key, "jsonrpc") == 0 || strcmp(key, "method") == 0 ||
           strcmp(key, "params") == 0 || strcmp(key, "id") == 0;
}

/* Fills call from one request object; a failure stays on the call, never aborts the batch. */
static void parse_call(json_t *req, struct nsl_rpc_call *call)
{
    struct nsl_rpc_error *e = &call->error;
    call->route = -1;
    call->failed = true;
    if (!json_is_object(req)) {
        set_error(e, NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST, "request must be an object");
        return;
    }
    json_t *id = json_object_get(req, "id");
    if (id && !valid_id(id)) {
        set_error(e, NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST,
                  "id must be a string, a number or null");
        return;
    }
    call->id = id;
    const char *key;
    json_t *value;
    json_object_foreach(req, key, value)
    {
        if (!known_member(key)) {
            set_error(e, NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST,
                      "unknown member in request");
            return;
        }
    }
    const char *version = json_string_value(json_object_get(req, "jsonrpc"));
    if (!version || strcmp(version, "2.0") != 0) {
        set_error(e, NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST, "jsonrpc must be \"2.0\"");
        return;
    }
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *dot = method ? strchr(method, '.') : NULL;
    if (!dot || dot == method || dot[1] == 0) {
        set_error(e, NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST,
                  "method must be a string \"service.operation\"");
        return;
    }
    call->method = method;
    call->service_len = (size_t)(dot - method);
    call->route = nsl_route_find_method(method);
    json_t *params = json_object_get(req, "params");
    if (params && !json_is_object(params)) {
        set_error(e, NSL_RPC_INVALID_PARAMS, NSL_ERR_INVALID_PARAMS, "params must be an object");
        return;
    }
    call->params = params;
    call->failed = false;
}

int nsl_jsonrpc_parse(const char *body, size_t len, size_t max_batch, struct nsl_rpc_batch *out)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    out->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!out->root) {
        out->failed = true;
        set_error(&out->error, NSL_RPC_PARSE_ERROR, NSL_ERR_INVALID_REQUEST,
                  "body is not valid JSON");
        return 0;
    }
    out->is_batch = json_is_array(out->root);
    size_t n = out->is_batch ? json_array_size(out->root) : 1;
    if (out->is_batch && n == 0) {
        out->failed = true;
        set_error(&out->error, NSL_RPC_INVALID_REQUEST, NSL_ERR_INVALID_REQUEST, "empty batch");
        return 0;
    }
    if (n > max_batch) {
        out->failed = true;
        char msg[96];
        snprintf(msg, sizeof msg, "batch holds more than %zu calls", max_batch);
        set_error(&out->error, NSL_RPC_INVALID_REQUEST, NSL_ERR_LIMIT_EXCEEDED, msg);
        return 0;
    }
    out->calls = calloc(n, sizeof *out->calls);
    if (!out->calls)
        return -1;
    out->count = n;
    for (size_t i = 0; i < n; i++)
        parse_call(out->is_batch ? json_array_get(out->root, i) : out->root, &out->calls[i]);
    return 0;
}

void nsl_jsonrpc_batch_free(struct nsl_rpc_batch *b)
{
    free(b->calls);
    json_decref(b->root);
    memset(b, 0, sizeof *b);
}

bool nsl_jsonrpc_call_answered(const struct nsl_rpc_call *call)
{
    if (call->id)
        return true;
    return call->failed && call->error.rpc_code == NSL_RPC_INVALID_REQUEST;
}

/* A credential value: printable ASCII without spaces or the separators of NSL-SIG. */
static bool valid_token(const char *s, size_t n)
{
    if (n == 0 || n > AUTH_VALUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ',' || s[i] == '=')
            return false;
    return true;
}

static nsl_err bad_auth(struct nsl_error *err, const char *why)
{
    return nsl_fail(err, NSL_ERR_UNAUTHENTICATED, "malformed Authorization header: %s", why);
}

/* Appends ,"name":"value" (or without the comma, first). */
static int append_member(struct nsl_buf *out, const char *name, const char *value, size_t len)
{
    return (out->len > 1 && nsl_buf_append(out, ",", 1) != 0) ||
           nsl_json_render_string(out, name, strlen(name)) != 0 ||
           nsl_buf_append(out, ":", 1) != 0 || nsl_json_render_string(out, value, len) != 0;
}

static nsl_err parse_apikey(const char *key, struct nsl_buf *auth, struct nsl_error *err)
{
    size_t len = strlen(key);
    if (!valid_token(key, len))
        return bad_auth(err, "NSL-APIKEY needs one key without spaces");
    if (nsl_buf_append(auth, "{", 1) != 0 || append_member(auth, "scheme", "apikey", 6) != 0 ||
        append_member(auth, "apiKey", key, len) != 0 || nsl_buf_append(auth, "}", 1) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return NSL_OK;
}

/* "account=A,ts=T,nonce=N,sig=S": each of the four exactly once, in any order, nothing else. */
static nsl_err parse_sig(const char *p, struct nsl_buf *auth, struct nsl_error *err)
{
    static const char *const keys[4] = {"account", "ts", "nonce", "sig"};
    static const char *const fields[4] = {"account", "timestamp", "nonce", "signature"};
    const char *vals[4] = {0};
    size_t lens[4] = {0};
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq)
            return bad_auth(err, "NSL-SIG parts must be key=value");
        size_t klen = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vlen = strcspn(v, ",");
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (strlen(keys[i]) == klen && strncmp(p, keys[i], klen) == 0)
                k = i;
        if (k < 0 || vals[k])
            return bad_auth(err, "NSL-SIG takes account, ts, nonce and sig, each once");
        if (!valid_token(v, vlen))
            return bad_auth(err, "NSL-SIG value is empty, too long or has a bad character");
        vals[k] = v;
        lens[k] = vlen;
        p = v + vlen;
        if (*p == ',' && *++p == 0)
            return bad_auth(err, "NSL-SIG ends with a comma");
    }
    for (int i = 0; i < 4; i++)
        if (!vals[i])
            return bad_auth(err, "NSL-SIG takes account, ts, nonce and sig, each once");
    int rc = nsl_buf_append(auth, "{", 1) || append_member(auth, "scheme", "neo-sig", 7);
    for (int i = 0; i < 4; i++)
        rc = rc || append_member(auth, fields[i], vals[i], lens[i]);
    if (rc || nsl_buf_append(auth, "}", 1) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return NSL_OK;
}

nsl_err nsl_jsonrpc_parse_auth(const char *header, struct nsl_buf *auth, struct nsl_error *err)
{
    nsl_err rc;
    if (!header)
        return NSL_OK;
    if (strncmp(header, "NSL-APIKEY ", 11) == 0)
        rc = parse_apikey(header + 11, auth, err);
    else if (strncmp(header, "NSL-SIG ", 8) == 0)
        rc = parse_sig(header + 8, auth, err);
    else
        rc = bad_auth(err, "scheme must be NSL-APIKEY or NSL-SIG");
    if (rc != NSL_OK)
        nsl_buf_free_wipe(auth);
    return rc;
}

static int append_str(struct nsl_buf *out, const char *text)
{
    return nsl_buf_append(out, text, strlen(text));
}

/* Appends value as compact JSON; a missing value (no id) as null. */
static int append_json(struct nsl_buf *out, const json_t *value)
{
    return value ? nsl_json_render(value, out) : append_str(out, "null");
}

/* Rendered as text rather than built as objects and printed (names are UTF-8: they came
 * through jansson, or are ours). */
char *nsl_jsonrpc_enclave_request(const struct nsl_rpc_call *call, const char *id,
                                  const char *trace_id, const struct nsl_buf *auth, size_t *len)
{
    const char *operation = call->method + call->service_len + 1;
    struct nsl_buf out = {0};
    int rc = nsl_buf_reserve(&out, 256 + (auth ? auth->len : 0)); /* mostly no realloc */
    rc = rc || append_str(&out, "{\"id\":") || nsl_json_render_string(&out, id, strlen(id)) ||
         append_str(&out, ",\"serviceType\":") ||
         nsl_json_render_string(&out, call->method, call->service_len) ||
         append_str(&out, ",\"operation\":") ||
         nsl_json_render_string(&out, operation, strlen(operation)) ||
         append_str(&out, ",\"params\":") ||
         (call->params ? append_json(&out, call->params) : append_str(&out, "{}"));
    if (auth && auth->len)
        rc = rc || append_str(&out, ",\"auth\":") || nsl_buf_append(&out, auth->data, auth->len);
    if (trace_id)
        rc = rc || append_str(&out, ",\"traceId\":") ||
             nsl_json_render_string(&out, trace_id, strlen(trace_id));
    rc = rc || nsl_buf_append(&out, "}", 2); /* with the NUL */
    if (rc) {
        nsl_buf_free(&out);
        return NULL;
    }
    *len = out.len - 1;
    return (char *)out.data;
}

static json_t *response_base(const json_t *id)
{
    json_t *r = json_object();
    if (r && (json_object_set_new(r, "jsonrpc", json_string("2.0")) != 0 ||
              json_object_set_new(r, "id", id ? json_incref((json_t *)id) : json_null()) != 0)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *nsl_jsonrpc_error_response(const json_t *id, int rpc_code, nsl_err code,
                                   const char *message)
{
    json_t *r = response_base(id);
    json_t *e = json_pack("{s:i, s:s, s:{s:s}}", "code", rpc_code, "message", message, "data",
                          "code", nsl_err_name(code));
    if (!r || !e || json_object_set_new(r, "error", e) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

int nsl_jsonrpc_render_error(struct nsl_buf *out, const json_t *id, int rpc_code, nsl_err code,
                             const char *message)
{
    json_t *r = nsl_jsonrpc_error_response(id, rpc_code, code, message);
    int rc = r ? append_json(out, r) : -1;
    json_decref(r);
    return rc;
}

/* The error of a reply that is not a success, mapped per ARCHITECTURE §9. */
static int render_enclave_error(struct nsl_buf *out, const json_t *id,
                                const struct nsl_pool_reply *reply, nsl_err *code)
{
    json_error_t jerr;
    json_t *error = reply->error.len ? json_loadb(reply->text + reply->error.off, reply->error.len,
                                                  JSON_REJECT_DUPLICATES, &jerr)
                                     : NULL;
    const char *name = json_string_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));
    if (!nsl_json_span_is(reply->text, reply->ok, "false") || !name ||
        !nsl_err_from_name(name, code) || *code == NSL_OK) {
        *code = NSL_ERR_INTERNAL;
        message = "the enclave sent a malformed response";
    }
    int rc = nsl_jsonrpc_render_error(out, id, nsl_err_jsonrpc_code(*code), *code,
                                      message ? message : nsl_err_description(*code));
    json_decref(error);
    return rc;
}

int nsl_jsonrpc_render_enclave(struct nsl_buf *out, const json_t *id,
                               const struct nsl_pool_reply *reply, nsl_err *code)
{
    if (!nsl_json_span_is(reply->text, reply->ok, "true") || !reply->result.len)
        return render_enclave_error(out, id, reply, code);
    *code = NSL_OK;
    if (append_str(out, "{\"jsonrpc\":\"2.0\",\"id\":") != 0 || append_json(out, id) != 0 ||
        append_str(out, ",\"result\":") != 0 ||
        nsl_buf_append(out, reply->text + reply->result.off, reply->result.len) != 0)
        return -1;
    return nsl_buf_append(out, "}", 1);
}
