/**
 * @file route.c  The route hook of each IMS role, the P-CSCF's learning of registrations, and
 * the subscriber lookups the privacy service asks for.
 *
 * - P-CSCF: REGISTER from a UE goes on with our Path, P-Visited-Network-ID and an
 *   integrity-protected verdict of our own in Authorization (a UE cannot claim it). Any other
 *   request from a UE must come from the flow (transport, address, port) a 200 OK registered,
 *   never judged by Via or Contact (R30); an initial one gets the Service-Route (RFC 3608).
 * - I-CSCF: REGISTER and home-domain initial requests go to the S-CSCF the store assigns.
 * - S-CSCF: the registrar; originating requests (our Route with `orig`) are checked for their
 *   served user (R48) and sent through the iFC's application servers; terminating ones are
 *   forked to the registered contacts along their Path, or answered 480/404.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ims_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Small pieces                                                                               */

/* Most results are short: formatted once on the stack and copied, rather than measured by
 * a first vsnprintf and written by a second (a twentieth of a registration's CPU was spent
 * in vsnprintf). */
char *ims__astrdup(struct sv_arena *a, const char *str)
{
    size_t n = strlen(str) + 1;
    char *out = sv_arena_alloc(a, n);

    return out ? memcpy(out, str, n) : NULL;
}

char *ims__afmt(struct sv_arena *a, const char *fmt, ...)
{
    char small[512], *out;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || !(out = sv_arena_alloc(a, (size_t)n + 1)))
        return NULL;
    if ((size_t)n < sizeof(small)) {
        memcpy(out, small, (size_t)n + 1);
        return out;
    }
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

int ims_impu_canon(const struct sip_uri *u, char *out, size_t sz)
{
    bool tel = u->scheme == SIP_URI_TEL;
    size_t n = 4;

    if (!tel && u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS)
        return EINVAL;
    if (!tel && !u->host.l)
        return EINVAL;
    if (sz < 5)
        return ENAMETOOLONG;
    /* By hand rather than snprintf: every request through a CSCF names its IMPU this way. */
    memcpy(out, tel ? "tel:" : "sip:", 4);
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= sz)                                                                           \
            return ENAMETOOLONG;                                                                   \
        out[n++] = (c);                                                                            \
    } while (0)
    if (tel) {
        for (size_t i = 0; i < u->user.l; i++) {
            char c = u->user.p[i];
            if (c == '-' || c == '.' || c == '(' || c == ')')
                continue; /* visual separators, RFC 3966 §5.1.1 */
            PUT(c);
        }
        if (n - 4 >= STORE_URI_MAX - 1)
            return ENAMETOOLONG; /* the number alone as long as an IMPU may be */
    } else {
        for (size_t i = 0; i < u->user.l; i++)
            PUT(u->user.p[i]);
        if (u->user.l)
            PUT('@');
        for (size_t i = 0; i < u->host.l; i++) { /* the host is case-insensitive */
            char c = u->host.p[i];
            PUT(c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
        }
    }
#undef PUT
    out[n] = '\0';
    return 0;
}

bool ims__text_target(const char *uri, struct proxy_target *t)
{
    struct sip_uri u;
    return sip_uri_decode(&u, sv_slice_cstr(uri)) == 0 && proxy_uri_target(&u, t);
}

/* The first URI of a comma-separated list of name-addrs ("<sip:a;lr>, <sip:b;lr>"). */
static bool first_uri(const char *list, struct sip_addr *ad)
{
    struct sv_slice cur = sv_slice_cstr(list);
    return sip_addr_next(&cur, ad) == 0;
}

static bool is_home(const struct ims_state *s, const struct sip_uri *u)
{
    return u->scheme == SIP_URI_TEL ||
           ((u->scheme == SIP_URI_SIP || u->scheme == SIP_URI_SIPS) &&
            sv_slice_caseeq_cstr(u->host, s->c.domain));
}

static enum proxy_route_verdict answer(struct proxy_route_res *res, uint16_t code,
                                       const char *reason)
{
    res->code = code;
    res->reason = reason;
    return PROXY_ROUTE_ANSWER;
}

void ims__count(struct ims_state *s, unsigned long *c)
{
    pthread_mutex_lock(&s->mu);
    (*c)++;
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------------------------------- */
/* P-CSCF                                                                                     */

/*
 * An authentication header's value rebuilt without the parameters named in @p drop (a
 * NULL-terminated list), with @p append (", name=value") at its end when not NULL. Each kept
 * parameter keeps its text as written, quotes included.
 */
static char *auth_rebuild(struct sv_slice value, const char *const *drop, const char *append,
                          struct sv_arena *a)
{
    struct sip_auth au;
    struct sv_slice cur;
    struct sip_param prm;
    size_t alen = append ? strlen(append) : 0, n = 0;
    char *out;
    bool first = true;

    if (sip_auth_decode(&au, value))
        return NULL;
    /* every kept piece is a piece of value, and each ", " before one stands for a separator
       of at least one octet in value (or goes before the append): twice value, the append
       and a few octets bound it */
    if (!(out = sv_arena_alloc(a, 2 * value.l + alen + 4)))
        return NULL;
    memcpy(out, au.scheme.p, au.scheme.l);
    n = au.scheme.l;
    out[n++] = ' ';
    cur = au.params;
    while (sip_auth_param_next(&cur, &prm) == 0) {
        bool skip = false;
        for (const char *const *d = drop; *d && !skip; d++)
            skip = sv_slice_caseeq_cstr(prm.name, *d);
        if (skip)
            continue;
        /* from the name to the end of the value, its closing quote included */
        const char *end = prm.value.p ? prm.value.p + prm.value.l : prm.name.p + prm.name.l;
        if (prm.value.p && end < au.params.p + au.params.l && *end == '"')
            end++;
        size_t l = (size_t)(end - prm.name.p);
        if (!first) {
            memcpy(out + n, ", ", 2);
            n += 2;
        }
        memcpy(out + n, prm.name.p, l);
        n += l;
        first = false;
    }
    if (append) {
        if (!first) {
            memcpy(out + n, ", ", 2);
            n += 2;
        }
        memcpy(out + n, append, alen);
        n += alen;
    }
    out[n] = '\0';
    return out;
}

/* The UE's Authorization with our verdict on its link instead of any it claimed. */
static const char *auth_with_verdict(const struct sip_hdr *h, bool tls, struct sv_arena *a)
{
    static const char *const drop[] = {"integrity-protected", NULL};

    return auth_rebuild(h->value, drop,
                        tls ? "integrity-protected=\"tls-yes\"" : "integrity-protected=\"no\"", a);
}

/*
 * TS 33.203 §6.1: the S-CSCF's AKA challenge carries the session keys CK and IK for the
 * P-CSCF; they must never reach the UE's link. Every WWW-Authenticate of a 401 to REGISTER
 * going to a UE loses them here. @return 0 or an errno (the response is then not forwarded).
 */
static int strip_aka_keys(const struct sip_msg *resp, struct sip_edits *ed)
{
    static const char *const drop[] = {"ck", "ik", NULL};

    for (const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_WWW_AUTHENTICATE); h;
         h = sip_msg_hdr_next(resp, h)) {
        struct sip_auth au;
        struct sip_param prm;
        bool keys = false;
        if (sip_auth_decode(&au, h->value))
            return EBADMSG;
        for (struct sv_slice cur = au.params; !keys && sip_auth_param_next(&cur, &prm) == 0;)
            keys = sv_slice_caseeq_cstr(prm.name, "ck") || sv_slice_caseeq_cstr(prm.name, "ik");
        if (!keys)
            continue;
        char *v = auth_rebuild(h->value, drop, NULL, ed->arena);
        int err = v ? sip_edit_hdr_set(ed, h, sv_slice_cstr(v)) : ENOMEM;
        if (err)
            return err;
    }
    return 0;
}

static void register_pending(struct ims_state *s, const struct sip_msg *req,
                             const struct net_flow *flow)
{
    const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_CONTACT);
    const struct sip_hdr *eh = sip_msg_hdr(req, SIP_HDR_EXPIRES);
    struct sip_contact c = {0};
    uint32_t want = 3600;
    struct preg *r;

    if (eh)
        want = (uint32_t)strtoul(eh->value.p, NULL, 10);
    if (h) {
        struct sv_slice cur = h->value;
        if (sip_contact_next(&cur, &c) == 0 && c.has_expires)
            want = c.expires;
        if (c.star)
            want = 0;
    }
    pthread_mutex_lock(&s->mu);
    if ((r = ims__preg_find(s, flow->tp, &flow->peer, true))) {
        r->want_expires = want;
        r->contact[0] = '\0';
        if (h && !c.star && c.addr.uri_s.l < sizeof(r->contact)) {
            memcpy(r->contact, c.addr.uri_s.p, c.addr.uri_s.l);
            r->contact[c.addr.uri_s.l] = '\0';
        }
        if (!r->confirmed) /* a pending entry lets nothing through; it goes if no 200 comes */
            r->expires_at = ims__now_s() + 64;
    }
    pthread_mutex_unlock(&s->mu);
}

static enum proxy_route_verdict pcscf_register(struct ims_node *n, const struct sip_msg *req,
                                               const struct net_flow *flow, struct sv_arena *a,
                                               struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    struct proxy_target *t = &res->tgt[0];
    const struct sip_hdr *ah = sip_msg_hdr(req, SIP_HDR_AUTHORIZATION);
    const char *path = ims__afmt(a, "<%s;lr>", s->c.uri);
    const char *vn = ims__afmt(a, "\"%s\"", s->c.visited_network);

    if (!path || !vn)
        return answer(res, 500, "Server Internal Error (out of memory)");
    pthread_mutex_lock(&s->mu);
    bool ok = ims__rate_ok(s, &flow->peer, (int64_t)sv_now_ms());
    s->st.reg_rate_limited += !ok;
    pthread_mutex_unlock(&s->mu);
    if (!ok) { /* a registration flood from one address: it waits, the others do not */
        res->hdrs = "Retry-After: 10\r\n";
        return answer(res, 503, "Service Unavailable (too many registrations from this address)");
    }
    register_pending(s, req, flow);
    t->add[0] = (struct proxy_hdr_add){"Path", sv_slice_cstr(path)};
    t->add[1] = (struct proxy_hdr_add){"P-Visited-Network-ID", sv_slice_cstr(vn)};
    if (ah) {
        const char *v = auth_with_verdict(ah, flow->tp == NET_TLS, a);
        if (!v)
            return answer(res, 400, "Bad Request (Authorization)");
        t->del[0] = ah;
        t->add[2] = (struct proxy_hdr_add){"Authorization", sv_slice_cstr(v)};
    }
    return PROXY_ROUTE_DEFAULT;
}

static enum proxy_route_verdict pcscf_route(struct ims_node *n, const struct sip_msg *req,
                                            const struct net_flow *flow, bool trusted,
                                            const struct proxy_req_info *info, struct sv_arena *a,
                                            struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    const char *sr = NULL;
    bool registered = false;

    if (trusted) {
        /* terminating: the S-CSCF set the Request-URI to the UE's contact; it goes there, not
           along the static routes (which lead into the core) */
        if (req->mid != SIP_METHOD_REGISTER && !info->has_route &&
            proxy_uri_target(info->ruri, &res->tgt[0])) {
            res->n = 1;
            return PROXY_ROUTE_FORK;
        }
        return PROXY_ROUTE_DEFAULT;
    }
    if (req->mid == SIP_METHOD_REGISTER)
        return pcscf_register(n, req, flow, a, res);
    pthread_mutex_lock(&s->mu);
    struct preg *r = ims__preg_find(s, flow->tp, &flow->peer, false);
    if (r && r->confirmed && r->expires_at > ims__now_s()) {
        registered = true;
        sr = ims__astrdup(a, r->service_route ? r->service_route : "");
    }
    pthread_mutex_unlock(&s->mu);
    if (!registered && s->c.pcscf_flow_check) {
        ims__count(s, &s->st.flow_refused);
        sv_log(SV_LOG_INFO, MOD, "node %s: %.*s from an unregistered flow refused (R30)",
               s->c.node, SV_FMT(req->method));
        return answer(res, 403, "Forbidden (not registered from this address)");
    }
    if (sv_slice_isset(req->to.tag) || !sr || !*sr)
        return PROXY_ROUTE_DEFAULT;
    struct sip_addr first;
    if (!first_uri(sr, &first))
        return PROXY_ROUTE_DEFAULT;
    if (info->has_route) {
        /* the UE preloaded a route: it must be the Service-Route it was given */
        if (!info->top_route || !sip_uri_equal(info->top_route, &first.uri))
            return answer(res, 403, "Forbidden (Route is not the Service-Route)");
        return PROXY_ROUTE_DEFAULT;
    }
    if (!proxy_uri_target(&first.uri, &res->tgt[0]))
        return answer(res, 500, "Server Internal Error (Service-Route unusable)");
    res->tgt[0].route = sv_slice_cstr(sr);
    res->n = 1;
    return PROXY_ROUTE_FORK;
}

/* The comma-separated values of every @p id line of @p m, as one text in @p a. */
static char *values_of(const struct sip_msg *m, enum sip_hdr_id id, struct sv_arena *a)
{
    char *out = ims__astrdup(a, "");

    for (const struct sip_hdr *h = sip_msg_hdr(m, id); h && out; h = sip_msg_hdr_next(m, h))
        out = ims__afmt(a, "%s%s%.*s", out, *out ? ", " : "", SV_FMT(h->value));
    return out;
}

/* The 200 OK to a UE's REGISTER: from now on its flow may send, as those identities (R29). */
static void pcscf_learn(struct ims_node *n, const struct sip_msg *resp,
                        const struct proxy_hop *hop, struct sv_arena *a)
{
    struct ims_state *s = n->s;
    uint32_t expires;
    char *pau = values_of(resp, SIP_HDR_P_ASSOCIATED_URI, a);
    char *sr = values_of(resp, SIP_HDR_SERVICE_ROUTE, a);
    const struct sip_hdr *eh = sip_msg_hdr(resp, SIP_HDR_EXPIRES);
    struct preg *r;

    if (!pau || !sr)
        return;
    pthread_mutex_lock(&s->mu);
    r = ims__preg_find(s, hop->out_tp, &hop->out_addr, false);
    if (!r)
        goto out;
    expires = eh ? (uint32_t)strtoul(eh->value.p, NULL, 10) : r->want_expires;
    for (const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_CONTACT); h && r->contact[0];
         h = sip_msg_hdr_next(resp, h)) {
        struct sv_slice cur = h->value;
        struct sip_contact c;
        while (sip_contact_next(&cur, &c) == 0)
            if (!c.star && sv_slice_eq(c.addr.uri_s, sv_slice_cstr(r->contact)) && c.has_expires)
                expires = c.expires;
    }
    if (r->want_expires == 0 || expires == 0 || !*pau) {
        ims__preg_del(s, r);
        goto out;
    }
    char *pi = ims__strdup(pau), *ps = ims__strdup(sr);
    if (!pi || !ps) {
        sv_free(pi);
        sv_free(ps);
        goto out;
    }
    sv_free(r->impus);
    sv_free(r->service_route);
    r->impus = pi;
    r->service_route = ps;
    r->confirmed = true;
    r->expires_at = ims__now_s() + expires;
    ims__preg_save(s, r);
out:
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------------------------------- */
/* I-CSCF                                                                                     */

/* The S-CSCF serving @p impu (canonical): the store's assignment or the default, remembered
 * for SCSCF_CACHE_S (every REGISTER and terminating request passes here). */
static bool scscf_of(struct ims_state *s, const char *impu, struct sv_arena *a, const char **uri,
                     bool *known)
{
    uint32_t b = ims__hash(impu, strlen(impu)) & ((1u << IMS_HASH_BITS) - 1);
    int64_t now = ims__now_s();
    const char *assigned = NULL;

    *known = false;
    pthread_mutex_lock(&s->mu);
    for (struct scscf_memo *m = s->memo[b]; m; m = m->next)
        if (m->until > now && strcmp(m->impu, impu) == 0) {
            *known = m->known;
            assigned = ims__astrdup(a, m->scscf);
            break;
        }
    pthread_mutex_unlock(&s->mu);
    if (!assigned) {
        struct store_profile *prof = sv_arena_alloc(a, sizeof(*prof));
        if (!prof)
            return false;
        int err = s->c.store->api->profile_get(s->c.store, impu, prof);
        if (err && err != ENOENT)
            return false; /* not remembered: the store may answer next time */
        *known = err == 0;
        assigned = ims__astrdup(a, *known ? prof->scscf : "");
        size_t n = strlen(impu) + 1;
        struct scscf_memo *m = assigned ? sv_malloc(sizeof(*m) + n) : NULL;
        if (m && (m->scscf = ims__strdup(assigned))) {
            memcpy(m->impu, impu, n);
            m->known = *known;
            m->until = now + SCSCF_CACHE_S;
            pthread_mutex_lock(&s->mu);
            m->next = s->memo[b];
            s->memo[b] = m;
            s->nmemo++;
            pthread_mutex_unlock(&s->mu);
        } else {
            sv_free(m);
        }
    }
    if (assigned && *assigned) {
        *uri = assigned;
        return true;
    }
    *uri = s->c.default_scscf;
    return **uri != '\0';
}

static enum proxy_route_verdict icscf_route(struct ims_node *n, const struct sip_msg *req,
                                            const struct proxy_req_info *info, struct sv_arena *a,
                                            struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    char impu[STORE_URI_MAX];
    const char *scscf;
    bool known;

    if (req->mid == SIP_METHOD_REGISTER) {
        /* an unknown identity goes on too: the S-CSCF answers it as it answers a wrong
           password, so that REGISTER tells nobody who is a subscriber */
        if (ims_impu_canon(&req->to.uri, impu, sizeof(impu)))
            return answer(res, 400, "Bad Request (To)");
        if (!scscf_of(s, impu, a, &scscf, &known) || !ims__text_target(scscf, &res->tgt[0]))
            return answer(res, 500, "Server Internal Error (no S-CSCF)");
        res->n = 1;
        return PROXY_ROUTE_FORK;
    }
    if (sv_slice_isset(req->to.tag) || info->has_route || !is_home(s, info->ruri))
        return PROXY_ROUTE_DEFAULT;
    if (ims_impu_canon(info->ruri, impu, sizeof(impu)))
        return answer(res, 404, "Not Found");
    if (!scscf_of(s, impu, a, &scscf, &known) || !known)
        return answer(res, 404, "Not Found");
    if (!ims__text_target(scscf, &res->tgt[0]))
        return answer(res, 500, "Server Internal Error (S-CSCF unusable)");
    res->tgt[0].route = sv_slice_cstr(ims__afmt(a, "<%s;lr>", scscf));
    res->n = 1;
    return PROXY_ROUTE_FORK;
}

/* ---------------------------------------------------------------------------------------- */
/* S-CSCF                                                                                     */

static bool ifc_matches(const struct store_ifc *f, const struct sip_msg *req, bool orig)
{
    if (f->scase != STORE_CASE_BOTH && f->scase != (orig ? STORE_CASE_ORIG : STORE_CASE_TERM))
        return false;
    if (f->method[0] && !sv_slice_caseeq_cstr(req->method, f->method))
        return false;
    if (f->event[0]) {
        const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_EVENT);
        struct sip_event ev;
        if (!h || sip_event_decode(&ev, h->value) || !sv_slice_caseeq_cstr(ev.type, f->event))
            return false;
    }
    return true;
}

/* The first iFC of @p ifc that matches @p req, from the one after the criterion that sent it
 * away last time (`ifc=N` on our Route, R49): its AS first, then back to us with the place
 * kept. @return 1 when res is filled, 0 when none matches, -1 when the AS or memory fails. */
static int ifc_next(const struct ims_state *s, const struct store_ifc *ifc, size_t nifc,
                    const struct sip_msg *req, const struct proxy_req_info *info, bool orig,
                    struct sv_arena *a, struct proxy_route_res *res)
{
    struct sv_slice iv;
    uint32_t start = 0;

    if (sip_param_get(info->our_route_params, "ifc", &iv) &&
        sv_slice_u32(iv, STORE_IFC_MAX, &start))
        start = 0;
    for (size_t k = start; k < nifc; k++) {
        if (!ifc_matches(&ifc[k], req, orig))
            continue;
        if (!ims__text_target(ifc[k].as, &res->tgt[0]))
            return -1;
        const char *rt = ims__afmt(a, "<%s;lr>, <%s;lr%s;ifc=%zu>", ifc[k].as, s->c.uri,
                                   orig ? ";orig" : "", k + 1);
        if (!rt)
            return -1;
        res->tgt[0].route = sv_slice_cstr(rt);
        res->n = 1;
        return 1;
    }
    return 0;
}

static enum proxy_route_verdict scscf_orig(struct ims_node *n, const struct sip_msg *req,
                                           const struct proxy_req_info *info,
                                           struct sv_arena *a, struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_P_ASSERTED_IDENTITY);
    struct sip_addr pai;
    struct sv_slice cur;
    char impu[STORE_URI_MAX];
    struct store_ifc ifc[STORE_IFC_MAX];
    size_t nifc = 0;
    bool found = false, barred = false;

    cur = h ? h->value : (struct sv_slice){0};
    if (!h || sip_addr_next(&cur, &pai) || ims_impu_canon(&pai.uri, impu, sizeof(impu)))
        return answer(res, 403, "Forbidden (no asserted identity)");
    pthread_mutex_lock(&s->mu);
    struct loc_irs *irs = ims__irs_by_impu(s, impu);
    if (irs) {
        found = true;
        for (size_t i = 0; i < irs->nids; i++)
            if (strcmp(irs->ids[i].uri, impu) == 0)
                barred = irs->ids[i].barred;
        nifc = irs->nifc;
        memcpy(ifc, irs->ifc, nifc * sizeof(ifc[0]));
    }
    pthread_mutex_unlock(&s->mu);
    if (!found)
        return answer(res, 403, "Forbidden (the served user is not registered here)");
    if (barred) /* R48 */
        return answer(res, 403, "Forbidden (barred identity)");
    switch (ifc_next(s, ifc, nifc, req, info, true, a, res)) {
    case 1:
        return PROXY_ROUTE_FORK;
    case -1:
        return answer(res, 500, "Server Internal Error (application server unusable)");
    }
    return PROXY_ROUTE_DEFAULT;
}

/* Terminating iFC (the presence server for `presence` SUBSCRIBE and PUBLISH). The
 * profile is the store's, so a subscriber who is not registered is served too. @return true
 * with res filled when one matches. */
static bool term_ifc(struct ims_node *n, const struct sip_msg *req, const char *impu,
                     const struct proxy_req_info *info, struct sv_arena *a,
                     struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    struct store_profile *prof = sv_arena_alloc(a, sizeof(*prof));
    bool cached = false;

    if (!prof)
        return false;
    /* a registered set has its profile in memory; the store only for the others */
    pthread_mutex_lock(&s->mu);
    struct loc_irs *irs = ims__irs_by_impu(s, impu);
    if (irs) {
        cached = true;
        prof->nifc = irs->nifc;
        memcpy(prof->ifc, irs->ifc, irs->nifc * sizeof(prof->ifc[0]));
    }
    pthread_mutex_unlock(&s->mu);
    if (!cached && s->c.store->api->profile_get(s->c.store, impu, prof))
        return false;
    return ifc_next(s, prof->ifc, prof->nifc, req, info, false, a, res) == 1;
}

static enum proxy_route_verdict scscf_term(struct ims_node *n, const struct sip_msg *req,
                                           const struct proxy_req_info *info,
                                           struct sv_arena *a, struct proxy_route_res *res)
{
    struct ims_state *s = n->s;
    char impu[STORE_URI_MAX];
    size_t k = 0;
    bool barred = false;

    if (ims_impu_canon(info->ruri, impu, sizeof(impu)))
        return answer(res, 404, "Not Found");
    if (term_ifc(n, req, impu, info, a, res))
        return PROXY_ROUTE_FORK;
    pthread_mutex_lock(&s->mu);
    struct loc_irs *irs = ims__irs_by_impu(s, impu);
    int64_t now = ims__now_s();
    for (size_t i = 0; irs && i < irs->nids; i++)
        if (strcmp(irs->ids[i].uri, impu) == 0)
            barred = irs->ids[i].barred;
    for (struct loc_binding *b = irs && !barred ? irs->b : NULL; b && k < PROXY_MAX_TARGETS;
         b = b->next) {
        struct proxy_target *t = &res->tgt[k];
        struct sip_addr hop;
        char *contact = ims__astrdup(a, b->contact), *path = ims__astrdup(a, b->path);
        if (b->expires_at <= now || !contact || !path)
            continue;
        /* along the Path to the P-CSCF, or straight to the contact without one */
        bool ok = *path ? first_uri(path, &hop) && proxy_uri_target(&hop.uri, t)
                        : ims__text_target(contact, t);
        if (!ok)
            continue;
        t->ruri = sv_slice_cstr(contact);
        t->route = *path ? sv_slice_cstr(path) : (struct sv_slice){0};
        k++;
    }
    s->st.loc_found += k > 0;
    s->st.loc_missing += k == 0;
    pthread_mutex_unlock(&s->mu);
    if (k) {
        res->n = k;
        return PROXY_ROUTE_FORK;
    }
    struct store_profile *prof = sv_arena_alloc(a, sizeof(*prof));
    if (barred || !prof || s->c.store->api->profile_get(s->c.store, impu, prof))
        return answer(res, 404, "Not Found");
    return answer(res, 480, "Temporarily Unavailable");
}

static enum proxy_route_verdict scscf_route(struct ims_node *n, const struct sip_msg *req,
                                            const struct net_flow *flow, bool trusted,
                                            const struct proxy_req_info *info, struct sv_arena *a,
                                            struct proxy_route_res *res)
{
    if (req->mid == SIP_METHOD_REGISTER)
        return ims__register(n->s, req, flow, trusted, a, res);
    if (sv_slice_isset(req->to.tag))
        return PROXY_ROUTE_DEFAULT;
    if (info->routed_to_us && sip_param_get(info->our_route_params, "orig", NULL))
        return trusted ? scscf_orig(n, req, info, a, res)
                       : answer(res, 403, "Forbidden (originating requests come from the core)");
    if (info->has_route || !is_home(n->s, info->ruri))
        return PROXY_ROUTE_DEFAULT;
    return scscf_term(n, req, info, a, res);
}

/* ---------------------------------------------------------------------------------------- */
/* Hooks                                                                                      */

static bool flow_trusted(const struct ims_node *n, const struct net_flow *flow)
{
    return !n->ps || privsvc_trusts(n->ps, flow->tp, &flow->peer, flow->listener, flow->conn);
}

static enum proxy_route_verdict route_h(void *arg, struct txn *st, const struct sip_msg *req,
                                        const struct net_flow *flow,
                                        const struct proxy_req_info *info, struct sv_arena *a,
                                        struct proxy_route_res *res)
{
    struct ims_node *n = arg;
    bool trusted = flow_trusted(n, flow);

    (void)st;
    switch (n->s->c.role) {
    case IMS_ROLE_PCSCF:
        return pcscf_route(n, req, flow, trusted, info, a, res);
    case IMS_ROLE_ICSCF:
        return icscf_route(n, req, info, a, res);
    case IMS_ROLE_SCSCF:
        return scscf_route(n, req, flow, trusted, info, a, res);
    case IMS_ROLE_PS:
        return trusted ? ims__ps_route(n, req, flow, a, res)
                       : ims__ps_untrusted(n, req, flow, a, res);
    default:
        return PROXY_ROUTE_DEFAULT;
    }
}

static int req_h(void *arg, const struct sip_msg *req, struct proxy_hop *hop,
                 struct sip_edits *ed, uint16_t *code, const char **reason)
{
    struct ims_node *n = arg;
    return n->priv.request ? n->priv.request(n->priv.arg, req, hop, ed, code, reason) : 0;
}

static int resp_h(void *arg, const struct sip_msg *resp, const struct proxy_hop *hop,
                  struct sip_edits *ed)
{
    struct ims_node *n = arg;

    if (n->s->c.role == IMS_ROLE_PCSCF && resp->cseq.mid == SIP_METHOD_REGISTER &&
        !(n->ps && privsvc_trusts(n->ps, hop->out_tp, &hop->out_addr, -1, NULL))) {
        if (resp->scode >= 200 && resp->scode < 300)
            pcscf_learn(n, resp, hop, ed->arena);
        else if (resp->scode == 401 && strip_aka_keys(resp, ed))
            return 1;
    }
    return n->priv.response ? n->priv.response(n->priv.arg, resp, hop, ed) : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Subscribers for the privacy service                                                        */

/* "<sip:a>, <tel:b>" into bare URI slices in @p a. */
static size_t split_uris(const char *list, struct sv_arena *a, struct sv_slice **out)
{
    struct sv_slice cur = sv_slice_cstr(list);
    struct sip_addr ad;
    size_t n = 0;
    struct sv_slice *v = sv_arena_alloc(a, STORE_IRS_MAX * sizeof(*v));

    while (v && n < STORE_IRS_MAX && sip_addr_next(&cur, &ad) == 0)
        v[n++] = sv_arena_dup(a, ad.uri_s);
    *out = v;
    return v ? n : 0;
}

static int by_flow(void *arg, enum net_tp tp, const struct net_addr *ue, struct sv_arena *a,
                   struct privacy_subscriber *out)
{
    struct ims_state *s = arg;
    char *list = NULL;

    pthread_mutex_lock(&s->mu);
    struct preg *r = ims__preg_find(s, tp, ue, false);
    if (r && r->confirmed && r->expires_at > ims__now_s() && r->impus)
        list = ims__astrdup(a, r->impus);
    pthread_mutex_unlock(&s->mu);
    if (!list)
        return ENOENT;
    memset(out, 0, sizeof(*out));
    out->nimpus = split_uris(list, a, (struct sv_slice **)&out->impus);
    if (!out->nimpus)
        return ENOENT;
    out->default_impu = out->impus[0]; /* R29 */
    return 0;
}

/* A set's identities as a privacy subscriber: the non-barred ones, and the alias of the
 * other URI family for @p impu (R47; a pseudonym's own set has none, R84). */
static int sub_of_ids(const struct loc_id *ids, size_t n, const char *impu, bool blocking,
                      bool user_pol, struct sv_arena *a, struct privacy_subscriber *out)
{
    struct sv_slice *v = sv_arena_alloc(a, (n ? n : 1) * sizeof(*v));
    bool tel = strncmp(impu, "tel:", 4) == 0;
    size_t k = 0;

    if (!v)
        return ENOMEM;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (ids[i].barred)
            continue;
        v[k++] = sv_arena_dup(a, sv_slice_cstr(ids[i].uri));
        if (!sv_slice_isset(out->alias) && (strncmp(ids[i].uri, "tel:", 4) == 0) != tel)
            out->alias = v[k - 1];
    }
    out->impus = v;
    out->nimpus = k;
    if (k)
        out->default_impu = v[0];
    out->identity_blocking = blocking;
    out->user_by_policy = user_pol;
    return k ? 0 : ENOENT;
}

static int by_impu(void *arg, const struct sip_uri *uri, struct sv_arena *a,
                   struct privacy_subscriber *out)
{
    struct ims_state *s = arg;
    char impu[STORE_URI_MAX];
    int err = ENOENT;

    if (ims_impu_canon(uri, impu, sizeof(impu)))
        return ENOENT;
    pthread_mutex_lock(&s->mu);
    struct loc_irs *irs = ims__irs_by_impu(s, impu);
    if (irs)
        err = sub_of_ids(irs->ids, irs->nids, impu, irs->identity_blocking, irs->user_by_policy,
                         a, out);
    pthread_mutex_unlock(&s->mu);
    if (irs || !s->c.store)
        return err;
    /* not registered with us (an AS): the store's profile */
    struct store_profile *prof = sv_arena_alloc(a, sizeof(*prof));
    struct loc_id ids[STORE_IRS_MAX];
    if (!prof || s->c.store->api->profile_get(s->c.store, impu, prof))
        return ENOENT;
    for (size_t i = 0; i < prof->irs.nimpus; i++) {
        ids[i].uri = prof->irs.impus[i].uri;
        ids[i].display = prof->irs.impus[i].display;
        ids[i].barred = prof->irs.impus[i].barred;
        ids[i].pseudonym = prof->irs.impus[i].pseudonym;
    }
    return sub_of_ids(ids, prof->irs.nimpus, impu, prof->identity_blocking, prof->user_by_policy,
                      a, out);
}

/* ---------------------------------------------------------------------------------------- */

int ims_node_alloc(struct ims_node **np, struct ims_state *s, struct proxy *px,
                   struct privsvc *ps)
{
    struct ims_node *n;
    struct proxy_hooks h;

    if (!np || !s || !px)
        return EINVAL;
    if (!(n = sv_calloc(1, sizeof(*n))))
        return ENOMEM;
    n->s = s;
    n->px = px;
    n->ps = ps;
    if (ps) {
        struct privsvc_lookup lk = {.arg = s};
        if (s->c.role == IMS_ROLE_PCSCF)
            lk.by_flow = by_flow;
        else
            lk.by_impu = by_impu;
        privsvc_lookup_set(ps, &lk);
        privsvc_hooks(ps, &n->priv);
    }
    h.request = req_h;
    h.response = resp_h;
    h.arg = n;
    proxy_hooks_set(px, &h);
    proxy_route_hook_set(px, route_h, n);
    if (s->c.role == IMS_ROLE_PS)
        ims__ps_node_start(n);
    *np = n;
    return 0;
}

void ims_node_free(struct ims_node *n)
{
    if (!n)
        return;
    if (n->s->c.role == IMS_ROLE_PS)
        ims__ps_node_stop(n);
    proxy_route_hook_set(n->px, NULL, NULL);
    if (n->ps) {
        privsvc_lookup_set(n->ps, NULL);
        proxy_hooks_set(n->px, &n->priv);
    }
    sv_free(n);
}
