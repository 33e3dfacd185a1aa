/* pyhost history: prints the recorded readings of the [history] database,
 * one JSON object per line, oldest first. Reads beside a running daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/escape.h"
#include "store/history.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: pyhost history [--config FILE] [--sensor NAME] [--since T] [--limit N]\n"
                "\n"
                "Prints the readings recorded in the database of FILE's [history] section,\n"
                "one JSON object per line, oldest first: the newest N (all without --limit)\n"
                "of sensor NAME (all without --sensor) made at or after T. T is a Unix time\n"
                "in milliseconds or a duration before now: 30s, 15m, 2h, 7d.\n");
}

static int parse_limit(const char *text, size_t *ret_limit) {
        char *end = NULL;
        errno = 0;
        if (text[0] == '-')
                return -1;
        unsigned long long value = strtoull(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || value == 0 || value > 100000000ULL)
                return -1;
        *ret_limit = (size_t)value;
        return 0;
}

int cmd_history(int argc, char **argv) {
        static const struct option long_options[] = {
                {"config", required_argument, NULL, 'c'}, {"sensor", required_argument, NULL, 's'},
                {"since", required_argument, NULL, 't'},  {"limit", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
        const char *config_path = NULL;
        struct history_query query = {0};
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        int option;
        while ((option = getopt_long(argc, argv, "c:s:t:n:h", long_options, NULL)) != -1) {
                switch (option) {
                case 'c':
                        config_path = optarg;
                        break;
                case 's':
                        query.sensor = optarg;
                        break;
                case 't':
                        if (history_parse_since(optarg, now_ms, &query.since_ms) < 0) {
                                escape_print_line(stderr,
                                                  "pyhost: --since: '%s' is neither Unix "
                                                  "milliseconds nor a duration such as 15m, 2h "
                                                  "or 7d",
                                                  optarg);
                                return 2;
                        }
                        break;
                case 'n':
                        if (parse_limit(optarg, &query.limit) < 0) {
                                escape_print_line(stderr,
                                                  "pyhost: --limit: '%s' is not a number of rows "
                                                  "(1..100000000)",
                                                  optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }
        static struct host_config config; /* large: keep it off the stack */
        if (cli_load_config(config_path, &config) < 0)
                return 2;
        if (config.history.path[0] == '\0') {
                escape_print_line(stderr, "pyhost: %s has no [history] path: nothing is recorded",
                                  config_path != NULL ? config_path : "the default configuration");
                return 2;
        }
        struct ph_error error = {0};
        json_t *rows = history_query_json(config.history.path, &query, &error);
        if (rows == NULL) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return 1;
        }
        size_t index;
        json_t *row;
        int exit_code = 0;
        /* Sensor names and units were written by plugins: printed through
         * cli_print_json_line, their C1 and bidi controls are \u escapes. */
        json_array_foreach(rows, index, row) {
                int result = cli_print_json_line(stdout, json_incref(row));
                if (result < 0) {
                        escape_print_line(stderr, "pyhost: history: cannot print a row: %s",
                                          result == -ENOMEM ? "out of memory" : strerror(-result));
                        exit_code = 1;
                        break;
                }
        }
        json_decref(rows);
        return fflush(stdout) == 0 ? exit_code : 1;
}
