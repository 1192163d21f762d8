/**
 * @file test_check.c  sip_msg_check: the verdicts of RFC 3261 §8.2 (UAS) and §16.3 (proxy),
 * in the order a server answers them, on hand-made messages and RFC 4475 torture messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest_sip.h"

static const struct sip_msg *parse_file(const char *name)
{
    char path[512], buf[4096];
    snprintf(path, sizeof(path), "%s/rfc4475/%s.dat", SV_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t l = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return sv_test_parse_n(buf, l);
}

static const char *const privacy_tags[] = {"privacy", NULL};
static const struct sip_check_opts uas = {SIP_CHECK_UAS, NULL};
static const struct sip_check_opts proxy = {SIP_CHECK_PROXY, NULL};
static const struct sip_check_opts proxy_privacy = {SIP_CHECK_PROXY, privacy_tags};
static const struct sip_check_opts uas_privacy = {SIP_CHECK_UAS, privacy_tags};

/* Check @p m; expect @p code (0: passes) and, for a failure, a reason holding @p why. */
static void expect(const struct sip_msg *m, const struct sip_check_opts *o, uint16_t code,
                   const char *why)
{
    struct sip_status st;

    memset(&st, 0xa5, sizeof(st));
    int e = sip_msg_check(m, o, &st);
    if (st.code != code)
        print_error("got %u \"%s\", wanted %u\n", st.code, st.reason ? st.reason : "-", code);
    assert_int_equal(st.code, code);
    if (!code) {
        assert_int_equal(e, 0);
        assert_null(st.reason);
        assert_slice_unset(st.unsupported);
        return;
    }
    assert_int_equal(e, EPROTO);
    assert_non_null(st.reason);
    if (why && !strstr(st.reason, why))
        print_error("reason \"%s\" lacks \"%s\"\n", st.reason, why);
    if (why)
        assert_non_null(strstr(st.reason, why));
    if (code != 420)
        assert_slice_unset(st.unsupported);
}

#define VIA "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n"
#define FROM "From: <sip:alice@example.com>;tag=1928301774\r\n"
#define TO "To: <sip:bob@example.com>\r\n"
#define CID "Call-ID: a84b4c76e66710\r\n"
#define CSEQ "CSeq: 314159 INVITE\r\n"
#define MF "Max-Forwards: 70\r\n"
#define RL "INVITE sip:bob@example.com SIP/2.0\r\n"
#define END "Content-Length: 0\r\n\r\n"

static void check_valid_request_passes(void **state)
{
    const struct sip_msg *m = sv_test_parse(RL VIA FROM TO CID CSEQ MF END);

    expect(m, &uas, 0, NULL);
    expect(m, &proxy, 0, NULL);
    expect(m, NULL, 0, NULL); /* NULL options: a UAS that supports nothing */
}

/* RFC 3261 §7.1: the version compares case-insensitively. */
static void check_lowercase_version_passes(void **state)
{
    expect(sv_test_parse("INVITE sip:bob@example.com sip/2.0\r\n" VIA FROM TO CID CSEQ MF END),
           &uas, 0, NULL);
}

/* RFC 3261 §8.2.2 (and §16.3 for proxies); RFC 4475 §3.1.2.16 badvers. */
static void check_505_version(void **state)
{
    const struct sip_msg *m = parse_file("badvers");

    expect(m, &uas, 505, NULL);
    expect(m, &proxy, 505, NULL);
}

/* 505 comes first: a SIP/3.0 request missing everything is still answered 505. */
static void check_505_before_mandatory(void **state)
{
    expect(sv_test_parse("OPTIONS sip:a@b SIP/3.0\r\n\r\n"), &uas, 505, NULL);
    expect(sv_test_parse("SIP/3.0 200 OK\r\n\r\n"), &uas, 505, NULL);
}

/* RFC 3261 §8.1.1: To, From, CSeq, Call-ID and Via are mandatory. */
static void check_missing_mandatory_400(void **state)
{
    expect(sv_test_parse(RL FROM TO CID CSEQ MF END), &uas, 400, "Via");
    expect(sv_test_parse(RL VIA TO CID CSEQ MF END), &uas, 400, "From");
    expect(sv_test_parse(RL VIA FROM CID CSEQ MF END), &uas, 400, "To");
    expect(sv_test_parse(RL VIA FROM TO CSEQ MF END), &uas, 400, "Call-ID");
    expect(sv_test_parse(RL VIA FROM TO CID MF END), &uas, 400, "CSeq");
    /* Max-Forwards is mandatory to send, but an element processes requests without it */
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ END), &uas, 0, NULL);
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ END), &proxy, 0, NULL);
}

/* RFC 3261 §7.3.1: a single-value header given twice; RFC 4475 §3.3.8 multi01. */
static void check_repeated_single_value_400(void **state)
{
    expect(sv_test_parse(RL VIA FROM FROM TO CID CSEQ MF END), &uas, 400, "From");
    expect(sv_test_parse(RL VIA FROM TO "t: <sip:carol@example.com>\r\n" CID CSEQ MF END), &uas,
           400, "To");
    expect(sv_test_parse(RL VIA FROM TO CID "i: other\r\n" CSEQ MF END), &uas, 400, "Call-ID");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ "CSeq: 2 INVITE\r\n" MF END), &uas, 400, "CSeq");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF MF END), &uas, 400, "Max-Forwards");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Expires: 1\r\nExpires: 2\r\n" END), &uas, 400,
           "Expires");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Subject: a\r\ns: b\r\n" END), &uas, 400, NULL);
    expect(parse_file("multi01"), &uas, 400, NULL);
    /* list headers may repeat */
    expect(sv_test_parse(RL VIA VIA FROM TO CID CSEQ MF "Route: <sip:a>\r\nRoute: <sip:b>\r\n" END),
           &uas, 0, NULL);
}

/* RFC 3261 §8.2.6.1 / RFC 4475 §3.1.2.17 mismatch01: CSeq method differs from the method. */
static void check_cseq_mismatch_400(void **state)
{
    expect(parse_file("mismatch01"), &uas, 400, "CSeq");
    expect(parse_file("mismatch01"), &proxy, 400, "CSeq");
    expect(sv_test_parse("ACK sip:bob@example.com SIP/2.0\r\n" VIA FROM TO CID CSEQ MF END), &uas,
           400, "CSeq");
    /* the method compares case-sensitively */
    expect(sv_test_parse("INVITE sip:bob@example.com SIP/2.0\r\n" VIA FROM TO CID
                         "CSeq: 1 invite\r\n" MF END),
           &uas, 400, "CSeq");
}

/* RFC 4475 §3.1.2.18 mismatch02: an unknown method whose CSeq names INVITE is a 400, not the
 * 501 the unknown method would get: the CSeq test comes first. */
static void check_cseq_mismatch02_first(void **state)
{
    const struct sip_msg *m = parse_file("mismatch02");

    assert_int_equal(m->mid, SIP_METHOD_OTHER);
    expect(m, &uas, 400, "CSeq");
    expect(m, &proxy, 400, "CSeq");
}

/* Before every other request verdict: 416, 420, 483. */
static void check_cseq_mismatch_before_others(void **state)
{
    const struct sip_msg *m = sv_test_parse("OPTIONS foo:bar SIP/2.0\r\n" VIA FROM TO CID CSEQ
                                            "Max-Forwards: 0\r\nRequire: x\r\nProxy-Require: y\r\n"
                                            "Privacy: @\r\n" END);
    expect(m, &uas, 400, "CSeq");
    expect(m, &proxy, 400, "CSeq");
}

/* RFC 3261 §8.2.2.1: Request-URI scheme (RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc). */
static void check_416_unknown_scheme(void **state)
{
    expect(parse_file("unkscm"), &uas, 416, NULL);
    expect(parse_file("unkscm"), &proxy, 416, NULL);
    expect(parse_file("novelsc"), &uas, 416, NULL);
    expect(sv_test_parse("INVITE http://example.com/ SIP/2.0\r\n" VIA FROM TO CID CSEQ MF END),
           &uas, 416, NULL);
}

static void check_sip_sips_tel_accepted(void **state)
{
    expect(sv_test_parse("INVITE sips:bob@example.com SIP/2.0\r\n" VIA FROM TO CID CSEQ MF END),
           &uas, 0, NULL);
    expect(sv_test_parse("INVITE tel:+15551234567 SIP/2.0\r\n" VIA FROM TO CID CSEQ MF END), &uas,
           0, NULL);
}

/* RFC 3261 §19.1.5 / RFC 4475 §3.1.2.11 escruri: headers in the Request-URI. */
static void check_400_headers_in_ruri(void **state)
{
    expect(parse_file("escruri"), &uas, 400, "Request-URI");
    expect(sv_test_parse(
               "INVITE sip:bob@example.com?Subject=x SIP/2.0\r\n" VIA FROM TO CID CSEQ MF END),
           &proxy, 400, "Request-URI");
}

/* R4: a malformed Privacy header gets 400; multiple lines and ',' are accepted. */
static void check_privacy_malformed_400(void **state)
{
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Privacy:\r\n" END), &uas, 400, "Privacy");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Privacy: id;;user\r\n" END), &uas, 400,
           "Privacy");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Privacy: id@x\r\n" END), &proxy, 400,
           "Privacy");
}

/* RFC 4475 §3.1.2.13 regbadct: a Contact the decoder refuses is refused, whatever the role;
 * "*" and well-formed lists pass. */
static void check_contact_malformed_400(void **state)
{
    expect(parse_file("regbadct"), &proxy, 400, "Contact");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Contact: <sip:a@b>, \r\n" END), &uas, 400,
           "Contact");
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Contact: <sip:a@b>;q=0.5, sip:c@d\r\n" END),
           &proxy, 0, NULL);
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "m: *\r\n" END), &proxy, 0, NULL);
}

static void check_privacy_well_formed_passes(void **state)
{
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Privacy: id; user\r\n" END), &uas, 0, NULL);
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Privacy: id, user\r\n" END), &uas, 0, NULL);
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Privacy: id\r\nPrivacy: header\r\n" END), &uas,
           0, NULL);
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Privacy: ID;Critical\r\n" END), &uas, 0, NULL);
}

/* RFC 3261 §16.3 item 2 / RFC 4475 §3.3.11 zeromf: a proxy answers 483; a UAS processes it. */
static void check_proxy_max_forwards_zero_483(void **state)
{
    const struct sip_msg *m = parse_file("zeromf");

    expect(m, &proxy, 483, NULL);
    expect(m, &uas, 0, NULL);
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ "Max-Forwards: 1\r\n" END), &proxy, 0, NULL);
}

/* RFC 3261 §16.3 item 5: Proxy-Require with an unknown option tag; st.unsupported names the
 * first one, for the Unsupported header of the 420 (RFC 4475 §3.3.5 bext01). */
static void check_proxy_require_unknown_420(void **state)
{
    const struct sip_msg *m = parse_file("bext01");
    struct sip_status st;

    expect(m, &proxy, 420, NULL);
    assert_int_equal(sip_msg_check(m, &proxy, &st), EPROTO);
    assert_slice_equal(st.unsupported, "noProxiesSupportThis");

    m = sv_test_parse(RL VIA FROM TO CID CSEQ MF "Proxy-Require: privacy, foo\r\n" END);
    assert_int_equal(sip_msg_check(m, &proxy_privacy, &st), EPROTO);
    assert_int_equal(st.code, 420);
    assert_slice_equal(st.unsupported, "foo");
}

/* Max-Forwards is looked at before Proxy-Require (§16.3 items 2 and 5). */
static void check_proxy_483_before_420(void **state)
{
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ "Max-Forwards: 0\r\nProxy-Require: foo\r\n" END),
           &proxy, 483, NULL);
}

/* R7: `privacy` in Proxy-Require is accepted by a node that lists it as supported, and
 * answered 420 with Unsupported: privacy by one that does not. */
static void check_proxy_require_privacy_r7(void **state)
{
    const struct sip_msg *m =
        sv_test_parse(RL VIA FROM TO CID CSEQ MF "Proxy-Require: privacy\r\n" END);
    struct sip_status st;

    expect(m, &proxy_privacy, 0, NULL);
    assert_int_equal(sip_msg_check(m, &proxy, &st), EPROTO);
    assert_int_equal(st.code, 420);
    assert_slice_equal(st.unsupported, "privacy");
    /* several lines: each is looked at */
    m = sv_test_parse(RL VIA FROM TO CID CSEQ MF
                      "Proxy-Require: privacy\r\nProxy-Require: sec-agree\r\n" END);
    assert_int_equal(sip_msg_check(m, &proxy_privacy, &st), EPROTO);
    assert_slice_equal(st.unsupported, "sec-agree");
}

/* RFC 3261 §8.2.2.3: a UAS checks Require; Proxy-Require is not its business. */
static void check_uas_require_not_proxy_require(void **state)
{
    const struct sip_msg *m =
        sv_test_parse(RL VIA FROM TO CID CSEQ MF "Proxy-Require: foo\r\n" END);
    struct sip_status st;

    expect(m, &uas, 0, NULL);
    m = sv_test_parse(RL VIA FROM TO CID CSEQ MF "Require: privacy, 100rel\r\n" END);
    assert_int_equal(sip_msg_check(m, &uas_privacy, &st), EPROTO);
    assert_int_equal(st.code, 420);
    assert_slice_equal(st.unsupported, "100rel");
    m = sv_test_parse(RL VIA FROM TO CID CSEQ MF "Require: privacy\r\n" END);
    expect(m, &uas_privacy, 0, NULL);
    expect(parse_file("bext01"), &uas, 420, NULL);
    assert_int_equal(sip_msg_check(parse_file("bext01"), &uas, &st), EPROTO);
    assert_slice_equal(st.unsupported, "nothingSupportsThis");
}

/* §16.3: a proxy does not look at Require; that is for the UAS. */
static void check_proxy_ignores_require(void **state)
{
    expect(sv_test_parse(RL VIA FROM TO CID CSEQ MF "Require: foo\r\n" END), &proxy, 0, NULL);
}

/* RFC 3261 §8.2.2.3: Require and Proxy-Require in CANCEL, or in an ACK, MUST be ignored
 * (and an ACK can never be answered anyway). */
static void check_ack_cancel_ignore_require(void **state)
{
    static const char ack[] =
        "ACK sip:bob@example.com SIP/2.0\r\n" VIA FROM TO CID "CSeq: 314159 ACK\r\n" MF
        "Require: foo\r\nProxy-Require: bar\r\n" END;
    static const char cancel[] =
        "CANCEL sip:bob@example.com SIP/2.0\r\n" VIA FROM TO CID "CSeq: 314159 CANCEL\r\n" MF
        "Require: foo\r\nProxy-Require: bar\r\n" END;

    expect(sv_test_parse(ack), &uas, 0, NULL);
    expect(sv_test_parse(ack), &proxy, 0, NULL);
    expect(sv_test_parse(cancel), &uas, 0, NULL);
    expect(sv_test_parse(cancel), &proxy, 0, NULL);
}

/* Responses: only version, mandatory and single-value checks apply. */
static void check_responses_pass(void **state)
{
    const struct sip_msg *m =
        sv_test_parse("SIP/2.0 200 OK\r\n" VIA FROM "To: <sip:bob@example.com>;tag=x\r\n" CID CSEQ
                      "Max-Forwards: 0\r\nRequire: foo\r\nProxy-Require: bar\r\n"
                      "Privacy: @@\r\n" END);
    expect(m, &uas, 0, NULL);
    expect(m, &proxy, 0, NULL);
    expect(sv_test_parse("SIP/2.0 180 Ringing\r\n" VIA FROM TO CID "CSeq: 1 OPTIONS\r\n" END),
           &proxy, 0, NULL);
    /* but a response without Via is still refused (to be dropped) */
    expect(sv_test_parse("SIP/2.0 200 OK\r\n" FROM TO CID CSEQ END), &uas, 400, "Via");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(check_valid_request_passes, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_lowercase_version_passes, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_505_version, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_505_before_mandatory, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_missing_mandatory_400, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_repeated_single_value_400, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_cseq_mismatch_400, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_cseq_mismatch02_first, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_cseq_mismatch_before_others, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_416_unknown_scheme, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_sip_sips_tel_accepted, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_400_headers_in_ruri, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_contact_malformed_400, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_privacy_malformed_400, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_privacy_well_formed_passes, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_proxy_max_forwards_zero_483, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_proxy_require_unknown_420, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_proxy_483_before_420, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_proxy_require_privacy_r7, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_uas_require_not_proxy_require, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_proxy_ignores_require, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_ack_cancel_ignore_require, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(check_responses_pass, sv_test_arena_setup,
                                    sv_test_arena_teardown),
};

SV_TEST_MAIN(tests)
