/**
 * @file txn_int.h  Private to the transaction layer: the transaction and layer structs, the
 * hash tables, and the functions the server, client and layer files share.
 *
 * A transaction is one refcounted block: the struct, then the arena block its request is
 * parsed into, then its own copy of the request bytes. Every key it is matched by (branch,
 * sent-by, method, and for RFC 2543 peers Request-URI, tags, Call-ID, CSeq, top Via) is a
 * slice of that parsed copy, so a transaction owns everything it compares and the receive
 * buffer can go as soon as txn_layer_recv returns.
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

struct txn {
    struct txn_layer *l;         /* NULL once the transaction has left the layer */
    struct txn *hnext, **hpprev; /* hash chain; hpprev NULL when not linked */
    uint32_t hash;
    enum txn_kind kind;
    enum txn_state state;
    enum net_tp tp;
    bool reliable; /* TCP or TLS: no retransmissions, zero-length wait states */
    bool rfc2543;  /* server: the request's branch lacks the magic cookie (§17.2.3) */
    bool gone;     /* terminated: out of the table, timers stopped */
    bool has_flow; /* flow holds a reference (net_flow_hold) */
    uint16_t code; /* last response sent (server) or received (client); 0: none */

    struct sip_msg *req; /* the parsed copy of the request, in arena, over reqbuf */
    const char *reqbuf;
    size_t reqlen;

    struct net_flow flow; /* server: where the request came from */
    struct net_addr dst;  /* client: where the request goes */
    void *owner;

    struct sv_timer tm_retx, tm_to;
    uint64_t retx_ms; /* the interval the retransmission timer was last started with */

    char *resp; /* server: the last response sent (the provisional, then the final) */
    size_t resp_len;
    char *ack; /* client INVITE: the ACK of the non-2xx final response */
    size_t ack_len;

    struct sv_arena arena;
    /* followed by the arena block and the request bytes */
};

/** A chained hash table of transactions, power-of-two buckets. */
struct txn_tab {
    struct txn **b;
    size_t mask; /* buckets - 1 */
    size_t n;
};

struct txn_layer {
    struct sv_wheel *wheel;
    struct txn_timers tm;
    txn_send_h *send;
    void *send_ctx;
    struct txn_tu tu;
    void *tu_arg;
    struct txn_tab srv, cli;
    struct txn_stats stats;
    unsigned depth; /* TU callbacks running; txn_layer_free must not be called inside one */
};

/* ---- txn_layer.c ---- */

/**
 * Allocate a transaction holding a parsed copy of @p buf; not yet linked anywhere.
 * @return 0, ENOMEM, or EBADMSG when the copy does not parse as one message.
 */
int txn__alloc(struct txn **tp, struct txn_layer *l, const char *buf, size_t len);
/** Leave the layer: stop timers, unlink, tu->terminated (if @p notify), drop the layer's ref. */
void txn__terminate(struct txn *t, bool notify);
/** Terminate from the event loop rather than now: a zero-delay timer (see txn_respond). */
void txn__terminate_soon(struct txn *t);

uint32_t txn__hash_branch(struct sv_slice branch);
uint32_t txn__hash_2543(const struct sip_msg *m);
void txn__tab_add(struct txn_tab *tab, struct txn *t);
void txn__tab_del(struct txn_tab *tab, struct txn *t);
/** First transaction of the chain @p hash falls in (walk with ->hnext, compare ->hash). */
struct txn *txn__tab_first(const struct txn_tab *tab, uint32_t hash);

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

#endif
