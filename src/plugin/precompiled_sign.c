/* precompiled_sign.c - Ed25519 signatures of precompiled artifacts' headers
 * (OpenSSL's libcrypto, already linked for SHA-256).
 *
 * `pyhost compile --sign-key PRIVATE.pem` signs the header's text up to its
 * `signature` line; the header holds the SHA-256 of the payload and of the
 * source .wasm, so the signature covers everything Wasmtime will run. A
 * host whose config names a public key (`[host] precompiled_key`) refuses
 * an artifact without a signature that key verifies.
 *
 * Thread-safe: keys are read from their files at each call. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "plugin/internal.h"

#define SIGNATURE_SIZE 64

/* Reads a PEM key (private or public) of type Ed25519; NULL with `why`. */
static EVP_PKEY *read_key(const char *path, bool is_private, char *why, size_t why_size) {
        FILE *file = fopen(path, "re");
        if (file == NULL) {
                snprintf(why, why_size, "key %s: %s", path, strerror(errno));
                return NULL;
        }
        EVP_PKEY *key = is_private ? PEM_read_PrivateKey(file, NULL, NULL, NULL)
                                   : PEM_read_PUBKEY(file, NULL, NULL, NULL);
        fclose(file);
        if (key == NULL) {
                snprintf(why, why_size, "key %s: not a PEM %s key", path,
                         is_private ? "private" : "public");
                return NULL;
        }
        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
                EVP_PKEY_free(key);
                snprintf(why, why_size, "key %s: not an Ed25519 key", path);
                return NULL;
        }
        return key;
}

int precompiled_sign(const char *key_path, const void *data, size_t size,
                     char hex[PRECOMPILED_SIGNATURE_HEX_SIZE], struct ph_error *error) {
        char why[PH_ERROR_MESSAGE_MAX / 2];
        EVP_PKEY *key = read_key(key_path, true, why, sizeof(why));
        if (key == NULL)
                return ph_error_set(error, -EINVAL, "%s", why);
        unsigned char signature[SIGNATURE_SIZE];
        size_t length = sizeof(signature);
        EVP_MD_CTX *context = EVP_MD_CTX_new();
        bool is_signed = context != NULL &&
                         EVP_DigestSignInit(context, NULL, NULL, NULL, key) == 1 &&
                         EVP_DigestSign(context, signature, &length, data, size) == 1 &&
                         length == SIGNATURE_SIZE;
        EVP_MD_CTX_free(context);
        EVP_PKEY_free(key);
        if (!is_signed)
                return ph_error_set(error, -EINVAL, "key %s: signing failed", key_path);
        for (size_t i = 0; i < SIGNATURE_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", signature[i]);
        return 0;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int precompiled_verify(const char *key_path, const void *data, size_t size, const char *hex,
                       char *why, size_t why_size) {
        unsigned char signature[SIGNATURE_SIZE];
        if (strlen(hex) != 2 * SIGNATURE_SIZE) {
                snprintf(why, why_size, "its signature is malformed");
                return -EBADMSG;
        }
        for (size_t i = 0; i < SIGNATURE_SIZE; i++) {
                int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
                if (high < 0 || low < 0) {
                        snprintf(why, why_size, "its signature is malformed");
                        return -EBADMSG;
                }
                signature[i] = (unsigned char)(high * 16 + low);
        }
        EVP_PKEY *key = read_key(key_path, false, why, why_size);
        if (key == NULL)
                return -EINVAL;
        EVP_MD_CTX *context = EVP_MD_CTX_new();
        bool is_valid = context != NULL &&
                        EVP_DigestVerifyInit(context, NULL, NULL, NULL, key) == 1 &&
                        EVP_DigestVerify(context, signature, sizeof(signature), data, size) == 1;
        EVP_MD_CTX_free(context);
        EVP_PKEY_free(key);
        if (!is_valid) {
                snprintf(why, why_size, "its signature does not verify with the key %s", key_path);
                return -EKEYREJECTED;
        }
        return 0;
}
