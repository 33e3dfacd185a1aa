/* fault.c - the counting, failing allocator of the fault-injection build
 * (see fault.h). Compiled only with -DPYHOST_FAULT_INJECT=ON. A constructor
 * reads the environment and installs the jansson and SQLite hooks before
 * main; a destructor prints the count at exit. Any thread may allocate. */
#include "core/fault.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* This file calls the real functions. */
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup

static atomic_ulong counted;
static atomic_bool has_failed;
static unsigned long fail_at;  /* 0: count only */
static bool is_enabled;        /* PYHOST_FAIL_ALLOC is set */
static bool fails_every_later; /* PYHOST_FAIL_ALLOC_AFTER=1 */
static sqlite3_mem_methods sqlite_default;

static void say(const char *text, size_t length) {
        /* write(2): no allocation, safe from any thread. */
        while (length > 0) {
                ssize_t written = write(STDERR_FILENO, text, length);
                if (written <= 0)
                        return;
                text += written;
                length -= (size_t)written;
        }
}

static void say_text(const char *text) {
        say(text, strlen(text));
}

/* Appends " OBJECT+0xOFFSET" for `address` to `line`. */
static void append_address(char *line, size_t size, const void *address) {
        Dl_info info = {0};
        size_t used = strlen(line);
        if (used >= size)
                return;
        if (dladdr(address, &info) != 0 && info.dli_fname != NULL)
                snprintf(line + used, size - used, " %s+0x%lx", info.dli_fname,
                         (unsigned long)((const char *)address - (const char *)info.dli_fbase));
        else
                snprintf(line + used, size - used, " %p", address);
}

/* Names the failing call site as OBJECT+0xOFFSET, which
 * `addr2line -f -e OBJECT OFFSET` turns into a function and line. A site
 * in a library (jansson, SQLite) is followed by the first caller in pyhost
 * itself ("via ..."), found with backtrace(3). */
static void name_site(unsigned long number, const char *what, const void *site) {
        char line[768];
        snprintf(line, sizeof(line), "pyhost fault: allocation %lu (%s) fails at", number, what);
        /* Return addresses: the call itself is the byte before. */
        append_address(line, sizeof(line), (const char *)site - 1);
        Dl_info own = {0}, info = {0};
        if (dladdr((const void *)fault_malloc, &own) != 0 &&
            (dladdr(site, &info) == 0 || info.dli_fbase != own.dli_fbase)) {
                void *frames[24];
                int count = backtrace(frames, 24);
                bool is_past_site = false;
                for (int i = 0; i < count; i++) {
                        Dl_info frame = {0};
                        if (dladdr(frames[i], &frame) == 0)
                                continue;
                        if (frame.dli_fbase == info.dli_fbase) {
                                is_past_site = true;
                                continue;
                        }
                        if (frame.dli_fbase != own.dli_fbase)
                                continue;
                        if (!is_past_site)
                                continue;
                        size_t used = strlen(line);
                        snprintf(line + used, sizeof(line) - used, " via");
                        append_address(line, sizeof(line), (const char *)frames[i] - 1);
                        break;
                }
        }
        size_t used = strlen(line);
        snprintf(line + used, sizeof(line) - used, "\n");
        say_text(line);
}

static bool should_fail(const char *what, const void *site) {
        unsigned long number = atomic_fetch_add(&counted, 1) + 1;
        if (fail_at == 0 || number < fail_at)
                return false;
        if (number > fail_at)
                return fails_every_later;
        atomic_store(&has_failed, true);
        name_site(number, what, site);
        return true;
}

void *fault_malloc(size_t size) {
        return should_fail("malloc", __builtin_return_address(0)) ? NULL : malloc(size);
}

void *fault_calloc(size_t count, size_t size) {
        return should_fail("calloc", __builtin_return_address(0)) ? NULL : calloc(count, size);
}

void *fault_realloc(void *pointer, size_t size) {
        return should_fail("realloc", __builtin_return_address(0)) ? NULL : realloc(pointer, size);
}

char *fault_strdup(const char *text) {
        return should_fail("strdup", __builtin_return_address(0)) ? NULL : strdup(text);
}

char *fault_strndup(const char *text, size_t size) {
        return should_fail("strndup", __builtin_return_address(0)) ? NULL : strndup(text, size);
}

static void *json_malloc(size_t size) {
        return should_fail("jansson", __builtin_return_address(0)) ? NULL : malloc(size);
}

static void *sqlite_malloc(int size) {
        return should_fail("sqlite", __builtin_return_address(0)) ? NULL
                                                                  : sqlite_default.xMalloc(size);
}

static void *sqlite_realloc(void *pointer, int size) {
        return should_fail("sqlite", __builtin_return_address(0))
                       ? NULL
                       : sqlite_default.xRealloc(pointer, size);
}

__attribute__((constructor)) static void fault_start(void) {
        const char *value = getenv("PYHOST_FAIL_ALLOC");
        if (value != NULL) {
                char *end = NULL;
                is_enabled = true;
                fail_at = strtoul(value, &end, 10);
                if (end == value || *end != '\0')
                        fail_at = 0;
        }
        const char *after = getenv("PYHOST_FAIL_ALLOC_AFTER");
        fails_every_later = after != NULL && strcmp(after, "1") == 0;
        json_set_alloc_funcs(json_malloc, free);
        if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_default) == SQLITE_OK) {
                sqlite3_mem_methods methods = sqlite_default;
                methods.xMalloc = sqlite_malloc;
                methods.xRealloc = sqlite_realloc;
                if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK)
                        say_text("pyhost fault: SQLite's allocator is not counted\n");
        }
}

__attribute__((destructor)) static void fault_stop(void) {
        if (!is_enabled)
                return;
        char line[160];
        int length = snprintf(line, sizeof(line), "pyhost fault: %lu allocations counted; %s\n",
                              atomic_load(&counted),
                              fail_at == 0               ? "none failed"
                              : atomic_load(&has_failed) ? "the one chosen failed"
                                                         : "the one chosen was never reached");
        if (length > 0)
                say(line, (size_t)length < sizeof(line) ? (size_t)length : sizeof(line) - 1);
}
