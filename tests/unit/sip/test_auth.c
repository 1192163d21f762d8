/**
 * @file test_auth.c  sip_auth_decode and sip_auth_param_next (RFC 3261 §20.7, §20.27, §20.28,
 * §20.44; RFC 7616; RFC 3310 AKA; TS 24.229 integrity-protected; RFC 4475 regaut01).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

static void bad(const char *s)
{
    struct sip_auth au;

    if (sip_auth_decode(&au, sv_test_heap(s)) != EBADMSG) {
        print_error("accepted \"%s\"\n", s);
        fail();
    }
}

static const char aka_authorization[] =
    "Digest username=\"user1_private@home1.net\", realm=\"home1.net\", "
    "nonce=\"A34Cm+Fva37UYWpGNB34JP\", algorithm=AKAv1-MD5, uri=\"sip:home1.net\", "
    "response=\"6629fae49393a05397450978507c4ef1\", integrity-protected=\"no\"";

/* TS 24.229 initial REGISTER of an IMS UE: AKA Authorization with integrity-protected */
static void auth_ims_aka_authorization(void **state)
{
    struct sip_auth au;

    assert_int_equal(sip_auth_decode(&au, sv_test_heap(aka_authorization)), 0);
    assert_slice_equal(au.scheme, "Digest");
    assert_slice_equal(au.username, "user1_private@home1.net");
    assert_slice_equal(au.realm, "home1.net");
    assert_slice_equal(au.nonce, "A34Cm+Fva37UYWpGNB34JP");
    assert_slice_equal(au.algorithm, "AKAv1-MD5");
    assert_slice_equal(au.uri, "sip:home1.net");
    assert_slice_equal(au.response, "6629fae49393a05397450978507c4ef1");
    assert_slice_equal(au.integrity_protected, "no");
    assert_slice_unset(au.cnonce);
    assert_slice_unset(au.opaque);
    assert_slice_unset(au.qop);
    assert_slice_unset(au.nc);
    assert_slice_unset(au.stale);
    assert_slice_unset(au.domain);
    assert_slice_unset(au.auts);
    assert_true(au.params.l > 0);
    assert_ptr_equal(au.params.p, au.scheme.p + 7);
}

/* RFC 3261 §25.1 / RFC 7616: a comma inside a quoted qop list does not split parameters */
static void auth_www_authenticate_qop_list(void **state)
{
    struct sip_auth au;

    assert_int_equal(
        sip_auth_decode(&au, sv_test_heap("Digest realm=\"atlanta.com\", "
                                          "domain=\"sip:boxesbybob.com\", qop=\"auth,auth-int\", "
                                          "nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", opaque=\"\", "
                                          "stale=FALSE, algorithm=MD5")),
        0);
    assert_slice_equal(au.realm, "atlanta.com");
    assert_slice_equal(au.domain, "sip:boxesbybob.com");
    assert_slice_equal(au.qop, "auth,auth-int");
    assert_slice_equal(au.nonce, "f84f1cec41e6cbe5aea9c8e88d359");
    assert_non_null(au.opaque.p); /* present, empty */
    assert_int_equal(au.opaque.l, 0);
    assert_slice_equal(au.stale, "FALSE");
    assert_slice_equal(au.algorithm, "MD5");
    assert_slice_unset(au.username);
}

/* TS 33.203: the S-CSCF's 401 toward the P-CSCF carries ik and ck as extension params */
static void auth_ims_aka_challenge_with_keys(void **state)
{
    struct sip_auth au;
    struct sv_slice cur;
    struct sip_param prm;
    int n = 0;

    assert_int_equal(
        sip_auth_decode(&au,
                        sv_test_heap("Digest realm=\"home1.net\", "
                                     "nonce=\"CjPk9mRqNuT25eRkajM09uTl9nM09uTl9nMz5OX25PZz==\", "
                                     "algorithm=AKAv1-MD5, ik=\"0123456789abcdeedcba9876543210\", "
                                     "ck=\"9876543210abcdeedcba0123456789\"")),
        0);
    assert_slice_equal(au.nonce, "CjPk9mRqNuT25eRkajM09uTl9nM09uTl9nMz5OX25PZz==");
    assert_slice_equal(au.algorithm, "AKAv1-MD5");
    cur = au.params;
    while (sip_auth_param_next(&cur, &prm) == 0) {
        if (sv_slice_caseeq_cstr(prm.name, "ck")) {
            assert_slice_equal(prm.value, "9876543210abcdeedcba0123456789");
            n++;
        }
    }
    assert_int_equal(n, 1);
}

/* RFC 3261 §22.4 / RFC 7616 §3.4: a full Digest response with qop=auth */
static void auth_full_digest_response(void **state)
{
    struct sip_auth au;

    assert_int_equal(
        sip_auth_decode(&au, sv_test_heap("Digest username=\"bob\", realm=\"biloxi.com\", "
                                          "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                                          "uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, "
                                          "cnonce=\"0a4f113b\", "
                                          "response=\"6629fae49393a05397450978507c4ef1\", "
                                          "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"")),
        0);
    assert_slice_equal(au.username, "bob");
    assert_slice_equal(au.qop, "auth");
    assert_slice_equal(au.nc, "00000001");
    assert_slice_equal(au.cnonce, "0a4f113b");
    assert_slice_equal(au.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
    assert_slice_equal(au.uri, "sip:bob@biloxi.com");
}

/* RFC 3310 §3.4: AKA resynchronisation carries auts */
static void auth_aka_resync_auts(void **state)
{
    struct sip_auth au;

    assert_int_equal(
        sip_auth_decode(&au, sv_test_heap("Digest username=\"jon.dough@example.com\","
                                          "realm=\"example.com\",nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+"
                                          "57QdFR34I9HAbC/ENm=\",uri=\"sip:example.com\","
                                          "response=\"\",auts=\"CjkyMzRfOiwg5CfRJ6w=\"")),
        0);
    assert_slice_equal(au.auts, "CjkyMzRfOiwg5CfRJ6w=");
    assert_non_null(au.response.p);
    assert_int_equal(au.response.l, 0);
    assert_slice_equal(au.nonce, "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/ENm=");
}

/* TS 24.229 §5.4.1.2.2: integrity-protected carries several values */
static void auth_integrity_protected_values(void **state)
{
    static const char *const v[] = {
        "yes", "no", "tls-pending", "tls-yes", "ip-assoc-pending", "ip-assoc-yes", "auth-done"};
    char s[128];
    struct sip_auth au;

    for (size_t i = 0; i < SV_ARRAY_SIZE(v); i++) {
        snprintf(s, sizeof(s), "Digest username=\"a@b\", integrity-protected=\"%s\"", v[i]);
        assert_int_equal(sip_auth_decode(&au, sv_test_heap(s)), 0);
        assert_slice_equal(au.integrity_protected, v[i]);
    }
    assert_int_equal(sip_auth_decode(&au, sv_test_heap("Digest Integrity-Protected=yes")), 0);
    assert_slice_equal(au.integrity_protected, "yes");
}

/* RFC 4475 §3.3.7 regaut01: an unknown scheme decodes, params raw, fields unset */
static void auth_unknown_scheme_regaut01(void **state)
{
    struct sip_auth au;

    assert_int_equal(sip_auth_decode(&au, sv_test_heap("NoOneKnowsThisScheme opaque-data=here")),
                     0);
    assert_slice_equal(au.scheme, "NoOneKnowsThisScheme");
    assert_slice_equal(au.params, "opaque-data=here");
    assert_slice_unset(au.opaque);
    assert_slice_unset(au.username);
    assert_slice_unset(au.realm);
}

/* RFC 8898: Bearer carries a token68, which is no auth-param list; taken raw */
static void auth_unknown_scheme_token68(void **state)
{
    struct sip_auth au;

    assert_int_equal(
        sip_auth_decode(&au, sv_test_heap("Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG"
                                          "_HACGpVUMN_a9IV7pAx_Zmeo=")),
        0);
    assert_slice_equal(au.scheme, "Bearer");
    assert_slice_equal(au.params, "eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx"
                                  "_Zmeo=");
    /* the scheme still needs LWS and something after it */
    bad("Bearer");
    bad("Bearer   ");
}

/* RFC 7616 §3.3: the scheme and parameter names are case-insensitive */
static void auth_case_insensitive(void **state)
{
    struct sip_auth au;

    assert_int_equal(sip_auth_decode(&au, sv_test_heap("dIGEST USERNAME=\"a\", Realm=\"r\"")), 0);
    assert_slice_equal(au.scheme, "dIGEST");
    assert_slice_equal(au.username, "a");
    assert_slice_equal(au.realm, "r");
}

/* LWS and folded lines around '=' and ',' */
static void auth_lws_folded(void **state)
{
    struct sip_auth au;

    assert_int_equal(
        sip_auth_decode(&au, sv_test_heap("  Digest\r\n username = \"bob\" ,\r\n\trealm=\r\n "
                                          "\"biloxi.com\"\t,nonce=\"n\"  ")),
        0);
    assert_slice_equal(au.username, "bob");
    assert_slice_equal(au.realm, "biloxi.com");
    assert_slice_equal(au.nonce, "n");
}

/* Values lose their quotes, keep their escapes; a folded line inside quotes is LWS */
static void auth_quoted_escapes_kept(void **state)
{
    struct sip_auth au;

    assert_int_equal(
        sip_auth_decode(&au, sv_test_heap("Digest username=\"a\\\"b,c\", realm=\"x\r\n y\"")), 0);
    assert_slice_equal(au.username, "a\\\"b,c");
    assert_slice_equal(au.realm, "x\r\n y");
}

static void auth_malformed(void **state)
{
    bad("");
    bad("   ");
    bad("Digest");
    bad("Digest ");
    bad("\"Digest\" realm=\"x\"");
    bad("Digest,realm=\"x\"");
    bad("Digestrealm=\"x\"");
    bad("Digest username=\"unterminated");
    bad("Digest username=\"unterminated, realm=\"x\"");
    bad("Digest realm=\"x\", nonce=\"y");
    bad("Digest realm");
    bad("Digest realm=");
    bad("Digest realm=,nonce=\"y\"");
    bad("Digest ,realm=\"x\"");
    bad("Digest realm=\"x\",");
    bad("Digest realm=\"x\" ,\r\n ");
    bad("Digest realm=\"x\",,nonce=\"y\"");
    bad("Digest realm=\"x\" nonce=\"y\"");
    bad("Digest realm=\"x\";nonce=\"y\"");
    bad("Digest realm=a b");
    bad("Digest realm=a/b");
    bad("Digest realm=\"x\"y");
    bad("Digest \"realm\"=\"x\"");
    bad("Digest realm=\"x\\\"");
    bad("Digest realm=\"x\r\ny\"");
}

/* RFC 7616 §3.4: each directive once; two realms or responses are ambiguous */
static void auth_duplicate_param_rejected(void **state)
{
    bad("Digest realm=\"a\", realm=\"b\"");
    bad("Digest response=\"a\", nonce=\"n\", RESPONSE=\"a\"");
    bad("Digest integrity-protected=\"no\", integrity-protected=\"yes\"");
}

/* An unknown scheme's params are not checked at all: they belong to that scheme */
static void auth_unknown_scheme_not_checked(void **state)
{
    struct sip_auth au;

    assert_int_equal(sip_auth_decode(&au, sv_test_heap("Foo a=\"x, b")), 0);
    assert_slice_equal(au.params, "a=\"x, b");
}

static void auth_param_next_walk(void **state)
{
    struct sv_slice cur = sv_test_heap(" a=1 , b = \"two, 2\",c=\"\" ,\r\n d=x-y");
    struct sip_param prm;

    assert_int_equal(sip_auth_param_next(&cur, &prm), 0);
    assert_slice_equal(prm.name, "a");
    assert_slice_equal(prm.value, "1");
    assert_int_equal(sip_auth_param_next(&cur, &prm), 0);
    assert_slice_equal(prm.name, "b");
    assert_slice_equal(prm.value, "two, 2");
    assert_int_equal(sip_auth_param_next(&cur, &prm), 0);
    assert_slice_equal(prm.name, "c");
    assert_non_null(prm.value.p);
    assert_int_equal(prm.value.l, 0);
    assert_int_equal(sip_auth_param_next(&cur, &prm), 0);
    assert_slice_equal(prm.name, "d");
    assert_slice_equal(prm.value, "x-y");
    assert_int_equal(sip_auth_param_next(&cur, &prm), ENOENT);
    assert_int_equal(sip_auth_param_next(&cur, &prm), ENOENT);

    cur = sv_slice_make(NULL, 0);
    assert_int_equal(sip_auth_param_next(&cur, &prm), ENOENT);
    cur = sv_test_heap("  ");
    assert_int_equal(sip_auth_param_next(&cur, &prm), ENOENT);
}

/* On error the cursor does not move */
static void auth_param_next_error_keeps_cursor(void **state)
{
    struct sv_slice cur = sv_test_heap("a=1, b"), save;
    struct sip_param prm;

    assert_int_equal(sip_auth_param_next(&cur, &prm), 0);
    save = cur;
    assert_int_equal(sip_auth_param_next(&cur, &prm), EBADMSG);
    assert_ptr_equal(cur.p, save.p);
    assert_int_equal(cur.l, save.l);
}

static void auth_prefix(struct sv_slice in, bool whole, void *ctx)
{
    struct sip_auth au;
    int err = sip_auth_decode(&au, in);

    assert_true(err == 0 || err == EBADMSG);
    if (whole)
        assert_int_equal(err, 0);
}

/* Every prefix of the AKA sample, in exact-size heap blocks: no read past the end. */
static void auth_every_prefix_stays_in_bounds(void **state)
{
    sv_test_every_prefix(aka_authorization, auth_prefix, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(auth_ims_aka_authorization),
    cmocka_unit_test(auth_www_authenticate_qop_list),
    cmocka_unit_test(auth_ims_aka_challenge_with_keys),
    cmocka_unit_test(auth_full_digest_response),
    cmocka_unit_test(auth_aka_resync_auts),
    cmocka_unit_test(auth_integrity_protected_values),
    cmocka_unit_test(auth_unknown_scheme_regaut01),
    cmocka_unit_test(auth_unknown_scheme_token68),
    cmocka_unit_test(auth_case_insensitive),
    cmocka_unit_test(auth_lws_folded),
    cmocka_unit_test(auth_quoted_escapes_kept),
    cmocka_unit_test(auth_malformed),
    cmocka_unit_test(auth_duplicate_param_rejected),
    cmocka_unit_test(auth_unknown_scheme_not_checked),
    cmocka_unit_test(auth_param_next_walk),
    cmocka_unit_test(auth_param_next_error_keeps_cursor),
    cmocka_unit_test(auth_every_prefix_stays_in_bounds),
};

SV_TEST_MAIN(tests)
