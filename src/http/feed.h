/* feed.h - carries what the plugins do into the app state and the event
 * stream: each poll's readings and statistics, each lifecycle event, the
 * LEDs after each poll, and fresh status snapshots.
 *
 * Owns nothing but the link from a struct plugin to its index in the app
 * state. Threads: feed_note_poll on the web server's pipeline subscriber
 * thread (poll and lifecycle records alike), never with a plugin's lock
 * held; it takes the app state's and the stream's locks, one at a time. */
#ifndef PH_HTTP_FEED_H
#define PH_HTTP_FEED_H

#include "http/app_state.h"
#include "core/pipeline.h"
#include "http/sse.h"
#include "plugin/plugin.h"

struct feed;

/* Takes a first status of each plugin. Borrows everything; the plugins (and their array), board,
 * state and stream must outlive the feed. The caller frees it with feed_free. */
PH_MUST_USE struct feed *feed_new(struct app_state *state, struct sse *sse,
                                  struct plugin *const *plugins, size_t count,
                                  struct hw_board *board, struct ph_error *error);

/* Feeds another set of plugins (borrowed), in the app state's new order.
 * The caller makes sure no record is being fed meanwhile. */
void feed_set_plugins(struct feed *feed, struct plugin *const *plugins, size_t count);

/* Frees the feed. Accepts NULL. */
void feed_free(struct feed *feed);

/* Records one poll (any origin) and publishes it on the event stream.
 * Accepts a NULL feed. */
void feed_note_poll(struct feed *feed, const struct poll_record *record);

/* Copies plugin `index`'s status into the app state now (never waits for
 * a call into the plugin: see plugin_get_status). */
void feed_refresh_status(struct feed *feed, size_t index);

#endif
