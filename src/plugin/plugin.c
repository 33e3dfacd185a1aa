/* plugin.c - one plugin's life: its current version, its live instance,
 * and what happens when it changes or fails.
 *
 * - Every poll reuses the live instance (Python globals persist).
 * - After each good poll, a plugin that exports `lifecycle` is asked for
 *   its state (the checkpoint), kept in memory and, at most once per
 *   state_write_interval_s, written to disk.
 * - A trap or an exceeded budget poisons the store: the instance is
 *   dropped; the next poll after a backoff makes a fresh one and restores
 *   the checkpoint. Too many crashes in a row quarantine the plugin until
 *   its file changes or plugin_reset.
 * - plugin_reload (on the reloader's thread) compiles a changed file and
 *   tries it in a trial instance whose actuator calls are held back, all
 *   without the lock; only the swap takes it. The new version is then on
 *   probation: if it fails within probation_polls polls, the host rolls
 *   back to the previous version and the state it had at the swap.
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

#include "core/file.h"
#include "core/log.h"
#include "plugin/instance.h"
#include "plugin/internal.h"
#include "plugin/python_source.h"

#define MAX_BACKOFF_MS 60000u
#define MAX_STATE_FILE_BYTES (1024u * 1024u)

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
        char state_path[PATH_MAX];    /* "" when states are not kept on disk */
        double state_write_interval_s;
        plugin_change_listener change_listener;
        void *change_listener_data;
        plugin_event_listener event_listener; /* guarded by `lock` */
        void *event_listener_data;

        pthread_mutex_t state_file_lock; /* serialises writes of state_path */
        struct timespec state_written_at;

        pthread_mutex_t lock; /* guards everything below */
        struct plugin_version *version;
        struct plugin_instance *live;    /* NULL after a crash, until restarted */
        struct plugin_version *previous; /* last good version, during probation */
        struct saved_state previous_state;
        unsigned probation_left;
        struct saved_state checkpoint;
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

const char *plugin_failure_kind_name(enum plugin_failure_kind kind) {
        static const char *const names[] = {
                "none",        "guest-error", "trap",        "budget-exceeded",
                "instantiate", "bad-output",  "quarantined", "restarting"};
        return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

const char *plugin_state_name(enum plugin_state state) {
        static const char *const names[] = {"running", "failed", "quarantined"};
        return (size_t)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
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

static void saved_state_clear(struct saved_state *state) {
        free(state->bytes);
        state->bytes = NULL;
        state->size = 0;
}

static int saved_state_copy(const struct saved_state *from, struct saved_state *to) {
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

static void version_free(struct plugin_version *version) {
        if (version == NULL)
                return;
        if (version->component != NULL)
                wasmtime_component_delete(version->component);
        python_source_free(version->modules, version->module_count);
        free(version);
}

/* Adds an event to the plugin's reload history and its last error. Called
 * with `lock` held. */
static void record_event(struct plugin *plugin, const char *kind, const char *version_hex,
                         const char *message) {
        struct plugin_status *status = &plugin->status;
        struct plugin_event *event = &status->history[status->history_count % PLUGIN_HISTORY_MAX];
        event->time = time(NULL);
        snprintf(event->kind, sizeof(event->kind), "%s", kind);
        snprintf(event->version, sizeof(event->version), "%.12s",
                 version_hex != NULL ? version_hex : "");
        snprintf(event->message, sizeof(event->message), "%s", message != NULL ? message : "");
        status->history_count++;
        if (plugin->event_listener != NULL)
                plugin->event_listener(plugin, event, plugin->event_listener_data);
}

static void record_failure(struct plugin *plugin, const struct plugin_failure *failure) {
        snprintf(plugin->status.last_error, sizeof(plugin->status.last_error), "%s",
                 failure->message);
        snprintf(plugin->status.last_traceback, sizeof(plugin->status.last_traceback), "%s",
                 failure->traceback);
        plugin->status.last_error_time = time(NULL);
}

/* --- loading versions and instances ------------------------------------ */

static struct plugin_version *load_version(struct plugin_engine *engine, const char *path,
                                           const struct plugin_grants *grants,
                                           struct ph_error *error) {
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
                    engine_python_runtime(engine, &version->component, error) < 0)
                        goto fail;
                version->imports_leds = true;
        } else {
                if (engine_load_component(engine, path, &version->component, &version->digest,
                                          error) < 0)
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
        version_free(version);
        return NULL;
}

static void set_instance_failure(struct plugin_failure *failure, const struct ph_error *error) {
        failure->kind = PLUGIN_FAILURE_INSTANTIATE;
        snprintf(failure->message, sizeof(failure->message), "%s", error->message);
        failure->traceback[0] = '\0';
}

/* A fresh instance of `version` with `state` restored (when both the
 * plugin and the state have one). */
static struct plugin_instance *start_instance(struct plugin *plugin,
                                              const struct plugin_version *version,
                                              const struct saved_state *state, bool is_trial,
                                              struct plugin_failure *failure) {
        struct ph_error error = {0};
        struct instance_limits limits = {
                .budget_ms = plugin->config.budget_ms,
                .memory_bytes = (size_t)plugin->config.memory_limit_mib << 20,
        };
        /* A trial instance keeps its own account of grants used, so that it
         * never races the live instance's. */
        struct plugin_instance *instance = instance_new(
                plugin->engine, version->component, plugin->config.name, plugin->board, &limits,
                is_trial ? NULL : &plugin->sandbox, &plugin->config.grants, is_trial, &error);
        if (instance == NULL) {
                set_instance_failure(failure, &error);
                return NULL;
        }
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
        int result = is_due ? saved_state_copy(&plugin->checkpoint, &copy) : 0;
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
        saved_state_clear(&copy);
        pthread_mutex_unlock(&plugin->state_file_lock);
}

/* The LEDs have one owner; when it fails or goes away they are driven to
 * its declared safe state rather than left showing whatever it last set. */
static void drive_outputs_safe(struct plugin *plugin, const char *why) {
        if (!plugin->config.grants.led_controller || plugin->version == NULL ||
            !plugin->version->imports_leds)
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

struct plugin *plugin_new(struct plugin_engine *engine, const struct plugin_config *config,
                          const struct plugin_host_options *options, struct hw_board *board,
                          struct ph_error *error) {
        struct plugin *plugin = calloc(1, sizeof(*plugin));
        if (plugin == NULL) {
                ph_error_set(error, -ENOMEM, "%s: out of memory", config->name);
                return NULL;
        }
        plugin->config = *config;
        plugin->engine = engine;
        plugin->board = board;
        pthread_mutex_init(&plugin->lock, NULL);
        pthread_mutex_init(&plugin->state_file_lock, NULL);
        if (options != NULL && options->state_dir != NULL && options->state_dir[0] != '\0') {
                if (file_make_directories(options->state_dir, 0700, error) < 0)
                        goto fail;
                snprintf(plugin->state_path, sizeof(plugin->state_path), "%s/%s.state",
                         options->state_dir, config->name);
                plugin->state_write_interval_s = options->state_write_interval_s;
        }

        sandbox_state_init(&plugin->sandbox, &plugin->config.grants);
        plugin->version = load_version(engine, config->path, &plugin->config.grants, error);
        if (plugin->version == NULL)
                goto fail;
        plugin->seen_identity = plugin->version->identity;
        load_state_file(plugin);
        struct plugin_failure failure;
        plugin->live =
                start_instance(plugin, plugin->version, &plugin->checkpoint, false, &failure);
        if (plugin->live == NULL) {
                ph_error_set(error, -EINVAL, "%s: %s", config->path, failure.message);
                goto fail;
        }
        plugin->status.instantiations = 1;
        record_event(plugin, "loaded", plugin->version->hex, config->path);
        return plugin;
fail:
        plugin_free(plugin);
        return NULL;
}

void plugin_free(struct plugin *plugin) {
        if (plugin == NULL)
                return;
        drive_outputs_safe(plugin, "is unloaded");
        write_state_file(plugin, true);
        instance_free(plugin->live);
        version_free(plugin->version);
        version_free(plugin->previous);
        saved_state_clear(&plugin->previous_state);
        saved_state_clear(&plugin->checkpoint);
        log_budget_destroy(&plugin->sandbox.log_budget);
        pthread_mutex_destroy(&plugin->lock);
        pthread_mutex_destroy(&plugin->state_file_lock);
        free(plugin);
}

void plugin_set_change_listener(struct plugin *plugin, plugin_change_listener listener,
                                void *data) {
        pthread_mutex_lock(&plugin->lock);
        plugin->change_listener = listener;
        plugin->change_listener_data = data;
        pthread_mutex_unlock(&plugin->lock);
}

void plugin_set_event_listener(struct plugin *plugin, plugin_event_listener listener, void *data) {
        pthread_mutex_lock(&plugin->lock);
        plugin->event_listener = listener;
        plugin->event_listener_data = data;
        pthread_mutex_unlock(&plugin->lock);
}

const char *plugin_path(const struct plugin *plugin) {
        return plugin->config.path;
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
                record_event(plugin, "quarantined", plugin->version->hex, message);
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
        struct plugin_instance *instance = start_instance(
                plugin, plugin->previous, &plugin->previous_state, false, &restart_failure);
        instance_free(plugin->live);
        plugin->live = instance;
        version_free(plugin->version);
        plugin->version = plugin->previous;
        plugin->previous = NULL;
        saved_state_clear(&plugin->checkpoint);
        plugin->checkpoint = plugin->previous_state;
        plugin->previous_state = (struct saved_state){0};
        plugin->is_checkpoint_unwritten = true;
        plugin->probation_left = 0;
        plugin->consecutive_failures = 0;
        plugin->state = PLUGIN_STATE_RUNNING;
        plugin->status.rollbacks++;
        record_event(plugin, "rolled-back", plugin->version->hex, message);
        log_write(LOG_LEVEL_ERROR, plugin->config.name, "%s: rolled back to version %.12s", message,
                  plugin->version->hex);
        if (instance == NULL) {
                plugin->status.instantiations++;
                after_crash(plugin, &restart_failure);
        }
}

/* Asks the live instance for its state and keeps it as the checkpoint. */
static void take_checkpoint(struct plugin *plugin) {
        if (plugin->live == NULL || !plugin->live->has_lifecycle)
                return;
        struct saved_state state = {0};
        struct plugin_failure failure;
        bool is_poisoned = false;
        if (instance_save_state(plugin->live, &state.bytes, &state.size, &failure, &is_poisoned) <
            0) {
                log_write(LOG_LEVEL_WARNING, plugin->config.name, "save-state failed: %s",
                          failure.message);
                if (is_poisoned) {
                        instance_free(plugin->live);
                        plugin->live = NULL;
                        record_failure(plugin, &failure);
                        after_crash(plugin, &failure);
                }
                return;
        }
        bool is_same = plugin->checkpoint.bytes != NULL && plugin->checkpoint.size == state.size &&
                       memcmp(plugin->checkpoint.bytes, state.bytes, state.size) == 0;
        if (is_same) {
                saved_state_clear(&state);
                return;
        }
        saved_state_clear(&plugin->checkpoint);
        plugin->checkpoint = state;
        plugin->is_checkpoint_unwritten = true;
}

/* Makes a live instance if there is none (after a crash) or if the current
 * one is due for a planned restart. With `lock`. Returns 0 when there is a
 * live instance to poll. */
static int ensure_live_instance(struct plugin *plugin, struct plugin_failure *failure) {
        bool is_planned = plugin->live != NULL &&
                          ((plugin->config.restart_after_polls > 0 &&
                            plugin->live->polls >= plugin->config.restart_after_polls) ||
                           (plugin->config.restart_above_mib > 0 &&
                            atomic_load(&plugin->live->memory.high_water) >=
                                    (size_t)plugin->config.restart_above_mib << 20));
        if (plugin->live != NULL && !is_planned)
                return 0;
        if (plugin->live == NULL && seconds_since(&plugin->restart_not_before) < 0) {
                set_failure(failure, PLUGIN_FAILURE_RESTARTING, "waiting to restart");
                return -EAGAIN;
        }
        if (is_planned)
                take_checkpoint(plugin);
        struct plugin_instance *fresh =
                start_instance(plugin, plugin->version, &plugin->checkpoint, false, failure);
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
        record_event(plugin, is_planned ? "planned-restart" : "restarted", plugin->version->hex,
                     NULL);
        instance_free(plugin->live);
        plugin->live = fresh;
        plugin->state = PLUGIN_STATE_RUNNING;
        return 0;
}

int plugin_poll(struct plugin *plugin, struct reading_list *ret_readings,
                struct plugin_failure *ret_failure) {
        ret_failure->kind = PLUGIN_FAILURE_NONE;
        ret_failure->message[0] = '\0';
        ret_failure->traceback[0] = '\0';
        ret_readings->items = NULL;
        ret_readings->count = 0;

        pthread_mutex_lock(&plugin->lock);
        check_file_changed(plugin);
        int result;
        if (plugin->state == PLUGIN_STATE_QUARANTINED) {
                set_failure(ret_failure, PLUGIN_FAILURE_QUARANTINED, "quarantined");
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
                take_checkpoint(plugin);
                if (plugin->probation_left > 0 && --plugin->probation_left == 0) {
                        record_event(plugin, "accepted", plugin->version->hex, "passed probation");
                        log_write(LOG_LEVEL_INFO, plugin->config.name,
                                  "version %.12s passed probation", plugin->version->hex);
                        version_free(plugin->previous);
                        plugin->previous = NULL;
                        saved_state_clear(&plugin->previous_state);
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

/* --- reloading --------------------------------------------------------- */

static void reject(struct plugin *plugin, const struct digest *digest, const char *hex,
                   const char *message) {
        pthread_mutex_lock(&plugin->lock);
        if (digest != NULL) {
                plugin->rejected_digest = *digest;
                plugin->has_rejected = true;
        }
        snprintf(plugin->status.last_error, sizeof(plugin->status.last_error), "%s", message);
        plugin->status.last_traceback[0] = '\0';
        plugin->status.last_error_time = time(NULL);
        plugin->status.rejected_reloads++;
        record_event(plugin, "rejected", hex, message);
        /* Copied under the lock: a rollback on the poll thread may free
         * the version as soon as the lock is released. */
        char running[DIGEST_HEX_SIZE];
        snprintf(running, sizeof(running), "%s",
                 plugin->version != NULL ? plugin->version->hex : "?");
        pthread_mutex_unlock(&plugin->lock);
        log_write(LOG_LEVEL_ERROR, plugin->config.name,
                  "new version rejected, version %.12s keeps running: %s", running, message);
}

/* Polls a trial instance once: its LED calls are held back and it is
 * thrown away afterwards. */
static int try_version(struct plugin *plugin, const struct plugin_version *version,
                       const struct saved_state *state, struct plugin_failure *failure) {
        struct plugin_instance *trial = start_instance(plugin, version, state, true, failure);
        if (trial == NULL)
                return -EINVAL;
        struct reading_list readings;
        bool is_poisoned = false;
        int result = instance_poll(trial, &readings, failure, &is_poisoned);
        reading_list_clear(&readings);
        instance_free(trial);
        return result;
}

int plugin_reload(struct plugin *plugin, struct ph_error *error) {
        struct ph_error load_error = {0};
        struct plugin_version *version = load_version(plugin->engine, plugin->config.path,
                                                      &plugin->config.grants, &load_error);
        if (version == NULL) {
                /* A file that does not load may still be half-written: the
                 * next change tries again. */
                reject(plugin, NULL, NULL, load_error.message);
                return ph_error_set(error, load_error.code, "%s", load_error.message);
        }
        pthread_mutex_lock(&plugin->lock);
        bool is_current =
                memcmp(&version->digest, &plugin->version->digest, sizeof(version->digest)) == 0;
        bool is_rejected =
                plugin->has_rejected &&
                memcmp(&version->digest, &plugin->rejected_digest, sizeof(version->digest)) == 0;
        struct saved_state trial_state = {0};
        int result = saved_state_copy(&plugin->checkpoint, &trial_state);
        pthread_mutex_unlock(&plugin->lock);
        if (is_current || is_rejected || result < 0) {
                version_free(version);
                saved_state_clear(&trial_state);
                return result;
        }

        struct plugin_failure failure;
        result = try_version(plugin, version, &trial_state, &failure);
        saved_state_clear(&trial_state);
        if (result < 0) {
                char message[PH_ERROR_MESSAGE_MAX];
                snprintf(message, sizeof(message), "trial poll of %.12s failed (%s): %.700s",
                         version->hex, plugin_failure_kind_name(failure.kind), failure.message);
                reject(plugin, &version->digest, version->hex, message);
                version_free(version);
                return ph_error_set(error, -EINVAL, "%s", message);
        }

        /* The swap: save the old instance's state, hand it to a fresh
         * instance of the new version, switch. Polls wait only this long. */
        pthread_mutex_lock(&plugin->lock);
        take_checkpoint(plugin);
        struct saved_state swap_state = {0};
        result = saved_state_copy(&plugin->checkpoint, &swap_state);
        struct plugin_instance *fresh =
                result < 0 ? NULL : start_instance(plugin, version, &swap_state, false, &failure);
        if (fresh == NULL) {
                pthread_mutex_unlock(&plugin->lock);
                saved_state_clear(&swap_state);
                char message[PH_ERROR_MESSAGE_MAX];
                snprintf(message, sizeof(message), "starting %.12s failed: %.800s", version->hex,
                         failure.message);
                reject(plugin, &version->digest, version->hex, message);
                version_free(version);
                return ph_error_set(error, -EINVAL, "%s", message);
        }
        struct plugin_instance *old_instance = plugin->live;
        version_free(plugin->previous);
        saved_state_clear(&plugin->previous_state);
        if (plugin->config.probation_polls > 0) {
                plugin->previous = plugin->version;
                plugin->previous_state = swap_state;
        } else {
                version_free(plugin->version);
                saved_state_clear(&swap_state);
        }
        char old_hex[DIGEST_HEX_SIZE];
        snprintf(old_hex, sizeof(old_hex), "%s", plugin->version->hex);
        plugin->version = version;
        plugin->live = fresh;
        plugin->probation_left = plugin->config.probation_polls;
        plugin->state = PLUGIN_STATE_RUNNING;
        plugin->consecutive_failures = 0;
        plugin->has_rejected = false;
        plugin->status.reloads++;
        plugin->status.instantiations++;
        char message[160];
        snprintf(message, sizeof(message), "replaced %.12s%s", old_hex,
                 fresh->has_lifecycle && plugin->checkpoint.bytes != NULL ? ", state handed over"
                                                                          : "");
        record_event(plugin, "reloaded", version->hex, message);
        /* Copied under the lock: once it is released, a failure on
         * probation may roll back and free `version`. */
        char new_hex[DIGEST_HEX_SIZE];
        snprintf(new_hex, sizeof(new_hex), "%s", version->hex);
        pthread_mutex_unlock(&plugin->lock);
        instance_free(old_instance);
        log_write(LOG_LEVEL_INFO, plugin->config.name,
                  "reloaded: version %.12s %s; on probation for %u polls", new_hex, message,
                  plugin->config.probation_polls);
        return 0;
}

int plugin_reset(struct plugin *plugin) {
        pthread_mutex_lock(&plugin->lock);
        bool was_quarantined = plugin->state == PLUGIN_STATE_QUARANTINED;
        if (was_quarantined) {
                plugin->state = PLUGIN_STATE_FAILED;
                plugin->consecutive_failures = 0;
                plugin->restart_not_before = (struct timespec){0};
                record_event(plugin, "reset", plugin->version->hex, "quarantine lifted");
        }
        pthread_mutex_unlock(&plugin->lock);
        if (was_quarantined)
                log_write(LOG_LEVEL_INFO, plugin->config.name, "quarantine lifted by an operator");
        return was_quarantined ? 0 : -EALREADY;
}

void plugin_get_status(struct plugin *plugin, struct plugin_status *ret_status) {
        pthread_mutex_lock(&plugin->lock);
        *ret_status = plugin->status;
        ret_status->state = plugin->state;
        ret_status->consecutive_failures = plugin->consecutive_failures;
        ret_status->probation_left = plugin->probation_left;
        snprintf(ret_status->version, sizeof(ret_status->version), "%s", plugin->version->hex);
        ret_status->loaded_at = plugin->version->loaded_at;
        ret_status->has_lifecycle = plugin->live != NULL && plugin->live->has_lifecycle;
        ret_status->state_bytes = plugin->checkpoint.size;
        if (plugin->live != NULL) {
                ret_status->memory_bytes = atomic_load(&plugin->live->memory.bytes);
                ret_status->memory_high_water = atomic_load(&plugin->live->memory.high_water);
        }
        ret_status->memory_limit = (size_t)plugin->config.memory_limit_mib << 20;
        ret_status->denied_calls = plugin->sandbox.denied_calls;
        ret_status->dropped_log_lines = log_budget_dropped_total(&plugin->sandbox.log_budget);
        pthread_mutex_unlock(&plugin->lock);
}
