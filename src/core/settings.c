#include "core/settings.h"

#include <string.h>

void settings_store_init(struct settings_store *store, const struct config_settings *initial) {
        memset(store, 0, sizeof(*store));
        pthread_mutex_init(&store->lock, NULL);
        if (initial != NULL)
                store->values = *initial;
}

void settings_store_destroy(struct settings_store *store) {
        pthread_mutex_destroy(&store->lock);
}

bool settings_store_get(struct settings_store *store, const char *key,
                        char value[CONFIG_SETTING_VALUE_MAX]) {
        pthread_mutex_lock(&store->lock);
        const char *found = config_settings_find(&store->values, key);
        if (found != NULL)
                memcpy(value, found,
                       strlen(found) + 1); /* shorter than the buffer: checked on set */
        pthread_mutex_unlock(&store->lock);
        return found != NULL;
}

void settings_store_copy(struct settings_store *store, struct config_settings *ret_values) {
        pthread_mutex_lock(&store->lock);
        *ret_values = store->values;
        pthread_mutex_unlock(&store->lock);
}

void settings_store_replace(struct settings_store *store, const struct config_settings *values) {
        pthread_mutex_lock(&store->lock);
        store->values = *values;
        store->changes++;
        pthread_mutex_unlock(&store->lock);
}

int settings_store_update(struct settings_store *store, const struct config_settings *set,
                          const struct config_settings *removed, struct ph_error *error) {
        struct config_settings next;
        int result = 0;
        pthread_mutex_lock(&store->lock);
        next = store->values;
        for (size_t i = 0; i < removed->count; i++)
                config_settings_remove(&next, removed->items[i].key);
        for (size_t i = 0; i < set->count && result == 0; i++)
                result = config_settings_set(&next, set->items[i].key, set->items[i].value, error);
        if (result == 0) {
                store->values = next;
                store->changes++;
        }
        pthread_mutex_unlock(&store->lock);
        return result;
}
