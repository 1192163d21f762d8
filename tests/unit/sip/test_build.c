/**
 * @file test_build.c  Messages we write ourselves: responses (RFC 3261 §8.2.6), CANCEL
 * (§9.1), the ACK of a non-2xx final response (§17.1.1.3), branches and tags. Everything
 * built must parse back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest_sip.h"

static char out[8192];

/* What we build must parse back as a whole: nothing left over. */
static const struct sip_msg *parse_n(const char *s, size_t l)
{
    const struct sip_msg *m = sv_test_parse_n(s, l);

    assert_int_equal(m->raw.l, l);
    return m;
}

static const struct sip_msg *parse(const char *s)
{
    return parse_n(s, strlen(s));
}

#define VIA1 "SIP/2.0/UDP proxy2.example.com:5060;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2"
#define VIA2 "SIP/2.0/UDP proxy1.example.com:5060;branch=z9hG4bK2d4790.1"
#define VIA3 "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds"
#define FROM_V "\"Alice\" <sip:alice@example.com>;tag=1928301774"
#define TO_V "Bob <sip:bob@example.com>"
#define CID_V "a84b4c76e66710@pc33.example.com"

static const char invite[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
                             "Via: " VIA1 "\r\n"
                             "v: " VIA2 "\r\n"
                             "Via: " VIA3 "\r\n"
                             "Max-Forwards: 68\r\n"
                             "Route: <sip:p3.example.com;lr>\r\n"
                             "To: " TO_V "\r\n"
                             "f: " FROM_V "\r\n"
                             "Call-ID: " CID_V "\r\n"
                             "CSeq: 314159 INVITE\r\n"
                             "Route: <sip:p4.example.com;lr>, <sip:p5.example.com;lr>\r\n"
                             "Contact: <sip:alice@pc33.example.com>\r\n"
                             "Content-Type: application/sdp\r\n"
                             "Content-Length: 4\r\n"
                             "\r\n"
                             "v=0\n";

/* ---- responses ---- */

/* RFC 3261 §8.2.6.2: Vias in order, From, To with the UAS tag, Call-ID, CSeq. */
static void resp_exact_bytes(void **state)
{
    const struct sip_msg *req = parse(invite);
    size_t n = 0;

    assert_int_equal(sip_resp_build(req, 486, "Busy Here", SV_LIT("a6c85cf"),
                                    SV_LIT("Retry-After: 60\r\n"), out, sizeof(out), &n),
                     0);
    sv_test_expect_bytes(out, n,
                         "SIP/2.0 486 Busy Here\r\n"
                         "Via: " VIA1 "\r\n"
                         "Via: " VIA2 "\r\n"
                         "Via: " VIA3 "\r\n"
                         "From: " FROM_V "\r\n"
                         "To: " TO_V ";tag=a6c85cf\r\n"
                         "Call-ID: " CID_V "\r\n"
                         "CSeq: 314159 INVITE\r\n"
                         "Retry-After: 60\r\n"
                         "Content-Length: 0\r\n"
                         "\r\n");
}

static void resp_parses_back(void **state)
{
    const struct sip_msg *req = parse(invite), *r;
    size_t n = 0;

    assert_int_equal(sip_resp_build(req, 180, "Ringing", SV_LIT("t1"),
                                    SV_LIT("Contact: <sip:bob@192.0.2.4>\r\nX-A: b\r\n"), out,
                                    sizeof(out), &n),
                     0);
    r = parse_n(out, n);
    assert_false(r->req);
    assert_int_equal(r->scode, 180);
    assert_slice_equal(r->reason, "Ringing");
    assert_int_equal(r->count[SIP_HDR_VIA], 3);
    const struct sip_hdr *h = sip_msg_hdr(r, SIP_HDR_VIA);
    assert_slice_equal(h->value, VIA1);
    assert_slice_equal((h = sip_msg_hdr_next(r, h))->value, VIA2);
    assert_slice_equal((h = sip_msg_hdr_next(r, h))->value, VIA3);
    assert_slice_equal(r->via.branch, "z9hG4bK77ef4c2312983.1");
    assert_slice_equal(r->from.tag, "1928301774");
    assert_slice_equal(r->to.tag, "t1");
    assert_slice_equal(r->callid, CID_V);
    assert_int_equal(r->cseq.num, 314159);
    assert_int_equal(r->cseq.mid, SIP_METHOD_INVITE);
    assert_int_equal(r->count[SIP_HDR_CONTACT], 1);
    assert_int_equal(r->count[SIP_HDR_ROUTE], 0); /* Route is not echoed */
    assert_true(r->has_clen);
    assert_int_equal(r->clen, 0);
    assert_int_equal(r->body.l, 0);
}

/* §8.2.6.2: 100 Trying carries no To tag. */
static void resp_100_no_tag(void **state)
{
    const struct sip_msg *req = parse(invite), *r;
    size_t n = 0;

    assert_int_equal(
        sip_resp_build(req, 100, "Trying", SV_LIT("t1"), SV_LIT(""), out, sizeof(out), &n), 0);
    r = parse_n(out, n);
    assert_int_equal(r->scode, 100);
    assert_slice_unset(r->to.tag);
    assert_slice_equal(sip_msg_hdr(r, SIP_HDR_TO)->value, TO_V);
}

/* §12.2.1.1: a request inside a dialog has a To tag already; it is kept and not doubled. */
static void resp_existing_tag_kept(void **state)
{
    static const char bye[] = "BYE sip:alice@pc33.example.com SIP/2.0\r\n"
                              "Via: " VIA3 "\r\n"
                              "To: <sip:alice@example.com>;tag=orig\r\n"
                              "From: <sip:bob@example.com>;tag=b1\r\n"
                              "Call-ID: x\r\n"
                              "CSeq: 2 BYE\r\n"
                              "Content-Length: 0\r\n\r\n";
    const struct sip_msg *req = parse(bye), *r;
    size_t n = 0;

    assert_int_equal(
        sip_resp_build(req, 200, "OK", SV_LIT("new"), SV_LIT(""), out, sizeof(out), &n), 0);
    r = parse_n(out, n);
    assert_slice_equal(r->to.tag, "orig");
    assert_slice_equal(sip_msg_hdr(r, SIP_HDR_TO)->value, "<sip:alice@example.com>;tag=orig");
}

static void resp_no_totag_given(void **state)
{
    const struct sip_msg *req = parse(invite), *r;
    size_t n = 0;

    assert_int_equal(sip_resp_build(req, 400, "Bad Request", sv_slice_make(NULL, 0), SV_LIT(""),
                                    out, sizeof(out), &n),
                     0);
    r = parse_n(out, n);
    assert_slice_unset(r->to.tag);
}

static void resp_null_reason(void **state)
{
    const struct sip_msg *req = parse(invite), *r;
    size_t n = 0;

    assert_int_equal(sip_resp_build(req, 503, NULL, SV_LIT("t"), SV_LIT(""), out, sizeof(out), &n),
                     0);
    assert_memory_equal(out, "SIP/2.0 503 \r\n", 14);
    r = parse_n(out, n);
    assert_int_equal(r->scode, 503);
    assert_int_equal(r->reason.l, 0);
}

/* A request that lacks From or Call-ID (the 400 for it): the response leaves them out. */
static void resp_to_incomplete_request(void **state)
{
    const struct sip_msg *req = parse("OPTIONS sip:a@b SIP/2.0\r\nVia: " VIA3 "\r\n"
                                      "CSeq: 1 OPTIONS\r\n\r\n");
    size_t n = 0;

    assert_int_equal(
        sip_resp_build(req, 400, "Bad Request", SV_LIT("t"), SV_LIT(""), out, sizeof(out), &n), 0);
    sv_test_expect_bytes(out, n,
                         "SIP/2.0 400 Bad Request\r\nVia: " VIA3 "\r\nCSeq: 1 OPTIONS\r\n"
                         "Content-Length: 0\r\n\r\n");
}

/* ENOSPC says how much is needed, and nothing is written past the buffer (ASan). */
static void resp_enospc_reports_size(void **state)
{
    const struct sip_msg *req = parse(invite);
    size_t n = 0, need;

    assert_int_equal(sip_resp_build(req, 200, "OK", SV_LIT("t"), SV_LIT(""), out, sizeof(out), &n),
                     0);
    need = n;
    for (size_t sz = 0; sz < need; sz += 7) {
        char *b = malloc(sz ? sz : 1);
        assert_non_null(b);
        n = 0;
        assert_int_equal(sip_resp_build(req, 200, "OK", SV_LIT("t"), SV_LIT(""), b, sz, &n),
                         ENOSPC);
        assert_int_equal(n, need);
        free(b);
    }
    char *b = malloc(need);
    assert_non_null(b);
    assert_int_equal(sip_resp_build(req, 200, "OK", SV_LIT("t"), SV_LIT(""), b, need, &n), 0);
    assert_int_equal(n, need);
    assert_memory_equal(b, out, need);
    free(b);
}

/* ---- CANCEL and ACK ---- */

/* RFC 3261 §9.1: same Request-URI, Call-ID, To, From and CSeq number; only the top Via;
 * the Route set of the request. */
static void cancel_exact_and_parses_back(void **state)
{
    const struct sip_msg *req = parse(invite), *c;
    size_t n = 0;

    assert_int_equal(sip_cancel_build(req, out, sizeof(out), &n), 0);
    sv_test_expect_bytes(out, n,
                         "CANCEL sip:bob@example.com SIP/2.0\r\n"
                         "Via: " VIA1 "\r\n"
                         "Route: <sip:p3.example.com;lr>\r\n"
                         "Route: <sip:p4.example.com;lr>, <sip:p5.example.com;lr>\r\n"
                         "From: " FROM_V "\r\n"
                         "To: " TO_V "\r\n"
                         "Call-ID: " CID_V "\r\n"
                         "CSeq: 314159 CANCEL\r\n"
                         "Max-Forwards: 70\r\n"
                         "Content-Length: 0\r\n\r\n");
    c = parse_n(out, n);
    assert_true(c->req);
    assert_int_equal(c->mid, SIP_METHOD_CANCEL);
    assert_slice_equal(c->ruri_s, "sip:bob@example.com");
    assert_int_equal(c->count[SIP_HDR_VIA], 1);
    assert_slice_equal(c->via.branch, "z9hG4bK77ef4c2312983.1");
    assert_int_equal(c->count[SIP_HDR_ROUTE], 2);
    assert_int_equal(c->cseq.num, 314159);
    assert_int_equal(c->cseq.mid, SIP_METHOD_CANCEL);
    assert_slice_equal(c->from.tag, "1928301774");
    assert_slice_unset(c->to.tag);
    assert_int_equal(c->body.l, 0);
}

/* Only the top via-parm, even when the top Via line holds several. */
static void cancel_top_via_parm_only(void **state)
{
    const struct sip_msg *req =
        parse("INVITE sip:b@h SIP/2.0\r\nVia: " VIA1 " , " VIA2 "\r\nFrom: <sip:a@h>;tag=1\r\n"
              "To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 9 INVITE\r\nContent-Length: 0\r\n\r\n");
    const struct sip_msg *c;
    size_t n = 0;

    assert_int_equal(sip_cancel_build(req, out, sizeof(out), &n), 0);
    c = parse_n(out, n);
    assert_int_equal(c->count[SIP_HDR_VIA], 1);
    assert_slice_equal(sip_msg_hdr(c, SIP_HDR_VIA)->value, VIA1);
    assert_int_equal(c->count[SIP_HDR_ROUTE], 0);
}

static const char resp487[] = "SIP/2.0 487 Request Terminated\r\n"
                              "Via: " VIA1 "\r\n"
                              "Via: " VIA2 "\r\n"
                              "Via: " VIA3 "\r\n"
                              "From: " FROM_V "\r\n"
                              "To: " TO_V ";tag=8321234356\r\n"
                              "Call-ID: " CID_V "\r\n"
                              "CSeq: 314159 INVITE\r\n"
                              "Content-Length: 0\r\n\r\n";

/* RFC 3261 §17.1.1.3: To from the response (with its tag), the rest as CANCEL. */
static void ack_for_487_parses_back(void **state)
{
    const struct sip_msg *req = parse(invite), *resp = parse(resp487), *a;
    size_t n = 0;

    assert_int_equal(sip_ack_build(req, resp, out, sizeof(out), &n), 0);
    sv_test_expect_bytes(out, n,
                         "ACK sip:bob@example.com SIP/2.0\r\n"
                         "Via: " VIA1 "\r\n"
                         "Route: <sip:p3.example.com;lr>\r\n"
                         "Route: <sip:p4.example.com;lr>, <sip:p5.example.com;lr>\r\n"
                         "From: " FROM_V "\r\n"
                         "To: " TO_V ";tag=8321234356\r\n"
                         "Call-ID: " CID_V "\r\n"
                         "CSeq: 314159 ACK\r\n"
                         "Max-Forwards: 70\r\n"
                         "Content-Length: 0\r\n\r\n");
    a = parse_n(out, n);
    assert_int_equal(a->mid, SIP_METHOD_ACK);
    assert_int_equal(a->cseq.mid, SIP_METHOD_ACK);
    assert_int_equal(a->cseq.num, 314159);
    assert_slice_equal(a->to.tag, "8321234356");
    assert_slice_equal(a->via.branch, "z9hG4bK77ef4c2312983.1");
    assert_int_equal(a->count[SIP_HDR_VIA], 1);
}

/* The ACK of a 2xx is built by the UA core (§13.2.2.4), not here. */
static void ack_refuses_2xx_and_requests(void **state)
{
    const struct sip_msg *req = parse(invite);
    const struct sip_msg *ok = parse("SIP/2.0 200 OK\r\nVia: " VIA1 "\r\nTo: <sip:b@h>;tag=1\r\n"
                                     "From: <sip:a@h>;tag=2\r\nCall-ID: c\r\n"
                                     "CSeq: 1 INVITE\r\n\r\n");
    size_t n = 0;

    assert_int_equal(sip_ack_build(req, ok, out, sizeof(out), &n), EINVAL);
    assert_int_equal(sip_ack_build(req, req, out, sizeof(out), &n), EINVAL);
    assert_int_equal(sip_cancel_build(ok, out, sizeof(out), &n), EINVAL);
}

static void cancel_ack_enospc_reports_size(void **state)
{
    const struct sip_msg *req = parse(invite), *resp = parse(resp487);
    size_t n = 0, need;
    char small[16];

    assert_int_equal(sip_cancel_build(req, out, sizeof(out), &n), 0);
    need = n;
    assert_int_equal(sip_cancel_build(req, small, sizeof(small), &n), ENOSPC);
    assert_int_equal(n, need);
    assert_int_equal(sip_ack_build(req, resp, out, sizeof(out), &n), 0);
    need = n;
    assert_int_equal(sip_ack_build(req, resp, small, sizeof(small), &n), ENOSPC);
    assert_int_equal(n, need);
}

/* ---- branch and tag ---- */

static bool all_in_alphabet(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    }
    return true;
}

/* RFC 3261 §8.1.1.7: the branch starts with the magic cookie z9hG4bK. */
static void branch_has_cookie_and_differs(void **state)
{
    char a[32], b[32];

    sip_branch_gen(a, sizeof(a));
    sip_branch_gen(b, sizeof(b));
    assert_memory_equal(a, "z9hG4bK", 7);
    assert_memory_equal(b, "z9hG4bK", 7);
    assert_int_equal(strlen(a), 7 + 22);
    assert_true(all_in_alphabet(a + 7, 22));
    assert_string_not_equal(a, b);

    /* and it is a valid Via branch */
    char via[128];
    struct sip_via v;
    int l = snprintf(via, sizeof(via), "SIP/2.0/UDP h;branch=%s", a);
    struct sv_slice cur = sv_slice_make(via, (size_t)l);
    assert_int_equal(sip_via_next(&cur, &v), 0);
    assert_slice_equal(v.branch, a);
    assert_true(sip_via_branch_is_rfc3261(&v));
}

static void branch_small_buffer_is_empty(void **state)
{
    char b[29];

    memset(b, 'x', sizeof(b));
    sip_branch_gen(b, sizeof(b));
    assert_int_equal(b[0], '\0');
    sip_branch_gen(b, 0); /* nothing written at all */
}

/* RFC 3261 §19.3: tags need 32 bits of randomness at least; ours are 16 characters. */
static void tag_length_16_and_differs(void **state)
{
    char a[17], b[17];

    memset(a, 'x', sizeof(a));
    sip_tag_gen(a, sizeof(a));
    sip_tag_gen(b, sizeof(b));
    assert_int_equal(strlen(a), 16);
    assert_true(all_in_alphabet(a, 16));
    assert_string_not_equal(a, b);

    char c[16];
    memset(c, 'x', sizeof(c));
    sip_tag_gen(c, sizeof(c));
    assert_int_equal(c[0], '\0');
}

static void tags_unique_over_many(void **state)
{
    enum { N = 512 };
    static char t[N][17];

    for (int i = 0; i < N; i++)
        sip_tag_gen(t[i], sizeof(t[i]));
    for (int i = 0; i < N; i++) {
        for (int j = i + 1; j < N; j++)
            assert_string_not_equal(t[i], t[j]);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(resp_exact_bytes, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(resp_parses_back, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(resp_100_no_tag, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(resp_existing_tag_kept, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(resp_no_totag_given, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(resp_null_reason, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(resp_to_incomplete_request, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(resp_enospc_reports_size, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(cancel_exact_and_parses_back, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(cancel_top_via_parm_only, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(ack_for_487_parses_back, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(ack_refuses_2xx_and_requests, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(cancel_ack_enospc_reports_size, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test(branch_has_cookie_and_differs),
    cmocka_unit_test(branch_small_buffer_is_empty),
    cmocka_unit_test(tag_length_16_and_differs),
    cmocka_unit_test(tags_unique_over_many),
};

SV_TEST_MAIN(tests)
