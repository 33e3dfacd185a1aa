/* reading.h - what a plugin's poll reports, in host terms.
 *
 * Owns the reading list and its JSON form; knows nothing of Wasmtime (the
 * plugin layer converts component values into these). Thread-safe: no
 * shared state. */
#ifndef PH_READING_H
#define PH_READING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define READING_SENSOR_MAX 64 /* bytes, with the NUL */
#define READING_UNIT_MAX 16
#define READING_LIST_MAX 256 /* readings one poll may return */

enum reading_quantity { READING_TEMPERATURE, READING_HUMIDITY };
enum reading_status { READING_OK, READING_WARNING, READING_ALARM };

struct reading {
        char sensor[READING_SENSOR_MAX];
        enum reading_quantity quantity;
        double value; /* NaN and infinities are kept but flagged by is_finite */
        bool is_finite;
        char unit[READING_UNIT_MAX];
        enum reading_status status;
};

struct reading_list {
        struct reading *items; /* owned; free with reading_list_clear */
        size_t count;
};

/* Frees the items and empties the list. Accepts an empty list. */
void reading_list_clear(struct reading_list *list);

PH_MUST_USE int reading_quantity_parse(const char *name, size_t length, enum reading_quantity *ret);
PH_MUST_USE int reading_status_parse(const char *name, size_t length, enum reading_status *ret);
const char *reading_quantity_name(enum reading_quantity quantity);
const char *reading_status_name(enum reading_status status);

/* Returns a new JSON array of reading objects; the caller releases it with
 * json_decref. A non-finite value is written as null with "valid": false,
 * because JSON has no NaN. Returns NULL when out of memory. */
json_t *reading_list_to_json(const struct reading_list *list);

#endif
