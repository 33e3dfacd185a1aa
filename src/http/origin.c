#include "http/origin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LENGTH 255

/* An IP address in binary, for comparing different spellings of one. */
struct ip {
        int family; /* AF_INET, AF_INET6, or 0: not an IP literal */
        unsigned char bytes[sizeof(struct in6_addr)];
};

/* Parses "1.2.3.4" or "[v6]" (`length` bytes of `text`) into `ret`. */
static void parse_ip_literal(const char *text, size_t length, struct ip *ret) {
        char buffer[INET6_ADDRSTRLEN + 2];
        memset(ret, 0, sizeof(*ret));
        if (length >= sizeof(buffer))
                return;
        bool is_bracketed = length > 2 && text[0] == '[' && text[length - 1] == ']';
        if (is_bracketed) {
                memcpy(buffer, text + 1, length - 2);
                buffer[length - 2] = '\0';
                if (inet_pton(AF_INET6, buffer, ret->bytes) == 1)
                        ret->family = AF_INET6;
                return;
        }
        memcpy(buffer, text, length);
        buffer[length] = '\0';
        if (inet_pton(AF_INET, buffer, ret->bytes) == 1)
                ret->family = AF_INET;
}

static bool ip_equal(const struct ip *a, const struct ip *b) {
        size_t size = a->family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
        return a->family != 0 && a->family == b->family && memcmp(a->bytes, b->bytes, size) == 0;
}

int origin_policy_init(struct origin_policy *policy, const char *address, const char *allowed_hosts,
                       struct ph_error *error) {
        memset(policy, 0, sizeof(*policy));
        int written = snprintf(policy->address, sizeof(policy->address), "%s", address);
        int listed =
                snprintf(policy->allowed_hosts, sizeof(policy->allowed_hosts), "%s", allowed_hosts);
        if (written < 0 || (size_t)written >= sizeof(policy->address) || listed < 0 ||
            (size_t)listed >= sizeof(policy->allowed_hosts))
                return ph_error_set(error, -EINVAL, "http: allowed_hosts or address too long");
        struct in_addr v4;
        struct in6_addr v6;
        if (inet_pton(AF_INET, address, &v4) == 1) {
                uint32_t host_order = ntohl(v4.s_addr);
                policy->is_wildcard = host_order == 0;
                policy->allows_localhost = policy->is_wildcard || (host_order >> 24) == 127;
        } else if (inet_pton(AF_INET6, address, &v6) == 1) {
                policy->is_wildcard = IN6_IS_ADDR_UNSPECIFIED(&v6);
                policy->allows_localhost = policy->is_wildcard || IN6_IS_ADDR_LOOPBACK(&v6);
        } else {
                return ph_error_set(error, -EINVAL, "http: '%s' is not an IP address", address);
        }
        /* "*" anywhere in the list opens the check. */
        for (const char *cursor = policy->allowed_hosts; *cursor != '\0';) {
                cursor += strspn(cursor, " \t,");
                size_t length = strcspn(cursor, " \t,");
                if (length == 1 && cursor[0] == '*')
                        policy->allows_any = true;
                cursor += length;
        }
        return 0;
}

/* The length of the name in "name", "name:port", "[v6]" or "[v6]:port";
 * 0 when it is none of these. */
static size_t name_length(const char *host) {
        size_t length;
        if (host[0] == '[') {
                const char *close = strchr(host, ']');
                if (close == NULL)
                        return 0;
                length = (size_t)(close - host) + 1;
        } else {
                length = strcspn(host, ":");
        }
        const char *rest = host + length;
        if (*rest == '\0')
                return length;
        if (*rest != ':')
                return 0;
        rest++;
        size_t digits = strspn(rest, "0123456789");
        return digits > 0 && digits <= 5 && rest[digits] == '\0' ? length : 0;
}

static bool names_equal(const char *a, size_t a_length, const char *b, size_t b_length) {
        /* "name." is "name". */
        if (a_length > 1 && a[a_length - 1] == '.')
                a_length--;
        if (b_length > 1 && b[b_length - 1] == '.')
                b_length--;
        return a_length == b_length && strncasecmp(a, b, a_length) == 0;
}

/* Whether `length` bytes of `name` (a host name, IPv4 or [IPv6]) are this
 * server's. */
static bool is_own_name(const struct origin_policy *policy, const char *name, size_t length) {
        if (length == 0 || length > NAME_MAX_LENGTH)
                return false;
        struct ip ip;
        size_t bare = length > 1 && name[length - 1] == '.' ? length - 1 : length;
        parse_ip_literal(name, bare, &ip);
        if (ip.family != 0) {
                if (policy->is_wildcard)
                        return true;
                struct ip own;
                char bracketed[sizeof(policy->address) + 2];
                bool is_v6 = strchr(policy->address, ':') != NULL;
                int written = snprintf(bracketed, sizeof(bracketed), "%s%s%s", is_v6 ? "[" : "",
                                       policy->address, is_v6 ? "]" : "");
                parse_ip_literal(bracketed, written > 0 ? (size_t)written : 0, &own);
                if (ip_equal(&ip, &own))
                        return true;
        } else if (policy->allows_localhost && names_equal(name, length, "localhost", 9)) {
                return true;
        }
        for (const char *cursor = policy->allowed_hosts; *cursor != '\0';) {
                cursor += strspn(cursor, " \t,");
                size_t item = strcspn(cursor, " \t,");
                if (item > 0) {
                        struct ip listed;
                        parse_ip_literal(cursor, item, &listed);
                        if (ip.family != 0
                                    ? ip_equal(&ip, &listed)
                                    : listed.family == 0 && names_equal(name, length, cursor, item))
                                return true;
                }
                cursor += item;
        }
        return false;
}

bool origin_host_is_allowed(const struct origin_policy *policy, const char *host) {
        if (host == NULL || policy->allows_any)
                return true;
        return is_own_name(policy, host, name_length(host));
}

bool origin_is_allowed(const struct origin_policy *policy, const char *origin) {
        if (policy->allows_any)
                return true;
        const char *rest = NULL;
        if (strncasecmp(origin, "http://", 7) == 0)
                rest = origin + 7;
        else if (strncasecmp(origin, "https://", 8) == 0)
                rest = origin + 8;
        if (rest == NULL || strpbrk(rest, "/@?#") != NULL)
                return false;
        return is_own_name(policy, rest, name_length(rest));
}
