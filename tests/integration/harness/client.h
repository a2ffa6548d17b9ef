/* A test client for the enclave's raw-frame protocol: envelopes, apikey and neo-sig requests,
 * and cmocka assertions on replies. Used by the integration tests of every service. */
#ifndef NSL_TEST_CLIENT_H
#define NSL_TEST_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "crypto/secret.h"

struct nsl_client {
    int fd;
    int seq;
};

/* An envelope {id, serviceType, operation, params} with params parsed from JSON text. */
json_t *nsl_client_envelope(struct nsl_client *c, const char *service, const char *operation,
                            const char *params);
/* Sends request (taking it) and returns the parsed reply. */
json_t *nsl_client_send(struct nsl_client *c, json_t *request);
json_t *nsl_client_apikey(struct nsl_client *c, const char *api_key, const char *service,
                          const char *operation, const char *params);

struct nsl_signing {
    const struct nsl_secret *key;
    const char *account;
    long long skew;             /* seconds added to the timestamp */
    const char *nonce;          /* NULL: a fresh one */
    const char *sign_params;    /* sign these params instead of the ones sent */
    const char *sign_operation; /* sign this operation instead */
};

json_t *nsl_client_signed_request(struct nsl_client *c, const struct nsl_signing *s,
                                  const char *service, const char *operation, const char *params);
json_t *nsl_client_signed(struct nsl_client *c, const struct nsl_signing *s, const char *service,
                          const char *operation, const char *params);

/* account.bootstrap with a fresh secp256r1 key: *key gets the admin's private key (free it) and
 * account its id. */
void nsl_client_bootstrap(struct nsl_client *c, struct nsl_secret **key, char *account, size_t len);
/* account.create {name} signed by admin: api_key gets the new account's API key. */
void nsl_client_create_user(struct nsl_client *c, const struct nsl_signing *admin, const char *name,
                            char *api_key, size_t len);

/* Fails the test unless reply is ok; returns its result (owned by reply). */
json_t *nsl_client_result(json_t *reply);
/* Fails the test unless reply is an error with code; frees reply. */
void nsl_client_expect_error(json_t *reply, const char *code);
/* The result's string member name, copied into out. */
void nsl_client_copy_string(json_t *reply, const char *name, char *out, size_t len);

#endif
