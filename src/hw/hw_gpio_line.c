/* hw_gpio_line.c - GPIO lines through libgpiod v1 (Debian 12, Raspberry
 * Pi OS bookworm): see hw_gpio.h. */
#include <errno.h>
#include <gpiod.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/hw_gpio.h"

#define DEFAULT_CONSUMER "pyhost"

struct gpiod_line_handle {
        struct hw_gpio_line line; /* first: a struct hw_gpio_line * is one of these */
        struct gpiod_line *gpiod; /* requested; released in release */
        struct hw_debounce filter;
};

static struct gpiod_line_handle *handle_of(struct hw_gpio_line *line) {
        return (struct gpiod_line_handle *)line;
}

static int errno_or(int fallback) {
        return errno != 0 ? -errno : -fallback;
}

static int line_read(struct hw_gpio_line *line, bool *ret_is_active) {
        errno = 0;
        int value = gpiod_line_get_value(handle_of(line)->gpiod);
        if (value < 0)
                return errno_or(EIO);
        *ret_is_active = value != 0;
        return 0;
}

static int line_write(struct hw_gpio_line *line, bool is_active) {
        errno = 0;
        if (gpiod_line_set_value(handle_of(line)->gpiod, is_active ? 1 : 0) < 0)
                return errno_or(EIO);
        return 0;
}

static int line_event_fd(struct hw_gpio_line *line) {
        errno = 0;
        int fd = gpiod_line_event_get_fd(handle_of(line)->gpiod);
        return fd >= 0 ? fd : errno_or(EINVAL);
}

static int line_read_edge(struct hw_gpio_line *line, struct hw_gpio_edge *ret_edge) {
        struct gpiod_line_handle *handle = handle_of(line);
        const struct timespec no_wait = {0, 0};
        for (;;) {
                errno = 0;
                int ready = gpiod_line_event_wait(handle->gpiod, &no_wait);
                if (ready < 0)
                        return errno_or(EIO);
                if (ready == 0)
                        return -EAGAIN;
                struct gpiod_line_event event;
                errno = 0;
                if (gpiod_line_event_read(handle->gpiod, &event) < 0)
                        return errno_or(EIO);
                /* Kernels since 5.7 stamp v1 events with CLOCK_MONOTONIC. */
                struct hw_gpio_edge edge = {
                        .timestamp_ns = (uint64_t)event.ts.tv_sec * 1000000000u +
                                        (uint64_t)event.ts.tv_nsec,
                        .is_rising = event.event_type == GPIOD_LINE_EVENT_RISING_EDGE,
                };
                enum hw_debounce_verdict verdict = hw_debounce_filter(&handle->filter, &edge);
                if (verdict == HW_DEBOUNCE_DELIVER) {
                        *ret_edge = edge;
                        return 0;
                }
                if (verdict == HW_DEBOUNCE_DROP)
                        line->dropped_edges++;
        }
}

static void line_release(struct hw_gpio_line *line) {
        struct gpiod_line_handle *handle = handle_of(line);
        if (handle->gpiod != NULL)
                gpiod_line_release(handle->gpiod);
        free(handle);
}

static const struct hw_gpio_line_ops gpiod_line_ops = {
        .read = line_read,
        .write = line_write,
        .event_fd = line_event_fd,
        .read_edge = line_read_edge,
        .release = line_release,
};

static int request_flags(const struct hw_gpio_request *request) {
        int flags = request->is_active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
        if (request->direction == HW_GPIO_INPUT) {
                switch (request->bias) {
                case HW_GPIO_BIAS_DISABLE:
                        flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
                        break;
                case HW_GPIO_BIAS_PULL_UP:
                        flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
                        break;
                case HW_GPIO_BIAS_PULL_DOWN:
                        flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
                        break;
                case HW_GPIO_BIAS_AS_IS:
                        break;
                }
        }
        return flags;
}

int hw_gpiod_line_claim(struct gpiod_chip *chip, const char *chip_name, unsigned offset,
                        const struct hw_gpio_request *request, struct hw_gpio_line **ret_line,
                        struct ph_error *error) {
        if (offset >= gpiod_chip_num_lines(chip))
                return ph_error_set(error, -ENOENT, "gpio: %s has no line %u (it has %u)",
                                    chip_name, offset, gpiod_chip_num_lines(chip));
        struct gpiod_line_handle *handle = calloc(1, sizeof(*handle));
        if (handle == NULL)
                return ph_error_set(error, -ENOMEM, "gpio: out of memory");
        handle->line.ops = &gpiod_line_ops;
        errno = 0;
        struct gpiod_line *gpiod = gpiod_chip_get_line(chip, offset);
        if (gpiod == NULL) {
                int code = errno_or(EINVAL);
                free(handle);
                return ph_error_set(error, code, "gpio: line %u of %s: %s", offset, chip_name,
                                    strerror(-code));
        }
        struct gpiod_line_request_config config = {
                .consumer = request->consumer != NULL ? request->consumer : DEFAULT_CONSUMER,
                .flags = request_flags(request),
        };
        if (request->direction == HW_GPIO_OUTPUT)
                config.request_type = GPIOD_LINE_REQUEST_DIRECTION_OUTPUT;
        else if (request->edges != HW_GPIO_EDGES_NONE)
                config.request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
        else
                config.request_type = GPIOD_LINE_REQUEST_DIRECTION_INPUT;
        errno = 0;
        if (gpiod_line_request(gpiod, &config, request->is_initially_active ? 1 : 0) < 0) {
                int code = errno_or(EBUSY);
                const char *user = NULL;
                if (gpiod_line_update(gpiod) == 0 && gpiod_line_is_used(gpiod))
                        user = gpiod_line_consumer(gpiod);
                free(handle);
                if (user != NULL || code == -EBUSY)
                        return ph_error_set(error, -EBUSY, "gpio: line %u of %s is in use by '%s'",
                                            offset, chip_name, user != NULL ? user : "?");
                return ph_error_set(error, code, "gpio: line %u of %s: %s", offset, chip_name,
                                    strerror(-code));
        }
        handle->gpiod = gpiod;
        if (request->direction == HW_GPIO_INPUT && request->edges != HW_GPIO_EDGES_NONE) {
                int value = gpiod_line_get_value(gpiod);
                handle->filter = (struct hw_debounce){.debounce_us = request->debounce_us,
                                                      .edges = request->edges,
                                                      .is_active = value > 0};
        }
        *ret_line = &handle->line;
        return 0;
}
