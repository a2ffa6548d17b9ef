/* The operations table is the single source of truth (ARCHITECTURE §3): the README's operations
 * table and error table must say exactly what routes.def and errors.def say. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/routes.h"

static char *read_readme(void)
{
    FILE *f = fopen(NSL_SOURCE_DIR "/README.md", "r");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    return text;
}

static void test_readme_lists_every_operation(void **state)
{
    (void)state;
    const char *readme = read_readme();
    for (size_t i = 0; i < nsl_route_count; i++) {
        char row[160];
        snprintf(row, sizeof row, "| `%s.%s` |", nsl_routes[i].service, nsl_routes[i].operation);
        if (!strstr(readme, row))
            fail_msg("README has no operations row for %s.%s", nsl_routes[i].service,
                     nsl_routes[i].operation);
    }
}

static void test_readme_lists_no_operation_that_does_not_exist(void **state)
{
    (void)state;
    const char *p = read_readme();
    while ((p = strstr(p, "\n| `")) != NULL) {
        p += 4;
        const char *end = strchr(p, '`');
        assert_non_null(end);
        char name[128];
        size_t n = (size_t)(end - p);
        if (n >= sizeof name || !memchr(p, '.', n))
            continue; /* not an operation row */
        memcpy(name, p, n);
        name[n] = 0;
        if (strchr(name, ' ') || strchr(name, '/'))
            continue;
        if (nsl_route_find_method(name) < 0)
            fail_msg("README lists %s, which is not in routes.def", name);
    }
}

static void test_readme_lists_every_error_code(void **state)
{
    (void)state;
    const char *readme = read_readme();
    for (size_t e = 1; e < NSL_ERR_COUNT; e++) {
        char row[96];
        snprintf(row, sizeof row, "| `%s` | %d |", nsl_err_name((nsl_err)e),
                 nsl_err_jsonrpc_code((nsl_err)e));
        if (!strstr(readme, row))
            fail_msg("README has no error row for %s", nsl_err_name((nsl_err)e));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_lists_every_operation),
        cmocka_unit_test(test_readme_lists_no_operation_that_does_not_exist),
        cmocka_unit_test(test_readme_lists_every_error_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
