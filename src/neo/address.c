/* Address encoding (see address.h). */
#include "neo/address.h"

#include <string.h>

#include "neo/base58.h"

int nsl_neo_address_from_hash(const uint8_t hash[NSL_NEO_HASH160_LEN],
                              char out[NSL_NEO_ADDRESS_SIZE])
{
    uint8_t payload[1 + NSL_NEO_HASH160_LEN] = {NSL_NEO_ADDRESS_VERSION};
    memcpy(payload + 1, hash, NSL_NEO_HASH160_LEN);
    return nsl_neo_base58check_encode(payload, sizeof payload, out, NSL_NEO_ADDRESS_SIZE);
}

nsl_err nsl_neo_address_to_hash(const char *address, uint8_t hash[NSL_NEO_HASH160_LEN],
                                struct nsl_error *err)
{
    uint8_t payload[NSL_NEO_BASE58_MAX_PAYLOAD];
    size_t n = 0;
    if (strlen(address) >= 64 ||
        nsl_neo_base58check_decode(address, payload, sizeof payload, &n) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "address is not valid Base58Check (bad character or checksum)");
    if (n != 1 + NSL_NEO_HASH160_LEN)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "address has the wrong length");
    if (payload[0] != NSL_NEO_ADDRESS_VERSION)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "address version 0x%02x is not Neo N3's 0x35",
                        payload[0]);
    memcpy(hash, payload + 1, NSL_NEO_HASH160_LEN);
    return NSL_OK;
}
