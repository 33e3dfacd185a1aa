/* service_notify.h - tells the service manager (systemd) how the host is
 * doing: the sd_notify datagram protocol, written here in a few lines
 * instead of linking libsystemd (one less library to cross-compile and ship
 * on a device, and the protocol is documented and stable: one datagram of
 * "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET).
 *
 * Owns nothing between calls: each message opens, sends on and closes its
 * own socket, so every function is thread-safe. Outside systemd (no
 * $NOTIFY_SOCKET) every message is silently not sent. */
#ifndef PH_SERVICE_NOTIFY_H
#define PH_SERVICE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* Sends `state` (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1",
 * "STATUS=...", lines separated by '\n'), borrowed for the call, to
 * $NOTIFY_SOCKET: a filesystem path, or an abstract socket when it starts
 * with '@'. Returns 1 when sent, 0 when there is no $NOTIFY_SOCKET, or a
 * negative errno-style code with `error` naming the socket. */
PH_MUST_USE int service_notify(const char *state, struct ph_error *error);

/* The watchdog period that systemd asks for: $WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or names this process. Returns 1 and sets
 * *ret_usec when a watchdog is wanted, 0 when not, or -EINVAL with `error`
 * saying which variable is malformed. */
PH_MUST_USE int service_watchdog_usec(uint64_t *ret_usec, struct ph_error *error);

#endif
