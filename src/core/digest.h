/* digest.h - SHA-256 of byte strings (OpenSSL's libcrypto), used to name a
 * plugin version by its content and to check compiled-code cache entries.
 * Thread-safe. */
#ifndef PH_DIGEST_H
#define PH_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DIGEST_SIZE 32
#define DIGEST_HEX_SIZE (2 * DIGEST_SIZE + 1)

struct digest {
        uint8_t bytes[DIGEST_SIZE];
};

/* Computes the SHA-256 of `size` bytes at `data`. */
PH_MUST_USE int digest_compute(const void *data, size_t size, struct digest *ret_digest);

/* Writes the digest as 64 lowercase hex digits and a NUL. */
void digest_to_hex(const struct digest *digest, char hex[DIGEST_HEX_SIZE]);

#endif
