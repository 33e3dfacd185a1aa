/* history_query.c - the read side of history.h: history_query_json, which
 * opens its own read-only connection for each call, and the parsers of the
 * `history` command's arguments. Any thread. */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/history.h"
#include "store/history_file.h"

static int set_sqlite_error(struct ph_error *error, sqlite3 *db, int code, const char *path,
                            const char *doing) {
        const char *message = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(code);
        return ph_error_set(error, history_file_errno(code), "%s: %s: %s", path, doing, message);
}

static json_t *row_to_json(sqlite3_stmt *select) {
        json_t *row = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "id",
                                (json_int_t)sqlite3_column_int64(select, 0), "time_ms",
                                (json_int_t)sqlite3_column_int64(select, 1), "plugin",
                                (const char *)sqlite3_column_text(select, 2), "sensor",
                                (const char *)sqlite3_column_text(select, 3), "quantity",
                                (const char *)sqlite3_column_text(select, 4), "unit",
                                (const char *)sqlite3_column_text(select, 6), "status",
                                (const char *)sqlite3_column_text(select, 7));
        if (row == NULL)
                return NULL;
        int failed;
        if (sqlite3_column_type(select, 5) == SQLITE_NULL) {
                failed = json_object_set_new(row, "value", json_null());
                failed |= json_object_set_new(row, "valid", json_false());
        } else {
                failed = json_object_set_new(row, "value",
                                             json_real(sqlite3_column_double(select, 5)));
        }
        if (failed) {
                json_decref(row);
                return NULL;
        }
        return row;
}

json_t *history_query_json(const char *path, const struct history_query *query,
                           struct ph_error *error) {
        sqlite3 *db = NULL;
        sqlite3_stmt *select = NULL;
        json_t *rows = NULL;
#if SIZE_MAX > INT64_MAX /* a 32-bit size_t always fits SQLite's int64 */
        if (query->limit > INT64_MAX) {
                ph_error_set(error, -EINVAL, "history: limit is too large");
                return NULL;
        }
#endif
        int code = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (code != SQLITE_OK) {
                set_sqlite_error(error, db, code, path, "cannot open");
                goto done;
        }
        sqlite3_busy_timeout(db, 2000);
        /* The newest `limit` rows, returned oldest first. */
        code = sqlite3_prepare_v2(db,
                                  "SELECT * FROM (SELECT id, time_ms, plugin, sensor, quantity,"
                                  " value, unit, status FROM readings"
                                  " WHERE time_ms >= ?1 AND (?2 IS NULL OR sensor = ?2)"
                                  " ORDER BY time_ms DESC, id DESC LIMIT ?3)"
                                  " ORDER BY time_ms, id",
                                  -1, &select, NULL);
        if (code != SQLITE_OK) {
                set_sqlite_error(error, db, code, path, "cannot query");
                goto done;
        }
        sqlite3_bind_int64(select, 1, query->since_ms);
        if (query->sensor != NULL)
                sqlite3_bind_text(select, 2, query->sensor, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(select, 2);
        sqlite3_bind_int64(select, 3, query->limit > 0 ? (sqlite3_int64)query->limit : -1);
        rows = json_array();
        if (rows == NULL) {
                ph_error_set(error, -ENOMEM, "history: out of memory");
                goto done;
        }
        while ((code = sqlite3_step(select)) == SQLITE_ROW) {
                json_t *row = row_to_json(select);
                if (row == NULL || json_array_append_new(rows, row) < 0) {
                        ph_error_set(error, -ENOMEM, "history: out of memory");
                        json_decref(rows);
                        rows = NULL;
                        goto done;
                }
        }
        if (code != SQLITE_DONE) {
                set_sqlite_error(error, db, code, path, "cannot query");
                json_decref(rows);
                rows = NULL;
        }
done:
        sqlite3_finalize(select);
        sqlite3_close(db);
        return rows;
}

int history_parse_since(const char *text, int64_t now, int64_t *ret_since_ms) {
        char *end = NULL;
        errno = 0;
        if (text[0] == '-' || text[0] == '\0')
                return -EINVAL;
        double number = strtod(text, &end);
        if (errno != 0 || end == text || !isfinite(number) || number < 0)
                return -EINVAL;
        double unit_ms;
        if (*end == '\0') {
                if (number > 9.2e18)
                        return -EINVAL;
                *ret_since_ms = (int64_t)number;
                return 0;
        }
        switch (*end) {
        case 's':
                unit_ms = 1e3;
                break;
        case 'm':
                unit_ms = 60e3;
                break;
        case 'h':
                unit_ms = 3600e3;
                break;
        case 'd':
                unit_ms = 86400e3;
                break;
        default:
                return -EINVAL;
        }
        if (end[1] != '\0' || number * unit_ms > 9.2e18)
                return -EINVAL;
        *ret_since_ms = now - (int64_t)(number * unit_ms);
        return 0;
}

int history_sync_parse(const char *text, enum history_sync *ret_sync) {
        if (strcmp(text, "normal") == 0)
                *ret_sync = HISTORY_SYNC_NORMAL;
        else if (strcmp(text, "full") == 0)
                *ret_sync = HISTORY_SYNC_FULL;
        else
                return -EINVAL;
        return 0;
}
