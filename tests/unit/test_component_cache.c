/* Unit tests of src/plugin/component_cache.c, with a real Wasmtime engine
 * (plugin_engine_new) and the smallest component there is: an entry is
 * written on the first load and used on the next; an entry whose bytes no
 * longer match its .sha256 (tampered, torn) is refused, and so is one
 * compiled by an engine of other settings (foreign), both recompiled and
 * rewritten rather than loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "core/file.h"
#include "plugin/internal.h"

/* `(component)`: the magic, the component-model version and layer. */
static const uint8_t empty_component[] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};

struct fixture {
        char directory[64];
        struct plugin_engine *engine;
        struct digest digest;
        char entry_path[PATH_MAX + 80];
        char record_path[PATH_MAX + 80];
};

static int setup(void **state) {
        struct fixture *fixture = calloc(1, sizeof(*fixture));
        assert_non_null(fixture);
        snprintf(fixture->directory, sizeof(fixture->directory), "%s",
                 "/tmp/pyhost-test-cache-XXXXXX");
        assert_non_null(mkdtemp(fixture->directory));
        struct ph_error error = {0};
        fixture->engine = plugin_engine_new(fixture->directory, &error);
        if (fixture->engine == NULL)
                fail_msg("plugin_engine_new: %s", error.message);
        assert_true(fixture->engine->cache_dir[0] != '\0');
        assert_int_equal(digest_compute(empty_component, sizeof(empty_component), &fixture->digest),
                         0);
        char hex[DIGEST_HEX_SIZE];
        digest_to_hex(&fixture->digest, hex);
        snprintf(fixture->entry_path, sizeof(fixture->entry_path), "%s/%s.cwasm",
                 fixture->engine->cache_dir, hex);
        snprintf(fixture->record_path, sizeof(fixture->record_path), "%s/%s.sha256",
                 fixture->engine->cache_dir, hex);
        *state = fixture;
        return 0;
}

static void remove_tree(const char *path) {
        DIR *directory = opendir(path);
        struct dirent *entry;
        while (directory != NULL && (entry = readdir(directory)) != NULL) {
                if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                        continue;
                char child[PATH_MAX];
                snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
                if (entry->d_type == DT_DIR)
                        remove_tree(child);
                else
                        unlink(child);
        }
        if (directory != NULL)
                closedir(directory);
        rmdir(path);
}

static int teardown(void **state) {
        struct fixture *fixture = *state;
        plugin_engine_free(fixture->engine);
        remove_tree(fixture->directory);
        free(fixture);
        return 0;
}

/* component_cache_get of the empty component; returns what it logged
 * (in `capture`). Fails the test unless a component comes back. */
static const char *get(struct fixture *fixture, struct capture *capture) {
        uint8_t *bytes = malloc(sizeof(empty_component));
        assert_non_null(bytes);
        memcpy(bytes, empty_component, sizeof(empty_component));
        wasmtime_component_t *component = NULL;
        struct ph_error error = {0};
        capture_start(capture);
        int result = component_cache_get(fixture->engine, bytes, sizeof(empty_component),
                                         &fixture->digest, "empty.wasm", NULL, &component, &error);
        const char *log = capture_stop(capture);
        if (result != 0)
                fail_msg("component_cache_get: %s", error.message);
        assert_non_null(component);
        wasmtime_component_delete(component);
        return log;
}

static uint8_t *read_file(const char *path, size_t *ret_size) {
        uint8_t *bytes = NULL;
        struct ph_error error = {0};
        if (file_read_all(path, 64u * 1024u * 1024u, &bytes, ret_size, &error) < 0)
                fail_msg("%s", error.message);
        return bytes;
}

static void write_file(const char *path, const void *bytes, size_t size) {
        FILE *file = fopen(path, "wb");
        assert_non_null(file);
        assert_int_equal(fwrite(bytes, 1, size, file), size);
        assert_int_equal(fclose(file), 0);
}

static void test_an_entry_is_written_then_used(void **state) {
        struct fixture *fixture = *state;
        struct capture capture;
        const char *log = get(fixture, &capture);
        assert_non_null(strstr(log, "compiling empty.wasm"));
        assert_int_equal(access(fixture->entry_path, R_OK), 0);
        assert_int_equal(access(fixture->record_path, R_OK), 0);
        log = get(fixture, &capture);
        assert_null(strstr(log, "compiling"));
        assert_null(strstr(log, "warning"));
}

static void test_a_tampered_entry_is_refused_and_rewritten(void **state) {
        struct fixture *fixture = *state;
        struct capture capture;
        (void)get(fixture, &capture);
        size_t size = 0;
        uint8_t *original = read_file(fixture->entry_path, &size);
        uint8_t *tampered = malloc(size);
        assert_non_null(tampered);
        memcpy(tampered, original, size);
        tampered[size / 2] ^= 0x01;
        write_file(fixture->entry_path, tampered, size);
        const char *log = get(fixture, &capture);
        assert_non_null(strstr(log, "corrupt (its SHA-256 does not match)"));
        assert_non_null(strstr(log, "compiling empty.wasm"));
        /* Rewritten: the next load uses it again. */
        size_t rewritten_size = 0;
        uint8_t *rewritten = read_file(fixture->entry_path, &rewritten_size);
        assert_int_equal(rewritten_size, size);
        assert_memory_equal(rewritten, original, size);
        log = get(fixture, &capture);
        assert_null(strstr(log, "compiling"));
        free(rewritten);
        free(tampered);
        free(original);
}

static void test_an_unreadable_record_is_refused(void **state) {
        struct fixture *fixture = *state;
        struct capture capture;
        (void)get(fixture, &capture);
        write_file(fixture->record_path, "short\n", 6);
        const char *log = get(fixture, &capture);
        assert_non_null(strstr(log, "its .sha256 is unreadable"));
        assert_non_null(strstr(log, "compiling empty.wasm"));
}

/* Writes, as the cache entry, the empty component compiled by an engine
 * with Wasmtime's default settings (no epoch interruption), with a
 * .sha256 that matches it: only Wasmtime's own check can tell. */
static void plant_foreign_entry(struct fixture *fixture, wasm_byte_vec_t *ret_serialized) {
        wasm_engine_t *engine = wasm_engine_new();
        assert_non_null(engine);
        wasmtime_component_t *component = NULL;
        wasmtime_error_t *wasm_error = wasmtime_component_new(engine, empty_component,
                                                              sizeof(empty_component), &component);
        assert_null(wasm_error);
        assert_null(wasmtime_component_serialize(component, ret_serialized));
        wasmtime_component_delete(component);
        wasm_engine_delete(engine);
        write_file(fixture->entry_path, ret_serialized->data, ret_serialized->size);
        struct digest digest;
        assert_int_equal(digest_compute(ret_serialized->data, ret_serialized->size, &digest), 0);
        char hex[DIGEST_HEX_SIZE];
        digest_to_hex(&digest, hex);
        char record[DIGEST_HEX_SIZE + 1];
        snprintf(record, sizeof(record), "%s\n", hex);
        write_file(fixture->record_path, record, strlen(record));
}

static void test_an_entry_of_another_engine_is_refused_and_rewritten(void **state) {
        struct fixture *fixture = *state;
        wasm_byte_vec_t foreign;
        plant_foreign_entry(fixture, &foreign);
        struct capture capture;
        const char *log = get(fixture, &capture);
        assert_non_null(strstr(log, "foreign"));
        /* Refused by Wasmtime for the setting that differs. */
        assert_non_null(strstr(log, "epoch interruption"));
        assert_non_null(strstr(log, "compiling empty.wasm"));
        size_t size = 0;
        uint8_t *rewritten = read_file(fixture->entry_path, &size);
        assert_false(size == foreign.size && memcmp(rewritten, foreign.data, size) == 0);
        log = get(fixture, &capture);
        assert_null(strstr(log, "compiling"));
        free(rewritten);
        wasm_byte_vec_delete(&foreign);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_an_entry_is_written_then_used, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_tampered_entry_is_refused_and_rewritten,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_an_unreadable_record_is_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_an_entry_of_another_engine_is_refused_and_rewritten, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
