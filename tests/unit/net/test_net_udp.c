/**
 * @file test_net_udp.c  UDP listeners on loopback: round trips over IPv4 and IPv6, batched
 * reads, oversize and malformed datagrams, keep-alives, the choice of the sending socket.
 * Each case runs a libevent loop in-process on ephemeral ports (RFC 3261 §18.1, §18.2).
 */
#include <signal.h>
#include "svtest_net.h"

static void udp_listen_port_zero_reports_bound(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr any, b1, b2;

    svt_peer_init(&p, base, NULL);
    assert_int_equal(net_addr_parse(&any, "127.0.0.1:0"), 0);
    assert_int_equal(net_listen(p.net, NET_UDP, &any, NULL, &b1), 0);
    assert_int_equal(net_listen(p.net, NET_UDP, &any, NULL, &b2), 1);
    assert_int_equal(net_listen(p.net, NET_UDP, &any, NULL, NULL), 2);
    assert_int_not_equal(net_addr_port(&b1), 0);
    assert_int_not_equal(net_addr_port(&b1), net_addr_port(&b2));
    /* The port is taken now: binding it again fails with the errno, negated. */
    assert_int_equal(net_listen(p.net, NET_UDP, &b1, NULL, NULL), -EADDRINUSE);
    assert_int_equal(net_listen(p.net, (enum net_tp)9, &any, NULL, NULL), -EINVAL);
    svt_peer_close(&p);
    event_base_free(base);
}

/*
 * Linux lets a port-0 bind with SO_REUSEPORT land on a port that another SO_REUSEPORT socket
 * of the same user holds already: the two then share its datagrams. Two multi-worker sipveil
 * processes on one host (or two tests in parallel) took each other's responses so. Here 900
 * such sockets of "another process" are bound first; none of 100 port-0 listeners of a
 * reuseport instance may land on one of their ports (without the fix, ~96% of runs did).
 * They bind 127.7.7.1, not 127.0.0.1: bound there the old way they would share (and take)
 * the ports of the sipveil processes that other tests run in parallel on 127.0.0.1.
 */
static void udp_reuseport_port_zero_never_shares(void **state)
{
    enum { FOREIGN = 900, OURS = 100 };
    struct event_base *base = event_base_new();
    struct net_limits lim = net_limits_default;
    static int fds[FOREIGN];
    static uint16_t ports[FOREIGN];
    struct svt_peer p;
    struct net_addr any, b;
    int one = 1;

    (void)state;
    for (int i = 0; i < FOREIGN; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f070701)};
        socklen_t sl = sizeof(sa);
        fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
        assert_int_equal(bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fds[i], (struct sockaddr *)&sa, &sl), 0);
        ports[i] = ntohs(sa.sin_port);
    }
    lim.reuseport = true;
    svt_peer_init(&p, base, &lim);
    assert_int_equal(net_addr_parse(&any, "127.7.7.1:0"), 0);
    for (int i = 0; i < OURS; i++) {
        assert_int_equal(net_listen(p.net, NET_UDP, &any, NULL, &b), i);
        for (int j = 0; j < FOREIGN; j++)
            assert_int_not_equal(net_addr_port(&b), ports[j]);
    }
    /* a second worker still joins an explicit port of the first */
    struct svt_peer q;
    svt_peer_init(&q, base, &lim);
    assert_int_equal(net_listen(q.net, NET_UDP, &b, NULL, NULL), 0);
    svt_peer_close(&q);
    svt_peer_close(&p);
    for (int i = 0; i < FOREIGN; i++)
        close(fds[i]);
    event_base_free(base);
}

static void udp_round_trip(const char *host)
{
    struct event_base *base = event_base_new();
    struct svt_peer a, b;
    struct net_addr aa, ba;
    struct net_flow used;
    char msg[512];
    size_t n = svt_request(msg, sizeof(msg), 1, "hello");

    svt_peer_init(&a, base, NULL);
    svt_peer_init(&b, base, NULL);
    aa = svt_listen(&a, NET_UDP, host, NULL);
    ba = svt_listen(&b, NET_UDP, host, NULL);
    b.echo = true;

    assert_int_equal(net_send(a.net, NET_UDP, &ba, NULL, msg, n, &used), 0);
    assert_int_equal(used.tp, NET_UDP);
    assert_null(used.conn);
    assert_int_equal(used.listener, 0);
    assert_true(net_addr_eq(&used.peer, &ba));
    assert_true(net_addr_eq(&used.local, &aa));
    net_flow_release(&used);

    SVT_UNTIL(base, a.nmsgs == 1, 2000);
    assert_int_equal(b.nmsgs, 1);
    assert_int_equal(a.nmsgs, 1);
    sv_test_expect_bytes(b.msgs[0].buf, b.msgs[0].len, msg);
    sv_test_expect_bytes(a.msgs[0].buf, a.msgs[0].len, msg);
    /* B saw A's listener as the source; A saw the reply come from B's listener. */
    assert_int_equal(b.msgs[0].flow.tp, NET_UDP);
    assert_true(net_addr_eq(&b.msgs[0].flow.peer, &aa));
    assert_true(net_addr_eq(&b.msgs[0].flow.local, &ba));
    assert_int_equal(b.msgs[0].flow.listener, 0);
    assert_null(b.msgs[0].flow.conn);
    assert_true(net_addr_eq(&a.msgs[0].flow.peer, &ba));
    assert_int_equal(svt_stats(&a)->tx_msgs, 1);
    assert_int_equal(svt_stats(&a)->tx_bytes, n);
    assert_int_equal(svt_stats(&b)->rx_msgs, 1);
    assert_int_equal(svt_stats(&b)->rx_bytes, n);
    assert_int_equal(b.echo_err, 0);

    svt_peer_close(&a);
    svt_peer_close(&b);
    event_base_free(base);
}

static void udp_round_trip_ipv4(void **state)
{
    udp_round_trip("127.0.0.1:0");
}

static void udp_round_trip_ipv6(void **state)
{
    udp_round_trip("[::1]:0");
}

/* More datagrams than one recvmmsg batch (32) all arrive, in order. */
static void udp_reads_more_than_a_batch(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    char msg[512];

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    for (unsigned i = 0; i < 40; i++) {
        size_t n = svt_request(msg, sizeof(msg), i, "x");
        assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
    }
    SVT_UNTIL(base, p.nmsgs == 40, 2000);
    assert_int_equal(p.nmsgs, 40);
    for (unsigned i = 0; i < 40; i++) {
        svt_request(msg, sizeof(msg), i, "x");
        assert_string_equal(p.msgs[i].buf, msg);
        assert_true(net_addr_eq(&p.msgs[i].flow.peer, &ca));
    }
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* udp_recv_calls counts the recvmmsg calls that returned datagrams, so that datagrams / calls
 * is the mean batch: 40 datagrams need at least two calls of 32 and at most one each. */
static void udp_recv_calls_counts_batches(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    const struct net_stats *st;
    char msg[512];

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    st = net_stats_get(p.net);
    assert_int_equal(st->udp_recv_calls, 0);
    for (unsigned i = 0; i < 40; i++) {
        size_t n = svt_request(msg, sizeof(msg), i, "x");
        assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
    }
    SVT_UNTIL(base, p.nmsgs == 40, 2000);
    assert_int_equal(st->rx_msgs, 40);
    assert_in_range(st->udp_recv_calls, 2, 40);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/*
 * A receive callback that sends a datagram to another UDP listener of the same instance (two
 * nodes of one process, a hop over loopback) has it read in the same pass: one turn of the
 * loop delivers both, and the local read is counted. With SO_REUSEPORT (several workers,
 * where the kernel may queue it on another worker's socket) the pass does not look: the
 * second datagram needs a turn of its own.
 */
static void udp_hop_to_own_listener(bool reuseport, unsigned turn1, unsigned local_reads)
{
    struct event_base *base = event_base_new();
    struct net_limits lim = net_limits_default;
    struct svt_peer p;
    struct net_addr la, lb, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    char msg[512];
    size_t n = svt_request(msg, sizeof(msg), 1, "hop");

    lim.reuseport = reuseport;
    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    lb = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    p.forward_to = &lb;
    assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
    event_base_loop(base, EVLOOP_ONCE); /* the datagram is queued: this turn reads it */
    assert_int_equal(p.nmsgs, turn1);
    SVT_UNTIL(base, p.nmsgs == 2, 2000);
    assert_int_equal(p.nmsgs, 2);
    assert_int_equal(p.echo_err, 0);
    assert_int_equal(p.msgs[0].flow.listener, 0);
    assert_int_equal(p.msgs[1].flow.listener, 1);
    assert_true(net_addr_eq(&p.msgs[1].flow.peer, &la)); /* sent from listener 0 */
    sv_test_expect_bytes(p.msgs[1].buf, p.msgs[1].len, msg);
    assert_int_equal(svt_stats(&p)->udp_local_reads, local_reads);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

static void udp_hop_to_own_listener_read_in_same_pass(void **state)
{
    udp_hop_to_own_listener(false, 2, 1);
}

static void udp_hop_to_own_listener_reuseport_waits_for_loop(void **state)
{
    udp_hop_to_own_listener(true, 1, 0);
}

/*
 * net_hold() for a whole read pass, as a worker does once the pass has written to its store:
 * a datagram to a peer outside the instance is kept until net_release() at the pass's end,
 * and only then leaves; a hop to an own listener still goes at once and is read in the pass.
 */
struct hold_pass {
    struct svt_peer *p;
    int fd;                   /* the outside peer's socket */
    unsigned passes;          /* pass_end calls */
    ssize_t got_before;       /* what the outside peer could read when the pass ended */
    unsigned long held_at_end;
    unsigned failed;
};

static void hold_pass_begin(void *arg)
{
    struct hold_pass *h = arg;

    net_hold(h->p->net);
}

static void hold_pass_end(void *arg)
{
    struct hold_pass *h = arg;
    char b[64];

    h->passes++;
    h->got_before = recv(h->fd, b, sizeof(b), MSG_DONTWAIT);
    h->held_at_end = svt_stats(h->p)->udp_held;
    h->failed = net_release(h->p->net);
}

static void udp_hold_until_release(bool own)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la, lb, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    struct hold_pass h = {.p = &p, .fd = fd};
    char msg[512], got[600];
    size_t n = svt_request(msg, sizeof(msg), 1, "held");

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    lb = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    p.forward_to = own ? &lb : &ca;
    net_set_pass_hooks(p.net, hold_pass_begin, hold_pass_end, &h);
    assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
    event_base_loop(base, EVLOOP_ONCE);
    assert_int_equal(h.passes, 1);
    assert_int_equal(p.echo_err, 0);
    assert_int_equal(h.failed, 0);
    assert_int_equal(h.got_before, -1); /* nothing had left when the pass ended */
    if (own) {
        assert_int_equal(p.nmsgs, 2); /* the hop went at once, and was read in the pass */
        assert_int_equal(h.held_at_end, 0);
    } else {
        assert_int_equal(p.nmsgs, 1);
        assert_int_equal(h.held_at_end, 1);
        /* released at the pass's end: queued on the outside socket already */
        ssize_t r = recv(fd, got, sizeof(got), MSG_DONTWAIT);
        assert_int_equal(r, (ssize_t)n);
        sv_test_expect_bytes(got, (size_t)r, msg);
    }
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

static void udp_hold_keeps_outbound_until_release(void **state)
{
    udp_hold_until_release(false);
}

static void udp_hold_lets_own_hops_through(void **state)
{
    udp_hold_until_release(true);
}

/* A datagram above max_msg is dropped and counted; the next one still gets through. */
static void udp_oversize_datagram_dropped(void **state)
{
    struct event_base *base = event_base_new();
    struct net_limits lim = {.max_msg = 1000};
    struct svt_peer p;
    struct net_addr la, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    char big[1500], msg[512];
    size_t n;

    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    memset(big, 'a', sizeof(big));
    assert_int_equal(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&la.ss, la.len),
                     (ssize_t)sizeof(big));
    n = svt_request(msg, sizeof(msg), 2, "ok");
    assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
    SVT_UNTIL(base, p.nmsgs == 1, 2000);
    assert_int_equal(p.nmsgs, 1);
    assert_string_equal(p.msgs[0].buf, msg);
    assert_int_equal(svt_stats(&p)->dropped_oversize, 1);
    assert_int_equal(svt_stats(&p)->dropped_malformed, 0);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* Garbage, a truncated message, an empty datagram: dropped and counted as malformed. */
static void udp_malformed_datagram_dropped(void **state)
{
    static const char *const bad[] = {
        "\x00\x01\x02 not sip",
        "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 100\r\n\r\nshort",
        "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n", /* no end of headers */
        "",
    };
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    char msg[512];
    size_t n;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        size_t l = i == 0 ? 11 : strlen(bad[i]); /* the first holds a NUL */
        assert_int_equal(sendto(fd, bad[i], l, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)l);
    }
    n = svt_request(msg, sizeof(msg), 2, "ok");
    assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
    SVT_UNTIL(base, p.nmsgs == 1, 2000);
    assert_int_equal(p.nmsgs, 1);
    assert_string_equal(p.msgs[0].buf, msg);
    assert_int_equal(svt_stats(&p)->dropped_malformed, SV_ARRAY_SIZE(bad));
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* CRLFs before a message are stripped; a datagram of CRLFs alone is a keep-alive. */
static void udp_crlf_keepalive_stripped(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    char msg[512], wire[520];
    size_t n;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    assert_int_equal(sendto(fd, "\r\n\r\n", 4, 0, (struct sockaddr *)&la.ss, la.len), 4);
    n = svt_request(msg, sizeof(msg), 1, "b");
    memcpy(wire, "\r\n", 2);
    memcpy(wire + 2, msg, n);
    assert_int_equal(sendto(fd, wire, n + 2, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n + 2);
    SVT_UNTIL(base, p.nmsgs == 1, 2000);
    assert_int_equal(p.nmsgs, 1);
    sv_test_expect_bytes(p.msgs[0].buf, p.msgs[0].len, msg);
    assert_int_equal(svt_stats(&p)->keepalives, 1);
    assert_int_equal(svt_stats(&p)->dropped_malformed, 0);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* UDP leaves from the flow's listener; without a flow, from the first of the family. */
static void udp_send_uses_flow_listener(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr l0, l1, ca, from;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    char msg[512], buf[1024];
    size_t n = svt_request(msg, sizeof(msg), 1, "");
    ssize_t r;

    svt_peer_init(&p, base, NULL);
    l0 = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    l1 = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    p.echo = true;
    assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&l1.ss, l1.len), (ssize_t)n);
    SVT_UNTIL(base, p.nmsgs == 1, 2000);
    assert_int_equal(p.nmsgs, 1);
    assert_int_equal(p.msgs[0].flow.listener, 1);

    from.len = sizeof(from.ss);
    r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from.ss, &from.len);
    assert_int_equal(r, (ssize_t)n);
    assert_true(net_addr_eq(&from, &l1)); /* the echo came from the listener it went to */

    assert_int_equal(net_send(p.net, NET_UDP, &ca, NULL, msg, n, NULL), 0);
    from.len = sizeof(from.ss);
    for (int i = 0; i < 100; i++) {
        r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from.ss, &from.len);
        if (r >= 0)
            break;
        svt_spin(base);
    }
    assert_int_equal(r, (ssize_t)n);
    assert_true(net_addr_eq(&from, &l0));
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* No UDP listener of the destination's family: EHOSTUNREACH, at once. */
static void udp_send_without_listener_of_family(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr dst;
    struct net_flow used = {.listener = 42};

    svt_peer_init(&p, base, NULL);
    assert_int_equal(net_addr_parse(&dst, "[::1]:5060"), 0);
    assert_int_equal(net_send(p.net, NET_UDP, &dst, NULL, "x", 1, &used), EHOSTUNREACH);
    svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    assert_int_equal(net_send(p.net, NET_UDP, &dst, NULL, "x", 1, &used), EHOSTUNREACH);
    assert_int_equal(used.listener, 42); /* untouched on failure */
    memset(&dst, 0, sizeof(dst));
    assert_int_equal(net_send(p.net, NET_UDP, &dst, NULL, "x", 1, NULL), EAFNOSUPPORT);
    assert_int_equal(net_send(p.net, NET_UDP, NULL, NULL, "x", 1, NULL), EINVAL);
    assert_int_equal(svt_stats(&p)->tx_msgs, 0);
    svt_peer_close(&p);
    event_base_free(base);
}

/* net_free() from inside recvh: the rest of the batch is not delivered, nothing breaks. */
static void udp_net_free_inside_recv(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la, ca;
    int fd = svt_udp_socket("127.0.0.1:0", &ca);
    char msg[512];
    size_t n = svt_request(msg, sizeof(msg), 1, "");

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_UDP, "127.0.0.1:0", NULL);
    p.free_on_recv = true;
    for (int i = 0; i < 3; i++)
        assert_int_equal(sendto(fd, msg, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
    SVT_UNTIL(base, p.nmsgs >= 1, 2000);
    svt_run_for(base, 30);
    assert_int_equal(p.nmsgs, 1);
    assert_null(p.net);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

static void net_alloc_checks_arguments(void **state)
{
    struct event_base *base = event_base_new();
    struct net *net = NULL;

    assert_int_equal(net_alloc(&net, NULL, NULL, svt_frame, svt_recv, NULL, NULL), EINVAL);
    assert_int_equal(net_alloc(&net, base, NULL, NULL, svt_recv, NULL, NULL), EINVAL);
    assert_int_equal(net_alloc(&net, base, NULL, svt_frame, NULL, NULL, NULL), EINVAL);
    assert_null(net);
    net_free(NULL);
    event_base_free(base);
}

/* A peer that resets a connection must not kill the process: net_alloc ignores SIGPIPE when
   it is at its default, and leaves an application's own handler alone. */
static void sigpipe_noop(int sig) {}

static void net_alloc_ignores_sigpipe(void **state)
{
    struct event_base *base = event_base_new();
    struct net *net = NULL;
    struct sigaction sa;

    signal(SIGPIPE, SIG_DFL);
    assert_int_equal(net_alloc(&net, base, NULL, svt_frame, svt_recv, NULL, NULL), 0);
    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_ptr_equal(sa.sa_handler, SIG_IGN);
    net_free(net);

    signal(SIGPIPE, sigpipe_noop);
    assert_int_equal(net_alloc(&net, base, NULL, svt_frame, svt_recv, NULL, NULL), 0);
    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_ptr_equal(sa.sa_handler, sigpipe_noop);
    net_free(net);
    signal(SIGPIPE, SIG_DFL);
    event_base_free(base);
}

/* Out of memory at each allocation in turn: ENOMEM or success, never a leak or a crash. */
static void net_alloc_listen_oom_sweep(void **state)
{
    struct event_base *base = event_base_new();
    struct net_addr any;
    bool done = false;

    assert_int_equal(net_addr_parse(&any, "127.0.0.1:0"), 0);
    for (long i = 0; !done && i < 100; i++) {
        struct net *net = NULL;
        int err;

        sv_mem_fail_after(i);
        err = net_alloc(&net, base, NULL, svt_frame, svt_recv, NULL, NULL);
        if (err) {
            assert_int_equal(err, ENOMEM);
            assert_null(net);
            continue;
        }
        err = net_listen(net, NET_UDP, &any, NULL, NULL);
        if (err >= 0)
            err = net_listen(net, NET_TCP, &any, NULL, NULL);
        sv_mem_fail_after(-1);
        if (err < 0)
            assert_int_equal(err, -ENOMEM);
        else
            done = true;
        net_free(net);
    }
    sv_mem_fail_after(-1);
    assert_true(done);
    event_base_free(base);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(udp_listen_port_zero_reports_bound),
    cmocka_unit_test(udp_reuseport_port_zero_never_shares),
    cmocka_unit_test(udp_round_trip_ipv4),
    cmocka_unit_test(udp_round_trip_ipv6),
    cmocka_unit_test(udp_reads_more_than_a_batch),
    cmocka_unit_test(udp_recv_calls_counts_batches),
    cmocka_unit_test(udp_hop_to_own_listener_read_in_same_pass),
    cmocka_unit_test(udp_hop_to_own_listener_reuseport_waits_for_loop),
    cmocka_unit_test(udp_hold_keeps_outbound_until_release),
    cmocka_unit_test(udp_hold_lets_own_hops_through),
    cmocka_unit_test(udp_oversize_datagram_dropped),
    cmocka_unit_test(udp_malformed_datagram_dropped),
    cmocka_unit_test(udp_crlf_keepalive_stripped),
    cmocka_unit_test(udp_send_uses_flow_listener),
    cmocka_unit_test(udp_send_without_listener_of_family),
    cmocka_unit_test(udp_net_free_inside_recv),
    cmocka_unit_test(net_alloc_checks_arguments),
    cmocka_unit_test(net_alloc_ignores_sigpipe),
    cmocka_unit_test(net_alloc_listen_oom_sweep),
};

SV_TEST_MAIN(tests)
