/**
 * @file txn.h  Transactions (RFC 3261 §17, with the RFC 6026 fixes).
 *
 * The transaction layer sits between the transport and the transaction user (the proxy core,
 * later the registrar and presence server). It absorbs and replays retransmissions, runs
 * timers A to K (and L, M of RFC 6026), generates the ACK for a non-2xx final response, and
 * reports timeouts and transport failures, so that no layer above ever sees a retransmission.
 *
 * Matching: server transactions by the top Via's branch, sent-by and method (§17.2.3; ACK and
 * CANCEL map to the INVITE's), with the RFC 2543 fallback (Request-URI, tags, Call-ID, CSeq,
 * top Via) for a branch without the magic cookie. Client transactions by the top Via branch
 * and the CSeq method of the response (§17.1.3).
 *
 * The layer never touches a socket: it sends through the function the TU gives it (the node
 * passes net_send), so the state machines are testable without the network.
 *
 * Ownership: a transaction is refcounted (sv_ref/sv_deref). The layer holds one reference
 * while the transaction lives (until it is terminated); the TU takes its own with sv_ref if it
 * keeps the pointer past a callback. Each transaction keeps a copy of the bytes it may have to
 * resend (the request of a client transaction, the last response of a server transaction).
 * One layer belongs to one event loop; nothing locks.
 */
#ifndef SIPVEIL_TXN_H
#define SIPVEIL_TXN_H

#include <sipveil/core.h>
#include <sipveil/net.h>
#include <sipveil/sip.h>

#ifdef __cplusplus
extern "C" {
#endif

struct txn;
struct txn_layer;

enum txn_kind {
    TXN_SERVER_INVITE = 0,
    TXN_SERVER_NONINVITE,
    TXN_CLIENT_INVITE,
    TXN_CLIENT_NONINVITE,
};

enum txn_state {
    TXN_CALLING = 0, /* client INVITE */
    TXN_TRYING,      /* client/server non-INVITE */
    TXN_PROCEEDING,
    TXN_COMPLETED,
    TXN_CONFIRMED, /* server INVITE, after the ACK */
    TXN_ACCEPTED,  /* RFC 6026: INVITE after a 2xx */
    TXN_TERMINATED,
};

const char *txn_state_name(enum txn_state s);

/** RFC 3261 timer values; defaults T1 500 ms, T2 4 s, T4 5 s. Tests shorten them. */
struct txn_timers {
    unsigned t1_ms, t2_ms, t4_ms;
    /* When not 0: the timers that only end a finished transaction (D, H, I, J, K, L, M) are
     * rounded up to a multiple of this many ms of wheel time, so that the transactions of a
     * busy second expire in a few batches rather than one by one (a worker wakes for each
     * distinct deadline). They only ever run later, never earlier, than RFC 3261 says. */
    unsigned linger_grain_ms;
};

extern const struct txn_timers txn_timers_default;

/**
 * How the layer sends. @p flow is the server transaction's receive flow (answer on the same
 * connection), NULL for client transactions. Returns 0 or an errno; a failure makes the
 * transaction fail (client: the TU's failed callback with that errno).
 */
typedef int(txn_send_h)(void *ctx, enum net_tp tp, const struct net_addr *dst,
                        const struct net_flow *flow, const char *buf, size_t len);

/**
 * A send function that also reports the flow it used, as net_send does through its @p used
 * out-parameter (the reference it holds passes to the layer, which releases it). Client
 * transactions sent through it over TCP or TLS know their connection, so that
 * txn_layer_conn_closed() can fail them at once when it fails (the node passes a wrapper of
 * net_send with @p used).
 */
typedef int(txn_send_flow_h)(void *ctx, enum net_tp tp, const struct net_addr *dst,
                             const struct net_flow *flow, const char *buf, size_t len,
                             struct net_flow *used);

/** The transaction user's callbacks. Every one is optional except request. */
struct txn_tu {
    /**
     * A new request created server transaction @p st (never for ACK). @p req and its buffer
     * are valid only during the call. The TU answers, now or later, with txn_respond().
     */
    void (*request)(struct txn *st, const struct sip_msg *req, const struct net_flow *flow,
                    void *arg);
    /**
     * A message that belongs to no transaction and is not a retransmission the layer can
     * absorb: an ACK for a 2xx, a 2xx response whose client transaction has gone, or a
     * response to a CANCEL that went out statelessly. A proxy forwards them statelessly
     * (RFC 3261 §16.7 step 10, §16.10, RFC 6026).
     */
    void (*stray)(const struct sip_msg *msg, const struct net_flow *flow, void *arg);
    /**
     * A CANCEL that matches no server transaction. Return 0 when it was dealt with (a proxy
     * forwards it statelessly, RFC 3261 §16.10): the layer then keeps nothing of it, and a
     * retransmission comes here again. Otherwise, or without this callback, the layer answers
     * it 481 on a transaction of its own.
     */
    int (*cancel_unmatched)(const struct sip_msg *cancel, const struct net_flow *flow, void *arg);
    /** A CANCEL matched server INVITE transaction @p inv; @p cancel_st is the CANCEL's own. */
    void (*cancel)(struct txn *inv, struct txn *cancel_st, const struct sip_msg *cancel, void *arg);
    /**
     * A response for client transaction @p ct: every provisional, the final, and (in the
     * Accepted state, RFC 6026) retransmitted 2xx responses to INVITE.
     */
    void (*response)(struct txn *ct, const struct sip_msg *resp, void *owner);
    /** Client transaction @p ct failed: ETIMEDOUT (timer B or F) or a transport errno. */
    void (*failed)(struct txn *ct, int err, void *owner);
    /** @p t reached Terminated and leaves the layer (drop references kept on it). */
    void (*terminated)(struct txn *t, void *owner);
};

struct txn_stats {
    unsigned long live, created, absorbed, retransmitted, timeouts, transport_errors;
    /* messages the layer threw away: responses matching no client transaction (other than
     * 2xx and CANCEL responses, which go to tu->stray), requests it had no memory for, ACKs
     * with nothing to ack */
    unsigned long dropped;
};

int txn_layer_alloc(struct txn_layer **lp, struct sv_wheel *wheel, const struct txn_timers *tm,
                    txn_send_h *send, void *send_ctx, const struct txn_tu *tu, void *tu_arg);
/** Terminate every transaction silently and free the layer. */
void txn_layer_free(struct txn_layer *l);
/**
 * Send client transactions' messages through @p send (with the context given at
 * txn_layer_alloc) instead of the plain send function; NULL goes back to that one.
 */
void txn_layer_send_flow_set(struct txn_layer *l, txn_send_flow_h *send);
/**
 * A connection closed (the node's net_close_h). With @p err nonzero (a failed connect or TLS
 * handshake, a reset, a timeout), every client transaction whose request left on @p conn and
 * that has had no response yet fails at once with @p err (RFC 3261 §17.1.4, §18.4): tu->failed,
 * then terminated, all inside this call. Needs txn_layer_send_flow_set; @p conn is only
 * compared, never dereferenced.
 */
void txn_layer_conn_closed(struct txn_layer *l, const struct net_conn *conn, int err);
/** New T1, T2, T4 for transactions started from now on. @return 0 or EINVAL (unchanged). */
int txn_layer_timers_set(struct txn_layer *l, const struct txn_timers *tm);

/**
 * Feed one received message (already parsed and checked for syntax). Requests are matched to
 * a server transaction (retransmissions absorbed, the last response resent) or create one
 * (tu->request); responses go to their client transaction or to tu->stray.
 */
void txn_layer_recv(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow);

/**
 * Send a response on server transaction @p st. @p buf is a complete response (copied);
 * @p code drives the state machine (1xx: Proceeding; 2xx on INVITE: Accepted; 300-699:
 * Completed, with retransmissions over UDP until the ACK or timer H). In Accepted, further
 * 2xx (the TU's retransmissions, other forks) are sent as they come (RFC 6026 §7.1).
 * A send failure terminates the transaction, and so does a zero-length wait state (reliable
 * transports), on the next run of the wheel: tu->terminated never runs inside this call.
 * @return 0, EINVAL (not a server transaction, or already final), ENOMEM, or the send errno.
 */
int txn_respond(struct txn *st, uint16_t code, const char *buf, size_t len);

/**
 * Start client transaction for the request in @p buf (copied; it must carry our top Via with
 * the branch that identifies the transaction) toward @p dst over @p tp.
 * @param owner  the TU's cookie, given back in response/failed/terminated.
 * @return 0 with *@p ctp set (the layer's reference; sv_ref to keep it), or an errno.
 */
int txn_request(struct txn **ctp, struct txn_layer *l, const char *buf, size_t len, enum net_tp tp,
                const struct net_addr *dst, void *owner);
/** The net listener a client transaction's UDP requests leave from (-1: the send's choice). */
int txn_src_listener(const struct txn *ct);
/** What a caller of txn_request_ex may add. */
struct txn_req_opts {
    int src_listener;       /* net listener the UDP request leaves from; -1: the send's choice */
    struct sv_slice branch; /* the top Via's branch, when the caller wrote it (any memory); the
                               request is then trusted to be well-formed and is not parsed */
};
/** txn_request with options @p o (NULL: none). */
int txn_request_ex(struct txn **ctp, struct txn_layer *l, const char *buf, size_t len,
                   enum net_tp tp, const struct net_addr *dst, const struct txn_req_opts *o,
                   void *owner);

/**
 * Terminate @p t now, whatever its state, when the TU gives up on it (a proxy's timer C,
 * RFC 3261 §16.8; a CANCELled INVITE still without a final response after 64*T1, §9.1).
 * Its timers stop, it leaves the layer, and tu->terminated runs before this returns.
 * Nothing happens to a transaction that has already terminated.
 */
void txn_terminate(struct txn *t);

enum txn_kind txn_kind_get(const struct txn *t);
enum txn_state txn_state_get(const struct txn *t);
/**
 * The request this transaction was created for, parsed; NULL without memory to parse it.
 * Valid until the transaction goes, except that a non-INVITE server transaction frees it,
 * bytes and all, when its final response is sent (timer J needs only its top Via and method):
 * a later call gives NULL, and a TU must not keep the pointer, or any slice of the request,
 * across txn_respond of a final response.
 */
const struct sip_msg *txn_request_msg(const struct txn *t);
/** The flow of a server transaction's request; of a client transaction over TCP/TLS sent
 * through a txn_send_flow_h, the flow its request left on; else NULL. */
const struct net_flow *txn_flow(const struct txn *t);
void *txn_owner(const struct txn *t);
void txn_owner_set(struct txn *t, void *owner);
const struct txn_stats *txn_stats_get(const struct txn_layer *l);

/* ---------------------------------------------------------------------------------------- */
/* Stateful proxy core (RFC 3261 §16)                                                         */
/*                                                                                            */
/* A proxy is the transaction user of its own txn_layer: it validates each new request        */
/* (§16.3), processes Route (§16.4), picks targets (§16.5: the top Route, the node's static   */
/* routes, or a numeric Request-URI host; no DNS), forwards one client transaction per target */
/* (§16.6), chooses the best final response (§16.7), handles CANCEL (§16.10) and timer C      */
/* (§16.8), and forwards ACKs for 2xx and late 2xx responses statelessly. docs/proxy.md tells */
/* the whole story.                                                                           */
/*                                                                                            */
/* The node pipeline (classify, identity, policy, route, privacy, LI tap) plugs in through    */
/* two hooks: one called per target before a request is forwarded, which may add edits or    */
/* answer instead, and one called per response before it goes upstream.                      */

struct proxy;

/** One of the node's bound listeners: our addresses, for Via, Record-Route and "is it us". */
struct proxy_listener {
    enum net_tp tp;
    struct net_addr addr; /* as bound (port resolved) */
    int index;            /* the net layer's listener index; UDP sends go out of it */
    /*
     * When via.len != 0, the sent-by our Via names for requests forwarded out of this
     * listener: a worker's private UDP socket, so that responses come back to the worker that
     * owns the client transaction. Record-Route keeps naming addr; both addresses count as us.
     */
    struct net_addr via;
    int via_index;       /* with via: the net listener index of that private socket */
    bool untrusted_face; /* it faces UEs or another network: requests to untrusted next hops
                            leave from such a listener when the pipeline asks (out_face) */
};

enum proxy_match {
    PROXY_MATCH_DOMAIN = 0, /* the Request-URI host equals value (case-insensitive) */
    PROXY_MATCH_RURI,       /* the Request-URI equals value (§19.1.4), or its user@host does */
    PROXY_MATCH_ROUTE,      /* the top Route left after ours names host value */
    PROXY_MATCH_DEFAULT,    /* everything */
};

/** The most targets one request is forked to. */
#define PROXY_MAX_TARGETS 8
#define PROXY_TARGET_ADDS 4

/** A header line a route hook adds to a forwarded request, on top of those of its name. */
struct proxy_hdr_add {
    const char *name; /* NULL: unused */
    struct sv_slice value;
};

/**
 * Where a request goes. The slices are set by a route hook or a location service and are
 * borrowed for the proxy_fork call only; static routes leave them unset.
 */
struct proxy_target {
    enum net_tp tp;
    struct net_addr dst;
    struct sv_slice ruri;  /* a new Request-URI (a registered contact); unset: as routed */
    struct sv_slice route; /* Route values put before the request's own, one line
                              ("<sip:a;lr>,<sip:b;lr>": a Service-Route, a Path); unset: none */
    struct proxy_hdr_add add[PROXY_TARGET_ADDS]; /* Path, P-Visited-Network-ID, ... */
    const struct sip_hdr *del[2]; /* header lines of the request to leave out; NULL: none */
};

struct proxy_route {
    enum proxy_match match;
    const char *value; /* NUL-terminated; borrowed: it must outlive the proxy */
    struct proxy_target next_hop;
};

struct proxy_conf {
    const char *name;                       /* the node's name, for logs; borrowed */
    const char *domain;                     /* the node's domain or ""/NULL; borrowed */
    const struct proxy_listener *listeners; /* copied */
    size_t nlisteners;
    const struct proxy_route *routes; /* copied (the value strings stay borrowed) */
    size_t nroutes;
    bool record_route;
    uint32_t timer_c_ms; /* §16.8; 0: 180000 */
    uint32_t max_txns;   /* live transactions beyond which new requests get 503; 0: 150000 */
    size_t max_msg;      /* largest message forwarded; 0: 65536 */
    /* When set, client transactions send through it (see txn_send_flow_h), so that
     * proxy_conn_closed can turn a failed TCP/TLS connect into an immediate 503. */
    txn_send_flow_h *send_flow;
};

/**
 * What the pipeline is told about one hop of a message: where it came from and where it goes,
 * so that it can judge both against the trust domain, and a cookie that the request hook may
 * set for its branch and the response hook gets back with every response of that branch.
 */
struct proxy_hop {
    enum net_tp in_tp;
    struct net_addr in_addr;        /* the peer the message came from */
    int in_listener;                /* the net listener it arrived on (the face); -1: a
                                       connection we opened, or a response */
    const struct net_conn *in_conn; /* TCP/TLS: the connection (its TLS subject); else NULL */
    enum net_tp out_tp;
    struct net_addr out_addr; /* the hop it goes to next */
    int out_face;             /* request hook: the listener face to leave from and name in Via
                                 and Record-Route: 1 an untrusted face, 0 a core one, -1 (as
                                 given) any; so each side of the node sees the listener that
                                 faces it (RFC 5658) */
    uint32_t cookie;          /* request hook: may set it; response hook: the branch's
                                 (0 for a response forwarded without a transaction) */
};

/**
 * The request hook: called for each target before the request is forwarded there. It may
 * record edits in @p ed (texts must live in ed->arena, which lasts for this forward only),
 * or answer instead: set *@p code (300..699) and *@p reason (static) and return nonzero; that
 * answer then counts as this target's final response. An ACK cannot be answered: nonzero
 * drops it.
 */
typedef int(proxy_request_h)(void *arg, const struct sip_msg *req, struct proxy_hop *hop,
                             struct sip_edits *ed, uint16_t *code, const char **reason);
/**
 * The response hook: called for each response received from downstream, before it is
 * forwarded upstream (our Via is already deleted in @p ed). It may add edits; nonzero means
 * the response must not be forwarded (it is dropped and counted).
 */
typedef int(proxy_response_h)(void *arg, const struct sip_msg *resp, const struct proxy_hop *hop,
                              struct sip_edits *ed);

struct proxy_hooks {
    proxy_request_h *request;   /* may be NULL */
    proxy_response_h *response; /* may be NULL */
    void *arg;
};

/** What the proxy tells a route hook about a new request, after its Route processing. */
struct proxy_req_info {
    const struct sip_uri *ruri; /* the Request-URI (after a strict-route repair) */
    bool ruri_is_us;            /* it names this node */
    bool has_route;             /* a Route is left after ours: the request is routed already */
    const struct sip_uri *top_route; /* the Route left on top after ours; NULL: none */
    bool routed_to_us;          /* a Route of ours was on top (removed when forwarded) */
    struct sv_slice our_route_params; /* the parameters of that Route's URI (";lr;orig") */
};

enum proxy_route_verdict {
    PROXY_ROUTE_DEFAULT = 0, /* route as the proxy would (Route, static routes); the
                                result's add/route/ruri still apply to that target */
    PROXY_ROUTE_ANSWER,      /* answer with code, reason and hdrs */
    PROXY_ROUTE_FORK,        /* forward to the result's targets */
};

/** A route hook's decision. Texts live in the arena the hook was given, or are static. */
struct proxy_route_res {
    uint16_t code;      /* ANSWER: 200..699 */
    const char *reason; /* ANSWER */
    const char *hdrs;   /* ANSWER: extra header lines, each ending in CRLF; NULL: none */
    const char *totag;  /* ANSWER: the To tag (a dialog the hook keeps); NULL: a fresh one */
    struct proxy_target tgt[PROXY_MAX_TARGETS]; /* FORK: 1..n; DEFAULT: tgt[0]'s ruri, route
                                                   and add apply to the target chosen */
    size_t n;
};

/**
 * The route hook: the node's own logic (registrar, location service, Service-Route, iFC),
 * called once per new request after validation and Route processing, before the static
 * routes. @p flow is where the request came from; @p arena lasts until the request has been
 * answered or forwarded.
 */
typedef enum proxy_route_verdict(proxy_route_h)(void *arg, struct txn *st,
                                                const struct sip_msg *req,
                                                const struct net_flow *flow,
                                                const struct proxy_req_info *info,
                                                struct sv_arena *arena,
                                                struct proxy_route_res *res);

/* Rejections the proxy counts, by code. */
enum proxy_rej {
    PROXY_REJ_400 = 0,
    PROXY_REJ_404,
    PROXY_REJ_416,
    PROXY_REJ_420,
    PROXY_REJ_482,
    PROXY_REJ_483,
    PROXY_REJ_OTHER,
    PROXY_REJ__N
};

/** Counters (exported on /metrics later). Index 1..6 of the class arrays is the class. */
struct proxy_stats {
    unsigned long req_in[SIP_METHOD__N]; /* new requests, by method (OTHER: unknown) */
    unsigned long resp_in[7];            /* responses from downstream, by class */
    unsigned long resp_out[7];           /* responses sent upstream (local ones too), by class */
    unsigned long forwarded;             /* client transactions started (branches) */
    unsigned long stateless;             /* ACKs and 2xx responses forwarded statelessly */
    unsigned long cancels;               /* CANCELs sent downstream */
    unsigned long overload_503;          /* new requests refused for the transaction bound */
    unsigned long rejects[PROXY_REJ__N];
    unsigned long send_errors;
    unsigned long hook_drops; /* responses and ACKs the pipeline refused to let through */
};

/**
 * A proxy with its own transaction layer on @p wheel, sending through @p send (the node
 * passes net_send; a client transaction's flow is NULL, and the proxy's UDP sends pass a
 * flow naming its listener so that they leave from the node's own socket).
 * @return 0 with *@p pp set, EINVAL or ENOMEM.
 */
int proxy_alloc(struct proxy **pp, struct sv_wheel *wheel, const struct txn_timers *tm,
                txn_send_h *send, void *send_ctx, const struct proxy_conf *conf);
/** Terminate every transaction silently and free the proxy. */
void proxy_free(struct proxy *p);
/**
 * A reload: new routes, record_route, timer C, transaction bound and message cap from
 * @p conf (the name, domain and listeners stay). @return 0, EINVAL or ENOMEM (nothing changed).
 */
int proxy_conf_update(struct proxy *p, const struct proxy_conf *conf);
/** A reload: T1, T2, T4 of what starts from now on. @return 0 or EINVAL (unchanged). */
int proxy_timers_set(struct proxy *p, const struct txn_timers *tm);
void proxy_hooks_set(struct proxy *p, const struct proxy_hooks *h);
/**
 * The final answer to a request the node originated: @p code 200..699 with @p resp, or a
 * local 408 (no answer) or 503 (transport failure) with @p resp NULL. Called once. @p code 0
 * (resp NULL): the proxy is being freed before an answer came; release @p arg and touch
 * nothing else, since the rest of the node may already be gone.
 */
typedef void(proxy_origin_h)(void *arg, uint16_t code, const struct sip_msg *resp);

/**
 * Send a request this node originates (a presence server's NOTIFY) on a client transaction of
 * the proxy's layer: retransmissions and timers are the layer's, the final answer goes to
 * @p done (not upstream). @p buf is the whole request, its top Via (with a fresh branch)
 * written by the caller; it is copied. When the proxy is freed first, @p done gets code 0.
 * @return 0, EINVAL, ENOMEM, or the transport's errno (then @p done is not called)
 */
int proxy_originate(struct proxy *p, const char *buf, size_t len, enum net_tp tp,
                    const struct net_addr *dst, proxy_origin_h *done, void *arg);
/** The address text ("host:port") the proxy names in Via for requests leaving toward
 * @p tp, @p dst (for a caller that writes its own Via), or NULL. */
const char *proxy_via_hostport(const struct proxy *p, enum net_tp tp, const struct net_addr *dst);

/** Set (or clear, with NULL) the route hook. */
void proxy_route_hook_set(struct proxy *p, proxy_route_h *h, void *arg);
/** Feed a received message (parsed; syntax-checked by the caller or not: the proxy checks). */
void proxy_recv(struct proxy *p, const struct sip_msg *msg, const struct net_flow *flow);
/**
 * Forward a request already accepted on server transaction @p st to @p n targets in parallel
 * (§16.6, §16.7). The proxy calls it with the targets it selected; a location service (the
 * registrar) will call it with several contacts. For an INVITE it also owes the 100 (Trying)
 * of §17.2.1: sent 200 ms on unless a provisional or final response went upstream before.
 * @return 0, or an errno (nothing sent).
 */
int proxy_fork(struct proxy *p, struct txn *st, const struct proxy_target *targets, size_t n);
/** Refuse new requests with 503 + Retry-After from now on; work in progress goes on. */
void proxy_drain(struct proxy *p);
/**
 * A connection of the node's transport closed (call it from net_close_h): branches waiting on
 * it fail at once (503 upstream, §16.7: a transport error counts as 503) when @p err is
 * nonzero. Needs conf->send_flow. See txn_layer_conn_closed.
 */
void proxy_conn_closed(struct proxy *p, const struct net_conn *conn, int err);
struct txn_layer *proxy_txn_layer(const struct proxy *p);
/** The timing wheel the proxy runs on (its worker's). */
struct sv_wheel *proxy_wheel(const struct proxy *p);
const struct proxy_stats *proxy_stats_get(const struct proxy *p);
/** The Call-ID hash that log lines carry (`call=` and `cid`), never the Call-ID itself. */
uint32_t proxy_callid_hash(const struct sip_msg *m);
/**
 * The target a SIP URI with a numeric host names: its port (5060, or 5061 for sips) and its
 * transport parameter (udp, tcp, tls). Only tp and dst of @p t are written.
 * @return false for a name (not resolved), another scheme or transport
 */
bool proxy_uri_target(const struct sip_uri *u, struct proxy_target *t);
/** Whether @p uri names this node (a listener's host:port). */
bool proxy_uri_is_us(const struct proxy *p, const struct sip_uri *uri);

#ifdef __cplusplus
}
#endif
#endif
