/* capture.h - captures what the code under test writes to stderr (the log),
 * for the unit tests. */
#ifndef PH_TEST_CAPTURE_H
#define PH_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
        int saved_fd;
        FILE *file;
        char text[65536];
};

static inline void capture_start(struct capture *capture) {
        fflush(stderr);
        capture->file = tmpfile();
        capture->saved_fd = dup(STDERR_FILENO);
        dup2(fileno(capture->file), STDERR_FILENO);
}

/* Restores stderr and returns everything written since capture_start. */
static inline const char *capture_stop(struct capture *capture) {
        fflush(stderr);
        dup2(capture->saved_fd, STDERR_FILENO);
        close(capture->saved_fd);
        rewind(capture->file);
        size_t length = fread(capture->text, 1, sizeof(capture->text) - 1, capture->file);
        capture->text[length] = '\0';
        fclose(capture->file);
        return capture->text;
}

static inline size_t count_occurrences(const char *text, const char *needle) {
        size_t count = 0;
        for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
                count++;
        return count;
}

#endif
