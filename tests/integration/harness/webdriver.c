/* WebDriver client for tests (see webdriver.h), on libcurl. */
#include "harness/webdriver.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/encoding.h"
#include "harness/harness.h"
#include "harness/https.h"

#define CHROMEDRIVER "/usr/bin/chromedriver"
#define CHROMIUM     "/usr/lib/chromium/chromium" /* the binary behind Debian's wrapper script */
#define START_MS     15000
#define CALL_TIMEOUT 30L /* seconds: a page load or a script may take this long at most */

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
    return nsl_buf_append(ctx, data, size * n) == 0 ? size * n : 0;
}

/* One WebDriver command. Returns the reply's "value" (new reference) or NULL, printing the
 * WebDriver error (unless quiet). */
static json_t *request(struct nsl_webdriver *wd, const char *method, const char *path, json_t *body,
                       bool quiet)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", wd->port, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct nsl_buf reply = {0};
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, CALL_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    if (text)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(text);
    json_t *parsed =
        rc == CURLE_OK ? json_loadb((const char *)reply.data, reply.len, 0, NULL) : NULL;
    nsl_buf_free(&reply);
    json_t *value = json_incref(json_object_get(parsed, "value"));
    if (rc != CURLE_OK || status != 200 || !value) {
        if (quiet)
            goto done;
        const char *why = json_string_value(json_object_get(value, "message"));
        fprintf(stderr, "webdriver %s %s: %s\n", method, path,
                rc != CURLE_OK ? curl_easy_strerror(rc)
                : why          ? why
                               : "no value");
    done:
        json_decref(value);
        value = NULL;
    }
    json_decref(parsed);
    return value;
}

static json_t *command(struct nsl_webdriver *wd, const char *method, const char *path, json_t *body)
{
    return request(wd, method, path, body, false);
}

static bool driver_ready(void *ctx)
{
    json_t *value = request(ctx, "GET", "/status", NULL, true);
    bool ready = json_is_true(json_object_get(value, "ready"));
    json_decref(value);
    return ready;
}

static pid_t spawn_driver(struct nsl_webdriver *wd)
{
    char port[32], log[300];
    snprintf(port, sizeof port, "--port=%d", wd->port);
    snprintf(log, sizeof log, "%s/chromedriver.log", wd->dir);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0); /* its own group, so that stop ends the browser it started too */
    /* Chromium writes its profile, caches and crash dumps under HOME: keep them in dir. */
    setenv("HOME", wd->dir, 1);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    execl(CHROMEDRIVER, CHROMEDRIVER, port, (char *)NULL);
    _exit(127);
}

static json_t *session_request(const struct nsl_webdriver *wd)
{
    char profile[300];
    snprintf(profile, sizeof profile, "--user-data-dir=%s/profile", wd->dir);
    /* Headless, and nothing that reaches beyond 127.0.0.1: Chromium's background services
     * (updates, sync, domain reliability, DNS-over-HTTPS) are off, and every host name but
     * 127.0.0.1 resolves to nothing, so a service this list misses still cannot go out. */
    json_t *args = json_pack(
        "[s, s, s, s, s, s, s, s, s, s, s, s, s, s, s]", "--headless=new", "--no-sandbox",
        "--disable-gpu", "--disable-dev-shm-usage", profile, "--window-size=1400,2600",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--disable-domain-reliability", "--no-pings",
        "--disable-features=DnsOverHttps,OptimizationHints,Translate,MediaRouter",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1");
    return json_pack("{s:{s:{s:s, s:{s:s, s:o}}}}", "capabilities", "alwaysMatch", "browserName",
                     "chrome", "goog:chromeOptions", "binary", CHROMIUM, "args", args);
}

int nsl_webdriver_start(struct nsl_webdriver *wd)
{
    memset(wd, 0, sizeof *wd);
    if (access(CHROMEDRIVER, X_OK) != 0 || access(CHROMIUM, X_OK) != 0) {
        fprintf(stderr,
                "webdriver: %s or %s is missing: run scripts/install-deps.sh "
                "(Debian packages chromium and chromium-driver)\n",
                CHROMEDRIVER, CHROMIUM);
        return -1;
    }
    snprintf(wd->dir, sizeof wd->dir, "/tmp/nsl-browser-XXXXXX");
    if (!mkdtemp(wd->dir)) {
        wd->dir[0] = 0;
        return -1;
    }
    int fd = nsl_test_listen_loopback(&wd->port);
    if (fd < 0)
        return -1;
    close(fd);
    wd->pid = spawn_driver(wd);
    if (wd->pid < 0 || nsl_wait_until(driver_ready, wd, START_MS) != 0) {
        fprintf(stderr, "webdriver: chromedriver did not start (see %s/chromedriver.log)\n",
                wd->dir);
        return -1;
    }
    json_t *value = command(wd, "POST", "/session", session_request(wd));
    const char *id = json_string_value(json_object_get(value, "sessionId"));
    if (id)
        snprintf(wd->session, sizeof wd->session, "%s", id);
    json_decref(value);
    return id ? 0 : -1;
}

static json_t *session_command(struct nsl_webdriver *wd, const char *method, const char *what,
                               json_t *body)
{
    char path[256];
    snprintf(path, sizeof path, "/session/%s/%s", wd->session, what);
    return command(wd, method, path, body);
}

int nsl_webdriver_get(struct nsl_webdriver *wd, const char *url)
{
    json_t *v = session_command(wd, "POST", "url", json_pack("{s:s}", "url", url));
    json_decref(v);
    return v ? 0 : -1;
}

json_t *nsl_webdriver_execute(struct nsl_webdriver *wd, const char *script, json_t *args)
{
    return session_command(
        wd, "POST", "execute/sync",
        json_pack("{s:s, s:o}", "script", script, "args", args ? args : json_array()));
}

int nsl_webdriver_screenshot(struct nsl_webdriver *wd, const char *path)
{
    json_t *v = session_command(wd, "GET", "screenshot", NULL);
    const char *b64 = json_string_value(v);
    size_t cap = b64 ? nsl_base64_decoded_max(strlen(b64)) : 0, len = 0;
    uint8_t *png = cap ? malloc(cap) : NULL;
    int rc = -1;
    if (png && nsl_base64_decode(b64, strlen(b64), png, cap, &len) == 0) {
        FILE *f = fopen(path, "wb");
        if (f) {
            rc = fwrite(png, 1, len, f) == len ? 0 : -1;
            rc = fclose(f) == 0 ? rc : -1;
        }
    }
    free(png);
    json_decref(v);
    return rc;
}

void nsl_webdriver_stop(struct nsl_webdriver *wd)
{
    if (wd->session[0]) {
        char path[200];
        snprintf(path, sizeof path, "/session/%s", wd->session);
        json_decref(command(wd, "DELETE", path, NULL));
        wd->session[0] = 0;
    }
    if (wd->pid > 0) {
        kill(-wd->pid, SIGTERM);
        nsl_stack_kill(&wd->pid, SIGTERM);
    }
    if (wd->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", wd->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "webdriver: could not remove %s\n", wd->dir);
        wd->dir[0] = 0;
    }
}
