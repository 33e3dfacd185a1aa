/* fake_plugin.h - a test-local struct plugin for the unit tests of the
 * modules above the plugin layer (the scheduler, the web feed, the CLI's
 * outputs): it defines plugin_name, plugin_poll, plugin_reset,
 * plugin_get_status and the failure/state names of plugin/plugin.h, so
 * those modules link without Wasmtime or the real plugin library.
 *
 * A fake plugin answers each poll as scripted (readings, or a failure of a
 * given kind) and can be held inside a poll, to test what happens while a
 * poll is running. Thread-safe: polls run on the scheduler's threads. */
#ifndef PH_TEST_FAKE_PLUGIN_H
#define PH_TEST_FAKE_PLUGIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "plugin/plugin.h"

struct plugin {
        char name[64];
        pthread_mutex_t lock;
        pthread_cond_t changed;
        /* What each poll answers: readings (failure == NONE) or a failure. */
        enum plugin_failure_kind failure;
        double value;                /* of the one reading a good poll returns */
        bool is_held;                /* a poll waits inside while this is set */
        bool is_inside;              /* a poll is waiting inside */
        uint64_t polls;              /* polls finished */
        uint64_t resets;             /* plugin_reset calls */
        int reset_result;            /* what plugin_reset returns */
        struct plugin_status status; /* what plugin_get_status copies */
};

void fake_plugin_init(struct plugin *plugin, const char *name);
void fake_plugin_destroy(struct plugin *plugin);

/* Holds (or lets go) every poll of the plugin inside plugin_poll. */
void fake_plugin_hold(struct plugin *plugin, bool is_held);

/* Waits up to 10 s until a poll is held inside; false when none came. */
bool fake_plugin_wait_inside(struct plugin *plugin);

/* Waits up to 10 s until `count` polls have finished; false otherwise. */
bool fake_plugin_wait_polls(struct plugin *plugin, uint64_t count);

uint64_t fake_plugin_polls(struct plugin *plugin);

#endif
