/* Fuzzes the enclave's request validation: nsl_router_prepare (JSON parse, envelope schema, route
 * lookup, params schema or sealed-params check) on arbitrary frame payloads. */
#include "enclave/router.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nsl_request req;
    struct nsl_error err = {0};
    nsl_err rc = nsl_router_prepare((const char *)data, size, &req, &err);
    if (rc == NSL_OK) {
        FUZZ_CHECK(req.id != NULL && req.params != NULL);
        (void)nsl_router_is_inline(&req);
    } else {
        FUZZ_CHECK(err.code == rc && strlen(err.message) < sizeof err.message);
    }
    nsl_request_free(&req);
    return 0;
}
