/* Periodic threads: turns repeat, a negative return ends them, stop interrupts an hour-long
 * pause, and a long turn sees the stop request. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "common/periodic.h"

struct counter {
    pthread_mutex_t lock;
    int turns, last_turn;
    long pause_ms;
    bool saw_stop;
};

static int turns_of(struct counter *c)
{
    pthread_mutex_lock(&c->lock);
    int n = c->turns;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static long count_turn(struct nsl_periodic *self, void *arg)
{
    (void)self;
    struct counter *c = arg;
    pthread_mutex_lock(&c->lock);
    int n = ++c->turns;
    pthread_mutex_unlock(&c->lock);
    return n == c->last_turn ? -1 : c->pause_ms;
}

static void test_turns_repeat_until_the_task_ends(void **state)
{
    (void)state;
    struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_turn = 3, .pause_ms = 1};
    struct nsl_periodic *p = nsl_periodic_start(count_turn, &c);
    assert_non_null(p);
    while (turns_of(&c) < 3)
        usleep(1000);
    usleep(20000); /* a fourth turn would show up here */
    nsl_periodic_stop(p);
    assert_int_equal(c.turns, 3);
}

static void test_stop_interrupts_a_long_pause(void **state)
{
    (void)state;
    struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_turn = -1, .pause_ms = 3600000};
    struct nsl_periodic *p = nsl_periodic_start(count_turn, &c);
    assert_non_null(p);
    while (turns_of(&c) < 1)
        usleep(1000);
    nsl_periodic_stop(p); /* returns without waiting out the hour (ctest's timeout would) */
    assert_int_equal(c.turns, 1);
}

static long wait_for_stop_turn(struct nsl_periodic *self, void *arg)
{
    struct counter *c = arg;
    pthread_mutex_lock(&c->lock);
    c->turns++;
    pthread_mutex_unlock(&c->lock);
    while (!nsl_periodic_stopping(self))
        usleep(1000);
    c->saw_stop = true;
    return 1;
}

static void test_a_long_turn_sees_the_stop_request(void **state)
{
    (void)state;
    struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct nsl_periodic *p = nsl_periodic_start(wait_for_stop_turn, &c);
    assert_non_null(p);
    while (turns_of(&c) < 1)
        usleep(1000);
    nsl_periodic_stop(p);
    assert_true(c.saw_stop);
    assert_int_equal(c.turns, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_turns_repeat_until_the_task_ends),
        cmocka_unit_test(test_stop_interrupts_a_long_pause),
        cmocka_unit_test(test_a_long_turn_sees_the_stop_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
