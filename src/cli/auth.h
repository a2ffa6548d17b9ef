/* Credentials for one nsl request (ARCHITECTURE §5, docs/cli.md): the Authorization header
 * value for an API key (NSL-APIKEY) or for a neo-sig signed request (NSL-SIG). The signing key
 * comes from a NEP-6 wallet (its NEP-2 key decrypted with a passphrase from a file or the
 * environment; nsl never prompts) or from the key file `nsl dev up` writes. The private key
 * lives only in a struct nsl_secret and is never printed. */
#ifndef NSL_CLI_AUTH_H
#define NSL_CLI_AUTH_H

#include <jansson.h>
#include <stdint.h>

#include "common/errors.h"
#include "crypto/secret.h"

/* Largest account id the enclave takes (auth.account), with its NUL. */
#define NSL_CLI_ACCOUNT_SIZE 48
/* Largest key or passphrase file read. */
#define NSL_CLI_MAX_KEY_FILE (1u << 20)

/* Where the signing key and the account id come from; NULL (or an empty environment value)
 * means not given. */
struct nsl_cli_key_source {
    const char *path;            /* --key FILE */
    const char *passphrase_file; /* --passphrase-file FILE (wins over the environment) */
    const char *passphrase;      /* NSL_KEY_PASSPHRASE */
    const char *account;         /* --account ID (wins over everything) */
    const char *env_account;     /* NSL_ACCOUNT (used when the file names no accountId) */
};

struct nsl_cli_signer {
    struct nsl_secret *key; /* the secp256r1 private key */
    char account[NSL_CLI_ACCOUNT_SIZE];
};

/* Loads the key and settles the account id. Failures are INVALID_REQUEST (unreadable or
 * malformed file, no passphrase, no account id), UNAUTHENTICATED (wrong passphrase) or
 * INTERNAL; messages name the file but never its secret contents. */
nsl_err nsl_cli_signer_load(const struct nsl_cli_key_source *src, struct nsl_cli_signer *signer,
                            struct nsl_error *err);
void nsl_cli_signer_free(struct nsl_cli_signer *signer);

/* "NSL-SIG account=…,ts=…,nonce=…,sig=…" (malloc'd) for one request made at unix time now:
 * a fresh 16-byte hex nonce and the 64-byte r||s signature, in hex, of the canonical string
 * (crypto/request_sig.h) over params exactly as sent. */
nsl_err nsl_cli_signer_authorization(const struct nsl_cli_signer *signer, const char *service,
                                     const char *operation, const json_t *params, int64_t now,
                                     char **value, struct nsl_error *err);

/* The NSL-SIG header value from its parts (malloc'd), or NULL when memory runs out. */
char *nsl_cli_sig_header(const char *account, const char *timestamp, const char *nonce,
                         const char *sig_hex);
/* "NSL-APIKEY <key>" (malloc'd), or NULL. */
char *nsl_cli_apikey_header(const char *api_key);
/* Wipes and frees a header value that may hold a credential. */
void nsl_cli_header_free(char *value);

/* True when id can stand in the NSL-SIG header: 1..47 printable ASCII characters other than
 * space, ',' and '='. */
bool nsl_cli_account_id_valid(const char *id);

#endif
