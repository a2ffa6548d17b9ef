/* The system service: health, info (version, mode, uptime, operations table), metrics and the
 * run-time log level. */
#define NSL_LOG_COMPONENT NSL_LOGC_SERVICE
#include <stdio.h>
#include <time.h>

#include "common/log.h"

#include "enclave/hostchan.h"
#include "enclave/storage.h"
#include "services/service.h"

uint64_t nsl_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_t *host_channel_status(const struct nsl_hostchan *host)
{
    struct nsl_hostchan_status st;
    nsl_hostchan_get_status(host, &st);
    json_t *o =
        json_pack("{s:b, s:I}", "connected", st.connected, "reconnects", (json_int_t)st.reconnects);
    if (st.last_rtt_us >= 0)
        json_object_set_new(o, "lastPingUs", json_integer(st.last_rtt_us));
    return o;
}

static json_t *storage_status(struct nsl_storage *storage)
{
    char state[300];
    json_t *o = json_pack("{s:s}", "state", nsl_storage_state(storage, state, sizeof state));
    if (o && storage) {
        enum nsl_key_provider p = nsl_storage_provider(storage);
        json_object_set_new(o, "keyProvider", json_string(nsl_key_provider_name(p)));
        json_object_set_new(o, "secure", json_boolean(nsl_key_provider_secure(p)));
    }
    return o;
}

nsl_err nsl_system_health(struct nsl_call *call)
{
    call->result = json_pack("{s:s, s:o, s:o}", "status", "ok", "hostChannel",
                             host_channel_status(call->ctx->host), "storage",
                             storage_status(call->ctx->storage));
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_system_info(struct nsl_call *call)
{
    struct nsl_enclave_ctx *ctx = call->ctx;
    call->result =
        json_pack("{s:s, s:s, s:I, s:o, s:o}", "version", NSL_VERSION, "mode", ctx->mode,
                  "uptimeSec", (json_int_t)((nsl_monotonic_ms() - ctx->started_ms) / 1000),
                  "storage", storage_status(ctx->storage), "operations", nsl_routes_to_json());
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_system_metrics(struct nsl_call *call)
{
    struct nsl_enclave_ctx *ctx = call->ctx;
    json_t *calls = json_object(), *errors = json_object();
    for (size_t i = 0; i < nsl_route_count; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s.%s", nsl_routes[i].service, nsl_routes[i].operation);
        json_object_set_new(
            calls, name,
            json_integer((json_int_t)__atomic_load_n(&ctx->route_calls[i], __ATOMIC_RELAXED)));
    }
    for (size_t e = 1; e < NSL_ERR_COUNT; e++)
        json_object_set_new(
            errors, nsl_err_name((nsl_err)e),
            json_integer((json_int_t)__atomic_load_n(&ctx->error_counts[e], __ATOMIC_RELAXED)));
    call->result = json_pack("{s:o, s:o, s:o}", "requests", calls, "errors", errors, "hostChannel",
                             host_channel_status(ctx->host));
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}

static json_t *log_levels_json(void)
{
    struct nsl_log_levels levels;
    nsl_log_levels_current(&levels);
    json_t *o = json_object();
    for (int c = 0; o && c < NSL_LOGC_COUNT; c++)
        if (json_object_set_new(o, nsl_log_component_name((enum nsl_log_component)c),
                                json_string(nsl_log_level_name(levels.level[c]))) != 0) {
            json_decref(o);
            o = NULL;
        }
    return o;
}

/* Takes effect at once for every thread; not stored, so a restart goes back to --log-level. */
nsl_err nsl_system_setLogLevel(struct nsl_call *call)
{
    const char *name = nsl_json_str(call->params, "component");
    enum nsl_log_component component = NSL_LOGC_MAIN;
    enum nsl_log_level level;
    if (nsl_log_level_parse(nsl_json_str(call->params, "level"), &level) != 0)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.level must be debug, info, warn or error");
    if (name && nsl_log_component_parse(name, &component) != 0) {
        char names[256];
        nsl_log_component_list(names, sizeof names);
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.component must be one of %s",
                        names);
    }
    for (int c = 0; c < NSL_LOGC_COUNT; c++)
        if (!name || c == (int)component)
            nsl_log_set_level((enum nsl_log_component)c, level);
    nsl_log(NSL_LOG_WARN, "log_level_changed", "target", name ? name : "all", "to",
            nsl_log_level_name(level), "by", "system.setLogLevel", NULL);
    call->result = json_pack("{s:o}", "levels", log_levels_json());
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}
