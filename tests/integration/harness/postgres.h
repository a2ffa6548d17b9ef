/* A throw-away PostgreSQL server for tests and benches (docs/scale-out.md): initdb in a fresh
 * temporary directory, trust authentication for 127.0.0.1 only, a free port on 127.0.0.1, the
 * unix socket inside the temporary directory. When run as root, the server runs as the
 * `postgres` user (initdb refuses root). The server gets SIGQUIT if the test process dies, and
 * nsl_pg_server_stop stops it and removes the directory. One server is meant to be shared by all
 * of a test program's cases: initdb takes seconds. */
#ifndef NSL_TEST_POSTGRES_H
#define NSL_TEST_POSTGRES_H

#include <sys/types.h>

struct nsl_pg_server {
    char dir[256]; /* temporary dir: data/, the socket, initdb.log, postgres.log */
    int port;
    pid_t pid;     /* 0 when not running */
    char url[320]; /* postgres://nsl@127.0.0.1:PORT/postgres */
};

/* initdb and start; 0 once the server accepts connections. On failure everything is undone. */
int nsl_pg_server_start(struct nsl_pg_server *s);
/* Stops the server (fast shutdown) and keeps its data, so that nsl_pg_server_resume can start
 * it again on the same port. */
int nsl_pg_server_halt(struct nsl_pg_server *s);
int nsl_pg_server_resume(struct nsl_pg_server *s);
/* Stops the server if running and removes the directory. s may be partly set up. */
void nsl_pg_server_stop(struct nsl_pg_server *s);
/* Runs sql (several statements allowed) on the server's `postgres` database; 0 on success. */
int nsl_pg_server_sql(const struct nsl_pg_server *s, const char *sql);
/* Runs a query on the database at url and returns the first column of its first row as an
 * integer (a count), or -1 when the query fails or returns no row. */
long long nsl_pg_query_int(const char *url, const char *sql);
/* Creates database name (dropping an older one of that name) and writes its URL to url. */
int nsl_pg_server_create_db(const struct nsl_pg_server *s, const char *name, char *url, size_t len);

#endif
