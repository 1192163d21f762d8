/**
 * @file test_txn_dest.c  Where a server transaction sends its responses: txn__resp_dest, the
 * destination selection of RFC 3261 §18.2.2 with RFC 3581 §4 (rport), and that the layer uses
 * it for every response it sends.
 */
#include "txn_test.h"
#include "txn_int.h"

/* The top Via of @p via_value, decoded. */
static struct sip_via via_of(const char *via_value)
{
    struct sip_via v;
    struct sv_slice cur = sv_slice_cstr(via_value);

    assert_int_equal(sip_via_next(&cur, &v), 0);
    return v;
}

static void dest_is(const char *via_value, enum net_tp tp, const char *peer, bool alive,
                    const char *want)
{
    struct sip_via v = via_of(via_value);
    struct net_flow f = flow_of(tp, peer);
    struct net_addr dst;

    memset(&dst, 0, sizeof(dst));
    assert_int_equal(txn__resp_dest(&v, &f, alive, &dst), 0);
    assert_addr(&dst, want);
}

/* §18.2.2 bullet 3: UDP without rport: the source address, at the sent-by port. */
static void udp_source_address_sentby_port(void **state)
{
    dest_is("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx", NET_UDP, "192.0.2.1:40000", false,
            "192.0.2.1:5070");
    /* a sent-by that names another host: still the source address (§18.2.1 received) */
    dest_is("SIP/2.0/UDP pc.example.com:5072;branch=z9hG4bKx", NET_UDP, "203.0.113.5:40000", false,
            "203.0.113.5:5072");
}

/* No port in sent-by: 5060. */
static void udp_default_port_5060(void **state)
{
    dest_is("SIP/2.0/UDP pc.example.com;branch=z9hG4bKx", NET_UDP, "203.0.113.5:40000", false,
            "203.0.113.5:5060");
}

/* RFC 3581 §4: rport present: the source port. */
static void udp_rport_source_port(void **state)
{
    dest_is("SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKx;rport", NET_UDP, "203.0.113.5:61000", false,
            "203.0.113.5:61000");
}

/* received and rport values written by the sender itself are not ours (§18.2.1, RFC 3581
 * §4): the source address and port win, so nobody can aim our responses elsewhere. */
static void udp_sender_written_received_rport_ignored(void **state)
{
    dest_is("SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKx;received=198.51.100.99;rport=1234", NET_UDP,
            "203.0.113.5:61000", false, "203.0.113.5:61000");
    dest_is("SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bKx;received=198.51.100.99", NET_UDP,
            "203.0.113.5:61000", false, "203.0.113.5:5062");
}

/* §18.2.2 bullet 2: maddr: that address, the sent-by port or 5060. */
static void udp_maddr(void **state)
{
    dest_is("SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKx;maddr=239.255.255.1;ttl=1", NET_UDP,
            "203.0.113.5:61000", false, "239.255.255.1:5070");
    dest_is("SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKx;maddr=198.51.100.2;rport", NET_UDP,
            "203.0.113.5:61000", false, "198.51.100.2:5060");
    dest_is("SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKx;maddr=[ff02::1]", NET_UDP,
            "[2001:db8::1]:61000", false, "[ff02::1]:5070");
}

/* A maddr that is a name would need DNS: the source address as in bullet 3. */
static void udp_maddr_name_falls_back_to_source(void **state)
{
    dest_is("SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKx;maddr=mcast.example.com", NET_UDP,
            "203.0.113.5:61000", false, "203.0.113.5:5070");
}

/* §18.2.2 bullet 1: reliable, connection open: that connection (its peer). */
static void tcp_open_connection(void **state)
{
    dest_is("SIP/2.0/TCP 10.1.1.1:5060;branch=z9hG4bKx", NET_TCP, "203.0.113.5:49152", true,
            "203.0.113.5:49152");
    dest_is("SIP/2.0/TLS 10.1.1.1;branch=z9hG4bKx;maddr=198.51.100.2", NET_TLS, "203.0.113.5:49153",
            true, "203.0.113.5:49153"); /* maddr is for unreliable ones */
}

/* Connection gone: the received (source) address, the sent-by port, else the transport's
 * default (5060, 5061 for TLS). */
static void reliable_closed_connection(void **state)
{
    dest_is("SIP/2.0/TCP 10.1.1.1:5066;branch=z9hG4bKx", NET_TCP, "203.0.113.5:49152", false,
            "203.0.113.5:5066");
    dest_is("SIP/2.0/TCP 10.1.1.1;branch=z9hG4bKx;rport", NET_TCP, "203.0.113.5:49152", false,
            "203.0.113.5:5060");
    dest_is("SIP/2.0/TLS 10.1.1.1;branch=z9hG4bKx", NET_TLS, "203.0.113.5:49152", false,
            "203.0.113.5:5061");
}

/* IPv6 sources keep their family. */
static void ipv6_source(void **state)
{
    dest_is("SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKx", NET_UDP, "[2001:db8::9]:40000", false,
            "[2001:db8::9]:5070");
    dest_is("SIP/2.0/UDP [2001:db8::9];branch=z9hG4bKx;rport", NET_UDP, "[2001:db8::9]:40000",
            false, "[2001:db8::9]:40000");
}

/* A flow without an IP source address has nowhere to answer. */
static void no_ip_source_einval(void **state)
{
    struct sip_via v = via_of("SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKx");
    struct net_flow f;
    struct net_addr dst;

    memset(&f, 0, sizeof(f));
    f.peer.ss.ss_family = AF_UNIX;
    assert_int_equal(txn__resp_dest(&v, &f, false, &dst), EINVAL);
}

/* The layer sends every response (first, retransmitted, resent) to that destination, with
 * the transaction's flow so that the transport can use its socket or connection. */
static void layer_sends_to_resp_dest(void **state)
{
    struct net_flow f = flow_of(NET_UDP, "203.0.113.5:61000");
    struct txn *st;

    recv_on(req_text("INVITE", "SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKd1", NULL, 1, NULL), &f);
    st = ev_nth(EV_REQUEST, 0)->t;
    assert_int_equal(respond(st, 500), 0);
    recv_on(req_text("INVITE", "SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKd1", NULL, 1, NULL), &f);
    advance(T1);
    assert_int_equal(F.nsent, 3);
    for (unsigned i = 0; i < F.nsent; i++) {
        assert_int_equal(F.sent[i].tp, NET_UDP);
        assert_true(F.sent[i].has_flow);
        assert_addr(&F.sent[i].dst, "203.0.113.5:5070");
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(udp_source_address_sentby_port),
    cmocka_unit_test(udp_default_port_5060),
    cmocka_unit_test(udp_rport_source_port),
    cmocka_unit_test(udp_sender_written_received_rport_ignored),
    cmocka_unit_test(udp_maddr),
    cmocka_unit_test(udp_maddr_name_falls_back_to_source),
    cmocka_unit_test(tcp_open_connection),
    cmocka_unit_test(reliable_closed_connection),
    cmocka_unit_test(ipv6_source),
    cmocka_unit_test(no_ip_source_einval),
    cmocka_unit_test_setup_teardown(layer_sends_to_resp_dest, txn_setup, txn_teardown),
};

SV_TEST_MAIN(tests)
