/* nsl attest ... (see attest_cmd.h and docs/attestation.md). One table of options and one of
 * commands drive parsing and help. Failures print "error: CODE: message" like the rest of nsl:
 * INVALID_REQUEST (a bad command line) exits 2, anything else (including a document that does
 * not verify) 1. */
#include "cli/attest_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attest/verify.h"
#include "cli/args.h"
#include "cli/auth.h"
#include "cli/output.h"
#include "cli/rpc.h"
#include "common/encoding.h"
#include "common/errors.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

enum opt {
    OPT_JSON,
    OPT_HELP,
    OPT_AT,
    OPT_NONCE,
    OPT_PCR,
    OPT_ALLOW_DEBUG,
    OPT_ALLOW_SIMULATED,
    OPT_OUT,
    OPT_URL,
    OPT_COUNT
};

struct option_spec {
    const char *name;
    const char *arg; /* NULL for a flag */
    const char *help;
};

static const struct option_spec options[OPT_COUNT] = {
    [OPT_JSON] = {"json", NULL, "print the result (or the error object) as JSON"},
    [OPT_HELP] = {"help", NULL, "this help"},
    [OPT_AT] = {"at", "UNIX", "check the certificates as of this time (seconds); default now"},
    [OPT_NONCE] = {"nonce", "HEX", "the nonce the document must carry (up to 512 bytes)"},
    [OPT_PCR] = {"pcr", "N=HEX", "PCR N must equal HEX (96 digits); repeatable"},
    [OPT_ALLOW_DEBUG] = {"allow-debug", NULL, "accept a debug-mode enclave (PCR0 zero)"},
    [OPT_ALLOW_SIMULATED] = {"allow-simulated", NULL,
                             "accept a simulated document (dev stack only; not an enclave)"},
    [OPT_OUT] = {"out", "FILE", "write the document's bytes to FILE (- for stdout)"},
    [OPT_URL] = {"url", "URL",
                 "the parent's base URL (default $NSL_URL or " NSL_CLI_DEFAULT_URL ")"},
};

#define BIT(o) (1u << (o))

struct ctx {
    bool json;
    bool set[OPT_COUNT];
    const char *val[OPT_COUNT];
    const char *pcrs[NSL_ATTEST_MAX_PCRS]; /* every --pcr value */
    int npcrs;
    const char *words[3]; /* "verify"|"get", then the file */
    int nwords;
    bool reported; /* the failure was already printed (an error object from the server) */
};

struct command {
    const char *word;
    unsigned options;
    int nargs; /* positional arguments after the word */
    const char *usage;
    const char *summary;
    nsl_err (*run)(struct ctx *c, struct nsl_error *err);
};

static nsl_err oom(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static const char *skip_0x(const char *s)
{
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? s + 2 : s;
}

/* ---- input -------------------------------------------------------------------------------- */

static nsl_err parse_nonce(const char *text, uint8_t *out, size_t *len, struct nsl_error *err)
{
    const char *hex = skip_0x(text);
    size_t n = strlen(hex);
    if (n == 0 || n > 2 * NSL_ATTEST_MAX_NONCE ||
        nsl_hex_decode(hex, n, out, NSL_ATTEST_MAX_NONCE, len) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "--nonce must be an even number of hex digits, 1..%d bytes",
                        NSL_ATTEST_MAX_NONCE);
    return NSL_OK;
}

static nsl_err parse_at(const char *text, int64_t *at, struct nsl_error *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0 || text[0] == '-' || text[0] == '+')
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--at must be a unix time in seconds");
    *at = (int64_t)v;
    return NSL_OK;
}

static nsl_err parse_pcr(const char *text, struct nsl_attest_policy *policy, struct nsl_error *err)
{
    const char *eq = strchr(text, '=');
    char *end = NULL;
    errno = 0;
    unsigned long index = eq && eq != text && text[0] >= '0' && text[0] <= '9'
                              ? strtoul(text, &end, 10)
                              : NSL_ATTEST_MAX_PCRS;
    if (!eq || end != eq || errno != 0 || index >= NSL_ATTEST_MAX_PCRS)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--pcr takes N=HEX with N in 0..%d",
                        NSL_ATTEST_MAX_PCRS - 1);
    if (policy->pcr_mask & (1u << index))
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--pcr %lu given twice", index);
    if (nsl_attest_policy_expect_pcr(policy, (unsigned)index, skip_0x(eq + 1)) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--pcr %lu: the value must be %d hex digits",
                        index, 2 * NSL_ATTEST_PCR_LEN);
    return NSL_OK;
}

/* Reads at most cap bytes of path (- for stdin); *len = cap + 1 means "more than cap". */
static nsl_err read_input(const char *path, uint8_t *buf, size_t cap, size_t *len,
                          struct nsl_error *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "cannot open %.200s: %s", path,
                        strerror(errno));
    *len = 0;
    int saved = 0;
    while (*len <= cap) {
        ssize_t got = read(fd, buf + *len, cap + 1 - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            saved = got < 0 ? errno : 0;
            break;
        }
        *len += (size_t)got;
    }
    if (!is_stdin)
        close(fd);
    if (saved != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "cannot read %.200s: %s", path,
                        strerror(saved));
    return NSL_OK;
}

/* ---- verify ------------------------------------------------------------------------------- */

static json_t *hex_or_null(const struct nsl_attest_blob *b)
{
    if (!b->data)
        return json_null();
    char *hex = nsl_hex_encode_alloc(b->data, b->len);
    json_t *v = hex ? json_string(hex) : NULL;
    free(hex);
    return v;
}

static json_t *base64_of(const struct nsl_attest_blob *b)
{
    char *text = nsl_base64_encode_alloc(b->data, b->len);
    json_t *v = text ? json_string(text) : NULL;
    free(text);
    return v;
}

static json_t *time_text(int64_t seconds, unsigned millis)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    char when[80] = "?";
    if (gmtime_r(&t, &tm))
        snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return json_string(when);
}

/* PCRs as {"<index>": hex}: every one, or only those not all zero. */
static json_t *pcrs_object(const struct nsl_attest_document *doc, bool nonzero_only)
{
    json_t *o = json_object();
    for (unsigned i = 0; o && i < NSL_ATTEST_MAX_PCRS; i++) {
        if (!(doc->pcr_mask & (1u << i)) ||
            (nonzero_only && nsl_attest_document_pcr_is_zero(doc, i)))
            continue;
        char key[8], hex[2 * NSL_ATTEST_PCR_LEN + 1];
        snprintf(key, sizeof key, "%u", i);
        nsl_hex_encode(doc->pcrs[i], NSL_ATTEST_PCR_LEN, hex);
        if (json_object_set_new(o, key, json_string(hex)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The readable summary (full = false) or every decoded field (full = true, for --json). */
static json_t *result_json(const struct nsl_attest_result *r, bool full)
{
    const struct nsl_attest_document *d = &r->doc;
    json_t *o = json_pack(
        "{s:b, s:s, s:s, s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:o}", "valid", 1, "mode",
        nsl_attest_mode_name(r->mode), "module_id", d->module_id, "timestamp",
        (json_int_t)d->timestamp_ms, "time",
        time_text((int64_t)(d->timestamp_ms / 1000), (unsigned)(d->timestamp_ms % 1000)),
        "verifiedAt", (json_int_t)r->at, "verifiedAtTime", time_text(r->at, 0),
        full ? "pcrs" : "pcrsSet", pcrs_object(d, !full), "public_key", hex_or_null(&d->public_key),
        "user_data", hex_or_null(&d->user_data), "nonce", hex_or_null(&d->nonce));
    if (!o || !full)
        return o;
    json_t *bundle = json_array();
    for (size_t i = 0; bundle && i < d->cabundle_len; i++)
        if (json_array_append_new(bundle, base64_of(&d->cabundle[i])) != 0) {
            json_decref(bundle);
            bundle = NULL;
        }
    char sig[2 * NSL_ATTEST_SIGNATURE_LEN + 1];
    nsl_hex_encode(d->signature, sizeof d->signature, sig);
    if (!bundle || json_object_set_new(o, "digest", json_string(d->digest)) != 0 ||
        json_object_set_new(o, "tagged", json_boolean(d->tagged)) != 0 ||
        json_object_set_new(o, "certificate", base64_of(&d->certificate)) != 0 ||
        json_object_set_new(o, "cabundle", bundle) != 0 ||
        json_object_set_new(o, "signature", json_string(sig)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static nsl_err build_policy(const struct ctx *c, struct nsl_attest_policy *p, uint8_t *nonce,
                            struct nsl_error *err)
{
    memset(p, 0, sizeof *p);
    if (c->val[OPT_AT]) {
        NSL_TRY(parse_at(c->val[OPT_AT], &p->at, err));
        p->at_set = true;
    }
    if (c->val[OPT_NONCE]) {
        NSL_TRY(parse_nonce(c->val[OPT_NONCE], nonce, &p->nonce_len, err));
        p->nonce = nonce;
    }
    for (int i = 0; i < c->npcrs; i++)
        NSL_TRY(parse_pcr(c->pcrs[i], p, err));
    p->allow_debug = c->set[OPT_ALLOW_DEBUG];
    p->allow_simulated = c->set[OPT_ALLOW_SIMULATED];
    return NSL_OK;
}

static nsl_err run_verify(struct ctx *c, struct nsl_error *err)
{
    struct nsl_attest_policy policy;
    uint8_t nonce[NSL_ATTEST_MAX_NONCE];
    NSL_TRY(build_policy(c, &policy, nonce, err));
    static uint8_t doc[NSL_ATTEST_MAX_DOCUMENT + 1];
    size_t len = 0;
    NSL_TRY(read_input(c->words[1], doc, NSL_ATTEST_MAX_DOCUMENT, &len, err));
    struct nsl_attest_result result;
    NSL_TRY(nsl_attest_verify(doc, len, &policy, &result, err));
    json_t *out = result_json(&result, c->json);
    nsl_attest_result_free(&result);
    if (!out)
        return oom(err);
    if (c->json)
        nsl_cli_output_json(stdout, out);
    else
        nsl_cli_output_readable(stdout, out);
    json_decref(out);
    return NSL_OK;
}

/* ---- get ---------------------------------------------------------------------------------- */

static nsl_err write_output(const char *path, const uint8_t *data, size_t len,
                            struct nsl_error *err)
{
    bool is_stdout = strcmp(path, "-") == 0;
    int fd = is_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "cannot create %.200s: %s", path,
                        strerror(errno));
    size_t done = 0;
    int saved = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            saved = n < 0 ? errno : EIO;
            break;
        }
        done += (size_t)n;
    }
    if (!is_stdout && close(fd) != 0 && saved == 0)
        saved = errno;
    if (saved != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot write %.200s: %s", path, strerror(saved));
    return NSL_OK;
}

/* The call's result {document (base64), mode, hpkePublicKey, signerPublicKey}: writes the
 * document and returns what to show. */
static nsl_err save_document(const struct ctx *c, const json_t *result, json_t **shown,
                             struct nsl_error *err)
{
    const char *b64 = json_is_object(result) ? nsl_json_str(result, "document") : NULL;
    if (!b64)
        return nsl_fail(err, NSL_ERR_INTERNAL, "the answer has no \"document\" string");
    static uint8_t doc[NSL_ATTEST_MAX_DOCUMENT];
    size_t len = 0, b64len = strlen(b64);
    if (nsl_base64_decoded_max(b64len) > sizeof doc + 2 ||
        nsl_base64_decode(b64, b64len, doc, sizeof doc, &len) != 0 || len == 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "the answer's document is not base64 of 1..%d bytes",
                        NSL_ATTEST_MAX_DOCUMENT);
    NSL_TRY(write_output(c->val[OPT_OUT], doc, len, err));
    json_t *o = json_pack("{s:s, s:I}", "out", c->val[OPT_OUT], "bytes", (json_int_t)len);
    const char *names[] = {"mode", "hpkePublicKey", "signerPublicKey"};
    for (size_t i = 0; o && i < sizeof names / sizeof *names; i++) {
        const json_t *v = json_object_get(result, names[i]);
        if (json_is_string(v) && json_object_set(o, names[i], (json_t *)v) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    *shown = o;
    return o ? NSL_OK : oom(err);
}

static nsl_err call_get_document(const struct ctx *c, const char *nonce_hex,
                                 struct nsl_cli_reply *reply, struct nsl_error *err)
{
    const char *url = c->val[OPT_URL] ? c->val[OPT_URL] : getenv("NSL_URL");
    struct nsl_cli_endpoint ep;
    NSL_TRY(nsl_cli_endpoint_init(url ? url : NSL_CLI_DEFAULT_URL, &ep, err));
    const char *api_key = getenv("NSL_API_KEY");
    char *auth = api_key && *api_key ? nsl_cli_apikey_header(api_key) : NULL;
    json_t *params = json_pack("{s:s}", "nonce", nonce_hex);
    char *body = params ? nsl_cli_rpc_body("attestation", "getDocument", params) : NULL;
    nsl_err rc = (api_key && *api_key && !auth) || !body ? NSL_ERR_INTERNAL
                                                         : nsl_cli_rpc_call(&ep, auth, body, reply);
    if (rc != NSL_OK)
        rc = oom(err);
    free(body);
    json_decref(params);
    nsl_cli_header_free(auth);
    nsl_cli_endpoint_free(&ep);
    return rc;
}

static nsl_err run_get(struct ctx *c, struct nsl_error *err)
{
    if (!c->val[OPT_NONCE] || !c->val[OPT_OUT])
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "nsl attest get needs --nonce and --out");
    uint8_t nonce[NSL_ATTEST_MAX_NONCE];
    size_t nonce_len = 0;
    NSL_TRY(parse_nonce(c->val[OPT_NONCE], nonce, &nonce_len, err));
    char hex[2 * NSL_ATTEST_MAX_NONCE + 1];
    nsl_hex_encode(nonce, nonce_len, hex);
    struct nsl_cli_reply reply = {0};
    NSL_TRY(call_get_document(c, hex, &reply, err));
    json_t *shown = NULL;
    nsl_err rc;
    if (reply.error) { /* shown as received, like any other nsl call */
        nsl_cli_output_error(stderr, reply.error);
        if (c->json)
            nsl_cli_output_json(stdout, reply.error);
        c->reported = true;
        rc = nsl_fail(err, NSL_ERR_UNAVAILABLE, "the call failed");
    } else {
        rc = save_document(c, reply.result, &shown, err);
    }
    nsl_cli_reply_free(&reply);
    if (rc != NSL_OK)
        return rc;
    FILE *out = strcmp(c->val[OPT_OUT], "-") == 0 ? stderr : stdout;
    if (c->json)
        nsl_cli_output_json(out, shown);
    else
        nsl_cli_output_readable(out, shown);
    json_decref(shown);
    return NSL_OK;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static const struct command commands[] = {
    {"verify",
     BIT(OPT_AT) | BIT(OPT_NONCE) | BIT(OPT_PCR) | BIT(OPT_ALLOW_DEBUG) | BIT(OPT_ALLOW_SIMULATED),
     1,
     "verify [--at UNIX] [--nonce HEX] [--pcr N=HEX]... [--allow-debug] [--allow-simulated] "
     "FILE|-",
     "verify an attestation document; exit 0 only when it is valid", run_verify},
    {"get", BIT(OPT_NONCE) | BIT(OPT_OUT) | BIT(OPT_URL), 0,
     "get --nonce HEX --out FILE [--url URL]",
     "fetch the enclave's attestation document for a nonce (not verified: run verify)", run_get},
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

static void print_help(FILE *out)
{
    fprintf(out, "usage: nsl attest <command> [options] [--json]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  nsl attest %s\n      %s\n", commands[i].usage, commands[i].summary);
    fprintf(out, "\noptions:\n");
    for (int o = 0; o < OPT_COUNT; o++) {
        char left[40];
        snprintf(left, sizeof left, "--%s%s%s", options[o].name, options[o].arg ? " " : "",
                 options[o].arg ? options[o].arg : "");
        fprintf(out, "  %-22s %s\n", left, options[o].help);
    }
}

static nsl_err parse_option(int argc, char **argv, int *i, struct ctx *c, struct nsl_error *err)
{
    const char *a = argv[*i], *name = a + 2;
    if (strcmp(a, "-h") == 0)
        name = "help";
    else if (a[1] != '-')
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "unknown option %.40s", a);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int o = 0;
    while (o < OPT_COUNT &&
           !(strlen(options[o].name) == len && strncmp(options[o].name, name, len) == 0))
        o++;
    if (o == OPT_COUNT)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "unknown option --%.*s (nsl attest --help)",
                        (int)(len > 40 ? 40 : len), name);
    if (c->set[o] && o != OPT_PCR)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--%s given twice", options[o].name);
    c->set[o] = true;
    if (!options[o].arg)
        return eq ? nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--%s takes no value", options[o].name)
                  : NSL_OK;
    const char *v = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!v)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--%s needs a value (%s)", options[o].name,
                        options[o].arg);
    if (o == OPT_PCR) {
        if (c->npcrs == NSL_ATTEST_MAX_PCRS)
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "--pcr given more than %d times",
                            NSL_ATTEST_MAX_PCRS);
        c->pcrs[c->npcrs++] = v;
    }
    c->val[o] = v;
    return NSL_OK;
}

/* Options anywhere after "attest"; "--" ends them; the words are the command and its file. */
static nsl_err parse_command_line(int argc, char **argv, struct ctx *c, struct nsl_error *err)
{
    bool options_done = false, seen_attest = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!seen_attest && strcmp(a, "attest") == 0) {
            seen_attest = true;
        } else if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (c->nwords == (int)(sizeof c->words / sizeof *c->words))
                return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "unexpected argument %.40s", a);
            c->words[c->nwords++] = a;
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else {
            NSL_TRY(parse_option(argc, argv, &i, c, err));
        }
    }
    c->json = c->set[OPT_JSON];
    return NSL_OK;
}

static nsl_err dispatch(int argc, char **argv, struct ctx *c, const struct command **cmd,
                        struct nsl_error *err)
{
    NSL_TRY(parse_command_line(argc, argv, c, err));
    if (c->nwords == 0 && c->set[OPT_HELP]) {
        print_help(stdout);
        return NSL_OK;
    }
    if (c->nwords == 0)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "nsl attest needs a command: verify or get (nsl attest --help)");
    for (size_t i = 0; i < NCOMMANDS && !*cmd; i++)
        if (strcmp(commands[i].word, c->words[0]) == 0)
            *cmd = &commands[i];
    if (!*cmd)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST,
                        "unknown command \"%.40s\": verify or get (nsl attest --help)",
                        c->words[0]);
    if (c->set[OPT_HELP]) {
        printf("usage: nsl attest %s [--json]\n%s\n", (*cmd)->usage, (*cmd)->summary);
        return NSL_OK;
    }
    for (int o = OPT_AT; o < OPT_COUNT; o++)
        if (c->set[o] && !((*cmd)->options & BIT(o)))
            return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "nsl attest %s does not take --%s",
                            (*cmd)->word, options[o].name);
    if (c->nwords - 1 != (*cmd)->nargs)
        return nsl_fail(err, NSL_ERR_INVALID_REQUEST, "nsl attest %s takes %d argument%s",
                        (*cmd)->word, (*cmd)->nargs, (*cmd)->nargs == 1 ? "" : "s");
    return (*cmd)->run(c, err);
}

static int report(bool json, const struct nsl_error *err)
{
    return nsl_cli_output_failure(json, err,
                                  err->code == NSL_ERR_INVALID_REQUEST ? EXIT_USAGE : EXIT_FAILED);
}

bool nsl_cli_attest_is_command(int argc, char **argv)
{
    int i = 1;
    while (i < argc && strcmp(argv[i], "--json") == 0)
        i++;
    return i < argc && strcmp(argv[i], "attest") == 0;
}

int nsl_cli_attest_main(int argc, char **argv)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    struct nsl_error err = {NSL_ERR_INTERNAL, "out of memory"};
    const struct command *cmd = NULL;
    if (dispatch(argc, argv, &c, &cmd, &err) == NSL_OK)
        return EXIT_OK;
    if (c.reported)
        return EXIT_FAILED;
    int status = report(c.json, &err);
    if (status == EXIT_USAGE && cmd)
        fprintf(stderr, "usage: nsl attest %s [--json]\n", cmd->usage);
    return status;
}
