/* nsl function verify-receipt FILE|- [--signer HEX]: checks a function receipt offline (issue 8):
 * the signature (ECDSA-P256/SHA-256, r||s hex) over the RFC 8785 JCS of the receipt without its
 * "signature" member, by signerPublicKey — and, with --signer, that the key is the one expected
 * (take it from a verified attestation document). Exit 0 valid, 1 invalid, 2 bad usage. */
#ifndef NSL_CLI_RECEIPT_CMD_H
#define NSL_CLI_RECEIPT_CMD_H

#include <stdbool.h>

bool nsl_cli_receipt_is_command(int argc, char **argv);
int nsl_cli_receipt_main(int argc, char **argv);

#endif
