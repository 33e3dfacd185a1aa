/* poll_result.c - turns the component value that `poll` returned into host
 * readings, checking every bound of the contract on the way: a plugin is
 * not trusted to return sane data. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/poll_result.h"

static const wasmtime_component_val_t *find_field(const wasmtime_component_val_t *record,
                                                  const char *name) {
        if (record->kind != WASMTIME_COMPONENT_RECORD)
                return NULL;
        size_t length = strlen(name);
        for (size_t i = 0; i < record->of.record.size; i++) {
                const wasmtime_component_valrecord_entry_t *entry = &record->of.record.data[i];
                if (entry->name.size == length && memcmp(entry->name.data, name, length) == 0)
                        return &entry->val;
        }
        return NULL;
}

int poll_result_set_bad_output(struct plugin_failure *failure, const char *format, ...) {
        failure->kind = PLUGIN_FAILURE_BAD_OUTPUT;
        va_list args;
        va_start(args, format);
        vsnprintf(failure->message, sizeof(failure->message), format, args);
        va_end(args);
        failure->traceback[0] = '\0';
        return -EPROTO;
}

static bool has_control_characters(const char *text, size_t length) {
        for (size_t i = 0; i < length; i++) {
                unsigned char c = (unsigned char)text[i];
                if (c < 0x20 || c == 0x7f)
                        return true;
        }
        return false;
}

/* Copies a string field into `out`, refusing what does not fit or would
 * corrupt a log line or a display. */
static int copy_text_field(const wasmtime_component_val_t *record, const char *field, char *out,
                           size_t size, size_t index, struct plugin_failure *failure) {
        const wasmtime_component_val_t *value = find_field(record, field);
        if (value == NULL || value->kind != WASMTIME_COMPONENT_STRING)
                return poll_result_set_bad_output(
                        failure, "reading %zu: field '%s' is missing or not a string", index,
                        field);
        const wasm_name_t *text = &value->of.string;
        if (text->size >= size)
                return poll_result_set_bad_output(
                        failure, "reading %zu: %s is %zu bytes, more than the limit of %zu", index,
                        field, text->size, size - 1);
        if (has_control_characters(text->data, text->size))
                return poll_result_set_bad_output(
                        failure, "reading %zu: %s contains control characters", index, field);
        memcpy(out, text->data, text->size);
        out[text->size] = '\0';
        return 0;
}

static int convert_reading(const wasmtime_component_val_t *record, size_t index,
                           struct reading *out, struct plugin_failure *failure) {
        if (record->kind != WASMTIME_COMPONENT_RECORD)
                return poll_result_set_bad_output(failure, "reading %zu is not a record", index);
        int result =
                copy_text_field(record, "sensor", out->sensor, sizeof(out->sensor), index, failure);
        if (result == 0)
                result = copy_text_field(record, "unit", out->unit, sizeof(out->unit), index,
                                         failure);
        if (result < 0)
                return result;
        const wasmtime_component_val_t *quantity = find_field(record, "quantity");
        const wasmtime_component_val_t *status = find_field(record, "status");
        const wasmtime_component_val_t *value = find_field(record, "value");
        if (quantity == NULL || quantity->kind != WASMTIME_COMPONENT_ENUM ||
            reading_quantity_parse(quantity->of.enumeration.data, quantity->of.enumeration.size,
                                   &out->quantity) < 0)
                return poll_result_set_bad_output(failure, "reading %zu: bad quantity", index);
        if (status == NULL || status->kind != WASMTIME_COMPONENT_ENUM ||
            reading_status_parse(status->of.enumeration.data, status->of.enumeration.size,
                                 &out->status) < 0)
                return poll_result_set_bad_output(failure, "reading %zu: bad status", index);
        if (value == NULL || value->kind != WASMTIME_COMPONENT_F64)
                return poll_result_set_bad_output(
                        failure, "reading %zu: value is missing or not an f64", index);
        out->value = value->of.f64;
        out->is_finite = isfinite(out->value);
        return 0;
}

int poll_result_convert_error(const wasmtime_component_val_t *error_record,
                              struct plugin_failure *failure) {
        failure->kind = PLUGIN_FAILURE_GUEST_ERROR;
        const wasmtime_component_val_t *message = find_field(error_record, "message");
        const wasmtime_component_val_t *traceback = find_field(error_record, "traceback");
        if (message != NULL && message->kind == WASMTIME_COMPONENT_STRING)
                snprintf(failure->message, sizeof(failure->message), "%.*s",
                         (int)message->of.string.size, message->of.string.data);
        else
                snprintf(failure->message, sizeof(failure->message), "plugin returned an error");
        if (traceback != NULL && traceback->kind == WASMTIME_COMPONENT_STRING)
                snprintf(failure->traceback, sizeof(failure->traceback), "%.*s",
                         (int)traceback->of.string.size, traceback->of.string.data);
        else
                failure->traceback[0] = '\0';
        return -ECANCELED;
}

int poll_result_convert(const wasmtime_component_val_t *value, struct reading_list *ret_readings,
                        struct plugin_failure *failure) {
        if (value->kind != WASMTIME_COMPONENT_RESULT || value->of.result.val == NULL)
                return poll_result_set_bad_output(failure, "poll did not return a result");
        const wasmtime_component_val_t *payload = value->of.result.val;
        if (!value->of.result.is_ok)
                return poll_result_convert_error(payload, failure);
        if (payload->kind != WASMTIME_COMPONENT_LIST)
                return poll_result_set_bad_output(failure, "poll did not return a list");
        size_t count = payload->of.list.size;
        if (count > READING_LIST_MAX)
                return poll_result_set_bad_output(
                        failure, "poll returned %zu readings, more than the limit of %d", count,
                        READING_LIST_MAX);
        struct reading *items = calloc(count > 0 ? count : 1, sizeof(*items));
        if (items == NULL)
                return poll_result_set_bad_output(failure, "out of memory for %zu readings", count);
        for (size_t i = 0; i < count; i++) {
                int result = convert_reading(&payload->of.list.data[i], i, &items[i], failure);
                if (result < 0) {
                        free(items);
                        return result;
                }
        }
        ret_readings->items = items;
        ret_readings->count = count;
        return 0;
}
