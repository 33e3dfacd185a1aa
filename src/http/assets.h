/* assets.h - the dashboard's files, embedded in the binary at build time
 * (cmake/embed_assets.cmake writes the table from web/ and uPlot's
 * distribution files), so the page works with no internet and no files.
 *
 * Owns nothing at run time: a constant table, looked up by exact path, so
 * no request path can reach any other file. Thread-safe. */
#ifndef PH_HTTP_ASSETS_H
#define PH_HTTP_ASSETS_H

#include <stddef.h>

struct asset {
        const char *path; /* "/", "/assets/app.js", ... */
        const char *content_type;
        const unsigned char *data;
        size_t size;
        const char *etag; /* quoted, for ETag and If-None-Match */
};

extern const struct asset assets_table[];
extern const size_t assets_count;

/* The asset at exactly `path`, or NULL. */
const struct asset *assets_find(const char *path);

#endif
