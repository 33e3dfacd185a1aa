/* history.h - every reading, appended to a SQLite database, and queried back.
 *
 * Owns the database file's write connection and a writer thread. Plugin
 * threads call history_append, which only copies the readings into a bounded
 * queue and never blocks on I/O; the writer thread commits them in batches
 * (every `batch_rows` readings or `batch_ms` after the first one of a batch,
 * whichever comes first) and applies the retention limits. A full disk or a
 * read-only database is logged once per episode by the writer (the batch is
 * dropped and counted) and writing is retried with the next batch; the
 * callers keep going. Queries open their own read-only connection, so they
 * never wait for the writer (WAL).
 *
 * Threads: history_append, history_flush and history_get_stats from any
 * thread; history_open and history_close from one owner thread.
 * Locks: `lock` in struct history guards the queue, the flush counters and
 * the statistics; the SQLite write connection belongs to the writer thread
 * alone. Knows nothing of plugins or HTTP. */
#ifndef PH_HISTORY_H
#define PH_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/reading.h"

enum history_sync {
        /* WAL + synchronous=NORMAL: a commit is durable against a crash of
         * the process (SIGKILL, a trap), not against a power cut, which may
         * roll back the last commits but never corrupts the file. */
        HISTORY_SYNC_NORMAL,
        /* WAL + synchronous=FULL: one fsync per commit (per batch). */
        HISTORY_SYNC_FULL,
};

struct history_options {
        const char *path; /* borrowed for history_open only */
        enum history_sync sync;
        unsigned batch_rows; /* commit when this many readings are waiting */
        unsigned batch_ms;   /* ... or this long after the first of them */
        size_t queue_rows;   /* readings that may wait; more are dropped */
        double max_age_s;    /* rows older than this are deleted; 0: no limit */
        uint64_t max_rows;   /* only the newest rows are kept; 0: no limit */
};

struct history_stats {
        uint64_t appended;       /* readings accepted into the queue */
        uint64_t written;        /* readings committed */
        uint64_t dropped_full;   /* readings refused: queue full */
        uint64_t dropped_failed; /* readings lost with a failed batch */
        uint64_t write_errors;   /* failed batches */
        uint64_t deleted;        /* rows removed by retention */
        bool is_failing;         /* the last batch failed */
};

struct history;

/* Validates `options`, opens (or creates) the database with its schema and
 * starts the writer thread. Returns NULL with `error` set when the options
 * are invalid or the database cannot be opened or set up at all. The caller
 * frees the result with history_close. */
PH_MUST_USE struct history *history_open(const struct history_options *options,
                                         struct ph_error *error);

/* Queues the readings of one poll of `plugin` made at `time_ms` (Unix time,
 * milliseconds); borrows both for the call only. Never blocks on I/O.
 * Returns 0, or -ENOBUFS when the queue was full (the readings that did not
 * fit are dropped, counted, and the episode is logged once). */
PH_MUST_USE int history_append(struct history *history, const char *plugin, int64_t time_ms,
                               const struct reading_list *readings);

/* Waits until every reading queued before the call is committed or
 * dropped. Returns 0, or the negative code of the last failed batch among
 * them with `error` set. */
PH_MUST_USE int history_flush(struct history *history, struct ph_error *error);

void history_get_stats(struct history *history, struct history_stats *ret_stats);

/* Commits what is queued, stops the writer thread and closes the database.
 * Accepts NULL. */
void history_close(struct history *history);

struct history_query {
        const char *sensor; /* NULL: every sensor; borrowed */
        int64_t since_ms;   /* rows with time_ms >= since_ms; 0: all */
        size_t limit;       /* the newest `limit` rows; 0: no limit */
};

/* Returns a new JSON array of the rows matching `query`, oldest first, each
 * {"id", "time_ms", "plugin", "sensor", "quantity", "value", "unit",
 * "status"} (a non-finite value is null with "valid": false). Opens `path`
 * read-only for the call: safe from any thread, beside a running writer.
 * The caller json_decrefs the result; NULL with `error` set on failure. */
PH_MUST_USE json_t *history_query_json(const char *path, const struct history_query *query,
                                       struct ph_error *error);

/* Parses a `since` bound: Unix time in milliseconds ("1764000000000"), or a
 * duration before `now_ms` with a unit suffix s, m, h or d ("15m"). */
PH_MUST_USE int history_parse_since(const char *text, int64_t now_ms, int64_t *ret_since_ms);

/* "normal" or "full". */
PH_MUST_USE int history_sync_parse(const char *text, enum history_sync *ret_sync);

#endif
