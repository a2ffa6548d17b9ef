/* Process hygiene of the enclave (ARCHITECTURE §8): no core files, not dumpable (so no ptrace or
 * /proc/PID/mem by same-uid processes), memory locked where the system permits it, and room for
 * many descriptors. Reports what it achieved in one log line, "hygiene". */
#ifndef NSL_ENCLAVE_HYGIENE_H
#define NSL_ENCLAVE_HYGIENE_H

#include <stdbool.h>

struct nsl_hygiene {
    bool core_disabled;   /* RLIMIT_CORE is 0 */
    bool non_dumpable;    /* PR_GET_DUMPABLE reads back 0 */
    bool memory_locked;   /* mlockall succeeded */
    const char *lock_why; /* why memory is not locked (static text), NULL when it is */
};

/* Applies every measure it can, logs the "hygiene" line and fills *out. Call before starting
 * threads that hold secrets, after the sandbox zygote is forked (locks are not inherited). */
void nsl_hygiene_apply(struct nsl_hygiene *out);

#endif
