/* hw_sysfs.h - reading and writing one sysfs attribute.
 *
 * Each call opens the file (O_CLOEXEC), does one read or one write, and
 * closes it, the way the kernel expects attributes to be used. Owns
 * nothing; thread-safe (no shared state). */
#ifndef PH_HW_SYSFS_H
#define PH_HW_SYSFS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* Reads the attribute at `path` into `buf` (`size` bytes, the result
 * NUL-terminated); returns its length or -errno. `data` is unused (the
 * signature of struct hw_iio_hooks' read_attribute). Borrows every
 * pointer for the call only. */
PH_MUST_USE ssize_t hw_sysfs_read(void *data, const char *path, char *buf, size_t size);

/* Replaces the attribute's content with `text` in one write; 0 or -errno.
 * Borrows both pointers for the call only. */
PH_MUST_USE int hw_sysfs_write(const char *path, const char *text);

#endif
