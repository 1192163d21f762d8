/**
 * @file ua_serve.c  The UAS half of `sipveil ua`: the answers to the requests the UE receives
 * (MESSAGE, OPTIONS, BYE 200; INVITE 180 then 200 with an SDP answer, resent over UDP until
 * its ACK), and the `listen` command that runs the loop until --count of them were answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sipveil/txn.h>
#include "app.h"
#include "ua.h"
#include "ua_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Requests the UE answers                                                                    */

/* Answer on server transaction @p st. @return the length of the response in u->tx, 0 when
   it could not be sent. */
static size_t respond(struct ua *u, struct txn *st, const struct sip_msg *req, uint16_t code,
                      const char *reason, const char *totag, const char *extra, const char *body)
{
    size_t n = 0;
    int err = ua_resp_print(req, code, reason, totag, extra, "application/sdp", body, u->tx,
                            sizeof(u->tx), &n);

    if (!err)
        err = txn_respond(st, code, u->tx, n);
    if (err) {
        sv_log(SV_LOG_WARN, MOD, "cannot answer %u: %s", (unsigned)code, strerror(err));
        return 0;
    }
    ua__show_sent(u->tx, n);
    return n;
}

/* Done when --count requests were answered and the last call has ended: its 2xx ACKed and,
   once established, its BYE received (the caller must not find the UE gone). */
static void listen_check(struct ua *u)
{
    if (u->c.count && u->answered >= u->c.count && !u->pend_st && !u->dlg_callid[0])
        u->listen_done = true;
}

void ua__pend_clear(struct ua *u)
{
    sv_timer_cancel(&u->pend_timer);
    if (u->pend_st)
        u->pend_st = sv_deref(u->pend_st);
    free(u->pend_resp);
    u->pend_resp = NULL;
    u->pend_callid[0] = '\0';
}

/* Over UDP the UAS core, not the transaction, resends its 2xx until the ACK (RFC 3261
   §13.3.1.4): T1, doubling up to T2, for 64*T1 at most. */
static void pend_retransmit(void *arg)
{
    struct ua *u = arg;

    if (!u->pend_st)
        return;
    if (u->pend_total >= 64 * txn_timers_default.t1_ms ||
        txn_respond(u->pend_st, 200, u->pend_resp, u->pend_len)) {
        sv_log(SV_LOG_NOTICE, MOD, "no ACK for the 2xx to an INVITE");
        ua__pend_clear(u);
        u->dlg_callid[0] = '\0';
        listen_check(u);
        return;
    }
    u->pend_total += u->pend_ms;
    u->pend_ms =
        u->pend_ms * 2 > txn_timers_default.t2_ms ? txn_timers_default.t2_ms : u->pend_ms * 2;
    sv_timer_start(u->wheel, &u->pend_timer, u->pend_ms, pend_retransmit, u);
}

void ua__on_request(struct txn *st, const struct sip_msg *req, const struct net_flow *flow,
                    void *arg)
{
    struct ua *u = arg;
    char totag[24], extra[1024], privacy[64], contact[320], sdp[1024];
    bool hide = ua_privacy_hides(u->c.privacy);
    size_t n;

    (void)flow;
    ua__show(req);
    if (req->mid == SIP_METHOD_NOTIFY)
        ua__notify_seen(u, req);
    sip_tag_gen(totag, sizeof(totag));
    extra[0] = '\0';
    /* R17: the same Privacy in what the UE answers inside the dialog as in what it sends. */
    if (ua_privacy_print(u->c.privacy, privacy, sizeof(privacy)))
        snprintf(extra, sizeof(extra), "Privacy: %s\r\n", privacy);
    if (!hide)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
                 "User-Agent: sipveil-ua/%s\r\n", SIPVEIL_VERSION);
    switch (req->mid) {
    case SIP_METHOD_INVITE:
        respond(u, st, req, 180, "Ringing", totag, extra, NULL);
        if (ua_contact_print(u->user, u->hostport, u->c.tp, hide, contact, sizeof(contact)) ||
            ua_sdp_print(u->host, MEDIA_PORT, (uint64_t)sv_now_ms(), sdp, sizeof(sdp)))
            break;
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "Contact: %s\r\n", contact);
        n = respond(u, st, req, 200, "OK", totag, extra, sdp);
        ua__pend_clear(u);
        if (!n || !(u->pend_resp = malloc(n)))
            break;
        memcpy(u->pend_resp, u->tx, n);
        u->pend_len = n;
        u->pend_st = sv_ref(st);
        ua__scopy(u->pend_callid, sizeof(u->pend_callid), req->callid);
        ua__scopy(u->dlg_callid, sizeof(u->dlg_callid), req->callid);
        u->pend_ms = txn_timers_default.t1_ms;
        u->pend_total = 0;
        if (u->c.tp == NET_UDP)
            sv_timer_start(u->wheel, &u->pend_timer, u->pend_ms, pend_retransmit, u);
        break;
    case SIP_METHOD_BYE:
        if (sv_slice_eq(req->callid, sv_slice_cstr(u->dlg_callid)))
            u->dlg_callid[0] = '\0';
        respond(u, st, req, 200, "OK", totag, extra, NULL);
        break;
    case SIP_METHOD_CANCEL: /* one that matched no INVITE */
        respond(u, st, req, 481, "Call/Transaction Does Not Exist", totag, extra, NULL);
        break;
    default:
        respond(u, st, req, 200, "OK", totag, extra, NULL);
        break;
    }
    u->answered++;
    listen_check(u);
}

void ua__on_stray(const struct sip_msg *m, const struct net_flow *flow, void *arg)
{
    struct ua *u = arg;

    (void)flow;
    if (!m->req || m->mid != SIP_METHOD_ACK)
        return; /* a late 2xx whose transaction is gone: our ACK was sent already */
    ua__show(m);
    if (u->pend_st && sv_slice_eq(m->callid, sv_slice_cstr(u->pend_callid))) {
        ua__pend_clear(u);
        listen_check(u);
    }
}

void ua__on_cancel(struct txn *inv, struct txn *cancel_st, const struct sip_msg *cancel, void *arg)
{
    struct ua *u = arg;
    char totag[24];

    (void)inv; /* answered at once: the CANCEL comes too late to change it */
    ua__show(cancel);
    sip_tag_gen(totag, sizeof(totag));
    respond(u, cancel_st, cancel, 200, "OK", totag, NULL, NULL);
}

/**
 * Answer every request until --count of them were answered (and the last call ended), or
 * until the deadline, refreshing the registration on the way.
 * @return APP_EX_OK; APP_EX_UNAVAILABLE when --count was not reached in time; the status of a
 *         registration refresh that failed.
 */
int ua_listen(struct ua *u)
{
    int err;

    /* A registration lives --expires seconds: refresh it half way (RFC 3261 §10.2.4 leaves
       the moment to the UA), as long as the UE listens. */
    for (;;) {
        uint64_t refresh = u->reg_at + (uint64_t)u->c.expires * 500;
        err = ua__run_until(u, &u->listen_done, u->registered ? refresh : UINT64_MAX);
        if (!err || !u->registered || sv_now_ms() >= u->deadline)
            break;
        int rc = ua_register(u, u->c.expires, false);
        if (rc && sv_now_ms() >= u->deadline)
            break; /* the deadline came during the refresh: the normal end */
        if (rc) {
            u->registered = false; /* nothing left to remove */
            fprintf(stderr, "sipveil ua: listen: the registration could not be refreshed\n");
            return rc;
        }
    }
    /* Over TCP and TLS the last answer may still sit in the connection's output buffer: give
       the loop a moment to write it before the socket closes. */
    if (!err)
        ua__run_until(u, NULL, sv_now_ms() + LINGER_MS);
    if (err && u->c.count && u->answered < u->c.count) {
        fprintf(stderr, "sipveil ua: listen: %u of %u requests answered within the timeout\n",
                u->answered, u->c.count);
        return APP_EX_UNAVAILABLE;
    }
    return APP_EX_OK;
}
