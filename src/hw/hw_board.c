/* hw_board.c - picks the board's backend from [board] backend: the one
 * place that knows every backend, so the backends and hw.c know none. */
#include <errno.h>
#include <string.h>

#include "hw/hw.h"
#include "hw/hw_linux.h"
#include "hw/hw_sim.h"

struct hw_board *hw_board_new(const struct board_config *config, struct ph_error *error) {
        if (strcmp(config->backend, "sim") == 0)
                return hw_sim_new(&config->sim, error);
        if (strcmp(config->backend, "linux") == 0)
                return hw_linux_new(&config->linux_board, NULL, error);
        ph_error_set(error, -EINVAL, "[board] backend: unknown backend '%s'", config->backend);
        return NULL;
}
