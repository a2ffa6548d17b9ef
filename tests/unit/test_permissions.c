/* Roles and permission matching: exact, service wildcard, global wildcard, unknown names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "services/permissions.h"

static bool granted(const char *roles, const char *extra, const char *required)
{
    json_t *r = json_loads(roles, 0, NULL), *e = json_loads(extra, 0, NULL);
    json_t *eff = nsl_permissions_effective(r, e);
    bool ok = nsl_permission_granted(eff, required);
    json_decref(eff);
    json_decref(r);
    json_decref(e);
    return ok;
}

static void test_admin_is_granted_everything(void **state)
{
    (void)state;
    assert_true(granted("[\"admin\"]", "[]", "account:list"));
    assert_true(granted("[\"admin\"]", "[]", "gasbank:audit"));
}

static void test_user_gets_own_services_but_not_admin_operations(void **state)
{
    (void)state;
    assert_true(granted("[\"user\"]", "[]", "wallet:signMessage"));
    assert_true(granted("[\"user\"]", "[]", "account:whoami"));
    assert_false(granted("[\"user\"]", "[]", "account:list"));
    assert_false(granted("[\"user\"]", "[]", "gasbank:deposit"));
    assert_false(granted("[\"user\"]", "[]", "system:metrics"));
}

static void test_operator_adds_deposits_and_price_updates_to_user(void **state)
{
    (void)state;
    assert_true(granted("[\"operator\"]", "[]", "gasbank:deposit"));
    assert_true(granted("[\"operator\"]", "[]", "pricefeed:update"));
    assert_true(granted("[\"operator\"]", "[]", "wallet:create"));
    assert_false(granted("[\"operator\"]", "[]", "account:create"));
}

static void test_extra_permissions_and_service_wildcards(void **state)
{
    (void)state;
    assert_true(granted("[]", "[\"account:list\"]", "account:list"));
    assert_false(granted("[]", "[\"account:list\"]", "account:listx"));
    assert_true(granted("[]", "[\"gasbank:*\"]", "gasbank:audit"));
    assert_false(granted("[]", "[\"gas:*\"]", "gasbank:audit"));
    assert_false(granted("[\"nobody\"]", "[]", "wallet:create"));
}

static void test_permission_and_role_names_are_validated(void **state)
{
    (void)state;
    assert_true(nsl_permission_valid("*"));
    assert_true(nsl_permission_valid("wallet:*"));
    assert_true(nsl_permission_valid("account:createApiKey"));
    assert_false(nsl_permission_valid("nosuch:thing"));
    assert_false(nsl_permission_valid("wallet:"));
    assert_false(nsl_permission_valid(":create"));
    assert_false(nsl_permission_valid("wallet:cre*"));
    assert_false(nsl_permission_valid("wallet:a:b"));
    assert_true(nsl_role_valid("operator"));
    assert_false(nsl_role_valid("root"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_is_granted_everything),
        cmocka_unit_test(test_user_gets_own_services_but_not_admin_operations),
        cmocka_unit_test(test_operator_adds_deposits_and_price_updates_to_user),
        cmocka_unit_test(test_extra_permissions_and_service_wildcards),
        cmocka_unit_test(test_permission_and_role_names_are_validated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
