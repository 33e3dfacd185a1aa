/* pyhost - runs Python plugins, sandboxed as WebAssembly components, on a
 * device. This file only dispatches to the subcommands of src/cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/escape.h"

static void usage(FILE *out) {
        fprintf(out, "Usage: pyhost COMMAND [OPTIONS]\n"
                     "\n"
                     "Commands:\n"
                     "  run     run the host: poll the configured plugins\n"
                     "  call    instantiate one plugin and poll it N times\n"
                     "  check   say whether a component fits the sensor-plugin world\n"
                     "  check-config  check a config file without starting anything\n"
                     "  compile compile a plugin ahead of time (for this or another CPU)\n"
                     "  history print the recorded readings\n"
                     "  new     make a plugin directory that passes its own tests\n"
                     "\n"
                     "`pyhost COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv) {
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        const char *command = argv[1];
        if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
            strcmp(command, "help") == 0) {
                usage(stdout);
                return 0;
        }
        /* Each command parses its own options from argv[1] on. */
        if (strcmp(command, "run") == 0)
                return cmd_run(argc - 1, argv + 1);
        if (strcmp(command, "call") == 0)
                return cmd_call(argc - 1, argv + 1);
        if (strcmp(command, "check") == 0)
                return cmd_check(argc - 1, argv + 1);
        if (strcmp(command, "check-config") == 0)
                return cmd_check_config(argc - 1, argv + 1);
        if (strcmp(command, "compile") == 0)
                return cmd_compile(argc - 1, argv + 1);
        if (strcmp(command, "history") == 0)
                return cmd_history(argc - 1, argv + 1);
        if (strcmp(command, "new") == 0)
                return cmd_new(argc - 1, argv + 1);
        escape_print_line(stderr, "pyhost: unknown command '%s'", command);
        fputc('\n', stderr);
        usage(stderr);
        return 2;
}
