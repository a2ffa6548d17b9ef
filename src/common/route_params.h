/* Parameter schemas of the operations in routes.def, one array per row, named
 * params_<service>_<operation>. Included only by routes.c. */
#ifndef NSL_COMMON_ROUTE_PARAMS_H
#define NSL_COMMON_ROUTE_PARAMS_H

#include "common/json.h"

static const struct nsl_field_spec params_system_health[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_system_info[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_system_metrics[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_system_setLogLevel[] = {
    {"component", NSL_FIELD_STRING, false, 16, 0, 0,
     "main, server, router, auth, service, store, hostchan, sandbox, http, pool, egress "
     "(default: all)"},
    {"level", NSL_FIELD_STRING, true, 8, 0, 0, "debug, info, warn or error"},
    NSL_FIELDS_END,
};

static const struct nsl_field_spec params_attestation_getDocument[] = {
    {"nonce", NSL_FIELD_HEX, true, 512, 0, 0, "the caller's fresh nonce, echoed in the document"},
    {"userData", NSL_FIELD_HEX, false, 256, 0, 0, "bound into the document's user_data hash"},
    NSL_FIELDS_END,
};

#define NSL_ACCOUNT_ID_LEN 47

static const struct nsl_field_spec params_account_bootstrap[] = {
    {"publicKey", NSL_FIELD_HEX, true, 33, 0, 0, "the admin's secp256r1 public key (compressed)"},
    {"name", NSL_FIELD_STRING, false, 64, 0, 0, "a label for the account"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_create[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "a label for the account"},
    {"roles", NSL_FIELD_ARRAY, false, 8, 0, 0, "admin, operator, user (default [user])"},
    {"publicKey", NSL_FIELD_HEX, false, 33, 0, 0, "secp256r1 key for neo-sig requests"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_get[] = {
    {"accountId", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "default: your own"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_list[] = {
    {"after", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "the last id of the page before"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "page size (default 100)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_update[] = {
    {"accountId", NSL_FIELD_STRING, true, NSL_ACCOUNT_ID_LEN, 0, 0, "the account to change"},
    {"roles", NSL_FIELD_ARRAY, false, 8, 0, 0, "replaces the roles"},
    {"permissions", NSL_FIELD_ARRAY, false, 64, 0, 0, "replaces the extra permissions"},
    {"disabled", NSL_FIELD_BOOL, false, 0, 0, 0, "a disabled account cannot authenticate"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_delete[] = {
    {"accountId", NSL_FIELD_STRING, true, NSL_ACCOUNT_ID_LEN, 0, 0, "the account to delete"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_createApiKey[] = {
    {"accountId", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "default: your own"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_revokeApiKey[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_ACCOUNT_ID_LEN, 0, 0, "the key to revoke"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_account_whoami[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_account_auditLog[] = {
    {"since", NSL_FIELD_INT, false, 0, 0, (int64_t)1 << 53, "first sequence number (default 1)"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "entries to return (default 100)"},
    NSL_FIELDS_END,
};

#define NSL_KEY_ID_LEN 32

static const struct nsl_field_spec params_wallet_create[] = {
    {"label", NSL_FIELD_STRING, false, 64, 0, 0, "a name for the key"},
    {"exportable", NSL_FIELD_BOOL, false, 0, 0, 0, "allow NEP-2 export later (default false)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_list[] = {
    {"after", NSL_FIELD_STRING, false, NSL_KEY_ID_LEN, 0, 0, "the last keyId of the page before"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "page size (default 100)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_get[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_KEY_ID_LEN, 0, 0, "the key"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_signMessage[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_KEY_ID_LEN, 0, 0, "the key"},
    {"message", NSL_FIELD_HEX, true, 65536, 0, 0, "the bytes to sign"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_signTransaction[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_KEY_ID_LEN, 0, 0, "the key"},
    {"transaction", NSL_FIELD_HEX, true, 102400, 0, 0, "unsigned or partly signed transaction"},
    {"network", NSL_FIELD_INT, true, 0, 0, 4294967295LL, "network magic (MainNet 860833102)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_verify[] = {
    {"publicKey", NSL_FIELD_HEX, true, 33, 0, 0, "compressed secp256r1 public key"},
    {"message", NSL_FIELD_HEX, true, 65536, 0, 0, "the signed bytes"},
    {"signature", NSL_FIELD_HEX, true, 64, 0, 0, "r || s"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_import[] = {
    {"wif", NSL_FIELD_STRING, false, 64, 0, 0, "the key as WIF"},
    {"nep2", NSL_FIELD_STRING, false, 64, 0, 0, "the key as NEP-2 (needs passphrase)"},
    {"passphrase", NSL_FIELD_STRING, false, 1024, 0, 0, "the NEP-2 passphrase"},
    {"label", NSL_FIELD_STRING, false, 64, 0, 0, "a name for the key"},
    {"exportable", NSL_FIELD_BOOL, false, 0, 0, 0, "allow NEP-2 export later (default false)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_export[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_KEY_ID_LEN, 0, 0, "the key"},
    {"passphrase", NSL_FIELD_STRING, true, 1024, 0, 0, "protects the NEP-2 string"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_delete[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_KEY_ID_LEN, 0, 0, "the key"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_wallet_setPolicy[] = {
    {"keyId", NSL_FIELD_STRING, true, NSL_KEY_ID_LEN, 0, 0, "the key"},
    {"maxFee", NSL_FIELD_DIGITS, false, 19, 0, 0, "largest systemFee + networkFee, datoshi"},
    {"allowedContracts", NSL_FIELD_ARRAY, false, 64, 0, 0, "0x script hashes a tx may call"},
    {"allowedNetworks", NSL_FIELD_ARRAY, false, 16, 0, 0, "network magics a tx may be for"},
    NSL_FIELDS_END,
};

#define NSL_SECRET_NAME_LEN  128
#define NSL_SECRET_VALUE_MAX 65536

static const struct nsl_field_spec params_secrets_put[] = {
    {"name", NSL_FIELD_STRING, true, NSL_SECRET_NAME_LEN, 0, 0, "[A-Za-z0-9_.-/]{1,128}"},
    {"value", NSL_FIELD_STRING, true, NSL_SECRET_VALUE_MAX, 0, 0, "the secret (up to 64 KiB)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_secrets_get[] = {
    {"name", NSL_FIELD_STRING, true, NSL_SECRET_NAME_LEN, 0, 0, "the secret"},
    {"version", NSL_FIELD_INT, false, 0, 1, 1LL << 40, "default: the latest"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_secrets_list[] = {
    {"after", NSL_FIELD_STRING, false, NSL_SECRET_NAME_LEN, 0, 0,
     "the last name of the page before"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "page size (default 100)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_secrets_versions[] = {
    {"name", NSL_FIELD_STRING, true, NSL_SECRET_NAME_LEN, 0, 0, "the secret"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_secrets_delete[] = {
    {"name", NSL_FIELD_STRING, true, NSL_SECRET_NAME_LEN, 0, 0, "the secret"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_secrets_destroy[] = {
    {"name", NSL_FIELD_STRING, true, NSL_SECRET_NAME_LEN, 0, 0, "the secret"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_secrets_grant[] = {
    {"name", NSL_FIELD_STRING, true, NSL_SECRET_NAME_LEN, 0, 0, "the secret"},
    {"function", NSL_FIELD_STRING, true, 64, 0, 0, "one of your functions"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_secrets_revoke[] = {
    {"name", NSL_FIELD_STRING, true, NSL_SECRET_NAME_LEN, 0, 0, "the secret"},
    {"function", NSL_FIELD_STRING, true, 64, 0, 0, "the function losing access"},
    NSL_FIELDS_END,
};

static const struct nsl_field_spec params_function_deploy[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "[A-Za-z0-9_.-]{1,64}"},
    {"source", NSL_FIELD_STRING, true, 256 << 10, 0, 0, "JavaScript defining main(args)"},
    {"secrets", NSL_FIELD_ARRAY, false, 32, 0, 0,
     "secret names it may read (each must be granted)"},
    {"limits", NSL_FIELD_OBJECT, false, 5, 0, 0,
     "timeMs (1000, max 10000), memoryBytes (16 MiB, max 128 MiB), resultBytes, logBytes (64 "
     "KiB), httpRequests (5)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_function_get[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "the function"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_function_list[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_function_delete[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "the function"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_function_invoke[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "the function"},
    {"args", NSL_FIELD_ANY, false, 0, 0, 0, "passed to main(args)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_function_schedule[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "the function"},
    {"intervalSec", NSL_FIELD_INT, true, 0, 1, 86400 * 30, "seconds between runs"},
    {"args", NSL_FIELD_ANY, false, 0, 0, 0, "passed to main(args)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_function_unschedule[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "the function"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_function_runs[] = {
    {"name", NSL_FIELD_STRING, true, 64, 0, 0, "the function"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 100, "runs to return (default 20)"},
    NSL_FIELDS_END,
};

#define NSL_AMOUNT_DIGITS 19 /* datoshi as digits; the gas bank caps amounts at 2^62 */

static const struct nsl_field_spec params_gasbank_bankAddress[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_gasbank_deposit[] = {
    {"accountId", NSL_FIELD_STRING, true, NSL_ACCOUNT_ID_LEN, 0, 0, "the account to credit"},
    {"amount", NSL_FIELD_DIGITS, true, NSL_AMOUNT_DIGITS, 0, 0, "datoshi (10^-8 GAS), > 0"},
    {"txHash", NSL_FIELD_STRING, true, 66, 0, 0, "the on-chain deposit's hash (idempotency key)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_balance[] = {
    {"accountId", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "default: your own"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_reserve[] = {
    {"amount", NSL_FIELD_DIGITS, true, NSL_AMOUNT_DIGITS, 0, 0, "datoshi to hold, > 0"},
    {"reference", NSL_FIELD_STRING, true, 128, 0, 0, "what the reservation is for"},
    {"ttlSec", NSL_FIELD_INT, false, 0, 1, 86400, "seconds until released (default 300)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_settle[] = {
    {"reservationId", NSL_FIELD_STRING, true, 32, 0, 0, "from reserve"},
    {"amount", NSL_FIELD_DIGITS, true, NSL_AMOUNT_DIGITS, 0, 0, "datoshi to charge (<= held)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_release[] = {
    {"reservationId", NSL_FIELD_STRING, true, 32, 0, 0, "from reserve"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_withdraw[] = {
    {"amount", NSL_FIELD_DIGITS, true, NSL_AMOUNT_DIGITS, 0, 0, "datoshi to send, > 0"},
    {"toAddress", NSL_FIELD_STRING, true, 34, 0, 0, "Neo N3 address receiving the GAS"},
    {"network", NSL_FIELD_INT, true, 0, 0, 4294967295LL, "network magic (MainNet 860833102)"},
    {"idempotencyKey", NSL_FIELD_STRING, true, 64, 0, 0, "[A-Za-z0-9_.-]: same key, same tx"},
    {"validUntilBlock", NSL_FIELD_INT, false, 0, 1, 4294967295LL,
     "last block the tx is valid for (default 5760: give height + up to 5760)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_sponsorTransaction[] = {
    {"transaction", NSL_FIELD_HEX, true, 102400, 0, 0, "first signer: the bank, scope None"},
    {"network", NSL_FIELD_INT, true, 0, 0, 4294967295LL, "network magic (MainNet 860833102)"},
    {"maxFee", NSL_FIELD_DIGITS, false, NSL_AMOUNT_DIGITS, 0, 0,
     "refuse when systemFee + networkFee is above (datoshi)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_history[] = {
    {"accountId", NSL_FIELD_STRING, false, NSL_ACCOUNT_ID_LEN, 0, 0, "default: your own"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "page size (default 50)"},
    {"cursor", NSL_FIELD_DIGITS, false, NSL_AMOUNT_DIGITS, 0, 0, "from the page before"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_gasbank_audit[] = {NSL_FIELDS_END};

#define NSL_PRICE_PAIR_LEN 21 /* BASE/QUOTE, each [A-Z0-9]{1,10} */

static const struct nsl_field_spec params_pricefeed_configure[] = {
    {"pair", NSL_FIELD_STRING, true, NSL_PRICE_PAIR_LEN, 0, 0, "BASE/QUOTE, e.g. NEO/USD"},
    {"decimals", NSL_FIELD_INT, false, 0, 0, 18, "price scale (default 8)"},
    {"sources", NSL_FIELD_ARRAY, true, 16, 0, 0,
     "{preset: binance|coinbase|kraken|okx|coingecko, url?, name?} or {name, url, path, "
     "timestampPath?, timestampUnit?}"},
    {"minSources", NSL_FIELD_INT, false, 0, 1, 16, "agreeing sources a round needs (default 3)"},
    {"maxDeviationBps", NSL_FIELD_INT, false, 0, 1, 10000,
     "answers further from the median are dropped (default 300)"},
    {"maxAgeSec", NSL_FIELD_INT, false, 0, 1, 86400, "older answers are dropped (default 60)"},
    {"deviationThresholdBps", NSL_FIELD_INT, false, 0, 0, 10000,
     "publish when the price moved this much (default 50)"},
    {"heartbeatSec", NSL_FIELD_INT, false, 0, 1, 604800,
     "publish at least this often (default 3600)"},
    {"updateIntervalSec", NSL_FIELD_INT, false, 0, 1, 86400,
     "seconds between scheduled updates (default 30)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_pricefeed_update[] = {
    {"pair", NSL_FIELD_STRING, true, NSL_PRICE_PAIR_LEN, 0, 0, "a configured pair"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_pricefeed_get[] = {
    {"pair", NSL_FIELD_STRING, true, NSL_PRICE_PAIR_LEN, 0, 0, "a configured pair"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_pricefeed_history[] = {
    {"pair", NSL_FIELD_STRING, true, NSL_PRICE_PAIR_LEN, 0, 0, "a configured pair"},
    {"limit", NSL_FIELD_INT, false, 0, 1, 1000, "rounds to return (default 20)"},
    NSL_FIELDS_END,
};
static const struct nsl_field_spec params_pricefeed_pairs[] = {NSL_FIELDS_END};
static const struct nsl_field_spec params_pricefeed_signerKey[] = {NSL_FIELDS_END};

#endif
