/* origin.h - which names the web server answers to, against DNS rebinding.
 *
 * A page on another origin that points its own name at this address can
 * make a browser send it requests, but the browser then says that name in
 * `Host` (and its origin in `Origin`). So every request's Host must be the
 * server's address, `localhost` when the server listens on loopback (or on
 * every address), or one of [http] allowed_hosts; and a request that has an
 * Origin must come from one of those. Any port is accepted: a rebinding
 * page is told apart by its name, and a proxy may change the port.
 *
 * Owns nothing on the heap; the policy is a plain value, read-only after
 * origin_policy_init, so any thread may check against it. */
#ifndef PH_HTTP_ORIGIN_H
#define PH_HTTP_ORIGIN_H

#include <stdbool.h>

#include "core/error.h"

struct origin_policy {
        char address[64];        /* the server's, numeric */
        bool is_wildcard;        /* 0.0.0.0 or ::: any IP literal is this server */
        bool allows_localhost;   /* loopback or wildcard */
        bool allows_any;         /* allowed_hosts has "*" */
        char allowed_hosts[512]; /* as configured: "a, b, [::1]" */
};

/* Fills `policy` from the server's numeric `address` and [http]
 * allowed_hosts (both copied; `allowed_hosts` may be ""). */
int origin_policy_init(struct origin_policy *policy, const char *address, const char *allowed_hosts,
                       struct ph_error *error);

/* Whether a Host header's value ("name", "name:port", "[v6]:port") names
 * this server. NULL (no Host: HTTP/1.0; browsers always send one) is
 * allowed. */
bool origin_host_is_allowed(const struct origin_policy *policy, const char *host);

/* Whether an Origin header's value ("http://name:port") is this server's
 * own. "null" and anything but http(s)://host[:port] are not. */
bool origin_is_allowed(const struct origin_policy *policy, const char *origin);

#endif
