#include "plugin/python_source.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_MODULES 64
#define MAX_MODULE_BYTES (1024u * 1024u)

static bool ends_with(const char *text, const char *suffix) {
        size_t length = strlen(text), suffix_length = strlen(suffix);
        return length > suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

bool python_source_is(const char *path) {
        struct stat info;
        if (ends_with(path, ".py"))
                return true;
        return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

void python_source_free(struct source_module *modules, size_t count) {
        if (modules == NULL)
                return;
        for (size_t i = 0; i < count; i++) {
                free(modules[i].name);
                free(modules[i].source);
                free(modules[i].path);
        }
        free(modules);
}

static bool is_module_name(const char *name) {
        if (!ends_with(name, ".py") || name[0] == '.')
                return false;
        for (const char *c = name; c < name + strlen(name) - 3; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_'))
                        return false;
        return true;
}

static int read_module(const char *path, const char *name, size_t name_length,
                       struct source_module *ret_module, struct ph_error *error) {
        uint8_t *bytes = NULL;
        size_t size = 0;
        int result = file_read_all(path, MAX_MODULE_BYTES, &bytes, &size, error);
        if (result < 0)
                return result;
        char *source = realloc(bytes, size + 1);
        char *module_name = strndup(name, name_length);
        char *module_path = strdup(path);
        if (source == NULL || module_name == NULL || module_path == NULL) {
                free(source != NULL ? source : (char *)bytes);
                free(module_name);
                free(module_path);
                return ph_error_set(error, -ENOMEM, "%s: out of memory", path);
        }
        source[size] = '\0';
        if (strlen(source) != size) {
                free(source);
                free(module_name);
                free(module_path);
                return ph_error_set(error, -EINVAL, "%s: contains NUL bytes, not Python source",
                                    path);
        }
        ret_module->name = module_name;
        ret_module->source = source;
        ret_module->path = module_path;
        return 0;
}

static int compare_modules(const void *a, const void *b) {
        return strcmp(((const struct source_module *)a)->name,
                      ((const struct source_module *)b)->name);
}

/* The *.py names of `directory`, sorted; the caller frees each and the array. */
static int list_modules(const char *directory, char ***ret_names, size_t *ret_count,
                        struct ph_error *error) {
        DIR *dir = opendir(directory);
        if (dir == NULL)
                return ph_error_set(error, -errno, "%s: %s", directory, strerror(errno));
        char **names = calloc(MAX_MODULES, sizeof(*names));
        size_t count = 0;
        int result = names != NULL ? 0 : -ENOMEM;
        struct dirent *entry;
        while (result == 0 && (entry = readdir(dir)) != NULL) {
                if (!is_module_name(entry->d_name))
                        continue;
                if (count == MAX_MODULES)
                        result = ph_error_set(error, -E2BIG, "%s: more than %d modules", directory,
                                              MAX_MODULES);
                else if ((names[count++] = strdup(entry->d_name)) == NULL)
                        result = -ENOMEM;
        }
        closedir(dir);
        if (result < 0) {
                for (size_t i = 0; names != NULL && i < count; i++)
                        free(names[i]);
                free(names);
                return result == -ENOMEM ? ph_error_set(error, -ENOMEM, "out of memory") : result;
        }
        *ret_names = names;
        *ret_count = count;
        return 0;
}

static void free_names(char **names, size_t count) {
        for (size_t i = 0; i < count; i++)
                free(names[i]);
        free(names);
}

static int digest_modules(const struct source_module *modules, size_t count,
                          struct digest *ret_digest) {
        EVP_MD_CTX *context = EVP_MD_CTX_new();
        unsigned int length = 0;
        int ok = context != NULL && EVP_DigestInit_ex(context, EVP_sha256(), NULL) == 1;
        for (size_t i = 0; ok && i < count; i++)
                ok = EVP_DigestUpdate(context, modules[i].name, strlen(modules[i].name) + 1) == 1 &&
                     EVP_DigestUpdate(context, modules[i].source, strlen(modules[i].source) + 1) ==
                             1;
        ok = ok && EVP_DigestFinal_ex(context, ret_digest->bytes, &length) == 1;
        EVP_MD_CTX_free(context);
        return ok && length == DIGEST_SIZE ? 0 : -EIO;
}

int python_source_read(const char *path, struct source_module **ret_modules, size_t *ret_count,
                       struct digest *ret_digest, struct ph_error *error) {
        struct stat info;
        if (stat(path, &info) < 0)
                return ph_error_set(error, -errno, "%s: cannot open: %s", path, strerror(errno));
        struct source_module *modules = NULL;
        size_t count = 0;
        int result = 0;
        if (!S_ISDIR(info.st_mode)) {
                modules = calloc(1, sizeof(*modules));
                if (modules == NULL)
                        return ph_error_set(error, -ENOMEM, "out of memory");
                result = read_module(path, "app", 3, &modules[0], error);
                count = result == 0 ? 1 : 0;
        } else {
                char **names = NULL;
                size_t name_count = 0;
                result = list_modules(path, &names, &name_count, error);
                if (result < 0)
                        return result;
                modules = calloc(name_count > 0 ? name_count : 1, sizeof(*modules));
                if (modules == NULL)
                        result = ph_error_set(error, -ENOMEM, "out of memory");
                for (size_t i = 0; result == 0 && i < name_count; i++) {
                        char file[PATH_MAX];
                        snprintf(file, sizeof(file), "%s/%s", path, names[i]);
                        result = read_module(file, names[i], strlen(names[i]) - 3, &modules[count],
                                             error);
                        if (result == 0)
                                count++;
                }
                free_names(names, name_count);
                bool has_app = false;
                for (size_t i = 0; i < count; i++)
                        has_app = has_app || strcmp(modules[i].name, "app") == 0;
                if (result == 0 && !has_app)
                        result = ph_error_set(error, -ENOENT, "%s: no app.py in the directory",
                                              path);
        }
        if (result == 0) {
                qsort(modules, count, sizeof(*modules), compare_modules);
                if (digest_modules(modules, count, ret_digest) < 0)
                        result = ph_error_set(error, -EIO, "%s: cannot compute its SHA-256", path);
        }
        if (result < 0) {
                python_source_free(modules, count);
                return result;
        }
        *ret_modules = modules;
        *ret_count = count;
        return 0;
}

int python_source_identity(const char *path, struct file_identity *ret_identity,
                           struct ph_error *error) {
        struct stat info;
        if (stat(path, &info) < 0)
                return ph_error_set(error, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISDIR(info.st_mode)) {
                /* One stat per poll is enough: this runs before every poll. */
                file_identity_from_stat(&info, ret_identity);
                return 0;
        }
        char **names = NULL;
        size_t count = 0;
        int result = list_modules(path, &names, &count, error);
        if (result < 0)
                return result;
        /* Folded so that adding, removing, replacing or editing any module
         * changes the result. */
        struct file_identity folded = {.device = (uint64_t)info.st_dev,
                                       .inode = (uint64_t)info.st_ino,
                                       .size = (int64_t)count};
        for (size_t i = 0; i < count; i++) {
                char file[PATH_MAX];
                snprintf(file, sizeof(file), "%s/%s", path, names[i]);
                struct file_identity one;
                if (file_get_identity(file, &one, NULL) < 0)
                        continue;
                /* Unsigned arithmetic: wrapping is intended, not overflow. */
                folded.inode = folded.inode * 31 + one.inode;
                folded.size = (int64_t)((uint64_t)folded.size * 31 + (uint64_t)one.size);
                folded.mtime_ns =
                        (int64_t)((uint64_t)folded.mtime_ns * 31 + (uint64_t)one.mtime_ns);
                folded.ctime_ns =
                        (int64_t)((uint64_t)folded.ctime_ns * 31 + (uint64_t)one.ctime_ns);
        }
        free_names(names, count);
        *ret_identity = folded;
        return 0;
}
