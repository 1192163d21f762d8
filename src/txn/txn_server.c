/**
 * @file txn_server.c  Server transactions: the INVITE (RFC 3261 §17.2.1 with the Accepted
 * state of RFC 6026 §7.1, §8.7) and non-INVITE (§17.2.2) state machines, request
 * matching (§17.2.3), ACK and CANCEL (§9.2), and where responses go (§18.2.2).
 *
 * The layer never sends 100 (Trying) on its own: §17.2.1 lets the TU do it, and the proxy
 * core does (§16.2), since only it knows whether it will answer within 200 ms.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "txn_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Where responses go                                                                         */

static void addr_port_set(struct net_addr *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
    else if (a->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* A numeric maddr ("192.0.2.1", "[2001:db8::1]"): the layer does no DNS. */
static bool maddr_addr(struct sv_slice m, struct net_addr *a)
{
    char buf[64];

    if (m.l >= 2 && m.p[0] == '[' && m.p[m.l - 1] == ']') {
        m.p++;
        m.l -= 2;
    }
    if (!m.l || m.l >= sizeof(buf))
        return false;
    memcpy(buf, m.p, m.l);
    buf[m.l] = '\0';
    memset(a, 0, sizeof(*a));
    struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
    if (inet_pton(AF_INET, buf, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        a->len = sizeof(*in);
        return true;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        a->len = sizeof(*in6);
        return true;
    }
    return false;
}

/**
 * Where a server transaction sends its responses: RFC 3261 §18.2.2 with RFC 3581 §4.
 *
 * 1. Reliable transports: the request's own connection while it is open (the flow's peer
 *    names it). Once it has closed, a new connection to the source address at the sent-by
 *    port, or 5060 (5061 for TLS) when sent-by has none.
 * 2. A maddr parameter: that address at the sent-by port, or 5060.
 * 3. Otherwise the source address, at the source port when the Via has rport (RFC 3581),
 *    else at the sent-by port or 5060.
 *
 * The "received" and "rport" values that §18.2.2 and RFC 3581 read are the ones the server
 * transport writes into the Via on receipt (§18.2.1: the source address; RFC 3581 §4: the
 * source port). This stack never rewrites a received message, so the values are taken from
 * the flow directly. Values a sender put into its own Via are ignored: honouring them would
 * let anyone aim our responses at a third party.
 *
 * A maddr that is a name rather than an address needs DNS, which the layer does not do: the
 * response then goes to the source address as in step 3. Multicast TTL is not applied.
 *
 * @param via         the top Via of the request
 * @param flow        the flow the request came on
 * @param conn_alive  reliable transports: whether that connection is still open
 * @param dst         out: the address
 * @return 0, or EINVAL when the flow's source address is not IPv4 or IPv6
 */
int txn__resp_dest(const struct sip_via *via, const struct net_flow *flow, bool conn_alive,
                   struct net_addr *dst)
{
    int fam = flow->peer.ss.ss_family;
    uint16_t sent_by_port = via->has_port ? via->port : 5060;

    if (fam != AF_INET && fam != AF_INET6)
        return EINVAL;
    if (flow->tp != NET_UDP) {
        *dst = flow->peer;
        if (!conn_alive)
            addr_port_set(dst, via->has_port ? via->port : flow->tp == NET_TLS ? 5061 : 5060);
        return 0;
    }
    if (via->maddr.p && maddr_addr(via->maddr, dst)) {
        addr_port_set(dst, sent_by_port);
        return 0;
    }
    *dst = flow->peer;
    if (!via->rport)
        addr_port_set(dst, sent_by_port);
    return 0;
}

/* Send @p buf on server transaction @p t. A failure is counted; the caller decides. */
static int srv_send(struct txn *t, const char *buf, size_t len)
{
    struct txn_layer *l = t->l;
    struct net_addr dst;
    bool alive = t->flow.conn && net_conn_alive(t->flow.conn);
    int err = txn__resp_dest(&t->via0, &t->flow, alive, &dst);

    if (!err)
        err = l->send(l->send_ctx, t->flow.tp, &dst, &t->flow, buf, len);
    if (err) {
        l->stats.transport_errors++;
        sv_log(SV_LOG_INFO, TXN_MOD, "response %u not sent: %s", t->code, strerror(err));
    }
    return err;
}

/* Resend the stored response, after a retransmitted request or timer G. A transport error
 * ends the transaction (§17.2.4). @return 0 or the send errno. */
static int srv_resend(struct txn *t)
{
    int err;

    if (!t->resp)
        return 0;
    t->l->stats.retransmitted++;
    err = srv_send(t, t->resp, t->resp_len);
    if (err)
        txn__terminate(t, true);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Matching (§17.2.3)                                                                         */

enum match {
    MATCH_SAME,   /* a retransmission of the request that created the transaction */
    MATCH_ACK,    /* an ACK: the INVITE's transaction */
    MATCH_CANCEL, /* a CANCEL: the transaction it cancels, of any method but CANCEL (§9.2) */
};

/* A sent-by without a port means the transport's default (RFC 3261 §18.1.1). */
static uint16_t via_port(const struct sip_via *v)
{
    if (v->has_port)
        return v->port;
    return sv_slice_caseeq_cstr(v->transport, "TLS") ? 5061 : 5060;
}

static bool sentby_eq(const struct sip_via *a, const struct sip_via *b)
{
    return sv_slice_caseeq(a->host, b->host) && via_port(a) == via_port(b);
}

/* Tags are tokens: case-insensitive (§7.3.1); absent matches only absent. */
static bool tag_eq(struct sv_slice a, struct sv_slice b)
{
    if (!a.p || !b.p)
        return !a.p && !b.p;
    return sv_slice_caseeq(a, b);
}

static bool ruri_eq(const struct sip_msg *a, const struct sip_msg *b)
{
    return sv_slice_eq(a->ruri_s, b->ruri_s) || sip_uri_equal(&a->ruri, &b->ruri);
}

/* The To tag of the last response sent, for the RFC 2543 ACK match. It is read from our copy
 * of the response, so the slice stays valid until the next response replaces it. */
static bool resp_to_tag(const struct txn *t, struct sv_slice *tag)
{
    _Alignas(16) char blk[4096];
    struct sv_arena a;
    struct sip_msg *m = NULL;
    struct sip_limits lim = {t->resp_len, SIP_HDR_END - 1u, t->resp_len, t->resp_len};
    bool ok;

    if (!t->resp)
        return false;
    sv_arena_init(&a, blk, sizeof(blk));
    ok = sip_msg_parse(&m, &a, t->resp, t->resp_len, SIP_DGRAM, &lim, NULL) == 0;
    if (ok)
        *tag = m->to.tag;
    sv_arena_close(&a);
    return ok;
}

static bool method_ok(const struct txn *t, const struct sip_msg *msg, enum match mode)
{
    switch (mode) {
    case MATCH_ACK:
        return t->mid == SIP_METHOD_INVITE;
    case MATCH_CANCEL:
        return t->mid != SIP_METHOD_CANCEL;
    default:
        return txn__method_eq(t->mid, t->method, msg->mid, msg->method);
    }
}

/* RFC 2543 peers (§17.2.3, last paragraphs; §9.2 for CANCEL): Request-URI, From tag,
 * Call-ID, CSeq number and top Via always; then the To tag and CSeq method for a
 * retransmission, the To tag for a CANCEL, and for an ACK the To tag of the response sent. */
static bool match_2543(const struct txn *t, const struct sip_msg *msg, enum match mode)
{
    const struct sip_msg *r = t->req;
    struct sv_slice tag;

    if (r->cseq.num != msg->cseq.num || !sv_slice_eq(r->callid, msg->callid) ||
        !tag_eq(r->from.tag, msg->from.tag) || !sv_slice_caseeq(r->via.raw, msg->via.raw) ||
        !ruri_eq(r, msg))
        return false;
    switch (mode) {
    case MATCH_ACK:
        return resp_to_tag(t, &tag) && tag_eq(tag, msg->to.tag);
    case MATCH_CANCEL:
        return tag_eq(r->to.tag, msg->to.tag);
    default:
        return tag_eq(r->to.tag, msg->to.tag) &&
               txn__method_eq(r->cseq.mid, r->cseq.method, msg->cseq.mid, msg->cseq.method);
    }
}

static struct txn *srv_find(struct txn_layer *l, const struct sip_msg *msg, enum match mode)
{
    bool is3261 = sip_via_branch_is_rfc3261(&msg->via);
    uint32_t h = is3261 ? txn__hash_branch(msg->via.branch) : txn__hash_2543(msg);

    for (struct txn *t = txn__tab_first(&l->srv, h); t; t = t->hl.next) {
        if (t->hash != h || t->rfc2543 == is3261 || !method_ok(t, msg, mode))
            continue;
        if (is3261 ? sv_slice_caseeq(t->via0.branch, msg->via.branch) &&
                         sentby_eq(&t->via0, &msg->via)
                   : match_2543(t, msg, mode))
            return t;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Timers G, H, I, J, L                                                                       */

static void srv_to_h(void *arg);

/* Timer G (§17.2.1): resend the final response, doubling the interval up to T2. */
static void srv_retx_h(void *arg)
{
    struct txn *t = arg;
    struct txn_layer *l = t->l;

    if (t->state != TXN_COMPLETED || srv_resend(t))
        return;
    t->retx_ms = t->retx_ms * 2 < l->tm.t2_ms ? t->retx_ms * 2 : l->tm.t2_ms;
    sv_timer_start(l->wheel, &t->tm_retx, t->retx_ms, srv_retx_h, t);
}

/* Timer H (no ACK: a failure, §17.2.1), I, J (§17.2.2) and L (RFC 6026 §7.1) all end in
 * Terminated. */
static void srv_to_h(void *arg)
{
    struct txn *t = arg;

    if (t->kind == TXN_SERVER_INVITE && t->state == TXN_COMPLETED) {
        t->l->stats.timeouts++;
        sv_log(SV_LOG_INFO, TXN_MOD, "timer H: no ACK for %u", t->code);
    }
    txn__terminate(t, true);
}

/* Start the timer that ends the current state; zero (reliable transports) terminates on the
 * next run of the wheel. */
static void srv_wait(struct txn *t, uint64_t ms)
{
    if (ms)
        sv_timer_start(t->l->wheel, &t->tm_to, txn__linger_ms(t->l, ms), srv_to_h, t);
    else
        txn__terminate_soon(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Responses from the TU                                                                      */

static int store_resp(struct txn *t, const char *buf, size_t len)
{
    char *p = sv_malloc(len);

    if (!p)
        return ENOMEM;
    memcpy(p, buf, len);
    sv_free(t->resp);
    t->resp = p;
    t->resp_len = len;
    return 0;
}

/**
 * Send a response on a server transaction and advance its state machine.
 *
 * INVITE (§17.2.1, RFC 6026 §7.1): 1xx in Proceeding is sent and kept for retransmitted
 * INVITEs; 2xx moves to Accepted (timer L) and more 2xx may follow there (retransmissions and
 * forked answers are the TU's, RFC 6026 §7.1); 300-699 moves to Completed, retransmitted by
 * timer G over UDP until the ACK or timer H. Non-INVITE (§17.2.2): 1xx moves to Proceeding,
 * a final response to Completed (timer J).
 *
 * A send failure ends the transaction (§17.2.4) on the next run of the wheel, so the TU does
 * not see tu->terminated from inside this call.
 *
 * @param st    the server transaction
 * @param code  the status code of @p buf
 * @param buf   the complete response (copied when it may have to be resent)
 * @param len   its length
 * @return 0; EINVAL (not a server transaction, terminated, a final response already sent,
 *         code out of range); ENOMEM; or the send errno
 */
int txn_respond(struct txn *st, uint16_t code, const char *buf, size_t len)
{
    struct txn_layer *l;
    bool invite;
    int err;

    if (!st || !buf || !len || code < 100 || code > 699 || st->gone || !st->l)
        return EINVAL;
    if (st->kind != TXN_SERVER_INVITE && st->kind != TXN_SERVER_NONINVITE)
        return EINVAL;
    l = st->l;
    invite = st->kind == TXN_SERVER_INVITE;

    if (invite && st->state == TXN_ACCEPTED) {
        /* RFC 6026 §7.1: 2xx from the TU in Accepted go to the transport, unchanged state */
        if (code < 200 || code > 299)
            return EINVAL;
        st->code = code;
        err = srv_send(st, buf, len);
        if (err)
            txn__terminate_soon(st);
        return err;
    }
    if (st->state != TXN_PROCEEDING && st->state != TXN_TRYING)
        return EINVAL; /* Completed, Confirmed: "discarded" (§17.2.2) */

    if ((err = store_resp(st, buf, len)))
        return err;
    st->code = code;
    if ((err = srv_send(st, buf, len))) {
        txn__terminate_soon(st);
        return err;
    }

    if (code < 200) {
        st->state = TXN_PROCEEDING;
    } else if (invite && code < 300) {
        st->state = TXN_ACCEPTED; /* RFC 6026 §7.1, replacing "Terminated" of §17.2.1 */
        srv_wait(st, 64u * l->tm.t1_ms);
    } else if (invite) {
        st->state = TXN_COMPLETED;
        if (!st->reliable) {
            st->retx_ms = l->tm.t1_ms;
            sv_timer_start(l->wheel, &st->tm_retx, st->retx_ms, srv_retx_h, st);
        }
        srv_wait(st, 64u * l->tm.t1_ms); /* timer H, for all transports */
    } else {
        st->state = TXN_COMPLETED;
        srv_wait(st, st->reliable ? 0 : 64u * l->tm.t1_ms); /* timer J */
        txn__server_compact(st);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Requests from the network                                                                  */

static struct txn *srv_create(struct txn_layer *l, const struct sip_msg *msg,
                              const struct net_flow *flow)
{
    struct txn *t;
    int err = txn__alloc_server(&t, l, msg);

    if (err) {
        l->stats.dropped++;
        sv_log(SV_LOG_WARN, TXN_MOD, "%.*s dropped: no transaction (%s)", SV_FMT(msg->method),
               strerror(err));
        return NULL;
    }
    if (msg->mid == SIP_METHOD_INVITE) {
        t->kind = TXN_SERVER_INVITE;
        t->state = TXN_PROCEEDING; /* §17.2.1 */
    } else {
        t->kind = TXN_SERVER_NONINVITE;
        t->state = TXN_TRYING; /* §17.2.2 */
    }
    net_flow_hold(&t->flow, flow);
    t->has_flow = true;
    t->tp = flow->tp;
    t->reliable = flow->tp != NET_UDP;
    t->rfc2543 = !sip_via_branch_is_rfc3261(&t->via0);
    t->hash = t->rfc2543 ? txn__hash_2543(t->req) : txn__hash_branch(t->via0.branch);
    txn__tab_add(&l->srv, t);
    l->stats.created++;
    l->stats.live++;
    return t;
}

/* A request that matched @p t: absorbed, with the last response resent where §17.2.1 and
 * §17.2.2 say so (none in Trying, none in Accepted and Confirmed). */
static void srv_retransmission(struct txn *t)
{
    t->l->stats.absorbed++;
    switch (t->state) {
    case TXN_PROCEEDING:
    case TXN_COMPLETED:
        srv_resend(t);
        break;
    default:
        break;
    }
}

static void tu_stray(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow)
{
    if (!l->tu.stray) {
        l->stats.dropped++;
        return;
    }
    txn__cb_enter(l);
    l->tu.stray(msg, flow, l->tu_arg);
    txn__cb_leave(l);
}

static void srv_ack(struct txn *t, const struct sip_msg *msg, const struct net_flow *flow)
{
    struct txn_layer *l = t->l;

    switch (t->state) {
    case TXN_COMPLETED: /* §17.2.1: the ACK for our non-2xx; stop G, wait I for copies */
        t->state = TXN_CONFIRMED;
        sv_timer_cancel(&t->tm_retx);
        srv_wait(t, t->reliable ? 0 : l->tm.t4_ms);
        break;
    case TXN_CONFIRMED:
        l->stats.absorbed++;
        break;
    case TXN_ACCEPTED: /* RFC 6026 §7.1: an ACK in Accepted is the 2xx's, for the TU */
        tu_stray(l, msg, flow);
        break;
    default: /* nothing to acknowledge yet */
        l->stats.dropped++;
        break;
    }
}

/* Answer a CANCEL on its own transaction, with the To tag of the cancelled transaction's
 * response when there is one (§9.2), else a new one. */
static void srv_answer(struct txn *st, const struct txn *target, uint16_t code, const char *reason)
{
    char tagbuf[20], small[1024], *buf = small;
    struct sv_slice tag = {0};
    size_t n;
    int err;

    if (!target || !resp_to_tag(target, &tag) || !tag.p || tag.l >= sizeof(tagbuf)) {
        sip_tag_gen(tagbuf, sizeof(tagbuf));
        tag = sv_slice_cstr(tagbuf);
    } else {
        memcpy(tagbuf, tag.p, tag.l); /* the slice would not outlive a new response */
        tag = sv_slice_make(tagbuf, tag.l);
    }
    err = sip_resp_build(st->req, code, reason, tag, SV_LIT(""), buf, sizeof(small), &n);
    if (err == ENOSPC && (buf = sv_malloc(n)))
        err = sip_resp_build(st->req, code, reason, tag, SV_LIT(""), buf, n, &n);
    if (!buf || err || txn_respond(st, code, buf, n))
        txn__terminate_soon(st); /* unanswered, it would wait for a TU that never comes */
    if (buf != small)
        sv_free(buf);
}

/* A CANCEL that matches nothing goes to tu->cancel_unmatched, which may forward it
 * statelessly (§16.10); true when it did, and the layer keeps nothing of it. */
static bool cancel_unmatched(struct txn_layer *l, const struct sip_msg *msg,
                             const struct net_flow *flow)
{
    int err;

    if (!l->tu.cancel_unmatched)
        return false;
    txn__cb_enter(l);
    err = l->tu.cancel_unmatched(msg, flow, l->tu_arg);
    txn__cb_leave(l);
    return err == 0;
}

/* A new CANCEL gets a non-INVITE server transaction of its own; the TU hears of it only when
 * it cancels an INVITE (§9.2). One that matches a non-INVITE is answered 200 here, having no
 * effect on it (§9.2); one that matches nothing and that the TU does not forward, 481. */
static void srv_cancel(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow)
{
    struct txn *cst, *target = srv_find(l, msg, MATCH_CANCEL);

    if (!target && cancel_unmatched(l, msg, flow))
        return;
    if (!(cst = srv_create(l, msg, flow)))
        return;
    sv_ref(cst);
    if (target && target->kind == TXN_SERVER_INVITE && l->tu.cancel) {
        sv_ref(target);
        txn__cb_enter(l);
        l->tu.cancel(target, cst, msg, l->tu_arg);
        txn__cb_leave(l);
        sv_deref(target);
    } else if (target) {
        srv_answer(cst, target, 200, "OK");
    } else {
        srv_answer(cst, NULL, 481, "Call/Transaction Does Not Exist");
    }
    sv_deref(cst);
}

/**
 * A request from the network: an ACK goes to its INVITE transaction or, matching none, to
 * tu->stray; a retransmission is absorbed; anything else creates a server transaction.
 * @param l     the layer
 * @param msg   the request
 * @param flow  where it came from
 */
void txn__server_recv(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow)
{
    struct txn *t;

    if (!flow || !msg->via.raw.p) { /* nowhere to answer */
        l->stats.dropped++;
        return;
    }
    if (msg->mid == SIP_METHOD_ACK) {
        t = srv_find(l, msg, MATCH_ACK);
        if (t)
            srv_ack(t, msg, flow);
        else
            tu_stray(l, msg, flow);
        return;
    }
    t = srv_find(l, msg, MATCH_SAME);
    if (t) {
        srv_retransmission(t);
        return;
    }
    if (msg->mid == SIP_METHOD_CANCEL) {
        srv_cancel(l, msg, flow);
        return;
    }
    t = srv_create(l, msg, flow);
    if (!t)
        return;
    sv_ref(t);
    txn__cb_enter(l);
    l->tu.request(t, msg, flow, l->tu_arg);
    txn__cb_leave(l);
    sv_deref(t);
}
