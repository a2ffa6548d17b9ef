/* nsl-enclave: the enclave process. Listens for requests from the parent, connects out to the
 * parent's host channel, and serves the operations of routes.def until SIGTERM/SIGINT. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"
#include "common/log.h"
#include "common/options.h"
#include "common/url.h"
#include "enclave/egress_client.h"
#include "enclave/hostchan.h"
#include "enclave/hygiene.h"
#include "enclave/identity.h"
#include "enclave/nonce_sweep.h"
#include "enclave/rate_limit.h"
#include "enclave/replay_cache.h"
#include "enclave/server.h"
#include "enclave/storage.h"
#include "sandbox/sandbox.h"
#include "services/function_cache.h"
#include "services/function_schedule.h"
#include "services/pricefeed.h"
#include "services/audit.h"
#include "services/records.h"
#include "services/wallet_keys.h"

struct enclave_config {
    char *listen;
    char *host_channel;
    char *mode;
    char *log_level;
    char *key_provider;
    int64_t store_timeout_ms;
    int64_t host_max_frame;
    int64_t max_frame;
    int64_t max_connections;
    int64_t max_inflight;
    int64_t idle_timeout_ms;
    int64_t write_buffer_max;
    int64_t workers;
    int64_t io_threads;
    int64_t auth_window_sec;
    int64_t rate_limit;
    int64_t rate_burst;
    int64_t replay_cache_size;
    int64_t nonce_prune_interval;
    char *require_sealed;
    int64_t max_secrets;
    int64_t function_workers;
    char *egress;
    char *ca_file;
};

#define NSL_OPTIONS_OF struct enclave_config

static const struct nsl_option options[] = {
    NSL_OPTION("listen", NSL_OPT_URL, listen, "vsock://ANY:5000", 0, 0,
               "where the parent connects"),
    NSL_OPTION("host-channel", NSL_OPT_URL, host_channel, "vsock://3:5001", 0, 0,
               "the parent's host-channel listener (storage, egress)"),
    NSL_OPTION_CHOICE(
        "mode", mode, "nitro", "nitro|sim",
        "nitro (real NSM device) or sim (dev and tests: simulated attestation, not secure)"),
    NSL_OPTION_CHECKED("log-level", log_level, "info", nsl_log_levels_check, NSL_LOG_LEVELS_FORM,
                       "what is logged, per component"),
    NSL_OPTION_CHOICE(
        "key-provider", key_provider, "kms", "kms|sim",
        "where the master key comes from: kms (AWS KMS with attestation) or sim (dev: the parent "
        "keeps the wrapping key, NOT SECURE)"),
    NSL_OPTION("store-timeout-ms", NSL_OPT_INT, store_timeout_ms, "10000", 100, 600000,
               "longest wait for one host-channel storage round trip"),
    NSL_OPTION("host-max-frame", NSL_OPT_INT, host_max_frame, "4194304", 65536, 64 << 20,
               "largest host-channel frame; must match nsl-parent --host-max-frame"),
    NSL_OPTION(
        "max-frame", NSL_OPT_INT, max_frame, "1048576", 1024, 64 << 20,
        "largest request frame in bytes; larger ones get BAD_FRAME and the connection closes"),
    NSL_OPTION("max-connections", NSL_OPT_INT, max_connections, "4096", 1, 1 << 20,
               "concurrent connections; further ones are closed at once"),
    NSL_OPTION("max-inflight", NSL_OPT_INT, max_inflight, "64", 1, 65536,
               "requests in progress per connection before reading from it pauses"),
    NSL_OPTION("idle-timeout-ms", NSL_OPT_INT, idle_timeout_ms, "120000", 100, 86400000,
               "a connection with no traffic and nothing in flight is closed after this"),
    NSL_OPTION("write-buffer-max", NSL_OPT_INT, write_buffer_max, "4194304", 4096, 1 << 30,
               "unsent response bytes per connection before reading from it pauses"),
    NSL_OPTION("workers", NSL_OPT_INT, workers, "16", 1, 256,
               "threads for handlers that may block (on storage round trips, for instance)"),
    NSL_OPTION("io-threads", NSL_OPT_INT, io_threads, "0", 0, 64,
               "epoll loops that own connections and answer cached requests (signing) themselves; "
               "0 = one per online CPU, at most 8"),
    NSL_OPTION(
        "auth-window-sec", NSL_OPT_INT, auth_window_sec, "300", 10, 3600,
        "neo-sig timestamps are accepted this many seconds either side of the enclave clock"),
    NSL_OPTION("rate-limit", NSL_OPT_INT, rate_limit, "200", 0, 1000000,
               "requests per second per account (0: unlimited)"),
    NSL_OPTION("rate-burst", NSL_OPT_INT, rate_burst, "400", 1, 10000000,
               "requests an account may make at once before the rate applies"),
    NSL_OPTION("replay-cache-size", NSL_OPT_INT, replay_cache_size, "1000000", 1000, 100000000,
               "neo-sig nonces remembered inside the time window; when full, signed requests get "
               "RATE_LIMITED"),
    NSL_OPTION(
        "nonce-prune-interval-sec", NSL_OPT_INT, nonce_prune_interval, "60", 1, 3600,
        "with a shared store (PostgreSQL), how often spent neo-sig nonce records older than two "
        "time windows are removed"),
    NSL_OPTION_CHOICE(
        "require-sealed", require_sealed, "auto", "true|false|auto",
        "refuse sensitive operations (wallet import/export, secrets) sent in the clear: "
        "true, false, or auto (true in nitro mode, false in sim mode)"),
    NSL_OPTION("max-secrets-per-account", NSL_OPT_INT, max_secrets, "1000", 1, 1000000,
               "secrets one account may hold"),
    NSL_OPTION("function-workers", NSL_OPT_INT, function_workers, "2", 0, 64,
               "sandbox worker processes for user functions (0: no function service)"),
    NSL_OPTION("egress", NSL_OPT_URL, egress, "vsock://3:5002", 0, 0,
               "the parent's egress proxy, for outbound HTTPS (docs/egress.md)"),
    NSL_OPTION_CHECKED(
        "ca-file", ca_file, NULL, nsl_option_check_path, NSL_OPTION_FORM_PATH,
        "PEM file of CAs trusted for outbound HTTPS in addition to the system bundle"),
    NSL_OPTIONS_END,
};

static const struct nsl_options_spec spec = {
    .program = "nsl-enclave",
    .usage = "[OPTIONS]",
    .summary =
        "Neo Service Layer enclave: router and services behind the parent (ARCHITECTURE §1).",
    .options = options,
};

static struct nsl_server *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        nsl_server_stop(running);
}

static int check_config(const struct enclave_config *cfg, struct nsl_log_levels *levels,
                        const char **mode, enum nsl_key_provider *provider)
{
    if (strcmp(cfg->key_provider, "sim") == 0) {
        *provider = NSL_KEY_PROVIDER_SIM;
    } else if (strcmp(cfg->key_provider, "kms") == 0) {
        *provider = NSL_KEY_PROVIDER_KMS;
    } else {
        fprintf(stderr, "nsl-enclave: --key-provider must be kms or sim\n");
        return -1;
    }
    char why[512];
    if (nsl_log_levels_parse(cfg->log_level, levels, why, sizeof why) != 0) {
        fprintf(stderr, "nsl-enclave: --log-level: %s\n", why);
        return -1;
    }
    if (strcmp(cfg->require_sealed, "auto") != 0 && strcmp(cfg->require_sealed, "true") != 0 &&
        strcmp(cfg->require_sealed, "false") != 0) {
        fprintf(stderr, "nsl-enclave: --require-sealed must be true, false or auto\n");
        return -1;
    }
    if (strcmp(cfg->mode, "sim") == 0) {
        *mode = "simulated";
    } else if (strcmp(cfg->mode, "nitro") == 0) {
        *mode = "nitro";
    } else {
        fprintf(stderr, "nsl-enclave: --mode must be nitro or sim\n");
        return -1;
    }
    return 0;
}

static int serve(const struct enclave_config *cfg, struct nsl_enclave_ctx *ctx,
                 enum nsl_key_provider provider)
{
    struct nsl_url listen_url, host_url;
    nsl_url_parse(cfg->listen, &listen_url, NULL, 0);
    nsl_url_parse(cfg->host_channel, &host_url, NULL, 0);
    int fd = nsl_net_listen(&listen_url, 1024);
    if (fd < 0) {
        nsl_logf(NSL_LOG_ERROR, "listen_failed", "%s: %s", cfg->listen, strerror(errno));
        return 1;
    }
    struct nsl_server_config scfg = {
        .max_frame = (size_t)cfg->max_frame,
        .max_connections = (uint32_t)cfg->max_connections,
        .max_inflight = (uint32_t)cfg->max_inflight,
        .idle_timeout_ms = (uint32_t)cfg->idle_timeout_ms,
        .write_buffer_max = (size_t)cfg->write_buffer_max,
        .workers = (uint32_t)cfg->workers,
        .io_threads = (uint32_t)nsl_option_per_cpu(cfg->io_threads, 8),
    };
    ctx->auth_window_sec = cfg->auth_window_sec;
    ctx->max_secrets = cfg->max_secrets;
    ctx->accounts = nsl_records_new("accounts");
    ctx->audit = nsl_audit_new();
    ctx->replay = nsl_replay_cache_new((size_t)cfg->replay_cache_size);
    ctx->rate = nsl_rate_limit_new((double)cfg->rate_limit, (double)cfg->rate_burst);
    ctx->wallet = nsl_wallet_keys_new();
    ctx->functions = nsl_function_cache_new();
    struct nsl_error err = {0};
    if (nsl_identity_new(strcmp(cfg->mode, "sim") == 0, &ctx->identity, &err) != NSL_OK) {
        nsl_log(NSL_LOG_ERROR, "start_failed", "reason", err.message, NULL);
        return 1;
    }
    if (nsl_egress_new(cfg->egress, cfg->ca_file, &ctx->egress, &err) != NSL_OK) {
        nsl_log(NSL_LOG_ERROR, "start_failed", "reason", err.message, NULL);
        return 1;
    }
    if (!ctx->accounts || !ctx->audit || !ctx->replay || !ctx->rate || !ctx->wallet ||
        !ctx->functions) {
        nsl_log(NSL_LOG_ERROR, "start_failed", "reason", "out of memory", NULL);
        return 1;
    }
    ctx->host = nsl_hostchan_start(&host_url, (size_t)cfg->host_max_frame);
    ctx->scheduler = ctx->sandbox ? nsl_scheduler_start(ctx) : NULL;
    ctx->pricefeed = nsl_pricefeed_start(ctx, NULL, NULL);
    ctx->storage =
        ctx->host ? nsl_storage_start(ctx->host, provider, (int)cfg->store_timeout_ms) : NULL;
    struct nsl_nonce_sweep *sweep =
        ctx->storage
            ? nsl_nonce_sweep_start(ctx->storage, cfg->auth_window_sec, cfg->nonce_prune_interval)
            : NULL;
    struct nsl_server *srv = sweep ? nsl_server_create(&scfg, fd, ctx) : NULL;
    if (!srv) {
        nsl_log(NSL_LOG_ERROR, "start_failed", "reason", "out of memory or descriptors", NULL);
        nsl_nonce_sweep_stop(sweep);
        nsl_scheduler_stop(ctx->scheduler);
        nsl_pricefeed_stop(ctx->pricefeed);
        nsl_storage_stop(ctx->storage);
        nsl_hostchan_stop(ctx->host);
        return 1;
    }
    running = srv;
    nsl_log(NSL_LOG_INFO, "listening", "url", cfg->listen, "mode", ctx->mode, "version",
            NSL_VERSION, NULL);
    int rc = nsl_server_run(srv);
    running = NULL;
    nsl_server_destroy(srv);
    nsl_nonce_sweep_stop(sweep);
    nsl_scheduler_stop(ctx->scheduler);
    nsl_pricefeed_stop(ctx->pricefeed);
    nsl_storage_stop(ctx->storage);
    nsl_hostchan_stop(ctx->host);
    nsl_log(NSL_LOG_INFO, "stopped", NULL);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    nsl_json_wipe_on_free(); /* requests carry secrets through jansson's own buffers */
    struct enclave_config cfg = {0};
    enum nsl_options_result parsed = nsl_options_parse(&spec, &cfg, argc, argv, NULL);
    if (parsed != NSL_OPTIONS_OK) {
        nsl_options_free(&spec, &cfg);
        return parsed == NSL_OPTIONS_EXIT_SUCCESS ? 0 : 2;
    }
    struct nsl_log_levels levels;
    static struct nsl_enclave_ctx ctx;
    enum nsl_key_provider provider;
    if (check_config(&cfg, &levels, &ctx.mode, &provider) != 0) {
        nsl_options_free(&spec, &cfg);
        return 2;
    }
    nsl_log_init("nsl-enclave", NSL_LOG_INFO);
    nsl_log_levels_apply(&levels);
    struct nsl_hygiene hygiene;
    nsl_hygiene_apply(&hygiene); /* no core, not dumpable, memory locked where permitted */
    if (strcmp(cfg.mode, "sim") == 0)
        nsl_log(NSL_LOG_WARN, "simulated_mode", "msg",
                "running outside a Nitro Enclave with simulated attestation: NOT SECURE", NULL);
    ctx.started_ms = nsl_monotonic_ms();
    ctx.require_sealed = strcmp(cfg.require_sealed, "auto") == 0
                             ? strcmp(cfg.mode, "nitro") == 0
                             : strcmp(cfg.require_sealed, "true") == 0;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Function workers come from a process forked now: single-threaded, holding no secret. */
    struct nsl_error sandbox_err = {0};
    if (cfg.function_workers > 0 &&
        nsl_sandbox_start((unsigned)cfg.function_workers, &ctx.sandbox, &sandbox_err) != NSL_OK)
        nsl_log(NSL_LOG_ERROR, "sandbox_unavailable", "reason", sandbox_err.message, NULL);
    if (nsl_secure_heap_init(1 << 20) != 0)
        nsl_log(NSL_LOG_WARN, "secure_heap_unavailable", "msg",
                "secrets fall back to the normal heap (still wiped on free)", NULL);
    int rc = serve(&cfg, &ctx, provider);
    nsl_records_free(ctx.accounts);
    nsl_audit_free(ctx.audit);
    nsl_replay_cache_free(ctx.replay);
    nsl_rate_limit_free(ctx.rate);
    nsl_wallet_keys_free(ctx.wallet);
    nsl_function_cache_free(ctx.functions);
    nsl_identity_free(ctx.identity);
    nsl_egress_free(ctx.egress);
    nsl_sandbox_stop(ctx.sandbox);
    nsl_options_free(&spec, &cfg);
    return rc;
}
