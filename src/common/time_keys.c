/* Time-keyed namespaces (see time_keys.h). */
#include "common/time_keys.h"

#include <stdio.h>
#include <string.h>

static const char *const time_keyed[] = {NSL_NONCES_NS};

bool nsl_time_keyed_ns(const char *ns)
{
    for (size_t i = 0; i < sizeof time_keyed / sizeof time_keyed[0]; i++)
        if (strcmp(ns, time_keyed[i]) == 0)
            return true;
    return false;
}

int nsl_time_key_format(int64_t seconds, char out[NSL_TIME_KEY_DIGITS + 1])
{
    if (seconds < 0 || seconds > NSL_TIME_KEY_MAX)
        return -1;
    snprintf(out, NSL_TIME_KEY_DIGITS + 1, "%010lld", (long long)seconds);
    return 0;
}
