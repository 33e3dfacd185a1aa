#include "hw/hw_sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

ssize_t hw_sysfs_read(void *data, const char *path, char *buf, size_t size) {
        (void)data;
        if (size == 0)
                return -EINVAL;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t length;
        do
                length = read(fd, buf, size - 1);
        while (length < 0 && errno == EINTR);
        int saved = errno;
        close(fd);
        if (length < 0)
                return -saved;
        buf[length] = '\0';
        return length;
}

int hw_sysfs_write(const char *path, const char *text) {
        /* O_TRUNC as a shell's `echo 1 > brightness`: sysfs ignores it, a
         * regular file (a test's fake tree) then holds exactly `text`. */
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t length = strlen(text);
        ssize_t written;
        do
                written = write(fd, text, length);
        while (written < 0 && errno == EINTR);
        int saved = errno;
        if (close(fd) < 0 && written >= 0)
                return -errno;
        if (written < 0)
                return -saved;
        return (size_t)written == length ? 0 : -EIO;
}
