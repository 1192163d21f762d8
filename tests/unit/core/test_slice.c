/**
 * @file test_slice.c  Slice helpers: equality, trimming, search, decimal decoding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest.h"

/* Inputs come from sv_test_heap: exact-size heap blocks, so ASan reports any read past the
 * slice (slices are never NUL-terminated). */

static void slice_eq_exact(void **state)
{
    assert_true(sv_slice_eq(sv_test_heap("Via"), sv_test_heap("Via")));
    assert_false(sv_slice_eq(sv_test_heap("Via"), sv_test_heap("via")));
    assert_false(sv_slice_eq(sv_test_heap("Via"), sv_test_heap("Vi")));
    assert_false(sv_slice_eq(sv_test_heap("Vi"), sv_test_heap("Via")));
}

static void slice_eq_empty(void **state)
{
    /* two empty slices are equal whatever they point at, NULL included */
    assert_true(sv_slice_eq(sv_slice_make(NULL, 0), SV_LIT("")));
    assert_true(sv_slice_eq(sv_slice_make(NULL, 0), sv_slice_make(NULL, 0)));
    assert_false(sv_slice_eq(sv_slice_make(NULL, 0), SV_LIT("a")));
}

/* RFC 3261 §7.3.1: header names and tokens compare case-insensitively. */
static void slice_caseeq_ascii(void **state)
{
    assert_true(sv_slice_caseeq(sv_test_heap("Content-Length"), sv_test_heap("cONTENT-lENGTH")));
    assert_true(sv_slice_caseeq(sv_test_heap(""), sv_test_heap("")));
    assert_false(sv_slice_caseeq(sv_test_heap("Via"), sv_test_heap("Vias")));
    assert_false(sv_slice_caseeq(sv_test_heap("a"), sv_test_heap("b")));
    /* only letters fold: '@' (0x40) and '`' (0x60) differ by the case bit but are not letters */
    assert_false(sv_slice_caseeq(sv_test_heap("@"), sv_test_heap("`")));
    assert_false(sv_slice_caseeq(sv_test_heap("["), sv_test_heap("{")));
}

static void slice_caseeq_cstr(void **state)
{
    assert_true(sv_slice_caseeq_cstr(sv_test_heap("sip/2.0"), "SIP/2.0"));
    assert_false(sv_slice_caseeq_cstr(sv_test_heap("SIP/2.0"), "SIP/2.1"));
    assert_true(sv_slice_caseeq_cstr(sv_slice_make(NULL, 0), ""));
}

static void slice_trim_both_ends(void **state)
{
    struct sv_slice s = sv_test_heap(" \t\r\n value with  spaces \r\n\t ");
    assert_slice_equal(sv_slice_trim(s), "value with  spaces");
    assert_slice_equal(sv_slice_trim(sv_test_heap("x")), "x");
    assert_slice_equal(sv_slice_trim(sv_test_heap("plain")), "plain");
}

static void slice_trim_all_white_is_empty(void **state)
{
    struct sv_slice s = sv_test_heap(" \r\n\t");
    struct sv_slice t = sv_slice_trim(s);
    assert_int_equal(t.l, 0);
    assert_true(t.p >= s.p && t.p <= s.p + s.l);
    t = sv_slice_trim(sv_slice_make(NULL, 0));
    assert_int_equal(t.l, 0);
}

static void slice_chr_found_and_absent(void **state)
{
    struct sv_slice s = sv_test_heap("user@host@x");
    assert_ptr_equal(sv_slice_chr(s, '@'), s.p + 4);
    assert_null(sv_slice_chr(s, ':'));
    /* the byte right after the slice is not part of it */
    assert_null(sv_slice_chr(sv_slice_make(s.p, 4), '@'));
    assert_null(sv_slice_chr(sv_slice_make(NULL, 0), '@'));
}

static void slice_u32_values(void **state)
{
    uint32_t v = 7;
    assert_int_equal(sv_slice_u32(sv_test_heap("0"), 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sv_slice_u32(sv_test_heap("00042"), 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(sv_slice_u32(sv_test_heap("4294967295"), UINT32_MAX, &v), 0);
    assert_int_equal(v, UINT32_MAX);
}

static void slice_u32_max_is_inclusive(void **state)
{
    uint32_t v = 7;
    assert_int_equal(sv_slice_u32(sv_test_heap("255"), 255, &v), 0);
    assert_int_equal(v, 255);
    v = 7;
    assert_int_equal(sv_slice_u32(sv_test_heap("256"), 255, &v), ERANGE);
    assert_int_equal(v, 7); /* untouched on error */
}

static void slice_u32_overflow(void **state)
{
    uint32_t v = 7;
    assert_int_equal(sv_slice_u32(sv_test_heap("4294967296"), UINT32_MAX, &v), ERANGE);
    /* a long run of digits must not wrap around into range */
    assert_int_equal(sv_slice_u32(sv_test_heap("18446744073709551616"), UINT32_MAX, &v), ERANGE);
    assert_int_equal(sv_slice_u32(sv_test_heap("99999999999999999999999999999"), UINT32_MAX, &v),
                     ERANGE);
    assert_int_equal(v, 7);
}

static void slice_u32_empty(void **state)
{
    uint32_t v = 7;
    assert_int_equal(sv_slice_u32(sv_test_heap(""), 10, &v), EINVAL);
    assert_int_equal(sv_slice_u32(sv_slice_make(NULL, 0), 10, &v), EINVAL);
    assert_int_equal(v, 7);
}

/* RFC 4475 ncl: a sign is not a digit. */
static void slice_u32_non_digit(void **state)
{
    uint32_t v = 7;
    assert_int_equal(sv_slice_u32(sv_test_heap("-1"), 10, &v), EINVAL);
    assert_int_equal(sv_slice_u32(sv_test_heap("+1"), 10, &v), EINVAL);
    assert_int_equal(sv_slice_u32(sv_test_heap("1 "), 10, &v), EINVAL);
    assert_int_equal(sv_slice_u32(sv_test_heap(" 1"), 10, &v), EINVAL);
    assert_int_equal(sv_slice_u32(sv_test_heap("1a"), 10, &v), EINVAL);
    assert_int_equal(sv_slice_u32(sv_test_heap("0x1"), 10, &v), EINVAL);
    assert_int_equal(v, 7);
}

/* The formatters agree with printf on edges and on a sweep of values. */
static void fmt_numbers_match_printf(void **state)
{
    static const uint32_t u[] = {0, 1, 9, 10, 99, 100, 4095, 65535, 999999999, 1000000000,
                                 4294967295u};
    static const uint64_t h[] = {0, 1, 0xabcdefull, 0x8000000000000000ull, UINT64_MAX};
    char buf[32], want[32];
    size_t n;

    (void)state;
    for (size_t i = 0; i < SV_ARRAY_SIZE(u); i++) {
        n = sv_fmt_u32(buf, u[i]);
        snprintf(want, sizeof(want), "%u", (unsigned)u[i]);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(buf, want, n);
        n = sv_fmt_hex32(buf, u[i]);
        snprintf(want, sizeof(want), "%x", (unsigned)u[i]);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(buf, want, n);
    }
    for (uint32_t v = 0; v < 200000; v += 7) {
        n = sv_fmt_u32(buf, v * 2654435761u);
        snprintf(want, sizeof(want), "%u", (unsigned)(v * 2654435761u));
        assert_int_equal(n, strlen(want));
        assert_memory_equal(buf, want, n);
    }
    for (size_t i = 0; i < SV_ARRAY_SIZE(h); i++) {
        assert_int_equal(sv_fmt_hex64(buf, h[i]), 16);
        snprintf(want, sizeof(want), "%016llx", (unsigned long long)h[i]);
        assert_memory_equal(buf, want, 16);
    }
}

/* A copy is always NUL-terminated, cut to the room there is, and an empty slice is "". */
static void slice_copy_cut_fits_and_cuts(void **state)
{
    char buf[6];

    (void)state;
    assert_int_equal(sv_slice_copy_cut(buf, sizeof(buf), sv_test_heap("abc")), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(sv_slice_copy_cut(buf, sizeof(buf), sv_test_heap("abcdefgh")), 5);
    assert_string_equal(buf, "abcde");
    assert_int_equal(sv_slice_copy_cut(buf, sizeof(buf), sv_slice_make(NULL, 0)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(sv_slice_copy_cut(buf, 1, sv_test_heap("x")), 0);
    assert_string_equal(buf, "");
}

static void slice_copy_fit_whole_or_nothing(void **state)
{
    char buf[4] = "xyz";

    (void)state;
    assert_true(sv_slice_copy_fit(buf, sizeof(buf), sv_test_heap("abc")));
    assert_string_equal(buf, "abc");
    assert_false(sv_slice_copy_fit(buf, sizeof(buf), sv_test_heap("abcd")));
    assert_string_equal(buf, "abc"); /* untouched */
    assert_true(sv_slice_copy_fit(buf, sizeof(buf), sv_slice_make(NULL, 0)));
    assert_string_equal(buf, "");
    assert_false(sv_slice_copy_fit(buf, 0, sv_slice_make(NULL, 0)));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(slice_copy_cut_fits_and_cuts),
    cmocka_unit_test(slice_copy_fit_whole_or_nothing),
    cmocka_unit_test(fmt_numbers_match_printf),
    cmocka_unit_test(slice_eq_exact),
    cmocka_unit_test(slice_eq_empty),
    cmocka_unit_test(slice_caseeq_ascii),
    cmocka_unit_test(slice_caseeq_cstr),
    cmocka_unit_test(slice_trim_both_ends),
    cmocka_unit_test(slice_trim_all_white_is_empty),
    cmocka_unit_test(slice_chr_found_and_absent),
    cmocka_unit_test(slice_u32_values),
    cmocka_unit_test(slice_u32_max_is_inclusive),
    cmocka_unit_test(slice_u32_overflow),
    cmocka_unit_test(slice_u32_empty),
    cmocka_unit_test(slice_u32_non_digit),
};

SV_TEST_MAIN(tests)
