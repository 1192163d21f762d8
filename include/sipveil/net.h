/**
 * @file net.h  The transport layer: UDP, TCP and TLS listeners and connections (RFC 3261 §18).
 *
 * The transport layer moves whole SIP messages. It knows where a message ends (through the
 * framing function the layer above hands it: the transport layer itself never parses SIP),
 * which flow it came on, and how to send bytes to an address: over a UDP socket, or over a
 * TCP/TLS connection that it reuses when one to that peer exists (RFC 3261 §18) and opens
 * otherwise. It answers CRLF keep-alives (RFC 5626 §4.4.1), closes idle connections, bounds
 * connections per IP and the time a peer may take to send a header (slowloris).
 *
 * Threading: one `struct net` belongs to one event loop (one worker); nothing here locks.
 *
 * Ownership: a `struct net_conn` is refcounted (sv_ref/sv_deref). A flow handed to a callback
 * borrows the connection for the duration of the call; whoever keeps a flow beyond it (a
 * server transaction, to send its responses back on the same connection) takes a reference
 * with net_flow_hold() and drops it with net_flow_release().
 */
#ifndef SIPVEIL_NET_H
#define SIPVEIL_NET_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sipveil/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct net;
struct net_conn;

enum net_tp {
    NET_UDP = 0,
    NET_TCP,
    NET_TLS,
};

/** "UDP", "TCP", "TLS" */
const char *net_tp_name(enum net_tp tp);

/**
 * An IPv4 or IPv6 socket address. Not a sockaddr_storage: that is 128 octets, this 28, and a
 * transaction holds two (its flow's peer and local address), as does every flow the nodes keep.
 * Code reads ss.ss_family as with sockaddr_storage, and casts &ss to the sockaddr it needs.
 */
union net_sockaddr {
    sa_family_t ss_family; /* every member starts with its family */
    struct sockaddr sa;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
};

struct net_addr {
    union net_sockaddr ss;
    socklen_t len;
};

/** Parse "1.2.3.4:5060", "[::1]:5061" (port required). @return 0 or EINVAL. */
int net_addr_parse(struct net_addr *a, const char *s);
/** "1.2.3.4:5060" / "[::1]:5061" into @p buf (>= 64 octets). @return buf. */
const char *net_addr_str(const struct net_addr *a, char *buf, size_t sz);
bool net_addr_eq(const struct net_addr *a, const struct net_addr *b);
/**
 * Whether @p addr can be bound for @p tp by a socket without SO_REUSEPORT: 0, or the errno
 * of bind (EADDRINUSE...). Workers bind with SO_REUSEPORT, which would let a second process
 * of the same user share a busy port silently; probing first keeps "port busy" an error.
 */
int net_addr_probe(enum net_tp tp, const struct net_addr *addr);
uint16_t net_addr_port(const struct net_addr *a);

/** Where a message came from, and how to answer on the same path. */
struct net_flow {
    enum net_tp tp;
    struct net_addr peer;  /* source address as seen on the socket */
    struct net_addr local; /* the listener's (or connection's) local address */
    int listener;          /* index of the receiving listener, -1 for outbound connections */
    struct net_conn *conn; /* TCP/TLS: the connection; NULL for UDP */
};

void net_flow_hold(struct net_flow *dst, const struct net_flow *src);
void net_flow_release(struct net_flow *f);

/**
 * The framing function of the layer above: given the bytes at the start of a stream (or a
 * datagram), say how long the first message is. Same contract as sip_frame():
 * 0 with *msg_len, ENODATA (need more; streams only), or any other error (malformed: the
 * connection is closed, the datagram dropped). @p reason may be set to a static string.
 */
typedef int(net_frame_h)(const char *buf, size_t len, bool stream, size_t *msg_len,
                         const char **reason);

/**
 * One framed message. @p buf is valid only during the call. Leading CRLF keep-alives are
 * already stripped (and answered, on streams).
 */
typedef void(net_recv_h)(const struct net_flow *flow, const char *buf, size_t len, void *arg);

/**
 * A connection closed; @p err is 0 for an orderly close. Flows holding it see it dead.
 * Otherwise: ETIMEDOUT (idle, header or connect/handshake timeout), EBADMSG (framing),
 * EMSGSIZE (over max_msg), EACCES (a TLS certificate did not verify, or a required one was
 * missing), EPROTO (other TLS failure), or the socket's errno (ECONNREFUSED, ECONNRESET...).
 */
typedef void(net_close_h)(struct net_conn *conn, int err, void *arg);

/*
 * TLS settings of a listener. The conf of an instance's first TLS listener also serves its
 * outbound TLS connections: they verify servers against its ca_file when verify_peer is set
 * and present its cert_file/key_file for mutual TLS. An instance without a TLS listener
 * verifies servers against the system's CA store. Only the chain is checked: the transport
 * connects to addresses, not names, so matching the certificate to a domain is the caller's
 * business (net_conn_peer_subject).
 */
struct net_tls_conf {
    const char *cert_file; /* PEM; required for a TLS listener */
    const char *key_file;
    const char *ca_file;      /* PEM bundle to verify peers with; NULL: system default */
    bool verify_peer;         /* outbound: verify the server (default true) */
    bool require_client_cert; /* listener: ask for and verify a client certificate */
};

/* A field left 0 takes its default. */
struct net_limits {
    unsigned max_conns;         /* all TCP/TLS connections; default 10000 */
    unsigned max_conns_per_ip;  /* default 100 */
    unsigned idle_timeout_ms;   /* close a connection idle this long; default 300000 */
    unsigned header_timeout_ms; /* a started message must be complete within; default 10000 */
    size_t max_msg;             /* largest message; default 65536 */
    /* Listeners set SO_REUSEPORT, so that several instances (one per worker thread) bind the
     * same address and the kernel spreads datagrams by 4-tuple and connections among them. */
    bool reuseport;
};

extern const struct net_limits net_limits_default;

struct net_stats {
    unsigned long rx_msgs, tx_msgs, rx_bytes, tx_bytes;
    unsigned long dropped_oversize, dropped_malformed, keepalives;
    unsigned long conns_open, conns_accepted, conns_refused, conns_timed_out;
    /* recvmmsg calls that returned at least one datagram: UDP datagrams received divided by
     * this is the mean batch the receive loop really achieves (1 when load is light). */
    unsigned long udp_recv_calls;
    /* Reads of a UDP listener of this instance right after the instance sent it a datagram
     * (nodes of one process talking over loopback), without a turn of the event loop. */
    unsigned long udp_local_reads;
    /* UDP datagrams held back by net_hold() and sent at net_release(). */
    unsigned long udp_held;
};

/**
 * A transport instance on @p base. SIGPIPE, if at its default, is set to be ignored: a peer
 * that resets a connection must not kill the process.
 * @param lim     limits, or NULL for net_limits_default.
 * @param frame   the framing function (the sip layer's).
 * @param recvh   called for every framed message.
 * @param closeh  called when a connection closes; may be NULL.
 */
int net_alloc(struct net **netp, struct event_base *base, const struct net_limits *lim,
              net_frame_h *frame, net_recv_h *recvh, net_close_h *closeh, void *arg);
/** New limits for a running instance (a reload); reuseport cannot change. */
void net_limits_set(struct net *net, const struct net_limits *lim);
/** Close every listener and connection; no callback runs after it returns. */
void net_free(struct net *net);

/**
 * Listen on @p addr (port 0: any free port). @p tls is required for NET_TLS.
 * @param bound  out (may be NULL): the address actually bound.
 * @return the listener index (>= 0) or a negative errno.
 */
int net_listen(struct net *net, enum net_tp tp, const struct net_addr *addr,
               const struct net_tls_conf *tls, struct net_addr *bound);

/**
 * Send @p buf to @p dst over @p tp. UDP goes out of the first UDP listener of the same
 * address family (or @p flow's listener when given). TCP/TLS reuse @p flow's connection when
 * it is alive and goes to @p dst, else any open connection to @p dst, else open a new one
 * (the data is queued until it connects; a failure is reported through closeh).
 * @param flow  the flow to prefer (a server transaction's); may be NULL.
 * @param used  out (may be NULL): the flow actually used; the caller must release it.
 * @return 0, or an errno for an immediate failure (EHOSTUNREACH, ENOBUFS, EMSGSIZE...).
 */
int net_send(struct net *net, enum net_tp tp, const struct net_addr *dst,
             const struct net_flow *flow, const char *buf, size_t len, struct net_flow *used);

/**
 * Hooks of the UDP read passes: @p begin runs before a pass (one wakeup of a UDP listener,
 * with the reads of own listeners it leads to) delivers its first message, @p end after it
 * has delivered its last. Either may be NULL; NULL for both removes them.
 */
void net_set_pass_hooks(struct net *net, void (*begin)(void *arg), void (*end)(void *arg),
                        void *arg);

/**
 * Hold back the UDP datagrams that net_send() sends out of the instance, until
 * net_release(): for a caller that must finish something first (the group commit of the
 * store) before what it answered may leave. Datagrams to the instance's own UDP listeners
 * (nodes of one worker) still go at once, so that hops between them go on; with
 * SO_REUSEPORT those are held too, since another worker may read them. net_send() returns 0
 * for a held datagram; a failure to send it later is logged, and net_release() returns how
 * many failed.
 */
void net_hold(struct net *net);
/** Send what net_hold() held back, in order, and stop holding. @return how many failed. */
unsigned net_release(struct net *net);

/**
 * Stop accepting: close the TCP and TLS listening sockets (new connections are refused by the
 * kernel). UDP sockets and open connections stay, so transactions in progress can finish.
 */
void net_accept_stop(struct net *net);

/**
 * The TLS settings of an instance's outbound connections when it has no TLS listener (a
 * client such as `sipveil ua`): verify servers against @p tls->ca_file (NULL: the system's
 * store) when verify_peer is set, present cert_file/key_file when both are given. It replaces
 * what a first TLS listener would otherwise set; connections already open keep theirs.
 * @return 0, EINVAL (bad arguments, a CA or certificate file that does not load) or ENOMEM.
 */
int net_tls_client_set(struct net *net, const struct net_tls_conf *tls);

/**
 * The local address of an outbound TCP/TLS connection, known once it is up (connected, and
 * for TLS the handshake done). @return 0 with *@p a set, EINPROGRESS while connecting, or
 * ENOTCONN for a connection that has closed.
 */
int net_conn_local(const struct net_conn *c, struct net_addr *a);

/** TLS: the verified peer certificate's subject (RFC 2253 form), or NULL. */
const char *net_conn_peer_subject(const struct net_conn *c);
bool net_conn_alive(const struct net_conn *c);

const struct net_stats *net_stats_get(const struct net *net);

#ifdef __cplusplus
}
#endif
#endif
