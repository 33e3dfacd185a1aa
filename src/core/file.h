/* file.h - reading whole files with a size limit.
 * Thread-safe (no shared state). */
#ifndef PH_FILE_H
#define PH_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/error.h"

/* Reads the regular file at `path` into a new buffer. Refuses anything that
 * is not a regular file (a FIFO, a device such as /dev/zero) and files
 * larger than `max_size`, so a hostile path cannot make the host read
 * forever. On success the caller owns *ret_data and frees it with free(). */
PH_MUST_USE int file_read_all(const char *path, size_t max_size, uint8_t **ret_data,
                              size_t *ret_size, struct ph_error *error);

/* Creates `path` and any missing parents with `mode` (like mkdir -p).
 * Succeeds when the directory already exists. */
PH_MUST_USE int file_make_directories(const char *path, unsigned mode, struct ph_error *error);

/* Replaces `path` with `size` bytes atomically: writes a temporary file in
 * the same directory, fsyncs it and renames it over `path`, so a reader (or
 * a crash) sees the old content or the new, never a mix. */
PH_MUST_USE int file_write_atomic(const char *path, const void *data, size_t size,
                                  struct ph_error *error);

/* What identifies a file's content without reading it: the seed's
 * modification-time check, made robust with size, inode and ctime (a
 * rename over the file changes the inode even when mtime is preserved). */
struct file_identity {
        uint64_t device;
        uint64_t inode;
        int64_t size;
        int64_t mtime_ns;
        int64_t ctime_ns;
};

PH_MUST_USE int file_get_identity(const char *path, struct file_identity *ret_identity,
                                  struct ph_error *error);

/* The identity of a file already stat()ed. */
void file_identity_from_stat(const struct stat *info, struct file_identity *ret_identity);
bool file_identity_equal(const struct file_identity *a, const struct file_identity *b);

#endif
