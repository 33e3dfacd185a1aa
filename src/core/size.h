/* size.h - byte counts that stay right where size_t is 32 bits (armv7).
 *
 * Owns nothing; header-only, thread-safe. */
#ifndef PH_SIZE_H
#define PH_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* `mib` MiB in bytes, or SIZE_MAX when that does not fit in a size_t (a
 * limit that large means "no limit" on a 32-bit machine anyway). */
static inline size_t size_from_mib(uint32_t mib) {
        uint64_t bytes = (uint64_t)mib << 20;
        return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

#endif
