/* Absolute CLOCK_REALTIME deadlines for pthread_cond_timedwait, which wants one. */
#ifndef NSL_COMMON_DEADLINE_H
#define NSL_COMMON_DEADLINE_H

#include <time.h>

/* Sets *ts to now + ms. */
void nsl_deadline_after_ms(struct timespec *ts, long ms);

#endif
