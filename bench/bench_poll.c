/* bench_poll - times one plugin's poll through the real host code.
 *
 * Usage: bench_poll PLUGIN.wasm|PLUGIN.py POLLS [--cache DIR] [--budget MS] [--unlimited]
 * Loads the plugin once (compiling it, or loading it from the cache),
 * polls it 100 times to warm up, then POLLS times, timing each call, and
 * prints one JSON object: load time, p50/p95/p99 of a poll in microseconds,
 * failures. --unlimited runs it without the per-plugin limits (to measure
 * what they cost); --budget sets the CPU budget of a call (default 1000);
 * --restart-every-poll makes each poll start a fresh instance first;
 * --checkpoint-every-poll sets checkpoint_interval_s to 0 (a lifecycle
 * plugin's state saved after every poll; the default is periodic). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "hw/hw.h"
#include "plugin/plugin.h"

static double now_us(void) {
        struct timespec time;
        clock_gettime(CLOCK_MONOTONIC, &time);
        return (double)time.tv_sec * 1e6 + (double)time.tv_nsec / 1e3;
}

static int compare_doubles(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t count, double fraction) {
        size_t index = (size_t)(fraction * (double)(count - 1) + 0.5);
        return sorted[index];
}

int main(int argc, char **argv) {
        static const struct option long_options[] = {
                {"cache", required_argument, NULL, 'c'},
                {"budget", required_argument, NULL, 'b'},
                {"unlimited", no_argument, NULL, 'u'},
                {"restart-every-poll", no_argument, NULL, 'r'},
                {"checkpoint-every-poll", no_argument, NULL, 'k'},
                {NULL, 0, NULL, 0}};
        const char *cache_dir = NULL;
        long budget_ms = 1000;
        bool is_unlimited = false;
        bool is_restarting = false;
        bool is_checkpointing_each_poll = false;
        int option;
        while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
                if (option == 'c')
                        cache_dir = optarg;
                else if (option == 'b')
                        budget_ms = strtol(optarg, NULL, 10);
                else if (option == 'u')
                        is_unlimited = true;
                else if (option == 'r')
                        is_restarting = true;
                else if (option == 'k')
                        is_checkpointing_each_poll = true;
                else
                        return 2;
        }
        if (argc - optind != 2 || budget_ms <= 0) {
                fprintf(stderr, "usage: bench_poll PLUGIN.wasm POLLS [--cache DIR] "
                                "[--budget MS] [--unlimited]\n");
                return 2;
        }
        long polls = strtol(argv[optind + 1], NULL, 10);
        if (polls < 10) {
                fprintf(stderr, "bench_poll: POLLS must be at least 10\n");
                return 2;
        }
        log_set_level(LOG_LEVEL_ERROR); /* the LED log lines would be timed too */
        struct host_config config;
        config_set_defaults(&config);
        struct ph_error error = {0};
        if (config_add_plugin_file(&config, argv[optind], &error) < 0) {
                fprintf(stderr, "bench_poll: %s\n", error.message);
                return 1;
        }
        config.plugins[0].budget_ms = (uint32_t)budget_ms;
        config.plugins[0].restart_backoff_ms = 0;
        config.plugins[0].max_failures = 1000000;
        /* Every poll in a fresh instance: measures what a restart costs. */
        config.plugins[0].restart_after_polls = is_restarting ? 1 : 0;
        if (is_checkpointing_each_poll)
                config.plugins[0].checkpoint_interval_s = 0;
        double start = now_us();
        struct plugin_engine *engine = is_unlimited ? plugin_engine_new_unlimited(cache_dir, &error)
                                                    : plugin_engine_new(cache_dir, &error);
        if (engine != NULL) /* a .py plugin runs on the shared runtime */
                plugin_engine_set_python_runtime(engine, config.python_runtime);
        struct hw_board *board = engine != NULL ? hw_board_new(&config.board, &error) : NULL;
        struct plugin *plugin =
                board != NULL ? plugin_new(engine, &config.plugins[0], NULL, board, &error) : NULL;
        if (plugin == NULL) {
                fprintf(stderr, "bench_poll: %s\n", error.message);
                return 1;
        }
        double load_ms = (now_us() - start) / 1e3;

        double *samples = calloc((size_t)polls, sizeof(*samples));
        int failures = 0;
        for (long i = -100; i < polls; i++) {
                struct reading_list readings;
                struct plugin_failure failure;
                double before = now_us();
                int result = plugin_poll(plugin, &readings, &failure, NULL);
                double elapsed = now_us() - before;
                if (result < 0 && i >= 0)
                        failures++;
                reading_list_clear(&readings);
                if (i >= 0)
                        samples[i] = elapsed;
        }
        qsort(samples, (size_t)polls, sizeof(*samples), compare_doubles);
        printf("{\"load_ms\": %.3f, \"polls\": %ld, \"failures\": %d, \"poll_us_p50\": %.2f, "
               "\"poll_us_p95\": %.2f, \"poll_us_p99\": %.2f}\n",
               load_ms, polls, failures, percentile(samples, (size_t)polls, 0.50),
               percentile(samples, (size_t)polls, 0.95), percentile(samples, (size_t)polls, 0.99));
        free(samples);
        plugin_free(plugin);
        hw_board_free(board);
        plugin_engine_free(engine);
        return 0;
}
