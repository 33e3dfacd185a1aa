#include "http/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

#define TOKEN_FILE_NAME "api-token"
#define TOKEN_RANDOM_BYTES 32

static bool is_token_text(const char *text, size_t length) {
        if (length < 16 || length >= AUTH_TOKEN_MAX)
                return false;
        for (size_t i = 0; i < length; i++)
                if (text[i] <= ' ' || text[i] > '~')
                        return false;
        return true;
}

static int set_token(struct auth *auth, const char *text, size_t length, const char *source) {
        if (!is_token_text(text, length))
                return -EINVAL;
        memcpy(auth->token, text, length);
        auth->token[length] = '\0';
        auth->length = length;
        snprintf(auth->source, sizeof(auth->source), "%s", source);
        return 0;
}

static int token_directory(const char *state_dir, char *out, size_t size, struct ph_error *error) {
        int written;
        const char *xdg = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");
        if (state_dir != NULL && state_dir[0] != '\0')
                written = snprintf(out, size, "%s", state_dir);
        else if (xdg != NULL && xdg[0] == '/')
                written = snprintf(out, size, "%s/pyhost", xdg);
        else if (home != NULL && home[0] == '/')
                written = snprintf(out, size, "%s/.local/state/pyhost", home);
        else
                return ph_error_set(
                        error, -ENOENT,
                        "API token: no state_dir, XDG_STATE_HOME or HOME to keep it in");
        if (written < 0 || (size_t)written >= size)
                return ph_error_set(error, -ENAMETOOLONG, "API token: state directory too long");
        return 0;
}

static int read_token_file(struct auth *auth, int fd, const char *path, struct ph_error *error) {
        struct stat info;
        if (fstat(fd, &info) < 0)
                return ph_error_set(error, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(info.st_mode))
                return ph_error_set(error, -EINVAL, "%s: not a regular file", path);
        if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0)
                return ph_error_set(error, -EPERM,
                                    "%s: others may read the API token (mode %03o); make it "
                                    "mode 0600",
                                    path, (unsigned)(info.st_mode & 0777));
        char text[AUTH_TOKEN_MAX + 2];
        ssize_t length = read(fd, text, sizeof(text) - 1);
        if (length < 0)
                return ph_error_set(error, -errno, "%s: %s", path, strerror(errno));
        size_t size = (size_t)length;
        while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == '\r'))
                size--;
        if (set_token(auth, text, size, path) < 0)
                return ph_error_set(error, -EINVAL,
                                    "%s: not an API token (16-127 printable characters)", path);
        return 0;
}

static int generate_token_file(struct auth *auth, const char *path, struct ph_error *error) {
        uint8_t random_bytes[TOKEN_RANDOM_BYTES];
        if (getrandom(random_bytes, sizeof(random_bytes), 0) != (ssize_t)sizeof(random_bytes))
                return ph_error_set(error, -EIO, "API token: getrandom failed");
        char text[TOKEN_RANDOM_BYTES * 2 + 2];
        for (size_t i = 0; i < sizeof(random_bytes); i++)
                snprintf(text + 2 * i, 3, "%02x", random_bytes[i]);
        text[TOKEN_RANDOM_BYTES * 2] = '\n';
        /* O_EXCL: never follow a planted symlink or overwrite a token. */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        size_t size = TOKEN_RANDOM_BYTES * 2 + 1;
        bool is_written = write(fd, text, size) == (ssize_t)size && fsync(fd) == 0;
        int saved_errno = errno;
        close(fd);
        if (!is_written) {
                unlink(path);
                return ph_error_set(error, -saved_errno, "%s: cannot write the API token: %s", path,
                                    strerror(saved_errno));
        }
        int result = set_token(auth, text, TOKEN_RANDOM_BYTES * 2, path);
        auth->is_generated = result == 0;
        return result;
}

int auth_init(struct auth *auth, const char *configured_token, const char *state_dir,
              struct ph_error *error) {
        memset(auth, 0, sizeof(*auth));
        if (configured_token != NULL && configured_token[0] != '\0') {
                if (set_token(auth, configured_token, strlen(configured_token), "the config") < 0)
                        return ph_error_set(error, -EINVAL,
                                            "[http] token: 16-127 printable "
                                            "characters");
                return 0;
        }
        const char *environment = getenv(AUTH_ENVIRONMENT_VARIABLE);
        if (environment != NULL && environment[0] != '\0') {
                if (set_token(auth, environment, strlen(environment), AUTH_ENVIRONMENT_VARIABLE) <
                    0)
                        return ph_error_set(error, -EINVAL,
                                            "%s: 16-127 printable characters without spaces",
                                            AUTH_ENVIRONMENT_VARIABLE);
                return 0;
        }
        char directory[PATH_MAX];
        int result = token_directory(state_dir, directory, sizeof(directory), error);
        if (result < 0)
                return result;
        result = file_make_directories(directory, 0700, error);
        if (result < 0)
                return result;
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/" TOKEN_FILE_NAME, directory);
        for (int attempt = 0; attempt < 2; attempt++) {
                int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0) {
                        result = read_token_file(auth, fd, path, error);
                        close(fd);
                        return result;
                }
                if (errno != ENOENT)
                        return ph_error_set(error, -errno, "%s: %s", path, strerror(errno));
                result = generate_token_file(auth, path, error);
                if (result != -EEXIST)
                        return result < 0 && error != NULL && error->code == 0
                                       ? ph_error_set(error, result, "%s: %s", path,
                                                      strerror(-result))
                                       : result;
                /* Another process made it meanwhile: read theirs. */
        }
        return ph_error_set(error, -EAGAIN, "%s: cannot read or create the API token", path);
}

bool auth_check(const struct auth *auth, const char *authorization) {
        static const char scheme[] = "Bearer ";
        if (authorization == NULL || auth->length == 0 ||
            strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
                return false;
        const char *given = authorization + sizeof(scheme) - 1;
        while (*given == ' ')
                given++;
        size_t length = strnlen(given, AUTH_TOKEN_MAX);
        /* Constant time in the token's content: every byte is compared. */
        unsigned char difference = (unsigned char)(length != auth->length);
        for (size_t i = 0; i < auth->length; i++)
                difference |= (unsigned char)(auth->token[i] ^ (i < length ? given[i] : 0));
        return difference == 0;
}
