/* hw_caps.c - the backend-independent half of the capabilities in
 * hw_i2c.h, hw_gpio.h, hw_pwm.h, hw_iio_channel.h and hw_w1.h: argument
 * checks, dispatch through the board's ops, the debounce filter and the
 * errno -> status tables. Owns nothing; thread-safe. */
#include <errno.h>
#include <string.h>

#include "hw/hw.h"

static int not_supported(struct hw_board *board, const char *what, struct ph_error *error) {
        return ph_error_set(error, -ENOTSUP, "board '%s' has no %s", board->ops->name, what);
}

/* ---- I2C ---- */

int hw_i2c_check(const struct hw_i2c_transaction *transaction, struct ph_error *error) {
        if (transaction->address < HW_I2C_FIRST_ADDRESS ||
            transaction->address > HW_I2C_LAST_ADDRESS)
                return ph_error_set(error, -EINVAL,
                                    "i2c bus %u: address 0x%02x is outside 0x08..0x77",
                                    transaction->bus, transaction->address);
        if (transaction->write_length == 0 && transaction->read_length == 0)
                return ph_error_set(error, -EINVAL, "i2c bus %u: nothing to write or read",
                                    transaction->bus);
        if (transaction->write_length > HW_I2C_MAX_LENGTH ||
            transaction->read_length > HW_I2C_MAX_LENGTH)
                return ph_error_set(error, -EMSGSIZE, "i2c bus %u: at most %d bytes each way",
                                    transaction->bus, HW_I2C_MAX_LENGTH);
        if ((transaction->write_length > 0 && transaction->write == NULL) ||
            (transaction->read_length > 0 && transaction->read == NULL))
                return ph_error_set(error, -EINVAL, "i2c bus %u: no buffer", transaction->bus);
        return 0;
}

int hw_i2c_transact(struct hw_board *board, const struct hw_i2c_transaction *transaction,
                    struct ph_error *error) {
        if (board->ops->i2c_transact == NULL)
                return not_supported(board, "I2C", error);
        int result = hw_i2c_check(transaction, error);
        return result < 0 ? result : board->ops->i2c_transact(board, transaction, error);
}

/* Linux adapters report a NACK as ENXIO (most) or EREMOTEIO
 * (i2c-bcm2835, i2c-designware); a stretched clock or stuck bus as
 * ETIMEDOUT; arbitration loss as EAGAIN; the rest as EIO or EPROTO. */
enum hw_i2c_status hw_i2c_status_of(int code) {
        switch (-code) {
        case 0:
                return HW_I2C_OK;
        case ENXIO:
        case EREMOTEIO:
                return HW_I2C_NACK;
        case ETIMEDOUT:
                return HW_I2C_TIMEOUT;
        case ENOENT:
        case ENODEV:
        case ENOTTY:
        case ENOTSUP:
                return HW_I2C_NO_SUCH_BUS;
        case EINVAL:
        case EMSGSIZE:
                return HW_I2C_INVALID;
        default:
                return HW_I2C_BUS_ERROR;
        }
}

const char *hw_i2c_status_name(enum hw_i2c_status status) {
        static const char *const names[] = {"ok",        "nack",        "timeout",
                                            "bus-error", "no-such-bus", "invalid"};
        return (size_t)status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}

/* ---- GPIO ---- */

int hw_gpio_check_request(const struct hw_gpio_request *request, struct ph_error *error) {
        if (request->direction != HW_GPIO_INPUT && request->direction != HW_GPIO_OUTPUT)
                return ph_error_set(error, -EINVAL, "gpio: direction %d", (int)request->direction);
        if ((unsigned)request->bias > HW_GPIO_BIAS_PULL_DOWN)
                return ph_error_set(error, -EINVAL, "gpio: bias %d", (int)request->bias);
        if ((unsigned)request->edges > HW_GPIO_EDGES_BOTH)
                return ph_error_set(error, -EINVAL, "gpio: edges %d", (int)request->edges);
        if (request->debounce_us > HW_GPIO_MAX_DEBOUNCE_US)
                return ph_error_set(error, -EINVAL, "gpio: debounce %u us is above %u us",
                                    request->debounce_us, HW_GPIO_MAX_DEBOUNCE_US);
        if (request->direction == HW_GPIO_OUTPUT &&
            (request->edges != HW_GPIO_EDGES_NONE || request->debounce_us != 0))
                return ph_error_set(error, -EINVAL, "gpio: an output has no edges or debounce");
        return 0;
}

int hw_gpio_claim(struct hw_board *board, unsigned offset, const struct hw_gpio_request *request,
                  struct hw_gpio_line **ret_line, struct ph_error *error) {
        if (board->ops->gpio_claim == NULL)
                return not_supported(board, "GPIO", error);
        int result = hw_gpio_check_request(request, error);
        if (result < 0)
                return result;
        struct hw_gpio_line *line = NULL;
        result = board->ops->gpio_claim(board, offset, request, &line, error);
        if (result < 0)
                return result;
        line->offset = offset;
        line->request = *request;
        line->request.consumer = NULL;
        *ret_line = line;
        return 0;
}

int hw_gpio_read(struct hw_gpio_line *line, bool *ret_is_active) {
        return line->ops->read(line, ret_is_active);
}

int hw_gpio_write(struct hw_gpio_line *line, bool is_active) {
        if (line->request.direction != HW_GPIO_OUTPUT)
                return -EPERM;
        return line->ops->write(line, is_active);
}

int hw_gpio_event_fd(struct hw_gpio_line *line) {
        if (line->request.direction != HW_GPIO_INPUT || line->request.edges == HW_GPIO_EDGES_NONE)
                return -EINVAL;
        return line->ops->event_fd(line);
}

int hw_gpio_read_edge(struct hw_gpio_line *line, struct hw_gpio_edge *ret_edge) {
        if (line->request.direction != HW_GPIO_INPUT || line->request.edges == HW_GPIO_EDGES_NONE)
                return -EINVAL;
        return line->ops->read_edge(line, ret_edge);
}

uint64_t hw_gpio_dropped_edges(const struct hw_gpio_line *line) {
        return line->dropped_edges;
}

void hw_gpio_release(struct hw_gpio_line *line) {
        if (line != NULL)
                line->ops->release(line);
}

enum hw_debounce_verdict hw_debounce_filter(struct hw_debounce *filter,
                                            const struct hw_gpio_edge *edge) {
        if (edge->is_rising == filter->is_active)
                return HW_DEBOUNCE_DROP; /* repeats the level: a bounce we missed half of */
        if (filter->has_edge && edge->timestamp_ns >= filter->last_ns &&
            edge->timestamp_ns - filter->last_ns < (uint64_t)filter->debounce_us * 1000u)
                return HW_DEBOUNCE_DROP;
        filter->is_active = edge->is_rising;
        filter->has_edge = true;
        filter->last_ns = edge->timestamp_ns;
        bool is_wanted = filter->edges == HW_GPIO_EDGES_BOTH ||
                         (filter->edges == HW_GPIO_EDGES_RISING && edge->is_rising) ||
                         (filter->edges == HW_GPIO_EDGES_FALLING && !edge->is_rising);
        return is_wanted ? HW_DEBOUNCE_DELIVER : HW_DEBOUNCE_UNWANTED;
}

/* ---- PWM ---- */

int hw_pwm_check(const struct hw_pwm_state *state, struct ph_error *error) {
        if (state->period_ns == 0 || state->period_ns > HW_PWM_MAX_PERIOD_NS)
                return ph_error_set(error, -EINVAL, "pwm: period %u ns is outside 1..%u",
                                    state->period_ns, HW_PWM_MAX_PERIOD_NS);
        if (state->duty_ns > state->period_ns)
                return ph_error_set(error, -EINVAL, "pwm: duty %u ns is above the period %u ns",
                                    state->duty_ns, state->period_ns);
        return 0;
}

int hw_pwm_set(struct hw_board *board, unsigned channel, const struct hw_pwm_state *state,
               struct ph_error *error) {
        if (board->ops->pwm_set == NULL)
                return not_supported(board, "PWM", error);
        int result = hw_pwm_check(state, error);
        return result < 0 ? result : board->ops->pwm_set(board, channel, state, error);
}

int hw_pwm_get(struct hw_board *board, unsigned channel, struct hw_pwm_state *ret_state,
               struct ph_error *error) {
        if (board->ops->pwm_get == NULL)
                return not_supported(board, "PWM", error);
        return board->ops->pwm_get(board, channel, ret_state, error);
}

/* ---- IIO, w1 ---- */

int hw_iio_channel_read(struct hw_board *board, unsigned device, const char *channel,
                        enum hw_iio_value value, double *ret_value, struct ph_error *error) {
        if (board->ops->iio_read == NULL)
                return not_supported(board, "IIO devices", error);
        return board->ops->iio_read(board, device, channel, value, ret_value, error);
}

int hw_w1_read_celsius(struct hw_board *board, const char *id, double *ret_celsius,
                       struct ph_error *error) {
        if (!hw_w1_id_is_valid(id))
                return ph_error_set(error, -EINVAL,
                                    "w1: '%s' is not a w1 id (like 28-0000075a1b2c)", id);
        if (board->ops->w1_read_celsius == NULL)
                return not_supported(board, "1-Wire", error);
        return board->ops->w1_read_celsius(board, id, ret_celsius, error);
}

bool hw_w1_id_is_valid(const char *id) {
        if (strlen(id) != HW_W1_ID_LENGTH || id[2] != '-')
                return false;
        for (size_t i = 0; i < HW_W1_ID_LENGTH; i++) {
                if (i == 2)
                        continue;
                char c = id[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return false;
        }
        return true;
}
