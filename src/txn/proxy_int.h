/**
 * @file proxy_int.h  Private to the stateful proxy core (proxy.c, proxy_resp.c): the proxy,
 * branch and response-context structs, and the functions the two files share.
 *
 * proxy.c takes a request from arrival to the wire: validation, loop detection, Route,
 * target selection, forwarding, stateless ACKs, and the proxy's life cycle. proxy_resp.c
 * handles what comes back: responses and the best final (§16.7), CANCEL (§16.10), timer C
 * (§16.8), transaction timeouts and failures, and stateless 2xx. The response context
 * (`struct pctx`) is the meeting point: proxy.c creates it in proxy_fork, proxy_resp.c ends it.
 */
#ifndef PROXY_INT_H
#define PROXY_INT_H

#include "txn_int.h"

#define PROXY_MAX_BRANCHES PROXY_MAX_TARGETS
#define PROXY_MAX_ROUTES 64
#define BRANCH_PREFIX "z9hG4bKsv"

/* What a forwarded request says of a listener, as text: written once by proxy_alloc. */
struct lsn_text {
    char hp[80];     /* "host:port" of its address (Record-Route) */
    char via_hp[80]; /* of the address our Via names (a worker's private socket, or addr) */
    size_t hp_len, via_hp_len;
};

struct proxy {
    struct txn_layer *l;
    struct sv_wheel *wheel;
    struct txn_timers tm;
    txn_send_h *send;
    void *send_ctx;
    const char *name;           /* borrowed from the conf */
    const char *domain;         /* borrowed; "" when none */
    struct proxy_listener *lsn; /* owned copy */
    struct lsn_text *ltext;     /* owned; one per lsn */
    size_t nlsn;
    struct proxy_route *routes; /* owned copy */
    size_t nroutes;
    bool rr;
    uint32_t timer_c_ms, max_txns;
    bool draining; /* proxy_drain(): new requests get 503 */
    uint32_t branch_seq; /* makes each forwarded branch unique */
    struct proxy_hooks hooks;
    proxy_route_h *route_h; /* the node's route hook; NULL: static routing only */
    void *route_arg;
    struct proxy_stats stats;
    char *out; /* scratch for serializing, outsz octets; owned */
    size_t outsz;
    struct pctx *live; /* every response context, so that proxy_free can end them */
    struct origin *origins; /* requests the node originated, still in progress */
};

struct pctx;

/* What a client transaction's owner is: a branch of a forwarded request, or a request the
 * node originated (proxy_originate). Both structs start with it. */
enum owner_kind {
    OWNER_BRANCH = 1,
    OWNER_ORIGIN,
};

/* A request the node originated: its final answer goes to done, once. */
struct origin {
    enum owner_kind kind; /* OWNER_ORIGIN */
    struct origin *next, **pprev; /* on p->origins, so that proxy_free frees them */
    proxy_origin_h *done;
    void *arg;
    bool reported;
};

/** One target of a forwarded request. */
struct branch {
    enum owner_kind kind; /* OWNER_BRANCH */
    struct pctx *pc;
    struct txn *ct; /* the client transaction; NULL before it starts and after it ends */
    struct proxy_target tgt;
    uint16_t code;      /* final response (received or local); 0 while pending */
    bool prov;          /* a provisional response arrived */
    bool cancel_wanted; /* cancel once a provisional arrives (§9.1) */
    bool cancel_sent;
    struct sv_timer tm;          /* timer C; after a CANCEL, the 64*T1 wait for a final response */
    uint32_t auth_off, auth_len; /* this branch's 401/407 challenge lines in pc->auth */
    uint32_t cookie;             /* the request hook's, handed to the response hook */
};

/** The response context of one forwarded server transaction (§16.7). */
struct pctx {
    struct proxy *p;
    struct pctx *next, **pprev; /* on p->live */
    struct txn *st;             /* NULL once it has terminated */
    uint32_t cidh;              /* Call-ID hash, for logs */
    bool invite, cancelled, final_sent;
    bool answered;        /* a response went upstream (a 100 of ours included) */
    struct sv_timer t100; /* INVITE: a 100 (Trying) upstream if nothing else went by 200 ms */
    unsigned nbr;
    char *best; /* the best final so far, ready to send upstream; owned */
    size_t best_len;
    int best_br; /* the branch it came from; -1: a local one */
    char *auth;  /* WWW-/Proxy-Authenticate lines of every 401/407 so far (§16.7 step 7); owned */
    size_t auth_len;
    uint16_t best_code; /* as received, for the ranking */
    uint16_t best_send; /* as sent (503 becomes 500, §16.7 step 6) */
    struct branch br[]; /* nbr of them, allocated with the context (one in the common case) */
};

/* ---- proxy.c ---- */

/** A response went upstream for @p pc: no 100 (Trying) is due any more. */
void proxy__answered(struct pctx *pc);
/** The class of a status code (1..6), 0 when out of range. */
unsigned proxy__cls(uint16_t code);
/** A hash of the Call-ID, for logs. */
uint32_t proxy__cid_hash(const struct sip_msg *m);
/** A numeric host ("192.0.2.1", "[2001:db8::1]") and port into @p a. */
bool proxy__host_addr(struct sv_slice host, uint16_t port, struct net_addr *a);
/** The hop of a message that came on @p in (NULL: unknown) and goes to @p out (may be NULL). */
void proxy__hop_init(struct proxy_hop *hop, const struct net_flow *in,
                     const struct proxy_target *out);
/** Whether a Via names one of our listeners. */
bool proxy__via_is_us(const struct proxy *p, const struct sip_via *v);
/** Count a response sent upstream (and a rejection by code). */
void proxy__count_out(struct proxy *p, uint16_t code);
/** Answer server transaction @p st locally from its own request copy. */
void proxy__answer(struct proxy *p, struct txn *st, uint16_t code, const char *reason,
                   const char *extra);
/* The same with the To tag @p totag (NULL: a fresh one). */
void proxy__answer_tag(struct proxy *p, struct txn *st, uint16_t code, const char *reason,
                       const char *extra, const char *totag);
/** Serialize into p->out, or a heap buffer returned in *@p heap. @return 0, ENOMEM. */
int proxy__print_msg(struct proxy *p, const struct sip_msg *msg, const struct sip_edits *ed,
                     char **out, size_t *n, char **heap);
/** Delete the top Via (ours) of a response. */
int proxy__edit_pop_via(const struct sip_msg *m, struct sip_edits *ed);

/* ---- proxy_resp.c ---- */

/** The response context's destructor (sv_zalloc). */
void proxy__pctx_dtor(void *arg);
/** A branch ends without a response from downstream: a local final. */
void proxy__branch_local(struct branch *br, uint16_t code, const char *reason);
/** Stateless: a 2xx whose client transaction has gone, or the answer to a stateless CANCEL. */
void proxy__stray_resp(struct proxy *p, const struct sip_msg *m, const struct net_flow *flow);
/* transaction-user callbacks for client transactions and CANCEL (struct txn_tu) */
void proxy__tu_response(struct txn *ct, const struct sip_msg *resp, void *owner);
void proxy__tu_failed(struct txn *ct, int err, void *owner);
void proxy__tu_terminated(struct txn *t, void *owner);
void proxy__tu_cancel(struct txn *inv, struct txn *cst, const struct sip_msg *cancel, void *arg);

/* proxy.c: the answer of an originated request (once), and its end */
void proxy__origin_answer(struct origin *o, uint16_t code, const struct sip_msg *resp);
void proxy__origin_end(struct origin *o);

#endif
