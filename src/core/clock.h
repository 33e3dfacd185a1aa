/* clock.h - time arithmetic shared by every module: milliseconds on the
 * wall and monotonic clocks, timespec sums and differences, and condition
 * variables that wait on the monotonic clock (so a wall-clock step never
 * stretches or cuts a wait).
 *
 * Owns nothing; thread-safe (no shared state). */
#ifndef PH_CLOCK_H
#define PH_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps that
 * leave the process (records, the API, history). */
int64_t clock_realtime_ms(void);

/* Milliseconds on CLOCK_MONOTONIC: for durations and deadlines. */
int64_t clock_monotonic_ms(void);

/* `to` - `from`, in seconds and in milliseconds. */
double clock_seconds_between(const struct timespec *from, const struct timespec *to);
double clock_ms_between(const struct timespec *from, const struct timespec *to);

/* Adds `seconds` (>= 0) to `time`, keeping tv_nsec in [0, 1e9). */
void clock_add_seconds(struct timespec *time, double seconds);

/* CLOCK_MONOTONIC now plus `ms` (negative counts as 0), for
 * pthread_cond_timedwait on a condition made by clock_cond_init_monotonic. */
struct timespec clock_monotonic_after_ms(int64_t ms);

/* Initialises `condition` to time its waits on CLOCK_MONOTONIC. */
void clock_cond_init_monotonic(pthread_cond_t *condition);

#endif
