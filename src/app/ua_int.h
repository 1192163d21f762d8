/**
 * @file ua_int.h  Private to ua_core.c, ua_serve.c and ua_pres.c: the UE's state and the
 * pieces of the engine the UAS half and the presence commands share.
 */
#ifndef SIPVEIL_APP_UA_INT_H
#define SIPVEIL_APP_UA_INT_H

#include <event2/event.h>
#include <sipveil/txn.h>
#include "ua.h"

#define MOD "ua"
#define MAX_CHAL 4
#define AUTH_ROUNDS 4    /* challenges answered for one request before giving up */
#define LOOP_CAP_MS 100u /* the loop wakes at least this often to run the wheel */
#define MEDIA_PORT 49170 /* the (silent) audio port of the SDP */
#define TXBUF 16384
#define LINGER_MS 100u /* after the last answer, for queued stream output */

/* One request of the UE and what its final response said. */
struct creq {
    struct creq *next;
    struct ua *u;
    const char *method;
    char ruri[512], to[600], from[512], callid[160], route[1024];
    char contact[320], expires[16], extra[1536], body[2048];
    const char *ctype;
    uint32_t cseq;
    bool private_rules; /* Privacy, PPI, no User-Agent: every request but REGISTER */
    const char *auth_hdr;
    char auth[1536];
    char nonce[256]; /* the nonce last answered */
    bool answered;   /* credentials were sent (not an AKA resync): a new challenge refuses them */
    /* the result */
    struct txn *ct; /* the layer's; NULL once it terminated */
    bool done;
    int err;
    uint16_t status;
    char rto[600], rcontact[512], rroute[1024], service_route[1024];
    uint32_t min_expires; /* a 423's Min-Expires; 0: none */
    char etag[128];       /* a PUBLISH's 2xx: its SIP-ETag; "": none */
    char chal[MAX_CHAL][768];
    unsigned nchal;
    bool chal_proxy;
    char ack[4096]; /* INVITE: the ACK of its 2xx, resent for each retransmitted 2xx */
    size_t ackn;
};

struct ua {
    struct ua_conf c;
    struct event_base *base;
    struct event *tick;
    struct sv_wheel *wheel;
    struct net *net;
    struct txn_layer *tl;
    struct net_addr bound;
    char host[80], hostport[80], user[128];
    const char *via_tp;
    uint64_t deadline;
    bool conn_failed;
    int conn_err;
    struct creq *creqs; /* owned; freed with the UE (transactions may outlive a command) */

    /* registration */
    bool registered;
    char reg_callid[160], reg_tag[24], service_route[1024];
    uint32_t reg_cseq;
    uint64_t reg_at; /* when the last REGISTER got its 2xx (monotonic ms) */

    /* listen */
    bool listen_done;
    unsigned answered;
    struct txn *pend_st; /* an INVITE answered 2xx, waiting for its ACK; a reference */
    char pend_callid[160];
    char dlg_callid[160]; /* the call the UE answered 2xx, until its BYE */
    char *pend_resp;      /* its 2xx, owned */
    size_t pend_len;
    struct sv_timer pend_timer;
    unsigned pend_ms, pend_total;

    /* subscribe: the subscription's Call-ID, which tells its NOTIFYs apart from others */
    char sub_callid[160];
    bool sub_terminated; /* a NOTIFY said Subscription-State: terminated */
    unsigned notifies;   /* NOTIFYs of the subscription received */

    char tx[TXBUF];
    char arena_block[16384];
};

/* ua_core.c */
/** Print a received message: "< START-LINE" and its identity-bearing lines as received. */
void ua__show(const struct sip_msg *m);
/** Print what the UE sends: "> METHOD URI", or the status line of a response. */
void ua__show_sent(const char *buf, size_t len);
/** Run the loop until *@p flag (NULL: never) or @p until, at most to the deadline.
    @return 0 or ETIMEDOUT. */
int ua__run_until(struct ua *u, const bool *flag, uint64_t until);
/** Copy a slice into a fixed buffer, cut to fit, NUL-terminated. */
void ua__scopy(char *dst, size_t sz, struct sv_slice s);
/** A new client request of @p method (a string literal), owned by the UE. NULL: no memory. */
struct creq *ua__creq_new(struct ua *u, const char *method);
/** The dialog-forming parts of a new request to @p uri. @return an exit status. */
int ua__dialog_init(struct ua *u, struct creq *cr, const char *uri);
/** Send @p cr and wait for its final response, answering challenges. @return an exit status. */
int ua__transact(struct ua *u, struct creq *cr);

/* ua_pres.c */
/** A NOTIFY the UE received (already shown by ua__show): print its state and body, and note
    when it ends the subscription of `subscribe`. */
void ua__notify_seen(struct ua *u, const struct sip_msg *req);

/* ua_serve.c: the transaction user's callbacks for requests, and the pending 2xx */
void ua__on_request(struct txn *st, const struct sip_msg *req, const struct net_flow *flow,
                    void *arg);
void ua__on_stray(const struct sip_msg *m, const struct net_flow *flow, void *arg);
void ua__on_cancel(struct txn *inv, struct txn *cancel_st, const struct sip_msg *cancel, void *arg);
void ua__pend_clear(struct ua *u);

#endif
