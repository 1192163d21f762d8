/**
 * @file test_net_tcp.c  TCP on loopback: stream framing, keep-alives, the bounds on what a
 * peer may make us hold (malformed, oversize, idle, slowloris, caps), connection reuse and
 * outbound connections, flow references. RFC 3261 §18.3 (framing), RFC 5626 §4.4.1 (CRLF
 * keep-alive). Each case runs a libevent loop in-process on ephemeral ports.
 */
#include "svtest_net.h"

/* Two requests in one segment: both delivered, each whole, in order. */
static void tcp_two_messages_in_one_segment(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la;
    char m1[512], m2[512], wire[1024];
    size_t n1 = svt_request(m1, sizeof(m1), 1, "first");
    size_t n2 = svt_request(m2, sizeof(m2), 2, "second body");
    int fd;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);
    memcpy(wire, m1, n1);
    memcpy(wire + n1, m2, n2);
    svt_send_all(fd, wire, n1 + n2);
    SVT_UNTIL(base, p.nmsgs == 2, 2000);
    assert_int_equal(p.nmsgs, 2);
    sv_test_expect_bytes(p.msgs[0].buf, p.msgs[0].len, m1);
    sv_test_expect_bytes(p.msgs[1].buf, p.msgs[1].len, m2);
    assert_int_equal(p.msgs[0].flow.tp, NET_TCP);
    assert_int_equal(p.msgs[0].flow.listener, 0);
    assert_non_null(p.msgs[0].flow.conn);
    assert_ptr_equal(p.msgs[0].flow.conn, p.msgs[1].flow.conn);
    assert_true(net_conn_alive(p.msgs[0].flow.conn));
    assert_true(net_addr_eq(&p.msgs[0].flow.local, &la));
    assert_int_equal(svt_stats(&p)->rx_msgs, 2);
    assert_int_equal(svt_stats(&p)->rx_bytes, n1 + n2);
    assert_int_equal(svt_stats(&p)->conns_open, 1);
    assert_int_equal(svt_stats(&p)->conns_accepted, 1);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* One request sent an octet at a time, each octet read on its own: delivered once, whole. */
static void tcp_message_split_byte_by_byte(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 7, "split");
    int fd;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);
    for (size_t i = 0; i < n; i++) {
        svt_send_all(fd, m + i, 1);
        SVT_UNTIL(base, svt_stats(&p)->rx_bytes == i + 1, 2000);
        assert_int_equal(svt_stats(&p)->rx_bytes, i + 1);
        assert_int_equal(p.nmsgs, i + 1 == n ? 1 : 0);
    }
    sv_test_expect_bytes(p.msgs[0].buf, p.msgs[0].len, m);
    assert_int_equal(svt_stats(&p)->dropped_malformed, 0);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* RFC 5626 §4.4.1: "\r\n\r\n" is answered with "\r\n", also when split; a lone "\r\n" (a pong)
   is dropped; neither disturbs framing of what follows. */
static void tcp_keepalive_ping_gets_pong(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la;
    char m[512], buf[64];
    size_t n = svt_request(m, sizeof(m), 1, "");
    int fd;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);

    svt_send_all(fd, "\r\n\r\n", 4);
    assert_int_equal(svt_read(base, fd, buf, sizeof(buf), 2, 2000, NULL), 2);
    assert_memory_equal(buf, "\r\n", 2);
    assert_int_equal(svt_stats(&p)->keepalives, 1);

    svt_send_all(fd, "\r\n", 2);
    SVT_UNTIL(base, svt_stats(&p)->rx_bytes == 6, 2000);
    svt_send_all(fd, "\r\n", 2);
    assert_int_equal(svt_read(base, fd, buf, sizeof(buf), 2, 2000, NULL), 2);
    assert_memory_equal(buf, "\r\n", 2);
    assert_int_equal(svt_stats(&p)->keepalives, 2);

    /* A pong of the peer's, then a request: no answer to the pong, the request framed. */
    svt_send_all(fd, "\r\n", 2);
    svt_send_all(fd, m, n);
    SVT_UNTIL(base, p.nmsgs == 1, 2000);
    assert_int_equal(p.nmsgs, 1);
    sv_test_expect_bytes(p.msgs[0].buf, p.msgs[0].len, m);
    assert_int_equal(svt_read(base, fd, buf, sizeof(buf), 1, 50, NULL), 0);
    assert_int_equal(svt_stats(&p)->keepalives, 2);
    assert_true(net_conn_alive(p.msgs[0].flow.conn));
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* Malformed framing cannot be resynchronised on a stream: the connection closes (EBADMSG). */
static void tcp_malformed_framing_closes(void **state)
{
    static const char bad[] = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: ten\r\n\r\n";
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 1, "ok");
    int fd;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);
    svt_send_all(fd, m, n);
    svt_send_all(fd, bad, sizeof(bad) - 1);
    svt_expect_eof(base, fd, 2000);
    assert_int_equal(p.nmsgs, 1); /* the good one before it was delivered */
    assert_int_equal(svt_stats(&p)->dropped_malformed, 1);
    assert_int_equal(svt_stats(&p)->conns_open, 0);
    assert_int_equal(p.ncloses, 1);
    assert_int_equal(p.closes[0].err, EBADMSG);
    assert_ptr_equal(p.closes[0].conn, p.msgs[0].flow.conn);
    assert_false(net_conn_alive(p.msgs[0].flow.conn)); /* held, closed, still allocated */
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* A head that reaches max_msg without an end closes the connection (EMSGSIZE). */
static void tcp_oversize_message_closes(void **state)
{
    struct event_base *base = event_base_new();
    struct net_limits lim = {.max_msg = 512};
    struct svt_peer p;
    struct net_addr la;
    char junk[600];
    int fd;

    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);
    memcpy(junk, "OPTIONS sip:a@b SIP/2.0\r\nX-Pad: ", 32);
    memset(junk + 32, 'p', sizeof(junk) - 32);
    svt_send_all(fd, junk, sizeof(junk));
    svt_expect_eof(base, fd, 2000);
    assert_int_equal(svt_stats(&p)->dropped_oversize, 1);
    assert_int_equal(p.ncloses, 1);
    assert_int_equal(p.closes[0].err, EMSGSIZE);
    assert_int_equal(p.nmsgs, 0);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* A connection with no traffic for idle_timeout_ms closes (ETIMEDOUT). */
static void tcp_idle_timeout_closes(void **state)
{
    struct event_base *base = event_base_new();
    struct net_limits lim = {.idle_timeout_ms = 100};
    struct svt_peer p;
    struct net_addr la;
    uint64_t t0;
    int fd;

    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);
    t0 = svt_now();
    SVT_UNTIL(base, svt_stats(&p)->conns_accepted == 1, 2000);
    /* Traffic keeps it open past the timeout: a ping every 40 ms for 200 ms. */
    for (int i = 0; i < 5; i++) {
        svt_send_all(fd, "\r\n\r\n", 4);
        svt_run_for(base, 40);
    }
    assert_int_equal(svt_stats(&p)->conns_open, 1);
    svt_expect_eof(base, fd, 2000);
    assert_true(svt_now() - t0 >= 250);
    assert_int_equal(svt_stats(&p)->conns_timed_out, 1);
    assert_int_equal(p.ncloses, 1);
    assert_int_equal(p.closes[0].err, ETIMEDOUT);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* Slowloris: a message that has started must end within header_timeout_ms, however steadily
   its octets trickle in (which keeps the idle timer happy). */
static void tcp_header_timeout_closes(void **state)
{
    struct event_base *base = event_base_new();
    struct net_limits lim = {.header_timeout_ms = 150, .idle_timeout_ms = 5000};
    struct svt_peer p;
    struct net_addr la;
    char m[512], buf[16];
    size_t n = svt_request(m, sizeof(m), 1, "");
    bool eof = false;
    uint64_t t0;
    int fd;

    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);
    /* Keep-alives alone never start the clock. */
    svt_send_all(fd, "\r\n\r\n", 4);
    assert_int_equal(svt_read(base, fd, buf, sizeof(buf), 2, 2000, NULL), 2);
    svt_run_for(base, 200);
    assert_int_equal(svt_stats(&p)->conns_open, 1);
    t0 = svt_now();
    for (size_t i = 0; i < n - 1 && !eof; i++) {
        send(fd, m + i, 1, MSG_NOSIGNAL);
        svt_read(base, fd, buf, sizeof(buf), 1, 20, &eof);
    }
    if (!eof)
        svt_expect_eof(base, fd, 2000);
    assert_true(svt_now() - t0 >= 140);
    assert_int_equal(p.nmsgs, 0);
    assert_int_equal(svt_stats(&p)->conns_timed_out, 1);
    assert_int_equal(p.ncloses, 1);
    assert_int_equal(p.closes[0].err, ETIMEDOUT);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

/* max_conns_per_ip: the accept beyond the cap is closed at once and counted; the others work. */
static void tcp_per_ip_cap_refuses(void **state)
{
    struct event_base *base = event_base_new();
    struct net_limits lim = {.max_conns_per_ip = 2};
    struct svt_peer p;
    struct net_addr la;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 1, "");
    int fd[4];

    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    for (int i = 0; i < 3; i++) {
        fd[i] = svt_tcp_connect(&la);
        SVT_UNTIL(base, svt_stats(&p)->conns_accepted + svt_stats(&p)->conns_refused == i + 1u,
                  2000);
    }
    svt_expect_eof(base, fd[2], 2000);
    assert_int_equal(svt_stats(&p)->conns_accepted, 2);
    assert_int_equal(svt_stats(&p)->conns_refused, 1);
    assert_int_equal(svt_stats(&p)->conns_open, 2);
    assert_int_equal(p.ncloses, 0); /* a refused accept was never a connection */
    svt_send_all(fd[0], m, n);
    svt_send_all(fd[1], m, n);
    SVT_UNTIL(base, p.nmsgs == 2, 2000);
    assert_int_equal(p.nmsgs, 2);

    /* One closes: a new one from the same IP fits again. */
    close(fd[0]);
    SVT_UNTIL(base, p.ncloses == 1, 2000);
    assert_int_equal(p.closes[0].err, 0);
    fd[3] = svt_tcp_connect(&la);
    SVT_UNTIL(base, svt_stats(&p)->conns_accepted == 3, 2000);
    assert_int_equal(svt_stats(&p)->conns_accepted, 3);
    assert_int_equal(svt_stats(&p)->conns_open, 2);
    for (int i = 1; i < 4; i++)
        close(fd[i]);
    svt_peer_close(&p);
    event_base_free(base);
}

/* max_conns bounds all connections, outbound ones included. */
static void tcp_max_conns_refuses(void **state)
{
    struct event_base *base = event_base_new();
    struct net_limits lim = {.max_conns = 1};
    struct svt_peer p;
    struct net_addr la;
    int fd1, fd2;

    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd1 = svt_tcp_connect(&la);
    SVT_UNTIL(base, svt_stats(&p)->conns_accepted == 1, 2000);
    fd2 = svt_tcp_connect(&la);
    svt_expect_eof(base, fd2, 2000);
    assert_int_equal(svt_stats(&p)->conns_refused, 1);
    /* A send that would need a new connection fails at once. */
    assert_int_equal(net_send(p.net, NET_TCP, &la, NULL, "x", 1, NULL), ENOBUFS);
    close(fd1);
    close(fd2);
    svt_peer_close(&p);
    event_base_free(base);
}

/* RFC 3261 §18.2.2: the response goes back over the connection the request came on, whether
   the flow is given or only the peer's address (the peer hash finds it). */
static void tcp_reply_reuses_inbound_connection(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la;
    struct net_flow used;
    char m[512], buf[2048];
    size_t n = svt_request(m, sizeof(m), 1, "ping");
    int fd;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    p.echo = true;
    fd = svt_tcp_connect(&la);
    svt_send_all(fd, m, n);
    assert_int_equal(svt_read(base, fd, buf, sizeof(buf), n, 2000, NULL), n);
    assert_memory_equal(buf, m, n);
    assert_int_equal(p.echo_err, 0);

    /* No flow, just the address: the same connection. */
    assert_int_equal(net_send(p.net, NET_TCP, &p.msgs[0].flow.peer, NULL, m, n, &used), 0);
    assert_ptr_equal(used.conn, p.msgs[0].flow.conn);
    assert_int_equal(used.listener, 0);
    assert_int_equal(sv_nrefs(used.conn), 3); /* the instance, the held message, used */
    net_flow_release(&used);
    assert_int_equal(svt_read(base, fd, buf, sizeof(buf), n, 2000, NULL), n);
    assert_memory_equal(buf, m, n);
    assert_int_equal(svt_stats(&p)->conns_open, 1);
    assert_int_equal(svt_stats(&p)->tx_msgs, 2);
    /* Over UDP there is no listener: the connection does not make one up. */
    assert_int_equal(net_send(p.net, NET_UDP, &p.msgs[0].flow.peer, &p.msgs[0].flow, m, n, NULL),
                     EHOSTUNREACH);
    close(fd);
    svt_peer_close(&p);
    event_base_free(base);
}

static void tcp_outbound(const char *host)
{
    struct event_base *base = event_base_new();
    struct svt_peer a, b;
    struct net_addr ba;
    struct net_flow used, used2;
    char m1[512], m2[512];
    size_t n1 = svt_request(m1, sizeof(m1), 1, "out");
    size_t n2 = svt_request(m2, sizeof(m2), 2, "again");

    svt_peer_init(&a, base, NULL);
    svt_peer_init(&b, base, NULL);
    ba = svt_listen(&b, NET_TCP, host, NULL);
    b.echo = true;

    /* Queued before the connection is up; sent once it is. */
    assert_int_equal(net_send(a.net, NET_TCP, &ba, NULL, m1, n1, &used), 0);
    assert_non_null(used.conn);
    assert_int_equal(used.listener, -1);
    assert_true(net_conn_alive(used.conn));
    assert_int_equal(svt_stats(&a)->conns_open, 1);
    SVT_UNTIL(base, a.nmsgs == 1, 2000);
    assert_int_equal(b.nmsgs, 1);
    assert_int_equal(a.nmsgs, 1);
    sv_test_expect_bytes(b.msgs[0].buf, b.msgs[0].len, m1);
    sv_test_expect_bytes(a.msgs[0].buf, a.msgs[0].len, m1);
    /* The reply came on the outbound connection, whose local address is now known. */
    assert_ptr_equal(a.msgs[0].flow.conn, used.conn);
    assert_int_equal(a.msgs[0].flow.listener, -1);
    assert_true(net_addr_eq(&a.msgs[0].flow.peer, &ba));
    assert_true(net_addr_eq(&a.msgs[0].flow.local, &b.msgs[0].flow.peer));

    /* A second send reuses it. */
    assert_int_equal(net_send(a.net, NET_TCP, &ba, NULL, m2, n2, &used2), 0);
    assert_ptr_equal(used2.conn, used.conn);
    SVT_UNTIL(base, a.nmsgs == 2, 2000);
    assert_int_equal(a.nmsgs, 2);
    sv_test_expect_bytes(a.msgs[1].buf, a.msgs[1].len, m2);
    assert_int_equal(svt_stats(&a)->conns_open, 1);
    assert_int_equal(svt_stats(&b)->conns_accepted, 1);
    net_flow_release(&used);
    net_flow_release(&used2);
    svt_peer_close(&a);
    svt_peer_close(&b);
    event_base_free(base);
}

static void tcp_outbound_connect_send_reply(void **state)
{
    tcp_outbound("127.0.0.1:0");
}

static void tcp_outbound_ipv6(void **state)
{
    tcp_outbound("[::1]:0");
}

/* A connect that fails is reported through closeh with the errno, and the flow goes dead. */
static void tcp_connect_refused_reports_errno(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p, gone;
    struct net_addr dst;
    struct net_flow used;

    svt_peer_init(&gone, base, NULL);
    dst = svt_listen(&gone, NET_TCP, "127.0.0.1:0", NULL);
    svt_peer_close(&gone); /* a port that was just free: nobody listens */
    svt_run_for(base, 10);

    svt_peer_init(&p, base, NULL);
    assert_int_equal(net_send(p.net, NET_TCP, &dst, NULL, "x", 1, &used), 0);
    SVT_UNTIL(base, p.ncloses == 1, 2000);
    assert_int_equal(p.ncloses, 1);
    assert_int_equal(p.closes[0].err, ECONNREFUSED);
    assert_ptr_equal(p.closes[0].conn, used.conn);
    assert_false(net_conn_alive(used.conn));
    assert_int_equal(svt_stats(&p)->conns_open, 0);
    /* A send with the dead flow opens a new connection (which fails the same way). */
    assert_int_equal(net_send(p.net, NET_TCP, &dst, &used, "x", 1, NULL), 0);
    SVT_UNTIL(base, p.ncloses == 2, 2000);
    assert_int_equal(p.ncloses, 2);
    net_flow_release(&used);
    svt_peer_close(&p);
    event_base_free(base);
}

/* A held flow keeps a closed connection allocated (dead) until released; an orderly close by
   the peer is reported as 0. */
static void tcp_held_flow_outlives_close(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la;
    struct net_flow keep;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 1, "");
    int fd;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&la);
    svt_send_all(fd, m, n);
    SVT_UNTIL(base, p.nmsgs == 1, 2000);
    assert_int_equal(p.nmsgs, 1);
    net_flow_hold(&keep, &p.msgs[0].flow);
    assert_int_equal(sv_nrefs(keep.conn), 3);
    close(fd);
    SVT_UNTIL(base, p.ncloses == 1, 2000);
    assert_int_equal(p.ncloses, 1);
    assert_int_equal(p.closes[0].err, 0);
    assert_false(net_conn_alive(keep.conn));
    assert_int_equal(sv_nrefs(keep.conn), 2);
    assert_null(net_conn_peer_subject(keep.conn));
    /* Sending on it now needs a new connection: the peer is gone, so that one fails. */
    assert_int_equal(net_send(p.net, NET_TCP, &keep.peer, &keep, m, n, NULL), 0);
    net_flow_release(&keep);
    assert_null(keep.conn);
    SVT_UNTIL(base, p.ncloses == 2, 2000);
    svt_peer_close(&p); /* releases the last reference: ASan reports a leak or a double free */
    event_base_free(base);
}

/* net_free() closes both directions and runs no callback. */
static void tcp_net_free_closes_without_callbacks(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer a, b;
    struct net_addr aa, ba;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 1, "");
    int fd;

    svt_peer_init(&a, base, NULL);
    svt_peer_init(&b, base, NULL);
    aa = svt_listen(&a, NET_TCP, "127.0.0.1:0", NULL);
    ba = svt_listen(&b, NET_TCP, "127.0.0.1:0", NULL);
    fd = svt_tcp_connect(&aa);
    assert_int_equal(net_send(a.net, NET_TCP, &ba, NULL, m, n, NULL), 0);
    SVT_UNTIL(base, b.nmsgs == 1 && svt_stats(&a)->conns_accepted == 1, 2000);
    assert_int_equal(svt_stats(&a)->conns_open, 2);
    net_free(a.net);
    a.net = NULL;
    svt_expect_eof(base, fd, 2000);
    SVT_UNTIL(base, b.ncloses == 1, 2000);
    assert_int_equal(a.ncloses, 0);
    assert_int_equal(b.ncloses, 1);
    close(fd);
    svt_peer_close(&a);
    svt_peer_close(&b);
    event_base_free(base);
}

/* net_free() from inside closeh and from inside recvh with more messages queued. */
static void tcp_net_free_inside_callbacks(void **state)
{
    struct event_base *base = event_base_new();
    struct svt_peer p;
    struct net_addr la;
    char m[512], wire[1024];
    size_t n = svt_request(m, sizeof(m), 1, "");
    int fd;

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    p.free_on_recv = true;
    fd = svt_tcp_connect(&la);
    memcpy(wire, m, n);
    memcpy(wire + n, m, n);
    svt_send_all(fd, wire, 2 * n);
    svt_expect_eof(base, fd, 2000);
    assert_int_equal(p.nmsgs, 1);
    assert_int_equal(p.ncloses, 0);
    close(fd);
    svt_peer_close(&p);

    svt_peer_init(&p, base, NULL);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    p.free_on_close = true;
    fd = svt_tcp_connect(&la);
    SVT_UNTIL(base, svt_stats(&p)->conns_accepted == 1, 2000);
    close(fd);
    SVT_UNTIL(base, p.ncloses == 1, 2000);
    assert_int_equal(p.ncloses, 1);
    assert_null(p.net);
    svt_peer_close(&p);
    event_base_free(base);
}

/* Many connections: the peer hash grows and still finds each one. */
static void tcp_many_connections_found_by_peer(void **state)
{
    enum { N = 150 };
    struct event_base *base = event_base_new();
    struct net_limits lim = {.max_conns_per_ip = N};
    struct svt_peer p;
    struct net_addr la;
    int fd[N];
    char m[512], buf[1024];
    size_t n = svt_request(m, sizeof(m), 1, "");

    svt_peer_init(&p, base, &lim);
    la = svt_listen(&p, NET_TCP, "127.0.0.1:0", NULL);
    for (int i = 0; i < N; i++) {
        fd[i] = svt_tcp_connect(&la);
        svt_send_all(fd[i], m, n);
        SVT_UNTIL(base, svt_stats(&p)->rx_msgs == (unsigned long)i + 1, 2000);
        assert_int_equal(svt_stats(&p)->rx_msgs, i + 1);
        svt_peer_forget(&p);
    }
    assert_int_equal(svt_stats(&p)->conns_open, N);
    for (int i = 0; i < N; i += 7) {
        struct net_addr peer;
        struct net_flow used;

        peer.len = sizeof(peer.ss);
        assert_int_equal(getsockname(fd[i], (struct sockaddr *)&peer.ss, &peer.len), 0);
        assert_int_equal(net_send(p.net, NET_TCP, &peer, NULL, m, n, &used), 0);
        assert_true(net_addr_eq(&used.peer, &peer));
        net_flow_release(&used);
        assert_int_equal(svt_read(base, fd[i], buf, sizeof(buf), n, 2000, NULL), n);
    }
    assert_int_equal(svt_stats(&p)->conns_open, N);
    for (int i = 0; i < N; i++)
        close(fd[i]);
    SVT_UNTIL(base, svt_stats(&p)->conns_open == 0, 2000);
    assert_int_equal(svt_stats(&p)->conns_open, 0);
    svt_peer_close(&p);
    event_base_free(base);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tcp_two_messages_in_one_segment),
    cmocka_unit_test(tcp_message_split_byte_by_byte),
    cmocka_unit_test(tcp_keepalive_ping_gets_pong),
    cmocka_unit_test(tcp_malformed_framing_closes),
    cmocka_unit_test(tcp_oversize_message_closes),
    cmocka_unit_test(tcp_idle_timeout_closes),
    cmocka_unit_test(tcp_header_timeout_closes),
    cmocka_unit_test(tcp_per_ip_cap_refuses),
    cmocka_unit_test(tcp_max_conns_refuses),
    cmocka_unit_test(tcp_reply_reuses_inbound_connection),
    cmocka_unit_test(tcp_outbound_connect_send_reply),
    cmocka_unit_test(tcp_outbound_ipv6),
    cmocka_unit_test(tcp_connect_refused_reports_errno),
    cmocka_unit_test(tcp_held_flow_outlives_close),
    cmocka_unit_test(tcp_net_free_closes_without_callbacks),
    cmocka_unit_test(tcp_net_free_inside_callbacks),
    cmocka_unit_test(tcp_many_connections_found_by_peer),
};

SV_TEST_MAIN(tests)
