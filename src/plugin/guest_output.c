#include "plugin/guest_output.h"

#include <string.h>

void guest_output_init(struct guest_output *output, const char *tag, enum log_level level) {
        output->tag = tag;
        output->level = level;
        output->used = 0;
}

void guest_output_flush(struct guest_output *output) {
        if (output->used > 0)
                log_write_text(output->level, output->tag, output->line, output->used);
        output->used = 0;
}

void guest_output_write(struct guest_output *output, const char *bytes, size_t size) {
        for (size_t i = 0; i < size; i++) {
                if (bytes[i] == '\n') {
                        /* An empty line is logged too: it may separate things. */
                        log_write_text(output->level, output->tag, output->line, output->used);
                        output->used = 0;
                        continue;
                }
                if (output->used == sizeof(output->line))
                        guest_output_flush(output);
                output->line[output->used++] = bytes[i];
        }
}
