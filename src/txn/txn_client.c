/**
 * @file txn_client.c  Client transactions: the INVITE (RFC 3261 §17.1.1 with the Accepted
 * state of RFC 6026 §7.2, §8.4) and non-INVITE (§17.1.2) state machines, and response
 * matching (§17.1.3).
 */
#include "txn_int.h"

/* §17.1.3: the top Via branch of the response and its CSeq method. */
static struct txn *cli_find(struct txn_layer *l, struct sv_slice branch, enum sip_method mid,
                            struct sv_slice method)
{
    uint32_t h = txn__hash_branch(branch);

    for (struct txn *t = txn__tab_first(&l->cli, h); t; t = t->hl.next) {
        if (t->hash == h && sv_slice_caseeq(t->branch, branch) &&
            txn__method_eq(t->mid, t->method, mid, method))
            return t;
    }
    return NULL;
}

/* Remember the TCP/TLS connection the request left on (the reference of @p used passes to
 * the transaction), and file the transaction under it for txn_layer_conn_closed. Any other
 * flow (UDP; a later send, such as the ACK, once one is kept) is let go. */
static void cli_keep_flow(struct txn *t, struct net_flow *used)
{
    if (!used->conn || t->has_flow) {
        net_flow_release(used);
        return;
    }
    t->flow = *used;
    t->has_flow = true;
    t->chash = txn__hash_conn(used->conn);
    txn__tab_add(&t->l->conns, t);
}

static int cli_send(struct txn *t, const char *buf, size_t len)
{
    struct txn_layer *l = t->l;
    struct net_flow used, src, *from = NULL;
    int err;

    if (t->tp == NET_UDP && t->src_listener >= 0) {
        /* out of the socket our Via names, so that the responses come back to it */
        memset(&src, 0, sizeof(src));
        src.tp = NET_UDP;
        src.listener = t->src_listener;
        from = &src;
    }
    if (l->send_flow) {
        memset(&used, 0, sizeof(used));
        err = l->send_flow(l->send_ctx, t->tp, &t->flow.peer, from, buf, len, &used);
        if (err)
            net_flow_release(&used); /* a send function that set it anyway */
        else
            cli_keep_flow(t, &used);
    } else {
        err = l->send(l->send_ctx, t->tp, &t->flow.peer, from, buf, len);
    }
    if (err) {
        l->stats.transport_errors++;
        sv_log(SV_LOG_INFO, TXN_MOD, "%.*s not sent: %s", SV_FMT(t->method), strerror(err));
    }
    return err;
}

/**
 * The transaction failed (timer B or F, or a transport error): tell the TU, then terminate
 * (§17.1.1.2, §17.1.2.2, §17.1.4).
 * @param t    a client transaction still in the layer
 * @param err  ETIMEDOUT or the transport errno
 */
void txn__client_fail(struct txn *t, int err)
{
    struct txn_layer *l = t->l;

    sv_ref(t);
    if (l->tu.failed) {
        txn__cb_enter(l);
        l->tu.failed(t, err, t->owner);
        txn__cb_leave(l);
    }
    txn__terminate(t, true); /* nothing if the TU terminated it from failed */
    sv_deref(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Timers                                                                                     */

static void cli_to_h(void *arg);

/* Timer A (§17.1.1.2): in Calling, resend and double, without a cap (timer B ends it).
 * Timer E (§17.1.2.2): in Trying, resend and double up to T2; in Proceeding, every T2. */
static void cli_retx_h(void *arg)
{
    struct txn *t = arg;
    struct txn_layer *l = t->l;
    int err;

    if (t->state != TXN_CALLING && t->state != TXN_TRYING && t->state != TXN_PROCEEDING)
        return;
    if (t->kind == TXN_CLIENT_INVITE && t->state != TXN_CALLING)
        return;
    l->stats.retransmitted++;
    if ((err = cli_send(t, t->raw.p, t->raw.l))) {
        txn__client_fail(t, err);
        return;
    }
    if (t->kind == TXN_CLIENT_INVITE)
        t->retx_ms *= 2;
    else if (t->state == TXN_TRYING)
        t->retx_ms = t->retx_ms * 2 < l->tm.t2_ms ? t->retx_ms * 2 : l->tm.t2_ms;
    else
        t->retx_ms = l->tm.t2_ms;
    sv_timer_start(l->wheel, &t->tm_retx, t->retx_ms, cli_retx_h, t);
}

/* Timer B or F before a final response: a timeout (ETIMEDOUT to the TU). Timers D, K
 * (§17.1.1.2, §17.1.2.2) and M (RFC 6026 §7.2) end Completed and Accepted quietly. */
static void cli_to_h(void *arg)
{
    struct txn *t = arg;

    switch (t->state) {
    case TXN_CALLING:
    case TXN_TRYING:
    case TXN_PROCEEDING:
        t->l->stats.timeouts++;
        txn__client_fail(t, ETIMEDOUT);
        break;
    default:
        txn__terminate(t, true);
        break;
    }
}

static void cli_wait(struct txn *t, uint64_t ms)
{
    sv_timer_cancel(&t->tm_retx);
    if (ms)
        sv_timer_start(t->l->wheel, &t->tm_to, txn__linger_ms(t->l, ms), cli_to_h, t);
    else
        txn__terminate_soon(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Requests from the TU                                                                       */

/**
 * Start a client transaction: send the request and run timers A and B (INVITE) or E and F.
 * Retransmission timers run over UDP only (§17.1.1.2, §17.1.2.2).
 *
 * @param ctp    out: the transaction (the layer's reference), set only on success
 * @param l      the layer
 * @param buf    the request, carrying our top Via whose branch has the magic cookie (copied)
 * @param len    its length
 * @param tp     the transport
 * @param dst    where to send it (copied)
 * @param owner  the TU's cookie for response, failed and terminated
 * @return 0; EINVAL (not a request, an ACK, no RFC 3261 branch); EBADMSG (does not parse);
 *         EEXIST (a client transaction with that branch and method exists); ENOMEM; or the
 *         send errno, in which case no transaction exists and no callback will run
 */
int txn_request(struct txn **ctp, struct txn_layer *l, const char *buf, size_t len, enum net_tp tp,
                const struct net_addr *dst, void *owner)
{
    return txn_request_ex(ctp, l, buf, len, tp, dst, NULL, owner);
}

/**
 * txn_request with options: the net listener that a UDP request and its retransmissions (and
 * the ACK of a non-2xx, and a CANCEL's own transaction if started so) leave from, and the
 * branch the caller wrote, which spares the parse of a request it has just built.
 */
int txn_request_ex(struct txn **ctp, struct txn_layer *l, const char *buf, size_t len,
                   enum net_tp tp, const struct net_addr *dst, const struct txn_req_opts *o,
                   void *owner)
{
    struct txn *t;
    struct sip_via v = {0};
    int err;

    if (!ctp || !l || !buf || !len || !dst)
        return EINVAL;
    if ((err = txn__alloc_client(&t, l, buf, len, o ? o->branch : (struct sv_slice){0})))
        return err;
    v.branch = t->branch;
    /* An ACK is no transaction: the one for a 2xx is the TU's to send (§17.1.1.3, §13.2.2.4) */
    if (t->mid == SIP_METHOD_ACK || !sip_via_branch_is_rfc3261(&v)) {
        sv_deref(t);
        return EINVAL;
    }
    if (cli_find(l, t->branch, t->mid, t->method)) {
        sv_deref(t);
        return EEXIST;
    }
    t->kind = t->mid == SIP_METHOD_INVITE ? TXN_CLIENT_INVITE : TXN_CLIENT_NONINVITE;
    t->state = t->kind == TXN_CLIENT_INVITE ? TXN_CALLING : TXN_TRYING;
    t->tp = tp;
    t->reliable = tp != NET_UDP;
    t->flow.tp = tp;
    t->flow.peer = *dst;
    t->flow.listener = -1;
    t->src_listener = o ? o->src_listener : -1;
    t->owner = owner;
    t->hash = txn__hash_branch(t->branch);
    if ((err = cli_send(t, t->raw.p, t->raw.l))) {
        sv_deref(t);
        return err;
    }
    txn__tab_add(&l->cli, t);
    l->stats.created++;
    l->stats.live++;
    if (!t->reliable) {
        t->retx_ms = l->tm.t1_ms; /* timer A or E */
        sv_timer_start(l->wheel, &t->tm_retx, t->retx_ms, cli_retx_h, t);
    }
    sv_timer_start(l->wheel, &t->tm_to, 64u * l->tm.t1_ms, cli_to_h, t); /* timer B or F */
    *ctp = t;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Responses from the network                                                                 */

static void tu_response(struct txn *t, const struct sip_msg *msg)
{
    struct txn_layer *l = t->l;

    if (!l->tu.response)
        return;
    txn__cb_enter(l);
    l->tu.response(t, msg, t->owner);
    txn__cb_leave(l);
}

/* §17.1.1.3: the ACK of a non-2xx final response, built once from our request and the
 * response and kept for the retransmissions of that response. */
static void cli_ack(struct txn *t, const struct sip_msg *resp)
{
    const struct sip_msg *req;
    size_t n = 0;
    char *buf;

    if (!t->resp) {
        req = txn_request_msg(t);
        if (!req || sip_ack_build(req, resp, NULL, 0, &n) != ENOSPC || !(buf = sv_malloc(n))) {
            sv_log(SV_LOG_WARN, TXN_MOD, "no ACK for %u", resp->scode);
            return;
        }
        if (sip_ack_build(req, resp, buf, n, &n)) {
            sv_free(buf);
            return;
        }
        t->resp = buf;
        t->resp_len = n;
    } else {
        t->l->stats.retransmitted++;
    }
    cli_send(t, t->resp, t->resp_len); /* a lost ACK is recovered by the next retransmission */
}

/* Figure 5 of §17.1.1.2 as amended by RFC 6026 §8.4. */
static void cli_invite_resp(struct txn *t, const struct sip_msg *msg)
{
    struct txn_layer *l = t->l;
    uint16_t code = msg->scode;

    switch (t->state) {
    case TXN_CALLING:
    case TXN_PROCEEDING:
        t->code = code;
        if (code < 200) {
            /* no more retransmissions, and timer B only guards Calling */
            t->state = TXN_PROCEEDING;
            sv_timer_cancel(&t->tm_retx);
            sv_timer_cancel(&t->tm_to);
        } else if (code < 300) {
            t->state = TXN_ACCEPTED; /* RFC 6026 §7.2: wait M for more 2xx */
            cli_wait(t, 64u * l->tm.t1_ms);
        } else {
            t->state = TXN_COMPLETED;
            cli_ack(t, msg);
            cli_wait(t, t->reliable ? 0 : TXN_TIMER_D_MS);
        }
        tu_response(t, msg);
        break;
    case TXN_ACCEPTED: /* every 2xx goes up: retransmissions and other forks (RFC 6026) */
        if (code >= 200 && code < 300) {
            tu_response(t, msg);
        } else {
            l->stats.dropped++;
        }
        break;
    case TXN_COMPLETED: /* a retransmitted final response: ACK it again, absorb it */
        if (code >= 300) {
            l->stats.absorbed++;
            cli_ack(t, msg);
        } else {
            l->stats.dropped++;
        }
        break;
    default:
        l->stats.dropped++;
        break;
    }
}

/* Figure 6 of §17.1.2.2. */
static void cli_noninvite_resp(struct txn *t, const struct sip_msg *msg)
{
    struct txn_layer *l = t->l;
    uint16_t code = msg->scode;

    switch (t->state) {
    case TXN_TRYING:
    case TXN_PROCEEDING:
        t->code = code;
        if (code < 200) {
            t->state = TXN_PROCEEDING; /* timer E now fires every T2 */
        } else {
            t->state = TXN_COMPLETED;
            cli_wait(t, t->reliable ? 0 : l->tm.t4_ms); /* timer K */
        }
        tu_response(t, msg);
        break;
    default: /* Completed: retransmissions of the final response */
        l->stats.absorbed++;
        break;
    }
}

/**
 * A response from the network: to its client transaction, or, matching none, a 2xx or a
 * CANCEL's response to tu->stray (a proxy forwards it, RFC 3261 §16.7, §16.10, RFC 6026) and
 * anything else dropped.
 * @param l     the layer
 * @param msg   the response
 * @param flow  where it came from
 */
void txn__client_recv(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow)
{
    struct txn *t = NULL;

    if (msg->scode < 100 || msg->scode > 699) {
        l->stats.dropped++;
        return;
    }
    if (msg->via.branch.p)
        t = cli_find(l, msg->via.branch, msg->cseq.mid, msg->cseq.method);
    if (!t) {
        if (l->tu.stray && ((msg->scode >= 200 && msg->scode < 300) ||
                            msg->cseq.mid == SIP_METHOD_CANCEL)) {
            txn__cb_enter(l);
            l->tu.stray(msg, flow, l->tu_arg);
            txn__cb_leave(l);
        } else {
            l->stats.dropped++;
        }
        return;
    }
    sv_ref(t);
    if (t->kind == TXN_CLIENT_INVITE)
        cli_invite_resp(t, msg);
    else
        cli_noninvite_resp(t, msg);
    sv_deref(t);
}

int txn_src_listener(const struct txn *ct)
{
    return ct ? ct->src_listener : -1;
}
