#include "plugin/guest_output.h"

#include <string.h>

void guest_output_init(struct guest_output *output, const char *tag, enum log_level level,
                       struct log_budget *budget) {
        output->tag = tag;
        output->level = level;
        output->budget = budget;
        output->used = 0;
        pthread_mutex_init(&output->lock, NULL);
}

void guest_output_destroy(struct guest_output *output) {
        pthread_mutex_destroy(&output->lock);
}

static void emit(struct guest_output *output) {
        if (output->budget == NULL || log_budget_take(output->budget, output->tag))
                log_write_text(output->level, output->tag, output->line, output->used);
        output->used = 0;
}

void guest_output_flush(struct guest_output *output) {
        pthread_mutex_lock(&output->lock);
        if (output->used > 0)
                emit(output);
        pthread_mutex_unlock(&output->lock);
}

void guest_output_write(struct guest_output *output, const char *bytes, size_t size) {
        pthread_mutex_lock(&output->lock);
        for (size_t i = 0; i < size; i++) {
                if (bytes[i] == '\n') {
                        emit(output);
                        continue;
                }
                if (output->used == sizeof(output->line))
                        emit(output);
                output->line[output->used++] = bytes[i];
        }
        pthread_mutex_unlock(&output->lock);
}
