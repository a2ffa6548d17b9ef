/* Structured logging: one JSON object per line on stderr, written with a single write(2) so lines
 * from several threads never interleave. Fields: ts, level, component, event, rid (the request id
 * of the calling thread, when set) and the caller's key/value pairs. Never pass secret material. */
#ifndef NSL_COMMON_LOG_H
#define NSL_COMMON_LOG_H

enum nsl_log_level { NSL_LOG_DEBUG, NSL_LOG_INFO, NSL_LOG_WARN, NSL_LOG_ERROR };

void nsl_log_init(const char *component, enum nsl_log_level min_level);
/* Parses "debug|info|warn|error"; returns -1 for anything else. */
int nsl_log_level_parse(const char *name, enum nsl_log_level *level);
/* Sets the request id logged by this thread (NULL clears it). The string is copied. */
void nsl_log_set_request_id(const char *rid);
int nsl_log_enabled(enum nsl_log_level level);

/* nsl_log(level, event, "key", "value", ..., NULL): string pairs, NULL-terminated. */
void nsl_log(enum nsl_log_level level, const char *event, ...) __attribute__((sentinel));
/* Like nsl_log with one field "msg" built from a printf format. */
void nsl_logf(enum nsl_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
