/* Unit tests of src/http/origin.c: the Host and Origin a request may name
 * (against DNS rebinding): the server's own address in any spelling and
 * with any port, localhost on loopback or the wildcard address, the
 * allowed names, and "*"; nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "http/origin.h"

static struct origin_policy policy_of(const char *address, const char *allowed_hosts) {
        struct origin_policy policy;
        struct ph_error error = {0};
        if (origin_policy_init(&policy, address, allowed_hosts, &error) != 0)
                fail_msg("origin_policy_init(%s, %s): %s", address, allowed_hosts, error.message);
        return policy;
}

static void expect_hosts(const struct origin_policy *policy, const char *const *hosts, size_t count,
                         bool is_allowed) {
        for (size_t i = 0; i < count; i++)
                if (origin_host_is_allowed(policy, hosts[i]) != is_allowed)
                        fail_msg("Host '%s' should be %s", hosts[i],
                                 is_allowed ? "allowed" : "refused");
}

static void expect_origins(const struct origin_policy *policy, const char *const *origins,
                           size_t count, bool is_allowed) {
        for (size_t i = 0; i < count; i++)
                if (origin_is_allowed(policy, origins[i]) != is_allowed)
                        fail_msg("Origin '%s' should be %s", origins[i],
                                 is_allowed ? "allowed" : "refused");
}

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static void test_loopback_answers_to_its_address_and_localhost(void **state) {
        (void)state;
        struct origin_policy policy = policy_of("127.0.0.1", "");
        const char *allowed[] = {"127.0.0.1", "127.0.0.1:8080", "localhost",   "localhost:80",
                                 "LocalHost", "localhost.",     "127.0.0.1.:1"};
        const char *refused[] = {"evil.example",
                                 "127.0.0.2",
                                 "localhost.evil.example",
                                 "[::1]",
                                 "10.0.0.1",
                                 "",
                                 "localhostx",
                                 "127.0.0.1:",
                                 "127.0.0.1:abc",
                                 "127.0.0.1:123456",
                                 "localhost:80:80",
                                 "127.0.0.1 :80"};
        expect_hosts(&policy, allowed, COUNT(allowed), true);
        expect_hosts(&policy, refused, COUNT(refused), false);
}

static void test_a_request_without_host_is_allowed(void **state) {
        (void)state;
        struct origin_policy policy = policy_of("127.0.0.1", "");
        assert_true(origin_host_is_allowed(&policy, NULL));
}

static void test_ipv6_needs_brackets_and_matches_any_spelling(void **state) {
        (void)state;
        struct origin_policy policy = policy_of("::1", "");
        const char *allowed[] = {"[::1]", "[::1]:8080", "[0:0:0:0:0:0:0:1]", "[0::1]:1",
                                 "localhost"};
        const char *refused[] = {"::1",    "::1:8080", "[::1",      "::1]", "[::2]",
                                 "[::1]x", "[::1]:",   "127.0.0.1", "[]",   "[evil.example]"};
        expect_hosts(&policy, allowed, COUNT(allowed), true);
        expect_hosts(&policy, refused, COUNT(refused), false);
}

static void test_the_wildcard_address_takes_any_ip_but_no_foreign_name(void **state) {
        (void)state;
        const char *addresses[] = {"0.0.0.0", "::"};
        for (size_t i = 0; i < COUNT(addresses); i++) {
                struct origin_policy policy = policy_of(addresses[i], "");
                const char *allowed[] = {"10.1.2.3:80", "192.168.0.7", "[fe80::1]:8080",
                                         "localhost", "127.0.0.1"};
                const char *refused[] = {"evil.example", "evil.example:80", "10.1.2.3.4",
                                         "fe80::1"};
                expect_hosts(&policy, allowed, COUNT(allowed), true);
                expect_hosts(&policy, refused, COUNT(refused), false);
        }
}

static void test_a_lan_address_does_not_answer_to_localhost(void **state) {
        (void)state;
        struct origin_policy policy = policy_of("192.168.1.5", "");
        const char *allowed[] = {"192.168.1.5", "192.168.1.5:8080"};
        const char *refused[] = {"localhost", "127.0.0.1", "192.168.1.6"};
        expect_hosts(&policy, allowed, COUNT(allowed), true);
        expect_hosts(&policy, refused, COUNT(refused), false);
}

static void test_allowed_hosts_add_names_and_addresses(void **state) {
        (void)state;
        struct origin_policy policy =
                policy_of("192.168.1.5", "sensor.local, [fd00::7]\t10.0.0.9,,");
        const char *allowed[] = {"sensor.local", "sensor.local:8080", "SENSOR.LOCAL.",
                                 "[fd00::7]",    "[fd00:0::7]:80",    "10.0.0.9:1"};
        const char *refused[] = {"sensor",    "sensor.local.evil", "evil.sensor.local", "fd00::7",
                                 "[fd00::8]", "10.0.0.10",         "localhost"};
        expect_hosts(&policy, allowed, COUNT(allowed), true);
        expect_hosts(&policy, refused, COUNT(refused), false);
}

static void test_a_listed_name_is_not_matched_by_an_ip_or_the_reverse(void **state) {
        (void)state;
        /* "10.0.0.9" listed: the name "10.0.0.9.evil" is no IP and is not
         * the listed item either. */
        struct origin_policy policy = policy_of("192.168.1.5", "10.0.0.9");
        assert_false(origin_host_is_allowed(&policy, "10.0.0.9.evil"));
        assert_true(origin_host_is_allowed(&policy, "10.0.0.9"));
}

static void test_a_star_allows_everything(void **state) {
        (void)state;
        struct origin_policy policy = policy_of("192.168.1.5", "sensor.local, *");
        assert_true(origin_host_is_allowed(&policy, "evil.example"));
        assert_true(origin_host_is_allowed(&policy, "anything:at:all"));
        assert_true(origin_is_allowed(&policy, "null"));
        assert_true(origin_is_allowed(&policy, "http://evil.example"));
}

static void test_a_star_inside_a_name_is_no_wildcard(void **state) {
        (void)state;
        struct origin_policy policy = policy_of("127.0.0.1", "*.example, a*");
        assert_false(origin_host_is_allowed(&policy, "evil.example"));
        assert_false(origin_is_allowed(&policy, "http://evil.example"));
}

static void test_an_origin_must_be_http_to_this_server(void **state) {
        (void)state;
        struct origin_policy policy = policy_of("127.0.0.1", "sensor.local");
        const char *allowed[] = {"http://127.0.0.1:8080", "https://localhost",
                                 "HTTP://LOCALHOST:80", "http://sensor.local"};
        const char *refused[] = {"null",
                                 "",
                                 "http://evil.example",
                                 "ftp://localhost",
                                 "localhost",
                                 "http://localhost/path",
                                 "http://user@localhost",
                                 "http://localhost@evil.example",
                                 "http://localhost:8080?x",
                                 "http://localhost#x",
                                 "http://",
                                 "http://localhost:99999999",
                                 "file://localhost"};
        expect_origins(&policy, allowed, COUNT(allowed), true);
        expect_origins(&policy, refused, COUNT(refused), false);
}

static void test_a_name_longer_than_dns_allows_is_refused(void **state) {
        (void)state;
        char listed[300];
        memset(listed, 'a', sizeof(listed) - 1);
        listed[sizeof(listed) - 1] = '\0';
        struct origin_policy policy = policy_of("127.0.0.1", listed);
        assert_false(origin_host_is_allowed(&policy, listed));
        listed[255] = '\0';
        policy = policy_of("127.0.0.1", listed);
        assert_true(origin_host_is_allowed(&policy, listed));
}

static void test_a_bad_address_or_an_overlong_list_is_refused(void **state) {
        (void)state;
        struct origin_policy policy;
        struct ph_error error = {0};
        assert_int_equal(origin_policy_init(&policy, "localhost", "", &error), -EINVAL);
        assert_non_null(strstr(error.message, "localhost"));
        assert_int_equal(origin_policy_init(&policy, "", "", &error), -EINVAL);
        char list[600];
        memset(list, 'a', sizeof(list) - 1);
        list[sizeof(list) - 1] = '\0';
        assert_int_equal(origin_policy_init(&policy, "127.0.0.1", list, &error), -EINVAL);
        assert_non_null(strstr(error.message, "allowed_hosts"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_loopback_answers_to_its_address_and_localhost),
                cmocka_unit_test(test_a_request_without_host_is_allowed),
                cmocka_unit_test(test_ipv6_needs_brackets_and_matches_any_spelling),
                cmocka_unit_test(test_the_wildcard_address_takes_any_ip_but_no_foreign_name),
                cmocka_unit_test(test_a_lan_address_does_not_answer_to_localhost),
                cmocka_unit_test(test_allowed_hosts_add_names_and_addresses),
                cmocka_unit_test(test_a_listed_name_is_not_matched_by_an_ip_or_the_reverse),
                cmocka_unit_test(test_a_star_allows_everything),
                cmocka_unit_test(test_a_star_inside_a_name_is_no_wildcard),
                cmocka_unit_test(test_an_origin_must_be_http_to_this_server),
                cmocka_unit_test(test_a_name_longer_than_dns_allows_is_refused),
                cmocka_unit_test(test_a_bad_address_or_an_overlong_list_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
