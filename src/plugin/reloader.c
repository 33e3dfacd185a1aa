#include "plugin/reloader.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "plugin/internal.h"
#include "plugin/python_source.h"

struct watched_plugin {
        struct plugin *plugin;
        int watch; /* inotify watch descriptor of the file's directory, or -1 */
        char file_name[NAME_MAX + 1];
        bool is_pending;     /* guarded by the reloader's lock */
        struct timespec due; /* when the pending reload may run */
        struct file_identity identity_when_due;
        bool has_identity;
};

struct reloader {
        pthread_t thread;
        bool has_thread;
        int inotify_fd;
        int wake_fd; /* eventfd: a request was queued, or stop */
        unsigned debounce_ms;
        pthread_mutex_t lock; /* guards is_stopping and each is_pending / due */
        bool is_stopping;
        /* Triggered by the stop: a compile in progress is not waited for. */
        struct compile_cancel cancel;
        size_t count;
        struct watched_plugin watched[];
};

static void set_due(struct reloader *reloader, struct watched_plugin *entry) {
        /* Not debounce_ms * 1e6 in a long: that overflows a 32-bit long
         * above 2147 ms (reload_debounce_ms goes to 60000). */
        entry->due = clock_monotonic_after_ms(reloader->debounce_ms);
        entry->is_pending = true;
        entry->has_identity = false;
}

static long milliseconds_until(const struct timespec *when) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms =
                (long)(when->tv_sec - now.tv_sec) * 1000 + (when->tv_nsec - now.tv_nsec) / 1000000;
        return ms > 0 ? ms : 0;
}

void reloader_request(struct reloader *reloader, struct plugin *plugin) {
        pthread_mutex_lock(&reloader->lock);
        /* A reload already pending keeps its time: requests arriving faster
         * than the debounce must not postpone it for ever (a file still
         * being written is caught by the identity check when it is due). */
        for (size_t i = 0; i < reloader->count; i++)
                if (reloader->watched[i].plugin == plugin && !reloader->watched[i].is_pending)
                        set_due(reloader, &reloader->watched[i]);
        pthread_mutex_unlock(&reloader->lock);
        uint64_t one = 1;
        ssize_t ignored = write(reloader->wake_fd, &one, sizeof(one));
        (void)ignored; /* a full counter still wakes the thread */
}

static void on_change_noticed(struct plugin *plugin, void *data) {
        reloader_request(data, plugin);
}

static bool is_python_file(const char *name) {
        size_t length = strlen(name);
        return length > 3 && strcmp(name + length - 3, ".py") == 0;
}

static void drain_inotify(struct reloader *reloader) {
        char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        for (;;) {
                ssize_t length = read(reloader->inotify_fd, buffer, sizeof(buffer));
                if (length <= 0)
                        return;
                for (char *cursor = buffer; cursor < buffer + length;) {
                        const struct inotify_event *event = (const struct inotify_event *)cursor;
                        cursor += sizeof(*event) + event->len;
                        if (event->len == 0)
                                continue;
                        pthread_mutex_lock(&reloader->lock);
                        for (size_t i = 0; i < reloader->count; i++) {
                                struct watched_plugin *entry = &reloader->watched[i];
                                if (entry->watch == event->wd &&
                                    (entry->file_name[0] == '\0'
                                             ? is_python_file(event->name)
                                             : strcmp(entry->file_name, event->name) == 0))
                                        set_due(reloader, entry);
                        }
                        pthread_mutex_unlock(&reloader->lock);
                }
        }
}

/* Runs the reloads that are due. A file whose identity changed since it
 * became due is still being written: wait another debounce period. */
static long run_due_reloads(struct reloader *reloader) {
        long next_ms = -1;
        for (size_t i = 0; i < reloader->count; i++) {
                struct watched_plugin *entry = &reloader->watched[i];
                pthread_mutex_lock(&reloader->lock);
                bool is_stopping = reloader->is_stopping;
                bool is_pending = entry->is_pending;
                long wait = is_pending ? milliseconds_until(&entry->due) : -1;
                pthread_mutex_unlock(&reloader->lock);
                if (is_stopping)
                        return -1;
                if (!is_pending)
                        continue;
                if (wait > 0) {
                        next_ms = next_ms < 0 || wait < next_ms ? wait : next_ms;
                        continue;
                }
                struct file_identity identity;
                bool exists =
                        python_source_identity(plugin_path(entry->plugin), &identity, NULL) == 0;
                pthread_mutex_lock(&reloader->lock);
                bool is_settled = exists && entry->has_identity &&
                                  file_identity_equal(&identity, &entry->identity_when_due);
                if (!exists) {
                        /* Gone (or not there yet): its creation or the
                         * rename that brings it back is a change of its
                         * own, seen by inotify or the poll's check. */
                        entry->is_pending = false;
                } else if (!is_settled) {
                        /* Not seen yet, or changed: look again after
                         * one more debounce period. */
                        set_due(reloader, entry);
                        entry->identity_when_due = identity;
                        entry->has_identity = true;
                        next_ms = next_ms < 0 || (long)reloader->debounce_ms < next_ms
                                          ? (long)reloader->debounce_ms
                                          : next_ms;
                } else {
                        entry->is_pending = false;
                }
                pthread_mutex_unlock(&reloader->lock);
                log_write(LOG_LEVEL_DEBUG, plugin_name(entry->plugin), "file %s",
                          !exists      ? "missing: waiting for it to appear"
                          : is_settled ? "settled: reloading"
                                       : "changing: waiting");
                if (is_settled) {
                        struct ph_error error = {0};
                        /* plugin_reload logs its outcome itself. */
                        int result = plugin_reload(entry->plugin, &reloader->cancel, &error);
                        (void)result;
                }
        }
        return next_ms;
}

static void *run_reloader(void *argument) {
        struct reloader *reloader = argument;
        long timeout_ms = -1;
        for (;;) {
                struct pollfd fds[2] = {{.fd = reloader->wake_fd, .events = POLLIN},
                                        {.fd = reloader->inotify_fd, .events = POLLIN}};
                int ready = poll(fds, reloader->inotify_fd >= 0 ? 2 : 1,
                                 timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms);
                if (ready < 0 && errno != EINTR)
                        break;
                if (fds[0].revents & POLLIN) {
                        uint64_t count;
                        ssize_t ignored = read(reloader->wake_fd, &count, sizeof(count));
                        (void)ignored;
                }
                pthread_mutex_lock(&reloader->lock);
                bool is_stopping = reloader->is_stopping;
                pthread_mutex_unlock(&reloader->lock);
                if (is_stopping)
                        break;
                if (reloader->inotify_fd >= 0 && (fds[1].revents & POLLIN))
                        drain_inotify(reloader);
                timeout_ms = run_due_reloads(reloader);
        }
        return NULL;
}

/* Watches the directory rather than the file: a rename over the file
 * replaces its inode, and a watch on the old inode would go quiet. */
static void watch_file(struct reloader *reloader, struct watched_plugin *entry) {
        const char *path = plugin_path(entry->plugin);
        struct stat info;
        if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) {
                /* A plugin given as a directory of Python modules: any .py
                 * in it (file_name "" means any). */
                entry->file_name[0] = '\0';
                entry->watch =
                        reloader->inotify_fd < 0
                                ? -1
                                : inotify_add_watch(reloader->inotify_fd, path,
                                                    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
                                                            IN_DELETE | IN_MOVED_FROM);
                if (entry->watch < 0)
                        log_write(LOG_LEVEL_WARNING, plugin_name(entry->plugin),
                                  "cannot watch %s with inotify (%s): changes are seen at each "
                                  "poll only",
                                  path, strerror(errno));
                return;
        }
        char directory[PATH_MAX];
        const char *slash = strrchr(path, '/');
        size_t directory_length = slash != NULL ? (size_t)(slash - path) : 0;
        snprintf(directory, sizeof(directory), "%.*s", (int)directory_length,
                 slash != NULL ? path : ".");
        if (slash == path)
                snprintf(directory, sizeof(directory), "/");
        if (directory_length == 0 && slash == NULL)
                snprintf(directory, sizeof(directory), ".");
        snprintf(entry->file_name, sizeof(entry->file_name), "%s",
                 slash != NULL ? slash + 1 : path);
        entry->watch = reloader->inotify_fd < 0
                               ? -1
                               : inotify_add_watch(reloader->inotify_fd, directory,
                                                   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
        if (entry->watch < 0)
                log_write(LOG_LEVEL_WARNING, plugin_name(entry->plugin),
                          "cannot watch %s with inotify (%s): changes are seen at each poll "
                          "only",
                          directory, strerror(errno));
}

struct reloader *reloader_start(struct plugin *const *plugins, size_t count, unsigned debounce_ms,
                                struct ph_error *error) {
        struct reloader *reloader =
                calloc(1, sizeof(*reloader) + count * sizeof(reloader->watched[0]));
        if (reloader == NULL) {
                ph_error_set(error, -ENOMEM, "reloader: out of memory");
                return NULL;
        }
        pthread_mutex_init(&reloader->lock, NULL);
        compile_cancel_init(&reloader->cancel);
        reloader->debounce_ms = debounce_ms;
        reloader->count = count;
        reloader->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        reloader->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (reloader->wake_fd < 0) {
                ph_error_set(error, -errno, "reloader: eventfd: %s", strerror(errno));
                goto fail;
        }
        for (size_t i = 0; i < count; i++) {
                reloader->watched[i].plugin = plugins[i];
                watch_file(reloader, &reloader->watched[i]);
        }
        if (pthread_create(&reloader->thread, NULL, run_reloader, reloader) != 0) {
                ph_error_set(error, -EAGAIN, "reloader: cannot start its thread");
                goto fail;
        }
        reloader->has_thread = true;
        for (size_t i = 0; i < count; i++)
                plugin_set_change_listener(plugins[i], on_change_noticed, reloader);
        return reloader;
fail:
        reloader_stop(reloader);
        return NULL;
}

void reloader_stop(struct reloader *reloader) {
        if (reloader == NULL)
                return;
        for (size_t i = 0; i < reloader->count; i++)
                if (reloader->watched[i].plugin != NULL)
                        plugin_set_change_listener(reloader->watched[i].plugin, NULL, NULL);
        if (reloader->has_thread) {
                pthread_mutex_lock(&reloader->lock);
                reloader->is_stopping = true;
                pthread_mutex_unlock(&reloader->lock);
                /* A reload waiting for a compile returns at once; the
                 * compile ends on its own thread (compile.c). */
                compile_cancel_trigger(&reloader->cancel);
                uint64_t one = 1;
                ssize_t ignored = write(reloader->wake_fd, &one, sizeof(one));
                (void)ignored;
                pthread_join(reloader->thread, NULL);
        }
        if (reloader->inotify_fd >= 0)
                close(reloader->inotify_fd);
        if (reloader->wake_fd >= 0)
                close(reloader->wake_fd);
        compile_cancel_destroy(&reloader->cancel);
        pthread_mutex_destroy(&reloader->lock);
        free(reloader);
}
