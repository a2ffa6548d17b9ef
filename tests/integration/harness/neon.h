/* The Neo reference SDK, @cityofzion/neon-core, for the tests that check our Neo output with it:
 * finds Node.js, installs the pinned package under tests/neon (npm ci, once) and runs the scripts
 * there. The source tree is found through NSL_SOURCE_DIR (the current directory without it). */
#ifndef NSL_TEST_NEON_H
#define NSL_TEST_NEON_H

#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define NSL_NEON_VERSION "5.10.1" /* pinned in tests/neon/package.json */

/* Whether an executable name is in a directory of PATH. */
bool nsl_neon_on_path(const char *name);

/* "<NSL_SOURCE_DIR>/tests/neon[/<file>]" (file may be NULL) into out; returns out. */
const char *nsl_neon_path(const char *file, char *out, size_t len);

/* Checks that node is on PATH and runs `npm ci` in tests/neon unless the pinned neon-core is
 * already installed there (under a flock on the lockfile, so concurrent test runs do not install
 * over each other). Returns 0 when node and the pinned neon-core are ready; otherwise -1 with a
 * message for the test failure in error (npm's output goes to stderr). */
int nsl_neon_ensure_installed(char *error, size_t error_len);

/* Runs argv (PATH lookup) with stdout and stderr appended to log. Returns its exit code, or -1
 * when it could not start, died by a signal or outlived timeout_ms (then it is killed). */
int nsl_neon_run(const char *const *argv, const char *log, int timeout_ms);

/* Copies log to stderr, each line indented. */
void nsl_neon_print_log(const char *log);

/* node tests/neon/verify_tx.mjs on a signed transaction (hex) for a network magic: returns its
 * exit code (0: every witness valid) and its JSON line {valid, txid, failed, reserialized} in
 * *result (the test fails when it printed none). workdir holds the log. */
int nsl_neon_verify_tx(const char *workdir, const char *hex, uint32_t network, json_t **result);

#endif
