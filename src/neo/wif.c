/* WIF codec (see wif.h). Every buffer that held key bytes is wiped. */
#include "neo/wif.h"

#include <string.h>

#include "neo/base58.h"
#include "neo/key.h"

nsl_err nsl_neo_wif_encode(const struct nsl_secret *key, struct nsl_secret **wif,
                           struct nsl_error *err)
{
    NSL_TRY(nsl_neo_key_check(key, err));
    uint8_t payload[34];
    payload[0] = 0x80;
    memcpy(payload + 1, nsl_secret_bytes(key), 32);
    payload[33] = 0x01;
    struct nsl_secret *text = nsl_secret_new(NSL_NEO_WIF_LEN + 1);
    int ok =
        text && nsl_neo_base58check_encode(payload, sizeof payload, (char *)nsl_secret_bytes(text),
                                           NSL_NEO_WIF_LEN + 1) == 0;
    nsl_wipe(payload, sizeof payload);
    if (!ok) {
        nsl_secret_free(text);
        return nsl_fail(err, NSL_ERR_INTERNAL, "WIF encoding failed");
    }
    *wif = text;
    return NSL_OK;
}

nsl_err nsl_neo_wif_decode(const char *wif, struct nsl_secret **key, struct nsl_error *err)
{
    uint8_t payload[NSL_NEO_BASE58_MAX_PAYLOAD];
    size_t n = 0;
    nsl_err rc = NSL_OK;
    if (strlen(wif) != NSL_NEO_WIF_LEN ||
        nsl_neo_base58check_decode(wif, payload, sizeof payload, &n) != 0)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS, "WIF is not 52 characters of valid Base58Check");
    else if (n != 34 || payload[0] != 0x80 || payload[33] != 0x01)
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                      "WIF is not a compressed-key WIF (0x80 ... 0x01)");
    struct nsl_secret *k = NULL;
    if (rc == NSL_OK && !(k = nsl_secret_from(payload + 1, 32)))
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_wipe(payload, sizeof payload);
    if (rc == NSL_OK && (rc = nsl_neo_key_check(k, err)) != NSL_OK) {
        nsl_secret_free(k);
        return rc;
    }
    if (rc == NSL_OK)
        *key = k;
    return rc;
}
