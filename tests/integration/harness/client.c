/* Test client over raw frames (see client.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "crypto/request_sig.h"
#include "harness/harness.h"
#include "neo/key.h"

json_t *nsl_client_envelope(struct nsl_client *c, const char *service, const char *operation,
                            const char *params)
{
    char id[32];
    snprintf(id, sizeof id, "r%d", ++c->seq);
    json_t *p = json_loads(params ? params : "{}", 0, NULL);
    assert_non_null(p);
    return json_pack("{s:s, s:s, s:s, s:o}", "id", id, "serviceType", service, "operation",
                     operation, "params", p);
}

json_t *nsl_client_send(struct nsl_client *c, json_t *request)
{
    char *text = json_dumps(request, JSON_COMPACT), *reply = NULL;
    json_decref(request);
    assert_int_equal(nsl_test_roundtrip(c->fd, text, &reply), 0);
    free(text);
    json_t *r = json_loads(reply, 0, NULL);
    free(reply);
    assert_non_null(r);
    return r;
}

json_t *nsl_client_apikey(struct nsl_client *c, const char *api_key, const char *service,
                          const char *operation, const char *params)
{
    json_t *req = nsl_client_envelope(c, service, operation, params);
    json_object_set_new(req, "auth",
                        json_pack("{s:s, s:s}", "scheme", "apikey", "apiKey", api_key));
    return nsl_client_send(c, req);
}

json_t *nsl_client_signed_request(struct nsl_client *c, const struct nsl_signing *s,
                                  const char *service, const char *operation, const char *params)
{
    json_t *req = nsl_client_envelope(c, service, operation, params);
    char ts[24], nonce[40], sig_hex[129];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL) + s->skew);
    if (s->nonce)
        snprintf(nonce, sizeof nonce, "%s", s->nonce);
    else
        snprintf(nonce, sizeof nonce, "n%08d%08x", c->seq, (unsigned)rand());
    json_t *signed_params = s->sign_params ? json_loads(s->sign_params, 0, NULL)
                                           : json_incref(json_object_get(req, "params"));
    char *message = nsl_request_canonical_string(
        service, s->sign_operation ? s->sign_operation : operation, signed_params, ts, nonce);
    json_decref(signed_params);
    uint8_t sig[NSL_NEO_SIG_LEN];
    assert_non_null(message);
    assert_int_equal(nsl_neo_key_sign(s->key, message, strlen(message), sig, NULL), NSL_OK);
    free(message);
    nsl_hex_encode(sig, sizeof sig, sig_hex);
    json_object_set_new(req, "auth",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "scheme", "neo-sig", "account",
                                  s->account, "timestamp", ts, "nonce", nonce, "signature",
                                  sig_hex));
    return req;
}

json_t *nsl_client_signed(struct nsl_client *c, const struct nsl_signing *s, const char *service,
                          const char *operation, const char *params)
{
    return nsl_client_send(c, nsl_client_signed_request(c, s, service, operation, params));
}

json_t *nsl_client_result(json_t *reply)
{
    if (!json_is_true(json_object_get(reply, "ok"))) {
        char *text = json_dumps(reply, JSON_COMPACT);
        fail_msg("expected success, got %s", text);
    }
    return json_object_get(reply, "result");
}

void nsl_client_expect_error(json_t *reply, const char *code)
{
    const char *got = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
    if (!got || strcmp(got, code) != 0) {
        char *text = json_dumps(reply, JSON_COMPACT);
        fail_msg("expected %s, got %s", code, text);
    }
    json_decref(reply);
}

void nsl_client_copy_string(json_t *reply, const char *name, char *out, size_t len)
{
    const char *v = json_string_value(json_object_get(nsl_client_result(reply), name));
    assert_non_null(v);
    snprintf(out, len, "%s", v);
}

void nsl_client_bootstrap(struct nsl_client *c, struct nsl_secret **key, char *account, size_t len)
{
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[2 * NSL_NEO_PUBKEY_LEN + 1], params[128];
    assert_int_equal(nsl_neo_key_generate(key, NULL), NSL_OK);
    assert_int_equal(nsl_neo_key_public(*key, pub, NULL), NSL_OK);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    json_t *reply = nsl_client_send(c, nsl_client_envelope(c, "account", "bootstrap", params));
    nsl_client_copy_string(reply, "accountId", account, len);
    json_decref(reply);
}

void nsl_client_create_user(struct nsl_client *c, const struct nsl_signing *admin, const char *name,
                            char *api_key, size_t len)
{
    json_t *params = json_pack("{s:s}", "name", name);
    char *text = json_dumps(params, JSON_COMPACT);
    json_t *reply = nsl_client_signed(c, admin, "account", "create", text);
    nsl_client_copy_string(reply, "apiKey", api_key, len);
    json_decref(reply);
    free(text);
    json_decref(params);
}
