/* fake_plugin.c - see fake_plugin.h. */
#include "fake_plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

void fake_plugin_init(struct plugin *plugin, const char *name) {
        memset(plugin, 0, sizeof(*plugin));
        snprintf(plugin->name, sizeof(plugin->name), "%s", name);
        pthread_mutex_init(&plugin->lock, NULL);
        clock_cond_init_monotonic(&plugin->changed);
        plugin->value = 21.5;
}

void fake_plugin_destroy(struct plugin *plugin) {
        pthread_cond_destroy(&plugin->changed);
        pthread_mutex_destroy(&plugin->lock);
}

void fake_plugin_hold(struct plugin *plugin, bool is_held) {
        pthread_mutex_lock(&plugin->lock);
        plugin->is_held = is_held;
        pthread_cond_broadcast(&plugin->changed);
        pthread_mutex_unlock(&plugin->lock);
}

/* With the lock: waits for a change until `deadline`; false when it passed. */
static bool wait_change(struct plugin *plugin, const struct timespec *deadline) {
        return pthread_cond_timedwait(&plugin->changed, &plugin->lock, deadline) != ETIMEDOUT;
}

bool fake_plugin_wait_inside(struct plugin *plugin) {
        struct timespec deadline = clock_monotonic_after_ms(10000);
        pthread_mutex_lock(&plugin->lock);
        while (!plugin->is_inside && wait_change(plugin, &deadline)) {
        }
        bool is_inside = plugin->is_inside;
        pthread_mutex_unlock(&plugin->lock);
        return is_inside;
}

bool fake_plugin_wait_polls(struct plugin *plugin, uint64_t count) {
        struct timespec deadline = clock_monotonic_after_ms(10000);
        pthread_mutex_lock(&plugin->lock);
        while (plugin->polls < count && wait_change(plugin, &deadline)) {
        }
        bool is_done = plugin->polls >= count;
        pthread_mutex_unlock(&plugin->lock);
        return is_done;
}

uint64_t fake_plugin_polls(struct plugin *plugin) {
        pthread_mutex_lock(&plugin->lock);
        uint64_t polls = plugin->polls;
        pthread_mutex_unlock(&plugin->lock);
        return polls;
}

const char *plugin_name(const struct plugin *plugin) {
        return plugin->name;
}

int plugin_poll(struct plugin *plugin, struct reading_list *ret_readings,
                struct plugin_failure *ret_failure, char *ret_version) {
        pthread_mutex_lock(&plugin->lock);
        plugin->is_inside = true;
        pthread_cond_broadcast(&plugin->changed);
        while (plugin->is_held)
                pthread_cond_wait(&plugin->changed, &plugin->lock);
        plugin->is_inside = false;
        enum plugin_failure_kind failure = plugin->failure;
        double value = plugin->value;
        pthread_mutex_unlock(&plugin->lock);

        if (ret_version != NULL)
                snprintf(ret_version, PLUGIN_VERSION_SHORT, "%s", "0123456789ab");
        int result = 0;
        *ret_readings = (struct reading_list){0};
        if (failure == PLUGIN_FAILURE_NONE) {
                struct reading *item = calloc(1, sizeof(*item));
                if (item == NULL) {
                        result = -ENOMEM;
                } else {
                        snprintf(item->sensor, sizeof(item->sensor), "%s", "room");
                        snprintf(item->unit, sizeof(item->unit), "%s", "C");
                        item->quantity = READING_TEMPERATURE;
                        item->value = value;
                        item->is_finite = true;
                        *ret_readings = (struct reading_list){.items = item, .count = 1};
                }
        } else {
                ret_failure->kind = failure;
                snprintf(ret_failure->message, sizeof(ret_failure->message), "%s failed",
                         plugin->name);
                snprintf(ret_failure->traceback, sizeof(ret_failure->traceback), "%s",
                         "Traceback: line 1");
                result = -ECANCELED;
        }
        pthread_mutex_lock(&plugin->lock);
        plugin->polls++;
        pthread_cond_broadcast(&plugin->changed);
        pthread_mutex_unlock(&plugin->lock);
        return result;
}

int plugin_reset(struct plugin *plugin) {
        pthread_mutex_lock(&plugin->lock);
        plugin->resets++;
        int result = plugin->reset_result;
        pthread_cond_broadcast(&plugin->changed);
        pthread_mutex_unlock(&plugin->lock);
        return result;
}

void plugin_get_status(struct plugin *plugin, struct plugin_status *ret_status) {
        pthread_mutex_lock(&plugin->lock);
        *ret_status = plugin->status;
        pthread_mutex_unlock(&plugin->lock);
}

/* The real names (plugin.c): records and JSON carry them. */
const char *plugin_failure_kind_name(enum plugin_failure_kind kind) {
        static const char *const names[] = {
                "none",       "guest-error", "trap",       "budget-exceeded", "instantiate",
                "bad-output", "quarantined", "restarting", "not-loaded"};
        return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

bool plugin_failure_is_skipped(enum plugin_failure_kind kind) {
        return kind == PLUGIN_FAILURE_QUARANTINED || kind == PLUGIN_FAILURE_RESTARTING ||
               kind == PLUGIN_FAILURE_NOT_LOADED;
}

const char *plugin_state_name(enum plugin_state state) {
        static const char *const names[] = {"running", "failed", "quarantined", "load-failed"};
        return (size_t)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}
