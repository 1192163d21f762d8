/**
 * @file random.c  Random bytes from the kernel.
 *
 * Small requests (nonces, tags, ids: a registration asks twice) are served from a per-thread
 * pool that one getrandom call refills, as arc4random does, rather than one system call each.
 * The bytes handed out are wiped from the pool at once, so a later read of the pool (a core
 * dump, a bug) cannot replay what an earlier caller got. Large requests go to the kernel.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sipveil/core.h>

#define POOL 256      /* octets one refill draws */
#define POOLED_MAX 64 /* larger requests bypass the pool */

static _Thread_local unsigned char pool[POOL];
static _Thread_local size_t avail; /* unused octets at the end of pool */

/* getrandom until @p n octets are in @p buf. */
static int from_kernel(void *buf, size_t n)
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

int sv_random(void *buf, size_t n)
{
    if (n > POOLED_MAX)
        return from_kernel(buf, n);
    if (avail < n) {
        int err = from_kernel(pool, POOL);
        if (err)
            return err;
        avail = POOL;
    }
    unsigned char *src = pool + POOL - avail;
    memcpy(buf, src, n);
    explicit_bzero(src, n);
    avail -= n;
    return 0;
}
