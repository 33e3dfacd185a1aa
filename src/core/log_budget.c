#include "core/log_budget.h"

#include "core/log.h"

void log_budget_init(struct log_budget *budget, double lines_per_second, double burst) {
        *budget = (struct log_budget){
                .lines_per_second = lines_per_second,
                .burst = burst,
                .tokens = burst,
        };
        pthread_mutex_init(&budget->lock, NULL);
        clock_gettime(CLOCK_MONOTONIC, &budget->refilled_at);
}

void log_budget_destroy(struct log_budget *budget) {
        pthread_mutex_destroy(&budget->lock);
}

uint64_t log_budget_dropped_total(struct log_budget *budget) {
        pthread_mutex_lock(&budget->lock);
        uint64_t dropped = budget->dropped_total;
        pthread_mutex_unlock(&budget->lock);
        return dropped;
}

static bool take(struct log_budget *budget, const char *tag) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - budget->refilled_at.tv_sec) +
                         (double)(now.tv_nsec - budget->refilled_at.tv_nsec) / 1e9;
        budget->refilled_at = now;
        budget->tokens += elapsed * budget->lines_per_second;
        if (budget->tokens > budget->burst)
                budget->tokens = budget->burst;
        if (budget->tokens >= 1.0) {
                budget->tokens -= 1.0;
                if (budget->is_dropping) {
                        budget->is_dropping = false;
                        log_write(LOG_LEVEL_WARNING, tag, "%llu log lines were dropped",
                                  (unsigned long long)budget->dropped_now);
                }
                return true;
        }
        if (!budget->is_dropping) {
                budget->is_dropping = true;
                budget->dropped_now = 0;
                log_write(LOG_LEVEL_WARNING, tag,
                          "log rate limit reached (%.0f lines/s, bursts of %.0f): dropping lines",
                          budget->lines_per_second, budget->burst);
        }
        budget->dropped_now++;
        budget->dropped_total++;
        return false;
}

bool log_budget_take(struct log_budget *budget, const char *tag) {
        pthread_mutex_lock(&budget->lock);
        bool is_taken = take(budget, tag);
        pthread_mutex_unlock(&budget->lock);
        return is_taken;
}
