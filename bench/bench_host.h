/**
 * @file bench_host.h  What every benchmark prints about the machine and the build it ran on.
 */
#ifndef BENCH_HOST_H
#define BENCH_HOST_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(__clang__)
#define BENCH_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define BENCH_COMPILER "gcc " __VERSION__
#else
#define BENCH_COMPILER "unknown compiler"
#endif

/** Print the "machine:", "compiler:" and "build:" lines (CPU model from /proc/cpuinfo). */
static inline void bench_print_host(const char *build_type, const char *cflags)
{
    char line[512], model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");

    if (f) {
        while (fgets(line, sizeof(line), f)) {
            char *c = strchr(line, ':');

            if (strncmp(line, "model name", 10) == 0 && c) {
                c += 1 + strspn(c + 1, " \t");
                c[strcspn(c, "\n")] = '\0';
                snprintf(model, sizeof(model), "%s", c);
                break;
            }
        }
        fclose(f);
    }
    printf("machine:  %s, nproc %ld\n", model, sysconf(_SC_NPROCESSORS_ONLN));
    printf("compiler: %s\n", BENCH_COMPILER);
    printf("build:    %s (%s)\n", build_type, cflags);
}

#endif
