/* Unit tests of common/routes: lookup, the request schema and the table's own consistency. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/routes.h"

static void test_routes_find_system_health(void **state)
{
    (void)state;
    size_t index = 999;
    assert_int_equal(nsl_route_find("system", "health", &index), NSL_OK);
    assert_true(index < nsl_route_count);
    assert_string_equal(nsl_routes[index].service, "system");
    assert_string_equal(nsl_routes[index].operation, "health");
    assert_true(nsl_routes[index].flags & NSL_ROUTE_PUBLIC);
    assert_null(nsl_routes[index].permission);
}

static void test_routes_find_tells_unknown_service_from_unknown_operation(void **state)
{
    (void)state;
    size_t index = 999;
    assert_int_equal(nsl_route_find("nosuch", "health", &index), NSL_ERR_UNKNOWN_SERVICE);
    assert_int_equal(nsl_route_find("", "", &index), NSL_ERR_UNKNOWN_SERVICE);
    assert_int_equal(nsl_route_find("System", "health", &index), NSL_ERR_UNKNOWN_SERVICE);
    assert_int_equal(nsl_route_find("system", "nosuch", &index), NSL_ERR_UNKNOWN_OPERATION);
    assert_int_equal(nsl_route_find("system", "", &index), NSL_ERR_UNKNOWN_OPERATION);
    assert_int_equal(nsl_route_find("system", "Health", &index), NSL_ERR_UNKNOWN_OPERATION);
    assert_int_equal(index, 999);
}

static void test_routes_find_every_row_by_its_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsl_route_count; i++) {
        size_t index = 999;
        assert_int_equal(nsl_route_find(nsl_routes[i].service, nsl_routes[i].operation, &index),
                         NSL_OK);
        assert_int_equal(index, i); /* and no row is listed twice */
        char method[128];
        snprintf(method, sizeof method, "%s.%s", nsl_routes[i].service, nsl_routes[i].operation);
        assert_int_equal(nsl_route_find_method(method), (long)i);
    }
}

static void test_routes_find_method(void **state)
{
    (void)state;
    long i = nsl_route_find_method("system.health");
    assert_true(i >= 0);
    assert_string_equal(nsl_routes[i].operation, "health");
    assert_int_equal(nsl_route_find_method("system"), -1);
    assert_int_equal(nsl_route_find_method("system."), -1);
    assert_int_equal(nsl_route_find_method(".health"), -1);
    assert_int_equal(nsl_route_find_method(""), -1);
    assert_int_equal(nsl_route_find_method("system.health.x"), -1);
    assert_int_equal(nsl_route_find_method("systemx.health"), -1);
    assert_int_equal(nsl_route_find_method("syste.health"), -1);
    assert_int_equal(nsl_route_find_method("nosuch.health"), -1);
}

static void test_routes_every_row_has_schema_summary_and_names(void **state)
{
    (void)state;
    assert_true(nsl_route_count >= 3);
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        assert_non_null(r->service);
        assert_non_null(r->operation);
        assert_true(strlen(r->service) > 0 && strlen(r->service) <= NSL_MAX_SERVICE_LEN);
        assert_true(strlen(r->operation) > 0 && strlen(r->operation) <= NSL_MAX_OPERATION_LEN);
        assert_null(strchr(r->service, '.'));
        assert_non_null(r->params);
        assert_non_null(r->summary);
        assert_true(strlen(r->summary) > 0);
        for (const struct nsl_field_spec *f = r->params; f->name; f++) {
            assert_non_null(f->doc);
            if (f->type == NSL_FIELD_INT)
                assert_true(f->min <= f->max);
        }
    }
}

static void test_routes_non_public_rows_need_their_own_permission(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        if (r->flags & NSL_ROUTE_PUBLIC) {
            assert_null(r->permission);
            continue;
        }
        assert_non_null(r->permission);
        char want[128];
        snprintf(want, sizeof want, "%s:%s", r->service, r->operation);
        assert_string_equal(r->permission, want);
    }
}

static void test_routes_system_rows_exist(void **state)
{
    (void)state;
    static const char *const ops[] = {"health", "info", "metrics"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t index;
        assert_int_equal(nsl_route_find("system", ops[i], &index), NSL_OK);
    }
}

static void test_routes_to_json_lists_every_row(void **state)
{
    (void)state;
    json_t *a = nsl_routes_to_json();
    assert_non_null(a);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), nsl_route_count);
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        json_t *row = json_array_get(a, i);
        assert_true(json_is_object(row));
        assert_string_equal(json_string_value(json_object_get(row, "service")), r->service);
        assert_string_equal(json_string_value(json_object_get(row, "operation")), r->operation);
        assert_string_equal(json_string_value(json_object_get(row, "summary")), r->summary);
        json_t *perm = json_object_get(row, "permission");
        if (r->permission)
            assert_string_equal(json_string_value(perm), r->permission);
        else
            assert_true(perm == NULL || json_is_null(perm));
        json_t *flags = json_object_get(row, "flags");
        assert_true(json_is_array(flags));
        bool has_public = false;
        size_t k;
        json_t *flag;
        json_array_foreach(flags, k, flag)
        {
            assert_true(json_is_string(flag));
            if (strcmp(json_string_value(flag), "public") == 0)
                has_public = true;
        }
        assert_int_equal(has_public, (r->flags & NSL_ROUTE_PUBLIC) != 0);
        json_t *params = json_object_get(row, "params");
        assert_true(json_is_array(params));
        size_t nparams = 0;
        for (const struct nsl_field_spec *f = r->params; f->name; f++)
            nparams++;
        assert_int_equal(json_array_size(params), nparams);
        json_t *p;
        json_array_foreach(params, k, p)
        {
            assert_string_equal(json_string_value(json_object_get(p, "name")), r->params[k].name);
            assert_string_equal(json_string_value(json_object_get(p, "type")),
                                nsl_field_type_name(r->params[k].type));
            assert_true(json_is_boolean(json_object_get(p, "required")));
        }
    }
    json_decref(a);
}

/* The envelope schema of ARCHITECTURE §2. */
static nsl_err check_request(const char *text, struct nsl_error *err)
{
    json_error_t jerr;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        fail_msg("bad test input %s: %s", text, jerr.text);
    nsl_err rc = nsl_json_check(o, nsl_request_schema, NSL_ERR_INVALID_REQUEST, "request", err);
    json_decref(o);
    return rc;
}

static void test_routes_request_schema_matches_envelope(void **state)
{
    (void)state;
    struct nsl_error err;
    assert_int_equal(check_request("{\"id\":\"r-1\",\"serviceType\":\"system\",\"operation\":"
                                   "\"health\"}",
                                   &err),
                     NSL_OK);
    assert_int_equal(check_request("{\"id\":\"r-1\",\"serviceType\":\"wallet\",\"operation\":"
                                   "\"signMessage\",\"params\":{\"a\":1},\"auth\":{\"scheme\":"
                                   "\"apikey\",\"apiKey\":\"k\"}}",
                                   &err),
                     NSL_OK);
    assert_int_equal(check_request("{\"serviceType\":\"s\",\"operation\":\"o\"}", &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_int_equal(check_request("{\"id\":\"1\",\"operation\":\"o\"}", &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_int_equal(check_request("{\"id\":\"1\",\"serviceType\":\"s\"}", &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_int_equal(check_request("{\"id\":\"1\",\"serviceType\":\"s\",\"operation\":\"o\","
                                   "\"extra\":1}",
                                   &err),
                     NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "extra"));
}

static void test_routes_request_schema_limits(void **state)
{
    (void)state;
    char text[512], s[200];
    struct nsl_error err;
    memset(s, 's', sizeof s);
    s[NSL_MAX_SERVICE_LEN] = 0;
    snprintf(text, sizeof text, "{\"id\":\"1\",\"serviceType\":\"%s\",\"operation\":\"o\"}", s);
    assert_int_equal(check_request(text, &err), NSL_OK);
    s[NSL_MAX_SERVICE_LEN] = 's';
    s[NSL_MAX_SERVICE_LEN + 1] = 0;
    snprintf(text, sizeof text, "{\"id\":\"1\",\"serviceType\":\"%s\",\"operation\":\"o\"}", s);
    assert_int_equal(check_request(text, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "request.serviceType"));
    memset(s, 'o', sizeof s);
    s[NSL_MAX_OPERATION_LEN + 1] = 0;
    snprintf(text, sizeof text, "{\"id\":\"1\",\"serviceType\":\"s\",\"operation\":\"%s\"}", s);
    assert_int_equal(check_request(text, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "request.operation"));
    memset(s, 'i', sizeof s);
    s[NSL_MAX_ID_LEN + 1] = 0;
    snprintf(text, sizeof text, "{\"id\":\"%s\",\"serviceType\":\"s\",\"operation\":\"o\"}", s);
    assert_int_equal(check_request(text, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "request.id"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_find_system_health),
        cmocka_unit_test(test_routes_find_tells_unknown_service_from_unknown_operation),
        cmocka_unit_test(test_routes_find_every_row_by_its_names),
        cmocka_unit_test(test_routes_find_method),
        cmocka_unit_test(test_routes_every_row_has_schema_summary_and_names),
        cmocka_unit_test(test_routes_non_public_rows_need_their_own_permission),
        cmocka_unit_test(test_routes_system_rows_exist),
        cmocka_unit_test(test_routes_to_json_lists_every_row),
        cmocka_unit_test(test_routes_request_schema_matches_envelope),
        cmocka_unit_test(test_routes_request_schema_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
