/* config_settings.c - a plugin's `setting.KEY = VALUE` pairs (config.h):
 * checking keys and values, setting, removing, comparing. Plain data, no
 * locks: the caller owns the struct. */
#include <errno.h>
#include <string.h>

#include "core/config.h"

bool config_is_setting_key(const char *key) {
        size_t length = strlen(key);
        if (length == 0 || length >= CONFIG_SETTING_KEY_MAX)
                return false;
        for (size_t i = 0; i < length; i++) {
                char c = key[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.'))
                        return false;
        }
        return true;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without control characters: the component model's strings
 * must be UTF-8, and a value is shown in logs and the dashboard. */
static bool is_valid_value(const char *value) {
        const unsigned char *p = (const unsigned char *)value;
        while (*p != '\0') {
                unsigned char c = *p;
                if (c < 0x20 || c == 0x7f)
                        return false;
                size_t extra = 0;
                unsigned long point = 0;
                if (c < 0x80) {
                        p++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        extra = 1, point = c & 0x1fu;
                } else if (c >= 0xe0 && c <= 0xef) {
                        extra = 2, point = c & 0x0fu;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        extra = 3, point = c & 0x07u;
                } else {
                        return false;
                }
                for (size_t i = 1; i <= extra; i++) {
                        if ((p[i] & 0xc0u) != 0x80u)
                                return false;
                        point = (point << 6) | (p[i] & 0x3fu);
                }
                if ((extra == 2 && (point < 0x800 || (point >= 0xd800 && point <= 0xdfff))) ||
                    (extra == 3 && (point < 0x10000 || point > 0x10ffff)))
                        return false;
                p += extra + 1;
        }
        return true;
}

static struct config_setting *find(struct config_settings *settings, const char *key) {
        for (size_t i = 0; i < settings->count; i++)
                if (strcmp(settings->items[i].key, key) == 0)
                        return &settings->items[i];
        return NULL;
}

int config_settings_set(struct config_settings *settings, const char *key, const char *value,
                        struct ph_error *error) {
        if (!config_is_setting_key(key))
                return ph_error_set(error, -EINVAL,
                                    "setting '%.80s': a key is 1-%d letters, digits, '_', '-' or "
                                    "'.'",
                                    key, CONFIG_SETTING_KEY_MAX - 1);
        if (strlen(value) >= CONFIG_SETTING_VALUE_MAX)
                return ph_error_set(error, -EINVAL,
                                    "setting '%s': the value is longer than %d bytes", key,
                                    CONFIG_SETTING_VALUE_MAX - 1);
        if (!is_valid_value(value))
                return ph_error_set(error, -EINVAL,
                                    "setting '%s': the value is not UTF-8 text without control "
                                    "characters",
                                    key);
        struct config_setting *item = find(settings, key);
        if (item == NULL) {
                if (settings->count == CONFIG_MAX_SETTINGS)
                        return ph_error_set(error, -E2BIG,
                                            "setting '%s': a plugin has at most %d settings", key,
                                            CONFIG_MAX_SETTINGS);
                item = &settings->items[settings->count++];
                memcpy(item->key, key, strlen(key) + 1);
        }
        memcpy(item->value, value, strlen(value) + 1);
        return 0;
}

bool config_settings_remove(struct config_settings *settings, const char *key) {
        struct config_setting *item = find(settings, key);
        if (item == NULL)
                return false;
        size_t index = (size_t)(item - settings->items);
        memmove(item, item + 1, (settings->count - index - 1) * sizeof(*item));
        settings->count--;
        return true;
}

const char *config_settings_find(const struct config_settings *settings, const char *key) {
        for (size_t i = 0; i < settings->count; i++)
                if (strcmp(settings->items[i].key, key) == 0)
                        return settings->items[i].value;
        return NULL;
}

bool config_settings_equal(const struct config_settings *a, const struct config_settings *b) {
        if (a->count != b->count)
                return false;
        for (size_t i = 0; i < a->count; i++) {
                const char *value = config_settings_find(b, a->items[i].key);
                if (value == NULL || strcmp(value, a->items[i].value) != 0)
                        return false;
        }
        return true;
}
