#include "core/clock.h"

#define NANOSECONDS_PER_SECOND 1000000000L

int64_t clock_realtime_ms(void) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t clock_monotonic_ms(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

double clock_seconds_between(const struct timespec *from, const struct timespec *to) {
        return (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

double clock_ms_between(const struct timespec *from, const struct timespec *to) {
        return clock_seconds_between(from, to) * 1000.0;
}

void clock_add_seconds(struct timespec *time, double seconds) {
        if (!(seconds > 0))
                return;
        time_t whole = (time_t)seconds;
        long nanoseconds = time->tv_nsec + (long)((seconds - (double)whole) * 1e9);
        time->tv_sec += whole + nanoseconds / NANOSECONDS_PER_SECOND;
        time->tv_nsec = nanoseconds % NANOSECONDS_PER_SECOND;
}

struct timespec clock_monotonic_after_ms(int64_t ms) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        if (ms > 0) {
                deadline.tv_sec += (time_t)(ms / 1000);
                deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
                if (deadline.tv_nsec >= NANOSECONDS_PER_SECOND) {
                        deadline.tv_sec++;
                        deadline.tv_nsec -= NANOSECONDS_PER_SECOND;
                }
        }
        return deadline;
}

void clock_cond_init_monotonic(pthread_cond_t *condition) {
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(condition, &attributes);
        pthread_condattr_destroy(&attributes);
}
