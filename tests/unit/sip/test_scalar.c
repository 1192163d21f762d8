/**
 * @file test_scalar.c  CSeq, Call-ID, numbers, Content-Type, token lists and SIP-ETag
 * (RFC 3261 §20, §25.1; RFC 3903 §11.3; RFC 4475 scalar02, scalarlg, ncl, intmeth, wsinv).
 */
#include <errno.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

/* ---------------------------------------------------------------------------------------- */
/* CSeq                                                                                       */

static void cseq_basic(void **state)
{
    struct sip_cseq cs;

    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("4711 INVITE")), 0);
    assert_int_equal(cs.num, 4711);
    assert_slice_equal(cs.method, "INVITE");
    assert_int_equal(cs.mid, SIP_METHOD_INVITE);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("   1 OPTIONS  ")), 0);
    assert_int_equal(cs.num, 1);
    assert_int_equal(cs.mid, SIP_METHOD_OPTIONS);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("0 REGISTER")), 0);
    assert_int_equal(cs.num, 0);
    assert_int_equal(cs.mid, SIP_METHOD_REGISTER);
}

/* RFC 3261 §8.1.1.5: the number is below 2**31 */
static void cseq_number_boundary(void **state)
{
    struct sip_cseq cs;

    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("2147483647 INVITE")), 0);
    assert_int_equal(cs.num, 2147483647u);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("2147483648 INVITE")), EBADMSG);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("4294967295 INVITE")), EBADMSG);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("4294967296 INVITE")), EBADMSG);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("00000000002147483647 BYE")), 0);
    assert_int_equal(cs.num, 2147483647u);
}

/* RFC 4475 §3.1.2.4 scalar02 and §3.1.2.5 scalarlg: CSeq numbers far beyond 32 bits */
static void cseq_overflow_rfc4475(void **state)
{
    struct sip_cseq cs;

    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("36893488147419103232 REGISTER")), EBADMSG);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("9292394834772304023312 OPTIONS")), EBADMSG);
}

/* RFC 4475 §3.1.1.1 wsinv: leading zeros and a folded line between number and method */
static void cseq_wsinv_folded(void **state)
{
    struct sip_cseq cs;

    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("0009\r\n  INVITE")), 0);
    assert_int_equal(cs.num, 9);
    assert_slice_equal(cs.method, "INVITE");
    assert_int_equal(cs.mid, SIP_METHOD_INVITE);
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("1\tACK")), 0);
    assert_int_equal(cs.mid, SIP_METHOD_ACK);
}

/* RFC 4475 §3.1.1.2 intmeth: an extension method of every token character */
static void cseq_extension_method(void **state)
{
    struct sip_cseq cs;

    assert_int_equal(
        sip_cseq_decode(&cs, sv_test_heap("139122385 !interesting-Method0123456789_*+`.%indeed'~")),
        0);
    assert_int_equal(cs.num, 139122385);
    assert_slice_equal(cs.method, "!interesting-Method0123456789_*+`.%indeed'~");
    assert_int_equal(cs.mid, SIP_METHOD_OTHER);
    /* RFC 4475 §3.1.1.5 esc02: escapes are not decoded in a method, so this is no REGISTER */
    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("29344 RE%47IST%45R")), 0);
    assert_int_equal(cs.mid, SIP_METHOD_OTHER);
}

/* RFC 3261 §7.1: methods are case-sensitive */
static void cseq_method_case_sensitive(void **state)
{
    struct sip_cseq cs;

    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("1 invite")), 0);
    assert_slice_equal(cs.method, "invite");
    assert_int_equal(cs.mid, SIP_METHOD_OTHER);
}

static void cseq_malformed(void **state)
{
    static const char *const in[] = {
        "",
        "   ",
        "INVITE",
        "1",
        "1 ",
        "1INVITE",
        "-1 INVITE",
        "+1 INVITE",
        "1 INVITE x",
        "1 INV@ITE",
        "1,INVITE",
        "1 2 INVITE",
        "0x10 INVITE",
        "1.0 INVITE",
        "1 \"INVITE\"",
        "1 INVITE;x",
        "\xd9\xa1 INVITE",
    };
    struct sip_cseq cs;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        if (sip_cseq_decode(&cs, sv_test_heap(in[i])) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
}

static void cseq_untouched_on_error(void **state)
{
    struct sip_cseq cs = {.num = 77, .method = SV_LIT("BYE"), .mid = SIP_METHOD_BYE};

    assert_int_equal(sip_cseq_decode(&cs, sv_test_heap("2147483648 INVITE")), EBADMSG);
    assert_int_equal(cs.num, 77);
    assert_slice_equal(cs.method, "BYE");
    assert_int_equal(cs.mid, SIP_METHOD_BYE);
}

/* ---------------------------------------------------------------------------------------- */
/* Call-ID                                                                                    */

static void callid_basic(void **state)
{
    struct sv_slice id;

    assert_int_equal(sip_callid_decode(&id, sv_test_heap("a84b4c76e66710@pc33.atlanta.com")), 0);
    assert_slice_equal(id, "a84b4c76e66710@pc33.atlanta.com");
    assert_int_equal(
        sip_callid_decode(&id, sv_test_heap("  f81d4fae-7dec-11d0-a765-00a0c91e6bf6  ")), 0);
    assert_slice_equal(id, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
    assert_int_equal(sip_callid_decode(&id, sv_test_heap("x")), 0);
    assert_slice_equal(id, "x");
}

/* RFC 4475 §3.1.1.2 intmeth: every word character, on both sides of '@' */
static void callid_word_chars(void **state)
{
    struct sv_slice id;

    assert_int_equal(
        sip_callid_decode(&id, sv_test_heap("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")), 0);
    assert_slice_equal(id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
}

static void callid_malformed(void **state)
{
    static const char *const in[] = {
        "",    " ",   "a@b@c", "@b",  "a@",  "@",   "a b", "a;b",
        "a,b", "a=b", "a\tb",  "a&b", "a#b", "a|b", "a^b", "a\r\n b",
    };
    struct sv_slice id = SV_LIT("kept");

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        if (sip_callid_decode(&id, sv_test_heap(in[i])) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
    assert_slice_equal(id, "kept");
}

/* ---------------------------------------------------------------------------------------- */
/* Unsigned numbers                                                                           */

static void uint_basic(void **state)
{
    uint32_t v;

    assert_int_equal(sip_uint_decode(&v, sv_test_heap("70"), 255), 0);
    assert_int_equal(v, 70);
    /* RFC 4475 §3.1.1.1 wsinv: "MaX-fOrWaRdS: 0068" */
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("0068"), 255), 0);
    assert_int_equal(v, 68);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("  \t70\r\n "), 255), 0);
    assert_int_equal(v, 70);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("0"), 255), 0);
    assert_int_equal(v, 0);
}

/* Max-Forwards is 0 to 255; RFC 4475 §3.1.2.4 scalar02 sends 300 */
static void uint_max_forwards_boundary(void **state)
{
    uint32_t v;

    assert_int_equal(sip_uint_decode(&v, sv_test_heap("255"), 255), 0);
    assert_int_equal(v, 255);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("256"), 255), EBADMSG);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("300"), 255), EBADMSG);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("0000000000000000000000255"), 255), 0);
    assert_int_equal(v, 255);
}

/* RFC 4475 scalar02 Expires and scalarlg Retry-After: values far beyond 32 bits */
static void uint_overflow_is_malformed(void **state)
{
    uint32_t v = 5;

    assert_int_equal(sip_uint_decode(&v, sv_test_heap("4294967295"), UINT32_MAX), 0);
    assert_int_equal(v, UINT32_MAX);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("4294967296"), UINT32_MAX), EBADMSG);
    assert_int_equal(
        sip_uint_decode(&v,
                        sv_test_heap("10000000000000000000000000000000000000000000000000"
                                     "000000000000000000000000000000000000000000000000000"
                                     "00000"),
                        UINT32_MAX),
        EBADMSG);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("949302838503028349304023988"), UINT32_MAX),
                     EBADMSG);
    assert_int_equal(v, UINT32_MAX);
}

/* Content-Length must fit the caller's limit; RFC 4475 §3.1.2.3 ncl: "-999" */
static void uint_content_length(void **state)
{
    static const char *const in[] = {
        "-999", "9999999999999999999999", "+1", "1 2", "", "  ", "1.0", "0x10", "1e3", "\xd9\xa1",
    };
    uint32_t v = 42;

    assert_int_equal(sip_uint_decode(&v, sv_test_heap("553"), 65535), 0);
    assert_int_equal(v, 553);
    assert_int_equal(sip_uint_decode(&v, sv_test_heap("65536"), 65535), EBADMSG);
    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        if (sip_uint_decode(&v, sv_test_heap(in[i]), UINT32_MAX) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
    assert_int_equal(v, 553);
}

/* ---------------------------------------------------------------------------------------- */
/* Content-Type                                                                               */

static void ctype_basic(void **state)
{
    struct sip_ctype ct;

    assert_int_equal(sip_ctype_decode(&ct, sv_test_heap("application/sdp")), 0);
    assert_slice_equal(ct.type, "application");
    assert_slice_equal(ct.subtype, "sdp");
    assert_non_null(ct.params.p);
    assert_int_equal(ct.params.l, 0);
    assert_true(sip_ctype_is(&ct, "application", "sdp"));
    assert_false(sip_ctype_is(&ct, "application", "pidf+xml"));
    assert_false(sip_ctype_is(&ct, "text", "sdp"));
}

/* SLASH = SWS "/" SWS (RFC 3261 §25.1) */
static void ctype_lws_around_slash(void **state)
{
    struct sip_ctype ct;

    assert_int_equal(sip_ctype_decode(&ct, sv_test_heap("application / sdp")), 0);
    assert_slice_equal(ct.type, "application");
    assert_slice_equal(ct.subtype, "sdp");
    assert_int_equal(sip_ctype_decode(&ct, sv_test_heap("application\r\n /\r\n\tpidf+xml")), 0);
    assert_slice_equal(ct.subtype, "pidf+xml");
}

static void ctype_params(void **state)
{
    struct sip_ctype ct;
    struct sv_slice v;

    assert_int_equal(
        sip_ctype_decode(&ct, sv_test_heap("multipart/mixed;boundary=7a9cbec02ceef655")), 0);
    assert_true(sip_ctype_is(&ct, "multipart", "mixed"));
    assert_slice_equal(ct.params, ";boundary=7a9cbec02ceef655");
    assert_true(sip_param_get(ct.params, "boundary", &v));
    assert_slice_equal(v, "7a9cbec02ceef655");

    assert_int_equal(
        sip_ctype_decode(&ct, sv_test_heap("text/plain ; charset=\"UTF-8\" ;format=flowed")), 0);
    assert_slice_equal(ct.params, "; charset=\"UTF-8\" ;format=flowed");
    assert_true(sip_param_get(ct.params, "charset", &v));
    assert_slice_equal(v, "\"UTF-8\"");

    assert_int_equal(sip_ctype_decode(&ct, sv_test_heap("application/sdp\r\n ;charset=utf-8")), 0);
    assert_slice_equal(ct.params, ";charset=utf-8");
}

/* RFC 2045 §5.1: type and subtype compare case-insensitively */
static void ctype_is_case_insensitive(void **state)
{
    struct sip_ctype ct, zero;

    assert_int_equal(sip_ctype_decode(&ct, sv_test_heap("Application/SDP")), 0);
    assert_true(sip_ctype_is(&ct, "application", "sdp"));
    assert_true(sip_ctype_is(&ct, "APPLICATION", "Sdp"));
    memset(&zero, 0, sizeof(zero));
    assert_false(sip_ctype_is(&zero, "application", "sdp"));
}

static void ctype_malformed(void **state)
{
    static const char *const in[] = {
        "",
        "application",
        "application/",
        "/sdp",
        "application/sdp extra",
        "application/sdp;",
        "application/sdp;;a=b",
        "application/sdp;a=",
        "text/plain;charset=\"unterminated",
        "a/b/c",
        "app lication/sdp",
        "application/s dp",
        "application//sdp",
        "application/sdp,text/plain",
        "\"application\"/sdp",
    };
    struct sip_ctype ct;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        if (sip_ctype_decode(&ct, sv_test_heap(in[i])) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Token lists                                                                                */

/* RFC 4475 §3.3.5 bext01 */
static void token_list_basic(void **state)
{
    struct sv_slice cur = sv_test_heap("nothingSupportsThis, nothingSupportsThisEither"), tok;

    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "nothingSupportsThis");
    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "nothingSupportsThisEither");
    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
}

static void token_list_single(void **state)
{
    struct sv_slice cur = sv_test_heap("100rel"), tok;

    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "100rel");
    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
}

static void token_list_lws_folded(void **state)
{
    struct sv_slice cur = sv_test_heap("  INVITE ,\r\n ACK\t,BYE,\r\n\tCANCEL  "), tok;
    static const char *const want[] = {"INVITE", "ACK", "BYE", "CANCEL"};

    for (size_t i = 0; i < SV_ARRAY_SIZE(want); i++) {
        assert_int_equal(sip_token_next(&cur, &tok), 0);
        assert_slice_equal(tok, want[i]);
    }
    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
}

/* Parameters stay in the token's slice (Allow-Events, Accept-Contact-like lists) */
static void token_list_params(void **state)
{
    struct sv_slice cur = sv_test_heap("foo;x=1 ; y , bar,baz;q=\"a,b\""), tok;

    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "foo;x=1 ; y");
    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "bar");
    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "baz;q=\"a,b\"");
    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
}

static void token_list_event_packages(void **state)
{
    struct sv_slice cur = sv_test_heap("presence.winfo, dialog, reg"), tok;

    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "presence.winfo");
    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "dialog");
    assert_int_equal(sip_token_next(&cur, &tok), 0);
    assert_slice_equal(tok, "reg");
}

/* RFC 3261 §7.3.1: an empty element is malformed, and the cursor stays on it */
static void token_list_empty_element(void **state)
{
    static const char *const in[] = {
        ",a", "a,,b", "a,", "a, ,b", "a ,\r\n ", ",", " , ",
    };
    struct sv_slice cur, tok, save;
    int err;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        cur = sv_test_heap(in[i]);
        while ((err = sip_token_next(&cur, &tok)) == 0)
            ;
        if (err != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
    cur = sv_test_heap("a,b,");
    assert_int_equal(sip_token_next(&cur, &tok), 0);
    save = cur;
    assert_int_equal(sip_token_next(&cur, &tok), EBADMSG);
    assert_ptr_equal(cur.p, save.p);
    assert_int_equal(cur.l, save.l);
}

static void token_list_bad_chars(void **state)
{
    static const char *const in[] = {
        "a b", "a@b", "a;", "\"a\"", "a/b", "a;;x", "a;x=", "a;x=\"y", "<a>", "a=b",
    };
    struct sv_slice cur, tok;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        cur = sv_test_heap(in[i]);
        if (sip_token_next(&cur, &tok) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
}

static void token_list_empty_input(void **state)
{
    struct sv_slice cur = sv_test_heap(""), tok;

    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
    cur = sv_test_heap(" \r\n\t");
    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
    cur = sv_slice_make(NULL, 0);
    assert_int_equal(sip_token_next(&cur, &tok), ENOENT);
}

/* ---------------------------------------------------------------------------------------- */
/* SIP-ETag / SIP-If-Match                                                                    */

/* RFC 3903 §11.3.1: entity-tag = token */
static void etag_decode(void **state)
{
    struct sv_slice tag = SV_LIT("kept");

    assert_int_equal(sip_etag_decode(&tag, sv_test_heap("dx200xyz")), 0);
    assert_slice_equal(tag, "dx200xyz");
    assert_int_equal(sip_etag_decode(&tag, sv_test_heap("  kwj449x \r\n")), 0);
    assert_slice_equal(tag, "kwj449x");
    assert_int_equal(sip_etag_decode(&tag, sv_test_heap("a b")), EBADMSG);
    assert_int_equal(sip_etag_decode(&tag, sv_test_heap("")), EBADMSG);
    assert_int_equal(sip_etag_decode(&tag, sv_test_heap("\"x\"")), EBADMSG);
    assert_int_equal(sip_etag_decode(&tag, sv_test_heap("x,y")), EBADMSG);
    assert_int_equal(sip_etag_decode(&tag, sv_test_heap("x;y")), EBADMSG);
    assert_slice_equal(tag, "kwj449x");
}

/* Every decoder of this file on one prefix; only the reads matter, and that the token list
 * ends cleanly. */
static void scalar_prefix(struct sv_slice s, bool whole, void *ctx)
{
    struct sip_cseq cs;
    struct sip_ctype ct;
    struct sv_slice tok, id, cur = s;
    uint32_t v;
    int err;

    (void)sip_cseq_decode(&cs, s);
    (void)sip_ctype_decode(&ct, s);
    (void)sip_callid_decode(&id, s);
    (void)sip_uint_decode(&v, s, UINT32_MAX);
    (void)sip_etag_decode(&tok, s);
    while ((err = sip_token_next(&cur, &tok)) == 0)
        ;
    assert_true(err == ENOENT || err == EBADMSG);
}

/* Every prefix of each value, in exact-size heap blocks: no read past the end. */
static void scalar_every_prefix_stays_in_bounds(void **state)
{
    static const char *const full[] = {
        "0009\r\n  INVITE",        "multipart/mixed ; boundary=\"a;b\" ;x",
        "a ,\r\n b;q=\"x,y\" , c", "intmeth.word%ZK@word`~",
        "  4294967295 ",
    };

    for (size_t k = 0; k < SV_ARRAY_SIZE(full); k++)
        sv_test_every_prefix(full[k], scalar_prefix, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cseq_basic),
    cmocka_unit_test(cseq_number_boundary),
    cmocka_unit_test(cseq_overflow_rfc4475),
    cmocka_unit_test(cseq_wsinv_folded),
    cmocka_unit_test(cseq_extension_method),
    cmocka_unit_test(cseq_method_case_sensitive),
    cmocka_unit_test(cseq_malformed),
    cmocka_unit_test(cseq_untouched_on_error),
    cmocka_unit_test(callid_basic),
    cmocka_unit_test(callid_word_chars),
    cmocka_unit_test(callid_malformed),
    cmocka_unit_test(uint_basic),
    cmocka_unit_test(uint_max_forwards_boundary),
    cmocka_unit_test(uint_overflow_is_malformed),
    cmocka_unit_test(uint_content_length),
    cmocka_unit_test(ctype_basic),
    cmocka_unit_test(ctype_lws_around_slash),
    cmocka_unit_test(ctype_params),
    cmocka_unit_test(ctype_is_case_insensitive),
    cmocka_unit_test(ctype_malformed),
    cmocka_unit_test(token_list_basic),
    cmocka_unit_test(token_list_single),
    cmocka_unit_test(token_list_lws_folded),
    cmocka_unit_test(token_list_params),
    cmocka_unit_test(token_list_event_packages),
    cmocka_unit_test(token_list_empty_element),
    cmocka_unit_test(token_list_bad_chars),
    cmocka_unit_test(token_list_empty_input),
    cmocka_unit_test(etag_decode),
    cmocka_unit_test(scalar_every_prefix_stays_in_bounds),
};

SV_TEST_MAIN(tests)
