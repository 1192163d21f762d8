/**
 * @file test_frame.c  sip_frame and sip_frame_skip_crlf: where a message ends, on datagrams
 * (RFC 3261 §18.3: the datagram is the message) and streams (the message ends where
 * Content-Length says), "need more" (ENODATA) kept apart from "malformed" (EBADMSG), and the
 * size caps of struct sip_limits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "svtest.h"
#include <sipveil/sip.h>

/* Inputs are copied by sv_test_heap_n into heap blocks of exactly their length, so ASan
 * reports any read past the end of the buffer. */

#define REQ_HDRS                                                                                   \
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776asdhds\r\n"                                       \
    "From: <sip:alice@example.com>;tag=1928301774\r\n"                                             \
    "To: <sip:bob@example.com>\r\n"                                                                \
    "Call-ID: a84b4c76e66710\r\n"                                                                  \
    "CSeq: 314159 INVITE\r\n"                                                                      \
    "Max-Forwards: 70\r\n"

#define REQ_LINE "INVITE sip:bob@example.com SIP/2.0\r\n"

static const char msg_body[] = REQ_LINE REQ_HDRS "Content-Length: 4\r\n\r\nv=0\n";

static int frame_s(const char *s, size_t l, enum sip_transport_kind mode,
                   const struct sip_limits *lim, size_t *n, struct sip_perr *err)
{
    return sip_frame(sv_test_heap_n(s, l).p, l, mode, lim, n, err);
}

#define FRAME(s, mode, n, err) frame_s((s), strlen(s), (mode), NULL, (n), (err))

/* ---- complete messages ---- */

static void frame_dgram_with_clen(void **state)
{
    size_t n = 0;
    struct sip_perr err = {0};

    assert_int_equal(FRAME(msg_body, SIP_DGRAM, &n, &err), 0);
    assert_int_equal(n, strlen(msg_body));
}

static void frame_stream_with_clen(void **state)
{
    size_t n = 0;
    struct sip_perr err = {0};

    assert_int_equal(FRAME(msg_body, SIP_STREAM, &n, &err), 0);
    assert_int_equal(n, strlen(msg_body));
}

/* RFC 3261 §18.3: without Content-Length, a datagram's body runs to its end. */
static void frame_dgram_no_clen_body_to_end(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "\r\nbody bytes";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_DGRAM, &n, NULL), 0);
    assert_int_equal(n, strlen(m));
}

/* RFC 4475 §3.1.1.8 dblreq: octets after Content-Length in a datagram are not part of it. */
static void frame_dgram_octets_after_clen_ignored(void **state)
{
    FILE *f = fopen(SV_TEST_DATA "/rfc4475/dblreq.dat", "rb");
    char buf[4096];
    size_t len, n = 0;
    static const char first_end[] = "Content-Length: 0\r\n\r\n";

    assert_non_null(f);
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(len > 0 && len < sizeof(buf));
    assert_int_equal(frame_s(buf, len, SIP_DGRAM, NULL, &n, NULL), 0);
    /* the REGISTER, up to its empty body; the CRLF and INVITE that follow are dropped */
    assert_true(n + 9 < len);
    assert_true(n >= sizeof(first_end) - 1);
    assert_memory_equal(buf + n - (sizeof(first_end) - 1), first_end, sizeof(first_end) - 1);
    assert_memory_equal(buf + n, "\r\nINVITE ", 9);
}

static void frame_dgram_octets_after_body_ignored(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Content-Length: 2\r\n\r\nabcdef";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_DGRAM, &n, NULL), 0);
    assert_int_equal(n, strlen(m) - 4);
}

/* A stream holding two messages back to back: the first one's length, nothing more. */
static void frame_stream_two_messages(void **state)
{
    char both[1024];
    size_t l1 = strlen(msg_body), n = 0;

    memcpy(both, msg_body, l1);
    memcpy(both + l1, msg_body, l1);
    assert_int_equal(frame_s(both, 2 * l1, SIP_STREAM, NULL, &n, NULL), 0);
    assert_int_equal(n, l1);
    /* and the second frames from where the first ended */
    assert_int_equal(frame_s(both + n, 2 * l1 - n, SIP_STREAM, NULL, &n, NULL), 0);
    assert_int_equal(n, l1);
}

/* RFC 3261 §18.3: on a stream, Content-Length is mandatory. */
static void frame_stream_missing_clen_ebadmsg(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "\r\n";
    size_t n = 0;
    struct sip_perr err = {0};

    assert_int_equal(FRAME(m, SIP_STREAM, &n, &err), EBADMSG);
    assert_non_null(err.reason);
    assert_non_null(strstr(err.reason, "Content-Length"));
    assert_int_equal(err.status, 400);
}

/* ---- incomplete vs malformed ---- */

/* Every proper prefix of a stream message needs more bytes; none is malformed. */
static void frame_stream_every_prefix_enodata(void **state)
{
    size_t l = strlen(msg_body), n;

    for (size_t i = 0; i < l; i++) {
        int e = frame_s(msg_body, i, SIP_STREAM, NULL, &n, NULL);
        if (e != ENODATA)
            print_error("prefix of %zu octets gave %d\n", i, e);
        assert_int_equal(e, ENODATA);
    }
}

/* The same prefixes as datagrams are malformed: there is no more to come. */
static void frame_dgram_every_prefix_ebadmsg(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Content-Length: 4\r\n\r\n";
    size_t l = strlen(m), n;

    for (size_t i = 0; i < l; i++) {
        struct sip_perr err = {0};
        int e = frame_s(m, i, SIP_DGRAM, NULL, &n, &err);
        if (e != EBADMSG)
            print_error("prefix of %zu octets gave %d\n", i, e);
        assert_int_equal(e, EBADMSG);
        assert_non_null(err.reason);
    }
}

/* RFC 4475 §3.1.2.2 clerr: Content-Length larger than the datagram. */
static void frame_dgram_clen_exceeds_datagram(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Content-Length: 9999\r\n\r\nv=0\r\n";
    size_t n = 0;
    struct sip_perr err = {0};

    assert_int_equal(FRAME(m, SIP_DGRAM, &n, &err), EBADMSG);
    assert_non_null(strstr(err.reason, "Content-Length"));
    /* the same on a stream just needs more bytes */
    assert_int_equal(FRAME(m, SIP_STREAM, &n, &err), ENODATA);
}

/* RFC 4475 §3.1.2.3 ncl: a negative Content-Length is malformed, on both transports. */
static void frame_clen_negative_ebadmsg(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Content-Length: -999\r\n\r\nv=0\r\n";
    size_t n = 0;
    struct sip_perr err = {0};

    assert_int_equal(FRAME(m, SIP_DGRAM, &n, &err), EBADMSG);
    assert_non_null(strstr(err.reason, "Content-Length"));
    assert_int_equal(FRAME(m, SIP_STREAM, &n, &err), EBADMSG);
}

static void frame_clen_empty_ebadmsg(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Content-Length: \r\n\r\n";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_STREAM, &n, NULL), EBADMSG);
}

/* RFC 4475 §3.3.9 mcl01: two different Content-Length values. */
static void frame_clen_conflicting_ebadmsg(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Content-Length: 4\r\nl: 3\r\n\r\nv=0\n";
    size_t n = 0;
    struct sip_perr err = {0};

    assert_int_equal(FRAME(m, SIP_STREAM, &n, &err), EBADMSG);
    assert_non_null(strstr(err.reason, "Content-Length"));
}

static void frame_clen_compact_and_lws(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "L :  4 \r\n\r\nv=0\nXX";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_STREAM, &n, NULL), 0);
    assert_int_equal(n, strlen(m) - 2);
}

/* RFC 3261 §7.3.1: a value may continue on lines that start with SP or HT. */
static void frame_folded_header_lines(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Subject: one\r\n two\r\n\tthree\r\n"
                                              "Content-Length:\r\n 4\r\n\r\nv=0\n";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_STREAM, &n, NULL), 0);
    assert_int_equal(n, strlen(m));
}

/* A header line ending at the end of the buffer may still be folded: need more. */
static void frame_stream_line_end_at_buffer_end(void **state)
{
    static const char m[] = REQ_LINE REQ_HDRS "Content-Length: 0\r\n";
    static const char m2[] = REQ_LINE REQ_HDRS "Content-Length: 0\r\n\r";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_STREAM, &n, NULL), ENODATA);
    assert_int_equal(FRAME(m2, SIP_STREAM, &n, NULL), ENODATA);
    assert_int_equal(FRAME(m, SIP_DGRAM, &n, NULL), EBADMSG);
}

/* RFC 3261 §7.5 asks for CRLF but robust parsers take a bare LF (RFC 5118 corpus). */
static void frame_lf_only_line_ends(void **state)
{
    static const char m[] = "OPTIONS sip:x@example.com SIP/2.0\n"
                            "Via: SIP/2.0/TCP h;branch=z9hG4bKx\n"
                            "Subject: a\n b\n"
                            "Content-Length: 3\n\nabcNEXT";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_STREAM, &n, NULL), 0);
    assert_int_equal(n, strlen(m) - 4);
    assert_int_equal(FRAME(m, SIP_DGRAM, &n, NULL), 0);
    assert_int_equal(n, strlen(m) - 4);
}

static void frame_no_headers(void **state)
{
    static const char m[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
    size_t n = 0;

    assert_int_equal(FRAME(m, SIP_DGRAM, &n, NULL), 0);
    assert_int_equal(n, strlen(m));
    assert_int_equal(FRAME(m, SIP_STREAM, &n, NULL), EBADMSG); /* no Content-Length */
}

/* ---- caps ---- */

/* Caps small enough to cross by hand. */
static const struct sip_limits small = {
    .max_msg = 400,
    .max_headers = 4,
    .max_start_line = 40,
    .max_header = 30,
};

/* A start line of exactly @p n octets (without its line end). */
static void start_line(char *out, size_t n)
{
    /* "OPTIONS sip:" + a... + "@h SIP/2.0" */
    assert_true(n >= 22);
    memcpy(out, "OPTIONS sip:", 12);
    memset(out + 12, 'a', n - 22);
    memcpy(out + n - 10, "@h SIP/2.0", 10);
    out[n] = '\0';
}

/* A header line of exactly @p n octets (without its line end). */
static void pad_header(char *out, size_t n)
{
    assert_true(n >= 8);
    memcpy(out, "X-Pad: ", 7);
    memset(out + 7, 'p', n - 7);
    out[n] = '\0';
}

static int frame_with(const char *sl, const char *hdr, unsigned nhdr, const char *eol,
                      enum sip_transport_kind mode, struct sip_perr *err)
{
    char m[2048];
    size_t n;
    int l = snprintf(m, sizeof(m), "%s%s", sl, eol);

    for (unsigned i = 0; i < nhdr; i++)
        l += snprintf(m + l, sizeof(m) - (size_t)l, "%s%s", hdr, eol);
    l += snprintf(m + l, sizeof(m) - (size_t)l, "l: 0%s%s", eol, eol);
    assert_true((size_t)l < sizeof(m));
    return frame_s(m, (size_t)l, mode, &small, &n, err);
}

static void frame_cap_start_line(void **state)
{
    static const char *const eols[] = {"\r\n", "\n"};
    char sl[64];
    struct sip_perr err;

    for (size_t i = 0; i < 2; i++) {
        for (int mode = SIP_DGRAM; mode <= SIP_STREAM; mode++) {
            start_line(sl, small.max_start_line);
            assert_int_equal(frame_with(sl, "X: y", 1, eols[i], mode, &err), 0);
            start_line(sl, small.max_start_line + 1);
            memset(&err, 0, sizeof(err));
            assert_int_equal(frame_with(sl, "X: y", 1, eols[i], mode, &err), EMSGSIZE);
            assert_non_null(strstr(err.reason, "max_start_line"));
        }
    }
}

static void frame_cap_header_line(void **state)
{
    static const char *const eols[] = {"\r\n", "\n"};
    char sl[64], h[64];
    struct sip_perr err;

    start_line(sl, 30);
    for (size_t i = 0; i < 2; i++) {
        for (int mode = SIP_DGRAM; mode <= SIP_STREAM; mode++) {
            pad_header(h, small.max_header);
            assert_int_equal(frame_with(sl, h, 1, eols[i], mode, &err), 0);
            pad_header(h, small.max_header + 1);
            memset(&err, 0, sizeof(err));
            assert_int_equal(frame_with(sl, h, 1, eols[i], mode, &err), EMSGSIZE);
            assert_non_null(strstr(err.reason, "max_header"));
            assert_null(strstr(err.reason, "max_headers"));
        }
    }
}

/* max_header counts a folded header as one line, folds included. */
static void frame_cap_header_folded(void **state)
{
    char sl[64];
    struct sip_perr err = {0};

    start_line(sl, 30);
    /* 13 + 2 + 15 = 30 octets with the fold */
    assert_int_equal(
        frame_with(sl, "Subject: abcd\r\n efghijklmnopqr", 1, "\r\n", SIP_STREAM, &err), 0);
    assert_int_equal(
        frame_with(sl, "Subject: abcd\r\n efghijklmnopqrs", 1, "\r\n", SIP_STREAM, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_header"));
}

static void frame_cap_header_count(void **state)
{
    char sl[64];
    struct sip_perr err;

    start_line(sl, 30);
    for (int mode = SIP_DGRAM; mode <= SIP_STREAM; mode++) {
        /* the "l: 0" line is one of them */
        assert_int_equal(frame_with(sl, "X: y", small.max_headers - 1, "\r\n", mode, &err), 0);
        memset(&err, 0, sizeof(err));
        assert_int_equal(frame_with(sl, "X: y", small.max_headers, "\r\n", mode, &err), EMSGSIZE);
        assert_non_null(strstr(err.reason, "max_headers"));
    }
}

/* A message of exactly max_msg octets passes; one more is refused. */
static void frame_cap_msg(void **state)
{
    char m[512];
    size_t n;
    struct sip_perr err;
    static const char head[] = "OPTIONS sip:a@h SIP/2.0\r\nl: ";

    for (int mode = SIP_DGRAM; mode <= SIP_STREAM; mode++) {
        for (size_t extra = 0; extra < 2; extra++) {
            /* head + "NNN\r\n\r\n" + body = max_msg + extra */
            size_t hl = sizeof(head) - 1 + 3 + 4;
            size_t body = small.max_msg + extra - hl;
            int l = snprintf(m, sizeof(m), "%s%03zu\r\n\r\n", head, body);
            assert_int_equal((size_t)l, hl);
            memset(m + l, 'b', body);
            memset(&err, 0, sizeof(err));
            int e = frame_s(m, hl + body, mode, &small, &n, &err);
            if (extra == 0) {
                assert_int_equal(e, 0);
                assert_int_equal(n, small.max_msg);
            } else {
                assert_int_equal(e, EMSGSIZE);
                assert_non_null(strstr(err.reason, "max_msg"));
            }
        }
    }
}

/* On a stream, max_msg also bounds a message whose header section never ends. */
static void frame_cap_msg_stream_headers_endless(void **state)
{
    char m[600];
    size_t n, l = 0;
    struct sip_perr err = {0};

    l += (size_t)snprintf(m, sizeof(m), "OPTIONS sip:a@h SIP/2.0\r\n");
    while (l + 6 < sizeof(m)) {
        memcpy(m + l, "X: y\r\n", 6);
        l += 6;
    }
    struct sip_limits lim = small;
    lim.max_headers = 1000;
    assert_int_equal(frame_s(m, l, SIP_STREAM, &lim, &n, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_msg"));
    /* below the cap it is merely incomplete */
    assert_int_equal(frame_s(m, lim.max_msg - 1, SIP_STREAM, &lim, &n, &err), ENODATA);
}

/*
 * 1 MB of input without a line end costs at most max_start_line octets of searching: only
 * the first max_start_line + 2 octets are readable, the rest is a PROT_NONE mapping, so a
 * scan past the cap would crash the test.
 */
static char *guarded(size_t readable, size_t total, char fill, char **map, size_t *maplen)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t ra = (readable + pg - 1) / pg * pg;
    size_t len = ra + (total - readable + pg - 1) / pg * pg + pg;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + ra, len - ra, PROT_NONE), 0);
    char *buf = m + ra - readable; /* the readable part ends on the page boundary */
    memset(buf, fill, readable);
    *map = m;
    *maplen = len;
    return buf;
}

static void frame_cap_start_line_no_scan_past(void **state)
{
    struct sip_limits big = sip_limits_default;
    size_t mb = 1u << 20, lmax = big.max_start_line + 2, n, maplen;
    char *map;
    struct sip_perr err = {0};

    big.max_msg = 2 * mb;
    char *buf = guarded(lmax, mb, 'a', &map, &maplen);
    assert_int_equal(sip_frame(buf, mb, SIP_DGRAM, &big, &n, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_start_line"));
    err.reason = NULL;
    assert_int_equal(sip_frame(buf, mb, SIP_STREAM, NULL, &n, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_start_line"));
    munmap(map, maplen);
}

static void frame_cap_header_no_scan_past(void **state)
{
    struct sip_limits big = sip_limits_default;
    static const char sl[] = "OPTIONS sip:a@h SIP/2.0\r\n";
    size_t mb = 1u << 20, n, maplen;
    size_t readable = sizeof(sl) - 1 + big.max_header + 2;
    char *map;
    struct sip_perr err = {0};

    big.max_msg = 2 * mb;
    char *buf = guarded(readable, mb, 'h', &map, &maplen);
    memcpy(buf, sl, sizeof(sl) - 1);
    assert_int_equal(sip_frame(buf, mb, SIP_DGRAM, &big, &n, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_header"));
    err.reason = NULL;
    assert_int_equal(sip_frame(buf, mb, SIP_STREAM, NULL, &n, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_header"));
    munmap(map, maplen);
}

/* A datagram larger than max_msg is refused before anything is read. */
static void frame_dgram_over_max_msg_not_read(void **state)
{
    size_t n, maplen;
    char *map;
    struct sip_perr err = {0};
    char *buf = guarded(0, 70000, 0, &map, &maplen);

    assert_int_equal(sip_frame(buf, 70000, SIP_DGRAM, NULL, &n, &err), EMSGSIZE);
    assert_non_null(strstr(err.reason, "max_msg"));
    munmap(map, maplen);
}

/* ---- keep-alives ---- */

/* RFC 5626 §4.4.1: CRLF keep-alives between stream messages. */
static void frame_skip_crlf(void **state)
{
    assert_int_equal(sip_frame_skip_crlf(sv_test_heap_n("\r\n\r\nINVITE", 10).p, 10), 4);
    assert_int_equal(sip_frame_skip_crlf(sv_test_heap_n("\r\n\r\n", 4).p, 4), 4);
    assert_int_equal(sip_frame_skip_crlf(sv_test_heap_n("\n\r\n", 3).p, 3), 3);
    assert_int_equal(sip_frame_skip_crlf(sv_test_heap_n("INVITE", 6).p, 6), 0);
    assert_int_equal(sip_frame_skip_crlf(sv_test_heap_n(" \r\n", 3).p, 3), 0);
    assert_int_equal(sip_frame_skip_crlf(sv_test_heap_n("", 0).p, 0), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(frame_dgram_with_clen),
    cmocka_unit_test(frame_stream_with_clen),
    cmocka_unit_test(frame_dgram_no_clen_body_to_end),
    cmocka_unit_test(frame_dgram_octets_after_clen_ignored),
    cmocka_unit_test(frame_dgram_octets_after_body_ignored),
    cmocka_unit_test(frame_stream_two_messages),
    cmocka_unit_test(frame_stream_missing_clen_ebadmsg),
    cmocka_unit_test(frame_stream_every_prefix_enodata),
    cmocka_unit_test(frame_dgram_every_prefix_ebadmsg),
    cmocka_unit_test(frame_dgram_clen_exceeds_datagram),
    cmocka_unit_test(frame_clen_negative_ebadmsg),
    cmocka_unit_test(frame_clen_empty_ebadmsg),
    cmocka_unit_test(frame_clen_conflicting_ebadmsg),
    cmocka_unit_test(frame_clen_compact_and_lws),
    cmocka_unit_test(frame_folded_header_lines),
    cmocka_unit_test(frame_stream_line_end_at_buffer_end),
    cmocka_unit_test(frame_lf_only_line_ends),
    cmocka_unit_test(frame_no_headers),
    cmocka_unit_test(frame_cap_start_line),
    cmocka_unit_test(frame_cap_header_line),
    cmocka_unit_test(frame_cap_header_folded),
    cmocka_unit_test(frame_cap_header_count),
    cmocka_unit_test(frame_cap_msg),
    cmocka_unit_test(frame_cap_msg_stream_headers_endless),
    cmocka_unit_test(frame_cap_start_line_no_scan_past),
    cmocka_unit_test(frame_cap_header_no_scan_past),
    cmocka_unit_test(frame_dgram_over_max_msg_not_read),
    cmocka_unit_test(frame_skip_crlf),
};

SV_TEST_MAIN(tests)
