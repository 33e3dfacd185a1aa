/* fault.h - the failing allocator of the fault-injection build.
 *
 * Only in the build made with -DPYHOST_FAULT_INJECT=ON (`make
 * test-alloc-failures`), where every pyhost source is compiled with
 * `-include src/core/fault.h`: malloc, calloc, realloc, strdup and strndup
 * become counting wrappers, and fault.c points jansson's and SQLite's
 * allocators at the same counter. PYHOST_FAIL_ALLOC=N makes the Nth counted
 * allocation (from 1, across all threads) return NULL; PYHOST_FAIL_ALLOC=0
 * counts only. With PYHOST_FAIL_ALLOC_AFTER=1 every later one fails too.
 * When PYHOST_FAIL_ALLOC is set, the failing site is named on stderr and
 * the count is printed at exit ("pyhost fault: ..."). Wasmtime's own (Rust)
 * allocations are never counted: Rust aborts when an allocation fails.
 * Thread-safe: the counter is atomic. What the wrappers return is freed
 * with free() as usual. */
#ifndef PH_FAULT_H
#define PH_FAULT_H

/* The real declarations first, so that later includes of these headers
 * (guarded) do not meet the macros below. */
#include <stdlib.h>
#include <string.h>

void *fault_malloc(size_t size);
void *fault_calloc(size_t count, size_t size);
void *fault_realloc(void *pointer, size_t size);
char *fault_strdup(const char *text);
char *fault_strndup(const char *text, size_t size);

#define malloc(size) fault_malloc(size)
#define calloc(count, size) fault_calloc(count, size)
#define realloc(pointer, size) fault_realloc(pointer, size)
#define strdup(text) fault_strdup(text)
#define strndup(text, size) fault_strndup(text, size)

#endif
