/* settings.h - the live settings of one plugin: what its code reads through
 * wasi:config/store. Starts as its config section's `setting.KEY = VALUE`
 * lines; SIGHUP replaces them, the API changes some of them. The plugin's
 * code is not reloaded: its next call reads the new values.
 *
 * Thread-safe: `lock` is a leaf (nothing else is taken while it is held);
 * every function copies values in or out, so no pointer into the store
 * escapes. The owner (struct plugin) embeds it and destroys it last. */
#ifndef PH_SETTINGS_H
#define PH_SETTINGS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct settings_store {
        pthread_mutex_t lock; /* a leaf: guards the fields below */
        struct config_settings values;
        uint64_t changes; /* how many times the values were changed since start */
};

/* Starts with a copy of `initial` (NULL: none). */
void settings_store_init(struct settings_store *store, const struct config_settings *initial);
void settings_store_destroy(struct settings_store *store);

/* Copies the value of `key` into `value` (at most CONFIG_SETTING_VALUE_MAX
 * bytes with the NUL); false when the key is not set. */
bool settings_store_get(struct settings_store *store, const char *key,
                        char value[CONFIG_SETTING_VALUE_MAX]);

/* Copies every setting into *ret_values. */
void settings_store_copy(struct settings_store *store, struct config_settings *ret_values);

/* Replaces every setting with `values` (SIGHUP). */
void settings_store_replace(struct settings_store *store, const struct config_settings *values);

/* Sets each of `set` and removes each key of `removed` (its values are not
 * read), all or nothing: on an error (the message names the key) nothing
 * changes. */
PH_MUST_USE int settings_store_update(struct settings_store *store,
                                      const struct config_settings *set,
                                      const struct config_settings *removed,
                                      struct ph_error *error);

#endif
