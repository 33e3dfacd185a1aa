/* host_outputs.c - the pipeline's consumers that belong to `pyhost run`
 * itself: stdout (one JSON line per poll with readings) and the log (one
 * error line per failed poll, with the guest's traceback), the history and
 * MQTT recorders, and liveness. stdout is a subscriber with its own queue
 * and thread (core/pipeline.h); history, MQTT and liveness are inline
 * subscribers (their writers already have bounded queues and threads of
 * their own); the web server is the fifth (host.c subscribes it with the
 * server, with its own queue and thread). Which records each takes:
 *
 *   stdout/log  scheduled and operator polls; skipped ones say nothing
 *               new (the plugin logged entering quarantine or a backoff),
 *               trial polls are logged by the reload that made them
 *   history,    readings of scheduled and operator polls
 *   MQTT
 *   liveness    every scheduled or operator poll, failed or skipped: the
 *               plugin's thread made progress
 *
 * Lifecycle records go to the web server only (the plugin logs them).
 *
 * Threads: deliver_console on its subscriber's thread; the inline ones on
 * the publishing plugin thread, with no lock held (they act on poll
 * records only, which are published with none held). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/host.h"
#include "core/clock.h"
#include "core/log.h"

/* Capacity of each consumer's queue, in records: several seconds of polls
 * of every plugin at their shortest interval. */
#define OUTPUT_QUEUE_RECORDS 256

/* A scheduled or operator poll (not a trial, not a lifecycle event). */
static bool is_real_poll(const struct poll_record *record) {
        return record->kind == RECORD_POLL && record->origin != POLL_ORIGIN_TRIAL;
}

static void print_line(struct host *host, const struct poll_record *record) {
        json_t *line =
                json_pack("{s:s, s:s, s:s, s:I, s:f, s:o}", "plugin", record->plugin, "origin",
                          poll_origin_name(record->origin), "version", record->version, "time_ms",
                          (json_int_t)record->finished_ms, "duration_ms", record->duration_ms,
                          "readings", reading_list_to_json(&record->readings));
        if (line == NULL) {
                log_write(LOG_LEVEL_ERROR, record->plugin, "out of memory formatting readings");
                return;
        }
        /* Sensor names and units are the plugin's: C1 and bidi controls in
         * them leave as \u escapes (cli_print_json_line). */
        pthread_mutex_lock(&host->output_lock);
        int result = cli_print_json_line(stdout, line);
        fflush(stdout);
        pthread_mutex_unlock(&host->output_lock);
        if (result < 0)
                log_write(LOG_LEVEL_ERROR, record->plugin, "could not write readings to stdout: %s",
                          result == -ENOMEM ? "out of memory" : strerror(-result));
}

static void deliver_console(const struct poll_record *record, void *data) {
        struct host *host = data;
        if (!is_real_poll(record) || record->outcome == POLL_OUTCOME_SKIPPED)
                return;
        if (record->outcome == POLL_OUTCOME_OK) {
                print_line(host, record);
                return;
        }
        log_write(LOG_LEVEL_ERROR, record->plugin, "poll failed (%s) after %.1f ms%s: %s",
                  record->failure_kind, record->duration_ms,
                  record->origin == POLL_ORIGIN_OPERATOR ? " (asked by an operator)" : "",
                  record->message != NULL ? record->message : "");
        if (record->traceback != NULL && record->traceback[0] != '\0')
                log_write_text(LOG_LEVEL_ERROR, record->plugin, record->traceback,
                               strlen(record->traceback));
}

/* The recorders never wait on I/O here: history_append and
 * mqtt_publish_readings copy into their own queues (a full one drops and
 * counts). recorders_lock only guards the pointers against the stop. */
static void deliver_history(const struct poll_record *record, void *data) {
        struct host *host = data;
        if (!is_real_poll(record) || record->outcome != POLL_OUTCOME_OK)
                return;
        pthread_mutex_lock(&host->recorders_lock);
        if (host->history != NULL && history_append(host->history, record->plugin,
                                                    record->finished_ms, &record->readings) < 0) {
                /* dropped and counted by the history */
        }
        pthread_mutex_unlock(&host->recorders_lock);
}

static void deliver_mqtt(const struct poll_record *record, void *data) {
        struct host *host = data;
        if (!is_real_poll(record) || record->outcome != POLL_OUTCOME_OK)
                return;
        pthread_mutex_lock(&host->recorders_lock);
        if (host->mqtt != NULL &&
            mqtt_publish_readings(host->mqtt, record->plugin, record->finished_ms,
                                  &record->readings) < 0) {
                /* dropped and counted by the publisher */
        }
        pthread_mutex_unlock(&host->recorders_lock);
}

/* The running set does not change while records flow: a reload stops the
 * scheduler and drains the pipeline first. */
static void deliver_liveness(const struct poll_record *record, void *data) {
        struct host *host = data;
        if (!is_real_poll(record))
                return;
        for (size_t i = 0; i < host->running.count; i++)
                if (strcmp(plugin_name(host->running.plugins[i]), record->plugin) == 0)
                        liveness_beat(&host->running.liveness, i, clock_monotonic_ms());
}

static int subscribe(struct host *host, const char *name, size_t capacity, pipeline_deliver deliver,
                     struct host_subscription *subscription, struct ph_error *error) {
        struct pipeline_subscriber_spec spec = {
                .name = name, .capacity = capacity, .deliver = deliver, .data = host};
        int result = pipeline_subscribe(host->pipeline, &spec, &subscription->id, error);
        subscription->is_subscribed = result == 0;
        return result;
}

int host_outputs_subscribe(struct host *host, struct ph_error *error) {
        /* stdout writes: its own queue and thread. The others only copy into
         * a bounded queue of their own (the history's and MQTT's writer
         * threads have one) or set an atomic: inline, on the plugin's thread,
         * which then wakes no thread for them. */
        if (subscribe(host, "stdout", OUTPUT_QUEUE_RECORDS, deliver_console, &host->console,
                      error) < 0 ||
            subscribe(host, "liveness", 0, deliver_liveness, &host->liveness, error) < 0)
                return -1;
        if (host->history != NULL &&
            subscribe(host, "history", 0, deliver_history, &host->history_feed, error) < 0)
                return -1;
        if (host->mqtt != NULL &&
            subscribe(host, "mqtt", 0, deliver_mqtt, &host->mqtt_feed, error) < 0)
                return -1;
        return 0;
}
