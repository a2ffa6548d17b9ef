/* Unit tests of common/log: every line is one valid JSON object with the documented fields. */
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
#include <unistd.h>

#include "common/log.h"
#include "log_capture.h"

static void test_log_line_is_json_with_standard_fields(void **state)
{
    (void)state;
    nsl_log_set_request_id("r-17");
    capture_begin();
    nsl_log(NSL_LOG_INFO, "request_done", "service", "system", "status", "ok", NULL);
    char *text = capture_end();
    json_t *o[2];
    assert_int_equal(parse_lines(text, o, 2), 1);
    const char *ts = field(o[0], "ts");
    /* 2026-11-25T11:44:15.123Z */
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[23], 'Z');
    assert_string_equal(field(o[0], "level"), "info");
    assert_string_equal(field(o[0], "proc"), "unit");
    assert_string_equal(field(o[0], "component"), "main"); /* this file names none */
    assert_string_equal(field(o[0], "event"), "request_done");
    assert_string_equal(field(o[0], "rid"), "r-17");
    assert_string_equal(field(o[0], "service"), "system");
    assert_string_equal(field(o[0], "status"), "ok");
    json_decref(o[0]);
    free(text);
}

static void test_log_without_request_id_has_no_rid(void **state)
{
    (void)state;
    nsl_log_set_request_id("r-1");
    nsl_log_set_request_id(NULL);
    capture_begin();
    nsl_log(NSL_LOG_WARN, "no_rid", NULL);
    char *text = capture_end();
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 1), 1);
    assert_null(json_object_get(o[0], "rid"));
    assert_string_equal(field(o[0], "level"), "warn");
    json_decref(o[0]);
    free(text);
}

static void test_log_escapes_quotes_and_control_characters(void **state)
{
    (void)state;
    const char *nasty = "say \"hi\"\\ \n\r\t\x01\x1f\x7f end";
    nsl_log_set_request_id("rid\"with\nnewline");
    capture_begin();
    nsl_log(NSL_LOG_ERROR, "evt\"x", "k\"ey", nasty, "null-value", NULL, NULL);
    char *text = capture_end();
    /* One line only: the newline inside the value was escaped. */
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 1), 1);
    assert_string_equal(field(o[0], "k\"ey"), nasty);
    assert_string_equal(field(o[0], "event"), "evt\"x");
    assert_string_equal(field(o[0], "rid"), "rid\"with\nnewline");
    assert_string_equal(field(o[0], "null-value"), "");
    json_decref(o[0]);
    free(text);
}

static void test_log_keeps_utf8_text(void **state)
{
    (void)state;
    capture_begin();
    nsl_log(NSL_LOG_INFO, "utf8", "name", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL);
    char *text = capture_end();
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 1), 1);
    assert_string_equal(field(o[0], "name"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    json_decref(o[0]);
    free(text);
}

static void test_logf_formats_msg_field(void **state)
{
    (void)state;
    capture_begin();
    nsl_logf(NSL_LOG_DEBUG, "formatted", "%d items in %s", 3, "queue");
    char *text = capture_end();
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 1), 1);
    assert_string_equal(field(o[0], "msg"), "3 items in queue");
    assert_string_equal(field(o[0], "level"), "debug");
    json_decref(o[0]);
    free(text);
}

static void test_log_filters_below_min_level(void **state)
{
    (void)state;
    nsl_log_init("unit", NSL_LOG_WARN);
    assert_false(nsl_log_enabled(NSL_LOG_DEBUG));
    assert_false(nsl_log_enabled(NSL_LOG_INFO));
    assert_true(nsl_log_enabled(NSL_LOG_WARN));
    assert_true(nsl_log_enabled(NSL_LOG_ERROR));
    capture_begin();
    nsl_log(NSL_LOG_DEBUG, "dropped_debug", NULL);
    nsl_log(NSL_LOG_INFO, "dropped_info", NULL);
    nsl_logf(NSL_LOG_INFO, "dropped_infof", "%s", "x");
    nsl_log(NSL_LOG_WARN, "kept_warn", NULL);
    nsl_logf(NSL_LOG_ERROR, "kept_error", "%s", "x");
    char *text = capture_end();
    json_t *o[4];
    assert_int_equal(parse_lines(text, o, 4), 2);
    assert_string_equal(field(o[0], "event"), "kept_warn");
    assert_string_equal(field(o[1], "event"), "kept_error");
    json_decref(o[0]);
    json_decref(o[1]);
    free(text);
}

static void test_log_level_parse(void **state)
{
    (void)state;
    enum nsl_log_level level = NSL_LOG_ERROR;
    assert_int_equal(nsl_log_level_parse("debug", &level), 0);
    assert_int_equal(level, NSL_LOG_DEBUG);
    assert_int_equal(nsl_log_level_parse("info", &level), 0);
    assert_int_equal(level, NSL_LOG_INFO);
    assert_int_equal(nsl_log_level_parse("warn", &level), 0);
    assert_int_equal(level, NSL_LOG_WARN);
    assert_int_equal(nsl_log_level_parse("error", &level), 0);
    assert_int_equal(level, NSL_LOG_ERROR);
    assert_int_equal(nsl_log_level_parse("INFO", &level), -1);
    assert_int_equal(nsl_log_level_parse("warning", &level), -1);
    assert_int_equal(nsl_log_level_parse("", &level), -1);
    assert_int_equal(level, NSL_LOG_ERROR);
}

static void test_log_long_request_id_is_truncated(void **state)
{
    (void)state;
    char rid[300];
    memset(rid, 'r', sizeof rid - 1);
    rid[sizeof rid - 1] = 0;
    nsl_log_set_request_id(rid);
    capture_begin();
    nsl_log(NSL_LOG_INFO, "long_rid", NULL);
    char *text = capture_end();
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 1), 1);
    const char *got = field(o[0], "rid");
    assert_true(strlen(got) > 0 && strlen(got) < sizeof rid - 1);
    assert_int_equal(strncmp(got, rid, strlen(got)), 0);
    json_decref(o[0]);
    free(text);
    nsl_log_set_request_id(NULL);
}

/* Values far longer than a line are truncated, and the line stays one valid JSON object, however
 * the cut falls (plain text, escapes, multi-byte characters). */
static void test_log_overlong_values_still_give_valid_json(void **state)
{
    (void)state;
    static const char *const units[] = {
        "a", "\n", "\"", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "ab\x01"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        for (size_t extra = 0; extra < 4; extra++) {
            size_t ulen = strlen(units[u]);
            size_t reps = 6000 / ulen;
            char *big = malloc(extra + reps * ulen + 1);
            assert_non_null(big);
            memset(big, 'x', extra);
            for (size_t i = 0; i < reps; i++)
                memcpy(big + extra + i * ulen, units[u], ulen);
            big[extra + reps * ulen] = 0;
            capture_begin();
            nsl_log(NSL_LOG_INFO, "big", "first", big, "after", "small", NULL);
            nsl_logf(NSL_LOG_INFO, "bigf", "%s", big);
            char *text = capture_end();
            json_t *o[2];
            assert_int_equal(parse_lines(text, o, 2), 2);
            assert_string_equal(field(o[0], "event"), "big");
            const char *first = field(o[0], "first");
            assert_true(strlen(first) > 100);
            assert_int_equal(strncmp(first, big, strlen(first)), 0);
            /* nsl_logf's format buffer may cut a character in two: its bytes become U+FFFD. */
            const char *msg = field(o[1], "msg");
            size_t mlen = strlen(msg);
            assert_true(mlen > 100);
            if (mlen >= 3 && memcmp(msg + mlen - 3, "\xef\xbf\xbd", 3) == 0 && u >= 3 && u <= 5)
                mlen -= 3;
            assert_int_equal(strncmp(msg, big, mlen), 0);
            json_decref(o[0]);
            json_decref(o[1]);
            free(text);
            free(big);
        }
    }
}

static void test_log_replaces_broken_utf8(void **state)
{
    (void)state;
    capture_begin();
    nsl_log(NSL_LOG_INFO, "bad_utf8", "cut", "ab\xe2\x82", "stray", "\x80x", "lead", "\xc3", NULL);
    char *text = capture_end();
    json_t *o[1];
    assert_int_equal(parse_lines(text, o, 1), 1);
    assert_string_equal(field(o[0], "cut"), "ab\xef\xbf\xbd");
    assert_string_equal(field(o[0], "stray"), "\xef\xbf\xbdx");
    assert_string_equal(field(o[0], "lead"), "\xef\xbf\xbd");
    json_decref(o[0]);
    free(text);
}

static void *log_from_thread(void *arg)
{
    (void)arg;
    nsl_log_set_request_id("thread-rid");
    for (int i = 0; i < 200; i++)
        nsl_log(NSL_LOG_INFO, "from_thread", "i", "value", NULL);
    return NULL;
}

static void test_log_request_id_is_per_thread_and_lines_do_not_interleave(void **state)
{
    (void)state;
    nsl_log_set_request_id("main-rid");
    capture_begin();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_from_thread, NULL), 0);
    for (int i = 0; i < 50; i++)
        nsl_log(NSL_LOG_INFO, "from_main", NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    char *text = capture_end();
    /* Every line parses on its own; parse_lines fails the test otherwise. */
    json_t *o[1];
    size_t n = parse_lines(text, o, 0);
    assert_int_equal(n, 4 * 200 + 50);
    free(text);
    nsl_log_set_request_id(NULL);
    /* Check the rids with a second, smaller run. */
    capture_begin();
    pthread_t one;
    assert_int_equal(pthread_create(&one, NULL, log_from_thread, NULL), 0);
    assert_int_equal(pthread_join(one, NULL), 0);
    nsl_log(NSL_LOG_INFO, "main_after", NULL);
    text = capture_end();
    json_t *all[201];
    assert_int_equal(parse_lines(text, all, 201), 201);
    for (int i = 0; i < 200; i++) {
        assert_string_equal(field(all[i], "rid"), "thread-rid");
        json_decref(all[i]);
    }
    assert_null(json_object_get(all[200], "rid")); /* main thread's was cleared */
    json_decref(all[200]);
    free(text);
}

static void test_log_line_names_its_component(void **state)
{
    (void)state;
    capture_begin();
    nsl_log_at(NSL_LOGC_ROUTER, NSL_LOG_INFO, "routed", NULL);
    nsl_logf_at(NSL_LOGC_HOSTCHAN, NSL_LOG_INFO, "hosted", "%d", 1);
    char *text = capture_end();
    json_t *o[2];
    assert_int_equal(parse_lines(text, o, 2), 2);
    assert_string_equal(field(o[0], "component"), "router");
    assert_string_equal(field(o[1], "component"), "hostchan");
    json_decref(o[0]);
    json_decref(o[1]);
    free(text);
}

static void test_log_levels_are_per_component(void **state)
{
    (void)state;
    nsl_log_init("unit", NSL_LOG_INFO);
    nsl_log_set_level(NSL_LOGC_ROUTER, NSL_LOG_DEBUG);
    nsl_log_set_level(NSL_LOGC_STORE, NSL_LOG_ERROR);
    assert_true(nsl_log_enabled_for(NSL_LOGC_ROUTER, NSL_LOG_DEBUG));
    assert_false(nsl_log_enabled_for(NSL_LOGC_STORE, NSL_LOG_WARN));
    assert_true(nsl_log_enabled_for(NSL_LOGC_STORE, NSL_LOG_ERROR));
    assert_false(nsl_log_enabled_for(NSL_LOGC_HTTP, NSL_LOG_DEBUG));
    assert_true(nsl_log_enabled_for(NSL_LOGC_HTTP, NSL_LOG_INFO));
    assert_false(nsl_log_enabled_for(NSL_LOGC_COUNT, NSL_LOG_ERROR)); /* no such component */
    capture_begin();
    nsl_log_at(NSL_LOGC_ROUTER, NSL_LOG_DEBUG, "kept_router_debug", NULL);
    nsl_log_at(NSL_LOGC_STORE, NSL_LOG_WARN, "dropped_store_warn", NULL);
    nsl_log_at(NSL_LOGC_HTTP, NSL_LOG_DEBUG, "dropped_http_debug", NULL);
    nsl_log_at(NSL_LOGC_STORE, NSL_LOG_ERROR, "kept_store_error", NULL);
    char *text = capture_end();
    json_t *o[4];
    assert_int_equal(parse_lines(text, o, 4), 2);
    assert_string_equal(field(o[0], "event"), "kept_router_debug");
    assert_string_equal(field(o[1], "event"), "kept_store_error");
    json_decref(o[0]);
    json_decref(o[1]);
    free(text);
    struct nsl_log_levels now;
    nsl_log_levels_current(&now);
    assert_int_equal(now.level[NSL_LOGC_ROUTER], NSL_LOG_DEBUG);
    assert_int_equal(now.level[NSL_LOGC_STORE], NSL_LOG_ERROR);
    assert_int_equal(now.level[NSL_LOGC_MAIN], NSL_LOG_INFO);
}

static void test_log_levels_parse_accepts_specs(void **state)
{
    (void)state;
    struct nsl_log_levels l;
    char why[512] = "";
    assert_int_equal(nsl_log_levels_parse("warn", &l, why, sizeof why), 0);
    for (int c = 0; c < NSL_LOGC_COUNT; c++)
        assert_int_equal(l.level[c], NSL_LOG_WARN);
    assert_int_equal(nsl_log_levels_parse("router=debug,store=warn", &l, why, sizeof why), 0);
    assert_int_equal(l.level[NSL_LOGC_ROUTER], NSL_LOG_DEBUG);
    assert_int_equal(l.level[NSL_LOGC_STORE], NSL_LOG_WARN);
    assert_int_equal(l.level[NSL_LOGC_HTTP], NSL_LOG_INFO); /* unnamed: info */
    /* The bare level applies to the unnamed components wherever it stands. */
    assert_int_equal(nsl_log_levels_parse("hostchan=debug,error", &l, why, sizeof why), 0);
    assert_int_equal(l.level[NSL_LOGC_HOSTCHAN], NSL_LOG_DEBUG);
    assert_int_equal(l.level[NSL_LOGC_EGRESS], NSL_LOG_ERROR);
    const char *names[] = {"main",     "server",  "router", "auth", "service", "store",
                           "hostchan", "sandbox", "http",   "pool", "egress"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s=error", names[i]);
        assert_int_equal(nsl_log_levels_parse(spec, &l, why, sizeof why), 0);
        enum nsl_log_component c;
        assert_int_equal(nsl_log_component_parse(names[i], &c), 0);
        assert_int_equal(l.level[c], NSL_LOG_ERROR);
        assert_string_equal(nsl_log_component_name(c), names[i]);
    }
}

static void test_log_levels_parse_refuses_bad_specs(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"bogus=debug", "\"bogus=debug\": unknown component (one of main, server, router"},
        {"router=loud", "\"router=loud\": level must be debug, info, warn or error"},
        {"loud", "\"loud\": level must be"},
        {"INFO", "\"INFO\": level must be"},
        {"", "empty item"},
        {"router=debug,,store=warn", "empty item"},
        {"info,", "empty item"},
        {",info", "empty item"},
        {"info,warn", "\"warn\": only one level without a component"},
        {"router=debug,router=info", "\"router=info\": component named twice"},
        {"=debug", "\"=debug\": unknown component"},
        {"router=", "\"router=\": level must be"},
        {"router=debug=x", "level must be"},
        {"bogus=x", "\"bogus=x\": unknown component"}, /* the component is checked first */
        {"averyveryveryveryverylongcomponentname=debug", "unknown component"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nsl_log_levels l, before;
        memset(&l, 0x5a, sizeof l);
        before = l;
        char why[512] = "";
        assert_int_equal(nsl_log_levels_parse(bad[i].spec, &l, why, sizeof why), -1);
        if (!strstr(why, bad[i].why))
            fail_msg("spec \"%s\": reason \"%s\" lacks \"%s\"", bad[i].spec, why, bad[i].why);
        assert_memory_equal(&l, &before, sizeof l); /* nothing changed */
    }
    char overlong[300];
    memset(overlong, 'x', sizeof overlong - 1);
    overlong[sizeof overlong - 1] = 0;
    struct nsl_log_levels l;
    char why[512] = "";
    assert_int_equal(nsl_log_levels_parse(overlong, &l, why, sizeof why), -1);
    assert_non_null(strstr(why, "overlong item"));
    enum nsl_log_component c;
    assert_int_equal(nsl_log_component_parse("ROUTER", &c), -1);
}

#define T(f) cmocka_unit_test_setup(f, log_test_setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_log_line_is_json_with_standard_fields),
        T(test_log_without_request_id_has_no_rid),
        T(test_log_escapes_quotes_and_control_characters),
        T(test_log_keeps_utf8_text),
        T(test_logf_formats_msg_field),
        T(test_log_filters_below_min_level),
        T(test_log_level_parse),
        T(test_log_long_request_id_is_truncated),
        T(test_log_overlong_values_still_give_valid_json),
        T(test_log_replaces_broken_utf8),
        T(test_log_request_id_is_per_thread_and_lines_do_not_interleave),
        T(test_log_line_names_its_component),
        T(test_log_levels_are_per_component),
        T(test_log_levels_parse_accepts_specs),
        T(test_log_levels_parse_refuses_bad_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
