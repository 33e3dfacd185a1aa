/* liveness.h - is every worker thread still making progress? The host's
 * answer to the service manager's watchdog.
 *
 * Each worker (one per plugin: its scheduler thread) beats after every
 * poll it finishes, failed or skipped ones included. A worker is stalled
 * when it has not beaten for longer than its own allowance (its interval
 * plus its CPU budget plus a grace for hardware waits), which only happens
 * when a poll is stuck, e.g. in a host call the budget cannot interrupt.
 *
 * Owns a fixed table of workers, caller-allocated. Threads: the owner
 * (the main thread) adds workers while none of them runs and checks for
 * stalls; workers call liveness_beat concurrently. Beats are atomic, so
 * there is no lock. Knows nothing of plugins. */
#ifndef PH_LIVENESS_H
#define PH_LIVENESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define LIVENESS_MAX_WORKERS 16
#define LIVENESS_NAME_MAX 64

struct liveness_worker {
        char name[LIVENESS_NAME_MAX];
        int64_t max_silence_ms;
        _Atomic int64_t last_beat_ms;
};

struct liveness {
        size_t count;
        struct liveness_worker workers[LIVENESS_MAX_WORKERS];
};

/* Empties the table. */
void liveness_init(struct liveness *liveness);

/* Adds a worker named `name` (copied) that counts as having beaten at
 * `now_ms` and may stay silent for `max_silence_ms`; sets *ret_index to the
 * index that liveness_beat takes. Returns 0, or -E2BIG (table full) or
 * -EINVAL (a negative allowance) with `error` set. */
PH_MUST_USE int liveness_add(struct liveness *liveness, const char *name, int64_t max_silence_ms,
                             int64_t now_ms, size_t *ret_index, struct ph_error *error);

/* Records progress of worker `index` at `now_ms`. Thread-safe. An index
 * out of range is ignored. */
void liveness_beat(struct liveness *liveness, size_t index, int64_t now_ms);

/* Returns the index of the worker that has been silent longest beyond its
 * allowance at `now_ms`, with that silence in *ret_silence_ms, or -1 when
 * every worker is making progress. */
PH_MUST_USE int liveness_find_stalled(struct liveness *liveness, int64_t now_ms,
                                      int64_t *ret_silence_ms);

/* Milliseconds on the monotonic clock, for `now_ms`. */
int64_t liveness_now_ms(void);

#endif
