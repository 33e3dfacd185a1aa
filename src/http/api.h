/* api.h - the JSON API's handlers: readings, history, plugins, and the
 * operator's actions (poll now, reload, leave quarantine).
 *
 * Owns nothing: reads answer from the app state alone (never a plugin's
 * lock); actions never wait for a plugin either: a reload is a request to
 * the reloader, a poll or a reset runs on the plugin's own thread and the
 * server answers when it is done (server.c). Called from the server's
 * worker threads, after routing and authentication. */
#ifndef PH_HTTP_API_H
#define PH_HTTP_API_H

#include <jansson.h>
#include <stddef.h>

#include "http/app_state.h"
#include "core/pipeline.h"
#include "http/reply.h"
#include "mqtt/mqtt.h"
#include "plugin/plugin.h"
#include "plugin/reloader.h"
#include "store/history.h"

/* What the handlers work on; all borrowed. plugins[i] is the app state's
 * plugin i; plugin_count is 0 (and reloader NULL) while the server is
 * detached from the plugins during a SIGHUP. The server changes them
 * only with its set_lock write-held; handlers run with it read-held. */
struct api {
        struct app_state *state;
        struct plugin *const *plugins;
        size_t plugin_count;
        struct reloader *reloader;
        unsigned reload_debounce_ms;
        int64_t started_ms;
        /* See struct http_host. */
        bool (*get_history_stats)(struct history_stats *ret_stats, void *data);
        bool (*get_mqtt_stats)(struct mqtt_stats *ret_stats, void *data);
        void *stats_data;
        struct pipeline *pipeline;
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

/* GET /api/plugins/NAME/settings: {"plugin", "settings": {KEY: VALUE}},
 * the values the plugin's code reads now (api_settings.c). */
void api_settings(const struct api *api, const char *name, struct http_reply *reply);

/* PUT /api/plugins/NAME/settings with a JSON object: each field sets the
 * setting of its name to its value (a string, number or boolean, stored as
 * text), null removes it. All or nothing: a bad field is a 400 that names
 * it, and nothing changes. The plugin is not reloaded; its next call reads
 * the new values. Answers as GET does. */
void api_settings_change(const struct api *api, const char *name, const char *body,
                         size_t body_size, struct http_reply *reply);

/* The settings of api->plugins[index] as a JSON object (new reference). */
json_t *api_settings_json(const struct api *api, size_t index);

/* An operator action, first step: the plugin exists and the body is
 * acceptable; logs the action (and its reason). Returns 0, or a negative
 * code with an error reply set. */
PH_MUST_USE int api_action_check(const struct api *api, enum api_action action, const char *name,
                                 const char *body, size_t body_size, struct http_reply *reply);

/* Reload: asks the reloader (which never waits for the plugin). */
void api_reload(const struct api *api, const char *name, struct http_reply *reply);

/* Poll and reset run on the plugin's own thread (scheduler.h); this makes
 * the reply from what that thread answered: the poll's record (NULL when
 * the scheduler stopped first) or the reset's result. Thread-safe. */
void api_action_answer(enum api_action action, const char *name, const struct poll_record *record,
                       int result, struct http_reply *reply);

#endif
