/* hw_i2c.h - I2C transactions on a bus of the board.
 *
 * A transaction is an optional write followed by an optional read, both to
 * one 7-bit address, joined by a repeated start (one I2C_RDWR ioctl with
 * one or two messages on Linux; the simulated bus answers from its device
 * models, see hw_sim_bme280.h). Lengths are bounded by HW_I2C_MAX_LENGTH.
 *
 * Errors are values: hw_i2c_transact returns 0 or -errno and
 * hw_i2c_status_of_errno turns that into the words a plugin sees (nack,
 * timeout, bus error, ...). Grants and rate limits are the caller's job:
 * this layer knows nothing of plugins.
 *
 * Threads: any thread may call hw_i2c_transact; a backend serialises
 * transactions on one bus itself. */
#ifndef PH_HW_I2C_H
#define PH_HW_I2C_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct hw_board;

/* At most this many bytes are written or read in one transaction. */
#define HW_I2C_MAX_LENGTH 256
/* 7-bit addresses outside 0x08..0x77 are reserved by the I2C spec. */
#define HW_I2C_FIRST_ADDRESS 0x08
#define HW_I2C_LAST_ADDRESS 0x77

struct hw_i2c_transaction {
        unsigned bus;         /* N of /dev/i2c-N */
        uint8_t address;      /* 7-bit */
        const uint8_t *write; /* write_length bytes, sent first; borrowed */
        size_t write_length;  /* 0: no write */
        uint8_t *read;        /* read_length bytes, filled on success; borrowed */
        size_t read_length;   /* 0: no read */
};

/* The outcome a plugin sees; mirrors the planned WIT `i2c-error`. */
enum hw_i2c_status {
        HW_I2C_OK,
        HW_I2C_NACK,        /* no device acknowledged the address or a byte */
        HW_I2C_TIMEOUT,     /* the bus stayed busy (clock stretching, stuck SDA) */
        HW_I2C_BUS_ERROR,   /* arbitration lost, adapter error, anything else */
        HW_I2C_NO_SUCH_BUS, /* the bus does not exist or is not an adapter */
        HW_I2C_INVALID,     /* bad address or lengths: the caller's mistake */
};

/* Runs `transaction` (borrowed for the call). Returns 0 or -errno:
 * -EINVAL (address outside 0x08..0x77, both lengths 0), -EMSGSIZE (a
 * length above HW_I2C_MAX_LENGTH), -ENXIO or -EREMOTEIO (NACK),
 * -ETIMEDOUT, -EIO, -ENOENT (no such bus), -ENOTTY (not an adapter),
 * -ENOTSUP (the backend has no I2C). `error` (may be NULL) names the
 * device file or simulated bus. */
PH_MUST_USE int hw_i2c_transact(struct hw_board *board,
                                const struct hw_i2c_transaction *transaction,
                                struct ph_error *error);

/* Checks the address and lengths as hw_i2c_transact does (backends call
 * it first); 0, -EINVAL or -EMSGSIZE. */
PH_MUST_USE int hw_i2c_check(const struct hw_i2c_transaction *transaction, struct ph_error *error);

/* The Linux implementation (hw_i2cdev.c): <dev_root>/i2c-N, opened on
 * first use (O_RDWR, checked with I2C_FUNCS for plain I2C transfers) and
 * kept open until hw_i2cdev_free; each transaction is one I2C_RDWR ioctl.
 * Any thread may transact; opening is under the module's lock, the
 * ioctls are not (the kernel serialises an adapter's transfers). */
struct hw_i2cdev;
/* Borrows `dev_root` for the call. Free with hw_i2cdev_free. */
PH_MUST_USE struct hw_i2cdev *hw_i2cdev_new(const char *dev_root, struct ph_error *error);
void hw_i2cdev_free(struct hw_i2cdev *i2cdev); /* accepts NULL */
/* As hw_i2c_transact, without its checks. */
PH_MUST_USE int hw_i2cdev_transact(struct hw_i2cdev *i2cdev,
                                   const struct hw_i2c_transaction *transaction,
                                   struct ph_error *error);

/* `code` is hw_i2c_transact's result. */
enum hw_i2c_status hw_i2c_status_of(int code);
const char *hw_i2c_status_name(enum hw_i2c_status status);

#endif
