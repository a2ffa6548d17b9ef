/* Help texts (see help.h). */
#include "cli/help.h"

#include <inttypes.h>
#include <string.h>

#include "cli/args.h"
#include "common/routes.h"

static const char usage[] =
    "Usage: nsl [OPTIONS] <service> <operation> [key=value ... | --params JSON]\n"
    "       nsl <service> --help | nsl <service> <operation> --help\n"
    "       nsl dev up --state DIR [--http HOST:PORT] [--log-level LEVEL] [--background]\n"
    "       nsl dev down --state DIR\n"
    "       nsl neo ... | nsl attest ... | nsl function verify-receipt ...  (offline; see --help)\n"
    "       nsl completion bash   (source <(nsl completion bash) to complete nsl's words)\n"
    "\n"
    "Calls one operation of the Neo Service Layer through the parent's JSON-RPC API.\n"
    "\n"
    "Options:\n"
    "  --url URL          API base URL (env NSL_URL; default " NSL_CLI_DEFAULT_URL ")\n"
    "  --api-key KEY      send Authorization: NSL-APIKEY KEY (env NSL_API_KEY)\n"
    "  --key FILE         sign the request (neo-sig) with the key in FILE: a NEP-6 wallet\n"
    "                     or the admin.key that nsl dev up writes; not with --api-key\n"
    "  --account ID       account id for --key (else the file's accountId, env NSL_ACCOUNT)\n"
    "  --passphrase-file FILE  passphrase of a NEP-6 wallet's key (env NSL_KEY_PASSPHRASE;\n"
    "                     nsl never prompts)\n"
    "  --json             print the result (or the error object) as JSON on stdout\n"
    "  --params JSON      the whole params object instead of key=value pairs\n"
    "  --print-request    print the HTTP request instead of sending it (shows the API key\n"
    "                     or the signature, never a private key)\n"
    "  --allow-simulated  trust a simulated attestation document (dev stack only; env\n"
    "                     NSL_ALLOW_SIMULATED=1)\n"
    "  --allow-debug      trust a debug-mode Nitro enclave (PCR0 zero; never in production)\n"
    "  --pcr N=HEX        the enclave's PCR N must equal HEX; repeatable (env NSL_PCRS=\n"
    "                     \"0=HEX,1=HEX,2=HEX\")\n"
    "  --seal             seal the params to the attested enclave for any operation\n"
    "  --no-seal          send even sensitive params in the clear (debugging only)\n"
    "  --help, --version\n"
    "\n"
    "Sensitive operations (wallet.import, wallet.export, ...) are sealed end to end: nsl\n"
    "fetches and verifies the enclave's attestation document first (see --pcr) and refuses\n"
    "to send anything if it does not verify.\n"
    "\n"
    "key=value pairs are typed by the operation's schema (see nsl <service> <operation>\n"
    "--help): digits and strings stay text, integers and booleans become JSON numbers and\n"
    "booleans, objects and arrays are given as JSON. A value @FILE is read from FILE, @- from\n"
    "stdin (trailing newlines dropped); @@text means the literal @text.\n"
    "\n"
    "Lists (wallet list, account list, ...) are shown as aligned columns; colours only when\n"
    "stdout is a terminal and NO_COLOR is not set.\n"
    "\n"
    "Exit status: 0 success, 1 the request failed, 2 refused locally (bad command line).\n"
    "\n"
    "Operations:\n";

void nsl_cli_help_print(FILE *out)
{
    fputs(usage, out);
    size_t width = 0;
    for (size_t i = 0; i < nsl_route_count; i++) {
        size_t w = strlen(nsl_routes[i].service) + 1 + strlen(nsl_routes[i].operation);
        width = w > width ? w : width;
    }
    for (size_t i = 0; i < nsl_route_count; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        int w = (int)(strlen(r->service) + 1 + strlen(r->operation));
        fprintf(out, "  %s.%s%*s  %s\n", r->service, r->operation, (int)width - w, "", r->summary);
    }
}

static void print_limits(FILE *out, const struct nsl_field_spec *f)
{
    if (f->type == NSL_FIELD_INT) {
        fprintf(out, "%" PRId64 "..%" PRId64, f->min, f->max);
        return;
    }
    if (!f->max_len || f->type == NSL_FIELD_BOOL || f->type == NSL_FIELD_ANY) {
        fputs("no limit", out);
        return;
    }
    const char *unit = f->type == NSL_FIELD_DIGITS   ? "digits"
                       : f->type == NSL_FIELD_OBJECT ? "members"
                       : f->type == NSL_FIELD_ARRAY  ? "items"
                       : f->type == NSL_FIELD_STRING ? "bytes"
                                                     : "bytes decoded";
    fprintf(out, "at most %zu %s", f->max_len, unit);
}

/* How the operation's data travels, and who may call it. */
static void print_access(FILE *out, const struct nsl_route *r)
{
    fprintf(out, "Permission: %s%s\n", r->permission ? r->permission : "none (public)",
            r->flags & NSL_ROUTE_ADMIN ? " (admin: neo-sig only, sign with --key)" : "");
    unsigned sealed = r->flags & (NSL_ROUTE_SEALED_PARAMS | NSL_ROUTE_SEALED_RESULT);
    fprintf(out, "Sealed: %s\n",
            sealed == (NSL_ROUTE_SEALED_PARAMS | NSL_ROUTE_SEALED_RESULT)
                ? "params and result, end to end with the attested enclave (see nsl --help)"
            : sealed == NSL_ROUTE_SEALED_PARAMS
                ? "params, end to end to the attested enclave (see nsl --help)"
            : sealed ? "result, end to end from the attested enclave to nsl (see nsl --help)"
                     : "no (use --seal to seal it anyway)");
    fprintf(out, "Changes state: %s\n", r->flags & NSL_ROUTE_MUTATES ? "yes (audited)" : "no");
}

void nsl_cli_help_print_operation(FILE *out, size_t route)
{
    const struct nsl_route *r = &nsl_routes[route];
    fprintf(out, "Usage: nsl [OPTIONS] %s %s", r->service, r->operation);
    fprintf(out, "%s\n\n%s\n", r->params[0].name ? " [key=value ... | --params JSON]" : "",
            r->summary);
    print_access(out, r);
    fputc('\n', out);
    if (!r->params[0].name) {
        fputs("Parameters: none\n", out);
        return;
    }
    fputs("Parameters:\n", out);
    for (const struct nsl_field_spec *f = r->params; f->name; f++) {
        fprintf(out, "  %s (%s, %s; ", f->name, nsl_field_type_name(f->type),
                f->required ? "required" : "optional");
        print_limits(out, f);
        fprintf(out, ")%s%s\n", f->doc ? "\n      " : "", f->doc ? f->doc : "");
    }
}

/* "name=TYPE" for a required parameter, "[name=TYPE]" for an optional one. */
static void print_param_synopsis(FILE *out, const struct nsl_route *r)
{
    for (const struct nsl_field_spec *f = r->params; f->name; f++)
        fprintf(out, " %s%s=%s%s", f->required ? "" : "[", f->name, nsl_field_type_name(f->type),
                f->required ? "" : "]");
}

void nsl_cli_help_print_service(FILE *out, size_t route)
{
    const char *svc = nsl_routes[route].service;
    fprintf(out,
            "Usage: nsl [OPTIONS] %s <operation> [key=value ... | --params JSON]\n"
            "       nsl %s <operation> --help   (one operation's parameters in full)\n\n"
            "Operations of %s:\n",
            svc, svc, svc);
    for (size_t i = route; i < nsl_route_count && strcmp(nsl_routes[i].service, svc) == 0; i++) {
        const struct nsl_route *r = &nsl_routes[i];
        fprintf(out, "  %s", r->operation);
        print_param_synopsis(out, r);
        fprintf(out, "\n      %s\n      permission %s%s%s%s%s\n", r->summary,
                r->permission ? r->permission : "none (public)",
                r->flags & NSL_ROUTE_ADMIN ? ", admin (neo-sig)" : "",
                r->flags & NSL_ROUTE_SEALED_PARAMS ? ", params sealed" : "",
                r->flags & NSL_ROUTE_SEALED_RESULT ? ", result sealed" : "",
                r->flags & NSL_ROUTE_MUTATES ? ", changes state" : "");
    }
}
