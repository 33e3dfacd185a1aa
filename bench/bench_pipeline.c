/* bench_pipeline: what the poll pipeline costs a plugin's thread per poll.
 *
 * Publishes N records (two readings each, like the example plugin's poll)
 * to the host's five consumers as `pyhost run` subscribes them (stdout and
 * web with queues and threads of their own; liveness, history and MQTT
 * inline), each deliver summing the readings, and times each
 * pipeline_publish on the publishing thread. Baseline in the same run: five
 * direct calls of the same deliver on the publishing thread.
 *
 * Prints one JSON object: publish_ns_p50, publish_ns_p99 (pipeline),
 * baseline_fanout_ns_p50 (direct calls), records, dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/pipeline.h"

#define SUBSCRIBERS 5

static volatile double sink;

static void deliver(const struct poll_record *record, void *data) {
        (void)data;
        double sum = 0;
        for (size_t i = 0; i < record->readings.count; i++)
                sum += record->readings.items[i].value;
        sink = sum;
}

static struct poll_record *make_record(size_t n) {
        struct poll_record *record = poll_record_new("sensor-logic");
        if (record == NULL)
                exit(1);
        record->readings.items = calloc(2, sizeof(struct reading));
        if (record->readings.items == NULL)
                exit(1);
        record->readings.count = 2;
        record->readings.items[0].value = (double)n;
        record->readings.items[1].value = (double)n / 2;
        record->started_ms = (int64_t)n;
        return record;
}

static int compare(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double now_ns(void) {
        struct timespec time;
        clock_gettime(CLOCK_MONOTONIC, &time);
        return (double)time.tv_sec * 1e9 + (double)time.tv_nsec;
}

int main(int argc, char **argv) {
        size_t count = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 20000;
        double *publish = calloc(count, sizeof(double));
        double *direct = calloc(count, sizeof(double));
        struct pipeline *pipeline = pipeline_new(NULL);
        if (publish == NULL || direct == NULL || pipeline == NULL)
                return 1;
        static const char *const names[SUBSCRIBERS] = {"stdout", "liveness", "history", "mqtt",
                                                       "web"};
        static const size_t capacities[SUBSCRIBERS] = {256, 0, 0, 0, 256};
        for (size_t s = 0; s < SUBSCRIBERS; s++) {
                struct pipeline_subscriber_spec spec = {
                        .name = names[s], .capacity = capacities[s], .deliver = deliver};
                unsigned id;
                if (pipeline_subscribe(pipeline, &spec, &id, NULL) < 0)
                        return 1;
        }
        for (size_t i = 0; i < count; i++) {
                /* Interleaved: the machine's drift hits both alike. */
                struct poll_record *record = make_record(i);
                double start = now_ns();
                for (size_t s = 0; s < SUBSCRIBERS; s++)
                        deliver(record, NULL);
                direct[i] = now_ns() - start;
                poll_record_unref(record);

                record = make_record(i);
                start = now_ns();
                pipeline_publish(pipeline, record);
                publish[i] = now_ns() - start;
                /* A poll's rhythm: the consumers keep up between polls. */
                if (pipeline_drain(pipeline, 1000) < 0)
                        return 1;
        }
        struct pipeline_stats stats;
        pipeline_get_stats(pipeline, &stats);
        uint64_t dropped = 0;
        for (size_t s = 0; s < stats.count; s++)
                dropped += stats.subscribers[s].dropped;
        pipeline_free(pipeline);
        qsort(publish, count, sizeof(double), compare);
        qsort(direct, count, sizeof(double), compare);
        printf("{\"publish_ns_p50\": %.0f, \"publish_ns_p99\": %.0f, "
               "\"baseline_fanout_ns_p50\": %.0f, \"records\": %zu, \"dropped\": %llu}\n",
               publish[count / 2], publish[count * 99 / 100], direct[count / 2], count,
               (unsigned long long)dropped);
        free(publish);
        free(direct);
        return 0;
}
