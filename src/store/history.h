/* history.h - every reading, appended to a SQLite database, and queried back.
 *
 * Owns the database file's write connection and a writer thread. Plugin
 * threads call history_append, which only copies the readings into a bounded
 * queue and never blocks on I/O; the writer thread commits them in batches
 * (every `batch_rows` readings or `batch_ms` after the first one of a batch,
 * whichever comes first) and applies the retention limits. A full disk or a
 * read-only database is logged once per episode by the writer (the batch is
 * dropped and counted) and writing is retried with the next batch; the
 * callers keep going. A damaged database (SQLITE_CORRUPT, SQLITE_NOTADB, or
 * what PRAGMA quick_check finds when the writer starts) is moved aside with
 * its -wal and -shm (history_file.h: kept, never deleted), and the writer
 * goes on in a fresh database with the same queue and the batch it was
 * writing. Queries open their own read-only connection, so they never wait
 * for the writer (WAL).
 *
 * Threads: history_append, history_flush and history_get_stats from any
 * thread; history_open and history_close from one owner thread.
 * Locks: `lock` in struct history guards the queue, the flush counters and
 * the statistics; the SQLite write connection belongs to the writer thread
 * alone. Knows nothing of plugins or HTTP. */
#ifndef PH_HISTORY_H
#define PH_HISTORY_H

#include <jansson.h>
#include <limits.h>
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
        unsigned check_ms;   /* quick_check at start for at most this long; 0: none */
};

/* quick_check reads the whole file: 0.3 s for a million rows (100 MB) in
 * the page cache, 3 s from a cold disk on this project's machine, more on
 * an SD card. It runs on the writer thread (the start does not wait; the
 * queue holds what arrives) and is abandoned after this long: damage it
 * did not reach is still found, as SQLITE_CORRUPT, when a write meets it. */
#define HISTORY_CHECK_MS_DEFAULT 10000

/* Whether the database takes writes, as the last batch found it. */
enum history_state {
        HISTORY_STATE_OK,
        HISTORY_STATE_DISK_FULL, /* SQLITE_FULL: no space left */
        HISTORY_STATE_READ_ONLY, /* read-only file or file system, no permission */
        HISTORY_STATE_FAILING,   /* any other write error (I/O, a failed move aside) */
};

struct history_stats {
        uint64_t appended;       /* readings accepted into the queue */
        uint64_t written;        /* readings committed */
        uint64_t dropped_full;   /* readings refused: queue full */
        uint64_t dropped_failed; /* readings lost with a failed batch */
        uint64_t write_errors;   /* failed batches */
        uint64_t deleted;        /* rows removed by retention */
        uint64_t recoveries;     /* damaged databases moved aside */
        bool is_failing;         /* the last batch failed */
        bool is_queue_full;      /* readings are being refused now */
        enum history_state state;
        size_t queue_rows;                     /* readings waiting now */
        size_t queue_capacity;                 /* queue_rows of the options */
        char last_error[PH_ERROR_MESSAGE_MAX]; /* the last failure; "" when none */
        int64_t last_error_ms;                 /* Unix ms; 0: never */
        char last_aside[PATH_MAX];             /* where the last damaged database went */
        int64_t last_recovery_ms;              /* Unix ms; 0: never */
};

/* "ok", "disk-full", "read-only" or "failing". */
const char *history_state_name(enum history_state state);

/* Whether an operator should look: the history is not writing, is dropping
 * readings with its queue full, or has moved a damaged database aside
 * since the start (that stays until the host restarts). */
bool history_stats_is_degraded(const struct history_stats *stats);

struct history;

/* Validates `options`, opens (or creates) the database with its schema and
 * starts the writer thread, which first checks the database (check_ms). A
 * full disk or a read-only file is reported and retried; a damaged file, or
 * one that is not a database, is moved aside by the writer. Returns NULL
 * with `error` set when the options are invalid, the directory is missing
 * or the database cannot be set up otherwise (a `readings` table of another
 * shape, no memory). The caller frees the result with history_close. */
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

/* Copies the figures (about 5 KiB) under the lock; never waits for I/O. */
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
