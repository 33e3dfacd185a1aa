/* hw_pwm.h - PWM channels: period, duty cycle, enable.
 *
 * Channel N is pwmN of the board's PWM chip ([board] pwm_chip on Linux:
 * <sysfs_root>/class/pwm/pwmchipC/pwmN, exported on first use; two
 * channels on the simulated board, whose changes are logged). Times are
 * nanoseconds, as the kernel's sysfs takes them.
 *
 * Threads: any thread; the backend serialises writes to one channel. */
#ifndef PH_HW_PWM_H
#define PH_HW_PWM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

struct hw_board;

/* 1 s: slower than any PWM a plugin needs, small enough for 32 bits. */
#define HW_PWM_MAX_PERIOD_NS 1000000000u

struct hw_pwm_state {
        uint32_t period_ns; /* 1..HW_PWM_MAX_PERIOD_NS */
        uint32_t duty_ns;   /* 0..period_ns */
        bool is_enabled;
};

/* Applies `state` (borrowed) to `channel`: period and duty in the order
 * the kernel accepts (duty never above period on the way), then enable.
 * -EINVAL (bad state), -ENOENT (no such channel), -EIO; `error` names the
 * file. */
PH_MUST_USE int hw_pwm_set(struct hw_board *board, unsigned channel,
                           const struct hw_pwm_state *state, struct ph_error *error);

/* The channel's state as the backend last set or reads it. */
PH_MUST_USE int hw_pwm_get(struct hw_board *board, unsigned channel, struct hw_pwm_state *ret_state,
                           struct ph_error *error);

/* The Linux implementation (hw_pwm_sysfs.c) under `sysfs_root`
 * (borrowed): exports the channel when its directory is missing, then
 * writes period, duty_cycle and enable. Not serialised: the caller holds
 * one lock per chip. */
PH_MUST_USE int hw_pwm_sysfs_set(const char *sysfs_root, unsigned chip, unsigned channel,
                                 const struct hw_pwm_state *state, struct ph_error *error);
PH_MUST_USE int hw_pwm_sysfs_get(const char *sysfs_root, unsigned chip, unsigned channel,
                                 struct hw_pwm_state *ret_state, struct ph_error *error);

/* 0 or -EINVAL. */
PH_MUST_USE int hw_pwm_check(const struct hw_pwm_state *state, struct ph_error *error);

#endif
