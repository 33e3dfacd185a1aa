/* api.h - the JSON API's handlers: readings, history, plugins, and the
 * operator's actions (poll now, reload, leave quarantine).
 *
 * Owns nothing: reads answer from the app state alone (never a plugin's
 * lock); actions call the plugin layer and then the feed. Called from the
 * server's worker threads, after routing and authentication. */
#ifndef PH_HTTP_API_H
#define PH_HTTP_API_H

#include <jansson.h>
#include <stddef.h>

#include "core/app_state.h"
#include "http/feed.h"
#include "http/reply.h"
#include "plugin/plugin.h"
#include "plugin/reloader.h"
#include "store/history.h"

/* What the handlers work on; all borrowed. plugins[i] is the app state's
 * plugin i. */
struct api {
        struct app_state *state;
        struct feed *feed;
        struct plugin *const *plugins;
        size_t plugin_count;
        struct reloader *reloader;
        unsigned reload_debounce_ms;
        int64_t started_ms;
        bool (*get_history_stats)(struct history_stats *ret_stats); /* NULL: no history */
};

enum api_action { API_ACTION_POLL, API_ACTION_RELOAD, API_ACTION_RESET };

/* An operator action's optional body: empty, or a JSON object with an
 * optional "reason" (a string of at most 200 bytes, logged with the
 * action). */
#define API_REASON_MAX 201

/* {"status": "ok" or "degraded", "uptime_ms", "plugins", "history": {...}
 * or null}; always 200 while the host runs ("degraded": the history needs
 * an operator, see history_stats_is_degraded). The history's last error
 * message and moved-aside path only `with_details` (the client may read). */
void api_health(const struct api *api, bool with_details, struct http_reply *reply);
void api_readings(const struct api *api, struct http_reply *reply);
void api_history(const struct api *api, struct http_reply *reply);
void api_plugins(const struct api *api, struct http_reply *reply);
/* `name` is the URL's, unvalidated. */
void api_plugin(const struct api *api, const char *name, struct http_reply *reply);
void api_action(const struct api *api, enum api_action action, const char *name, const char *body,
                size_t body_size, struct http_reply *reply);

/* A plugin's summary as in GET /api/plugins (and the event stream's
 * "plugin" events). Returns a new object, or NULL when out of memory. */
json_t *api_plugin_summary(const struct app_plugin_view *view);

#endif
