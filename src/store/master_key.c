/* Master key, sim provider (see master_key.h). The wrap reuses the blob sealer's format with the
 * wrapping key as "master" and a fixed namespace, so there is one AES-GCM code path. */
#define NSL_LOG_COMPONENT NSL_LOGC_STORE
#include "store/master_key.h"

#include <jansson.h>
#include <stdlib.h>

#include "common/encoding.h"
#include "common/json.h"
#include "common/log.h"
#include "crypto/seal.h"

#define WRAP_NS  "nsl-master-sim-1"
#define WRAP_KEY "master-key"

nsl_err nsl_master_key_wrap(const struct nsl_secret *wrapping, const struct nsl_secret *master,
                            struct nsl_buf *out, struct nsl_error *err)
{
    struct nsl_sealer *sealer = nsl_sealer_new(wrapping);
    if (!sealer)
        return nsl_fail(err, NSL_ERR_INTERNAL, "wrapping key must be 32 bytes");
    nsl_err rc = nsl_seal(sealer, WRAP_NS, WRAP_KEY, 1, nsl_secret_bytes(master),
                          nsl_secret_len(master), out, err);
    nsl_sealer_free(sealer);
    return rc;
}

nsl_err nsl_master_key_unwrap(const struct nsl_secret *wrapping, const void *blob, size_t len,
                              struct nsl_secret **master, struct nsl_error *err)
{
    struct nsl_sealer *sealer = nsl_sealer_new(wrapping);
    if (!sealer)
        return nsl_fail(err, NSL_ERR_INTERNAL, "wrapping key must be 32 bytes");
    nsl_err rc = nsl_unseal(sealer, WRAP_NS, WRAP_KEY, 1, blob, len, master, err);
    nsl_sealer_free(sealer);
    if (rc == NSL_OK && nsl_secret_len(*master) != 32) {
        nsl_secret_free(*master);
        *master = NULL;
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "the stored master key has the wrong size");
    }
    return rc;
}

/* Decodes base64 held in a JSON string into a secret. */
static nsl_err decode_secret(const json_t *b64, struct nsl_secret **out, struct nsl_error *err)
{
    if (!json_is_string(b64))
        return nsl_fail(err, NSL_ERR_INTERNAL, "host channel sent a malformed key");
    size_t cap = nsl_base64_decoded_max(json_string_length(b64)), len;
    struct nsl_secret *s = nsl_secret_new(cap);
    if (!s)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (nsl_base64_decode(json_string_value(b64), json_string_length(b64), nsl_secret_bytes(s), cap,
                          &len) != 0) {
        nsl_secret_free(s);
        return nsl_fail(err, NSL_ERR_INTERNAL, "host channel sent a malformed key");
    }
    *out = nsl_secret_from(nsl_secret_bytes(s), len);
    nsl_secret_free(s);
    return *out ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static nsl_err fetch_wrapping_key(struct nsl_hostchan *hc, int timeout_ms, struct nsl_secret **key,
                                  struct nsl_error *err)
{
    json_t *result = NULL;
    NSL_TRY(nsl_hostchan_call(hc, "keys", "simWrappingKey", NULL, timeout_ms, &result, err));
    nsl_err rc = decode_secret(json_object_get(result, "key"), key, err);
    json_decref(result);
    if (rc == NSL_OK && nsl_secret_len(*key) != 32) {
        nsl_secret_free(*key);
        *key = NULL;
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "the sim wrapping key must be 32 bytes");
    }
    return rc;
}

/* One attempt: read the wrapped key, or create it. NSL_ERR_CONFLICT means another enclave won the
 * race; the caller reads again. */
static nsl_err load_or_create(struct nsl_hostchan *hc, int timeout_ms,
                              const struct nsl_secret *wrapping, struct nsl_secret **master,
                              struct nsl_error *err)
{
    json_t *result = NULL;
    json_t *query = json_pack("{s:s, s:s}", "ns", "system", "key", WRAP_KEY);
    nsl_err rc = nsl_hostchan_call(hc, "kv", "get", query, timeout_ms, &result, err);
    json_decref(query);
    NSL_TRY(rc);
    if (json_is_true(json_object_get(result, "found"))) {
        struct nsl_secret *blob = NULL;
        rc = decode_secret(json_object_get(result, "value"), &blob, err);
        if (rc == NSL_OK)
            rc = nsl_master_key_unwrap(wrapping, nsl_secret_bytes(blob), nsl_secret_len(blob),
                                       master, err);
        nsl_secret_free(blob);
        json_decref(result);
        return rc;
    }
    json_int_t version = json_integer_value(json_object_get(result, "version"));
    json_decref(result);
    NSL_AUTO_SECRET struct nsl_secret *fresh = nsl_secret_random(32);
    struct nsl_buf wrapped = {0};
    if (!fresh)
        return nsl_fail(err, NSL_ERR_INTERNAL, "no randomness for the master key");
    NSL_TRY(nsl_master_key_wrap(wrapping, fresh, &wrapped, err));
    char *b64 = nsl_base64_encode_alloc(wrapped.data, wrapped.len);
    nsl_buf_free(&wrapped);
    json_t *params = json_pack("{s:s, s:s, s:I, s:s}", "ns", "system", "key", WRAP_KEY,
                               "expectedVersion", version, "value", b64 ? b64 : "");
    free(b64);
    rc = nsl_hostchan_call(hc, "kv", "put", params, timeout_ms, &result, err);
    json_decref(params);
    json_decref(result);
    if (rc == NSL_OK) {
        *master = fresh;
        fresh = NULL;
        nsl_log(NSL_LOG_INFO, "master_key_created", "provider", "sim", NULL);
    }
    return rc;
}

nsl_err nsl_master_key_load_sim(struct nsl_hostchan *hc, int timeout_ms, struct nsl_secret **master,
                                struct nsl_error *err)
{
    NSL_AUTO_SECRET struct nsl_secret *wrapping = NULL;
    NSL_TRY(fetch_wrapping_key(hc, timeout_ms, &wrapping, err));
    nsl_err rc = NSL_ERR_CONFLICT;
    for (int attempt = 0; attempt < 3 && rc == NSL_ERR_CONFLICT; attempt++)
        rc = load_or_create(hc, timeout_ms, wrapping, master, err);
    return rc;
}
