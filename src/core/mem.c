/**
 * @file mem.c  Heap allocation with fault injection, refcounted objects, the arena.
 *
 * Every heap allocation of the project goes through sv_malloc so that a test can make the
 * N-th one fail and check that the code under test reports ENOMEM and leaks nothing
 * (the OOM sweep of tests/unit/core/test_mem.c shows the pattern).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sipveil/core.h>

/* Per thread: a test injects faults into its own thread, and workers never share a counter. */
static _Thread_local long fail_after = -1;
static _Thread_local unsigned long nallocs;

void sv_mem_fail_after(long n)
{
    fail_after = n;
}

unsigned long sv_mem_count(void)
{
    return nallocs;
}

static bool inject(void)
{
    if (fail_after < 0)
        return false;
    if (fail_after == 0)
        return true;
    fail_after--;
    return false;
}

void *sv_malloc(size_t sz)
{
    void *p;

    if (inject())
        return NULL;
    p = malloc(sz ? sz : 1);
    if (p)
        nallocs++;
    return p;
}

/* Up to this size sv_calloc is malloc and memset. glibc 2.36's calloc never takes a chunk
 * from the thread's cache (tcache), so every small zeroed block (each transaction, each
 * refcounted object) went through the arena's bins: calloc was 2.5% of sipveil's CPU in
 * bench/register's profile. Above it calloc stays, for the pages mmap gives zeroed. */
#define CALLOC_BY_MALLOC (64u * 1024u)

/* Out of line: gcc turns malloc followed by memset to zero back into calloc. */
static __attribute__((noinline)) void zero(void *p, size_t n)
{
    memset(p, 0, n);
}

void *sv_calloc(size_t n, size_t sz)
{
    void *p;

    if (inject())
        return NULL;
    n = n ? n : 1;
    sz = sz ? sz : 1;
    if (n > SIZE_MAX / sz) /* n * sz would wrap: no such block */
        return NULL;
    if (n * sz <= CALLOC_BY_MALLOC) {
        p = malloc(n * sz);
        if (p)
            zero(p, n * sz);
    } else {
        p = calloc(n, sz);
    }
    if (p)
        nallocs++;
    return p;
}

void *sv_realloc(void *p, size_t sz)
{
    void *q;

    if (inject())
        return NULL;
    q = realloc(p, sz ? sz : 1);
    if (q)
        nallocs++;
    return q;
}

void sv_free(void *p)
{
    free(p);
}

/* ---- refcounted objects ---- */

/* The header sits before the object; max_align_t keeps the object suitably aligned. */
struct sv_obj {
    union {
        struct {
            unsigned nrefs;
            sv_dtor_h *dtor;
        } h;
        max_align_t align;
    } u;
};

void *sv_zalloc(size_t sz, sv_dtor_h *dtor)
{
    struct sv_obj *o;

    if (sz > SIZE_MAX - sizeof(*o)) /* the header would wrap the size around */
        return NULL;
    o = sv_calloc(1, sizeof(*o) + sz);
    if (!o)
        return NULL;
    o->u.h.nrefs = 1;
    o->u.h.dtor = dtor;
    return o + 1;
}

void *sv_ref(void *obj)
{
    if (obj)
        ((struct sv_obj *)obj - 1)->u.h.nrefs++;
    return obj;
}

void *sv_deref(void *obj)
{
    struct sv_obj *o;

    if (!obj)
        return NULL;
    o = (struct sv_obj *)obj - 1;
    assert(o->u.h.nrefs > 0);
    if (--o->u.h.nrefs == 0) {
        if (o->u.h.dtor)
            o->u.h.dtor(obj);
        sv_free(o);
    }
    return NULL;
}

unsigned sv_nrefs(const void *obj)
{
    return obj ? ((const struct sv_obj *)obj - 1)->u.h.nrefs : 0;
}

/* ---- arena ---- */

struct sv_arena_chunk {
    struct sv_arena_chunk *next;
    size_t sz;
    max_align_t data[];
};

#define ARENA_ALIGN 16u
#define ARENA_CHUNK_MIN 4096u

static inline char *align_up(char *p)
{
    uintptr_t u = (uintptr_t)p;
    return (char *)((u + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1));
}

void sv_arena_init(struct sv_arena *a, void *buf, size_t sz)
{
    a->first = buf;
    a->first_sz = buf ? sz : 0;
    a->cur = a->first;
    a->end = a->first ? a->first + a->first_sz : NULL;
    a->chunks = NULL;
    a->used = 0;
}

void *sv_arena_alloc(struct sv_arena *a, size_t sz)
{
    char *p;

    if (sz == 0)
        sz = 1;
    if (a->cur) {
        p = align_up(a->cur);
        if (p <= a->end && (size_t)(a->end - p) >= sz) {
            a->cur = p + sz;
            a->used += sz;
            return p;
        }
    }
    /* Overflow: a chunk at least twice the request, so a run of small allocations after a
     * big one does not make a chunk each. */
    size_t csz = sz * 2 > ARENA_CHUNK_MIN ? sz * 2 : ARENA_CHUNK_MIN;
    if (csz < sz || csz > SIZE_MAX - sizeof(struct sv_arena_chunk)) /* wrapped around */
        return NULL;
    struct sv_arena_chunk *c = sv_malloc(sizeof(*c) + csz);
    if (!c)
        return NULL;
    c->next = a->chunks;
    c->sz = csz;
    a->chunks = c;
    p = (char *)c->data;
    a->cur = p + sz;
    a->end = p + csz;
    a->used += sz;
    return p;
}

void *sv_arena_zalloc(struct sv_arena *a, size_t sz)
{
    void *p = sv_arena_alloc(a, sz);
    if (p)
        memset(p, 0, sz);
    return p;
}

struct sv_slice sv_arena_dup(struct sv_arena *a, struct sv_slice s)
{
    char *p = sv_arena_alloc(a, s.l);
    if (!p)
        return sv_slice_make(NULL, 0);
    if (s.l)
        memcpy(p, s.p, s.l);
    return sv_slice_make(p, s.l);
}

void sv_arena_reset(struct sv_arena *a)
{
    while (a->chunks) {
        struct sv_arena_chunk *c = a->chunks;
        a->chunks = c->next;
        sv_free(c);
    }
    a->cur = a->first;
    a->end = a->first ? a->first + a->first_sz : NULL;
    a->used = 0;
}

void sv_arena_close(struct sv_arena *a)
{
    sv_arena_reset(a);
    a->first = a->cur = a->end = NULL;
    a->first_sz = 0;
}
