/**
 * @file net_int.h  Internals shared by the files of the transport layer.
 *
 * One `struct net` owns its listeners and its live connections. A connection is refcounted:
 * the instance holds one reference while it is open (linked on the list and in the peer hash);
 * flows held by the layer above hold the others. Closing unlinks it, frees its bufferevent and
 * timers and drops the instance's reference, so a closed connection lives on, dead
 * (net_conn_alive() false, net NULL), until the last flow lets go.
 *
 * The instance is refcounted too, privately: code that runs a callback of the layer above
 * holds a reference across the call, so that net_free() called from inside a callback marks
 * the instance closed and the caller notices on return instead of touching freed memory.
 */
#ifndef SIPVEIL_NET_INT_H
#define SIPVEIL_NET_INT_H

#include <sys/types.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <sipveil/net.h>

struct event;
struct bufferevent;
struct evconnlistener;
struct mmsghdr;
struct iovec;

/** Datagrams read per wakeup of a UDP socket (one recvmmsg call). */
#define NET__UDP_BATCH 32
#define NET__UDP_PEND 8 /* own listeners one read pass remembers having sent to */
/** The largest UDP payload there is; receive buffers are never larger. */
#define NET__UDP_MAX 65535

struct net_lsn {
    struct net *net;
    enum net_tp tp;
    int idx;                   /* position in net->lsn, the flow's listener index */
    int fd;                    /* UDP socket; -1 for streams (the evconnlistener owns it) */
    struct event *ev;          /* UDP: readable; owned */
    struct evconnlistener *el; /* TCP/TLS; owned, closes its socket */
    struct event *pause_ev;    /* TCP/TLS: resumes accepting after an accept error; owned */
    SSL_CTX *ctx;              /* TLS: the server context; owned */
    struct net_addr local;     /* the address actually bound */
    bool udp_pending;          /* UDP: in net->udp_pend, sent to during this read pass */
};

struct net_conn {
    struct net *net;                  /* NULL once closed */
    struct net_conn *next, **pprev;   /* net->conns */
    struct net_conn *hnext, **hpprev; /* bucket of net->chash */
    struct bufferevent *bev;          /* owned; owns the socket and the SSL */
    struct event *idle_ev;            /* idle timeout; owned */
    struct event *hdr_ev;             /* connect/handshake or message timeout; owned */
    struct net_flow flow;             /* flow.conn is this connection, without a reference */
    char *subject;                    /* verified peer certificate subject; owned; or NULL */
    uint64_t last_ms;                 /* last read or write, for the idle timeout */
    size_t in_left;                   /* input bytes left after the last pass (rx_bytes) */
    unsigned ka;                      /* octets of "\r\n\r\n" seen at a message boundary */
    bool alive;
    bool connecting; /* TCP connect or TLS handshake not finished */
    bool inbound;    /* accepted: counts against max_conns_per_ip */
    bool hdr_armed;  /* hdr_ev runs for a message that has started */
    int closing;     /* nonzero: reading stopped after a framing error; close with this
                        errno once the answers already queued have gone out */
};

/* One node per peer IP with accepted connections, for max_conns_per_ip. */
struct net_ipcnt {
    struct net_ipcnt *next;
    struct net_addr ip; /* a peer of that IP; its port does not count */
    unsigned n;
};

/* A UDP datagram that net_hold() holds back: from listener lsn to dst, its bytes at off. */
struct net_held {
    int lsn;
    struct net_addr dst;
    size_t off, len;
};

struct net {
    struct event_base *base;
    struct net_limits lim;
    net_frame_h *frame;
    net_recv_h *recvh;
    net_close_h *closeh;
    void *arg;
    bool closed; /* net_free() ran: no callback may run any more */

    struct net_lsn **lsn; /* owned, and so are the listeners */
    unsigned nlsn;

    struct net_conn *conns;  /* every open connection; one reference each */
    struct net_conn **chash; /* open connections by peer address and transport */
    size_t chash_sz;         /* a power of two */
    size_t nconns;
    struct net_ipcnt **iphash;
    size_t iphash_sz; /* a power of two */
    size_t nips;
    uint64_t seed; /* of both hashes, so that peers cannot aim at one bucket */

    SSL_CTX *client_ctx;  /* outbound TLS; owned; NULL until first needed */
    bool client_ctx_conf; /* made from the first TLS listener's conf */

    /* UDP receive batch, shared by the UDP listeners (one loop, one reader at a time). */
    char *udp_buf; /* NET__UDP_BATCH slots of udp_slot octets */
    size_t udp_slot;
    struct mmsghdr *udp_mm;
    struct iovec *udp_iov;
    struct sockaddr_storage *udp_from;
    /* Own UDP listeners that this read pass sent datagrams to (udp.c): read before the pass
     * returns to the loop. */
    bool udp_reading;
    unsigned udp_npend;
    struct net_lsn *udp_pend[NET__UDP_PEND];
    /* Read passes' hooks (net_set_pass_hooks), and the datagrams net_hold() holds back: their
     * bytes one after the other in held_buf, for good (grown, never shrunk). */
    void (*pass_begin)(void *arg), (*pass_end)(void *arg);
    void *pass_arg;
    bool udp_hold;
    struct net_held *held;
    unsigned nheld, held_cap;
    char *held_buf;
    size_t held_used, held_buf_cap;

    struct net_stats stats;
};

/* net.c */
uint64_t net__now_ms(void);
void net__conn_link(struct net *net, struct net_conn *c);
void net__conn_unlink(struct net *net, struct net_conn *c);
struct net_conn *net__conn_find(struct net *net, enum net_tp tp, const struct net_addr *peer);
/** Accepted connections from @p peer's IP. */
unsigned net__ip_count(struct net *net, const struct net_addr *peer);
int net__ip_inc(struct net *net, const struct net_addr *peer);
void net__ip_dec(struct net *net, const struct net_addr *peer);

/* addr.c */
/** Seeded hash of the address family, IP and (when @p with_port) port. */
uint64_t net__addr_hash(const struct net_addr *a, bool with_port, uint64_t seed);
/** Same family and IP; the ports may differ. */
bool net__addr_ip_eq(const struct net_addr *a, const struct net_addr *b);
void net__addr_set(struct net_addr *a, const struct sockaddr *sa, socklen_t len);
/**
 * Bind a non-blocking, close-on-exec socket of @p type to @p addr; IPv6 is IPv6-only. With
 * @p reuseport and port 0, the port chosen is one no other socket holds (see addr.c).
 */
int net__sock_bind(int *fdp, int type, const struct net_addr *addr, bool reuseport,
                   struct net_addr *bound);

/* udp.c */
int net__udp_listen(struct net_lsn *l, const struct net_addr *addr);
/** Send the datagrams net_hold() held back, in order. @return how many failed. */
unsigned net__udp_release(struct net *net);
int net__udp_send(struct net *net, const struct net_lsn *l, const struct net_addr *dst,
                  const char *buf, size_t len);
void net__udp_close(struct net_lsn *l);

/* conn.c */
int net__stream_listen(struct net_lsn *l, const struct net_addr *addr);
void net__stream_close(struct net_lsn *l);
int net__conn_connect(struct net_conn **cp, struct net *net, enum net_tp tp,
                      const struct net_addr *dst);
int net__conn_send(struct net_conn *c, const char *buf, size_t len);
/** Close @p c; call closeh with @p err when @p notify. Drops the instance's reference. */
void net__conn_close(struct net_conn *c, int err, bool notify);

/* tls.c */
int net__tls_server_ctx(SSL_CTX **ctxp, const struct net_tls_conf *conf);
/** The outbound context: from @p conf (may be NULL: verify against the system's CAs). */
int net__tls_client_ctx(SSL_CTX **ctxp, const struct net_tls_conf *conf);
/** The peer's certificate subject (RFC 2253), if the handshake verified one. @return owned. */
char *net__tls_subject(SSL *ssl);
/** Log and clear OpenSSL's error queue, at @p lvl. */
void net__tls_log_errors(enum sv_log_level lvl, const char *what);

#endif
