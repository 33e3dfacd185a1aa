#include "store/history.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "store/history_file.h"

#define TAG "history"
#define PLUGIN_NAME_MAX 64
#define BATCH_ROWS_MAX 100000
#define BATCH_MS_MAX 3600000
#define QUEUE_ROWS_MAX 10000000

struct history_row {
        int64_t time_ms;
        char plugin[PLUGIN_NAME_MAX];
        struct reading reading;
};

struct history {
        char path[PATH_MAX];
        struct history_options options; /* options.path points at `path` */

        /* Writer thread only. */
        sqlite3 *db;
        sqlite3_stmt *insert;
        struct history_row *batch; /* batch_rows rows */
        bool is_damaged_at_open;   /* open_damage: for the writer to move aside */
        struct ph_error open_damage;

        pthread_t thread;
        bool has_thread;

        pthread_mutex_t lock;
        /* Guarded by `lock`: */
        pthread_cond_t wake;       /* writer: rows, a flush or stop */
        pthread_cond_t progress;   /* flushers: rows done */
        struct history_row *queue; /* ring of queue_rows rows */
        size_t head;
        size_t count;
        uint64_t queued_total; /* sequence of the last row queued */
        uint64_t done_total;   /* rows committed or dropped by the writer */
        unsigned flush_waiters;
        bool is_stopping;
        bool is_queue_full;   /* in a queue-full episode (logged once) */
        sqlite3 *checking_db; /* the writer's, during quick_check: to interrupt */
        struct ph_error last_error;
        struct history_stats stats;
};

/* SQLite error codes that describe the storage (a full disk, a read-only
 * file or file system, an I/O error), which may get better by itself: the
 * history keeps running and retries with the next batch. */
static bool is_storage_error(int code) {
        switch (code & 0xff) {
        case SQLITE_READONLY:
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_PERM:
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return true;
        default:
                return false;
        }
}

static int set_sqlite_error(struct ph_error *error, sqlite3 *db, int code, const char *path,
                            const char *doing) {
        const char *message = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(code);
        return ph_error_set(error, history_file_errno(code), "%s: %s: %s", path, doing, message);
}

static int64_t now_ms(void) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The schema. `value` is NULL when the reading was not a finite number. */
static const char schema_sql[] =
        "CREATE TABLE IF NOT EXISTS readings ("
        " id INTEGER PRIMARY KEY,"
        " time_ms INTEGER NOT NULL,"
        " plugin TEXT NOT NULL,"
        " sensor TEXT NOT NULL,"
        " quantity TEXT NOT NULL,"
        " value REAL,"
        " unit TEXT NOT NULL,"
        " status TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS readings_by_time ON readings(time_ms);"
        "CREATE INDEX IF NOT EXISTS readings_by_sensor ON readings(sensor, time_ms);";

static void disconnect(struct history *history) {
        sqlite3_finalize(history->insert);
        history->insert = NULL;
        sqlite3_close(history->db);
        history->db = NULL;
}

/* Closes a connection to a damaged database without the checkpoint that
 * closing does otherwise: the file is moved aside as it is, its log with
 * it, and nothing is written into it. */
static void disconnect_damaged(struct history *history) {
        if (history->db != NULL) {
                if (!sqlite3_get_autocommit(history->db))
                        sqlite3_exec(history->db, "ROLLBACK", NULL, NULL, NULL);
                sqlite3_db_config(history->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
        }
        disconnect(history);
}

/* After a failed open or set-up. */
static void disconnect_after(struct history *history, int code) {
        if (history_file_is_damaged(code))
                disconnect_damaged(history);
        else
                disconnect(history);
}

/* Opens the write connection and sets it up. On failure returns the SQLite
 * code with `error` set, and leaves no connection. */
static int open_connection(struct history *history, struct ph_error *error) {
        int code = sqlite3_open_v2(history->path, &history->db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   NULL);
        if (code != SQLITE_OK) {
                set_sqlite_error(error, history->db, code, history->path, "cannot open");
                disconnect_after(history, code);
                return code;
        }
        sqlite3_extended_result_codes(history->db, 1);
        /* A reader (pyhost history, the HTTP API) may hold the lock for a
         * moment during a checkpoint. */
        sqlite3_busy_timeout(history->db, 1000);
        if (sqlite3_db_readonly(history->db, "main") == 1) {
                ph_error_set(error, -EROFS, "%s: the database is read-only", history->path);
                disconnect(history);
                return SQLITE_READONLY;
        }
        /* WAL: readers never block the writer and a commit is one append to
         * the log. synchronous=NORMAL (the default choice): in WAL mode a
         * commit is then not fsynced, only each checkpoint is. A committed
         * batch survives the process being killed (it is in the log, in the
         * kernel's page cache) and the file is never corrupted; a power cut
         * may roll back the last batches. One fsync per batch costs time
         * (about 40 % of the throughput in BENCHMARKS.md) and flash wear
         * for no gain against the failure we expect most (the process
         * dying), so FULL is opt-in. */
        const char *setup = history->options.sync == HISTORY_SYNC_FULL
                                    ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                    : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
        code = sqlite3_exec(history->db, setup, NULL, NULL, NULL);
        if (code == SQLITE_OK)
                code = sqlite3_exec(history->db, schema_sql, NULL, NULL, NULL);
        if (code == SQLITE_OK)
                code = sqlite3_prepare_v2(history->db,
                                          "INSERT INTO readings (time_ms, plugin, sensor, quantity,"
                                          " value, unit, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                          -1, &history->insert, NULL);
        if (code != SQLITE_OK) {
                set_sqlite_error(error, history->db, code, history->path, "cannot set up");
                disconnect_after(history, code);
                return code;
        }
        return SQLITE_OK;
}

static int insert_row(struct history *history, const struct history_row *row) {
        sqlite3_stmt *insert = history->insert;
        const struct reading *reading = &row->reading;
        sqlite3_reset(insert);
        sqlite3_bind_int64(insert, 1, row->time_ms);
        sqlite3_bind_text(insert, 2, row->plugin, -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 3, reading->sensor, -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 4, reading_quantity_name(reading->quantity), -1, SQLITE_STATIC);
        if (reading->is_finite)
                sqlite3_bind_double(insert, 5, reading->value);
        else
                sqlite3_bind_null(insert, 5);
        sqlite3_bind_text(insert, 6, reading->unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 7, reading_status_name(reading->status), -1, SQLITE_STATIC);
        int code = sqlite3_step(insert);
        sqlite3_reset(insert);
        return code == SQLITE_DONE ? SQLITE_OK : code;
}

/* Deletes rows beyond the retention limits, inside the open transaction. */
static int apply_retention(struct history *history, uint64_t *ret_deleted) {
        *ret_deleted = 0;
        const struct history_options *options = &history->options;
        char sql[160];
        if (options->max_age_s > 0) {
                int64_t cutoff = now_ms() - (int64_t)(options->max_age_s * 1000.0);
                snprintf(sql, sizeof(sql), "DELETE FROM readings WHERE time_ms < %lld",
                         (long long)cutoff);
                int code = sqlite3_exec(history->db, sql, NULL, NULL, NULL);
                if (code != SQLITE_OK)
                        return code;
                *ret_deleted += (uint64_t)sqlite3_changes(history->db);
        }
        if (options->max_rows > 0) {
                /* Row ids only grow (the newest row is never deleted), so
                 * the newest max_rows rows are the top of the id range. */
                snprintf(sql, sizeof(sql),
                         "DELETE FROM readings WHERE id <= "
                         "(SELECT max(id) FROM readings) - %llu",
                         (unsigned long long)options->max_rows);
                int code = sqlite3_exec(history->db, sql, NULL, NULL, NULL);
                if (code != SQLITE_OK)
                        return code;
                *ret_deleted += (uint64_t)sqlite3_changes(history->db);
        }
        return SQLITE_OK;
}

/* Commits `count` rows in one transaction. Writer thread only. Returns a
 * SQLite code, with `error` set when it is not SQLITE_OK. */
static int try_batch(struct history *history, const struct history_row *rows, size_t count,
                     uint64_t *ret_deleted, struct ph_error *error) {
        *ret_deleted = 0;
        if (history->db == NULL) {
                int code = open_connection(history, error);
                if (code != SQLITE_OK)
                        return code;
        }
        const char *doing = "cannot begin a transaction";
        int code = sqlite3_exec(history->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (size_t i = 0; code == SQLITE_OK && i < count; i++) {
                doing = "cannot insert";
                code = insert_row(history, &rows[i]);
        }
        if (code == SQLITE_OK) {
                doing = "cannot apply retention";
                code = apply_retention(history, ret_deleted);
        }
        if (code == SQLITE_OK) {
                doing = "cannot commit";
                code = sqlite3_exec(history->db, "COMMIT", NULL, NULL, NULL);
        }
        if (code == SQLITE_OK)
                return SQLITE_OK;
        set_sqlite_error(error, history->db, code, history->path, doing);
        *ret_deleted = 0;
        if (history_file_is_damaged(code))
                return code; /* closed by move_aside, without a checkpoint */
        /* Start afresh with the next batch: the file may have been fixed,
         * replaced or remounted by then. */
        if (!sqlite3_get_autocommit(history->db))
                sqlite3_exec(history->db, "ROLLBACK", NULL, NULL, NULL);
        disconnect(history);
        return code;
}

/* The database is damaged (`damage` says how): closes it, moves it aside
 * with its -wal and -shm, and opens a fresh one in its place. Says so in
 * the log and the statistics. Writer thread only. Returns 0, or a negative
 * code with `error` set when the move or the new database failed (the
 * next batch tries again). */
static int move_aside(struct history *history, const struct ph_error *damage,
                      struct ph_error *error) {
        disconnect_damaged(history);
        char aside[PATH_MAX];
        int result =
                history_file_move_aside(history->path, time(NULL), aside, sizeof(aside), error);
        if (result < 0) {
                ph_error_prefix(error, "damaged database (%s) not moved aside", damage->message);
                return result;
        }
        pthread_mutex_lock(&history->lock);
        history->stats.recoveries++;
        history->stats.last_recovery_ms = now_ms();
        snprintf(history->stats.last_aside, sizeof(history->stats.last_aside), "%s", aside);
        history->last_error = *damage;
        history->stats.last_error_ms = history->stats.last_recovery_ms;
        pthread_mutex_unlock(&history->lock);
        int code = open_connection(history, error);
        if (code == SQLITE_OK)
                log_write(LOG_LEVEL_ERROR, TAG,
                          "DAMAGED DATABASE: %s; moved it aside to %s (kept, with its -wal and "
                          "-shm; nothing is deleted) and recording goes on in a new, empty %s",
                          damage->message, aside, history->path);
        else
                log_write(LOG_LEVEL_ERROR, TAG,
                          "DAMAGED DATABASE: %s; moved it aside to %s (kept, with its -wal and "
                          "-shm; nothing is deleted); the new database failed too",
                          damage->message, aside);
        return code == SQLITE_OK ? 0 : history_file_errno(code);
}

/* Commits `count` rows; a damaged database is moved aside and the rows go
 * into the fresh one. Writer thread only. Returns 0 or a negative code with
 * `error` set. */
static int write_batch(struct history *history, const struct history_row *rows, size_t count,
                       uint64_t *ret_deleted, struct ph_error *error) {
        int code = try_batch(history, rows, count, ret_deleted, error);
        if (history_file_is_damaged(code)) {
                struct ph_error damage = *error;
                int result = move_aside(history, &damage, error);
                if (result < 0)
                        return result;
                code = try_batch(history, rows, count, ret_deleted, error);
                if (history_file_is_damaged(code))
                        disconnect_damaged(history); /* the next batch moves it aside */
        }
        return code == SQLITE_OK ? 0 : history_file_errno(code);
}

static void deadline_after_ms(struct timespec *deadline, unsigned ms) {
        clock_gettime(CLOCK_MONOTONIC, deadline);
        deadline->tv_sec += (time_t)(ms / 1000);
        deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
        if (deadline->tv_nsec >= 1000000000L) {
                deadline->tv_sec++;
                deadline->tv_nsec -= 1000000000L;
        }
}

static int64_t monotonic_ms(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Runs quick_check on the open database, interruptible by history_close.
 * Returns true when it found damage, described in `damage`. */
static bool is_found_damaged(struct history *history, struct ph_error *damage) {
        pthread_mutex_lock(&history->lock);
        bool is_stopping = history->is_stopping;
        if (!is_stopping)
                history->checking_db = history->db;
        pthread_mutex_unlock(&history->lock);
        if (is_stopping)
                return false;
        int64_t started_ms = monotonic_ms();
        enum history_check verdict =
                history_file_check(history->db, history->path, history->options.check_ms, damage);
        pthread_mutex_lock(&history->lock);
        history->checking_db = NULL;
        pthread_mutex_unlock(&history->lock);
        long long took_ms = (long long)(monotonic_ms() - started_ms);
        switch (verdict) {
        case HISTORY_CHECK_OK:
                log_write(LOG_LEVEL_INFO, TAG, "%s: quick_check ok (%lld ms)", history->path,
                          took_ms);
                return false;
        case HISTORY_CHECK_UNFINISHED:
                log_write(LOG_LEVEL_WARNING, TAG,
                          "%s: quick_check stopped after %lld ms (limit %u ms): not checked; "
                          "damage is still found when a write meets it",
                          history->path, took_ms, history->options.check_ms);
                return false;
        case HISTORY_CHECK_FAILED:
                log_write(LOG_LEVEL_WARNING, TAG, "%s; not checked", damage->message);
                return false;
        case HISTORY_CHECK_DAMAGED:
                break;
        }
        return true;
}

/* Before the first batch: a database found damaged at open, or by
 * quick_check, is moved aside. Writer thread only. */
static void check_at_start(struct history *history) {
        struct ph_error damage = {0};
        if (history->is_damaged_at_open)
                damage = history->open_damage;
        else if (history->db == NULL || history->options.check_ms == 0 ||
                 !is_found_damaged(history, &damage))
                return;
        struct ph_error error = {0};
        if (move_aside(history, &damage, &error) == 0)
                return;
        pthread_mutex_lock(&history->lock);
        bool was_failing = history->stats.is_failing;
        history->stats.is_failing = true;
        history->last_error = error;
        history->stats.last_error_ms = now_ms();
        pthread_mutex_unlock(&history->lock);
        if (!was_failing)
                log_write(LOG_LEVEL_ERROR, TAG,
                          "%s; readings are dropped (and counted) until a write works",
                          error.message);
}

static void *writer_main(void *data) {
        struct history *history = data;
        const struct history_options *options = &history->options;
        check_at_start(history);
        pthread_mutex_lock(&history->lock);
        for (;;) {
                while (history->count == 0 && !history->is_stopping)
                        pthread_cond_wait(&history->wake, &history->lock);
                if (history->count == 0)
                        break; /* stopping, nothing left */
                /* A batch is open: wait for it to fill, for its time to run
                 * out, for a flush or for stop. */
                struct timespec deadline;
                deadline_after_ms(&deadline, options->batch_ms);
                while (history->count < options->batch_rows && !history->is_stopping &&
                       history->flush_waiters == 0) {
                        if (pthread_cond_timedwait(&history->wake, &history->lock, &deadline) ==
                            ETIMEDOUT)
                                break;
                }
                size_t count =
                        history->count < options->batch_rows ? history->count : options->batch_rows;
                size_t capacity = options->queue_rows;
                for (size_t i = 0; i < count; i++)
                        history->batch[i] = history->queue[(history->head + i) % capacity];
                history->head = (history->head + count) % capacity;
                history->count -= count;
                pthread_mutex_unlock(&history->lock);

                struct ph_error error = {0};
                uint64_t deleted = 0;
                int result = write_batch(history, history->batch, count, &deleted, &error);

                pthread_mutex_lock(&history->lock);
                bool was_failing = history->stats.is_failing;
                history->done_total += count;
                history->stats.deleted += deleted;
                if (result == 0) {
                        history->stats.written += count;
                        history->stats.is_failing = false;
                } else {
                        history->stats.dropped_failed += count;
                        history->stats.write_errors++;
                        history->stats.is_failing = true;
                        history->last_error = error;
                        history->stats.last_error_ms = now_ms();
                }
                uint64_t dropped = history->stats.dropped_failed;
                pthread_cond_broadcast(&history->progress);
                pthread_mutex_unlock(&history->lock);
                /* Logged once per episode, outside the lock. */
                if (result < 0 && !was_failing)
                        log_write(LOG_LEVEL_ERROR, TAG,
                                  "%s; readings are dropped (and counted) until a write works",
                                  error.message);
                else if (result == 0 && was_failing)
                        log_write(LOG_LEVEL_INFO, TAG, "%s: writing again (%llu readings lost)",
                                  history->path, (unsigned long long)dropped);
                pthread_mutex_lock(&history->lock);
        }
        pthread_mutex_unlock(&history->lock);
        return NULL;
}

static int validate(const struct history_options *options, struct ph_error *error) {
        if (options->path == NULL || options->path[0] == '\0' || strlen(options->path) >= PATH_MAX)
                return ph_error_set(error, -EINVAL, "history: path is empty or too long");
        if (options->batch_rows == 0 || options->batch_rows > BATCH_ROWS_MAX)
                return ph_error_set(error, -EINVAL, "history: batch_rows must be 1..%d",
                                    BATCH_ROWS_MAX);
        if (options->batch_ms == 0 || options->batch_ms > BATCH_MS_MAX)
                return ph_error_set(error, -EINVAL, "history: batch_ms must be 1..%d",
                                    BATCH_MS_MAX);
        if (options->queue_rows < options->batch_rows || options->queue_rows > QUEUE_ROWS_MAX)
                return ph_error_set(error, -EINVAL,
                                    "history: queue_rows must be batch_rows (%u)..%d",
                                    options->batch_rows, QUEUE_ROWS_MAX);
        if (!(options->max_age_s >= 0) || !isfinite(options->max_age_s))
                return ph_error_set(error, -EINVAL, "history: max age must be >= 0");
        return 0;
}

/* The directory of `path` must exist: a missing one is a mistake in the
 * configuration, not a storage condition to wait out. */
static int check_directory(const char *path, struct ph_error *error) {
        char directory[PATH_MAX];
        snprintf(directory, sizeof(directory), "%s", path);
        char *slash = strrchr(directory, '/');
        if (slash == NULL)
                return 0;
        if (slash == directory)
                slash[1] = '\0';
        else
                *slash = '\0';
        struct stat info;
        if (stat(directory, &info) != 0)
                return ph_error_set(error, -errno, "%s: directory %s: %s", path, directory,
                                    strerror(errno));
        if (!S_ISDIR(info.st_mode))
                return ph_error_set(error, -ENOTDIR, "%s: %s is not a directory", path, directory);
        return 0;
}

struct history *history_open(const struct history_options *options, struct ph_error *error) {
        if (validate(options, error) < 0 || check_directory(options->path, error) < 0)
                return NULL;
        struct history *history = calloc(1, sizeof(*history));
        if (history == NULL) {
                ph_error_set(error, -ENOMEM, "history: out of memory");
                return NULL;
        }
        snprintf(history->path, sizeof(history->path), "%s", options->path);
        history->options = *options;
        history->options.path = history->path;
        pthread_mutex_init(&history->lock, NULL);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&history->wake, &attributes);
        pthread_condattr_destroy(&attributes);
        pthread_cond_init(&history->progress, NULL);
        history->queue = calloc(options->queue_rows, sizeof(*history->queue));
        history->batch = calloc(options->batch_rows, sizeof(*history->batch));
        if (history->queue == NULL || history->batch == NULL) {
                ph_error_set(error, -ENOMEM, "history: out of memory for the queue");
                goto fail;
        }
        struct ph_error connect_error = {0};
        int code = open_connection(history, &connect_error);
        if (history_file_is_damaged(code)) {
                /* Moved aside by the writer, before its first batch. */
                history->is_damaged_at_open = true;
                history->open_damage = connect_error;
        } else if (code != SQLITE_OK && !is_storage_error(code)) {
                if (error != NULL)
                        *error = connect_error;
                goto fail;
        }
        if (code != SQLITE_OK) {
                /* Read-only or full: run anyway, the writer retries with
                 * each batch. Reported here, once. */
                history->stats.is_failing = true;
                history->last_error = connect_error;
                history->stats.last_error_ms = now_ms();
                log_write(LOG_LEVEL_ERROR, TAG,
                          "%s; readings are dropped (and counted) until a write works",
                          connect_error.message);
        }
        int result = pthread_create(&history->thread, NULL, writer_main, history);
        if (result != 0) {
                ph_error_set(error, -result, "history: cannot start the writer thread: %s",
                             strerror(result));
                goto fail;
        }
        history->has_thread = true;
        return history;
fail:
        history_close(history);
        return NULL;
}

int history_append(struct history *history, const char *plugin, int64_t time_ms,
                   const struct reading_list *readings) {
        size_t capacity = history->options.queue_rows;
        size_t dropped = 0;
        bool is_new_episode = false;
        pthread_mutex_lock(&history->lock);
        for (size_t i = 0; i < readings->count; i++) {
                if (history->count == capacity) {
                        dropped = readings->count - i;
                        break;
                }
                struct history_row *row =
                        &history->queue[(history->head + history->count) % capacity];
                row->time_ms = time_ms;
                snprintf(row->plugin, sizeof(row->plugin), "%s", plugin);
                row->reading = readings->items[i];
                history->count++;
        }
        size_t accepted = readings->count - dropped;
        history->queued_total += accepted;
        history->stats.appended += accepted;
        if (dropped > 0) {
                history->stats.dropped_full += dropped;
                is_new_episode = !history->is_queue_full;
                history->is_queue_full = true;
        } else if (accepted > 0) {
                history->is_queue_full = false;
        }
        if (accepted > 0)
                pthread_cond_signal(&history->wake);
        pthread_mutex_unlock(&history->lock);
        if (is_new_episode)
                log_write(LOG_LEVEL_ERROR, TAG,
                          "%s: queue of %zu readings is full (the disk is too slow); "
                          "dropping readings until it drains",
                          history->path, capacity);
        return dropped > 0 ? -ENOBUFS : 0;
}

int history_flush(struct history *history, struct ph_error *error) {
        pthread_mutex_lock(&history->lock);
        uint64_t target = history->queued_total;
        history->flush_waiters++;
        pthread_cond_signal(&history->wake);
        while (history->done_total < target)
                pthread_cond_wait(&history->progress, &history->lock);
        history->flush_waiters--;
        int result = 0;
        if (history->stats.is_failing) {
                result = history->last_error.code != 0 ? history->last_error.code : -EIO;
                if (error != NULL)
                        *error = history->last_error;
        }
        pthread_mutex_unlock(&history->lock);
        return result;
}

static enum history_state state_of(int code) {
        switch (code) {
        case -ENOSPC:
                return HISTORY_STATE_DISK_FULL;
        case -EROFS:
        case -EACCES:
        case -EPERM:
                return HISTORY_STATE_READ_ONLY;
        default:
                return HISTORY_STATE_FAILING;
        }
}

const char *history_state_name(enum history_state state) {
        switch (state) {
        case HISTORY_STATE_OK:
                return "ok";
        case HISTORY_STATE_DISK_FULL:
                return "disk-full";
        case HISTORY_STATE_READ_ONLY:
                return "read-only";
        case HISTORY_STATE_FAILING:
                break;
        }
        return "failing";
}

bool history_stats_is_degraded(const struct history_stats *stats) {
        return stats->is_failing || stats->is_queue_full || stats->recoveries > 0;
}

void history_get_stats(struct history *history, struct history_stats *ret_stats) {
        pthread_mutex_lock(&history->lock);
        *ret_stats = history->stats;
        ret_stats->is_queue_full = history->is_queue_full;
        ret_stats->queue_rows = history->count;
        ret_stats->queue_capacity = history->options.queue_rows;
        ret_stats->state =
                history->stats.is_failing ? state_of(history->last_error.code) : HISTORY_STATE_OK;
        snprintf(ret_stats->last_error, sizeof(ret_stats->last_error), "%s",
                 history->last_error.message);
        pthread_mutex_unlock(&history->lock);
}

void history_close(struct history *history) {
        if (history == NULL)
                return;
        if (history->has_thread) {
                pthread_mutex_lock(&history->lock);
                history->is_stopping = true;
                if (history->checking_db != NULL)
                        sqlite3_interrupt(history->checking_db);
                pthread_cond_signal(&history->wake);
                pthread_mutex_unlock(&history->lock);
                pthread_join(history->thread, NULL);
        }
        disconnect(history);
        pthread_cond_destroy(&history->wake);
        pthread_cond_destroy(&history->progress);
        pthread_mutex_destroy(&history->lock);
        free(history->queue);
        free(history->batch);
        free(history);
}
