/* Table-driven option parsing (see options.h). */
#include "common/options.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/url.h"

static const struct nsl_option *find_option(const struct nsl_options_spec *spec, const char *name,
                                            size_t len)
{
    for (const struct nsl_option *o = spec->options; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

int nsl_option_check_host_port(const char *value, char *why, size_t why_len)
{
    char text[300];
    struct nsl_url url;
    if (snprintf(text, sizeof text, "tcp://%s", value) >= (int)sizeof text) {
        snprintf(why, why_len, "longer than %zu bytes", sizeof text - 7);
        return -1;
    }
    return nsl_url_parse(text, &url, why, why_len);
}

int nsl_option_check_path(const char *value, char *why, size_t why_len)
{
    if (!value[0] || strlen(value) >= PATH_MAX) {
        snprintf(why, why_len, "must be a path of 1 to %d bytes", PATH_MAX - 1);
        return -1;
    }
    return 0;
}

/* Whether value is one of choices ("a|b|c"). */
static bool is_choice(const char *choices, const char *value)
{
    size_t len = strlen(value);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t n = bar ? (size_t)(bar - c) : strlen(c);
        if (n == len && strncmp(c, value, n) == 0)
            return true;
        c += n + (bar ? 1 : 0);
    }
    return false;
}

/* Checks a URL or STRING value against its option's rules; 0 when it may be stored. */
static int check_text(const struct nsl_options_spec *spec, const struct nsl_option *o,
                      const char *value, const char *source)
{
    struct nsl_url url;
    char why[160] = "";
    int rc = 0;
    if (o->type == NSL_OPT_URL)
        rc = nsl_url_parse(value, &url, why, sizeof why);
    else if (o->choices && !is_choice(o->choices, value)) {
        snprintf(why, sizeof why, "must be one of %s", o->choices);
        rc = -1;
    } else if (o->check)
        rc = o->check(value, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "%s: %s --%s: %s, not \"%.100s\"\n", spec->program, source, o->name, why,
                value);
    return rc;
}

static int set_value(const struct nsl_options_spec *spec, const struct nsl_option *o, void *cfg,
                     const char *value, const char *source)
{
    char *field = (char *)cfg + o->offset;
    switch (o->type) {
    case NSL_OPT_URL:
    case NSL_OPT_STRING: {
        if (check_text(spec, o, value, source) != 0)
            return -1;
        char *copy = strdup(value);
        if (!copy)
            return -1;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case NSL_OPT_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || errno) {
            fprintf(stderr, "%s: %s --%s: must be an integer (range %lld–%lld), not \"%.100s\"\n",
                    spec->program, source, o->name, (long long)o->min, (long long)o->max, value);
            return -1;
        }
        if (v < o->min || v > o->max) {
            fprintf(stderr, "%s: %s --%s: %lld is out of range %lld–%lld\n", spec->program, source,
                    o->name, v, (long long)o->min, (long long)o->max);
            return -1;
        }
        *(int64_t *)field = v;
        return 0;
    }
    case NSL_OPT_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            *(bool *)field = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            *(bool *)field = false;
        } else {
            fprintf(stderr, "%s: %s --%s: must be true or false, not \"%.100s\"\n", spec->program,
                    source, o->name, value);
            return -1;
        }
        return 0;
    }
    return -1;
}

static int load_file(const struct nsl_options_spec *spec, void *cfg, const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        fprintf(stderr, "%s: config file %s: %s\n", spec->program, path,
                root ? "must hold one JSON object" : jerr.text);
        json_decref(root);
        return -1;
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, key, v)
    {
        const struct nsl_option *o = find_option(spec, key, strlen(key));
        char text[64];
        const char *value = text;
        if (!o) {
            fprintf(stderr, "%s: config file %s: unknown setting \"%s\"\n", spec->program, path,
                    key);
            rc = -1;
            break;
        }
        if (json_is_string(v))
            value = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
        else if (json_is_boolean(v))
            value = json_is_true(v) ? "true" : "false";
        else {
            fprintf(stderr, "%s: config file %s: \"%s\" must be a string, integer or boolean\n",
                    spec->program, path, key);
            rc = -1;
            break;
        }
        if (set_value(spec, o, cfg, value, "config file") != 0) {
            rc = -1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

static int set_defaults(const struct nsl_options_spec *spec, void *cfg)
{
    for (const struct nsl_option *o = spec->options; o->name; o++)
        if (o->default_value && set_value(spec, o, cfg, o->default_value, "default") != 0)
            return -1;
    return 0;
}

/* Finds --config before anything else so that flags override the file wherever they stand. Walks
 * the arguments as the parser does, so that an option's value is not taken for a positional
 * argument (or for --config). */
static const char *find_config_path(const struct nsl_options_spec *spec, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0 || (spec->allow_positional && strncmp(arg, "--", 2) != 0))
            break;
        if (strcmp(arg, "--config") == 0)
            return i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(arg, "--config=", 9) == 0)
            return arg + 9;
        const struct nsl_option *o = strncmp(arg, "--", 2) == 0 && !strchr(arg, '=')
                                         ? find_option(spec, arg + 2, strlen(arg + 2))
                                         : NULL;
        if (o && o->type != NSL_OPT_BOOL)
            i++; /* skip its value */
    }
    return NULL;
}

enum nsl_options_result nsl_options_parse(const struct nsl_options_spec *spec, void *cfg, int argc,
                                          char **argv, int *next)
{
    if (set_defaults(spec, cfg) != 0)
        return NSL_OPTIONS_EXIT_FAILURE;
    const char *config = find_config_path(spec, argc, argv);
    if (config && load_file(spec, cfg, config) != 0)
        return NSL_OPTIONS_EXIT_FAILURE;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            nsl_options_print_help(spec, stdout);
            return NSL_OPTIONS_EXIT_SUCCESS;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (spec->allow_positional)
                break;
            fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", spec->program, arg);
            return NSL_OPTIONS_EXIT_FAILURE;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("%s %s\n", spec->program, NSL_VERSION);
            return NSL_OPTIONS_EXIT_SUCCESS;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (nlen == 6 && strncmp(name, "config", 6) == 0) {
            if (!eq && i + 1 >= argc) {
                fprintf(stderr, "%s: option --config needs a value\n", spec->program);
                return NSL_OPTIONS_EXIT_FAILURE;
            }
            i += eq ? 0 : 1; /* already loaded */
            continue;
        }
        const struct nsl_option *o = find_option(spec, name, nlen);
        if (!o) {
            fprintf(stderr, "%s: unknown option --%.*s (see --help)\n", spec->program, (int)nlen,
                    name);
            return NSL_OPTIONS_EXIT_FAILURE;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && o->type == NSL_OPT_BOOL)
            value = "true";
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: option --%s needs a value\n", spec->program, o->name);
                return NSL_OPTIONS_EXIT_FAILURE;
            }
            value = argv[++i];
        }
        if (set_value(spec, o, cfg, value, "option") != 0)
            return NSL_OPTIONS_EXIT_FAILURE;
    }
    if (next)
        *next = i;
    return NSL_OPTIONS_OK;
}

/* What o accepts, as the help's "default X, ..." line says it. */
static void print_accepts(const struct nsl_option *o, FILE *out)
{
    switch (o->type) {
    case NSL_OPT_INT:
        fprintf(out, "range %lld–%lld", (long long)o->min, (long long)o->max);
        return;
    case NSL_OPT_BOOL:
        fputs("one of true, false", out);
        return;
    case NSL_OPT_URL:
        fputs("accepts vsock://CID:PORT, unix:///PATH or tcp://HOST:PORT", out);
        return;
    case NSL_OPT_STRING:
        break;
    }
    if (o->choices) {
        fputs("one of ", out);
        for (const char *c = o->choices; *c; c++)
            if (*c == '|')
                fputs(", ", out);
            else
                fputc(*c, out);
    } else {
        fprintf(out, "accepts %s", o->form ? o->form : "any text");
    }
}

void nsl_options_print_help(const struct nsl_options_spec *spec, FILE *out)
{
    fprintf(out, "Usage: %s %s\n\n%s\n\nOptions:\n", spec->program, spec->usage, spec->summary);
    for (const struct nsl_option *o = spec->options; o->name; o++) {
        const char *kind = o->type == NSL_OPT_INT    ? "N"
                           : o->type == NSL_OPT_BOOL ? "[true|false]"
                           : o->type == NSL_OPT_URL  ? "URL"
                                                     : "VALUE";
        /* Text defaults are quoted so that an empty one is visible. */
        const char *quote = o->type == NSL_OPT_STRING || o->type == NSL_OPT_URL ? "\"" : "";
        if (o->default_value)
            fprintf(out, "  --%s %s\n      %s\n      default %s%s%s, ", o->name, kind, o->help,
                    quote, o->default_value, quote);
        else
            fprintf(out, "  --%s %s\n      %s\n      default unset, ", o->name, kind, o->help);
        print_accepts(o, out);
        fputc('\n', out);
    }
    fprintf(out, "  --config FILE\n      JSON object of the settings above, overridden by flags\n"
                 "  --help, --version\n");
}

void nsl_options_free(const struct nsl_options_spec *spec, void *cfg)
{
    for (const struct nsl_option *o = spec->options; o->name; o++) {
        if (o->type == NSL_OPT_STRING || o->type == NSL_OPT_URL) {
            char **field = (char **)((char *)cfg + o->offset);
            free(*field);
            *field = NULL;
        }
    }
}

size_t nsl_option_per_cpu(int64_t configured, long most)
{
    if (configured > 0)
        return (size_t)configured;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return (size_t)(cpus < 1 ? 1 : cpus > most ? most : cpus);
}
