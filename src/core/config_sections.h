/* config_sections.h - the key table of each config section, shared by the
 * files of the config module (config.c defines them, config_file.c reads a
 * file with them). Not for other modules: they use core/config.h.
 * Thread-safe: constant data. */
#ifndef PH_CONFIG_SECTIONS_H
#define PH_CONFIG_SECTIONS_H

#include "core/config.h"
#include "core/config_table.h"

/* The most keys a section may have (a table with more fails to build). */
#define CONFIG_MAX_SECTION_KEYS 48

struct config_section {
        const char *name; /* as in the file: "host", "board", ... */
        const struct config_key *keys;
        size_t key_count;
        size_t offset; /* of the section's struct in struct host_config */
};

/* [host], [board], [http], [history], [mqtt]. */
extern const struct config_section config_sections[];
extern const size_t config_section_count;

/* [plugin NAME]: keys set a struct plugin_config (offset unused). */
extern const struct config_section config_plugin_section;

/* Fills `plugin` with the plugin table's defaults. */
void config_plugin_set_defaults(struct plugin_config *plugin);

#endif
