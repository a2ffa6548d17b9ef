/* Process hygiene of the enclave (see hygiene.h). */
#include "enclave/hygiene.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* Sanitizers reserve terabytes of shadow memory; locking it is neither possible nor useful. */
#if defined(__SANITIZE_ADDRESS__)
#define NSL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NSL_SANITIZED 1
#endif
#endif

/* Locks every page as it is touched (MCL_ONFAULT: reserved but untouched memory, like thread
 * stacks, costs nothing). Only when no lock limit can be hit later: with a finite RLIMIT_MEMLOCK
 * and no CAP_IPC_LOCK, MCL_FUTURE would make ordinary allocations fail once the limit is reached,
 * so there secrets rely on the OpenSSL secure heap (mlocked on its own) instead. */
static const char *lock_memory(void)
{
#ifdef NSL_SANITIZED
    return "sanitizer build";
#else
    struct rlimit lim;
    if (geteuid() != 0 && (getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur != RLIM_INFINITY))
        return "RLIMIT_MEMLOCK is finite and not root";
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0)
        return errno == EPERM ? "mlockall not permitted" : "mlockall failed";
    return NULL;
#endif
}

void nsl_hygiene_apply(struct nsl_hygiene *out)
{
    struct rlimit none = {0, 0}, files;
    out->core_disabled = setrlimit(RLIMIT_CORE, &none) == 0;
    out->non_dumpable = prctl(PR_SET_DUMPABLE, 0) == 0 && prctl(PR_GET_DUMPABLE) == 0;
    out->lock_why = lock_memory();
    out->memory_locked = out->lock_why == NULL;
    /* Thousands of parent connections need more descriptors than the usual soft limit. */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    bool all = out->core_disabled && out->non_dumpable && out->memory_locked;
    nsl_log(all ? NSL_LOG_INFO : NSL_LOG_WARN, "hygiene", "core_dumps",
            out->core_disabled ? "off" : "ON", "dumpable", out->non_dumpable ? "no" : "YES",
            "memory_locked", out->memory_locked ? "yes" : "no", "lock_reason",
            out->lock_why ? out->lock_why : "", NULL);
}
