/* The sim key provider's wrapping key (see host_keys.h). The file is written atomically (temp
 * file, fsync, link, fsync of the directory) so that a crash leaves either no key or the whole
 * key, never a torn one that would make the wrapped master key unrecoverable. Several parents may
 * share the file (docs/scale-out.md): link() fails when another created it first, and the loser
 * reads the winner's key, so all of them end up with the same one. */
#include "parent/host_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"

/* Two first calls at once must not both create (and return different) keys. */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Reads exactly NSL_SIM_WRAPPING_KEY_LEN bytes. Returns 0, -1 with errno ENOENT when there is
 * no file, or -1 with another errno (EINVAL for a file of the wrong size). */
static int read_key(const char *path, uint8_t *key)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, key, NSL_SIM_WRAPPING_KEY_LEN);
    uint8_t extra;
    ssize_t more = n == NSL_SIM_WRAPPING_KEY_LEN ? read(fd, &extra, 1) : 0;
    close(fd);
    if (n != NSL_SIM_WRAPPING_KEY_LEN || more != 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* Writes a fresh key to a private temp file and links it into place. Returns 0 with key set,
 * or -1 with errno EEXIST when another process created path first. */
static int create_key(const char *path, uint8_t *key)
{
    char tmp[4200], dir[4200];
    if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp ||
        snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir ||
        RAND_bytes(key, NSL_SIM_WRAPPING_KEY_LEN) != 1)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc =
        fchmod(fd, 0600) == 0 && write_all(fd, key, NSL_SIM_WRAPPING_KEY_LEN) == 0 && fsync(fd) == 0
            ? 0
            : -1;
    close(fd);
    if (rc == 0)
        rc = link(tmp, path); /* unlike rename, never replaces a key another parent made */
    int saved = errno;
    unlink(tmp);
    if (rc == 0 && fsync_dir(dirname(dir)) == 0)
        return 0;
    errno = saved;
    return -1;
}

static int load_or_create(const struct nsl_host_context *ctx, uint8_t *key)
{
    char path[4200];
    int n = ctx->sim_key_file
                ? snprintf(path, sizeof path, "%s", ctx->sim_key_file)
                : snprintf(path, sizeof path, "%s/%s", ctx->state_dir, NSL_SIM_WRAPPING_KEY_FILE);
    if (n >= (int)sizeof path)
        return -1;
    pthread_mutex_lock(&key_lock);
    int rc = read_key(path, key);
    if (rc != 0 && errno == ENOENT) {
        rc = create_key(path, key);
        if (rc == 0)
            nsl_log(NSL_LOG_WARN, "sim_wrapping_key_created", "path", path, "security",
                    "key material is kept on the parent: NOT SECURE", NULL);
        else if (errno == EEXIST)
            rc = read_key(path, key); /* another parent made it first: use theirs */
    }
    if (rc != 0)
        nsl_logf(NSL_LOG_ERROR, "sim_wrapping_key_failed", "%s: %s", path, strerror(errno));
    pthread_mutex_unlock(&key_lock);
    return rc;
}

nsl_err nsl_host_keys_sim_wrapping_key(struct nsl_host_context *ctx, const json_t *params,
                                       struct nsl_host_call *call, json_t **result,
                                       struct nsl_error *err)
{
    (void)call;
    if (!ctx->sim_keys)
        return nsl_fail(err, NSL_ERR_PERMISSION_DENIED, "the sim key provider is disabled");
    if (json_object_size(params) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "keys.simWrappingKey takes no params");
    uint8_t key[NSL_SIM_WRAPPING_KEY_LEN];
    char text[64];
    if (load_or_create(ctx, key) != 0) {
        OPENSSL_cleanse(key, sizeof key);
        return nsl_fail(err, NSL_ERR_INTERNAL, "the sim wrapping key could not be read");
    }
    nsl_base64_encode(key, sizeof key, text);
    *result = json_pack("{s:s}", "key", text);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(text, sizeof text);
    return *result ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}
