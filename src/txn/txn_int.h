/**
 * @file txn_int.h  Private to the transaction layer: the transaction and layer structs, the
 * hash tables, and the functions the server, client and layer files share.
 *
 * A transaction is a refcounted block, allocated to size, and owns everything it compares, so
 * that the receive buffer can go as soon as txn_layer_recv returns. A client transaction's
 * block is the struct and its own copy of the request bytes; it is matched by branch and
 * method, slices of that copy, and parses the request only if asked for it (txn_request_msg:
 * a CANCEL or an ACK to build). A server transaction's block is the struct with copies of the
 * request's top Via and method, the keys it is matched by (branch, sent-by, method); the
 * request bytes and their parsed copy, with a header index of as many entries as the request
 * has lines, are a second block (req_blk), which a completed non-INVITE transaction frees for
 * the 32 s of timer J. RFC 2543 peers' transactions also match on Request-URI, tags, Call-ID,
 * CSeq and top Via, so they keep the second block to the end.
 *
 * Two timers per transaction are enough, because no state runs more than two at once:
 * tm_retx is the retransmission timer (A, E or G, whose interval doubles) and tm_to the
 * one that ends a state (B, D, F, H, I, J, K, L or M).
 */
#ifndef TXN_INT_H
#define TXN_INT_H

#include <errno.h>
#include <sipveil/txn.h>

#define TXN_MOD "txn"

/** Timer D for unreliable transports: "at least 32 seconds" (RFC 3261 §17.1.1.2). */
#define TXN_TIMER_D_MS 32000u

/** A link of a hash chain; pprev is NULL when not linked. */
struct txn_link {
    struct txn *next, **pprev;
};

struct txn {
    struct txn_layer *l; /* NULL once the transaction has left the layer */
    struct txn_link hl;  /* chain of the srv or cli table, by hash */
    struct txn_link cl;  /* client over TCP/TLS: chain of the conns table, by chash */
    uint32_t hash;
    uint32_t chash; /* hash of flow.conn */
    enum txn_kind kind;
    enum txn_state state;
    enum net_tp tp;
    bool reliable; /* TCP or TLS: no retransmissions, zero-length wait states */
    bool rfc2543;  /* server: the request's branch lacks the magic cookie (§17.2.3) */
    bool gone;     /* terminated: out of the table, timers stopped */
    bool has_flow; /* flow holds a reference (net_flow_hold) */
    uint16_t code; /* last response sent (server) or received (client); 0: none */

    /* The parsed copy of the request, its slices over raw, or NULL. A server transaction has
     * it from the start (the TU reads it) until a final response completes a non-INVITE one:
     * the 32 s of timer J need only the top Via and the method (via0, method, mid), so it
     * goes then with the request bytes (txn__server_compact). A client transaction parses it
     * only once txn_request_msg asks (a CANCEL or an ACK to build), since its matching needs
     * no more than branch and method. */
    struct sip_msg *req;
    /* The heap block req lives in, freed with the transaction: a server's holds the request
     * bytes (raw) too; a client's only the parse. NULL when req is. */
    void *req_blk;
    struct sv_slice raw;    /* our copy of the request bytes; unset once compacted (server) */
    struct sv_slice branch; /* client: the top Via branch, a slice of raw */
    struct sv_slice method; /* the method: client, a slice of raw; server, of its own copy */
    enum sip_method mid;    /* the method's id */
    struct sip_via via0;    /* server: the request's top Via, over its own copy in the block */

    /* Server: where the request came from (has_flow). Client: flow.tp and flow.peer say where
     * the request goes; over TCP/TLS, once sent, the flow it left on (has_flow: flow.conn is
     * held), so that txn_layer_conn_closed finds the transactions of a failed connection. */
    struct net_flow flow;
    int src_listener;     /* client, UDP: the net listener requests leave from; -1: any */
    void *owner;

    struct sv_timer tm_retx, tm_to;
    uint64_t retx_ms; /* the interval the retransmission timer was last started with */

    /* Server: the last response sent (the provisional, then the final). Client INVITE: the
     * ACK of the non-2xx final response. */
    char *resp;
    size_t resp_len;
    /* followed, in the same block, by the request bytes, then (server) the parsed message
     * and its header index, sized to the request's header lines */
};

/** A chained hash table of transactions, power-of-two buckets. */
struct txn_tab {
    struct txn **b;
    size_t mask; /* buckets - 1 */
    size_t n;
    bool by_conn; /* chained through cl and keyed by chash, else hl and hash */
};

struct txn_layer {
    struct sv_wheel *wheel;
    struct txn_timers tm;
    txn_send_h *send;
    txn_send_flow_h *send_flow; /* client transactions send through it when set */
    void *send_ctx;
    struct txn_tu tu;
    void *tu_arg;
    struct txn_tab srv, cli;
    struct txn_tab conns; /* client transactions over TCP/TLS, by connection */
    struct txn_stats stats;
    unsigned depth; /* TU callbacks running; txn_layer_free must not be called inside one */
};

/* ---- txn_layer.c ---- */

/** A server transaction holding a copy of received request @p msg (bytes and parsed form);
 * not yet linked anywhere. @return 0 or ENOMEM */
int txn__alloc_server(struct txn **tp, struct txn_layer *l, const struct sip_msg *msg);
/** Free the parsed request of a completed non-INVITE server transaction (txn_layer.c). */
void txn__server_compact(struct txn *t);
/**
 * A client transaction holding a copy of request @p buf with its branch and method picked
 * out: @p branch, when the caller wrote it, is found in the copy; unset: the copy is parsed.
 * Not yet linked anywhere. @return 0, ENOMEM, EBADMSG (does not parse), EINVAL (no branch)
 */
int txn__alloc_client(struct txn **tp, struct txn_layer *l, const char *buf, size_t len,
                      struct sv_slice branch);
/** Leave the layer: stop timers, unlink, tu->terminated (if @p notify), drop the layer's ref. */
void txn__terminate(struct txn *t, bool notify);
/** Terminate from the event loop rather than now: a zero-delay timer (see txn_respond). */
void txn__terminate_soon(struct txn *t);

/** @p ms rounded up to the linger grain (struct txn_timers): see txn_layer.c. */
uint64_t txn__linger_ms(const struct txn_layer *l, uint64_t ms);
uint32_t txn__hash_branch(struct sv_slice branch);
uint32_t txn__hash_2543(const struct sip_msg *m);
void txn__tab_add(struct txn_tab *tab, struct txn *t);
void txn__tab_del(struct txn_tab *tab, struct txn *t);
/** First transaction of the chain @p hash falls in (walk with ->hl.next, compare ->hash;
 * in the conns table ->cl.next and ->chash). */
struct txn *txn__tab_first(const struct txn_tab *tab, uint32_t hash);
/** The hash of a connection, for the conns table. */
uint32_t txn__hash_conn(const struct net_conn *c);

/** Methods compare by id, and by name when neither is a known method (case-sensitive). */
bool txn__method_eq(enum sip_method a, struct sv_slice an, enum sip_method b, struct sv_slice bn);

/* TU callbacks run through these so that the layer can tell it is inside one. */
static inline void txn__cb_enter(struct txn_layer *l)
{
    l->depth++;
}

static inline void txn__cb_leave(struct txn_layer *l)
{
    l->depth--;
}

/* ---- txn_server.c ---- */

/**
 * Where a server transaction sends its responses (RFC 3261 §18.2.2, RFC 3581 §4).
 * @param via         the top Via of the request
 * @param flow        the flow the request came on
 * @param conn_alive  reliable transports: the request's connection is still open
 * @param dst         out: the address
 * @return 0, or EINVAL when no address can be derived without DNS (maddr holding a name)
 */
int txn__resp_dest(const struct sip_via *via, const struct net_flow *flow, bool conn_alive,
                   struct net_addr *dst);
void txn__server_recv(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow);

/* ---- txn_client.c ---- */

void txn__client_recv(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow);
/** Fail client transaction @p t with @p err (tu->failed, then terminated). */
void txn__client_fail(struct txn *t, int err);

#endif
