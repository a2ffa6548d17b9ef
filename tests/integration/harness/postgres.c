/* A throw-away PostgreSQL server (see postgres.h). */
#include "harness/postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/harness.h"

#define START_TIMEOUT_MS 60000

/* Debian keeps the server binaries out of PATH: /usr/lib/postgresql/<major>/bin. */
static int bin_path(const char *name, char *out, size_t len)
{
    const char *dir = getenv("NSL_PG_BIN_DIR");
    if (dir)
        return snprintf(out, len, "%s/%s", dir, name) < (int)len ? 0 : -1;
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        fprintf(stderr, "postgres harness: no /usr/lib/postgresql/*/bin (install postgresql)\n");
        return -1;
    }
    char found[512];
    snprintf(found, sizeof found, "%s", g.gl_pathv[g.gl_pathc - 1]); /* the newest major */
    globfree(&g);
    *strrchr(found, '/') = 0;
    return snprintf(out, len, "%s/%s", found, name) < (int)len ? 0 : -1;
}

/* In a forked child: drop to the postgres user when root (initdb and postgres refuse root), ask
 * for SIGQUIT when the test process dies (after the uid change, which clears it), log to log. */
static void child_setup(pid_t test_pid, const char *log)
{
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
            _exit(126);
    }
    prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (getppid() != test_pid)
        _exit(125);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

static pid_t spawn(const struct nsl_pg_server *s, const char *const *argv, const char *log_name)
{
    char log[300];
    snprintf(log, sizeof log, "%s/%s", s->dir, log_name);
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    child_setup(self, log);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

static int run_initdb(const struct nsl_pg_server *s)
{
    char bin[512], data[300];
    if (bin_path("initdb", bin, sizeof bin) != 0)
        return -1;
    snprintf(data, sizeof data, "%s/data", s->dir);
    const char *argv[] = {bin,     "-D", data,   "-U",          "nsl",       "-A",
                          "trust", "-E", "UTF8", "--no-locale", "--no-sync", NULL};
    int status = 0;
    pid_t pid = spawn(s, argv, "initdb.log");
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "postgres harness: initdb failed (see %s/initdb.log)\n", s->dir);
        return -1;
    }
    /* Trust, but only for TCP from 127.0.0.1: no other line, so nothing else gets in. */
    char hba[320];
    snprintf(hba, sizeof hba, "%s/pg_hba.conf", data);
    FILE *f = fopen(hba, "w");
    if (!f)
        return -1;
    fputs("host all all 127.0.0.1/32 trust\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

static bool server_ready(void *ctx)
{
    const struct nsl_pg_server *s = ctx;
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid)
        return true; /* died: the caller sees it */
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=nsl dbname=postgres", s->port);
    return PQping(conninfo) == PQPING_OK;
}

int nsl_pg_server_resume(struct nsl_pg_server *s)
{
    char bin[512], data[300], port[16], sockets[300];
    if (bin_path("postgres", bin, sizeof bin) != 0)
        return -1;
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(sockets, sizeof sockets, "unix_socket_directories=%s", s->dir);
    /* fsync stays on (the default): the blob store refuses a server without it. */
    const char *argv[] = {bin,
                          "-D",
                          data,
                          "-p",
                          port,
                          "-c",
                          "listen_addresses=127.0.0.1",
                          "-c",
                          sockets,
                          "-c",
                          "max_connections=200",
                          NULL};
    s->pid = spawn(s, argv, "postgres.log");
    if (s->pid < 0) {
        s->pid = 0;
        return -1;
    }
    if (nsl_wait_until(server_ready, s, START_TIMEOUT_MS) != 0 || kill(s->pid, 0) != 0) {
        fprintf(stderr, "postgres harness: the server did not start (see %s/postgres.log)\n",
                s->dir);
        nsl_pg_server_halt(s);
        return -1;
    }
    return 0;
}

int nsl_pg_server_halt(struct nsl_pg_server *s)
{
    if (s->pid <= 0)
        return 0;
    /* SIGINT is PostgreSQL's fast shutdown: sessions end, a checkpoint is written. */
    int status = nsl_stack_kill(&s->pid, SIGINT);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int nsl_pg_server_start(struct nsl_pg_server *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/nsl-pg-XXXXXX");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = 0;
        return -1;
    }
    struct passwd *pw = geteuid() == 0 ? getpwnam("postgres") : NULL;
    if (geteuid() == 0 && (!pw || chown(s->dir, pw->pw_uid, pw->pw_gid) != 0)) {
        fprintf(stderr, "postgres harness: no postgres user to run the server as\n");
        nsl_pg_server_stop(s);
        return -1;
    }
    s->port = nsl_free_tcp_port();
    snprintf(s->url, sizeof s->url, "postgres://nsl@127.0.0.1:%d/postgres", s->port);
    if (s->port <= 0 || run_initdb(s) != 0 || nsl_pg_server_resume(s) != 0) {
        nsl_pg_server_stop(s);
        return -1;
    }
    return 0;
}

void nsl_pg_server_stop(struct nsl_pg_server *s)
{
    if (nsl_pg_server_halt(s) != 0)
        fprintf(stderr, "postgres harness: unclean server exit\n");
    if (!s->dir[0])
        return;
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "postgres harness: could not remove %s\n", s->dir);
    s->dir[0] = 0;
}

/* Connects to url and runs sql; NULL (said on stderr) when the connection fails. The caller
 * clears the result and finishes *conn. */
static PGresult *exec_on(const char *url, const char *sql, PGconn **conn)
{
    *conn = PQconnectdb(url);
    if (PQstatus(*conn) == CONNECTION_OK)
        return PQexec(*conn, sql);
    fprintf(stderr, "postgres harness: %s", PQerrorMessage(*conn));
    return NULL;
}

static int sql_on(const char *url, const char *sql)
{
    PGconn *conn;
    PGresult *res = exec_on(url, sql, &conn);
    ExecStatusType st = PQresultStatus(res);
    int rc = res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (res && rc != 0)
        fprintf(stderr, "postgres harness: %s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int nsl_pg_server_sql(const struct nsl_pg_server *s, const char *sql)
{
    return sql_on(s->url, sql);
}

long long nsl_pg_query_int(const char *url, const char *sql)
{
    PGconn *conn;
    PGresult *res = exec_on(url, sql, &conn);
    long long n = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0)
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else if (res)
        fprintf(stderr, "postgres harness: %s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(conn);
    return n;
}

int nsl_pg_server_create_db(const struct nsl_pg_server *s, const char *name, char *url, size_t len)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    if (sql_on(s->url, sql) != 0)
        return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (sql_on(s->url, sql) != 0)
        return -1;
    return snprintf(url, len, "postgres://nsl@127.0.0.1:%d/%s", s->port, name) < (int)len ? 0 : -1;
}
