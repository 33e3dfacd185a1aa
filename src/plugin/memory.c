#include "plugin/memory.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A 32-bit memory never exceeds 4 GiB; reserving that much address space
 * (not memory) means growth never has to move it. A 32-bit host has only
 * 3 GiB of address space in all: there, reserve 256 MiB; growth beyond
 * it fails like any other out-of-memory growth. */
#if SIZE_MAX > UINT32_MAX
#define DEFAULT_RESERVATION ((size_t)UINT64_C(4) << 30)
#else
#define DEFAULT_RESERVATION ((size_t)256 << 20)
#endif

static _Thread_local struct memory_meter *current_meter;

struct tracked_memory {
        uint8_t *base;
        size_t size;                /* committed, readable and writable */
        size_t reservation;         /* the most it can grow to without moving */
        size_t mapping;             /* reservation plus guard pages */
        struct memory_meter *meter; /* NULL for memories made outside an instance */
};

void memory_set_current_meter(struct memory_meter *meter) {
        current_meter = meter;
}

static void charge(struct memory_meter *meter, size_t bytes) {
        if (meter == NULL)
                return;
        size_t now = atomic_fetch_add(&meter->bytes, bytes) + bytes;
        size_t high = atomic_load(&meter->high_water);
        while (now > high && !atomic_compare_exchange_weak(&meter->high_water, &high, now)) {
        }
}

static uint8_t *get_memory(void *env, size_t *ret_size, size_t *ret_capacity) {
        struct tracked_memory *memory = env;
        *ret_size = memory->size;
        *ret_capacity = memory->reservation;
        return memory->base;
}

static wasmtime_error_t *grow_memory(void *env, size_t new_size) {
        struct tracked_memory *memory = env;
        if (new_size <= memory->size)
                return NULL;
        size_t delta = new_size - memory->size;
        if (new_size > memory->reservation)
                return wasmtime_error_new("linear memory cannot grow past its reservation");
        struct memory_meter *meter = memory->meter;
        if (meter != NULL && meter->limit > 0 &&
            atomic_load(&meter->bytes) + delta > meter->limit) {
                atomic_store(&meter->is_limit_hit, true);
                return wasmtime_error_new("plugin memory limit reached");
        }
        if (mprotect(memory->base + memory->size, delta, PROT_READ | PROT_WRITE) != 0)
                return wasmtime_error_new("out of memory growing a linear memory");
        memory->size = new_size;
        charge(meter, delta);
        return NULL;
}

static void free_memory(void *env) {
        struct tracked_memory *memory = env;
        if (memory->meter != NULL)
                atomic_fetch_sub(&memory->meter->bytes, memory->size);
        munmap(memory->base, memory->mapping);
        free(memory);
}

static wasmtime_error_t *new_memory(void *env, const wasm_memorytype_t *type, size_t minimum,
                                    size_t maximum, size_t reserved_size, size_t guard_size,
                                    wasmtime_linear_memory_t *ret_memory) {
        (void)env;
        (void)type;
        struct tracked_memory *memory = calloc(1, sizeof(*memory));
        if (memory == NULL)
                return wasmtime_error_new("out of memory");
        memory->reservation = reserved_size > 0               ? reserved_size
                              : maximum < DEFAULT_RESERVATION ? maximum
                                                              : DEFAULT_RESERVATION;
        if (memory->reservation < minimum)
                memory->reservation = minimum;
        memory->mapping = memory->reservation + guard_size;
        void *base = mmap(NULL, memory->mapping, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) {
                free(memory);
                return wasmtime_error_new("cannot reserve address space for a linear memory");
        }
        memory->base = base;
        memory->meter = current_meter;
        if (memory->meter != NULL && memory->meter->limit > 0 &&
            atomic_load(&memory->meter->bytes) + minimum > memory->meter->limit) {
                atomic_store(&memory->meter->is_limit_hit, true);
                munmap(base, memory->mapping);
                free(memory);
                return wasmtime_error_new("plugin memory limit reached at instantiation");
        }
        if (minimum > 0 && mprotect(base, minimum, PROT_READ | PROT_WRITE) != 0) {
                munmap(base, memory->mapping);
                free(memory);
                return wasmtime_error_new("out of memory creating a linear memory");
        }
        memory->size = minimum;
        charge(memory->meter, minimum);
        ret_memory->env = memory;
        ret_memory->get_memory = get_memory;
        ret_memory->grow_memory = grow_memory;
        ret_memory->finalizer = free_memory;
        return NULL;
}

void memory_install_creator(wasm_config_t *config) {
        wasmtime_memory_creator_t creator = {
                .env = NULL,
                .new_memory = new_memory,
                .finalizer = NULL,
        };
        wasmtime_config_host_memory_creator_set(config, &creator);
}
