/* Periodic background thread (see periodic.h). */
#include "common/periodic.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/deadline.h"

struct nsl_periodic {
    nsl_periodic_fn fn;
    void *arg;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    pthread_t thread;
};

/* Pauses for ms unless stopped first; returns whether to go on. */
static bool pause_ms(struct nsl_periodic *p, long ms)
{
    struct timespec until;
    nsl_deadline_after_ms(&until, ms);
    pthread_mutex_lock(&p->lock);
    while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT) {
    }
    bool go_on = !p->stopping;
    pthread_mutex_unlock(&p->lock);
    return go_on;
}

bool nsl_periodic_stopping(struct nsl_periodic *p)
{
    pthread_mutex_lock(&p->lock);
    bool stopping = p->stopping;
    pthread_mutex_unlock(&p->lock);
    return stopping;
}

static void *periodic_main(void *arg)
{
    struct nsl_periodic *p = arg;
    for (;;) {
        if (nsl_periodic_stopping(p))
            return NULL;
        long ms = p->fn(p, p->arg);
        if (ms < 0 || !pause_ms(p, ms))
            return NULL;
    }
}

struct nsl_periodic *nsl_periodic_start(nsl_periodic_fn fn, void *arg)
{
    struct nsl_periodic *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, periodic_main, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->wake);
        free(p);
        return NULL;
    }
    return p;
}

void nsl_periodic_stop(struct nsl_periodic *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}
