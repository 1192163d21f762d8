/**
 * @file test_addr.c  Address helpers: parse, print, compare, port; transport names; defaults.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include "svtest.h"
#include <sipveil/net.h>

static void addr_parse_ipv4(void **state)
{
    struct net_addr a;
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a.ss;

    assert_int_equal(net_addr_parse(&a, "192.0.2.7:5060"), 0);
    assert_int_equal(a.ss.ss_family, AF_INET);
    assert_int_equal(a.len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohl(in4->sin_addr.s_addr), 0xc0000207);
    assert_int_equal(net_addr_port(&a), 5060);

    assert_int_equal(net_addr_parse(&a, "0.0.0.0:0"), 0);
    assert_int_equal(net_addr_port(&a), 0);
    assert_int_equal(net_addr_parse(&a, "255.255.255.255:65535"), 0);
    assert_int_equal(net_addr_port(&a), 65535);
}

static void addr_parse_ipv6(void **state)
{
    struct net_addr a;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;

    assert_int_equal(net_addr_parse(&a, "[::1]:5061"), 0);
    assert_int_equal(a.ss.ss_family, AF_INET6);
    assert_int_equal(a.len, sizeof(struct sockaddr_in6));
    assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
    assert_int_equal(net_addr_port(&a), 5061);

    assert_int_equal(net_addr_parse(&a, "[2001:db8::a:b]:1"), 0);
    assert_int_equal(in6->sin6_addr.s6_addr[0], 0x20);
    assert_int_equal(in6->sin6_addr.s6_addr[15], 0x0b);
    assert_int_equal(net_addr_parse(&a, "[::ffff:192.0.2.1]:5060"), 0);
    assert_true(IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr));
}

/* An address holds any IPv4 or IPv6 socket address and no more: 32 octets, not the 136 of a
 * sockaddr_storage with its length (a transaction holds two, in its flow). */
static void addr_is_compact_and_fits_ipv6(void **state)
{
    struct net_addr a;

    assert_true(sizeof(a.ss) >= sizeof(struct sockaddr_in6));
    assert_true(sizeof(a.ss) >= sizeof(struct sockaddr_in));
    assert_true(sizeof(struct net_addr) <= 32);
    assert_int_equal(net_addr_parse(&a, "[2001:db8::1:2:3:4]:65535"), 0);
    assert_int_equal(a.ss.ss_family, AF_INET6);
    assert_int_equal(a.ss.sin6.sin6_family, AF_INET6);
    assert_int_equal(net_addr_port(&a), 65535);
}

/* The port is required, IPv6 must be bracketed, and nothing trails (no names either). */
static void addr_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        ":5060",
        "192.0.2.7",
        "192.0.2.7:",
        "192.0.2.7:65536",
        "192.0.2.7:123456",
        "192.0.2.7:-1",
        "192.0.2.7:+5",
        "192.0.2.7:50x",
        "192.0.2.7: 5060",
        "192.0.2.256:5060",
        "192.0.2:5060",
        "example.test:5060",
        "::1:5060",
        "[::1]",
        "[::1]5060",
        "[::1]:",
        "[::1:5060",
        "[]:5060",
        "[192.0.2.7]:5060",
        "[fe80::1%eth0]:5060",
        "[::1]:5060x",
    };
    struct net_addr a;

    memset(&a, 0xaa, sizeof(a));
    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        if (net_addr_parse(&a, bad[i]) != EINVAL)
            print_error("accepted \"%s\"\n", bad[i]);
        assert_int_equal(net_addr_parse(&a, bad[i]), EINVAL);
    }
    assert_int_equal(a.len, 0xaaaaaaaau); /* untouched on failure */
    assert_int_equal(net_addr_parse(NULL, "1.2.3.4:5"), EINVAL);
    assert_int_equal(net_addr_parse(&a, NULL), EINVAL);
}

static void addr_str_round_trips(void **state)
{
    static const char *const good[] = {
        "192.0.2.7:5060", "0.0.0.0:0", "[::1]:5061", "[2001:db8::1]:65535", "[::]:0",
        "255.255.255.255:65535", "10.0.100.1:5", "127.0.0.1:10", /* IPv4 is formatted by hand */
    };
    char buf[64];
    struct net_addr a, b;

    for (size_t i = 0; i < SV_ARRAY_SIZE(good); i++) {
        assert_int_equal(net_addr_parse(&a, good[i]), 0);
        assert_string_equal(net_addr_str(&a, buf, sizeof(buf)), good[i]);
        assert_int_equal(net_addr_parse(&b, buf), 0);
        assert_true(net_addr_eq(&a, &b));
    }
    /* The longest there is fits the documented 64 octets. */
    assert_int_equal(net_addr_parse(&a, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535"),
                     0);
    net_addr_str(&a, buf, sizeof(buf));
    assert_int_equal(net_addr_parse(&b, buf), 0);
    assert_true(net_addr_eq(&a, &b));

    memset(&a, 0, sizeof(a));
    assert_string_equal(net_addr_str(&a, buf, sizeof(buf)), "?");
    assert_string_equal(net_addr_str(NULL, buf, sizeof(buf)), "?");
}

static void addr_str_truncates_to_buffer(void **state)
{
    char buf[8];
    struct net_addr a;

    assert_int_equal(net_addr_parse(&a, "192.0.2.7:5060"), 0);
    assert_ptr_equal(net_addr_str(&a, buf, sizeof(buf)), buf);
    assert_string_equal(buf, "192.0.2");
}

static void addr_eq_compares_family_ip_and_port(void **state)
{
    struct net_addr a, b;

    assert_int_equal(net_addr_parse(&a, "192.0.2.7:5060"), 0);
    assert_int_equal(net_addr_parse(&b, "192.0.2.7:5060"), 0);
    assert_true(net_addr_eq(&a, &b));
    assert_int_equal(net_addr_parse(&b, "192.0.2.7:5061"), 0);
    assert_false(net_addr_eq(&a, &b));
    assert_int_equal(net_addr_parse(&b, "192.0.2.8:5060"), 0);
    assert_false(net_addr_eq(&a, &b));
    /* An IPv4-mapped IPv6 address is another family: never the same peer. */
    assert_int_equal(net_addr_parse(&b, "[::ffff:192.0.2.7]:5060"), 0);
    assert_false(net_addr_eq(&a, &b));
    assert_int_equal(net_addr_parse(&a, "[2001:db8::1]:5060"), 0);
    assert_int_equal(net_addr_parse(&b, "[2001:db8::1]:5060"), 0);
    assert_true(net_addr_eq(&a, &b));
    assert_int_equal(net_addr_parse(&b, "[2001:db8::2]:5060"), 0);
    assert_false(net_addr_eq(&a, &b));
    assert_false(net_addr_eq(&a, NULL));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_false(net_addr_eq(&a, &b)); /* no family: equal to nothing */
    assert_int_equal(net_addr_port(&a), 0);
    assert_int_equal(net_addr_port(NULL), 0);
}

static void tp_name_spells_via_transports(void **state)
{
    assert_string_equal(net_tp_name(NET_UDP), "UDP");
    assert_string_equal(net_tp_name(NET_TCP), "TCP");
    assert_string_equal(net_tp_name(NET_TLS), "TLS");
    assert_string_equal(net_tp_name((enum net_tp)7), "?");
}

static void limits_default_values(void **state)
{
    assert_int_equal(net_limits_default.max_conns, 10000);
    assert_int_equal(net_limits_default.max_conns_per_ip, 100);
    assert_int_equal(net_limits_default.idle_timeout_ms, 300000);
    assert_int_equal(net_limits_default.header_timeout_ms, 10000);
    assert_int_equal(net_limits_default.max_msg, 65536);
}

/* Flows: holding takes a reference only when there is a connection; release is idempotent. */
static void flow_hold_release_without_conn(void **state)
{
    struct net_flow f, g;

    memset(&f, 0, sizeof(f));
    f.tp = NET_UDP;
    f.listener = 3;
    net_flow_hold(&g, &f);
    assert_int_equal(g.listener, 3);
    assert_null(g.conn);
    net_flow_release(&g);
    net_flow_release(&g);
    net_flow_release(NULL);
    assert_false(net_conn_alive(NULL));
    assert_null(net_conn_peer_subject(NULL));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(addr_parse_ipv4),
    cmocka_unit_test(addr_parse_ipv6),
    cmocka_unit_test(addr_is_compact_and_fits_ipv6),
    cmocka_unit_test(addr_parse_rejects_malformed),
    cmocka_unit_test(addr_str_round_trips),
    cmocka_unit_test(addr_str_truncates_to_buffer),
    cmocka_unit_test(addr_eq_compares_family_ip_and_port),
    cmocka_unit_test(tp_name_spells_via_transports),
    cmocka_unit_test(limits_default_values),
    cmocka_unit_test(flow_hold_release_without_conn),
};

SV_TEST_MAIN(tests)
