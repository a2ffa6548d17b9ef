/* Error codes shared by every component (ARCHITECTURE §2) and a small error record that carries a
 * client-safe message next to the code. */
#ifndef NSL_COMMON_ERRORS_H
#define NSL_COMMON_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum nsl_err {
#define NSL_ERROR(name, rpc, desc) NSL_ERR_##name,
#include "common/errors.def"
#undef NSL_ERROR
    NSL_ERR_COUNT
} nsl_err;

#define NSL_OK NSL_ERR_OK

/* An error as a client sees it: a code and a message that never holds secret material. */
struct nsl_error {
    nsl_err code;
    char message[256];
};

const char *nsl_err_name(nsl_err code);
const char *nsl_err_description(nsl_err code);
int nsl_err_jsonrpc_code(nsl_err code);
/* Returns true and sets *code when name is one of the codes above. */
bool nsl_err_from_name(const char *name, nsl_err *code);

/* Records code and a printf-style message in err (which may be NULL) and returns code, so that a
 * failure is one line: return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "field %s ...", name); */
nsl_err nsl_fail(struct nsl_error *err, nsl_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns from the calling function when expr yields an error. */
#define NSL_TRY(expr)                                                                              \
    do {                                                                                           \
        nsl_err nsl_try_err_ = (expr);                                                             \
        if (nsl_try_err_ != NSL_OK)                                                                \
            return nsl_try_err_;                                                                   \
    } while (0)

#endif
