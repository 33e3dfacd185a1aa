/* hw_gpio.h - general GPIO lines: claim, read, write, edge events.
 *
 * A line is claimed once (one owner; a second claim is -EBUSY) as an input
 * (bias, active-low, debounce, which edges to report) or an output (its
 * initial value), and released with hw_gpio_release. Values are logical:
 * with is_active_low, "active" is the low level. Edges are logical too
 * (is_rising: became active) and carry the kernel's CLOCK_MONOTONIC
 * timestamp (the simulated board's scripted time, on the same clock).
 *
 * Edge delivery: hw_gpio_event_fd gives a file descriptor that polls
 * readable (POLLIN) while hw_gpio_read_edge has an edge to return; the
 * owner polls it in its own loop and drains it. Debounce (both backends,
 * hw_debounce.c; libgpiod v1 has none in the kernel): the first edge of a
 * burst is delivered at once with its own timestamp, every edge within
 * debounce_us of the last delivered one, and an edge that would repeat the
 * last delivered direction, is dropped and counted. The queue of
 * undelivered edges is bounded (HW_GPIO_EDGE_QUEUE); edges beyond it are
 * dropped and counted.
 *
 * Threads: a claimed line belongs to one owner; its functions may be
 * called from any one thread at a time. Claims and releases may come from
 * any thread (the backend locks its table of lines). Every line is
 * released before its board is freed. */
#ifndef PH_HW_GPIO_H
#define PH_HW_GPIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

struct hw_board;

#define HW_GPIO_EDGE_QUEUE 64
#define HW_GPIO_MAX_DEBOUNCE_US 1000000u

enum hw_gpio_direction { HW_GPIO_INPUT, HW_GPIO_OUTPUT };
enum hw_gpio_bias {
        HW_GPIO_BIAS_AS_IS,
        HW_GPIO_BIAS_DISABLE,
        HW_GPIO_BIAS_PULL_UP,
        HW_GPIO_BIAS_PULL_DOWN
};
enum hw_gpio_edges {
        HW_GPIO_EDGES_NONE,
        HW_GPIO_EDGES_RISING,
        HW_GPIO_EDGES_FALLING,
        HW_GPIO_EDGES_BOTH
};

struct hw_gpio_request {
        enum hw_gpio_direction direction;
        bool is_active_low;
        /* Inputs only. */
        enum hw_gpio_bias bias;
        enum hw_gpio_edges edges;
        uint32_t debounce_us; /* 0..HW_GPIO_MAX_DEBOUNCE_US */
        /* Outputs only. */
        bool is_initially_active;
        /* Shown to other users of the chip (gpioinfo); borrowed for the
         * call; NULL: "pyhost". */
        const char *consumer;
};

struct hw_gpio_edge {
        uint64_t timestamp_ns; /* CLOCK_MONOTONIC */
        bool is_rising;        /* became active */
};

struct hw_gpio_line;

struct hw_gpio_line_ops {
        int (*read)(struct hw_gpio_line *line, bool *ret_is_active);
        int (*write)(struct hw_gpio_line *line, bool is_active);
        int (*event_fd)(struct hw_gpio_line *line);
        int (*read_edge)(struct hw_gpio_line *line, struct hw_gpio_edge *ret_edge);
        void (*release)(struct hw_gpio_line *line);
};

/* Backends embed this first in their line struct. */
struct hw_gpio_line {
        const struct hw_gpio_line_ops *ops;
        unsigned offset;
        struct hw_gpio_request request; /* consumer set to NULL */
        uint64_t dropped_edges;         /* debounced or queue full; owner's thread */
};

/* Claims line `offset` of the board's GPIO chip. `request` is borrowed for
 * the call. On success *ret_line is the owner's until hw_gpio_release.
 * -EINVAL (bad request), -EBUSY (claimed, by us or another program),
 * -ENOENT (no such line), -ENOTSUP (backend has no GPIO); `error` names
 * the chip and line. */
PH_MUST_USE int hw_gpio_claim(struct hw_board *board, unsigned offset,
                              const struct hw_gpio_request *request, struct hw_gpio_line **ret_line,
                              struct ph_error *error);

/* Logical value of an input, or the value last written to an output. */
PH_MUST_USE int hw_gpio_read(struct hw_gpio_line *line, bool *ret_is_active);

/* Outputs only (-EPERM on an input). */
PH_MUST_USE int hw_gpio_write(struct hw_gpio_line *line, bool is_active);

/* The pollable descriptor of an input claimed with edges; -EINVAL
 * otherwise. Owned by the line: never close it. */
int hw_gpio_event_fd(struct hw_gpio_line *line);

/* The next debounced edge: 0, -EAGAIN when there is none now, or -errno.
 * Never blocks. */
PH_MUST_USE int hw_gpio_read_edge(struct hw_gpio_line *line, struct hw_gpio_edge *ret_edge);

/* Edges dropped by debounce or a full queue since the claim. */
uint64_t hw_gpio_dropped_edges(const struct hw_gpio_line *line);

/* An output is left at its current value (the caller applies its safe
 * state first). Accepts NULL. */
void hw_gpio_release(struct hw_gpio_line *line);

/* The debounce filter both backends apply (see the top of this file).
 * `is_active` starts as the line's value at the claim. */
struct hw_debounce {
        uint32_t debounce_us;
        enum hw_gpio_edges edges;
        bool is_active;   /* the level after the last accepted edge */
        bool has_edge;    /* an edge was accepted already */
        uint64_t last_ns; /* its timestamp */
};

/* Whether `edge` goes to the owner; updates the filter's level either
 * way. An edge of the unwanted direction changes the level but is not
 * delivered (and not counted as dropped). */
enum hw_debounce_verdict { HW_DEBOUNCE_DELIVER, HW_DEBOUNCE_DROP, HW_DEBOUNCE_UNWANTED };
enum hw_debounce_verdict hw_debounce_filter(struct hw_debounce *filter,
                                            const struct hw_gpio_edge *edge);

/* The Linux implementation (hw_gpio_line.c, libgpiod v1): requests line
 * `offset` of `chip` (borrowed; must outlive the line; `chip_name` only
 * for messages). Inputs with edges are requested for both edges (the
 * filter needs both to follow the level) and their event fd is the
 * kernel's line-event fd; the kernel keeps up to 16 edges (v1 drops more
 * without telling). */
struct gpiod_chip;
PH_MUST_USE int hw_gpiod_line_claim(struct gpiod_chip *chip, const char *chip_name, unsigned offset,
                                    const struct hw_gpio_request *request,
                                    struct hw_gpio_line **ret_line, struct ph_error *error);

/* 0 or -EINVAL (`error` names the bad field). */
PH_MUST_USE int hw_gpio_check_request(const struct hw_gpio_request *request,
                                      struct ph_error *error);

#endif
