/**
 * @file test_edit.c  Edits of a received message and sip_msg_print: every edit changes only
 * the bytes it names, a message without edits comes out byte for byte, and overlapping edits
 * resolve as documented (deletion wins; an insertion at the start of a deleted line stays).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest_sip.h"

static char out[16384];

/* Print @p m with @p ed and compare with @p want, byte for byte. */
static void expect(const struct sip_msg *m, const struct sip_edits *ed, const char *want)
{
    size_t n = 0;
    int e = sip_msg_print(m, ed, out, sizeof(out), &n);

    assert_int_equal(e, 0);
    sv_test_expect_bytes(out, n, want);
}

#define RL "INVITE sip:bob@example.com SIP/2.0\r\n"
#define VIA "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
#define ROUTE "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>,<sip:p3.example.com;lr>\r\n"
#define FROM "f: \"Alice\" <sip:alice@example.com>;tag=1928301774;x=y\r\n"
#define TO "To: <sip:bob@example.com>\r\n"
#define CID "Call-ID: c1\r\n"
#define CSEQ "CSeq: 1 INVITE\r\n"
#define SUBJ "Subject  :   hello \r\n"
#define XA1 "X-A: 1\r\n"
#define XA2 "X-A: 2\r\n"
#define PAI "P-Asserted-Identity: <sip:alice@example.com>\r\n"
#define CL "Content-Length: 4\r\n"
#define BODY "\r\nv=0\n"

static const char base[] = RL VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI CL BODY;

static const struct sip_msg *base_msg(struct sip_edits *ed)
{
    const struct sip_msg *m = sv_test_parse(base);
    sip_edits_init(ed, m, NULL);
    return m;
}

/* The n-th element of the first @p id line, as the list iterator gives it. */
static struct sv_slice elem(const struct sip_msg *m, const struct sip_hdr *h, unsigned n)
{
    struct sv_slice cur = h->value;
    struct sip_addr a;

    for (unsigned i = 0; i <= n; i++)
        assert_int_equal(sip_addr_next(&cur, &a), 0);
    return a.raw;
}

/* ---- no edits ---- */

static void edit_none_is_identical(void **state)
{
    static const char *const msgs[] = {
        base,
        "SIP/2.0 100 \r\nv:SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Odd  :  \t spaced \r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\nSubject: a\n b\nl: 3\n\nabc",
        "MESSAGE sip:a@b SIP/2.0\r\n\r\nbody without length",
    };
    struct sip_edits ed;

    for (size_t i = 0; i < SV_ARRAY_SIZE(msgs); i++) {
        const struct sip_msg *m = sv_test_parse(msgs[i]);
        expect(m, NULL, msgs[i]);
        sip_edits_init(&ed, m, NULL);
        expect(m, &ed, msgs[i]);
    }
}

/* Only the framed message is printed: octets after Content-Length are not (RFC 4475 dblreq). */
static void edit_none_prints_framed_message_only(void **state)
{
    static const char two[] = "OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nabEXTRA";
    const struct sip_msg *m = sv_test_parse(two);

    expect(m, NULL, "OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nab");
}

/* ---- deleting lines ---- */

static void edit_del_only_instance(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_hdr_del(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT)), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ XA1 XA2 PAI CL BODY);
}

static void edit_del_one_of_several(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *x1 = sip_msg_hdr_byname(m, SV_LIT("X-A"));

    assert_int_equal(sip_edit_hdr_del(&ed, sip_msg_hdr_next(m, x1)), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ SUBJ XA1 PAI CL BODY);
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_hdr_del(&ed, x1), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ SUBJ XA2 PAI CL BODY);
}

/* R19: every P-Asserted-Identity line goes. */
static void edit_del_all(void **state)
{
    const struct sip_msg *m =
        sv_test_parse(RL VIA PAI TO PAI "P-Asserted-Identity: <tel:+1>\r\n" CL BODY);
    struct sip_edits ed;

    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_hdr_del_all(&ed, SIP_HDR_P_ASSERTED_IDENTITY), 0);
    expect(m, &ed, RL VIA TO CL BODY);
    /* no line of that id: nothing to do */
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_hdr_del_all(&ed, SIP_HDR_SUBJECT), 0);
    assert_int_equal(ed.n, 0);
    expect(m, &ed, RL VIA PAI TO PAI "P-Asserted-Identity: <tel:+1>\r\n" CL BODY);
}

/* ---- replacing values ---- */

/* The name and the white space around the colon stay as written; only the value changes. */
static void edit_set_keeps_name(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_hdr_set(&ed, sip_msg_hdr(m, SIP_HDR_FROM),
                                      SV_LIT("<sip:anonymous@anonymous.invalid>;tag=9")),
                     0);
    assert_int_equal(sip_edit_hdr_set(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT), SV_LIT("bye")), 0);
    expect(m, &ed,
           RL VIA ROUTE "f: <sip:anonymous@anonymous.invalid>;tag=9\r\n" TO CID CSEQ
                        "Subject  :   bye \r\n" XA1 XA2 PAI CL BODY);
}

/* An edit keeps its own copy of the text. */
static void edit_text_is_copied(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    char v[] = "bye";

    assert_int_equal(sip_edit_hdr_set(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT), sv_slice_make(v, 3)),
                     0);
    memcpy(v, "XXX", 3);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ "Subject  :   bye \r\n" XA1 XA2 PAI CL BODY);
}

/* ---- deleting list elements ---- */

static void edit_elem_del_first(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE);

    assert_int_equal(sip_edit_elem_del(&ed, h, elem(m, h, 0)), 0);
    expect(m, &ed,
           RL VIA "Route: <sip:p2.example.com;lr>,<sip:p3.example.com;lr>\r\n" FROM TO CID CSEQ SUBJ
               XA1 XA2 PAI CL BODY);
}

static void edit_elem_del_middle(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE);

    assert_int_equal(sip_edit_elem_del(&ed, h, elem(m, h, 1)), 0);
    expect(m, &ed,
           RL VIA "Route: <sip:p1.example.com;lr>, <sip:p3.example.com;lr>\r\n" FROM TO CID CSEQ
               SUBJ XA1 XA2 PAI CL BODY);
}

static void edit_elem_del_last(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE);

    assert_int_equal(sip_edit_elem_del(&ed, h, elem(m, h, 2)), 0);
    expect(m, &ed,
           RL VIA "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n" FROM TO CID CSEQ
               SUBJ XA1 XA2 PAI CL BODY);
}

/* Deleting the only element deletes the line (an empty Route is malformed). */
static void edit_elem_del_only(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY);

    assert_int_equal(sip_edit_elem_del(&ed, h, elem(m, h, 0)), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 CL BODY);
}

/* White space on either side of the comma goes with the element. */
static void edit_elem_del_spacing(void **state)
{
    static const char s[] = RL "P-Asserted-Identity: \"A, B\" <sip:a@x> ,\t<tel:+1>\r\n" CL BODY;
    const struct sip_msg *m = sv_test_parse(s);
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY);
    struct sip_edits ed;

    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_elem_del(&ed, h, elem(m, h, 0)), 0);
    expect(m, &ed, RL "P-Asserted-Identity: <tel:+1>\r\n" CL BODY);
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_elem_del(&ed, h, elem(m, h, 1)), 0);
    expect(m, &ed, RL "P-Asserted-Identity: \"A, B\" <sip:a@x>\r\n" CL BODY);
}

/* Deleting elements one by one never leaves a dangling comma, and deleting them all deletes
 * the line: no element that was deleted may survive (R19 for PAI). */
static void edit_elem_del_several(void **state)
{
    static const char *const want[8] = {
        /* bit i set: element i deleted */
        ROUTE,
        "Route: <sip:p2.example.com;lr>,<sip:p3.example.com;lr>\r\n",
        "Route: <sip:p1.example.com;lr>, <sip:p3.example.com;lr>\r\n",
        "Route: <sip:p3.example.com;lr>\r\n",
        "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n",
        "Route: <sip:p2.example.com;lr>\r\n",
        "Route: <sip:p1.example.com;lr>\r\n",
        "",
    };
    static const unsigned orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                          {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    char w[1024];

    for (unsigned set = 1; set < 8; set++) {
        for (unsigned o = 0; o < 6; o++) {
            struct sip_edits ed;
            const struct sip_msg *m = base_msg(&ed);
            const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE);
            for (unsigned k = 0; k < 3; k++) {
                if (set & (1u << orders[o][k]))
                    assert_int_equal(sip_edit_elem_del(&ed, h, elem(m, h, orders[o][k])), 0);
            }
            snprintf(w, sizeof(w), "%s%s%s", RL VIA, want[set],
                     FROM TO CID CSEQ SUBJ XA1 XA2 PAI CL BODY);
            expect(m, &ed, w);
        }
    }
}

static void edit_elem_del_outside_value(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *route = sip_msg_hdr(m, SIP_HDR_ROUTE);
    const struct sip_hdr *pai = sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY);

    assert_int_equal(sip_edit_elem_del(&ed, pai, elem(m, route, 0)), EINVAL);
    assert_int_equal(ed.n, 0);
}

/* ---- inserting ---- */

static void edit_insert_before(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_hdr_insert(&ed, sip_msg_hdr(m, SIP_HDR_TO), "X-New", SV_LIT("v")), 0);
    expect(m, &ed, RL VIA ROUTE FROM "X-New: v\r\n" TO CID CSEQ SUBJ XA1 XA2 PAI CL BODY);
}

static void edit_insert_at_end_of_headers(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(
        sip_edit_hdr_insert(&ed, NULL, "P-Asserted-Identity", SV_LIT("<tel:+15551234567>")), 0);
    expect(m, &ed,
           RL VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI CL
           "P-Asserted-Identity: <tel:+15551234567>\r\n" BODY);
}

/* Insertions at one point come out in the order they were recorded. */
static void edit_insert_order_stable(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_hdr_insert(&ed, NULL, "X-1", SV_LIT("a")), 0);
    assert_int_equal(sip_edit_hdr_insert(&ed, NULL, "X-2", SV_LIT("b")), 0);
    assert_int_equal(sip_edit_hdr_insert(&ed, NULL, "X-3", SV_LIT("c")), 0);
    expect(m, &ed,
           RL VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI CL "X-1: a\r\nX-2: b\r\nX-3: c\r\n" BODY);
}

static void edit_prepend_after_start_line(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_hdr_prepend(&ed, "Record-Route", SV_LIT("<sip:p.example;lr>")), 0);
    expect(
        m, &ed,
        RL
        "Record-Route: <sip:p.example;lr>\r\n" VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI CL BODY);
}

static void edit_prepend_without_headers(void **state)
{
    const struct sip_msg *m = sv_test_parse("OPTIONS sip:a@b SIP/2.0\r\n\r\n");
    struct sip_edits ed;

    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_hdr_prepend(&ed, "Max-Forwards", SV_LIT("70")), 0);
    expect(m, &ed, "OPTIONS sip:a@b SIP/2.0\r\nMax-Forwards: 70\r\n\r\n");
}

/* RFC 3261 §16.6 item 8: the proxy's Via goes on top. */
static void edit_via_push(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(
        sip_edit_via_push(&ed, "TCP", SV_LIT("proxy.example.com:5060"), SV_LIT("z9hG4bKnew")), 0);
    expect(m, &ed,
           RL "Via: SIP/2.0/TCP proxy.example.com:5060;branch=z9hG4bKnew\r\n" VIA ROUTE FROM TO CID
               CSEQ SUBJ XA1 XA2 PAI CL BODY);
}

/* ---- start line and Request-URI ---- */

static void edit_start_line(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_start_set(&ed, SV_LIT("INVITE sip:carol@example.org SIP/2.0")), 0);
    expect(m, &ed,
           "INVITE sip:carol@example.org SIP/2.0\r\n" VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI CL
               BODY);
}

static void edit_ruri(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_ruri_set(&ed, SV_LIT("sip:bob@192.0.2.4:5070;transport=tcp")), 0);
    expect(m, &ed,
           "INVITE sip:bob@192.0.2.4:5070;transport=tcp SIP/2.0\r\n" VIA ROUTE FROM TO CID CSEQ SUBJ
               XA1 XA2 PAI CL BODY);
    m = sv_test_parse("SIP/2.0 200 OK\r\n\r\n");
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_ruri_set(&ed, SV_LIT("sip:x")), EINVAL);
}

static void edit_range_outside_message(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    char other[4] = "abc";

    assert_int_equal(sip_edit_range(&ed, sv_slice_make(other, 3), SV_LIT("x")), EINVAL);
    assert_int_equal(sip_edit_range(&ed, sv_slice_make(m->raw.p + m->raw.l - 2, 3), SV_LIT("")),
                     EINVAL);
    assert_int_equal(ed.n, 0);
}

/* ---- addresses (R20: From rewritten, tag and every other parameter byte for byte) ---- */

static void addr_set_expect(const char *from_line, const char *want_line)
{
    char s[512], w[512];
    struct sip_edits ed;
    struct sip_addr a;

    snprintf(s, sizeof(s), "%s%s%s", RL VIA, from_line, TO CID CSEQ CL BODY);
    snprintf(w, sizeof(w), "%s%s%s", RL VIA, want_line, TO CID CSEQ CL BODY);
    const struct sip_msg *m = sv_test_parse(s);
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_FROM);
    assert_int_equal(sip_addr_decode(&a, h->value), 0);
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(
        sip_edit_addr_set(&ed, h, &a, SV_LIT("\"Anonymous\" <sip:anonymous@anonymous.invalid>")),
        0);
    expect(m, &ed, w);
}

static void edit_addr_set_name_addr(void **state)
{
    addr_set_expect("f: \"Alice\" <sip:alice@example.com>;tag=1928301774;x=y\r\n",
                    "f: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1928301774;x=y\r\n");
    addr_set_expect(
        "From: Alice Smith <sip:alice@example.com;user=phone>;x=\"q;r\";tag=a-b.c\r\n",
        "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;x=\"q;r\";tag=a-b.c\r\n");
    addr_set_expect("From: <sip:alice@example.com>\r\n",
                    "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>\r\n");
}

/* RFC 3261 §20.10: in an addr-spec, the parameters after the URI are header parameters. */
static void edit_addr_set_addr_spec(void **state)
{
    addr_set_expect("From: sip:alice@example.com;tag=abc;foo\r\n",
                    "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=abc;foo\r\n");
    addr_set_expect("From: sip:alice@example.com\r\n",
                    "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>\r\n");
}

/* The message's own decode (msg->from) is a valid source too. */
static void edit_addr_set_from_eager_decode(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_addr_set(&ed, sip_msg_hdr(m, SIP_HDR_FROM), &m->from,
                                       SV_LIT("\"Anonymous\" <sip:anonymous@anonymous.invalid>")),
                     0);
    expect(m, &ed,
           RL VIA ROUTE
           "f: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1928301774;x=y\r\n" TO CID CSEQ
               SUBJ XA1 XA2 PAI CL BODY);
}

/* ---- the body ---- */

static void edit_body_existing_clen(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_body_set(&ed, SV_LIT("v=0\r\no=x\r\n")), 0);
    assert_true(ed.body_set);
    assert_slice_equal(ed.body, "v=0\r\no=x\r\n");
    expect(m, &ed,
           RL VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI
           "Content-Length: 10\r\n\r\nv=0\r\no=x\r\n");
}

static void edit_body_compact_l(void **state)
{
    const struct sip_msg *m = sv_test_parse(RL VIA "l:4\r\n\r\nv=0\n");
    struct sip_edits ed;

    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_body_set(&ed, SV_LIT("hello world")), 0);
    expect(m, &ed, RL VIA "l:11\r\n\r\nhello world");
}

/* A datagram without Content-Length: the header is added at the end of the headers. */
static void edit_body_absent_clen(void **state)
{
    const struct sip_msg *m = sv_test_parse(RL VIA "\r\nold body");
    struct sip_edits ed;

    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_body_set(&ed, SV_LIT("new")), 0);
    expect(m, &ed, RL VIA "Content-Length: 3\r\n\r\nnew");
}

static void edit_body_emptied(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);

    assert_int_equal(sip_edit_body_set(&ed, SV_LIT("")), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI "Content-Length: 0\r\n\r\n");
}

static void edit_body_added_to_empty(void **state)
{
    const struct sip_msg *m = sv_test_parse(RL VIA "Content-Length: 0\r\n\r\n");
    struct sip_edits ed;

    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_body_set(&ed, SV_LIT("abc")), 0);
    expect(m, &ed, RL VIA "Content-Length: 3\r\n\r\nabc");
}

/* A second body replaces the first; Content-Length follows the last one, and the edits
 * recorded in between stay. */
static void edit_body_set_twice(void **state)
{
    static const char *const msgs[] = {
        base,
        RL VIA "Content-Length: 0\r\n\r\n",
        RL VIA "\r\n",
    };
    static const char *const want[] = {
        RL ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI "Content-Length: 5\r\nX-Z: 1\r\n\r\nworld",
        RL "Content-Length: 5\r\nX-Z: 1\r\n\r\nworld",
        RL "X-Z: 1\r\nContent-Length: 5\r\n\r\nworld",
    };
    for (size_t i = 0; i < SV_ARRAY_SIZE(msgs); i++) {
        const struct sip_msg *m = sv_test_parse(msgs[i]);
        struct sip_edits ed;

        sip_edits_init(&ed, m, NULL);
        assert_int_equal(sip_edit_body_set(&ed, SV_LIT("hello there")), 0);
        assert_int_equal(sip_edit_hdr_insert(&ed, NULL, "X-Z", SV_LIT("1")), 0);
        assert_int_equal(sip_edit_hdr_del(&ed, sip_msg_hdr(m, SIP_HDR_VIA)), 0);
        assert_int_equal(sip_edit_body_set(&ed, SV_LIT("world")), 0);
        assert_slice_equal(ed.body, "world");
        expect(m, &ed, want[i]);
    }
}

/* ---- overlapping edits ---- */

/* Delete a line and replace its value: deletion wins, in either recording order. */
static void edit_overlap_delete_wins(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *s = sip_msg_hdr(m, SIP_HDR_SUBJECT);

    assert_int_equal(sip_edit_hdr_del(&ed, s), 0);
    assert_int_equal(sip_edit_hdr_set(&ed, s, SV_LIT("x")), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ XA1 XA2 PAI CL BODY);
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_hdr_set(&ed, s, SV_LIT("x")), 0);
    assert_int_equal(sip_edit_hdr_del(&ed, s), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ XA1 XA2 PAI CL BODY);
}

/* "Delete this line, insert that one here" keeps the insertion, in either order. */
static void edit_overlap_insert_at_deleted_line_kept(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *s = sip_msg_hdr(m, SIP_HDR_SUBJECT);

    assert_int_equal(sip_edit_hdr_del(&ed, s), 0);
    assert_int_equal(sip_edit_hdr_insert(&ed, s, "Subject", SV_LIT("new")), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ "Subject: new\r\n" XA1 XA2 PAI CL BODY);
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(sip_edit_hdr_insert(&ed, s, "Subject", SV_LIT("new")), 0);
    assert_int_equal(sip_edit_hdr_del(&ed, s), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ "Subject: new\r\n" XA1 XA2 PAI CL BODY);
}

/* An insertion strictly inside a deleted range is dropped. */
static void edit_overlap_insert_inside_deleted_dropped(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *s = sip_msg_hdr(m, SIP_HDR_SUBJECT);

    assert_int_equal(sip_edit_hdr_del(&ed, s), 0);
    assert_int_equal(sip_edit_range(&ed, sv_slice_make(s->value.p, 0), SV_LIT("zz")), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ XA1 XA2 PAI CL BODY);
}

/* Deleting two adjacent lines, and a line deleted twice. */
static void edit_adjacent_and_repeated_deletes(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    const struct sip_hdr *x1 = sip_msg_hdr_byname(m, SV_LIT("X-A"));

    assert_int_equal(sip_edit_hdr_del(&ed, x1), 0);
    assert_int_equal(sip_edit_hdr_del(&ed, sip_msg_hdr_next(m, x1)), 0);
    assert_int_equal(sip_edit_hdr_del(&ed, x1), 0);
    assert_int_equal(sip_edit_hdr_del(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT)), 0);
    expect(m, &ed, RL VIA ROUTE FROM TO CID CSEQ PAI CL BODY);
}

/* ---- output size ---- */

static void edit_print_enospc_reports_size(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    char small[64];
    size_t n = 0, need;

    assert_int_equal(sip_msg_print(m, NULL, small, sizeof(small), &n), ENOSPC);
    assert_int_equal(n, strlen(base));
    assert_int_equal(sip_edit_hdr_insert(&ed, NULL, "X-Y", SV_LIT("z")), 0);
    assert_int_equal(sip_edit_hdr_del(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT)), 0);
    assert_int_equal(sip_msg_print(m, &ed, small, sizeof(small), &n), ENOSPC);
    need = n;
    assert_int_equal(need, strlen(base) + strlen("X-Y: z\r\n") - strlen(SUBJ));
    /* exactly that much is enough */
    char *buf = malloc(need);
    assert_non_null(buf);
    assert_int_equal(sip_msg_print(m, &ed, buf, need, &n), 0);
    assert_int_equal(n, need);
    free(buf);
    assert_int_equal(sip_msg_print(m, &ed, out, need - 1, &n), ENOSPC);
    assert_int_equal(n, need);
}

/* More edits than the serializer's on-stack index holds. */
static void edit_more_than_64(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = base_msg(&ed);
    char want[8192], v[16];
    int l = snprintf(want, sizeof(want), "%s",
                     RL "X-First: 0\r\n" VIA ROUTE FROM TO CID CSEQ SUBJ XA1 XA2 PAI CL);

    /* recorded back to front at two points, to make the sort work */
    assert_int_equal(sip_edit_hdr_del(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT)), 0);
    for (int i = 0; i < 100; i++) {
        snprintf(v, sizeof(v), "%d", i);
        assert_int_equal(sip_edit_hdr_insert(&ed, NULL, "X-N", sv_slice_cstr(v)), 0);
        if (i == 50)
            assert_int_equal(sip_edit_hdr_prepend(&ed, "X-First", SV_LIT("0")), 0);
    }
    assert_true(ed.n > 64);
    l -= (int)strlen(SUBJ) + (int)strlen(XA1 XA2 PAI CL);
    l += snprintf(want + l, sizeof(want) - (size_t)l, "%s", XA1 XA2 PAI CL);
    for (int i = 0; i < 100; i++)
        l += snprintf(want + l, sizeof(want) - (size_t)l, "X-N: %d\r\n", i);
    snprintf(want + l, sizeof(want) - (size_t)l, "%s", BODY);
    expect(m, &ed, want);
}

/* Edits live in the arena: without memory, recording says ENOMEM and changes nothing. */
static void edit_enomem(void **state)
{
    struct sip_edits ed;
    const struct sip_msg *m = sv_test_parse(base);
    struct sv_arena a;

    sv_arena_init(&a, NULL, 0);
    sip_edits_init(&ed, m, &a);
    sv_mem_fail_after(0);
    int e1 = sip_edit_hdr_del(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT));
    int e2 = sip_edit_hdr_insert(&ed, NULL, "X", SV_LIT("y"));
    int e3 = sip_edit_hdr_set(&ed, sip_msg_hdr(m, SIP_HDR_SUBJECT), SV_LIT("y"));
    sv_mem_fail_after(-1);
    assert_int_equal(e1, ENOMEM);
    assert_int_equal(e2, ENOMEM);
    assert_int_equal(e3, ENOMEM);
    assert_int_equal(ed.n, 0);
    expect(m, &ed, base);
    sv_arena_close(&a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(edit_none_is_identical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_none_prints_framed_message_only, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_del_only_instance, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_del_one_of_several, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_del_all, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_set_keeps_name, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_text_is_copied, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_elem_del_first, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_elem_del_middle, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_elem_del_last, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_elem_del_only, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_elem_del_spacing, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_elem_del_several, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_elem_del_outside_value, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_insert_before, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_insert_at_end_of_headers, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_insert_order_stable, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_prepend_after_start_line, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_prepend_without_headers, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_via_push, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_start_line, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_ruri, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_range_outside_message, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_addr_set_name_addr, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_addr_set_addr_spec, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_addr_set_from_eager_decode, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_body_existing_clen, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_body_compact_l, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_body_absent_clen, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_body_emptied, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_body_added_to_empty, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_body_set_twice, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_overlap_delete_wins, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_overlap_insert_at_deleted_line_kept, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_overlap_insert_inside_deleted_dropped, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_adjacent_and_repeated_deletes, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_print_enospc_reports_size, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_more_than_64, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(edit_enomem, sv_test_arena_setup, sv_test_arena_teardown),
};

SV_TEST_MAIN(tests)
