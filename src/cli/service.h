/* service.h - what `pyhost run` does for the service manager: the systemd
 * watchdog, pinged only while every plugin's poll loop makes progress, and
 * the stop guard that bounds a SIGTERM stop even when a plugin is stuck.
 *
 * Threads: the watchdog belongs to the main thread. The stop guard runs one
 * thread of its own between stop_guard_start and stop_guard_finish; its
 * lock guards `is_done` and the stage name. service_run_watched runs one
 * helper thread for the duration of the call. */
#ifndef PH_CLI_SERVICE_H
#define PH_CLI_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/liveness.h"

struct service_watchdog {
        bool is_enabled;   /* systemd asked for pings ($WATCHDOG_USEC) */
        int64_t period_ms; /* between two checks (half the watchdog's timeout) */
        int64_t next_ms;   /* monotonic time of the next check */
        int stalled;       /* index of the stalled worker last logged, or -1 */
};

/* Reads $WATCHDOG_USEC; without it, still checks every 5 s so that a stall
 * is logged. Returns 0 or a negative code with `error` set. */
PH_MUST_USE int service_watchdog_init(struct service_watchdog *watchdog, int64_t now_ms,
                                      struct ph_error *error);

/* Milliseconds until the next check is due (0 when overdue). */
int64_t service_watchdog_wait_ms(const struct service_watchdog *watchdog, int64_t now_ms);

/* When a check is due: pings systemd (WATCHDOG=1) if no worker of
 * `liveness` is stalled, else withholds the ping and logs the stalled
 * worker once (and its recovery). Borrows `liveness`. */
void service_watchdog_check(struct service_watchdog *watchdog, struct liveness *liveness,
                            int64_t now_ms);

/* Runs `work(data)` on a helper thread while the calling (main) thread
 * goes on checking `watchdog` against `liveness` (borrowed), so that a long
 * job such as compiling a plugin during a reload neither starves the
 * watchdog nor hides a stalled plugin. Returns when `work` has returned.
 * If no thread can be started, runs `work` on the calling thread. */
void service_run_watched(void (*work)(void *data), void *data, struct service_watchdog *watchdog,
                         struct liveness *liveness);

/* Sends `state` to systemd, logging a failure (never fatal: the host
 * runs on without the service manager's news). */
void service_tell(const char *state);

/* Bounds a stop: if stop_guard_finish is not called within `timeout_s`,
 * the guard's thread logs the stage the stop is stuck in, calls
 * `on_timeout(data)` (which should save what it can, e.g. flush the
 * history) and ends the process with _exit(exit_code). */
struct stop_guard {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t done;
        bool is_started;
        bool is_done;
        const char *stage; /* a string literal: what the stop is doing */
        double timeout_s;
        int exit_code;
        void (*on_timeout)(void *data);
        void *data;
};

PH_MUST_USE int stop_guard_start(struct stop_guard *guard, double timeout_s, int exit_code,
                                 void (*on_timeout)(void *data), void *data,
                                 struct ph_error *error);

/* Names what the stop does now (a string literal, borrowed for good). */
void stop_guard_set_stage(struct stop_guard *guard, const char *stage);

/* The stop finished in time: stops the guard's thread. Accepts a guard
 * that was never started. */
void stop_guard_finish(struct stop_guard *guard);

#endif
