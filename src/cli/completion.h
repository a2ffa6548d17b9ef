/* `nsl completion bash`: prints a bash completion script generated from the operations table
 * (services, operations, each operation's parameter names as "name="), nsl's global options and
 * the offline commands (dev, neo, attest, function verify-receipt, completion). */
#ifndef NSL_CLI_COMPLETION_H
#define NSL_CLI_COMPLETION_H

#include <stdbool.h>
#include <stdio.h>

/* Whether argv is `nsl completion ...`. */
bool nsl_cli_completion_is_command(int argc, char **argv);
/* Runs `nsl completion SHELL`: 0 after printing the script, 2 for a missing or unknown shell. */
int nsl_cli_completion_main(int argc, char **argv);
/* Writes the bash script to out. */
void nsl_cli_completion_bash(FILE *out);

#endif
