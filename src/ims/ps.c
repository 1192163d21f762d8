/**
 * @file ps.c  The Presence Server's SIP side (role `ps`): SUBSCRIBE/NOTIFY (RFC 6665,
 * RFC 3856, RFC 3857 for presence.winfo) and PUBLISH (RFC 3903), as a UAS on the proxy core's
 * route hook, NOTIFYs sent with proxy_originate; the documents and the decisions are the
 * presence library's (include/sipveil/pres.h).
 *
 * - PUBLISH: the publisher is the core's asserted identity and must be one of the
 *   presentity's own (R87, R88); the PIDF is validated and its entity must be the presentity
 *   (R89, R90); publications are composed, each tuple remembering its publication.
 * - SUBSCRIBE presence: the presentity's own identities see everything; any other watcher is
 *   judged by the presentity's pres-rules (from XCAP, in the store) on its asserted identity,
 *   as anonymous when it asked for privacy (R92-R101): block 403, confirm pending,
 *   polite-block a document that reveals nothing, allow the document its transformations
 *   leave. No rules, or no matching rule: block (R93).
 * - SUBSCRIBE presence.winfo: the presentity only (R97); its watchers listed, an anonymous
 *   one only as anonymous.invalid with a random id (R99).
 * - An XCAP write to the rules re-evaluates that presentity's subscriptions (R105): a pending
 *   one allowed becomes active at once.
 * - A rule may want a proof (R102 a password, R103 a grant): a SUBSCRIBE without it gets 401.
 * Subscriptions and publications are kept in the store (kv) and reloaded at start.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sipveil/pres.h>

#include "ims_int.h"
#include "ps_int.h"

/* Subscriptions and publications take the node's ims.min_expires, max_expires and
 * default_expires (60, 7200, 3600 s), as registrations do at an S-CSCF. */
/* Expired subscriptions and publications are ended by a worker's tick, at most this often;
 * the process's once-a-second sweep drops only what no worker ended within the grace. */
#define PS_EXPIRY_EVERY_S 1
#define PS_SWEEP_GRACE_S 10
#define PS_REEVAL_MS 100 /* how soon workers see an XCAP write */
/* Throttling (RFC 6665 §4.1.2.4 lets a notifier limit its rate; RFC 3856 §6.4 suggests one
 * NOTIFY per 5 s per presentity): a subscription gets at most one NOTIFY per
 * c.ps_notify_interval_ms (the config's ims.notify_interval, 1 s), the changes in between
 * coalesced into the next. A watcher that floods SUBSCRIBEs: c.ps_subscribe_rate per second
 * per asserted identity (ims.subscribe_rate, 10), twice that in a burst; more get 503 with
 * Retry-After. */
#define PS_WRATE_SLOTS 1024

struct ps_pub {
    struct ps_pub *next;
    char presentity[STORE_URI_MAX];
    char etag[24];
    int64_t expires_at;
    char *body; /* the PIDF as published: the store keeps it for a restart */
    size_t len;
};

/* What the PS knows of one presentity: its composed publications and its rules. */
struct ps_pres {
    struct ps_pres *next;
    char uri[STORE_URI_MAX];
    struct pres_compose *comp;
    struct pres_rules *rules; /* NULL: none (or not loaded) */
    bool rules_loaded, dirty;
    unsigned nwinfo; /* its watcher-information subscriptions: most presentities have none */
};

#define PS_IDX 8192

struct wrate {
    char key[64]; /* the watcher's asserted identity (cut) */
    struct ims_bucket b;
};

struct ps_state {
    struct pres_grant_replay *grants; /* grants accepted (each works once) */
    struct wrate wrate[PS_WRATE_SLOTS];
    size_t npending; /* subscriptions with a throttled NOTIFY waiting */
    struct ps_sub *subs;
    struct ps_sub *idx[PS_IDX]; /* the same subscriptions, by dialog */
    struct ps_pub *pubs;
    struct ps_pres *pres;
    bool dirty;         /* a presentity's rules changed: workers re-evaluate */
    int64_t expiry_run; /* when a worker last ended what had expired (s) */
};

/* ---------------------------------------------------------------------------------------- */

static uint32_t sub_bucket(struct sv_slice callid, struct sv_slice tag)
{
    return (ims__hash(callid.p, callid.l) ^ ims__hash(tag.p, tag.l) * 31u) % PS_IDX;
}

struct ps_pres;
static struct ps_pres *pres_of(struct ps_state *ps, const char *uri);
static struct ps_sub *sub_find(struct ps_state *ps, struct sv_slice callid, struct sv_slice tag);

/* A subscription joins the list, its dialog's index and its presentity's winfo count. */
static void sub_link(struct ps_state *ps, struct ps_sub *x)
{
    uint32_t b = sub_bucket(sv_slice_cstr(x->callid), sv_slice_cstr(x->mytag));
    struct ps_pres *pe = x->winfo ? pres_of(ps, x->presentity) : NULL;

    x->next = ps->subs;
    ps->subs = x;
    x->hnext = ps->idx[b];
    ps->idx[b] = x;
    if (pe)
        pe->nwinfo++;
}

static void sub_index_drop(struct ps_state *ps, struct ps_sub *x)
{
    uint32_t b = sub_bucket(sv_slice_cstr(x->callid), sv_slice_cstr(x->mytag));

    for (struct ps_sub **pp = &ps->idx[b]; *pp; pp = &(*pp)->hnext)
        if (*pp == x) {
            *pp = x->hnext;
            break;
        }
    if (x->winfo) {
        struct ps_pres *pe = pres_of(ps, x->presentity);
        if (pe && pe->nwinfo)
            pe->nwinfo--;
    }
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
    if (!s->ps && (s->ps = sv_calloc(1, sizeof(*s->ps))) &&
        pres_grant_replay_alloc(&s->ps->grants, 65536)) {
        sv_free(s->ps);
        s->ps = NULL;
    }
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
    while (s->ps->pres) {
        struct ps_pres *x = s->ps->pres;
        s->ps->pres = x->next;
        if (x->comp)
            sv_deref(x->comp);
        if (x->rules)
            sv_deref(x->rules);
        sv_free(x);
    }
    if (s->ps->grants)
        pres_grant_replay_free(s->ps->grants);
    sv_free(s->ps);
    s->ps = NULL;
}

/* The presentity's record, made on first use. Callers hold s->mu. */
static struct ps_pres *pres_of(struct ps_state *ps, const char *uri)
{
    struct ps_pres *x;

    for (x = ps->pres; x; x = x->next)
        if (strcmp(x->uri, uri) == 0)
            return x;
    if (!(x = sv_calloc(1, sizeof(*x))))
        return NULL;
    snprintf(x->uri, sizeof(x->uri), "%s", uri);
    if (pres_compose_alloc(&x->comp, sv_slice_cstr(uri))) {
        sv_free(x);
        return NULL;
    }
    x->next = ps->pres;
    ps->pres = x;
    return x;
}

/* Its pres-rules document (XCAP, AUID pres-rules, document `index` of the presentity's own
 * URI), parsed once and kept until XCAP writes it again. Callers hold s->mu. */
static const struct pres_rules *rules_of(struct ims_state *s, struct ps_pres *pe)
{
    if (pe->rules_loaded)
        return pe->rules;
    pe->rules_loaded = true;
    if (pe->rules) {
        sv_deref(pe->rules);
        pe->rules = NULL;
    }
    struct store_xcap_doc *doc = sv_malloc(sizeof(*doc));
    if (!doc)
        return NULL;
    if (s->c.store->api->xcap_get &&
        s->c.store->api->xcap_get(s->c.store, "pres-rules", pe->uri, "index", doc) == 0 &&
        pres_rules_parse(&pe->rules, sv_slice_make(doc->body, doc->len)))
        pe->rules = NULL; /* XCAP validated it on the way in: a parse failure here is ours */
    sv_free(doc);
    return pe->rules;
}

/* Judge subscription @p x by the presentity's rules (R92-R101). Callers hold s->mu. */
/* What a SUBSCRIBE presents to prove itself (R102, R103): its Digest answer for the realm of
 * the presentity, its grant. Unset: nothing presented (a re-evaluation uses what the
 * subscription proved when it was made). */
struct proofs {
    struct ims_state *s;
    struct ps_sub *x;
    const struct sip_auth *digest; /* NULL: none */
    struct sv_slice grant;         /* unset: none */
};

static bool password_ok(void *arg, struct sv_slice ha1)
{
    struct proofs *pf = arg;
    struct auth_digest_resp dr;
    enum auth_digest_result res;

    if (!pf->digest) /* a re-evaluation: the HA1 proved at subscription time */
        return pf->x->proved_ha1[0] && sv_slice_eq(ha1, sv_slice_cstr(pf->x->proved_ha1));
    const struct sip_auth *au = pf->digest;
    dr = (struct auth_digest_resp){.username = au->username, .realm = au->realm,
                                   .nonce = au->nonce, .uri = au->uri,
                                   .response = au->response, .algorithm = au->algorithm,
                                   .cnonce = au->cnonce, .nc = au->nc, .qop = au->qop};
    if (auth_digest_verify(&pf->s->nk, pf->s->replay, &dr, SV_LIT("SUBSCRIBE"), ha1,
                           (uint64_t)ims__now_s(), &res) ||
        res != AUTH_DIGEST_OK)
        return false;
    if (ha1.l < sizeof(pf->x->proved_ha1)) {
        memcpy(pf->x->proved_ha1, ha1.p, ha1.l);
        pf->x->proved_ha1[ha1.l] = '\0';
    }
    return true;
}

static bool grant_ok(void *arg, const uint8_t key[PRES_GRANT_KEY_LEN])
{
    struct proofs *pf = arg;
    enum pres_grant_result res;

    if (!sv_slice_isset(pf->grant))
        return pf->x->has_key && memcmp(key, pf->x->proved_key, PRES_GRANT_KEY_LEN) == 0;
    if (pres_grant_verify(key, pf->grant, sv_slice_cstr(pf->x->watcher),
                          sv_slice_cstr(pf->x->presentity), ims__now_s(), pf->s->ps->grants,
                          &res) ||
        res != PRES_GRANT_OK)
        return false;
    memcpy(pf->x->proved_key, key, PRES_GRANT_KEY_LEN);
    pf->x->has_key = true;
    return true;
}

/* Judge subscription @p x by the presentity's rules (R92-R103), with the proofs @p pf
 * (NULL: those the subscription proved before). Callers hold s->mu. */
static void judge_with(struct ims_state *s, struct ps_pres *pe, struct ps_sub *x,
                       struct proofs *pf)
{
    struct proofs none = {.s = s, .x = x};

    if (x->self) {
        x->state = PS_ACTIVE;
        return;
    }
    if (!pf)
        pf = &none;
    struct pres_watcher w = {.identity = sv_slice_cstr(x->watcher),
                             .anonymous = x->anon,
                             .anon_matching = PRES_ANON_AS_ANONYMOUS, /* OP-9 */
                             .now = ims__now_s(),
                             .password_h = password_ok,
                             .grant_h = grant_ok,
                             .arg = pf};
    if (pres_rules_eval(rules_of(s, pe), &w, PRES_SH_BLOCK, &x->d))
        x->d.sh = PRES_SH_BLOCK;
    x->state = x->d.sh == PRES_SH_CONFIRM ? PS_PENDING : PS_ACTIVE;
}

static void judge(struct ims_state *s, struct ps_pres *pe, struct ps_sub *x)
{
    judge_with(s, pe, x, NULL);
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
    sv_slice_copy_cut(tmp, sizeof(tmp), h->value);
    return (uint32_t)strtoul(tmp, NULL, 10);
}

/* ---------------------------------------------------------------------------------------- */
/* NOTIFY                                                                                     */

struct notify_ctx {
    struct ims_state *s;
    struct proxy *px;
    char callid[STORE_URI_MAX], mytag[24];
};

/* ---- persistence: subscriptions and publications survive a restart (issue 6 §1) ---- */

static void sub_key(const struct ps_sub *x, char *key, size_t sz)
{
    snprintf(key, sz, "%s\n%s", x->callid, x->mytag);
}

static void sub_save(struct ims_state *s, const struct ps_sub *x)
{
    char key[STORE_URI_MAX + 32], rec[PS_SUB_REC_MAX];
    size_t n;

    sub_key(x, key, sizeof(key));
    if (ps__sub_encode(x, rec, sizeof(rec), &n) ||
        s->c.store->api->kv_put(s->c.store, "ps.sub", key, x->expires_at, rec, n))
        sv_log(SV_LOG_WARN, MOD, "node %s: a subscription could not be stored", s->c.node);
}

static void sub_forget(struct ims_state *s, const struct ps_sub *x)
{
    char key[STORE_URI_MAX + 32];

    sub_key(x, key, sizeof(key));
    s->c.store->api->kv_del(s->c.store, "ps.sub", key);
}

static void pub_key(const struct ps_pub *p, char *key, size_t sz)
{
    snprintf(key, sz, "%s\n%s", p->presentity, p->etag);
}

static void pub_save(struct ims_state *s, const struct ps_pub *p)
{
    char key[STORE_URI_MAX + 32];

    pub_key(p, key, sizeof(key));
    if (s->c.store->api->kv_put(s->c.store, "ps.pub", key, p->expires_at, p->body, p->len))
        sv_log(SV_LOG_WARN, MOD, "node %s: a publication could not be stored", s->c.node);
}

static void pub_forget(struct ims_state *s, const struct ps_pub *p)
{
    char key[STORE_URI_MAX + 32];

    pub_key(p, key, sizeof(key));
    s->c.store->api->kv_del(s->c.store, "ps.pub", key);
}

static void sub_unlink(struct ims_state *s, struct ps_sub *x)
{
    for (struct ps_sub **pp = &s->ps->subs; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            sub_index_drop(s->ps, x);
            if (x->pending)
                s->ps->npending--;
            sub_forget(s, x);
            sv_free(x);
            return;
        }
}

static int notify(struct ims_state *s, struct proxy *px, struct ps_sub *x, const char *state,
                  struct sv_arena *a);

/* Every watcher-information subscription to @p presentity gets its full state (RFC 3858).
 * Callers hold s->mu. */
static void winfo_notify_all(struct ims_state *s, struct proxy *px, const char *presentity,
                             struct sv_arena *a)
{
    for (struct ps_sub *w = s->ps->subs; w; w = w->next)
        if (w->winfo && strcmp(w->presentity, presentity) == 0)
            notify(s, px, w, "active", a);
}

/* The presentity of @p x's watcher-information subscriptions hear of the change of @p x.
 * Callers hold s->mu. */
static void winfo_fanout(struct ims_state *s, struct proxy *px, const struct ps_sub *x,
                         struct sv_arena *a)
{
    struct ps_pres *pe = x->winfo ? NULL : pres_of(s->ps, x->presentity);

    if (pe && pe->nwinfo)
        winfo_notify_all(s, px, x->presentity, a);
}

/* End @p x: the presentity's winfo subscriptions see it terminated with @p ev (RFC 3857 §3.2.4)
 * one last time, then it goes. Callers hold s->mu; @p x is freed. */
static void sub_end(struct ims_state *s, struct proxy *px, struct ps_sub *x,
                    enum pres_winfo_event ev, struct sv_arena *a)
{
    x->ending = true;
    x->end_ev = ev;
    winfo_fanout(s, px, x, a);
    sub_unlink(s, x);
}

/* A NOTIFY that failed (481: the watcher has no such dialog; 408/503: it is gone) ends its
 * subscription (RFC 6665 §4.2.2): Kamailio's and OpenSIPS's lost-subscription class of bug.
 * The presentity's winfo shows the watcher terminated ("timeout": the watcher went away). */
static void notify_done(void *arg, uint16_t code, const struct sip_msg *resp)
{
    struct notify_ctx *nc = arg;
    struct ims_state *s = nc->s;

    (void)resp;
    if (code == 0) { /* the proxy is being freed, and the state with it */
        sv_free(nc);
        return;
    }
    if (code == 481 || code == 408 || code == 503 || code >= 500) {
        char blk[2048];
        struct sv_arena a;
        sv_arena_init(&a, blk, sizeof(blk));
        pthread_mutex_lock(&s->mu);
        struct ps_sub *x = s->ps ? sub_find(s->ps, sv_slice_cstr(nc->callid),
                                            sv_slice_cstr(nc->mytag))
                                 : NULL;
        if (x) {
            s->st.ps_ended_by_notify++;
            sub_end(s, nc->px, x, PRES_WINFO_EV_TIMEOUT, &a);
        }
        pthread_mutex_unlock(&s->mu);
        sv_arena_close(&a);
    }
    sv_free(nc);
}

/* The body of a NOTIFY: for presence, the composed publications as this watcher may see
 * them (nothing while pending; the polite-block document for polite-block); for
 * presence.winfo, the presentity's watchers, an anonymous one only as anonymous.invalid with
 * its random id (R99). Callers hold s->mu. @return the body (maybe empty) or NULL (ENOMEM). */
static char *notify_body(struct ims_state *s, struct ps_sub *x, struct sv_arena *a,
                         const char **ctype)
{
    struct ps_pres *pe = pres_of(s->ps, x->presentity);
    struct sv_slice out = {0};

    *ctype = NULL;
    if (!pe)
        return NULL;
    if (!x->winfo) {
        if (x->state == PS_PENDING)
            return ims__astrdup(a, "");
        int err = !x->self && x->d.sh == PRES_SH_POLITE_BLOCK
                      ? pres_pidf_polite_block(sv_slice_cstr(x->presentity), a, &out)
                  : pres_compose_count(pe->comp) == 0
                      ? ENOENT
                      : pres_compose_render(pe->comp, x->self ? NULL : rules_of(s, pe), &x->d, a,
                                            &out);
        if (err == ENOENT)
            return ims__astrdup(a, "");
        if (err)
            return NULL;
        *ctype = "application/pidf+xml";
        return ims__afmt(a, "%.*s", SV_FMT(out));
    }
    size_t n = 0;
    for (const struct ps_sub *w = s->ps->subs; w; w = w->next)
        n += !w->winfo && strcmp(w->presentity, x->presentity) == 0;
    struct pres_winfo_watcher *ws = sv_arena_alloc(a, (n ? n : 1) * sizeof(*ws));
    if (!ws)
        return NULL;
    n = 0;
    for (const struct ps_sub *w = s->ps->subs; w; w = w->next) {
        if (w->winfo || strcmp(w->presentity, x->presentity) != 0)
            continue;
        memset(&ws[n], 0, sizeof(ws[n]));
        ws[n].id = sv_slice_cstr(w->id);
        ws[n].uri = sv_slice_cstr(w->watcher);
        ws[n].anonymous = w->anon;
        ws[n].status = w->ending               ? PRES_WINFO_TERMINATED
                       : w->state == PS_PENDING ? PRES_WINFO_PENDING
                                                : PRES_WINFO_ACTIVE;
        ws[n].event = w->ending               ? w->end_ev
                      : w->state == PS_PENDING ? PRES_WINFO_EV_SUBSCRIBE
                                               : PRES_WINFO_EV_APPROVED;
        n++;
    }
    struct pres_winfo_list list = {.resource = sv_slice_cstr(x->presentity),
                                   .package = SV_LIT("presence"),
                                   .w = ws,
                                   .n = n};
    if (pres_winfo_render(x->winfo_version++, true, &list, 1, a, &out))
        return NULL;
    *ctype = "application/watcherinfo+xml";
    return ims__afmt(a, "%.*s", SV_FMT(out));
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
    nc->px = px;
    snprintf(nc->callid, sizeof(nc->callid), "%s", x->callid);
    snprintf(nc->mytag, sizeof(nc->mytag), "%s", x->mytag);
    int err = proxy_originate(px, msg, strlen(msg), t.tp, &t.dst, notify_done, nc);
    if (err) {
        sv_free(nc);
    } else {
        s->st.ps_notifies++;
        x->last_notify_ms = sv_now_ms();
        if (x->pending) {
            x->pending = false;
            s->ps->npending--;
        }
    }
    return err;
}

/* Every active subscription to @p presentity's presence (and its watcher information when
 * @p winfo_too) gets a NOTIFY. Callers hold s->mu. */
static void notify_all(struct ims_state *s, struct proxy *px, const char *presentity,
                       bool winfo_too, struct sv_arena *a)
{
    int64_t now = ims__now_s();

    for (struct ps_sub *x = s->ps->subs; x; x = x->next) {
        if (strcmp(x->presentity, presentity) != 0 || (x->winfo && !winfo_too) ||
            (!x->winfo && x->state == PS_PENDING))
            continue;
        if (sv_now_ms() - x->last_notify_ms < s->c.ps_notify_interval_ms) { /* throttled */
            if (!x->pending) {
                x->pending = true;
                s->ps->npending++;
            }
            continue;
        }
        char *st = ims__afmt(a, "active;expires=%" PRId64,
                             x->expires_at > now ? x->expires_at - now : 0);
        if (st)
            notify(s, px, x, st, a);
    }
}

/* The throttled NOTIFYs whose second has passed (the PS's tick). Callers hold s->mu. */
static void flush_pending(struct ims_state *s, struct proxy *px, struct sv_arena *a)
{
    int64_t now = ims__now_s();
    uint64_t ms = sv_now_ms();

    for (struct ps_sub *x = s->ps->subs; x && s->ps->npending; x = x->next) {
        if (!x->pending || ms - x->last_notify_ms < s->c.ps_notify_interval_ms)
            continue;
        char *st = ims__afmt(a, "active;expires=%" PRId64,
                             x->expires_at > now ? x->expires_at - now : 0);
        if (!st || notify(s, px, x, st, a)) { /* not sent: not retried forever */
            x->pending = false;
            s->ps->npending--;
        }
    }
}

/* One more SUBSCRIBE from watcher @p who within its rate? Callers hold s->mu. */
static bool watcher_rate_ok(struct ps_state *ps, double rate, const char *who)
{
    struct wrate *r = &ps->wrate[ims__hash(who, strlen(who)) % PS_WRATE_SLOTS];

    if (rate <= 0)
        return true;
    if (strncmp(r->key, who, sizeof(r->key) - 1) != 0) { /* a new watcher: a full bucket */
        snprintf(r->key, sizeof(r->key), "%s", who);
        r->b.last_ms = 0;
    }
    return ims__bucket_take(&r->b, rate, sv_now_ms());
}

/*
 * The first NOTIFY of a subscription (and those of the presentity's watcher-information
 * subscriptions) go out once the 200 to its SUBSCRIBE has: a timer of 0 ms on the worker's
 * wheel fires after the message being handled. RFC 6665 lets a NOTIFY overtake the 200;
 * watchers are simpler when it does not.
 */

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
        if (strncmp(d->state, "terminated", 10) == 0) /* un-SUBSCRIBE or expiry */
            sub_end(s, d->n->px, x, PRES_WINFO_EV_TIMEOUT, &a);
        else if (d->winfo_fanout)
            winfo_fanout(s, d->n->px, x, &a);
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
    for (struct ps_sub *x = ps->idx[sub_bucket(callid, tag)]; x; x = x->hnext)
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

/* The privacy a watcher asked for that the PS performs for it (R98, R99): id and user. */
static unsigned anonymity_of(const struct sip_msg *m)
{
    struct sip_privacy pv;

    return sip_privacy_get(&pv, m) == 0 ? pv.bits & (SIP_PRIV_ID | SIP_PRIV_USER) : 0;
}

static bool is_anonymous(const struct sip_msg *m)
{
    return anonymity_of(m) != 0;
}

/* An LI target's anonymous SUBSCRIBE: the PS hides the identity from the presentity, so it
 * hands it to LI first, as a forwarding node does for a call (issue 6 §5). @p anon: the
 * anonymity the subscription has (its refreshes and un-SUBSCRIBE keep the initial one's, with
 * or without a Privacy header of their own: every message of a dialog gets the same rules).
 * @return 0, or an errno: then the SUBSCRIBE is refused, never served unrecorded. */
static int li_anonymous(struct ims_node *n, const struct sip_msg *req, const struct net_flow *flow,
                        unsigned anon)
{
    return anon && n->ps ? privsvc_li_local(n->ps, req, flow ? &flow->peer : NULL, anon) : 0;
}

/* The anonymity of subscription (@p callid, @p totag)'s dialog for li_anonymous: the request's
 * own Privacy, else SIP_PRIV_ID when the initial SUBSCRIBE asked for it; 0 when not
 * anonymous. @return false when there is no such subscription. */
static bool sub_anonymity(struct ims_state *s, const struct sip_msg *req, unsigned *anon)
{
    struct ps_sub *x;

    pthread_mutex_lock(&s->mu);
    x = s->ps ? sub_find(s->ps, req->callid, req->to.tag) : NULL;
    *anon = x && x->anon ? (anonymity_of(req) ? anonymity_of(req) : SIP_PRIV_ID) : 0;
    pthread_mutex_unlock(&s->mu);
    return x != NULL;
}

/* The proofs a SUBSCRIBE carries: an Authorization Digest for the presentity's realm, or a
 * Bearer grant. */
static void proofs_of(const struct sip_msg *req, const char *presentity, struct proofs *pf,
                      struct sip_auth *digest)
{
    for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_AUTHORIZATION); h;
         h = sip_msg_hdr_next(req, h)) {
        struct sv_slice v = h->value;
        if (v.l > 7 && strncasecmp(v.p, "Bearer ", 7) == 0) {
            pf->grant = sv_slice_make(v.p + 7, v.l - 7);
            while (pf->grant.l && pf->grant.p[0] == ' ') {
                pf->grant.p++;
                pf->grant.l--;
            }
        } else if (sip_auth_decode(digest, v) == 0 &&
                   sv_slice_caseeq_cstr(digest->scheme, "Digest") &&
                   sv_slice_eq(digest->realm, sv_slice_cstr(presentity))) {
            pf->digest = digest;
        }
    }
}

/* The 401's challenges for the proofs the decision says were missing (and not presented). */
static const char *challenge_for(struct ims_state *s, const struct pres_decision *d,
                                 const struct proofs *pf, const char *presentity,
                                 struct sv_arena *a)
{
    char *out = ims__astrdup(a, "");
    char buf[512];
    size_t n;

    if (!out)
        return NULL;
    if ((d->need & PRES_NEED_PASSWORD) && !pf->digest &&
        auth_digest_challenge_make(&s->nk, AUTH_DIGEST_SHA256, sv_slice_cstr(presentity),
                                   (uint64_t)ims__now_s(), false, buf, sizeof(buf), &n) == 0)
        out = ims__afmt(a, "%sWWW-Authenticate: %.*s\r\n", out, (int)n, buf);
    if (out && (d->need & PRES_NEED_GRANT) && !sv_slice_isset(pf->grant))
        out = ims__afmt(a, "%sWWW-Authenticate: Bearer realm=\"%s\"\r\n", out, presentity);
    return out && *out ? out : NULL;
}

/* Subscription-State for @p x with @p exp seconds left. */
static const char *sub_state(const struct ps_sub *x, uint32_t exp, struct sv_arena *a)
{
    if (!exp)
        return "terminated;reason=timeout";
    return ims__afmt(a, "%s;expires=%u", x->state == PS_PENDING ? "pending" : "active", exp);
}

static enum proxy_route_verdict subscribe(struct ims_node *n, const struct sip_msg *req,
                                          const struct net_flow *flow, bool winfo,
                                          struct sv_arena *a, struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    struct ps_state *ps;
    uint32_t exp = expires_of(req, s->c.default_expires);
    char watcher[STORE_URI_MAX], presentity[STORE_URI_MAX];
    const struct sip_hdr *ch = sip_msg_hdr(req, SIP_HDR_CONTACT);

    if (exp && exp < s->c.min_expires)
        return answer(res, 423, "Interval Too Brief",
                      ims__afmt(a, "Min-Expires: %u\r\n", s->c.min_expires));
    if (exp > s->c.max_expires)
        exp = s->c.max_expires;
    if (sv_slice_isset(req->to.tag)) { /* in the dialog of an LI target's anonymous one? */
        unsigned anon;
        if (!sub_anonymity(s, req, &anon))
            return answer(res, 481, "Subscription Does Not Exist", NULL);
        if (li_anonymous(n, req, flow, anon))
            return answer(res, 500, "Server Internal Error (lawful interception record)", NULL);
    }
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
        res->totag = ims__astrdup(a, x->mytag);
        x->expires_at = ims__now_s() + exp;
        if (exp)
            sub_save(s, x);
        notify_later(n, x, sub_state(x, exp, a), !exp && !x->winfo);
        pthread_mutex_unlock(&s->mu);
        return answer(res, 200, "OK", ims__afmt(a, "Expires: %u\r\nContact: <%s>\r\n", exp,
                                                s->c.uri));
    }
    pthread_mutex_unlock(&s->mu);
    if (!asserted(req, watcher, sizeof(watcher)))
        return answer(res, 403, "Forbidden (no asserted identity)", NULL);
    if (ims_impu_canon(&req->ruri, presentity, sizeof(presentity)))
        return answer(res, 404, "Not Found", NULL);
    if (li_anonymous(n, req, flow, anonymity_of(req)))
        return answer(res, 500, "Server Internal Error (lawful interception record)", NULL);
    pthread_mutex_lock(&s->mu);
    bool within = ps_of(s) && watcher_rate_ok(s->ps, s->c.ps_subscribe_rate, watcher);
    pthread_mutex_unlock(&s->mu);
    if (!within) {
        ims__count(s, &s->st.ps_refused);
        return answer(res, 503, "Service Unavailable (too many SUBSCRIBEs from this watcher)",
                      "Retry-After: 5\r\n");
    }
    bool self = same_subscription(s, watcher, presentity, a);
    if (winfo && !self) { /* R97: only the presentity itself watches its watchers */
        ims__count(s, &s->st.ps_refused);
        return answer(res, 403, "Forbidden (only the presentity may watch its watchers)", NULL);
    }
    struct sip_contact c;
    struct sv_slice cur = ch ? ch->value : (struct sv_slice){0};
    char *route = sv_arena_alloc(a, STORE_PATH_MAX);
    if (!route)
        return answer(res, 500, "Server Internal Error (out of memory)", NULL);
    if (!ch || sip_contact_next(&cur, &c) || c.star || !route_of(req, route, STORE_PATH_MAX))
        return answer(res, 400, "Bad Request (Contact or Record-Route)", NULL);
    const struct sv_slice strs[PS_S__N] = {
        [PS_S_PRESENTITY] = sv_slice_cstr(presentity), [PS_S_WATCHER] = sv_slice_cstr(watcher),
        [PS_S_WFROM] = req->from.uri_s,                [PS_S_WTAG] = req->from.tag,
        [PS_S_CALLID] = req->callid,                   [PS_S_TARGET] = c.addr.uri_s,
        [PS_S_ROUTE] = sv_slice_cstr(route),
    };
    struct ps_sub *x = ps__sub_new(strs);
    if (!x)
        return answer(res, 500, "Server Internal Error (out of memory)", NULL);
    rand_token(x->mytag, sizeof(x->mytag));
    pres_winfo_id_make(x->id);
    x->winfo = winfo;
    x->self = self;
    x->anon = is_anonymous(req);
    x->expires_at = ims__now_s() + exp;
    pthread_mutex_lock(&s->mu);
    ps = s->ps;
    struct ps_pres *pe = pres_of(ps, presentity);
    if (!pe) {
        pthread_mutex_unlock(&s->mu);
        sv_free(x);
        return answer(res, 500, "Server Internal Error (out of memory)", NULL);
    }
    struct proofs pf = {.s = s, .x = x};
    struct sip_auth digest;
    proofs_of(req, presentity, &pf, &digest);
    judge_with(s, pe, x, &pf);
    if (!self && x->d.sh == PRES_SH_BLOCK) { /* R94: block, or no rule for this watcher */
        /* a rule that would have let it in wants a proof it did not present: ask for it
           (R102: Digest, realm the presentity, SHA-256; R103: a grant, Bearer) */
        const char *chal = challenge_for(s, &x->d, &pf, presentity, a);
        s->st.ps_refused += chal == NULL;
        pthread_mutex_unlock(&s->mu);
        sv_free(x);
        return chal ? answer(res, 401, "Unauthorized", chal) : answer(res, 403, "Forbidden", NULL);
    }
    res->totag = ims__astrdup(a, x->mytag);
    sub_link(ps, x);
    s->st.ps_subscriptions++;
    if (exp)
        sub_save(s, x);
    /* a new watcher: the presentity's winfo subscriptions hear of it too */
    notify_later(n, x, sub_state(x, exp, a), !winfo);
    pthread_mutex_unlock(&s->mu);
    return answer(res, 200, "OK",
                  with_rr(req, ims__afmt(a, "Expires: %u\r\nContact: <%s>\r\n", exp, s->c.uri),
                          a));
}

/* ---------------------------------------------------------------------------------------- */
/* PUBLISH (RFC 3903)                                                                         */

/* The PIDF of a PUBLISH, validated: its entity must be one of the presentity's identities
 * (R89, R90). @return 0, or the code and reason to answer. */
static uint16_t pidf_of(struct ims_state *s, const struct sip_msg *req, const char *presentity,
                        struct sv_arena *a, struct pres_pidf **doc, const char **why)
{
    struct store_profile *prof = sv_arena_alloc(a, sizeof(*prof));
    struct sv_slice aors[STORE_IRS_MAX];
    size_t n = 0;

    if (prof && s->c.store->api->profile_get(s->c.store, presentity, prof) == 0)
        for (size_t i = 0; i < prof->irs.nimpus; i++)
            aors[n++] = sv_slice_cstr(prof->irs.impus[i].uri);
    switch (pres_pidf_parse(doc, req->body, aors, n)) {
    case 0:
        return 0;
    case EPERM:
        *why = "Bad Request (the PIDF's entity is not the presentity)";
        return 400;
    case EMSGSIZE:
        *why = "Request Entity Too Large";
        return 413;
    case ENOMEM:
        *why = "Server Internal Error (out of memory)";
        return 500;
    default:
        *why = "Bad Request (not a valid PIDF document)";
        return 400;
    }
}

/* Who may publish @p presentity's presence (R87, R88, R91): the presentity's own asserted
 * identities through a trusted CSCF, or a presence source listed for it. @return 0, or the
 * code to answer with *@p why. */
static uint16_t publisher_ok(struct ims_state *s, const struct sip_msg *req,
                             struct ps_source *src, const char *presentity, struct sv_arena *a,
                             const char **why)
{
    char publisher[STORE_URI_MAX];

    if (src) {
        bool within = true;
        if (!ims__ps_source_may(src, presentity)) {
            sv_log(SV_LOG_NOTICE, MOD, "node %s: presence source %s refused: not listed for "
                   "that presentity", s->c.node, ims__ps_source_name(src));
            *why = "Forbidden (not a presence source of this presentity)";
            return 403;
        }
        pthread_mutex_lock(&s->mu);
        within = ims__ps_source_rate_ok(src, sv_now_ms());
        pthread_mutex_unlock(&s->mu);
        if (!within) {
            *why = "Service Unavailable (too many PUBLISHes from this source)";
            return 503;
        }
        return 0;
    }
    if (!asserted(req, publisher, sizeof(publisher)) ||
        !same_subscription(s, publisher, presentity, a)) {
        *why = "Forbidden (only the presentity publishes its presence)";
        return 403;
    }
    return 0;
}

static enum proxy_route_verdict publish(struct ims_node *n, const struct sip_msg *req,
                                        struct ps_source *src, struct sv_arena *a,
                                        struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    char presentity[STORE_URI_MAX], etag[24];
    const struct sip_hdr *ifm = sip_msg_hdr(req, SIP_HDR_SIP_IF_MATCH);
    const struct sip_hdr *ct = sip_msg_hdr(req, SIP_HDR_CONTENT_TYPE);
    uint32_t exp = expires_of(req, s->c.default_expires);
    struct pres_pidf *doc = NULL;
    const char *why = NULL;
    uint16_t code;

    if (ims_impu_canon(&req->ruri, presentity, sizeof(presentity)))
        why = "Forbidden (only the presentity publishes its presence)", code = 403;
    else
        code = publisher_ok(s, req, src, presentity, a, &why);
    if (code) {
        ims__count(s, &s->st.ps_refused); /* R87, R88, R91: and the stored state is unchanged */
        return answer(res, code, why, code == 503 ? "Retry-After: 1\r\n" : NULL);
    }
    if (exp && exp < s->c.min_expires)
        return answer(res, 423, "Interval Too Brief",
                      ims__afmt(a, "Min-Expires: %u\r\n", s->c.min_expires));
    if (exp > s->c.max_expires)
        exp = s->c.max_expires;
    if (req->body.l && (!ct || !sv_slice_caseeq_cstr(ct->value, "application/pidf+xml")))
        return answer(res, 415, "Unsupported Media Type", "Accept: application/pidf+xml\r\n");
    if (!ifm && !req->body.l)
        return answer(res, 400, "Bad Request (an initial PUBLISH has a body)", NULL);
    if (req->body.l && (code = pidf_of(s, req, presentity, a, &doc, &why)))
        return answer(res, code, why, NULL);
    pthread_mutex_lock(&s->mu);
    struct ps_state *ps = ps_of(s);
    struct ps_pres *pe = ps ? pres_of(ps, presentity) : NULL;
    struct ps_pub *p = NULL;
    int err = pe ? 0 : ENOMEM;
    for (struct ps_pub *q = ps ? ps->pubs : NULL; q && ifm; q = q->next)
        if (sv_slice_eq(ifm->value, sv_slice_cstr(q->etag)) &&
            strcmp(q->presentity, presentity) == 0)
            p = q;
    if (!err && ifm && !p) {
        pthread_mutex_unlock(&s->mu);
        if (doc)
            sv_deref(doc);
        return answer(res, 412, "Conditional Request Failed", NULL);
    }
    if (!err && !p && !(p = sv_calloc(1, sizeof(*p))))
        err = ENOMEM;
    rand_token(etag, sizeof(etag)); /* a new ETag for every change (RFC 3903 §4.1) */
    if (!err && req->body.l) { /* the body as published, for the store */
        char *b = sv_malloc(req->body.l);
        if (!b) {
            err = ENOMEM;
        } else {
            memcpy(b, req->body.p, req->body.l);
            if (p->body && ifm)
                sv_free(p->body);
            p->body = b;
            p->len = req->body.l;
        }
    }
    if (!err && ifm)
        pub_forget(s, p); /* stored under its old ETag */
    if (!err && !ifm) {
        sv_slice_copy_cut(p->presentity, sizeof(p->presentity), sv_slice_cstr(presentity));
        memcpy(p->etag, etag, sizeof(etag));
        err = pres_compose_put(pe->comp, sv_slice_cstr(etag), doc);
        if (!err) {
            p->next = ps->pubs;
            ps->pubs = p;
        } else {
            sv_free(p->body);
            sv_free(p);
        }
    } else if (!err && exp) { /* refresh (no body) or modify (a body) */
        err = pres_compose_retag(pe->comp, sv_slice_cstr(p->etag), sv_slice_cstr(etag));
        if (!err && doc)
            err = pres_compose_put(pe->comp, sv_slice_cstr(etag), doc);
        if (!err)
            memcpy(p->etag, etag, sizeof(etag));
    } else if (!err) { /* removal */
        pres_compose_remove(pe->comp, sv_slice_cstr(p->etag));
        for (struct ps_pub **q = &ps->pubs; *q; q = &(*q)->next)
            if (*q == p) {
                *q = p->next;
                break;
            }
        sv_free(p->body);
        sv_free(p);
        p = NULL;
    }
    if (doc)
        sv_deref(doc);
    if (err) {
        pthread_mutex_unlock(&s->mu);
        return answer(res, 500, "Server Internal Error (publication not kept)", NULL);
    }
    if (p) {
        p->expires_at = ims__now_s() + exp;
        pub_save(s, p);
    }
    s->st.ps_publications++;
    notify_all(s, n->px, presentity, false, a);
    pthread_mutex_unlock(&s->mu);
    return answer(res, 200, "OK", ims__afmt(a, "SIP-ETag: %s\r\nExpires: %u\r\n", etag, exp));
}

/* ---------------------------------------------------------------------------------------- */

/* PUBLISH or SUBSCRIBE with an Event the PS serves; @p src: a presence source's PUBLISH. */
static enum proxy_route_verdict ps_request(struct ims_node *n, const struct sip_msg *req,
                                           const struct net_flow *flow, struct ps_source *src,
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
    return req->mid == SIP_METHOD_SUBSCRIBE ? subscribe(n, req, flow, winfo, a, res)
                                            : publish(n, req, src, a, res);
}

enum proxy_route_verdict ims__ps_route(struct ims_node *n, const struct sip_msg *req,
                                       const struct net_flow *flow, struct sv_arena *a,
                                       struct proxy_route_res *res)
{
    return ps_request(n, req, flow, NULL, a, res);
}

/* From outside the trust domain the PS takes only the PUBLISHes of its presence sources, over
 * mutually authenticated TLS (R91). Any other PUBLISH or SUBSCRIBE has nobody to vouch for
 * its identity: 403. Other requests go the proxy's way (OPTIONS, routes). */
enum proxy_route_verdict ims__ps_untrusted(struct ims_node *n, const struct sip_msg *req,
                                           const struct net_flow *flow, struct sv_arena *a,
                                           struct proxy_route_res *res)
{
    struct ps_source *src;

    if (req->mid != SIP_METHOD_SUBSCRIBE && req->mid != SIP_METHOD_PUBLISH)
        return PROXY_ROUTE_DEFAULT;
    if (req->mid == SIP_METHOD_PUBLISH && (src = ims__ps_source_of(n->s, flow)))
        return ps_request(n, req, flow, src, a, res);
    ims__count(n->s, &n->s->st.ps_refused);
    return answer(res, 403, "Forbidden (not from the trust domain or a presence source)", NULL);
}

/* The fallback of the workers' expiry (expire_subs, expire_pubs): what they have not ended
 * PS_SWEEP_GRACE_S after it expired goes without a word. */
void ims__ps_sweep(struct ims_state *s, int64_t now)
{
    if (!s->ps)
        return;
    now -= PS_SWEEP_GRACE_S;
    for (struct ps_sub **pp = &s->ps->subs; *pp;) {
        if ((*pp)->expires_at <= now) {
            struct ps_sub *x = *pp;
            *pp = x->next;
            sub_index_drop(s->ps, x);
            if (x->pending)
                s->ps->npending--;
            sub_forget(s, x);
            sv_free(x);
        } else {
            pp = &(*pp)->next;
        }
    }
    for (struct ps_pub **pp = &s->ps->pubs; *pp;) {
        if ((*pp)->expires_at <= now) {
            struct ps_pub *x = *pp;
            struct ps_pres *pe = pres_of(s->ps, x->presentity);
            if (pe)
                pres_compose_remove(pe->comp, sv_slice_cstr(x->etag));
            *pp = x->next;
            pub_forget(s, x);
            sv_free(x->body);
            sv_free(x);
        } else {
            pp = &(*pp)->next;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Rules changed (R105)                                                                       */

void ims_ps_rules_changed(struct ims_state *s, const char *xui)
{
    if (!s || s->c.role != IMS_ROLE_PS)
        return;
    pthread_mutex_lock(&s->mu);
    for (struct ps_pres *pe = s->ps ? s->ps->pres : NULL; pe; pe = pe->next)
        if (strcmp(pe->uri, xui) == 0) {
            pe->rules_loaded = false; /* read again on next use */
            pe->dirty = true;
            s->ps->dirty = true;
        }
    pthread_mutex_unlock(&s->mu);
}

/* A worker's look at the rules that changed: every watcher of those presentities is judged
 * again; one now allowed hears at once (a pending subscription becomes active), one now
 * blocked is ended (terminated;reason=rejected), the others get what the new
 * transformations leave. Then the presentity's winfo subscriptions hear of it. */
static void reevaluate(struct ims_node *n)
{
    struct ims_state *s = n->s;
    char blk[4096];
    struct sv_arena a;
    int64_t now = ims__now_s();

    sv_arena_init(&a, blk, sizeof(blk));
    pthread_mutex_lock(&s->mu);
    if (s->ps && s->ps->dirty) {
        s->ps->dirty = false;
        for (struct ps_pres *pe = s->ps->pres; pe; pe = pe->next) {
            if (!pe->dirty)
                continue;
            pe->dirty = false;
            for (struct ps_sub *x = s->ps->subs, *next; x; x = next) {
                next = x->next;
                if (x->winfo || x->self || strcmp(x->presentity, pe->uri) != 0)
                    continue;
                enum ps_sub_state was = x->state;
                struct pres_decision before = x->d;
                judge(s, pe, x);
                uint32_t left = x->expires_at > now ? (uint32_t)(x->expires_at - now) : 0;
                if (x->d.sh == PRES_SH_BLOCK) { /* goes after winfo has seen it rejected */
                    notify(s, n->px, x, "terminated;reason=rejected", &a);
                    x->ending = true;
                    x->end_ev = PRES_WINFO_EV_REJECTED;
                } else if (was != x->state || before.sh != x->d.sh ||
                           before.provide != x->d.provide || before.rules != x->d.rules) {
                    /* only what the change changed: the same decision says nothing new */
                    notify(s, n->px, x, sub_state(x, left, &a), &a);
                }
            }
            winfo_notify_all(s, n->px, pe->uri, &a);
            for (struct ps_sub *x = s->ps->subs, *next; x; x = next) {
                next = x->next;
                if (x->ending && strcmp(x->presentity, pe->uri) == 0)
                    sub_unlink(s, x);
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    sv_arena_close(&a);
}

/* A publication that expired goes, and the presentity's watchers hear the state it leaves
 * (RFC 3903 §5). Callers hold s->mu. */
static void expire_pubs(struct ims_state *s, struct proxy *px, int64_t now, struct sv_arena *a)
{
    for (struct ps_pub **pp = &s->ps->pubs; *pp;) {
        struct ps_pub *p = *pp;
        if (p->expires_at > now) {
            pp = &p->next;
            continue;
        }
        struct ps_pres *pe = pres_of(s->ps, p->presentity);
        if (pe)
            pres_compose_remove(pe->comp, sv_slice_cstr(p->etag));
        *pp = p->next;
        pub_forget(s, p);
        notify_all(s, px, p->presentity, false, a);
        sv_free(p->body);
        sv_free(p);
        sv_arena_reset(a);
    }
}

/* A subscription that expired gets its last NOTIFY, terminated;reason=timeout (RFC 6665
 * §4.2.2), and the presentity's winfo sees it end. Callers hold s->mu. */
static void expire_subs(struct ims_state *s, struct proxy *px, int64_t now, struct sv_arena *a)
{
    for (struct ps_sub *x = s->ps->subs, *next; x; x = next) {
        next = x->next;
        if (x->expires_at > now)
            continue;
        notify(s, px, x, "terminated;reason=timeout", a);
        sub_end(s, px, x, PRES_WINFO_EV_TIMEOUT, a); /* frees x only: next stays */
        sv_arena_reset(a); /* each NOTIFY was copied into its transaction */
    }
}

static void tick_h(void *arg)
{
    struct ims_node *n = arg;
    struct ims_state *s = n->s;
    int64_t now = ims__now_s();

    reevaluate(n);
    pthread_mutex_lock(&s->mu);
    if (s->ps && now - s->ps->expiry_run >= PS_EXPIRY_EVERY_S) {
        char blk[4096];
        struct sv_arena a;
        s->ps->expiry_run = now;
        sv_arena_init(&a, blk, sizeof(blk));
        expire_pubs(s, n->px, now, &a);
        expire_subs(s, n->px, now, &a);
        sv_arena_close(&a);
    }
    if (s->ps && s->ps->npending) {
        char blk[2048];
        struct sv_arena a;
        sv_arena_init(&a, blk, sizeof(blk));
        flush_pending(s, n->px, &a);
        sv_arena_close(&a);
    }
    pthread_mutex_unlock(&s->mu);
    sv_timer_start(proxy_wheel(n->px), &n->ps_tick, PS_REEVAL_MS, tick_h, n);
}

void ims__ps_node_start(struct ims_node *n)
{
    sv_timer_init(&n->ps_tick);
    sv_timer_start(proxy_wheel(n->px), &n->ps_tick, PS_REEVAL_MS, tick_h, n);
}

void ims__ps_node_stop(struct ims_node *n)
{
    sv_timer_cancel(&n->ps_tick);
}

/* ---------------------------------------------------------------------------------------- */
/* Reload at start                                                                            */

#define CSEQ_JUMP 100000u /* NOTIFYs sent since the last save are not counted: jump past them */

static int load_sub(void *arg, const char *key, int64_t exp, const void *val, size_t len)
{
    struct ims_state *s = arg;
    struct ps_sub *x;

    (void)key;
    if (exp <= ims__now_s())
        return 0;
    if (!(x = ps__sub_decode(val, len))) {
        sv_log(SV_LOG_WARN, MOD, "node %s: a stored subscription could not be read (another "
               "format, or out of memory): dropped", s->c.node);
        return 0;
    }
    x->cseq += CSEQ_JUMP;
    struct ps_pres *pe = pres_of(s->ps, x->presentity);
    if (!pe) {
        sv_free(x);
        return ENOMEM;
    }
    judge(s, pe, x);
    sub_link(s->ps, x);
    return 0;
}

static int load_pub(void *arg, const char *key, int64_t exp, const void *val, size_t len)
{
    struct ims_state *s = arg;
    const char *nl = strchr(key, '\n');
    struct ps_pub *p;
    struct pres_pidf *doc = NULL;
    char blk[512];
    struct sv_arena a;
    const char *why;

    if (exp <= ims__now_s() || !nl || (size_t)(nl - key) >= sizeof(p->presentity) ||
        strlen(nl + 1) >= sizeof(p->etag) || !(p = sv_calloc(1, sizeof(*p))))
        return 0;
    memcpy(p->presentity, key, (size_t)(nl - key));
    strcpy(p->etag, nl + 1);
    p->expires_at = exp;
    p->len = len;
    p->body = sv_malloc(len ? len : 1);
    sv_arena_init(&a, blk, sizeof(blk));
    struct sip_msg fake = {.body = sv_slice_make(val, len)};
    struct ps_pres *pe = pres_of(s->ps, p->presentity);
    if (p->body)
        memcpy(p->body, val, len);
    if (!p->body || !pe || pidf_of(s, &fake, p->presentity, &a, &doc, &why) ||
        pres_compose_put(pe->comp, sv_slice_cstr(p->etag), doc)) {
        sv_free(p->body);
        sv_free(p);
    } else {
        p->next = s->ps->pubs;
        s->ps->pubs = p;
    }
    if (doc)
        sv_deref(doc);
    sv_arena_close(&a);
    return 0;
}

int ims__ps_load(struct ims_state *s)
{
    size_t nsub = 0, npub = 0;
    int err;

    pthread_mutex_lock(&s->mu);
    if (!ps_of(s)) {
        pthread_mutex_unlock(&s->mu);
        return ENOMEM;
    }
    pthread_mutex_unlock(&s->mu);
    /* the store's walk calls back without its own lock; ours is not needed before the
       workers start */
    if ((err = s->c.store->api->kv_each(s->c.store, "ps.pub", load_pub, s)) ||
        (err = s->c.store->api->kv_each(s->c.store, "ps.sub", load_sub, s)))
        return err;
    for (struct ps_sub *x = s->ps->subs; x; x = x->next)
        nsub++;
    for (struct ps_pub *p = s->ps->pubs; p; p = p->next)
        npub++;
    sv_log(SV_LOG_INFO, MOD, "node %s: %zu subscriptions and %zu publications reloaded",
           s->c.node, nsub, npub);
    return 0;
}
