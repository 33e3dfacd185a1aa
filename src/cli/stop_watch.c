#include "cli/stop_watch.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* How soon the thread notices stop_watch_finish. */
#define POLL_NS 50000000L

static void *watch_main(void *argument) {
        struct stop_watch *watch = argument;
        while (!atomic_load(&watch->is_done)) {
                struct timespec timeout = {.tv_sec = 0, .tv_nsec = POLL_NS};
                int signal_number = sigtimedwait(&watch->signals, NULL, &timeout);
                if (signal_number > 0) {
                        atomic_store(&watch->signal_number, signal_number);
                        watch->on_stop(watch->data);
                        break;
                }
        }
        return NULL;
}

void stop_watch_start(struct stop_watch *watch, void (*on_stop)(void *data), void *data) {
        memset(watch, 0, sizeof(*watch));
        atomic_init(&watch->is_done, false);
        atomic_init(&watch->signal_number, 0);
        sigemptyset(&watch->signals);
        sigaddset(&watch->signals, SIGINT);
        sigaddset(&watch->signals, SIGTERM);
        watch->on_stop = on_stop;
        watch->data = data;
        watch->is_started = pthread_create(&watch->thread, NULL, watch_main, watch) == 0;
}

int stop_watch_finish(struct stop_watch *watch) {
        if (!watch->is_started)
                return 0;
        atomic_store(&watch->is_done, true);
        pthread_join(watch->thread, NULL);
        watch->is_started = false;
        return atomic_load(&watch->signal_number);
}
