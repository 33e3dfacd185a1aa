/* poll_result.h - converting `poll`'s return value into host readings. */
#ifndef PH_PLUGIN_POLL_RESULT_H
#define PH_PLUGIN_POLL_RESULT_H

#include <stdarg.h>

#include "plugin/internal.h"

/* Converts `value` (a result<list<sensor-reading>, plugin-error>). Returns 0
 * and fills *ret_readings (the caller clears it), or a negative code with
 * *failure describing a guest error or output that breaks the contract.
 * Borrows `value`. */
int poll_result_convert(const wasmtime_component_val_t *value, struct reading_list *ret_readings,
                        struct plugin_failure *failure);

/* Fills *failure from a `plugin-error` record; returns -ECANCELED. */
int poll_result_convert_error(const wasmtime_component_val_t *error_record,
                              struct plugin_failure *failure);

/* Marks *failure as output that breaks the contract; returns -EPROTO. */
int poll_result_set_bad_output(struct plugin_failure *failure, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

#endif
