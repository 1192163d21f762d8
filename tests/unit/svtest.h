/**
 * @file svtest.h  What every unit test file includes.
 *
 * SV_TEST_MAIN(tests) gives the file a main that runs one case when called with its name
 * (that is how ctest runs them, one process per case) or all of them without arguments.
 *
 * The helpers shared by the test files are static inline functions here rather than a .c of
 * their own, so that a test file still compiles and links on its own against the libraries.
 * Each test file is its own program and so has its own copy of their static state.
 */
#ifndef SVTEST_H
#define SVTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sipveil/core.h>

/** Assert that a slice equals a C string, printing both on failure. */
#define assert_slice_equal(sl, str)                                                                \
    do {                                                                                           \
        struct sv_slice sv__s = (sl);                                                              \
        const char *sv__e = (str);                                                                 \
        if (!sv__s.p || sv__s.l != strlen(sv__e) || memcmp(sv__s.p, sv__e, sv__s.l) != 0) {        \
            print_error("slice \"%.*s\" != \"%s\"\n", sv__s.p ? (int)sv__s.l : 6,                  \
                        sv__s.p ? sv__s.p : "(null)", sv__e);                                      \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define assert_slice_unset(sl) assert_null((sl).p)

/**
 * Assert that the @p n bytes at @p got are the C string @p want, printing both in full on
 * failure: for whole messages, where reading the two beats knowing where they part.
 * @param got the bytes written
 * @param n how many
 * @param want what they should be
 */
static inline void sv_test_expect_bytes(const char *got, size_t n, const char *want)
{
    if (n != strlen(want) || memcmp(got, want, n) != 0)
        print_error("got:\n%.*s\nwanted:\n%s\n", (int)n, got, want);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(got, want, n);
}

/** Assert that a slice is set but empty: it still points into the input. */
#define assert_slice_empty(sl)                                                                     \
    do {                                                                                           \
        assert_non_null((sl).p);                                                                   \
        assert_int_equal((sl).l, 0);                                                               \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Inputs in exact-size heap blocks                                                           */

/** How many of the blocks sv_test_heap_n hands out stay alive at a time. */
#define SV_TEST_HEAP_KEEP 16

/**
 * Copy @p l bytes of @p s into a heap block of exactly that size (one byte when @p l is 0), so
 * that ASan reports any read past the end of the slice: slices are never NUL-terminated. The
 * block stays alive for the next SV_TEST_HEAP_KEEP - 1 calls, long enough for the assertions
 * on what was decoded from it; then it is freed.
 * @param s the bytes to copy
 * @param l how many
 * @return a slice over the copy
 */
static inline struct sv_slice sv_test_heap_n(const char *s, size_t l)
{
    static char *ring[SV_TEST_HEAP_KEEP];
    static unsigned next;
    char *p = malloc(l ? l : 1);
    unsigned i = next++ % SV_TEST_HEAP_KEEP;

    assert_non_null(p);
    memcpy(p, s, l);
    free(ring[i]);
    ring[i] = p;
    return sv_slice_make(p, l);
}

/**
 * sv_test_heap_n over a C string, without its NUL.
 * @param s the string to copy
 * @return a slice over the copy
 */
static inline struct sv_slice sv_test_heap(const char *s)
{
    return sv_test_heap_n(s, strlen(s));
}

/** What sv_test_every_prefix calls: @p whole says the prefix is all of the input. */
typedef void sv_test_prefix_fn(struct sv_slice prefix, bool whole, void *ctx);

/**
 * Call @p check on every prefix of @p s, from the empty one to all of it, each in a heap block
 * of exactly its length (one byte for the empty one) that is freed after the call, so that
 * ASan reports any read past the end of the slice.
 * @param s the whole input, a C string
 * @param check does the decoding and asserts on the result
 * @param ctx passed to @p check
 */
static inline void sv_test_every_prefix(const char *s, sv_test_prefix_fn *check, void *ctx)
{
    size_t len = strlen(s);

    for (size_t l = 0; l <= len; l++) {
        char *buf = malloc(l ? l : 1);

        assert_non_null(buf);
        memcpy(buf, s, l);
        check(sv_slice_make(buf, l), l == len, ctx);
        free(buf);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* An arena per case                                                                          */

/** The arena of the running case, opened and closed by the fixtures below. */
static inline struct sv_arena *sv_test_arena(void)
{
    static struct sv_arena arena;

    return &arena;
}

/** cmocka setup: open sv_test_arena() with no block of its own (everything on the heap). */
static inline int sv_test_arena_setup(void **state)
{
    sv_arena_init(sv_test_arena(), NULL, 0);
    return 0;
}

/** cmocka teardown: close sv_test_arena(), freeing whatever the case allocated from it. */
static inline int sv_test_arena_teardown(void **state)
{
    sv_arena_close(sv_test_arena());
    return 0;
}

#define SV_TEST_MAIN(tests)                                                                        \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        if (argc > 1)                                                                              \
            cmocka_set_test_filter(argv[1]);                                                       \
        return cmocka_run_group_tests(tests, NULL, NULL);                                          \
    }

#endif
