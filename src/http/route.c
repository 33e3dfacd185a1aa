#include "http/route.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"

void route_find(const char *path, struct route *route) {
        static const struct {
                const char *path;
                enum metrics_route id;
        } fixed[] = {
                {"/api/health", ROUTE_HEALTH},   {"/api/readings", ROUTE_READINGS},
                {"/api/history", ROUTE_HISTORY}, {"/api/plugins", ROUTE_PLUGINS},
                {"/api/events", ROUTE_EVENTS},   {"/metrics", ROUTE_METRICS},
        };
        memset(route, 0, sizeof(*route));
        route->id = ROUTE_OTHER;
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
                if (strcmp(path, fixed[i].path) == 0) {
                        route->id = fixed[i].id;
                        return;
                }
        }
        route->asset = assets_find(path);
        if (route->asset != NULL) {
                route->id = strcmp(path, "/") == 0 ? ROUTE_DASHBOARD : ROUTE_ASSET;
                return;
        }
        static const char prefix[] = "/api/plugins/";
        if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
                return;
        const char *name = path + sizeof(prefix) - 1;
        const char *slash = strchr(name, '/');
        size_t length = slash != NULL ? (size_t)(slash - name) : strlen(name);
        if (!config_is_valid_name(name, length))
                return;
        memcpy(route->name, name, length);
        route->name[length] = '\0';
        if (slash == NULL)
                route->id = ROUTE_PLUGIN;
        else if (strcmp(slash, "/poll") == 0)
                route->id = ROUTE_PLUGIN_POLL;
        else if (strcmp(slash, "/reload") == 0)
                route->id = ROUTE_PLUGIN_RELOAD;
        else if (strcmp(slash, "/reset") == 0)
                route->id = ROUTE_PLUGIN_RESET;
        else if (strcmp(slash, "/settings") == 0)
                route->id = ROUTE_PLUGIN_SETTINGS;
}

bool route_is_action(enum metrics_route id) {
        return id == ROUTE_PLUGIN_POLL || id == ROUTE_PLUGIN_RELOAD || id == ROUTE_PLUGIN_RESET;
}

enum method route_parse_method(const char *method) {
        if (strcmp(method, "GET") == 0)
                return METHOD_GET;
        if (strcmp(method, "HEAD") == 0)
                return METHOD_HEAD;
        if (strcmp(method, "POST") == 0)
                return METHOD_POST;
        if (strcmp(method, "PUT") == 0)
                return METHOD_PUT;
        return METHOD_OTHER;
}

bool route_is_json_type(const char *content_type) {
        if (content_type == NULL)
                return false;
        static const char json[] = "application/json";
        size_t length = sizeof(json) - 1;
        return strncasecmp(content_type, json, length) == 0 &&
               (content_type[length] == '\0' || content_type[length] == ';' ||
                content_type[length] == ' ');
}
