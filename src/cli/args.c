/* Command-line parsing and schema-driven typing of key=value pairs (see args.h). */
#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/routes.h"

/* A value that came from the command line or from @FILE / @-. data is owned when it came from a
 * file. */
struct value_text {
    const char *text;
    size_t len;
    char *owned;
};

static void value_text_free(struct value_text *v)
{
    free(v->owned);
    v->owned = NULL;
}

static nsl_err read_stream(FILE *in, const char *what, struct nsl_buf *out, struct nsl_error *err)
{
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        if (out->len + n > NSL_CLI_MAX_VALUE_FILE)
            return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "%s is larger than %u bytes", what,
                            NSL_CLI_MAX_VALUE_FILE);
        if (nsl_buf_append(out, chunk, n) != 0)
            return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory reading %s", what);
    }
    if (ferror(in))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "cannot read %s: %s", what, strerror(errno));
    return NSL_OK;
}

/* Reads a file (or stdin for "-"), dropping trailing newlines as the shell's $(cat FILE) does,
 * so that a hex key or a JSON document saved by an editor can be used as it is. */
static nsl_err read_value_file(const char *path, struct value_text *v, struct nsl_error *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *in = is_stdin ? stdin : fopen(path, "rb");
    if (!in)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "cannot open @%.200s: %s", path,
                        strerror(errno));
    struct nsl_buf buf = {0};
    nsl_err rc = read_stream(in, is_stdin ? "stdin" : path, &buf, err);
    if (!is_stdin)
        fclose(in);
    if (rc == NSL_OK && nsl_buf_append_u8(&buf, 0) != 0)
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (rc != NSL_OK) {
        nsl_buf_free(&buf);
        return rc;
    }
    size_t len = buf.len - 1;
    while (len > 0 && (buf.data[len - 1] == '\n' || buf.data[len - 1] == '\r'))
        buf.data[--len] = 0;
    v->owned = (char *)buf.data;
    v->text = v->owned;
    v->len = len;
    return NSL_OK;
}

/* "@FILE" and "@-" read the value; "@@text" stands for the literal "@text". stdin_used makes a
 * second "@-" an error instead of a silently empty value. */
static nsl_err resolve_value(const char *raw, bool *stdin_used, struct value_text *v,
                             struct nsl_error *err)
{
    *v = (struct value_text){raw, strlen(raw), NULL};
    if (raw[0] != '@')
        return NSL_OK;
    if (raw[1] == '@') {
        v->text = raw + 1;
        v->len--;
        return NSL_OK;
    }
    if (raw[1] == 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "\"@\" needs a file name (or - for stdin)");
    if (strcmp(raw, "@-") == 0) {
        if (*stdin_used)
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "stdin (@-) can be read only once");
        *stdin_used = true;
    }
    return read_value_file(raw + 1, v, err);
}

static nsl_err type_int(const struct nsl_field_spec *f, const char *text, json_t **value,
                        struct nsl_error *err)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (!*text || *end || errno || text[0] == ' ' || text[0] == '+')
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.%s must be an integer, not \"%.64s\"",
                        f->name, text);
    *value = json_integer((json_int_t)n);
    return NSL_OK;
}

static nsl_err type_json(const struct nsl_field_spec *f, const char *text, size_t len,
                         json_t **value, struct nsl_error *err)
{
    json_error_t jerr;
    *value = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!*value)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "params.%s must be JSON (%s): %s at offset %d%s", f->name,
                        nsl_field_type_name(f->type), jerr.text, jerr.position,
                        f->type == NSL_FIELD_ANY ? "; quote text as '\"text\"'" : "");
    return NSL_OK;
}

nsl_err nsl_cli_value_from_text(const struct nsl_field_spec *f, const char *text, size_t len,
                                json_t **value, struct nsl_error *err)
{
    *value = NULL;
    if (f->type != NSL_FIELD_OBJECT && f->type != NSL_FIELD_ARRAY && f->type != NSL_FIELD_ANY &&
        strlen(text) != len)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.%s contains a NUL byte", f->name);
    switch (f->type) {
    case NSL_FIELD_STRING:
    case NSL_FIELD_HEX:
    case NSL_FIELD_BASE64:
    case NSL_FIELD_DIGITS:
        *value = json_stringn(text, len);
        if (!*value)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.%s is not valid UTF-8", f->name);
        return NSL_OK;
    case NSL_FIELD_INT:
        return type_int(f, text, value, err);
    case NSL_FIELD_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
            return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                            "params.%s must be true or false, not \"%.64s\"", f->name, text);
        *value = json_boolean(text[0] == 't');
        return NSL_OK;
    case NSL_FIELD_OBJECT:
    case NSL_FIELD_ARRAY:
    case NSL_FIELD_ANY:
        return type_json(f, text, len, value, err);
    }
    return nsl_fail(err, NSL_ERR_INTERNAL, "unknown field type");
}

static const struct nsl_field_spec *find_field(const struct nsl_field_spec *schema,
                                               const char *name, size_t len)
{
    for (; schema && schema->name; schema++)
        if (strlen(schema->name) == len && strncmp(schema->name, name, len) == 0)
            return schema;
    return NULL;
}

/* Names the accepted keys so that a typo is fixed without reading the help. */
static nsl_err unknown_key(const struct nsl_field_spec *schema, const char *key, size_t len,
                           struct nsl_error *err)
{
    char known[160] = "";
    size_t used = 0;
    for (const struct nsl_field_spec *f = schema; f && f->name && used < sizeof known; f++) {
        int n = snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", f->name);
        used += n > 0 ? (size_t)n : 0;
    }
    if (!known[0])
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "unknown parameter \"%.*s\": this operation takes no parameters",
                        (int)(len > 64 ? 64 : len), key);
    return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "unknown parameter \"%.*s\" (known: %s)",
                    (int)(len > 64 ? 64 : len), key, known);
}

static nsl_err add_pair(json_t *params, const struct nsl_field_spec *schema, const char *pair,
                        bool *stdin_used, struct nsl_error *err)
{
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "expected key=value, not \"%.64s\"", pair);
    size_t klen = (size_t)(eq - pair);
    const struct nsl_field_spec *f = find_field(schema, pair, klen);
    if (!f)
        return unknown_key(schema, pair, klen, err);
    if (json_object_get(params, f->name))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "parameter \"%s\" is given twice", f->name);
    struct value_text v;
    NSL_TRY(resolve_value(eq + 1, stdin_used, &v, err));
    json_t *value = NULL;
    nsl_err rc = nsl_cli_value_from_text(f, v.text, v.len, &value, err);
    value_text_free(&v);
    if (rc != NSL_OK)
        return rc;
    if (json_object_set_new(params, f->name, value) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return NSL_OK;
}

nsl_err nsl_cli_params_from_pairs(const struct nsl_field_spec *schema, const char *const *pairs,
                                  size_t count, json_t **params, struct nsl_error *err)
{
    *params = NULL;
    json_t *obj = json_object();
    if (!obj)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    bool stdin_used = false;
    nsl_err rc = NSL_OK;
    for (size_t i = 0; i < count && rc == NSL_OK; i++)
        rc = add_pair(obj, schema, pairs[i], &stdin_used, err);
    if (rc == NSL_OK)
        rc = nsl_json_check(obj, schema, NSL_ERR_INVALID_PARAMS, "params", err);
    if (rc != NSL_OK) {
        json_decref(obj);
        return rc;
    }
    *params = obj;
    return NSL_OK;
}

nsl_err nsl_cli_params_from_json(const struct nsl_field_spec *schema, const char *text,
                                 json_t **params, struct nsl_error *err)
{
    *params = NULL;
    bool stdin_used = false;
    struct value_text v;
    NSL_TRY(resolve_value(text, &stdin_used, &v, err));
    json_t *obj = nsl_json_parse_object(v.text, v.len, NSL_ERR_INVALID_PARAMS, err);
    value_text_free(&v);
    if (!obj) {
        /* Say where the bad JSON came from: the message alone reads like a server answer. */
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err ? err->message : "");
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "--params: %s", why);
    }
    nsl_err rc = nsl_json_check(obj, schema, NSL_ERR_INVALID_PARAMS, "params", err);
    if (rc != NSL_OK) {
        json_decref(obj);
        return rc;
    }
    *params = obj;
    return NSL_OK;
}

/* The command line before the operation's schema is applied. */
struct command_line {
    const char *url, *api_key, *params_text, *key_file, *passphrase_file, *account;
    bool json, print_request, help, version, seal, no_seal, allow_simulated, allow_debug;
    const char *pcrs[NSL_CLI_MAX_PCR_OPTIONS];
    size_t npcrs;
    const char **positional;
    size_t npositional;
};

enum option_id {
    OPT_URL,
    OPT_API_KEY,
    OPT_KEY,
    OPT_PASSPHRASE_FILE,
    OPT_ACCOUNT,
    OPT_PARAMS,
    OPT_JSON,
    OPT_PRINT_REQUEST,
    OPT_HELP,
    OPT_VERSION,
    OPT_SEAL,
    OPT_NO_SEAL,
    OPT_ALLOW_SIMULATED,
    OPT_ALLOW_DEBUG,
    OPT_PCR
};

static const struct {
    const char *name;
    enum option_id id;
    bool takes_value;
} cli_options[] = {
    {"url", OPT_URL, true},
    {"api-key", OPT_API_KEY, true},
    {"key", OPT_KEY, true},
    {"passphrase-file", OPT_PASSPHRASE_FILE, true},
    {"account", OPT_ACCOUNT, true},
    {"params", OPT_PARAMS, true},
    {"json", OPT_JSON, false},
    {"print-request", OPT_PRINT_REQUEST, false},
    {"help", OPT_HELP, false},
    {"version", OPT_VERSION, false},
    {"seal", OPT_SEAL, false},
    {"no-seal", OPT_NO_SEAL, false},
    {"pcr", OPT_PCR, true},
    {"allow-simulated", OPT_ALLOW_SIMULATED, false},
    {"allow-debug", OPT_ALLOW_DEBUG, false},
};

const char *nsl_cli_global_option(size_t i, bool *takes_value)
{
    if (i >= sizeof cli_options / sizeof cli_options[0])
        return NULL;
    *takes_value = cli_options[i].takes_value;
    return cli_options[i].name;
}

/* The sealing options; --pcr is syntax-checked where the policy is built (cli/seal.c). */
static nsl_err set_seal_option(struct command_line *cl, enum option_id id, const char *value,
                               struct nsl_error *err)
{
    if (id == OPT_PCR) {
        if (cl->npcrs == NSL_CLI_MAX_PCR_OPTIONS)
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "at most %d --pcr options",
                            NSL_CLI_MAX_PCR_OPTIONS);
        cl->pcrs[cl->npcrs++] = value;
    }
    cl->seal |= id == OPT_SEAL;
    cl->no_seal |= id == OPT_NO_SEAL;
    cl->allow_simulated |= id == OPT_ALLOW_SIMULATED;
    cl->allow_debug |= id == OPT_ALLOW_DEBUG;
    return NSL_OK;
}

static nsl_err set_option(struct command_line *cl, enum option_id id, const char *value,
                          struct nsl_error *err)
{
    switch (id) {
    case OPT_URL:
        cl->url = value;
        break;
    case OPT_API_KEY:
        cl->api_key = value;
        break;
    case OPT_KEY:
        cl->key_file = value;
        break;
    case OPT_PASSPHRASE_FILE:
        cl->passphrase_file = value;
        break;
    case OPT_ACCOUNT:
        cl->account = value;
        break;
    case OPT_PARAMS:
        cl->params_text = value;
        break;
    case OPT_JSON:
        cl->json = true;
        break;
    case OPT_PRINT_REQUEST:
        cl->print_request = true;
        break;
    case OPT_HELP:
        cl->help = true;
        break;
    case OPT_VERSION:
        cl->version = true;
        break;
    case OPT_SEAL:
    case OPT_NO_SEAL:
    case OPT_ALLOW_SIMULATED:
    case OPT_ALLOW_DEBUG:
    case OPT_PCR:
        return set_seal_option(cl, id, value, err);
    }
    return NSL_OK;
}

/* Handles argv[*i], an option; may consume the next argument as its value. */
static nsl_err parse_option(int argc, char **argv, int *i, struct command_line *cl,
                            struct nsl_error *err)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "-h") == 0)
        return set_option(cl, OPT_HELP, NULL, err);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t k = 0; k < sizeof cli_options / sizeof cli_options[0]; k++) {
        if (strlen(cli_options[k].name) != nlen || strncmp(cli_options[k].name, name, nlen) != 0)
            continue;
        if (!cli_options[k].takes_value) {
            if (eq)
                return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "option --%s takes no value",
                                cli_options[k].name);
            return set_option(cl, cli_options[k].id, NULL, err);
        }
        if (eq)
            return set_option(cl, cli_options[k].id, eq + 1, err);
        if (*i + 1 >= argc)
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "option --%s needs a value",
                            cli_options[k].name);
        return set_option(cl, cli_options[k].id, argv[++*i], err);
    }
    return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "unknown option --%.*s (see nsl --help)",
                    (int)(nlen > 64 ? 64 : nlen), name);
}

/* Splits argv into options and positional words. Stops at a leading "dev" word, whose
 * arguments belong to the dev stack. */
static nsl_err split_command_line(int argc, char **argv, struct command_line *cl, int *dev_next,
                                  struct nsl_error *err)
{
    bool only_positional = false;
    *dev_next = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = true;
        } else if (!only_positional && (strncmp(arg, "--", 2) == 0 || strcmp(arg, "-h") == 0)) {
            NSL_TRY(parse_option(argc, argv, &i, cl, err));
        } else if (cl->npositional == 0 && strcmp(arg, "dev") == 0) {
            *dev_next = i + 1;
            return NSL_OK;
        } else {
            cl->positional[cl->npositional++] = arg;
        }
    }
    return NSL_OK;
}

/* A header value must not be able to end the header: refuse control characters. */
static nsl_err check_api_key(const char *key, struct nsl_error *err)
{
    if (!key[0])
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "the API key is empty");
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                            "the API key contains a space or control character");
    return NSL_OK;
}

static nsl_err find_operation(const struct command_line *cl, size_t *route, struct nsl_error *err)
{
    if (cl->npositional < 2)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "missing %s (see nsl --help)",
                        cl->npositional ? "<operation>" : "<service> <operation>");
    const char *svc = cl->positional[0], *op = cl->positional[1];
    nsl_err rc = nsl_route_find(svc, op, route);
    if (rc == NSL_ERR_UNKNOWN_SERVICE)
        return nsl_fail(err, rc, "unknown service \"%.32s\" (see nsl --help)", svc);
    if (rc != NSL_OK)
        return nsl_fail(err, rc, "unknown operation \"%.32s.%.64s\" (see nsl --help)", svc, op);
    return NSL_OK;
}

/* One scheme per request: --key signs (neo-sig), --api-key does not. A flag wins over the
 * environment, so --key makes NSL_API_KEY irrelevant; two flags are a contradiction. */
static nsl_err choose_scheme(const struct command_line *cl, struct nsl_cli_args *args,
                             struct nsl_error *err)
{
    if (cl->key_file && cl->api_key)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "--key and --api-key are mutually exclusive: sign with --key, or send "
                        "an API key");
    if (!cl->key_file && (cl->passphrase_file || cl->account))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "%s is used only with --key FILE",
                        cl->account ? "--account" : "--passphrase-file");
    if (cl->key_file) {
        if (!cl->key_file[0])
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--key needs a file name");
        args->api_key = NULL;
        return NSL_OK;
    }
    return args->api_key ? check_api_key(args->api_key, err) : NSL_OK;
}

static nsl_err build_request(const struct command_line *cl, struct nsl_cli_args *args,
                             struct nsl_error *err)
{
    NSL_TRY(find_operation(cl, &args->route, err));
    if (cl->help) {
        args->action = NSL_CLI_OP_HELP;
        return NSL_OK;
    }
    NSL_TRY(choose_scheme(cl, args, err));
    if (cl->seal && cl->no_seal)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--seal and --no-seal contradict each other");
    const struct nsl_field_spec *schema = nsl_routes[args->route].params;
    if (cl->params_text && cl->npositional > 2)
        return nsl_fail(
            err, NSL_ERR_INVALID_REQUEST,
            "--params gives the whole params object; it cannot be mixed with key=value");
    args->action = NSL_CLI_RPC;
    if (cl->params_text)
        return nsl_cli_params_from_json(schema, cl->params_text, &args->params, err);
    return nsl_cli_params_from_pairs(schema, cl->positional + 2, cl->npositional - 2, &args->params,
                                     err);
}

/* nsl <service> --help: the service's first row, or UNKNOWN_SERVICE. */
static nsl_err find_service(const char *svc, size_t *route, struct nsl_error *err)
{
    for (size_t i = 0; i < nsl_route_count; i++) {
        if (strcmp(nsl_routes[i].service, svc) == 0) {
            *route = i;
            return NSL_OK;
        }
    }
    return nsl_fail(err, NSL_ERR_UNKNOWN_SERVICE, "unknown service \"%.32s\" (see nsl --help)",
                    svc);
}

static const char *first_set(const char *a, const char *b, const char *fallback)
{
    if (a)
        return a;
    return b && b[0] ? b : fallback;
}

nsl_err nsl_cli_args_parse(int argc, char **argv, const struct nsl_cli_env *env,
                           struct nsl_cli_args *args, struct nsl_error *err)
{
    *args = (struct nsl_cli_args){0};
    struct command_line cl = {0};
    cl.positional = calloc((size_t)(argc > 0 ? argc : 1), sizeof *cl.positional);
    if (!cl.positional)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    int dev_next;
    nsl_err rc = split_command_line(argc, argv, &cl, &dev_next, err);
    args->url = first_set(cl.url, env ? env->url : NULL, NSL_CLI_DEFAULT_URL);
    args->api_key = first_set(cl.api_key, env ? env->api_key : NULL, NULL);
    args->key_file = cl.key_file;
    args->passphrase_file = cl.passphrase_file;
    args->passphrase = first_set(NULL, env ? env->passphrase : NULL, NULL);
    args->account = cl.account;
    args->env_account = first_set(NULL, env ? env->account : NULL, NULL);
    args->json = cl.json;
    args->print_request = cl.print_request;
    args->seal = cl.no_seal ? NSL_CLI_SEAL_NEVER
                 : cl.seal  ? NSL_CLI_SEAL_ALWAYS
                            : NSL_CLI_SEAL_AUTO;
    args->allow_simulated = cl.allow_simulated;
    args->allow_debug = cl.allow_debug;
    args->npcrs = cl.npcrs;
    memcpy(args->pcrs, cl.pcrs, sizeof args->pcrs);
    if (rc != NSL_OK) {
        /* keep the flags seen so far: --json still shapes how the refusal is printed */
    } else if (dev_next >= 0) {
        args->action = NSL_CLI_DEV;
        args->next = dev_next;
    } else if (cl.version) {
        args->action = NSL_CLI_VERSION;
    } else if (cl.help && cl.npositional == 0) {
        args->action = NSL_CLI_HELP;
    } else if (cl.help && cl.npositional == 1) {
        args->action = NSL_CLI_SERVICE_HELP;
        rc = find_service(cl.positional[0], &args->route, err);
    } else {
        rc = build_request(&cl, args, err);
    }
    free(cl.positional);
    return rc;
}

void nsl_cli_args_free(struct nsl_cli_args *args)
{
    json_decref(args->params);
    args->params = NULL;
}
