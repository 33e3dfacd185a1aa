#include "core/config_table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct config_word bool_words[] = {
        {"true", 1}, {"yes", 1}, {"1", 1}, {"false", 0}, {"no", 0}, {"0", 0}, {NULL, 0},
};

const struct config_key *config_table_find(const struct config_key *keys, size_t count,
                                           const char *name) {
        for (size_t i = 0; i < count; i++)
                if (strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

static const struct config_word *find_word(const struct config_word *words, const char *text) {
        for (; words->word != NULL; words++)
                if (strcmp(words->word, text) == 0)
                        return words;
        return NULL;
}

/* Stores `value` in a 1, 2, 4 or 8 byte field (bool, uint8_t, ... int,
 * size_t); a negative value keeps its bits in a signed field of that size. */
static int store_integer(void *field, size_t size, int64_t value) {
        uint64_t bits = (uint64_t)value;
        switch (size) {
        case 1: {
                uint8_t narrow = (uint8_t)bits;
                memcpy(field, &narrow, 1);
                return 0;
        }
        case 2: {
                uint16_t narrow = (uint16_t)bits;
                memcpy(field, &narrow, 2);
                return 0;
        }
        case 4: {
                uint32_t narrow = (uint32_t)bits;
                memcpy(field, &narrow, 4);
                return 0;
        }
        case 8:
                memcpy(field, &bits, 8);
                return 0;
        default:
                return -EINVAL;
        }
}

static int parse_unsigned(const char *text, double min, double max, uint64_t *ret) {
        char *end = NULL;
        if (text[0] < '0' || text[0] > '9')
                return -EINVAL; /* no sign, no space: strtoull would take "-1" */
        errno = 0;
        unsigned long long value = strtoull(text, &end, 10);
        if (errno != 0 || *end != '\0' || (double)value < min || (double)value > max)
                return -EINVAL;
        *ret = (uint64_t)value;
        return 0;
}

static int parse_double(const char *text, double min, double max, double *ret) {
        char *end = NULL;
        errno = 0;
        double value = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(value) || value < min ||
            value > max)
                return -EINVAL;
        *ret = value;
        return 0;
}

bool config_table_equal(const struct config_key *key, const void *a, const void *b) {
        const char *field_a = (const char *)a + key->offset;
        const char *field_b = (const char *)b + key->offset;
        if (key->type == CONFIG_TYPE_STRING)
                return strncmp(field_a, field_b, key->size) == 0;
        return memcmp(field_a, field_b, key->size) == 0;
}

int config_table_set(const struct config_key *key, void *base, const char *text) {
        void *field = (char *)base + key->offset;
        switch (key->type) {
        case CONFIG_TYPE_BOOL:
        case CONFIG_TYPE_ENUM: {
                const struct config_word *word =
                        find_word(key->type == CONFIG_TYPE_BOOL ? bool_words : key->words, text);
                if (word == NULL)
                        return -EINVAL;
                return store_integer(field, key->size, word->value);
        }
        case CONFIG_TYPE_UNSIGNED: {
                uint64_t value = 0;
                if (parse_unsigned(text, key->min, key->max, &value) < 0)
                        return -EINVAL;
                return store_integer(field, key->size, (int64_t)value);
        }
        case CONFIG_TYPE_DOUBLE: {
                if (key->size != sizeof(double))
                        return -EINVAL;
                double value = 0;
                if (parse_double(text, key->min, key->max, &value) < 0)
                        return -EINVAL;
                memcpy(field, &value, sizeof(value));
                return 0;
        }
        case CONFIG_TYPE_STRING: {
                size_t length = strlen(text);
                if (length >= key->size || (length == 0 && !(key->flags & CONFIG_MAY_BE_EMPTY)))
                        return -EINVAL;
                if (key->words != NULL && find_word(key->words, text) == NULL)
                        return -EINVAL;
                if (length > 0 && key->check != NULL && !key->check(text))
                        return -EINVAL;
                memcpy(field, text, length + 1);
                return 0;
        }
        case CONFIG_TYPE_CUSTOM:
                return key->parse(text, field);
        }
        return -EINVAL;
}

int config_table_set_defaults(const struct config_key *keys, size_t count, void *base,
                              struct ph_error *error) {
        for (size_t i = 0; i < count; i++) {
                if (keys[i].default_text == NULL)
                        continue;
                if (config_table_set(&keys[i], base, keys[i].default_text) < 0)
                        return ph_error_set(error, -EINVAL, "%s: default '%s' does not parse",
                                            keys[i].name, keys[i].default_text);
        }
        return 0;
}

static void describe_words(const struct config_word *words, char *out, size_t size) {
        size_t used = 0;
        for (const struct config_word *word = words; word->word != NULL && used < size; word++) {
                int written = snprintf(out + used, size - used, "%s%s", word == words ? "" : ", ",
                                       word->word);
                if (written < 0)
                        break;
                used += (size_t)written;
        }
}

void config_table_describe(const struct config_key *key, char *out, size_t size) {
        char words[256] = "";
        switch (key->type) {
        case CONFIG_TYPE_BOOL:
                snprintf(out, size, "true or false (yes/no, 1/0)");
                return;
        case CONFIG_TYPE_UNSIGNED:
                snprintf(out, size, "a whole number from %.0f to %.0f", key->min, key->max);
                return;
        case CONFIG_TYPE_DOUBLE:
                snprintf(out, size, "a number from %g to %g", key->min, key->max);
                return;
        case CONFIG_TYPE_ENUM:
                describe_words(key->words, words, sizeof(words));
                snprintf(out, size, "one of %s", words);
                return;
        case CONFIG_TYPE_STRING:
                if (key->words != NULL) {
                        describe_words(key->words, words, sizeof(words));
                        snprintf(out, size, "one of %s", words);
                } else if (key->check != NULL) {
                        snprintf(out, size, "%s", key->help); /* the help says what it takes */
                } else {
                        snprintf(out, size, "%s1 to %zu characters",
                                 key->flags & CONFIG_MAY_BE_EMPTY ? "empty or " : "",
                                 key->size - 1);
                }
                return;
        case CONFIG_TYPE_CUSTOM:
                snprintf(out, size, "%s", key->help);
                return;
        }
        snprintf(out, size, "?");
}

void config_table_print(const struct config_key *keys, size_t count, FILE *out) {
        for (size_t i = 0; i < count; i++) {
                const struct config_key *key = &keys[i];
                char takes[512];
                config_table_describe(key, takes, sizeof(takes));
                if (strcmp(takes, key->help) == 0)
                        fprintf(out, "; %s\n", key->help);
                else
                        fprintf(out, "; %s (%s)\n", key->help, takes);
                if (key->default_text != NULL)
                        fprintf(out, "%s = %s\n", key->name, key->default_text);
                else
                        fprintf(out, ";%s =\n", key->name);
        }
}
