/* The dashboard's files (src/parent/dashboard/), compiled into nsl-parent by the build
 * (cmake/embed_assets.cmake writes the table): the binary serves exactly the page it was built
 * with, needs no install path, and never reads the filesystem to answer a request. */
#ifndef NSL_PARENT_WEB_ASSETS_H
#define NSL_PARENT_WEB_ASSETS_H

#include <stddef.h>

struct nsl_web_asset {
    const char *path; /* "/" for index.html, else "/<file name>" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

extern const struct nsl_web_asset nsl_web_assets[];
extern const size_t nsl_web_asset_count;

#endif
