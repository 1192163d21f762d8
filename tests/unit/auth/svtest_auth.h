/**
 * @file svtest_auth.h  Helpers shared by the auth tests: hex in, hex compare out.
 */
#ifndef SVTEST_AUTH_H
#define SVTEST_AUTH_H

#include <stdio.h>

#include "svtest.h"
#include <sipveil/auth.h>

/**
 * Decode @p hex (even length, lower or upper case) into @p out, which holds exactly its octets.
 * @param hex the hex string
 * @param out the octets
 * @param n   size of @p out; must be strlen(hex) / 2
 */
static inline void sv_test_unhex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/**
 * Assert that the @p n octets at @p got are the hex string @p want, printing both on failure.
 * @param what names the value in the message
 * @param got  the octets computed
 * @param n    how many
 * @param want the expected value, hex
 */
static inline void sv_test_expect_hex(const char *what, const uint8_t *got, size_t n,
                                      const char *want)
{
    char buf[129];

    assert_true(2 * n < sizeof(buf));
    for (size_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", got[i]);
    if (strlen(want) != 2 * n || strcmp(buf, want) != 0) {
        print_error("%s: got %s, want %s\n", what, buf, want);
        fail();
    }
}

/**
 * Standard base64 with padding, written independently of the library's encoder so that the
 * tests can build altered nonces and read AUTS back.
 * @param in  the octets
 * @param n   how many
 * @param out the text and a NUL: 4 * ((n + 2) / 3) + 1 characters
 */
static inline void sv_test_b64(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < n; i += 3, out += 4) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[0] = a[v >> 18 & 63];
        out[1] = a[v >> 12 & 63];
        out[2] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[3] = i + 2 < n ? a[v & 63] : '=';
    }
    *out = '\0';
}

/**
 * Decode base64 whose length is a multiple of four (test input only: no checks beyond that).
 * @param s   the text
 * @param out the octets
 * @return how many octets
 */
static inline size_t sv_test_unb64(const char *s, uint8_t *out)
{
    size_t n = 0, l = strlen(s);

    assert_int_equal(l % 4, 0);
    for (size_t i = 0; i < l; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            const char c = s[i + j];
            unsigned d = c >= 'A' && c <= 'Z'   ? (unsigned)(c - 'A')
                         : c >= 'a' && c <= 'z' ? (unsigned)(c - 'a' + 26)
                         : c >= '0' && c <= '9' ? (unsigned)(c - '0' + 52)
                         : c == '+'             ? 62u
                         : c == '/'             ? 63u
                                                : 0u;
            pad += c == '=';
            v = v << 6 | d;
        }
        out[n++] = (uint8_t)(v >> 16);
        if (pad < 2)
            out[n++] = (uint8_t)(v >> 8);
        if (pad < 1)
            out[n++] = (uint8_t)v;
    }
    return n;
}

#endif
