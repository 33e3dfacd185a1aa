/* api_settings.c - GET and PUT /api/plugins/NAME/settings (api.h): the
 * values a plugin's code reads through wasi:config/store. Reads and changes
 * go to the plugin's settings store (core/settings.h), never to the plugin:
 * no request waits for a call into it, and its code is not reloaded.
 * Called from the server's worker threads. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/settings.h"
#include "http/api.h"

json_t *api_settings_json(const struct api *api, size_t index) {
        if (index >= api->plugin_count)
                return json_null(); /* detached during a SIGHUP (api.h) */
        struct config_settings settings;
        settings_store_copy(plugin_settings(api->plugins[index]), &settings);
        json_t *object = json_object();
        for (size_t i = 0; object != NULL && i < settings.count; i++)
                if (json_object_set_new(object, settings.items[i].key,
                                        json_string(settings.items[i].value)) != 0) {
                        json_decref(object);
                        object = NULL;
                }
        return object;
}

static int find(const struct api *api, const char *name, size_t *ret_index,
                struct http_reply *reply) {
        if (app_state_find_plugin(api->state, name, ret_index) < 0)
                return http_reply_error(reply, 404, "no plugin named '%.64s'", name);
        if (*ret_index >= api->plugin_count)
                return http_reply_error(reply, 503, "the host is reloading its plugins; try again");
        return 0;
}

static void answer(const struct api *api, size_t index, struct http_reply *reply) {
        int result =
                http_reply_json(reply, 200,
                                json_pack("{s:s, s:o}", "plugin", plugin_name(api->plugins[index]),
                                          "settings", api_settings_json(api, index)));
        (void)result;
}

void api_settings(const struct api *api, const char *name, struct http_reply *reply) {
        size_t index = 0;
        if (find(api, name, &index, reply) == 0)
                answer(api, index, reply);
}

/* A field's value as the setting's text: 0, -EINVAL when its type cannot
 * be one (or a string holds a NUL), -E2BIG when it does not fit. Numbers
 * keep their JSON form (30, 30.5), booleans are true/false. */
static int value_text(const json_t *value, char *text, size_t size) {
        if (json_is_string(value)) {
                size_t length = json_string_length(value);
                if (length >= size)
                        return -E2BIG;
                if (memchr(json_string_value(value), '\0', length) != NULL)
                        return -EINVAL;
                memcpy(text, json_string_value(value), length + 1);
        } else if (json_is_integer(value)) {
                snprintf(text, size, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        } else if (json_is_real(value)) {
                snprintf(text, size, "%.15g", json_real_value(value));
        } else if (json_is_boolean(value)) {
                snprintf(text, size, "%s", json_is_true(value) ? "true" : "false");
        } else {
                return -EINVAL;
        }
        return 0;
}

/* Parses the body into settings to set and keys to remove; a 400 naming
 * the field otherwise. */
static int parse_changes(const char *body, size_t size, struct config_settings *set,
                         struct config_settings *removed, struct http_reply *reply) {
        json_error_t json_error;
        json_t *root =
                size > 0 ? json_loadb(body, size, JSON_REJECT_DUPLICATES, &json_error) : NULL;
        if (size == 0)
                return http_reply_error(reply, 400,
                                        "the body must be a JSON object of settings, e.g. "
                                        "{\"alarm_on_celsius\": 31}");
        if (root == NULL)
                return http_reply_error(reply, 400, "malformed JSON body: %s at line %d",
                                        json_error.text, json_error.line);
        int result = 0;
        const char *key;
        json_t *value;
        if (!json_is_object(root) || json_object_size(root) == 0) {
                result = http_reply_error(reply, 400,
                                          "the body must be a non-empty JSON object of settings");
                goto done;
        }
        json_object_foreach(root, key, value) {
                char text[CONFIG_SETTING_VALUE_MAX];
                struct ph_error error = {0};
                if (!config_is_setting_key(key)) {
                        result = http_reply_error(reply, 400,
                                                  "field '%.64s': a setting's name is 1-%d "
                                                  "letters, digits, '_', '-' or '.'",
                                                  key, CONFIG_SETTING_KEY_MAX - 1);
                        goto done;
                }
                if (json_is_null(value)) {
                        if (config_settings_set(removed, key, "", &error) < 0) {
                                result = http_reply_error(reply, 400, "field '%s': %s", key,
                                                          error.message);
                                goto done;
                        }
                        continue;
                }
                int converted = value_text(value, text, sizeof(text));
                if (converted == -E2BIG) {
                        result = http_reply_error(reply, 400,
                                                  "field '%s': the value is longer than %d bytes",
                                                  key, CONFIG_SETTING_VALUE_MAX - 1);
                        goto done;
                }
                if (converted < 0) {
                        result = http_reply_error(reply, 400,
                                                  "field '%s': must be a string, number, boolean "
                                                  "or null (to remove it)",
                                                  key);
                        goto done;
                }
                if (config_settings_set(set, key, text, &error) < 0) {
                        result = http_reply_error(reply, 400, "field '%s': %s", key, error.message);
                        goto done;
                }
        }
done:
        json_decref(root);
        return result;
}

void api_settings_change(const struct api *api, const char *name, const char *body,
                         size_t body_size, struct http_reply *reply) {
        size_t index = 0;
        if (find(api, name, &index, reply) < 0)
                return;
        struct config_settings set = {.count = 0}, removed = {.count = 0};
        if (parse_changes(body, body_size, &set, &removed, reply) < 0)
                return;
        struct ph_error error = {0};
        if (settings_store_update(plugin_settings(api->plugins[index]), &set, &removed, &error) <
            0) {
                http_reply_error(reply, 400, "%s", error.message);
                return;
        }
        char keys[512] = "";
        for (size_t pass = 0; pass < 2; pass++) {
                const struct config_settings *list = pass == 0 ? &set : &removed;
                for (size_t i = 0; i < list->count; i++) {
                        size_t used = strlen(keys);
                        snprintf(keys + used, sizeof(keys) - used, "%s%s%s", used > 0 ? ", " : "",
                                 list->items[i].key, pass == 0 ? "" : " (removed)");
                }
        }
        log_write(LOG_LEVEL_INFO, name, "settings changed over HTTP: %s; the plugin runs on", keys);
        answer(api, index, reply);
}
