/* The OpenRPC document of /v1/rpc against the operations table: valid JSON with OpenRPC's
 * required fields, every route as a method with exactly its parameters (names, types, required
 * flags, limits), nothing more. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/routes.h"
#include "parent/openrpc.h"

/* The document as a client gets it: serialized, then parsed back strictly. */
static json_t *document(void)
{
    json_t *doc = nsl_openrpc_document();
    assert_non_null(doc);
    char *text = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);
    assert_non_null(text);
    json_error_t error;
    json_t *parsed = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    free(text);
    if (!parsed)
        fail_msg("not valid JSON: %s", error.text);
    return parsed;
}

static const char *str(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    if (!v)
        fail_msg("missing string member %s", name);
    return v;
}

static const json_t *method_named(const json_t *methods, const char *name)
{
    const json_t *found = NULL;
    size_t i;
    const json_t *m;
    json_array_foreach(methods, i, m)
    {
        if (strcmp(str(m, "name"), name) == 0) {
            if (found)
                fail_msg("method %s is listed twice", name);
            found = m;
        }
    }
    return found;
}

static void test_openrpc_has_the_required_fields(void **state)
{
    (void)state;
    json_t *doc = document();
    assert_string_equal(str(doc, "openrpc"), "1.2.6");
    const json_t *info = json_object_get(doc, "info");
    assert_true(strlen(str(info, "title")) > 0);
    assert_string_equal(str(info, "version"), NSL_VERSION);
    assert_true(json_is_array(json_object_get(doc, "methods")));
    const json_t *server = json_array_get(json_object_get(doc, "servers"), 0);
    assert_string_equal(str(server, "url"), "/v1/rpc");
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(doc, "methods"), i, m)
    {
        assert_true(json_is_array(json_object_get(m, "params")));
        const json_t *result = json_object_get(m, "result");
        assert_true(strlen(str(result, "name")) > 0);
        assert_true(json_is_object(json_object_get(result, "schema")));
        assert_string_equal(str(m, "paramStructure"), "by-name");
    }
    json_decref(doc);
}

/* The schema type the table's field type must become (JSON Schema). */
static const char *expected_type(enum nsl_field_type t)
{
    switch (t) {
    case NSL_FIELD_STRING:
    case NSL_FIELD_HEX:
    case NSL_FIELD_BASE64:
    case NSL_FIELD_DIGITS:
        return "string";
    case NSL_FIELD_INT:
        return "integer";
    case NSL_FIELD_BOOL:
        return "boolean";
    case NSL_FIELD_OBJECT:
        return "object";
    case NSL_FIELD_ARRAY:
        return "array";
    case NSL_FIELD_ANY:
        return NULL;
    }
    return NULL;
}

static void check_param(const char *method, const struct nsl_field_spec *f, const json_t *p)
{
    if (strcmp(str(p, "name"), f->name) != 0)
        fail_msg("%s: param %s where the table has %s", method, str(p, "name"), f->name);
    if (json_is_true(json_object_get(p, "required")) != f->required)
        fail_msg("%s.%s: required flag differs from the table", method, f->name);
    const json_t *schema = json_object_get(p, "schema");
    const char *want = expected_type(f->type);
    const char *got = json_string_value(json_object_get(schema, "type"));
    if (want ? !got || strcmp(want, got) != 0 : json_object_size(schema) != 0)
        fail_msg("%s.%s: schema type %s, table says %s", method, f->name, got ? got : "(any)",
                 nsl_field_type_name(f->type));
    if (f->type == NSL_FIELD_INT) {
        assert_int_equal(json_integer_value(json_object_get(schema, "minimum")), f->min);
        assert_int_equal(json_integer_value(json_object_get(schema, "maximum")), f->max);
    }
    if (f->type == NSL_FIELD_STRING && f->max_len)
        assert_int_equal(json_integer_value(json_object_get(schema, "maxLength")), f->max_len);
    if (f->type == NSL_FIELD_HEX) /* max_len counts bytes */
        assert_int_equal(json_integer_value(json_object_get(schema, "maxLength")), 2 * f->max_len);
    if (f->type == NSL_FIELD_DIGITS)
        assert_string_equal(str(schema, "pattern"), "^[0-9]+$");
    if (f->type == NSL_FIELD_ARRAY && f->max_len)
        assert_int_equal(json_integer_value(json_object_get(schema, "maxItems")), f->max_len);
}

static void test_openrpc_lists_every_route_with_its_params(void **state)
{
    (void)state;
    json_t *doc = document();
    const json_t *methods = json_object_get(doc, "methods");
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        char name[128];
        snprintf(name, sizeof name, "%s.%s", r->service, r->operation);
        const json_t *m = method_named(methods, name);
        if (!m)
            fail_msg("route %s is missing from the document", name);
        assert_string_equal(str(m, "summary"), r->summary);
        const json_t *perm = json_object_get(m, "x-permission");
        if (r->permission)
            assert_string_equal(json_string_value(perm), r->permission);
        else
            assert_null(perm);
        const json_t *params = json_object_get(m, "params");
        size_t n = 0;
        for (const struct nsl_field_spec *f = r->params; f->name; f++, n++) {
            const json_t *p = json_array_get(params, n);
            if (!p)
                fail_msg("%s: param %s is missing", name, f->name);
            check_param(name, f, p);
        }
        if (json_array_size(params) != n)
            fail_msg("%s: %zu params in the document, %zu in the table", name,
                     json_array_size(params), n);
        bool admin = strstr(str(m, "description"), "Admin operation") != NULL;
        assert_int_equal(admin, (r->flags & NSL_ROUTE_ADMIN) != 0);
    }
    /* Nothing extra: as many methods as routes, each one found above exactly once. */
    assert_int_equal(json_array_size(methods), nsl_route_count);
    json_decref(doc);
}

static void test_openrpc_lists_every_error_code(void **state)
{
    (void)state;
    json_t *doc = document();
    const json_t *errors = json_object_get(json_object_get(doc, "components"), "errors");
    assert_int_equal(json_object_size(errors), NSL_ERR_COUNT - 1);
    for (int i = 1; i < NSL_ERR_COUNT; i++) {
        const json_t *e = json_object_get(errors, nsl_err_name((nsl_err)i));
        if (!e)
            fail_msg("error %s is missing", nsl_err_name((nsl_err)i));
        assert_int_equal(json_integer_value(json_object_get(e, "code")),
                         nsl_err_jsonrpc_code((nsl_err)i));
        assert_string_equal(str(json_object_get(e, "data"), "code"), nsl_err_name((nsl_err)i));
    }
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openrpc_has_the_required_fields),
        cmocka_unit_test(test_openrpc_lists_every_route_with_its_params),
        cmocka_unit_test(test_openrpc_lists_every_error_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
