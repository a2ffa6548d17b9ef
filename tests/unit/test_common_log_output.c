/* Unit tests of common/log_output: buffered lines reach stderr whole, in order, when flushed,
 * when a warning comes, when half the buffer fills, when the flusher's time comes, at stop and at
 * exit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/log_output.h"
#include "log_capture.h"

#define NEVER_MS 600000 /* a flusher that does not write during a test */

static int teardown(void **state)
{
    (void)state;
    nsl_log_output_buffer_stop();
    return 0;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Asserts that text's lines (each valid JSON) carry exactly these events, in order, joined by
 * spaces; frees text. */
static void assert_events(char *text, const char *want)
{
    json_t *o[16];
    size_t n = parse_lines(text, o, 16);
    assert_true(n <= 16);
    char events[256] = "";
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(events);
        snprintf(events + used, sizeof events - used, "%s%s", i ? " " : "", field(o[i], "event"));
        json_decref(o[i]);
    }
    assert_string_equal(events, want);
    free(text);
}

static void test_log_output_info_waits_for_flush(void **state)
{
    (void)state;
    capture_begin();
    assert_int_equal(nsl_log_output_buffer_start(NEVER_MS), 0);
    nsl_log(NSL_LOG_INFO, "one", NULL);
    nsl_log(NSL_LOG_DEBUG, "two", NULL);
    char *text = capture_text();
    assert_string_equal(text, ""); /* queued, not written */
    free(text);
    nsl_log_output_flush();
    assert_events(capture_text(), "one two");
    nsl_log_output_buffer_stop();
    free(capture_end());
}

static void test_log_output_warning_writes_queue_before_it(void **state)
{
    (void)state;
    capture_begin();
    assert_int_equal(nsl_log_output_buffer_start(NEVER_MS), 0);
    nsl_log(NSL_LOG_INFO, "first", NULL);
    nsl_log(NSL_LOG_WARN, "second", NULL);
    assert_events(capture_text(), "first second");
    nsl_log(NSL_LOG_INFO, "third", NULL);
    nsl_log(NSL_LOG_ERROR, "fourth", NULL);
    assert_events(capture_text(), "first second third fourth");
    nsl_log_output_buffer_stop();
    free(capture_end());
}

static void test_log_output_stop_writes_queue_and_goes_direct(void **state)
{
    (void)state;
    capture_begin();
    assert_int_equal(nsl_log_output_buffer_start(NEVER_MS), 0);
    nsl_log(NSL_LOG_INFO, "queued", NULL);
    nsl_log_output_buffer_stop();
    nsl_log(NSL_LOG_INFO, "direct", NULL);
    assert_events(capture_end(), "queued direct");
}

static void test_log_output_half_full_buffer_is_written(void **state)
{
    (void)state;
    char value[1000];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = 0;
    size_t lines = NSL_LOG_OUTPUT_BUFFER / 2 / sizeof value + 2; /* over half, with headers */
    capture_begin();
    assert_int_equal(nsl_log_output_buffer_start(NEVER_MS), 0);
    for (size_t i = 0; i < lines; i++)
        nsl_log(NSL_LOG_INFO, "bulk", "value", value, NULL);
    char *text = capture_text();
    size_t written = count_of(text, "\"bulk\"");
    assert_true(written > 0 && written <= lines);
    free(text);
    nsl_log_output_buffer_stop();
    text = capture_end();
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 0), lines); /* each whole and valid, none twice */
    free(text);
}

static void test_log_output_flusher_writes_in_time(void **state)
{
    (void)state;
    capture_begin();
    assert_int_equal(nsl_log_output_buffer_start(1), 0);
    nsl_log(NSL_LOG_INFO, "soon", NULL);
    char *text = NULL;
    for (int i = 0; i < 10000; i++) { /* up to 10 s on a loaded machine; 1 ms normally */
        free(text);
        text = capture_text();
        if (text[0])
            break;
        struct timespec ms = {.tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    assert_events(text, "soon");
    nsl_log_output_buffer_stop();
    free(capture_end());
}

static void *log_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++)
        nsl_log(i % 100 == 99 ? NSL_LOG_WARN : NSL_LOG_INFO, "threaded", "i", "x", NULL);
    return NULL;
}

static void test_log_output_threads_lines_stay_whole(void **state)
{
    (void)state;
    capture_begin();
    assert_int_equal(nsl_log_output_buffer_start(1), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_many, NULL), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    nsl_log_output_buffer_stop();
    char *text = capture_end();
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 0), 8000);
    free(text);
}

static void test_log_output_start_refuses_twice_and_bad_interval(void **state)
{
    (void)state;
    assert_int_equal(nsl_log_output_buffer_start(0), -1);
    assert_int_equal(nsl_log_output_buffer_start(NEVER_MS), 0);
    assert_int_equal(nsl_log_output_buffer_start(NEVER_MS), -1);
    nsl_log_output_buffer_stop();
    nsl_log_output_buffer_stop(); /* a second stop does nothing */
    nsl_log_output_flush();       /* nor a flush while direct */
}

/* A child that exits with lines queued still writes them. */
static void test_log_output_exit_writes_queue(void **state)
{
    (void)state;
    capture_begin();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (nsl_log_output_buffer_start(NEVER_MS) != 0)
            _exit(3);
        nsl_log(NSL_LOG_INFO, "before_exit", NULL);
        exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_events(capture_end(), "before_exit");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, log_test_setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_log_output_info_waits_for_flush),
        T(test_log_output_warning_writes_queue_before_it),
        T(test_log_output_stop_writes_queue_and_goes_direct),
        T(test_log_output_half_full_buffer_is_written),
        T(test_log_output_flusher_writes_in_time),
        T(test_log_output_threads_lines_stay_whole),
        T(test_log_output_start_refuses_twice_and_bad_interval),
        T(test_log_output_exit_writes_queue),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
