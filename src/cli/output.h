/* How nsl shows answers: readable text by default (objects as "key: value" lines with nested
 * objects indented, arrays of objects as aligned rows), or the JSON value as received (--json),
 * and errors as "error: <CODE>: <message>". Control characters from the server are escaped in
 * readable text so that an answer cannot drive the terminal. Colours (bold table headers, red
 * error codes) only when the stream is a terminal and NO_COLOR is unset or empty (no-color.org). */
#ifndef NSL_CLI_OUTPUT_H
#define NSL_CLI_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Whether out gets colours: a terminal, and NO_COLOR unset or empty. */
bool nsl_cli_output_colour(FILE *out);

void nsl_cli_output_readable(FILE *out, const json_t *value);
/* Pretty JSON (2-space indent), members in the order received, then a newline. */
void nsl_cli_output_json(FILE *out, const json_t *value);
/* "error: <CODE>: <message>\n" for a JSON-RPC error object. */
void nsl_cli_output_error(FILE *out, const json_t *error);
/* Reports a local failure the way a server error is reported (stderr; the JSON error object on
 * stdout too when json), so that scripts parse one format. Returns status. */
struct nsl_error;
int nsl_cli_output_failure(bool json, const struct nsl_error *err, int status);

#endif
