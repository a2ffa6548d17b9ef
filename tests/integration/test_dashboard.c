/* The operator dashboard end to end: nsl-parent serves the page with its security headers and the
 * OpenRPC document; headless Chromium (through chromedriver) signs in with the admin's signing
 * key, sees every panel say it has no data, then, after a price feed round from local HTTPS
 * sources, a gas bank deposit, a function run and a permission denial, sees those values appear
 * on its own refresh. Bad credentials are refused on the page; an API key shows the panels it can
 * and says which need a signing key. Writes a screenshot to <build>/dashboard.png. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "common/routes.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/https.h"
#include "harness/webdriver.h"
#include "neo/key.h"
#include "neo/wif.h"

#define WAIT_MS 20000 /* a panel refreshes every 5 s; generous for a loaded machine */
#define POLL_US 200000

static struct {
    struct nsl_stack stack;
    struct nsl_client client;
    struct nsl_https_server prices[3]; /* sources a, b, c: one server each, as TLS is slow */
    atomic_int b_cents;                /* the price source "b" answers, in hundredths */
    struct nsl_webdriver browser;
    struct nsl_secret *admin_key;
    char admin_id[64], admin_key_hex[65], admin_wif[60];
    char alice_id[64], alice_key[128];
    char allow[128], ca_file[512], page[64];
} t;

/* Three price sources on local HTTPS servers: a 12.30, b (12.34, then moved), c 12.41. */
static void answer(void *ctx, const char *path, struct nsl_https_response *resp)
{
    (void)path;
    int source = (int)(intptr_t)ctx;
    int cents = source == 0 ? 1230 : source == 2 ? 1241 : t.b_cents;
    nsl_https_body(resp, "{\"price\":\"%d.%02d\"}", cents / 100, cents % 100);
}

static json_t *admin(const char *service, const char *operation, const char *params)
{
    struct nsl_signing s = {.key = t.admin_key, .account = t.admin_id};
    return nsl_client_signed(&t.client, &s, service, operation, params);
}

static void bootstrap(void)
{
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[67], params[128];
    nsl_neo_key_generate(&t.admin_key, NULL);
    nsl_neo_key_public(t.admin_key, pub, NULL);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    nsl_hex_encode(nsl_secret_bytes(t.admin_key), 32, t.admin_key_hex);
    struct nsl_secret *wif = NULL;
    assert_int_equal(nsl_neo_wif_encode(t.admin_key, &wif, NULL), NSL_OK);
    snprintf(t.admin_wif, sizeof t.admin_wif, "%s", (const char *)nsl_secret_bytes(wif));
    nsl_secret_free(wif);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    json_t *reply =
        nsl_client_send(&t.client, nsl_client_envelope(&t.client, "account", "bootstrap", params));
    nsl_client_copy_string(reply, "accountId", t.admin_id, sizeof t.admin_id);
    json_decref(reply);
    reply = admin("account", "create", "{\"name\":\"alice\"}");
    nsl_client_copy_string(reply, "accountId", t.alice_id, sizeof t.alice_id);
    nsl_client_copy_string(reply, "apiKey", t.alice_key, sizeof t.alice_key);
    json_decref(reply);
}

/* Chromium takes seconds to start: it does so while the daemons start. */
static void *start_browser(void *ctx)
{
    (void)ctx;
    /* No skip: install-deps.sh installs chromium, so a missing browser fails the test. */
    return (void *)(intptr_t)nsl_webdriver_start(&t.browser);
}

static int start_all(void)
{
    pthread_t browser;
    void *browser_rc = NULL;
    if (pthread_create(&browser, NULL, start_browser, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    nsl_log_init("test_dashboard", NSL_LOG_ERROR);
    struct nsl_stack *st = &t.stack;
    struct nsl_test_ca ca;
    atomic_store(&t.b_cents, 1234);
    int rc = nsl_stack_init(st) == 0 && nsl_test_ca_make(st->dir, "srv", &ca) == 0 ? 0 : -1;
    for (int i = 0; rc == 0 && i < 3; i++)
        if (nsl_https_server_start(&t.prices[i], ca.cert, ca.key, answer, (void *)(intptr_t)i) < 0)
            rc = -1;
    if (rc != 0) {
        pthread_join(browser, &browser_rc);
        return -1;
    }
    snprintf(t.allow, sizeof t.allow, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", t.prices[0].port,
             t.prices[1].port, t.prices[2].port);
    snprintf(t.ca_file, sizeof t.ca_file, "%s", ca.ca_cert);
    st->parent_extra[0] = "--egress-allow";
    st->parent_extra[1] = t.allow;
    st->enclave_extra[0] = "--ca-file";
    st->enclave_extra[1] = t.ca_file;
    rc = nsl_stack_start_enclave(st) == 0 && nsl_stack_start_parent(st) == 0 ? 0 : -1;
    t.client.fd = rc == 0 ? nsl_test_connect(st->enclave_url) : -1;
    if (rc == 0 && nsl_wait_storage_ready(t.client.fd, 15000) != 0)
        rc = -1;
    pthread_join(browser, &browser_rc);
    if (rc != 0 || browser_rc != NULL)
        return -1;
    bootstrap();
    snprintf(t.page, sizeof t.page, "http://127.0.0.1:%d/", st->http_port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nsl_webdriver_stop(&t.browser);
    if (t.client.fd > 0)
        close(t.client.fd);
    int rc = nsl_stack_stop(&t.stack);
    for (int i = 0; i < 3; i++)
        nsl_https_server_stop(&t.prices[i]);
    nsl_secret_free(t.admin_key);
    return rc == 0 ? 0 : -1;
}

/* cmocka skips the group teardown when setup fails: stop what did start. */
static int setup(void **state)
{
    if (start_all() == 0)
        return 0;
    teardown(state);
    return -1;
}

/* ---------- plain HTTP: headers and documents ---------- */

/* GET or POST path on the parent; the whole response, head included (malloc'd). */
static char *raw_http(const char *method, const char *path)
{
    char url[64], req[256];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", t.stack.http_port);
    int fd = nsl_test_connect(url);
    assert_true(fd >= 0);
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, path);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (ssize_t got; buf && (got = recv(fd, buf + len, cap - len - 1, 0)) > 0;) {
        len += (size_t)got;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    close(fd);
    assert_non_null(buf);
    buf[len] = 0;
    return buf;
}

static void expect_header(const char *response, const char *line)
{
    const char *end = strstr(response, "\r\n\r\n");
    const char *at = strcasestr(response, line);
    if (!at || at > end)
        fail_msg("no header \"%s\" in:\n%.*s", line, (int)(end - response), response);
}

static void test_page_is_served_with_security_headers(void **state)
{
    (void)state;
    char *page = raw_http("GET", "/");
    assert_true(strncmp(page, "HTTP/1.1 200", 12) == 0);
    expect_header(page, "Content-Type: text/html; charset=utf-8");
    expect_header(page, "Content-Security-Policy: default-src 'self'; script-src 'self'");
    expect_header(page, "frame-ancestors 'none'");
    expect_header(page, "X-Content-Type-Options: nosniff");
    expect_header(page, "X-Frame-Options: DENY");
    /* No inline script: the only <script is one with a src from this origin. */
    const char *body = strstr(page, "\r\n\r\n");
    const char *script = strstr(body, "<script");
    assert_non_null(script);
    assert_true(strncmp(script, "<script src=\"/dashboard.js\"", 27) == 0);
    assert_null(strstr(script + 1, "<script"));
    assert_null(strstr(body, "NSL-APIKEY nsl_")); /* never a key in the page */
    free(page);

    char *js = raw_http("GET", "/dashboard.js");
    assert_true(strncmp(js, "HTTP/1.1 200", 12) == 0);
    expect_header(js, "Content-Type: text/javascript");
    expect_header(js, "X-Content-Type-Options: nosniff");
    free(js);

    char *post = raw_http("POST", "/");
    assert_true(strncmp(post, "HTTP/1.1 405", 12) == 0);
    expect_header(post, "Allow: GET, HEAD");
    free(post);
    char *missing = raw_http("GET", "/secret.js");
    assert_true(strncmp(missing, "HTTP/1.1 404", 12) == 0);
    free(missing);
}

static void test_openrpc_document_is_served(void **state)
{
    (void)state;
    char *text = raw_http("GET", "/v1/openrpc.json");
    assert_true(strncmp(text, "HTTP/1.1 200", 12) == 0);
    expect_header(text, "Content-Type: application/json");
    json_t *doc = json_loads(strstr(text, "\r\n\r\n") + 4, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openrpc")), "1.2.6");
    assert_int_equal(json_array_size(json_object_get(doc, "methods")), nsl_route_count);
    json_decref(doc);
    free(text);
    char *post = raw_http("POST", "/v1/openrpc.json");
    assert_true(strncmp(post, "HTTP/1.1 405", 12) == 0);
    free(post);
}

/* ---------- the page in the browser ---------- */

/* Every panel as {state, text}, keyed by panel id, plus the sign-in error and the header. */
static const char *const SNAPSHOT_JS =
    "const out = {panels: {}, signinError: document.getElementById('signin-error').textContent,"
    " who: document.getElementById('who').textContent,"
    " stored: sessionStorage.getItem('nsl-dashboard-apikey'),"
    " points: document.querySelectorAll('#p-prices svg circle').length};"
    "for (const p of document.querySelectorAll('main .panel')) {"
    "  const b = p.querySelector('.body');"
    "  out.panels[p.id] = {state: b.dataset.state, text: b.textContent};"
    "}"
    "return out;";

static json_t *snapshot(void)
{
    json_t *s = nsl_webdriver_execute(&t.browser, SNAPSHOT_JS, NULL);
    assert_non_null(s);
    return s;
}

static const char *panel_state(const json_t *s, const char *panel)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(s, "panels"), panel), "state"));
}

static const char *panel_text(const json_t *s, const char *panel)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(s, "panels"), panel), "text"));
}

/* What a panel must show: its state and pieces of its text. */
struct expectation {
    const char *panel, *state, *texts[6];
};

static bool meets(const json_t *s, const struct expectation *e, bool report)
{
    const char *state = panel_state(s, e->panel), *text = panel_text(s, e->panel);
    bool ok = state && text && strcmp(state, e->state) == 0;
    for (size_t i = 0; ok && i < 6 && e->texts[i]; i++)
        ok = strstr(text, e->texts[i]) != NULL;
    if (!ok && report)
        fail_msg("panel %s: state %s, text:\n%s", e->panel, state ? state : "(none)",
                 text ? text : "(none)");
    return ok;
}

struct wait_ctx {
    const struct expectation *want;
    size_t count;
};

static bool all_met(void *ctx)
{
    struct wait_ctx *w = ctx;
    json_t *s = nsl_webdriver_execute(&t.browser, SNAPSHOT_JS, NULL);
    bool ok = s != NULL;
    for (size_t i = 0; ok && i < w->count; i++)
        ok = meets(s, &w->want[i], false);
    json_decref(s);
    /* Each look is a round trip through chromedriver into the page: look a few times a second,
     * not hundreds, so that the browser spends its time refreshing the panels. */
    if (!ok)
        usleep(POLL_US);
    return ok;
}

/* Waits until every expectation holds; on timeout fails naming the first that does not. */
static void wait_for(const struct expectation *want, size_t count)
{
    struct wait_ctx w = {want, count};
    if (nsl_wait_until(all_met, &w, WAIT_MS) == 0)
        return;
    json_t *s = snapshot();
    for (size_t i = 0; i < count; i++)
        meets(s, &want[i], true);
    json_decref(s);
}

static bool signin_settled(void *ctx)
{
    (void)ctx;
    json_t *s = nsl_webdriver_execute(&t.browser,
                                      "return document.getElementById('signin-error').textContent"
                                      " || (document.getElementById('panels').hidden ? '' : 'in');",
                                      NULL);
    bool done = json_string_length(s) > 0;
    json_decref(s);
    return done;
}

/* Fills the sign-in form (loading the page unless it shows the form) and submits it; waits until
 * the page signed in or said why not. */
static void sign_in(const char *account, const char *signing_key, const char *api_key)
{
    json_t *form = nsl_webdriver_execute(&t.browser,
                                         "const f = document.getElementById('signin');"
                                         "if (!f || f.hidden) return false;"
                                         "document.getElementById('signin-error').textContent = '';"
                                         "return true;",
                                         NULL);
    if (!json_is_true(form))
        assert_int_equal(nsl_webdriver_get(&t.browser, t.page), 0);
    json_decref(form);
    json_t *v = nsl_webdriver_execute(&t.browser,
                                      "document.getElementById('account').value = arguments[0];"
                                      "document.getElementById('signing-key').value = arguments[1];"
                                      "document.getElementById('api-key').value = arguments[2];"
                                      "document.getElementById('signin-form').requestSubmit();",
                                      json_pack("[s, s, s]", account, signing_key, api_key));
    assert_non_null(v);
    json_decref(v);
    assert_int_equal(nsl_wait_until(signin_settled, NULL, WAIT_MS), 0);
}

static void test_bad_credentials_are_refused_on_the_page(void **state)
{
    (void)state;
    sign_in("", "",
            "nsl_0000000000000000_0000000000000000000000000000000000000000000000000000"
            "000000000000");
    json_t *s = snapshot();
    assert_non_null(strstr(json_string_value(json_object_get(s, "signinError")),
                           "UNAUTHENTICATED: invalid credentials"));
    assert_true(json_is_null(json_object_get(s, "stored"))); /* a refused key is not kept */
    json_decref(s);

    sign_in(t.admin_id, "not-a-key", "");
    s = snapshot();
    assert_non_null(strstr(json_string_value(json_object_get(s, "signinError")),
                           "neither 64 hex digits nor a WIF"));
    json_decref(s);

    /* A valid key of another account: the signature does not verify. */
    sign_in(t.admin_id, "1111111111111111111111111111111111111111111111111111111111111111", "");
    s = snapshot();
    assert_non_null(strstr(json_string_value(json_object_get(s, "signinError")),
                           "UNAUTHENTICATED: invalid credentials"));
    json_decref(s);

    /* The admin's WIF with its last character changed: the checksum no longer matches. */
    char wif[60];
    snprintf(wif, sizeof wif, "%s", t.admin_wif);
    wif[51] = wif[51] == 'a' ? 'b' : 'a';
    sign_in(t.admin_id, wif, "");
    s = snapshot();
    assert_non_null(strstr(json_string_value(json_object_get(s, "signinError")),
                           "the WIF checksum does not match"));
    json_decref(s);
}

/* A new account with role user and a signing key: its id and private key (hex). */
static void create_signing_account(const char *name, char id[64], char key_hex[65])
{
    struct nsl_secret *key = NULL;
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[67], params[256];
    nsl_neo_key_generate(&key, NULL);
    nsl_neo_key_public(key, pub, NULL);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    nsl_hex_encode(nsl_secret_bytes(key), 32, key_hex);
    nsl_secret_free(key);
    snprintf(params, sizeof params, "{\"name\":\"%s\",\"publicKey\":\"%s\"}", name, pub_hex);
    json_t *reply = admin("account", "create", params);
    nsl_client_copy_string(reply, "accountId", id, 64);
    json_decref(reply);
}

/* Denials in the whole audit log, read by the admin. */
static size_t audited_denials(void)
{
    json_t *reply = admin("account", "auditLog", "{\"limit\":1000}");
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(nsl_client_result(reply), "entries"), i, e)
    {
        const char *outcome = json_string_value(json_object_get(e, "outcome"));
        n += strcmp(outcome, "ok") != 0;
    }
    json_decref(reply);
    return n;
}

/* A plain user with a signing key: the panels it lacks permissions for say so, and the page
 * does not even try those calls, so an open dashboard adds no denial to the audit log. */
static void test_panels_say_which_permission_is_missing(void **state)
{
    (void)state;
    char id[64], key_hex[65];
    create_signing_account("bob", id, key_hex);
    size_t before = audited_denials();
    sign_in(id, key_hex, "");
    const struct expectation want[] = {
        {"p-enclave", "ok", {"sim-"}},
        {"p-gasbank", "needs-permission", {"gasbank:audit"}},
        {"p-functions", "ok", {"function.invoke in the enclaveneeds system:metrics"}},
        {"p-audit", "needs-permission", {"account:auditLog"}},
    };
    wait_for(want, sizeof want / sizeof want[0]);
    json_t *v =
        nsl_webdriver_execute(&t.browser, "document.getElementById('refresh-now').click();", NULL);
    json_decref(v);
    wait_for(want, sizeof want / sizeof want[0]);
    assert_int_equal(audited_denials(), before);
    v = nsl_webdriver_execute(&t.browser, "document.getElementById('signout').click();", NULL);
    json_decref(v);
}

/* The dedicated account docs/dashboard.md recommends: role user plus three permissions. */
static void test_least_privilege_account_sees_every_panel(void **state)
{
    (void)state;
    char id[64], key_hex[65], params[512];
    create_signing_account("dashboard", id, key_hex);
    json_t *reply;
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"permissions\":[\"system:metrics\",\"account:auditLog\","
             "\"gasbank:audit\"]}",
             id);
    reply = admin("account", "update", params);
    nsl_client_result(reply);
    json_decref(reply);

    sign_in(id, key_hex, "");
    const struct expectation want[] = {
        {"p-enclave", "ok", {"sim-"}},
        {"p-prices", "ok", {"NEO/USD", "12.41"}},
        {"p-gasbank", "ok", {"every invariant holds", "deposits1.5 GAS"}},
        {"p-functions",
         "ok",
         {"function.invoke in the enclave1", "This account has no functions."}},
        {"p-audit", "ok", {"PERMISSION_DENIED", "account.list"}},
        {"p-rates", "ok", {"account.list"}},
    };
    wait_for(want, sizeof want / sizeof want[0]);
    json_t *v =
        nsl_webdriver_execute(&t.browser, "document.getElementById('signout').click();", NULL);
    json_decref(v);
}

static void test_signing_key_may_be_a_wif(void **state)
{
    (void)state;
    sign_in(t.admin_id, t.admin_wif, "");
    json_t *s = snapshot();
    const char *who = json_string_value(json_object_get(s, "who"));
    assert_non_null(strstr(who, t.admin_id));
    assert_non_null(strstr(who, "neo-sig"));
    json_decref(s);
    json_t *v =
        nsl_webdriver_execute(&t.browser, "document.getElementById('signout').click();", NULL);
    json_decref(v);
}

/* pricefeed.update published a round. A source that does not answer within the feed's 5 s (a
 * TLS handshake on a loaded machine under ASan) makes the round UNAVAILABLE: then try again. */
static bool round_published(void *ctx)
{
    (void)ctx;
    json_t *reply = admin("pricefeed", "update", "{\"pair\":\"NEO/USD\"}");
    bool ok = json_is_true(json_object_get(json_object_get(reply, "result"), "published"));
    char *text = json_dumps(reply, 0);
    json_decref(reply);
    bool timed_out = text && strstr(text, "TIMEOUT");
    if (!ok && !timed_out)
        fail_msg("pricefeed.update: %s", text ? text : "(no reply)");
    free(text);
    return ok;
}

/* The data the panels then show: a price round, a deposit, a function run, a denial. */
static void create_data(void)
{
    char params[1024];
    snprintf(params, sizeof params,
             "{\"pair\":\"NEO/USD\",\"minSources\":3,\"updateIntervalSec\":86400,\"sources\":["
             "{\"name\":\"a\",\"url\":\"https://127.0.0.1:%d/a\",\"path\":\"price\"},"
             "{\"name\":\"b\",\"url\":\"https://127.0.0.1:%d/b\",\"path\":\"price\"},"
             "{\"name\":\"c\",\"url\":\"https://127.0.0.1:%d/c\",\"path\":\"price\"}]}",
             t.prices[0].port, t.prices[1].port, t.prices[2].port);
    json_t *reply = admin("pricefeed", "configure", params);
    nsl_client_result(reply);
    json_decref(reply);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(nsl_wait_until(round_published, NULL, WAIT_MS * 3), 0);
        atomic_store(&t.b_cents, 1250); /* moves the median: the second update publishes too */
    }
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"150000000\",\"txHash\":\"0x%064d\"}", t.alice_id,
             7);
    reply = admin("gasbank", "deposit", params);
    nsl_client_result(reply);
    json_decref(reply);
    reply = admin("function", "deploy",
                  "{\"name\":\"ticker\",\"source\":\"function main(args) { return 1; }\"}");
    nsl_client_result(reply);
    json_decref(reply);

    /* alice through the parent's HTTP API, so that its metrics count her calls. */
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: NSL-APIKEY %s\r\n", t.alice_key);
    const char *calls[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"function.deploy\",\"params\":{\"name\":"
        "\"hello\",\"source\":\"function main(args) { return args.x + 1; }\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"function.invoke\",\"params\":{\"name\":"
        "\"hello\",\"args\":{\"x\":41}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"account.list\",\"params\":{}}",
    };
    const char *expect[] = {"\"version\":1", "\"result\":42", "PERMISSION_DENIED"};
    for (size_t i = 0; i < 3; i++) {
        int status = 0;
        char *body = NULL;
        assert_int_equal(
            nsl_http_request(t.stack.http_port, "POST", "/v1/rpc", auth, calls[i], &status, &body),
            0);
        if (!strstr(body, expect[i]))
            fail_msg("call %zu: %s", i, body);
        free(body);
    }
}

static void test_dashboard_shows_live_data_with_a_signing_key(void **state)
{
    (void)state;
    sign_in(t.admin_id, t.admin_key_hex, "");
    json_t *s = snapshot();
    assert_string_equal(json_string_value(json_object_get(s, "signinError")), "");
    assert_non_null(strstr(json_string_value(json_object_get(s, "who")), t.admin_id));
    assert_true(json_is_null(json_object_get(s, "stored"))); /* a signing key is never stored */
    json_decref(s);

    const struct expectation empty[] = {
        {"p-enclave", "ok", {"simulated", "sim-", "key provider sim"}},
        {"p-prices", "empty", {"No price pairs configured."}},
        {"p-gasbank", "empty", {"No gas bank account yet.", "every invariant holds"}},
        {"p-functions", "empty", {"This account has no functions."}},
        {"p-audit", "empty", {"No denials among the last 200 audit entries.", "verified"}},
        {"p-rates", "ok", {"account.whoami"}},
    };
    wait_for(empty, sizeof empty / sizeof empty[0]);

    create_data();
    /* "Refresh now" instead of the next 5 s tick; it also reruns the once-a-minute gas bank audit.
     */
    json_t *v =
        nsl_webdriver_execute(&t.browser, "document.getElementById('refresh-now').click();", NULL);
    assert_non_null(v);
    json_decref(v);
    const struct expectation live[] = {
        {"p-enclave",
         "ok",
         {"module id", "sim-", "echoes this page's fresh nonce: yes", "reported: yes",
          "Not checked by this page"}},
        {"p-prices", "ok", {"NEO/USD", "12.41", "(round 2,", "3 of 3", "a12.3ok", "b12.5ok"}},
        {"p-gasbank", "ok", {"every invariant holds", "deposits1.5 GAS", "available1.5 GAS"}},
        {"p-functions",
         "ok",
         {"function.invoke via this parent1 (0 failed)", "function.invoke in the enclave1",
          "ticker"}},
        {"p-audit", "ok", {"PERMISSION_DENIED", "account.list", t.alice_id, "verified"}},
        {"p-rates", "ok", {"account.list", "function.invoke", "pricefeed.history"}},
    };
    wait_for(live, sizeof live / sizeof live[0]);
    s = snapshot();
    assert_int_equal(json_integer_value(json_object_get(s, "points")), 2); /* two rounds */
    json_decref(s);
    /* account.list: one call, one error, in the rates table's row. */
    v = nsl_webdriver_execute(&t.browser,
                              "for (const tr of document.querySelectorAll('#p-rates tbody tr'))"
                              "  if (tr.cells[0].textContent === 'account.list')"
                              "    return [tr.cells[1].textContent, tr.cells[2].textContent];"
                              "return null;",
                              NULL);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "1");
    assert_string_equal(json_string_value(json_array_get(v, 1)), "1");
    json_decref(v);

    char png[512];
    const char *bin = getenv("NSL_BIN_DIR");
    snprintf(png, sizeof png, "%s/../dashboard.png", bin ? bin : "build/bin");
    assert_int_equal(nsl_webdriver_screenshot(&t.browser, png), 0);
    fprintf(stderr, "dashboard screenshot: %s\n", png);
}

static void test_api_key_shows_what_it_may_and_says_what_needs_a_signature(void **state)
{
    (void)state;
    sign_in("", "", t.alice_key);
    const struct expectation want[] = {
        {"p-enclave", "ok", {"simulated"}},
        {"p-prices", "ok", {"NEO/USD", "12.41"}},
        {"p-gasbank", "needs-signature", {"admin operation", "bank address"}},
        {"p-functions", "ok", {"hello", "function.invoke in the enclaveneeds system:metrics"}},
        {"p-audit", "needs-signature", {"account.auditLog is an admin operation"}},
    };
    wait_for(want, sizeof want / sizeof want[0]);
    json_t *s = snapshot();
    assert_string_equal(json_string_value(json_object_get(s, "stored")), t.alice_key);
    json_decref(s);
    /* A reload keeps the tab's session; Sign out forgets the key. */
    assert_int_equal(nsl_webdriver_get(&t.browser, t.page), 0);
    wait_for(want, 1);
    json_t *v =
        nsl_webdriver_execute(&t.browser, "document.getElementById('signout').click();", NULL);
    json_decref(v);
    assert_int_equal(nsl_webdriver_get(&t.browser, t.page), 0);
    s = snapshot();
    assert_true(json_is_null(json_object_get(s, "stored")));
    assert_non_null(strstr(json_string_value(json_object_get(s, "who")), "not signed in"));
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_is_served_with_security_headers),
        cmocka_unit_test(test_openrpc_document_is_served),
        cmocka_unit_test(test_dashboard_shows_live_data_with_a_signing_key),
        cmocka_unit_test(test_bad_credentials_are_refused_on_the_page),
        cmocka_unit_test(test_signing_key_may_be_a_wif),
        cmocka_unit_test(test_least_privilege_account_sees_every_panel),
        cmocka_unit_test(test_panels_say_which_permission_is_missing),
        cmocka_unit_test(test_api_key_shows_what_it_may_and_says_what_needs_a_signature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
