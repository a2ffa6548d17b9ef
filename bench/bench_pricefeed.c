/* make bench, price feed figure (issue 9): the time for one full round (pricefeed.update: five
 * HTTPS sources fetched at once through nsl-parent's egress proxy, parsed, aggregated, signed and
 * stored) over five local HTTPS servers, beside a plain sequential fetch of the same five URLs
 * with libcurl in this process (no proxy) measured in the same run: once trusting the test CA
 * file alone, once trusting the system bundle plus that CA as the enclave does (libcurl with
 * OpenSSL 3 loads the bundle again for every handle, which dominates a round). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/https.h"
#include "neo/key.h"

#define SOURCES 5
#define ROUNDS  40

static const char *const presets[SOURCES] = {"binance", "coinbase", "kraken", "okx", "coingecko"};

static struct nsl_stack stack;
static struct nsl_client client;
static struct nsl_https_server servers[SOURCES];
static struct nsl_secret *admin_key;
static char admin_id[64], allow[512], ca_file[600], bundle_file[620], urls[SOURCES][256];

static void answer(void *ctx, const char *path, struct nsl_https_response *resp)
{
    const char *preset = ctx;
    long long now = (long long)time(NULL);
    (void)path;
    if (strcmp(preset, "binance") == 0)
        nsl_https_body(resp, "{\"symbol\":\"NEOUSDT\",\"price\":\"12.34\"}");
    else if (strcmp(preset, "coinbase") == 0)
        nsl_https_body(resp,
                       "{\"data\":{\"amount\":\"12.35\",\"base\":\"NEO\",\"currency\":\"USD\"}}");
    else if (strcmp(preset, "kraken") == 0)
        nsl_https_body(resp, "{\"error\":[],\"result\":{\"NEOUSD\":{\"c\":[\"12.33\",\"1.0\"]}}}");
    else if (strcmp(preset, "okx") == 0)
        nsl_https_body(resp, "{\"code\":\"0\",\"data\":[{\"last\":\"12.34\",\"ts\":\"%lld\"}]}",
                       now * 1000);
    else
        nsl_https_body(resp, "{\"neo\":{\"usd\":12.36,\"last_updated_at\":%lld}}", now);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *admin(const char *operation, const char *params)
{
    struct nsl_signing s = {.key = admin_key, .account = admin_id};
    return nsl_client_signed(&client, &s, "pricefeed", operation, params);
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

/* The five URLs one after the other with libcurl (a fresh handle each, as a naive client would);
 * seconds per pass, or -1 when one fails. */
static double sequential_fetch(const char *cainfo, int passes)
{
    double start = now_s();
    for (int p = 0; p < passes; p++) {
        for (int i = 0; i < SOURCES; i++) {
            CURL *c = curl_easy_init();
            long status = 0;
            if (!c)
                return -1;
            curl_easy_setopt(c, CURLOPT_URL, urls[i]);
            curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
            curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
            CURLcode rc = curl_easy_perform(c);
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_cleanup(c);
            if (rc != CURLE_OK || status != 200) {
                fprintf(stderr, "%s: %s (HTTP %ld)\n", urls[i], curl_easy_strerror(rc), status);
                return -1;
            }
        }
    }
    return (now_s() - start) / passes;
}

/* Seconds per pricefeed.update (each publishes: deviationThresholdBps 0), or -1. */
static double full_rounds(int rounds)
{
    double start = now_s();
    for (int i = 0; i < rounds; i++) {
        json_t *reply = admin("update", "{\"pair\":\"NEO/USD\"}");
        json_t *r = json_object_get(reply, "result");
        bool ok = json_is_true(json_object_get(r, "published")) &&
                  strcmp(json_string_value(json_object_get(r, "price")) ?: "", "1234000000") == 0;
        if (!ok) {
            char *text = json_dumps(reply, JSON_COMPACT);
            fprintf(stderr, "update: %s\n", text ? text : "?");
            free(text);
        }
        json_decref(reply);
        if (!ok)
            return -1;
    }
    return (now_s() - start) / rounds;
}

static void run(void **state)
{
    (void)state;
    char params[4096] = "{\"pair\":\"NEO/USD\",\"updateIntervalSec\":86400,"
                        "\"deviationThresholdBps\":0,\"minSources\":5,\"sources\":[";
    for (int i = 0; i < SOURCES; i++) {
        size_t used = strlen(params);
        snprintf(params + used, sizeof params - used, "%s{\"preset\":\"%s\",\"url\":\"%s\"}",
                 i ? "," : "", presets[i], urls[i]);
    }
    strcat(params, "]}");
    json_t *reply = admin("configure", params);
    nsl_client_result(reply);
    json_decref(reply);

    /* warm-up: the signing key, the store, the TLS libraries */
    assert_true(full_rounds(2) > 0);
    assert_true(sequential_fetch(ca_file, 2) > 0);
    double round_s = full_rounds(ROUNDS);
    double fetch_s = sequential_fetch(ca_file, ROUNDS);
    double bundle_s = sequential_fetch(bundle_file, ROUNDS / 4);
    printf("%-58s %12s %12s %9s  %s\n", "figure", "ours", "reference", "ratio", "unit");
    nsl_bench_report(getenv("NSL_BENCH_JSON"), "pricefeed.update, 5 local HTTPS sources",
                     round_s * 1000, fetch_s * 1000,
                     "ms per signed round vs ms to fetch the 5 URLs sequentially (libcurl)");
    nsl_bench_report(getenv("NSL_BENCH_JSON"),
                     "pricefeed.update vs sequential fetch trusting system CAs too", round_s * 1000,
                     bundle_s * 1000,
                     "ms per signed round vs ms to fetch the 5 URLs sequentially (libcurl, "
                     "system bundle + test CA)");
    assert_true(round_s > 0 && fetch_s > 0 && bundle_s > 0);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    nsl_log_init("bench_pricefeed", NSL_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct nsl_test_ca ca;
    if (nsl_stack_init(&stack) != 0 || nsl_test_ca_make(stack.dir, "srv", &ca) != 0)
        return -1;
    size_t used = 0;
    for (int i = 0; i < SOURCES; i++) {
        int port = nsl_https_server_start(&servers[i], ca.cert, ca.key, answer, (void *)presets[i]);
        if (port < 0)
            return -1;
        snprintf(urls[i], sizeof urls[i], "https://127.0.0.1:%d/%s", port, presets[i]);
        used += (size_t)snprintf(allow + used, sizeof allow - used, "%s127.0.0.1:%d", i ? "," : "",
                                 port);
    }
    snprintf(ca_file, sizeof ca_file, "%s", ca.ca_cert);
    /* the enclave's trust store: the system bundle plus the test CA */
    char cmd[1400];
    snprintf(bundle_file, sizeof bundle_file, "%s/bundle.pem", stack.dir);
    snprintf(cmd, sizeof cmd,
             "{ cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null; cat '%s'; } > '%s'", ca_file,
             bundle_file);
    if (system(cmd) != 0)
        return -1;
    stack.parent_extra[0] = "--egress-allow";
    stack.parent_extra[1] = allow;
    stack.enclave_extra[0] = "--ca-file";
    stack.enclave_extra[1] = ca_file;
    stack.enclave_extra[2] = "--rate-limit";
    stack.enclave_extra[3] = "0";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
        return -1;
    client.fd = nsl_test_connect(stack.enclave_url);
    if (nsl_wait_storage_ready(client.fd, 15000) != 0)
        return -1;
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[67], params[128];
    nsl_neo_key_generate(&admin_key, NULL);
    nsl_neo_key_public(admin_key, pub, NULL);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    json_t *reply =
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "bootstrap", params));
    nsl_client_copy_string(reply, "accountId", admin_id, sizeof admin_id);
    json_decref(reply);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (client.fd > 0)
        close(client.fd);
    int rc = nsl_stack_stop(&stack);
    for (int i = 0; i < SOURCES; i++)
        nsl_https_server_stop(&servers[i]);
    nsl_secret_free(admin_key);
    curl_global_cleanup();
    return rc;
}

int main(int argc, char **argv)
{
    setenv("NSL_BENCH_JSON", argc > 1 ? argv[1] : "build/bench.json", 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(run)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
