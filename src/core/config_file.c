/* config_file.c - reads a config file through libinih, with guards against
 * the ways inih would misread it in silence.
 *
 * inih is fed one line at a time by our own reader, which
 *   - counts lines, so every error names the right one (inih's handler gets
 *     no line number here, and its count drifts after a split line);
 *   - refuses a line longer than inih's fixed line buffer (Debian's is 200
 *     bytes), which inih would split, turning the tail into a live line;
 *   - refuses an indented line, which inih would take as the continuation
 *     of the previous value;
 *   - checks each [section] header as it passes: known, not repeated,
 *     short enough that inih does not truncate it (50 bytes).
 * The handler then refuses repeated keys, and sets values through the key
 * tables. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/config_sections.h"
#include "core/file.h"

/* Larger than any sane config; a bound on what a bad path makes us read. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* inih's MAX_SECTION: longer section names are cut to 49 bytes. */
#define INIH_SECTION_MAX 50
#define MAX_SECTIONS (5 + CONFIG_MAX_PLUGINS)

/* One section of the file, seen at its header. */
struct seen_section {
        char name[INIH_SECTION_MAX];
        unsigned line;
        const struct config_section *table;
        void *base;                                  /* the struct its keys set */
        unsigned key_lines[CONFIG_MAX_SECTION_KEYS]; /* where each key was set; 0: not yet */
};

/* State of one parse, handed to inih's reader and handler. */
struct parse {
        struct host_config *config;
        const char *path;
        struct ph_error *error;
        int error_line; /* of the error in `error`; 0: none */
        const char *cursor;
        const char *end;
        unsigned line; /* the line inih has now */
        struct seen_section sections[MAX_SECTIONS];
        size_t section_count;
};

static int fail(struct parse *parse, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Records the first error, "FILE:LINE: message"; returns 0 for inih. */
static int fail(struct parse *parse, const char *format, ...) {
        if (parse->error_line != 0)
                return 0;
        char message[PH_ERROR_MESSAGE_MAX];
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(message, sizeof(message), format, arguments);
        va_end(arguments);
        parse->error_line = (int)parse->line;
        ph_error_set(parse->error, -EINVAL, "%s:%u: %s", parse->path, parse->line, message);
        return 0;
}

static struct seen_section *find_section(struct parse *parse, const char *name) {
        for (size_t i = 0; i < parse->section_count; i++)
                if (strcmp(parse->sections[i].name, name) == 0)
                        return &parse->sections[i];
        return NULL;
}

/* Where the keys of section `name` go; NULL after an error. */
static int open_section(struct parse *parse, const char *name, size_t length) {
        if (length >= INIH_SECTION_MAX)
                return fail(parse, "[%.*s]: section names are at most %d characters", (int)length,
                            name, INIH_SECTION_MAX - 1);
        char text[INIH_SECTION_MAX];
        memcpy(text, name, length);
        text[length] = '\0';
        const struct seen_section *first = find_section(parse, text);
        if (first != NULL)
                return fail(parse,
                            "[%s]: the section is repeated; its first header is at line "
                            "%u (write each section once)",
                            text, first->line);
        struct seen_section *seen = &parse->sections[parse->section_count];
        memset(seen, 0, sizeof(*seen));
        memcpy(seen->name, text, length + 1);
        seen->line = parse->line;
        for (size_t i = 0; i < config_section_count; i++) {
                if (strcmp(config_sections[i].name, text) == 0) {
                        seen->table = &config_sections[i];
                        seen->base = (char *)parse->config + config_sections[i].offset;
                }
        }
        if (seen->table == NULL && strncmp(text, "plugin ", 7) == 0) {
                struct host_config *config = parse->config;
                if (config->plugin_count == CONFIG_MAX_PLUGINS ||
                    !config_is_valid_name(text + 7, length - 7))
                        return fail(parse,
                                    "[%s]: plugin names are 1-%d letters, digits, '-' or '_', at "
                                    "most %d plugins",
                                    text, INIH_SECTION_MAX - 8, CONFIG_MAX_PLUGINS);
                struct plugin_config *plugin = &config->plugins[config->plugin_count++];
                config_plugin_set_defaults(plugin);
                memcpy(plugin->name, text + 7, length - 7 + 1);
                seen->table = &config_plugin_section;
                seen->base = plugin;
        }
        if (seen->table == NULL)
                return fail(parse,
                            "unknown section [%s] (expected [host], [board], [http], [history], "
                            "[mqtt] or [plugin NAME])",
                            text);
        parse->section_count++;
        return 1;
}

/* inih's reader: hands over the next line, or NULL at the end or after an
 * error. `size` is inih's line buffer. */
static char *read_line(char *buffer, int size, void *stream) {
        struct parse *parse = stream;
        if (parse->error_line != 0 || parse->cursor >= parse->end)
                return NULL;
        const char *start = parse->cursor;
        const char *newline = memchr(start, '\n', (size_t)(parse->end - start));
        const char *stop = newline != NULL ? newline : parse->end;
        parse->cursor = newline != NULL ? newline + 1 : parse->end;
        parse->line++;
        size_t length = (size_t)(stop - start);
        if (length > 0 && start[length - 1] == '\r')
                length--;
        if (memchr(start, '\0', length) != NULL) {
                fail(parse, "the line contains a NUL byte");
                return NULL;
        }
        /* The line, '\n' and '\0' must fit, or inih would split it. */
        if (size < 2 || length > (size_t)size - 2) {
                fail(parse,
                     "the line is %zu characters long; lines are at most %d (split a long "
                     "comment over several lines)",
                     length, size - 2);
                return NULL;
        }
        if (length > 0 && (start[0] == ' ' || start[0] == '\t')) {
                size_t blank = strspn(start, " \t");
                if (blank < length && start[blank] != ';' && start[blank] != '#') {
                        fail(parse, "the line is indented; start keys and [sections] at the "
                                    "beginning of the line (an indented line would continue "
                                    "the previous value)");
                        return NULL;
                }
        }
        if (length > 0 && start[0] == '[') {
                const char *close = memchr(start, ']', length);
                if (close != NULL &&
                    open_section(parse, start + 1, (size_t)(close - start - 1)) == 0)
                        return NULL;
        }
        memcpy(buffer, start, length);
        buffer[length] = '\n';
        buffer[length + 1] = '\0';
        return buffer;
}

/* `setting.KEY = VALUE` of a [plugin NAME] section: not a table key, one of
 * the plugin's own settings (config.h). */
static int set_setting(struct parse *parse, const char *section, struct plugin_config *plugin,
                       const char *key, const char *value) {
        if (config_settings_find(&plugin->settings, key) != NULL)
                return fail(parse, "[%s] " CONFIG_SETTING_PREFIX "%s: the key is repeated", section,
                            key);
        struct ph_error error = {0};
        if (config_settings_set(&plugin->settings, key, value, &error) < 0)
                return fail(parse, "[%s] %s", section, error.message);
        return 1;
}

/* inih's handler: one key = value of the line the reader handed over.
 * Returns nonzero to go on, 0 on an error. */
static int on_entry(void *user, const char *section, const char *key, const char *value) {
        struct parse *parse = user;
        if (parse->error_line != 0)
                return 0;
        if (section[0] == '\0')
                return fail(parse, "key '%s' comes before any [section]", key);
        struct seen_section *seen = find_section(parse, section);
        if (seen == NULL) /* the reader saw every header inih saw */
                return fail(parse, "[%s]: section not recognised", section);
        const struct config_section *table = seen->table;
        size_t prefix_length = strlen(CONFIG_SETTING_PREFIX);
        if (table == &config_plugin_section &&
            strncmp(key, CONFIG_SETTING_PREFIX, prefix_length) == 0)
                return set_setting(parse, section, seen->base, key + prefix_length, value);
        const struct config_key *entry = config_table_find(table->keys, table->key_count, key);
        if (entry == NULL)
                return fail(parse, "[%s]: unknown key '%s'", section, key);
        size_t index = (size_t)(entry - table->keys);
        if (seen->key_lines[index] != 0)
                return fail(parse, "[%s] %s: the key is repeated; it is first set at line %u",
                            section, key, seen->key_lines[index]);
        seen->key_lines[index] = parse->line;
        if (config_table_set(entry, seen->base, value) < 0) {
                char takes[512];
                config_table_describe(entry, takes, sizeof(takes));
                return fail(parse, "[%s] %s: invalid value '%s': expected %s", section, key, value,
                            takes);
        }
        return 1;
}

int config_load_file(struct host_config *config, const char *path, struct ph_error *error) {
        struct stat info;
        if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
                return ph_error_set(error, -EISDIR,
                                    "%s: is a directory; --config takes an INI file", path);
        uint8_t *data = NULL;
        size_t size = 0;
        int result = file_read_all(path, CONFIG_FILE_MAX, &data, &size, error);
        if (result < 0) {
                ph_error_prefix(error, "cannot read config");
                return result;
        }
        struct parse *parse = calloc(1, sizeof(*parse));
        if (parse == NULL) {
                free(data);
                return ph_error_set(error, -ENOMEM, "%s: out of memory", path);
        }
        parse->config = config;
        parse->path = path;
        parse->error = error;
        parse->cursor = (const char *)data;
        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                parse->cursor += 3; /* a UTF-8 byte order mark */
        parse->end = (const char *)data + size;
        ph_error_clear(error);
        int line = ini_parse_stream(read_line, parse, on_entry, parse);
        /* inih goes on after a syntax error; the first error wins. */
        if (line > 0 && (parse->error_line == 0 || line < parse->error_line))
                result = ph_error_set(error, -EINVAL,
                                      "%s:%d: syntax error: expected [section], key = value or a "
                                      "; comment",
                                      path, line);
        else if (parse->error_line != 0)
                result = -EINVAL;
        else if (line < 0)
                result = ph_error_set(error, -ENOMEM, "%s: out of memory", path);
        free(parse);
        free(data);
        return result;
}
