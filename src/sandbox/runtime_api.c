/* The globals a user function sees (docs/sandbox.md): the standard ECMAScript built-ins on an
 * allow-list (everything else, Duktape's own object included, is deleted), console.log/warn/error
 * captured into the job's logs, and nsl.secrets/price/http/crypto. Host calls go to the pool as a
 * frame on the worker's socket and block for the reply.
 * Duktape errors longjmp: each native validates its arguments with duk_require_* first, and any C
 * memory held across a Duktape call that may throw is parked in the job (pending, pending_text)
 * so the next host call or the end of the job frees it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/errors.h"
#include "sandbox/sandbox_internal.h"

static const char *const allowed_globals[] = {"Object",
                                              "Function",
                                              "Array",
                                              "String",
                                              "Boolean",
                                              "Number",
                                              "Date",
                                              "RegExp",
                                              "Error",
                                              "EvalError",
                                              "RangeError",
                                              "ReferenceError",
                                              "SyntaxError",
                                              "TypeError",
                                              "URIError",
                                              "Math",
                                              "JSON",
                                              "NaN",
                                              "Infinity",
                                              "undefined",
                                              "globalThis",
                                              "parseInt",
                                              "parseFloat",
                                              "isNaN",
                                              "isFinite",
                                              "decodeURI",
                                              "decodeURIComponent",
                                              "encodeURI",
                                              "encodeURIComponent",
                                              "escape",
                                              "unescape",
                                              "eval",
                                              "Proxy",
                                              "Reflect",
                                              "Symbol",
                                              "ArrayBuffer",
                                              "DataView",
                                              "Int8Array",
                                              "Uint8Array",
                                              "Uint8ClampedArray",
                                              "Int16Array",
                                              "Uint16Array",
                                              "Int32Array",
                                              "Uint32Array",
                                              "Float32Array",
                                              "Float64Array",
                                              "TextEncoder",
                                              "TextDecoder",
                                              NULL};

/* The running job; throws when there is none (a heap prepared ahead of its job) or when the job
 * has been answered (its heap is being destroyed after the reply), so nothing can reach the
 * socket or the logs outside a job. */
static struct nsl_worker_job *job_of(duk_context *ctx)
{
    duk_memory_functions funcs;
    duk_get_memory_functions(ctx, &funcs);
    struct nsl_worker_job *job = ((struct nsl_sandbox_heap *)funcs.udata)->worker;
    if (!job || job->closed)
        (void)duk_error(ctx, DUK_ERR_ERROR, "the invocation has ended");
    return job;
}

static void wipe_string(json_t *s)
{
    if (json_is_string(s))
        explicit_bzero((char *)json_string_value(s), json_string_length(s));
}

void nsl_runtime_release(struct nsl_worker_job *job)
{
    if (job->pending) {
        wipe_string(json_object_get(job->pending, "value"));
        json_decref(job->pending);
        job->pending = NULL;
    }
    if (job->pending_text) {
        explicit_bzero(job->pending_text, strlen(job->pending_text));
        free(job->pending_text);
        job->pending_text = NULL;
    }
}

/* Sends req (consumed) and waits for the reply; on success the reply is job->pending and its
 * "value" is returned. On failure returns NULL with code and message set. No Duktape call here. */
static json_t *host_call(struct nsl_worker_job *job, json_t *req, nsl_err *code, char *msg,
                         size_t cap)
{
    nsl_runtime_release(job);
    job->host_calls++;
    json_t *reply = NULL;
    int rc = req ? nsl_sandbox_send(job->fd, req) : -1;
    json_decref(req);
    if (rc != 0 || nsl_sandbox_recv(job->fd, -1, &reply) != 0) {
        job->channel_broken = true;
        *code = NSL_ERR_INTERNAL;
        snprintf(msg, cap, "the service did not answer");
        return NULL;
    }
    job->pending = reply;
    if (json_is_true(json_object_get(reply, "ok")))
        return json_object_get(reply, "value");
    const char *name = json_string_value(json_object_get(reply, "code"));
    const char *text = json_string_value(json_object_get(reply, "message"));
    if (!name || !nsl_err_from_name(name, code))
        *code = NSL_ERR_INTERNAL;
    if (*code == NSL_ERR_LIMIT_EXCEEDED)
        job->limit_reported = true;
    snprintf(msg, cap, "%s", text ? text : "the call failed");
    return NULL;
}

static duk_ret_t throw_host_error(duk_context *ctx, nsl_err code, const char *msg)
{
    duk_push_error_object(ctx, DUK_ERR_ERROR, "%s", msg);
    duk_push_string(ctx, nsl_err_name(code));
    duk_put_prop_string(ctx, -2, "code");
    return duk_throw(ctx);
}

/* Requires a string argument of at most NSL_SANDBOX_NAME_MAX bytes. */
static const char *require_name(duk_context *ctx, duk_idx_t i, const char *what)
{
    duk_size_t len;
    const char *s = duk_require_lstring(ctx, i, &len);
    if (len == 0 || len > NSL_SANDBOX_NAME_MAX || strlen(s) != len)
        (void)duk_error(ctx, DUK_ERR_RANGE_ERROR, "%s must be 1..%d bytes", what,
                        NSL_SANDBOX_NAME_MAX);
    return s;
}

static duk_ret_t js_secrets_get(duk_context *ctx)
{
    const char *name = require_name(ctx, 0, "secret name");
    struct nsl_worker_job *job = job_of(ctx);
    nsl_err code;
    char msg[256];
    json_t *v =
        host_call(job, json_pack("{s:s,s:s,s:s}", "type", "call", "op", "secret", "name", name),
                  &code, msg, sizeof msg);
    if (!v)
        return throw_host_error(ctx, code, msg);
    size_t hexlen = json_string_length(v);
    uint8_t *out = duk_push_fixed_buffer(ctx, hexlen / 2 + 1);
    size_t n;
    if (!json_is_string(v) ||
        nsl_hex_decode(json_string_value(v), hexlen, out, hexlen / 2 + 1, &n) != 0)
        return throw_host_error(ctx, NSL_ERR_INTERNAL, "malformed secret reply");
    nsl_runtime_release(job);
    duk_push_lstring(ctx, (const char *)out, n);
    explicit_bzero(out, n);
    return 1;
}

/* Pushes the JSON value v (from job->pending) as a JS value. */
static duk_ret_t push_json(duk_context *ctx, struct nsl_worker_job *job, const json_t *v)
{
    job->pending_text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!job->pending_text)
        return throw_host_error(ctx, NSL_ERR_INTERNAL, "out of memory");
    duk_push_string(ctx, job->pending_text);
    duk_json_decode(ctx, -1);
    return 1;
}

static duk_ret_t js_price_get(duk_context *ctx)
{
    const char *pair = require_name(ctx, 0, "pair");
    struct nsl_worker_job *job = job_of(ctx);
    nsl_err code;
    char msg[256];
    json_t *v =
        host_call(job, json_pack("{s:s,s:s,s:s}", "type", "call", "op", "price", "pair", pair),
                  &code, msg, sizeof msg);
    if (!v)
        return throw_host_error(ctx, code, msg);
    return push_json(ctx, job, v);
}

static duk_ret_t js_http_request(duk_context *ctx)
{
    duk_require_object(ctx, 0);
    duk_get_prop_string(ctx, 0, "method");
    duk_require_string(ctx, -1);
    duk_get_prop_string(ctx, 0, "url");
    duk_require_string(ctx, -1);
    duk_pop_2(ctx);
    duk_dup(ctx, 0);
    duk_size_t len;
    const char *text = duk_json_encode(ctx, -1);
    len = strlen(text);
    struct nsl_worker_job *job = job_of(ctx);
    nsl_runtime_release(job);
    json_error_t jerr;
    json_t *request = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(request)) {
        json_decref(request);
        return duk_error(ctx, DUK_ERR_TYPE_ERROR, "request must be a JSON object");
    }
    nsl_err code;
    char msg[256];
    json_t *v =
        host_call(job, json_pack("{s:s,s:s,s:o}", "type", "call", "op", "http", "request", request),
                  &code, msg, sizeof msg);
    if (!v)
        return throw_host_error(ctx, code, msg);
    return push_json(ctx, job, v);
}

static duk_ret_t js_sha256(duk_context *ctx)
{
    const void *data;
    duk_size_t len;
    if (duk_is_buffer_data(ctx, 0))
        data = duk_get_buffer_data(ctx, 0, &len);
    else
        data = duk_require_lstring(ctx, 0, &len);
    uint8_t digest[32];
    char hex[65];
    nsl_sandbox_sha256(data, len, digest);
    nsl_hex_encode(digest, 32, hex);
    duk_push_string(ctx, hex);
    return 1;
}

static duk_ret_t js_random_bytes(duk_context *ctx)
{
    duk_double_t n = duk_require_number(ctx, 0);
    if (!(n >= 1 && n <= NSL_SANDBOX_RANDOM_MAX) || n != (duk_double_t)(int)n)
        return duk_error(ctx, DUK_ERR_RANGE_ERROR, "randomBytes(n) needs an integer 1..%d",
                         NSL_SANDBOX_RANDOM_MAX);
    struct nsl_worker_job *job = job_of(ctx);
    nsl_err code;
    char msg[256];
    json_t *v =
        host_call(job, json_pack("{s:s,s:s,s:i}", "type", "call", "op", "random", "n", (int)n),
                  &code, msg, sizeof msg);
    if (!v)
        return throw_host_error(ctx, code, msg);
    if (!json_is_string(v) || json_string_length(v) != 2 * (size_t)n)
        return throw_host_error(ctx, NSL_ERR_INTERNAL, "malformed random reply");
    duk_push_string(ctx, json_string_value(v));
    return 1;
}

/* console.*: joins the arguments (objects as JSON) and appends {level, message} to the logs. */
static duk_ret_t console_write(duk_context *ctx, const char *level)
{
    duk_idx_t n = duk_get_top(ctx);
    for (duk_idx_t i = 0; i < n; i++) {
        if (duk_is_object(ctx, i) && !duk_is_function(ctx, i)) {
            duk_json_encode(ctx, i);
            if (!duk_is_string(ctx, i))
                duk_safe_to_string(ctx, i);
        } else {
            duk_safe_to_string(ctx, i);
        }
    }
    duk_push_string(ctx, " ");
    duk_insert(ctx, 0);
    duk_join(ctx, n);
    duk_size_t len;
    const char *text = duk_get_lstring(ctx, -1, &len);
    struct nsl_worker_job *job = job_of(ctx);
    if (len > job->max_logs - job->logs_bytes) {
        job->logs_exceeded = true;
        return duk_error(ctx, DUK_ERR_RANGE_ERROR, "console output exceeds the function's limit");
    }
    job->logs_bytes += len;
    json_t *message = json_stringn(text, len);
    if (!message) { /* not valid UTF-8 (lone surrogates): keep the ASCII */
        char *copy = malloc(len + 1);
        if (copy) {
            for (size_t i = 0; i < len; i++)
                copy[i] = (unsigned char)text[i] >= 0x80 ? '?' : text[i];
            copy[len] = 0;
            message = json_stringn(copy, len);
            free(copy);
        }
    }
    json_array_append_new(job->logs, json_pack("{s:s,s:o*}", "level", level, "message", message));
    return 0;
}

static duk_ret_t js_console_log(duk_context *ctx)
{
    return console_write(ctx, "info");
}

static duk_ret_t js_console_warn(duk_context *ctx)
{
    return console_write(ctx, "warn");
}

static duk_ret_t js_console_error(duk_context *ctx)
{
    return console_write(ctx, "error");
}

static void remove_unlisted_globals(duk_context *ctx)
{
    duk_push_global_object(ctx);
    duk_push_array(ctx); /* names to delete: not deleted while enumerating */
    duk_uarridx_t doomed = 0;
    duk_enum(ctx, -2, DUK_ENUM_OWN_PROPERTIES_ONLY | DUK_ENUM_INCLUDE_NONENUMERABLE);
    while (duk_next(ctx, -1, 0)) {
        const char *name = duk_get_string(ctx, -1);
        bool keep = false;
        for (size_t i = 0; name && allowed_globals[i]; i++)
            keep = keep || strcmp(name, allowed_globals[i]) == 0;
        if (keep)
            duk_pop(ctx);
        else
            duk_put_prop_index(ctx, -3, doomed++);
    }
    duk_pop(ctx); /* enum */
    for (duk_uarridx_t i = 0; i < doomed; i++) {
        duk_get_prop_index(ctx, -1, i);
        duk_del_prop(ctx, -3);
    }
    duk_pop_2(ctx);
}

static void put_functions(duk_context *ctx, const duk_function_list_entry *list)
{
    duk_push_object(ctx);
    duk_put_function_list(ctx, -1, list);
}

void nsl_runtime_install(duk_context *ctx)
{
    remove_unlisted_globals(ctx);
    static const duk_function_list_entry secrets[] = {{"get", js_secrets_get, 1}, {NULL, NULL, 0}};
    static const duk_function_list_entry price[] = {{"get", js_price_get, 1}, {NULL, NULL, 0}};
    static const duk_function_list_entry http[] = {{"request", js_http_request, 1},
                                                   {NULL, NULL, 0}};
    static const duk_function_list_entry crypto[] = {
        {"sha256", js_sha256, 1}, {"randomBytes", js_random_bytes, 1}, {NULL, NULL, 0}};
    static const duk_function_list_entry console[] = {{"log", js_console_log, DUK_VARARGS},
                                                      {"info", js_console_log, DUK_VARARGS},
                                                      {"warn", js_console_warn, DUK_VARARGS},
                                                      {"error", js_console_error, DUK_VARARGS},
                                                      {NULL, NULL, 0}};
    duk_push_global_object(ctx);
    duk_push_object(ctx); /* nsl */
    put_functions(ctx, secrets);
    duk_put_prop_string(ctx, -2, "secrets");
    put_functions(ctx, price);
    duk_put_prop_string(ctx, -2, "price");
    put_functions(ctx, http);
    duk_put_prop_string(ctx, -2, "http");
    put_functions(ctx, crypto);
    duk_put_prop_string(ctx, -2, "crypto");
    duk_put_prop_string(ctx, -2, "nsl");
    put_functions(ctx, console);
    duk_put_prop_string(ctx, -2, "console");
    duk_pop(ctx);
}
