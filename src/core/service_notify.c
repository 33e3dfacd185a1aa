#include "core/service_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int service_notify(const char *state, struct ph_error *error) {
        const char *path = getenv("NOTIFY_SOCKET");
        if (path == NULL || path[0] == '\0')
                return 0;
        size_t length = strlen(path);
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        if ((path[0] != '/' && path[0] != '@') || length < 2 || length >= sizeof(address.sun_path))
                return ph_error_set(error, -EINVAL,
                                    "NOTIFY_SOCKET '%s' is neither an absolute path nor '@' and "
                                    "an abstract name that fit a socket address",
                                    path);
        memcpy(address.sun_path, path, length);
        if (path[0] == '@')
                address.sun_path[0] = '\0'; /* abstract namespace */
        socklen_t address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length +
                                               (path[0] == '/' ? 1 : 0));

        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return ph_error_set(error, -errno, "NOTIFY_SOCKET: socket: %s", strerror(errno));
        ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                              (const struct sockaddr *)&address, address_length);
        int saved = errno;
        close(fd);
        if (sent < 0)
                return ph_error_set(error, -saved, "NOTIFY_SOCKET %s: %s", path, strerror(saved));
        if ((size_t)sent != strlen(state))
                return ph_error_set(error, -EMSGSIZE, "NOTIFY_SOCKET %s: message truncated", path);
        return 1;
}

static int parse_u64(const char *text, uint64_t *ret) {
        char *end = NULL;
        errno = 0;
        if (text[0] < '0' || text[0] > '9')
                return -EINVAL;
        unsigned long long value = strtoull(text, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = (uint64_t)value;
        return 0;
}

int service_watchdog_usec(uint64_t *ret_usec, struct ph_error *error) {
        const char *usec_text = getenv("WATCHDOG_USEC");
        if (usec_text == NULL || usec_text[0] == '\0')
                return 0;
        uint64_t usec = 0;
        if (parse_u64(usec_text, &usec) < 0 || usec == 0)
                return ph_error_set(error, -EINVAL, "WATCHDOG_USEC '%s' is not a positive number",
                                    usec_text);
        const char *pid_text = getenv("WATCHDOG_PID");
        if (pid_text != NULL && pid_text[0] != '\0') {
                uint64_t pid = 0;
                if (parse_u64(pid_text, &pid) < 0)
                        return ph_error_set(error, -EINVAL, "WATCHDOG_PID '%s' is not a number",
                                            pid_text);
                if (pid != (uint64_t)getpid())
                        return 0; /* meant for another process (our parent) */
        }
        *ret_usec = usec;
        return 1;
}
