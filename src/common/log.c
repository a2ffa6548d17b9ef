/* JSON-lines logger (see log.h). Formatting is done into a stack buffer and escaped by hand: the
 * logger must work when allocation fails and must never reorder or split a line. */
#include "common/log.h"
#include "common/log_output.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_program = "nsl";
/* Read on every log call from any thread, written rarely (start, system.setLogLevel, SIGHUP). */
static _Atomic int log_min[NSL_LOGC_COUNT] = {[0 ... NSL_LOGC_COUNT - 1] = NSL_LOG_INFO};
static _Thread_local char log_rid[96];

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const component_names[] = {
#define NSL_LOG_COMPONENT_NAME(id, name) name,
    NSL_LOG_COMPONENTS(NSL_LOG_COMPONENT_NAME)
#undef NSL_LOG_COMPONENT_NAME
};

void nsl_log_init(const char *program, enum nsl_log_level min_level)
{
    log_program = program;
    for (int c = 0; c < NSL_LOGC_COUNT; c++)
        nsl_log_set_level((enum nsl_log_component)c, min_level);
}

int nsl_log_level_parse(const char *name, enum nsl_log_level *level)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum nsl_log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *nsl_log_level_name(enum nsl_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "off";
}

int nsl_log_component_parse(const char *name, enum nsl_log_component *component)
{
    for (int i = 0; i < NSL_LOGC_COUNT; i++) {
        if (strcmp(name, component_names[i]) == 0) {
            *component = (enum nsl_log_component)i;
            return 0;
        }
    }
    return -1;
}

const char *nsl_log_component_name(enum nsl_log_component component)
{
    return (unsigned)component < NSL_LOGC_COUNT ? component_names[component] : "?";
}

void nsl_log_component_list(char *out, size_t len)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < NSL_LOGC_COUNT && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", component_names[i]);
}

/* The component named by item[0, len), or -1 (with why filled). */
static int parse_component(const char *item, size_t len, enum nsl_log_component *c, char *why,
                           size_t why_len)
{
    char name[32], names[256];
    if (len < sizeof name) {
        memcpy(name, item, len);
        name[len] = 0;
        if (nsl_log_component_parse(name, c) == 0)
            return 0;
    }
    nsl_log_component_list(names, sizeof names);
    snprintf(why, why_len, "\"%s\": unknown component (one of %s)", item, names);
    return -1;
}

/* One item of a spec: "LEVEL" or "COMPONENT=LEVEL" (the component is checked first).
 * named[c] tells which components the spec has named so far. */
static int parse_item(const char *item, struct nsl_log_levels *out, bool named[],
                      enum nsl_log_level *bare, bool *have_bare, char *why, size_t why_len)
{
    const char *eq = strchr(item, '=');
    enum nsl_log_component c = NSL_LOGC_MAIN;
    enum nsl_log_level level;
    if (eq && parse_component(item, (size_t)(eq - item), &c, why, why_len) != 0)
        return -1;
    if (nsl_log_level_parse(eq ? eq + 1 : item, &level) != 0) {
        snprintf(why, why_len, "\"%s\": level must be debug, info, warn or error", item);
        return -1;
    }
    if (!eq) {
        if (*have_bare) {
            snprintf(why, why_len, "\"%s\": only one level without a component", item);
            return -1;
        }
        *have_bare = true;
        *bare = level;
        return 0;
    }
    if (named[c]) {
        snprintf(why, why_len, "\"%s\": component named twice", item);
        return -1;
    }
    named[c] = true;
    out->level[c] = level;
    return 0;
}

int nsl_log_levels_parse(const char *spec, struct nsl_log_levels *out, char *why, size_t why_len)
{
    struct nsl_log_levels got; /* out changes only when the whole spec is good */
    bool named[NSL_LOGC_COUNT] = {false};
    bool have_bare = false;
    enum nsl_log_level bare = NSL_LOG_INFO;
    char item[128];
    const char *p = spec;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof item) {
            snprintf(why, why_len, "%s item in \"%.64s\"", n ? "overlong" : "empty", spec);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        if (parse_item(item, &got, named, &bare, &have_bare, why, why_len) != 0)
            return -1;
        if (p[n] == 0)
            break;
        p += n + 1;
    }
    for (int c = 0; c < NSL_LOGC_COUNT; c++)
        if (!named[c])
            got.level[c] = bare;
    *out = got;
    return 0;
}

void nsl_log_levels_apply(const struct nsl_log_levels *levels)
{
    for (int c = 0; c < NSL_LOGC_COUNT; c++)
        nsl_log_set_level((enum nsl_log_component)c, levels->level[c]);
}

void nsl_log_levels_current(struct nsl_log_levels *out)
{
    for (int c = 0; c < NSL_LOGC_COUNT; c++)
        out->level[c] = (enum nsl_log_level)atomic_load_explicit(&log_min[c], memory_order_relaxed);
}

void nsl_log_set_level(enum nsl_log_component component, enum nsl_log_level level)
{
    if ((unsigned)component < NSL_LOGC_COUNT)
        atomic_store_explicit(&log_min[component], (int)level, memory_order_relaxed);
}

void nsl_log_set_request_id(const char *rid)
{
    if (!rid) {
        log_rid[0] = 0;
        return;
    }
    size_t n = strnlen(rid, sizeof log_rid - 1); /* set and cleared several times per request */
    memcpy(log_rid, rid, n);
    log_rid[n] = 0;
}

const char *nsl_log_request_id(void)
{
    return log_rid;
}

int nsl_log_enabled_for(enum nsl_log_component component, enum nsl_log_level level)
{
    return (unsigned)component < NSL_LOGC_COUNT &&
           (int)level >= atomic_load_explicit(&log_min[component], memory_order_relaxed);
}

struct line {
    char buf[4096];
    size_t len;
    bool full; /* a piece did not fit */
};

/* Room left before the "}\n" that finish() appends. */
static size_t room(const struct line *l)
{
    return sizeof l->buf - 2 - l->len;
}

/* Writes all of s or, when it does not fit, nothing: the line stays valid JSON. */
static void put_raw(struct line *l, const char *s, size_t n)
{
    if (n > room(l)) {
        l->full = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Writes s as a JSON string, truncating it (never inside an escape or a UTF-8 sequence) so that
 * its closing quote always fits. */
static void put_escaped(struct line *l, const char *s)
{
    if (room(l) < 2) {
        l->full = true;
        return;
    }
    put_raw(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        char esc[8];
        const char *out = (const char *)p;
        size_t n = 1, used = 1; /* bytes written, bytes of s consumed */
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            out = esc;
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
            out = esc;
        } else if (*p >= 0x80) { /* a UTF-8 sequence goes whole or not at all */
            size_t want = *p >= 0xf8 ? 0 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 0;
            while (used < want && (p[used] & 0xc0) == 0x80)
                used++;
            n = used;
            if (used != want) { /* cut short (e.g. by a truncated format) or stray: U+FFFD */
                out = "\\ufffd";
                n = 6;
            }
        }
        if (n + 1 > room(l))
            break;
        memcpy(l->buf + l->len, out, n);
        l->len += n;
        p += used;
    }
    put_raw(l, "\"", 1);
}

/* Adds "key":"value", or drops the whole field when it cannot fit. */
static void put_field(struct line *l, const char *key, const char *value)
{
    size_t start = l->len;
    put_raw(l, ",", 1);
    put_escaped(l, key);
    put_raw(l, ":", 1);
    put_escaped(l, value ? value : "");
    if (l->full) {
        l->len = start;
        l->full = false;
    }
}

/* "2026-11-25T14:50:28.556Z": the part up to the seconds is formatted once a second per thread
 * (it showed in the parent's per-request profile). */
static void format_time(char when[72])
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    size_t n = strlen(cached);
    memcpy(when, cached, n);
    when[n] = '.';
    when[n + 1] = (char)('0' + ms / 100);
    when[n + 2] = (char)('0' + ms / 10 % 10);
    when[n + 3] = (char)('0' + ms % 10);
    when[n + 4] = 'Z';
    when[n + 5] = 0;
}

static void begin(struct line *l, enum nsl_log_component component, enum nsl_log_level level,
                  const char *event)
{
    char when[72];
    format_time(when);
    l->len = 0;
    l->full = false;
    put_raw(l, "{\"ts\":", 6);
    put_escaped(l, when);
    put_field(l, "level", level_names[level]);
    put_field(l, "proc", log_program);
    put_field(l, "component", component_names[component]);
    put_field(l, "event", event);
    if (log_rid[0])
        put_field(l, "rid", log_rid);
}

/* Warnings and errors are written at once, with what was logged before them. */
static void finish(struct line *l, enum nsl_log_level level)
{
    memcpy(l->buf + l->len, "}\n", 2);
    l->len += 2;
    nsl_log_output_line(l->buf, l->len, level >= NSL_LOG_WARN);
}

void nsl_log_at(enum nsl_log_component component, enum nsl_log_level level, const char *event, ...)
{
    if (!nsl_log_enabled_for(component, level))
        return;
    struct line l;
    begin(&l, component, level, event);
    va_list ap;
    va_start(ap, event);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL)
        put_field(&l, key, va_arg(ap, const char *));
    va_end(ap);
    finish(&l, level);
}

void nsl_logf_at(enum nsl_log_component component, enum nsl_log_level level, const char *event,
                 const char *fmt, ...)
{
    if (!nsl_log_enabled_for(component, level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct line l;
    begin(&l, component, level, event);
    put_field(&l, "msg", msg);
    finish(&l, level);
}

int nsl_log_levels_check(const char *spec, char *why, size_t why_len)
{
    struct nsl_log_levels unused;
    return nsl_log_levels_parse(spec, &unused, why, why_len);
}
