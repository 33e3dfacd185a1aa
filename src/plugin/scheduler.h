/* scheduler.h - polls each plugin on its own thread at its own interval.
 *
 * One thread per plugin, so a slow or stuck plugin delays nobody else.
 * Intervals are measured start to start on the monotonic clock; a poll that
 * overruns its interval makes the next one start at once, not pile up.
 * Results go to a callback, which runs on the plugin's thread and must be
 * thread-safe. */
#ifndef PH_SCHEDULER_H
#define PH_SCHEDULER_H

#include "plugin/plugin.h"

/* Called after every poll. `readings` is valid only during the call;
 * `failure` is NULL when the poll succeeded. */
typedef void (*scheduler_poll_callback)(struct plugin *plugin, const struct reading_list *readings,
                                        const struct plugin_failure *failure, double duration_ms,
                                        void *user_data);

struct scheduler;

/* Starts one thread per plugin; the first poll happens at once. Borrows the
 * plugins, which must outlive the scheduler. The caller stops and frees it
 * with scheduler_stop. */
PH_MUST_USE struct scheduler *scheduler_start(struct plugin *const *plugins,
                                              const double *intervals_s, size_t count,
                                              scheduler_poll_callback callback, void *user_data,
                                              struct ph_error *error);

/* Wakes every thread, waits for polls in progress to finish, joins the
 * threads and frees the scheduler. Accepts NULL. */
void scheduler_stop(struct scheduler *scheduler);

#endif
