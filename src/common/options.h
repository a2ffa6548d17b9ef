/* Configuration from command-line flags and an optional JSON config file (--config FILE), driven
 * by one table per binary. Every option has a default and, for integers, a range; a bad value is
 * refused with a message naming the option. Order of precedence: default < file < flag.
 * --help prints the table; --version prints the version. */
#ifndef NSL_COMMON_OPTIONS_H
#define NSL_COMMON_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum nsl_option_type {
    NSL_OPT_STRING, /* char * (malloc'd; freed by nsl_options_free) */
    NSL_OPT_INT,    /* int64_t in [min, max] */
    NSL_OPT_BOOL,   /* bool; "--name" alone means true */
    NSL_OPT_URL,    /* char *, checked by nsl_url_parse */
};

struct nsl_option {
    const char *name; /* without the leading "--" */
    enum nsl_option_type type;
    size_t offset; /* of the field in the binary's config struct */
    const char *default_value;
    int64_t min, max;
    const char *help;
};

#define NSL_OPTIONS_END                                                                            \
    {                                                                                              \
        NULL, NSL_OPT_STRING, 0, NULL, 0, 0, NULL                                                  \
    }

struct nsl_options_spec {
    const char *program; /* e.g. "nsl-enclave" */
    const char *usage;   /* e.g. "[OPTIONS]" */
    const char *summary; /* one line on what the binary does */
    const struct nsl_option *options;
    bool allow_positional; /* stop at the first non-option argument */
};

enum nsl_options_result { NSL_OPTIONS_OK, NSL_OPTIONS_EXIT_SUCCESS, NSL_OPTIONS_EXIT_FAILURE };

/* Fills cfg. *next gets the index of the first positional argument. On --help or --version
 * prints and returns EXIT_SUCCESS; on a bad option prints the reason to stderr and returns
 * EXIT_FAILURE. */
enum nsl_options_result nsl_options_parse(const struct nsl_options_spec *spec, void *cfg, int argc,
                                          char **argv, int *next);
void nsl_options_print_help(const struct nsl_options_spec *spec, FILE *out);
void nsl_options_free(const struct nsl_options_spec *spec, void *cfg);

#endif
