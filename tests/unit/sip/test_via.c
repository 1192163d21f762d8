/**
 * @file test_via.c  sip_via_next and sip_via_branch_is_rfc3261 (RFC 3261 §20.42, RFC 3581,
 * RFC 4475, RFC 5118).
 */
#include <errno.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

/* Decode the only via-parm of @p s; expects success and the end of the list after it. */
static void one(const char *s, struct sip_via *via)
{
    struct sv_slice cur = sv_test_heap(s);
    assert_int_equal(sip_via_next(&cur, via), 0);
    assert_int_equal(cur.l, 0);
    assert_int_equal(sip_via_next(&cur, via), ENOENT);
}

static void bad(const char *s)
{
    struct sip_via via;
    struct sv_slice cur = sv_test_heap(s), save = cur;
    int err;

    while ((err = sip_via_next(&cur, &via)) == 0)
        ;
    if (err != EBADMSG)
        print_error("\"%s\" gave %d\n", s, err);
    assert_int_equal(err, EBADMSG);
    /* the cursor stays on the element that failed */
    assert_true(cur.p >= save.p && cur.p + cur.l == save.p + save.l);
}

static void via_basic_udp(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8", &via);
    assert_slice_equal(via.raw, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8");
    assert_slice_equal(via.proto, "SIP");
    assert_slice_equal(via.version, "2.0");
    assert_slice_equal(via.transport, "UDP");
    assert_slice_equal(via.host, "192.0.2.1");
    assert_int_equal(via.host_type, SIP_HOST_IPV4);
    assert_true(via.has_port);
    assert_int_equal(via.port, 5060);
    assert_slice_equal(via.params, ";branch=z9hG4bKnashds8");
    assert_slice_equal(via.branch, "z9hG4bKnashds8");
    assert_slice_unset(via.received);
    assert_slice_unset(via.maddr);
    assert_false(via.rport);
    assert_int_equal(via.rport_val, 0);
    assert_int_equal(via.ttl, -1);
    assert_true(sip_via_branch_is_rfc3261(&via));
}

static void via_no_port_no_params(void **state)
{
    struct sip_via via;

    /* RFC 4475 longreq: Via lines without any parameter */
    one("SIP/2.0/TCP sip1.example.com", &via);
    assert_slice_equal(via.transport, "TCP");
    assert_slice_equal(via.host, "sip1.example.com");
    assert_int_equal(via.host_type, SIP_HOST_DOMAIN);
    assert_false(via.has_port);
    assert_int_equal(via.port, 0);
    assert_non_null(via.params.p);
    assert_int_equal(via.params.l, 0);
    assert_slice_unset(via.branch);
    assert_false(sip_via_branch_is_rfc3261(&via));
}

/* RFC 4475 §3.1.1.1 wsinv: LWS and folded lines around the slashes of sent-protocol */
static void via_wsinv_lws_around_slashes(void **state)
{
    struct sip_via via;

    one("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw", &via);
    assert_slice_equal(via.proto, "SIP");
    assert_slice_equal(via.version, "2.0");
    assert_slice_equal(via.transport, "UDP");
    assert_slice_equal(via.host, "192.0.2.2");
    assert_slice_equal(via.branch, "390skdjuw");
    assert_false(sip_via_branch_is_rfc3261(&via));
}

/* RFC 4475 §3.1.1.1 wsinv: two via-parms on one folded line, LWS around ';', '=' and ',' */
static void via_wsinv_two_parms_folded(void **state)
{
    struct sip_via via;
    struct sv_slice cur = sv_test_heap("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
                                       "  branch  =   z9hG4bK9ikj8  ,\r\n"
                                       " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
                                       " z9hG4bK30239");

    assert_int_equal(sip_via_next(&cur, &via), 0);
    assert_slice_equal(via.transport, "TCP");
    assert_slice_equal(via.host, "spindle.example.com");
    assert_slice_equal(via.branch, "z9hG4bK9ikj8");
    assert_slice_equal(via.raw, "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
                                "  branch  =   z9hG4bK9ikj8");
    assert_int_equal(sip_via_next(&cur, &via), 0);
    assert_slice_equal(via.transport, "UDP");
    assert_slice_equal(via.host, "192.168.255.111");
    assert_slice_equal(via.branch, "z9hG4bK30239");
    assert_int_equal(sip_via_next(&cur, &via), ENOENT);
}

static void via_several_per_line(void **state)
{
    struct sip_via via;
    struct sv_slice cur =
        sv_test_heap("SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP "
                     "b.example.com:5061;branch=z9hG4bK2,SIP/2.0/TLS [2001:db8::1]:5061");

    assert_int_equal(sip_via_next(&cur, &via), 0);
    assert_slice_equal(via.raw, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1");
    assert_slice_equal(via.branch, "z9hG4bK1");
    assert_int_equal(sip_via_next(&cur, &via), 0);
    assert_slice_equal(via.raw, "SIP/2.0/TCP b.example.com:5061;branch=z9hG4bK2");
    assert_int_equal(via.port, 5061);
    assert_int_equal(sip_via_next(&cur, &via), 0);
    assert_slice_equal(via.raw, "SIP/2.0/TLS [2001:db8::1]:5061");
    assert_slice_equal(via.host, "[2001:db8::1]");
    assert_int_equal(via.host_type, SIP_HOST_IPV6);
    assert_int_equal(sip_via_next(&cur, &via), ENOENT);
    assert_int_equal(sip_via_next(&cur, &via), ENOENT);
}

/* RFC 4475 §3.1.1.10 transports: an unknown transport is still a via-parm */
static void via_transports_unknown(void **state)
{
    static const char *const in[][2] = {
        {"SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw", "UDP"},
        {"SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf", "SCTP"},
        {"SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj", "TLS"},
        {"SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en", "UNKNOWN"},
        {"SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee", "TCP"},
        {"SIP/2.0/WSS ws.example.com;branch=z9hG4bKws", "WSS"},
        {"SIP/2.0/TLS-SCTP t6.example.com", "TLS-SCTP"},
    };
    struct sip_via via;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        one(in[i][0], &via);
        assert_slice_equal(via.transport, in[i][1]);
    }
}

/* RFC 4475 §3.1.2.16 badvers: the version is a token; checking it is the caller's job (505) */
static void via_version_any_token(void **state)
{
    struct sip_via via;

    one("SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw", &via);
    assert_slice_equal(via.version, "7.0");
}

/* RFC 5118 §4.1, §4.9: IPv6 references, with and without port, IPv4-mapped */
static void via_ipv6_hosts(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111", &via);
    assert_slice_equal(via.host, "[2001:db8::9:1]");
    assert_int_equal(via.host_type, SIP_HOST_IPV6);
    assert_int_equal(via.port, 6050);
    one("SIP/2.0/UDP [2001:db8::20];branch=z9hG4bKas3-111", &via);
    assert_slice_equal(via.host, "[2001:db8::20]");
    assert_false(via.has_port);
    one("SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19", &via);
    assert_slice_equal(via.host, "[::ffff:192.0.2.10]");
    assert_int_equal(via.port, 19823);
}

/* RFC 5118 §4.5: received holds an IPv6 address, with or without brackets */
static void via_received_ipv6(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3", &via);
    assert_slice_equal(via.received, "2001:db8::9:255");
    assert_slice_equal(via.branch, "z9hG4bKas3");
    one("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111", &via);
    assert_slice_equal(via.received, "[2001:db8::9:255]");
    one("SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200", &via);
    assert_slice_equal(via.received, "192.0.2.200");
}

/* RFC 3581 §3: rport with or without a value */
static void via_rport(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport", &via);
    assert_true(via.rport);
    assert_int_equal(via.rport_val, 0);
    one("SIP/2.0/UDP 192.0.2.1;rport=5061;received=192.0.2.7;branch=z9hG4bK1", &via);
    assert_true(via.rport);
    assert_int_equal(via.rport_val, 5061);
    assert_slice_equal(via.received, "192.0.2.7");
    one("SIP/2.0/UDP 192.0.2.1;rport=65535", &via);
    assert_int_equal(via.rport_val, 65535);
}

static void via_rport_malformed(void **state)
{
    bad("SIP/2.0/UDP 192.0.2.1;rport=65536");
    bad("SIP/2.0/UDP 192.0.2.1;rport=");
    bad("SIP/2.0/UDP 192.0.2.1;rport=5x");
    bad("SIP/2.0/UDP 192.0.2.1;rport=\"5060\"");
    bad("SIP/2.0/UDP 192.0.2.1;rport=99999999999999999999");
    bad("SIP/2.0/UDP 192.0.2.1;rport;rport=5060");
}

static void via_maddr_ttl(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP 192.0.2.1;maddr=224.2.0.1;ttl=16;branch=z9hG4bK1", &via);
    assert_slice_equal(via.maddr, "224.2.0.1");
    assert_int_equal(via.ttl, 16);
    one("SIP/2.0/UDP 192.0.2.1;MADDR=mcast.example.com", &via);
    assert_slice_equal(via.maddr, "mcast.example.com");
    assert_int_equal(via.ttl, -1);
    one("SIP/2.0/UDP 192.0.2.1;maddr=[2001:db8::1]", &via);
    assert_slice_equal(via.maddr, "[2001:db8::1]");
    bad("SIP/2.0/UDP 192.0.2.1;maddr=");
    bad("SIP/2.0/UDP 192.0.2.1;maddr");
    bad("SIP/2.0/UDP 192.0.2.1;maddr=a%b");
    bad("SIP/2.0/UDP 192.0.2.1;maddr=\"224.2.0.1\"");
}

/* ttl = 1*3DIGIT, 0 to 255 */
static void via_ttl_boundaries(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP h;ttl=0", &via);
    assert_int_equal(via.ttl, 0);
    one("SIP/2.0/UDP h;ttl=255", &via);
    assert_int_equal(via.ttl, 255);
    one("SIP/2.0/UDP h;ttl=001", &via);
    assert_int_equal(via.ttl, 1);
    bad("SIP/2.0/UDP h;ttl=256");
    bad("SIP/2.0/UDP h;ttl=0001");
    bad("SIP/2.0/UDP h;ttl=abc");
    bad("SIP/2.0/UDP h;ttl=");
    bad("SIP/2.0/UDP h;ttl");
    bad("SIP/2.0/UDP h;ttl=-1");
}

static void via_port_boundaries(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP h:65535", &via);
    assert_int_equal(via.port, 65535);
    one("SIP/2.0/UDP h:1;branch=z9hG4bK1", &via);
    assert_int_equal(via.port, 1);
    one("SIP/2.0/UDP h:0", &via);
    assert_true(via.has_port);
    assert_int_equal(via.port, 0);
    bad("SIP/2.0/UDP h:65536");
    bad("SIP/2.0/UDP h:99999999999999999999");
    bad("SIP/2.0/UDP h:");
    bad("SIP/2.0/UDP h:;branch=z9hG4bK1");
    bad("SIP/2.0/UDP h:50x60");
    bad("SIP/2.0/UDP h:-1");
    bad("SIP/2.0/UDP h:5060:5061");
}

/* sent-by = host [ COLON port ], and COLON = SWS ":" SWS */
static void via_colon_with_lws(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP host.example.com : 5060 ;branch=z9hG4bK1", &via);
    assert_slice_equal(via.host, "host.example.com");
    assert_int_equal(via.port, 5060);
    assert_slice_equal(via.params, ";branch=z9hG4bK1");
    one("SIP/2.0/UDP host.example.com\r\n :\r\n\t5060", &via);
    assert_int_equal(via.port, 5060);
}

static void via_tab_and_folded_lws(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP\thost.example.com\r\n ;branch=z9hG4bK1\r\n\t;rport", &via);
    assert_slice_equal(via.host, "host.example.com");
    assert_slice_equal(via.branch, "z9hG4bK1");
    assert_true(via.rport);
}

/* Parameter names are case-insensitive (RFC 3261 §7.3.1) */
static void via_params_case_insensitive(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP h;BRANCH=z9hG4bKx;Received=192.0.2.1;RPort=1;TTL=2", &via);
    assert_slice_equal(via.branch, "z9hG4bKx");
    assert_slice_equal(via.received, "192.0.2.1");
    assert_int_equal(via.rport_val, 1);
    assert_int_equal(via.ttl, 2);
}

/* via-extension = generic-param: kept in params; a comma inside quotes does not split */
static void via_unknown_params_kept(void **state)
{
    struct sip_via via;
    struct sv_slice v;

    one("SIP/2.0/UDP h;foo;bar=baz;q=\"quoted;,value\";branch=z9hG4bKq;x=[2001:db8::1]", &via);
    assert_slice_equal(via.params, ";foo;bar=baz;q=\"quoted;,value\";branch=z9hG4bKq;"
                                   "x=[2001:db8::1]");
    assert_slice_equal(via.branch, "z9hG4bKq");
    assert_true(sip_param_get(via.params, "bar", &v));
    assert_slice_equal(v, "baz");
    assert_true(sip_param_get(via.params, "q", &v));
    assert_slice_equal(v, "\"quoted;,value\"");
    assert_true(sip_param_get(via.params, "foo", &v));
    assert_slice_unset(v);
}

/* RFC 4475 §3.1.1.2 intmeth: the branch may use every token character */
static void via_branch_token_chars(void **state)
{
    struct sip_via via;

    one("SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~", &via);
    assert_slice_equal(via.branch, "z9hG4bK-.!%66*_+`'~");
    assert_true(sip_via_branch_is_rfc3261(&via));
}

/* RFC 4475 §3.1.1.7 longreq: a very long branch */
static void via_long_branch(void **state)
{
    char s[600];
    struct sip_via via;

    strcpy(s, "SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=verylong");
    for (int i = 0; i < 50; i++)
        strcat(s, "longlonglo");
    one(s, &via);
    assert_int_equal(via.branch.l, 8 + 500);
    assert_slice_equal(via.received, "192.0.2.5");
}

/* A second branch, received, maddr, rport or ttl is ambiguous: refused */
static void via_duplicate_known_param(void **state)
{
    bad("SIP/2.0/UDP h;branch=z9hG4bK1;branch=z9hG4bK2");
    bad("SIP/2.0/UDP h;branch=z9hG4bK1;BRANCH=z9hG4bK1");
    bad("SIP/2.0/UDP h;received=192.0.2.1;received=192.0.2.2");
    bad("SIP/2.0/UDP h;maddr=192.0.2.1;maddr=192.0.2.1");
    bad("SIP/2.0/UDP h;ttl=1;ttl=1");
}

static void via_branch_malformed(void **state)
{
    bad("SIP/2.0/UDP h;branch=");
    bad("SIP/2.0/UDP h;branch");
    bad("SIP/2.0/UDP h;branch=\"z9hG4bK1\"");
    bad("SIP/2.0/UDP h;branch=z9hG4bK<1>");
    bad("SIP/2.0/UDP h;received=");
    bad("SIP/2.0/UDP h;received");
}

/* RFC 4475 §3.1.2.1 badinv01: "Via: SIP/2.0/UDP 192.0.2.15;;,;,," must be refused */
static void via_badinv01_empty_params(void **state)
{
    bad("SIP/2.0/UDP 192.0.2.15;;,;,,");
    bad("SIP/2.0/UDP 192.0.2.15;;branch=z9hG4bK1");
    bad("SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1;");
    bad("SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1 ; ");
    bad("SIP/2.0/UDP 192.0.2.15;");
    bad("SIP/2.0/UDP 192.0.2.15;=x");
}

/* RFC 3261 §7.3.1: no empty element in a comma list */
static void via_empty_elements(void **state)
{
    struct sip_via via;
    struct sv_slice cur, save;

    bad(", SIP/2.0/UDP a.example.com");
    bad("SIP/2.0/UDP a.example.com,,SIP/2.0/UDP b.example.com");
    bad("SIP/2.0/UDP a.example.com, ,SIP/2.0/UDP b.example.com");
    bad("SIP/2.0/UDP a.example.com,");
    bad("SIP/2.0/UDP a.example.com ,\r\n ");
    bad(",");

    /* the good element before an empty one still decodes; the cursor stops at the bad one */
    cur = sv_test_heap("SIP/2.0/UDP a.example.com, SIP/2.0/UDP b.example.com,");
    assert_int_equal(sip_via_next(&cur, &via), 0);
    save = cur;
    assert_int_equal(sip_via_next(&cur, &via), EBADMSG);
    assert_ptr_equal(cur.p, save.p);
    assert_int_equal(cur.l, save.l);
}

static void via_sent_protocol_malformed(void **state)
{
    bad("SIP/2.0 a.example.com");
    bad("SIP/2.0/ a.example.com");
    bad("SIP//UDP a.example.com");
    bad("SIP2.0/UDP a.example.com");
    bad("/2.0/UDP a.example.com");
    bad("SIP/2.0/UDP");
    bad("SIP/2.0/UDP ");
    bad("SIP/2.0/UDPa.example.com");
    bad("SIP/2.0/UDP/x a.example.com");
    bad("SIP;2.0/UDP a.example.com");
    bad("SIP/2.0/U\"DP a.example.com");
}

static void via_sent_by_malformed(void **state)
{
    bad("SIP/2.0/UDP -bad.example.com");
    bad("SIP/2.0/UDP .example.com");
    bad("SIP/2.0/UDP [2001:db8::1");
    bad("SIP/2.0/UDP [2001:db8::1]x");
    bad("SIP/2.0/UDP [zz::1]");
    bad("SIP/2.0/UDP host@example.com");
    bad("SIP/2.0/UDP a b");
    bad("SIP/2.0/UDP a.example.com branch=z9hG4bK1");
    bad("SIP/2.0/UDP ;branch=z9hG4bK1");
    bad("SIP/2.0/UDP a.example.com (comment)");
}

static void via_param_malformed(void **state)
{
    bad("SIP/2.0/UDP h;x=\"unterminated");
    bad("SIP/2.0/UDP h;x=\"unterminated, SIP/2.0/UDP b");
    bad("SIP/2.0/UDP h;\"x\"=1");
    bad("SIP/2.0/UDP h;a@b=1");
    bad("SIP/2.0/UDP h;x=a/b");
    bad("SIP/2.0/UDP h;x=");
    bad("SIP/2.0/UDP h;x=1 y");
    bad("SIP/2.0/UDP h;x=\"1\"y");
}

static void via_empty_input(void **state)
{
    struct sip_via via;
    struct sv_slice cur = sv_test_heap("");

    assert_int_equal(sip_via_next(&cur, &via), ENOENT);
    cur = sv_test_heap(" \r\n ");
    assert_int_equal(sip_via_next(&cur, &via), ENOENT);
    cur = sv_slice_make(NULL, 0);
    assert_int_equal(sip_via_next(&cur, &via), ENOENT);
}

/* RFC 3261 §8.1.1.7: the cookie is case-sensitive; RFC 4475 §3.2.1 badbranch: a bare cookie
 * is not taken for an RFC 3261 branch */
static void via_branch_cookie(void **state)
{
    struct sip_via via;

    one("SIP/2.0/UDP h;branch=z9hG4bKabc", &via);
    assert_true(sip_via_branch_is_rfc3261(&via));
    one("SIP/2.0/UDP h;branch=z9hG4bKa", &via);
    assert_true(sip_via_branch_is_rfc3261(&via));
    one("SIP/2.0/UDP h;branch=z9hg4bkabc", &via);
    assert_false(sip_via_branch_is_rfc3261(&via));
    one("SIP/2.0/UDP h;branch=Z9HG4BKabc", &via);
    assert_false(sip_via_branch_is_rfc3261(&via));
    one("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK", &via);
    assert_false(sip_via_branch_is_rfc3261(&via));
    one("SIP/2.0/UDP h;branch=z9hG4b", &via);
    assert_false(sip_via_branch_is_rfc3261(&via));
    one("SIP/2.0/UDP h;branch=xz9hG4bKabc", &via);
    assert_false(sip_via_branch_is_rfc3261(&via));
    one("SIP/2.0/UDP h", &via);
    assert_false(sip_via_branch_is_rfc3261(&via));
}

/* Walk one prefix of the Via below; the whole of it is two via-parms. */
static void via_prefix(struct sv_slice in, bool whole, void *ctx)
{
    struct sip_via via;
    struct sv_slice cur = in;
    int err, n = 0;

    while ((err = sip_via_next(&cur, &via)) == 0)
        n++;
    assert_true(err == ENOENT || err == EBADMSG);
    if (whole) {
        assert_int_equal(err, ENOENT);
        assert_int_equal(n, 2);
    }
}

/* Every prefix of a rich Via, each in an exact-size heap block: no read past the end, and
 * every result is a clean 0, ENOENT or EBADMSG. */
static void via_every_prefix_stays_in_bounds(void **state)
{
    static const char full[] =
        "SIP / 2.0 / UDP [2001:db8::9:1] : 6050 ;branch=z9hG4bKx;rport=1"
        ";received=192.0.2.1;ttl=3;maddr=h.example.com;x=\"a,b\" , SIP/2.0/TCP "
        "b.example.com:5061;branch=z9hG4bK2";

    sv_test_every_prefix(full, via_prefix, NULL);
}

/* sip_via_copy: the copy reads the same through its own bytes, even once the original bytes
 * are overwritten (a server transaction keeps its top Via this way after the request goes). */
static void via_copy_is_independent(void **state)
{
    static const char text[] = "SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKcopy1;rport=5071;"
                               "received=192.0.2.7;maddr=239.1.1.1;ttl=3;x=y";
    struct sv_slice cur = sv_test_heap(text);
    struct sip_via src, dst;
    char *bytes;

    (void)state;
    assert_int_equal(sip_via_next(&cur, &src), 0);
    bytes = malloc(src.raw.l);
    assert_non_null(bytes);
    memcpy(bytes, src.raw.p, src.raw.l);
    sip_via_copy(&dst, &src, bytes);
    memset((char *)src.raw.p, 'x', src.raw.l);
    assert_ptr_equal(dst.raw.p, bytes);
    assert_slice_equal(dst.raw, text);
    assert_slice_equal(dst.proto, "SIP");
    assert_slice_equal(dst.version, "2.0");
    assert_slice_equal(dst.transport, "UDP");
    assert_slice_equal(dst.host, "[2001:db8::9]");
    assert_int_equal(dst.port, 5070);
    assert_slice_equal(dst.branch, "z9hG4bKcopy1");
    assert_slice_equal(dst.received, "192.0.2.7");
    assert_slice_equal(dst.maddr, "239.1.1.1");
    assert_true(dst.rport);
    assert_int_equal(dst.rport_val, 5071);
    assert_int_equal(dst.ttl, 3);
    assert_true(dst.params.p >= bytes && dst.params.p + dst.params.l == bytes + dst.raw.l);
    assert_true(sip_via_branch_is_rfc3261(&dst));
    free(bytes);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(via_copy_is_independent),
    cmocka_unit_test(via_basic_udp),
    cmocka_unit_test(via_no_port_no_params),
    cmocka_unit_test(via_wsinv_lws_around_slashes),
    cmocka_unit_test(via_wsinv_two_parms_folded),
    cmocka_unit_test(via_several_per_line),
    cmocka_unit_test(via_transports_unknown),
    cmocka_unit_test(via_version_any_token),
    cmocka_unit_test(via_ipv6_hosts),
    cmocka_unit_test(via_received_ipv6),
    cmocka_unit_test(via_rport),
    cmocka_unit_test(via_rport_malformed),
    cmocka_unit_test(via_maddr_ttl),
    cmocka_unit_test(via_ttl_boundaries),
    cmocka_unit_test(via_port_boundaries),
    cmocka_unit_test(via_colon_with_lws),
    cmocka_unit_test(via_tab_and_folded_lws),
    cmocka_unit_test(via_params_case_insensitive),
    cmocka_unit_test(via_unknown_params_kept),
    cmocka_unit_test(via_branch_token_chars),
    cmocka_unit_test(via_long_branch),
    cmocka_unit_test(via_duplicate_known_param),
    cmocka_unit_test(via_branch_malformed),
    cmocka_unit_test(via_badinv01_empty_params),
    cmocka_unit_test(via_empty_elements),
    cmocka_unit_test(via_sent_protocol_malformed),
    cmocka_unit_test(via_sent_by_malformed),
    cmocka_unit_test(via_param_malformed),
    cmocka_unit_test(via_empty_input),
    cmocka_unit_test(via_branch_cookie),
    cmocka_unit_test(via_every_prefix_stays_in_bounds),
};

SV_TEST_MAIN(tests)
