/* plugin.c - one plugin's life: its current version, its live instance,
 * and what happens when it changes or fails.
 *
 * - Every poll reuses the live instance (Python globals persist).
 * - After a good poll, a plugin that exports `lifecycle` is asked for its
 *   state (the checkpoint) at most once per checkpoint_interval_s, and
 *   always before a swap, a planned restart and an unload; kept in memory
 *   and, at most once per state_write_interval_s, written to disk.
 * - A trap or an exceeded budget poisons the store: the instance is
 *   dropped; the next poll after a backoff makes a fresh one and restores
 *   the checkpoint. Too many crashes in a row quarantine the plugin until
 *   its file changes or plugin_reset.
 * - plugin_reload (plugin_reload.c, on the reloader's thread) compiles a
 *   changed file and tries it in a trial instance whose actuator calls are held back, all
 *   without the lock; only the swap takes it. The new version is then on
 *   probation: if it fails within probation_polls polls, the host rolls
 *   back to the previous version and the state it had at the swap.
 * - A plugin whose file does not load (plugin_open) has no version and is
 *   not polled (PLUGIN_STATE_NOT_LOADED) until plugin_reload loads it as
 *   at start-up; only the reloader's thread gives it a version.
 *
 * Locking: `lock` guards everything below it in struct plugin. It is held
 * for a call into the live instance (a poll, a state save, an
 * instantiation), never while compiling or writing files. `state_file_lock`
 * serialises writes of the state file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/size.h"
#include "core/log.h"
#include "plugin/plugin_private.h"

#define MAX_BACKOFF_MS 60000u
#define MAX_STATE_FILE_BYTES (1024u * 1024u)

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

struct settings_store *plugin_settings(struct plugin *plugin) {
        return &plugin->settings;
}

const char *plugin_name(const struct plugin *plugin) {
        return plugin->config.name;
}

static bool is_crash(enum plugin_failure_kind kind) {
        return kind == PLUGIN_FAILURE_TRAP || kind == PLUGIN_FAILURE_BUDGET ||
               kind == PLUGIN_FAILURE_INSTANTIATE;
}

static double seconds_since(const struct timespec *then) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double)(now.tv_sec - then->tv_sec) + (double)(now.tv_nsec - then->tv_nsec) / 1e9;
}

void plugin_saved_state_clear(struct saved_state *state) {
        free(state->bytes);
        state->bytes = NULL;
        state->size = 0;
}

int plugin_saved_state_copy(const struct saved_state *from, struct saved_state *to) {
        to->bytes = NULL;
        to->size = 0;
        if (from->bytes == NULL)
                return 0;
        to->bytes = malloc(from->size > 0 ? from->size : 1);
        if (to->bytes == NULL)
                return -ENOMEM;
        memcpy(to->bytes, from->bytes, from->size);
        to->size = from->size;
        return 0;
}

void plugin_version_free(struct plugin_version *version) {
        if (version == NULL)
                return;
        if (version->component != NULL)
                wasmtime_component_delete(version->component);
        python_source_free(version->modules, version->module_count);
        free(version);
}

/* Adds an event to the plugin's reload history and its last error. Called
 * with `lock` held. */
void plugin_record_event(struct plugin *plugin, const char *kind, const char *version_hex,
                         const char *message) {
        struct plugin_status *status = &plugin->status;
        struct plugin_event *event = &status->history[status->history_count % PLUGIN_HISTORY_MAX];
        event->time = time(NULL);
        snprintf(event->kind, sizeof(event->kind), "%s", kind);
        snprintf(event->version, sizeof(event->version), "%.12s",
                 version_hex != NULL ? version_hex : "");
        snprintf(event->message, sizeof(event->message), "%s", message != NULL ? message : "");
        status->history_count++;
        /* Published, not called back: the pipeline's lock is a leaf and
         * its consumers run on their own threads, never under this lock. */
        if (plugin->pipeline != NULL)
                pipeline_publish(
                        plugin->pipeline,
                        poll_record_new_lifecycle(plugin->config.name, event->kind, event->version,
                                                  (int64_t)event->time * 1000, event->message));
}

static void record_failure(struct plugin *plugin, const struct plugin_failure *failure) {
        snprintf(plugin->status.last_error, sizeof(plugin->status.last_error), "%s",
                 failure->message);
        snprintf(plugin->status.last_traceback, sizeof(plugin->status.last_traceback), "%s",
                 failure->traceback);
        plugin->status.last_error_time = time(NULL);
}

/* --- loading versions and instances ------------------------------------ */

struct plugin_version *plugin_load_version(struct plugin_engine *engine, const char *path,
                                           const struct plugin_grants *grants,
                                           struct compile_cancel *cancel, struct ph_error *error) {
        struct plugin_version *version = calloc(1, sizeof(*version));
        if (version == NULL) {
                ph_error_set(error, -ENOMEM, "%s: out of memory", path);
                return NULL;
        }
        /* The identity is taken before reading: if the file changes while we
         * read it, the next check sees a newer identity and loads again. */
        if (python_source_identity(path, &version->identity, error) < 0)
                goto fail;
        if (python_source_is(path)) {
                /* The runtime imports every capability; this plugin's grants
                 * are enforced at each call instead of at load. */
                if (python_source_read(path, &version->modules, &version->module_count,
                                       &version->digest, error) < 0 ||
                    engine_python_runtime(engine, cancel, &version->component, error) < 0)
                        goto fail;
                version->imports_leds = true;
        } else {
                if (engine_load_component(engine, path, cancel, &version->component,
                                          &version->digest, error) < 0)
                        goto fail;
                if (world_check(engine, version->component, grants, error) < 0) {
                        ph_error_prefix(error, "%s", path);
                        goto fail;
                }
                version->imports_leds =
                        world_imports(engine, version->component, WIT_LED_CONTROLLER);
        }
        digest_to_hex(&version->digest, version->hex);
        version->loaded_at = time(NULL);
        return version;
fail:
        plugin_version_free(version);
        return NULL;
}

static void set_instance_failure(struct plugin_failure *failure, const struct ph_error *error) {
        failure->kind = PLUGIN_FAILURE_INSTANTIATE;
        snprintf(failure->message, sizeof(failure->message), "%s", error->message);
        failure->traceback[0] = '\0';
}

/* A fresh instance of `version` with `state` restored (when both the
 * plugin and the state have one). */
struct plugin_instance *plugin_start_instance(struct plugin *plugin,
                                              const struct plugin_version *version,
                                              const struct saved_state *state, bool is_trial,
                                              struct plugin_failure *failure) {
        struct ph_error error = {0};
        struct instance_limits limits = {
                .budget_ms = plugin->config.budget_ms,
                .memory_bytes = size_from_mib(plugin->config.memory_limit_mib),
        };
        /* A trial instance keeps its own account of grants used, so that it
         * never races the live instance's. */
        struct plugin_instance *instance = instance_new(
                plugin->engine, version->component, plugin->config.name, plugin->board, &limits,
                is_trial ? NULL : &plugin->sandbox, &plugin->config.grants,
                version->modules != NULL ? engine_python_library(plugin->engine) : NULL, is_trial,
                &error);
        if (instance == NULL) {
                set_instance_failure(failure, &error);
                return NULL;
        }
        /* Before any of its code runs (a .py plugin's module code runs in
         * load): a trial reads the same settings as the live instance. */
        instance->abi.settings = &plugin->settings;
        bool is_poisoned = false;
        if (version->modules != NULL &&
            instance_load_sources(instance, version->modules, version->module_count, failure,
                                  &is_poisoned) < 0) {
                /* The plugin's own import failed: keep its traceback. */
                char message[PH_ERROR_MESSAGE_MAX];
                snprintf(message, sizeof(message), "loading the Python source: %.900s",
                         failure->message);
                snprintf(failure->message, sizeof(failure->message), "%s", message);
                if (!is_crash(failure->kind))
                        failure->kind = PLUGIN_FAILURE_INSTANTIATE;
                instance_free(instance);
                return NULL;
        }
        if (instance->has_lifecycle && state->bytes != NULL) {
                if (instance_restore_state(instance, state->bytes, state->size, failure,
                                           &is_poisoned) < 0) {
                        char message[PH_ERROR_MESSAGE_MAX];
                        snprintf(message, sizeof(message), "restoring %zu bytes of state: %.900s",
                                 state->size, failure->message);
                        snprintf(failure->message, sizeof(failure->message), "%s", message);
                        if (!is_crash(failure->kind))
                                failure->kind = PLUGIN_FAILURE_INSTANTIATE;
                        instance_free(instance);
                        return NULL;
                }
        }
        return instance;
}

/* --- the state file ---------------------------------------------------- */

static void load_state_file(struct plugin *plugin) {
        if (plugin->state_path[0] == '\0')
                return;
        struct ph_error error = {0};
        uint8_t *bytes = NULL;
        size_t size = 0;
        if (file_read_all(plugin->state_path, MAX_STATE_FILE_BYTES, &bytes, &size, &error) < 0) {
                if (error.code != -ENOENT)
                        log_write(LOG_LEVEL_WARNING, plugin->config.name,
                                  "saved state not used: %s", error.message);
                return;
        }
        plugin->checkpoint.bytes = bytes;
        plugin->checkpoint.size = size;
        log_write(LOG_LEVEL_INFO, plugin->config.name, "found %zu bytes of saved state in %s", size,
                  plugin->state_path);
}

/* Writes the checkpoint to disk if it changed and the last write is old
 * enough (or `is_forced`). Called without `lock`: it does I/O. */
static void write_state_file(struct plugin *plugin, bool is_forced) {
        if (plugin->state_path[0] == '\0')
                return;
        pthread_mutex_lock(&plugin->state_file_lock);
        struct saved_state copy = {0};
        pthread_mutex_lock(&plugin->lock);
        bool is_due = plugin->is_checkpoint_unwritten && plugin->checkpoint.bytes != NULL &&
                      (is_forced ||
                       seconds_since(&plugin->state_written_at) >= plugin->state_write_interval_s);
        int result = is_due ? plugin_saved_state_copy(&plugin->checkpoint, &copy) : 0;
        if (is_due && result == 0)
                plugin->is_checkpoint_unwritten = false;
        pthread_mutex_unlock(&plugin->lock);
        if (is_due && result == 0) {
                struct ph_error error = {0};
                if (file_write_atomic(plugin->state_path, copy.bytes, copy.size, &error) < 0)
                        log_write(LOG_LEVEL_WARNING, plugin->config.name, "state not written: %s",
                                  error.message);
                clock_gettime(CLOCK_MONOTONIC, &plugin->state_written_at);
        }
        plugin_saved_state_clear(&copy);
        pthread_mutex_unlock(&plugin->state_file_lock);
}

/* The LEDs, GPIO outputs and PWM channels have one owner; when it fails or
 * goes away they are driven to its declared safe state rather than left
 * as it last set them. An owner that never set the LEDs left nothing to
 * undo there. */
static void drive_outputs_safe(struct plugin *plugin, const char *why) {
        sandbox_hw_safe(&plugin->sandbox, plugin->board, plugin->config.name, why);
        if (!plugin->config.grants.led_controller || plugin->version == NULL ||
            !plugin->version->imports_leds || !plugin->sandbox.has_driven_leds)
                return;
        enum hw_led_color first = (enum hw_led_color)plugin->config.grants.led_safe_state[0];
        enum hw_led_color second = (enum hw_led_color)plugin->config.grants.led_safe_state[1];
        int result = hw_set_leds(plugin->board, first, second);
        log_write(result < 0 ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING, plugin->config.name,
                  "LEDs %s safe state %s/%s: their owner %s",
                  result < 0 ? "NOT driven to" : "driven to", hw_led_color_name(first),
                  hw_led_color_name(second), why);
}

/* --- creating and freeing ---------------------------------------------- */

/* The plugin without a version yet: its locks, state path and saved
 * state. */
static struct plugin *plugin_create(struct plugin_engine *engine,
                                    const struct plugin_config *config,
                                    const struct plugin_host_options *options,
                                    struct hw_board *board, struct ph_error *error) {
        struct plugin *plugin = calloc(1, sizeof(*plugin));
        if (plugin == NULL) {
                ph_error_set(error, -ENOMEM, "%s: out of memory", config->name);
                return NULL;
        }
        plugin->config = *config;
        plugin->engine = engine;
        plugin->board = board;
        plugin->state = PLUGIN_STATE_NOT_LOADED;
        pthread_mutex_init(&plugin->lock, NULL);
        pthread_mutex_init(&plugin->state_file_lock, NULL);
        pthread_mutex_init(&plugin->status_copy_lock, NULL);
        if (options != NULL)
                plugin->pipeline = options->pipeline;
        sandbox_state_init(&plugin->sandbox, &plugin->config.grants);
        settings_store_init(&plugin->settings, &config->settings);
        if (options != NULL && options->state_dir != NULL && options->state_dir[0] != '\0') {
                if (file_make_directories(options->state_dir, 0700, error) < 0) {
                        plugin_free(plugin);
                        return NULL;
                }
                snprintf(plugin->state_path, sizeof(plugin->state_path), "%s/%s.state",
                         options->state_dir, config->name);
                plugin->state_write_interval_s = options->state_write_interval_s;
        }
        load_state_file(plugin);
        return plugin;
}

/* Makes `version` the plugin's first, with a live instance that has the
 * saved state. With `lock` (or before the plugin is shared). Takes
 * `version` on success; on failure it stays the caller's and *failure
 * says why. */
int plugin_start_first_version(struct plugin *plugin, struct plugin_version *version,
                               struct plugin_failure *failure) {
        struct plugin_instance *instance =
                plugin_start_instance(plugin, version, &plugin->checkpoint, false, failure);
        if (instance == NULL)
                return -EINVAL;
        plugin->version = version;
        plugin->live = instance;
        plugin->state = PLUGIN_STATE_RUNNING;
        plugin->consecutive_failures = 0;
        plugin->has_rejected = false;
        plugin->status.instantiations++;
        plugin_record_event(plugin, "loaded", version->hex, plugin->config.path);
        return 0;
}

/* Records why the plugin's file did not load: its state, last error and a
 * "load-failed" event; a `version` that loaded but did not start (NULL:
 * none) is not tried again until the file changes. With `lock`. */
void plugin_note_not_loaded(struct plugin *plugin, const struct plugin_version *version,
                            const char *message, const char *traceback) {
        plugin->state = PLUGIN_STATE_NOT_LOADED;
        if (version != NULL) {
                plugin->rejected_digest = version->digest;
                plugin->has_rejected = true;
        }
        snprintf(plugin->status.last_error, sizeof(plugin->status.last_error), "%s", message);
        snprintf(plugin->status.last_traceback, sizeof(plugin->status.last_traceback), "%s",
                 traceback);
        plugin->status.last_error_time = time(NULL);
        plugin_record_event(plugin, "load-failed", version != NULL ? version->hex : NULL, message);
}

struct plugin *plugin_new(struct plugin_engine *engine, const struct plugin_config *config,
                          const struct plugin_host_options *options, struct hw_board *board,
                          struct ph_error *error) {
        struct plugin *plugin = plugin_create(engine, config, options, board, error);
        if (plugin == NULL)
                return NULL;
        struct plugin_version *version =
                plugin_load_version(engine, config->path, &plugin->config.grants, NULL, error);
        if (version == NULL)
                goto fail;
        plugin->seen_identity = version->identity;
        struct plugin_failure failure;
        if (plugin_start_first_version(plugin, version, &failure) < 0) {
                ph_error_set(error, -EINVAL, "%s: %s", config->path, failure.message);
                plugin_version_free(version);
                goto fail;
        }
        return plugin;
fail:
        plugin_free(plugin);
        return NULL;
}

struct plugin *plugin_open(struct plugin_engine *engine, const struct plugin_config *config,
                           const struct plugin_host_options *options, struct hw_board *board,
                           struct ph_error *error) {
        struct plugin *plugin = plugin_create(engine, config, options, board, error);
        if (plugin == NULL)
                return NULL;
        /* As it is now, missing or not: any change after this is noticed. */
        if (python_source_identity(config->path, &plugin->seen_identity, NULL) < 0)
                memset(&plugin->seen_identity, 0, sizeof(plugin->seen_identity));
        struct ph_error load_error = {0};
        struct plugin_version *version = plugin_load_version(
                engine, config->path, &plugin->config.grants, NULL, &load_error);
        struct plugin_failure failure = {0};
        if (version != NULL) {
                plugin->seen_identity = version->identity;
                if (plugin_start_first_version(plugin, version, &failure) == 0)
                        return plugin;
                ph_error_set(&load_error, -EINVAL, "%s: %s", config->path, failure.message);
        }
        pthread_mutex_lock(&plugin->lock);
        plugin_note_not_loaded(plugin, version, load_error.message, failure.traceback);
        pthread_mutex_unlock(&plugin->lock);
        plugin_version_free(version);
        log_write(LOG_LEVEL_ERROR, config->name,
                  "not loaded: %s; it is loaded as soon as its file changes and loads",
                  load_error.message);
        return plugin;
}

static int save_live_state(struct plugin *plugin, struct plugin_failure *failure,
                           bool *ret_is_poisoned);

void plugin_free(struct plugin *plugin) {
        if (plugin == NULL)
                return;
        drive_outputs_safe(plugin, "is unloaded");
        /* The last state, for the next start: polls since the last periodic
         * checkpoint are not lost by a stop. No crash bookkeeping here (the
         * pipeline may be gone). */
        pthread_mutex_lock(&plugin->lock);
        if (plugin->live != NULL && plugin->live->has_lifecycle) {
                struct plugin_failure failure;
                bool is_poisoned = false;
                if (save_live_state(plugin, &failure, &is_poisoned) < 0)
                        log_write(LOG_LEVEL_WARNING, plugin->config.name,
                                  "save-state at unload failed: %s", failure.message);
        }
        pthread_mutex_unlock(&plugin->lock);
        write_state_file(plugin, true);
        instance_free(plugin->live);
        plugin_version_free(plugin->version);
        plugin_version_free(plugin->previous);
        plugin_saved_state_clear(&plugin->previous_state);
        plugin_saved_state_clear(&plugin->checkpoint);
        log_budget_destroy(&plugin->sandbox.log_budget);
        pthread_mutex_destroy(&plugin->lock);
        pthread_mutex_destroy(&plugin->state_file_lock);
        pthread_mutex_destroy(&plugin->status_copy_lock);
        settings_store_destroy(&plugin->settings);
        free(plugin);
}

void plugin_set_change_listener(struct plugin *plugin, plugin_change_listener listener,
                                void *data) {
        pthread_mutex_lock(&plugin->lock);
        plugin->change_listener = listener;
        plugin->change_listener_data = data;
        pthread_mutex_unlock(&plugin->lock);
}

const char *plugin_path(const struct plugin *plugin) {
        return plugin->config.path;
}

bool plugin_is_loaded(struct plugin *plugin) {
        pthread_mutex_lock(&plugin->lock);
        bool is_loaded = plugin->version != NULL;
        pthread_mutex_unlock(&plugin->lock);
        return is_loaded;
}

/* --- polling ----------------------------------------------------------- */

/* The seed's check before every poll: has the file changed since we last
 * looked? Works where inotify does not (network filesystems). Tells the
 * listener once per change; loading is the reloader's job, not this
 * thread's. Called with `lock` held. */
static void check_file_changed(struct plugin *plugin) {
        struct file_identity identity;
        if (python_source_identity(plugin->config.path, &identity, NULL) < 0)
                return;
        if (file_identity_equal(&identity, &plugin->seen_identity))
                return;
        plugin->seen_identity = identity;
        if (plugin->change_listener != NULL)
                plugin->change_listener(plugin, plugin->change_listener_data);
}

static uint32_t backoff_ms(const struct plugin *plugin) {
        uint64_t wait = plugin->config.restart_backoff_ms;
        for (unsigned i = 1; i < plugin->consecutive_failures && wait < MAX_BACKOFF_MS; i++)
                wait *= 2;
        return (uint32_t)(wait < MAX_BACKOFF_MS ? wait : MAX_BACKOFF_MS);
}

static void set_failure(struct plugin_failure *failure, enum plugin_failure_kind kind,
                        const char *message) {
        failure->kind = kind;
        snprintf(failure->message, sizeof(failure->message), "%s", message);
        failure->traceback[0] = '\0';
}

/* Counts a crash; schedules the restart or quarantines. With `lock`. */
static void after_crash(struct plugin *plugin, const struct plugin_failure *failure) {
        plugin->consecutive_failures++;
        drive_outputs_safe(plugin, plugin_failure_kind_name(failure->kind));
        if (plugin->consecutive_failures >= plugin->config.max_failures) {
                plugin->state = PLUGIN_STATE_QUARANTINED;
                char message[PH_ERROR_MESSAGE_MAX];
                snprintf(message, sizeof(message),
                         "quarantined after %u consecutive failures; last: %.800s",
                         plugin->consecutive_failures, failure->message);
                plugin_record_event(plugin, "quarantined", plugin->version->hex, message);
                log_write(LOG_LEVEL_ERROR, plugin->config.name,
                          "%s (the file changing or a reset ends it)", message);
                return;
        }
        plugin->state = PLUGIN_STATE_FAILED;
        uint32_t wait = backoff_ms(plugin);
        clock_gettime(CLOCK_MONOTONIC, &plugin->restart_not_before);
        plugin->restart_not_before.tv_sec += wait / 1000;
        plugin->restart_not_before.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (plugin->restart_not_before.tv_nsec >= 1000000000L) {
                plugin->restart_not_before.tv_sec++;
                plugin->restart_not_before.tv_nsec -= 1000000000L;
        }
        log_write(LOG_LEVEL_WARNING, plugin->config.name,
                  "instance discarded (failure %u of %u in a row); restarting in %u ms",
                  plugin->consecutive_failures, plugin->config.max_failures, wait);
}

/* Goes back to the previous version and the state it had at the swap.
 * With `lock`. */
static void roll_back(struct plugin *plugin, const struct plugin_failure *failure) {
        char message[PH_ERROR_MESSAGE_MAX];
        snprintf(message, sizeof(message), "version %.12s failed on probation (%.700s)",
                 plugin->version->hex, failure->message);
        plugin->rejected_digest = plugin->version->digest;
        plugin->has_rejected = true;
        struct plugin_failure restart_failure;
        struct plugin_instance *instance = plugin_start_instance(
                plugin, plugin->previous, &plugin->previous_state, false, &restart_failure);
        instance_free(plugin->live);
        plugin->live = instance;
        plugin_version_free(plugin->version);
        plugin->version = plugin->previous;
        plugin->previous = NULL;
        plugin_saved_state_clear(&plugin->checkpoint);
        plugin->checkpoint = plugin->previous_state;
        plugin->previous_state = (struct saved_state){0};
        plugin->is_checkpoint_unwritten = true;
        plugin->probation_left = 0;
        plugin->consecutive_failures = 0;
        plugin->state = PLUGIN_STATE_RUNNING;
        plugin->status.rollbacks++;
        plugin_record_event(plugin, "rolled-back", plugin->version->hex, message);
        log_write(LOG_LEVEL_ERROR, plugin->config.name, "%s: rolled back to version %.12s", message,
                  plugin->version->hex);
        if (instance == NULL) {
                plugin->status.instantiations++;
                after_crash(plugin, &restart_failure);
        }
}

/* Asks the live instance for its state and keeps it as the checkpoint. */
static int save_live_state(struct plugin *plugin, struct plugin_failure *failure,
                           bool *ret_is_poisoned) {
        struct saved_state state = {0};
        int result = instance_save_state(plugin->live, &state.bytes, &state.size, failure,
                                         ret_is_poisoned);
        if (result < 0)
                return result;
        clock_gettime(CLOCK_MONOTONIC, &plugin->checkpoint_taken_at);
        bool is_same = plugin->checkpoint.bytes != NULL && plugin->checkpoint.size == state.size &&
                       memcmp(plugin->checkpoint.bytes, state.bytes, state.size) == 0;
        if (is_same) {
                plugin_saved_state_clear(&state);
                return 0;
        }
        plugin_saved_state_clear(&plugin->checkpoint);
        plugin->checkpoint = state;
        plugin->is_checkpoint_unwritten = true;
        return 0;
}

void plugin_take_checkpoint(struct plugin *plugin) {
        if (plugin->live == NULL || !plugin->live->has_lifecycle)
                return;
        struct plugin_failure failure;
        bool is_poisoned = false;
        if (save_live_state(plugin, &failure, &is_poisoned) < 0) {
                log_write(LOG_LEVEL_WARNING, plugin->config.name, "save-state failed: %s",
                          failure.message);
                if (is_poisoned) {
                        instance_free(plugin->live);
                        plugin->live = NULL;
                        record_failure(plugin, &failure);
                        after_crash(plugin, &failure);
                }
        }
}

/* After a good poll: a checkpoint at most every checkpoint_interval_s, so
 * that a poll does not pay a second call into the plugin each time (see
 * the README for what a crash can lose). */
static bool is_checkpoint_due(const struct plugin *plugin) {
        return plugin->config.checkpoint_interval_s <= 0 ||
               (plugin->checkpoint_taken_at.tv_sec == 0 &&
                plugin->checkpoint_taken_at.tv_nsec == 0) ||
               seconds_since(&plugin->checkpoint_taken_at) >= plugin->config.checkpoint_interval_s;
}

/* Makes a live instance if there is none (after a crash) or if the current
 * one is due for a planned restart. With `lock`. Returns 0 when there is a
 * live instance to poll. */
static int ensure_live_instance(struct plugin *plugin, struct plugin_failure *failure) {
        bool is_planned = plugin->live != NULL &&
                          ((plugin->config.restart_after_polls > 0 &&
                            plugin->live->polls >= plugin->config.restart_after_polls) ||
                           (plugin->config.restart_above_mib > 0 && plugin->live->memory != NULL &&
                            pyhost_memory_limiter_high_water(plugin->live->memory) >=
                                    size_from_mib(plugin->config.restart_above_mib)));
        if (plugin->live != NULL && !is_planned)
                return 0;
        if (plugin->live == NULL && seconds_since(&plugin->restart_not_before) < 0) {
                set_failure(failure, PLUGIN_FAILURE_RESTARTING, "waiting to restart");
                return -EAGAIN;
        }
        if (is_planned)
                plugin_take_checkpoint(plugin);
        struct plugin_instance *fresh =
                plugin_start_instance(plugin, plugin->version, &plugin->checkpoint, false, failure);
        plugin->status.instantiations++;
        if (fresh == NULL) {
                if (is_planned)
                        return 0; /* keep polling the old one; try again next time */
                record_failure(plugin, failure);
                after_crash(plugin, failure);
                return -EINVAL;
        }
        log_write(LOG_LEVEL_INFO, plugin->config.name, "%s instance of version %.12s%s",
                  is_planned ? "planned restart: fresh" : "restarted with a fresh",
                  plugin->version->hex,
                  fresh->has_lifecycle && plugin->checkpoint.bytes != NULL
                          ? ", saved state restored"
                          : "");
        plugin_record_event(plugin, is_planned ? "planned-restart" : "restarted",
                            plugin->version->hex, NULL);
        instance_free(plugin->live);
        plugin->live = fresh;
        plugin->state = PLUGIN_STATE_RUNNING;
        return 0;
}

int plugin_poll(struct plugin *plugin, struct reading_list *ret_readings,
                struct plugin_failure *ret_failure, char *ret_version) {
        ret_failure->kind = PLUGIN_FAILURE_NONE;
        ret_failure->message[0] = '\0';
        ret_failure->traceback[0] = '\0';
        ret_readings->items = NULL;
        ret_readings->count = 0;

        pthread_mutex_lock(&plugin->lock);
        if (ret_version != NULL)
                snprintf(ret_version, PLUGIN_VERSION_SHORT, "%.12s",
                         plugin->version != NULL ? plugin->version->hex : "");
        check_file_changed(plugin);
        int result;
        if (plugin->state == PLUGIN_STATE_QUARANTINED) {
                set_failure(ret_failure, PLUGIN_FAILURE_QUARANTINED, "quarantined");
                result = -EAGAIN;
                goto done;
        }
        if (plugin->state == PLUGIN_STATE_NOT_LOADED) {
                set_failure(ret_failure, PLUGIN_FAILURE_NOT_LOADED, plugin->status.last_error);
                result = -EAGAIN;
                goto done;
        }
        result = ensure_live_instance(plugin, ret_failure);
        if (result < 0)
                goto done;

        bool is_poisoned = false;
        result = instance_poll(plugin->live, ret_readings, ret_failure, &is_poisoned);
        plugin->status.polls++;
        if (result == 0) {
                plugin->consecutive_failures = 0;
                if (is_checkpoint_due(plugin))
                        plugin_take_checkpoint(plugin);
                if (plugin->probation_left > 0 && --plugin->probation_left == 0) {
                        plugin_record_event(plugin, "accepted", plugin->version->hex,
                                            "passed probation");
                        log_write(LOG_LEVEL_INFO, plugin->config.name,
                                  "version %.12s passed probation", plugin->version->hex);
                        plugin_version_free(plugin->previous);
                        plugin->previous = NULL;
                        plugin_saved_state_clear(&plugin->previous_state);
                }
                goto done;
        }
        plugin->status.failures++;
        record_failure(plugin, ret_failure);
        if (is_poisoned) {
                instance_free(plugin->live);
                plugin->live = NULL;
        }
        if (plugin->probation_left > 0 && plugin->previous != NULL)
                roll_back(plugin, ret_failure);
        else if (is_crash(ret_failure->kind))
                after_crash(plugin, ret_failure);
done:
        pthread_mutex_unlock(&plugin->lock);
        write_state_file(plugin, false);
        return result;
}

int plugin_reset(struct plugin *plugin) {
        pthread_mutex_lock(&plugin->lock);
        bool was_quarantined = plugin->state == PLUGIN_STATE_QUARANTINED;
        if (was_quarantined) {
                plugin->state = PLUGIN_STATE_FAILED;
                plugin->consecutive_failures = 0;
                plugin->restart_not_before = (struct timespec){0};
                plugin_record_event(plugin, "reset", plugin->version->hex, "quarantine lifted");
        }
        pthread_mutex_unlock(&plugin->lock);
        if (was_quarantined)
                log_write(LOG_LEVEL_INFO, plugin->config.name, "quarantine lifted by an operator");
        return was_quarantined ? 0 : -EALREADY;
}

void plugin_get_status(struct plugin *plugin, struct plugin_status *ret_status) {
        if (pthread_mutex_trylock(&plugin->lock) != 0) {
                /* A call into the plugin holds the lock (up to its budget):
                 * the last copy, at most one call old, and no wait. */
                pthread_mutex_lock(&plugin->status_copy_lock);
                *ret_status = plugin->status_copy;
                pthread_mutex_unlock(&plugin->status_copy_lock);
                return;
        }
        *ret_status = plugin->status;
        ret_status->state = plugin->state;
        ret_status->consecutive_failures = plugin->consecutive_failures;
        ret_status->probation_left = plugin->probation_left;
        snprintf(ret_status->version, sizeof(ret_status->version), "%s",
                 plugin->version != NULL ? plugin->version->hex : "");
        ret_status->loaded_at = plugin->version != NULL ? plugin->version->loaded_at : 0;
        ret_status->has_lifecycle = plugin->live != NULL && plugin->live->has_lifecycle;
        ret_status->state_bytes = plugin->checkpoint.size;
        if (plugin->live != NULL && plugin->live->memory != NULL) {
                ret_status->memory_bytes = pyhost_memory_limiter_bytes(plugin->live->memory);
                ret_status->memory_high_water =
                        pyhost_memory_limiter_high_water(plugin->live->memory);
        }
        ret_status->memory_limit = size_from_mib(plugin->config.memory_limit_mib);
        ret_status->denied_calls = plugin->sandbox.denied_calls;
        ret_status->dropped_log_lines = log_budget_dropped_total(&plugin->sandbox.log_budget);
        pthread_mutex_unlock(&plugin->lock);
        pthread_mutex_lock(&plugin->status_copy_lock);
        plugin->status_copy = *ret_status;
        pthread_mutex_unlock(&plugin->status_copy_lock);
}
