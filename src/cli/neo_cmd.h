/* `nsl neo ...`: offline Neo N3 utilities (docs/cli.md "nsl neo"): the address of a key, a
 * multisig account, NEP-2 encrypt/decrypt, and decoding and verifying a transaction. Nothing is
 * sent anywhere. Private keys, WIFs and passphrases are held only in struct nsl_secret, wiped on
 * free, and their copies in argv are overwritten once read. */
#ifndef NSL_CLI_NEO_CMD_H
#define NSL_CLI_NEO_CMD_H

#include <stdbool.h>

/* True when argv is `nsl [--json] neo ...`. */
bool nsl_cli_neo_is_command(int argc, char **argv);
/* Runs `nsl neo ...` (the whole argv). Returns the exit status: 0 success, 1 failed, 2 bad
 * command line. */
int nsl_cli_neo_main(int argc, char **argv);

#endif
