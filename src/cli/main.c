/* nsl, the command-line client: `nsl dev ...` runs the dev stack, anything else is one JSON-RPC
 * call to the parent's API (docs/cli.md). Exit status: 0 success, 1 the call failed, 2 refused
 * locally before anything was sent. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/args.h"
#include "cli/attest_cmd.h"
#include "cli/auth.h"
#include "cli/completion.h"
#include "cli/dev.h"
#include "cli/help.h"
#include "cli/neo_cmd.h"
#include "cli/receipt_cmd.h"
#include "cli/output.h"
#include "cli/rpc.h"
#include "cli/seal.h"
#include "common/routes.h"
#include "crypto/secret.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_REFUSED = 2 };

static int report(const struct nsl_cli_args *args, const struct nsl_error *err, int status)
{
    return nsl_cli_output_failure(args->json, err, status);
}

static int show_reply(const struct nsl_cli_args *args, const struct nsl_cli_reply *reply)
{
    if (reply->error) {
        nsl_cli_output_error(stderr, reply->error);
        if (args->json)
            nsl_cli_output_json(stdout, reply->error);
        return EXIT_FAILED;
    }
    if (args->json)
        nsl_cli_output_json(stdout, reply->result);
    else
        nsl_cli_output_readable(stdout, reply->result);
    return EXIT_OK;
}

/* The Authorization header's value (NULL: none): the API key as it is, or a neo-sig signature
 * of this request's params (sealed or not, as sent) made now with the key from --key. */
static nsl_err authorization(const struct nsl_cli_args *args, const struct nsl_route *r,
                             const json_t *params, char **value, struct nsl_error *err)
{
    *value = NULL;
    if (args->api_key) {
        *value = nsl_cli_apikey_header(args->api_key);
        return *value ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    if (!args->key_file)
        return NSL_OK;
    nsl_secure_heap_init(1 << 20); /* else the normal heap, still wiped */
    struct nsl_cli_key_source src = {args->key_file, args->passphrase_file, args->passphrase,
                                     args->account, args->env_account};
    struct nsl_cli_signer signer;
    NSL_TRY(nsl_cli_signer_load(&src, &signer, err));
    nsl_err rc = nsl_cli_signer_authorization(&signer, r->service, r->operation, params,
                                              (int64_t)time(NULL), value, err);
    nsl_cli_signer_free(&signer);
    return rc;
}

static int send_request(const struct nsl_cli_args *args, const struct nsl_cli_endpoint *ep,
                        const struct nsl_cli_sealing *sealing, const char *auth, const char *body)
{
    struct nsl_error err = {NSL_ERR_INTERNAL, "out of memory"};
    if (args->print_request) {
        nsl_cli_rpc_print_request(stdout, ep, auth, body);
        return EXIT_OK;
    }
    struct nsl_cli_reply reply;
    if (nsl_cli_rpc_call(ep, auth, body, &reply) != NSL_OK)
        return report(args, &err, EXIT_FAILED);
    int status = nsl_cli_seal_reply(sealing, &nsl_routes[args->route], &reply, &err) == NSL_OK
                     ? show_reply(args, &reply)
                     : report(args, &err, EXIT_FAILED);
    nsl_cli_reply_free(&reply);
    return status;
}

/* Sensitive operations (and any with --seal) go sealed to the attested enclave: a bad policy is
 * refused locally (2); an enclave that does not attest gets nothing (1). -1: carry on. */
static int seal_params(const struct nsl_cli_args *args, const struct nsl_cli_endpoint *ep,
                       struct nsl_cli_sealing *sealing)
{
    const struct nsl_route *r = &nsl_routes[args->route];
    struct nsl_attest_policy policy;
    struct nsl_error err = {0};
    if (!nsl_cli_seal_wanted(r, args->seal))
        return -1;
    nsl_secure_heap_init(1 << 20); /* for the reply key */
    if (nsl_cli_seal_policy(args, getenv("NSL_ALLOW_SIMULATED"), getenv("NSL_PCRS"), &policy,
                            &err) != NSL_OK)
        return report(args, &err, EXIT_REFUSED);
    if (nsl_cli_seal_request(ep, &policy, r, args->params, sealing, &err) != NSL_OK)
        return report(args, &err, EXIT_FAILED);
    return -1;
}

static int sign_and_send(const struct nsl_cli_args *args, const struct nsl_cli_endpoint *ep,
                         const struct nsl_cli_sealing *sealing)
{
    const struct nsl_route *r = &nsl_routes[args->route];
    /* Signed over the params as the body carries them: sealed or not. */
    const json_t *params = sealing->params ? sealing->params : args->params;
    struct nsl_error err = {0};
    char *auth = NULL, *body = NULL;
    int status;
    if (authorization(args, r, params, &auth, &err) != NSL_OK)
        status = report(args, &err, err.code == NSL_ERR_INTERNAL ? EXIT_FAILED : EXIT_REFUSED);
    else if (!(body = nsl_cli_rpc_body(r->service, r->operation, params)))
        status = report(args, &(struct nsl_error){NSL_ERR_INTERNAL, "out of memory"}, EXIT_FAILED);
    else
        status = send_request(args, ep, sealing, auth, body);
    free(body);
    nsl_cli_header_free(auth);
    return status;
}

static int run_rpc(const struct nsl_cli_args *args)
{
    struct nsl_cli_endpoint ep;
    struct nsl_error err = {0};
    if (nsl_cli_endpoint_init(args->url, &ep, &err) != NSL_OK)
        return report(args, &err, err.code == NSL_ERR_INTERNAL ? EXIT_FAILED : EXIT_REFUSED);
    struct nsl_cli_sealing sealing = {0};
    int status = seal_params(args, &ep, &sealing);
    if (status < 0)
        status = sign_and_send(args, &ep, &sealing);
    nsl_cli_sealing_free(&sealing);
    nsl_cli_endpoint_free(&ep);
    return status;
}

static int run(int argc, char **argv)
{
    if (nsl_cli_neo_is_command(argc, argv)) /* offline: nothing of the RPC path applies */
        return nsl_cli_neo_main(argc, argv);
    if (nsl_cli_attest_is_command(argc, argv)) /* offline verify, or its own fetch */
        return nsl_cli_attest_main(argc, argv);
    if (nsl_cli_receipt_is_command(argc, argv)) /* offline */
        return nsl_cli_receipt_main(argc, argv);
    if (nsl_cli_completion_is_command(argc, argv)) /* offline */
        return nsl_cli_completion_main(argc, argv);
    struct nsl_cli_env env = {getenv("NSL_URL"), getenv("NSL_API_KEY"), getenv("NSL_ACCOUNT"),
                              getenv("NSL_KEY_PASSPHRASE")};
    struct nsl_cli_args args;
    struct nsl_error err = {0};
    if (nsl_cli_args_parse(argc, argv, &env, &args, &err) != NSL_OK)
        return report(&args, &err, err.code == NSL_ERR_INTERNAL ? EXIT_FAILED : EXIT_REFUSED);
    int status = EXIT_OK;
    switch (args.action) {
    case NSL_CLI_HELP:
        nsl_cli_help_print(stdout);
        break;
    case NSL_CLI_SERVICE_HELP:
        nsl_cli_help_print_service(stdout, args.route);
        break;
    case NSL_CLI_OP_HELP:
        nsl_cli_help_print_operation(stdout, args.route);
        break;
    case NSL_CLI_VERSION:
        printf("nsl %s\n", NSL_VERSION);
        break;
    case NSL_CLI_DEV:
        status = nsl_cli_dev_main(argc - args.next, argv + args.next);
        break;
    case NSL_CLI_RPC:
        status = run_rpc(&args);
        break;
    }
    nsl_cli_args_free(&args);
    return status;
}

int main(int argc, char **argv)
{
    nsl_json_wipe_on_free(); /* key files, WIFs and results pass through jansson */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "error: INTERNAL: cannot initialise libcurl\n");
        return EXIT_FAILED;
    }
    int status = run(argc, argv);
    curl_global_cleanup();
    if (fflush(stdout) != 0 && status == EXIT_OK)
        status = EXIT_FAILED; /* a full disk or closed pipe must not look like success */
    return status;
}
