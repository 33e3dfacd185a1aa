/* stop_watch.h - listens for SIGINT and SIGTERM while the main thread is
 * busy with something long that cannot read signals itself (loading the
 * plugins at start-up, checking new ones on SIGHUP): on one, it calls
 * `on_stop` (which abandons compiles, so the busy work ends soon) and keeps
 * the signal for the main thread to act on.
 *
 * Threads: started and finished by the main thread; one thread of its own
 * in between, which takes the signals with sigtimedwait (they are blocked
 * in every thread). `on_stop` runs on that thread. */
#ifndef PH_CLI_STOP_WATCH_H
#define PH_CLI_STOP_WATCH_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

struct stop_watch {
        pthread_t thread;
        bool is_started;
        atomic_bool is_done;
        atomic_int signal_number; /* the stop signal taken, or 0 */
        sigset_t signals;
        void (*on_stop)(void *data);
        void *data;
};

/* Starts listening. Without a thread to spare it listens not at all (the
 * work then runs to its end, as before). */
void stop_watch_start(struct stop_watch *watch, void (*on_stop)(void *data), void *data);

/* Stops listening; returns the stop signal taken meanwhile, or 0. */
int stop_watch_finish(struct stop_watch *watch);

#endif
