#include "http/guard.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Addresses whose request rate is remembered; the least recently seen is
 * forgotten first. */
#define RATE_ADDRESSES 256

/* Connections admitted by guard_accept whose start libmicrohttpd has not
 * yet reported. The pool's threads accept concurrently, so without these a
 * second accept between another's admission and its start would not count
 * it, and more than max_connections would be let in. A reservation that is
 * never claimed (libmicrohttpd failed the connection after admitting it)
 * lapses after RESERVATION_MS. */
#define RESERVATIONS 64
#define RESERVATION_MS 1000u

const char *const guard_reason_names[GUARD_REASON_COUNT] = {
        [GUARD_REFUSED_PER_ADDRESS] = "per-address",
        [GUARD_REFUSED_FULL] = "full",
        [GUARD_REFUSED_RATE] = "rate",
        [GUARD_REFUSED_HOST] = "host",
        [GUARD_REFUSED_ORIGIN] = "origin",
        [GUARD_CLOSED_DEADLINE] = "deadline",
        [GUARD_CLOSED_EVICTED] = "evicted",
};

/* A client address, IPv4 as IPv4-mapped IPv6, so one compare fits both. */
struct address {
        unsigned char bytes[16];
};

/* One open connection. */
struct tracked {
        struct tracked *prev;
        struct tracked *next;
        struct address address;
        int fd;
        uint64_t waiting_since_ms; /* for its (next) request */
        bool is_busy;              /* its request is in and being answered */
        bool is_closing;           /* shut down by us; libmicrohttpd closes it */
};

struct bucket {
        struct address address;
        double tokens;
        uint64_t updated_ms;
        bool is_used;
};

struct reservation {
        struct address address;
        uint64_t made_ms; /* 0: free */
};

struct guard {
        struct guard_limits limits;
        uint64_t deadline_ms;
        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t wake;  /* the reaper's */
        pthread_t reaper;
        bool has_reaper;
        bool is_stopping;
        bool is_reaper_idle; /* waiting with no deadline ahead */
        struct tracked *connections;
        uint64_t connection_count;
        uint64_t connection_max;
        uint64_t counts[GUARD_REASON_COUNT];
        struct bucket buckets[RATE_ADDRESSES];
        struct reservation reservations[RESERVATIONS];
};

static uint64_t now_ms(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static bool address_from(const struct sockaddr *socket_address, socklen_t length,
                         struct address *ret) {
        memset(ret, 0, sizeof(*ret));
        if (socket_address == NULL)
                return false;
        if (socket_address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *v4 = (const struct sockaddr_in *)socket_address;
                ret->bytes[10] = 0xff;
                ret->bytes[11] = 0xff;
                memcpy(ret->bytes + 12, &v4->sin_addr, 4);
                return true;
        }
        if (socket_address->sa_family == AF_INET6 && length >= sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)socket_address;
                memcpy(ret->bytes, &v6->sin6_addr, 16);
                return true;
        }
        return false;
}

/* With `lock`: shuts the connection's socket so libmicrohttpd closes it. */
static void close_tracked(struct guard *guard, struct tracked *tracked, enum guard_reason reason) {
        tracked->is_closing = true;
        guard->counts[reason]++;
        (void)shutdown(tracked->fd, SHUT_RDWR);
}

static void *run_reaper(void *argument) {
        struct guard *guard = argument;
        pthread_mutex_lock(&guard->lock);
        while (!guard->is_stopping) {
                uint64_t now = now_ms();
                uint64_t next = UINT64_MAX;
                for (struct tracked *t = guard->connections; t != NULL; t = t->next) {
                        if (t->is_busy || t->is_closing)
                                continue;
                        uint64_t deadline = t->waiting_since_ms + guard->deadline_ms;
                        if (deadline <= now)
                                close_tracked(guard, t, GUARD_CLOSED_DEADLINE);
                        else if (deadline < next)
                                next = deadline;
                }
                guard->is_reaper_idle = next == UINT64_MAX;
                if (guard->is_reaper_idle) {
                        pthread_cond_wait(&guard->wake, &guard->lock);
                } else {
                        struct timespec until = {.tv_sec = (time_t)(next / 1000u),
                                                 .tv_nsec = (long)(next % 1000u) * 1000000L};
                        pthread_cond_timedwait(&guard->wake, &guard->lock, &until);
                }
        }
        pthread_mutex_unlock(&guard->lock);
        return NULL;
}

/* With `lock`: a new deadline exists; an idle reaper must start timing. */
static void wake_reaper(struct guard *guard) {
        if (guard->is_reaper_idle) {
                guard->is_reaper_idle = false;
                pthread_cond_signal(&guard->wake);
        }
}

struct guard *guard_new(const struct guard_limits *limits, struct ph_error *error) {
        struct guard *guard = calloc(1, sizeof(*guard));
        if (guard == NULL) {
                ph_error_set(error, -ENOMEM, "http: out of memory");
                return NULL;
        }
        guard->limits = *limits;
        guard->deadline_ms = (uint64_t)(limits->deadline_s * 1000.0);
        pthread_mutex_init(&guard->lock, NULL);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&guard->wake, &attributes);
        pthread_condattr_destroy(&attributes);
        if (pthread_create(&guard->reaper, NULL, run_reaper, guard) != 0) {
                ph_error_set(error, -EAGAIN, "http: cannot start the connection reaper thread");
                guard_free(guard);
                return NULL;
        }
        guard->has_reaper = true;
        return guard;
}

void guard_free(struct guard *guard) {
        if (guard == NULL)
                return;
        if (guard->has_reaper) {
                pthread_mutex_lock(&guard->lock);
                guard->is_stopping = true;
                pthread_cond_signal(&guard->wake);
                pthread_mutex_unlock(&guard->lock);
                pthread_join(guard->reaper, NULL);
        }
        /* The server has stopped: every connection was closed and freed. */
        pthread_cond_destroy(&guard->wake);
        pthread_mutex_destroy(&guard->lock);
        free(guard);
}

bool guard_accept(struct guard *guard, const struct sockaddr *socket_address, socklen_t length) {
        struct address address;
        bool has_address = address_from(socket_address, length, &address);
        uint64_t now = now_ms();
        pthread_mutex_lock(&guard->lock);
        unsigned from_address = 0;
        uint64_t open = 0;
        struct reservation *spare = NULL;
        for (size_t i = 0; i < RESERVATIONS; i++) {
                struct reservation *r = &guard->reservations[i];
                if (r->made_ms != 0 && now - r->made_ms >= RESERVATION_MS)
                        r->made_ms = 0; /* lapsed */
                if (r->made_ms == 0) {
                        if (spare == NULL)
                                spare = r;
                        continue;
                }
                open++;
                if (has_address && memcmp(&r->address, &address, sizeof(address)) == 0)
                        from_address++;
        }
        struct tracked *oldest = NULL;
        for (struct tracked *t = guard->connections; t != NULL; t = t->next) {
                if (t->is_closing)
                        continue;
                open++;
                if (has_address && memcmp(&t->address, &address, sizeof(address)) == 0)
                        from_address++;
                if (!t->is_busy &&
                    (oldest == NULL || t->waiting_since_ms < oldest->waiting_since_ms))
                        oldest = t;
        }
        bool is_allowed = true;
        if (from_address >= guard->limits.max_per_address) {
                guard->counts[GUARD_REFUSED_PER_ADDRESS]++;
                is_allowed = false;
        } else if (open >= guard->limits.max_connections) {
                if (oldest != NULL) {
                        close_tracked(guard, oldest, GUARD_CLOSED_EVICTED);
                } else {
                        guard->counts[GUARD_REFUSED_FULL]++;
                        is_allowed = false;
                }
        }
        /* With no spare reservation (64 admissions within a poll round),
         * the connection is still admitted, only not counted until it
         * starts. */
        if (is_allowed && spare != NULL)
                *spare = (struct reservation){.address = address, .made_ms = now > 0 ? now : 1};
        pthread_mutex_unlock(&guard->lock);
        return is_allowed;
}

/* With `lock`: the connection admitted for `address` has started; its
 * reservation (the oldest of that address; any, if none matches) gives way
 * to its record. */
static void claim_reservation(struct guard *guard, const struct address *address) {
        struct reservation *claimed = NULL;
        for (size_t i = 0; i < RESERVATIONS; i++) {
                struct reservation *r = &guard->reservations[i];
                if (r->made_ms == 0)
                        continue;
                bool is_same = memcmp(&r->address, address, sizeof(*address)) == 0;
                bool was_same = claimed != NULL &&
                                memcmp(&claimed->address, address, sizeof(*address)) == 0;
                if (claimed == NULL || (is_same && !was_same) ||
                    (is_same == was_same && r->made_ms < claimed->made_ms))
                        claimed = r;
        }
        if (claimed != NULL)
                claimed->made_ms = 0;
}

void guard_connection_started(struct guard *guard, struct MHD_Connection *connection,
                              void **socket_context) {
        struct tracked *tracked = calloc(1, sizeof(*tracked));
        const union MHD_ConnectionInfo *fd_info =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *address_info =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        struct address address = {0};
        if (address_info != NULL && address_info->client_addr != NULL)
                address_from(address_info->client_addr,
                             address_info->client_addr->sa_family == AF_INET6
                                     ? (socklen_t)sizeof(struct sockaddr_in6)
                                     : (socklen_t)sizeof(struct sockaddr_in),
                             &address);
        *socket_context = NULL;
        if (tracked == NULL || fd_info == NULL) {
                /* Untracked: libmicrohttpd's own limits and timeout still
                 * hold for it. */
                free(tracked);
                pthread_mutex_lock(&guard->lock);
                claim_reservation(guard, &address);
                pthread_mutex_unlock(&guard->lock);
                return;
        }
        tracked->fd = fd_info->connect_fd;
        tracked->address = address;
        tracked->waiting_since_ms = now_ms();
        pthread_mutex_lock(&guard->lock);
        claim_reservation(guard, &address); /* and counted from now on as open */
        tracked->next = guard->connections;
        if (guard->connections != NULL)
                guard->connections->prev = tracked;
        guard->connections = tracked;
        guard->connection_count++;
        if (guard->connection_count > guard->connection_max)
                guard->connection_max = guard->connection_count;
        wake_reaper(guard);
        pthread_mutex_unlock(&guard->lock);
        *socket_context = tracked;
}

void guard_connection_closed(struct guard *guard, void **socket_context) {
        struct tracked *tracked = *socket_context;
        if (tracked == NULL)
                return;
        pthread_mutex_lock(&guard->lock);
        if (tracked->prev != NULL)
                tracked->prev->next = tracked->next;
        else
                guard->connections = tracked->next;
        if (tracked->next != NULL)
                tracked->next->prev = tracked->prev;
        guard->connection_count--;
        pthread_mutex_unlock(&guard->lock);
        free(tracked);
        *socket_context = NULL;
}

static struct tracked *tracked_of(struct MHD_Connection *connection) {
        const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return info != NULL ? info->socket_context : NULL;
}

/* With `lock`: the bucket of `address`, refilled to `now`. */
static struct bucket *bucket_for(struct guard *guard, const struct address *address, uint64_t now) {
        double rate = (double)guard->limits.max_requests_per_s;
        struct bucket *found = NULL;
        struct bucket *stalest = &guard->buckets[0];
        for (size_t i = 0; i < RATE_ADDRESSES && found == NULL; i++) {
                struct bucket *bucket = &guard->buckets[i];
                if (bucket->is_used && memcmp(&bucket->address, address, sizeof(*address)) == 0)
                        found = bucket;
                else if (!bucket->is_used ||
                         (stalest->is_used && bucket->updated_ms < stalest->updated_ms))
                        stalest = bucket;
        }
        if (found == NULL) {
                found = stalest;
                *found = (struct bucket){.address = *address, .tokens = rate, .is_used = true};
        } else {
                found->tokens += (double)(now - found->updated_ms) * rate / 1000.0;
                if (found->tokens > rate)
                        found->tokens = rate;
        }
        found->updated_ms = now;
        return found;
}

bool guard_request_allowed(struct guard *guard, struct MHD_Connection *connection) {
        struct tracked *tracked = tracked_of(connection);
        if (tracked == NULL || guard->limits.max_requests_per_s == 0)
                return true;
        pthread_mutex_lock(&guard->lock);
        struct bucket *bucket = bucket_for(guard, &tracked->address, now_ms());
        bool is_allowed = bucket->tokens >= 1.0;
        if (is_allowed)
                bucket->tokens -= 1.0;
        else
                guard->counts[GUARD_REFUSED_RATE]++;
        pthread_mutex_unlock(&guard->lock);
        return is_allowed;
}

void guard_request_in(struct guard *guard, struct MHD_Connection *connection) {
        struct tracked *tracked = tracked_of(connection);
        if (tracked == NULL)
                return;
        pthread_mutex_lock(&guard->lock);
        tracked->is_busy = true;
        pthread_mutex_unlock(&guard->lock);
}

void guard_request_done(struct guard *guard, struct MHD_Connection *connection) {
        struct tracked *tracked = tracked_of(connection);
        if (tracked == NULL)
                return;
        pthread_mutex_lock(&guard->lock);
        tracked->is_busy = false;
        tracked->waiting_since_ms = now_ms();
        wake_reaper(guard);
        pthread_mutex_unlock(&guard->lock);
}

void guard_count(struct guard *guard, enum guard_reason reason) {
        pthread_mutex_lock(&guard->lock);
        guard->counts[reason]++;
        pthread_mutex_unlock(&guard->lock);
}

void guard_figures(struct guard *guard, struct guard_figures *ret) {
        pthread_mutex_lock(&guard->lock);
        ret->connections = guard->connection_count;
        ret->connections_max = guard->connection_max;
        memcpy(ret->counts, guard->counts, sizeof(ret->counts));
        pthread_mutex_unlock(&guard->lock);
}
