/* app_state.c - the web server's view of the host, behind one rwlock.
 *
 * Locking: `lock` (a pthread rwlock, writer-preferring so a stream of reads
 * cannot starve a poll's update) guards every field of struct app_state
 * after it, and every struct plugin_entry. Nothing is called while it is
 * held except memory copies, jansson on private objects and allocation. */
#include "http/app_state.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sample {
        int64_t time_ms;
        double value;
        uint8_t series;
};

struct series {
        char sensor[READING_SENSOR_MAX];
        enum reading_quantity quantity;
        char unit[READING_UNIT_MAX];
};

struct plugin_entry {
        char name[CONFIG_NAME_MAX];
        double interval_s;
        uint32_t budget_ms;
        bool has_status;
        struct app_plugin_status status;
        int64_t reload_requested_ms; /* 0: none pending */
        int64_t reload_timeout_ms;
        struct reading_list readings; /* the last good poll's */
        int64_t readings_ms;
        int64_t last_poll_ms;
        double last_poll_duration_ms;
        char last_poll_failure[16];
        uint64_t poll_count;
        double duration_sum_ms;
        uint64_t duration_buckets[APP_DURATION_BUCKETS];
        struct app_failure_count failures[APP_FAILURE_KINDS];
        size_t failure_kind_count;
        struct series series[APP_HISTORY_SERIES];
        size_t series_count;
        struct sample *samples; /* a ring of APP_HISTORY_SAMPLES */
        uint64_t sample_count;
};

struct app_state {
        pthread_rwlock_t lock;
        char led_first[8];
        char led_second[8];
        int64_t leds_changed_ms;
        char *readings_json; /* the ready-made GET /api/readings document */
        size_t readings_json_size;
        size_t count;
        struct plugin_entry *plugins; /* `count` of them */
};

static const double duration_bounds[APP_DURATION_BUCKETS - 1] = APP_DURATION_BOUNDS;

static void copy_text(char *out, size_t size, const char *text) {
        snprintf(out, size, "%s", text != NULL ? text : "");
}

/* Rebuilds readings_json; called with the write lock held. On failure the
 * old document stays. */
static int rebuild_readings_json(struct app_state *state) {
        json_t *plugins = json_object();
        json_t *root = json_pack("{s:o}", "plugins", plugins);
        if (root == NULL)
                return -ENOMEM;
        int result = 0;
        for (size_t i = 0; i < state->count && result == 0; i++) {
                const struct plugin_entry *entry = &state->plugins[i];
                json_t *readings = reading_list_to_json(&entry->readings);
                json_t *item = json_pack("{s:o, s:o}", "time_ms",
                                         entry->readings_ms > 0
                                                 ? json_integer((json_int_t)entry->readings_ms)
                                                 : json_null(),
                                         "readings", readings != NULL ? readings : json_array());
                if (item == NULL || json_object_set_new(plugins, entry->name, item) != 0)
                        result = -ENOMEM;
        }
        char *text = result == 0 ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(root);
        if (text == NULL)
                return -ENOMEM;
        free(state->readings_json);
        state->readings_json = text;
        state->readings_json_size = strlen(text);
        return 0;
}

/* A new entry for `info` (its history buffer allocated); false when out
 * of memory. */
static bool entry_init(struct plugin_entry *entry, const struct app_plugin_info *info) {
        memset(entry, 0, sizeof(*entry));
        copy_text(entry->name, sizeof(entry->name), info->name);
        entry->interval_s = info->interval_s;
        entry->budget_ms = info->budget_ms;
        entry->samples = calloc(APP_HISTORY_SAMPLES, sizeof(entry->samples[0]));
        return entry->samples != NULL;
}

static void entries_free(struct plugin_entry *entries, size_t count) {
        for (size_t i = 0; entries != NULL && i < count; i++) {
                reading_list_clear(&entries[i].readings);
                free(entries[i].samples);
        }
        free(entries);
}

/* Entries for `plugins`, each new; NULL when out of memory. */
static struct plugin_entry *entries_new(const struct app_plugin_info *plugins, size_t count) {
        struct plugin_entry *entries = calloc(count > 0 ? count : 1, sizeof(*entries));
        for (size_t i = 0; entries != NULL && i < count; i++)
                if (!entry_init(&entries[i], &plugins[i])) {
                        entries_free(entries, i + 1);
                        return NULL;
                }
        return entries;
}

struct app_state *app_state_new(const struct app_plugin_info *plugins, size_t count,
                                struct ph_error *error) {
        struct app_state *state = calloc(1, sizeof(*state));
        if (state == NULL)
                goto out_of_memory;
        pthread_rwlockattr_t attributes;
        pthread_rwlockattr_init(&attributes);
        pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        int made = pthread_rwlock_init(&state->lock, &attributes);
        pthread_rwlockattr_destroy(&attributes);
        if (made != 0) {
                free(state);
                ph_error_set(error, -EAGAIN, "app state: cannot make its lock");
                return NULL;
        }
        copy_text(state->led_first, sizeof(state->led_first), "off");
        copy_text(state->led_second, sizeof(state->led_second), "off");
        state->plugins = entries_new(plugins, count);
        if (state->plugins == NULL)
                goto out_of_memory;
        state->count = count;
        if (rebuild_readings_json(state) < 0)
                goto out_of_memory;
        return state;
out_of_memory:
        app_state_free(state);
        ph_error_set(error, -ENOMEM, "app state: out of memory");
        return NULL;
}

int app_state_set_plugins(struct app_state *state, const struct app_plugin_info *plugins,
                          size_t count, struct ph_error *error) {
        /* Allocated outside the lock; an entry whose plugin stays is then
         * swapped with the fresh one, which goes with the old array. */
        struct plugin_entry *entries = entries_new(plugins, count);
        if (entries == NULL)
                return ph_error_set(error, -ENOMEM, "app state: out of memory");
        pthread_rwlock_wrlock(&state->lock);
        for (size_t i = 0; i < count; i++)
                for (size_t j = 0; j < state->count; j++) {
                        struct plugin_entry *kept = &state->plugins[j];
                        if (strcmp(kept->name, entries[i].name) != 0)
                                continue;
                        struct plugin_entry fresh = entries[i];
                        entries[i] = *kept;
                        *kept = fresh;
                        entries[i].interval_s = plugins[i].interval_s;
                        entries[i].budget_ms = plugins[i].budget_ms;
                        break;
                }
        struct plugin_entry *old = state->plugins;
        size_t old_count = state->count;
        state->plugins = entries;
        state->count = count;
        /* The plugins gone leave the readings document now; on failure the
         * next good poll rebuilds it. */
        (void)rebuild_readings_json(state);
        pthread_rwlock_unlock(&state->lock);
        entries_free(old, old_count);
        return 0;
}

void app_state_free(struct app_state *state) {
        if (state == NULL)
                return;
        entries_free(state->plugins, state->count);
        free(state->readings_json);
        pthread_rwlock_destroy(&state->lock);
        free(state);
}

size_t app_state_plugin_count(struct app_state *state) {
        pthread_rwlock_rdlock(&state->lock);
        size_t count = state->count;
        pthread_rwlock_unlock(&state->lock);
        return count;
}

int app_state_find_plugin(struct app_state *state, const char *name, size_t *ret_index) {
        int result = -ENOENT;
        pthread_rwlock_rdlock(&state->lock);
        for (size_t i = 0; i < state->count && result < 0; i++) {
                if (strcmp(state->plugins[i].name, name) == 0) {
                        *ret_index = i;
                        result = 0;
                }
        }
        pthread_rwlock_unlock(&state->lock);
        return result;
}

static int copy_readings(const struct reading_list *from, struct reading_list *to) {
        to->items = NULL;
        to->count = 0;
        if (from->count == 0)
                return 0;
        to->items = malloc(from->count * sizeof(from->items[0]));
        if (to->items == NULL)
                return -ENOMEM;
        memcpy(to->items, from->items, from->count * sizeof(from->items[0]));
        to->count = from->count;
        return 0;
}

static void count_failure(struct plugin_entry *entry, const char *kind) {
        for (size_t i = 0; i < entry->failure_kind_count; i++) {
                if (strcmp(entry->failures[i].kind, kind) == 0) {
                        entry->failures[i].count++;
                        return;
                }
        }
        if (entry->failure_kind_count == APP_FAILURE_KINDS)
                return;
        struct app_failure_count *slot = &entry->failures[entry->failure_kind_count++];
        copy_text(slot->kind, sizeof(slot->kind), kind);
        slot->count = 1;
}

/* The series of (sensor, quantity), added when new; -1 when the table is
 * full. */
static int find_series(struct plugin_entry *entry, const struct reading *reading) {
        for (size_t i = 0; i < entry->series_count; i++) {
                const struct series *series = &entry->series[i];
                if (series->quantity == reading->quantity &&
                    strcmp(series->sensor, reading->sensor) == 0)
                        return (int)i;
        }
        if (entry->series_count == APP_HISTORY_SERIES)
                return -1;
        struct series *series = &entry->series[entry->series_count];
        copy_text(series->sensor, sizeof(series->sensor), reading->sensor);
        copy_text(series->unit, sizeof(series->unit), reading->unit);
        series->quantity = reading->quantity;
        return (int)entry->series_count++;
}

static void add_samples(struct plugin_entry *entry, const struct reading_list *readings,
                        int64_t time_ms) {
        for (size_t i = 0; i < readings->count; i++) {
                const struct reading *reading = &readings->items[i];
                int series = reading->is_finite ? find_series(entry, reading) : -1;
                if (series < 0)
                        continue;
                struct sample *sample = &entry->samples[entry->sample_count % APP_HISTORY_SAMPLES];
                *sample = (struct sample){
                        .time_ms = time_ms, .value = reading->value, .series = (uint8_t)series};
                entry->sample_count++;
        }
}

int app_state_record_poll(struct app_state *state, size_t index, const struct app_poll *poll) {
        /* Copy outside the lock: the lock is held only to swap. */
        struct reading_list copy = {0};
        int result = poll->readings != NULL ? copy_readings(poll->readings, &copy) : 0;

        pthread_rwlock_wrlock(&state->lock);
        if (index >= state->count) {
                pthread_rwlock_unlock(&state->lock);
                reading_list_clear(&copy);
                return -EINVAL;
        }
        struct plugin_entry *entry = &state->plugins[index];
        entry->poll_count++;
        entry->last_poll_ms = poll->time_ms;
        entry->last_poll_duration_ms = poll->duration_ms;
        entry->duration_sum_ms += poll->duration_ms;
        size_t bucket = 0;
        while (bucket < APP_DURATION_BUCKETS - 1 && poll->duration_ms > duration_bounds[bucket])
                bucket++;
        entry->duration_buckets[bucket]++;
        copy_text(entry->last_poll_failure, sizeof(entry->last_poll_failure), poll->failure_kind);
        if (poll->failure_kind != NULL)
                count_failure(entry, poll->failure_kind);
        if (poll->readings != NULL && result == 0) {
                struct reading_list old = entry->readings;
                entry->readings = copy;
                copy = old; /* freed below, outside the lock */
                entry->readings_ms = poll->time_ms;
                add_samples(entry, &entry->readings, poll->time_ms);
                int rebuilt = rebuild_readings_json(state);
                result = rebuilt < 0 ? rebuilt : result;
        }
        pthread_rwlock_unlock(&state->lock);
        reading_list_clear(&copy);
        return result;
}

void app_state_set_status(struct app_state *state, size_t index,
                          const struct app_plugin_status *status) {
        pthread_rwlock_wrlock(&state->lock);
        if (index >= state->count) {
                pthread_rwlock_unlock(&state->lock);
                return;
        }
        state->plugins[index].status = *status;
        state->plugins[index].has_status = true;
        pthread_rwlock_unlock(&state->lock);
}

void app_state_add_event(struct app_state *state, size_t index, const struct app_event *event) {
        pthread_rwlock_wrlock(&state->lock);
        if (index >= state->count) {
                pthread_rwlock_unlock(&state->lock);
                return;
        }
        struct plugin_entry *entry = &state->plugins[index];
        struct app_plugin_status *status = &entry->status;
        status->history[status->history_count % APP_EVENT_HISTORY] = *event;
        status->history_count++;
        entry->reload_requested_ms = 0;
        pthread_rwlock_unlock(&state->lock);
}

void app_state_note_reload_request(struct app_state *state, size_t index, int64_t now_ms,
                                   int64_t timeout_ms) {
        pthread_rwlock_wrlock(&state->lock);
        if (index >= state->count) {
                pthread_rwlock_unlock(&state->lock);
                return;
        }
        state->plugins[index].reload_requested_ms = now_ms;
        state->plugins[index].reload_timeout_ms = timeout_ms;
        pthread_rwlock_unlock(&state->lock);
}

bool app_state_set_leds(struct app_state *state, const char *first, const char *second,
                        int64_t time_ms) {
        pthread_rwlock_rdlock(&state->lock);
        bool is_same = strcmp(state->led_first, first) == 0 &&
                       strcmp(state->led_second, second) == 0 && state->leds_changed_ms != 0;
        pthread_rwlock_unlock(&state->lock);
        if (is_same)
                return false;
        pthread_rwlock_wrlock(&state->lock);
        copy_text(state->led_first, sizeof(state->led_first), first);
        copy_text(state->led_second, sizeof(state->led_second), second);
        state->leds_changed_ms = time_ms;
        pthread_rwlock_unlock(&state->lock);
        return true;
}

void app_state_get_leds(struct app_state *state, char *ret_first, char *ret_second, size_t size,
                        int64_t *ret_changed_ms) {
        pthread_rwlock_rdlock(&state->lock);
        copy_text(ret_first, size, state->led_first);
        copy_text(ret_second, size, state->led_second);
        *ret_changed_ms = state->leds_changed_ms;
        pthread_rwlock_unlock(&state->lock);
}

int app_state_get_plugin(struct app_state *state, size_t index, int64_t now_ms,
                         struct app_plugin_view *ret_view) {
        struct app_plugin_view view = {0};
        int result = 0;
        pthread_rwlock_rdlock(&state->lock);
        if (index >= state->count) {
                pthread_rwlock_unlock(&state->lock);
                return -EINVAL;
        }
        const struct plugin_entry *entry = &state->plugins[index];
        copy_text(view.name, sizeof(view.name), entry->name);
        view.interval_s = entry->interval_s;
        view.budget_ms = entry->budget_ms;
        view.has_status = entry->has_status;
        view.status = entry->status;
        view.is_reload_pending = entry->reload_requested_ms != 0 &&
                                 now_ms - entry->reload_requested_ms < entry->reload_timeout_ms;
        if (entry->readings.count > 0) {
                view.readings = malloc(entry->readings.count * sizeof(view.readings[0]));
                if (view.readings == NULL) {
                        result = -ENOMEM;
                } else {
                        memcpy(view.readings, entry->readings.items,
                               entry->readings.count * sizeof(view.readings[0]));
                        view.reading_count = entry->readings.count;
                }
        }
        view.readings_ms = entry->readings_ms;
        view.last_poll_ms = entry->last_poll_ms;
        view.last_poll_duration_ms = entry->last_poll_duration_ms;
        copy_text(view.last_poll_failure, sizeof(view.last_poll_failure), entry->last_poll_failure);
        view.poll_count = entry->poll_count;
        view.duration_sum_ms = entry->duration_sum_ms;
        memcpy(view.duration_buckets, entry->duration_buckets, sizeof(view.duration_buckets));
        memcpy(view.failures, entry->failures, sizeof(view.failures));
        view.failure_kind_count = entry->failure_kind_count;
        pthread_rwlock_unlock(&state->lock);
        if (result < 0) {
                app_plugin_view_clear(&view);
                return result;
        }
        *ret_view = view;
        return 0;
}

void app_plugin_view_clear(struct app_plugin_view *view) {
        free(view->readings);
        view->readings = NULL;
        view->reading_count = 0;
}

char *app_state_readings_json(struct app_state *state, size_t *ret_size) {
        pthread_rwlock_rdlock(&state->lock);
        size_t size = state->readings_json_size;
        char *copy = malloc(size + 1);
        if (copy != NULL)
                memcpy(copy, state->readings_json, size + 1);
        pthread_rwlock_unlock(&state->lock);
        if (copy != NULL)
                *ret_size = size;
        return copy;
}

/* Appends one plugin's series to `out`; called with the read lock held. */
static int add_history(const struct plugin_entry *entry, int64_t since_ms, json_t *out) {
        uint64_t first = entry->sample_count > APP_HISTORY_SAMPLES
                                 ? entry->sample_count - APP_HISTORY_SAMPLES
                                 : 0;
        for (size_t s = 0; s < entry->series_count; s++) {
                const struct series *series = &entry->series[s];
                json_t *times = json_array();
                json_t *values = json_array();
                json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "plugin", entry->name,
                                         "sensor", series->sensor, "quantity",
                                         reading_quantity_name(series->quantity), "unit",
                                         series->unit, "time_ms", times, "values", values);
                if (item == NULL || json_array_append_new(out, item) != 0)
                        return -ENOMEM;
                for (uint64_t i = first; i < entry->sample_count; i++) {
                        const struct sample *sample = &entry->samples[i % APP_HISTORY_SAMPLES];
                        if (sample->series != s || sample->time_ms < since_ms)
                                continue;
                        if (json_array_append_new(times,
                                                  json_integer((json_int_t)sample->time_ms)) != 0 ||
                            json_array_append_new(values, json_real(sample->value)) != 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

char *app_state_history_json(struct app_state *state, int64_t now_ms, size_t *ret_size) {
        json_t *series = json_array();
        if (series == NULL)
                return NULL;
        int result = 0;
        pthread_rwlock_rdlock(&state->lock);
        for (size_t i = 0; i < state->count && result == 0; i++)
                result = add_history(&state->plugins[i], now_ms - APP_HISTORY_MS, series);
        pthread_rwlock_unlock(&state->lock);
        char *text = result == 0 ? json_dumps(series, JSON_COMPACT | JSON_REAL_PRECISION(8)) : NULL;
        json_decref(series);
        if (text != NULL)
                *ret_size = strlen(text);
        return text;
}
