/* Offline receipt verification (see receipt_cmd.h). */
#include "cli/receipt_cmd.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/encoding.h"
#include "common/jcs.h"
#include "common/json.h"
#include "neo/key.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const struct nsl_field_spec receipt_schema[] = {
    {"functionName", NSL_FIELD_STRING, true, 64, 0, 0, NULL},
    {"version", NSL_FIELD_INT, true, 0, 1, INT64_MAX, NULL},
    {"codeHash", NSL_FIELD_HEX, true, 32, 0, 0, NULL},
    {"argsHash", NSL_FIELD_HEX, true, 32, 0, 0, NULL},
    {"resultHash", NSL_FIELD_HEX, true, 32, 0, 0, NULL},
    {"timestamp", NSL_FIELD_INT, true, 0, 0, INT64_MAX, NULL},
    {"signerPublicKey", NSL_FIELD_HEX, true, NSL_NEO_PUBKEY_LEN, 0, 0, NULL},
    {"signature", NSL_FIELD_HEX, true, NSL_NEO_SIG_LEN, 0, 0, NULL},
    NSL_FIELDS_END,
};

bool nsl_cli_receipt_is_command(int argc, char **argv)
{
    return argc >= 3 && strcmp(argv[1], "function") == 0 && strcmp(argv[2], "verify-receipt") == 0;
}

static int fail(int status, const char *code, const char *msg)
{
    fprintf(stderr, "error: %s: %s\n", code, msg);
    return status;
}

static json_t *load(const char *path, struct nsl_error *err)
{
    json_error_t jerr;
    json_t *v = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                       : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!v || nsl_json_check(v, receipt_schema, NSL_ERR_INVALID_PARAMS, "receipt", err) != NSL_OK) {
        if (!v)
            nsl_fail(err, NSL_ERR_INVALID_PARAMS, "cannot read a receipt from %s", path);
        json_decref(v);
        return NULL;
    }
    return v;
}

/* 0 when the receipt's signature verifies with its own signerPublicKey. */
static int signature_ok(json_t *receipt, uint8_t pub[NSL_NEO_PUBKEY_LEN])
{
    const char *sig_hex = nsl_json_str(receipt, "signature");
    const char *pub_hex = nsl_json_str(receipt, "signerPublicKey");
    uint8_t sig[NSL_NEO_SIG_LEN];
    size_t n1 = 0, n2 = 0, len = 0;
    if (nsl_hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig, &n1) != 0 ||
        nsl_hex_decode(pub_hex, strlen(pub_hex), pub, NSL_NEO_PUBKEY_LEN, &n2) != 0)
        return -1;
    json_t *unsigned_receipt = json_deep_copy(receipt);
    json_object_del(unsigned_receipt, "signature");
    char *text = nsl_jcs_serialize(unsigned_receipt, &len);
    json_decref(unsigned_receipt);
    int rc = text ? nsl_neo_pubkey_verify(pub, n2, text, len, sig, n1) : -1;
    free(text);
    return rc;
}

int nsl_cli_receipt_main(int argc, char **argv)
{
    const char *file = NULL, *signer = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--signer") == 0 && i + 1 < argc)
            signer = argv[++i];
        else if (strcmp(argv[i], "--help") == 0) {
            printf("Usage: nsl function verify-receipt [--signer HEX] FILE|-\n");
            return EXIT_OK;
        } else if (!file && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            file = argv[i];
        else
            return fail(EXIT_USAGE, "INVALID_REQUEST",
                        "usage: nsl function verify-receipt "
                        "[--signer HEX] FILE|-");
    }
    if (!file)
        return fail(EXIT_USAGE, "INVALID_REQUEST", "a receipt FILE (or - for stdin) is required");
    struct nsl_error err = {0};
    json_t *receipt = load(file, &err);
    if (!receipt)
        return fail(EXIT_FAILED, nsl_err_name(err.code), err.message);
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    int status = EXIT_OK;
    if (signature_ok(receipt, pub) != 0)
        status = fail(EXIT_FAILED, "UNAUTHENTICATED", "the receipt's signature does not verify");
    else if (signer && strcasecmp(signer, nsl_json_str(receipt, "signerPublicKey")) != 0)
        status = fail(EXIT_FAILED, "UNAUTHENTICATED",
                      "the receipt is signed by another key than --signer");
    else
        printf("receipt valid: %s version %lld, signed by %s\n",
               nsl_json_str(receipt, "functionName"),
               (long long)nsl_json_int(receipt, "version", 0),
               nsl_json_str(receipt, "signerPublicKey"));
    json_decref(receipt);
    return status;
}
