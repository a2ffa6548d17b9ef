/* Load generator, Redis reference and bench report (see bench.h). */
#include "harness/bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/frame.h"
#include "harness/harness.h"

struct load_conn {
    int fd;
    struct nsl_buf in;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long nsl_load_response_length(enum nsl_load_protocol protocol, const struct nsl_buf *buf)
{
    if (protocol == NSL_LOAD_FRAMES) {
        size_t n;
        enum nsl_frame_status st = nsl_frame_peek(buf->data, buf->len, 64u << 20, &n);
        if (st == NSL_FRAME_INVALID)
            return -1;
        return st == NSL_FRAME_READY ? (long)(n + 4) : 0;
    }
    const char *p = (const char *)buf->data;
    const char *end = memmem(p, buf->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    const char *cl = memmem(p, (size_t)(end - p), "Content-Length:", 15);
    if (!cl)
        cl = memmem(p, (size_t)(end - p), "content-length:", 15);
    if (!cl)
        return -1;
    long body = strtol(cl + 15, NULL, 10);
    long total = (long)(end - p) + 4 + body;
    return (long)buf->len >= total ? total : 0;
}

static int send_request(struct nsl_load *load, int fd)
{
    return send(fd, load->request, load->request_len, MSG_NOSIGNAL) == (ssize_t)load->request_len
               ? 0
               : -1;
}

/* Reads what is there; returns how many whole responses it completed, -1 on error. */
static int on_readable(struct nsl_load *load, struct load_conn *c)
{
    if (nsl_buf_reserve(&c->in, 65536) != 0)
        return -1;
    ssize_t n = recv(c->fd, c->in.data + c->in.len, 65536, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        return 0;
    if (n <= 0)
        return -1;
    c->in.len += (size_t)n;
    int done = 0;
    long len;
    while ((len = nsl_load_response_length(load->protocol, &c->in)) > 0) {
        if (load->expect && !memmem(c->in.data, (size_t)len, load->expect, strlen(load->expect)))
            load->failures++;
        nsl_buf_consume(&c->in, (size_t)len);
        done++;
        if (send_request(load, c->fd) != 0)
            return -1;
    }
    return len < 0 ? -1 : done;
}

int nsl_bench_stack_up(struct nsl_stack *stack)
{
    if (nsl_stack_init(stack) != 0)
        return -1;
    stack->enclave_extra[0] = "--rate-limit";
    stack->enclave_extra[1] = "0";
    if (nsl_stack_start_enclave(stack) != 0 || nsl_stack_start_parent(stack) != 0)
        return -1;
    int fd = nsl_test_connect(stack->enclave_url);
    if (fd < 0 || nsl_wait_storage_ready(fd, 15000) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

double nsl_load_run(struct nsl_load *load)
{
    struct load_conn *conns = calloc((size_t)load->connections, sizeof *conns);
    int ep = epoll_create1(0);
    double result = -1;
    int opened = 0;
    for (; conns && opened < load->connections; opened++) {
        conns[opened].fd = nsl_test_connect(load->url);
        if (conns[opened].fd < 0)
            goto out;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[opened]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[opened].fd, &ev);
        for (int d = 0; d < (load->depth > 1 ? load->depth : 1); d++)
            if (send_request(load, conns[opened].fd) != 0)
                goto out;
    }
    double start = now_s(), warm = start + 0.5, stop = warm + load->seconds;
    long counted = 0;
    for (double t = start; t < stop; t = now_s()) {
        struct epoll_event events[64];
        int n = epoll_wait(ep, events, 64, 100);
        for (int i = 0; i < n; i++) {
            int done = on_readable(load, events[i].data.ptr);
            if (done < 0)
                goto out;
            if (t >= warm)
                counted += done;
        }
    }
    result = (double)counted / load->seconds;
out:
    for (int i = 0; i < opened; i++) {
        close(conns[i].fd);
        nsl_buf_free(&conns[i].in);
    }
    free(conns);
    close(ep);
    return result;
}

static pid_t spawn_quiet(char *const argv[], int out_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out_fd, STDOUT_FILENO);
        int null = open("/dev/null", 1);
        dup2(null, STDERR_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static double parse_redis_csv(FILE *f)
{
    char line[512];
    double rps = -1;
    while (fgets(line, sizeof line, f)) {
        double v;
        if (sscanf(line, "\"PING_MBULK\",\"%lf\"", &v) == 1)
            rps = v;
    }
    return rps;
}

double nsl_redis_ping_rps(int clients, int requests)
{
    char port[16], c[16], n[16];
    struct nsl_stack probe;
    if (nsl_stack_init(&probe) != 0) /* only for its free port and scratch dir */
        return -1;
    snprintf(port, sizeof port, "%d", probe.http_port);
    snprintf(c, sizeof c, "%d", clients);
    snprintf(n, sizeof n, "%d", requests);
    int null = open("/dev/null", 1);
    char *server[] = {"redis-server", "--port", port,    "--bind",  "127.0.0.1", "--save", "",
                      "--appendonly", "no",     "--dir", probe.dir, NULL};
    pid_t srv = spawn_quiet(server, null);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%s", port);
    int fd = -1;
    for (int i = 0; i < 200 && fd < 0; i++) {
        fd = nsl_test_connect(url);
        if (fd < 0)
            usleep(20000);
    }
    double rps = -1;
    if (fd >= 0) {
        close(fd);
        char out_path[300];
        snprintf(out_path, sizeof out_path, "%s/redis-benchmark.csv", probe.dir);
        FILE *out = fopen(out_path, "w+");
        char *bench[] = {
            "redis-benchmark", "-h", "127.0.0.1", "-p", port, "-t", "ping", "-c", c, "-n", n,
            "--csv",           NULL};
        pid_t b = spawn_quiet(bench, fileno(out));
        int status;
        waitpid(b, &status, 0);
        rewind(out);
        rps = parse_redis_csv(out);
        fclose(out);
    }
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    close(null);
    nsl_stack_stop(&probe);
    return rps;
}

static json_t *load_rows(const char *path)
{
    json_t *rows = json_load_file(path, 0, NULL);
    if (!json_is_array(rows)) {
        json_decref(rows);
        rows = json_array();
    }
    return rows;
}

void nsl_bench_report(const char *json_path, const char *figure, double ours, double reference,
                      const char *unit)
{
    double ratio = reference > 0 && ours >= 0 ? ours / reference : 0;
    printf("%-44s %14.0f %14.0f %8.2fx  %s\n", figure, ours, reference, ratio, unit);
    fflush(stdout);
    json_t *rows = load_rows(json_path);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "figure")) ?: "", figure) == 0) {
            json_array_remove(rows, i);
            break;
        }
    }
    json_array_append_new(rows,
                          json_pack("{s:s, s:f, s:f, s:f, s:s}", "figure", figure, "ours", ours,
                                    "reference", reference, "ratio", ratio, "unit", unit));
    json_dump_file(rows, json_path, JSON_INDENT(2));
    json_decref(rows);
}

long nsl_process_status(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t flen = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, flen) == 0 && line[flen] == ':')
            v = strtol(line + flen + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

long nsl_process_open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

double nsl_process_cpu_seconds(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Fields after the command name, which is in parentheses and may hold spaces. */
    const char *p = strrchr(line, ')');
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double nsl_openssl_ecdsa_sign_rate(int seconds, int cpus)
{
    char cmd[128], multi[32] = "";
    if (cpus > 1)
        snprintf(multi, sizeof multi, "-multi %d ", cpus);
    snprintf(cmd, sizeof cmd, "openssl speed -seconds %d %secdsap256 2>/dev/null", seconds, multi);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    double sign_rate = -1;
    while (fgets(line, sizeof line, p)) {
        double sign_time, verify_time, sign, verify;
        if (sscanf(line, " 256 bits ecdsa (nistp256) %lfs %lfs %lf %lf", &sign_time, &verify_time,
                   &sign, &verify) == 4)
            sign_rate = sign;
    }
    pclose(p);
    return sign_rate;
}

double nsl_sqlite_raw_writes(const char *dir, int per_txn, size_t value_len, double seconds)
{
    char path[300];
    snprintf(path, sizeof path, "%s/raw-%d.db", dir, per_txn);
    sqlite3 *db;
    sqlite3_stmt *st;
    char *value = malloc(value_len);
    if (!value || sqlite3_open(path, &db) != SQLITE_OK) {
        free(value);
        return -1;
    }
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE blobs(ns TEXT,"
                 " key TEXT, version INTEGER, value BLOB, PRIMARY KEY(ns, key))",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO blobs VALUES('bench', ?1, 1, ?2)", -1, &st, NULL);
    memset(value, 'v', value_len);
    long n = 0;
    double start = now_s(), stop = start + seconds;
    while (now_s() < stop) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (int i = 0; i < per_txn; i++, n++) {
            char key[32];
            snprintf(key, sizeof key, "k%09ld", n);
            sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob(st, 2, value, (int)value_len, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double rate = (double)n / (now_s() - start);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(value);
    return rate;
}

int nsl_tcp_loopback_pair(int *client, int *server)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int one = 1, listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    *client = *server = -1;
    if (listener >= 0 && bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        listen(listener, 1) == 0 && getsockname(listener, (struct sockaddr *)&addr, &len) == 0 &&
        (*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
        connect(*client, (struct sockaddr *)&addr, sizeof addr) == 0)
        *server = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (listener >= 0)
        close(listener);
    if (*server < 0) {
        if (*client >= 0)
            close(*client);
        *client = -1;
        return -1;
    }
    setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}
