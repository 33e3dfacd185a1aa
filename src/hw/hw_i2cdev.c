/* hw_i2cdev.c - I2C through the kernel's i2c-dev (see hw_i2c.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hw/hw_i2c.h"

#define MAX_BUSES 256

struct hw_i2cdev {
        char dev_root[PATH_MAX];
        pthread_mutex_t lock; /* guards fds */
        int fds[MAX_BUSES];   /* -1: not open yet */
};

struct hw_i2cdev *hw_i2cdev_new(const char *dev_root, struct ph_error *error) {
        struct hw_i2cdev *i2cdev = calloc(1, sizeof(*i2cdev));
        if (i2cdev == NULL) {
                ph_error_set(error, -ENOMEM, "i2c: out of memory");
                return NULL;
        }
        if (strlen(dev_root) >= sizeof(i2cdev->dev_root)) {
                ph_error_set(error, -ENAMETOOLONG, "[board] dev_root: too long");
                free(i2cdev);
                return NULL;
        }
        memcpy(i2cdev->dev_root, dev_root, strlen(dev_root) + 1);
        for (size_t i = 0; i < MAX_BUSES; i++)
                i2cdev->fds[i] = -1;
        pthread_mutex_init(&i2cdev->lock, NULL);
        return i2cdev;
}

void hw_i2cdev_free(struct hw_i2cdev *i2cdev) {
        if (i2cdev == NULL)
                return;
        for (size_t i = 0; i < MAX_BUSES; i++)
                if (i2cdev->fds[i] >= 0)
                        close(i2cdev->fds[i]);
        pthread_mutex_destroy(&i2cdev->lock);
        free(i2cdev);
}

/* Opens and checks <dev_root>/i2c-N; the fd or -errno. */
static int open_bus(const struct hw_i2cdev *i2cdev, unsigned bus, struct ph_error *error) {
        char path[PATH_MAX];
        int length = snprintf(path, sizeof(path), "%s/i2c-%u", i2cdev->dev_root, bus);
        if (length < 0 || (size_t)length >= sizeof(path))
                return ph_error_set(error, -ENAMETOOLONG, "[board] dev_root: path too long");
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                int code = errno;
                return ph_error_set(error, -code, "i2c bus %u: %s: %s%s", bus, path, strerror(code),
                                    code == ENOENT ? " (is dtparam=i2c_arm=on set and i2c-dev "
                                                     "loaded?)"
                                                   : "");
        }
        unsigned long functions = 0;
        if (ioctl(fd, I2C_FUNCS, &functions) < 0) {
                int code = errno;
                close(fd);
                return ph_error_set(error, -code,
                                    "i2c bus %u: %s is not an I2C adapter (I2C_FUNCS: %s)", bus,
                                    path, strerror(code));
        }
        if ((functions & I2C_FUNC_I2C) == 0) {
                close(fd);
                return ph_error_set(error, -ENOTSUP,
                                    "i2c bus %u: %s can do SMBus only, not plain I2C transfers",
                                    bus, path);
        }
        return fd;
}

int hw_i2cdev_transact(struct hw_i2cdev *i2cdev, const struct hw_i2c_transaction *transaction,
                       struct ph_error *error) {
        unsigned bus = transaction->bus;
        if (bus >= MAX_BUSES)
                return ph_error_set(error, -ENOENT, "i2c: no bus %u", bus);
        pthread_mutex_lock(&i2cdev->lock);
        int fd = i2cdev->fds[bus];
        if (fd < 0) {
                fd = open_bus(i2cdev, bus, error);
                if (fd >= 0)
                        i2cdev->fds[bus] = fd;
        }
        pthread_mutex_unlock(&i2cdev->lock);
        if (fd < 0)
                return fd;

        struct i2c_msg messages[2];
        unsigned count = 0;
        if (transaction->write_length > 0)
                messages[count++] = (struct i2c_msg){.addr = transaction->address,
                                                     .flags = 0,
                                                     .len = (__u16)transaction->write_length,
                                                     .buf = (__u8 *)transaction->write};
        if (transaction->read_length > 0)
                messages[count++] = (struct i2c_msg){.addr = transaction->address,
                                                     .flags = I2C_M_RD,
                                                     .len = (__u16)transaction->read_length,
                                                     .buf = transaction->read};
        struct i2c_rdwr_ioctl_data data = {.msgs = messages, .nmsgs = count};
        int result;
        do
                result = ioctl(fd, I2C_RDWR, &data);
        while (result < 0 && errno == EINTR);
        if (result < 0) {
                int code = errno;
                return ph_error_set(error, -code, "i2c bus %u, address 0x%02x: %s", bus,
                                    transaction->address, strerror(code));
        }
        return 0;
}
