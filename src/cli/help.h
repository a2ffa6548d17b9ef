/* nsl's help texts, generated from the routes table: the global usage with every operation and
 * its summary, one service's operations (parameter synopsis, permission, sealing), and one
 * operation's parameters (name, type, required, limits), permission and sealing. */
#ifndef NSL_CLI_HELP_H
#define NSL_CLI_HELP_H

#include <stddef.h>
#include <stdio.h>

void nsl_cli_help_print(FILE *out);
/* route: index into nsl_routes of the service's first operation. */
void nsl_cli_help_print_service(FILE *out, size_t route);
/* route: index into nsl_routes. */
void nsl_cli_help_print_operation(FILE *out, size_t route);

#endif
