/* A sandbox worker: forked by the zygote, it prepares itself (no core, warm-up of the lazily
 * initialised paths that would need syscalls later, its Duktape heap), installs its seccomp
 * filter and then serves jobs from the pool one at a time. Each job gets a FRESH Duktape heap
 * whose allocator enforces the job's byte cap and whose execution-timeout check enforces its
 * deadline; nothing survives from one job to the next. Duktape errors longjmp, so all JS work runs
 * under duk_safe_call.
 *
 * How a heap is fresh for every job at little cost: the worker creates one heap, installs the
 * runtime in it (no user code runs) and saves its memory's image (arena.h). After a job, that
 * image is copied back over the heap and every other byte the job's heap held is wiped, so the
 * next job starts from a heap byte-for-byte as it was when newly created — no global, prototype
 * change, closure or value survives — without paying for creating and destroying one. The worker
 * answers first and resets afterwards (a heap that grew big is reset before the answer). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "sandbox/arena.h"
#include "sandbox/sandbox_internal.h"

/* The byte cap while the pristine heap is made (a fresh heap with the runtime takes a few
 * hundred KiB); a job's own cap applies from its start. */
#define PREPARE_CAP (16u << 20)
/* A job's heap is reset after the answer only up to this peak size (see nsl_worker_main). */
#define DEFER_RESET_MAX (1u << 20)
/* Address space reserved for heaps: a trivial function's heap fits many times over; a bigger
 * one spills into malloc'd blocks (arena.h). */
#define ARENA_RESERVE (32u << 20)

/* A job's Duktape-side inputs and outputs (duk_safe_call's udata). */
struct js_call {
    const char *source;
    size_t source_len;
    const char *args; /* JSON text */
    size_t args_len;
    bool syntax_only;
};

static int g_fd = -1; /* the socket to the pool */
/* The state of the worker's one heap: its udata for the whole of its life. */
static struct nsl_sandbox_heap g_heap;
static struct nsl_arena g_arena;     /* that heap's memory */
static duk_context *g_ctx;           /* that heap, fresh: made once, reset after every job */
static size_t g_fresh_used;          /* bytes a fresh heap holds */
static struct nsl_worker_job *g_job; /* the running job, until it is answered */

static void *heap_alloc(void *udata, duk_size_t size)
{
    struct nsl_sandbox_heap *h = udata;
    if (size > h->cap - h->used) {
        h->memory_refused = true;
        return NULL;
    }
    void *p = nsl_arena_alloc(&g_arena, size);
    if (!p)
        return NULL;
    h->used += size;
    if (h->used > h->peak)
        h->peak = h->used;
    return p;
}

static void heap_free(void *udata, void *ptr)
{
    struct nsl_sandbox_heap *h = udata;
    if (!ptr)
        return;
    h->used -= nsl_arena_size(ptr);
    nsl_arena_free(&g_arena, ptr); /* wiped: heap strings can hold secret values */
}

static void *heap_realloc(void *udata, void *ptr, duk_size_t size)
{
    if (!ptr)
        return heap_alloc(udata, size);
    if (size == 0) {
        heap_free(udata, ptr);
        return NULL;
    }
    size_t old = nsl_arena_size(ptr);
    /* Move rather than realloc, so the old block is wiped too. */
    void *q = heap_alloc(udata, size);
    if (!q)
        return NULL;
    memcpy(q, ptr, old < size ? old : size);
    heap_free(udata, ptr);
    return q;
}

static json_t *done_msg(nsl_err status, const char *message)
{
    json_t *m = json_pack("{s:s,s:s}", "type", "done", "status", nsl_err_name(status));
    if (m && message)
        json_object_set_new(m, "message", json_string(message));
    return m;
}

/* Duktape gave up (an error while handling an error, usually out of memory): report and die, the
 * pool replaces the worker. */
__attribute__((noreturn)) static void heap_fatal(void *udata, const char *msg)
{
    (void)udata;
    (void)msg;
    if (!g_job || g_job->closed)
        _exit(3); /* no job to answer for: the pool finds the worker gone and replaces it */
    bool memory = g_heap.memory_refused;
    json_t *m = done_msg(memory ? NSL_ERR_LIMIT_EXCEEDED : NSL_ERR_FUNCTION_FAILED,
                         memory ? "memory limit exceeded" : "the function's interpreter failed");
    if (m) {
        json_object_set_new(m, "retire", json_true());
        if (g_job->logs)
            json_object_set(m, "logs", g_job->logs);
        nsl_sandbox_send(g_fd, m);
    }
    _exit(3);
}

/* [source] -> compiled program, or throws its SyntaxError. */
static duk_ret_t js_compile(duk_context *ctx, const struct js_call *c)
{
    duk_push_string(ctx, "function.js");
    if (duk_pcompile_lstring_filename(ctx, 0, c->source, c->source_len) != 0)
        return duk_throw(ctx);
    return 1;
}

/* Compiles and runs the program, then main(args); leaves main's result as JSON text. */
static duk_ret_t js_run(duk_context *ctx, void *udata)
{
    const struct js_call *c = udata;
    if (c->syntax_only)
        return js_compile(ctx, c);
    js_compile(ctx, c);
    duk_call(ctx, 0);
    duk_pop(ctx);
    duk_get_global_string(ctx, "main");
    if (!duk_is_function(ctx, -1))
        return duk_error(ctx, DUK_ERR_REFERENCE_ERROR, "main is not a function");
    duk_push_lstring(ctx, c->args, c->args_len);
    duk_json_decode(ctx, -1);
    duk_call(ctx, 1);
    if (!duk_is_undefined(ctx, -1))
        duk_json_encode(ctx, -1);
    if (!duk_is_string(ctx, -1)) { /* undefined, or a value JSON leaves out (a function) */
        duk_pop(ctx);
        duk_push_string(ctx, "null");
    }
    return 1;
}

/* [error] -> [error message stack line]: read under protection (getters are user code). */
static duk_ret_t js_describe(duk_context *ctx, void *udata)
{
    (void)udata;
    if (duk_is_object(ctx, 0)) {
        duk_get_prop_string(ctx, 0, "message");
        duk_safe_to_string(ctx, -1);
        duk_get_prop_string(ctx, 0, "stack");
        duk_safe_to_string(ctx, -1);
        duk_get_prop_string(ctx, 0, "lineNumber");
    } else {
        duk_dup(ctx, 0);
        duk_safe_to_string(ctx, -1);
        duk_push_undefined(ctx);
        duk_push_undefined(ctx);
    }
    return 3;
}

/* Strips Duktape's " (line N)" suffix: the line is reported separately. */
static void strip_line_suffix(char *msg)
{
    char *p = strstr(msg, " (line ");
    if (p && strchr(p, ')') && strchr(p, ')')[1] == 0)
        *p = 0;
}

static void set_text(json_t *m, const char *key, const char *text)
{
    json_t *s = json_string(text);
    if (!s) { /* not UTF-8: keep the ASCII */
        char *copy = strdup(text);
        if (!copy)
            return;
        for (char *p = copy; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        s = json_string(copy);
        free(copy);
    }
    json_object_set_new(m, key, s);
}

/* The thrown value at the top of ctx -> a done message. */
static json_t *describe_error(duk_context *ctx, bool syntax_only)
{
    json_t *m = done_msg(syntax_only ? NSL_ERR_INVALID_PARAMS : NSL_ERR_FUNCTION_FAILED, NULL);
    if (!m)
        return NULL;
    if (duk_safe_call(ctx, js_describe, NULL, 1, 3) != DUK_EXEC_SUCCESS)
        return m;
    char *msg = strdup(duk_get_string(ctx, -3) ? duk_get_string(ctx, -3) : "error");
    if (!msg)
        return m;
    if (syntax_only) {
        strip_line_suffix(msg);
        char text[512];
        snprintf(text, sizeof text, "line %ld: %s", (long)duk_get_int_default(ctx, -1, 0), msg);
        set_text(m, "message", text);
    } else {
        set_text(m, "message", msg);
        if (duk_get_string(ctx, -2))
            set_text(m, "stack", duk_get_string(ctx, -2));
    }
    free(msg);
    return m;
}

/* A job between its start and the destruction of its heap (after the answer). */
struct job_run {
    duk_context *ctx;
    struct nsl_worker_job wj;
    char *args;
};

static duk_ret_t js_install(duk_context *ctx, void *udata)
{
    (void)udata;
    nsl_runtime_install(ctx);
    return 0;
}

/* The worker's one heap, made once: fresh, with the runtime installed and no user code run,
 * then saved (arena.h) so that every job starts from an exact copy of it. */
static duk_context *make_pristine_heap(void)
{
    if (nsl_arena_init(&g_arena, ARENA_RESERVE) != 0)
        return NULL;
    /* Math.random's state (duk_random.h): this worker's own, from the kernel (before the filter,
     * which refuses getrandom). */
    if (getrandom(g_heap.random_state, sizeof g_heap.random_state, 0) !=
        (ssize_t)sizeof g_heap.random_state)
        return NULL;
    g_heap.cap = PREPARE_CAP;
    duk_context *ctx = duk_create_heap(heap_alloc, heap_realloc, heap_free, &g_heap, heap_fatal);
    if (!ctx || duk_safe_call(ctx, js_install, NULL, 0, 0) != DUK_EXEC_SUCCESS ||
        g_heap.memory_refused || nsl_arena_save(&g_arena) != 0)
        return NULL;
    g_fresh_used = g_heap.used;
    return ctx;
}

/* The job's heap: the fresh one under the job's cap and deadline, or NULL (LIMIT_EXCEEDED)
 * when the cap is below what a fresh heap holds. */
static duk_context *job_heap(size_t cap, uint64_t deadline_ns, struct nsl_worker_job *wj)
{
    g_heap.used = g_fresh_used;
    g_heap.peak = g_heap.used; /* the job's peak: from the fresh heap's size up */
    g_heap.cap = cap;
    g_heap.deadline_ns = deadline_ns;
    g_heap.memory_refused = g_heap.timed_out = false;
    g_heap.worker = wj;
    if (g_heap.used > cap) {
        g_heap.memory_refused = true;
        return NULL;
    }
    return g_ctx;
}

/* Math.random's state for the next job, from the pool's seed (32 hex digits). Without a valid
 * one the state carries on from the last job, which the pool never lets happen. */
static void reseed_random(const char *seed)
{
    uint8_t bytes[sizeof g_heap.random_state];
    size_t n = 0;
    if (!seed || nsl_hex_decode(seed, strlen(seed), bytes, sizeof bytes, &n) != 0 ||
        n != sizeof bytes)
        return;
    memcpy(g_heap.random_state, bytes, sizeof bytes);
    if ((g_heap.random_state[0] | g_heap.random_state[1]) == 0)
        g_heap.random_state[0] = 1; /* xoroshiro's one state that never moves */
}

/* Runs a job up to its answer (returned); its heap keeps its state until end_job. */
static json_t *run_job(const json_t *job, struct job_run *r)
{
    bool syntax_only = strcmp(json_string_value(json_object_get(job, "type")), "syntax") == 0;
    const json_t *src = json_object_get(job, "source");
    const json_t *limits = json_object_get(job, "limits");
    r->args = json_dumps(json_object_get(job, "args"), JSON_ENCODE_ANY | JSON_COMPACT);
    if (!json_is_string(src) || !json_is_object(limits) || !r->args)
        return done_msg(NSL_ERR_INTERNAL, "malformed job");
    reseed_random(json_string_value(json_object_get(job, "seed")));
    uint64_t time_ms = (uint64_t)json_integer_value(json_object_get(limits, "time_ms"));
    r->wj = (struct nsl_worker_job){
        .fd = g_fd,
        .max_logs = (size_t)json_integer_value(json_object_get(limits, "max_logs")),
        .logs = json_array(),
    };
    size_t max_result = (size_t)json_integer_value(json_object_get(limits, "max_result"));
    g_job = &r->wj;
    struct js_call call = {json_string_value(src), json_string_length(src), r->args,
                           strlen(r->args), syntax_only};
    r->ctx = job_heap((size_t)json_integer_value(json_object_get(limits, "memory_bytes")),
                      nsl_sandbox_now_ns() + time_ms * 1000000u, &r->wj);
    if (!r->ctx)
        return done_msg(g_heap.memory_refused ? NSL_ERR_LIMIT_EXCEEDED : NSL_ERR_INTERNAL,
                        "the function's heap could not be created");
    duk_context *ctx = r->ctx;
    int rc = duk_safe_call(ctx, js_run, &call, 0, 1);
    json_t *done = NULL;
    if (g_heap.memory_refused)
        done = done_msg(NSL_ERR_LIMIT_EXCEEDED, "the function exceeded its memory limit");
    else if (g_heap.timed_out)
        done = done_msg(NSL_ERR_TIMEOUT, "the function ran out of time");
    else if (r->wj.logs_exceeded)
        done = done_msg(NSL_ERR_LIMIT_EXCEEDED, "the function's console output exceeded its limit");
    else if (r->wj.limit_reported)
        done = done_msg(NSL_ERR_LIMIT_EXCEEDED, "the function exceeded its outbound call limit");
    else if (rc != DUK_EXEC_SUCCESS)
        done = describe_error(ctx, syntax_only);
    else if (syntax_only)
        done = done_msg(NSL_OK, NULL);
    else {
        duk_size_t len = 0;
        const char *text = duk_get_lstring(ctx, -1, &len);
        if (len > max_result)
            done = done_msg(NSL_ERR_LIMIT_EXCEEDED, "the function's result exceeded its limit");
        else if ((done = done_msg(NSL_OK, NULL)) != NULL)
            json_object_set_new(done, "result", json_stringn(text, len));
    }
    return done;
}

/* Adds what the answer reports about the job's logs and memory. */
static void finish_answer(json_t *done, const struct job_run *r)
{
    if (!done)
        return;
    json_object_set_new(done, "logs", r->wj.logs ? json_incref(r->wj.logs) : json_array());
    json_object_set_new(done, "memory_peak", json_integer((json_int_t)g_heap.peak));
}

/* After the answer: closes the job (natives throw from now on, so nothing can reach the socket
 * or the logs), puts the fresh heap back in place of the job's — the saved image over it, every
 * other byte it held wiped (arena.h); no JS runs, finalizers included — and frees the job's C
 * memory. */
static void end_job(struct job_run *r)
{
    r->wj.closed = true;
    if (r->ctx)
        nsl_arena_reset(&g_arena);
    g_heap.worker = NULL;
    nsl_runtime_release(&r->wj);
    json_decref(r->wj.logs);
    free(r->args);
    g_job = NULL;
    *r = (struct job_run){0};
}

/* Runs once before the filter: paths Duktape and libc initialise lazily with syscalls the filter
 * refuses (time zone file for Date, jansson's hash seed). */
static void warm_up(void)
{
    json_object_seed(0);
    /* Functions run in UTC; a POSIX TZ string also spares glibc re-checking /etc/localtime on
     * every local-time conversion (a stat the filter refuses). */
    setenv("TZ", "UTC0", 1);
    tzset();
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    duk_context *ctx = duk_create_heap_default();
    if (ctx) {
        duk_peval_string_noresult(ctx, "new Date().toString(); new Date(2020, 1, 1).getHours();"
                                       "Math.random(); JSON.stringify({a: [1]});"
                                       "'x'.replace(/x/, 'y');");
        duk_destroy_heap(ctx);
    }
}

void nsl_worker_main(int fd)
{
    g_fd = fd;
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0);
    warm_up();
    if ((g_ctx = make_pristine_heap()) == NULL)
        _exit(2); /* the pool finds the worker gone at its first job and replaces it */
    if (nsl_sandbox_seccomp_install(fd) != 0)
        _exit(2);
    for (;;) {
        json_t *job = NULL;
        if (nsl_sandbox_recv(fd, -1, &job) != 0)
            _exit(0); /* the pool closed our socket */
        const char *type = json_string_value(json_object_get(job, "type"));
        struct job_run r = {0};
        json_t *done = NULL;
        if (type && (strcmp(type, "job") == 0 || strcmp(type, "syntax") == 0))
            done = run_job(job, &r);
        else
            done = done_msg(NSL_ERR_INTERNAL, "unknown message");
        json_decref(job);
        finish_answer(done, &r);
        /* A big heap takes long to wipe: that happens before the answer, so it never eats into
         * the time of the next job, which the pool starts counting at once. */
        if (g_heap.peak > DEFER_RESET_MAX)
            end_job(&r);
        int rc = done ? nsl_sandbox_send(fd, done) : -1;
        json_decref(done);
        end_job(&r);
        if (rc != 0)
            _exit(1);
    }
}
