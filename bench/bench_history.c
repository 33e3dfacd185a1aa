/* bench_history: sustained appends through the real history module into a
 * real SQLite file; prints {"rows", "seconds", "rows_per_s"} as JSON.
 *
 * Usage: bench_history PATH ROWS BATCH_ROWS normal|full
 *
 * Readings are appended one per "poll", as fast as the writer takes them:
 * every half queue the producer waits with history_flush, so no reading is
 * dropped and the figure is the writer's sustained rate (inserts, commits,
 * retention), not the speed of filling a queue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store/history.h"

static double now_s(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int parse_count(const char *text, unsigned long *ret) {
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || value == 0)
                return -1;
        *ret = value;
        return 0;
}

int main(int argc, char **argv) {
        unsigned long rows = 0;
        unsigned long batch_rows = 0;
        enum history_sync sync = HISTORY_SYNC_NORMAL;
        if (argc != 5 || parse_count(argv[2], &rows) < 0 || parse_count(argv[3], &batch_rows) < 0 ||
            batch_rows > 100000 || history_sync_parse(argv[4], &sync) < 0) {
                fprintf(stderr, "usage: bench_history PATH ROWS BATCH_ROWS normal|full\n");
                return 2;
        }
        struct history_options options = {.path = argv[1],
                                          .sync = sync,
                                          .batch_rows = (unsigned)batch_rows,
                                          .batch_ms = 1000,
                                          .queue_rows = 10000 > batch_rows ? 10000 : batch_rows,
                                          .max_age_s = 30 * 86400.0,
                                          .max_rows = 1000000};
        struct ph_error error = {0};
        struct history *history = history_open(&options, &error);
        if (history == NULL) {
                fprintf(stderr, "bench_history: %s\n", error.message);
                return 1;
        }
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        int64_t time_ms = (int64_t)wall.tv_sec * 1000;
        struct reading reading = {.sensor = "greenhouse",
                                  .quantity = READING_TEMPERATURE,
                                  .is_finite = true,
                                  .unit = "°C",
                                  .status = READING_OK};
        struct reading_list list = {.items = &reading, .count = 1};
        int result = 0;
        double start = now_s();
        for (unsigned long i = 0; i < rows && result == 0; i++) {
                reading.value = 20.0 + (double)(i % 100) / 10.0;
                result = history_append(history, "bench", time_ms + (int64_t)i, &list);
                if (result == 0 && (i + 1) % (options.queue_rows / 2) == 0)
                        result = history_flush(history, &error);
        }
        if (result == 0)
                result = history_flush(history, &error);
        double seconds = now_s() - start;
        struct history_stats stats;
        history_get_stats(history, &stats);
        history_close(history);
        if (result < 0 || stats.written != rows) {
                fprintf(stderr, "bench_history: %lu of %lu rows written: %s\n",
                        (unsigned long)stats.written, rows, error.message);
                return 1;
        }
        printf("{\"rows\": %lu, \"seconds\": %.3f, \"rows_per_s\": %.0f}\n", rows, seconds,
               (double)rows / seconds);
        return 0;
}
