/* scheduler.h - polls each plugin on its own thread, at its own interval
 * or when an operator asks, and publishes every outcome to the pipeline.
 *
 * One thread per plugin, so a slow or stuck plugin delays nobody else, and
 * every call into a plugin (scheduled or asked for) happens on that
 * plugin's thread: the web server never calls into a plugin. Intervals are
 * measured start to start on the monotonic clock; a poll that overruns its
 * interval makes the next one start at once, not pile up. An operator's
 * poll runs at once and does not move the schedule.
 *
 * Each poll becomes one struct poll_record (core/pipeline.h) published to
 * the pipeline; the scheduler calls no consumer itself.
 *
 * Threads: start and stop from the owner's thread; scheduler_request_poll
 * from any thread (the web server's). Lock: the scheduler's own, a leaf
 * (never held across a call into a plugin or an answer). */
#ifndef PH_SCHEDULER_H
#define PH_SCHEDULER_H

#include "core/pipeline.h"
#include "plugin/plugin.h"

struct scheduler;

/* Starts one thread per plugin; the first poll happens at once. Borrows the
 * plugins and the pipeline, which must outlive the scheduler. The caller
 * stops and frees it with scheduler_stop. */
PH_MUST_USE struct scheduler *scheduler_start(struct plugin *const *plugins,
                                              const double *intervals_s, size_t count,
                                              struct pipeline *pipeline, struct ph_error *error);

/* Wakes every thread, waits for polls in progress to finish, answers every
 * pending operator request with -ESHUTDOWN, joins the threads and frees the
 * scheduler. Accepts NULL. */
void scheduler_stop(struct scheduler *scheduler);

/* What an operator asks of a plugin's thread. */
enum scheduler_request_kind {
        SCHEDULER_REQUEST_POLL,  /* poll now, outside the schedule (origin "operator") */
        SCHEDULER_REQUEST_RESET, /* lift its quarantine (plugin_reset) */
};

/* The answer to an operator's request: called once, on the plugin's thread
 * (or the stopping thread), with the poll's record (valid during the call
 * only; NULL for a reset, or when out of memory) and a result: 0, the
 * reset's error, or -ESHUTDOWN when the scheduler stopped first. It must
 * not call into the scheduler. */
typedef void (*scheduler_answer)(const struct poll_record *record, int result, void *data);

/* Asks the thread of the plugin named `name` to do `kind` now. Never waits
 * for the plugin. Returns 0 (then `answer` will be called exactly once),
 * -ENOENT (no such plugin), -EBUSY (a request of it is already pending) or
 * -ESHUTDOWN (stopping). */
PH_MUST_USE int scheduler_request(struct scheduler *scheduler, const char *name,
                                  enum scheduler_request_kind kind, scheduler_answer answer,
                                  void *data);

#endif
