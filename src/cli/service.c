#include "cli/service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/service_notify.h"

/* Without a watchdog, stalls are still looked for this often (and logged). */
#define CHECK_WITHOUT_WATCHDOG_MS 5000

void service_tell(const char *state) {
        struct ph_error error = {0};
        if (service_notify(state, &error) < 0)
                log_write(LOG_LEVEL_WARNING, "service", "cannot notify systemd: %s", error.message);
}

int service_watchdog_init(struct service_watchdog *watchdog, int64_t now_ms,
                          struct ph_error *error) {
        memset(watchdog, 0, sizeof(*watchdog));
        watchdog->stalled = -1;
        watchdog->period_ms = CHECK_WITHOUT_WATCHDOG_MS;
        uint64_t usec = 0;
        int result = service_watchdog_usec(&usec, error);
        if (result < 0)
                return result;
        if (result > 0) {
                watchdog->is_enabled = true;
                /* Half the timeout, as systemd recommends, at least 1 ms. */
                watchdog->period_ms = (int64_t)(usec / 2000);
                if (watchdog->period_ms < 1)
                        watchdog->period_ms = 1;
                log_write(LOG_LEVEL_INFO, "service",
                          "systemd watchdog: %llu ms; pinged every %lld ms while every plugin "
                          "makes progress",
                          (unsigned long long)(usec / 1000), (long long)watchdog->period_ms);
        }
        watchdog->next_ms = now_ms; /* the first check at once */
        return 0;
}

int64_t service_watchdog_wait_ms(const struct service_watchdog *watchdog, int64_t now_ms) {
        int64_t wait = watchdog->next_ms - now_ms;
        return wait > 0 ? wait : 0;
}

void service_watchdog_check(struct service_watchdog *watchdog, struct liveness *liveness,
                            int64_t now_ms) {
        if (now_ms < watchdog->next_ms)
                return;
        watchdog->next_ms = now_ms + watchdog->period_ms;
        int64_t silence_ms = 0;
        int stalled = liveness_find_stalled(liveness, now_ms, &silence_ms);
        if (stalled < 0) {
                if (watchdog->stalled >= 0)
                        log_write(LOG_LEVEL_INFO, "service",
                                  "every plugin makes progress again; watchdog pings resume");
                watchdog->stalled = -1;
                if (watchdog->is_enabled)
                        service_tell("WATCHDOG=1");
                return;
        }
        if (stalled != watchdog->stalled) {
                const struct liveness_worker *worker = &liveness->workers[stalled];
                log_write(LOG_LEVEL_ERROR, worker->name,
                          "has not finished a poll for %.1f s (allowed %.1f s): stuck%s",
                          (double)silence_ms / 1000.0, (double)worker->max_silence_ms / 1000.0,
                          watchdog->is_enabled ? "; watchdog pings withheld, so systemd "
                                                 "restarts the host"
                                               : "");
        }
        watchdog->stalled = stalled;
}

struct watched_work {
        void (*work)(void *data);
        void *data;
        pthread_mutex_t lock; /* guards is_done */
        pthread_cond_t done;
        bool is_done;
};

static void *watched_main(void *argument) {
        struct watched_work *watched = argument;
        watched->work(watched->data);
        pthread_mutex_lock(&watched->lock);
        watched->is_done = true;
        pthread_cond_signal(&watched->done);
        pthread_mutex_unlock(&watched->lock);
        return NULL;
}

static struct timespec monotonic_after_ms(int64_t ms) {
        struct timespec time;
        clock_gettime(CLOCK_MONOTONIC, &time);
        time.tv_sec += (time_t)(ms / 1000);
        time.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (time.tv_nsec >= 1000000000L) {
                time.tv_sec++;
                time.tv_nsec -= 1000000000L;
        }
        return time;
}

void service_run_watched(void (*work)(void *data), void *data, struct service_watchdog *watchdog,
                         struct liveness *liveness) {
        struct watched_work watched = {.work = work, .data = data};
        pthread_mutex_init(&watched.lock, NULL);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&watched.done, &attributes);
        pthread_condattr_destroy(&attributes);
        pthread_t thread;
        if (pthread_create(&thread, NULL, watched_main, &watched) != 0) {
                work(data);
        } else {
                pthread_mutex_lock(&watched.lock);
                while (!watched.is_done) {
                        pthread_mutex_unlock(&watched.lock);
                        service_watchdog_check(watchdog, liveness, liveness_now_ms());
                        struct timespec until = monotonic_after_ms(
                                service_watchdog_wait_ms(watchdog, liveness_now_ms()));
                        pthread_mutex_lock(&watched.lock);
                        if (!watched.is_done)
                                pthread_cond_timedwait(&watched.done, &watched.lock, &until);
                }
                pthread_mutex_unlock(&watched.lock);
                pthread_join(thread, NULL);
        }
        pthread_cond_destroy(&watched.done);
        pthread_mutex_destroy(&watched.lock);
}

static void *guard_main(void *argument) {
        struct stop_guard *guard = argument;
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        double whole = (double)(time_t)guard->timeout_s;
        deadline.tv_sec += (time_t)guard->timeout_s;
        deadline.tv_nsec += (long)((guard->timeout_s - whole) * 1e9);
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&guard->lock);
        while (!guard->is_done &&
               pthread_cond_timedwait(&guard->done, &guard->lock, &deadline) != ETIMEDOUT) {
        }
        bool is_done = guard->is_done;
        const char *stage = guard->stage;
        pthread_mutex_unlock(&guard->lock);
        if (is_done)
                return NULL;
        log_write(LOG_LEVEL_ERROR, "host",
                  "stop did not finish within %g s (still %s): saving what can be saved and "
                  "exiting without waiting",
                  guard->timeout_s, stage);
        if (guard->on_timeout != NULL)
                guard->on_timeout(guard->data);
        fflush(stdout);
        _exit(guard->exit_code);
}

int stop_guard_start(struct stop_guard *guard, double timeout_s, int exit_code,
                     void (*on_timeout)(void *data), void *data, struct ph_error *error) {
        memset(guard, 0, sizeof(*guard));
        guard->timeout_s = timeout_s;
        guard->exit_code = exit_code;
        guard->on_timeout = on_timeout;
        guard->data = data;
        guard->stage = "starting to stop";
        pthread_mutex_init(&guard->lock, NULL);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&guard->done, &attributes);
        pthread_condattr_destroy(&attributes);
        int result = pthread_create(&guard->thread, NULL, guard_main, guard);
        if (result != 0) {
                pthread_cond_destroy(&guard->done);
                pthread_mutex_destroy(&guard->lock);
                return ph_error_set(error, -result, "cannot start the stop guard: %s",
                                    strerror(result));
        }
        guard->is_started = true;
        return 0;
}

void stop_guard_set_stage(struct stop_guard *guard, const char *stage) {
        if (!guard->is_started)
                return;
        pthread_mutex_lock(&guard->lock);
        guard->stage = stage;
        pthread_mutex_unlock(&guard->lock);
}

void stop_guard_finish(struct stop_guard *guard) {
        if (!guard->is_started)
                return;
        pthread_mutex_lock(&guard->lock);
        guard->is_done = true;
        pthread_cond_signal(&guard->done);
        pthread_mutex_unlock(&guard->lock);
        /* If the guard already timed out it is ending the process: this
         * join then never returns, which is what we want. */
        pthread_join(guard->thread, NULL);
        pthread_cond_destroy(&guard->done);
        pthread_mutex_destroy(&guard->lock);
        guard->is_started = false;
}
