/* Unit tests of pyhost's Wasmtime extension (wasmtime/memory_limiter.rs,
 * wasmtime/pyhost_memory_limiter.h) on a real engine with copy-on-write
 * memory images on (Wasmtime's default): the cap holds over all memories of
 * a store together, and the counts match growth by known amounts. These
 * are also the runtime check of the extension's assumptions about
 * Wasmtime's types (pinned to 48.0.8): a broken assumption fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <wasmtime.h>

#include "pyhost_memory_limiter.h"

#define PAGE ((size_t)65536)

/* (module (memory 2) (memory 2) (data (memory 0) (i32.const 0) "pyhost")
 *   (func (export "grow_a") (param i32) (result i32) local.get 0 memory.grow 0)
 *   (func (export "grow_b") (param i32) (result i32) local.get 0 memory.grow 1)) */
static const uint8_t two_memories[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                   /* header */
        0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,                   /* types */
        0x03, 0x03, 0x02, 0x00, 0x00,                                     /* functions */
        0x05, 0x05, 0x02, 0x00, 0x02, 0x00, 0x02,                         /* memories */
        0x07, 0x13, 0x02, 0x06, 'g',  'r',  'o',  'w',  '_',  'a',  0x00, /* exports */
        0x00, 0x06, 'g',  'r',  'o',  'w',  '_',  'b',  0x00, 0x01,       /* */
        0x0a, 0x0f, 0x02, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b,       /* code */
        0x06, 0x00, 0x20, 0x00, 0x40, 0x01, 0x0b,                         /* */
        0x0b, 0x0c, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x06, 'p',  'y',  'h',  'o', 's', 't', /* data */
};

struct fixture {
        wasm_engine_t *engine;
        wasmtime_module_t *module;
        wasmtime_store_t *store;
        wasmtime_instance_t instance;
        const pyhost_memory_limiter_t *limiter;
};

/* Instantiates the module in a store limited to `cap` bytes; returns
 * whether instantiation succeeded. */
static bool start(struct fixture *fixture, size_t cap) {
        memset(fixture, 0, sizeof(*fixture));
        fixture->engine = wasm_engine_new(); /* copy-on-write images on by default */
        assert_non_null(fixture->engine);
        wasmtime_error_t *error = wasmtime_module_new(fixture->engine, two_memories,
                                                      sizeof(two_memories), &fixture->module);
        assert_null(error);
        fixture->store = wasmtime_store_new(fixture->engine, NULL, NULL);
        fixture->limiter = pyhost_memory_limiter_new(cap, 1000, 10, 10, 10);
        pyhost_store_set_memory_limiter(fixture->store, fixture->limiter);
        wasm_trap_t *trap = NULL;
        error = wasmtime_instance_new(wasmtime_store_context(fixture->store), fixture->module, NULL,
                                      0, &fixture->instance, &trap);
        assert_null(trap);
        if (error != NULL) {
                wasmtime_error_delete(error);
                return false;
        }
        return true;
}

static void stop(struct fixture *fixture) {
        wasmtime_store_delete(fixture->store);
        pyhost_memory_limiter_delete(fixture->limiter);
        wasmtime_module_delete(fixture->module);
        wasm_engine_delete(fixture->engine);
}

/* Calls grow_a or grow_b with `pages`; returns what memory.grow returned. */
static int32_t grow(struct fixture *fixture, const char *export, int32_t pages) {
        wasmtime_context_t *context = wasmtime_store_context(fixture->store);
        wasmtime_extern_t item;
        assert_true(wasmtime_instance_export_get(context, &fixture->instance, export,
                                                 strlen(export), &item));
        assert_int_equal(item.kind, WASMTIME_EXTERN_FUNC);
        wasmtime_val_t argument = {.kind = WASMTIME_I32, .of.i32 = pages};
        wasmtime_val_t result = {.kind = WASMTIME_I32, .of.i32 = 0};
        wasm_trap_t *trap = NULL;
        wasmtime_error_t *error =
                wasmtime_func_call(context, &item.of.func, &argument, 1, &result, 1, &trap);
        assert_null(error);
        assert_null(trap);
        return result.of.i32;
}

static void test_the_counts_match_known_growth(void **state) {
        (void)state;
        struct fixture fixture;
        assert_true(start(&fixture, 0));
        /* Both initial memories count from instantiation on. */
        assert_int_equal(pyhost_memory_limiter_bytes(fixture.limiter), 4 * PAGE);
        assert_int_equal(grow(&fixture, "grow_a", 3), 2);
        assert_int_equal(grow(&fixture, "grow_b", 5), 2);
        assert_int_equal(pyhost_memory_limiter_bytes(fixture.limiter), 12 * PAGE);
        assert_int_equal(pyhost_memory_limiter_high_water(fixture.limiter), 12 * PAGE);
        assert_false(pyhost_memory_limiter_take_limit_hit(fixture.limiter));
        stop(&fixture);
}

static void test_the_cap_holds_over_all_memories_together(void **state) {
        (void)state;
        struct fixture fixture;
        assert_true(start(&fixture, 6 * PAGE));
        assert_int_equal(grow(&fixture, "grow_a", 1), 2);
        assert_int_equal(grow(&fixture, "grow_b", 1), 2);
        /* Each memory has 3 pages, well under the cap of 6 alone: together
         * they are at it, so one more page anywhere is refused. */
        assert_int_equal(grow(&fixture, "grow_b", 1), -1);
        assert_int_equal(grow(&fixture, "grow_a", 1), -1);
        assert_true(pyhost_memory_limiter_take_limit_hit(fixture.limiter));
        assert_false(pyhost_memory_limiter_take_limit_hit(fixture.limiter));
        assert_int_equal(pyhost_memory_limiter_bytes(fixture.limiter), 6 * PAGE);
        assert_int_equal(pyhost_memory_limiter_high_water(fixture.limiter), 6 * PAGE);
        /* A growth of nothing is no growth. */
        assert_int_equal(grow(&fixture, "grow_a", 0), 3);
        stop(&fixture);
}

static void test_the_cap_holds_at_instantiation(void **state) {
        (void)state;
        struct fixture fixture;
        assert_false(start(&fixture, 3 * PAGE));
        assert_true(pyhost_memory_limiter_take_limit_hit(fixture.limiter));
        stop(&fixture);
}

static void test_the_limiter_outlives_the_callers_reference(void **state) {
        (void)state;
        struct fixture fixture;
        assert_true(start(&fixture, 8 * PAGE));
        /* The store keeps a reference of its own: the hook stays valid. */
        pyhost_memory_limiter_delete(fixture.limiter);
        fixture.limiter = NULL;
        assert_int_equal(grow(&fixture, "grow_a", 4), 2);
        assert_int_equal(grow(&fixture, "grow_a", 1), -1);
        stop(&fixture);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_counts_match_known_growth),
                cmocka_unit_test(test_the_cap_holds_over_all_memories_together),
                cmocka_unit_test(test_the_cap_holds_at_instantiation),
                cmocka_unit_test(test_the_limiter_outlives_the_callers_reference),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
