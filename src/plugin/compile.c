/* compile.c - compiling a component on a thread of its own, so that the
 * thread that asked can stop waiting for it.
 *
 * Wasmtime's compile cannot be interrupted (seconds for a Python
 * component). A stop must not wait for it, so each compile runs on a
 * detached worker thread holding what it needs by itself: a reference of
 * its own to the engine (wasmtime_engine_clone), the component's bytes and
 * a job record. The caller waits for the job; a compile_cancel triggered by
 * another thread (the reloader's stop) ends the wait at once, and the
 * worker then frees the job and its result when the compile finishes, or
 * never, if the process exits first. The caller's engine, plugins and
 * files are never touched by the worker, so they can be freed meanwhile.
 *
 * Locks: compile_cancel.lock before compile_job.lock. A job is owned by its
 * caller until the caller marks it abandoned, then by its worker. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/internal.h"

struct compile_job {
        pthread_mutex_t lock; /* guards the fields below it */
        pthread_cond_t done;
        bool is_done;
        bool is_cancel_requested;
        bool is_abandoned; /* the caller left; the worker frees the job */
        wasmtime_component_t *component;
        wasmtime_error_t *wasm_error;
        /* The worker's own, touched by nobody else while it runs. */
        wasm_engine_t *engine;
        uint8_t *bytes;
        size_t size;
};

void compile_cancel_init(struct compile_cancel *cancel) {
        memset(cancel, 0, sizeof(*cancel));
        pthread_mutex_init(&cancel->lock, NULL);
}

void compile_cancel_trigger(struct compile_cancel *cancel) {
        pthread_mutex_lock(&cancel->lock);
        cancel->is_cancelled = true;
        struct compile_job *job = cancel->job;
        if (job != NULL) {
                pthread_mutex_lock(&job->lock);
                job->is_cancel_requested = true;
                pthread_cond_signal(&job->done);
                pthread_mutex_unlock(&job->lock);
        }
        pthread_mutex_unlock(&cancel->lock);
}

void compile_cancel_destroy(struct compile_cancel *cancel) {
        pthread_mutex_destroy(&cancel->lock);
}

static void job_free(struct compile_job *job) {
        if (job->component != NULL)
                wasmtime_component_delete(job->component);
        if (job->wasm_error != NULL)
                wasmtime_error_delete(job->wasm_error);
        pthread_cond_destroy(&job->done);
        pthread_mutex_destroy(&job->lock);
        free(job);
}

#ifndef WASMTIME_FEATURE_COMPILER
/* The runtime-only build has no compiler: Wasmtime's entry point is absent,
 * and engine_compile refuses before a job is made. */
static wasmtime_error_t *wasmtime_component_new(const wasm_engine_t *engine, const uint8_t *bytes,
                                                size_t size, wasmtime_component_t **ret) {
        (void)engine;
        (void)bytes;
        (void)size;
        (void)ret;
        return wasmtime_error_new("no compiler in this build");
}
#endif

static void *run_compile(void *argument) {
        struct compile_job *job = argument;
        wasmtime_component_t *component = NULL;
        wasmtime_error_t *wasm_error =
                wasmtime_component_new(job->engine, job->bytes, job->size, &component);
        free(job->bytes);
        job->bytes = NULL;
        wasm_engine_delete(job->engine);
        job->engine = NULL;
        pthread_mutex_lock(&job->lock);
        job->component = component;
        job->wasm_error = wasm_error;
        job->is_done = true;
        bool is_abandoned = job->is_abandoned;
        pthread_cond_signal(&job->done);
        pthread_mutex_unlock(&job->lock);
        if (is_abandoned)
                job_free(job);
        return NULL;
}

/* Starts the worker; returns 0, or a negative code with nothing started
 * (the job is then still the caller's). */
static int start_worker(struct compile_job *job) {
        pthread_attr_t attributes;
        if (pthread_attr_init(&attributes) != 0)
                return -ENOMEM;
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        int result = pthread_create(&thread, &attributes, run_compile, job);
        pthread_attr_destroy(&attributes);
        return result == 0 ? 0 : -result;
}

/* Registers `job` with `cancel`; false when it is already cancelled. */
static bool register_job(struct compile_cancel *cancel, struct compile_job *job) {
        if (cancel == NULL)
                return true;
        pthread_mutex_lock(&cancel->lock);
        bool is_cancelled = cancel->is_cancelled;
        if (!is_cancelled)
                cancel->job = job;
        pthread_mutex_unlock(&cancel->lock);
        return !is_cancelled;
}

static void unregister_job(struct compile_cancel *cancel) {
        if (cancel == NULL)
                return;
        pthread_mutex_lock(&cancel->lock);
        cancel->job = NULL;
        pthread_mutex_unlock(&cancel->lock);
}

int engine_compile(struct plugin_engine *engine, uint8_t *bytes, size_t size,
                   struct compile_cancel *cancel, const char *path,
                   wasmtime_component_t **ret_component, struct ph_error *error) {
#ifndef WASMTIME_FEATURE_COMPILER
        free(bytes);
        (void)size;
        char artifact[PATH_MAX];
        if (plugin_precompiled_path(path, artifact, sizeof(artifact)) < 0)
                snprintf(artifact, sizeof(artifact), "NAME.cwasm");
        return ph_error_set(error, -ENOEXEC,
                            "%s: not precompiled, and this pyhost is runtime-only (it cannot "
                            "compile): on a build machine run `pyhost compile %s --target %s -o "
                            "%s` and copy the result here",
                            path, path, HOST_TRIPLE, artifact);
#endif
        struct compile_job *job = calloc(1, sizeof(*job));
        if (job == NULL) {
                free(bytes);
                return ph_error_set(error, -ENOMEM, "%s: out of memory", path);
        }
        pthread_mutex_init(&job->lock, NULL);
        pthread_cond_init(&job->done, NULL);
        job->bytes = bytes;
        job->size = size;
        if (!register_job(cancel, job)) {
                free(job->bytes);
                job->bytes = NULL;
                job_free(job);
                return ph_error_set(error, -ECANCELED,
                                    "%s: compile abandoned (stopping) before it started", path);
        }
        job->engine = wasmtime_engine_clone(engine->engine);
        if (start_worker(job) < 0) {
                /* No thread to spare: compile here, without a way out. */
                run_compile(job);
        }
        pthread_mutex_lock(&job->lock);
        while (!job->is_done && !job->is_cancel_requested)
                pthread_cond_wait(&job->done, &job->lock);
        pthread_mutex_unlock(&job->lock);
        /* Out of `cancel` before deciding: a trigger no longer reaches the
         * job, so it stays valid until one side frees it. */
        unregister_job(cancel);
        pthread_mutex_lock(&job->lock);
        bool is_done = job->is_done;
        if (!is_done)
                job->is_abandoned = true;
        pthread_mutex_unlock(&job->lock);
        if (!is_done)
                return ph_error_set(error, -ECANCELED,
                                    "%s: compile abandoned (stopping); it ends on its own thread",
                                    path);
        int result = 0;
        if (job->wasm_error != NULL) {
                result = wasm_error_take(job->wasm_error, -EINVAL, error, path);
                job->wasm_error = NULL;
        } else {
                *ret_component = job->component;
                job->component = NULL;
        }
        job_free(job);
        return result;
}
