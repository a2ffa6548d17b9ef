/* Dev stack lifecycle (see dev_stack.h). Every wait is a poll of a condition against a
 * deadline; SIGINT/SIGTERM/SIGHUP/SIGCHLD are blocked and taken with sigtimedwait so that a
 * Ctrl-C or a dying daemon is noticed at once and handled in one place. */
#include "cli/dev_stack.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/dev_admin.h"
#include "cli/http.h"
#include "cli/process.h"
#include "common/url.h"

#define START_DEADLINE_MS 15000
#define STOP_TIMEOUT_MS   10000
#define POLL_MS           100
#define LOG_TAIL_LINES    20
#define SUN_PATH_MAX      107 /* sockaddr_un.sun_path without its NUL */

struct daemon {
    const char *name; /* also its executable's file name */
    char path[PATH_MAX];
    char log[PATH_MAX];
    char pidfile[PATH_MAX];
    pid_t pid;   /* 0 when not started or already reaped */
    bool exited; /* exited by itself; status holds its wait status */
    int status;
};

struct stack {
    const struct nsl_cli_dev_up *opts;
    char dir[PATH_MAX];
    char nsl[PATH_MAX]; /* this binary, for the hints we print */
    char enclave_url[PATH_MAX + 16];
    char host_url[PATH_MAX + 16];
    char egress_url[PATH_MAX + 16];
    char ca_file[PATH_MAX]; /* absolute: the daemons run with another cwd */
    char api[300];          /* http://HOST:PORT */
    struct daemon enclave, parent;
    sigset_t signals, old_mask;
    enum nsl_cli_admin_key admin;
    char admin_account[NSL_CLI_ACCOUNT_SIZE];
};

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return errno = ENAMETOOLONG, -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static int daemon_paths(struct daemon *d, const char *name, const char *bin_dir, const char *dir,
                        const char *log_name)
{
    d->name = name;
    int a = snprintf(d->path, sizeof d->path, "%s/%s", bin_dir, name);
    int b = snprintf(d->log, sizeof d->log, "%s/%s", dir, log_name);
    int c = snprintf(d->pidfile, sizeof d->pidfile, "%s/%s.pid", dir, name);
    return a < (int)sizeof d->path && b < (int)sizeof d->log && c < (int)sizeof d->pidfile ? 0 : -1;
}

/* The daemons are the ones built with this nsl: same directory, not whatever is on PATH. */
static int find_bin_dir(char *nsl, size_t len, char *bin_dir, size_t bin_len)
{
    ssize_t n = readlink("/proc/self/exe", nsl, len - 1);
    if (n <= 0)
        return -1;
    nsl[n] = 0;
    snprintf(bin_dir, bin_len, "%s", nsl);
    char *slash = strrchr(bin_dir, '/');
    if (!slash)
        return -1;
    *slash = 0;
    return 0;
}

static int stack_init(struct stack *st, const struct nsl_cli_dev_up *opts)
{
    char bin_dir[PATH_MAX];
    *st = (struct stack){.opts = opts};
    if (make_dirs(opts->state) != 0 || !realpath(opts->state, st->dir)) {
        fprintf(stderr, "nsl dev up: cannot create %s: %s\n", opts->state, strerror(errno));
        return -1;
    }
    if (strlen(st->dir) + strlen("/enclave.sock") > SUN_PATH_MAX) {
        fprintf(stderr, "nsl dev up: %s is too long a path for unix sockets (max %d bytes)\n",
                st->dir, SUN_PATH_MAX - (int)strlen("/enclave.sock"));
        return -1;
    }
    if (find_bin_dir(st->nsl, sizeof st->nsl, bin_dir, sizeof bin_dir) != 0) {
        fprintf(stderr, "nsl dev up: cannot find my own binary: %s\n", strerror(errno));
        return -1;
    }
    snprintf(st->enclave_url, sizeof st->enclave_url, "unix://%s/enclave.sock", st->dir);
    snprintf(st->host_url, sizeof st->host_url, "unix://%s/host.sock", st->dir);
    snprintf(st->egress_url, sizeof st->egress_url, "unix://%s/egress.sock", st->dir);
    if (opts->ca_file && !realpath(opts->ca_file, st->ca_file)) {
        fprintf(stderr, "nsl dev up: --ca-file %s: %s\n", opts->ca_file, strerror(errno));
        return -1;
    }
    snprintf(st->api, sizeof st->api, "http://%s", opts->http);
    if (daemon_paths(&st->enclave, "nsl-enclave", bin_dir, st->dir, "enclave.log") != 0 ||
        daemon_paths(&st->parent, "nsl-parent", bin_dir, st->dir, "parent.log") != 0) {
        fprintf(stderr, "nsl dev up: path too long under %s\n", bin_dir);
        return -1;
    }
    for (struct daemon *d = &st->enclave; d; d = d == &st->enclave ? &st->parent : NULL) {
        if (access(d->path, X_OK) != 0) {
            fprintf(stderr, "nsl dev up: %s: %s (build it next to nsl)\n", d->path,
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

static bool already_running(const struct stack *st)
{
    const struct daemon *ds[] = {&st->enclave, &st->parent};
    for (size_t i = 0; i < 2; i++) {
        pid_t pid;
        if (nsl_cli_pidfile_read(ds[i]->pidfile, &pid) == 1 &&
            nsl_cli_process_alive(pid, ds[i]->name)) {
            fprintf(stderr,
                    "nsl dev up: the dev stack in %s is already up (%s pid %d); stop it with:\n"
                    "  %s dev down --state %s\n",
                    st->dir, ds[i]->name, (int)pid, st->nsl, st->dir);
            return true;
        }
    }
    return false;
}

/* GET /healthz; *status is the HTTP status, or 0 when nothing answered. */
static int healthz_status(const struct stack *st, long timeout_ms)
{
    char url[sizeof st->api + 16];
    snprintf(url, sizeof url, "%s/healthz", st->api);
    struct nsl_cli_http_request req = {
        .url = url, .connect_timeout_ms = timeout_ms, .timeout_ms = timeout_ms, .no_proxy = true};
    struct nsl_cli_http_response resp;
    if (nsl_cli_http_send(&req, &resp, NULL) != NSL_OK)
        return 0;
    int status = (int)resp.status;
    nsl_cli_http_response_free(&resp);
    return status;
}

static bool parent_ready(const struct stack *st)
{
    return healthz_status(st, 1000) == 200;
}

static bool enclave_ready(const struct stack *st)
{
    struct nsl_url url;
    if (nsl_url_parse(st->enclave_url, &url, NULL, 0) != 0)
        return false;
    int fd = nsl_net_connect(&url, POLL_MS);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The enclave's sealed storage answers (system.health storage.state "ready"): before that,
 * every operation that keeps state is UNAVAILABLE. */
static bool storage_ready(const struct stack *st)
{
    struct nsl_cli_reply reply;
    if (nsl_cli_dev_call(st->api, "system", "health", NULL, 1000, &reply) != NSL_OK)
        return false;
    const char *state =
        json_string_value(json_object_get(json_object_get(reply.result, "storage"), "state"));
    bool ready = state && strcmp(state, "ready") == 0;
    nsl_cli_reply_free(&reply);
    return ready;
}

/* Reaps a daemon that exited by itself; true if one did. */
static bool reap_exited(struct stack *st)
{
    struct daemon *ds[] = {&st->enclave, &st->parent};
    bool any = false;
    for (size_t i = 0; i < 2; i++) {
        if (ds[i]->pid > 0 && nsl_cli_process_reaped(ds[i]->pid, &ds[i]->status)) {
            ds[i]->pid = 0; /* never signal a pid that may now be someone else's */
            ds[i]->exited = true;
            any = true;
        }
    }
    return any;
}

enum wait_result { WAIT_READY, WAIT_DIED, WAIT_SIGNAL, WAIT_TIMEOUT };

static enum wait_result wait_for(struct stack *st, bool (*ready)(const struct stack *),
                                 int64_t deadline)
{
    for (;;) {
        if (reap_exited(st))
            return WAIT_DIED;
        if (ready(st))
            return reap_exited(st) ? WAIT_DIED : WAIT_READY;
        if (nsl_cli_now_ms() >= deadline)
            return WAIT_TIMEOUT;
        struct timespec ts = {0, POLL_MS * 1000000L};
        int sig = sigtimedwait(&st->signals, NULL, &ts);
        if (sig > 0 && sig != SIGCHLD)
            return WAIT_SIGNAL;
    }
}

static int spawn_daemon(struct stack *st, struct daemon *d, char *const argv[])
{
    struct nsl_cli_spawn s = {d->path, argv, d->log, !st->opts->background, &st->old_mask};
    struct nsl_error err = {0};
    if (nsl_cli_process_spawn(&s, &d->pid, &err) != NSL_OK) {
        fprintf(stderr, "nsl dev up: %s\n", err.message);
        return -1;
    }
    if (nsl_cli_pidfile_write(d->pidfile, d->pid) != 0) {
        fprintf(stderr, "nsl dev up: cannot write %s: %s\n", d->pidfile, strerror(errno));
        return -1;
    }
    return 0;
}

static int spawn_enclave(struct stack *st)
{
    const char *level = st->opts->log_level;
    char *argv[] = {st->enclave.path,
                    "--mode",
                    "sim",
                    "--key-provider",
                    "sim",
                    "--listen",
                    st->enclave_url,
                    "--host-channel",
                    st->host_url,
                    "--egress",
                    st->egress_url,
                    level ? "--log-level" : NULL,
                    (char *)level,
                    NULL,
                    NULL,
                    NULL};
    /* Optional flags fill the NULL slots from the first one on. */
    size_t n = level ? 13 : 11;
    if (st->ca_file[0]) {
        argv[n++] = "--ca-file";
        argv[n++] = st->ca_file;
    }
    return spawn_daemon(st, &st->enclave, argv);
}

static int spawn_parent(struct stack *st)
{
    const char *level = st->opts->log_level;
    char *argv[] = {st->parent.path,
                    "--enclave",
                    st->enclave_url,
                    "--host-listen",
                    st->host_url,
                    "--http",
                    (char *)st->opts->http,
                    "--state",
                    st->dir,
                    "--key-provider",
                    "sim",
                    "--egress-listen",
                    st->egress_url,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL};
    size_t n = 13;
    if (st->opts->db) {
        argv[n++] = "--db";
        argv[n++] = (char *)st->opts->db;
    }
    if (st->opts->sim_key_file) {
        argv[n++] = "--sim-key-file";
        argv[n++] = (char *)st->opts->sim_key_file;
    }
    if (level) {
        argv[n++] = "--log-level";
        argv[n++] = (char *)level;
    }
    if (st->opts->egress_allow) {
        argv[n++] = "--egress-allow";
        argv[n++] = (char *)st->opts->egress_allow;
    }
    return spawn_daemon(st, &st->parent, argv);
}

static void print_log_tail(const struct daemon *d)
{
    FILE *f = fopen(d->log, "re");
    if (!f)
        return;
    char buf[8192];
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : 0;
    long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    size_t n = fseek(f, from, SEEK_SET) == 0 ? fread(buf, 1, sizeof buf - 1, f) : 0;
    fclose(f);
    buf[n] = 0;
    size_t start = n, lines = 0;
    while (start > 0 && lines <= LOG_TAIL_LINES)
        if (buf[--start] == '\n' && start + 1 < n)
            lines++;
    if (lines > LOG_TAIL_LINES)
        start++;
    fprintf(stderr, "--- last lines of %s ---\n%s%s", d->log, buf + start,
            n && buf[n - 1] != '\n' ? "\n" : "");
}

static void describe_exit(const struct daemon *d)
{
    if (WIFSIGNALED(d->status))
        fprintf(stderr, "nsl dev: %s was killed by signal %d (%s)\n", d->name, WTERMSIG(d->status),
                strsignal(WTERMSIG(d->status)));
    else
        fprintf(stderr, "nsl dev: %s exited with status %d\n", d->name, WEXITSTATUS(d->status));
}

/* Parent first, then enclave; removes the pid files. */
static void stop_all(struct stack *st)
{
    struct daemon *ds[] = {&st->parent, &st->enclave};
    for (size_t i = 0; i < 2; i++) {
        if (ds[i]->pid > 0 &&
            nsl_cli_process_stop(ds[i]->pid, ds[i]->name, true, STOP_TIMEOUT_MS, NULL) == 1)
            fprintf(stderr, "nsl dev: %s did not stop in %d s and was killed\n", ds[i]->name,
                    STOP_TIMEOUT_MS / 1000);
        ds[i]->pid = 0;
        unlink(ds[i]->pidfile);
    }
}

static int start_failed(struct stack *st, enum wait_result why, const char *what)
{
    if (why == WAIT_SIGNAL)
        fprintf(stderr, "nsl dev up: interrupted while waiting for %s\n", what);
    else if (why == WAIT_TIMEOUT)
        fprintf(stderr, "nsl dev up: %s did not come up within %d s\n", what,
                START_DEADLINE_MS / 1000);
    for (struct daemon *d = &st->enclave; d; d = d == &st->enclave ? &st->parent : NULL)
        if (d->exited)
            describe_exit(d);
    stop_all(st);
    if (why != WAIT_SIGNAL) {
        print_log_tail(&st->enclave);
        print_log_tail(&st->parent);
    }
    return 1;
}

static int start_daemons(struct stack *st)
{
    int64_t deadline = nsl_cli_now_ms() + START_DEADLINE_MS;
    if (spawn_enclave(st) != 0)
        return start_failed(st, WAIT_READY, "nsl-enclave");
    enum wait_result r = wait_for(st, enclave_ready, deadline);
    if (r != WAIT_READY)
        return start_failed(st, r, "nsl-enclave's socket");
    if (spawn_parent(st) != 0)
        return start_failed(st, WAIT_READY, "nsl-parent");
    r = wait_for(st, parent_ready, deadline);
    if (r != WAIT_READY)
        return start_failed(st, r, "GET /healthz");
    r = wait_for(st, storage_ready, deadline);
    if (r != WAIT_READY)
        return start_failed(st, r, "the enclave's storage");
    return 0;
}

static void print_ready(const struct stack *st)
{
    printf("dev stack up (simulated attestation, not for production)\n"
           "  nsl-enclave pid %d, nsl-parent pid %d\n"
           "  API:   %s/v1/rpc\n"
           "  state: %s (logs: enclave.log, parent.log)\n",
           (int)st->enclave.pid, (int)st->parent.pid, st->api, st->dir);
    if (st->admin == NSL_CLI_ADMIN_KEY_CREATED)
        printf("  admin: the admin key is in %s/%s (account %s; neo-sig, keep it secret)\n",
               st->dir, NSL_CLI_ADMIN_KEY_FILE, st->admin_account);
    else if (st->admin == NSL_CLI_ADMIN_KEY_KEPT)
        printf("  admin: the admin key is in %s/%s (kept from an earlier start)\n", st->dir,
               NSL_CLI_ADMIN_KEY_FILE);
    printf("\nTry:\n"
           "  %s --url %s system health\n"
           "  %s --url %s --json system health\n",
           st->nsl, st->api, st->nsl, st->api);
    if (st->admin != NSL_CLI_ADMIN_KEY_NONE)
        printf("  %s --url %s --key %s/%s account whoami\n", st->nsl, st->api, st->dir,
               NSL_CLI_ADMIN_KEY_FILE);
    printf("  curl -s %s/metrics | head\n", st->api);
    printf("\nSensitive commands (wallet import, wallet export, ...) verify the enclave's "
           "attestation\nfirst; this stack's is simulated, so add --allow-simulated (or set "
           "NSL_ALLOW_SIMULATED=1).\n");
    if (st->opts->background)
        printf("  %s dev down --state %s\n", st->nsl, st->dir);
    else
        printf("\nCtrl-C stops both daemons.\n");
    fflush(stdout);
}

/* Foreground: until a signal, or until a daemon exits by itself. */
static int supervise(struct stack *st)
{
    for (;;) {
        int sig = sigwaitinfo(&st->signals, NULL);
        if (sig > 0 && sig != SIGCHLD)
            break;
        if (!reap_exited(st))
            continue;
        /* nsl dev down removes a pid file before it signals: then the stop was asked for. */
        struct daemon *d = st->enclave.exited ? &st->enclave : &st->parent;
        if (access(d->pidfile, F_OK) != 0) {
            stop_all(st);
            printf("dev stack stopped by nsl dev down\n");
            return 0;
        }
        describe_exit(d);
        print_log_tail(d);
        stop_all(st);
        return 1;
    }
    printf("\nstopping the dev stack...\n");
    fflush(stdout);
    stop_all(st);
    printf("dev stack stopped\n");
    return 0;
}

int nsl_cli_dev_stack_up(const struct nsl_cli_dev_up *opts)
{
    struct stack *st = malloc(sizeof *st);
    if (!st) {
        fprintf(stderr, "nsl dev up: out of memory\n");
        return 1;
    }
    int rc = 1;
    if (stack_init(st, opts) != 0 || already_running(st))
        goto cleanup;
    if (healthz_status(st, 500) != 0) {
        fprintf(stderr, "nsl dev up: something already answers on %s; choose another --http\n",
                opts->http);
        goto cleanup;
    }
    sigemptyset(&st->signals);
    sigaddset(&st->signals, SIGINT);
    sigaddset(&st->signals, SIGTERM);
    sigaddset(&st->signals, SIGHUP);
    sigaddset(&st->signals, SIGCHLD);
    sigprocmask(SIG_BLOCK, &st->signals, &st->old_mask);
    rc = start_daemons(st);
    if (rc == 0) {
        st->admin = nsl_cli_dev_admin_ensure(st->dir, st->api, st->admin_account);
        print_ready(st);
        rc = opts->background ? 0 : supervise(st);
    }
    sigprocmask(SIG_SETMASK, &st->old_mask, NULL);
cleanup:
    free(st);
    return rc;
}

/* Stops one daemon named by its pid file; returns true if it was running. */
static bool stop_from_pidfile(const char *dir, const char *name)
{
    char pidfile[PATH_MAX];
    pid_t pid = 0;
    snprintf(pidfile, sizeof pidfile, "%s/%s.pid", dir, name);
    int r = nsl_cli_pidfile_read(pidfile, &pid);
    if (r == 0)
        return false;
    bool alive = r == 1 && nsl_cli_process_alive(pid, name);
    /* Removed before the signal, so that a foreground `nsl dev up` sees a requested stop. */
    unlink(pidfile);
    if (!alive) {
        printf("%s was not running (stale pid file removed)\n", name);
        return false;
    }
    if (nsl_cli_process_stop(pid, name, false, STOP_TIMEOUT_MS, NULL) == 1)
        printf("%s (pid %d) did not stop in %d s and was killed\n", name, (int)pid,
               STOP_TIMEOUT_MS / 1000);
    else
        printf("%s (pid %d) stopped\n", name, (int)pid);
    return true;
}

int nsl_cli_dev_stack_down(const char *state)
{
    char dir[PATH_MAX];
    if (!realpath(state, dir)) {
        if (errno == ENOENT) {
            printf("nothing to stop: %s does not exist\n", state);
            return 0;
        }
        fprintf(stderr, "nsl dev down: %s: %s\n", state, strerror(errno));
        return 1;
    }
    bool parent = stop_from_pidfile(dir, "nsl-parent");
    bool enclave = stop_from_pidfile(dir, "nsl-enclave");
    if (!parent && !enclave)
        printf("the dev stack in %s was already down\n", dir);
    return 0;
}
