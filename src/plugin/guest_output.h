/* guest_output.h - a plugin's WASI stdout/stderr, into the host log.
 *
 * The guest writes in arbitrary pieces ("RuntimeError", ": ", "boom\n");
 * this buffers them into whole lines, each logged with the plugin's name.
 * A line longer than the buffer is cut into pieces rather than kept whole.
 * Wasmtime calls guest_output_write on its own I/O threads (WASI streams
 * are written by background tasks), the host flushes on the thread that
 * called into the plugin: `lock` serialises them. */
#ifndef PH_GUEST_OUTPUT_H
#define PH_GUEST_OUTPUT_H

#include <pthread.h>
#include <stddef.h>

#include "core/log.h"
#include "core/log_budget.h"

#define GUEST_OUTPUT_LINE_MAX 1024

struct guest_output {
        pthread_mutex_t lock; /* guards everything below */
        const char *tag;      /* borrowed: the plugin's name */
        enum log_level level;
        struct log_budget *budget; /* borrowed; NULL: unlimited */
        size_t used;
        char line[GUEST_OUTPUT_LINE_MAX];
};

/* `budget` (borrowed, may be NULL) limits how many lines get logged. */
void guest_output_init(struct guest_output *output, const char *tag, enum log_level level,
                       struct log_budget *budget);

/* Takes `size` bytes of output; logs every completed line. */
void guest_output_write(struct guest_output *output, const char *bytes, size_t size);

/* Logs what is left of an unfinished line (after a call, or at a trap). */
void guest_output_flush(struct guest_output *output);

void guest_output_destroy(struct guest_output *output);

#endif
