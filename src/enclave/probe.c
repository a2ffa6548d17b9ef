/* Per-thread probe state (see probe.h). */
#include "enclave/probe.h"

static _Thread_local struct {
    bool open;
    bool blocked;
} probe;

void nsl_probe_begin(void)
{
    probe.open = true;
    probe.blocked = false;
}

bool nsl_probe_end(void)
{
    bool blocked = probe.blocked;
    probe.open = probe.blocked = false;
    return blocked;
}

bool nsl_probe_blocked(void)
{
    return probe.open && probe.blocked;
}

bool nsl_probe_refuse(struct nsl_error *err)
{
    if (!probe.open)
        return false;
    probe.blocked = true;
    nsl_fail(err, NSL_ERR_UNAVAILABLE, "would wait on the host");
    return true;
}
