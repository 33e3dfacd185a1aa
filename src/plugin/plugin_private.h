/* plugin_private.h - what the two halves of a plugin's life share:
 * plugin.c (creating, polling, crashes, status) and plugin_reload.c (new
 * versions: trial, swap, probation's start, load-on-fix). Not for other
 * modules: they use plugin/plugin.h.
 *
 * Threads and locks as in plugin.c's header: `lock` guards everything
 * below it in struct plugin. */
#ifndef PH_PLUGIN_PRIVATE_H
#define PH_PLUGIN_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/digest.h"
#include "core/file.h"
#include "core/settings.h"
#include "plugin/instance.h"
#include "plugin/internal.h"
#include "plugin/python_source.h"

struct plugin_version {
        wasmtime_component_t *component;
        struct digest digest;
        char hex[DIGEST_HEX_SIZE];
        struct file_identity identity;
        time_t loaded_at;
        bool imports_leds; /* it can drive the LEDs (and owns them, if granted) */
        /* Python source run on the shared runtime (then `component` is the
         * runtime and grants are checked at each call), or NULL. */
        struct source_module *modules;
        size_t module_count;
};

struct saved_state {
        uint8_t *bytes; /* NULL when there is none */
        size_t size;
};

struct plugin {
        struct plugin_config config;
        struct plugin_engine *engine; /* borrowed */
        struct hw_board *board;       /* borrowed */
        struct pipeline *pipeline;    /* borrowed; trial polls go there; may be NULL */
        char state_path[PATH_MAX];    /* "" when states are not kept on disk */
        double state_write_interval_s;
        plugin_change_listener change_listener;
        void *change_listener_data;

        pthread_mutex_t state_file_lock; /* serialises writes of state_path */
        /* The last status plugin_get_status copied out, for a reader that
         * finds `lock` held by a call into the plugin: it takes this copy
         * rather than wait (the web server never waits for a plugin). */
        pthread_mutex_t status_copy_lock; /* a leaf: guards status_copy */
        struct plugin_status status_copy;
        struct timespec state_written_at;
        /* What its code reads through wasi:config/store; thread-safe on its
         * own (a leaf lock), so the API never waits for the plugin. */
        struct settings_store settings;

        pthread_mutex_t lock; /* guards everything below */
        struct plugin_version *version;
        struct plugin_instance *live;    /* NULL after a crash, until restarted */
        struct plugin_version *previous; /* last good version, during probation */
        struct saved_state previous_state;
        unsigned probation_left;
        struct saved_state checkpoint;
        struct timespec checkpoint_taken_at; /* monotonic; {0}: none taken yet */
        bool is_checkpoint_unwritten;
        enum plugin_state state;
        unsigned consecutive_failures;
        struct timespec restart_not_before;
        struct file_identity seen_identity; /* of the file, as last checked */
        bool is_change_reported;
        struct digest rejected_digest; /* a version that failed to load or on trial */
        bool has_rejected;
        struct plugin_status status;
        struct sandbox_state sandbox;
};

/* Frees a saved state's bytes and empties it. */
void plugin_saved_state_clear(struct saved_state *state);

/* Copies `from` into `to` (emptied first); returns 0 or -ENOMEM. */
int plugin_saved_state_copy(const struct saved_state *from, struct saved_state *to);

/* Frees a version and its component. Accepts NULL. */
void plugin_version_free(struct plugin_version *version);

/* Adds a lifecycle event to the status and publishes it. With `lock` held. */
void plugin_record_event(struct plugin *plugin, const char *kind, const char *version_hex,
                         const char *message);

/* Loads and checks the file at `path`: a version, or NULL with `error` set
 * (-ECANCELED when `cancel` stopped the compile). Without the lock. */
struct plugin_version *plugin_load_version(struct plugin_engine *engine, const char *path,
                                           const struct plugin_grants *grants,
                                           struct compile_cancel *cancel, struct ph_error *error);

/* A fresh instance of `version`, restoring `state` when the plugin has
 * `lifecycle`; NULL with `failure` set. With `lock` held unless a trial. */
struct plugin_instance *plugin_start_instance(struct plugin *plugin,
                                              const struct plugin_version *version,
                                              const struct saved_state *state, bool is_trial,
                                              struct plugin_failure *failure);

/* Gives a plugin that has none its first version (taken on success) and
 * instance; with `lock` held. */
int plugin_start_first_version(struct plugin *plugin, struct plugin_version *version,
                               struct plugin_failure *failure);

/* Records why a plugin has no version (state, last error, event); with
 * `lock` held. */
void plugin_note_not_loaded(struct plugin *plugin, const struct plugin_version *version,
                            const char *message, const char *traceback);

/* Asks the live instance for its state (lifecycle plugins); with `lock`
 * held. */
void plugin_take_checkpoint(struct plugin *plugin);

#endif
