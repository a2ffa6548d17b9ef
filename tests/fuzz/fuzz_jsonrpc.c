/* Fuzzes the parent's HTTP input: the Authorization header (the input up to its first newline,
 * when it has one; a header cannot hold a newline) and the JSON-RPC body (the rest). Each call
 * that parsed is then turned into its enclave request frame, as the parent forwards it. */
#include "fuzz.h"
#include "parent/jsonrpc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    char *header = nl ? fuzz_cstr(data, (size_t)(nl - data)) : NULL;
    const uint8_t *body = nl ? nl + 1 : data;
    size_t body_len = nl ? size - (size_t)(nl + 1 - data) : size;

    struct nsl_buf auth = {0};
    struct nsl_error err = {0};
    nsl_err rc = nsl_jsonrpc_parse_auth(header, &auth, &err);
    FUZZ_CHECK(rc == NSL_OK || (rc == NSL_ERR_UNAUTHENTICATED && auth.len == 0));
    if (auth.len) { /* the enclave parses it: one object */
        json_t *parsed =
            json_loadb((const char *)auth.data, auth.len, JSON_REJECT_DUPLICATES, NULL);
        FUZZ_CHECK(json_is_object(parsed));
        json_decref(parsed);
    }

    struct nsl_rpc_batch batch;
    if (nsl_jsonrpc_parse((const char *)body, body_len, 16, &batch) == 0 && !batch.failed) {
        FUZZ_CHECK(batch.count <= 16);
        for (size_t i = 0; i < batch.count; i++) {
            const struct nsl_rpc_call *call = &batch.calls[i];
            (void)nsl_jsonrpc_call_answered(call);
            if (call->failed)
                continue;
            size_t len = 0;
            char *frame = nsl_jsonrpc_enclave_request(call, "fuzz-1", "fuzz.0", &auth, &len);
            FUZZ_CHECK(frame != NULL && strlen(frame) == len);
            /* Rendered as text: it must still be one object with the call's fields. */
            json_t *parsed = json_loadb(frame, len, JSON_REJECT_DUPLICATES, NULL);
            FUZZ_CHECK(json_is_object(parsed));
            json_t *params = json_object_get(parsed, "params");
            FUZZ_CHECK(call->params ? json_equal(params, call->params)
                                    : json_is_object(params) && json_object_size(params) == 0);
            const char *op = json_string_value(json_object_get(parsed, "operation"));
            FUZZ_CHECK(op && strcmp(op, call->method + call->service_len + 1) == 0);
            json_decref(parsed);
            free(frame);
        }
    }
    nsl_jsonrpc_batch_free(&batch);
    nsl_buf_free_wipe(&auth);
    free(header);
    return 0;
}
