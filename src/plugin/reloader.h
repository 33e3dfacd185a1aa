/* reloader.h - notices changed plugin files and reloads them, on a thread
 * of its own, so compiling a new version never delays a poll.
 *
 * Changes are seen through inotify on each plugin file's directory
 * (close-after-write and moved-into events, so both a plain overwrite and
 * the write-then-rename deploy pattern work) and through the check each
 * poll makes of the file's identity (for filesystems without inotify). A
 * change is loaded once the file has stayed the same for the debounce
 * time, so a file still being written is not loaded. */
#ifndef PH_RELOADER_H
#define PH_RELOADER_H

#include "plugin/plugin.h"

struct reloader;

/* Starts watching `plugins` (borrowed; they must outlive the reloader) and
 * registers itself as their change listener. The caller stops it with
 * reloader_stop. */
PH_MUST_USE struct reloader *reloader_start(struct plugin *const *plugins, size_t count,
                                            unsigned debounce_ms, struct ph_error *error);

/* Asks for `plugin` to be reloaded now (after the debounce), e.g. from an
 * operator's request. Thread-safe; never blocks on a reload. */
void reloader_request(struct reloader *reloader, struct plugin *plugin);

/* Stops the thread. A reload in progress is abandoned if it is compiling
 * (the compile finishes, unwaited, on a thread of its own; the change is
 * noticed again at the plugin's next poll), else waited for (a trial poll,
 * bounded by the plugin's budget). Accepts NULL. */
void reloader_stop(struct reloader *reloader);

#endif
