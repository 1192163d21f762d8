/**
 * @file ps.c  The Presence Server's SIP side (role `ps`): SUBSCRIBE/NOTIFY (RFC 6665,
 * RFC 3856, RFC 3857 for presence.winfo) and PUBLISH (RFC 3903), as a UAS on the proxy core's
 * route hook, NOTIFYs sent with proxy_originate.
 *
 * This is the first cut (issue 6): the dialog and state machinery. What a watcher may see is
 * decided here by the strictest rule that needs no document: the presentity's own identities
 * may watch it (and only they its watcher information, R97); anyone else gets 403 until the
 * pres-rules evaluation of src/pres/ is wired in. The publisher must be one of the presentity's
 * own identities, asserted by the core (R87, R88). The state is kept in memory only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ims_int.h"

#define PS_MIN_EXPIRES 60
#define PS_MAX_EXPIRES 7200
#define PS_DEFAULT_EXPIRES 3600

struct ps_sub {
    struct ps_sub *next;
    char presentity[STORE_URI_MAX]; /* canonical */
    bool winfo;                     /* presence.winfo */
    bool anon;                      /* the watcher asked for anonymity (R98) */
    char watcher[STORE_URI_MAX];    /* its asserted identity, canonical (never shown when anon) */
    char wfrom[STORE_URI_MAX];      /* the From URI of its SUBSCRIBE, NOTIFY's To */
    char wtag[64], mytag[24], id[24];
    char callid[STORE_URI_MAX];
    char target[STORE_CONTACT_MAX]; /* its Contact: NOTIFY's Request-URI */
    char route[STORE_PATH_MAX];     /* its Record-Route, reversed: NOTIFY's Route */
    uint32_t cseq;
    int64_t expires_at;
};

struct ps_pub {
    struct ps_pub *next;
    char presentity[STORE_URI_MAX];
    char etag[24];
    int64_t expires_at;
    char *body;
    size_t len;
};

struct ps_state {
    struct ps_sub *subs;
    struct ps_pub *pubs;
    uint32_t winfo_version;
};

/* ---------------------------------------------------------------------------------------- */

static void scopy(char *dst, size_t sz, struct sv_slice s)
{
    size_t n = s.l < sz - 1 ? s.l : sz - 1;
    memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static void rand_token(char *out, size_t sz)
{
    sip_tag_gen(out, sz);
}

static enum proxy_route_verdict answer(struct proxy_route_res *res, uint16_t code,
                                       const char *reason, const char *hdrs)
{
    res->code = code;
    res->reason = reason;
    res->hdrs = hdrs;
    return PROXY_ROUTE_ANSWER;
}

static struct ps_state *ps_of(struct ims_state *s)
{
    if (!s->ps)
        s->ps = sv_calloc(1, sizeof(*s->ps));
    return s->ps;
}

void ims__ps_free(struct ims_state *s)
{
    if (!s->ps)
        return;
    while (s->ps->subs) {
        struct ps_sub *x = s->ps->subs;
        s->ps->subs = x->next;
        sv_free(x);
    }
    while (s->ps->pubs) {
        struct ps_pub *x = s->ps->pubs;
        s->ps->pubs = x->next;
        sv_free(x->body);
        sv_free(x);
    }
    sv_free(s->ps);
    s->ps = NULL;
}

/* Whether identity @p who belongs to the subscription of presentity @p presentity (both
 * canonical): the store decides. */
static bool same_subscription(struct ims_state *s, const char *who, const char *presentity,
                              struct sv_arena *a)
{
    struct store_profile *p1 = sv_arena_alloc(a, sizeof(*p1)), *p2 = sv_arena_alloc(a, sizeof(*p2));

    return p1 && p2 && s->c.store->api->profile_get(s->c.store, who, p1) == 0 &&
           s->c.store->api->profile_get(s->c.store, presentity, p2) == 0 &&
           p1->sub_id == p2->sub_id;
}

/* The first P-Asserted-Identity, canonical. */
static bool asserted(const struct sip_msg *m, char *out, size_t sz)
{
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY);
    struct sv_slice cur;
    struct sip_addr ad;

    if (!h)
        return false;
    cur = h->value;
    return sip_addr_next(&cur, &ad) == 0 && ims_impu_canon(&ad.uri, out, sz) == 0;
}

static uint32_t expires_of(const struct sip_msg *m, uint32_t dflt)
{
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_EXPIRES);
    char tmp[16];

    if (!h)
        return dflt;
    scopy(tmp, sizeof(tmp), h->value);
    return (uint32_t)strtoul(tmp, NULL, 10);
}

/* ---------------------------------------------------------------------------------------- */
/* NOTIFY                                                                                     */

struct notify_ctx {
    struct ims_state *s;
    char callid[STORE_URI_MAX], mytag[24];
};

static void sub_unlink(struct ps_state *ps, struct ps_sub *x)
{
    for (struct ps_sub **pp = &ps->subs; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            sv_free(x);
            return;
        }
}

/* A NOTIFY that failed (481: the watcher has no such dialog; 408/503: it is gone) ends its
 * subscription (RFC 6665 §4.2.2): Kamailio's and OpenSIPS's lost-subscription class of bug. */
static void notify_done(void *arg, uint16_t code, const struct sip_msg *resp)
{
    struct notify_ctx *nc = arg;
    struct ims_state *s = nc->s;

    (void)resp;
    if (code == 481 || code == 408 || code == 503 || code >= 500) {
        pthread_mutex_lock(&s->mu);
        for (struct ps_sub *x = s->ps ? s->ps->subs : NULL; x; x = x->next)
            if (strcmp(x->callid, nc->callid) == 0 && strcmp(x->mytag, nc->mytag) == 0) {
                sub_unlink(s->ps, x);
                s->st.ps_ended_by_notify++;
                break;
            }
        pthread_mutex_unlock(&s->mu);
    }
    sv_free(nc);
}

/* The body of a NOTIFY: the presentity's latest publication (presence), or watcher
 * information listing its watchers (presence.winfo; anonymous ones as anonymous.invalid with
 * their own id only, R99-R101). Callers hold s->mu. */
static char *notify_body(struct ims_state *s, const struct ps_sub *x, struct sv_arena *a,
                         const char **ctype)
{
    struct ps_state *ps = s->ps;

    if (!x->winfo) {
        const struct ps_pub *best = NULL;
        for (const struct ps_pub *p = ps->pubs; p; p = p->next)
            if (strcmp(p->presentity, x->presentity) == 0)
                best = p; /* the list is newest first: the first found is the latest */
        if (!best) {
            *ctype = NULL;
            return ims__afmt(a, "%s", "");
        }
        *ctype = "application/pidf+xml";
        return ims__afmt(a, "%.*s", (int)best->len, best->body);
    }
    *ctype = "application/watcherinfo+xml";
    char *doc = ims__afmt(a,
                          "<?xml version=\"1.0\"?>\n<watcherinfo "
                          "xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"%" PRIu32
                          "\" state=\"full\">\n<watcher-list resource=\"%s\" "
                          "package=\"presence\">\n",
                          ps->winfo_version++, x->presentity);
    for (const struct ps_sub *w = ps->subs; w && doc; w = w->next)
        if (!w->winfo && strcmp(w->presentity, x->presentity) == 0)
            doc = ims__afmt(a, "%s<watcher id=\"%s\" event=\"subscribe\" status=\"active\">%s"
                               "</watcher>\n",
                            doc, w->id, w->anon ? "sip:anonymous@anonymous.invalid" : w->wfrom);
    if (doc)
        doc = ims__afmt(a, "%s</watcher-list>\n</watcherinfo>\n", doc);
    return doc;
}

/* Send subscription @p x its NOTIFY with state @p state ("active;expires=N" or
 * "terminated;reason=..."). Callers hold s->mu. @return 0 or an errno. */
static int notify(struct ims_state *s, struct proxy *px, struct ps_sub *x, const char *state,
                  struct sv_arena *a)
{
    struct proxy_target t;
    struct sip_addr hop;
    const char *ctype = NULL;
    char branch[24];
    char *body = notify_body(s, x, a, &ctype);
    bool routed = x->route[0] != '\0';
    struct sv_slice cur = sv_slice_cstr(x->route);

    memset(&t, 0, sizeof(t));
    if (!body)
        return ENOMEM;
    if (routed ? sip_addr_next(&cur, &hop) || !proxy_uri_target(&hop.uri, &t)
               : !ims__text_target(x->target, &t))
        return EHOSTUNREACH;
    const char *via = proxy_via_hostport(px, t.tp, &t.dst);
    if (!via)
        return EHOSTUNREACH;
    rand_token(branch, sizeof(branch));
    char *msg = ims__afmt(
        a,
        "NOTIFY %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bKsvps%s;rport\r\n%s%s%s"
        "Max-Forwards: 70\r\nFrom: <%s>;tag=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\n"
        "CSeq: %" PRIu32 " NOTIFY\r\nEvent: %s\r\nSubscription-State: %s\r\n"
        "Contact: <%s>\r\n%s%s%sContent-Length: %zu\r\n\r\n%s",
        x->target, net_tp_name(t.tp), via, branch, routed ? "Route: " : "", x->route,
        routed ? "\r\n" : "", x->presentity, x->mytag, x->wfrom, x->wtag, x->callid, ++x->cseq,
        x->winfo ? "presence.winfo" : "presence", state, s->c.uri, ctype ? "Content-Type: " : "",
        ctype ? ctype : "", ctype ? "\r\n" : "", strlen(body), body);
    struct notify_ctx *nc = sv_calloc(1, sizeof(*nc));
    if (!msg || !nc) {
        sv_free(nc);
        return ENOMEM;
    }
    nc->s = s;
    snprintf(nc->callid, sizeof(nc->callid), "%s", x->callid);
    snprintf(nc->mytag, sizeof(nc->mytag), "%s", x->mytag);
    int err = proxy_originate(px, msg, strlen(msg), t.tp, &t.dst, notify_done, nc);
    if (err)
        sv_free(nc);
    else
        s->st.ps_notifies++;
    return err;
}

/* Every active subscription to @p presentity's presence (and its watcher information when
 * @p winfo_too) gets a NOTIFY. Callers hold s->mu. */
static void notify_all(struct ims_state *s, struct proxy *px, const char *presentity,
                       bool winfo_too, struct sv_arena *a)
{
    int64_t now = ims__now_s();

    for (struct ps_sub *x = s->ps->subs; x; x = x->next) {
        if (strcmp(x->presentity, presentity) != 0 || (x->winfo && !winfo_too))
            continue;
        char *st = ims__afmt(a, "active;expires=%" PRId64,
                             x->expires_at > now ? x->expires_at - now : 0);
        if (st)
            notify(s, px, x, st, a);
    }
}

/*
 * The first NOTIFY of a subscription (and those of the presentity's watcher-information
 * subscriptions) go out once the 200 to its SUBSCRIBE has: a timer of 0 ms on the worker's
 * wheel fires after the message being handled. RFC 6665 lets a NOTIFY overtake the 200;
 * watchers are simpler when it does not.
 */
static struct ps_sub *sub_find(struct ps_state *ps, struct sv_slice callid, struct sv_slice tag);

struct deferred {
    struct sv_timer tm;
    struct ims_node *n;
    char callid[STORE_URI_MAX], mytag[24];
    char state[48];
    bool winfo_fanout; /* then notify the presentity's winfo subscriptions too */
};

static void deferred_h(void *arg)
{
    struct deferred *d = arg;
    struct ims_state *s = d->n->s;
    char blk[2048];
    struct sv_arena a;

    sv_arena_init(&a, blk, sizeof(blk));
    pthread_mutex_lock(&s->mu);
    struct ps_sub *x = s->ps ? sub_find(s->ps, sv_slice_cstr(d->callid), sv_slice_cstr(d->mytag))
                             : NULL;
    if (x) {
        notify(s, d->n->px, x, d->state, &a);
        if (d->winfo_fanout)
            for (struct ps_sub *w = s->ps->subs; w; w = w->next)
                if (w->winfo && strcmp(w->presentity, x->presentity) == 0)
                    notify(s, d->n->px, w, "active", &a);
        if (strncmp(d->state, "terminated", 10) == 0)
            sub_unlink(s->ps, x);
    }
    pthread_mutex_unlock(&s->mu);
    sv_arena_close(&a);
    sv_free(d);
}

static void notify_later(struct ims_node *n, const struct ps_sub *x, const char *state,
                         bool winfo_fanout)
{
    struct deferred *d = sv_calloc(1, sizeof(*d));

    if (!d)
        return;
    d->n = n;
    snprintf(d->callid, sizeof(d->callid), "%s", x->callid);
    snprintf(d->mytag, sizeof(d->mytag), "%s", x->mytag);
    snprintf(d->state, sizeof(d->state), "%s", state);
    d->winfo_fanout = winfo_fanout;
    sv_timer_init(&d->tm);
    sv_timer_start(proxy_wheel(n->px), &d->tm, 0, deferred_h, d);
}

/* ---------------------------------------------------------------------------------------- */
/* SUBSCRIBE                                                                                  */

static struct ps_sub *sub_find(struct ps_state *ps, struct sv_slice callid, struct sv_slice tag)
{
    for (struct ps_sub *x = ps->subs; x; x = x->next)
        if (sv_slice_eq(callid, sv_slice_cstr(x->callid)) &&
            sv_slice_eq(tag, sv_slice_cstr(x->mytag)))
            return x;
    return NULL;
}

/* The route set of the notifier's side of the dialog: the Record-Route of the SUBSCRIBE in
 * order (RFC 3261 §12.1.1; the subscriber's side reverses it), as a Route value. */
static bool route_of(const struct sip_msg *m, char *out, size_t sz)
{
    size_t used = 0;

    out[0] = '\0';
    for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE); h;
         h = sip_msg_hdr_next(m, h)) {
        struct sv_slice cur = h->value;
        struct sip_addr ad;
        while (sip_addr_next(&cur, &ad) == 0) {
            int w = snprintf(out + used, sz - used, "%s%.*s", used ? ", " : "", SV_FMT(ad.raw));
            if (w < 0 || (size_t)w >= sz - used)
                return false;
            used += (size_t)w;
        }
    }
    return true;
}

/* The Record-Route lines of @p m as they came, for the 2xx of a dialog-creating request
 * (RFC 3261 §12.1.1), after @p hdrs. */
static char *with_rr(const struct sip_msg *m, char *hdrs, struct sv_arena *a)
{
    for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE); h && hdrs;
         h = sip_msg_hdr_next(m, h))
        hdrs = ims__afmt(a, "%sRecord-Route: %.*s\r\n", hdrs, SV_FMT(h->value));
    return hdrs;
}

static bool is_anonymous(const struct sip_msg *m)
{
    struct sip_privacy pv;

    return sip_privacy_get(&pv, m) == 0 && (pv.bits & (SIP_PRIV_ID | SIP_PRIV_USER));
}

static enum proxy_route_verdict subscribe(struct ims_node *n, const struct sip_msg *req,
                                          bool winfo, struct sv_arena *a,
                                          struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    struct ps_state *ps;
    uint32_t exp = expires_of(req, PS_DEFAULT_EXPIRES);
    char watcher[STORE_URI_MAX], presentity[STORE_URI_MAX];
    const struct sip_hdr *ch = sip_msg_hdr(req, SIP_HDR_CONTACT);

    if (exp && exp < PS_MIN_EXPIRES)
        return answer(res, 423, "Interval Too Brief",
                      ims__afmt(a, "Min-Expires: %u\r\n", PS_MIN_EXPIRES));
    if (exp > PS_MAX_EXPIRES)
        exp = PS_MAX_EXPIRES;
    pthread_mutex_lock(&s->mu);
    if (!(ps = ps_of(s))) {
        pthread_mutex_unlock(&s->mu);
        return answer(res, 500, "Server Internal Error (out of memory)", NULL);
    }
    if (sv_slice_isset(req->to.tag)) { /* refresh or un-subscribe (RFC 6665 §4.2.1.2) */
        struct ps_sub *x = sub_find(ps, req->callid, req->to.tag);
        if (!x) {
            pthread_mutex_unlock(&s->mu);
            return answer(res, 481, "Subscription Does Not Exist", NULL);
        }
        res->totag = ims__afmt(a, "%s", x->mytag);
        x->expires_at = ims__now_s() + exp;
        notify_later(n, x, exp ? ims__afmt(a, "active;expires=%u", exp) : "terminated;reason=timeout",
                     !exp && !x->winfo);
        pthread_mutex_unlock(&s->mu);
        return answer(res, 200, "OK", ims__afmt(a, "Expires: %u\r\nContact: <%s>\r\n", exp,
                                                s->c.uri));
    }
    pthread_mutex_unlock(&s->mu);
    if (!asserted(req, watcher, sizeof(watcher)))
        return answer(res, 403, "Forbidden (no asserted identity)", NULL);
    if (ims_impu_canon(&req->ruri, presentity, sizeof(presentity)))
        return answer(res, 404, "Not Found", NULL);
    /* R97: only the presentity itself watches its watchers; until the pres-rules are
       evaluated here, the same holds for its presence */
    if (!same_subscription(s, watcher, presentity, a)) {
        ims__count(s, &s->st.ps_refused);
        return answer(res, 403, winfo ? "Forbidden (only the presentity may watch its watchers)"
                                      : "Forbidden (no rule allows this watcher)",
                      NULL);
    }
    struct ps_sub *x = sv_calloc(1, sizeof(*x));
    struct sip_contact c;
    struct sv_slice cur = ch ? ch->value : (struct sv_slice){0};
    if (!x || !ch || sip_contact_next(&cur, &c) || c.star || !route_of(req, x->route,
                                                                       sizeof(x->route))) {
        sv_free(x);
        return x ? answer(res, 400, "Bad Request (Contact or Record-Route)", NULL)
                 : answer(res, 500, "Server Internal Error (out of memory)", NULL);
    }
    scopy(x->presentity, sizeof(x->presentity), sv_slice_cstr(presentity));
    scopy(x->watcher, sizeof(x->watcher), sv_slice_cstr(watcher));
    scopy(x->wfrom, sizeof(x->wfrom), req->from.uri_s);
    scopy(x->wtag, sizeof(x->wtag), req->from.tag);
    scopy(x->callid, sizeof(x->callid), req->callid);
    scopy(x->target, sizeof(x->target), c.addr.uri_s);
    rand_token(x->mytag, sizeof(x->mytag));
    rand_token(x->id, sizeof(x->id));
    x->winfo = winfo;
    x->anon = is_anonymous(req);
    x->cseq = 0;
    x->expires_at = ims__now_s() + exp;
    res->totag = ims__afmt(a, "%s", x->mytag);
    pthread_mutex_lock(&s->mu);
    ps = s->ps;
    x->next = ps->subs;
    ps->subs = x;
    s->st.ps_subscriptions++;
    /* a new watcher: the presentity's winfo subscriptions hear of it too */
    notify_later(n, x, exp ? ims__afmt(a, "active;expires=%u", exp) : "terminated;reason=timeout",
                 !winfo);
    pthread_mutex_unlock(&s->mu);
    return answer(res, 200, "OK",
                  with_rr(req, ims__afmt(a, "Expires: %u\r\nContact: <%s>\r\n", exp, s->c.uri),
                          a));
}

/* ---------------------------------------------------------------------------------------- */
/* PUBLISH (RFC 3903)                                                                         */

static enum proxy_route_verdict publish(struct ims_node *n, const struct sip_msg *req,
                                        struct sv_arena *a, struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    char publisher[STORE_URI_MAX], presentity[STORE_URI_MAX], etag[24];
    const struct sip_hdr *ifm = sip_msg_hdr(req, SIP_HDR_SIP_IF_MATCH);
    const struct sip_hdr *ct = sip_msg_hdr(req, SIP_HDR_CONTENT_TYPE);
    uint32_t exp = expires_of(req, PS_DEFAULT_EXPIRES);

    if (!asserted(req, publisher, sizeof(publisher)) ||
        ims_impu_canon(&req->ruri, presentity, sizeof(presentity)) ||
        !same_subscription(s, publisher, presentity, a)) {
        ims__count(s, &s->st.ps_refused);
        return answer(res, 403, "Forbidden (only the presentity publishes its presence)", NULL);
    }
    if (exp && exp < PS_MIN_EXPIRES)
        return answer(res, 423, "Interval Too Brief",
                      ims__afmt(a, "Min-Expires: %u\r\n", PS_MIN_EXPIRES));
    if (exp > PS_MAX_EXPIRES)
        exp = PS_MAX_EXPIRES;
    if (req->body.l && (!ct || !sv_slice_caseeq_cstr(ct->value, "application/pidf+xml")))
        return answer(res, 415, "Unsupported Media Type", "Accept: application/pidf+xml\r\n");
    if (!ifm && !req->body.l)
        return answer(res, 400, "Bad Request (an initial PUBLISH has a body)", NULL);
    pthread_mutex_lock(&s->mu);
    struct ps_state *ps = ps_of(s);
    struct ps_pub *p = NULL, **pp = NULL;
    for (pp = ps ? &ps->pubs : NULL; pp && *pp; pp = &(*pp)->next)
        if (ifm && sv_slice_eq(ifm->value, sv_slice_cstr((*pp)->etag)) &&
            strcmp((*pp)->presentity, presentity) == 0) {
            p = *pp;
            break;
        }
    if (ifm && !p) {
        pthread_mutex_unlock(&s->mu);
        return answer(res, 412, "Conditional Request Failed", NULL);
    }
    if (!p && !(p = sv_calloc(1, sizeof(*p)))) {
        pthread_mutex_unlock(&s->mu);
        return answer(res, 500, "Server Internal Error (out of memory)", NULL);
    }
    if (!ifm) { /* newest first */
        p->next = ps->pubs;
        ps->pubs = p;
        scopy(p->presentity, sizeof(p->presentity), sv_slice_cstr(presentity));
    }
    if (req->body.l) {
        char *b = sv_malloc(req->body.l);
        if (b) {
            memcpy(b, req->body.p, req->body.l);
            sv_free(p->body);
            p->body = b;
            p->len = req->body.l;
        }
    }
    rand_token(etag, sizeof(etag)); /* a new ETag for every change (§4.1) */
    memcpy(p->etag, etag, sizeof(etag));
    p->expires_at = ims__now_s() + exp;
    if (!exp) { /* removal */
        for (struct ps_pub **q = &ps->pubs; *q; q = &(*q)->next)
            if (*q == p) {
                *q = p->next;
                break;
            }
        sv_free(p->body);
        sv_free(p);
    }
    s->st.ps_publications++;
    notify_all(s, n->px, presentity, false, a);
    pthread_mutex_unlock(&s->mu);
    return answer(res, 200, "OK", ims__afmt(a, "SIP-ETag: %s\r\nExpires: %u\r\n", etag, exp));
}

/* ---------------------------------------------------------------------------------------- */

enum proxy_route_verdict ims__ps_route(struct ims_node *n, const struct sip_msg *req,
                                       struct sv_arena *a, struct proxy_route_res *res)
{
    const struct sip_hdr *eh = sip_msg_hdr(req, SIP_HDR_EVENT);
    struct sip_event ev;
    bool winfo;

    if (req->mid != SIP_METHOD_SUBSCRIBE && req->mid != SIP_METHOD_PUBLISH)
        return PROXY_ROUTE_DEFAULT;
    if (!eh || sip_event_decode(&ev, eh->value) ||
        !(sv_slice_caseeq_cstr(ev.type, "presence") ||
          (req->mid == SIP_METHOD_SUBSCRIBE && sv_slice_caseeq_cstr(ev.type, "presence.winfo"))))
        return answer(res, 489, "Bad Event",
                      req->mid == SIP_METHOD_PUBLISH ? "Allow-Events: presence\r\n"
                                                     : "Allow-Events: presence, presence.winfo\r\n");
    winfo = sv_slice_caseeq_cstr(ev.type, "presence.winfo");
    return req->mid == SIP_METHOD_SUBSCRIBE ? subscribe(n, req, winfo, a, res)
                                            : publish(n, req, a, res);
}

void ims__ps_sweep(struct ims_state *s, int64_t now)
{
    if (!s->ps)
        return;
    for (struct ps_sub **pp = &s->ps->subs; *pp;) {
        if ((*pp)->expires_at <= now) {
            struct ps_sub *x = *pp;
            *pp = x->next;
            sv_free(x);
        } else {
            pp = &(*pp)->next;
        }
    }
    for (struct ps_pub **pp = &s->ps->pubs; *pp;) {
        if ((*pp)->expires_at <= now) {
            struct ps_pub *x = *pp;
            *pp = x->next;
            sv_free(x->body);
            sv_free(x);
        } else {
            pp = &(*pp)->next;
        }
    }
}
