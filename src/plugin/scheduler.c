#include "plugin/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

struct scheduled_plugin {
        struct scheduler *scheduler;
        struct plugin *plugin;
        double interval_s;
        pthread_t thread;
        bool is_started;
        /* An operator's request, guarded by the scheduler's lock. */
        scheduler_answer answer;
        void *answer_data;
        enum scheduler_request_kind request_kind;
};

struct scheduler {
        pthread_mutex_t lock; /* guards is_stopping and each entry's request */
        pthread_cond_t wake;  /* signalled on stop and on a request */
        bool is_stopping;
        struct pipeline *pipeline;
        size_t count;
        struct scheduled_plugin entries[];
};

/* Polls once and publishes the outcome; returns the record with one
 * reference for the caller (NULL when out of memory). */
static struct poll_record *poll_once(struct scheduled_plugin *entry, enum poll_origin origin) {
        struct reading_list readings;
        struct plugin_failure *failure = malloc(sizeof(*failure));
        struct poll_record *record = poll_record_new(plugin_name(entry->plugin));
        if (failure == NULL || record == NULL) {
                /* Out of memory: do not call the plugin at all. */
                free(failure);
                poll_record_unref(record);
                pipeline_publish(entry->scheduler->pipeline, NULL);
                return NULL;
        }
        record->origin = origin;
        record->started_ms = clock_realtime_ms();
        struct timespec started, finished;
        clock_gettime(CLOCK_MONOTONIC, &started);
        int result = plugin_poll(entry->plugin, &readings, failure, record->version);
        clock_gettime(CLOCK_MONOTONIC, &finished);
        record->duration_ms = clock_ms_between(&started, &finished);
        record->finished_ms = clock_realtime_ms();
        plugin_record_outcome(record, result, &readings, failure);
        free(failure);
        pipeline_publish(entry->scheduler->pipeline, poll_record_ref(record));
        return record;
}

/* Takes the entry's pending request, if any; with the lock held. */
static scheduler_answer take_request(struct scheduled_plugin *entry, void **ret_data,
                                     enum scheduler_request_kind *ret_kind) {
        scheduler_answer answer = entry->answer;
        *ret_data = entry->answer_data;
        *ret_kind = entry->request_kind;
        entry->answer = NULL;
        entry->answer_data = NULL;
        return answer;
}

static void *run_plugin(void *argument) {
        struct scheduled_plugin *entry = argument;
        struct scheduler *scheduler = entry->scheduler;
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        bool is_due = true;
        for (;;) {
                if (is_due) {
                        poll_record_unref(poll_once(entry, POLL_ORIGIN_SCHEDULED));
                        struct timespec finished;
                        clock_gettime(CLOCK_MONOTONIC, &finished);
                        clock_add_seconds(&next, entry->interval_s);
                        if (clock_seconds_between(&finished, &next) < 0)
                                next = finished; /* overran: start again now, do not catch up */
                }

                pthread_mutex_lock(&scheduler->lock);
                int waited = 0;
                while (!scheduler->is_stopping && entry->answer == NULL && waited != ETIMEDOUT)
                        waited = pthread_cond_timedwait(&scheduler->wake, &scheduler->lock, &next);
                bool is_stopping = scheduler->is_stopping;
                void *answer_data = NULL;
                enum scheduler_request_kind kind = SCHEDULER_REQUEST_POLL;
                scheduler_answer answer =
                        is_stopping ? NULL : take_request(entry, &answer_data, &kind);
                pthread_mutex_unlock(&scheduler->lock);
                if (is_stopping)
                        break;
                is_due = answer == NULL;
                if (answer != NULL && kind == SCHEDULER_REQUEST_RESET) {
                        answer(NULL, plugin_reset(entry->plugin), answer_data);
                } else if (answer != NULL) {
                        struct poll_record *record = poll_once(entry, POLL_ORIGIN_OPERATOR);
                        answer(record, 0, answer_data);
                        poll_record_unref(record);
                }
        }
        return NULL;
}

struct scheduler *scheduler_start(struct plugin *const *plugins, const double *intervals_s,
                                  size_t count, struct pipeline *pipeline, struct ph_error *error) {
        struct scheduler *scheduler =
                calloc(1, sizeof(*scheduler) + count * sizeof(scheduler->entries[0]));
        if (scheduler == NULL) {
                ph_error_set(error, -ENOMEM, "scheduler: out of memory");
                return NULL;
        }
        pthread_mutex_init(&scheduler->lock, NULL);
        clock_cond_init_monotonic(&scheduler->wake);
        scheduler->pipeline = pipeline;
        scheduler->count = count;
        for (size_t i = 0; i < count; i++) {
                struct scheduled_plugin *entry = &scheduler->entries[i];
                entry->scheduler = scheduler;
                entry->plugin = plugins[i];
                entry->interval_s = intervals_s[i];
                if (pthread_create(&entry->thread, NULL, run_plugin, entry) != 0) {
                        ph_error_set(error, -EAGAIN, "scheduler: cannot start a thread for %s",
                                     plugin_name(plugins[i]));
                        scheduler_stop(scheduler);
                        return NULL;
                }
                entry->is_started = true;
        }
        return scheduler;
}

int scheduler_request(struct scheduler *scheduler, const char *name,
                      enum scheduler_request_kind kind, scheduler_answer answer, void *data) {
        if (scheduler == NULL)
                return -ESHUTDOWN;
        for (size_t i = 0; i < scheduler->count; i++) {
                struct scheduled_plugin *entry = &scheduler->entries[i];
                if (strcmp(plugin_name(entry->plugin), name) != 0)
                        continue;
                int result = 0;
                pthread_mutex_lock(&scheduler->lock);
                if (scheduler->is_stopping) {
                        result = -ESHUTDOWN;
                } else if (entry->answer != NULL) {
                        result = -EBUSY;
                } else {
                        entry->answer = answer;
                        entry->answer_data = data;
                        entry->request_kind = kind;
                        pthread_cond_broadcast(&scheduler->wake);
                }
                pthread_mutex_unlock(&scheduler->lock);
                return result;
        }
        return -ENOENT;
}

void scheduler_stop(struct scheduler *scheduler) {
        if (scheduler == NULL)
                return;
        pthread_mutex_lock(&scheduler->lock);
        scheduler->is_stopping = true;
        pthread_cond_broadcast(&scheduler->wake);
        pthread_mutex_unlock(&scheduler->lock);
        for (size_t i = 0; i < scheduler->count; i++)
                if (scheduler->entries[i].is_started)
                        pthread_join(scheduler->entries[i].thread, NULL);
        /* No thread runs now: answer what was never polled. */
        for (size_t i = 0; i < scheduler->count; i++) {
                void *data = NULL;
                enum scheduler_request_kind kind;
                scheduler_answer answer = take_request(&scheduler->entries[i], &data, &kind);
                if (answer != NULL)
                        answer(NULL, -ESHUTDOWN, data);
        }
        pthread_cond_destroy(&scheduler->wake);
        pthread_mutex_destroy(&scheduler->lock);
        free(scheduler);
}
