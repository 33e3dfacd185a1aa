/* pipeline.h - one path for the outcome of every poll, and for every
 * lifecycle event of a plugin.
 *
 * A poll of any origin (scheduled, asked for by an operator, or the trial
 * poll of a reload) becomes one struct poll_record, published once. Every
 * consumer (stdout and the log, history, MQTT, the web state and its event
 * stream, liveness) subscribes here; none is called by hand. Each
 * subscriber has its own bounded queue and its own thread, so a slow
 * consumer never delays a plugin or another consumer; a full queue drops
 * the record for that subscriber only, and counts it.
 *
 * Ownership: a record is reference-counted and immutable once published;
 * each queue holds a reference, released after its subscriber's deliver
 * returns. The pipeline is owned by whoever made it (the host object); it
 * knows nothing of plugins, HTTP, SQLite or MQTT.
 *
 * Threads: pipeline_publish from any thread (the plugins' threads);
 * subscribe and unsubscribe from the owner's thread; each subscriber's
 * deliver runs on that subscriber's own thread, one record at a time, in
 * publication order (an inline subscriber's, on the publisher's thread). Locks: the pipeline's lock
 * guards the subscriber list and the queues, is held only for pointer pushes and pops, and is never
 * held across a deliver (see the lock order in core/locks.h). */
#ifndef PH_PIPELINE_H
#define PH_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/reading.h"

#define POLL_RECORD_NAME_MAX 64
#define POLL_RECORD_VERSION_MAX 13 /* the first 12 hex digits of the file's SHA-256 */

/* What a record tells. */
enum record_kind {
        RECORD_POLL,      /* a poll's outcome */
        RECORD_LIFECYCLE, /* a plugin's lifecycle event: loaded, reloaded, rejected, ... */
};

enum poll_origin {
        POLL_ORIGIN_SCHEDULED, /* the plugin's own interval */
        POLL_ORIGIN_OPERATOR,  /* asked for through the API */
        POLL_ORIGIN_TRIAL,     /* a new version's trial poll during a reload */
};

enum poll_outcome {
        POLL_OUTCOME_OK,      /* readings */
        POLL_OUTCOME_FAILED,  /* the plugin failed: failure_kind and message */
        POLL_OUTCOME_SKIPPED, /* not polled: its state forbids it (quarantine, backoff, ...) */
};

struct poll_record {
        enum record_kind kind;
        char plugin[POLL_RECORD_NAME_MAX];
        char version[POLL_RECORD_VERSION_MAX];
        enum poll_origin origin;
        enum poll_outcome outcome;
        int64_t started_ms;           /* wall clock (Unix epoch) when the poll began */
        int64_t finished_ms;          /* wall clock when it ended */
        double duration_ms;           /* measured on the monotonic clock */
        struct reading_list readings; /* POLL_OUTCOME_OK only */
        /* FAILED and SKIPPED: a static name ("trap", "guest-error",
         * "quarantined", ...), the message and the guest's traceback
         * ("" when none); owned by the record. */
        const char *failure_kind;
        char *message; /* also a lifecycle event's message */
        char *traceback;
        /* RECORD_LIFECYCLE: what happened ("reloaded", "rejected", ...);
         * version, finished_ms and message say to what, when and why. */
        char event[16];
        /* Whether this failure was already reported once (a plugin that
         * stays quarantined or not loaded repeats itself): consumers that
         * print or log skip repeats. */
        bool is_repeat;
        _Atomic unsigned references; /* private to the pipeline */
};

/* A new poll record for `plugin` (copied, truncated to fit), origin and
 * times unset, outcome OK with no readings, one reference held by the
 * caller. Returns NULL when out of memory. */
struct poll_record *poll_record_new(const char *plugin);

/* A new lifecycle record: `event` of `plugin` at `time_ms`, about
 * `version` with `message` (copied; either may be NULL). Returns NULL when
 * out of memory. */
struct poll_record *poll_record_new_lifecycle(const char *plugin, const char *event,
                                              const char *version, int64_t time_ms,
                                              const char *message);

/* Sets the failure (outcome FAILED or SKIPPED) with copies of `message` and
 * `traceback` (either may be NULL). Returns 0 or -ENOMEM (then the message
 * is lost but the outcome and kind are set). */
PH_MUST_USE int poll_record_set_failure(struct poll_record *record, enum poll_outcome outcome,
                                        const char *kind, const char *message,
                                        const char *traceback);

/* Takes one more reference. */
struct poll_record *poll_record_ref(struct poll_record *record);

/* Drops one reference; the last one frees the record. Accepts NULL. */
void poll_record_unref(struct poll_record *record);

const char *poll_origin_name(enum poll_origin origin);
const char *poll_outcome_name(enum poll_outcome outcome);

/* Milliseconds since the Unix epoch, for started_ms and finished_ms. */
int64_t poll_record_now_ms(void);

struct pipeline;

/* Returns NULL when out of memory. The owner frees it with pipeline_free,
 * after every publisher has stopped. */
PH_MUST_USE struct pipeline *pipeline_new(struct ph_error *error);

/* Unsubscribes everyone (each draining its queue first) and frees the
 * pipeline. Accepts NULL. */
void pipeline_free(struct pipeline *pipeline);

/* A consumer. `deliver` runs on the subscriber's own thread; it must not
 * keep `record` (take a reference with poll_record_ref if it must). */
typedef void (*pipeline_deliver)(const struct poll_record *record, void *data);

struct pipeline_subscriber_spec {
        const char *name; /* for stats and logs, copied: "stdout", "history", ... */
        /* Records that may wait in its own queue, for its own thread. 0: an
         * inline subscriber, delivered on the publisher's thread: only for
         * a deliver that copies into a bounded queue of its own (the
         * history's and MQTT's writers have one) or sets atomics, and takes
         * no lock but leaves; it costs the publisher no thread wake. */
        size_t capacity;
        pipeline_deliver deliver;
        void *data; /* handed to deliver; borrowed */
};

#define PIPELINE_MAX_SUBSCRIBERS 8
#define PIPELINE_SUBSCRIBER_NAME_MAX 32

/* Starts a subscriber (its queue and thread, unless inline). Records
 * published before this returns are not delivered to it. Returns 0 with
 * *ret_id set, or -E2BIG (too many), -EINVAL (no deliver) or
 * -ENOMEM/-EAGAIN. */
PH_MUST_USE int pipeline_subscribe(struct pipeline *pipeline,
                                   const struct pipeline_subscriber_spec *spec, unsigned *ret_id,
                                   struct ph_error *error);

/* Stops subscriber `id`: no more records are queued for it; those already
 * queued are delivered, then its thread ends and is joined. When this
 * returns, its deliver is not running and will not run again. */
void pipeline_unsubscribe(struct pipeline *pipeline, unsigned id);

/* Queues `record` for every subscriber and drops the caller's reference.
 * Never blocks on a consumer; a full queue drops the record for that
 * subscriber and counts it. Accepts NULL (a record that could not be made:
 * counted as lost). Thread-safe. */
void pipeline_publish(struct pipeline *pipeline, struct poll_record *record);

struct pipeline_subscriber_stats {
        char name[PIPELINE_SUBSCRIBER_NAME_MAX];
        size_t capacity;
        size_t depth;       /* waiting now */
        size_t high_water;  /* the most that ever waited */
        uint64_t delivered; /* records its deliver has finished */
        uint64_t dropped;   /* records it lost to a full queue */
};

struct pipeline_stats {
        uint64_t published;
        uint64_t lost; /* records that could not be made (out of memory) */
        size_t count;
        struct pipeline_subscriber_stats subscribers[PIPELINE_MAX_SUBSCRIBERS];
};

/* Copies the counters. Thread-safe. */
void pipeline_get_stats(struct pipeline *pipeline, struct pipeline_stats *ret_stats);

/* Waits until every queue is empty and no deliver is running, or until
 * `timeout_ms` has passed. Returns 0, or -ETIMEDOUT. For tests and for an
 * orderly stop. */
PH_MUST_USE int pipeline_drain(struct pipeline *pipeline, int64_t timeout_ms);

#endif
