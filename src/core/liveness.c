#include "core/liveness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

void liveness_init(struct liveness *liveness) {
        memset(liveness, 0, sizeof(*liveness));
}

int liveness_add(struct liveness *liveness, const char *name, int64_t max_silence_ms,
                 int64_t now_ms, size_t *ret_index, struct ph_error *error) {
        if (liveness->count == LIVENESS_MAX_WORKERS)
                return ph_error_set(error, -E2BIG, "liveness: at most %d workers",
                                    LIVENESS_MAX_WORKERS);
        if (max_silence_ms < 0)
                return ph_error_set(error, -EINVAL, "liveness: %s: negative allowance", name);
        struct liveness_worker *worker = &liveness->workers[liveness->count];
        snprintf(worker->name, sizeof(worker->name), "%s", name);
        worker->max_silence_ms = max_silence_ms;
        atomic_store_explicit(&worker->last_beat_ms, now_ms, memory_order_relaxed);
        *ret_index = liveness->count++;
        return 0;
}

void liveness_beat(struct liveness *liveness, size_t index, int64_t now_ms) {
        if (index >= liveness->count)
                return;
        atomic_store_explicit(&liveness->workers[index].last_beat_ms, now_ms, memory_order_relaxed);
}

int liveness_find_stalled(struct liveness *liveness, int64_t now_ms, int64_t *ret_silence_ms) {
        int stalled = -1;
        int64_t worst_excess = 0;
        for (size_t i = 0; i < liveness->count; i++) {
                struct liveness_worker *worker = &liveness->workers[i];
                int64_t silence =
                        now_ms - atomic_load_explicit(&worker->last_beat_ms, memory_order_relaxed);
                int64_t excess = silence - worker->max_silence_ms;
                if (excess > worst_excess) {
                        worst_excess = excess;
                        stalled = (int)i;
                        *ret_silence_ms = silence;
                }
        }
        return stalled;
}

int64_t liveness_now_ms(void) {
        return clock_monotonic_ms();
}
