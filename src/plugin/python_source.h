/* python_source.h - plugins given as Python source: a `.py` file, or a
 * directory of them with an `app.py`. They run on the shared Python
 * runtime component, which is handed these modules (see loader in
 * wit/runtime.wit). Reads files only; thread-safe. */
#ifndef PH_PYTHON_SOURCE_H
#define PH_PYTHON_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/file.h"
#include "plugin/instance.h"

/* Whether `path` names a Python-source plugin (a .py file or a directory). */
bool python_source_is(const char *path);

/* Reads the plugin's modules: the file as module "app", or each *.py of the
 * directory under its own name. Sets *ret_digest to the SHA-256 of all of
 * them (the version's identity). The caller frees the modules with
 * python_source_free. */
PH_MUST_USE int python_source_read(const char *path, struct source_module **ret_modules,
                                   size_t *ret_count, struct digest *ret_digest,
                                   struct ph_error *error);

/* Accepts NULL. */
void python_source_free(struct source_module *modules, size_t count);

/* The identity of the source: of the file, or folded over the directory's
 * *.py files, so that any change to any of them changes it. */
PH_MUST_USE int python_source_identity(const char *path, struct file_identity *ret_identity,
                                       struct ph_error *error);

#endif
