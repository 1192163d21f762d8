/**
 * @file test_misc_hdr.c  Security-Client/-Server/-Verify (RFC 3329, TS 33.203) and the opaque
 * IMS values with parameters (P-Access-Network-Info, P-Charging-Vector, P-Visited-Network-ID,
 * P-Charging-Function-Addresses; RFC 7315, RFC 7913).
 */
#include <errno.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

static void param_is(struct sv_slice params, const char *name, const char *want)
{
    struct sv_slice v;

    if (!sip_param_get(params, name, &v)) {
        print_error("no parameter %s\n", name);
        fail();
    }
    assert_slice_equal(v, want);
}

/* ---------------------------------------------------------------------------------------- */
/* Security agreement                                                                         */

/* TS 33.203 §7.2: the UE's Security-Client with every ipsec-3gpp parameter */
static void secmech_ipsec_3gpp_all_params(void **state)
{
    struct sv_slice cur =
        sv_test_heap("ipsec-3gpp; alg=hmac-sha-1-96; spi-c=23456789; spi-s=12345678; "
                     "port-c=2468; port-s=1357; ealg=aes-cbc; prot=esp; mod=trans; q=0.1");
    struct sip_secmech sm;

    assert_int_equal(sip_secmech_next(&cur, &sm), 0);
    assert_slice_equal(sm.mech, "ipsec-3gpp");
    assert_slice_equal(sm.params, "; alg=hmac-sha-1-96; spi-c=23456789; spi-s=12345678; "
                                  "port-c=2468; port-s=1357; ealg=aes-cbc; prot=esp; mod=trans; "
                                  "q=0.1");
    param_is(sm.params, "alg", "hmac-sha-1-96");
    param_is(sm.params, "spi-c", "23456789");
    param_is(sm.params, "spi-s", "12345678");
    param_is(sm.params, "port-c", "2468");
    param_is(sm.params, "port-s", "1357");
    param_is(sm.params, "ealg", "aes-cbc");
    param_is(sm.params, "prot", "esp");
    param_is(sm.params, "mod", "trans");
    param_is(sm.params, "q", "0.1");
    assert_int_equal(sip_secmech_next(&cur, &sm), ENOENT);
}

/* RFC 3329 §2.2: a list of mechanisms, with digest's d-alg, d-qop and quoted d-ver */
static void secmech_list(void **state)
{
    struct sv_slice cur =
        sv_test_heap("ipsec-3gpp;q=0.1;alg=hmac-md5-96;spi-c=1;spi-s=2;port-c=3;port-s=4,"
                     " tls;q=0.2 ,digest;d-alg=md5;d-qop=auth;"
                     "d-ver=\"0123456789abcdef0123456789abcdef\"");
    struct sip_secmech sm;

    assert_int_equal(sip_secmech_next(&cur, &sm), 0);
    assert_slice_equal(sm.mech, "ipsec-3gpp");
    assert_slice_equal(sm.raw,
                       "ipsec-3gpp;q=0.1;alg=hmac-md5-96;spi-c=1;spi-s=2;port-c=3;port-s=4");
    assert_int_equal(sip_secmech_next(&cur, &sm), 0);
    assert_slice_equal(sm.mech, "tls");
    assert_slice_equal(sm.raw, "tls;q=0.2");
    param_is(sm.params, "q", "0.2");
    assert_int_equal(sip_secmech_next(&cur, &sm), 0);
    assert_slice_equal(sm.mech, "digest");
    param_is(sm.params, "d-ver", "\"0123456789abcdef0123456789abcdef\"");
    assert_int_equal(sip_secmech_next(&cur, &sm), ENOENT);
}

static void secmech_bare_mechanism(void **state)
{
    struct sv_slice cur = sv_test_heap("tls");
    struct sip_secmech sm;

    assert_int_equal(sip_secmech_next(&cur, &sm), 0);
    assert_slice_equal(sm.mech, "tls");
    assert_non_null(sm.params.p);
    assert_int_equal(sm.params.l, 0);
    assert_int_equal(sip_secmech_next(&cur, &sm), ENOENT);
}

static void secmech_lws_folded(void **state)
{
    struct sv_slice cur =
        sv_test_heap("  ipsec-3gpp ;\r\n alg = hmac-sha-1-96\r\n\t; spi-c=1 ,\r\n tls  ");
    struct sip_secmech sm;

    assert_int_equal(sip_secmech_next(&cur, &sm), 0);
    assert_slice_equal(sm.mech, "ipsec-3gpp");
    param_is(sm.params, "alg", "hmac-sha-1-96");
    param_is(sm.params, "spi-c", "1");
    assert_int_equal(sip_secmech_next(&cur, &sm), 0);
    assert_slice_equal(sm.mech, "tls");
    assert_int_equal(sip_secmech_next(&cur, &sm), ENOENT);
}

static void secmech_malformed(void **state)
{
    static const char *const in[] = {
        ",tls",
        "tls,",
        "tls,,digest",
        "tls, ,digest",
        "tls;",
        "tls;;q=1",
        ";q=1",
        "tls q=1",
        "digest;d-ver=\"unterminated",
        "ipsec-3gpp;spi-c=",
        "ipsec-3gpp;spi-c=1 2",
        "\"tls\"",
        "tls;\"q\"=1",
        "tls/1.3",
    };
    struct sip_secmech sm;
    struct sv_slice cur;
    int err;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        cur = sv_test_heap(in[i]);
        while ((err = sip_secmech_next(&cur, &sm)) == 0)
            ;
        if (err != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
}

static void secmech_empty_input(void **state)
{
    struct sip_secmech sm;
    struct sv_slice cur = sv_test_heap("");

    assert_int_equal(sip_secmech_next(&cur, &sm), ENOENT);
    cur = sv_slice_make(NULL, 0);
    assert_int_equal(sip_secmech_next(&cur, &sm), ENOENT);
}

/* ---------------------------------------------------------------------------------------- */
/* Opaque values with parameters                                                              */

/* RFC 7315 §5.4: a bare quoted extension-access-info may hold a comma and a ';' */
static void pvalue_pani_quoted_comma(void **state)
{
    struct sv_slice cur = sv_test_heap("3GPP-UTRAN-TDD; utran-cell-id-3gpp=23456789ABCDE; "
                                       "\"a quoted, value\"");
    struct sip_pvalue pv;

    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "3GPP-UTRAN-TDD");
    assert_slice_equal(pv.params, "; utran-cell-id-3gpp=23456789ABCDE; \"a quoted, value\"");
    assert_slice_equal(pv.raw, "3GPP-UTRAN-TDD; utran-cell-id-3gpp=23456789ABCDE; "
                               "\"a quoted, value\"");
    assert_int_equal(sip_pvalue_next(&cur, &pv), ENOENT);

    cur =
        sv_test_heap("3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=262011234ABCDEF0;\r\n network-provided");
    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "3GPP-E-UTRAN-FDD");
    assert_int_equal(sip_pvalue_next(&cur, &pv), ENOENT);
}

/* RFC 7315 §5.6: P-Charging-Vector's first element is itself name=value; it stays opaque */
static void pvalue_charging_vector(void **state)
{
    struct sv_slice cur = sv_test_heap("icid-value=1234bc9876e;icid-generated-at=192.0.6.8;"
                                       "orig-ioi=home1.net");
    struct sip_pvalue pv;

    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "icid-value=1234bc9876e");
    assert_slice_equal(pv.params, ";icid-generated-at=192.0.6.8;orig-ioi=home1.net");
    param_is(pv.params, "orig-ioi", "home1.net");
    assert_int_equal(sip_pvalue_next(&cur, &pv), ENOENT);
}

/* RFC 7315 §5.5: P-Charging-Function-Addresses, all of it parameters in form */
static void pvalue_charging_function_addresses(void **state)
{
    struct sv_slice cur =
        sv_test_heap("ccf=192.1.1.1; ccf=192.1.1.2; ecf=192.1.1.3; ecf=[2001:db8::1]");
    struct sip_pvalue pv;

    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "ccf=192.1.1.1");
    assert_slice_equal(pv.params, "; ccf=192.1.1.2; ecf=192.1.1.3; ecf=[2001:db8::1]");
    assert_int_equal(sip_pvalue_next(&cur, &pv), ENOENT);
}

/* RFC 7315 §5.3: P-Visited-Network-ID, a list of tokens and quoted strings */
static void pvalue_visited_network_list(void **state)
{
    struct sv_slice cur =
        sv_test_heap("other.net, \"Visited network number 1\";x=1 ,\r\n visited2.net");
    struct sip_pvalue pv;

    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "other.net");
    assert_int_equal(pv.params.l, 0);
    assert_non_null(pv.params.p);
    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "\"Visited network number 1\"");
    assert_slice_equal(pv.params, ";x=1");
    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "visited2.net");
    assert_int_equal(sip_pvalue_next(&cur, &pv), ENOENT);
}

/* A ';' inside quotes belongs to the value */
static void pvalue_quoted_semicolon(void **state)
{
    struct sv_slice cur = sv_test_heap("\"a;b\" ; x=\"c;d\"");
    struct sip_pvalue pv;

    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_slice_equal(pv.value, "\"a;b\"");
    assert_slice_equal(pv.params, "; x=\"c;d\"");
}

/* The value may be empty when the element starts with parameters */
static void pvalue_empty_value(void **state)
{
    struct sv_slice cur = sv_test_heap(" ;x=1");
    struct sip_pvalue pv;

    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    assert_non_null(pv.value.p);
    assert_int_equal(pv.value.l, 0);
    assert_slice_equal(pv.params, ";x=1");
}

static void pvalue_malformed(void **state)
{
    static const char *const in[] = {
        ",a",
        "a,",
        "a,,b",
        "a, ,b",
        "a;",
        "a;;b",
        "a; ;b",
        "\"unterminated",
        "a;\"unterminated",
        "a;x=\"y",
        "a\"b",
        ",",
    };
    struct sip_pvalue pv;
    struct sv_slice cur, save;
    int err;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        cur = sv_test_heap(in[i]);
        while ((err = sip_pvalue_next(&cur, &pv)) == 0)
            ;
        if (err != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
    cur = sv_test_heap("a, b;;");
    assert_int_equal(sip_pvalue_next(&cur, &pv), 0);
    save = cur;
    assert_int_equal(sip_pvalue_next(&cur, &pv), EBADMSG);
    assert_ptr_equal(cur.p, save.p);
}

static void pvalue_empty_input(void **state)
{
    struct sip_pvalue pv;
    struct sv_slice cur = sv_test_heap(" \r\n ");

    assert_int_equal(sip_pvalue_next(&cur, &pv), ENOENT);
    cur = sv_slice_make(NULL, 0);
    assert_int_equal(sip_pvalue_next(&cur, &pv), ENOENT);
}

/* Both walkers over one prefix of full[*k]; the whole of full[0] is two security mechanisms,
 * of full[1] two values with parameters. */
static void misc_prefix(struct sv_slice in, bool whole, void *ctx)
{
    const size_t *k = ctx;
    struct sip_secmech sm;
    struct sip_pvalue pv;
    struct sv_slice cur = in;
    int err, n = 0;

    while ((err = sip_secmech_next(&cur, &sm)) == 0)
        n += *k == 0;
    assert_true(err == ENOENT || err == EBADMSG);
    cur = in;
    while ((err = sip_pvalue_next(&cur, &pv)) == 0)
        n += *k == 1;
    assert_true(err == ENOENT || err == EBADMSG);
    if (whole)
        assert_int_equal(n, 2);
}

/* Every prefix, in exact-size heap blocks: no read past the end. */
static void misc_every_prefix_stays_in_bounds(void **state)
{
    static const char *const full[] = {
        "ipsec-3gpp; alg=hmac-sha-1-96; spi-c=1; q=0.1 ,\r\n digest;d-ver=\"0a,;\"",
        "3GPP-UTRAN-TDD; utran-cell-id-3gpp=23456789ABCDE; \"a quoted, value\", x;y",
    };

    for (size_t k = 0; k < SV_ARRAY_SIZE(full); k++)
        sv_test_every_prefix(full[k], misc_prefix, &k);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(secmech_ipsec_3gpp_all_params),
    cmocka_unit_test(secmech_list),
    cmocka_unit_test(secmech_bare_mechanism),
    cmocka_unit_test(secmech_lws_folded),
    cmocka_unit_test(secmech_malformed),
    cmocka_unit_test(secmech_empty_input),
    cmocka_unit_test(pvalue_pani_quoted_comma),
    cmocka_unit_test(pvalue_charging_vector),
    cmocka_unit_test(pvalue_charging_function_addresses),
    cmocka_unit_test(pvalue_visited_network_list),
    cmocka_unit_test(pvalue_quoted_semicolon),
    cmocka_unit_test(pvalue_empty_value),
    cmocka_unit_test(pvalue_malformed),
    cmocka_unit_test(pvalue_empty_input),
    cmocka_unit_test(misc_every_prefix_stays_in_bounds),
};

SV_TEST_MAIN(tests)
