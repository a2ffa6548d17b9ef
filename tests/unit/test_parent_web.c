/* The web resources' table: which URLs nsl-parent answers with the dashboard and the OpenRPC
 * document, and what the embedded files are (content types, no inline script in the page). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "parent/web.h"
#include "parent/web_assets.h"

static const struct nsl_web_asset *asset(const char *path)
{
    for (size_t i = 0; i < nsl_web_asset_count; i++)
        if (strcmp(nsl_web_assets[i].path, path) == 0)
            return &nsl_web_assets[i];
    fail_msg("no asset %s", path);
    return NULL;
}

static void test_web_handles_exactly_its_resources(void **state)
{
    (void)state;
    assert_true(nsl_web_handles("/"));
    assert_true(nsl_web_handles("/dashboard.js"));
    assert_true(nsl_web_handles("/dashboard.css"));
    assert_true(nsl_web_handles(NSL_WEB_OPENRPC_PATH));
    assert_false(nsl_web_handles("/index.html")); /* served at / only */
    assert_false(nsl_web_handles("/v1/rpc"));
    assert_false(nsl_web_handles("/metrics"));
    assert_false(nsl_web_handles("/../dashboard.js"));
    assert_false(nsl_web_handles("/dashboard.js/"));
    assert_false(nsl_web_handles("//dashboard.js"));
    assert_false(nsl_web_handles(""));
}

/* True when html has an attribute like onclick= (an inline event handler). */
static bool has_event_handler(const char *html)
{
    for (const char *p = strstr(html, " on"); p; p = strstr(p + 1, " on")) {
        const char *q = p + 3;
        while (*q >= 'a' && *q <= 'z')
            q++;
        if (q > p + 3 && *q == '=')
            return true;
    }
    return false;
}

static void test_web_assets_have_types_and_no_inline_script(void **state)
{
    (void)state;
    assert_int_equal(nsl_web_asset_count, 3);
    assert_string_equal(asset("/")->type, "text/html; charset=utf-8");
    assert_string_equal(asset("/dashboard.js")->type, "text/javascript; charset=utf-8");
    assert_string_equal(asset("/dashboard.css")->type, "text/css; charset=utf-8");
    const struct nsl_web_asset *page = asset("/");
    const char *html = (const char *)page->data; /* the build adds a NUL after the bytes */
    assert_int_equal(strlen(html), page->len);
    const char *script = strstr(html, "<script");
    assert_non_null(script);
    assert_true(strncmp(script, "<script src=\"/dashboard.js\" defer></script>", 43) == 0);
    assert_null(strstr(script + 1, "<script"));
    assert_null(strstr(html, " style="));  /* the policy allows no inline style either */
    assert_false(has_event_handler(html)); /* nor inline event handlers (onclick=...) */
    assert_true(has_event_handler("<a onclick=\"x()\">"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_web_handles_exactly_its_resources),
        cmocka_unit_test(test_web_assets_have_types_and_no_inline_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
