/**
 * @file test_random.c  sv_random: small requests from a per-thread pool, large from the kernel,
 * and never the same bytes twice (nonces and tags depend on it).
 */
#include <stdint.h>
#include <string.h>

#include "svtest.h"

#include <sipveil/core.h>

/* 4,000 draws of 16 octets cross the pool's refills many times; none repeats another, and
 * none is all zero (the wiped part of the pool handed out). */
static void small_draws_never_repeat(void **state)
{
    enum { N = 4000 };
    static uint8_t got[N][16];
    static const uint8_t zero[16];

    (void)state;
    for (int i = 0; i < N; i++) {
        assert_int_equal(sv_random(got[i], sizeof(got[i])), 0);
        assert_memory_not_equal(got[i], zero, sizeof(zero));
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_memory_not_equal(got[i], got[j], sizeof(got[i]));
}

/* Odd sizes, the largest pooled size and a size past it, back to back. */
static void sizes_around_the_pool(void **state)
{
    static const size_t sizes[] = {1, 7, 64, 65, 200, 1000, 3, 64, 64, 64, 64, 64};
    uint8_t a[1000], b[1000];

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        memset(a, 0, sizeof(a));
        memset(b, 0, sizeof(b));
        assert_int_equal(sv_random(a, n), 0);
        assert_int_equal(sv_random(b, n), 0);
        if (n >= 7)
            assert_memory_not_equal(a, b, n);
        if (n < sizeof(a))
            assert_int_equal(a[n], 0); /* nothing written past the request */
    }
    assert_int_equal(sv_random(a, 0), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(small_draws_never_repeat),
    cmocka_unit_test(sizes_around_the_pool),
};

SV_TEST_MAIN(tests)
