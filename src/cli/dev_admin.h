/* The dev stack's first admin account: once `nsl dev up` has a healthy stack and DIR/admin.key
 * does not exist, make a secp256r1 key, call account.bootstrap (public: no credentials) with its
 * public key, and save DIR/admin.key (mode 0600, never overwritten) as
 * {"address", "publicKey", "wif", "accountId"}, the key file `nsl --key` reads. Also the dev
 * stack's own calls to its API, which skip any proxy. */
#ifndef NSL_CLI_DEV_ADMIN_H
#define NSL_CLI_DEV_ADMIN_H

#include <jansson.h>

#include "cli/auth.h"
#include "cli/rpc.h"

#define NSL_CLI_ADMIN_KEY_FILE "admin.key"

enum nsl_cli_admin_key {
    NSL_CLI_ADMIN_KEY_CREATED, /* bootstrapped now and written */
    NSL_CLI_ADMIN_KEY_KEPT,    /* the file was there: left as it is */
    NSL_CLI_ADMIN_KEY_NONE,    /* none (a warning was printed on stderr) */
};

/* api is http://HOST:PORT; params may be NULL ({}). One JSON-RPC call without credentials, no
 * proxy. Returns NSL_OK
 * unless memory ran out; a transport failure is an error object in reply. */
nsl_err nsl_cli_dev_call(const char *api, const char *service, const char *operation,
                         const json_t *params, long timeout_ms, struct nsl_cli_reply *reply);

/* Makes DIR/admin.key unless it exists (see above); account (when CREATED) receives the new
 * admin's id. Warnings go to stderr; nothing here stops the stack. */
enum nsl_cli_admin_key nsl_cli_dev_admin_ensure(const char *dir, const char *api,
                                                char account[NSL_CLI_ACCOUNT_SIZE]);

#endif
