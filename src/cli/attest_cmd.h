/* `nsl attest ...` (docs/attestation.md): `verify` checks an attestation document file offline
 * (signature, certificate chain to the pinned AWS Nitro root or, when allowed, a simulated root,
 * time, nonce, PCRs, debug mode); `get` fetches one from the enclave through the parent
 * (attestation.getDocument) and writes its bytes to a file. */
#ifndef NSL_CLI_ATTEST_CMD_H
#define NSL_CLI_ATTEST_CMD_H

#include <stdbool.h>

/* True when argv is `nsl [--json] attest ...`. */
bool nsl_cli_attest_is_command(int argc, char **argv);
/* Runs `nsl attest ...` (the whole argv). Returns the exit status: 0 success (for verify: the
 * document is valid), 1 failed or invalid, 2 bad command line. */
int nsl_cli_attest_main(int argc, char **argv);

#endif
