/* auth.h - the bearer token that mutating requests must carry.
 *
 * Owns the token: from the config, else the environment's
 * PYHOST_API_TOKEN, else the file `api-token` in the state directory,
 * which is generated (32 random bytes, hex, mode 0600) at the first start.
 * Never logs the token itself. Set up once before the server starts; then
 * auth_check is called from the server's worker threads and only reads. */
#ifndef PH_HTTP_AUTH_H
#define PH_HTTP_AUTH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define AUTH_TOKEN_MAX 128
#define AUTH_ENVIRONMENT_VARIABLE "PYHOST_API_TOKEN"

struct auth {
        char token[AUTH_TOKEN_MAX];
        size_t length;
        char source[PATH_MAX + 64]; /* "the config", "PYHOST_API_TOKEN", a file's path */
        bool is_generated;          /* made at this start */
};

/* Fills `auth` from `configured_token` (may be "" or NULL), the
 * environment or the token file in `state_dir` (borrowed; "" or NULL: the
 * XDG state directory, ~/.local/state/pyhost). Refuses a token file that
 * others can read. */
PH_MUST_USE int auth_init(struct auth *auth, const char *configured_token, const char *state_dir,
                          struct ph_error *error);

/* Whether `authorization` (an Authorization header's value, may be NULL)
 * is "Bearer <the token>". Compares in constant time. */
bool auth_check(const struct auth *auth, const char *authorization);

#endif
