/* precompiled.c - components compiled ahead of time (`pyhost compile`) and
 * checked before Wasmtime ever sees them.
 *
 * Wasmtime trusts what it deserializes: code in a serialized component runs
 * as is. So an artifact carries a header binding it to what it was made
 * from and for, and nothing reaches Wasmtime until every field matches:
 *
 *   pyhost-precompiled 1
 *   wasmtime 48.0.8
 *   target aarch64-unknown-linux-gnu
 *   engine cranelift,default-opt,epoch-interruption,host-memory,no-cow
 *   wasm-sha256 <SHA-256 of the source .wasm>
 *   payload-size <bytes>
 *   payload-sha256 <SHA-256 of the payload>
 *   [signature <Ed25519 signature of the lines above>]  (precompiled_sign.c)
 *   end
 *   <payload: Wasmtime's serialized component>
 *
 * The artifact of PLUGIN.wasm is PLUGIN.cwasm beside it (precompiled_path).
 * When a component is not in the compiled-code cache, component_cache_get
 * asks here: a matching artifact's payload is installed as the cache entry
 * (later starts map it from there) and loaded; a mismatching one is refused
 * with the field that differs, and the plugin does not load (an artifact
 * placed beside a plugin is a deployment's decision: it is not silently
 * replaced by a compile).
 *
 * Thread-safe: no shared state; the engine is only read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/log.h"
#include "plugin/internal.h"

#define MAGIC_LINE "pyhost-precompiled 1"
#define HEADER_MAX 4096u
/* Larger than any compiled Python component (~32 MB), below 4 GiB. */
#define MAX_ARTIFACT_BYTES (512u * 1024u * 1024u)

struct artifact_header {
        char wasmtime[32];
        char target[64];
        char engine[128];
        char wasm_sha256[DIGEST_HEX_SIZE];
        char payload_sha256[DIGEST_HEX_SIZE];
        char payload_size[24];
        char signature[PRECOMPILED_SIGNATURE_HEX_SIZE];
        size_t signed_size; /* the bytes the signature covers */
        size_t size;        /* of the header itself, up to and with "end\n" */
};

int plugin_precompiled_path(const char *wasm_path, char *out, size_t size) {
        size_t length = strlen(wasm_path);
        int written;
        if (length > 5 && strcmp(wasm_path + length - 5, ".wasm") == 0)
                written = snprintf(out, size, "%.*s.cwasm", (int)(length - 5), wasm_path);
        else
                written = snprintf(out, size, "%s.cwasm", wasm_path);
        return written < 0 || (size_t)written >= size ? -ENAMETOOLONG : 0;
}

static bool copy_field(char *field, size_t field_size, const char *value, size_t length) {
        /* Each field once, without NUL bytes. */
        if (field[0] != '\0' || length == 0 || length >= field_size ||
            memchr(value, '\0', length) != NULL)
                return false;
        memcpy(field, value, length);
        field[length] = '\0';
        return true;
}

/* Parses the header at the start of `data`; false when it is not one. */
static bool parse_header(const uint8_t *data, size_t size, struct artifact_header *header) {
        memset(header, 0, sizeof(*header));
        const char *text = (const char *)data;
        size_t limit = size < HEADER_MAX ? size : HEADER_MAX;
        size_t magic_length = strlen(MAGIC_LINE "\n");
        if (limit < magic_length || memcmp(text, MAGIC_LINE "\n", magic_length) != 0)
                return false;
        size_t at = magic_length;
        while (at < limit) {
                const char *line = text + at;
                /* Nothing but "end" after the signature: all is signed. */
                if (header->signature[0] != '\0' &&
                    (limit - at < 4 || memcmp(line, "end\n", 4) != 0))
                        return false;
                const char *newline = memchr(line, '\n', limit - at);
                if (newline == NULL)
                        return false;
                size_t length = (size_t)(newline - line);
                at += length + 1;
                if (length == 3 && memcmp(line, "end", 3) == 0) {
                        header->size = at;
                        return header->wasmtime[0] != '\0' && header->target[0] != '\0' &&
                               header->engine[0] != '\0' && header->wasm_sha256[0] != '\0' &&
                               header->payload_sha256[0] != '\0' && header->payload_size[0] != '\0';
                }
                const char *space = memchr(line, ' ', length);
                if (space == NULL)
                        return false;
                size_t key_length = (size_t)(space - line);
                const char *value = space + 1;
                size_t value_length = length - key_length - 1;
                struct {
                        const char *key;
                        char *field;
                        size_t size;
                } fields[] = {
                        {"wasmtime", header->wasmtime, sizeof(header->wasmtime)},
                        {"target", header->target, sizeof(header->target)},
                        {"engine", header->engine, sizeof(header->engine)},
                        {"wasm-sha256", header->wasm_sha256, sizeof(header->wasm_sha256)},
                        {"payload-sha256", header->payload_sha256, sizeof(header->payload_sha256)},
                        {"payload-size", header->payload_size, sizeof(header->payload_size)},
                        {"signature", header->signature, sizeof(header->signature)},
                };
                bool is_known = false;
                for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                        if (strlen(fields[i].key) != key_length ||
                            memcmp(line, fields[i].key, key_length) != 0)
                                continue;
                        if (!copy_field(fields[i].field, fields[i].size, value, value_length))
                                return false;
                        is_known = true;
                }
                if (!is_known)
                        return false;
                if (header->signature[0] != '\0' && header->signed_size == 0)
                        header->signed_size = (size_t)(line - text);
        }
        return false;
}

/* Checks `header` against this host, `wasm_digest` and the payload after
 * it; on a mismatch writes the reason into `why`. */
static int check_header(const struct plugin_engine *engine, const uint8_t *data,
                        const struct artifact_header *header, const struct digest *wasm_digest,
                        const uint8_t *payload, size_t payload_size, char *why, size_t why_size) {
        /* First the signature, when the config asks for one: whatever else
         * the header says is then known to come from the key's holder. */
        if (engine->precompiled_key[0] != '\0') {
                if (header->signature[0] == '\0') {
                        snprintf(why, why_size,
                                 "not signed, and [host] precompiled_key requires a signature "
                                 "(pyhost compile --sign-key)");
                        return -EKEYREJECTED;
                }
                int verified =
                        precompiled_verify(engine->precompiled_key, data, header->signed_size,
                                           header->signature, why, why_size);
                if (verified < 0)
                        return verified;
        }
        if (strcmp(header->wasmtime, WASMTIME_VERSION) != 0) {
                snprintf(why, why_size, "made by Wasmtime %s; this pyhost runs Wasmtime %s",
                         header->wasmtime, WASMTIME_VERSION);
                return -EPROTO;
        }
        if (strcmp(header->target, HOST_TRIPLE) != 0) {
                snprintf(why, why_size, "compiled for target %s; this host is %s", header->target,
                         HOST_TRIPLE);
                return -EPROTO;
        }
        const char *settings = engine_settings(engine->is_unlimited);
        if (strcmp(header->engine, settings) != 0) {
                snprintf(why, why_size, "compiled with engine settings %s; this host's are %s",
                         header->engine, settings);
                return -EPROTO;
        }
        char hex[DIGEST_HEX_SIZE];
        digest_to_hex(wasm_digest, hex);
        if (strcmp(header->wasm_sha256, hex) != 0) {
                snprintf(why, why_size,
                         "compiled from another .wasm (SHA-256 %.12s...; this one is %.12s...)",
                         header->wasm_sha256, hex);
                return -EPROTO;
        }
        char size_text[24];
        snprintf(size_text, sizeof(size_text), "%zu", payload_size);
        if (strcmp(header->payload_size, size_text) != 0) {
                snprintf(why, why_size, "corrupt: its payload is %zu bytes, its header says %s",
                         payload_size, header->payload_size);
                return -EBADMSG;
        }
        struct digest actual;
        if (digest_compute(payload, payload_size, &actual) < 0) {
                snprintf(why, why_size, "cannot compute its SHA-256");
                return -EIO;
        }
        digest_to_hex(&actual, hex);
        if (strcmp(header->payload_sha256, hex) != 0) {
                snprintf(why, why_size, "corrupt: its payload's SHA-256 does not match its header");
                return -EBADMSG;
        }
        return 0;
}

int precompiled_load(struct plugin_engine *engine, const char *path, const struct digest *digest,
                     const char *entry_path, const char *digest_path,
                     wasmtime_component_t **ret_component, struct ph_error *error) {
        char artifact[PATH_MAX];
        if (plugin_precompiled_path(path, artifact, sizeof(artifact)) < 0)
                return -ENOENT;
        struct stat info;
        if (stat(artifact, &info) < 0 && errno == ENOENT)
                return -ENOENT;
        uint8_t *data = NULL;
        size_t size = 0;
        int result = file_read_all(artifact, MAX_ARTIFACT_BYTES, &data, &size, error);
        if (result < 0)
                return result;
        struct artifact_header header;
        char why[PH_ERROR_MESSAGE_MAX / 2];
        if (!parse_header(data, size, &header)) {
                snprintf(why, sizeof(why),
                         "not a pyhost precompiled artifact (no valid '%s' header)", MAGIC_LINE);
                result = -EBADMSG;
        } else {
                result = check_header(engine, data, &header, digest, data + header.size,
                                      size - header.size, why, sizeof(why));
        }
        if (result < 0) {
                free(data);
                return ph_error_set(error, result,
                                    "%s: precompiled artifact %s refused: %s; make a new one with "
                                    "`pyhost compile %s --target %s`",
                                    path, artifact, why, path, HOST_TRIPLE);
        }
        const uint8_t *payload = data + header.size;
        size_t payload_size = size - header.size;
        /* Into the cache, so that later starts map it from there. */
        if (entry_path != NULL && component_cache_install(engine, entry_path, digest_path, payload,
                                                          payload_size, ret_component) == 0) {
                free(data);
                log_write(LOG_LEVEL_INFO, "cache",
                          "loaded precompiled %s for %s (now cached as %s)", artifact, path,
                          entry_path);
                return 0;
        }
        wasmtime_error_t *wasm_error = wasmtime_component_deserialize(engine->engine, payload,
                                                                      payload_size, ret_component);
        free(data);
        if (wasm_error != NULL) {
                char context[PATH_MAX + 64];
                snprintf(context, sizeof(context), "precompiled artifact %s refused by Wasmtime",
                         artifact);
                return wasm_error_take(wasm_error, -EPROTO, error, context);
        }
        log_write(LOG_LEVEL_INFO, "cache", "loaded precompiled %s for %s", artifact, path);
        return 0;
}

void plugin_engine_set_precompiled_key(struct plugin_engine *engine, const char *path) {
        snprintf(engine->precompiled_key, sizeof(engine->precompiled_key), "%s",
                 path != NULL ? path : "");
}

#ifdef WASMTIME_FEATURE_COMPILER
/* Engine::precompile_component, from the wrapper crate (wasmtime/lib.rs):
 * compiles and serializes for the engine's target without loading the code
 * (which wasmtime_component_new does, and which fails for another CPU). */
wasmtime_error_t *pyhost_engine_precompile_component(const wasm_engine_t *engine,
                                                     const uint8_t *bytes, size_t size,
                                                     wasm_byte_vec_t *ret);

/* The targets `pyhost compile --target` accepts: those with a Cranelift
 * backend in this build (a triple without one would abort in Wasmtime). */
static const char *const known_targets[] = {"x86_64-unknown-linux-gnu",
                                            "aarch64-unknown-linux-gnu"};

static int write_artifact(const char *out_path, const char *target, const char *sign_key,
                          const struct digest *digest, const wasm_byte_vec_t *payload,
                          struct ph_error *error) {
        char wasm_hex[DIGEST_HEX_SIZE], payload_hex[DIGEST_HEX_SIZE];
        struct digest payload_digest;
        if (digest_compute(payload->data, payload->size, &payload_digest) < 0)
                return ph_error_set(error, -EIO, "%s: cannot compute a SHA-256", out_path);
        digest_to_hex(digest, wasm_hex);
        digest_to_hex(&payload_digest, payload_hex);
        char header[HEADER_MAX];
        int length = snprintf(header, sizeof(header),
                              MAGIC_LINE "\nwasmtime %s\ntarget %s\nengine %s\nwasm-sha256 %s\n"
                                         "payload-size %zu\npayload-sha256 %s\n",
                              WASMTIME_VERSION, target, engine_settings(false), wasm_hex,
                              payload->size, payload_hex);
        if (length < 0 || (size_t)length >= sizeof(header))
                return ph_error_set(error, -EINVAL, "%s: header too long", out_path);
        if (sign_key != NULL) {
                char signature[PRECOMPILED_SIGNATURE_HEX_SIZE];
                int result = precompiled_sign(sign_key, header, (size_t)length, signature, error);
                if (result < 0)
                        return result;
                int added = snprintf(header + length, sizeof(header) - (size_t)length,
                                     "signature %s\n", signature);
                if (added < 0 || (size_t)added >= sizeof(header) - (size_t)length)
                        return ph_error_set(error, -EINVAL, "%s: header too long", out_path);
                length += added;
        }
        int added = snprintf(header + length, sizeof(header) - (size_t)length, "end\n");
        if (added < 0 || (size_t)added >= sizeof(header) - (size_t)length)
                return ph_error_set(error, -EINVAL, "%s: header too long", out_path);
        length += added;
        size_t total = (size_t)length + payload->size;
        if (total < payload->size)
                return ph_error_set(error, -EOVERFLOW, "%s: too large", out_path);
        uint8_t *artifact = malloc(total);
        if (artifact == NULL)
                return ph_error_set(error, -ENOMEM, "%s: out of memory", out_path);
        memcpy(artifact, header, (size_t)length);
        memcpy(artifact + length, payload->data, payload->size);
        int result = file_write_atomic(out_path, artifact, total, error);
        free(artifact);
        return result;
}

int plugin_compile_artifact(const char *wasm_path, const char *target, const char *sign_key,
                            const char *out_path, struct ph_error *error) {
        bool is_known = target == NULL;
        for (size_t i = 0; !is_known && i < sizeof(known_targets) / sizeof(known_targets[0]); i++)
                is_known = strcmp(target, known_targets[i]) == 0;
        if (!is_known)
                return ph_error_set(error, -EINVAL,
                                    "unsupported target '%s' (known: x86_64-unknown-linux-gnu, "
                                    "aarch64-unknown-linux-gnu)",
                                    target);
        uint8_t *bytes = NULL;
        size_t size = 0;
        int result = file_read_all(wasm_path, MAX_ARTIFACT_BYTES, &bytes, &size, error);
        if (result < 0)
                return result;
        struct digest digest;
        result = engine_check_component_header(bytes, size, wasm_path, error);
        if (result == 0 && digest_compute(bytes, size, &digest) < 0)
                result = ph_error_set(error, -EIO, "%s: cannot compute its SHA-256", wasm_path);
        wasm_config_t *config = result == 0 ? engine_config_new(false) : NULL;
        if (result == 0 && config == NULL)
                result = ph_error_set(error, -ENOMEM, "out of memory");
        /* Without --target: this machine's CPU, with the features Cranelift
         * detects on it. With one: that architecture's baseline. */
        if (result == 0 && target != NULL) {
                wasmtime_error_t *wasm_error = wasmtime_config_target_set(config, target);
                if (wasm_error != NULL) {
                        wasm_config_delete(config);
                        config = NULL;
                        result = wasm_error_take(wasm_error, -EINVAL, error, target);
                }
        }
        if (result < 0) {
                if (config != NULL)
                        wasm_config_delete(config);
                free(bytes);
                return result;
        }
        wasm_engine_t *engine = wasm_engine_new_with_config(config); /* takes `config` */
        wasm_byte_vec_t payload = {0};
        wasmtime_error_t *wasm_error =
                pyhost_engine_precompile_component(engine, bytes, size, &payload);
        free(bytes);
        wasm_engine_delete(engine);
        if (wasm_error != NULL)
                return wasm_error_take(wasm_error, -EINVAL, error, wasm_path);
        result = write_artifact(out_path, target != NULL ? target : HOST_TRIPLE, sign_key, &digest,
                                &payload, error);
        wasm_byte_vec_delete(&payload);
        return result;
}

bool plugin_can_compile(void) {
        return true;
}
#else
int plugin_compile_artifact(const char *wasm_path, const char *target, const char *sign_key,
                            const char *out_path, struct ph_error *error) {
        (void)target;
        (void)sign_key;
        (void)out_path;
        return ph_error_set(error, -ENOTSUP,
                            "%s: this pyhost is runtime-only (built without a compiler): compile "
                            "on a build machine with a full pyhost",
                            wasm_path);
}

bool plugin_can_compile(void) {
        return false;
}
#endif
