/* The dev stack's admin key (see dev_admin.h). The key is bootstrapped before it is written, so
 * a file never names an account that does not exist; the file appears atomically under its name
 * (a private temporary file, then link(2), which like O_EXCL never replaces an existing one). */
#include "cli/dev_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/http.h"
#include "common/encoding.h"
#include "neo/account.h"
#include "neo/key.h"
#include "neo/wif.h"

#define BOOTSTRAP_TIMEOUT_MS 10000L

nsl_err nsl_cli_dev_call(const char *api, const char *service, const char *operation,
                         const json_t *params, long timeout_ms, struct nsl_cli_reply *reply)
{
    *reply = (struct nsl_cli_reply){0};
    char url[512];
    snprintf(url, sizeof url, "%s%s", api, NSL_CLI_RPC_PATH);
    json_t *empty = params ? NULL : json_object();
    char *body = nsl_cli_rpc_body(service, operation, params ? params : empty);
    json_decref(empty);
    if (!body)
        return NSL_ERR_INTERNAL;
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", "Expect:", NULL};
    struct nsl_cli_http_request req = {.url = url,
                                       .headers = headers,
                                       .body = body,
                                       .body_len = strlen(body),
                                       .connect_timeout_ms = timeout_ms,
                                       .timeout_ms = timeout_ms,
                                       .no_proxy = true};
    struct nsl_cli_http_response resp;
    struct nsl_error err = {0};
    nsl_err rc = nsl_cli_http_send(&req, &resp, &err);
    free(body);
    if (rc != NSL_OK) {
        reply->error = nsl_cli_rpc_error_object(err.code, err.message);
        return reply->error ? NSL_OK : NSL_ERR_INTERNAL;
    }
    rc = nsl_cli_rpc_parse_reply(resp.status, (const char *)resp.body.data, resp.body.len, reply);
    nsl_cli_http_response_free(&resp);
    return rc;
}

/* The parts of the key file, all printable without JSON escapes. */
struct admin_key {
    struct nsl_secret *key;
    struct nsl_secret *wif;
    struct nsl_neo_account account;
    char pub_hex[2 * NSL_NEO_PUBKEY_LEN + 1];
};

static void admin_key_free(struct admin_key *k)
{
    nsl_secret_free(k->key);
    nsl_secret_free(k->wif);
    *k = (struct admin_key){0};
}

static nsl_err admin_key_generate(struct admin_key *k, struct nsl_error *err)
{
    *k = (struct admin_key){0};
    NSL_TRY(nsl_neo_key_generate(&k->key, err));
    NSL_TRY(nsl_neo_account_from_key(k->key, &k->account, err));
    NSL_TRY(nsl_neo_wif_encode(k->key, &k->wif, err));
    nsl_hex_encode(k->account.pub, sizeof k->account.pub, k->pub_hex);
    return NSL_OK;
}

/* account.bootstrap {publicKey}: NSL_OK with the new account id, or the error's code (with
 * its message in err). */
static nsl_err bootstrap(const char *api, const struct admin_key *k,
                         char account[NSL_CLI_ACCOUNT_SIZE], struct nsl_error *err)
{
    json_t *params = json_pack("{s:s}", "publicKey", k->pub_hex);
    struct nsl_cli_reply reply = {0};
    if (!params || nsl_cli_dev_call(api, "account", "bootstrap", params, BOOTSTRAP_TIMEOUT_MS,
                                    &reply) != NSL_OK) {
        json_decref(params);
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    json_decref(params);
    nsl_err rc = NSL_OK;
    const char *id = json_string_value(json_object_get(reply.result, "accountId"));
    if (reply.error) {
        nsl_err code = NSL_ERR_INTERNAL;
        nsl_err_from_name(nsl_cli_rpc_error_name(reply.error), &code);
        const char *msg = json_string_value(json_object_get(reply.error, "message"));
        rc = nsl_fail(err, code == NSL_OK ? NSL_ERR_INTERNAL : code, "%.200s", msg ? msg : "");
    } else if (!id || !nsl_cli_account_id_valid(id) || strpbrk(id, "\"\\")) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "account.bootstrap returned no usable accountId");
    } else {
        snprintf(account, NSL_CLI_ACCOUNT_SIZE, "%s", id);
    }
    nsl_cli_reply_free(&reply);
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes text to a new private file in dir, then links it as path: readers see the whole file
 * or none, and an existing path is never replaced (EEXIST). */
static int write_new_file(const char *dir, const char *path, const void *text, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.%d.tmp", dir, NSL_CLI_ADMIN_KEY_FILE, (int)getpid()) >=
        (int)sizeof tmp)
        return errno = ENAMETOOLONG, -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, len) == 0 && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0)
        rc = -1, saved = errno;
    if (rc == 0 && link(tmp, path) != 0)
        rc = -1, saved = errno;
    unlink(tmp);
    errno = saved;
    return rc;
}

static int save_key_file(const char *dir, const char *path, const struct admin_key *k,
                         const char *account)
{
    /* The text holds the WIF: it is built in a secret and wiped with it. */
    NSL_AUTO_SECRET struct nsl_secret *text = nsl_secret_new(512);
    if (!text)
        return errno = ENOMEM, -1;
    int n =
        snprintf((char *)nsl_secret_bytes(text), nsl_secret_len(text),
                 "{\n  \"address\": \"%s\",\n  \"publicKey\": \"%s\",\n  \"wif\": \"%s\",\n"
                 "  \"accountId\": \"%s\"\n}\n",
                 k->account.address, k->pub_hex, (const char *)nsl_secret_bytes(k->wif), account);
    if (n < 0 || (size_t)n >= nsl_secret_len(text))
        return errno = EOVERFLOW, -1;
    return write_new_file(dir, path, nsl_secret_bytes(text), (size_t)n);
}

enum nsl_cli_admin_key nsl_cli_dev_admin_ensure(const char *dir, const char *api,
                                                char account[NSL_CLI_ACCOUNT_SIZE])
{
    char path[PATH_MAX];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, NSL_CLI_ADMIN_KEY_FILE);
    if (lstat(path, &sb) == 0)
        return NSL_CLI_ADMIN_KEY_KEPT;
    if (errno != ENOENT) {
        fprintf(stderr, "nsl dev up: warning: cannot check %s: %s\n", path, strerror(errno));
        return NSL_CLI_ADMIN_KEY_NONE;
    }
    struct admin_key k;
    struct nsl_error err = {0};
    nsl_err rc = admin_key_generate(&k, &err);
    if (rc == NSL_OK)
        rc = bootstrap(api, &k, account, &err);
    enum nsl_cli_admin_key result = NSL_CLI_ADMIN_KEY_NONE;
    if (rc == NSL_ERR_ALREADY_EXISTS)
        fprintf(stderr,
                "nsl dev up: warning: an admin account already exists in %s's store but %s is "
                "missing; no admin key was written (sign with that admin's own key, or start "
                "again with an empty state directory)\n",
                dir, path);
    else if (rc != NSL_OK)
        fprintf(stderr, "nsl dev up: warning: cannot create the first admin: %s: %s\n",
                nsl_err_name(rc), err.message);
    else if (save_key_file(dir, path, &k, account) != 0)
        fprintf(stderr,
                "nsl dev up: warning: admin account %s was created but %s cannot be written: "
                "%s; its key is lost (start again with an empty state directory)\n",
                account, path, strerror(errno));
    else
        result = NSL_CLI_ADMIN_KEY_CREATED;
    admin_key_free(&k);
    return result;
}
