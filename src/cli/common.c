#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/escape.h"

void cli_default_cache_dir(char *out, size_t size) {
        const char *xdg = getenv("XDG_CACHE_HOME");
        const char *home = getenv("HOME");
        if (xdg != NULL && xdg[0] == '/')
                snprintf(out, size, "%s/pyhost-compiled", xdg);
        else if (home != NULL && home[0] == '/')
                snprintf(out, size, "%s/.cache/pyhost-compiled", home);
        else if (size > 0)
                out[0] = '\0';
}

int cli_load_config(const char *config_path, struct host_config *config) {
        struct ph_error error = {0};
        config_set_defaults(config);
        cli_default_cache_dir(config->cache_dir, sizeof(config->cache_dir));
        if (config_path != NULL && config_load_file(config, config_path, &error) < 0) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return -1;
        }
        if (config_validate(config, &error) < 0) {
                escape_print_line(stderr, "pyhost: %s%s%s", config_path != NULL ? config_path : "",
                                  config_path != NULL ? ": " : "", error.message);
                return -1;
        }
        return 0;
}

json_t *cli_failure_to_json(const struct plugin_failure *failure) {
        return json_pack("{s:{s:s, s:s, s:s}}", "error", "kind",
                         plugin_failure_kind_name(failure->kind), "message", failure->message,
                         "traceback", failure->traceback);
}

int cli_print_json_line(FILE *stream, json_t *value) {
        if (value == NULL)
                return -ENOMEM;
        char *text = json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(value);
        if (text == NULL)
                return -ENOMEM;
        int result = escape_json_fwrite(stream, text, strlen(text));
        free(text);
        if (result < 0 || fputc('\n', stream) == EOF)
                return -EIO;
        return 0;
}

int cli_parse_seconds(const char *text, double *ret_seconds) {
        char *end = NULL;
        errno = 0;
        double value = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(value) || value <= 0 ||
            value > 86400)
                return -1;
        *ret_seconds = value;
        return 0;
}
