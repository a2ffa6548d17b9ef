/* Test helper: captures what the logger writes to stderr and parses it line by line. Used by
 * the unit tests of common/log and of the components that log. */
#ifndef NSL_TEST_LOG_CAPTURE_H
#define NSL_TEST_LOG_CAPTURE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* cmocka setup for the logger's own tests: every level on, no request id. */
static __attribute__((unused)) int log_test_setup(void **state)
{
    (void)state;
    nsl_log_init("unit", NSL_LOG_DEBUG);
    nsl_log_set_request_id(NULL);
    return 0;
}

/* stderr is redirected to a temporary file while a test logs. */
static int saved_stderr = -1; /* stderr while capturing */
static FILE *capture;

static __attribute__((unused)) void capture_begin(void)
{
    capture = tmpfile();
    assert_non_null(capture);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fileno(capture), STDERR_FILENO), STDERR_FILENO);
}

/* What was written so far (malloc'd), while capturing. */
static __attribute__((unused)) char *capture_text(void)
{
    long size = lseek(fileno(capture), 0, SEEK_END);
    assert_true(size >= 0);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fileno(capture), text, (size_t)size, 0), size);
    text[size] = 0;
    return text;
}

/* Restores stderr and returns what was written (malloc'd). */
static __attribute__((unused)) char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    char *text = capture_text();
    fclose(capture);
    capture = NULL;
    return text;
}

/* Splits text into lines; each must be one JSON object. Returns the number of lines and stores
 * up to max parsed objects. */
static __attribute__((unused)) size_t parse_lines(char *text, json_t **objs, size_t max)
{
    size_t count = 0;
    char *line = text;
    while (*line) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl); /* every line ends with a newline */
        *nl = 0;
        json_error_t jerr;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        if (!o)
            fail_msg("log line is not valid JSON (%s): %s", jerr.text, line);
        assert_true(json_is_object(o));
        if (count < max)
            objs[count] = o;
        else
            json_decref(o);
        count++;
        line = nl + 1;
    }
    return count;
}

static __attribute__((unused)) const char *field(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    if (!v)
        fail_msg("log line lacks string field %s", name);
    return v;
}

#endif
