/* memory.h - linear memories made by the host, so that each plugin's
 * memory is measured and capped.
 *
 * Wasmtime lets the embedder allocate linear memories (a "memory
 * creator"). Ours reserves address space once (so a memory never moves),
 * commits pages as the guest grows, and charges every byte to the meter of
 * the instance being created: that gives each plugin a live size, a
 * high-water mark and a cap over all its memories together. A growth past
 * the cap fails the guest's memory.grow (it sees an ordinary allocation
 * failure, a MemoryError in Python) and marks the meter.
 *
 * Threads: memories are created on the thread that instantiates (the
 * meter is passed through a thread-local); a meter is updated by the
 * thread calling into its instance and read by others: its fields are
 * atomic. */
#ifndef PH_PLUGIN_MEMORY_H
#define PH_PLUGIN_MEMORY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "plugin/internal.h"

struct memory_meter {
        atomic_size_t bytes;      /* committed now, all memories together */
        atomic_size_t high_water; /* the most ever committed at once */
        size_t limit;             /* 0: no limit */
        atomic_bool is_limit_hit; /* a growth was refused since last cleared */
};

/* Makes the engine configuration create linear memories through this
 * module. Call once per engine configuration. */
void memory_install_creator(wasm_config_t *config);

/* Memories created on this thread until memory_set_current_meter(NULL) are
 * charged to `meter` (borrowed; it must outlive them). */
void memory_set_current_meter(struct memory_meter *meter);

#endif
