#include "plugin/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct scheduled_plugin {
        struct scheduler *scheduler;
        struct plugin *plugin;
        double interval_s;
        pthread_t thread;
        bool is_started;
};

struct scheduler {
        pthread_mutex_t lock; /* guards is_stopping */
        pthread_cond_t wake;  /* signalled on stop */
        bool is_stopping;
        scheduler_poll_callback callback;
        void *user_data;
        size_t count;
        struct scheduled_plugin entries[];
};

static double seconds_between(const struct timespec *from, const struct timespec *to) {
        return (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

static void add_seconds(struct timespec *time, double seconds) {
        time_t whole = (time_t)seconds;
        long nanoseconds = time->tv_nsec + (long)((seconds - (double)whole) * 1e9);
        time->tv_sec += whole + nanoseconds / 1000000000L;
        time->tv_nsec = nanoseconds % 1000000000L;
}

static void *run_plugin(void *argument) {
        struct scheduled_plugin *entry = argument;
        struct scheduler *scheduler = entry->scheduler;
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        for (;;) {
                struct timespec started;
                clock_gettime(CLOCK_MONOTONIC, &started);
                struct reading_list readings;
                struct plugin_failure failure;
                int result = plugin_poll(entry->plugin, &readings, &failure);
                struct timespec finished;
                clock_gettime(CLOCK_MONOTONIC, &finished);
                scheduler->callback(entry->plugin, &readings, result < 0 ? &failure : NULL,
                                    seconds_between(&started, &finished) * 1000.0,
                                    scheduler->user_data);
                reading_list_clear(&readings);

                add_seconds(&next, entry->interval_s);
                if (seconds_between(&finished, &next) < 0)
                        next = finished; /* overran: start again now, do not catch up */

                pthread_mutex_lock(&scheduler->lock);
                while (!scheduler->is_stopping &&
                       pthread_cond_timedwait(&scheduler->wake, &scheduler->lock, &next) !=
                               ETIMEDOUT) {
                }
                bool is_stopping = scheduler->is_stopping;
                pthread_mutex_unlock(&scheduler->lock);
                if (is_stopping)
                        break;
        }
        return NULL;
}

struct scheduler *scheduler_start(struct plugin *const *plugins, const double *intervals_s,
                                  size_t count, scheduler_poll_callback callback, void *user_data,
                                  struct ph_error *error) {
        struct scheduler *scheduler =
                calloc(1, sizeof(*scheduler) + count * sizeof(scheduler->entries[0]));
        if (scheduler == NULL) {
                ph_error_set(error, -ENOMEM, "scheduler: out of memory");
                return NULL;
        }
        pthread_mutex_init(&scheduler->lock, NULL);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&scheduler->wake, &attributes);
        pthread_condattr_destroy(&attributes);
        scheduler->callback = callback;
        scheduler->user_data = user_data;
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
        pthread_cond_destroy(&scheduler->wake);
        pthread_mutex_destroy(&scheduler->lock);
        free(scheduler);
}
