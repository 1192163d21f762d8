/**
 * @file test_ps_source.c  The PS's presence sources (R91): who a client certificate names,
 * which presentities a source may publish for, and its rate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "svtest.h"

#include "ims_int.h"

static struct ims_state *state_with(const struct ims_pres_source *src, size_t n)
{
    static struct ims_state s;

    memset(&s, 0, sizeof(s));
    s.c.sources = src;
    s.c.nsources = n;
    assert_int_equal(ims__ps_sources_init(&s), 0);
    return &s;
}

/* R91: a source is named by one RDN of its verified certificate, exactly: "CN=a" must not
 * let "CN=ab" or "CN=a.evil" in; the attribute name's case does not matter. */
static void subject_matches_a_whole_rdn(void **state)
{
    (void)state;
    assert_true(ims__ps_subject_has("CN=weather.test,O=sipveil test", "CN=weather.test"));
    assert_true(ims__ps_subject_has("CN=weather.test,O=sipveil test", "cn=weather.test"));
    assert_true(ims__ps_subject_has("CN=weather.test, O=sipveil test", "O=sipveil test"));
    assert_true(ims__ps_subject_has("CN=weather.test,O=sipveil test",
                                    "CN=weather.test,O=sipveil test"));
    assert_false(ims__ps_subject_has("CN=weather.testing,O=x", "CN=weather.test"));
    assert_false(ims__ps_subject_has("CN=weather.test.evil,O=x", "CN=weather.test"));
    assert_false(ims__ps_subject_has("CN=Weather.test,O=x", "CN=weather.test"));
    assert_false(ims__ps_subject_has("OU=CN\\=weather.test,O=x", "CN=weather.test"));
    assert_false(ims__ps_subject_has("CN=weather.test", ""));
    assert_false(ims__ps_subject_has("CN=weather.test", "weather.test"));
}

/* R91: listed per presentity or per domain, and nothing else. */
static void source_publishes_only_for_its_presentities(void **state)
{
    const struct ims_pres_source src[] = {
        {"agent", "CN=agent", "sip:alice@ims.example, sip:Bob@IMS.example", "", 0},
        {NULL, "CN=ext", "", "partner.example", 0},
    };
    struct ims_state *s = state_with(src, 2);

    (void)state;
    assert_string_equal(ims__ps_source_name(&s->sources[0]), "agent");
    assert_string_equal(ims__ps_source_name(&s->sources[1]), "CN=ext");
    assert_true(ims__ps_source_may(&s->sources[0], "sip:alice@ims.example"));
    assert_true(ims__ps_source_may(&s->sources[0], "sip:Bob@ims.example"));
    assert_false(ims__ps_source_may(&s->sources[0], "sip:carol@ims.example"));
    assert_false(ims__ps_source_may(&s->sources[0], "sip:alice@ims.example.evil"));
    assert_true(ims__ps_source_may(&s->sources[1], "sip:x@partner.example"));
    assert_true(ims__ps_source_may(&s->sources[1], "sip:x@PARTNER.example"));
    assert_false(ims__ps_source_may(&s->sources[1], "sip:x@ims.example"));
    assert_false(ims__ps_source_may(&s->sources[1], "sip:x@evilpartner.example"));
    assert_false(ims__ps_source_may(&s->sources[1], "tel:+15551000001"));
    ims__ps_sources_free(s);
}

/* A source without a subject would be anyone with a certificate: refused at start. */
static void source_without_subject_is_refused(void **state)
{
    static struct ims_state s;
    const struct ims_pres_source src[] = {{"x", "", "sip:a@b", "", 0}};

    (void)state;
    memset(&s, 0, sizeof(s));
    s.c.sources = src;
    s.c.nsources = 1;
    assert_int_equal(ims__ps_sources_init(&s), EINVAL);
    ims__ps_sources_free(&s);
}

/* R91 rate: twice the rate as a burst, then one per 1/rate second. */
static void source_rate_has_a_burst_of_twice(void **state)
{
    const struct ims_pres_source src[] = {{"a", "CN=a", "sip:a@b", "", 5}};
    struct ims_state *s = state_with(src, 1);
    uint64_t t = 1000000;

    (void)state;
    for (int i = 0; i < 10; i++)
        assert_true(ims__ps_source_rate_ok(&s->sources[0], t));
    assert_false(ims__ps_source_rate_ok(&s->sources[0], t));
    assert_false(ims__ps_source_rate_ok(&s->sources[0], t + 100));
    assert_true(ims__ps_source_rate_ok(&s->sources[0], t + 300));
    ims__ps_sources_free(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subject_matches_a_whole_rdn),
        cmocka_unit_test(source_publishes_only_for_its_presentities),
        cmocka_unit_test(source_without_subject_is_refused),
        cmocka_unit_test(source_rate_has_a_burst_of_twice),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
