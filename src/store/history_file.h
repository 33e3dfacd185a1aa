/* history_file.h - the history database as a file: is it damaged, and
 * moving a damaged one aside so that a fresh one can take its place.
 *
 * Owns no state. history.c's writer thread calls these with its own
 * connection; the tests call history_file_move_aside directly. Any thread. Never deletes
 * or overwrites a file: a damaged database is renamed, with its -wal and
 * -shm, to a new name that says when (UTC). */
#ifndef PH_HISTORY_FILE_H
#define PH_HISTORY_FILE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/error.h"

/* What comes after the database's name in a moved-aside name:
 * "history.db" -> "history.db.corrupt-20261125T101500Z" (then ".1", ".2",
 * ... when that is taken). */
#define HISTORY_FILE_ASIDE_INFIX ".corrupt-"

/* Whether a SQLite result code (plain or extended) says the file is not a
 * database or is damaged: SQLITE_CORRUPT, SQLITE_NOTADB. */
bool history_file_is_damaged(int sqlite_code);

/* The negative errno-style code for a SQLite result code: -ENOSPC for
 * SQLITE_FULL, -EROFS for SQLITE_READONLY, -EUCLEAN for a damaged file,
 * ... and -EIO for the rest. */
int history_file_errno(int sqlite_code);

/* Renames `path`-wal, `path`-shm (those that exist) and then `path` to
 * ASIDE-wal, ASIDE-shm and ASIDE, where ASIDE is `path` +
 * ".corrupt-YYYYMMDDTHHMMSSZ" for `when` (UTC), with ".N" added when a file
 * of that name (or its -wal or -shm) exists. No file is ever replaced
 * (renameat2 RENAME_NOREPLACE, or link + unlink where the file system lacks
 * it). The log goes first: should the move stop half-way, the database is
 * left without its log (still damaged, moved at the next attempt), never a
 * fresh database with an old log. The database must be closed by this
 * process. Puts ASIDE in `ret_aside` (`size` bytes) and returns 0; on
 * failure returns a negative code with `error` naming the file. */
PH_MUST_USE int history_file_move_aside(const char *path, time_t when, char *ret_aside, size_t size,
                                        struct ph_error *error);

enum history_check {
        HISTORY_CHECK_OK,
        HISTORY_CHECK_DAMAGED,    /* `error` says what quick_check found */
        HISTORY_CHECK_UNFINISHED, /* ran out of time or was stopped */
        HISTORY_CHECK_FAILED,     /* could not run (I/O error, ...): `error` */
};

/* Runs PRAGMA quick_check(1) on `db` (borrowed; called on the thread that
 * uses it) for at most `budget_ms`: a helper thread interrupts it then
 * (sqlite3_interrupt), as may any other thread. `path` names the file in
 * the error. */
enum history_check history_file_check(sqlite3 *db, const char *path, unsigned budget_ms,
                                      struct ph_error *error);

#endif
