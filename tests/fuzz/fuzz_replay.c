/**
 * @file fuzz_replay.c  Runs the fuzz target over files, without libFuzzer.
 *
 * Usage: fuzz_replay <file or directory>...
 *
 * Every regular file (directories are read one level deep, in name order) goes through
 * LLVMFuzzerTestOneInput exactly as the fuzzer would pass it, except that the input ends on a
 * PROT_NONE page: a read past its end faults even in a build without AddressSanitizer. That is
 * how crash regressions (tests/fuzz/regressions/) and the seeds replay in every build.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long nfiles;

/* Copy @p data to end against a guard page, run the target, unmap. */
static int run_guarded(const char *data, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t area = (len + pg - 1) / pg * pg;
    size_t maplen = area + pg;
    char *map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED)
        return errno;
    if (mprotect(map + area, pg, PROT_NONE)) {
        munmap(map, maplen);
        return errno;
    }
    char *p = map + area - len;
    memcpy(p, data, len);
    /* read-only, as libFuzzer's input is const */
    if (area > 0)
        mprotect(map, area, PROT_READ);
    LLVMFuzzerTestOneInput((const uint8_t *)p, len);
    munmap(map, maplen);
    return 0;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f) {
        perror(path);
        return 1;
    }
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *q = realloc(buf, cap);
            if (!q) {
                free(buf);
                fclose(f);
                return 1;
            }
            buf = q;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
    fprintf(stderr, "replay %s (%zu octets)\n", path, len);
    int err = run_guarded(buf, len);
    free(buf);
    if (err) {
        fprintf(stderr, "%s: guard page: %s\n", path, strerror(err));
        return 1;
    }
    nfiles++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d) {
        perror(dir);
        return 1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **q = realloc(names, cap * sizeof(*names));
            if (!q)
                break;
            names = q;
        }
        size_t l = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(l);
        if (!names[n])
            break;
        snprintf(names[n], l, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            rc |= run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_replay <file or directory>...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= run_dir(argv[i]);
        } else {
            rc |= run_file(argv[i]);
        }
    }
    printf("fuzz_replay: %lu inputs, no crash\n", nfiles);
    return rc;
}
