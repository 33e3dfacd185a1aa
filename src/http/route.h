/* route.h - what a request asks for: its path mapped to a route (an API
 * resource, a plugin and its action, or an embedded asset), its method, and
 * whether its body is JSON. Owns nothing; thread-safe (constant tables).
 * Called by the server's pool threads (server.c). */
#ifndef PH_HTTP_ROUTE_H
#define PH_HTTP_ROUTE_H

#include <stdbool.h>

#include "core/config.h"
#include "http/assets.h"
#include "http/metrics.h"

enum method { METHOD_GET, METHOD_HEAD, METHOD_POST, METHOD_PUT, METHOD_OTHER };

/* A request's target. */
struct route {
        enum metrics_route id;
        char name[CONFIG_NAME_MAX]; /* a plugin's, from the path */
        const struct asset *asset;
};

/* Maps a path (already percent-decoded by libmicrohttpd) to a route.
 * Static files are only those of the embedded table, by exact path, so no
 * path can name anything else ("..", encoded or not, finds nothing). */
void route_find(const char *path, struct route *route);

/* Poll, reload, reset: POST only, always with the token. */
bool route_is_action(enum metrics_route id);

enum method route_parse_method(const char *method);

/* application/json, with or without parameters. */
bool route_is_json_type(const char *content_type);

#endif
