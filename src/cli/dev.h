/* The dev stack: `nsl dev up` starts nsl-enclave (simulated attestation) and nsl-parent on unix
 * sockets under a state directory and waits until the API answers; `nsl dev down` stops a stack
 * started with --background. See docs/cli.md. */
#ifndef NSL_CLI_DEV_H
#define NSL_CLI_DEV_H

/* argv[0] is the word after "dev" ("up" or "down"). Returns the process exit code: 0 success,
 * 1 failure, 2 bad command line. */
int nsl_cli_dev_main(int argc, char **argv);

#endif
