/**
 * @file txn_test.h  The harness of the transaction layer tests: a layer on a real timing wheel
 * whose time is advanced by hand, a send function that records every message, a TU that
 * records every callback, and builders for the messages the cases exchange.
 *
 * Received messages are parsed from exact-size heap copies that are freed as soon as
 * txn_layer_recv returns, so ASan reports any pointer the layer keeps into a receive buffer.
 * Every case runs between txn_setup and txn_teardown; teardown frees the layer and the wheel
 * and LSan reports whatever a transaction leaked.
 */
#ifndef TXN_TEST_H
#define TXN_TEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "svtest.h"
#include <sipveil/txn.h>

#define T1 500u
#define T2 4000u
#define T4 5000u

/** One message the layer sent. */
struct sent {
    uint64_t at; /* wheel time */
    enum net_tp tp;
    struct net_addr dst;
    bool has_flow;
    int listener; /* the flow's listener, -1 without a flow */
    char *buf; /* NUL-terminated copy */
    size_t len;
};

enum ev_kind { EV_REQUEST, EV_STRAY, EV_CANCEL, EV_RESPONSE, EV_FAILED, EV_TERMINATED };

/** One TU callback. */
struct ev {
    enum ev_kind kind;
    uint64_t at;
    struct txn *t;       /* the transaction (request, response, failed, terminated; cancel: inv) */
    struct txn *t2;      /* cancel: the CANCEL's own transaction */
    uint16_t code;       /* response: its status; stray: the status (0 for a request) */
    enum sip_method mid; /* request, stray: the method */
    int err;             /* failed */
    void *owner;
};

struct fixture {
    struct sv_wheel *w;
    uint64_t now;
    struct txn_layer *l;
    struct sent *sent; /* grows */
    unsigned nsent, capsent;
    int send_err;     /* nonzero: sends fail with it */
    unsigned send_ok; /* with send_err: this many more sends succeed first */
    struct ev *ev;    /* grows */
    unsigned nev, capev;
    /* hooks the cases set to act from inside a callback */
    void (*on_request)(struct txn *st, const struct sip_msg *req);
    void (*on_cancel)(struct txn *inv, struct txn *cst, const struct sip_msg *msg);
    void (*on_response)(struct txn *ct, const struct sip_msg *resp);
    void (*on_failed)(struct txn *ct, int err);
    void (*on_terminated)(struct txn *t);
    char *kept[64]; /* message texts built by the cases, freed at teardown */
    unsigned nkept;
    /* fake_send_flow: TCP/TLS sends report this connection (a refcounted stand-in: the layer
     * only compares it and drops the reference it was given) */
    struct net_conn *conn;
};

static struct fixture F;

/* ---- send and TU ---- */

static inline int fake_send(void *ctx, enum net_tp tp, const struct net_addr *dst,
                            const struct net_flow *flow, const char *buf, size_t len)
{
    struct sent *s;

    (void)ctx;
    if (F.send_err) {
        if (!F.send_ok)
            return F.send_err;
        F.send_ok--;
    }
    if (F.nsent == F.capsent) {
        F.capsent = F.capsent ? F.capsent * 2 : 64;
        F.sent = realloc(F.sent, F.capsent * sizeof(*F.sent));
        assert_non_null(F.sent);
    }
    s = &F.sent[F.nsent++];
    s->at = F.now;
    s->tp = tp;
    s->dst = *dst;
    s->has_flow = flow != NULL;
    s->listener = flow ? flow->listener : -1;
    s->buf = malloc(len + 1);
    assert_non_null(s->buf);
    memcpy(s->buf, buf, len);
    s->buf[len] = '\0';
    s->len = len;
    return 0;
}

/** A txn_send_flow_h: fake_send, reporting F.conn (with a reference) for TCP and TLS. */
static inline int fake_send_flow(void *ctx, enum net_tp tp, const struct net_addr *dst,
                                 const struct net_flow *flow, const char *buf, size_t len,
                                 struct net_flow *used)
{
    int err = fake_send(ctx, tp, dst, flow, buf, len);

    if (err)
        return err;
    memset(used, 0, sizeof(*used));
    used->tp = tp;
    used->peer = *dst;
    used->listener = -1;
    if (tp != NET_UDP)
        used->conn = sv_ref(F.conn);
    return 0;
}

/** A stand-in connection for fake_send_flow (the caller sv_derefs it). */
static inline struct net_conn *fake_conn(void)
{
    void *c = sv_zalloc(64, NULL);

    assert_non_null(c);
    return c;
}

static inline struct ev *ev_add(enum ev_kind kind, struct txn *t)
{
    struct ev *e;

    if (F.nev == F.capev) {
        F.capev = F.capev ? F.capev * 2 : 64;
        F.ev = realloc(F.ev, F.capev * sizeof(*F.ev));
        assert_non_null(F.ev);
    }
    e = &F.ev[F.nev++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->at = F.now;
    e->t = t;
    return e;
}

static inline void tu_request(struct txn *st, const struct sip_msg *req,
                              const struct net_flow *flow, void *arg)
{
    struct ev *e = ev_add(EV_REQUEST, st);

    assert_ptr_equal(arg, &F);
    assert_non_null(flow);
    e->mid = req->mid;
    if (F.on_request)
        F.on_request(st, req);
}

static inline void tu_stray(const struct sip_msg *msg, const struct net_flow *flow, void *arg)
{
    struct ev *e = ev_add(EV_STRAY, NULL);

    assert_ptr_equal(arg, &F);
    e->code = msg->req ? 0 : msg->scode;
    e->mid = msg->req ? msg->mid : msg->cseq.mid;
}

static inline void tu_cancel(struct txn *inv, struct txn *cst, const struct sip_msg *msg, void *arg)
{
    struct ev *e = ev_add(EV_CANCEL, inv);

    assert_ptr_equal(arg, &F);
    e->t2 = cst;
    e->mid = msg->mid;
    if (F.on_cancel)
        F.on_cancel(inv, cst, msg);
}

static inline void tu_response(struct txn *ct, const struct sip_msg *resp, void *owner)
{
    struct ev *e = ev_add(EV_RESPONSE, ct);

    e->code = resp->scode;
    e->owner = owner;
    if (F.on_response)
        F.on_response(ct, resp);
}

static inline void tu_failed(struct txn *ct, int err, void *owner)
{
    struct ev *e = ev_add(EV_FAILED, ct);

    e->err = err;
    e->owner = owner;
    if (F.on_failed)
        F.on_failed(ct, err);
}

static inline void tu_terminated(struct txn *t, void *owner)
{
    struct ev *e = ev_add(EV_TERMINATED, t);

    e->owner = owner;
    assert_int_equal(txn_state_get(t), TXN_TERMINATED);
    if (F.on_terminated)
        F.on_terminated(t);
}

static const struct txn_tu test_tu = {
    .request = tu_request,
    .stray = tu_stray,
    .cancel = tu_cancel,
    .response = tu_response,
    .failed = tu_failed,
    .terminated = tu_terminated,
};

static const struct txn_timers test_timers = {T1, T2, T4, 0};

/* ---- fixtures ---- */

static inline int txn_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    if (sv_wheel_alloc(&F.w, 0))
        return -1;
    return txn_layer_alloc(&F.l, F.w, &test_timers, fake_send, NULL, &test_tu, &F) ? -1 : 0;
}

static inline void sent_clear(void)
{
    for (unsigned i = 0; i < F.nsent; i++)
        free(F.sent[i].buf);
    F.nsent = 0;
}

static inline int txn_teardown(void **state)
{
    (void)state;
    txn_layer_free(F.l);
    sv_wheel_free(F.w);
    sent_clear();
    free(F.sent);
    free(F.ev);
    for (unsigned i = 0; i < F.nkept; i++)
        free(F.kept[i]);
    memset(&F, 0, sizeof(F));
    return 0;
}

/* ---- time ---- */

/** Advance the wheel by @p ms, running each timer at exactly its expiry. */
static inline void advance(uint64_t ms)
{
    uint64_t target = F.now + ms;

    for (;;) {
        uint64_t nx = sv_wheel_next_ms(F.w);
        if (nx == UINT64_MAX || F.now + nx > target)
            break;
        F.now += nx;
        sv_wheel_run(F.w, F.now);
    }
    F.now = target;
    sv_wheel_run(F.w, F.now);
}

/* ---- messages ---- */

/** printf into a heap string the fixture frees at teardown. */
static inline const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static inline const char *fmt(const char *f, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, f);
    n = vasprintf(&s, f, ap);
    va_end(ap);
    assert_true(n >= 0);
    assert_true(F.nkept < SV_ARRAY_SIZE(F.kept));
    F.kept[F.nkept++] = s;
    return s;
}

#define VIA_A "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKaaaa1;rport"
#define VIA_US "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKus0001"

/**
 * A request from alice to bob.
 * @param method  request method
 * @param via     the value of the single Via
 * @param to_tag  To tag, or NULL
 * @param cseq    CSeq number
 * @param cmethod CSeq method, NULL: @p method
 */
static inline const char *req_text(const char *method, const char *via, const char *to_tag,
                                   unsigned cseq, const char *cmethod)
{
    return fmt("%s sip:bob@example.com SIP/2.0\r\n"
               "Via: %s\r\n"
               "Max-Forwards: 70\r\n"
               "From: Alice <sip:alice@example.com>;tag=fromtag1\r\n"
               "To: Bob <sip:bob@example.com>%s%s\r\n"
               "Call-ID: call1@example.com\r\n"
               "CSeq: %u %s\r\n"
               "Content-Length: 0\r\n\r\n",
               method, via, to_tag ? ";tag=" : "", to_tag ? to_tag : "", cseq,
               cmethod ? cmethod : method);
}

/** A response with one Via, for client transactions. */
static inline const char *resp_text(unsigned code, const char *via, const char *to_tag,
                                    unsigned cseq, const char *cmethod)
{
    return fmt("SIP/2.0 %u Something\r\n"
               "Via: %s\r\n"
               "From: Alice <sip:alice@example.com>;tag=fromtag1\r\n"
               "To: Bob <sip:bob@example.com>%s%s\r\n"
               "Call-ID: call1@example.com\r\n"
               "CSeq: %u %s\r\n"
               "Content-Length: 0\r\n\r\n",
               code, via, to_tag ? ";tag=" : "", to_tag ? to_tag : "", cseq, cmethod);
}

/** Parse @p s from an exact-size heap copy, feed it to the layer, free the copy. */
static inline void recv_on(const char *s, const struct net_flow *flow)
{
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    struct sv_arena a;
    struct sip_msg *m = NULL;
    struct sip_perr perr = {0};
    int err;

    assert_non_null(copy);
    memcpy(copy, s, len);
    sv_arena_init(&a, NULL, 0);
    err = sip_msg_parse(&m, &a, copy, len, SIP_DGRAM, NULL, &perr);
    if (err)
        print_error("parse %d (%s):\n%s\n", err, perr.reason ? perr.reason : "-", s);
    assert_int_equal(err, 0);
    txn_layer_recv(F.l, m, flow);
    sv_arena_close(&a);
    memset(copy, 'x', len); /* anything the layer kept now reads garbage, and ASan sees the free */
    free(copy);
}

/** Parse a message the layer sent, into @p a (the caller closes it). */
static inline const struct sip_msg *parse_sent(const struct sent *s, struct sv_arena *a)
{
    struct sip_msg *m = NULL;
    struct sip_perr perr = {0};

    sv_arena_init(a, NULL, 0);
    assert_int_equal(sip_msg_parse(&m, a, s->buf, s->len, SIP_DGRAM, NULL, &perr), 0);
    return m;
}

/* ---- flows and addresses ---- */

static inline struct net_addr addr(const char *s)
{
    struct net_addr a;

    assert_int_equal(net_addr_parse(&a, s), 0);
    return a;
}

static inline struct net_flow flow_of(enum net_tp tp, const char *peer)
{
    struct net_flow f;

    memset(&f, 0, sizeof(f));
    f.tp = tp;
    f.peer = addr(peer);
    f.local = addr("10.0.0.1:5060");
    f.listener = 0;
    f.conn = NULL; /* the tests never hold a real connection */
    return f;
}

/** Assert that @p a is the address written as @p s. */
static inline void assert_addr(const struct net_addr *a, const char *s)
{
    char buf[80];

    net_addr_str(a, buf, sizeof(buf));
    if (strcmp(buf, s) != 0)
        print_error("address %s, wanted %s\n", buf, s);
    assert_string_equal(buf, s);
}

/* ---- inspecting what happened ---- */

static inline unsigned ev_count(enum ev_kind kind)
{
    unsigned n = 0;

    for (unsigned i = 0; i < F.nev; i++)
        n += F.ev[i].kind == kind;
    return n;
}

/** The @p nth (from 0) event of @p kind; fails the case if there is none. */
static inline struct ev *ev_nth(enum ev_kind kind, unsigned nth)
{
    for (unsigned i = 0; i < F.nev; i++) {
        if (F.ev[i].kind == kind && nth-- == 0)
            return &F.ev[i];
    }
    print_error("no event %d #%u\n", kind, nth);
    fail();
    /* not reached (fail() longjmps); a valid pointer keeps -Wnull-dereference quiet */
    static struct ev none;
    return &none;
}

/** Times of the messages sent, starting with @p prefix, compared with @p want. */
static inline void assert_sent_at(const char *prefix, const uint64_t *want, unsigned n)
{
    unsigned k = 0;

    for (unsigned i = 0; i < F.nsent; i++) {
        if (strncmp(F.sent[i].buf, prefix, strlen(prefix)) != 0)
            continue;
        if (k >= n || F.sent[i].at != want[k])
            print_error("send #%u of \"%s\" at %llu, wanted %llu\n", k, prefix,
                        (unsigned long long)F.sent[i].at,
                        k < n ? (unsigned long long)want[k] : 0ull);
        assert_true(k < n);
        assert_int_equal(F.sent[i].at, want[k]);
        k++;
    }
    if (k != n)
        print_error("%u sends of \"%s\", wanted %u\n", k, prefix, n);
    assert_int_equal(k, n);
}

static inline unsigned sent_count(const char *prefix)
{
    unsigned k = 0;

    for (unsigned i = 0; i < F.nsent; i++)
        k += strncmp(F.sent[i].buf, prefix, strlen(prefix)) == 0;
    return k;
}

static inline const struct sent *sent_last(void)
{
    assert_true(F.nsent > 0);
    return &F.sent[F.nsent - 1];
}

/**
 * Answer server transaction @p st with @p code, built from its request copy with To tag
 * "totag1" (RFC 3261 §8.2.6). A completed non-INVITE transaction no longer has its request
 * (txn__server_compact): it is offered a response line alone, which it must refuse.
 * @return what txn_respond returned
 */
static inline int respond(struct txn *st, uint16_t code)
{
    char buf[2048];
    size_t n;
    const struct sip_msg *req = txn_request_msg(st);

    if (!req)
        return txn_respond(st, code, "SIP/2.0 500 Gone\r\n\r\n", 22);
    assert_int_equal(sip_resp_build(req, code, "Reason", SV_LIT("totag1"), SV_LIT(""), buf,
                                    sizeof(buf), &n),
                     0);
    return txn_respond(st, code, buf, n);
}

static inline const struct txn_stats *stats(void)
{
    return txn_stats_get(F.l);
}

#endif
