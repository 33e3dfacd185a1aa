/* pyhost new: a plugin directory that passes its own tests at once. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/new_templates.h"
#include "core/escape.h"
#include "core/file.h"

#ifndef PYHOST_SOURCE_DIR
#define PYHOST_SOURCE_DIR "/usr/share/pyhost"
#endif

static const char *const worlds[] = {"sensor-reader", "sensor-plugin", "stateful-sensor-reader",
                                     "stateful-sensor-plugin"};

static void usage(FILE *out) {
        fprintf(out,
                "Usage: pyhost new [--world WORLD] [--wasm] DIRECTORY\n"
                "\n"
                "Makes DIRECTORY, a plugin named after it: app.py, tests/test_app.py, a\n"
                "README.md and a `world` file. It runs as it is: `pyhost check DIRECTORY`,\n"
                "`pyhost call DIRECTORY`, `python3 DIRECTORY/tests/test_app.py`.\n"
                "\n"
                "  --world WORLD  sensor-reader (default), sensor-plugin (drives the LEDs),\n"
                "                 stateful-sensor-reader or stateful-sensor-plugin (keep\n"
                "                 their state across updates and restarts)\n"
                "  --wasm         also a build.sh that makes a component with componentize-py\n"
                "\n"
                "Exits 0 when the plugin was made, 1 when it could not be, 2 on a usage error.\n");
}

struct template_flags {
        bool has_leds;
        bool has_state;
        bool is_wasm;
};

/* Whether the condition of an "#if X" line holds. */
static bool condition_holds(const char *line, size_t length, const struct template_flags *flags) {
        const char *word = line + 4;
        bool negated = *word == '!';
        word += negated;
        size_t word_length = (size_t)(line + length - word);
        bool value = false;
        if (word_length == 4 && strncmp(word, "leds", 4) == 0)
                value = flags->has_leds;
        else if (word_length == 5 && strncmp(word, "state", 5) == 0)
                value = flags->has_state;
        else if (word_length == 4 && strncmp(word, "wasm", 4) == 0)
                value = flags->is_wasm;
        return negated ? !value : value;
}

/* Writes one line of a template with its markers replaced. */
static void put_line(FILE *out, const char *line, size_t length, const char *name,
                     const char *world) {
        static const char *const markers[] = {"@NAME@", "@WORLD@", "@SOURCE@"};
        const char *values[] = {name, world, PYHOST_SOURCE_DIR};
        const char *end = line + length;
        while (line < end) {
                size_t i = 0;
                for (; i < 3; i++)
                        if ((size_t)(end - line) >= strlen(markers[i]) &&
                            strncmp(line, markers[i], strlen(markers[i])) == 0)
                                break;
                if (i < 3) {
                        fputs(values[i], out);
                        line += strlen(markers[i]);
                } else {
                        fputc(*line++, out);
                }
        }
}

/* `template` with its conditions applied and markers replaced, written to
 * `path` (which must not exist). */
static int write_template(const char *path, const char *template, const char *name,
                          const char *world, const struct template_flags *flags, unsigned mode,
                          struct ph_error *error) {
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        if (out == NULL)
                return ph_error_set(error, -ENOMEM, "out of memory");
        bool is_kept = true;
        for (const char *line = template; *line != '\0';) {
                const char *newline = strchr(line, '\n');
                size_t length = newline != NULL ? (size_t)(newline - line) : strlen(line);
                if (length > 4 && strncmp(line, "#if ", 4) == 0)
                        is_kept = condition_holds(line, length, flags);
                else if (length == 4 && strncmp(line, "#end", 4) == 0)
                        is_kept = true;
                else if (is_kept) {
                        put_line(out, line, length, name, world);
                        if (newline != NULL)
                                fputc('\n', out);
                }
                line += length + (newline != NULL);
        }
        if (fclose(out) != 0) {
                free(text);
                return ph_error_set(error, -ENOMEM, "out of memory");
        }
        int result = file_write_atomic(path, text, size, error);
        free(text);
        if (result == 0 && chmod(path, mode) < 0)
                result = ph_error_set(error, -errno, "%s: %s", path, strerror(errno));
        return result;
}

static int make_plugin(const char *directory, const char *name, const char *world,
                       const struct template_flags *flags, struct ph_error *error) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", directory);
        if (file_make_directories(dirname(parent), 0755, error) < 0)
                return error->code;
        if (mkdir(directory, 0755) < 0)
                return ph_error_set(error, -errno, "%s: %s", directory,
                                    errno == EEXIST ? "exists already" : strerror(errno));
        struct {
                const char *file;
                const char *template;
                unsigned mode;
        } files[] = {
                {"app.py", new_app_template, 0644},
                {"README.md", new_readme_template, 0644},
                {"world", "@WORLD@\n", 0644},
                {"tests/test_app.py", new_test_template, 0644},
                {"build.sh", new_build_template, 0755},
        };
        size_t count = flags->is_wasm ? 5 : 4;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/tests", directory);
        int result = file_make_directories(path, 0755, error);
        for (size_t i = 0; result == 0 && i < count; i++) {
                int written = snprintf(path, sizeof(path), "%s/%s", directory, files[i].file);
                if (written < 0 || (size_t)written >= sizeof(path))
                        return ph_error_set(error, -ENAMETOOLONG, "%s: path too long", directory);
                result = write_template(path, files[i].template, name, world, flags, files[i].mode,
                                        error);
        }
        return result;
}

int cmd_new(int argc, char **argv) {
        static const struct option long_options[] = {{"world", required_argument, NULL, 'w'},
                                                     {"wasm", no_argument, NULL, 'W'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        const char *world = worlds[0];
        struct template_flags flags = {0};
        int option;
        while ((option = getopt_long(argc, argv, "w:h", long_options, NULL)) != -1) {
                switch (option) {
                case 'w':
                        world = optarg;
                        break;
                case 'W':
                        flags.is_wasm = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }
        size_t world_index = 0;
        while (world_index < sizeof(worlds) / sizeof(worlds[0]) &&
               strcmp(world, worlds[world_index]) != 0)
                world_index++;
        if (world_index == sizeof(worlds) / sizeof(worlds[0])) {
                escape_print_line(stderr,
                                  "pyhost: --world: '%s' is none of sensor-reader, sensor-plugin, "
                                  "stateful-sensor-reader, stateful-sensor-plugin",
                                  world);
                return 2;
        }
        flags.has_leds = world_index == 1 || world_index == 3;
        flags.has_state = world_index >= 2;

        const char *directory = argv[optind];
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", directory);
        const char *name = basename(copy);
        if (!config_is_valid_name(name, strlen(name))) {
                escape_print_line(stderr,
                                  "pyhost: '%s' cannot name a plugin: use 1 to %d letters, digits, "
                                  "'-' or '_'",
                                  name, CONFIG_NAME_MAX - 1);
                return 2;
        }
        struct ph_error error = {0};
        if (make_plugin(directory, name, world, &flags, &error) < 0) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return 1;
        }
        escape_print_line(stdout, "%s: a %s plugin (%s)", directory, world,
                          flags.is_wasm ? "Python source, and build.sh for a component"
                                        : "Python source");
        escape_print_line(stdout, "  pyhost call --polls 3 %s", directory);
        escape_print_line(stdout, "  PYHOST=pyhost python3 %s/tests/test_app.py", directory);
        return 0;
}
