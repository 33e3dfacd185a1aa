/* Unit tests of src/http/feed.c, with the real app state and simulated
 * board, fake plugins (fake_plugin.c) and a test-local sse_publish that
 * keeps what would go out on the event stream. They check which records
 * reach the state and which events the stream gets: a good poll's
 * readings, a failed poll's kind, nothing for a skipped poll's news, a
 * trial only on the stream, lifecycle events in the history, LEDs only
 * when they change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "fake_plugin.h"
#include "http/feed.h"
#include "http/sse.h"

#define MAX_EVENTS 32

/* The event stream, as the feed publishes to it. */
struct sse {
        char names[MAX_EVENTS][16];
        json_t *events[MAX_EVENTS];
        size_t count;
};

int sse_publish(struct sse *sse, const char *name, const char *json) {
        assert_true(sse->count < MAX_EVENTS);
        snprintf(sse->names[sse->count], sizeof(sse->names[0]), "%s", name);
        json_error_t error;
        sse->events[sse->count] = json_loads(json, 0, &error);
        if (sse->events[sse->count] == NULL)
                fail_msg("event '%s' is not JSON: %s", name, json);
        sse->count++;
        return 0;
}

static void sse_clear(struct sse *sse) {
        for (size_t i = 0; i < sse->count; i++)
                json_decref(sse->events[i]);
        sse->count = 0;
}

/* How many events named `name`; the last one in *ret_event (borrowed). */
static size_t events_named(const struct sse *sse, const char *name, json_t **ret_event) {
        size_t count = 0;
        for (size_t i = 0; i < sse->count; i++) {
                if (strcmp(sse->names[i], name) == 0) {
                        count++;
                        if (ret_event != NULL)
                                *ret_event = sse->events[i];
                }
        }
        return count;
}

struct fixture {
        struct plugin plugin;
        struct app_state *state;
        struct hw_board *board;
        struct sse sse;
        struct feed *feed;
};

static int setup(void **state) {
        struct fixture *fixture = calloc(1, sizeof(*fixture));
        assert_non_null(fixture);
        fake_plugin_init(&fixture->plugin, "greenhouse");
        fixture->plugin.status.state = PLUGIN_STATE_RUNNING;
        fixture->plugin.status.polls = 3;
        fixture->plugin.status.denied_calls = 2;
        struct app_plugin_info info = {.name = "greenhouse", .interval_s = 2, .budget_ms = 100};
        struct ph_error error = {0};
        fixture->state = app_state_new(&info, 1, &error);
        assert_non_null(fixture->state);
        struct host_config config;
        config_set_defaults(&config);
        snprintf(config.board.backend, sizeof(config.board.backend), "%s", "sim");
        fixture->board = hw_board_new(&config.board, &error);
        assert_non_null(fixture->board);
        struct plugin *plugins[1] = {&fixture->plugin};
        fixture->feed = feed_new(fixture->state, &fixture->sse, plugins, 1, fixture->board, &error);
        assert_non_null(fixture->feed);
        *state = fixture;
        return 0;
}

static int teardown(void **state) {
        struct fixture *fixture = *state;
        feed_free(fixture->feed);
        hw_board_free(fixture->board);
        app_state_free(fixture->state);
        sse_clear(&fixture->sse);
        fake_plugin_destroy(&fixture->plugin);
        free(fixture);
        return 0;
}

/* A copy of the state's view of the plugin; the caller frees it. */
static struct app_plugin_view *view_of(struct fixture *fixture) {
        struct app_plugin_view *view = calloc(1, sizeof(*view));
        assert_non_null(view);
        assert_int_equal(app_state_get_plugin(fixture->state, 0, poll_record_now_ms(), view), 0);
        return view;
}

static void view_free(struct app_plugin_view *view) {
        app_plugin_view_clear(view);
        free(view);
}

static struct poll_record *good_record(double value) {
        struct poll_record *record = poll_record_new("greenhouse");
        assert_non_null(record);
        record->origin = POLL_ORIGIN_SCHEDULED;
        record->finished_ms = poll_record_now_ms();
        record->duration_ms = 4;
        struct reading *item = calloc(1, sizeof(*item));
        assert_non_null(item);
        snprintf(item->sensor, sizeof(item->sensor), "%s", "air");
        snprintf(item->unit, sizeof(item->unit), "%s", "C");
        item->value = value;
        item->is_finite = true;
        record->readings = (struct reading_list){.items = item, .count = 1};
        return record;
}

static struct poll_record *failed_record(enum poll_outcome outcome, const char *kind) {
        struct poll_record *record = poll_record_new("greenhouse");
        assert_non_null(record);
        record->finished_ms = poll_record_now_ms();
        assert_int_equal(poll_record_set_failure(record, outcome, kind, "it broke", ""), 0);
        return record;
}

static void test_the_feed_takes_a_first_status_of_each_plugin(void **state) {
        struct fixture *fixture = *state;
        struct app_plugin_view *view = view_of(fixture);
        assert_true(view->has_status);
        assert_string_equal(view->status.state, "running");
        assert_int_equal(view->status.polls, 3);
        assert_int_equal(view->status.denied_calls, 2);
        view_free(view);
}

static void test_a_good_poll_reaches_the_state_and_the_stream(void **state) {
        struct fixture *fixture = *state;
        struct poll_record *record = good_record(23.5);
        fixture->plugin.status.polls = 4;
        feed_note_poll(fixture->feed, record);
        struct app_plugin_view *view = view_of(fixture);
        assert_int_equal(view->reading_count, 1);
        assert_true(view->readings[0].value == 23.5);
        assert_int_equal(view->readings_ms, record->finished_ms);
        /* The status was refreshed after the poll. */
        assert_int_equal(view->status.polls, 4);
        view_free(view);
        json_t *event = NULL;
        assert_int_equal(events_named(&fixture->sse, "reading", &event), 1);
        assert_string_equal(json_string_value(json_object_get(event, "plugin")), "greenhouse");
        json_t *first = json_array_get(json_object_get(event, "readings"), 0);
        assert_true(json_real_value(json_object_get(first, "value")) == 23.5);
        assert_int_equal(events_named(&fixture->sse, "poll-failed", NULL), 0);
        assert_int_equal(events_named(&fixture->sse, "plugin", &event), 1);
        assert_int_equal(json_integer_value(json_object_get(event, "polls")), 4);
        poll_record_unref(record);
}

static void test_a_failed_poll_is_counted_and_announced(void **state) {
        struct fixture *fixture = *state;
        struct poll_record *record = failed_record(POLL_OUTCOME_FAILED, "trap");
        feed_note_poll(fixture->feed, record);
        struct app_plugin_view *view = view_of(fixture);
        assert_string_equal(view->last_poll_failure, "trap");
        assert_int_equal(view->poll_count, 1);
        assert_int_equal(view->reading_count, 0);
        view_free(view);
        json_t *event = NULL;
        assert_int_equal(events_named(&fixture->sse, "poll-failed", &event), 1);
        assert_string_equal(json_string_value(json_object_get(event, "kind")), "trap");
        assert_string_equal(json_string_value(json_object_get(event, "message")), "it broke");
        assert_int_equal(events_named(&fixture->sse, "reading", NULL), 0);
        poll_record_unref(record);
}

static void test_a_skipped_poll_is_not_counted_as_a_poll(void **state) {
        struct fixture *fixture = *state;
        struct poll_record *record = failed_record(POLL_OUTCOME_SKIPPED, "quarantined");
        fixture->plugin.status.state = PLUGIN_STATE_QUARANTINED;
        feed_note_poll(fixture->feed, record);
        struct app_plugin_view *view = view_of(fixture);
        assert_int_equal(view->poll_count, 0);
        /* Its state is news: the status is refreshed. */
        assert_string_equal(view->status.state, "quarantined");
        view_free(view);
        assert_int_equal(events_named(&fixture->sse, "poll-failed", NULL), 0);
        assert_int_equal(events_named(&fixture->sse, "reading", NULL), 0);
        assert_int_equal(events_named(&fixture->sse, "plugin", NULL), 1);
        poll_record_unref(record);
}

static void test_a_trial_poll_goes_to_the_stream_only(void **state) {
        struct fixture *fixture = *state;
        struct poll_record *record = good_record(99);
        record->origin = POLL_ORIGIN_TRIAL;
        feed_note_poll(fixture->feed, record);
        struct app_plugin_view *view = view_of(fixture);
        assert_int_equal(view->poll_count, 0);
        assert_int_equal(view->reading_count, 0);
        view_free(view);
        json_t *event = NULL;
        assert_int_equal(fixture->sse.count, 1);
        assert_int_equal(events_named(&fixture->sse, "trial", &event), 1);
        assert_string_equal(json_string_value(json_object_get(event, "origin")), "trial");
        poll_record_unref(record);
}

static void test_a_lifecycle_event_joins_the_history_at_once(void **state) {
        struct fixture *fixture = *state;
        struct poll_record *record = poll_record_new_lifecycle(
                "greenhouse", "rejected", "0123456789ab", poll_record_now_ms(), "bad world");
        assert_non_null(record);
        feed_note_poll(fixture->feed, record);
        struct app_plugin_view *view = view_of(fixture);
        assert_int_equal(view->status.history_count, 1);
        assert_string_equal(view->status.history[0].kind, "rejected");
        assert_string_equal(view->status.history[0].message, "bad world");
        assert_int_equal(view->poll_count, 0);
        view_free(view);
        json_t *event = NULL;
        assert_int_equal(events_named(&fixture->sse, "lifecycle", &event), 1);
        assert_string_equal(json_string_value(json_object_get(event, "kind")), "rejected");
        assert_string_equal(json_string_value(json_object_get(event, "version")), "0123456789ab");
        poll_record_unref(record);
}

static void test_leds_are_announced_only_when_they_change(void **state) {
        struct fixture *fixture = *state;
        struct poll_record *record = good_record(20);
        feed_note_poll(fixture->feed, record);
        feed_note_poll(fixture->feed, record);
        assert_int_equal(events_named(&fixture->sse, "leds", NULL), 1);
        assert_int_equal(hw_set_leds(fixture->board, HW_LED_RED, HW_LED_GREEN), 0);
        feed_note_poll(fixture->feed, record);
        json_t *event = NULL;
        assert_int_equal(events_named(&fixture->sse, "leds", &event), 2);
        assert_string_equal(json_string_value(json_object_get(event, "first")),
                            hw_led_color_name(HW_LED_RED));
        assert_string_equal(json_string_value(json_object_get(event, "second")),
                            hw_led_color_name(HW_LED_GREEN));
        poll_record_unref(record);
}

static void test_a_record_of_an_unknown_plugin_is_ignored(void **state) {
        struct fixture *fixture = *state;
        struct poll_record *record = poll_record_new("stranger");
        assert_non_null(record);
        feed_note_poll(fixture->feed, record);
        feed_note_poll(NULL, record);
        assert_int_equal(fixture->sse.count, 0);
        struct app_plugin_view *view = view_of(fixture);
        assert_int_equal(view->poll_count, 0);
        view_free(view);
        poll_record_unref(record);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_the_feed_takes_a_first_status_of_each_plugin,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_good_poll_reaches_the_state_and_the_stream,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_failed_poll_is_counted_and_announced, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_skipped_poll_is_not_counted_as_a_poll, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_trial_poll_goes_to_the_stream_only, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_lifecycle_event_joins_the_history_at_once,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_leds_are_announced_only_when_they_change,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_record_of_an_unknown_plugin_is_ignored,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
