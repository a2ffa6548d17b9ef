/* JSON-lines logger (see log.h). Formatting is done into a stack buffer and escaped by hand: the
 * logger must work when allocation fails and must never reorder or split a line. */
#include "common/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_component = "nsl";
static enum nsl_log_level log_min = NSL_LOG_INFO;
static _Thread_local char log_rid[96];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void nsl_log_init(const char *component, enum nsl_log_level min_level)
{
    log_component = component;
    log_min = min_level;
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

void nsl_log_set_request_id(const char *rid)
{
    if (!rid) {
        log_rid[0] = 0;
        return;
    }
    snprintf(log_rid, sizeof log_rid, "%s", rid);
}

int nsl_log_enabled(enum nsl_log_level level)
{
    return level >= log_min;
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

static void begin(struct line *l, enum nsl_log_level level, const char *event)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    l->len = 0;
    l->full = false;
    put_raw(l, "{\"ts\":", 6);
    put_escaped(l, when);
    put_field(l, "level", level_names[level]);
    put_field(l, "component", log_component);
    put_field(l, "event", event);
    if (log_rid[0])
        put_field(l, "rid", log_rid);
}

static void finish(struct line *l)
{
    memcpy(l->buf + l->len, "}\n", 2);
    l->len += 2;
    ssize_t off = 0;
    while ((size_t)off < l->len) {
        ssize_t n = write(STDERR_FILENO, l->buf + off, l->len - (size_t)off);
        if (n <= 0)
            return;
        off += n;
    }
}

void nsl_log(enum nsl_log_level level, const char *event, ...)
{
    if (level < log_min)
        return;
    struct line l;
    begin(&l, level, event);
    va_list ap;
    va_start(ap, event);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL)
        put_field(&l, key, va_arg(ap, const char *));
    va_end(ap);
    finish(&l);
}

void nsl_logf(enum nsl_log_level level, const char *event, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct line l;
    begin(&l, level, event);
    put_field(&l, "msg", msg);
    finish(&l);
}
