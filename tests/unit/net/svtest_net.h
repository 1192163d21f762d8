/**
 * @file svtest_net.h  Test helpers of the transport layer, on top of svtest.h: a recording
 * peer around a net instance, a loop runner with a deadline, raw loopback sockets, messages.
 *
 * Every socket test runs a libevent loop in-process on 127.0.0.1 (or ::1) with ports the
 * kernel picks. Waiting is always "run the loop until a condition holds, or fail at a
 * deadline" (SVT_UNTIL), never a fixed sleep.
 */
#ifndef SVTEST_NET_H
#define SVTEST_NET_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "svtest.h"
#include <sipveil/net.h>
#include <sipveil/sip.h>

/** The framing function of the tests: sip_frame() behind the net_frame_h contract. */
static inline int svt_frame(const char *buf, size_t len, bool stream, size_t *msg_len,
                            const char **reason)
{
    struct sip_perr pe = {0};
    int err = sip_frame(buf, len, stream ? SIP_STREAM : SIP_DGRAM, NULL, msg_len, &pe);

    if (err && err != ENODATA && reason)
        *reason = pe.reason;
    return err;
}

static inline uint64_t svt_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void svt_wake(evutil_socket_t fd, short what, void *arg) {}

/** Run the loop for one round of events, waiting at most 5 ms for one. */
static inline void svt_spin(struct event_base *base)
{
    struct timeval tv = {0, 5000};

    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, svt_wake, NULL, &tv), 0);
    event_base_loop(base, EVLOOP_ONCE);
}

/** Run @p base until @p cond holds or @p ms milliseconds passed; the caller asserts @p cond. */
#define SVT_UNTIL(base, cond, ms)                                                                  \
    do {                                                                                           \
        uint64_t svt_deadline__ = svt_now() + (ms);                                                \
        while (!(cond) && svt_now() < svt_deadline__)                                              \
            svt_spin(base);                                                                        \
    } while (0)

/** Run @p base for @p ms milliseconds (to show that something does not happen). */
static inline void svt_run_for(struct event_base *base, unsigned ms)
{
    SVT_UNTIL(base, false, ms);
}

/* ---------------------------------------------------------------------------------------- */
/* A recording peer                                                                           */

#define SVT_MAX_MSGS 64
#define SVT_MAX_CLOSES 16

struct svt_msg {
    struct net_flow flow; /* held */
    char *buf;            /* a copy, NUL-terminated */
    size_t len;
};

/** A net instance that records what it receives and which connections close. */
struct svt_peer {
    struct event_base *base;
    struct net *net;
    struct svt_msg msgs[SVT_MAX_MSGS];
    unsigned nmsgs;
    struct {
        struct net_conn *conn; /* compare only: may be freed */
        int err;
    } closes[SVT_MAX_CLOSES];
    unsigned ncloses;
    bool echo;          /* send every message back on its flow */
    const struct net_addr *forward_to; /* UDP: send what listener 0 receives there */
    int echo_err;       /* the last net_send error of an echo */
    bool free_on_recv;  /* net_free() from inside recvh */
    bool free_on_close; /* net_free() from inside closeh */
};

static inline void svt_recv(const struct net_flow *flow, const char *buf, size_t len, void *arg)
{
    struct svt_peer *p = arg;
    struct svt_msg *m;

    assert_true(p->nmsgs < SVT_MAX_MSGS);
    m = &p->msgs[p->nmsgs++];
    net_flow_hold(&m->flow, flow);
    m->buf = malloc(len + 1);
    assert_non_null(m->buf);
    memcpy(m->buf, buf, len);
    m->buf[len] = '\0';
    m->len = len;
    if (p->echo) {
        int err = net_send(p->net, flow->tp, &flow->peer, flow, buf, len, NULL);
        if (err)
            p->echo_err = err;
    }
    if (p->forward_to && flow->listener == 0) {
        int err = net_send(p->net, NET_UDP, p->forward_to, flow, buf, len, NULL);
        if (err)
            p->echo_err = err;
    }
    if (p->free_on_recv) {
        net_free(p->net);
        p->net = NULL;
    }
}

static inline void svt_close(struct net_conn *conn, int err, void *arg)
{
    struct svt_peer *p = arg;

    assert_false(net_conn_alive(conn));
    if (p->ncloses < SVT_MAX_CLOSES) { /* the first ones are recorded, all are counted */
        p->closes[p->ncloses].conn = conn;
        p->closes[p->ncloses].err = err;
    }
    p->ncloses++;
    if (p->free_on_close) {
        net_free(p->net);
        p->net = NULL;
    }
}

/** Start @p p on @p base with limits @p lim (NULL: defaults). */
static inline void svt_peer_init(struct svt_peer *p, struct event_base *base,
                                 const struct net_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->base = base;
    assert_int_equal(net_alloc(&p->net, base, lim, svt_frame, svt_recv, svt_close, p), 0);
}

/** Forget the messages received so far, releasing their flows. */
static inline void svt_peer_forget(struct svt_peer *p)
{
    for (unsigned i = 0; i < p->nmsgs; i++) {
        net_flow_release(&p->msgs[i].flow);
        free(p->msgs[i].buf);
    }
    p->nmsgs = 0;
}

/** Release every held flow, free the instance (if still there). */
static inline void svt_peer_close(struct svt_peer *p)
{
    svt_peer_forget(p);
    net_free(p->net);
    p->net = NULL;
}

static inline const struct net_stats *svt_stats(const struct svt_peer *p)
{
    return net_stats_get(p->net);
}

/** Listen on @p tp at @p host (a "127.0.0.1:0" style address); return the bound address. */
static inline struct net_addr svt_listen(struct svt_peer *p, enum net_tp tp, const char *host,
                                         const struct net_tls_conf *tls)
{
    struct net_addr a, bound;

    assert_int_equal(net_addr_parse(&a, host), 0);
    assert_true(net_listen(p->net, tp, &a, tls, &bound) >= 0);
    assert_int_not_equal(net_addr_port(&bound), 0);
    return bound;
}

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                   */

/**
 * A small request with a body, framed by Content-Length.
 * @return the number of octets written to @p buf (NUL-terminated)
 */
static inline size_t svt_request(char *buf, size_t sz, unsigned cseq, const char *body)
{
    int n = snprintf(buf, sz,
                     "OPTIONS sip:bob@example.test SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-%u\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.test>;tag=a%u\r\n"
                     "To: <sip:bob@example.test>\r\n"
                     "Call-ID: call-%u@example.test\r\n"
                     "CSeq: %u OPTIONS\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%s",
                     cseq, cseq, cseq, cseq, strlen(body), body);

    assert_true(n > 0 && (size_t)n < sz);
    return (size_t)n;
}

/* ---------------------------------------------------------------------------------------- */
/* Raw sockets: the other end of a connection, as an ordinary client                          */

/** A TCP client connected to @p a, non-blocking once connected. */
static inline int svt_tcp_connect(const struct net_addr *a)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    /* Loopback with a listening socket: the kernel completes the handshake from the backlog,
       before the loop accepts. */
    assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

/** A UDP socket bound to an ephemeral port of @p host ("127.0.0.1:0"). */
static inline int svt_udp_socket(const char *host, struct net_addr *bound)
{
    struct net_addr a;
    int fd;

    assert_int_equal(net_addr_parse(&a, host), 0);
    fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (const struct sockaddr *)&a.ss, a.len), 0);
    bound->len = sizeof(bound->ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len), 0);
    return fd;
}

static inline void svt_send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/**
 * Read from @p fd while running the loop, until @p want octets came, the peer closed, or
 * @p ms passed.
 * @param eof  out (may be NULL): whether the peer closed (or reset) the connection
 * @return the number of octets read into @p buf
 */
static inline size_t svt_read(struct event_base *base, int fd, char *buf, size_t sz, size_t want,
                              unsigned ms, bool *eof)
{
    size_t got = 0;
    bool closed = false;
    uint64_t deadline = svt_now() + ms;

    while (got < want && !closed && svt_now() < deadline) {
        ssize_t r = recv(fd, buf + got, sz - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            closed = true;
        else
            svt_spin(base);
    }
    if (eof)
        *eof = closed;
    return got;
}

/** Run the loop until the peer of @p fd closes it; fail after @p ms. */
static inline void svt_expect_eof(struct event_base *base, int fd, unsigned ms)
{
    char buf[4096];
    bool eof = false;
    uint64_t deadline = svt_now() + ms;

    while (!eof && svt_now() < deadline)
        svt_read(base, fd, buf, sizeof(buf), sizeof(buf), 20, &eof);
    assert_true(eof);
}

#endif
