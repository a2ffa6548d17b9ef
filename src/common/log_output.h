/* Where the logger's lines go (log.h formats them): stderr, each line whole and in the order it
 * was logged, by one of two ways.
 *
 * Direct (the default): one write(2) per line, done by the thread that logs it.
 *
 * Buffered (nsl_log_output_buffer_start, used by nsl-parent, whose access log otherwise costs
 * every HTTP request a write): lines are appended to one process-wide buffer and written together
 * by a flusher thread at most flush_ms after the first of them was logged. A line at warn or
 * above is written before its nsl_log call returns, with every line logged before it; so is the
 * buffer once half of it is filled (a logging thread then writes, as it would directly). A line
 * is never split or reordered, in either way. What a crash (not a clean exit) interrupts may lose
 * the info and debug lines of its last flush_ms; exit() and nsl_log_output_buffer_stop write them.
 */
#ifndef NSL_COMMON_LOG_OUTPUT_H
#define NSL_COMMON_LOG_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#define NSL_LOG_OUTPUT_BUFFER (64u << 10) /* bytes held at most */

/* Writes (direct) or queues (buffered) one whole line; urgent lines are written before this
 * returns, after those queued before them. */
void nsl_log_output_line(const char *line, size_t len, bool urgent);

/* Switches to buffered output with its flusher thread. Returns 0, or -1 (output stays direct)
 * when it is already buffered or memory or the thread cannot be had. */
int nsl_log_output_buffer_start(int flush_ms);
/* Writes what is queued now (no-op when direct). */
void nsl_log_output_flush(void);
/* Writes what is queued, stops the flusher and goes back to direct output. Call it once the
 * threads that log are stopped (a line logged at the same time may be written before the
 * queued ones). */
void nsl_log_output_buffer_stop(void);

#endif
