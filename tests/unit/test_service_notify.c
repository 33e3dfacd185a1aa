/* Unit tests of src/core/service_notify.c: the sd_notify datagram protocol
 * against a socket of the test's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/service_notify.h"

/* Binds a datagram socket at `name` (a path, or '@' + an abstract name). */
static int bind_socket(const char *name) {
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        size_t length = strlen(name);
        memcpy(address.sun_path, name, length);
        if (name[0] == '@')
                address.sun_path[0] = '\0';
        socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length +
                                     (name[0] == '@' ? 0 : 1));
        assert_int_equal(bind(fd, (struct sockaddr *)&address, size), 0);
        return fd;
}

static void receive(int fd, char *buffer, size_t size) {
        ssize_t length = recv(fd, buffer, size - 1, MSG_DONTWAIT);
        assert_true(length >= 0);
        buffer[length] = '\0';
}

static void test_without_notify_socket_nothing_is_sent(void **state) {
        (void)state;
        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(service_notify("READY=1", NULL), 0);
}

static void test_a_message_reaches_a_path_socket(void **state) {
        (void)state;
        char path[64];
        snprintf(path, sizeof(path), "/tmp/pyhost-notify-test-%d", (int)getpid());
        unlink(path);
        int fd = bind_socket(path);
        setenv("NOTIFY_SOCKET", path, 1);
        assert_int_equal(service_notify("READY=1\nSTATUS=polling", NULL), 1);
        char buffer[128];
        receive(fd, buffer, sizeof(buffer));
        assert_string_equal(buffer, "READY=1\nSTATUS=polling");
        close(fd);
        unlink(path);
        unsetenv("NOTIFY_SOCKET");
}

static void test_a_message_reaches_an_abstract_socket(void **state) {
        (void)state;
        char name[64];
        snprintf(name, sizeof(name), "@pyhost-notify-test-%d", (int)getpid());
        int fd = bind_socket(name);
        setenv("NOTIFY_SOCKET", name, 1);
        assert_int_equal(service_notify("WATCHDOG=1", NULL), 1);
        char buffer[128];
        receive(fd, buffer, sizeof(buffer));
        assert_string_equal(buffer, "WATCHDOG=1");
        close(fd);
        unsetenv("NOTIFY_SOCKET");
}

static void test_a_missing_socket_or_bad_name_is_an_error(void **state) {
        (void)state;
        struct ph_error error = {0};
        setenv("NOTIFY_SOCKET", "/nonexistent/pyhost.sock", 1);
        assert_true(service_notify("READY=1", &error) < 0);
        assert_non_null(strstr(error.message, "/nonexistent/pyhost.sock"));
        setenv("NOTIFY_SOCKET", "relative.sock", 1);
        assert_int_equal(service_notify("READY=1", &error), -EINVAL);
        unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_is_for_this_process_only(void **state) {
        (void)state;
        uint64_t usec = 0;
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        assert_int_equal(service_watchdog_usec(&usec, NULL), 0);
        setenv("WATCHDOG_USEC", "30000000", 1);
        assert_int_equal(service_watchdog_usec(&usec, NULL), 1);
        assert_int_equal(usec, 30000000);
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        setenv("WATCHDOG_PID", pid, 1);
        assert_int_equal(service_watchdog_usec(&usec, NULL), 1);
        snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
        setenv("WATCHDOG_PID", pid, 1);
        assert_int_equal(service_watchdog_usec(&usec, NULL), 0);
        setenv("WATCHDOG_USEC", "soon", 1);
        unsetenv("WATCHDOG_PID");
        assert_int_equal(service_watchdog_usec(&usec, NULL), -EINVAL);
        unsetenv("WATCHDOG_USEC");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_without_notify_socket_nothing_is_sent),
                cmocka_unit_test(test_a_message_reaches_a_path_socket),
                cmocka_unit_test(test_a_message_reaches_an_abstract_socket),
                cmocka_unit_test(test_a_missing_socket_or_bad_name_is_an_error),
                cmocka_unit_test(test_watchdog_is_for_this_process_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
