/* abi_hw.c - the grants of the 0.1.1 hardware interfaces (gpio, i2c, pwm,
 * iio, onewire), their rate limits, and the safe state of a plugin's
 * outputs.
 *
 * A grant names the target down to the bus and address, line, channel,
 * device or w1 id (config.h, struct plugin_grants); developer mode
 * (is_any_pin) allows every target. The checks run on the calling
 * plugin's thread, under its lock, with the sandbox (internal.h) that only
 * that thread touches. sandbox_hw_safe runs under the same lock when the
 * plugin crashes, is quarantined or unloaded: the board's locks it takes
 * (through hw_gpio_write, hw_pwm_set) are leaves, as for the LEDs. */
#include <stdio.h>
#include <time.h>

#include "core/log.h"
#include "plugin/internal.h"

bool sandbox_i2c_is_granted(const struct plugin_grants *grants, unsigned bus, unsigned address) {
        if (!grants->i2c)
                return false;
        if (grants->is_any_pin)
                return true;
        for (size_t i = 0; i < grants->i2c_device_count; i++)
                if (grants->i2c_devices[i].bus == bus && grants->i2c_devices[i].address == address)
                        return true;
        return false;
}

bool sandbox_line_is_granted(const struct plugin_grants *grants, unsigned line, bool is_output) {
        if (!grants->gpio)
                return false;
        if (grants->is_any_pin)
                return true;
        if (is_output) {
                for (size_t i = 0; i < grants->gpio_output_count; i++)
                        if (grants->gpio_outputs[i].line == line)
                                return true;
                return false;
        }
        for (size_t i = 0; i < grants->gpio_input_count; i++)
                if (grants->gpio_inputs[i] == line)
                        return true;
        return false;
}

bool sandbox_pwm_is_granted(const struct plugin_grants *grants, unsigned channel) {
        if (!grants->pwm)
                return false;
        if (grants->is_any_pin)
                return true;
        for (size_t i = 0; i < grants->pwm_channel_count; i++)
                if (grants->pwm_channels[i] == channel)
                        return true;
        return false;
}

bool sandbox_iio_is_granted(const struct plugin_grants *grants, unsigned device) {
        if (!grants->iio)
                return false;
        if (grants->is_any_pin)
                return true;
        for (size_t i = 0; i < grants->iio_device_count; i++)
                if (grants->iio_devices[i] == device)
                        return true;
        return false;
}

bool sandbox_onewire_is_granted(const struct plugin_grants *grants, const char *id) {
        if (!grants->onewire)
                return false;
        if (grants->is_any_pin)
                return true;
        for (size_t i = 0; i < grants->onewire_id_count; i++)
                if (strcmp(grants->onewire_ids[i], id) == 0)
                        return true;
        return false;
}

bool sandbox_rate_take(struct rate_bucket *bucket, double per_s) {
        double burst = per_s >= 1.0 ? per_s : 1.0;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!bucket->is_started) {
                bucket->tokens = burst;
                bucket->is_started = true;
        } else {
                double elapsed = (double)(now.tv_sec - bucket->refilled_at.tv_sec) +
                                 (double)(now.tv_nsec - bucket->refilled_at.tv_nsec) / 1e9;
                bucket->tokens += elapsed > 0 ? elapsed * per_s : 0;
                if (bucket->tokens > burst)
                        bucket->tokens = burst;
        }
        bucket->refilled_at = now;
        if (bucket->tokens < 1.0)
                return false;
        bucket->tokens -= 1.0;
        return true;
}

struct hw_gpio_line *sandbox_line(struct sandbox_state *sandbox, unsigned offset) {
        for (size_t i = 0; i < SANDBOX_MAX_LINES; i++)
                if (sandbox->hw.lines[i] != NULL && sandbox->hw.lines[i]->offset == offset)
                        return sandbox->hw.lines[i];
        return NULL;
}

/* The configured safe state of output `line` (off unless granted "on"). */
static bool safe_value(const struct plugin_grants *grants, unsigned line) {
        for (size_t i = 0; i < grants->gpio_output_count; i++)
                if (grants->gpio_outputs[i].line == line)
                        return grants->gpio_outputs[i].is_safe_active;
        return false;
}

void sandbox_hw_safe(struct sandbox_state *sandbox, struct hw_board *board, const char *plugin_name,
                     const char *why) {
        struct sandbox_hw *hw = &sandbox->hw;
        for (size_t i = 0; i < SANDBOX_MAX_LINES; i++) {
                struct hw_gpio_line *line = hw->lines[i];
                if (line == NULL)
                        continue;
                hw->lines[i] = NULL;
                if (line->request.direction == HW_GPIO_OUTPUT) {
                        bool is_active = safe_value(sandbox->grants, line->offset);
                        int result = hw_gpio_write(line, is_active);
                        log_write(result < 0 ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING, plugin_name,
                                  "GPIO line %u %s safe state %s: its owner %s", line->offset,
                                  result < 0 ? "NOT driven to" : "driven to",
                                  is_active ? "on" : "off", why);
                }
                hw_gpio_release(line);
        }
        for (size_t i = 0; i < SANDBOX_MAX_LINES; i++) {
                if (!hw->has_pwm[i])
                        continue;
                hw->has_pwm[i] = false;
                struct hw_pwm_state state = {.period_ns = 0};
                struct ph_error error = {0};
                int result = hw_pwm_get(board, hw->pwm_channel[i], &state, &error);
                if (result == 0) {
                        state.is_enabled = false;
                        if (state.period_ns == 0)
                                state.period_ns = 1;
                        if (state.duty_ns > state.period_ns)
                                state.duty_ns = 0;
                        result = hw_pwm_set(board, hw->pwm_channel[i], &state, &error);
                }
                if (result < 0)
                        log_write(LOG_LEVEL_ERROR, plugin_name,
                                  "PWM channel %u NOT disabled (its safe state): %s",
                                  hw->pwm_channel[i], error.message);
                else
                        log_write(LOG_LEVEL_WARNING, plugin_name,
                                  "PWM channel %u disabled (its safe state): its owner %s",
                                  hw->pwm_channel[i], why);
        }
}
