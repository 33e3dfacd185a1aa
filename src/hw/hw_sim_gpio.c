#include "hw/hw_sim_gpio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* A press and its release, with up to 16 bounce pairs each. */
#define MAX_PRESS_EDGES (2 * (1 + 2 * 16))

struct raw_edge {
        uint64_t ns;
        bool is_high; /* the physical level after it */
};

struct sim_line {
        struct hw_gpio_line line; /* first: a struct hw_gpio_line * is a struct sim_line * */
        struct sim_gpio *gpio;
        int timer_fd; /* -1 unless edges were requested */
        struct hw_debounce filter;
        struct hw_gpio_edge queue[HW_GPIO_EDGE_QUEUE]; /* under gpio->lock */
        size_t head, count;
};

struct sim_gpio {
        pthread_mutex_t lock; /* guards everything below and every sim_line */
        struct sim_board_config config;
        uint64_t start_ns;
        uint64_t random_state;
        bool is_high[HW_SIM_GPIO_LINES]; /* physical levels */
        struct sim_line *claimed[HW_SIM_GPIO_LINES];
        uint64_t output_changes;
        /* The button's timeline. */
        size_t script_next;                            /* next of config.button_presses_ms */
        uint64_t script_cycle;                         /* how many times the script has repeated */
        uint64_t pending[HW_SIM_GPIO_PENDING_PRESSES]; /* injected press times, sorted */
        size_t pending_count;
        struct raw_edge edges[MAX_PRESS_EDGES]; /* of the press in progress */
        size_t edge_next, edge_count;
};

static uint64_t now_ns(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static uint64_t next_random(uint64_t *state) {
        uint64_t x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        return x * 0x2545F4914F6CDD1DULL;
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return (x > y) - (x < y);
}

/* When the next press starts, from the script or the injected ones;
 * false when no press is left. Does not consume it. */
static bool peek_press(const struct sim_gpio *gpio, uint64_t *ret_ns, bool *ret_is_pending) {
        const struct sim_board_config *config = &gpio->config;
        bool has_script = gpio->script_next < config->button_press_count &&
                          (gpio->script_cycle == 0 || config->button_repeat_ms > 0);
        uint64_t script_ns = 0;
        if (has_script)
                script_ns =
                        gpio->start_ns + ((uint64_t)config->button_presses_ms[gpio->script_next] +
                                          gpio->script_cycle * (uint64_t)config->button_repeat_ms) *
                                                 1000000u;
        if (gpio->pending_count > 0 && (!has_script || gpio->pending[0] < script_ns)) {
                *ret_ns = gpio->pending[0];
                *ret_is_pending = true;
                return true;
        }
        *ret_ns = script_ns;
        *ret_is_pending = false;
        return has_script;
}

/* `count` toggles at sorted seeded times in (start, start + span]. */
static size_t add_bounces(struct sim_gpio *gpio, struct raw_edge *out, uint64_t start,
                          bool is_final_high) {
        unsigned toggles = 2 * gpio->config.button_bounces;
        uint64_t span = (uint64_t)gpio->config.button_bounce_us * 1000u;
        uint64_t offsets[32];
        for (unsigned i = 0; i < toggles; i++)
                offsets[i] =
                        span == 0 ? (uint64_t)i + 1 : 1 + next_random(&gpio->random_state) % span;
        qsort(offsets, toggles, sizeof(offsets[0]), compare_u64);
        for (unsigned i = 0; i < toggles; i++) {
                out[i].ns = start + offsets[i] + i; /* + i: strictly increasing */
                out[i].is_high =
                        (i % 2 == 0) ? !is_final_high : is_final_high; /* away, back, ... */
        }
        return toggles;
}

/* Lays out the edges of the next press; false when none is left. */
static bool start_next_press(struct sim_gpio *gpio) {
        uint64_t at = 0;
        bool is_pending = false;
        if (!peek_press(gpio, &at, &is_pending))
                return false;
        if (is_pending) {
                memmove(gpio->pending, gpio->pending + 1,
                        (gpio->pending_count - 1) * sizeof(gpio->pending[0]));
                gpio->pending_count--;
        } else if (++gpio->script_next == gpio->config.button_press_count &&
                   gpio->config.button_repeat_ms > 0) {
                gpio->script_next = 0;
                gpio->script_cycle++;
        }
        /* A press that would start inside the last one waits for its end. */
        if (gpio->edge_count > 0 && at <= gpio->edges[gpio->edge_count - 1].ns)
                at = gpio->edges[gpio->edge_count - 1].ns + 1000000u;
        struct raw_edge *edges = gpio->edges;
        size_t count = 0;
        edges[count++] = (struct raw_edge){.ns = at, .is_high = false}; /* pressed: low */
        count += add_bounces(gpio, &edges[count], at, false);
        uint64_t release = at + (uint64_t)gpio->config.button_hold_ms * 1000000u;
        edges[count++] = (struct raw_edge){.ns = release, .is_high = true};
        count += add_bounces(gpio, &edges[count], release, true);
        gpio->edge_count = count;
        gpio->edge_next = 0;
        return true;
}

/* The next raw edge of the button, without consuming it. */
static const struct raw_edge *peek_edge(struct sim_gpio *gpio) {
        if (gpio->edge_next == gpio->edge_count && !start_next_press(gpio))
                return NULL;
        return &gpio->edges[gpio->edge_next];
}

static bool logical(const struct hw_gpio_line *line, bool is_high) {
        return is_high != line->request.is_active_low;
}

/* Plays the button's raw edges up to `now` into its line (if claimed with
 * edges) through the debounce filter. Under the lock. */
static void advance(struct sim_gpio *gpio, uint64_t now) {
        unsigned offset = gpio->config.button_line;
        struct sim_line *line = gpio->claimed[offset];
        const struct raw_edge *raw;
        while ((raw = peek_edge(gpio)) != NULL && raw->ns <= now) {
                gpio->is_high[offset] = raw->is_high;
                gpio->edge_next++;
                if (line == NULL || line->timer_fd < 0)
                        continue;
                struct hw_gpio_edge edge = {.timestamp_ns = raw->ns,
                                            .is_rising = logical(&line->line, raw->is_high)};
                enum hw_debounce_verdict verdict = hw_debounce_filter(&line->filter, &edge);
                if (verdict == HW_DEBOUNCE_DROP) {
                        line->line.dropped_edges++;
                } else if (verdict == HW_DEBOUNCE_DELIVER) {
                        if (line->count == HW_GPIO_EDGE_QUEUE) {
                                line->line.dropped_edges++;
                                continue;
                        }
                        line->queue[(line->head + line->count) % HW_GPIO_EDGE_QUEUE] = edge;
                        line->count++;
                }
        }
}

/* Arms the line's timer: at once while edges wait, else at the next raw
 * edge, else never. Under the lock. */
static void arm(struct sim_line *line) {
        if (line->timer_fd < 0)
                return;
        struct itimerspec when = {0};
        const struct raw_edge *raw = NULL;
        if (line->count > 0) {
                when.it_value.tv_nsec = 1; /* absolute 1 ns: long past, fires now */
        } else if ((raw = peek_edge(line->gpio)) != NULL) {
                when.it_value.tv_sec = (time_t)(raw->ns / 1000000000u);
                when.it_value.tv_nsec = (long)(raw->ns % 1000000000u);
        }
        (void)timerfd_settime(line->timer_fd, TFD_TIMER_ABSTIME, &when, NULL);
}

static struct sim_line *sim_line_of(struct hw_gpio_line *line) {
        return (struct sim_line *)line;
}

static int line_read(struct hw_gpio_line *base, bool *ret_is_active) {
        struct sim_line *line = sim_line_of(base);
        struct sim_gpio *gpio = line->gpio;
        pthread_mutex_lock(&gpio->lock);
        if (base->offset == gpio->config.button_line) {
                advance(gpio, now_ns());
                arm(line);
        }
        *ret_is_active = logical(base, gpio->is_high[base->offset]);
        pthread_mutex_unlock(&gpio->lock);
        return 0;
}

static int line_write(struct hw_gpio_line *base, bool is_active) {
        struct sim_line *line = sim_line_of(base);
        struct sim_gpio *gpio = line->gpio;
        bool is_high = is_active != base->request.is_active_low;
        pthread_mutex_lock(&gpio->lock);
        bool is_change = gpio->is_high[base->offset] != is_high;
        gpio->is_high[base->offset] = is_high;
        if (is_change)
                gpio->output_changes++;
        bool is_relay = base->offset == gpio->config.relay_line;
        pthread_mutex_unlock(&gpio->lock);
        if (is_change)
                log_write(LOG_LEVEL_INFO, "board", "%s (line %u) %s", is_relay ? "relay" : "output",
                          base->offset, is_active ? "on" : "off");
        return 0;
}

static int line_event_fd(struct hw_gpio_line *base) {
        return sim_line_of(base)->timer_fd;
}

static int line_read_edge(struct hw_gpio_line *base, struct hw_gpio_edge *ret_edge) {
        struct sim_line *line = sim_line_of(base);
        struct sim_gpio *gpio = line->gpio;
        uint64_t expirations;
        (void)!read(line->timer_fd, &expirations, sizeof(expirations)); /* drain; EAGAIN is fine */
        pthread_mutex_lock(&gpio->lock);
        advance(gpio, now_ns());
        int result = -EAGAIN;
        if (line->count > 0) {
                *ret_edge = line->queue[line->head];
                line->head = (line->head + 1) % HW_GPIO_EDGE_QUEUE;
                line->count--;
                result = 0;
        }
        arm(line);
        pthread_mutex_unlock(&gpio->lock);
        return result;
}

static void line_release(struct hw_gpio_line *base) {
        struct sim_line *line = sim_line_of(base);
        struct sim_gpio *gpio = line->gpio;
        pthread_mutex_lock(&gpio->lock);
        gpio->claimed[base->offset] = NULL;
        pthread_mutex_unlock(&gpio->lock);
        if (line->timer_fd >= 0)
                close(line->timer_fd);
        free(line);
}

static const struct hw_gpio_line_ops sim_line_ops = {
        .read = line_read,
        .write = line_write,
        .event_fd = line_event_fd,
        .read_edge = line_read_edge,
        .release = line_release,
};

int hw_sim_gpio_claim(struct sim_gpio *gpio, unsigned offset, const struct hw_gpio_request *request,
                      struct hw_gpio_line **ret_line, struct ph_error *error) {
        if (offset >= HW_SIM_GPIO_LINES)
                return ph_error_set(error, -ENOENT, "sim gpio: no line %u (it has %d)", offset,
                                    HW_SIM_GPIO_LINES);
        bool is_button = offset == gpio->config.button_line;
        if (is_button && request->direction == HW_GPIO_OUTPUT)
                return ph_error_set(error, -EPERM,
                                    "sim gpio: line %u is the push button: input only", offset);
        struct sim_line *line = calloc(1, sizeof(*line));
        if (line == NULL)
                return ph_error_set(error, -ENOMEM, "sim gpio: out of memory");
        line->line.ops = &sim_line_ops;
        line->line.offset = offset;
        line->line.request = *request;
        line->gpio = gpio;
        line->timer_fd = -1;
        if (request->direction == HW_GPIO_INPUT && request->edges != HW_GPIO_EDGES_NONE) {
                line->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
                if (line->timer_fd < 0) {
                        int code = -errno;
                        free(line);
                        return ph_error_set(error, code, "sim gpio: line %u: timerfd: %s", offset,
                                            strerror(-code));
                }
        }
        pthread_mutex_lock(&gpio->lock);
        if (gpio->claimed[offset] != NULL) {
                pthread_mutex_unlock(&gpio->lock);
                if (line->timer_fd >= 0)
                        close(line->timer_fd);
                free(line);
                return ph_error_set(error, -EBUSY, "sim gpio: line %u is claimed already", offset);
        }
        if (is_button)
                advance(gpio, now_ns()); /* earlier presses are history, not events */
        if (request->direction == HW_GPIO_OUTPUT) {
                bool is_high = request->is_initially_active != request->is_active_low;
                if (gpio->is_high[offset] != is_high)
                        gpio->output_changes++;
                gpio->is_high[offset] = is_high;
        } else if (!is_button) {
                gpio->is_high[offset] = request->bias == HW_GPIO_BIAS_PULL_UP;
        }
        line->filter =
                (struct hw_debounce){.debounce_us = request->debounce_us,
                                     .edges = request->edges,
                                     .is_active = logical(&line->line, gpio->is_high[offset])};
        gpio->claimed[offset] = line;
        if (is_button)
                arm(line);
        pthread_mutex_unlock(&gpio->lock);
        *ret_line = &line->line;
        return 0;
}

int hw_sim_gpio_press(struct sim_gpio *gpio, uint32_t delay_ms) {
        uint64_t at = now_ns() + (uint64_t)delay_ms * 1000000u;
        pthread_mutex_lock(&gpio->lock);
        if (gpio->pending_count == HW_SIM_GPIO_PENDING_PRESSES) {
                pthread_mutex_unlock(&gpio->lock);
                return -ENOSPC;
        }
        gpio->pending[gpio->pending_count++] = at;
        qsort(gpio->pending, gpio->pending_count, sizeof(gpio->pending[0]), compare_u64);
        struct sim_line *line = gpio->claimed[gpio->config.button_line];
        if (line != NULL)
                arm(line);
        pthread_mutex_unlock(&gpio->lock);
        return 0;
}

uint64_t hw_sim_gpio_output_changes(struct sim_gpio *gpio) {
        pthread_mutex_lock(&gpio->lock);
        uint64_t count = gpio->output_changes;
        pthread_mutex_unlock(&gpio->lock);
        return count;
}

struct sim_gpio *hw_sim_gpio_new(const struct sim_board_config *config, struct ph_error *error) {
        struct sim_gpio *gpio = calloc(1, sizeof(*gpio));
        if (gpio == NULL) {
                ph_error_set(error, -ENOMEM, "sim gpio: out of memory");
                return NULL;
        }
        gpio->config = *config;
        if (gpio->config.button_bounces > 16)
                gpio->config.button_bounces = 16;
        gpio->start_ns = now_ns();
        gpio->random_state = 0xA0761D6478BD642FULL ^ (uint64_t)config->seed;
        if (config->button_line < HW_SIM_GPIO_LINES)
                gpio->is_high[config->button_line] = true; /* released: pulled up */
        pthread_mutex_init(&gpio->lock, NULL);
        return gpio;
}

void hw_sim_gpio_free(struct sim_gpio *gpio) {
        if (gpio == NULL)
                return;
        pthread_mutex_destroy(&gpio->lock);
        free(gpio);
}
