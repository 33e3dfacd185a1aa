/* bench_i2c: what one I2C transaction costs the calling thread on the
 * simulated bus: hw_i2c_transact with the argument checks, the board's
 * dispatch and lock, and the BME280 model (a register-pointer write and a
 * read of the 8 data bytes, as a driver's poll does).
 *
 * Prints one JSON object: transaction_ns_p50, transaction_ns_p99,
 * transactions.
 *
 * On a real board, `bench_i2c --dev-root /dev --bus 1 --address 0x76`
 * reads the chip id register (0xD0) through the Linux backend (i2c-dev,
 * I2C_RDWR) instead, prints it and times the same transactions: the
 * check on a Raspberry Pi that the README describes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/hw.h"
#include "hw/hw_linux.h"

static int compare(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double now_ns(void) {
        struct timespec time;
        clock_gettime(CLOCK_MONOTONIC, &time);
        return (double)time.tv_sec * 1e9 + (double)time.tv_nsec;
}

int main(int argc, char **argv) {
        size_t count = 20000;
        const char *dev_root = NULL;
        unsigned bus = 1;
        unsigned long address = 0x76;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--dev-root") == 0 && i + 1 < argc)
                        dev_root = argv[++i];
                else if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc)
                        bus = (unsigned)strtoul(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc)
                        address = strtoul(argv[++i], NULL, 0);
                else
                        count = (size_t)strtoul(argv[i], NULL, 10);
        }
        struct host_config config;
        config_set_defaults(&config);
        struct ph_error error = {0};
        struct hw_board *board = NULL;
        if (dev_root != NULL) {
                snprintf(config.board.linux_board.dev_root,
                         sizeof(config.board.linux_board.dev_root), "%s", dev_root);
                config.board.linux_board.led_driver = CONFIG_LED_DRIVER_NONE;
                config.board.linux_board.dht22_count = 0;
                board = hw_linux_new(&config.board.linux_board, NULL, &error);
                count = count > 1000 ? 1000 : count; /* a real bus: 100 kHz */
        } else {
                config.board.sim.i2c_bus = bus;
                board = hw_board_new(&config.board, &error);
        }
        double *times = calloc(count == 0 ? 1 : count, sizeof(double));
        if (board == NULL || times == NULL || count == 0) {
                fprintf(stderr, "bench_i2c: %s\n", error.message);
                return 1;
        }
        uint8_t reg = 0xD0, id = 0;
        struct hw_i2c_transaction probe = {.bus = bus,
                                           .address = (uint8_t)address,
                                           .write = &reg,
                                           .write_length = 1,
                                           .read = &id,
                                           .read_length = 1};
        int result = hw_i2c_transact(board, &probe, &error);
        if (result < 0) {
                fprintf(stderr, "bench_i2c: %s (%s)\n", error.message,
                        hw_i2c_status_name(hw_i2c_status_of(result)));
                return 1;
        }
        if (dev_root != NULL)
                fprintf(stderr, "bench_i2c: bus %u, 0x%02lx: register 0xD0 = 0x%02x%s\n", bus,
                        address, id, id == 0x60 ? " (a BME280)" : "");
        uint8_t data_reg = 0xF7, data[8];
        struct hw_i2c_transaction burst = {.bus = bus,
                                           .address = (uint8_t)address,
                                           .write = &data_reg,
                                           .write_length = 1,
                                           .read = data,
                                           .read_length = sizeof(data)};
        for (size_t i = 0; i < count; i++) {
                double start = now_ns();
                result = hw_i2c_transact(board, &burst, NULL);
                times[i] = now_ns() - start;
                if (result < 0)
                        return 1;
        }
        hw_board_free(board);
        qsort(times, count, sizeof(double), compare);
        printf("{\"transaction_ns_p50\": %.0f, \"transaction_ns_p99\": %.0f, "
               "\"transactions\": %zu}\n",
               times[count / 2], times[count * 99 / 100], count);
        free(times);
        return 0;
}
