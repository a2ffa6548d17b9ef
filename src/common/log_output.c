/* Log output, direct or buffered (see log_output.h). Two locks: `lock` guards the queue and is
 * held only to copy a line in or to swap buffers; `write_lock` is held across each write(2) and
 * taken before `lock`, so the queue is taken and written by one writer at a time and what was
 * logged first reaches stderr first, while other threads keep appending to the other buffer. */
#include "common/log_output.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WRITE_AT (NSL_LOG_OUTPUT_BUFFER / 2) /* queued bytes that make a logging thread write */

static struct {
    pthread_mutex_t lock;       /* the fields below but buffered's fast read */
    pthread_mutex_t write_lock; /* held while spare is written */
    pthread_cond_t wake;        /* the flusher waits here for lines, or for stopping */
    atomic_bool buffered;
    bool stopping, exit_hook, wake_ready;
    char *queue, *spare; /* NSL_LOG_OUTPUT_BUFFER bytes each while buffered */
    size_t len;          /* bytes queued */
    int flush_ms;
    pthread_t flusher;
} out = {.lock = PTHREAD_MUTEX_INITIALIZER, .write_lock = PTHREAD_MUTEX_INITIALIZER};

static void write_all(const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* nowhere to log that logging failed */
        p += n;
        len -= (size_t)n;
    }
}

/* Takes the queue and writes it. With go_direct, output is direct from then on. */
static void flush_queue(bool go_direct)
{
    pthread_mutex_lock(&out.write_lock);
    pthread_mutex_lock(&out.lock);
    char *taken = out.queue;
    size_t len = out.len;
    if (taken) {
        out.queue = out.spare;
        out.spare = taken;
        out.len = 0;
    }
    if (go_direct)
        atomic_store(&out.buffered, false);
    pthread_mutex_unlock(&out.lock);
    if (taken && len)
        write_all(taken, len);
    pthread_mutex_unlock(&out.write_lock);
}

/* Queues line (len <= the buffer) under out.lock; returns false when output is direct now. */
static bool queue_line(const char *line, size_t len, bool urgent)
{
    pthread_mutex_lock(&out.lock);
    while (atomic_load(&out.buffered) && out.len + len > NSL_LOG_OUTPUT_BUFFER) {
        pthread_mutex_unlock(&out.lock); /* full: the flusher is slow to write, help it */
        flush_queue(false);
        pthread_mutex_lock(&out.lock);
    }
    if (!atomic_load(&out.buffered)) {
        pthread_mutex_unlock(&out.lock);
        return false;
    }
    bool was_empty = out.len == 0;
    memcpy(out.queue + out.len, line, len);
    out.len += len;
    bool write_now = urgent || out.len >= WRITE_AT;
    pthread_mutex_unlock(&out.lock);
    if (write_now)
        flush_queue(false);
    else if (was_empty) /* the flusher sleeps until a queue starts */
        pthread_cond_signal(&out.wake);
    return true;
}

void nsl_log_output_line(const char *line, size_t len, bool urgent)
{
    if (atomic_load_explicit(&out.buffered, memory_order_relaxed)) {
        if (len <= NSL_LOG_OUTPUT_BUFFER && queue_line(line, len, urgent))
            return;
        flush_queue(false); /* what is queued goes first */
    }
    write_all(line, len);
}

void nsl_log_output_flush(void)
{
    if (atomic_load(&out.buffered))
        flush_queue(false);
}

/* Lets a queue gather for flush_ms (or until stopping), then writes it. */
static void *flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&out.lock);
    while (!out.stopping) {
        if (out.len == 0) {
            pthread_cond_wait(&out.wake, &out.lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long ns = until.tv_nsec + (long)out.flush_ms * 1000000L;
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        while (!out.stopping && pthread_cond_timedwait(&out.wake, &out.lock, &until) == 0)
            ;
        pthread_mutex_unlock(&out.lock);
        flush_queue(false);
        pthread_mutex_lock(&out.lock);
    }
    pthread_mutex_unlock(&out.lock);
    return NULL;
}

static void flush_at_exit(void)
{
    nsl_log_output_flush();
}

int nsl_log_output_buffer_start(int flush_ms)
{
    if (atomic_load(&out.buffered) || flush_ms < 1)
        return -1;
    out.queue = malloc(NSL_LOG_OUTPUT_BUFFER);
    out.spare = malloc(NSL_LOG_OUTPUT_BUFFER);
    if (!out.wake_ready) { /* never destroyed: a logging thread may signal it late */
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        out.wake_ready = pthread_cond_init(&out.wake, &attr) == 0;
        pthread_condattr_destroy(&attr);
    }
    out.len = 0;
    out.stopping = false;
    out.flush_ms = flush_ms;
    if (!out.wake_ready || !out.queue || !out.spare ||
        pthread_create(&out.flusher, NULL, flusher_main, NULL) != 0) {
        free(out.queue);
        free(out.spare);
        out.queue = out.spare = NULL;
        return -1;
    }
    if (!out.exit_hook)
        out.exit_hook = atexit(flush_at_exit) == 0;
    atomic_store(&out.buffered, true);
    return 0;
}

void nsl_log_output_buffer_stop(void)
{
    if (!atomic_load(&out.buffered))
        return;
    pthread_mutex_lock(&out.lock);
    out.stopping = true;
    pthread_cond_signal(&out.wake);
    pthread_mutex_unlock(&out.lock);
    pthread_join(out.flusher, NULL);
    flush_queue(true);
    pthread_mutex_lock(&out.lock); /* no thread uses the buffers once direct */
    free(out.queue);
    free(out.spare);
    out.queue = out.spare = NULL;
    pthread_mutex_unlock(&out.lock);
}
