/**
 * @file proxy_resp.c  The stateful proxy's response side (RFC 3261 §16.7 to §16.10): responses
 * from downstream and the best final response, CANCEL, timer C, client transactions that time
 * out or fail, and responses forwarded statelessly (late 2xx, answers to stateless CANCELs).
 *
 * Each branch of a response context ends with exactly one final code (received, or local:
 * 408, 487, 503, or a hook's answer); when every branch has one, the best goes upstream
 * (maybe_finish). A context lives while its server transaction or any branch does (one
 * reference each), so a late response or timer always finds it.
 */
#include <stdio.h>
#include "proxy_int.h"

#define MOD "proxy"

/* ---------------------------------------------------------------------------------------- */
/* Response context and branches                                                              */

void proxy__pctx_dtor(void *arg)
{
    struct pctx *pc = arg;

    for (unsigned i = 0; i < pc->nbr; i++)
        sv_timer_cancel(&pc->br[i].tm);
    sv_timer_cancel(&pc->t100);
    sv_free(pc->best);
    sv_free(pc->auth);
    if (pc->pprev) {
        *pc->pprev = pc->next;
        if (pc->next)
            pc->next->pprev = pc->pprev;
    }
}

/* Lower ranks win (§16.7 step 6): any 6xx, then the lowest class; the first of a class. */
static unsigned rank(uint16_t code)
{
    return code >= 600 ? 1 : proxy__cls(code);
}

/* Keep @p buf as the best final response when it beats the current one; @p bri is the index
 * of the branch it came from, -1 for a local one. */
static void keep_best(struct pctx *pc, int bri, uint16_t code, uint16_t send_code, const char *buf,
                      size_t n)
{
    char *copy;

    if (pc->best && rank(code) >= rank(pc->best_code))
        return;
    if (!(copy = sv_malloc(n ? n : 1)))
        return;
    memcpy(copy, buf, n);
    sv_free(pc->best);
    pc->best = copy;
    pc->best_len = n;
    pc->best_code = code;
    pc->best_send = send_code;
    pc->best_br = bri;
}

/* The challenges of all 401 and 407 together stay under this; beyond it, later ones are left
 * out (the UAC can still answer the ones it got). */
#define AUTH_MAX 16384u

static bool is_challenge(uint16_t code)
{
    return code == 401 || code == 407;
}

/* §16.7 step 7: keep the WWW-Authenticate and Proxy-Authenticate lines of a 401 or 407 from
 * branch @p br, unmodified, for the best response if that is a challenge too. */
static void keep_challenges(struct pctx *pc, struct branch *br, const struct sip_msg *resp)
{
    static const enum sip_hdr_id ids[] = {SIP_HDR_WWW_AUTHENTICATE, SIP_HDR_PROXY_AUTHENTICATE};
    size_t need = 0;
    char *p;

    for (size_t i = 0; i < SV_ARRAY_SIZE(ids); i++)
        for (const struct sip_hdr *h = sip_msg_hdr(resp, ids[i]); h; h = sip_msg_hdr_next(resp, h))
            need += h->len;
    if (!need || pc->auth_len + need > AUTH_MAX || !(p = sv_realloc(pc->auth, pc->auth_len + need)))
        return;
    pc->auth = p;
    br->auth_off = (uint32_t)pc->auth_len;
    br->auth_len = (uint32_t)need;
    for (size_t i = 0; i < SV_ARRAY_SIZE(ids); i++)
        for (const struct sip_hdr *h = sip_msg_hdr(resp, ids[i]); h;
             h = sip_msg_hdr_next(resp, h)) {
            memcpy(pc->auth + pc->auth_len, resp->raw.p + h->off, h->len);
            pc->auth_len += h->len;
        }
}

/* The best response with the other branches' challenges added at the end of its headers, in
 * a heap buffer (its length in *@p n), or NULL when there is nothing to add or no memory. */
static char *merge_challenges(const struct pctx *pc, size_t *n)
{
    const char *end = NULL;
    size_t add = 0, at;
    char *out, *q;

    if (!is_challenge(pc->best_code) || !pc->auth_len)
        return NULL;
    for (unsigned i = 0; i < pc->nbr; i++)
        if ((int)i != pc->best_br)
            add += pc->br[i].auth_len;
    for (size_t i = 0; !end && i + 3 < pc->best_len; i++)
        if (memcmp(pc->best + i, "\r\n\r\n", 4) == 0)
            end = pc->best + i + 2;
    if (!add || !end || !(out = sv_malloc(pc->best_len + add)))
        return NULL;
    at = (size_t)(end - pc->best);
    memcpy(out, pc->best, at);
    q = out + at;
    for (unsigned i = 0; i < pc->nbr; i++) {
        if ((int)i == pc->best_br || !pc->br[i].auth_len)
            continue;
        memcpy(q, pc->auth + pc->br[i].auth_off, pc->br[i].auth_len);
        q += pc->br[i].auth_len;
    }
    memcpy(q, pc->best + at, pc->best_len - at);
    *n = pc->best_len + add;
    return out;
}

/* Every branch has its final response: send the best upstream (§16.7 step 6). */
static void maybe_finish(struct pctx *pc)
{
    struct proxy *p = pc->p;

    if (pc->final_sent || !pc->st)
        return;
    for (unsigned i = 0; i < pc->nbr; i++)
        if (!pc->br[i].code)
            return;
    pc->final_sent = true;
    proxy__answered(pc);
    if (!pc->best) {
        proxy__answer(p, pc->st, 500, "Server Internal Error", "");
        return;
    }
    size_t n = pc->best_len;
    char *merged = merge_challenges(pc, &n);
    if (txn_respond(pc->st, pc->best_send, merged ? merged : pc->best, n) == 0)
        proxy__count_out(p, pc->best_send);
    sv_free(merged);
    sv_log(SV_LOG_DEBUG, MOD, "node %s: cid %08x final %u upstream", p->name, pc->cidh,
           pc->best_send);
}

static void branch_cancel(struct branch *br);

static void cancel_others(struct pctx *pc, const struct branch *except)
{
    for (unsigned i = 0; i < pc->nbr; i++)
        if (&pc->br[i] != except)
            branch_cancel(&pc->br[i]);
}

/* A branch ends without a response from downstream: a local final (§16.7 step 6, §16.8, §16.9). */
void proxy__branch_local(struct branch *br, uint16_t code, const char *reason)
{
    struct pctx *pc = br->pc;
    struct proxy *p = pc->p;
    char tag[20];
    size_t n = 0;

    if (br->code)
        return;
    br->code = code;
    sv_timer_cancel(&br->tm);
    if (pc->st) {
        sip_tag_gen(tag, sizeof(tag));
        const struct sip_msg *req = txn_request_msg(pc->st); /* NULL: no memory to parse */
        if (req && sip_resp_build(req, code, reason, sv_slice_cstr(tag), SV_LIT(""), p->out,
                                  p->outsz, &n) == 0)
            keep_best(pc, -1, code, code, p->out, n);
    }
    if (code >= 600)
        cancel_others(pc, br);
    maybe_finish(pc);
}

static void branch_tm_h(void *arg);

static void branch_send_cancel(struct branch *br)
{
    struct pctx *pc = br->pc;
    struct proxy *p = pc->p;
    char small[2048], *buf = small;
    size_t n = 0;
    struct txn *cct;
    /* a client transaction parses its request only now (NULL: no memory for it) */
    const struct sip_msg *req = txn_request_msg(br->ct);
    int err = ENOMEM;

    br->cancel_sent = true;
    if (req)
        err = sip_cancel_build(req, buf, sizeof(small), &n);
    if (err == ENOSPC && (buf = sv_malloc(n)))
        err = sip_cancel_build(req, buf, n, &n);
    if (!buf)
        err = ENOMEM;
    if (!err) {
        /* from where the INVITE left: the CANCEL carries its Via (§9.1) */
        struct txn_req_opts o = {.src_listener = txn_src_listener(br->ct)};
        err = txn_request_ex(&cct, p->l, buf, n, br->tgt.tp, &br->tgt.dst, &o, NULL);
    }
    if (buf != small)
        sv_free(buf);
    if (err)
        sv_log(SV_LOG_WARN, MOD, "node %s: cid %08x: CANCEL not sent: %s", p->name, pc->cidh,
               strerror(err));
    else
        p->stats.cancels++;
    /* no final within 64*T1 of the CANCEL: give the branch up (§9.1) */
    sv_timer_start(p->wheel, &br->tm, 64u * p->tm.t1_ms, branch_tm_h, br);
}

/* Cancel a pending INVITE branch (§16.10), or ask for it once a provisional arrives. */
static void branch_cancel(struct branch *br)
{
    struct proxy *p = br->pc->p;

    if (br->code || br->cancel_sent || br->cancel_wanted || !br->ct || !br->pc->invite)
        return;
    if (br->prov) {
        branch_send_cancel(br);
        return;
    }
    br->cancel_wanted = true;
    sv_timer_start(p->wheel, &br->tm, 64u * p->tm.t1_ms, branch_tm_h, br);
}

/* Timer C (§16.8), or the wait after a CANCEL. */
static void branch_tm_h(void *arg)
{
    struct branch *br = arg;
    struct pctx *pc = sv_ref(br->pc);

    if (!br->code && br->ct) {
        if (!br->cancel_sent && !br->cancel_wanted && br->prov) {
            sv_log(SV_LOG_INFO, MOD, "node %s: cid %08x: timer C fired; cancelling", pc->p->name,
                   pc->cidh);
            branch_send_cancel(br);
        } else {
            txn_terminate(br->ct); /* tu->terminated ends the branch with 408 or 487 */
        }
    }
    sv_deref(pc);
}

/* Forward a response from downstream upstream on the server transaction, or, with @p keep
 * (a final other than 2xx from branch @p br), keep it as the best if it is. */
static void forward_resp(struct pctx *pc, struct branch *br, const struct sip_msg *resp, bool keep)
{
    struct proxy *p = pc->p;
    char blk[2048], *out, *heap;
    struct sv_arena a;
    struct sip_edits ed;
    uint16_t send_code = resp->scode;
    size_t n;

    sv_arena_init(&a, blk, sizeof(blk));
    sip_edits_init(&ed, resp, &a);
    if (proxy__edit_pop_via(resp, &ed))
        goto out;
    if (p->hooks.response) {
        const struct net_flow *up = pc->st ? txn_flow(pc->st) : NULL;
        struct proxy_hop hop;
        struct proxy_target src = br->tgt;
        proxy__hop_init(&hop, NULL, NULL);
        hop.in_tp = src.tp;
        hop.in_addr = src.dst;
        if (up) {
            hop.out_tp = up->tp;
            hop.out_addr = up->peer;
        }
        hop.cookie = br->cookie;
        if (p->hooks.response(p->hooks.arg, resp, &hop, &ed)) {
            p->stats.hook_drops++;
            goto out;
        }
    }
    if (keep && resp->scode == 503) { /* §16.7 step 6 */
        send_code = 500;
        if (sip_edit_start_set(&ed, SV_LIT("SIP/2.0 500 Server Internal Error")))
            goto out;
    }
    if (proxy__print_msg(p, resp, &ed, &out, &n, &heap))
        goto out;
    if (keep) {
        if (is_challenge(resp->scode))
            keep_challenges(pc, br, resp);
        keep_best(pc, (int)(br - pc->br), resp->scode, send_code, out, n);
    } else if (pc->st && txn_respond(pc->st, resp->scode, out, n) == 0) {
        proxy__count_out(p, resp->scode);
        proxy__answered(pc);
    }
    sv_free(heap);
out:
    sv_arena_close(&a);
}

/* ---------------------------------------------------------------------------------------- */
/* Transaction-user callbacks of the response side                                           */

void proxy__tu_response(struct txn *ct, const struct sip_msg *resp, void *owner)
{
    struct branch *br = owner;
    struct pctx *pc;
    struct proxy *p;
    uint16_t code = resp->scode;

    if (!br) /* our CANCELs: their answers end there */
        return;
    if (br->kind == OWNER_ORIGIN) {
        if (code >= 200)
            proxy__origin_answer(owner, code, resp);
        return;
    }
    pc = sv_ref(br->pc);
    p = pc->p;
    p->stats.resp_in[proxy__cls(code)]++;
    if (code < 200) {
        if (!br->prov) {
            br->prov = true;
            if (br->cancel_wanted && !br->cancel_sent && !br->code)
                branch_send_cancel(br);
        }
        if (pc->invite && !br->cancel_sent && !br->code) /* §16.8: (re)start timer C */
            sv_timer_start(p->wheel, &br->tm, p->timer_c_ms, branch_tm_h, br);
        if (code > 100 && !pc->final_sent)
            forward_resp(pc, br, resp, false);
    } else if (code < 300) {
        bool first = !br->code;
        if (first) {
            br->code = code;
            sv_timer_cancel(&br->tm);
        }
        /* every 2xx to INVITE goes up (§16.7 step 5); for others, the first final only */
        if (pc->invite || !pc->final_sent) {
            forward_resp(pc, br, resp, false);
            pc->final_sent = true;
        }
        if (first)
            cancel_others(pc, br);
    } else if (!br->code) {
        br->code = code;
        sv_timer_cancel(&br->tm);
        forward_resp(pc, br, resp, true);
        if (code >= 600)
            cancel_others(pc, br);
        maybe_finish(pc);
    }
    (void)ct;
    sv_deref(pc);
}

void proxy__tu_failed(struct txn *ct, int err, void *owner)
{
    struct branch *br = owner;

    (void)ct;
    if (!br)
        return;
    if (br->kind == OWNER_ORIGIN) {
        proxy__origin_answer(owner, err == ETIMEDOUT ? 408 : 503, NULL);
        return;
    }
    struct pctx *pc = sv_ref(br->pc);
    if (err == ETIMEDOUT)
        proxy__branch_local(br, pc->cancelled ? 487 : 408,
                            pc->cancelled ? "Request Terminated" : "Request Timeout");
    else
        proxy__branch_local(br, 503, "Service Unavailable");
    sv_deref(pc);
}

void proxy__tu_terminated(struct txn *t, void *owner)
{
    enum txn_kind k = txn_kind_get(t);

    if (!owner)
        return;
    if (k == TXN_SERVER_INVITE || k == TXN_SERVER_NONINVITE) {
        struct pctx *pc = owner;
        pc->st = NULL;
        txn_owner_set(t, NULL);
        sv_deref(pc);
        return;
    }
    struct branch *br = owner;
    if (br->kind == OWNER_ORIGIN) {
        proxy__origin_end(owner);
        return;
    }
    struct pctx *pc = br->pc;
    br->ct = NULL;
    sv_timer_cancel(&br->tm);
    if (!br->code) /* given up (timer C, CANCEL without answer): §16.8 */
        proxy__branch_local(br, pc->cancelled ? 487 : 408,
                            pc->cancelled ? "Request Terminated" : "Request Timeout");
    sv_deref(pc);
}

void proxy__tu_cancel(struct txn *inv, struct txn *cst, const struct sip_msg *cancel, void *arg)
{
    struct proxy *p = arg;
    struct pctx *pc = txn_owner(inv);

    p->stats.req_in[SIP_METHOD_CANCEL]++;
    proxy__answer(p, cst, 200, "OK", ""); /* §16.10: the CANCEL's own answer, at once */
    sv_log(SV_LOG_DEBUG, MOD, "node %s: CANCEL cid %08x", p->name, proxy__cid_hash(cancel));
    if (!pc || pc->final_sent)
        return;
    pc->cancelled = true;
    sv_ref(pc);
    cancel_others(pc, NULL);
    sv_deref(pc);
}

/* Stateless (§16.11): a 2xx whose client transaction has gone, or the answer to a CANCEL we
 * forwarded statelessly (§16.10): pop our Via, send to the next (§18.2.2 with RFC 3581: its
 * received and rport values when present, else its sent-by). */
void proxy__stray_resp(struct proxy *p, const struct sip_msg *m, const struct net_flow *flow)
{
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_VIA);
    char blk[2048], *out, *heap = NULL;
    struct sv_slice cur;
    struct sip_via v, up;
    struct sv_arena a;
    struct sip_edits ed;
    struct proxy_target t = {0};
    size_t n;
    bool tls;

    if (!h || !proxy__via_is_us(p, &m->via))
        return;
    cur = h->value;
    if (sip_via_next(&cur, &v))
        return;
    if (sip_via_next(&cur, &up)) {
        const struct sip_hdr *h2 = sip_msg_hdr_next(m, h);
        if (!h2)
            return;
        cur = h2->value;
        if (sip_via_next(&cur, &up))
            return;
    }
    tls = sv_slice_caseeq_cstr(up.transport, "TLS");
    t.tp = tls ? NET_TLS : sv_slice_caseeq_cstr(up.transport, "TCP") ? NET_TCP : NET_UDP;
    if (!proxy__host_addr(up.received.p ? up.received : up.host,
                          up.rport_val  ? up.rport_val
                          : up.has_port ? up.port
                          : tls         ? 5061
                                        : 5060,
                          &t.dst))
        return;
    sv_arena_init(&a, blk, sizeof(blk));
    sip_edits_init(&ed, m, &a);
    if (proxy__edit_pop_via(m, &ed) == 0) {
        struct proxy_hop hop;
        proxy__hop_init(&hop, flow, &t);
        if (p->hooks.response && p->hooks.response(p->hooks.arg, m, &hop, &ed)) {
            p->stats.hook_drops++;
        } else if (!proxy__print_msg(p, m, &ed, &out, &n, &heap)) {
            if (p->send(p->send_ctx, t.tp, &t.dst, NULL, out, n))
                p->stats.send_errors++;
            else
                p->stats.stateless++;
            sv_free(heap);
        }
    }
    sv_arena_close(&a);
}
