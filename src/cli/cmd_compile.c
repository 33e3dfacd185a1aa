/* pyhost compile: compiles a plugin ahead of time, for this machine or for
 * a device of another CPU, into an artifact the device loads as is. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"
#include "core/escape.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: pyhost compile PLUGIN.wasm [--target TRIPLE] [--sign-key KEY] [-o OUT]\n"
                "\n"
                "Compiles PLUGIN.wasm with the engine settings of every pyhost and writes the\n"
                "artifact to OUT (default: PLUGIN.cwasm beside it, where pyhost looks for it).\n"
                "A pyhost that finds it loads it without compiling, once it has checked that\n"
                "it was made for its CPU, engine settings and Wasmtime version from this very\n"
                ".wasm; a runtime-only pyhost loads nothing else.\n"
                "\n"
                "  --target TRIPLE  the device's CPU: x86_64-unknown-linux-gnu or\n"
                "                   aarch64-unknown-linux-gnu (default: this machine's CPU,\n"
                "                   using the features it has)\n"
                "  --sign-key KEY   sign the artifact with this Ed25519 private key (PEM);\n"
                "                   a host whose config names the public key ([host]\n"
                "                   precompiled_key) loads only artifacts it signed\n"
                "  -o, --output OUT where to write the artifact\n"
                "\n"
                "Exits 0 when written, 1 when it could not compile, 2 on a usage error.\n");
}

int cmd_compile(int argc, char **argv) {
        static const struct option long_options[] = {{"target", required_argument, NULL, 't'},
                                                     {"output", required_argument, NULL, 'o'},
                                                     {"sign-key", required_argument, NULL, 's'},
                                                     {"help", no_argument, NULL, 'h'},
                                                     {NULL, 0, NULL, 0}};
        const char *target = NULL;
        const char *out_path = NULL;
        const char *sign_key = NULL;
        int option;
        while ((option = getopt_long(argc, argv, "t:o:s:h", long_options, NULL)) != -1) {
                switch (option) {
                case 't':
                        target = optarg;
                        break;
                case 'o':
                        out_path = optarg;
                        break;
                case 's':
                        sign_key = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }
        const char *path = argv[optind];
        char default_out[PATH_MAX];
        if (out_path == NULL) {
                if (plugin_precompiled_path(path, default_out, sizeof(default_out)) < 0) {
                        escape_print_line(stderr, "pyhost: %s: path too long", path);
                        return 2;
                }
                out_path = default_out;
        }
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        struct ph_error error = {0};
        if (plugin_compile_artifact(path, target, sign_key, out_path, &error) < 0) {
                escape_print_line(stderr, "pyhost: %s", error.message);
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &end);
        double seconds =
                (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
        escape_print_line(stdout, "%s: compiled for %s in %.1f s: %s", path,
                          target != NULL ? target : "this machine", seconds, out_path);
        return 0;
}
