/**
 * @file test_msg.c  sip_msg_parse (the scanner and the eager decode of Via, From, To,
 * Call-ID, CSeq, Max-Forwards, Content-Length), sip_msg_hdr, sip_msg_hdr_next,
 * sip_msg_hdr_byname, and the out-of-memory sweep over the parse path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

/* Inputs are copied by sv_test_heap_n into heap blocks of exactly their length, so ASan
 * reports any read past the end of the message. Cases that parse use the sv_test_arena
 * fixtures. */
static struct sip_msg *const untouched = (struct sip_msg *)(uintptr_t)0x5a5a5a5a;

static int parse_n(struct sip_msg **m, const char *s, size_t l, enum sip_transport_kind mode,
                   const struct sip_limits *lim, struct sip_perr *err)
{
    *m = untouched;
    return sip_msg_parse(m, sv_test_arena(), sv_test_heap_n(s, l).p, l, mode, lim, err);
}

static int parse(struct sip_msg **m, const char *s, struct sip_perr *err)
{
    return parse_n(m, s, strlen(s), SIP_DGRAM, NULL, err);
}

/* Parse, expecting success. */
static struct sip_msg *ok(const char *s)
{
    struct sip_msg *m;
    struct sip_perr err = {0};
    int e = parse(&m, s, &err);

    if (e)
        print_error("parse: %d (%s at %zu)\n", e, err.reason ? err.reason : "-", err.off);
    assert_int_equal(e, 0);
    assert_ptr_not_equal(m, untouched);
    return m;
}

/* Parse, expecting EBADMSG before anything was decoded (*msgp untouched). */
static void bad(const char *s)
{
    struct sip_msg *m;
    struct sip_perr err = {0};
    int e = parse(&m, s, &err);

    if (e != EBADMSG)
        print_error("\"%s\" gave %d\n", s, e);
    assert_int_equal(e, EBADMSG);
    assert_non_null(err.reason);
    assert_int_equal(err.status, 400);
    assert_ptr_equal(m, untouched);
}

/* Parse, expecting EBADMSG for a request whose request line is malformed: the message is
 * still scanned and *msgp set, so that a server can answer 400 (RFC 4475 lwsstart, trws). */
static void bad_request_line(const char *s)
{
    struct sip_msg *m;
    struct sip_perr err = {0};
    int e = parse(&m, s, &err);

    if (e != EBADMSG)
        print_error("\"%s\" gave %d\n", s, e);
    assert_int_equal(e, EBADMSG);
    assert_non_null(err.reason);
    assert_int_equal(err.status, 400);
    assert_ptr_not_equal(m, untouched);
    assert_true(m->req);
    assert_true(strncmp(err.reason, "request line", 12) == 0);
}

static const char invite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "v: SIP/2.0/TCP p1.example.com;branch=z9hG4bKa, SIP/2.0/UDP p2.example.com;branch=z9hG4bKb\r\n"
    "Max-Forwards: 70\r\n"
    "X-First: one\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "f: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Route: <sip:p1.example.com;lr>\r\n"
    "x-first:   two  \r\n"
    "Subject: folded\r\n value\r\n"
    "Route: <sip:p2.example.com;lr>\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "Content-Type: application/sdp\r\n"
    "l: 4\r\n"
    "\r\n"
    "v=0\n";

enum {
    I_VIA,
    I_V,
    I_MF,
    I_X1,
    I_TO,
    I_F,
    I_CID,
    I_CSEQ,
    I_R1,
    I_X2,
    I_SUBJ,
    I_R2,
    I_CT,
    I_CTYPE,
    I_L,
    I_N
};

/* ---- start lines ---- */

static void msg_request_line(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_true(m->req);
    assert_slice_equal(m->start, "INVITE sip:bob@biloxi.example.com SIP/2.0");
    assert_slice_equal(m->method, "INVITE");
    assert_int_equal(m->mid, SIP_METHOD_INVITE);
    assert_slice_equal(m->ruri_s, "sip:bob@biloxi.example.com");
    assert_int_equal(m->ruri.scheme, SIP_URI_SIP);
    assert_slice_equal(m->ruri.user, "bob");
    assert_slice_equal(m->ruri.host, "biloxi.example.com");
    assert_slice_equal(m->version, "SIP/2.0");
    assert_int_equal(m->raw.l, strlen(invite));
}

/* RFC 4475 §3.1.1.2 intmeth: an extension method is a token, kept as written. */
static void msg_request_unknown_method(void **state)
{
    struct sip_msg *m =
        ok("!interesting-Method0123456789_*+`.%indeed'~ "
           "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com SIP/2.0\r\n\r\n");

    assert_true(m->req);
    assert_int_equal(m->mid, SIP_METHOD_OTHER);
    assert_slice_equal(m->method, "!interesting-Method0123456789_*+`.%indeed'~");
}

/* RFC 3261 §7.1: methods are case-sensitive; "invite" is an extension method. */
static void msg_request_method_case(void **state)
{
    struct sip_msg *m = ok("invite sip:a@b SIP/2.0\r\n\r\n");
    assert_int_equal(m->mid, SIP_METHOD_OTHER);
}

static void msg_response_line(void **state)
{
    struct sip_msg *m = ok("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n");

    assert_false(m->req);
    assert_int_equal(m->scode, 180);
    assert_slice_equal(m->reason, "Ringing");
    assert_slice_equal(m->version, "SIP/2.0");
    assert_slice_equal(m->start, "SIP/2.0 180 Ringing");
    assert_slice_unset(m->method);
}

/* RFC 3261 §25.1: Reason-Phrase may hold spaces and UTF-8 (RFC 4475 §3.1.1.12 unreason). */
static void msg_response_reason_with_spaces(void **state)
{
    struct sip_msg *m = ok("SIP/2.0 404 Not  Found \xe2\x98\x85\r\n\r\n");

    assert_int_equal(m->scode, 404);
    assert_slice_equal(m->reason, "Not  Found \xe2\x98\x85");
}

/* RFC 4475 §3.1.1.13 noreason: "SIP/2.0 100 " with an empty reason phrase; and without the
 * space, which robust parsers take too. */
static void msg_response_noreason(void **state)
{
    struct sip_msg *m = ok("SIP/2.0 100 \r\n\r\n");

    assert_int_equal(m->scode, 100);
    assert_non_null(m->reason.p);
    assert_int_equal(m->reason.l, 0);
    m = ok("SIP/2.0 100\r\n\r\n");
    assert_int_equal(m->scode, 100);
    assert_int_equal(m->reason.l, 0);
}

/* Status-Code is 3DIGIT from 100 to 699 (RFC 3261 §7.2; RFC 4475 §3.1.2.19 bigcode). */
static void msg_response_bad_codes(void **state)
{
    bad("SIP/2.0 4294967301 better not break the receiver\r\n\r\n");
    bad("SIP/2.0 1000 Too long\r\n\r\n");
    bad("SIP/2.0 99 Short\r\n\r\n");
    bad("SIP/2.0 099 Low\r\n\r\n");
    bad("SIP/2.0 700 High\r\n\r\n");
    bad("SIP/2.0 20a Letter\r\n\r\n");
    bad("SIP/2.0 200x\r\n\r\n");
    bad("SIP/2.0 -20 Neg\r\n\r\n");
    bad("SIP/2.0  200 Two spaces\r\n\r\n");
    bad("SIP/2.0 \r\n\r\n");
    bad("SIP/2.0\r\n\r\n");
}

static void msg_response_code_bounds(void **state)
{
    assert_int_equal(ok("SIP/2.0 100 a\r\n\r\n")->scode, 100);
    assert_int_equal(ok("SIP/2.0 699 a\r\n\r\n")->scode, 699);
}

/* RFC 3261 §7.1: the SIP-Version is case-insensitive; whether we speak it is for
 * sip_msg_check (505). */
static void msg_version_lowercase(void **state)
{
    struct sip_msg *m = ok("INVITE sip:a@b sip/2.0\r\n\r\n");

    assert_true(m->req);
    assert_slice_equal(m->version, "sip/2.0");
    m = ok("sip/2.0 200 OK\r\n\r\n");
    assert_false(m->req);
    assert_int_equal(m->scode, 200);
}

/* RFC 4475 §3.1.2.16 badvers: SIP/7.0 is well-formed, only unsupported. */
static void msg_version_other_parses(void **state)
{
    assert_slice_equal(ok("OPTIONS sip:t@example.com SIP/7.0\r\n\r\n")->version, "SIP/7.0");
}

static void msg_version_malformed(void **state)
{
    bad_request_line("INVITE sip:a@b SIP/2\r\n\r\n");
    bad_request_line("INVITE sip:a@b SIP2.0\r\n\r\n");
    bad_request_line("INVITE sip:a@b SIP/2.0a\r\n\r\n");
    bad_request_line("INVITE sip:a@b SIP/.0\r\n\r\n");
    bad_request_line("INVITE sip:a@b SIP/2.\r\n\r\n");
    bad_request_line("INVITE sip:a@b HTTP/1.1\r\n\r\n");
    bad("SIP/2. 200 OK\r\n\r\n");
    bad("SIPS/2.0 200 OK\r\n\r\n");
}

static void msg_request_line_malformed(void **state)
{
    bad("INVITE\r\n\r\n");
    bad_request_line("INVITE sip:a@b\r\n\r\n");
    bad(" sip:a@b SIP/2.0\r\n\r\n");                     /* empty method: not even a request */
    bad_request_line("INVITE  sip:a@b SIP/2.0\r\n\r\n"); /* RFC 4475 lwsstart */
    bad_request_line("INVITE sip:a@b SIP/2.0 \r\n\r\n"); /* RFC 4475 trws */
    bad_request_line("INVITE sip:a@b  SIP/2.0\r\n\r\n");
    bad_request_line("INV(ITE sip:a@b SIP/2.0\r\n\r\n");  /* method not a token */
    bad_request_line("INVITE <sip:a@b> SIP/2.0\r\n\r\n"); /* RFC 4475 ltgtruri */
    bad_request_line("INVITE sip:a@b\tSIP/2.0\r\n\r\n");
    bad("\r\nINVITE sip:a@b SIP/2.0\r\n\r\n"); /* leading CRLF is the caller's to skip */
}

/* ---- headers ---- */

static void msg_header_ids_in_order(void **state)
{
    static const enum sip_hdr_id ids[I_N] = {
        SIP_HDR_VIA,     SIP_HDR_VIA,          SIP_HDR_MAX_FORWARDS,   SIP_HDR_OTHER,
        SIP_HDR_TO,      SIP_HDR_FROM,         SIP_HDR_CALL_ID,        SIP_HDR_CSEQ,
        SIP_HDR_ROUTE,   SIP_HDR_OTHER,        SIP_HDR_SUBJECT,        SIP_HDR_ROUTE,
        SIP_HDR_CONTACT, SIP_HDR_CONTENT_TYPE, SIP_HDR_CONTENT_LENGTH,
    };
    struct sip_msg *m = ok(invite);

    assert_int_equal(m->hdrc, I_N);
    for (unsigned i = 0; i < I_N; i++)
        assert_int_equal(m->hdrv[i].id, ids[i]);
    /* each line's off/len covers exactly that line, its line end included */
    size_t pos = m->start.l + 2;
    for (unsigned i = 0; i < I_N; i++) {
        assert_int_equal(m->hdrv[i].off, pos);
        assert_memory_equal(m->raw.p + pos, m->hdrv[i].name.p, m->hdrv[i].name.l);
        assert_memory_equal(m->raw.p + pos + m->hdrv[i].len - 2, "\r\n", 2);
        pos += m->hdrv[i].len;
    }
    assert_int_equal(pos, m->hdr_end);
}

/* Names as written, values trimmed, unknown headers kept byte for byte. */
static void msg_unknown_headers_kept(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_slice_equal(m->hdrv[I_X1].name, "X-First");
    assert_slice_equal(m->hdrv[I_X1].value, "one");
    assert_slice_equal(m->hdrv[I_X2].name, "x-first");
    assert_slice_equal(m->hdrv[I_X2].value, "two");
    assert_memory_equal(m->raw.p + m->hdrv[I_X2].off, "x-first:   two  \r\n", 18);
    assert_int_equal(m->hdrv[I_X2].len, 18);
    /* unknown headers are chained like known ones, in order */
    assert_int_equal(m->first[SIP_HDR_OTHER], I_X1);
    assert_int_equal(m->count[SIP_HDR_OTHER], 2);
    assert_int_equal(m->hdrv[I_X1].next, I_X2);
    assert_int_equal(m->hdrv[I_X2].next, SIP_HDR_END);
}

static void msg_links_over_repeated_headers(void **state)
{
    struct sip_msg *m = ok(invite);
    const struct sip_hdr *h;

    assert_int_equal(m->first[SIP_HDR_VIA], I_VIA);
    assert_int_equal(m->count[SIP_HDR_VIA], 2);
    h = sip_msg_hdr(m, SIP_HDR_VIA);
    assert_ptr_equal(h, &m->hdrv[I_VIA]);
    h = sip_msg_hdr_next(m, h);
    assert_ptr_equal(h, &m->hdrv[I_V]);
    assert_null(sip_msg_hdr_next(m, h));

    assert_int_equal(m->count[SIP_HDR_ROUTE], 2);
    h = sip_msg_hdr(m, SIP_HDR_ROUTE);
    assert_slice_equal(h->value, "<sip:p1.example.com;lr>");
    h = sip_msg_hdr_next(m, h);
    assert_slice_equal(h->value, "<sip:p2.example.com;lr>");
    assert_null(sip_msg_hdr_next(m, h));

    assert_int_equal(m->count[SIP_HDR_CSEQ], 1);
    assert_null(sip_msg_hdr(m, SIP_HDR_REQUIRE));
    assert_int_equal(m->first[SIP_HDR_REQUIRE], SIP_HDR_END);
    assert_int_equal(m->count[SIP_HDR_REQUIRE], 0);
}

/* RFC 3261 §7.3.3 compact forms map to the same ids and keep their spelling. */
static void msg_compact_forms(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_slice_equal(m->hdrv[I_V].name, "v");
    assert_slice_equal(m->hdrv[I_F].name, "f");
    assert_slice_equal(m->hdrv[I_L].name, "l");
    assert_int_equal(m->hdrv[I_F].id, SIP_HDR_FROM);
    m = ok("OPTIONS sip:a@b SIP/2.0\r\ni: x@y\r\nt: <sip:a@b>\r\nm: <sip:c@d>\r\nk: path\r\n"
           "c: text/plain\r\ns: hi\r\ne: gzip\r\no: presence\r\nu: dialog\r\n\r\n");
    assert_int_equal(m->hdrv[0].id, SIP_HDR_CALL_ID);
    assert_int_equal(m->hdrv[1].id, SIP_HDR_TO);
    assert_int_equal(m->hdrv[2].id, SIP_HDR_CONTACT);
    assert_int_equal(m->hdrv[3].id, SIP_HDR_SUPPORTED);
    assert_int_equal(m->hdrv[4].id, SIP_HDR_CONTENT_TYPE);
    assert_int_equal(m->hdrv[5].id, SIP_HDR_SUBJECT);
    assert_int_equal(m->hdrv[6].id, SIP_HDR_CONTENT_ENCODING);
    assert_int_equal(m->hdrv[7].id, SIP_HDR_EVENT);
    assert_int_equal(m->hdrv[8].id, SIP_HDR_ALLOW_EVENTS);
    assert_slice_equal(m->callid, "x@y");
}

/* RFC 3261 §7.3.1: a folded value keeps its CRLF+WS; the line spans both physical lines. */
static void msg_folded_value(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_slice_equal(m->hdrv[I_SUBJ].value, "folded\r\n value");
    assert_int_equal(m->hdrv[I_SUBJ].len, strlen("Subject: folded\r\n value\r\n"));
}

/* RFC 4475 §3.1.1.1 wsinv: white space around the colon, folds right after it. */
static void msg_lws_around_colon(void **state)
{
    struct sip_msg *m = ok("OPTIONS sip:a@b SIP/2.0\r\nSubject  \t:\r\n\t value \r\nX-A:\r\n\r\n");

    assert_slice_equal(m->hdrv[0].name, "Subject");
    assert_slice_equal(m->hdrv[0].value, "value");
    assert_slice_equal(m->hdrv[1].name, "X-A");
    assert_non_null(m->hdrv[1].value.p);
    assert_int_equal(m->hdrv[1].value.l, 0);
}

static void msg_header_malformed(void **state)
{
    bad("OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n\r\n");
    bad("OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n");
    bad("OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n");
    bad("OPTIONS sip:a@b SIP/2.0\r\nX(: x\r\n\r\n");
    bad("OPTIONS sip:a@b SIP/2.0\r\n folded-first: x\r\n\r\n");
    bad("OPTIONS sip:a@b SIP/2.0\r\nX: y\r\n"); /* no empty line */
    bad("OPTIONS sip:a@b SIP/2.0\r\nX: y");
    bad("OPTIONS sip:a@b SIP/2.0");
}

static void msg_no_headers(void **state)
{
    struct sip_msg *m = ok("OPTIONS sip:a@b SIP/2.0\r\n\r\n");

    assert_int_equal(m->hdrc, 0);
    assert_int_equal(m->hdr_end, strlen("OPTIONS sip:a@b SIP/2.0\r\n"));
    assert_slice_unset(m->via.raw);
    assert_int_equal(m->via.ttl, -1);
    assert_false(m->has_clen);
    assert_false(m->has_max_forwards);
}

/* hdr_end is the offset of the empty line, where insertions at the end of headers go. */
static void msg_hdr_end_is_the_empty_line(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_memory_equal(m->raw.p + m->hdr_end, "\r\nv=0\n", 6);
    m = ok("OPTIONS sip:a@b SIP/2.0\nX: y\n\nbody");
    assert_memory_equal(m->raw.p + m->hdr_end, "\nbody", 5);
    m = ok("OPTIONS sip:a@b SIP/2.0\r\nX: y\n\r\nbody");
    assert_memory_equal(m->raw.p + m->hdr_end, "\r\nbody", 6);
    m = ok("OPTIONS sip:a@b SIP/2.0\r\nX: y\r\n\nbody");
    assert_memory_equal(m->raw.p + m->hdr_end, "\nbody", 5);
}

/* RFC 5118 messages use bare LF line ends. */
static void msg_lf_only(void **state)
{
    struct sip_msg *m = ok("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n"
                           "Subject: a\n b\nl: 3\n\nabc");

    assert_slice_equal(m->start, "OPTIONS sip:a@b SIP/2.0");
    assert_int_equal(m->hdrc, 3);
    assert_slice_equal(m->hdrv[0].value, "SIP/2.0/UDP h;branch=z9hG4bKx");
    assert_int_equal(m->hdrv[0].len, strlen("Via: SIP/2.0/UDP h;branch=z9hG4bKx\n"));
    assert_slice_equal(m->hdrv[1].value, "a\n b");
    assert_slice_equal(m->body, "abc");
    assert_slice_equal(m->via.host, "h");
}

/* ---- eager fields ---- */

static void msg_eager_via(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_slice_equal(m->via.raw, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds");
    assert_slice_equal(m->via.transport, "UDP");
    assert_slice_equal(m->via.host, "pc33.atlanta.example.com");
    assert_slice_equal(m->via.branch, "z9hG4bK776asdhds");
}

static void msg_eager_from_to(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_slice_equal(m->from.dname, "Alice");
    assert_slice_equal(m->from.uri_s, "sip:alice@atlanta.example.com");
    assert_slice_equal(m->from.tag, "1928301774");
    assert_slice_equal(m->to.dname, "Bob");
    assert_slice_equal(m->to.uri_s, "sip:bob@biloxi.example.com");
    assert_slice_unset(m->to.tag);

    m = ok("SIP/2.0 200 OK\r\nTo: <sip:b@h>;tag=a6c85cf\r\nFrom: sip:a@h;tag=99\r\n\r\n");
    assert_slice_equal(m->to.tag, "a6c85cf");
    assert_slice_equal(m->from.tag, "99");
    assert_slice_equal(m->from.uri_s, "sip:a@h");
}

static void msg_eager_cseq_callid_mf(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_int_equal(m->cseq.num, 314159);
    assert_slice_equal(m->cseq.method, "INVITE");
    assert_int_equal(m->cseq.mid, SIP_METHOD_INVITE);
    assert_slice_equal(m->callid, "a84b4c76e66710@pc33.atlanta.example.com");
    assert_true(m->has_max_forwards);
    assert_int_equal(m->max_forwards, 70);
    assert_true(m->has_clen);
    assert_int_equal(m->clen, 4);
}

static void msg_body_slice(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_slice_equal(m->body, "v=0\n");
    assert_ptr_equal(m->body.p, m->raw.p + m->raw.l - 4);
}

/* RFC 3261 §18.3: without Content-Length the datagram's body runs to its end. */
static void msg_body_to_datagram_end(void **state)
{
    struct sip_msg *m = ok("MESSAGE sip:a@b SIP/2.0\r\n\r\nhello\r\n");

    assert_false(m->has_clen);
    assert_slice_equal(m->body, "hello\r\n");
}

/* RFC 4475 §3.1.1.8 dblreq: octets after Content-Length are not part of the message. */
static void msg_dgram_trailing_octets_ignored(void **state)
{
    FILE *f = fopen(SV_TEST_DATA "/rfc4475/dblreq.dat", "rb");
    char buf[4096];
    size_t len;
    struct sip_msg *m;
    struct sip_perr err = {0};

    assert_non_null(f);
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(parse_n(&m, buf, len, SIP_DGRAM, NULL, &err), 0);
    assert_int_equal(m->mid, SIP_METHOD_REGISTER);
    assert_true(m->raw.l < len);
    assert_int_equal(m->count[SIP_HDR_TO], 1); /* the INVITE's "t:" is not ours */
}

/* A datagram with a wrong Content-Length is scanned to its end anyway, *msgp set with Via,
 * Call-ID and CSeq, so that a server can answer 400 with the cause (RFC 4475 clerr, ncl,
 * mcl01); the error is the Content-Length's. */
static void clen_bad(const char *s, const char *why)
{
    struct sip_msg *m;
    struct sip_perr err = {0};
    int e = parse(&m, s, &err);

    assert_int_equal(e, EBADMSG);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.reason, why);
    assert_ptr_not_equal(m, untouched);
    assert_slice_equal(m->callid, "c1");
    assert_int_equal(m->cseq.num, 7);
}

#define CL_HEAD "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: c1\r\n" \
                "CSeq: 7 OPTIONS\r\n"

static void msg_clen_errors(void **state)
{
    clen_bad(CL_HEAD "Content-Length: 10\r\n\r\nabc", "Content-Length exceeds the message");
    clen_bad(CL_HEAD "Content-Length: -1\r\n\r\n", "Content-Length: not a number");
    clen_bad(CL_HEAD "l: 1\r\nContent-Length: 2\r\n\r\nab", "Content-Length: conflicting values");
    clen_bad(CL_HEAD "Content-Length: 1x\r\n\r\nab", "Content-Length: not a number");
}

static void msg_stream_two_messages(void **state)
{
    char both[2 * sizeof(invite)];
    size_t l = strlen(invite);
    struct sip_msg *m;
    struct sip_perr err = {0};

    memcpy(both, invite, l);
    memcpy(both + l, invite, l);
    assert_int_equal(parse_n(&m, both, 2 * l, SIP_STREAM, NULL, &err), 0);
    assert_int_equal(m->raw.l, l);
    assert_slice_equal(m->body, "v=0\n");
    assert_int_equal(parse_n(&m, both, l - 1, SIP_STREAM, NULL, &err), ENODATA);
    assert_ptr_equal(m, untouched);
}

static void msg_stream_needs_clen(void **state)
{
    struct sip_msg *m;
    struct sip_perr err = {0};
    static const char s[] = "OPTIONS sip:a@b SIP/2.0\r\n\r\n";

    assert_int_equal(parse_n(&m, s, strlen(s), SIP_STREAM, NULL, &err), EBADMSG);
    assert_ptr_equal(m, untouched);
}

/* sip_msg_parse's contract: a header decoder failing after the scan still hands out the
 * message, so a server can answer 400 with the Via, Call-ID and CSeq it has. */
static void msg_decoder_failure_still_sets_msgp(void **state)
{
    struct sip_msg *m;
    struct sip_perr err = {0};
    static const char s[] = "INVITE sip:b@h SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                            "From: \"unterminated <sip:a@h>;tag=1\r\n"
                            "To: <sip:b@h>\r\n"
                            "Call-ID: c1\r\n"
                            "CSeq: 7 INVITE\r\n"
                            "Max-Forwards: 70\r\n\r\n";

    assert_int_equal(parse(&m, s, &err), EBADMSG);
    assert_ptr_not_equal(m, untouched);
    assert_non_null(m);
    assert_non_null(strstr(err.reason, "From"));
    assert_int_equal(err.off, strstr(s, "From") - s);
    assert_slice_equal(m->via.branch, "z9hG4bK1");
    assert_slice_equal(m->callid, "c1");
    assert_int_equal(m->cseq.num, 7);
    assert_slice_equal(m->to.uri_s, "sip:b@h");
    assert_int_equal(m->max_forwards, 70);
    assert_slice_unset(m->from.raw);
}

/* The first failure is reported; the others are decoded anyway or cleared. */
static void msg_decoder_failures_first_reported(void **state)
{
    struct sip_msg *m;
    struct sip_perr err = {0};
    static const char s[] = "INVITE sip:b@h SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                            "CSeq: x INVITE\r\n"
                            "Call-ID: c1\r\n"
                            "Max-Forwards: 256\r\n\r\n";

    assert_int_equal(parse(&m, s, &err), EBADMSG);
    assert_ptr_not_equal(m, untouched);
    assert_non_null(strstr(err.reason, "CSeq"));
    assert_int_equal(m->cseq.num, 0);
    assert_slice_unset(m->cseq.method);
    assert_slice_equal(m->callid, "c1");
    assert_false(m->has_max_forwards);
}

static void msg_via_failure_clears_via(void **state)
{
    struct sip_msg *m;
    struct sip_perr err = {0};

    assert_int_equal(
        parse(&m, "INVITE sip:b@h SIP/2.0\r\nVia: garbage\r\nCall-ID: c\r\n\r\n", &err), EBADMSG);
    assert_ptr_not_equal(m, untouched);
    assert_non_null(strstr(err.reason, "Via"));
    assert_slice_unset(m->via.raw);
    assert_int_equal(m->via.ttl, -1);
    assert_slice_equal(m->callid, "c");
}

static void msg_hdr_byname(void **state)
{
    struct sip_msg *m = ok(invite);

    assert_ptr_equal(sip_msg_hdr_byname(m, SV_LIT("Via")), &m->hdrv[I_VIA]);
    assert_ptr_equal(sip_msg_hdr_byname(m, SV_LIT("v")), &m->hdrv[I_VIA]);
    assert_ptr_equal(sip_msg_hdr_byname(m, SV_LIT("FROM")), &m->hdrv[I_F]);
    assert_ptr_equal(sip_msg_hdr_byname(m, SV_LIT("Content-Length")), &m->hdrv[I_L]);
    assert_ptr_equal(sip_msg_hdr_byname(m, SV_LIT("X-FIRST")), &m->hdrv[I_X1]);
    assert_null(sip_msg_hdr_byname(m, SV_LIT("X-Second")));
    assert_null(sip_msg_hdr_byname(m, SV_LIT("Require")));
    assert_null(sip_msg_hdr_byname(m, SV_LIT("X-Firs")));
}

/* ---- caps (the datagram path scans without sip_frame) ---- */

static const struct sip_limits small = {
    .max_msg = 400,
    .max_headers = 4,
    .max_start_line = 40,
    .max_header = 30,
};

static int parse_with(const char *sl_fill, size_t sl_len, size_t hdr_len, unsigned nhdr,
                      const char *eol, enum sip_transport_kind mode, struct sip_perr *err)
{
    char m[2048];
    size_t l = 0;
    struct sip_msg *msg;

    /* start line "OPTIONS sip:" + a... + "@h SIP/2.0" */
    memcpy(m, "OPTIONS sip:", 12);
    memset(m + 12, sl_fill[0], sl_len - 22);
    memcpy(m + sl_len - 10, "@h SIP/2.0", 10);
    l = sl_len;
    l += (size_t)snprintf(m + l, sizeof(m) - l, "%s", eol);
    for (unsigned i = 0; i < nhdr; i++) {
        memcpy(m + l, "X-Pad: ", 7);
        memset(m + l + 7, 'p', hdr_len - 7);
        l += hdr_len;
        l += (size_t)snprintf(m + l, sizeof(m) - l, "%s", eol);
    }
    l += (size_t)snprintf(m + l, sizeof(m) - l, "l: 0%s%s", eol, eol);
    return parse_n(&msg, m, l, mode, &small, err);
}

/* A start line of @p sl_len and one header line of @p hdr_len octets parse; @p sl_over and
 * @p hdr_over octets are refused with EMSGSIZE naming @p cap. With either line end, in either
 * mode. */
static void expect_line_cap(size_t sl_len, size_t hdr_len, size_t sl_over, size_t hdr_over,
                            const char *cap)
{
    static const char *const eols[] = {"\r\n", "\n"};
    struct sip_perr err;

    for (size_t i = 0; i < 2; i++) {
        for (int mode = SIP_DGRAM; mode <= SIP_STREAM; mode++) {
            assert_int_equal(parse_with("a", sl_len, hdr_len, 1, eols[i], mode, &err), 0);
            memset(&err, 0, sizeof(err));
            assert_int_equal(parse_with("a", sl_over, hdr_over, 1, eols[i], mode, &err), EMSGSIZE);
            assert_non_null(strstr(err.reason, cap));
        }
    }
}

static void msg_cap_start_line(void **state)
{
    expect_line_cap(40, 10, 41, 10, "max_start_line");
}

static void msg_cap_header_line(void **state)
{
    expect_line_cap(30, 30, 30, 31, "max_header");
}

static void msg_cap_header_count(void **state)
{
    struct sip_perr err;

    for (int mode = SIP_DGRAM; mode <= SIP_STREAM; mode++) {
        assert_int_equal(parse_with("a", 30, 10, 3, "\r\n", mode, &err), 0);
        memset(&err, 0, sizeof(err));
        assert_int_equal(parse_with("a", 30, 10, 4, "\r\n", mode, &err), EMSGSIZE);
        assert_non_null(strstr(err.reason, "max_headers"));
    }
}

static void msg_cap_msg(void **state)
{
    char m[512];
    struct sip_msg *msg;
    struct sip_perr err = {0};
    static const char head[] = "MESSAGE sip:a@h SIP/2.0\r\n\r\n";
    size_t hl = sizeof(head) - 1;

    memcpy(m, head, hl);
    memset(m + hl, 'b', sizeof(m) - hl);
    assert_int_equal(parse_n(&msg, m, small.max_msg, SIP_DGRAM, &small, &err), 0);
    assert_int_equal(msg->body.l, small.max_msg - hl);
    assert_int_equal(parse_n(&msg, m, small.max_msg + 1, SIP_DGRAM, &small, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_msg"));
    assert_ptr_equal(msg, untouched);
}

/* The header index starts small and grows; links must survive the move. */
static void msg_many_headers(void **state)
{
    char m[8192];
    int l = snprintf(m, sizeof(m), "OPTIONS sip:a@b SIP/2.0\r\n");
    struct sip_msg *msg;

    for (int i = 0; i < 200; i++)
        l += snprintf(m + l, sizeof(m) - (size_t)l, "%s: %d\r\n", i % 2 ? "Route" : "X-N", i);
    l += snprintf(m + l, sizeof(m) - (size_t)l, "\r\n");
    assert_int_equal(parse_n(&msg, m, (size_t)l, SIP_DGRAM, NULL, NULL), 0);
    assert_int_equal(msg->hdrc, 200);
    assert_int_equal(msg->count[SIP_HDR_ROUTE], 100);
    int i = 1;
    for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_ROUTE); h;
         h = sip_msg_hdr_next(msg, h), i += 2) {
        char v[12];
        snprintf(v, sizeof(v), "%d", i);
        assert_slice_equal(h->value, v);
    }
    assert_int_equal(i, 201);
}

/* Header indices are 16 bits (SIP_HDR_END is 0xffff): however high max_headers is set, a
 * message with more lines than the index can name is refused, not chained into a loop. */
static void msg_header_count_fits_index(void **state)
{
    struct sip_limits lim = sip_limits_default;
    size_t nh = 70000, l = 0;
    char *m = malloc(64 + nh * 4);
    struct sip_msg *msg;
    struct sip_perr err = {0};

    assert_non_null(m);
    lim.max_msg = 1u << 20;
    lim.max_headers = 100000;
    l += (size_t)sprintf(m, "OPTIONS sip:a@b SIP/2.0\r\n");
    for (size_t i = 0; i < nh; i++, l += 4)
        memcpy(m + l, "X:\r\n", 4);
    memcpy(m + l, "\r\n", 2);
    l += 2;
    int e = sip_msg_parse(&msg, sv_test_arena(), m, l, SIP_DGRAM, &lim, &err);
    free(m);
    assert_int_equal(e, EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_headers"));
}

/* ---- out of memory ---- */

/*
 * The OOM sweep: with an arena that has no block of its own, every allocation of the parse
 * reaches the heap. Fail the n-th for n = 0, 1, 2 ... until the parse succeeds: each failing
 * step must say ENOMEM, leave *msgp alone, and leak nothing once the arena is closed
 * (LeakSanitizer checks at exit).
 */
static void msg_oom_sweep(void **state)
{
    char m[8192];
    int l = snprintf(m, sizeof(m), "%s", invite);
    long n;
    int e = ENOMEM;

    /* enough headers to make the index grow */
    l -= (int)strlen("l: 4\r\n\r\nv=0\n");
    for (int i = 0; i < 120; i++)
        l += snprintf(m + l, sizeof(m) - (size_t)l, "X-H%d: %d\r\n", i, i);
    l += snprintf(m + l, sizeof(m) - (size_t)l, "l: 4\r\n\r\nv=0\n");

    for (n = 0; n < 100 && e; n++) {
        struct sv_arena a;
        struct sip_msg *msg = untouched;
        struct sip_perr err = {0};
        const char *buf = sv_test_heap_n(m, (size_t)l).p;

        sv_arena_init(&a, NULL, 0);
        sv_mem_fail_after(n);
        e = sip_msg_parse(&msg, &a, buf, (size_t)l, SIP_DGRAM, NULL, &err);
        sv_mem_fail_after(-1);
        if (e) {
            assert_int_equal(e, ENOMEM);
            assert_ptr_equal(msg, untouched);
        } else {
            assert_int_equal(msg->hdrc, I_N + 120);
        }
        sv_arena_close(&a);
    }
    assert_int_equal(e, 0);
    assert_true(n > 2); /* the message, the index, and its growth each took an allocation */
}

/* With a caller block big enough, parsing allocates nothing from the heap. */
static void msg_parse_no_heap_with_block(void **state)
{
    static char block[16384] __attribute__((aligned(16)));
    struct sv_arena a;
    struct sip_msg *msg;
    const char *buf = sv_test_heap(invite).p;
    unsigned long n0;

    sv_arena_init(&a, block, sizeof(block));
    n0 = sv_mem_count();
    assert_int_equal(sip_msg_parse(&msg, &a, buf, strlen(invite), SIP_DGRAM, NULL, NULL), 0);
    assert_int_equal(sv_mem_count(), n0);
    sv_arena_close(&a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(msg_request_line, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_request_unknown_method, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_request_method_case, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_response_line, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_response_reason_with_spaces, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_response_noreason, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_response_bad_codes, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_response_code_bounds, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_version_lowercase, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_version_other_parses, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_version_malformed, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_request_line_malformed, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_header_ids_in_order, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_unknown_headers_kept, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_links_over_repeated_headers, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_compact_forms, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_folded_value, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_lws_around_colon, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_header_malformed, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_no_headers, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_hdr_end_is_the_empty_line, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_lf_only, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_eager_via, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_eager_from_to, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_eager_cseq_callid_mf, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_body_slice, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_body_to_datagram_end, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_dgram_trailing_octets_ignored, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_clen_errors, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_stream_two_messages, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_stream_needs_clen, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_decoder_failure_still_sets_msgp, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_decoder_failures_first_reported, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_via_failure_clears_via, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_hdr_byname, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_cap_start_line, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_cap_header_line, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_cap_header_count, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_cap_msg, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_many_headers, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_header_count_fits_index, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_oom_sweep, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(msg_parse_no_heap_with_block, sv_test_arena_setup,
                                    sv_test_arena_teardown),
};

SV_TEST_MAIN(tests)
