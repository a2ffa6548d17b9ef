/* Helpers shared by the libFuzzer targets of this folder (docs/fuzzing.md). */
#ifndef NSL_TESTS_FUZZ_H
#define NSL_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (it may hold earlier NULs: C-string parsers stop there). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* Failures are the common case under fuzzing: keep the modules' error logs off stderr. */
static inline void fuzz_quiet_logs(void)
{
    nsl_log_init("fuzz", (enum nsl_log_level)(NSL_LOG_ERROR + 1));
}

/* A broken invariant: report it and abort, which libFuzzer records as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
