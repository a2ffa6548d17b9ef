/* make bench, foundation figures: system.health round trips per second over the enclave socket
 * (raw frames) and through the HTTP gateway, each beside redis-benchmark's PING with the same
 * client concurrency on the same machine in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/frame.h"
#include "harness/bench.h"
#include "harness/harness.h"

#define CLIENTS 50

int main(int argc, char **argv)
{
    const char *json_path = argc > 1 ? argv[1] : "build/bench.json";
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    struct nsl_stack stack;
    if (nsl_stack_init(&stack) != 0 || nsl_stack_start_enclave(&stack) != 0 ||
        nsl_stack_start_parent(&stack) != 0) {
        fprintf(stderr, "bench_health: could not start the dev stack\n");
        nsl_stack_stop(&stack);
        return 1;
    }
    double redis = nsl_redis_ping_rps(CLIENTS, 200000);

    const char health[] = "{\"id\":\"b\",\"serviceType\":\"system\",\"operation\":\"health\"}";
    struct nsl_buf frame = {0};
    nsl_frame_append(&frame, health, sizeof health - 1);
    struct nsl_load raw = {.url = stack.enclave_url,
                           .protocol = NSL_LOAD_FRAMES,
                           .request = (const char *)frame.data,
                           .request_len = frame.len,
                           .connections = CLIENTS,
                           .seconds = seconds};
    double raw_rps = nsl_load_run(&raw);

    const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"system.health\"}";
    char http_request[512], url[64];
    int n =
        snprintf(http_request, sizeof http_request,
                 "POST /v1/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 sizeof body - 1, body);
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", stack.http_port);
    struct nsl_load http = {.url = url,
                            .protocol = NSL_LOAD_HTTP,
                            .request = http_request,
                            .request_len = (size_t)n,
                            .connections = CLIENTS,
                            .seconds = seconds};
    double http_rps = nsl_load_run(&http);

    printf("%-44s %14s %14s %9s  %s\n", "figure", "ours", "reference", "ratio", "unit");
    nsl_bench_report(json_path, "system.health over enclave socket (50 conns)", raw_rps, redis,
                     "req/s vs redis-benchmark PING");
    nsl_bench_report(json_path, "system.health through HTTP gateway (50 conns)", http_rps, redis,
                     "req/s vs redis-benchmark PING");
    nsl_buf_free(&frame);
    int rc = nsl_stack_stop(&stack);
    return raw_rps > 0 && http_rps > 0 && rc == 0 ? 0 : 1;
}
