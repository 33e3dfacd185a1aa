/* config_validate.c - the rules between keys (min below max, one LED owner,
 * a file for every plugin), checked after the whole file is read. */
#include <errno.h>
#include <string.h>

#include "core/config.h"

/* Each GPIO output line and PWM channel has one owner among the plugins,
 * so that a failing owner's safe state is not fought by another. */
static int config_check_output_owners(const struct host_config *config, struct ph_error *error) {
        for (size_t i = 0; i < config->plugin_count; i++) {
                const struct plugin_grants *a = &config->plugins[i].grants;
                for (size_t j = i + 1; j < config->plugin_count; j++) {
                        const struct plugin_grants *b = &config->plugins[j].grants;
                        for (size_t x = 0; x < a->gpio_output_count; x++)
                                for (size_t y = 0; y < b->gpio_output_count; y++)
                                        if (a->gpio_outputs[x].line == b->gpio_outputs[y].line)
                                                return ph_error_set(
                                                        error, -EINVAL,
                                                        "[plugin %s] gpio_outputs: line %u is "
                                                        "already owned by plugin %s; an output "
                                                        "has one owner",
                                                        config->plugins[j].name,
                                                        b->gpio_outputs[y].line,
                                                        config->plugins[i].name);
                        for (size_t x = 0; x < a->pwm_channel_count; x++)
                                for (size_t y = 0; y < b->pwm_channel_count; y++)
                                        if (a->pwm_channels[x] == b->pwm_channels[y])
                                                return ph_error_set(
                                                        error, -EINVAL,
                                                        "[plugin %s] pwm_channels: channel %u is "
                                                        "already owned by plugin %s; an output "
                                                        "has one owner",
                                                        config->plugins[j].name, b->pwm_channels[y],
                                                        config->plugins[i].name);
                }
        }
        return 0;
}

/* Cross-field rules of backend = linux. */
static int validate_linux_board(const struct linux_board_config *board, struct ph_error *error) {
        if (board->dht22_count == 0)
                return ph_error_set(error, -EINVAL,
                                    "[board] backend = linux needs dht22_iio_devices "
                                    "(PIN:N pairs, pin PIN read from iio:deviceN, e.g. 4:0)");
        for (size_t i = 0; i < board->dht22_count; i++)
                for (size_t j = 0; j < i; j++) {
                        if (board->dht22[i].pin == board->dht22[j].pin)
                                return ph_error_set(error, -EINVAL,
                                                    "[board] dht22_iio_devices: pin %u is "
                                                    "mapped twice",
                                                    board->dht22[i].pin);
                        if (board->dht22[i].iio_device == board->dht22[j].iio_device)
                                return ph_error_set(error, -EINVAL,
                                                    "[board] dht22_iio_devices: iio:device%u "
                                                    "is given to pins %u and %u",
                                                    board->dht22[i].iio_device, board->dht22[j].pin,
                                                    board->dht22[i].pin);
                }
        if (board->led_driver == CONFIG_LED_DRIVER_GPIOD) {
                if (board->led_line_count != CONFIG_LED_LINES)
                        return ph_error_set(error, -EINVAL,
                                            "[board] led_driver = gpiod needs led_lines: %d line "
                                            "offsets of gpio_chip (first red, first green, "
                                            "second red, second green)",
                                            CONFIG_LED_LINES);
                for (size_t i = 0; i < CONFIG_LED_LINES; i++)
                        for (size_t j = 0; j < i; j++)
                                if (board->led_lines[i] == board->led_lines[j])
                                        return ph_error_set(error, -EINVAL,
                                                            "[board] led_lines: line %u is "
                                                            "used twice",
                                                            board->led_lines[i]);
        }
        if (board->led_driver == CONFIG_LED_DRIVER_LEDCLASS) {
                if (board->led_class_name_count != CONFIG_LED_LINES)
                        return ph_error_set(error, -EINVAL,
                                            "[board] led_driver = ledclass needs "
                                            "led_class_names: %d LED class names (first red, "
                                            "first green, second red, second green)",
                                            CONFIG_LED_LINES);
                for (size_t i = 0; i < CONFIG_LED_LINES; i++) {
                        const char *name = board->led_class_names[i];
                        for (size_t j = 0; j < i; j++)
                                if (strcmp(name, board->led_class_names[j]) == 0)
                                        return ph_error_set(error, -EINVAL,
                                                            "[board] led_class_names: '%s' is "
                                                            "used twice",
                                                            name);
                }
        }
        return 0;
}

/* The simulated button and relay: one line each, bounces over before the
 * release, repeats after the release. */
static int validate_sim_devices(const struct sim_board_config *sim, struct ph_error *error) {
        if (sim->button_line == sim->relay_line)
                return ph_error_set(error, -EINVAL,
                                    "[board] button_line and relay_line are both line %u",
                                    sim->button_line);
        if ((uint64_t)sim->button_bounce_us >= (uint64_t)sim->button_hold_ms * 1000u)
                return ph_error_set(error, -EINVAL,
                                    "[board] button_bounce_us (%u) must be shorter than "
                                    "button_hold_ms (%u ms)",
                                    sim->button_bounce_us, sim->button_hold_ms);
        if (sim->button_repeat_ms > 0 && sim->button_press_count > 0 &&
            sim->button_repeat_ms <= sim->button_presses_ms[sim->button_press_count - 1])
                return ph_error_set(error, -EINVAL,
                                    "[board] button_repeat_ms (%u) must be after the last press "
                                    "of button_presses_ms (%u)",
                                    sim->button_repeat_ms,
                                    sim->button_presses_ms[sim->button_press_count - 1]);
        return 0;
}

int config_validate(const struct host_config *config, struct ph_error *error) {
        const struct sim_board_config *sim = &config->board.sim;
        int sim_result = validate_sim_devices(sim, error);
        if (sim_result < 0)
                return sim_result;
        if (strcmp(config->board.backend, "linux") == 0) {
                int result = validate_linux_board(&config->board.linux_board, error);
                if (result < 0)
                        return result;
        }
        if (sim->min_celsius >= sim->max_celsius)
                return ph_error_set(error, -EINVAL,
                                    "[board] min_celsius (%g) must be below max_celsius (%g)",
                                    sim->min_celsius, sim->max_celsius);
        if (sim->min_humidity > sim->max_humidity)
                return ph_error_set(error, -EINVAL,
                                    "[board] min_humidity (%g) must not exceed max_humidity (%g)",
                                    sim->min_humidity, sim->max_humidity);
        const struct history_config *history = &config->history;
        if (history->queue_rows < history->batch_rows)
                return ph_error_set(error, -EINVAL,
                                    "[history] queue_rows (%u) must be at least batch_rows (%u)",
                                    history->queue_rows, history->batch_rows);
        const struct mqtt_config *mqtt = &config->mqtt;
        if (mqtt->reconnect_min_ms > mqtt->reconnect_max_ms)
                return ph_error_set(error, -EINVAL,
                                    "[mqtt] reconnect_min_ms (%u) must not exceed "
                                    "reconnect_max_ms (%u)",
                                    mqtt->reconnect_min_ms, mqtt->reconnect_max_ms);
        if ((mqtt->tls_cert_file[0] != '\0') != (mqtt->tls_key_file[0] != '\0'))
                return ph_error_set(error, -EINVAL,
                                    "[mqtt] tls_cert_file and tls_key_file go together");
        if (!mqtt->has_tls && (mqtt->tls_ca_file[0] != '\0' || mqtt->tls_cert_file[0] != '\0'))
                return ph_error_set(error, -EINVAL,
                                    "[mqtt] tls_ca_file or tls_cert_file given but tls is off "
                                    "(set tls = yes)");
        if (mqtt->password[0] != '\0' && mqtt->username[0] == '\0')
                return ph_error_set(error, -EINVAL, "[mqtt] password given without username");
        int result = config_check_output_owners(config, error);
        if (result < 0)
                return result;
        const char *led_owner = NULL;
        for (size_t i = 0; i < config->plugin_count; i++) {
                const struct plugin_config *plugin = &config->plugins[i];
                if (plugin->path[0] == '\0')
                        return ph_error_set(error, -EINVAL, "[plugin %s]: missing key 'file'",
                                            plugin->name);
                if (!plugin->grants.led_controller)
                        continue;
                /* An actuator has one owner, so that a failing owner can be
                 * overridden with the safe state and nobody else fights it. */
                if (led_owner != NULL)
                        return ph_error_set(error, -EINVAL,
                                            "[plugin %s] grants: led-controller is already "
                                            "granted to plugin %s; the LEDs have one owner",
                                            plugin->name, led_owner);
                led_owner = plugin->name;
        }
        return 0;
}
