#include "core/digest.h"

#include <errno.h>
#include <openssl/evp.h>

int digest_compute(const void *data, size_t size, struct digest *ret_digest) {
        unsigned int length = 0;
        if (EVP_Digest(data, size, ret_digest->bytes, &length, EVP_sha256(), NULL) != 1 ||
            length != DIGEST_SIZE)
                return -EIO;
        return 0;
}

void digest_to_hex(const struct digest *digest, char hex[DIGEST_HEX_SIZE]) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < DIGEST_SIZE; i++) {
                hex[2 * i] = digits[digest->bytes[i] >> 4];
                hex[2 * i + 1] = digits[digest->bytes[i] & 0xf];
        }
        hex[2 * DIGEST_SIZE] = '\0';
}
