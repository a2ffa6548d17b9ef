/* Configuration from command-line flags and an optional JSON config file (--config FILE), driven
 * by one table per binary. Every option has a default (or is unset) and what it accepts: a range
 * for integers, a set of choices, a URL, or a form checked by a function; a bad value is refused
 * with a message naming the option. Order of precedence: default < file < flag. --help prints
 * the table, one "default X, range A–B" (or "one of", "accepts") line per option
 * (docs/configuration.md is generated from it); --version prints the version. */
#ifndef NSL_COMMON_OPTIONS_H
#define NSL_COMMON_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum nsl_option_type {
    NSL_OPT_STRING, /* char * (malloc'd; freed by nsl_options_free); see choices, check */
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
    /* STRING only, optional. choices: the allowed values, "a|b|c". check: 0 if value is
     * acceptable, else -1 with the reason in why; form says what it accepts (for --help). A
     * STRING option without choices or check accepts any text. */
    const char *choices;
    int (*check)(const char *value, char *why, size_t why_len);
    const char *form;
};

/* Table rows for the settings struct that NSL_OPTIONS_OF names (each binary defines it before
 * its table): a typed option with a range; a STRING option whose value must be one of choices
 * ("a|b"); a STRING option whose value must pass check (form: what check accepts). */
#define NSL_OPTION(name_, type_, field, def, min_, max_, help_)                                    \
    {                                                                                              \
        .name = name_, .type = type_, .offset = offsetof(NSL_OPTIONS_OF, field),                   \
        .default_value = def, .min = min_, .max = max_, .help = help_                              \
    }
#define NSL_OPTION_CHOICE(name_, field, def, choices_, help_)                                      \
    {                                                                                              \
        .name = name_, .type = NSL_OPT_STRING, .offset = offsetof(NSL_OPTIONS_OF, field),          \
        .default_value = def, .help = help_, .choices = choices_                                   \
    }
#define NSL_OPTION_CHECKED(name_, field, def, check_, form_, help_)                                \
    {                                                                                              \
        .name = name_, .type = NSL_OPT_STRING, .offset = offsetof(NSL_OPTIONS_OF, field),          \
        .default_value = def, .help = help_, .check = check_, .form = form_                        \
    }

#define NSL_OPTIONS_END                                                                            \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* Stock checks for NSL_OPT_STRING options. HOST:PORT: a name, IPv4 or [IPv6] address and a port
 * 0..65535 (not resolved); a path: non-empty, shorter than PATH_MAX. */
int nsl_option_check_host_port(const char *value, char *why, size_t why_len);
int nsl_option_check_path(const char *value, char *why, size_t why_len);
#define NSL_OPTION_FORM_HOST_PORT "HOST:PORT (name, IPv4 or [IPv6]; port 0-65535)"
#define NSL_OPTION_FORM_PATH      "a file system path (1-4095 bytes)"

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

/* A thread or connection count option where 0 means one per online CPU: the configured count, or
 * the online CPUs clamped to [1, most]. */
size_t nsl_option_per_cpu(int64_t configured, long most);

#endif
