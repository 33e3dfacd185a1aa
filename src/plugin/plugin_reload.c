/* plugin_reload.c - a plugin's new versions (plugin.h's plugin_reload):
 * compile without the lock, a trial poll in a throwaway instance whose
 * actuator calls are held back (published as a "trial" record), the swap
 * with the old instance's state under the lock, probation's start, and the
 * first load of a plugin whose file did not load before. Runs on the
 * reloader's thread; see plugin.c for the rest of a plugin's life. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "plugin/plugin_private.h"

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
        plugin_record_event(plugin, "rejected", hex, message);
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
 * thrown away afterwards. The outcome is published (origin "trial"). */
static int try_version(struct plugin *plugin, const struct plugin_version *version,
                       const struct saved_state *state, struct plugin_failure *failure) {
        struct poll_record *record =
                plugin->pipeline != NULL ? poll_record_new(plugin->config.name) : NULL;
        struct timespec started, finished;
        clock_gettime(CLOCK_MONOTONIC, &started);
        if (record != NULL) {
                record->origin = POLL_ORIGIN_TRIAL;
                record->started_ms = clock_realtime_ms();
                snprintf(record->version, sizeof(record->version), "%.12s", version->hex);
        }
        struct reading_list readings = {0};
        int result = -EINVAL;
        struct plugin_instance *trial =
                plugin_start_instance(plugin, version, state, true, failure);
        if (trial != NULL) {
                bool is_poisoned = false;
                result = instance_poll(trial, &readings, failure, &is_poisoned);
                instance_free(trial);
        }
        if (record != NULL) {
                clock_gettime(CLOCK_MONOTONIC, &finished);
                record->duration_ms = clock_ms_between(&started, &finished);
                record->finished_ms = clock_realtime_ms();
                plugin_record_outcome(record, result, &readings, failure);
                pipeline_publish(plugin->pipeline, record);
        }
        reading_list_clear(&readings);
        return result;
}

/* The reload of a plugin that is not loaded: `version` (taken) becomes its
 * first, as at start-up, or the reason it did not start is recorded. */
static int load_first_version(struct plugin *plugin, struct plugin_version *version,
                              struct ph_error *error) {
        struct plugin_failure failure = {0};
        struct ph_error why = {0};
        pthread_mutex_lock(&plugin->lock);
        int result = plugin_start_first_version(plugin, version, &failure);
        if (result < 0) {
                ph_error_set(&why, -EINVAL, "%s: %s", plugin->config.path, failure.message);
                plugin_note_not_loaded(plugin, version, why.message, failure.traceback);
        }
        pthread_mutex_unlock(&plugin->lock);
        if (result < 0) {
                log_write(LOG_LEVEL_ERROR, plugin->config.name, "still not loaded: %s",
                          why.message);
                plugin_version_free(version);
                return ph_error_set(error, -EINVAL, "%s", why.message);
        }
        log_write(LOG_LEVEL_INFO, plugin->config.name,
                  "loaded %s (version %.12s), now that it loads; polling every %g s",
                  plugin->config.path, version->hex, plugin->config.interval_s);
        return 0;
}

int plugin_reload(struct plugin *plugin, struct compile_cancel *cancel, struct ph_error *error) {
        struct ph_error load_error = {0};
        struct plugin_version *version = plugin_load_version(
                plugin->engine, plugin->config.path, &plugin->config.grants, cancel, &load_error);
        if (version == NULL && load_error.code == -ECANCELED) {
                /* Stopping: the version was not judged. Forget having seen
                 * the file, so the next poll's check notices it again. */
                pthread_mutex_lock(&plugin->lock);
                memset(&plugin->seen_identity, 0, sizeof(plugin->seen_identity));
                pthread_mutex_unlock(&plugin->lock);
                log_write(LOG_LEVEL_INFO, plugin->config.name, "reload abandoned: %s",
                          load_error.message);
                return ph_error_set(error, -ECANCELED, "%s", load_error.message);
        }
        if (version == NULL) {
                /* A file that does not load may still be half-written: the
                 * next change tries again. */
                if (plugin_is_loaded(plugin)) {
                        reject(plugin, NULL, NULL, load_error.message);
                } else {
                        pthread_mutex_lock(&plugin->lock);
                        plugin_note_not_loaded(plugin, NULL, load_error.message, "");
                        pthread_mutex_unlock(&plugin->lock);
                        log_write(LOG_LEVEL_ERROR, plugin->config.name, "still not loaded: %s",
                                  load_error.message);
                }
                return ph_error_set(error, load_error.code, "%s", load_error.message);
        }
        pthread_mutex_lock(&plugin->lock);
        /* Only this thread (the reloader) gives a plugin its first version. */
        bool is_loaded = plugin->version != NULL;
        bool is_current = is_loaded && memcmp(&version->digest, &plugin->version->digest,
                                              sizeof(version->digest)) == 0;
        bool is_rejected =
                plugin->has_rejected &&
                memcmp(&version->digest, &plugin->rejected_digest, sizeof(version->digest)) == 0;
        struct saved_state trial_state = {0};
        int result = is_loaded ? plugin_saved_state_copy(&plugin->checkpoint, &trial_state) : 0;
        pthread_mutex_unlock(&plugin->lock);
        if (!is_loaded && !is_rejected)
                return load_first_version(plugin, version, error);
        if (is_current || is_rejected || result < 0) {
                plugin_version_free(version);
                plugin_saved_state_clear(&trial_state);
                return result;
        }

        struct plugin_failure failure;
        result = try_version(plugin, version, &trial_state, &failure);
        plugin_saved_state_clear(&trial_state);
        if (result < 0) {
                char message[PH_ERROR_MESSAGE_MAX];
                snprintf(message, sizeof(message), "trial poll of %.12s failed (%s): %.700s",
                         version->hex, plugin_failure_kind_name(failure.kind), failure.message);
                reject(plugin, &version->digest, version->hex, message);
                plugin_version_free(version);
                return ph_error_set(error, -EINVAL, "%s", message);
        }

        /* The swap: save the old instance's state, hand it to a fresh
         * instance of the new version, switch. Polls wait only this long. */
        pthread_mutex_lock(&plugin->lock);
        plugin_take_checkpoint(plugin);
        struct saved_state swap_state = {0};
        result = plugin_saved_state_copy(&plugin->checkpoint, &swap_state);
        struct plugin_instance *fresh =
                result < 0 ? NULL
                           : plugin_start_instance(plugin, version, &swap_state, false, &failure);
        if (fresh == NULL) {
                pthread_mutex_unlock(&plugin->lock);
                plugin_saved_state_clear(&swap_state);
                char message[PH_ERROR_MESSAGE_MAX];
                snprintf(message, sizeof(message), "starting %.12s failed: %.800s", version->hex,
                         failure.message);
                reject(plugin, &version->digest, version->hex, message);
                plugin_version_free(version);
                return ph_error_set(error, -EINVAL, "%s", message);
        }
        struct plugin_instance *old_instance = plugin->live;
        plugin_version_free(plugin->previous);
        plugin_saved_state_clear(&plugin->previous_state);
        if (plugin->config.probation_polls > 0) {
                plugin->previous = plugin->version;
                plugin->previous_state = swap_state;
        } else {
                plugin_version_free(plugin->version);
                plugin_saved_state_clear(&swap_state);
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
        plugin_record_event(plugin, "reloaded", version->hex, message);
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
