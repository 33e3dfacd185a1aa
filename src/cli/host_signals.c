/* host_signals.c - the host's main loop (host.h): waits for signals and
 * checks the watchdog in between; SIGHUP re-reads the config and applies
 * what may change live, SIGUSR1 lifts quarantines. Runs on the main
 * thread; the slow parts of a reload (inspecting new plugins, loading them)
 * run on a helper thread while the main thread keeps the watchdog
 * (service_run_watched). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/host.h"
#include "cli/stop_watch.h"
#include "core/log.h"

/* Reads the config as at start-up (file, PLUGIN.wasm arguments,
 * --interval) into `next`, for a reload. */
static int read_config(const struct host_arguments *context, struct host_config *next,
                       struct ph_error *error) {
        config_set_defaults(next);
        cli_default_cache_dir(next->cache_dir, sizeof(next->cache_dir));
        if (context->config_path != NULL && config_load_file(next, context->config_path, error) < 0)
                return -1;
        if (config_validate(next, error) < 0) {
                ph_error_prefix(error, "%s",
                                context->config_path != NULL ? context->config_path : "config");
                return -1;
        }
        for (size_t i = 0; i < context->file_count; i++)
                if (config_add_plugin_file(next, context->files[i], error) < 0)
                        return -1;
        if (next->plugin_count == 0)
                return ph_error_set(error, -EINVAL, "no [plugin NAME] section: nothing to run");
        if (context->interval_s > 0)
                for (size_t i = 0; i < next->plugin_count; i++)
                        next->plugins[i].interval_s = context->interval_s;
        return 0;
}

/* Sections that only a restart applies: the running values are kept (and
 * a warning names each changed one). */
/* The [host] keys that a SIGHUP applies at once; every other key of the
 * host sections waits for a restart. */
static bool is_live_key(const char *section, const char *key) {
        return strcmp(section, "host") == 0 &&
               (strcmp(key, "log_level") == 0 || strcmp(key, "stop_timeout_s") == 0 ||
                strcmp(key, "stall_timeout_s") == 0);
}

static void warn_restart_only(const char *section, const char *key, void *data) {
        (void)data;
        if (!is_live_key(section, key))
                log_write(LOG_LEVEL_WARNING, "host",
                          "SIGHUP: [%s] %s changed: applied at the next restart; the running "
                          "value stays",
                          section, key);
}

/* Keys that only a restart applies: the running values are kept (a
 * typed diff names each changed one). */
static void keep_restart_only_settings(const struct host_config *config, struct host_config *next) {
        if (config_diff(config, next, warn_restart_only, NULL) == 0)
                return;
        enum log_level log_level = next->log_level;
        double stop_timeout_s = next->stop_timeout_s;
        double stall_timeout_s = next->stall_timeout_s;
        struct plugin_config plugins[CONFIG_MAX_PLUGINS];
        size_t plugin_count = next->plugin_count;
        memcpy(plugins, next->plugins, sizeof(plugins));
        *next = *config;
        next->log_level = log_level;
        next->stop_timeout_s = stop_timeout_s;
        next->stall_timeout_s = stall_timeout_s;
        memcpy(next->plugins, plugins, sizeof(plugins));
        next->plugin_count = plugin_count;
}

/* Whether a running plugin can go on as it is under `next` (only its
 * interval may differ: the scheduler takes that, not the plugin). */
static bool is_same_plugin(const struct plugin_config *running_config,
                           const struct plugin_config *next) {
        return strcmp(running_config->name, next->name) == 0 &&
               config_diff_plugin(running_config, next, "interval_s", NULL, NULL) == 0;
}

/* Appends to `list` each key whose value differs between `a` and `b`, or
 * that only one of them has. */
static void list_changed_settings(const struct config_settings *a, const struct config_settings *b,
                                  char *list, size_t size) {
        for (int pass = 0; pass < 2; pass++) {
                const struct config_settings *from = pass == 0 ? a : b;
                const struct config_settings *other = pass == 0 ? b : a;
                for (size_t i = 0; i < from->count; i++) {
                        const char *value = config_settings_find(other, from->items[i].key);
                        if (value != NULL &&
                            (pass == 1 || strcmp(value, from->items[i].value) == 0))
                                continue;
                        size_t used = strlen(list);
                        snprintf(list + used, size - used, "%s%s", used > 0 ? ", " : "",
                                 from->items[i].key);
                }
        }
}

/* A kept plugin whose `setting.*` lines changed gets the file's settings
 * at once, without a reload: its next call reads them. A change made
 * through the API lasts until then. Also records them in `config`, which
 * the next SIGHUP compares with. */
static void apply_settings(struct host *host, const struct host_config *next,
                           const int *kept_from) {
        struct host_config *config = &host->config;
        for (size_t j = 0; j < next->plugin_count; j++) {
                if (kept_from[j] < 0)
                        continue;
                const struct plugin_config *wanted = &next->plugins[j];
                for (size_t i = 0; i < config->plugin_count; i++) {
                        struct plugin_config *running_config = &config->plugins[i];
                        if (strcmp(running_config->name, wanted->name) != 0 ||
                            config_settings_equal(&running_config->settings, &wanted->settings))
                                continue;
                        char changed[512] = "";
                        list_changed_settings(&running_config->settings, &wanted->settings, changed,
                                              sizeof(changed));
                        settings_store_replace(plugin_settings(host->running.plugins[kept_from[j]]),
                                               &wanted->settings);
                        running_config->settings = wanted->settings;
                        log_write(LOG_LEVEL_INFO, wanted->name,
                                  "SIGHUP: settings changed (%s); the plugin runs on", changed);
                }
        }
}

/* The slow parts of a reload, run on a helper thread while the main thread
 * keeps the watchdog (service_run_watched). */
struct reload_work {
        struct host *host;
        struct host_config *next;
        const int *kept_from;                /* per plugin of `next` */
        const bool *needs_inspection;        /* per plugin of `next` */
        const struct host_running *previous; /* phase 2: what ran before */
        const bool *is_kept;                 /* phase 2: per plugin of `previous` */
        int result;
        struct ph_error error;
};

/* Phase 1, with the old set still polling: every new or changed plugin must
 * be a component of our world. Also fills the compiled-code cache, so
 * phase 2's plugin_new does not compile. */
static void inspect_new_plugins(void *data) {
        struct reload_work *work = data;
        for (size_t j = 0; j < work->next->plugin_count; j++) {
                if (!work->needs_inspection[j])
                        continue;
                const struct plugin_config *wanted = &work->next->plugins[j];
                struct plugin_interfaces interfaces;
                work->result = plugin_inspect_file(work->host->engine, wanted->path, &interfaces,
                                                   &work->error);
                if (work->result < 0) {
                        ph_error_prefix(&work->error, "[plugin %s]", wanted->name);
                        return;
                }
        }
}

/* Phase 2, with polling stopped: unloads what goes, loads what comes (in
 * the config's order) into `running`. */
static void swap_plugins(void *data) {
        struct reload_work *work = data;
        struct host *host = work->host;
        const struct host_config *config = &host->config;
        struct host_running *running = &host->running;
        for (size_t i = 0; i < work->previous->count; i++)
                if (!work->is_kept[i]) {
                        log_write(LOG_LEVEL_INFO, plugin_name(work->previous->plugins[i]),
                                  "unloaded (SIGHUP)");
                        plugin_free(work->previous->plugins[i]);
                }
        running->count = 0;
        for (size_t j = 0; j < config->plugin_count; j++) {
                if (work->kept_from[j] < 0) {
                        host_load_plugin(host, &config->plugins[j]);
                        continue;
                }
                running->plugins[running->count] = work->previous->plugins[work->kept_from[j]];
                running->intervals[running->count] = config->plugins[j].interval_s;
                running->count++;
        }
}

/* SIGHUP. Live: [host] log_level, stop_timeout_s, stall_timeout_s, and the
 * [plugin NAME] sections: added, removed or changed plugins (a changed one
 * is unloaded, writing its state, and loaded anew, restoring it). Only a
 * restart applies the rest (see keep_restart_only_settings). A config that
 * does not parse or validate, or a new or changed plugin whose file is not
 * a component of the sensor-plugin world, refuses the whole reload: the
 * running configuration stays. */
static void reload_config(struct host *host, struct service_watchdog *watchdog) {
        struct host_config *config = &host->config;
        struct host_running *running = &host->running;
        const struct host_arguments *context = &host->arguments;
        struct host_config *next = calloc(1, sizeof(*next)); /* large: off the stack */
        if (next == NULL) {
                log_write(LOG_LEVEL_ERROR, "host",
                          "SIGHUP: out of memory; the running "
                          "configuration stays");
                return;
        }
        struct ph_error error = {0};
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        char reloading[96];
        snprintf(reloading, sizeof(reloading), "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)now.tv_sec * 1000000ULL +
                         (unsigned long long)now.tv_nsec / 1000ULL);
        service_tell(reloading);
        log_write(LOG_LEVEL_INFO, "host", "SIGHUP: re-reading %s",
                  context->config_path != NULL ? context->config_path : "(no config file)");

        /* For each plugin of `next`: the running plugin it keeps, or -1. */
        int kept_from[CONFIG_MAX_PLUGINS];
        bool needs_inspection[CONFIG_MAX_PLUGINS] = {0};
        bool is_set_changed = false;
        struct reload_work work = {.host = host,
                                   .next = next,
                                   .kept_from = kept_from,
                                   .needs_inspection = needs_inspection};
        if (read_config(context, next, &error) < 0)
                goto refuse;
        keep_restart_only_settings(config, next);
        for (size_t j = 0; j < next->plugin_count; j++) {
                const struct plugin_config *wanted = &next->plugins[j];
                const struct plugin_config *before = host_find_plugin_config(config, wanted->name);
                kept_from[j] = -1;
                for (size_t i = 0; i < running->count; i++)
                        if (before != NULL &&
                            strcmp(plugin_name(running->plugins[i]), wanted->name) == 0 &&
                            is_same_plugin(before, wanted))
                                kept_from[j] = (int)i;
                if (kept_from[j] >= 0) {
                        if (running->intervals[kept_from[j]] != wanted->interval_s)
                                is_set_changed = true;
                        continue;
                }
                is_set_changed = true;
                if (before != NULL && is_same_plugin(before, wanted))
                        continue; /* did not load before either: try again, not a refusal */
                /* New or changed: it must at least be a component of our
                 * world before anything running is touched. */
                needs_inspection[j] = true;
        }
        if (next->plugin_count != running->count)
                is_set_changed = true;
        /* Checking may compile: a SIGTERM meanwhile abandons it, refuses
         * the reload and stops the host right after. */
        struct stop_watch watch;
        stop_watch_start(&watch, host_abandon_compiles, host->engine);
        service_run_watched(inspect_new_plugins, &work, watchdog, &running->liveness);
        host->stop_signal = stop_watch_finish(&watch);
        if (host->stop_signal != 0) {
                ph_error_set(&error, -ECANCELED, "%s while checking the new plugins",
                             strsignal(host->stop_signal));
                goto refuse;
        }
        if (work.result < 0) {
                error = work.error;
                goto refuse;
        }

        /* Accepted. The live [host] values and settings first. */
        apply_settings(host, next, kept_from);
        config->log_level = next->log_level;
        config->stop_timeout_s = next->stop_timeout_s;
        config->stall_timeout_s = next->stall_timeout_s;
        log_set_level(config->log_level);
        if (!is_set_changed) {
                host_set_allowances(host);
                log_write(LOG_LEVEL_INFO, "host",
                          "SIGHUP: applied; the plugins run on as they were");
                service_tell("READY=1");
                goto done;
        }

        struct stop_guard no_guard = {0};
        host_stop_running(host, &no_guard, true);
        /* No plugin thread runs now: nothing to watch but the swap itself. */
        liveness_init(&running->liveness);
        struct host_running previous = *running;
        bool is_kept[CONFIG_MAX_PLUGINS] = {0};
        size_t kept = 0;
        for (size_t j = 0; j < next->plugin_count; j++)
                if (kept_from[j] >= 0) {
                        is_kept[kept_from[j]] = true;
                        kept++;
                }
        *config = *next; /* nothing reads it now: the scheduler and server are stopped */
        work.previous = &previous;
        work.is_kept = is_kept;
        service_run_watched(swap_plugins, &work, watchdog, &running->liveness);
        if (host_start_running(host, &error) < 0)
                log_write(LOG_LEVEL_ERROR, "host", "SIGHUP: cannot start polling again: %s",
                          error.message);
        log_write(LOG_LEVEL_INFO, "host",
                  "SIGHUP: applied; %zu plugins polled (%zu kept running, %zu loaded anew)",
                  running->count, kept, running->count - kept);
        service_tell("READY=1");
        goto done;
refuse:
        log_write(LOG_LEVEL_ERROR, "host",
                  "SIGHUP: new configuration refused: %s; the running one stays", error.message);
        service_tell("READY=1");
done:
        free(next);
}

/* SIGUSR1's resets need no answer: the plugin logs a lifted quarantine. */
static void ignore_answer(const struct poll_record *record, int result, void *data) {
        (void)record;
        (void)result;
        (void)data;
}

int host_serve(struct host *host, const sigset_t *signals) {
        struct service_watchdog watchdog;
        struct ph_error error = {0};
        if (service_watchdog_init(&watchdog, liveness_now_ms(), &error) < 0)
                log_write(LOG_LEVEL_WARNING, "service", "%s: no watchdog pings", error.message);
        for (;;) {
                service_watchdog_check(&watchdog, &host->running.liveness, liveness_now_ms());
                int64_t wait_ms = service_watchdog_wait_ms(&watchdog, liveness_now_ms());
                struct timespec timeout = {.tv_sec = (time_t)(wait_ms / 1000),
                                           .tv_nsec = (long)(wait_ms % 1000) * 1000000L};
                int signal_number = sigtimedwait(signals, NULL, &timeout);
                if (signal_number < 0)
                        continue; /* EAGAIN: time for a check; EINTR */
                if (signal_number == SIGHUP) {
                        reload_config(host, &watchdog);
                        if (host->stop_signal != 0)
                                return host->stop_signal;
                } else if (signal_number == SIGUSR1) {
                        log_write(LOG_LEVEL_INFO, "host", "SIGUSR1: lifting quarantines");
                        for (size_t i = 0; i < host->running.count; i++)
                                if (scheduler_request(host->running.scheduler,
                                                      plugin_name(host->running.plugins[i]),
                                                      SCHEDULER_REQUEST_RESET, ignore_answer,
                                                      NULL) < 0) {
                                        /* not quarantined, or a request is pending */
                                }
                } else {
                        return signal_number;
                }
        }
}
