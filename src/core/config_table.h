/* config_table.h - config keys as data: one table line per key.
 *
 * A table line gives a key's name, type, bounds, the offset of the field it
 * sets in its section's struct, its default (as config text, parsed by the
 * same code as the file) and a one-line help. Setting a value, filling
 * defaults and printing the documentation all read the table, in the style
 * of Valkey's standardConfig. Knows nothing of pyhost's sections.
 * Thread-safe: tables are constant; the structs belong to the caller. */
#ifndef PH_CONFIG_TABLE_H
#define PH_CONFIG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

enum config_type {
        CONFIG_TYPE_BOOL,     /* true/yes/1, false/no/0 */
        CONFIG_TYPE_UNSIGNED, /* decimal, min..max, into a 1, 2, 4 or 8 byte field */
        CONFIG_TYPE_DOUBLE,   /* finite, min..max */
        CONFIG_TYPE_STRING,   /* into char[size]; `words` restricts it to those */
        CONFIG_TYPE_ENUM,     /* one of `words`; stores its value in an int-sized field */
        CONFIG_TYPE_CUSTOM,   /* `parse` does it (lists and other shapes) */
};

/* One word of an enum key and the value it stores. */
struct config_word {
        const char *word;
        int value;
};

/* Parses `text` into `field` (the struct member at the key's offset).
 * Returns 0 or -EINVAL. */
typedef int (*config_parse_fn)(const char *text, void *field);

/* An extra rule on a string value (an address, a token, a name). */
typedef bool (*config_check_fn)(const char *text);

enum config_key_flags {
        CONFIG_MAY_BE_EMPTY = 1 << 0, /* a string key may be set to "" */
};

struct config_key {
        const char *name;
        enum config_type type;
        size_t offset;                   /* of the field in the section's struct */
        size_t size;                     /* of the field, in bytes */
        double min, max;                 /* numbers (unsigned bounds <= 2^53 are exact) */
        const char *default_text;        /* as written in a config; NULL: zero/empty */
        const struct config_word *words; /* ENUM and restricted STRING; ends with {NULL} */
        config_parse_fn parse;           /* CUSTOM */
        config_check_fn check;           /* STRING: extra rule; NULL: none */
        unsigned flags;                  /* enum config_key_flags */
        const char *help;                /* one line: what it does, what it takes */
};

/* A table line per type; `T` is the section's struct, `F` the field. */
#define CONFIG_FIELD(T, F) offsetof(T, F), sizeof(((T *)0)->F)
#define CONFIG_BOOL(N, T, F, DEF, HELP)                                                            \
        { N, CONFIG_TYPE_BOOL, CONFIG_FIELD(T, F), 0, 1, DEF, NULL, NULL, NULL, 0, HELP }
#define CONFIG_UNSIGNED(N, T, F, MIN, MAX, DEF, HELP)                                              \
        { N, CONFIG_TYPE_UNSIGNED, CONFIG_FIELD(T, F), MIN, MAX, DEF, NULL, NULL, NULL, 0, HELP }
#define CONFIG_DOUBLE(N, T, F, MIN, MAX, DEF, HELP)                                                \
        { N, CONFIG_TYPE_DOUBLE, CONFIG_FIELD(T, F), MIN, MAX, DEF, NULL, NULL, NULL, 0, HELP }
#define CONFIG_STRING(N, T, F, CHECK, FLAGS, DEF, HELP)                                            \
        { N, CONFIG_TYPE_STRING, CONFIG_FIELD(T, F), 0, 0, DEF, NULL, NULL, CHECK, FLAGS, HELP }
#define CONFIG_WORDS(N, T, F, WORDS, DEF, HELP)                                                    \
        { N, CONFIG_TYPE_STRING, CONFIG_FIELD(T, F), 0, 0, DEF, WORDS, NULL, NULL, 0, HELP }
#define CONFIG_ENUM(N, T, F, WORDS, DEF, HELP)                                                     \
        { N, CONFIG_TYPE_ENUM, CONFIG_FIELD(T, F), 0, 0, DEF, WORDS, NULL, NULL, 0, HELP }
#define CONFIG_CUSTOM(N, T, F, PARSE, DEF, HELP)                                                   \
        { N, CONFIG_TYPE_CUSTOM, CONFIG_FIELD(T, F), 0, 0, DEF, NULL, PARSE, NULL, 0, HELP }

/* Finds `name` in `keys`; NULL when it is not one. */
const struct config_key *config_table_find(const struct config_key *keys, size_t count,
                                           const char *name);

/* Parses `text` as `key` into the section struct at `base`. Returns 0 or
 * -EINVAL; the struct is unchanged on failure for scalar keys. */
PH_MUST_USE int config_table_set(const struct config_key *key, void *base, const char *text);

/* Whether `key` has the same value in the section structs at `a` and `b`:
 * strings compare as text (bytes after the NUL do not count), the other
 * types as their field's bytes (a custom key's field may be a whole struct:
 * at worst an equal value counts as changed, never the reverse). */
bool config_table_equal(const struct config_key *key, const void *a, const void *b);

/* Sets every key of `keys` that has a default in the struct at `base`.
 * A default that does not parse is a bug in the table: returns -EINVAL
 * with `error` naming the key. */
PH_MUST_USE int config_table_set_defaults(const struct config_key *keys, size_t count, void *base,
                                          struct ph_error *error);

/* Writes what `key` takes ("seconds, 0.01 to 86400", "one of a, b") into
 * `out`. */
void config_table_describe(const struct config_key *key, char *out, size_t size);

/* Prints `keys` as commented INI lines: "key = default  ; help (takes)";
 * keys without a default are commented out. */
void config_table_print(const struct config_key *keys, size_t count, FILE *out);

#endif
