/* Unit tests of src/http/guard.c, without a web server: a test-local
 * MHD_get_connection_info stands in for libmicrohttpd, and each connection
 * is a socketpair whose far end sees the guard's shutdown(2) as EOF. They
 * check the per-address limit, which connection is closed to make room,
 * the request deadline (and that answering stops and restarts it), and
 * the request rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "http/guard.h"

/* What libmicrohttpd would know of a connection. */
struct MHD_Connection {
        int server_fd; /* the guard's */
        int client_fd; /* the test's: EOF once the guard shut the other end */
        struct sockaddr_storage address;
        socklen_t address_length;
        void *socket_context;
        /* libmicrohttpd answers each kind of query from its own storage. */
        union MHD_ConnectionInfo fd_info, address_info, context_info;
};

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                        enum MHD_ConnectionInfoType info_type,
                                                        ...) {
        switch (info_type) {
        case MHD_CONNECTION_INFO_CONNECTION_FD:
                connection->fd_info.connect_fd = connection->server_fd;
                return &connection->fd_info;
        case MHD_CONNECTION_INFO_CLIENT_ADDRESS:
                connection->address_info.client_addr = (struct sockaddr *)&connection->address;
                return &connection->address_info;
        case MHD_CONNECTION_INFO_SOCKET_CONTEXT:
                connection->context_info.socket_context = connection->socket_context;
                return &connection->context_info;
        default:
                return NULL;
        }
}

static struct guard *new_guard(unsigned max_connections, unsigned max_per_address,
                               double deadline_s, unsigned max_requests_per_s) {
        struct guard_limits limits = {.max_connections = max_connections,
                                      .max_per_address = max_per_address,
                                      .deadline_s = deadline_s,
                                      .max_requests_per_s = max_requests_per_s};
        struct ph_error error = {0};
        struct guard *guard = guard_new(&limits, &error);
        assert_non_null(guard);
        return guard;
}

static void set_address(struct MHD_Connection *connection, const char *address) {
        memset(&connection->address, 0, sizeof(connection->address));
        if (strchr(address, ':') != NULL) {
                struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&connection->address;
                v6->sin6_family = AF_INET6;
                assert_int_equal(inet_pton(AF_INET6, address, &v6->sin6_addr), 1);
                connection->address_length = sizeof(*v6);
        } else {
                struct sockaddr_in *v4 = (struct sockaddr_in *)&connection->address;
                v4->sin_family = AF_INET;
                assert_int_equal(inet_pton(AF_INET, address, &v4->sin_addr), 1);
                connection->address_length = sizeof(*v4);
        }
}

/* A client at `address` connects: true when the guard let it in (it is
 * then tracked like libmicrohttpd would). */
static bool connect_from(struct guard *guard, struct MHD_Connection *connection,
                         const char *address) {
        memset(connection, 0, sizeof(*connection));
        connection->server_fd = -1;
        connection->client_fd = -1;
        set_address(connection, address);
        if (!guard_accept(guard, (const struct sockaddr *)&connection->address,
                          connection->address_length))
                return false;
        int fds[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        connection->server_fd = fds[0];
        connection->client_fd = fds[1];
        guard_connection_started(guard, connection, &connection->socket_context);
        assert_non_null(connection->socket_context);
        return true;
}

/* libmicrohttpd closes the connection. */
static void disconnect(struct guard *guard, struct MHD_Connection *connection) {
        if (connection->server_fd < 0)
                return;
        guard_connection_closed(guard, &connection->socket_context);
        close(connection->server_fd);
        close(connection->client_fd);
        connection->server_fd = -1;
        connection->client_fd = -1;
}

/* Whether the guard shut the connection down, waiting up to `timeout_ms`
 * for it (0: just look). */
static bool is_shut(struct MHD_Connection *connection, int timeout_ms) {
        struct pollfd poll_fd = {.fd = connection->client_fd, .events = POLLIN};
        if (poll(&poll_fd, 1, timeout_ms) <= 0)
                return false;
        char byte;
        return recv(connection->client_fd, &byte, 1, MSG_DONTWAIT) == 0;
}

static uint64_t count_of(struct guard *guard, enum guard_reason reason) {
        struct guard_figures figures;
        guard_figures(guard, &figures);
        return figures.counts[reason];
}

/* The guard orders connections by when they began waiting, in
 * milliseconds: this makes the next one start strictly later. */
static void next_millisecond(void) {
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 3000000L};
        nanosleep(&pause, NULL);
}

static void test_connections_over_the_per_address_limit_are_refused(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 2, 60, 0);
        struct MHD_Connection a1, a2, a3, b1, a4;
        assert_true(connect_from(guard, &a1, "10.0.0.1"));
        assert_true(connect_from(guard, &a2, "10.0.0.1"));
        assert_false(connect_from(guard, &a3, "10.0.0.1"));
        assert_true(connect_from(guard, &b1, "10.0.0.2"));
        assert_int_equal(count_of(guard, GUARD_REFUSED_PER_ADDRESS), 1);
        /* One closes: its address may connect again. */
        disconnect(guard, &a1);
        assert_true(connect_from(guard, &a4, "10.0.0.1"));
        assert_false(is_shut(&a2, 0));
        disconnect(guard, &a2);
        disconnect(guard, &b1);
        disconnect(guard, &a4);
        guard_free(guard);
}

static void test_ipv4_and_its_mapped_ipv6_form_are_one_address(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 1, 60, 0);
        struct MHD_Connection v4, mapped, other;
        assert_true(connect_from(guard, &v4, "192.0.2.7"));
        assert_false(connect_from(guard, &mapped, "::ffff:192.0.2.7"));
        assert_true(connect_from(guard, &other, "2001:db8::7"));
        disconnect(guard, &v4);
        disconnect(guard, &other);
        guard_free(guard);
}

static void test_room_is_made_by_closing_the_longest_waiting(void **state) {
        (void)state;
        struct guard *guard = new_guard(2, 10, 60, 0);
        struct MHD_Connection oldest, newer, newest;
        assert_true(connect_from(guard, &oldest, "10.0.0.1"));
        next_millisecond();
        assert_true(connect_from(guard, &newer, "10.0.0.2"));
        assert_true(connect_from(guard, &newest, "10.0.0.3"));
        assert_true(is_shut(&oldest, 5000));
        assert_false(is_shut(&newer, 0));
        assert_int_equal(count_of(guard, GUARD_CLOSED_EVICTED), 1);
        assert_int_equal(count_of(guard, GUARD_REFUSED_FULL), 0);
        disconnect(guard, &oldest);
        disconnect(guard, &newer);
        disconnect(guard, &newest);
        guard_free(guard);
}

static void test_a_connection_being_answered_is_never_evicted(void **state) {
        (void)state;
        struct guard *guard = new_guard(2, 10, 60, 0);
        struct MHD_Connection busy, idle, newest;
        assert_true(connect_from(guard, &busy, "10.0.0.1"));
        guard_request_in(guard, &busy);
        next_millisecond();
        assert_true(connect_from(guard, &idle, "10.0.0.2"));
        assert_true(connect_from(guard, &newest, "10.0.0.3"));
        assert_true(is_shut(&idle, 5000));
        assert_false(is_shut(&busy, 0));
        disconnect(guard, &busy);
        disconnect(guard, &idle);
        disconnect(guard, &newest);
        guard_free(guard);
}

static void test_when_every_connection_is_busy_a_new_one_is_refused(void **state) {
        (void)state;
        struct guard *guard = new_guard(2, 10, 60, 0);
        struct MHD_Connection first, second, third;
        assert_true(connect_from(guard, &first, "10.0.0.1"));
        assert_true(connect_from(guard, &second, "10.0.0.2"));
        guard_request_in(guard, &first);
        guard_request_in(guard, &second);
        assert_false(connect_from(guard, &third, "10.0.0.3"));
        assert_int_equal(count_of(guard, GUARD_REFUSED_FULL), 1);
        assert_int_equal(count_of(guard, GUARD_CLOSED_EVICTED), 0);
        assert_false(is_shut(&first, 0));
        assert_false(is_shut(&second, 0));
        disconnect(guard, &first);
        disconnect(guard, &second);
        guard_free(guard);
}

static void test_a_request_not_in_by_the_deadline_is_closed(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 10, 0.05, 0);
        struct MHD_Connection slow;
        int64_t started = clock_monotonic_ms();
        assert_true(connect_from(guard, &slow, "10.0.0.1"));
        assert_true(is_shut(&slow, 5000));
        assert_true(clock_monotonic_ms() - started >= 45);
        assert_int_equal(count_of(guard, GUARD_CLOSED_DEADLINE), 1);
        disconnect(guard, &slow);
        guard_free(guard);
}

static void test_a_connection_being_answered_has_no_deadline(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 10, 0.05, 0);
        struct MHD_Connection busy, idle;
        assert_true(connect_from(guard, &busy, "10.0.0.1"));
        guard_request_in(guard, &busy);
        next_millisecond();
        /* The idle one's deadline comes after the busy one's: once it is
         * closed, the busy one would have been too. */
        assert_true(connect_from(guard, &idle, "10.0.0.2"));
        assert_true(is_shut(&idle, 5000));
        assert_false(is_shut(&busy, 0));
        assert_int_equal(count_of(guard, GUARD_CLOSED_DEADLINE), 1);
        disconnect(guard, &busy);
        disconnect(guard, &idle);
        guard_free(guard);
}

static void test_the_deadline_starts_again_after_a_response(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 10, 0.2, 0);
        struct MHD_Connection answered, reference;
        assert_true(connect_from(guard, &answered, "10.0.0.1"));
        guard_request_in(guard, &answered);
        assert_true(connect_from(guard, &reference, "10.0.0.2"));
        /* The reference is closed: the first deadline of both has passed. */
        assert_true(is_shut(&reference, 5000));
        int64_t done_at = clock_monotonic_ms();
        guard_request_done(guard, &answered);
        /* A full deadline from the response, not from the connection. */
        assert_true(is_shut(&answered, 5000));
        assert_true(clock_monotonic_ms() - done_at >= 180);
        assert_int_equal(count_of(guard, GUARD_CLOSED_DEADLINE), 2);
        disconnect(guard, &answered);
        disconnect(guard, &reference);
        guard_free(guard);
}

static void test_requests_over_the_rate_are_refused_per_address(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 10, 60, 5);
        struct MHD_Connection first, other;
        assert_true(connect_from(guard, &first, "10.0.0.1"));
        assert_true(connect_from(guard, &other, "10.0.0.2"));
        for (int i = 0; i < 5; i++)
                assert_true(guard_request_allowed(guard, &first));
        assert_false(guard_request_allowed(guard, &first));
        assert_int_equal(count_of(guard, GUARD_REFUSED_RATE), 1);
        /* Another address has its own allowance. */
        assert_true(guard_request_allowed(guard, &other));
        disconnect(guard, &first);
        disconnect(guard, &other);
        guard_free(guard);
}

static void test_the_rate_allowance_refills_with_time(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 10, 60, 50);
        struct MHD_Connection client;
        assert_true(connect_from(guard, &client, "10.0.0.1"));
        while (guard_request_allowed(guard, &client)) {
        }
        /* 50 a second: one more within a second (polled, bounded). */
        int64_t deadline = clock_monotonic_ms() + 1000;
        bool is_allowed = false;
        while (!is_allowed && clock_monotonic_ms() < deadline) {
                next_millisecond();
                is_allowed = guard_request_allowed(guard, &client);
        }
        assert_true(is_allowed);
        disconnect(guard, &client);
        guard_free(guard);
}

static void test_no_rate_limit_when_it_is_zero(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 10, 60, 0);
        struct MHD_Connection client;
        assert_true(connect_from(guard, &client, "10.0.0.1"));
        for (int i = 0; i < 1000; i++)
                assert_true(guard_request_allowed(guard, &client));
        assert_int_equal(count_of(guard, GUARD_REFUSED_RATE), 0);
        disconnect(guard, &client);
        guard_free(guard);
}

static void test_figures_count_open_connections_and_the_most_at_once(void **state) {
        (void)state;
        struct guard *guard = new_guard(10, 10, 60, 0);
        struct MHD_Connection connections[3];
        const char *addresses[3] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
        for (size_t i = 0; i < 3; i++)
                assert_true(connect_from(guard, &connections[i], addresses[i]));
        disconnect(guard, &connections[0]);
        disconnect(guard, &connections[2]);
        guard_count(guard, GUARD_REFUSED_HOST);
        guard_count(guard, GUARD_REFUSED_ORIGIN);
        guard_count(guard, GUARD_REFUSED_ORIGIN);
        struct guard_figures figures;
        guard_figures(guard, &figures);
        assert_int_equal(figures.connections, 1);
        assert_int_equal(figures.connections_max, 3);
        assert_int_equal(figures.counts[GUARD_REFUSED_HOST], 1);
        assert_int_equal(figures.counts[GUARD_REFUSED_ORIGIN], 2);
        disconnect(guard, &connections[1]);
        guard_free(guard);
}

static void test_every_reason_has_a_metrics_label(void **state) {
        (void)state;
        for (size_t i = 0; i < GUARD_REASON_COUNT; i++) {
                assert_non_null(guard_reason_names[i]);
                assert_true(guard_reason_names[i][0] != '\0');
        }
}

/* libmicrohttpd's pool threads accept at the same time: admissions whose
 * start is not reported yet count as open, for the limit and per address. */
static void test_admitted_connections_count_before_they_start(void **state) {
        (void)state;
        struct guard *guard = new_guard(2, 10, 60, 0);
        struct MHD_Connection first, second;
        set_address(&first, "10.0.0.1");
        set_address(&second, "10.0.0.2");
        assert_true(
                guard_accept(guard, (const struct sockaddr *)&first.address, first.address_length));
        assert_true(guard_accept(guard, (const struct sockaddr *)&second.address,
                                 second.address_length));
        /* Full, and neither admitted connection can be evicted yet. */
        assert_false(guard_accept(guard, (const struct sockaddr *)&second.address,
                                  second.address_length));
        assert_int_equal(count_of(guard, GUARD_REFUSED_FULL), 1);
        guard_free(guard);

        guard = new_guard(10, 1, 60, 0);
        assert_true(
                guard_accept(guard, (const struct sockaddr *)&first.address, first.address_length));
        assert_false(
                guard_accept(guard, (const struct sockaddr *)&first.address, first.address_length));
        assert_int_equal(count_of(guard, GUARD_REFUSED_PER_ADDRESS), 1);
        guard_free(guard);
}

/* Once started, an admission is counted once (by its record), not twice. */
static void test_a_started_connection_replaces_its_admission(void **state) {
        (void)state;
        struct guard *guard = new_guard(2, 10, 60, 0);
        struct MHD_Connection a, b;
        assert_true(connect_from(guard, &a, "10.0.0.1"));
        assert_true(connect_from(guard, &b, "10.0.0.2"));
        struct guard_figures figures;
        guard_figures(guard, &figures);
        assert_int_equal(figures.connections, 2);
        /* Two open: a third is let in by evicting one, not refused. */
        struct MHD_Connection c;
        assert_true(connect_from(guard, &c, "10.0.0.3"));
        assert_int_equal(count_of(guard, GUARD_CLOSED_EVICTED), 1);
        assert_int_equal(count_of(guard, GUARD_REFUSED_FULL), 0);
        disconnect(guard, &a);
        disconnect(guard, &b);
        disconnect(guard, &c);
        guard_free(guard);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_connections_over_the_per_address_limit_are_refused),
                cmocka_unit_test(test_ipv4_and_its_mapped_ipv6_form_are_one_address),
                cmocka_unit_test(test_room_is_made_by_closing_the_longest_waiting),
                cmocka_unit_test(test_a_connection_being_answered_is_never_evicted),
                cmocka_unit_test(test_when_every_connection_is_busy_a_new_one_is_refused),
                cmocka_unit_test(test_a_request_not_in_by_the_deadline_is_closed),
                cmocka_unit_test(test_a_connection_being_answered_has_no_deadline),
                cmocka_unit_test(test_the_deadline_starts_again_after_a_response),
                cmocka_unit_test(test_requests_over_the_rate_are_refused_per_address),
                cmocka_unit_test(test_the_rate_allowance_refills_with_time),
                cmocka_unit_test(test_no_rate_limit_when_it_is_zero),
                cmocka_unit_test(test_figures_count_open_connections_and_the_most_at_once),
                cmocka_unit_test(test_every_reason_has_a_metrics_label),
                cmocka_unit_test(test_admitted_connections_count_before_they_start),
                cmocka_unit_test(test_a_started_connection_replaces_its_admission),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
