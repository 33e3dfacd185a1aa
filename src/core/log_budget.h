/* log_budget.h - a token bucket on the log lines one plugin may write, so
 * that a plugin printing 100 MB cannot flood the log or the disk under it.
 *
 * Lines over the budget are dropped and counted; the log says once when
 * dropping starts and how many were dropped when it stops. Thread-safe
 * (`lock`): a plugin's WASI output reaches it on Wasmtime's I/O threads,
 * its log calls on the thread calling into the plugin. */
#ifndef PH_LOG_BUDGET_H
#define PH_LOG_BUDGET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct log_budget {
        pthread_mutex_t lock; /* guards everything below */
        double lines_per_second;
        double burst;
        double tokens;
        struct timespec refilled_at;
        bool is_dropping;
        uint64_t dropped_now;   /* since dropping started */
        uint64_t dropped_total; /* ever */
};

void log_budget_init(struct log_budget *budget, double lines_per_second, double burst);

/* Returns whether one more line may be written by `tag`. */
bool log_budget_take(struct log_budget *budget, const char *tag);

/* How many lines were dropped, ever. */
uint64_t log_budget_dropped_total(struct log_budget *budget);

void log_budget_destroy(struct log_budget *budget);

#endif
