/* A WebDriver client (W3C WebDriver over HTTP, https://www.w3.org/TR/webdriver2/) for tests that
 * drive the dashboard in headless Chromium: starts chromedriver on a free 127.0.0.1 port with one
 * browser session whose profile and HOME live in a fresh directory, and removes it all on stop.
 * Needs Debian's chromium and chromium-driver (scripts/install-deps.sh). */
#ifndef NSL_TEST_WEBDRIVER_H
#define NSL_TEST_WEBDRIVER_H

#include <jansson.h>
#include <sys/types.h>

struct nsl_webdriver {
    char dir[256]; /* profile, HOME and chromedriver.log; removed by stop */
    int port;
    pid_t pid; /* chromedriver; 0 when not running */
    char session[128];
};

/* Starts chromedriver and a headless session. Returns 0, or -1 with a message on stderr
 * (chromium or chromedriver missing, or the session could not start). */
int nsl_webdriver_start(struct nsl_webdriver *wd);
/* Navigates to url and waits for the page to load. */
int nsl_webdriver_get(struct nsl_webdriver *wd, const char *url);
/* Runs script (a function body; arguments[i] are args' items, args may be NULL) in the page and
 * returns its value (new reference; JSON null when it returned nothing), or NULL on an error. */
json_t *nsl_webdriver_execute(struct nsl_webdriver *wd, const char *script, json_t *args);
/* Writes a PNG screenshot of the viewport to path. */
int nsl_webdriver_screenshot(struct nsl_webdriver *wd, const char *path);
/* Ends the session, stops chromedriver and removes dir. Safe to call twice. */
void nsl_webdriver_stop(struct nsl_webdriver *wd);

#endif
