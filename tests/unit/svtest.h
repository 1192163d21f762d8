/**
 * @file svtest.h  What every unit test file includes.
 *
 * SV_TEST_MAIN(tests) gives the file a main that runs one case when called with its name
 * (that is how ctest runs them, one process per case) or all of them without arguments.
 */
#ifndef SVTEST_H
#define SVTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

#define SV_TEST_MAIN(tests)                                                                        \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        if (argc > 1)                                                                              \
            cmocka_set_test_filter(argv[1]);                                                       \
        return cmocka_run_group_tests(tests, NULL, NULL);                                          \
    }

#endif
