/* outcome.c - a poll's outcome in the pipeline's terms (plugin.h's
 * plugin_record_outcome): shared by the scheduler's polls and the reload's
 * trial polls, so both describe success, failure and skips alike. */
#include "plugin/plugin.h"

void plugin_record_outcome(struct poll_record *record, int result, struct reading_list *readings,
                           const struct plugin_failure *failure) {
        if (result == 0) {
                record->readings = *readings; /* taken */
                *readings = (struct reading_list){0};
                return;
        }
        enum poll_outcome outcome = plugin_failure_is_skipped(failure->kind) ? POLL_OUTCOME_SKIPPED
                                                                             : POLL_OUTCOME_FAILED;
        if (poll_record_set_failure(record, outcome, plugin_failure_kind_name(failure->kind),
                                    failure->message, failure->traceback) < 0) {
                /* the kind is kept; the texts are lost */
        }
        reading_list_clear(readings);
}
