#include "http/sse.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct event {
        uint64_t id;
        char *text; /* "id: N\nevent: NAME\ndata: JSON\n\n" */
        size_t size;
};

struct stream {
        struct sse *sse;
        struct MHD_Connection *connection;
        uint64_t next_id;  /* the next event to send */
        size_t offset;     /* bytes of that event already sent */
        bool is_suspended; /* waiting in MHD_suspend_connection */
        bool wants_hello;  /* the retry hint, first */
        bool wants_keepalive;
        struct stream *next;
};

struct sse {
        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t wake;  /* the keep-alive thread's */
        pthread_t keepalive_thread;
        bool has_thread;
        bool is_stopping;  /* sse_free: the keep-alive thread ends */
        bool is_shut_down; /* sse_shutdown: streams end, no new ones */
        struct event ring[SSE_RING_EVENTS];
        uint64_t next_id; /* ids start at 1 */
        struct stream *streams;
        size_t stream_count;
        size_t max_streams;
};

static const char hello[] = "retry: 2000\n\n";
static const char keepalive[] = ": keep-alive\n\n";

/* With `lock`. */
static void resume_all(struct sse *sse) {
        for (struct stream *stream = sse->streams; stream != NULL; stream = stream->next) {
                if (stream->is_suspended) {
                        stream->is_suspended = false;
                        MHD_resume_connection(stream->connection);
                }
        }
}

static void *run_keepalive(void *argument) {
        struct sse *sse = argument;
        pthread_mutex_lock(&sse->lock);
        while (!sse->is_stopping) {
                struct timespec deadline;
                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_sec += SSE_KEEPALIVE_S;
                int result = 0;
                while (!sse->is_stopping && result != ETIMEDOUT)
                        result = pthread_cond_timedwait(&sse->wake, &sse->lock, &deadline);
                if (sse->is_stopping)
                        break;
                for (struct stream *stream = sse->streams; stream != NULL; stream = stream->next)
                        stream->wants_keepalive = true;
                resume_all(sse);
        }
        pthread_mutex_unlock(&sse->lock);
        return NULL;
}

struct sse *sse_new(size_t max_streams, struct ph_error *error) {
        struct sse *sse = calloc(1, sizeof(*sse));
        if (sse == NULL) {
                ph_error_set(error, -ENOMEM, "http: out of memory");
                return NULL;
        }
        pthread_mutex_init(&sse->lock, NULL);
        pthread_condattr_t attributes;
        pthread_condattr_init(&attributes);
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
        pthread_cond_init(&sse->wake, &attributes);
        pthread_condattr_destroy(&attributes);
        sse->next_id = 1;
        sse->max_streams = max_streams;
        if (pthread_create(&sse->keepalive_thread, NULL, run_keepalive, sse) != 0) {
                ph_error_set(error, -EAGAIN, "http: cannot start the event stream's thread");
                sse_free(sse);
                return NULL;
        }
        sse->has_thread = true;
        return sse;
}

void sse_shutdown(struct sse *sse) {
        if (sse == NULL)
                return;
        pthread_mutex_lock(&sse->lock);
        sse->is_shut_down = true;
        resume_all(sse);
        pthread_mutex_unlock(&sse->lock);
}

void sse_free(struct sse *sse) {
        if (sse == NULL)
                return;
        if (sse->has_thread) {
                pthread_mutex_lock(&sse->lock);
                sse->is_stopping = true;
                pthread_cond_signal(&sse->wake);
                pthread_mutex_unlock(&sse->lock);
                pthread_join(sse->keepalive_thread, NULL);
        }
        for (size_t i = 0; i < SSE_RING_EVENTS; i++)
                free(sse->ring[i].text);
        /* Every stream was freed by its response's free callback when the
         * server stopped. */
        pthread_cond_destroy(&sse->wake);
        pthread_mutex_destroy(&sse->lock);
        free(sse);
}

int sse_publish(struct sse *sse, const char *name, const char *json) {
        size_t json_size = strlen(json);
        if (json_size > SSE_EVENT_MAX || strchr(json, '\n') != NULL)
                return -EMSGSIZE;
        size_t capacity = json_size + strlen(name) + 64;
        char *text = malloc(capacity);
        if (text == NULL)
                return -ENOMEM;
        pthread_mutex_lock(&sse->lock);
        uint64_t id = sse->next_id++;
        int written = snprintf(text, capacity, "id: %llu\nevent: %s\ndata: %s\n\n",
                               (unsigned long long)id, name, json);
        struct event *slot = &sse->ring[id % SSE_RING_EVENTS];
        char *old = slot->text;
        slot->id = id;
        slot->text = text;
        slot->size = written > 0 ? (size_t)written : 0;
        resume_all(sse);
        pthread_mutex_unlock(&sse->lock);
        free(old);
        return 0;
}

/* Copies what is ready for `stream` into `buffer`. With `lock`. */
static size_t fill(struct sse *sse, struct stream *stream, char *buffer, size_t max) {
        size_t used = 0;
        if (stream->wants_hello && max >= sizeof(hello) - 1) {
                memcpy(buffer, hello, sizeof(hello) - 1);
                used = sizeof(hello) - 1;
                stream->wants_hello = false;
        }
        while (stream->next_id < sse->next_id && used < max) {
                const struct event *event = &sse->ring[stream->next_id % SSE_RING_EVENTS];
                size_t chunk = event->size - stream->offset;
                if (chunk > max - used)
                        chunk = max - used;
                memcpy(buffer + used, event->text + stream->offset, chunk);
                used += chunk;
                stream->offset += chunk;
                if (stream->offset == event->size) {
                        stream->next_id++;
                        stream->offset = 0;
                }
        }
        if (used == 0 && stream->wants_keepalive && max >= sizeof(keepalive) - 1) {
                memcpy(buffer, keepalive, sizeof(keepalive) - 1);
                used = sizeof(keepalive) - 1;
        }
        if (used > 0)
                stream->wants_keepalive = false;
        return used;
}

static ssize_t read_stream(void *data, uint64_t position, char *buffer, size_t max) {
        (void)position;
        struct stream *stream = data;
        struct sse *sse = stream->sse;
        pthread_mutex_lock(&sse->lock);
        ssize_t result;
        uint64_t oldest = sse->next_id > SSE_RING_EVENTS ? sse->next_id - SSE_RING_EVENTS : 1;
        if (sse->is_shut_down) {
                result = MHD_CONTENT_READER_END_OF_STREAM;
        } else if (stream->next_id < oldest) {
                /* The client stopped reading and the ring moved past it. */
                result = MHD_CONTENT_READER_END_WITH_ERROR;
        } else {
                size_t used = fill(sse, stream, buffer, max);
                if (used == 0) {
                        /* Nothing to send: give the worker back until
                         * sse_publish or the keep-alive resumes us. */
                        stream->is_suspended = true;
                        MHD_suspend_connection(stream->connection);
                }
                result = (ssize_t)used;
        }
        pthread_mutex_unlock(&sse->lock);
        return result;
}

static void free_stream(void *data) {
        struct stream *stream = data;
        struct sse *sse = stream->sse;
        pthread_mutex_lock(&sse->lock);
        for (struct stream **link = &sse->streams; *link != NULL; link = &(*link)->next) {
                if (*link == stream) {
                        *link = stream->next;
                        sse->stream_count--;
                        break;
                }
        }
        pthread_mutex_unlock(&sse->lock);
        free(stream);
}

static bool parse_event_id(const char *text, uint64_t *ret) {
        if (text == NULL || text[0] < '0' || text[0] > '9')
                return false;
        char *end = NULL;
        errno = 0;
        unsigned long long value = strtoull(text, &end, 10);
        if (errno != 0 || *end != '\0')
                return false;
        *ret = value;
        return true;
}

struct MHD_Response *sse_open(struct sse *sse, struct MHD_Connection *connection,
                              const char *last_event_id) {
        struct stream *stream = calloc(1, sizeof(*stream));
        if (stream == NULL)
                return NULL;
        stream->sse = sse;
        stream->connection = connection;
        stream->wants_hello = true;
        pthread_mutex_lock(&sse->lock);
        if (sse->is_shut_down || sse->stream_count >= sse->max_streams) {
                pthread_mutex_unlock(&sse->lock);
                free(stream);
                return NULL;
        }
        stream->next_id = sse->next_id;
        uint64_t seen = 0;
        uint64_t oldest = sse->next_id > SSE_RING_EVENTS ? sse->next_id - SSE_RING_EVENTS : 1;
        if (parse_event_id(last_event_id, &seen) && seen + 1 >= oldest && seen < sse->next_id)
                stream->next_id = seen + 1;
        stream->next = sse->streams;
        sse->streams = stream;
        sse->stream_count++;
        pthread_mutex_unlock(&sse->lock);
        struct MHD_Response *response = MHD_create_response_from_callback(
                MHD_SIZE_UNKNOWN, 4096, read_stream, stream, free_stream);
        if (response == NULL)
                free_stream(stream);
        return response;
}

size_t sse_stream_count(struct sse *sse) {
        pthread_mutex_lock(&sse->lock);
        size_t count = sse->stream_count;
        pthread_mutex_unlock(&sse->lock);
        return count;
}

uint64_t sse_event_count(struct sse *sse) {
        pthread_mutex_lock(&sse->lock);
        uint64_t count = sse->next_id - 1;
        pthread_mutex_unlock(&sse->lock);
        return count;
}
