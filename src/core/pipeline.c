#include "core/pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* A subscriber's thread needs little stack: delivers copy records into
 * their own structures or format a line. */
#define SUBSCRIBER_STACK_BYTES ((size_t)512 * 1024)

struct subscriber {
        struct pipeline *pipeline;
        char name[PIPELINE_SUBSCRIBER_NAME_MAX];
        pipeline_deliver deliver;
        void *data;
        pthread_t thread;
        pthread_cond_t wake; /* with the pipeline's lock: a record or the stop */
        bool is_stopping;
        bool is_busy;    /* its deliver is running */
        bool is_waiting; /* its thread sleeps on `wake`: a record must signal */
        bool is_inline;  /* no queue, no thread: delivered on the publisher's */
        size_t capacity, head, depth, high_water;
        uint64_t delivered, dropped;
        struct poll_record **ring;
};

struct pipeline {
        pthread_mutex_t lock;   /* the slots, every queue and every counter */
        pthread_cond_t drained; /* a deliver finished */
        uint64_t published, lost;
        /* Publishers between their unlock and their last signal or inline
         * deliver: a subscriber is freed only when none is
         * (pipeline_unsubscribe waits). */
        unsigned signalling;
        pthread_cond_t signalled; /* `signalling` fell to 0 */
        struct subscriber *slots[PIPELINE_MAX_SUBSCRIBERS];
};

/* --- records ------------------------------------------------------------ */

struct poll_record *poll_record_new(const char *plugin) {
        struct poll_record *record = calloc(1, sizeof(*record));
        if (record == NULL)
                return NULL;
        snprintf(record->plugin, sizeof(record->plugin), "%s", plugin);
        atomic_init(&record->references, 1);
        return record;
}

static char *copy_text(const char *text) {
        return strdup(text != NULL ? text : "");
}

struct poll_record *poll_record_new_lifecycle(const char *plugin, const char *event,
                                              const char *version, int64_t time_ms,
                                              const char *message) {
        struct poll_record *record = poll_record_new(plugin);
        if (record == NULL)
                return NULL;
        record->kind = RECORD_LIFECYCLE;
        snprintf(record->event, sizeof(record->event), "%s", event);
        snprintf(record->version, sizeof(record->version), "%.12s", version != NULL ? version : "");
        record->started_ms = time_ms;
        record->finished_ms = time_ms;
        record->message = copy_text(message);
        if (record->message == NULL) {
                poll_record_unref(record);
                return NULL;
        }
        return record;
}

int poll_record_set_failure(struct poll_record *record, enum poll_outcome outcome, const char *kind,
                            const char *message, const char *traceback) {
        record->outcome = outcome;
        record->failure_kind = kind;
        reading_list_clear(&record->readings);
        free(record->message);
        free(record->traceback);
        record->message = copy_text(message);
        record->traceback = copy_text(traceback);
        return record->message != NULL && record->traceback != NULL ? 0 : -ENOMEM;
}

struct poll_record *poll_record_ref(struct poll_record *record) {
        atomic_fetch_add_explicit(&record->references, 1, memory_order_relaxed);
        return record;
}

void poll_record_unref(struct poll_record *record) {
        if (record == NULL ||
            atomic_fetch_sub_explicit(&record->references, 1, memory_order_acq_rel) != 1)
                return;
        reading_list_clear(&record->readings);
        free(record->message);
        free(record->traceback);
        free(record);
}

const char *poll_origin_name(enum poll_origin origin) {
        switch (origin) {
        case POLL_ORIGIN_SCHEDULED:
                return "scheduled";
        case POLL_ORIGIN_OPERATOR:
                return "operator";
        case POLL_ORIGIN_TRIAL:
                return "trial";
        }
        return "unknown";
}

const char *poll_outcome_name(enum poll_outcome outcome) {
        switch (outcome) {
        case POLL_OUTCOME_OK:
                return "ok";
        case POLL_OUTCOME_FAILED:
                return "failed";
        case POLL_OUTCOME_SKIPPED:
                return "skipped";
        }
        return "unknown";
}

int64_t poll_record_now_ms(void) {
        return clock_realtime_ms();
}

/* --- the pipeline ------------------------------------------------------- */

struct pipeline *pipeline_new(struct ph_error *error) {
        struct pipeline *pipeline = calloc(1, sizeof(*pipeline));
        if (pipeline == NULL) {
                ph_error_set(error, -ENOMEM, "pipeline: out of memory");
                return NULL;
        }
        pthread_mutex_init(&pipeline->lock, NULL);
        clock_cond_init_monotonic(&pipeline->drained);
        pthread_cond_init(&pipeline->signalled, NULL);
        return pipeline;
}

void pipeline_free(struct pipeline *pipeline) {
        if (pipeline == NULL)
                return;
        for (unsigned id = 0; id < PIPELINE_MAX_SUBSCRIBERS; id++)
                pipeline_unsubscribe(pipeline, id);
        pthread_cond_destroy(&pipeline->drained);
        pthread_cond_destroy(&pipeline->signalled);
        pthread_mutex_destroy(&pipeline->lock);
        free(pipeline);
}

static void *run_subscriber(void *argument) {
        struct subscriber *subscriber = argument;
        struct pipeline *pipeline = subscriber->pipeline;
        pthread_mutex_lock(&pipeline->lock);
        for (;;) {
                while (subscriber->depth == 0 && !subscriber->is_stopping) {
                        subscriber->is_waiting = true;
                        pthread_cond_wait(&subscriber->wake, &pipeline->lock);
                        subscriber->is_waiting = false;
                }
                if (subscriber->depth == 0)
                        break; /* stopping, and everything queued was delivered */
                struct poll_record *record = subscriber->ring[subscriber->head];
                subscriber->ring[subscriber->head] = NULL;
                subscriber->head = (subscriber->head + 1) % subscriber->capacity;
                subscriber->depth--;
                subscriber->is_busy = true;
                pthread_mutex_unlock(&pipeline->lock);
                subscriber->deliver(record, subscriber->data);
                poll_record_unref(record);
                pthread_mutex_lock(&pipeline->lock);
                subscriber->is_busy = false;
                subscriber->delivered++;
                pthread_cond_broadcast(&pipeline->drained);
        }
        pthread_mutex_unlock(&pipeline->lock);
        return NULL;
}

static void free_subscriber(struct subscriber *subscriber) {
        pthread_cond_destroy(&subscriber->wake);
        free(subscriber->ring);
        free(subscriber);
}

int pipeline_subscribe(struct pipeline *pipeline, const struct pipeline_subscriber_spec *spec,
                       unsigned *ret_id, struct ph_error *error) {
        if (spec->deliver == NULL || spec->capacity > SIZE_MAX / 2)
                return ph_error_set(error, -EINVAL, "pipeline: subscriber %s: no deliver",
                                    spec->name);
        bool is_inline = spec->capacity == 0;
        struct subscriber *subscriber = calloc(1, sizeof(*subscriber));
        struct poll_record **ring = is_inline ? NULL : calloc(spec->capacity, sizeof(*ring));
        if (subscriber == NULL || (ring == NULL && !is_inline)) {
                free(subscriber);
                free(ring);
                return ph_error_set(error, -ENOMEM, "pipeline: subscriber %s: out of memory",
                                    spec->name);
        }
        subscriber->pipeline = pipeline;
        snprintf(subscriber->name, sizeof(subscriber->name), "%s", spec->name);
        subscriber->deliver = spec->deliver;
        subscriber->data = spec->data;
        subscriber->capacity = spec->capacity;
        subscriber->ring = ring;
        subscriber->is_inline = is_inline;
        pthread_cond_init(&subscriber->wake, NULL);

        pthread_mutex_lock(&pipeline->lock);
        unsigned id = 0;
        while (id < PIPELINE_MAX_SUBSCRIBERS && pipeline->slots[id] != NULL)
                id++;
        if (id == PIPELINE_MAX_SUBSCRIBERS) {
                pthread_mutex_unlock(&pipeline->lock);
                free_subscriber(subscriber);
                return ph_error_set(error, -E2BIG, "pipeline: subscriber %s: already %d",
                                    spec->name, PIPELINE_MAX_SUBSCRIBERS);
        }
        int result = 0;
        if (!is_inline) {
                pthread_attr_t attributes;
                pthread_attr_init(&attributes);
                pthread_attr_setstacksize(&attributes, SUBSCRIBER_STACK_BYTES);
                result = pthread_create(&subscriber->thread, &attributes, run_subscriber,
                                        subscriber);
                pthread_attr_destroy(&attributes);
        }
        if (result != 0) {
                pthread_mutex_unlock(&pipeline->lock);
                free_subscriber(subscriber);
                return ph_error_set(error, -result, "pipeline: subscriber %s: no thread: %s",
                                    spec->name, strerror(result));
        }
        pipeline->slots[id] = subscriber;
        pthread_mutex_unlock(&pipeline->lock);
        *ret_id = id;
        return 0;
}

void pipeline_unsubscribe(struct pipeline *pipeline, unsigned id) {
        if (pipeline == NULL || id >= PIPELINE_MAX_SUBSCRIBERS)
                return;
        pthread_mutex_lock(&pipeline->lock);
        struct subscriber *subscriber = pipeline->slots[id];
        pipeline->slots[id] = NULL;
        if (subscriber != NULL) {
                subscriber->is_stopping = true;
                pthread_cond_signal(&subscriber->wake);
                /* A publisher may still hold a pointer to its condition. */
                while (pipeline->signalling > 0)
                        pthread_cond_wait(&pipeline->signalled, &pipeline->lock);
        }
        pthread_mutex_unlock(&pipeline->lock);
        if (subscriber == NULL)
                return;
        if (!subscriber->is_inline)
                pthread_join(subscriber->thread, NULL);
        free_subscriber(subscriber);
}

void pipeline_publish(struct pipeline *pipeline, struct poll_record *record) {
        if (pipeline == NULL) {
                poll_record_unref(record);
                return;
        }
        pthread_mutex_lock(&pipeline->lock);
        if (record == NULL) {
                pipeline->lost++;
                pthread_mutex_unlock(&pipeline->lock);
                return;
        }
        pipeline->published++;
        /* Only sleeping subscribers are woken (a busy one finds the record
         * when its deliver returns), and after the unlock, so that they do
         * not wake into a held lock. `signalling` keeps each condition alive
         * until its signal is sent (pipeline_unsubscribe waits for it). */
        pthread_cond_t *to_wake[PIPELINE_MAX_SUBSCRIBERS];
        struct subscriber *to_call[PIPELINE_MAX_SUBSCRIBERS];
        size_t wake_count = 0, call_count = 0;
        for (unsigned id = 0; id < PIPELINE_MAX_SUBSCRIBERS; id++) {
                struct subscriber *subscriber = pipeline->slots[id];
                if (subscriber == NULL)
                        continue;
                if (subscriber->is_inline) {
                        subscriber->delivered++;
                        to_call[call_count++] = subscriber;
                        continue;
                }
                if (subscriber->depth == subscriber->capacity) {
                        subscriber->dropped++;
                        continue;
                }
                size_t tail = (subscriber->head + subscriber->depth) % subscriber->capacity;
                subscriber->ring[tail] = poll_record_ref(record);
                subscriber->depth++;
                if (subscriber->depth > subscriber->high_water)
                        subscriber->high_water = subscriber->depth;
                if (subscriber->is_waiting) {
                        subscriber->is_waiting = false; /* one wake is enough */
                        to_wake[wake_count++] = &subscriber->wake;
                }
        }
        if (wake_count == 0 && call_count == 0) {
                pthread_mutex_unlock(&pipeline->lock);
                poll_record_unref(record);
                return;
        }
        pipeline->signalling++;
        pthread_mutex_unlock(&pipeline->lock);
        for (size_t i = 0; i < wake_count; i++)
                pthread_cond_signal(to_wake[i]);
        for (size_t i = 0; i < call_count; i++)
                to_call[i]->deliver(record, to_call[i]->data);
        pthread_mutex_lock(&pipeline->lock);
        if (--pipeline->signalling == 0)
                pthread_cond_broadcast(&pipeline->signalled);
        pthread_mutex_unlock(&pipeline->lock);
        poll_record_unref(record);
}

void pipeline_get_stats(struct pipeline *pipeline, struct pipeline_stats *ret_stats) {
        memset(ret_stats, 0, sizeof(*ret_stats));
        if (pipeline == NULL)
                return;
        pthread_mutex_lock(&pipeline->lock);
        ret_stats->published = pipeline->published;
        ret_stats->lost = pipeline->lost;
        for (unsigned id = 0; id < PIPELINE_MAX_SUBSCRIBERS; id++) {
                const struct subscriber *subscriber = pipeline->slots[id];
                if (subscriber == NULL)
                        continue;
                struct pipeline_subscriber_stats *stats =
                        &ret_stats->subscribers[ret_stats->count++];
                memcpy(stats->name, subscriber->name, sizeof(stats->name));
                stats->capacity = subscriber->capacity;
                stats->depth = subscriber->depth;
                stats->high_water = subscriber->high_water;
                stats->delivered = subscriber->delivered;
                stats->dropped = subscriber->dropped;
        }
        pthread_mutex_unlock(&pipeline->lock);
}

static bool is_idle(const struct pipeline *pipeline) {
        for (unsigned id = 0; id < PIPELINE_MAX_SUBSCRIBERS; id++) {
                const struct subscriber *subscriber = pipeline->slots[id];
                if (subscriber != NULL && (subscriber->depth > 0 || subscriber->is_busy))
                        return false;
        }
        return true;
}

int pipeline_drain(struct pipeline *pipeline, int64_t timeout_ms) {
        if (pipeline == NULL)
                return 0;
        struct timespec deadline = clock_monotonic_after_ms(timeout_ms);
        int result = 0;
        pthread_mutex_lock(&pipeline->lock);
        while (!is_idle(pipeline) && result == 0)
                if (pthread_cond_timedwait(&pipeline->drained, &pipeline->lock, &deadline) ==
                    ETIMEDOUT)
                        result = is_idle(pipeline) ? 0 : -ETIMEDOUT;
        pthread_mutex_unlock(&pipeline->lock);
        return result;
}
