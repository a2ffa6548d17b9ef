/* Names, descriptions and JSON-RPC codes of the error list in errors.def. */
#include "common/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int jsonrpc;
    const char *description;
} error_table[] = {
#define NSL_ERROR(name, rpc, desc) {#name, rpc, desc},
#include "common/errors.def"
#undef NSL_ERROR
};

const char *nsl_err_name(nsl_err code)
{
    if ((unsigned)code >= NSL_ERR_COUNT)
        return "INTERNAL";
    return error_table[code].name;
}

const char *nsl_err_description(nsl_err code)
{
    if ((unsigned)code >= NSL_ERR_COUNT)
        return error_table[NSL_ERR_INTERNAL].description;
    return error_table[code].description;
}

int nsl_err_jsonrpc_code(nsl_err code)
{
    if ((unsigned)code >= NSL_ERR_COUNT)
        return error_table[NSL_ERR_INTERNAL].jsonrpc;
    return error_table[code].jsonrpc;
}

bool nsl_err_from_name(const char *name, nsl_err *code)
{
    for (size_t i = 0; i < NSL_ERR_COUNT; i++) {
        if (strcmp(error_table[i].name, name) == 0) {
            *code = (nsl_err)i;
            return true;
        }
    }
    return false;
}

nsl_err nsl_fail(struct nsl_error *err, nsl_err code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}
