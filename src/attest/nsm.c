/* The NSM device provider (see nsm.h). Requests are written head by head in the shortest form,
 * as serde_cbor writes them; responses go through the bounded loader of attest/cbor.h and are
 * read by key, ignoring keys a newer NSM may add. */
#include "attest/nsm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "attest/cbor.h"
#include "crypto/secret.h"

/* The driver's ABI (Linux drivers/misc/nsm.c); Debian's headers lack <linux/nsm.h>. */
struct nsm_iovec {
    uint64_t addr; /* user-space address */
    uint64_t len;
};

struct nsm_raw {
    struct nsm_iovec request;
    struct nsm_iovec response; /* len in: capacity; out: bytes written */
};

#define NSM_IOCTL_MAGIC 0x0A
#define NSM_IOCTL_RAW   _IOWR(NSM_IOCTL_MAGIC, 0, struct nsm_raw)

_Static_assert(sizeof(struct nsm_raw) == 32, "struct nsm_raw is four u64");
#if defined(__x86_64__)
_Static_assert(NSM_IOCTL_RAW == 0xC0200A00u, "NSM_IOCTL_RAW as the driver defines it");
#endif

enum { MAJOR_UINT = 0, MAJOR_BYTES = 2, MAJOR_TEXT = 3, MAJOR_MAP = 5 };
#define CBOR_NULL 0xF6

struct nsl_nsm {
    int fd;
    char path[64];
};

/* ---- requests ------------------------------------------------------------------------------ */

static int put_head(struct nsl_buf *b, uint8_t major, uint64_t value)
{
    uint8_t head[9];
    return nsl_buf_append(b, head, nsl_attest_cbor_head(major, value, head));
}

static int put_text(struct nsl_buf *b, const char *text)
{
    size_t n = strlen(text);
    return put_head(b, MAJOR_TEXT, n) || nsl_buf_append(b, text, n) ? -1 : 0;
}

/* A byte string, or null when data is NULL. */
static int put_bytes_or_null(struct nsl_buf *b, const uint8_t *data, size_t len)
{
    if (!data)
        return nsl_buf_append_u8(b, CBOR_NULL);
    if (put_head(b, MAJOR_BYTES, len) != 0)
        return -1;
    return len ? nsl_buf_append(b, data, len) : 0;
}

static nsl_err encode_oom(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory encoding an NSM request");
}

nsl_err nsl_nsm_encode_get_random(struct nsl_buf *out, struct nsl_error *err)
{
    return put_text(out, "GetRandom") ? encode_oom(err) : NSL_OK;
}

nsl_err nsl_nsm_encode_attestation(const uint8_t *user_data, size_t user_data_len,
                                   const uint8_t *nonce, size_t nonce_len,
                                   const uint8_t *public_key, size_t public_key_len,
                                   struct nsl_buf *out, struct nsl_error *err)
{
    if (user_data && user_data_len > NSL_NSM_MAX_USER_DATA)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "user_data is longer than %d bytes",
                        NSL_NSM_MAX_USER_DATA);
    if (nonce && nonce_len > NSL_NSM_MAX_NONCE)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "nonce is longer than %d bytes",
                        NSL_NSM_MAX_NONCE);
    if (public_key && public_key_len > NSL_NSM_MAX_PUBLIC_KEY)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "public_key is longer than %d bytes",
                        NSL_NSM_MAX_PUBLIC_KEY);
    /* field order as AWS's Request::Attestation declares it */
    if (put_head(out, MAJOR_MAP, 1) || put_text(out, "Attestation") ||
        put_head(out, MAJOR_MAP, 3) || put_text(out, "user_data") ||
        put_bytes_or_null(out, user_data, user_data_len) || put_text(out, "nonce") ||
        put_bytes_or_null(out, nonce, nonce_len) || put_text(out, "public_key") ||
        put_bytes_or_null(out, public_key, public_key_len))
        return encode_oom(err);
    return NSL_OK;
}

nsl_err nsl_nsm_encode_describe_pcr(unsigned index, struct nsl_buf *out, struct nsl_error *err)
{
    if (index >= NSL_NSM_PCR_COUNT)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "PCR index %u is not below %d", index,
                        NSL_NSM_PCR_COUNT);
    if (put_head(out, MAJOR_MAP, 1) || put_text(out, "DescribePCR") ||
        put_head(out, MAJOR_MAP, 1) || put_text(out, "index") || put_head(out, MAJOR_UINT, index))
        return encode_oom(err);
    return NSL_OK;
}

/* ---- responses ----------------------------------------------------------------------------- */

static const struct {
    const char *name;
    nsl_err code;
} NSM_ERRORS[] = {
    {"InvalidArgument", NSL_ERR_INVALID_PARAMS}, {"InvalidIndex", NSL_ERR_INVALID_PARAMS},
    {"ReadOnlyIndex", NSL_ERR_INVALID_PARAMS},   {"InputTooLarge", NSL_ERR_INVALID_PARAMS},
    {"InvalidResponse", NSL_ERR_INTERNAL},       {"InvalidOperation", NSL_ERR_INTERNAL},
    {"BufferTooSmall", NSL_ERR_INTERNAL},        {"InternalError", NSL_ERR_INTERNAL},
};

static nsl_err malformed(struct nsl_error *err, const char *request, const char *why)
{
    return nsl_fail(err, NSL_ERR_INTERNAL, "malformed NSM %s response: %s", request, why);
}

/* True when item is a text string equal to want (definite or chunked). */
static bool text_equals(const cbor_item_t *item, const char *want)
{
    uint8_t *s = NULL;
    size_t len = 0;
    if (!cbor_isa_string(item) || nsl_attest_cbor_string(item, 64, "key", &s, &len, NULL) != NSL_OK)
        return false;
    bool eq = len == strlen(want) && memcmp(s, want, len) == 0;
    free(s);
    return eq;
}

/* The value under key in map; NULL when absent or present twice (*dup set). */
static cbor_item_t *map_get(const cbor_item_t *map, const char *key, bool *dup)
{
    cbor_item_t *found = NULL;
    struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        if (!text_equals(pairs[i].key, key))
            continue;
        if (found) {
            *dup = true;
            return NULL;
        }
        found = pairs[i].value;
    }
    return found;
}

static nsl_err nsm_error(const cbor_item_t *value, struct nsl_error *err)
{
    for (size_t i = 0; i < sizeof NSM_ERRORS / sizeof NSM_ERRORS[0]; i++)
        if (text_equals(value, NSM_ERRORS[i].name))
            return nsl_fail(err, NSM_ERRORS[i].code, "NSM refused the request: %s",
                            NSM_ERRORS[i].name);
    return nsl_fail(err, NSL_ERR_INTERNAL, "NSM refused the request with an unrecognised error");
}

/* Loads a response and finds the body of {"<request>": body}, a map; {"Error": name} becomes
 * the error it names. *root is the caller's to cbor_decref (also after a failure). */
static nsl_err response_body(const uint8_t *resp, size_t len, const char *request,
                             cbor_item_t **root, cbor_item_t **body, struct nsl_error *err)
{
    struct nsl_error load_err = {0};
    *root = NULL;
    *body = NULL;
    if (len > NSL_NSM_RESPONSE_CAP)
        return malformed(err, request, "longer than the response buffer");
    nsl_err rc = nsl_attest_cbor_load(resp, len, 0, "response", root, &load_err);
    if (rc == NSL_ERR_INTERNAL)
        return nsl_fail(err, rc, "%s", load_err.message);
    if (rc != NSL_OK)
        return malformed(err, request, load_err.message);
    if (!cbor_isa_map(*root) || cbor_map_size(*root) != 1)
        return malformed(err, request, "not a map of one entry");
    struct cbor_pair *pair = cbor_map_handle(*root);
    if (text_equals(pair->key, "Error"))
        return nsm_error(pair->value, err);
    if (!text_equals(pair->key, request))
        return malformed(err, request, "it answers another request");
    if (!cbor_isa_map(pair->value))
        return malformed(err, request, "the body is not a map");
    *body = pair->value;
    return NSL_OK;
}

/* The byte string under key in body: 1..max bytes (min..max), copied to malloc'd *out. */
static nsl_err body_bytes(const cbor_item_t *body, const char *request, const char *key, size_t min,
                          size_t max, uint8_t **out, size_t *len, struct nsl_error *err)
{
    bool dup = false;
    cbor_item_t *v = map_get(body, key, &dup);
    char why[96];
    *out = NULL;
    if (!v || !cbor_isa_bytestring(v)) {
        snprintf(why, sizeof why, "\"%s\" is %s", key,
                 dup ? "present twice"
                 : v ? "not a byte string"
                     : "missing");
        return malformed(err, request, why);
    }
    struct nsl_error inner = {0};
    nsl_err rc = nsl_attest_cbor_string(v, max, key, out, len, &inner);
    if (rc == NSL_OK && *len < min) {
        nsl_wipe(*out, *len);
        free(*out);
        *out = NULL;
        rc = NSL_ERR_INVALID_PARAMS;
    }
    if (rc == NSL_ERR_INTERNAL)
        return nsl_fail(err, rc, "%s", inner.message);
    if (rc != NSL_OK) {
        snprintf(why, sizeof why, "\"%s\" is not %zu to %zu bytes long", key, min, max);
        return malformed(err, request, why);
    }
    return NSL_OK;
}

/* Wipes the contents of every byte string in body's values, before libcbor frees them: random
 * bytes that seed the DRBG must not stay behind in freed memory. */
static void wipe_byte_strings(cbor_item_t *body)
{
    struct cbor_pair *pairs = cbor_map_handle(body);
    for (size_t i = 0; i < cbor_map_size(body); i++) {
        cbor_item_t *v = pairs[i].value;
        if (!cbor_isa_bytestring(v))
            continue;
        if (!cbor_bytestring_is_indefinite(v)) {
            nsl_wipe(cbor_bytestring_handle(v), cbor_bytestring_length(v));
            continue;
        }
        cbor_item_t **chunks = cbor_bytestring_chunks_handle(v);
        for (size_t c = 0; c < cbor_bytestring_chunk_count(v); c++)
            nsl_wipe(cbor_bytestring_handle(chunks[c]), cbor_bytestring_length(chunks[c]));
    }
}

static void decref(cbor_item_t *item)
{
    if (item)
        cbor_decref(&item);
}

nsl_err nsl_nsm_decode_get_random(const uint8_t *resp, size_t len, uint8_t *out, size_t cap,
                                  size_t *out_len, struct nsl_error *err)
{
    cbor_item_t *root = NULL, *body = NULL;
    uint8_t *bytes = NULL;
    size_t n = 0;
    *out_len = 0;
    nsl_err rc = response_body(resp, len, "GetRandom", &root, &body, err);
    if (rc == NSL_OK)
        rc = body_bytes(body, "GetRandom", "random", 1, NSL_NSM_MAX_RANDOM, &bytes, &n, err);
    if (rc == NSL_OK && n > cap)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "NSM returned %zu random bytes for a %zu-byte buffer",
                      n, cap);
    if (rc == NSL_OK) {
        memcpy(out, bytes, n);
        *out_len = n;
    }
    if (bytes) {
        nsl_wipe(bytes, n);
        free(bytes);
    }
    if (body)
        wipe_byte_strings(body);
    decref(root);
    return rc;
}

nsl_err nsl_nsm_decode_attestation(const uint8_t *resp, size_t len, struct nsl_buf *doc,
                                   struct nsl_error *err)
{
    cbor_item_t *root = NULL, *body = NULL;
    uint8_t *bytes = NULL;
    size_t n = 0;
    nsl_err rc = response_body(resp, len, "Attestation", &root, &body, err);
    if (rc == NSL_OK)
        rc = body_bytes(body, "Attestation", "document", 1, NSL_NSM_RESPONSE_CAP, &bytes, &n, err);
    if (rc == NSL_OK && nsl_buf_append(doc, bytes, n) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory copying an attestation document");
    free(bytes);
    decref(root);
    return rc;
}

nsl_err nsl_nsm_decode_describe_pcr(const uint8_t *resp, size_t len, bool *locked,
                                    uint8_t data[NSL_NSM_MAX_PCR_LEN], size_t *data_len,
                                    struct nsl_error *err)
{
    cbor_item_t *root = NULL, *body = NULL;
    uint8_t *bytes = NULL;
    size_t n = 0;
    *data_len = 0;
    nsl_err rc = response_body(resp, len, "DescribePCR", &root, &body, err);
    if (rc == NSL_OK) {
        bool dup = false;
        cbor_item_t *lock = map_get(body, "lock", &dup);
        /* cbor_is_bool asserts (aborts) on a float: check the width first. */
        bool is_bool = lock && cbor_isa_float_ctrl(lock) &&
                       cbor_float_get_width(lock) == CBOR_FLOAT_0 && cbor_is_bool(lock);
        if (!is_bool)
            rc = malformed(err, "DescribePCR",
                           dup    ? "\"lock\" is present twice"
                           : lock ? "\"lock\" is not a boolean"
                                  : "\"lock\" is missing");
        else
            *locked = cbor_get_bool(lock);
    }
    if (rc == NSL_OK)
        rc = body_bytes(body, "DescribePCR", "data", 32, NSL_NSM_MAX_PCR_LEN, &bytes, &n, err);
    if (rc == NSL_OK) {
        memcpy(data, bytes, n);
        *data_len = n;
    }
    free(bytes);
    decref(root);
    return rc;
}

/* ---- the device ---------------------------------------------------------------------------- */

nsl_err nsl_nsm_open(const char *path, struct nsl_nsm **nsm, struct nsl_error *err)
{
    *nsm = NULL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "NSM device %s cannot be opened: %s", path,
                        strerror(errno));
    struct nsl_nsm *n = calloc(1, sizeof *n);
    if (!n) {
        close(fd);
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory opening the NSM device");
    }
    n->fd = fd;
    snprintf(n->path, sizeof n->path, "%s", path);
    *nsm = n;
    return NSL_OK;
}

void nsl_nsm_close(struct nsl_nsm *nsm)
{
    if (!nsm)
        return;
    close(nsm->fd);
    free(nsm);
}

nsl_err nsl_nsm_call(struct nsl_nsm *nsm, const uint8_t *req, size_t req_len, struct nsl_buf *resp,
                     struct nsl_error *err)
{
    if (req_len == 0 || req_len > NSL_NSM_MAX_REQUEST)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "an NSM request is 1 to %d bytes",
                        NSL_NSM_MAX_REQUEST);
    if (nsl_buf_reserve(resp, NSL_NSM_RESPONSE_CAP) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory for an NSM response");
    struct nsm_raw raw = {
        .request = {(uint64_t)(uintptr_t)req, req_len},
        .response = {(uint64_t)(uintptr_t)(resp->data + resp->len), NSL_NSM_RESPONSE_CAP},
    };
    int rc;
    do
        rc = ioctl(nsm->fd, NSM_IOCTL_RAW, &raw);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "NSM request on %s failed: %s", nsm->path,
                        strerror(errno));
    if (raw.response.len > NSL_NSM_RESPONSE_CAP)
        return nsl_fail(err, NSL_ERR_INTERNAL, "NSM reported a response longer than its buffer");
    resp->len += (size_t)raw.response.len;
    return NSL_OK;
}

nsl_err nsl_nsm_get_random(struct nsl_nsm *nsm, uint8_t *out, size_t len, struct nsl_error *err)
{
    struct nsl_buf req = {0};
    uint8_t chunk[NSL_NSM_MAX_RANDOM];
    nsl_err rc = nsl_nsm_encode_get_random(&req, err);
    for (size_t done = 0; rc == NSL_OK && done < len;) {
        struct nsl_buf resp = {0};
        size_t n = 0;
        rc = nsl_nsm_call(nsm, req.data, req.len, &resp, err);
        if (rc == NSL_OK)
            rc = nsl_nsm_decode_get_random(resp.data, resp.len, chunk, sizeof chunk, &n, err);
        nsl_buf_free_wipe(&resp);
        if (rc == NSL_OK) {
            size_t take = n < len - done ? n : len - done;
            memcpy(out + done, chunk, take);
            done += take;
        }
    }
    nsl_wipe(chunk, sizeof chunk);
    nsl_buf_free(&req);
    if (rc != NSL_OK)
        nsl_wipe(out, len);
    return rc;
}

nsl_err nsl_nsm_attest(struct nsl_nsm *nsm, const uint8_t *user_data, size_t user_data_len,
                       const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key,
                       size_t public_key_len, struct nsl_buf *doc, struct nsl_error *err)
{
    struct nsl_buf req = {0}, resp = {0};
    nsl_err rc = nsl_nsm_encode_attestation(user_data, user_data_len, nonce, nonce_len, public_key,
                                            public_key_len, &req, err);
    if (rc == NSL_OK)
        rc = nsl_nsm_call(nsm, req.data, req.len, &resp, err);
    if (rc == NSL_OK)
        rc = nsl_nsm_decode_attestation(resp.data, resp.len, doc, err);
    nsl_buf_free(&req);
    nsl_buf_free(&resp);
    return rc;
}

nsl_err nsl_nsm_describe_pcr(struct nsl_nsm *nsm, unsigned index, bool *locked,
                             uint8_t data[NSL_NSM_MAX_PCR_LEN], size_t *data_len,
                             struct nsl_error *err)
{
    struct nsl_buf req = {0}, resp = {0};
    nsl_err rc = nsl_nsm_encode_describe_pcr(index, &req, err);
    if (rc == NSL_OK)
        rc = nsl_nsm_call(nsm, req.data, req.len, &resp, err);
    if (rc == NSL_OK)
        rc = nsl_nsm_decode_describe_pcr(resp.data, resp.len, locked, data, data_len, err);
    nsl_buf_free(&req);
    nsl_buf_free(&resp);
    return rc;
}

nsl_err nsl_nsm_seed_drbg(struct nsl_nsm *nsm, struct nsl_error *err)
{
    uint8_t seed[NSL_NSM_MAX_RANDOM];
    nsl_err rc = nsl_nsm_get_random(nsm, seed, sizeof seed, err);
    if (rc == NSL_OK)
        RAND_add(seed, (int)sizeof seed, (double)sizeof seed);
    nsl_wipe(seed, sizeof seed);
    return rc;
}
