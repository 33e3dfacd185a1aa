/* view.h - the JSON forms of the app state that more than one part of the
 * web server writes: a plugin's summary (GET /api/plugins and the event
 * stream's "plugin" events), its last error, and a poll record (the answer
 * to an operator's poll and the stream's "reading" events).
 *
 * Owns nothing; every function returns a new JSON value the caller
 * releases with json_decref, or NULL when out of memory. Thread-safe. */
#ifndef PH_HTTP_VIEW_H
#define PH_HTTP_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/app_state.h"
#include "core/pipeline.h"

/* `time_ms`, or null when it is 0 (never). */
json_t *view_time_or_null(int64_t time_ms);

json_t *view_last_error(const struct app_plugin_view *view, bool with_traceback);

json_t *view_plugin_summary(const struct app_plugin_view *view);

/* {"plugin", "origin", "version", "time_ms", "duration_ms", "readings"} of
 * a successful poll; {"plugin", ..., "kind", "message"} (and "traceback"
 * when asked) of a failed or skipped one. */
json_t *view_poll_record(const struct poll_record *record, bool with_traceback);

#endif
