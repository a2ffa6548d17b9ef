/* The parent side (the public API of sandbox.h): a pool of workers obtained from the zygote, one
 * invocation per worker at a time. nsl_sandbox_invoke sends the job, answers the worker's host
 * calls through the service's callbacks until the final frame, and enforces the hard deadline by
 * having the zygote SIGKILL and reap the worker; a killed or dead worker is replaced at once.
 * Everything a worker sends is untrusted (it ran user code) and is checked before use. */
#define NSL_LOG_COMPONENT NSL_LOGC_SANDBOX
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "crypto/secret.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_internal.h"

/* How long an invocation waits for a free worker. */
#define POOL_WAIT_MS 5000
/* Past the function's own deadline (which the worker enforces itself), the pool kills it. */
#define KILL_GRACE_MS 250
/* A syntax check's budget. */
#define SYNTAX_TIME_MS   5000
#define SYNTAX_MEMORY    (64u << 20)
#define MAX_SOURCE_BYTES (8u << 20)

struct slot {
    pid_t pid; /* 0 = none yet */
    int fd;
    bool busy;
    uint64_t freed; /* when it was last given back (pool ticks) */
};

struct nsl_sandbox {
    struct nsl_zygote zygote;
    pthread_mutex_t zygote_lock; /* one request at a time on the control socket */
    pthread_mutex_t lock;        /* slots */
    pthread_cond_t freed;
    unsigned n;
    struct slot *slots;
    uint64_t ticks; /* give-backs so far */
};

/* What one exchange with a worker produced. */
struct exchange {
    const struct nsl_sandbox_run *run; /* NULL for a syntax check */
    uint32_t http;
    bool http_over;
    json_t *done;
};

nsl_err nsl_sandbox_start(unsigned workers, struct nsl_sandbox **out, struct nsl_error *err)
{
    if (workers == 0 || workers > 1024)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "sandbox pool size must be 1..1024");
    struct nsl_sandbox *sb = calloc(1, sizeof *sb);
    struct slot *slots = calloc(workers, sizeof *slots);
    if (!sb || !slots) {
        free(sb);
        free(slots);
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    if (nsl_zygote_start(&sb->zygote) != 0) {
        free(sb);
        free(slots);
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot start the sandbox zygote");
    }
    for (unsigned i = 0; i < workers; i++)
        slots[i].fd = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sb->freed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&sb->lock, NULL);
    pthread_mutex_init(&sb->zygote_lock, NULL);
    sb->n = workers;
    sb->slots = slots;
    *out = sb;
    return NSL_OK;
}

void nsl_sandbox_stop(struct nsl_sandbox *sb)
{
    if (!sb)
        return;
    for (unsigned i = 0; i < sb->n; i++)
        if (sb->slots[i].fd >= 0)
            close(sb->slots[i].fd);
    nsl_zygote_stop(&sb->zygote); /* it kills and reaps every worker */
    pthread_cond_destroy(&sb->freed);
    pthread_mutex_destroy(&sb->lock);
    pthread_mutex_destroy(&sb->zygote_lock);
    free(sb->slots);
    free(sb);
}

static int spawn(struct nsl_sandbox *sb, struct slot *s)
{
    pthread_mutex_lock(&sb->zygote_lock);
    int rc = nsl_zygote_spawn(&sb->zygote, &s->pid, &s->fd);
    pthread_mutex_unlock(&sb->zygote_lock);
    if (rc != 0) {
        s->pid = 0;
        s->fd = -1;
    }
    return rc;
}

/* Kills (if needed) and reaps the slot's worker, then asks for a replacement. Returns the dead
 * worker's wait status. */
static int retire(struct nsl_sandbox *sb, struct slot *s)
{
    int status = -1;
    if (s->fd >= 0)
        close(s->fd);
    pthread_mutex_lock(&sb->zygote_lock);
    if (s->pid > 0)
        nsl_zygote_reap(&sb->zygote, s->pid, &status);
    pthread_mutex_unlock(&sb->zygote_lock);
    s->pid = 0;
    s->fd = -1;
    spawn(sb, s); /* a failure leaves the slot empty: the next taker retries */
    return status;
}

static nsl_err take(struct nsl_sandbox *sb, struct slot **out, struct nsl_error *err)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += POOL_WAIT_MS / 1000;
    struct slot *s = NULL;
    pthread_mutex_lock(&sb->lock);
    for (;;) {
        /* The worker idle longest: after answering, a worker resets its heap (worker.c), so
         * the one freed last is the likeliest to be still busy with that. */
        for (unsigned i = 0; i < sb->n; i++)
            if (!sb->slots[i].busy && (!s || sb->slots[i].freed < s->freed))
                s = &sb->slots[i];
        if (s || pthread_cond_timedwait(&sb->freed, &sb->lock, &until) == ETIMEDOUT)
            break;
    }
    if (s)
        s->busy = true;
    pthread_mutex_unlock(&sb->lock);
    if (!s)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "every function worker is busy; retry later");
    if (s->pid <= 0 && spawn(sb, s) != 0) {
        pthread_mutex_lock(&sb->lock);
        s->busy = false;
        pthread_cond_signal(&sb->freed);
        pthread_mutex_unlock(&sb->lock);
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "cannot start a function worker");
    }
    *out = s;
    return NSL_OK;
}

static void give_back(struct nsl_sandbox *sb, struct slot *s)
{
    pthread_mutex_lock(&sb->lock);
    s->busy = false;
    s->freed = ++sb->ticks;
    pthread_cond_signal(&sb->freed);
    pthread_mutex_unlock(&sb->lock);
}

static json_t *reply_error(nsl_err code, const char *message)
{
    return json_pack("{s:b,s:s,s:s}", "ok", 0, "code", nsl_err_name(code), "message", message);
}

static json_t *reply_value(json_t *value)
{
    return json_pack("{s:b,s:o}", "ok", 1, "value", value);
}

/* A host string argument: present, 1..NAME_MAX bytes, no NUL. */
static const char *name_arg(const json_t *call, const char *key)
{
    const json_t *v = json_object_get(call, key);
    size_t len = json_string_length(v);
    if (!json_is_string(v) || len == 0 || len > NSL_SANDBOX_NAME_MAX ||
        strlen(json_string_value(v)) != len)
        return NULL;
    return json_string_value(v);
}

static json_t *call_secret(const struct nsl_sandbox_host *host, const json_t *call)
{
    const char *name = name_arg(call, "name");
    if (!name)
        return reply_error(NSL_ERR_INVALID_PARAMS, "bad secret name");
    if (!host || !host->secret_get)
        return reply_error(NSL_ERR_NOT_FOUND, "secret not granted to this function");
    struct nsl_error herr = {0};
    char *value = NULL;
    size_t len = 0;
    nsl_err rc = host->secret_get(host->ctx, name, &value, &len, &herr);
    if (rc != NSL_OK)
        return reply_error(rc, herr.message[0] ? herr.message : nsl_err_description(rc));
    char *hex = nsl_hex_encode_alloc((const uint8_t *)value, len);
    nsl_wipe(value, len);
    free(value);
    if (!hex)
        return reply_error(NSL_ERR_INTERNAL, "out of memory");
    json_t *r = reply_value(json_string(hex));
    nsl_wipe(hex, strlen(hex));
    free(hex);
    return r;
}

static json_t *call_price(const struct nsl_sandbox_host *host, const json_t *call)
{
    const char *pair = name_arg(call, "pair");
    if (!pair)
        return reply_error(NSL_ERR_INVALID_PARAMS, "bad price pair");
    if (!host || !host->price_get)
        return reply_error(NSL_ERR_UNAVAILABLE, "prices are not available here");
    struct nsl_error herr = {0};
    json_t *price = NULL;
    nsl_err rc = host->price_get(host->ctx, pair, &price, &herr);
    if (rc != NSL_OK)
        return reply_error(rc, herr.message[0] ? herr.message : nsl_err_description(rc));
    return reply_value(price ? price : json_null());
}

static json_t *call_http(struct exchange *x, const json_t *call)
{
    const struct nsl_sandbox_host *host = x->run->host;
    const json_t *request = json_object_get(call, "request");
    if (!json_is_object(request))
        return reply_error(NSL_ERR_INVALID_PARAMS, "request must be an object");
    if (x->http >= x->run->limits.max_http) {
        x->http_over = true;
        return reply_error(NSL_ERR_LIMIT_EXCEEDED, "too many outbound HTTP requests");
    }
    x->http++;
    if (!host || !host->http_request)
        return reply_error(NSL_ERR_UNAVAILABLE, "outbound HTTP is not available here");
    struct nsl_error herr = {0};
    json_t *response = NULL;
    nsl_err rc = host->http_request(host->ctx, request, &response, &herr);
    if (rc != NSL_OK)
        return reply_error(rc, herr.message[0] ? herr.message : nsl_err_description(rc));
    return reply_value(response ? response : json_null());
}

static json_t *call_random(const json_t *call)
{
    json_int_t n = json_integer_value(json_object_get(call, "n"));
    if (!json_is_integer(json_object_get(call, "n")) || n < 1 || n > NSL_SANDBOX_RANDOM_MAX)
        return reply_error(NSL_ERR_INVALID_PARAMS, "bad byte count");
    uint8_t bytes[NSL_SANDBOX_RANDOM_MAX];
    char hex[2 * NSL_SANDBOX_RANDOM_MAX + 1];
    if (nsl_random_bytes(bytes, (size_t)n) != 0)
        return reply_error(NSL_ERR_INTERNAL, "no randomness");
    nsl_hex_encode(bytes, (size_t)n, hex);
    return reply_value(json_string(hex));
}

static json_t *host_reply(struct exchange *x, const json_t *call)
{
    const char *op = json_string_value(json_object_get(call, "op"));
    if (!x->run || !op)
        return reply_error(NSL_ERR_INVALID_PARAMS, "no host calls here");
    if (strcmp(op, "secret") == 0)
        return call_secret(x->run->host, call);
    if (strcmp(op, "price") == 0)
        return call_price(x->run->host, call);
    if (strcmp(op, "http") == 0)
        return call_http(x, call);
    if (strcmp(op, "random") == 0)
        return call_random(call);
    return reply_error(NSL_ERR_INVALID_PARAMS, "unknown host call");
}

static int remaining_ms(uint64_t deadline_ns)
{
    uint64_t now = nsl_sandbox_now_ns();
    if (now >= deadline_ns)
        return 0;
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    return ms > 1000000 ? 1000000 : (int)ms;
}

/* Sends job and serves the worker until its final frame (x->done) or the deadline. */
static nsl_err exchange(struct nsl_sandbox *sb, struct slot *s, const json_t *job,
                        uint64_t deadline_ns, struct exchange *x, struct nsl_error *err)
{
    bool sent = nsl_sandbox_send(s->fd, job) == 0;
    while (sent) {
        int left = remaining_ms(deadline_ns);
        json_t *msg = NULL;
        if (left == 0 || nsl_sandbox_recv(s->fd, left, &msg) != 0) {
            if (left == 0 || errno == ETIMEDOUT) {
                retire(sb, s);
                return nsl_fail(err, NSL_ERR_TIMEOUT,
                                "the function ran out of time (its worker was stopped)");
            }
            break;
        }
        const char *type = json_string_value(json_object_get(msg, "type"));
        if (type && strcmp(type, "done") == 0) {
            x->done = msg;
            return NSL_OK;
        }
        if (!type || strcmp(type, "call") != 0) {
            json_decref(msg);
            break;
        }
        json_t *reply = host_reply(x, msg);
        json_decref(msg);
        if (!reply)
            reply = reply_error(NSL_ERR_INTERNAL, "out of memory");
        sent = reply && nsl_sandbox_send(s->fd, reply) == 0;
        json_t *value = json_object_get(reply, "value");
        if (json_is_string(value)) /* a secret's hex */
            nsl_wipe((char *)json_string_value(value), json_string_length(value));
        json_decref(reply);
    }
    int status = retire(sb, s);
    nsl_logf(NSL_LOG_WARN, "sandbox_worker_died", "wait status %d", status);
    return nsl_fail(err, NSL_ERR_FUNCTION_FAILED, "the function's worker died");
}

static json_t *limits_json(const struct nsl_sandbox_limits *l)
{
    return json_pack("{s:I,s:I,s:I,s:I}", "time_ms", (json_int_t)l->time_ms, "memory_bytes",
                     (json_int_t)l->memory_bytes, "max_result", (json_int_t)l->max_result,
                     "max_logs", (json_int_t)l->max_logs);
}

/* The worker's verdict: one of the codes a worker may report. */
static nsl_err done_status(const json_t *done)
{
    nsl_err code;
    const char *name = json_string_value(json_object_get(done, "status"));
    if (!name || !nsl_err_from_name(name, &code))
        return NSL_ERR_INTERNAL;
    switch (code) {
    case NSL_OK:
    case NSL_ERR_FUNCTION_FAILED:
    case NSL_ERR_TIMEOUT:
    case NSL_ERR_LIMIT_EXCEEDED:
    case NSL_ERR_INVALID_PARAMS:
        return code;
    default:
        return NSL_ERR_INTERNAL;
    }
}

static const char *done_text(const json_t *done, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(done, key));
    return s ? s : fallback;
}

/* Runs one job on a worker from the pool; on NSL_OK *done is the worker's final frame. */
static nsl_err run_job(struct nsl_sandbox *sb, json_t *job, uint32_t time_ms, struct exchange *x,
                       struct nsl_error *err)
{
    if (!job)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    struct slot *s = NULL;
    nsl_err rc = take(sb, &s, err);
    if (rc == NSL_OK) {
        uint64_t deadline = nsl_sandbox_now_ns() + ((uint64_t)time_ms + KILL_GRACE_MS) * 1000000u;
        rc = exchange(sb, s, job, deadline, x, err);
        if (rc == NSL_OK && json_is_true(json_object_get(x->done, "retire")))
            retire(sb, s);
        give_back(sb, s);
    }
    json_decref(job);
    return rc;
}

nsl_err nsl_sandbox_check_syntax(struct nsl_sandbox *sb, const char *source, size_t len,
                                 struct nsl_error *err)
{
    if (!source || len == 0 || len > MAX_SOURCE_BYTES)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "source must be 1..%u bytes",
                        MAX_SOURCE_BYTES);
    struct nsl_sandbox_limits l = {.time_ms = SYNTAX_TIME_MS, .memory_bytes = SYNTAX_MEMORY};
    json_t *src = json_stringn(source, len);
    if (!src)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "source is not UTF-8 text");
    struct exchange x = {0};
    NSL_TRY(run_job(sb,
                    json_pack("{s:s,s:o,s:n,s:o}", "type", "syntax", "source", src, "args",
                              "limits", limits_json(&l)),
                    l.time_ms, &x, err));
    nsl_err code = done_status(x.done);
    if (code == NSL_ERR_INVALID_PARAMS)
        nsl_fail(err, code, "%s", done_text(x.done, "message", "syntax error"));
    else if (code != NSL_OK)
        nsl_fail(err, code, "%s", done_text(x.done, "message", "the syntax check failed"));
    json_decref(x.done);
    return code;
}

/* Moves the worker's logs and result into out after checking their shape. */
static void take_outcome(const json_t *done, struct nsl_sandbox_outcome *out)
{
    json_t *logs = json_object_get(done, "logs");
    json_t *clean = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(logs, i, e)
    {
        const char *level = json_string_value(json_object_get(e, "level"));
        const json_t *message = json_object_get(e, "message");
        if (level && json_is_string(message))
            json_array_append_new(clean,
                                  json_pack("{s:s,s:O}", "level", level, "message", message));
    }
    out->logs = clean;
    json_int_t peak = json_integer_value(json_object_get(done, "memory_peak"));
    out->memory_peak = peak > 0 ? (size_t)peak : 0;
}

static nsl_err take_result(const json_t *done, const struct nsl_sandbox_limits *l,
                           struct nsl_sandbox_outcome *out, struct nsl_error *err)
{
    const json_t *text = json_object_get(done, "result");
    if (!json_is_string(text))
        return nsl_fail(err, NSL_ERR_INTERNAL, "the function's worker sent no result");
    if (json_string_length(text) > l->max_result)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "the function's result exceeded its limit");
    json_error_t jerr;
    out->result = json_loadb(json_string_value(text), json_string_length(text),
                             JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!out->result)
        return nsl_fail(err, NSL_ERR_FUNCTION_FAILED, "the function's result is not valid JSON");
    return NSL_OK;
}

nsl_err nsl_sandbox_invoke(struct nsl_sandbox *sb, const struct nsl_sandbox_run *run,
                           struct nsl_sandbox_outcome *out, struct nsl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!run || !run->source || run->source_len == 0 || run->source_len > MAX_SOURCE_BYTES)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "source must be 1..%u bytes",
                        MAX_SOURCE_BYTES);
    if (run->limits.time_ms == 0 || run->limits.memory_bytes == 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "time and memory limits must be set");
    json_t *src = json_stringn(run->source, run->source_len);
    if (!src)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "source is not UTF-8 text");
    json_t *args = run->args ? json_deep_copy(run->args) : json_null();
    /* Math.random's state for this job alone (duk_random.h): a worker serves every account, so
     * a state carried over from the last job would let one account predict another's numbers. */
    uint8_t seed[16];
    char seed_hex[2 * sizeof seed + 1];
    if (nsl_random_bytes(seed, sizeof seed) != 0) {
        json_decref(src);
        json_decref(args);
        return nsl_fail(err, NSL_ERR_INTERNAL, "no randomness for the job");
    }
    nsl_hex_encode(seed, sizeof seed, seed_hex);
    uint64_t start = nsl_sandbox_now_ns();
    struct exchange x = {.run = run};
    nsl_err rc = run_job(sb,
                         json_pack("{s:s,s:o,s:o*,s:o,s:s}", "type", "job", "source", src, "args",
                                   args, "limits", limits_json(&run->limits), "seed", seed_hex),
                         run->limits.time_ms, &x, err);
    out->duration_us = (nsl_sandbox_now_ns() - start) / 1000;
    out->http_requests = x.http;
    if (rc != NSL_OK)
        return rc;
    take_outcome(x.done, out);
    rc = done_status(x.done);
    const char *message = done_text(x.done, "message", "the function failed");
    if (x.http_over && (rc == NSL_OK || rc == NSL_ERR_FUNCTION_FAILED))
        rc = nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "too many outbound HTTP requests");
    else if (rc == NSL_OK)
        rc = take_result(x.done, &run->limits, out, err);
    else if (rc == NSL_ERR_FUNCTION_FAILED) {
        const char *stack = done_text(x.done, "stack", "");
        out->error = json_pack("{s:s,s:s}", "message", message, "stack", stack);
        nsl_fail(err, rc, "%s%s%s", message, stack[0] ? "\n" : "", stack);
    } else
        nsl_fail(err, rc, "%s", message);
    json_decref(x.done);
    return rc;
}

void nsl_sandbox_outcome_free(struct nsl_sandbox_outcome *out)
{
    if (!out)
        return;
    json_decref(out->result);
    json_decref(out->logs);
    json_decref(out->error);
    memset(out, 0, sizeof *out);
}
