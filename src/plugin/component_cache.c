/* component_cache.c - compiled components serialized on disk.
 *
 * Compiling an 18 MB Python component takes seconds; loading its compiled
 * form takes milliseconds. Entries live in
 *   <cache_dir>/wasmtime-<version>-<engine settings>/<sha256 of the .wasm>.cwasm
 * next to a .sha256 file holding the digest of the .cwasm itself. An entry is
 * used only when that digest matches (a torn or corrupted file is detected)
 * and Wasmtime accepts it (a file from another engine or version is
 * refused by Wasmtime's own compatibility check); otherwise the component is
 * compiled again and the entry rewritten. Entries are written atomically.
 * A .wasm unchanged since it was last hashed is not read at all (its
 * digest comes from a source record: see the end of this file).
 * A component not in the cache is first looked for as a precompiled
 * artifact beside its file (precompiled.c), which is checked and installed
 * as its entry; only then compiled (never, in the runtime-only build).
 *
 * Thread-safe: entries are immutable once renamed into place, and two
 * threads writing the same entry write the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "plugin/internal.h"

/* Digest of the file at `path`, read through a private read-only mapping. */
static int digest_file(const char *path, struct digest *ret_digest) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat info;
        if (fstat(fd, &info) < 0 || !S_ISREG(info.st_mode) || info.st_size == 0) {
                close(fd);
                return -EINVAL;
        }
        void *mapping = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (mapping == MAP_FAILED)
                return -errno;
        int result = digest_compute(mapping, (size_t)info.st_size, ret_digest);
        munmap(mapping, (size_t)info.st_size);
        return result;
}

/* The .sha256 beside an entry: the entry's digest, and the identity (inode,
 * size, times) the entry had when that digest was last checked. While the
 * identity is unchanged the entry is not hashed again: rehashing 32 MB at
 * every start would cost more than the rest of loading. Any write to the
 * entry (a torn write, a copy over it, a tool editing it) changes its
 * identity and brings the full check back; only corruption below the file
 * system (bit rot without a write) would go unseen until then. */
static int write_record(const char *record_path, const char *hex, const char *keyword,
                        const struct file_identity *identity, struct ph_error *error) {
        char text[DIGEST_HEX_SIZE + 160];
        int length = snprintf(text, sizeof(text), "%s\n%s %llu %llu %lld %lld %lld\n", hex, keyword,
                              (unsigned long long)identity->device,
                              (unsigned long long)identity->inode, (long long)identity->size,
                              (long long)identity->mtime_ns, (long long)identity->ctime_ns);
        return file_write_atomic(record_path, text, (size_t)length, error);
}

static bool parse_record(const uint8_t *text, size_t size, const char *keyword,
                         char hex[DIGEST_HEX_SIZE], struct file_identity *ret_identity,
                         bool *ret_has_identity) {
        if (size < DIGEST_HEX_SIZE - 1)
                return false;
        memcpy(hex, text, DIGEST_HEX_SIZE - 1);
        hex[DIGEST_HEX_SIZE - 1] = '\0';
        char rest[200] = "";
        size_t rest_size = size - (DIGEST_HEX_SIZE - 1);
        if (rest_size >= sizeof(rest))
                rest_size = sizeof(rest) - 1;
        memcpy(rest, text + DIGEST_HEX_SIZE - 1, rest_size);
        unsigned long long device = 0, inode = 0;
        long long bytes = 0, mtime = 0, ctime = 0;
        /* "\n<keyword> <device> <inode> <size> <mtime> <ctime>" */
        size_t keyword_length = strlen(keyword);
        *ret_has_identity = rest[0] == '\n' && strncmp(rest + 1, keyword, keyword_length) == 0 &&
                            sscanf(rest + 1 + keyword_length, " %llu %llu %lld %lld %lld", &device,
                                   &inode, &bytes, &mtime, &ctime) == 5;
        *ret_identity = (struct file_identity){.device = device,
                                               .inode = inode,
                                               .size = bytes,
                                               .mtime_ns = mtime,
                                               .ctime_ns = ctime};
        return true;
}

/* Tries the entry; returns 0 and the component, -ENOENT when there is none,
 * or another negative code (with `why`) when it exists but is unusable. */
static int load_entry(struct plugin_engine *engine, const char *entry_path, const char *digest_path,
                      wasmtime_component_t **ret_component, char *why, size_t why_size) {
        uint8_t *record = NULL;
        size_t record_size = 0;
        int read = file_read_all(digest_path, 4 * DIGEST_HEX_SIZE, &record, &record_size, NULL);
        if (read == -ENOMEM) {
                snprintf(why, why_size, "unreadable (out of memory)");
                return -ENOMEM;
        }
        if (read < 0)
                return -ENOENT;
        char recorded_hex[DIGEST_HEX_SIZE];
        struct file_identity verified, now;
        bool has_identity = false;
        bool is_parsed = parse_record(record, record_size, "verified", recorded_hex, &verified,
                                      &has_identity);
        free(record);
        if (!is_parsed) {
                snprintf(why, why_size, "corrupt (its .sha256 is unreadable)");
                return -EBADMSG;
        }
        if (file_get_identity(entry_path, &now, NULL) < 0) {
                snprintf(why, why_size, "missing");
                return -ENOENT;
        }
        if (!has_identity || !file_identity_equal(&verified, &now)) {
                struct digest actual;
                char actual_hex[DIGEST_HEX_SIZE];
                int result = digest_file(entry_path, &actual);
                if (result < 0) {
                        snprintf(why, why_size, "unreadable (%s)", strerror(-result));
                        return result;
                }
                digest_to_hex(&actual, actual_hex);
                if (strcmp(recorded_hex, actual_hex) != 0) {
                        snprintf(why, why_size, "corrupt (its SHA-256 does not match)");
                        return -EBADMSG;
                }
        }
        wasmtime_error_t *wasm_error =
                wasmtime_component_deserialize_file(engine->engine, entry_path, ret_component);
        if (wasm_error != NULL) {
                struct ph_error error;
                wasm_error_take(wasm_error, -EINVAL, &error, "foreign");
                snprintf(why, why_size, "%s", error.message);
                return -EINVAL;
        }
        if (!has_identity || !file_identity_equal(&verified, &now)) {
                struct ph_error error = {0};
                if (write_record(digest_path, recorded_hex, "verified", &now, &error) < 0)
                        log_write(LOG_LEVEL_WARNING, "cache", "%s", error.message);
        }
        return 0;
}

/* Writes `data` as the entry, then its record; 0 or a negative code. */
static int write_entry(const char *entry_path, const char *digest_path, const void *data,
                       size_t size, struct ph_error *error) {
        struct digest digest;
        char hex[DIGEST_HEX_SIZE];
        struct file_identity identity;
        int result = digest_compute(data, size, &digest);
        if (result < 0)
                return ph_error_set(error, result, "%s: cannot compute its SHA-256", entry_path);
        digest_to_hex(&digest, hex);
        /* The .cwasm first: a .sha256 never names a file not yet there. */
        result = file_write_atomic(entry_path, data, size, error);
        if (result == 0)
                result = file_get_identity(entry_path, &identity, error);
        if (result == 0)
                result = write_record(digest_path, hex, "verified", &identity, error);
        return result;
}

#ifdef WASMTIME_FEATURE_COMPILER
static void store_entry(const wasmtime_component_t *component, const char *entry_path,
                        const char *digest_path) {
        wasm_byte_vec_t serialized;
        wasmtime_error_t *wasm_error = wasmtime_component_serialize(component, &serialized);
        struct ph_error error = {0};
        if (wasm_error != NULL) {
                wasm_error_take(wasm_error, -EINVAL, &error, "serialize");
                log_write(LOG_LEVEL_WARNING, "cache", "not cached: %s", error.message);
                return;
        }
        int result = write_entry(entry_path, digest_path, serialized.data, serialized.size, &error);
        wasm_byte_vec_delete(&serialized);
        if (result < 0)
                log_write(LOG_LEVEL_WARNING, "cache", "not cached: %s", error.message);
}
#endif

static void entry_paths(const struct plugin_engine *engine, const struct digest *digest,
                        char *entry_path, size_t entry_size, char *digest_path,
                        size_t digest_size) {
        char hex[DIGEST_HEX_SIZE];
        digest_to_hex(digest, hex);
        snprintf(entry_path, entry_size, "%s/%s.cwasm", engine->cache_dir, hex);
        snprintf(digest_path, digest_size, "%s/%s.sha256", engine->cache_dir, hex);
}

int component_cache_get(struct plugin_engine *engine, uint8_t *bytes, size_t size,
                        const struct digest *digest, const char *path,
                        struct compile_cancel *cancel, wasmtime_component_t **ret_component,
                        struct ph_error *error) {
        char entry_path[PATH_MAX + 80], digest_path[PATH_MAX + 80];
        bool has_cache = engine->cache_dir[0] != '\0';
        if (has_cache) {
                entry_paths(engine, digest, entry_path, sizeof(entry_path), digest_path,
                            sizeof(digest_path));
                char why[PH_ERROR_MESSAGE_MAX];
                int result = load_entry(engine, entry_path, digest_path, ret_component, why,
                                        sizeof(why));
                if (result == 0) {
                        free(bytes);
                        return 0;
                }
                /* Compiling needs far more memory than reading the entry. */
                if (result == -ENOMEM) {
                        free(bytes);
                        return ph_error_set(error, -ENOMEM, "%s: compiled-code cache entry %s: %s",
                                            path, entry_path, why);
                }
                if (result != -ENOENT)
                        log_write(LOG_LEVEL_WARNING, "cache",
                                  "entry %s for %s is %s: compiling again", entry_path, path, why);
        }
        /* Not cached: a precompiled artifact beside the file, if any. */
        int loaded = precompiled_load(engine, path, digest, has_cache ? entry_path : NULL,
                                      has_cache ? digest_path : NULL, ret_component, error);
        if (loaded != -ENOENT) {
                free(bytes);
                return loaded;
        }
        log_write(LOG_LEVEL_INFO, "cache", "compiling %s (%zu bytes)%s", path, size,
                  has_cache ? "; not in the compiled-code cache yet" : "");
        wasmtime_component_t *component = NULL;
        int result = engine_compile(engine, bytes, size, cancel, path, &component, error);
        if (result < 0)
                return result;
#ifdef WASMTIME_FEATURE_COMPILER
        if (has_cache)
                store_entry(component, entry_path, digest_path);
#endif
        *ret_component = component;
        return 0;
}

/* --- the .wasm's identity shortcut ------------------------------------
 * A source record <cache_dir>/source-<device>-<inode>.id holds the SHA-256
 * of a .wasm and the identity (device, inode, size, mtime, ctime) the file
 * had when those bytes were read and hashed. While the .wasm keeps that
 * identity its digest comes from the record and the file is not read at
 * all: the entry the digest names is loaded after the entry's own check
 * (its .sha256 identity record above; a tampered or torn .cwasm has a new
 * mtime and ctime, so it is hashed in full and refused on a mismatch).
 * Any write to the .wasm changes its mtime and ctime (user space cannot
 * set ctime), a replacement changes its inode: it is then read and hashed
 * in full again. An identity is recorded only once the file's times are
 * RACY_MARGIN_NS in the past, so that a second write within the file
 * system's timestamp granularity cannot go unseen (FAT: 2 s). Like the
 * entries, records are trusted to be written by pyhost only: the cache
 * directory must not be writable by anyone else. */
#define RACY_MARGIN_NS (INT64_C(2) * 1000000000)

static void source_path(const struct plugin_engine *engine, const struct file_identity *identity,
                        char *path, size_t size) {
        snprintf(path, size, "%s/source-%llu-%llu.id", engine->cache_dir,
                 (unsigned long long)identity->device, (unsigned long long)identity->inode);
}

static int digest_from_hex(const char *hex, struct digest *ret_digest) {
        for (size_t i = 0; i < DIGEST_SIZE; i++) {
                unsigned value = 0;
                for (size_t j = 0; j < 2; j++) {
                        char c = hex[2 * i + j];
                        unsigned nibble = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                                          : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                                                 : 16u;
                        if (nibble == 16u)
                                return -EBADMSG;
                        value = value * 16u + nibble;
                }
                ret_digest->bytes[i] = (uint8_t)value;
        }
        return 0;
}

int component_cache_source_digest(const struct plugin_engine *engine,
                                  const struct file_identity *identity, struct digest *ret_digest) {
        if (engine->cache_dir[0] == '\0')
                return -ENOENT;
        char path[PATH_MAX + 80];
        source_path(engine, identity, path, sizeof(path));
        uint8_t *record = NULL;
        size_t size = 0;
        if (file_read_all(path, 4 * DIGEST_HEX_SIZE, &record, &size, NULL) < 0)
                return -ENOENT;
        char hex[DIGEST_HEX_SIZE];
        struct file_identity recorded;
        bool has_identity = false;
        bool is_parsed = parse_record(record, size, "source", hex, &recorded, &has_identity);
        free(record);
        if (!is_parsed || !has_identity || !file_identity_equal(&recorded, identity) ||
            digest_from_hex(hex, ret_digest) < 0)
                return -ENOENT;
        return 0;
}

void component_cache_note_source(const struct plugin_engine *engine,
                                 const struct file_identity *identity,
                                 const struct digest *digest) {
        if (engine->cache_dir[0] == '\0')
                return;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        if (now_ns - identity->mtime_ns < RACY_MARGIN_NS ||
            now_ns - identity->ctime_ns < RACY_MARGIN_NS)
                return; /* too recent to vouch for: hashed again next time */
        char path[PATH_MAX + 80], hex[DIGEST_HEX_SIZE];
        source_path(engine, identity, path, sizeof(path));
        digest_to_hex(digest, hex);
        struct ph_error error = {0};
        if (write_record(path, hex, "source", identity, &error) < 0)
                log_write(LOG_LEVEL_WARNING, "cache", "%s", error.message);
}

int component_cache_load(struct plugin_engine *engine, const struct digest *digest,
                         const char *path, wasmtime_component_t **ret_component) {
        if (engine->cache_dir[0] == '\0')
                return -ENOENT;
        char entry_path[PATH_MAX + 80], digest_path[PATH_MAX + 80], why[PH_ERROR_MESSAGE_MAX];
        entry_paths(engine, digest, entry_path, sizeof(entry_path), digest_path,
                    sizeof(digest_path));
        int result = load_entry(engine, entry_path, digest_path, ret_component, why, sizeof(why));
        if (result == 0)
                log_write(LOG_LEVEL_DEBUG, "cache",
                          "%s unchanged since it was hashed: loaded %s without reading it", path,
                          entry_path);
        else if (result != -ENOENT)
                log_write(LOG_LEVEL_WARNING, "cache",
                          "entry %s for %s (known by the file's identity) is %s: reading and "
                          "hashing the file",
                          entry_path, path, why);
        return result;
}

int component_cache_install(struct plugin_engine *engine, const char *entry_path,
                            const char *digest_path, const uint8_t *data, size_t size,
                            wasmtime_component_t **ret_component) {
        struct ph_error error = {0};
        int result = write_entry(entry_path, digest_path, data, size, &error);
        if (result < 0) {
                log_write(LOG_LEVEL_WARNING, "cache", "not cached: %s", error.message);
                return result;
        }
        char why[PH_ERROR_MESSAGE_MAX];
        result = load_entry(engine, entry_path, digest_path, ret_component, why, sizeof(why));
        if (result < 0)
                log_write(LOG_LEVEL_WARNING, "cache", "entry %s is %s", entry_path, why);
        return result;
}
