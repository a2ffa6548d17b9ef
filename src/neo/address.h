/* Neo N3 addresses: Base58Check(0x35 || script hash (raw order, 20 bytes)), 34 characters
 * starting with 'N' (neo Helper.ToAddress, ProtocolSettings.AddressVersion). */
#ifndef NSL_NEO_ADDRESS_H
#define NSL_NEO_ADDRESS_H

#include <stdint.h>

#include "common/errors.h"
#include "neo/script.h"

#define NSL_NEO_ADDRESS_VERSION 0x35
#define NSL_NEO_ADDRESS_SIZE    35 /* 34 characters + NUL */

int nsl_neo_address_from_hash(const uint8_t hash[NSL_NEO_HASH160_LEN],
                              char out[NSL_NEO_ADDRESS_SIZE]);
/* Fails (INVALID_PARAMS) on bad characters, a bad checksum, a wrong length or version. */
nsl_err nsl_neo_address_to_hash(const char *address, uint8_t hash[NSL_NEO_HASH160_LEN],
                                struct nsl_error *err);

#endif
