#include "store/history_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ".1" ... ".999" after the time: more damaged databases than that within
 * one second is not a storage problem we can help with. */
#define ASIDE_COUNTER_MAX 999

bool history_file_is_damaged(int sqlite_code) {
        int primary = sqlite_code & 0xff;
        return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

/* Whether a file of that name exists (or might: any answer but ENOENT
 * counts as taken). */
static bool is_taken(const char *path, const char *suffix) {
        char name[PATH_MAX];
        int length = snprintf(name, sizeof(name), "%s%s", path, suffix);
        if (length < 0 || (size_t)length >= sizeof(name))
                return true;
        struct stat info;
        return lstat(name, &info) == 0 || errno != ENOENT;
}

/* Renames `from` to `to` unless `to` exists. Returns 0 or -errno. */
static int rename_without_replacing(const char *from, const char *to) {
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
                return -errno;
        /* The file system cannot refuse to replace in a rename: a second
         * name (which link refuses to replace), then the first one goes. */
        if (link(from, to) != 0)
                return -errno;
        if (unlink(from) != 0) {
                int result = -errno;
                if (unlink(to) != 0) {
                        /* Two names for one file: nothing is lost. */
                }
                return result;
        }
        return 0;
}

int history_file_move_aside(const char *path, time_t when, char *ret_aside, size_t size,
                            struct ph_error *error) {
        struct tm utc;
        char stamp[32];
        if (gmtime_r(&when, &utc) == NULL ||
            strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc) == 0)
                return ph_error_set(error, -EINVAL, "%s: cannot format the time %lld", path,
                                    (long long)when);
        char aside[PATH_MAX];
        bool is_free = false;
        for (unsigned counter = 0; !is_free && counter <= ASIDE_COUNTER_MAX; counter++) {
                int length = counter == 0 ? snprintf(aside, sizeof(aside), "%s%s%s", path,
                                                     HISTORY_FILE_ASIDE_INFIX, stamp)
                                          : snprintf(aside, sizeof(aside), "%s%s%s.%u", path,
                                                     HISTORY_FILE_ASIDE_INFIX, stamp, counter);
                if (length < 0 || (size_t)length + sizeof("-wal") > sizeof(aside) ||
                    (size_t)length >= size)
                        return ph_error_set(error, -ENAMETOOLONG,
                                            "%s: the name to move it aside to is too long", path);
                is_free = !is_taken(aside, "") && !is_taken(aside, "-wal") &&
                          !is_taken(aside, "-shm");
        }
        if (!is_free)
                return ph_error_set(error, -EEXIST,
                                    "%s: every name to move it aside to (%s%s...) is taken", path,
                                    HISTORY_FILE_ASIDE_INFIX, stamp);
        /* The log first (see the header), the database last. */
        static const char *const suffixes[] = {"-wal", "-shm", ""};
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                char from[PATH_MAX + 8], to[PATH_MAX + 8];
                snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
                snprintf(to, sizeof(to), "%s%s", aside, suffixes[i]);
                int result = rename_without_replacing(from, to);
                if (result == -ENOENT && suffixes[i][0] != '\0')
                        continue; /* no log or no shared memory: nothing to take along */
                if (result < 0)
                        return ph_error_set(error, result, "%s: cannot move it aside to %s: %s",
                                            from, to, strerror(-result));
        }
        snprintf(ret_aside, size, "%s", aside);
        return 0;
}

int history_file_errno(int sqlite_code) {

        switch (sqlite_code & 0xff) {
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_PERM:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        default:
                return -EIO;
        }
}

/* --- the check ------------------------------------------------------------ */

struct watch {
        pthread_mutex_t lock;
        pthread_cond_t done_changed; /* CLOCK_MONOTONIC */
        bool is_done;                /* guarded by `lock` */
        struct timespec end;         /* when the time is up; constant */
        struct timespec next;        /* the watcher's next interrupt */
        sqlite3 *db;
};

/* Interrupts the check when its time is up, and again every 10 ms until
 * it ends: an interrupt that comes before the statement starts is
 * forgotten by SQLite. */
static void *watch_main(void *data) {
        struct watch *watch = data;
        pthread_mutex_lock(&watch->lock);
        while (!watch->is_done) {
                if (pthread_cond_timedwait(&watch->done_changed, &watch->lock, &watch->next) !=
                    ETIMEDOUT)
                        continue;
                if (watch->is_done)
                        break;
                sqlite3_interrupt(watch->db);
                watch->next.tv_nsec += 10000000L;
                if (watch->next.tv_nsec >= 1000000000L) {
                        watch->next.tv_sec++;
                        watch->next.tv_nsec -= 1000000000L;
                }
        }
        pthread_mutex_unlock(&watch->lock);
        return NULL;
}

/* SQLite calls this between the statement's steps (not during the check
 * itself, which only the watcher can interrupt): a time already up when
 * the statement starts stops it at once. */
static int on_progress(void *data) {
        const struct watch *watch = data;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return now.tv_sec > watch->end.tv_sec ||
               (now.tv_sec == watch->end.tv_sec && now.tv_nsec >= watch->end.tv_nsec);
}

enum history_check history_file_check(sqlite3 *db, const char *path, unsigned budget_ms,
                                      struct ph_error *error) {
        struct watch watch = {.db = db};
        pthread_mutex_init(&watch.lock, NULL);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&watch.done_changed, &attributes);
        pthread_condattr_destroy(&attributes);
        clock_gettime(CLOCK_MONOTONIC, &watch.end);
        watch.end.tv_sec += (time_t)(budget_ms / 1000);
        watch.end.tv_nsec += (long)(budget_ms % 1000) * 1000000L;
        if (watch.end.tv_nsec >= 1000000000L) {
                watch.end.tv_sec++;
                watch.end.tv_nsec -= 1000000000L;
        }
        watch.next = watch.end;
        pthread_t watcher;
        int started = pthread_create(&watcher, NULL, watch_main, &watch);

        enum history_check verdict = HISTORY_CHECK_FAILED;
        sqlite3_stmt *check = NULL;
        int code = started != 0 ? SQLITE_NOMEM
                                : sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &check, NULL);
        if (code == SQLITE_OK) {
                sqlite3_progress_handler(db, 1, on_progress, &watch);
                code = sqlite3_step(check);
                sqlite3_progress_handler(db, 0, NULL, NULL);
        }
        if (code == SQLITE_ROW) {
                const char *text = (const char *)sqlite3_column_text(check, 0);
                if (text != NULL && strcmp(text, "ok") == 0) {
                        verdict = HISTORY_CHECK_OK;
                } else {
                        verdict = HISTORY_CHECK_DAMAGED;
                        ph_error_set(error, -EUCLEAN, "%s: quick_check: %s", path,
                                     text != NULL ? text : "no answer");
                }
        } else if (started != 0) {
                ph_error_set(error, -started, "%s: cannot start the check's timer: %s", path,
                             strerror(started));
        } else if ((code & 0xff) == SQLITE_INTERRUPT) {
                verdict = HISTORY_CHECK_UNFINISHED;
        } else {
                verdict = history_file_is_damaged(code) ? HISTORY_CHECK_DAMAGED
                                                        : HISTORY_CHECK_FAILED;
                ph_error_set(error, history_file_errno(code), "%s: quick_check: %s", path,
                             sqlite3_errmsg(db));
        }
        sqlite3_finalize(check);
        if (started == 0) {
                pthread_mutex_lock(&watch.lock);
                watch.is_done = true;
                pthread_cond_signal(&watch.done_changed);
                pthread_mutex_unlock(&watch.lock);
                pthread_join(watcher, NULL);
        }
        pthread_cond_destroy(&watch.done_changed);
        pthread_mutex_destroy(&watch.lock);
        return verdict;
}
