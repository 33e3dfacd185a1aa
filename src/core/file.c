#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max_size, uint8_t **ret_data, size_t *ret_size,
                  struct ph_error *error) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return ph_error_set(error, -errno, "%s: cannot open: %s", path, strerror(errno));
        uint8_t *data = NULL;
        int result;
        struct stat info;
        if (fstat(fd, &info) < 0) {
                result = ph_error_set(error, -errno, "%s: cannot stat: %s", path, strerror(errno));
                goto fail;
        }
        if (!S_ISREG(info.st_mode)) {
                result = ph_error_set(error, -EINVAL, "%s: not a regular file", path);
                goto fail;
        }
        if ((uint64_t)info.st_size > max_size) {
                result = ph_error_set(error, -EFBIG,
                                      "%s: file is %lld bytes, more than the limit of %zu bytes",
                                      path, (long long)info.st_size, max_size);
                goto fail;
        }
        size_t size = (size_t)info.st_size;
        data = malloc(size > 0 ? size : 1);
        if (data == NULL) {
                result = ph_error_set(error, -ENOMEM, "%s: out of memory", path);
                goto fail;
        }
        size_t done = 0;
        while (done < size) {
                ssize_t got = read(fd, data + done, size - done);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {
                        result = ph_error_set(error, -errno, "%s: read failed: %s", path,
                                              strerror(errno));
                        goto fail;
                }
                if (got == 0)
                        break; /* the file shrank while we read it: take what is there */
                done += (size_t)got;
        }
        close(fd);
        *ret_data = data;
        *ret_size = done;
        return 0;
fail:
        free(data);
        close(fd);
        return result;
}

int file_make_directories(const char *path, unsigned mode, struct ph_error *error) {
        char partial[PATH_MAX];
        size_t length = strlen(path);
        if (length == 0 || length >= sizeof(partial))
                return ph_error_set(error, -ENAMETOOLONG, "%s: bad directory path", path);
        memcpy(partial, path, length + 1);
        /* Create each prefix that ends before a '/', then the whole path. */
        for (size_t i = 1; i <= length; i++) {
                if (partial[i] != '/' && partial[i] != '\0')
                        continue;
                char saved = partial[i];
                partial[i] = '\0';
                if (mkdir(partial, (mode_t)mode) < 0 && errno != EEXIST)
                        return ph_error_set(error, -errno, "%s: cannot create directory: %s",
                                            partial, strerror(errno));
                partial[i] = saved;
        }
        struct stat info;
        if (stat(path, &info) < 0 || !S_ISDIR(info.st_mode))
                return ph_error_set(error, -ENOTDIR, "%s: not a directory", path);
        return 0;
}

int file_write_atomic(const char *path, const void *data, size_t size, struct ph_error *error) {
        char temporary[PATH_MAX];
        if (snprintf(temporary, sizeof(temporary), "%s.tmp.XXXXXX", path) >= (int)sizeof(temporary))
                return ph_error_set(error, -ENAMETOOLONG, "%s: path too long", path);
        int fd = mkostemp(temporary, O_CLOEXEC);
        if (fd < 0)
                return ph_error_set(error, -errno, "%s: cannot create: %s", temporary,
                                    strerror(errno));
        const uint8_t *bytes = data;
        size_t done = 0;
        while (done < size) {
                ssize_t written = write(fd, bytes + done, size - done);
                if (written < 0 && errno == EINTR)
                        continue;
                if (written < 0) {
                        int code = -errno;
                        close(fd);
                        unlink(temporary);
                        return ph_error_set(error, code, "%s: write failed: %s", path,
                                            strerror(-code));
                }
                done += (size_t)written;
        }
        if (fsync(fd) < 0 || close(fd) < 0) {
                int code = -errno;
                unlink(temporary);
                return ph_error_set(error, code, "%s: sync failed: %s", path, strerror(-code));
        }
        if (rename(temporary, path) < 0) {
                int code = -errno;
                unlink(temporary);
                return ph_error_set(error, code, "%s: rename failed: %s", path, strerror(-code));
        }
        return 0;
}

int file_get_identity(const char *path, struct file_identity *ret_identity,
                      struct ph_error *error) {
        struct stat info;
        if (stat(path, &info) < 0)
                return ph_error_set(error, -errno, "%s: %s", path, strerror(errno));
        file_identity_from_stat(&info, ret_identity);
        return 0;
}

void file_identity_from_stat(const struct stat *info, struct file_identity *ret_identity) {
        *ret_identity = (struct file_identity){
                .device = (uint64_t)info->st_dev,
                .inode = (uint64_t)info->st_ino,
                .size = (int64_t)info->st_size,
                .mtime_ns = (int64_t)info->st_mtim.tv_sec * 1000000000 + info->st_mtim.tv_nsec,
                .ctime_ns = (int64_t)info->st_ctim.tv_sec * 1000000000 + info->st_ctim.tv_nsec,
        };
}

bool file_identity_equal(const struct file_identity *a, const struct file_identity *b) {
        return a->device == b->device && a->inode == b->inode && a->size == b->size &&
               a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}
