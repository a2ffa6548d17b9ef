/* Structured logging: one JSON object per line on stderr, never split or interleaved with another
 * thread's line (log_output.h: written directly, or buffered for a few milliseconds). Fields: ts,
 * level, proc (the binary), component, event, rid (the request id of the calling thread, when set)
 * and the caller's key/value pairs. Never pass secret material.
 *
 * Each component has its own minimum level, changeable at run time from any thread. A source
 * file names its component by defining NSL_LOG_COMPONENT (e.g. NSL_LOGC_HTTP) before its first
 * #include; files that do not log as "main". */
#ifndef NSL_COMMON_LOG_H
#define NSL_COMMON_LOG_H

#include <stddef.h>

enum nsl_log_level { NSL_LOG_DEBUG, NSL_LOG_INFO, NSL_LOG_WARN, NSL_LOG_ERROR };

/* X(ID, "name"): the components, in the order docs list them. */
#define NSL_LOG_COMPONENTS(X)                                                                      \
    X(MAIN, "main")                                                                                \
    X(SERVER, "server")                                                                            \
    X(ROUTER, "router")                                                                            \
    X(AUTH, "auth")                                                                                \
    X(SERVICE, "service")                                                                          \
    X(STORE, "store")                                                                              \
    X(HOSTCHAN, "hostchan")                                                                        \
    X(SANDBOX, "sandbox")                                                                          \
    X(HTTP, "http")                                                                                \
    X(POOL, "pool")                                                                                \
    X(EGRESS, "egress")

enum nsl_log_component {
#define NSL_LOG_COMPONENT_ENUM(id, name) NSL_LOGC_##id,
    NSL_LOG_COMPONENTS(NSL_LOG_COMPONENT_ENUM)
#undef NSL_LOG_COMPONENT_ENUM
        NSL_LOGC_COUNT
};

#ifndef NSL_LOG_COMPONENT
#define NSL_LOG_COMPONENT NSL_LOGC_MAIN
#endif

/* Names the binary (the "proc" field) and sets every component's minimum level. */
void nsl_log_init(const char *program, enum nsl_log_level min_level);
/* Parses "debug|info|warn|error"; returns -1 for anything else. */
int nsl_log_level_parse(const char *name, enum nsl_log_level *level);
const char *nsl_log_level_name(enum nsl_log_level level);
/* Parses a component name ("router"); returns -1 for anything else. */
int nsl_log_component_parse(const char *name, enum nsl_log_component *component);
const char *nsl_log_component_name(enum nsl_log_component component);
/* "main, server, ...": every component name, for messages. */
void nsl_log_component_list(char *out, size_t len);

/* A level for every component. */
struct nsl_log_levels {
    enum nsl_log_level level[NSL_LOGC_COUNT];
};

/* Parses a level spec: "LEVEL" (every component), or a comma-separated list of COMPONENT=LEVEL
 * items with at most one bare LEVEL among them, which applies to the components not named
 * (default info). E.g. "warn,router=debug". On error returns -1 and writes why (naming the
 * offending item, and the valid names) into why. */
int nsl_log_levels_parse(const char *spec, struct nsl_log_levels *out, char *why, size_t why_len);
void nsl_log_levels_apply(const struct nsl_log_levels *levels);
/* An option check (options.h) for a --log-level value: 0, or -1 with the reason. */
int nsl_log_levels_check(const char *spec, char *why, size_t why_len);
#define NSL_LOG_LEVELS_FORM                                                                        \
    "LEVEL or [LEVEL,]COMPONENT=LEVEL,... (levels debug, info, warn, error; docs/logging.md)"
void nsl_log_levels_current(struct nsl_log_levels *out);
void nsl_log_set_level(enum nsl_log_component component, enum nsl_log_level level);

/* Sets the request id logged by this thread (NULL clears it). The string is copied. It is also
 * the thread's current request context: the enclave's host-channel client forwards it. */
void nsl_log_set_request_id(const char *rid);
/* This thread's request id, "" when none is set. */
const char *nsl_log_request_id(void);

int nsl_log_enabled_for(enum nsl_log_component component, enum nsl_log_level level);
#define nsl_log_enabled(level) nsl_log_enabled_for(NSL_LOG_COMPONENT, (level))

/* nsl_log(level, event, "key", "value", ..., NULL): string pairs, NULL-terminated. */
void nsl_log_at(enum nsl_log_component component, enum nsl_log_level level, const char *event, ...)
    __attribute__((sentinel));
#define nsl_log(level, ...) nsl_log_at(NSL_LOG_COMPONENT, (level), __VA_ARGS__)
/* Like nsl_log with one field "msg" built from a printf format. */
void nsl_logf_at(enum nsl_log_component component, enum nsl_log_level level, const char *event,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define nsl_logf(level, ...) nsl_logf_at(NSL_LOG_COMPONENT, (level), __VA_ARGS__)

#endif
