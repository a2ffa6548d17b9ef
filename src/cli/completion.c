/* The bash completion script (see completion.h). Everything that names an operation or a
 * parameter comes from nsl_routes; the offline commands, which have no table row, are listed in
 * offline_commands below (each one's --help is the reference, and a test checks the names
 * against it). */
#include "cli/completion.h"

#include <string.h>

#include "cli/args.h"
#include "common/routes.h"

/* An offline command path ("neo", "neo.nep2"), the words that may follow it and its options;
 * an option followed by '=' takes a value. */
struct offline_command {
    const char *path;
    const char *words;
    const char *options;
};

static const struct offline_command offline_commands[] = {
    {"dev", "up down", NULL},
    {"dev.up", "",
     "--state= --http= --log-level= --background --egress-allow= --ca-file= --config= --help"},
    {"dev.down", "", "--state= --config= --help"},
    {"neo", "address multisig nep2 tx",
     "--json --help --wif= --private-key= --pubkey= --m= --passphrase= --passphrase-file= "
     "--nep2= --network="},
    {"neo.nep2", "encrypt decrypt", NULL},
    {"neo.tx", "decode verify", NULL},
    {"attest", "verify get",
     "--json --help --at= --nonce= --pcr= --allow-debug --allow-simulated --out= --url="},
    {"function", "verify-receipt", NULL},
    {"completion", "bash", NULL},
};

#define OFFLINE_COUNT (sizeof offline_commands / sizeof offline_commands[0])

static const struct offline_command *find_offline(const char *path)
{
    for (size_t i = 0; i < OFFLINE_COUNT; i++)
        if (strcmp(offline_commands[i].path, path) == 0)
            return &offline_commands[i];
    return NULL;
}

/* A command of its own (dev, neo, ...), not a subcommand nor an addition to a service. */
static bool is_top_level_offline(const struct offline_command *c)
{
    size_t k;
    return !strchr(c->path, '.') && nsl_route_find(c->path, "", &k) == NSL_ERR_UNKNOWN_SERVICE;
}

/* Whether route i is the first of its service (routes.def groups each service's rows). */
static bool first_of_service(size_t i)
{
    return i == 0 || strcmp(nsl_routes[i - 1].service, nsl_routes[i].service) != 0;
}

/* Writes options without their '=' marks: all of them, or only those that take a value. */
static void put_options(FILE *out, const char *options, bool only_with_value, const char *sep)
{
    bool first = true;
    for (const char *p = options; *p;) {
        size_t n = strcspn(p, " ");
        bool value = n > 0 && p[n - 1] == '=';
        if (n > 0 && (!only_with_value || value)) {
            fprintf(out, "%s%.*s", first ? "" : sep, (int)(n - (value ? 1 : 0)), p);
            first = false;
        }
        p += n + (p[n] ? 1 : 0);
    }
}

/* The global options as one space-separated list: every one, or only those taking a value. */
static void put_global_options(FILE *out, bool only_with_value, const char *sep)
{
    bool takes_value, first = true;
    const char *name;
    for (size_t i = 0; (name = nsl_cli_global_option(i, &takes_value)); i++) {
        if (only_with_value && !takes_value)
            continue;
        fprintf(out, "%s--%s", first ? "" : sep, name);
        first = false;
    }
}

/* _nsl_operations WORD: the words after the first one (a service's operations, or an offline
 * command's subcommands). */
static void put_operations(FILE *out)
{
    fputs("_nsl_operations() {\n    case $1 in\n", out);
    for (size_t i = 0; i < nsl_route_count; i++) {
        if (!first_of_service(i))
            continue;
        const char *svc = nsl_routes[i].service;
        fprintf(out, "    %s) echo '", svc);
        for (size_t j = i; j < nsl_route_count && strcmp(nsl_routes[j].service, svc) == 0; j++)
            fprintf(out, "%s%s", j == i ? "" : " ", nsl_routes[j].operation);
        const struct offline_command *extra = find_offline(svc);
        if (extra)
            fprintf(out, " %s", extra->words);
        fputs("' ;;\n", out);
    }
    for (size_t i = 0; i < OFFLINE_COUNT; i++) {
        const struct offline_command *c = &offline_commands[i];
        if (is_top_level_offline(c))
            fprintf(out, "    %s) echo '%s' ;;\n", c->path, c->words);
    }
    fputs("    esac\n}\n\n", out);
}

/* _nsl_arguments SERVICE.OPERATION: an operation's "param=" names, or a subcommand's words. */
static void put_arguments(FILE *out)
{
    fputs("_nsl_arguments() {\n    case $1 in\n", out);
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        if (!r->params[0].name)
            continue;
        fprintf(out, "    %s.%s) echo '", r->service, r->operation);
        for (const struct nsl_field_spec *f = r->params; f->name; f++)
            fprintf(out, "%s%s=", f == r->params ? "" : " ", f->name);
        fputs("' ;;\n", out);
    }
    for (size_t i = 0; i < OFFLINE_COUNT; i++)
        if (strchr(offline_commands[i].path, '.') && offline_commands[i].words[0])
            fprintf(out, "    %s) echo '%s' ;;\n", offline_commands[i].path,
                    offline_commands[i].words);
    fputs("    esac\n}\n\n", out);
}

/* _nsl_options PATH: the options of an offline command (by its first words), else the global
 * ones. */
static void put_option_lists(FILE *out)
{
    fputs("_nsl_options() {\n    case $1 in\n", out);
    for (size_t i = 0; i < OFFLINE_COUNT; i++) {
        const struct offline_command *c = &offline_commands[i];
        if (!c->options)
            continue;
        fprintf(out, "    %s%s) echo '", c->path, strchr(c->path, '.') ? "" : ".*");
        put_options(out, c->options, false, " ");
        fputs("' ;;\n", out);
    }
    fputs("    *) echo '", out);
    put_global_options(out, false, " ");
    fputs("' ;;\n    esac\n}\n\n", out);
}

/* Every option that takes a value, as a case pattern: its value is not a positional word. */
static void put_value_options_pattern(FILE *out)
{
    put_global_options(out, true, "|");
    for (size_t i = 0; i < OFFLINE_COUNT; i++) {
        if (offline_commands[i].options && strchr(offline_commands[i].options, '=')) {
            fputc('|', out);
            put_options(out, offline_commands[i].options, true, "|");
        }
    }
}

static const char main_function_head[] =
    "_nsl() {\n"
    "    local cur=${COMP_WORDS[COMP_CWORD]} prev= i skip=0\n"
    "    local -a words=()\n"
    "    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
    "    # the words before the cursor that are not options or option values\n"
    "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
    "        if ((skip)); then skip=0; continue; fi\n"
    "        case ${COMP_WORDS[i]} in\n"
    "        ";

static const char main_function_tail[] =
    ") skip=1 ;;\n"
    "        -*) ;;\n"
    "        *) words+=(\"${COMP_WORDS[i]}\") ;;\n"
    "        esac\n"
    "    done\n"
    "    case $prev in\n"
    "    --key|--passphrase-file|--out|--ca-file|--config|--state)\n"
    "        COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
    "    --log-level) COMPREPLY=($(compgen -W 'debug info warn error' -- \"$cur\")); return ;;\n"
    "    esac\n"
    "    if ((skip)); then COMPREPLY=(); return; fi # another option's value: nothing to offer\n"
    "    if [[ $cur == -* ]]; then\n"
    "        COMPREPLY=($(compgen -W \"$(_nsl_options \"${words[0]-}.${words[1]-}\")\" -- "
    "\"$cur\"))\n"
    "        return\n"
    "    fi\n"
    "    case ${#words[@]} in\n"
    "    0) COMPREPLY=($(compgen -W '";

static const char main_function_end[] =
    "' -- \"$cur\")) ;;\n"
    "    1) COMPREPLY=($(compgen -W \"$(_nsl_operations \"${words[0]}\")\" -- \"$cur\")) ;;\n"
    "    *) COMPREPLY=($(compgen -W \"$(_nsl_arguments \"${words[0]}.${words[1]}\")\" -- "
    "\"$cur\"))\n"
    "        # \"name=\" is completed without a space so that the value can follow\n"
    "        [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null ;;\n"
    "    esac\n"
    "    return 0\n"
    "}\n\n"
    "complete -F _nsl nsl\n";

void nsl_cli_completion_bash(FILE *out)
{
    fputs(
        "# bash completion for nsl, generated by `nsl completion bash` from its operations table.\n"
        "# Load it with: source <(nsl completion bash)\n"
        "# or install it: nsl completion bash > /etc/bash_completion.d/nsl\n\n",
        out);
    put_operations(out);
    put_arguments(out);
    put_option_lists(out);
    fputs(main_function_head, out);
    put_value_options_pattern(out);
    fputs(main_function_tail, out);
    for (size_t i = 0; i < nsl_route_count; i++)
        if (first_of_service(i))
            fprintf(out, "%s ", nsl_routes[i].service);
    for (size_t i = 0; i < OFFLINE_COUNT; i++)
        if (is_top_level_offline(&offline_commands[i]))
            fprintf(out, "%s ", offline_commands[i].path);
    fputs(main_function_end, out);
}

bool nsl_cli_completion_is_command(int argc, char **argv)
{
    return argc >= 2 && strcmp(argv[1], "completion") == 0;
}

int nsl_cli_completion_main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "bash") == 0) {
        nsl_cli_completion_bash(stdout);
        return 0;
    }
    bool help = argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0);
    fprintf(help ? stdout : stderr,
            "Usage: nsl completion bash\n\n"
            "Prints a bash completion script for nsl (services, operations, parameter names,\n"
            "options and the offline commands). Load it with: source <(nsl completion bash)\n");
    return help ? 0 : 2;
}
