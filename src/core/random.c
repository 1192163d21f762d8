/**
 * @file random.c  Random bytes from the kernel.
 */
#include <errno.h>
#include <sys/random.h>
#include <sipveil/core.h>

int sv_random(void *buf, size_t n)
{
    char *p = buf;

    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}
