#include "core/reading.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const quantity_names[] = {"temperature", "humidity"};
static const char *const status_names[] = {"ok", "warning", "alarm"};

void reading_list_clear(struct reading_list *list) {
        free(list->items);
        list->items = NULL;
        list->count = 0;
}

static int parse_name(const char *const *names, size_t count, const char *name, size_t length) {
        for (size_t i = 0; i < count; i++)
                if (strlen(names[i]) == length && memcmp(names[i], name, length) == 0)
                        return (int)i;
        return -EINVAL;
}

int reading_quantity_parse(const char *name, size_t length, enum reading_quantity *ret) {
        int index = parse_name(quantity_names, 2, name, length);
        if (index < 0)
                return index;
        *ret = (enum reading_quantity)index;
        return 0;
}

int reading_status_parse(const char *name, size_t length, enum reading_status *ret) {
        int index = parse_name(status_names, 3, name, length);
        if (index < 0)
                return index;
        *ret = (enum reading_status)index;
        return 0;
}

const char *reading_quantity_name(enum reading_quantity quantity) {
        return (size_t)quantity < 2 ? quantity_names[quantity] : "?";
}

const char *reading_status_name(enum reading_status status) {
        return (size_t)status < 3 ? status_names[status] : "?";
}

json_t *reading_list_to_json(const struct reading_list *list) {
        json_t *array = json_array();
        if (array == NULL)
                return NULL;
        for (size_t i = 0; i < list->count; i++) {
                const struct reading *r = &list->items[i];
                json_t *object =
                        json_pack("{s:s, s:s, s:o, s:s, s:s, s:b}", "sensor", r->sensor, "quantity",
                                  reading_quantity_name(r->quantity), "value",
                                  r->is_finite ? json_real(r->value) : json_null(), "unit", r->unit,
                                  "status", reading_status_name(r->status), "valid", r->is_finite);
                if (object == NULL || json_array_append_new(array, object) < 0) {
                        json_decref(array);
                        return NULL;
                }
        }
        return array;
}
