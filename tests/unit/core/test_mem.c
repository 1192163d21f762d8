/**
 * @file test_mem.c  The fault injector, refcounted objects and the per-message arena.
 *
 * The injector is process-wide state: every case that turns it on turns it off again before
 * it asserts anything, so a failed assertion cannot leave it armed for the next case (each
 * case also runs in its own process under ctest). Leaks are LeakSanitizer's to find: an
 * ASan build fails a case that leaves heap memory behind.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svtest.h"

#define ALIGNED16(p) ((((uintptr_t)(p)) & 15u) == 0)

/* ---- the fault injector ---- */

static void mem_count_counts_successes(void **state)
{
    unsigned long n0 = sv_mem_count();
    void *a = sv_malloc(10), *b = sv_calloc(2, 8);

    assert_non_null(a);
    assert_non_null(b);
    a = sv_realloc(a, 100);
    assert_non_null(a);
    assert_int_equal(sv_mem_count(), n0 + 3);
    sv_free(a);
    sv_free(b);
    sv_free(NULL);
}

static void mem_fail_after_zero_fails_next(void **state)
{
    unsigned long n0 = sv_mem_count();

    sv_mem_fail_after(0);
    void *p = sv_malloc(8);
    sv_mem_fail_after(-1);
    assert_null(p);
    assert_int_equal(sv_mem_count(), n0); /* a failed call is not counted */
}

static void mem_fail_after_n_successes(void **state)
{
    void *p[4];

    sv_mem_fail_after(3);
    p[0] = sv_malloc(8);
    p[1] = sv_calloc(1, 8);
    p[2] = sv_malloc(8);
    p[3] = sv_malloc(8);
    sv_mem_fail_after(-1);
    assert_non_null(p[0]);
    assert_non_null(p[1]);
    assert_non_null(p[2]);
    assert_null(p[3]);
    for (int i = 0; i < 3; i++)
        sv_free(p[i]);
}

/* The injector stays armed after it fired: a cleanup path that allocates fails as well,
 * until the test turns it off. */
static void mem_fail_is_sticky_until_off(void **state)
{
    void *a, *b, *c;

    sv_mem_fail_after(0);
    a = sv_malloc(8);
    b = sv_calloc(1, 8);
    sv_mem_fail_after(-1);
    c = sv_malloc(8);
    assert_null(a);
    assert_null(b);
    assert_non_null(c);
    sv_free(c);
}

static void mem_fail_off_allows_all(void **state)
{
    sv_mem_fail_after(-1);
    for (int i = 0; i < 100; i++) {
        void *p = sv_malloc(16);
        assert_non_null(p);
        sv_free(p);
    }
}

/* A failed realloc leaves the old block alone (and LeakSanitizer sees it freed). */
static void mem_realloc_failure_keeps_block(void **state)
{
    char *p = sv_malloc(4), *q;

    assert_non_null(p);
    memcpy(p, "abcd", 4);
    sv_mem_fail_after(0);
    q = sv_realloc(p, 4096);
    sv_mem_fail_after(-1);
    assert_null(q);
    assert_memory_equal(p, "abcd", 4);
    sv_free(p);
}

static void mem_calloc_zeroes(void **state)
{
    unsigned char *p = sv_calloc(64, 1);

    assert_non_null(p);
    for (int i = 0; i < 64; i++)
        assert_int_equal(p[i], 0);
    sv_free(p);
}

/* Small blocks come from malloc (the thread's cache): a block just freed dirty comes back
 * zeroed all the same. Large ones, and a count times size that would wrap, as calloc. */
static void mem_calloc_zeroes_reused_and_large(void **state)
{
    unsigned char *p = sv_malloc(200), *q;
    size_t big = 256u * 1024u;

    assert_non_null(p);
    memset(p, 0xa5, 200);
    sv_free(p);
    q = sv_calloc(25, 8);
    assert_non_null(q);
    for (int i = 0; i < 200; i++)
        assert_int_equal(q[i], 0);
    sv_free(q);
    q = sv_calloc(big, 1);
    assert_non_null(q);
    for (size_t i = 0; i < big; i += 4096)
        assert_int_equal(q[i], 0);
    sv_free(q);
    assert_null(sv_calloc(SIZE_MAX / 2 + 1, 2));
    assert_null(sv_calloc(2, SIZE_MAX / 2 + 1));
}

/* ---- refcounted objects ---- */

static int dtor_calls;
static void *dtor_last;

static void count_dtor(void *obj)
{
    dtor_calls++;
    dtor_last = obj;
}

static void obj_zalloc_is_zeroed_with_one_ref(void **state)
{
    unsigned char *o = sv_zalloc(40, NULL);

    assert_non_null(o);
    assert_int_equal(sv_nrefs(o), 1);
    for (int i = 0; i < 40; i++)
        assert_int_equal(o[i], 0);
    assert_true(((uintptr_t)o % alignof(max_align_t)) == 0);
    assert_null(sv_deref(o));
}

static void obj_ref_deref_runs_dtor_once_at_zero(void **state)
{
    void *o;

    dtor_calls = 0;
    dtor_last = NULL;
    o = sv_zalloc(16, count_dtor);
    assert_non_null(o);
    assert_ptr_equal(sv_ref(o), o);
    assert_ptr_equal(sv_ref(o), o);
    assert_int_equal(sv_nrefs(o), 3);
    assert_null(sv_deref(o));
    assert_null(sv_deref(o));
    assert_int_equal(dtor_calls, 0);
    assert_int_equal(sv_nrefs(o), 1);
    assert_null(sv_deref(o));
    assert_int_equal(dtor_calls, 1);
    assert_ptr_equal(dtor_last, o); /* the destructor gets the object, not the header */
}

static void obj_null_is_harmless(void **state)
{
    assert_null(sv_ref(NULL));
    assert_null(sv_deref(NULL));
    assert_int_equal(sv_nrefs(NULL), 0);
}

static void obj_zalloc_enomem(void **state)
{
    void *o;

    dtor_calls = 0;
    sv_mem_fail_after(0);
    o = sv_zalloc(16, count_dtor);
    sv_mem_fail_after(-1);
    assert_null(o);
    assert_int_equal(dtor_calls, 0);
}

/* A size that overflows once the hidden header is added must fail, not hand out a tiny block
 * the caller then believes is huge. */
static void obj_zalloc_size_overflow(void **state)
{
    void *o = sv_zalloc(SIZE_MAX - 4, NULL);
    if (o)
        sv_deref(o);
    assert_null(o);
}

/* ---- the arena ---- */

static void arena_alloc_from_caller_block(void **state)
{
    alignas(16) char buf[256];
    struct sv_arena a;
    unsigned long n0 = sv_mem_count();

    sv_arena_init(&a, buf, sizeof(buf));
    char *p = sv_arena_alloc(&a, 10);
    char *q = sv_arena_alloc(&a, 10);
    assert_ptr_equal(p, buf);
    assert_true(q >= buf + 10 && q + 10 <= buf + sizeof(buf));
    assert_int_equal(sv_mem_count(), n0); /* no heap */
    sv_arena_close(&a);
}

static void arena_alignment_16(void **state)
{
    alignas(16) char buf[512];
    struct sv_arena a;

    /* start the block off alignment on purpose */
    sv_arena_init(&a, buf + 3, sizeof(buf) - 3);
    for (size_t sz = 1; sz < 20; sz++) {
        char *p = sv_arena_alloc(&a, sz);
        assert_non_null(p);
        assert_true(ALIGNED16(p));
        assert_true(p >= buf + 3);
        memset(p, 0xab, sz);
    }
    sv_arena_close(&a);
}

static void arena_alignment_in_overflow_chunks(void **state)
{
    struct sv_arena a;

    sv_arena_init(&a, NULL, 0);
    for (size_t sz = 1; sz < 3000; sz += 97) {
        char *p = sv_arena_alloc(&a, sz);
        assert_non_null(p);
        assert_true(ALIGNED16(p));
        memset(p, 0xcd, sz);
    }
    sv_arena_close(&a);
}

/* Allocations that do not fit the caller's block go to heap chunks, and every byte of each
 * handed-out block is writable (ASan checks the memsets). */
static void arena_overflow_goes_to_heap(void **state)
{
    alignas(16) char buf[64];
    struct sv_arena a;
    unsigned long n0 = sv_mem_count();

    sv_arena_init(&a, buf, sizeof(buf));
    char *p = sv_arena_alloc(&a, 48);
    assert_ptr_equal(p, buf);
    char *q = sv_arena_alloc(&a, 48); /* 16 left: overflow */
    assert_non_null(q);
    assert_true(q < buf || q >= buf + sizeof(buf));
    assert_int_equal(sv_mem_count(), n0 + 1);
    memset(q, 1, 48);
    /* the next small one shares that chunk */
    char *r = sv_arena_alloc(&a, 48);
    assert_non_null(r);
    assert_int_equal(sv_mem_count(), n0 + 1);
    memset(r, 2, 48);
    /* a block bigger than the minimum chunk gets its own */
    char *big = sv_arena_alloc(&a, 100000);
    assert_non_null(big);
    memset(big, 3, 100000);
    assert_int_equal(sv_mem_count(), n0 + 2);
    sv_arena_close(&a);
}

static void arena_reset_returns_to_caller_block(void **state)
{
    alignas(16) char buf[128];
    struct sv_arena a;

    sv_arena_init(&a, buf, sizeof(buf));
    assert_non_null(sv_arena_alloc(&a, 100));
    assert_non_null(sv_arena_alloc(&a, 5000));
    assert_non_null(sv_arena_alloc(&a, 70000));
    assert_non_null(a.chunks);
    sv_arena_reset(&a);
    assert_null(a.chunks); /* chunks freed (LeakSanitizer would also see them) */
    assert_int_equal(a.used, 0);
    assert_ptr_equal(sv_arena_alloc(&a, 100), buf);
    sv_arena_close(&a);
}

static void arena_used_counts_bytes(void **state)
{
    alignas(16) char buf[128];
    struct sv_arena a;

    sv_arena_init(&a, buf, sizeof(buf));
    assert_non_null(sv_arena_alloc(&a, 10));
    assert_non_null(sv_arena_alloc(&a, 20));
    assert_non_null(sv_arena_alloc(&a, 200));
    assert_int_equal(a.used, 230);
    sv_arena_close(&a);
}

static void arena_zero_size_gives_distinct_blocks(void **state)
{
    alignas(16) char buf[64];
    struct sv_arena a;

    sv_arena_init(&a, buf, sizeof(buf));
    void *p = sv_arena_alloc(&a, 0), *q = sv_arena_alloc(&a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    sv_arena_close(&a);
}

static void arena_zalloc_zeroes(void **state)
{
    alignas(16) char buf[64];
    struct sv_arena a;

    memset(buf, 0x5a, sizeof(buf));
    sv_arena_init(&a, buf, sizeof(buf));
    unsigned char *p = sv_arena_zalloc(&a, 40);
    assert_non_null(p);
    for (int i = 0; i < 40; i++)
        assert_int_equal(p[i], 0);
    unsigned char *q = sv_arena_zalloc(&a, 300); /* from a chunk */
    assert_non_null(q);
    for (int i = 0; i < 300; i++)
        assert_int_equal(q[i], 0);
    sv_arena_close(&a);
}

static void arena_dup_copies(void **state)
{
    struct sv_arena a;
    char src[] = "Call-ID: abc";

    sv_arena_init(&a, NULL, 0);
    struct sv_slice d = sv_arena_dup(&a, sv_slice_make(src, 12));
    assert_non_null(d.p);
    assert_ptr_not_equal(d.p, src);
    src[0] = 'X';
    assert_slice_equal(d, "Call-ID: abc");
    struct sv_slice e = sv_arena_dup(&a, sv_slice_make(NULL, 0));
    assert_non_null(e.p); /* an empty copy is still a set slice */
    assert_int_equal(e.l, 0);
    sv_arena_close(&a);
}

static void arena_dup_enomem_is_unset(void **state)
{
    struct sv_arena a;

    sv_arena_init(&a, NULL, 0);
    sv_mem_fail_after(0);
    struct sv_slice d = sv_arena_dup(&a, SV_LIT("x"));
    void *p = sv_arena_alloc(&a, 8);
    sv_mem_fail_after(-1);
    assert_null(d.p);
    assert_int_equal(d.l, 0);
    assert_null(p);
    sv_arena_close(&a);
}

/* Sizes near SIZE_MAX must fail cleanly: neither the doubling nor the chunk header may wrap. */
static void arena_huge_sizes_fail(void **state)
{
    struct sv_arena a;
    size_t sizes[] = {SIZE_MAX,         SIZE_MAX - 15,    SIZE_MAX / 2 + 1,
                      SIZE_MAX / 2 - 3, SIZE_MAX / 2 - 7, SIZE_MAX / 2};

    sv_arena_init(&a, NULL, 0);
    for (size_t i = 0; i < SV_ARRAY_SIZE(sizes); i++) {
        void *p = sv_arena_alloc(&a, sizes[i]);
        if (p)
            print_error("sv_arena_alloc(%zu) succeeded\n", sizes[i]);
        assert_null(p);
    }
    sv_arena_close(&a);
}

static void arena_close_then_reuse_on_heap(void **state)
{
    alignas(16) char buf[32];
    struct sv_arena a;

    sv_arena_init(&a, buf, sizeof(buf));
    assert_non_null(sv_arena_alloc(&a, 1000));
    sv_arena_close(&a);
    assert_null(a.first);
    /* a closed arena is an empty one: it works again from the heap */
    char *p = sv_arena_alloc(&a, 8);
    assert_non_null(p);
    assert_true(p < buf || p >= buf + sizeof(buf));
    sv_arena_close(&a);
}

/* The OOM sweep pattern: fail the n-th allocation for n = 0, 1, 2 ... until the work
 * succeeds; every failing step reports ENOMEM and leaks nothing. Here the work is a run of
 * arena allocations that spills over several chunks; test_msg.c sweeps sip_msg_parse. */
static int arena_work(struct sv_arena *a)
{
    for (size_t i = 0; i < 40; i++) {
        if (!sv_arena_alloc(a, 100 + i * 200))
            return ENOMEM;
    }
    return 0;
}

static void arena_oom_sweep(void **state)
{
    long n;
    int err = ENOMEM;

    for (n = 0; n < 1000 && err; n++) {
        struct sv_arena a;
        sv_arena_init(&a, NULL, 0);
        sv_mem_fail_after(n);
        err = arena_work(&a);
        sv_mem_fail_after(-1);
        sv_arena_close(&a);
        if (err)
            assert_int_equal(err, ENOMEM);
    }
    assert_int_equal(err, 0);
    assert_true(n > 1); /* the work did reach the heap */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(mem_count_counts_successes),
    cmocka_unit_test(mem_fail_after_zero_fails_next),
    cmocka_unit_test(mem_fail_after_n_successes),
    cmocka_unit_test(mem_fail_is_sticky_until_off),
    cmocka_unit_test(mem_fail_off_allows_all),
    cmocka_unit_test(mem_realloc_failure_keeps_block),
    cmocka_unit_test(mem_calloc_zeroes),
    cmocka_unit_test(mem_calloc_zeroes_reused_and_large),
    cmocka_unit_test(obj_zalloc_is_zeroed_with_one_ref),
    cmocka_unit_test(obj_ref_deref_runs_dtor_once_at_zero),
    cmocka_unit_test(obj_null_is_harmless),
    cmocka_unit_test(obj_zalloc_enomem),
    cmocka_unit_test(obj_zalloc_size_overflow),
    cmocka_unit_test(arena_alloc_from_caller_block),
    cmocka_unit_test(arena_alignment_16),
    cmocka_unit_test(arena_alignment_in_overflow_chunks),
    cmocka_unit_test(arena_overflow_goes_to_heap),
    cmocka_unit_test(arena_reset_returns_to_caller_block),
    cmocka_unit_test(arena_used_counts_bytes),
    cmocka_unit_test(arena_zero_size_gives_distinct_blocks),
    cmocka_unit_test(arena_zalloc_zeroes),
    cmocka_unit_test(arena_dup_copies),
    cmocka_unit_test(arena_dup_enomem_is_unset),
    cmocka_unit_test(arena_huge_sizes_fail),
    cmocka_unit_test(arena_close_then_reuse_on_heap),
    cmocka_unit_test(arena_oom_sweep),
};

SV_TEST_MAIN(tests)
