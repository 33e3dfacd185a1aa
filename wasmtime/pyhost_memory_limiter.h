/* pyhost_memory_limiter.h - pyhost's extension to Wasmtime's C API
 * (wasmtime/memory_limiter.rs): a store limiter that caps all linear
 * memories of a store together and counts them.
 *
 * What the figures count: bytes of linear memory the plugin can address
 * (its Wasm pages x 64 KiB, all memories of the store together), as granted
 * to it, including the initial size at instantiation. Not private RAM: with
 * copy-on-write memory images, image pages the plugin never wrote are
 * shared. Memories never shrink while their store lives.
 *
 * Threads: the store's thread updates the counters while it runs the
 * plugin; any thread may read them.
 *
 * Built against Wasmtime 48.0.8 exactly: the extension relies on the C
 * API's store layout, so this header refuses any other version. */
#ifndef PYHOST_MEMORY_LIMITER_H
#define PYHOST_MEMORY_LIMITER_H

#include <stdbool.h>
#include <stddef.h>

#include <wasmtime.h>

_Static_assert(WASMTIME_VERSION_MAJOR == 48 && WASMTIME_VERSION_MINOR == 0 &&
                       WASMTIME_VERSION_PATCH == 8,
               "pyhost_memory_limiter is pinned to Wasmtime 48.0.8: re-check memory_limiter.rs");

typedef struct pyhost_memory_limiter_t pyhost_memory_limiter_t;

/* A limiter: `memory_cap` bytes over all memories together (0: none), and
 * the same per-store bounds as wasmtime_store_limiter for tables and
 * counts. Never NULL (aborts on out of memory, as Rust does). The caller
 * releases its reference with pyhost_memory_limiter_delete. */
const pyhost_memory_limiter_t *pyhost_memory_limiter_new(size_t memory_cap, size_t table_elements,
                                                         size_t instances, size_t tables,
                                                         size_t memories);

/* Releases the caller's reference; a store keeps its own. Accepts NULL. */
void pyhost_memory_limiter_delete(const pyhost_memory_limiter_t *limiter);

/* Makes `store` ask `limiter` before creating or growing memories and
 * tables. The store takes a reference of its own. Call before
 * instantiating. */
void pyhost_store_set_memory_limiter(wasmtime_store_t *store,
                                     const pyhost_memory_limiter_t *limiter);

/* Bytes granted now, all memories together. */
size_t pyhost_memory_limiter_bytes(const pyhost_memory_limiter_t *limiter);

/* The most granted at once. */
size_t pyhost_memory_limiter_high_water(const pyhost_memory_limiter_t *limiter);

/* Whether a growth was refused by the cap since the last call; clears it. */
bool pyhost_memory_limiter_take_limit_hit(const pyhost_memory_limiter_t *limiter);

#endif
