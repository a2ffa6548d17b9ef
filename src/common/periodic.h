/* A background thread that runs a task again and again with a pause between runs, and stops at
 * once when asked (storage opening, schedulers, sweeps). The task says how long to pause. */
#ifndef NSL_COMMON_PERIODIC_H
#define NSL_COMMON_PERIODIC_H

#include <stdbool.h>

struct nsl_periodic;

/* Runs one turn of the task; returns the milliseconds to pause before the next, or a negative
 * number when there is nothing more to do (the thread then ends; stop still joins it). A long
 * turn asks nsl_periodic_stopping(self) between steps to end early. */
typedef long (*nsl_periodic_fn)(struct nsl_periodic *self, void *arg);

/* Starts the thread; the first turn runs at once. NULL on failure (nothing started). */
struct nsl_periodic *nsl_periodic_start(nsl_periodic_fn fn, void *arg);
/* Wakes the thread from its pause, waits for a turn in progress to end, joins and frees.
 * NULL: nothing. */
void nsl_periodic_stop(struct nsl_periodic *p);
/* Whether stop has been asked for. */
bool nsl_periodic_stopping(struct nsl_periodic *p);

#endif
