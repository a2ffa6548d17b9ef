/* Scheduled functions (issue 8): function.schedule runs a function every intervalSec with fixed
 * args; runs are recorded (function.runs). Schedules are kept in the store (sched/<account>/<name>)
 * and reloaded at boot; one thread fires them. */
#ifndef NSL_SERVICES_FUNCTION_SCHEDULE_H
#define NSL_SERVICES_FUNCTION_SCHEDULE_H

#include "services/service.h"

struct nsl_scheduler;

struct nsl_scheduler *nsl_scheduler_start(struct nsl_enclave_ctx *ctx);
void nsl_scheduler_stop(struct nsl_scheduler *s);
/* Forgets a schedule in memory and in the store (used by function.delete). */
void nsl_function_unschedule_name(struct nsl_enclave_ctx *ctx, const char *account,
                                  const char *name);

/* Runs account's function name with args (shared by invoke and the scheduler). */
nsl_err nsl_function_run(struct nsl_enclave_ctx *ctx, const char *account, const char *name,
                         const json_t *args, json_t **result, struct nsl_error *err);

#endif
