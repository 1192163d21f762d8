/**
 * @file svtest_sip.h  Test helpers of the SIP layer, on top of svtest.h: parsing a whole
 * message for the tests of what comes after parsing (checks, edits, builders).
 */
#ifndef SVTEST_SIP_H
#define SVTEST_SIP_H

#include "svtest.h"
#include <sipveil/sip.h>

/**
 * Parse @p l bytes of @p s as one datagram into sv_test_arena() (the case must use the
 * sv_test_arena_setup and sv_test_arena_teardown fixtures), from an exact-size heap copy made
 * by sv_test_heap_n. Fails the case, printing the reason and the input, unless it parses.
 * @param s the message
 * @param l its length
 * @return the message
 */
static inline const struct sip_msg *sv_test_parse_n(const char *s, size_t l)
{
    struct sv_slice in = sv_test_heap_n(s, l);
    struct sip_msg *m = NULL;
    struct sip_perr err = {0};
    int e = sip_msg_parse(&m, sv_test_arena(), in.p, in.l, SIP_DGRAM, NULL, &err);

    if (e)
        print_error("parse: %d (%s) of:\n%.*s\n", e, err.reason ? err.reason : "-", (int)l, s);
    assert_int_equal(e, 0);
    return m;
}

/**
 * sv_test_parse_n over a C string, without its NUL.
 * @param s the message
 * @return the message
 */
static inline const struct sip_msg *sv_test_parse(const char *s)
{
    return sv_test_parse_n(s, strlen(s));
}

#endif
