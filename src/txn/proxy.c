/**
 * @file proxy.c  The transaction-stateful proxy core (RFC 3261 §16): the transaction user of
 * one txn_layer.
 *
 * A new request goes through validation (§16.3, loop detection included), Route processing
 * (§16.4), target selection (§16.5) and forwarding (§16.6), one client transaction per target.
 * Each server transaction that is forwarded gets a response context (`struct pctx`) holding
 * its branches; the context lives while the server transaction or any branch does (one
 * reference each), so a late response or timer always finds it.
 *
 * Branch parameters are "z9hG4bKsv" + 16 hex digits of a hash over the request's invariant
 * fields and the received top Via + "." + the branch index. A request that comes back with
 * our sent-by and the same hash has looped (§16.6 item 8, §16.3 item 4); a spiral (changed
 * Request-URI) hashes differently.
 *
 * Responses, CANCEL and timer C are in proxy_resp.c; proxy_int.h holds what both share.
 *
 * Everything the proxy originates (requests, CANCEL, stateless ACKs and 2xx) is sent with a
 * NULL flow: the node's send function then uses the node's own UDP socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include "proxy_int.h"

#define MOD "proxy"

#define TIMER_C_DEFAULT_MS 180000u
#define MAX_TXNS_DEFAULT 150000u

static const char *const supported_tags[] = {"privacy", NULL};

#define OPTIONS_EXTRA                                                                              \
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, SUBSCRIBE, NOTIFY, PUBLISH, "      \
    "INFO, REFER, MESSAGE, UPDATE\r\n"                                                             \
    "Supported: privacy\r\n"                                                                       \
    "Accept: application/sdp\r\n"

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                              */

static uint64_t fnv64(uint64_t h, struct sv_slice s)
{
    for (size_t i = 0; i < s.l; i++) {
        h ^= (unsigned char)s.p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ 0xff; /* separate the fields: "ab"+"c" differs from "a"+"bc" */
}

uint32_t proxy__cid_hash(const struct sip_msg *m)
{
    return (uint32_t)(fnv64(0xcbf29ce484222325ull, m->callid) >> 16);
}

/** The Call-ID hash that log lines carry instead of the Call-ID (which may hold a host name). */
uint32_t proxy_callid_hash(const struct sip_msg *m)
{
    return proxy__cid_hash(m);
}

unsigned proxy__cls(uint16_t code)
{
    return code >= 100 && code < 700 ? code / 100u : 0;
}

static void addr_port(struct net_addr *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
    else if (a->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* A numeric host ("192.0.2.1", "[2001:db8::1]") and port into @p a. */
bool proxy__host_addr(struct sv_slice host, uint16_t port, struct net_addr *a)
{
    char buf[64];

    if (host.l >= 2 && host.p[0] == '[' && host.p[host.l - 1] == ']') {
        host.p++;
        host.l -= 2;
    }
    if (!host.l || host.l >= sizeof(buf))
        return false;
    memcpy(buf, host.p, host.l);
    buf[host.l] = '\0';
    memset(a, 0, sizeof(*a));
    struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, buf, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        a->len = sizeof(*in);
    } else if (inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        a->len = sizeof(*in6);
    } else {
        return false;
    }
    addr_port(a, port);
    return true;
}

static bool addr_is_any(const struct net_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return false;
}

/* Whether @p a is the listener address @p l (a wildcard address matches its port). */
static bool addr_matches(const struct net_addr *l, const struct net_addr *a)
{
    if (net_addr_eq(l, a))
        return true;
    return addr_is_any(l) && l->ss.ss_family == a->ss.ss_family &&
           net_addr_port(l) == net_addr_port(a);
}

/* Whether @p a is one of our listeners' addresses, or the Via address of one (a worker's). */
static bool addr_is_us(const struct proxy *p, const struct net_addr *a)
{
    for (size_t i = 0; i < p->nlsn; i++) {
        if (addr_matches(&p->lsn[i].addr, a))
            return true;
        if (p->lsn[i].via.len && addr_matches(&p->lsn[i].via, a))
            return true;
    }
    return false;
}

/*
 * Where a SIP URI points, without DNS: its numeric host, its port (5060, or 5061 for sips
 * and transport=tls), and its transport (§19.1.1 "transport", sips: TLS).
 */
bool proxy_uri_target(const struct sip_uri *u, struct proxy_target *t)
{
    struct sv_slice tpv;
    bool tls = u->scheme == SIP_URI_SIPS;

    if (u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS)
        return false;
    if (u->host_type != SIP_HOST_IPV4 && u->host_type != SIP_HOST_IPV6)
        return false;
    t->tp = tls ? NET_TLS : NET_UDP;
    if (sip_param_get(u->params, "transport", &tpv) && tpv.p) {
        if (sv_slice_caseeq_cstr(tpv, "tcp"))
            t->tp = tls ? NET_TLS : NET_TCP;
        else if (sv_slice_caseeq_cstr(tpv, "tls"))
            t->tp = NET_TLS;
        else if (!sv_slice_caseeq_cstr(tpv, "udp"))
            return false; /* sctp, ws...: not served */
    }
    return proxy__host_addr(u->host,
                            u->has_port        ? u->port
                            : t->tp == NET_TLS ? 5061
                                               : 5060,
                            &t->dst);
}

/**
 * Whether @p uri names this node: a numeric host and port equal to one of its listeners.
 * @param p    the proxy
 * @param uri  a decoded SIP URI
 * @return true if it is ours
 */
bool proxy_uri_is_us(const struct proxy *p, const struct sip_uri *uri)
{
    struct proxy_target t = {0};

    return proxy_uri_target(uri, &t) && addr_is_us(p, &t.dst);
}

/* Our listener to name in Via and Record-Route for transport @p tp toward @p fam: one of the
 * same transport and family, else any of the family, else the first. */
static const struct proxy_listener *lsn_for(const struct proxy *p, enum net_tp tp, int fam,
                                            int face)
{
    for (size_t i = 0; i < p->nlsn && face >= 0; i++)
        if (p->lsn[i].tp == tp && p->lsn[i].addr.ss.ss_family == fam &&
            p->lsn[i].untrusted_face == (face == 1))
            return &p->lsn[i];
    for (size_t i = 0; i < p->nlsn; i++)
        if (p->lsn[i].tp == tp && p->lsn[i].addr.ss.ss_family == fam)
            return &p->lsn[i];
    for (size_t i = 0; i < p->nlsn; i++)
        if (p->lsn[i].addr.ss.ss_family == fam)
            return &p->lsn[i];
    return &p->lsn[0];
}

static const struct proxy_listener *lsn_by_index(const struct proxy *p, int idx)
{
    for (size_t i = 0; i < p->nlsn; i++)
        if (p->lsn[i].index == idx)
            return &p->lsn[i];
    return NULL;
}

static const char *tp_lower(enum net_tp tp)
{
    return tp == NET_TCP ? "tcp" : tp == NET_TLS ? "tls" : "udp";
}

/* Serialize @p msg with @p ed into the proxy's scratch buffer, or a heap one when it does not
 * fit (*@p heap set: the caller frees it). @return 0, ENOMEM. */
int proxy__print_msg(struct proxy *p, const struct sip_msg *msg, const struct sip_edits *ed,
                     char **out, size_t *n, char **heap)
{
    int err = sip_msg_print(msg, ed, p->out, p->outsz, n);

    *heap = NULL;
    *out = p->out;
    if (err == ENOSPC) {
        size_t need = *n;
        if (!(*heap = sv_malloc(need)))
            return ENOMEM;
        err = sip_msg_print(msg, ed, *heap, need, n);
        *out = *heap;
    }
    if (err) {
        sv_free(*heap);
        *heap = NULL;
    }
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Answering locally                                                                          */

void proxy__count_out(struct proxy *p, uint16_t code)
{
    p->stats.resp_out[proxy__cls(code)]++;
    if (code < 400)
        return;
    enum proxy_rej r = code == 400   ? PROXY_REJ_400
                       : code == 404 ? PROXY_REJ_404
                       : code == 416 ? PROXY_REJ_416
                       : code == 420 ? PROXY_REJ_420
                       : code == 482 ? PROXY_REJ_482
                       : code == 483 ? PROXY_REJ_483
                                     : PROXY_REJ_OTHER;
    p->stats.rejects[r]++;
}

/* Answer server transaction @p st from its own request copy. */
void proxy__answer(struct proxy *p, struct txn *st, uint16_t code, const char *reason,
                   const char *extra)
{
    proxy__answer_tag(p, st, code, reason, extra, NULL);
}

void proxy__answer_tag(struct proxy *p, struct txn *st, uint16_t code, const char *reason,
                       const char *extra, const char *totag)
{
    char tag[20];
    size_t n = 0;
    const struct sip_msg *req = txn_request_msg(st);
    int err;

    if (!req) { /* a completed non-INVITE transaction's is gone, or no memory to parse it */
        sv_log(SV_LOG_WARN, MOD, "node %s: cannot answer %u: %s", p->name, code,
               txn_state_get(st) == TXN_COMPLETED ? "already answered" : "out of memory");
        return;
    }
    if (!totag)
        sip_tag_gen(tag, sizeof(tag));
    /* read before txn_respond: a final response lets a non-INVITE server transaction free
       its parsed request */
    enum sip_method mid = req->mid;
    uint32_t cidh = proxy__cid_hash(req);
    err = sip_resp_build(req, code, reason, sv_slice_cstr(totag ? totag : tag),
                         sv_slice_cstr(extra), p->out, p->outsz, &n);
    if (!err)
        err = txn_respond(st, code, p->out, n);
    if (err) {
        sv_log(SV_LOG_WARN, MOD, "node %s: cannot answer %u: %s", p->name, code, strerror(err));
        return;
    }
    proxy__count_out(p, code);
    sv_log(SV_LOG_DEBUG, MOD, "node %s: %s cid %08x answered %u", p->name, sip_method_name(mid),
           cidh, code);
}

/* ---------------------------------------------------------------------------------------- */
/* Validation, loops, Route                                                                   */

/* The hash of the invariant fields (§16.6 item 8) with @p topvia as the received top Via. */
static uint64_t req_hash(const struct sip_msg *m, struct sv_slice topvia)
{
    uint64_t h = 0xcbf29ce484222325ull;
    char cs[SV_U32_DIGITS];

    h = fnv64(h, m->ruri_s);
    h = fnv64(h, m->from.tag);
    h = fnv64(h, m->to.tag);
    h = fnv64(h, m->callid);
    h = fnv64(h, sv_slice_make(cs, sv_fmt_u32(cs, m->cseq.num)));
    /* and the Route set as received (§16.6 item 8 names it): an IMS request spirals through
       the S-CSCF twice with the same Request-URI, originating then terminating, and only its
       Route (";orig" or not) tells the two passes apart */
    for (const struct sip_hdr *r = sip_msg_hdr(m, SIP_HDR_ROUTE); r; r = sip_msg_hdr_next(m, r))
        h = fnv64(h, r->value);
    return fnv64(h, topvia);
}

/*
 * The branch hash of a forwarded request: req_hash over the parts of the received top Via
 * that no later hop changes (transport, sent-by, branch). Its received and rport parameters
 * are left out: we write them ourselves (edit_received), and a request that comes back must
 * hash as it did when it left.
 */
static uint64_t req_hash_via(const struct sip_msg *m, const struct sip_via *v)
{
    char port[SV_U32_DIGITS];
    struct sv_slice ps = sv_slice_make(port, sv_fmt_u32(port, v->has_port ? v->port : 0u));
    uint64_t h = fnv64(fnv64(fnv64(0x84222325cbf29ce4ull, v->transport), v->host), ps);
    h = fnv64(h, v->branch);
    return req_hash(m, sv_slice_make((const char *)&h, sizeof(h)));
}

bool proxy__via_is_us(const struct proxy *p, const struct sip_via *v)
{
    struct net_addr a;
    bool tls = sv_slice_caseeq_cstr(v->transport, "TLS");

    return proxy__host_addr(v->host,
                            v->has_port ? v->port
                            : tls       ? 5061
                                        : 5060,
                            &a) &&
           addr_is_us(p, &a);
}

/* A Via we wrote: our branch prefix, and one of our addresses. */
static bool via_is_ours(const struct proxy *p, const struct sip_via *v)
{
    return v->branch.l > sizeof(BRANCH_PREFIX) - 1 &&
           memcmp(v->branch.p, BRANCH_PREFIX, sizeof(BRANCH_PREFIX) - 1) == 0 &&
           proxy__via_is_us(p, v);
}

/* What follows the top via-parm in the first Via header's value (@p h), past its comma: the
 * parser has decoded that one already (m->via), and decoding it again was most of the walk's
 * cost (a request from a UE has no other Via). */
static struct sv_slice vias_after_top(const struct sip_msg *m, const struct sip_hdr *h)
{
    const char *q = m->via.raw.p + m->via.raw.l, *end = h->value.p + h->value.l;

    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
        q++;
    if (q < end && *q == ',')
        q++;
    return sv_slice_make(q, (size_t)(end - q));
}

/* §16.3 item 4: a Via of ours whose branch hash equals the hash of this request taken with
 * the Via below it as the top one: the request came back unchanged. */
static bool loop_detected(const struct proxy *p, const struct sip_msg *m)
{
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_VIA);
    struct sip_via prev, v;
    struct sv_slice cur;
    bool prev_ours;

    if (!h || !m->via.raw.p || m->via.raw.p < h->value.p ||
        m->via.raw.p + m->via.raw.l > h->value.p + h->value.l)
        return false;
    prev = m->via;
    prev_ours = via_is_ours(p, &prev);
    cur = vias_after_top(m, h);
    for (;;) {
        while (sip_via_next(&cur, &v) == 0) {
            if (prev_ours) {
                char hex[16];
                sv_fmt_hex64(hex, req_hash_via(m, &v));
                if (prev.branch.l >= sizeof(BRANCH_PREFIX) - 1 + 16 &&
                    memcmp(prev.branch.p + sizeof(BRANCH_PREFIX) - 1, hex, 16) == 0)
                    return true;
            }
            prev = v;
            prev_ours = via_is_ours(p, &v);
        }
        if (!(h = sip_msg_hdr_next(m, h)))
            return false;
        cur = h->value;
    }
}

/* The outcome of Route processing (§16.4). */
struct plan {
    struct sip_uri ruri;      /* the Request-URI after strict-route repair */
    struct sv_slice new_ruri; /* set when it changed */
    const struct sip_hdr *del_h[PROXY_MAX_ROUTES];
    struct sv_slice del_e[PROXY_MAX_ROUTES];
    unsigned ndel;
    bool has_route;      /* a Route is left after ours are removed */
    struct sip_addr top; /* that Route */
    bool ours;           /* a Route of ours was on top */
    struct sv_slice our_params; /* its URI parameters (";lr;orig") */
};

/* @return 0, or EBADMSG (a Route that does not decode, or too many of them). */
static int plan_build(const struct proxy *p, const struct sip_msg *m, struct plan *pl)
{
    const struct sip_hdr *hv[PROXY_MAX_ROUTES];
    struct sip_addr av[PROXY_MAX_ROUTES];
    unsigned n = 0, first = 0, last;
    int err;

    memset(pl, 0, sizeof(*pl));
    pl->ruri = m->ruri;
    for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE); h; h = sip_msg_hdr_next(m, h)) {
        struct sv_slice cur = h->value;
        while ((err = sip_addr_next(&cur, &av[n])) == 0) {
            hv[n] = h;
            if (++n == PROXY_MAX_ROUTES)
                return EBADMSG;
        }
        if (err != ENOENT)
            return EBADMSG;
    }
    last = n;
    /* strict routing by the previous hop: the Request-URI is a Record-Route of ours */
    if (n && proxy_uri_is_us(p, &m->ruri) && sip_param_get(m->ruri.params, "lr", NULL)) {
        last = n - 1;
        pl->ruri = av[last].uri;
        pl->new_ruri = av[last].uri_s;
        pl->del_h[pl->ndel] = hv[last];
        pl->del_e[pl->ndel++] = av[last].raw;
    }
    /* our own Route values on top (two after a double Record-Route, RFC 5658) */
    while (first < last && proxy_uri_is_us(p, &av[first].uri)) {
        if (!pl->ours) {
            pl->ours = true;
            pl->our_params = av[first].uri.params;
        }
        pl->del_h[pl->ndel] = hv[first];
        pl->del_e[pl->ndel++] = av[first].raw;
        first++;
    }
    if (first < last) {
        pl->has_route = true;
        pl->top = av[first];
    }
    return 0;
}

static int plan_apply(const struct plan *pl, const struct proxy_target *t, struct sip_edits *ed)
{
    int err = 0;

    if (t->ruri.l)
        err = sip_edit_ruri_set(ed, t->ruri);
    else if (pl->new_ruri.p)
        err = sip_edit_ruri_set(ed, pl->new_ruri);
    for (unsigned i = 0; i < pl->ndel && !err; i++)
        err = sip_edit_elem_del(ed, pl->del_h[i], pl->del_e[i]);
    /* on top of the request's own: a preloaded route set and the hook's header lines (Path
       goes above any Path already there, RFC 3327 §5.2) */
    if (!err && t->route.l)
        err = sip_edit_hdr_prepend(ed, "Route", t->route);
    for (unsigned i = 0; i < 2 && !err; i++)
        if (t->del[i])
            err = sip_edit_hdr_del(ed, t->del[i]);
    for (unsigned i = 0; i < PROXY_TARGET_ADDS && !err; i++)
        if (t->add[i].name)
            err = sip_edit_hdr_prepend(ed, t->add[i].name, t->add[i].value);
    return err;
}

static bool ruri_match(struct sv_slice value, const struct sip_uri *ruri)
{
    struct sip_uri v;

    if (sip_uri_decode(&v, value))
        return false;
    if (sip_uri_equal(&v, ruri))
        return true;
    return v.scheme == ruri->scheme && sv_slice_eq(v.user, ruri->user) &&
           sv_slice_caseeq(v.host, ruri->host);
}

/* §16.5. @return 0 with *@p t, or ENOENT with the reason of the 404 in *@p why. */
static int select_target(const struct proxy *p, const struct sip_msg *m, const struct plan *pl,
                         struct proxy_target *t, const char **why)
{
    bool in_dialog = m->to.tag.p != NULL, us = proxy_uri_is_us(p, &pl->ruri);

    if (pl->has_route) {
        for (size_t i = 0; i < p->nroutes; i++) {
            if (p->routes[i].match == PROXY_MATCH_ROUTE &&
                sv_slice_caseeq_cstr(pl->top.uri.host, p->routes[i].value)) {
                *t = p->routes[i].next_hop;
                return 0;
            }
        }
        if (proxy_uri_target(&pl->top.uri, t))
            return 0;
        *why = "Not Found (the next Route has no IP address; names are not resolved yet)";
        return ENOENT;
    }
    /* a mid-dialog request goes to its remote target */
    if (in_dialog && !us && proxy_uri_target(&pl->ruri, t))
        return 0;
    for (size_t i = 0; i < p->nroutes; i++) {
        const struct proxy_route *r = &p->routes[i];
        bool hit = r->match == PROXY_MATCH_DEFAULT ||
                   (r->match == PROXY_MATCH_DOMAIN && pl->ruri.host.p &&
                    sv_slice_caseeq_cstr(pl->ruri.host, r->value)) ||
                   (r->match == PROXY_MATCH_RURI && ruri_match(sv_slice_cstr(r->value), &pl->ruri));
        if (hit) {
            *t = r->next_hop;
            return 0;
        }
    }
    if (!us && proxy_uri_target(&pl->ruri, t))
        return 0;
    *why = us ? "Not Found (addressed to this node, which has no route for it)"
              : "Not Found (no route for the Request-URI; names are not resolved yet)";
    return ENOENT;
}

static bool creates_dialog(enum sip_method mid)
{
    return mid == SIP_METHOD_INVITE || mid == SIP_METHOD_SUBSCRIBE || mid == SIP_METHOD_REFER ||
           mid == SIP_METHOD_NOTIFY;
}

/* Max-Forwards decremented, or 70 when absent (§16.6 item 3). */
static int edit_max_forwards(const struct sip_msg *m, struct sip_edits *ed)
{
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
    char *v;

    if (!h)
        return sip_edit_hdr_insert(ed, sip_msg_hdr(m, SIP_HDR_VIA), "Max-Forwards", SV_LIT("70"));
    if (!(v = sv_arena_alloc(ed->arena, SV_U32_DIGITS)))
        return ENOMEM;
    size_t k = sv_fmt_u32(v, m->max_forwards ? m->max_forwards - 1u : 0u);
    return sip_edit_hdr_set(ed, h, sv_slice_make(v, k));
}

/* The text proxy_alloc wrote for listener @p l of @p p. */
static const struct lsn_text *ltext(const struct proxy *p, const struct proxy_listener *l)
{
    return &p->ltext[l - p->lsn];
}

/* Where our Record-Route goes: on top of the existing ones, else after the Via lines, so that
 * the message reads naturally (any place would be valid, §7.3.1). */
static const struct sip_hdr *rr_place(const struct sip_msg *m)
{
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE), *v;

    if (h)
        return h;
    for (v = sip_msg_hdr(m, SIP_HDR_VIA); v && sip_msg_hdr_next(m, v); v = sip_msg_hdr_next(m, v))
        ;
    if (!v)
        return NULL;
    size_t i = (size_t)(v - m->hdrv) + 1;
    return i < m->hdrc ? &m->hdrv[i] : NULL;
}

/* Octets @p parts (NULL-terminated list of slices) joined into the arena; unset on ENOMEM. */
static struct sv_slice arena_cat(struct sv_arena *a, const struct sv_slice *parts)
{
    size_t n = 0;
    char *out, *w;

    for (const struct sv_slice *s = parts; s->p; s++)
        n += s->l;
    if (!(out = sv_arena_alloc(a, n ? n : 1)))
        return (struct sv_slice){0};
    w = out;
    for (const struct sv_slice *s = parts; s->p; s++) {
        memcpy(w, s->p, s->l);
        w += s->l;
    }
    return sv_slice_make(out, n);
}

static int edit_rr(const struct proxy *p, struct sip_edits *ed, const struct proxy_listener *l,
                   enum net_tp tp)
{
    const struct lsn_text *lt = ltext(p, l);
    const struct sv_slice parts[] = {SV_LIT("<sip:"),
                                     sv_slice_make(lt->hp, lt->hp_len),
                                     SV_LIT(";transport="),
                                     sv_slice_cstr(tp_lower(tp)),
                                     SV_LIT(";lr>"),
                                     {0}};
    struct sv_slice v = arena_cat(ed->arena, parts);

    return v.p ? sip_edit_hdr_insert(ed, rr_place(ed->msg), "Record-Route", v) : ENOMEM;
}

/* Our Via with @p branch; rport for UDP (RFC 3581). */
static int edit_via(const struct proxy *p, struct sip_edits *ed, const struct proxy_listener *l,
                    enum net_tp tp, struct sv_slice branch)
{
    const struct lsn_text *lt = ltext(p, l);
    const struct sv_slice parts[] = {branch, tp == NET_UDP ? SV_LIT(";rport") : SV_LIT(""),
                                     {0}};
    struct sv_slice bs = arena_cat(ed->arena, parts);

    if (!bs.p)
        return ENOMEM;
    return sip_edit_via_push(ed, net_tp_name(tp), sv_slice_make(lt->via_hp, lt->via_hp_len), bs);
}

/*
 * RFC 3261 §18.2.1 and RFC 3581 §4: the server transport writes received=<source IP> into the
 * top Via of a request whose sent-by host is not that address, and, when the Via carries an
 * empty rport, rport=<source port> together with received (RFC 3581 §4 asks for received then
 * even when the host is the same). This stack never rewrites a received message, so the
 * parameters are written as edits of the copy that is forwarded: the next hops see them on
 * what is now the second Via, and our stateless responses (proxy__stray_resp) read them from there.
 * A received value the sender put there itself is replaced; an rport that already has a value
 * is left alone.
 */
static int edit_received(struct sip_edits *ed, const struct sip_msg *m, const struct net_flow *fl)
{
    const struct sip_via *v = &m->via;
    struct net_addr sent_by;
    char ip[INET6_ADDRSTRLEN + 12], port[1 + SV_U32_DIGITS];
    const void *src;
    bool rport = v->rport && !v->rport_val, recv;
    int fam, err;

    if (!fl || !v->raw.p)
        return 0;
    fam = fl->peer.ss.ss_family;
    if (fam == AF_INET)
        src = &((const struct sockaddr_in *)&fl->peer.ss)->sin_addr;
    else if (fam == AF_INET6)
        src = &((const struct sockaddr_in6 *)&fl->peer.ss)->sin6_addr;
    else
        return 0;
    recv = rport || !proxy__host_addr(v->host, net_addr_port(&fl->peer), &sent_by) ||
           !net_addr_eq(&sent_by, &fl->peer);
    if (rport) {
        struct sv_slice cur = v->params;
        struct sip_param prm;
        while (sip_param_next(&cur, &prm) == 0) {
            if (!sv_slice_caseeq_cstr(prm.name, "rport"))
                continue;
            port[0] = '=';
            size_t k = 1 + sv_fmt_u32(port + 1, net_addr_port(&fl->peer));
            err = sip_edit_range(ed, sv_slice_make(prm.name.p + prm.name.l, 0),
                                 sv_slice_make(port, k));
            if (err)
                return err;
            break;
        }
    }
    if (!recv)
        return 0;
    /* received = IPv4address / IPv6address: no brackets (RFC 3261 §25.1, RFC 5118 §4.5) */
    memcpy(ip, ";received=", 10);
    if (!inet_ntop(fam, src, ip + 10, sizeof(ip) - 10))
        return 0;
    if (v->received.p)
        return sip_edit_range(ed, v->received, sv_slice_cstr(ip + 10));
    return sip_edit_range(ed, sv_slice_make(v->raw.p + v->raw.l, 0), sv_slice_cstr(ip));
}

/* Delete the top Via (ours) of a response: its line, or its element when others share it. */
int proxy__edit_pop_via(const struct sip_msg *m, struct sip_edits *ed)
{
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_VIA);
    struct sv_slice cur;
    struct sip_via v, v2;

    if (!h)
        return EBADMSG;
    cur = h->value;
    if (sip_via_next(&cur, &v))
        return EBADMSG;
    if (sip_via_next(&cur, &v2) == ENOENT)
        return sip_edit_hdr_del(ed, h);
    return sip_edit_elem_del(ed, h, v.raw);
}

/* ---------------------------------------------------------------------------------------- */
/* Forwarding                                                                                 */

/* Our branch: BRANCH_PREFIX, the loop hash (§16.3 item 4) in hex, the branch index and a
 * sequence number, "z9hG4bKsv<16 hex>.<idx>.<seq hex>", NUL-terminated into @p buf (48
 * octets). @return its length */
static size_t branch_make(char *buf, uint64_t hash, unsigned idx, uint32_t seq)
{
    size_t n = sizeof(BRANCH_PREFIX) - 1;

    memcpy(buf, BRANCH_PREFIX, n);
    n += sv_fmt_hex64(buf + n, hash);
    buf[n++] = '.';
    n += sv_fmt_u32(buf + n, idx);
    buf[n++] = '.';
    n += sv_fmt_hex32(buf + n, seq);
    buf[n] = '\0';
    return n;
}

/* The hop of a message that came on @p in (NULL: unknown) and goes to @p out. */
void proxy__hop_init(struct proxy_hop *hop, const struct net_flow *in,
                     const struct proxy_target *out)
{
    memset(hop, 0, sizeof(*hop));
    hop->in_listener = -1;
    hop->out_face = -1;
    if (in) {
        hop->in_tp = in->tp;
        hop->in_addr = in->peer;
        hop->in_listener = in->listener;
        hop->in_conn = in->conn;
    }
    if (out) {
        hop->out_tp = out->tp;
        hop->out_addr = out->dst;
    }
}

static int forward_branch(struct pctx *pc, struct branch *br, unsigned idx,
                          const struct sip_msg *req, const struct plan *pl)
{
    struct proxy *p = pc->p;
    char blk[4096], branch[48], *out, *heap = NULL;
    struct sv_arena a;
    struct sip_edits ed;
    uint16_t code = 0;
    const char *reason = NULL;
    size_t n;
    int err, face = -1;

    sv_arena_init(&a, blk, sizeof(blk));
    sip_edits_init(&ed, req, &a);
    if (p->hooks.request) {
        struct proxy_hop hop;
        proxy__hop_init(&hop, pc->st ? txn_flow(pc->st) : NULL, &br->tgt);
        int refused = p->hooks.request(p->hooks.arg, req, &hop, &ed, &code, &reason);
        br->cookie = hop.cookie;
        face = hop.out_face;
        if (refused) {
            if (code < 300 || code > 699)
                code = 500;
            proxy__branch_local(br, code, reason ? reason : "Refused");
            err = 0;
            goto out;
        }
    }
    const struct proxy_listener *lo = lsn_for(p, br->tgt.tp, br->tgt.dst.ss.ss_family, face);
    /* the hash finds loops (§16.3 item 4); the sequence number keeps the branch unique when
       the same request comes again as a new transaction while the branch that forwarded it
       the first time still absorbs retransmissions downstream (TCP upstream, timer J 0) */
    size_t bl = branch_make(branch, req_hash_via(req, &req->via), idx, ++p->branch_seq);
    err = plan_apply(pl, &br->tgt, &ed);
    if (!err)
        err = edit_max_forwards(req, &ed);
    if (!err)
        err = edit_received(&ed, req, pc->st ? txn_flow(pc->st) : NULL);
    if (!err)
        err = edit_via(p, &ed, lo, br->tgt.tp, sv_slice_make(branch, bl));
    if (!err && p->rr && creates_dialog(req->mid)) {
        const struct net_flow *fl = pc->st ? txn_flow(pc->st) : NULL;
        const struct proxy_listener *li = fl ? lsn_by_index(p, fl->listener) : NULL;
        err = edit_rr(p, &ed, lo, br->tgt.tp);
        /* a different transport or interface upstream: a second one for that side (RFC 5658) */
        if (!err && li && (li != lo || fl->tp != br->tgt.tp))
            err = edit_rr(p, &ed, li, fl->tp);
    }
    if (!err)
        err = proxy__print_msg(p, req, &ed, &out, &n, &heap);
    if (err) {
        proxy__branch_local(br, 500, "Server Internal Error (cannot forward the request)");
        goto out;
    }
    /* over UDP, out of the socket the Via names: the listener's, or a worker's private one;
     * the branch we wrote spares the transaction a parse of what we have just printed */
    struct txn_req_opts o = {.src_listener = br->tgt.tp != NET_UDP || lo->tp != NET_UDP ? -1
                                             : lo->via.len ? lo->via_index
                                                           : lo->index,
                             .branch = sv_slice_make(branch, bl)};
    err = txn_request_ex(&br->ct, p->l, out, n, br->tgt.tp, &br->tgt.dst, &o, br);
    sv_free(heap);
    if (err) {
        char where[80];
        br->ct = NULL;
        p->stats.send_errors++;
        sv_log(SV_LOG_DEBUG, MOD, "node %s: cid %08x: cannot send to %s %s: %s", p->name, pc->cidh,
               net_tp_name(br->tgt.tp), net_addr_str(&br->tgt.dst, where, sizeof(where)),
               strerror(err));
        proxy__branch_local(br, 503, "Service Unavailable");
        err = 0;
        goto out;
    }
    sv_ref(pc); /* the branch's reference, dropped when its transaction terminates */
    p->stats.forwarded++;
    if (sv_log_enabled(SV_LOG_DEBUG)) {
        char where[80];
        sv_log(SV_LOG_DEBUG, MOD, "node %s: %.*s cid %08x branch %s -> %s %s", p->name,
               SV_FMT(req->method), pc->cidh, branch, net_tp_name(br->tgt.tp),
               net_addr_str(&br->tgt.dst, where, sizeof(where)));
    }
out:
    sv_arena_close(&a);
    return err;
}

/**
 * Forward the request of server transaction @p st to @p n targets in parallel.
 * @param p        the proxy
 * @param st       a server transaction of the proxy's layer, not answered with a final yet
 * @param targets  where to
 * @param n        1..8 targets
 * @return 0 (each branch then ends with a response upstream), EINVAL, EBUSY (forwarded
 *         already), EBADMSG (Route does not decode) or ENOMEM
 */
/*
 * §17.2.1: a 100 (Trying) is owed unless a provisional or final response goes upstream within
 * 200 ms. The downstream 180 nearly always does, so the 100 waits for that long rather than
 * going out with every INVITE: one message fewer per call, and the UAC still hears from us
 * well before its first retransmission (T1).
 */
#define TRYING_DELAY_MS 200u

void proxy__answered(struct pctx *pc)
{
    pc->answered = true;
    sv_timer_cancel(&pc->t100);
}

static void trying_h(void *arg)
{
    struct pctx *pc = arg;

    if (!pc->answered && pc->st && txn_state_get(pc->st) == TXN_PROCEEDING)
        proxy__answer(pc->p, pc->st, 100, "Trying", "");
    pc->answered = true;
}

int proxy_fork(struct proxy *p, struct txn *st, const struct proxy_target *targets, size_t n)
{
    const struct sip_msg *req;
    struct plan pl;
    struct pctx *pc;

    if (!p || !st || !targets || !n || n > PROXY_MAX_BRANCHES)
        return EINVAL;
    if (txn_owner(st))
        return EBUSY;
    req = txn_request_msg(st);
    if (!req)
        return ENOMEM;
    if (plan_build(p, req, &pl))
        return EBADMSG;
    if (!(pc = sv_zalloc(sizeof(*pc) + n * sizeof(pc->br[0]), proxy__pctx_dtor)))
        return ENOMEM;
    pc->p = p;
    pc->st = st;
    pc->invite = req->mid == SIP_METHOD_INVITE;
    pc->cidh = proxy__cid_hash(req);
    pc->nbr = (unsigned)n;
    sv_timer_init(&pc->t100);
    if (pc->invite)
        sv_timer_start(p->wheel, &pc->t100, TRYING_DELAY_MS, trying_h, pc);
    pc->next = p->live;
    if (p->live)
        p->live->pprev = &pc->next;
    p->live = pc;
    pc->pprev = &p->live;
    for (unsigned i = 0; i < n; i++) {
        pc->br[i].kind = OWNER_BRANCH;
        pc->br[i].pc = pc;
        pc->br[i].tgt = targets[i];
        sv_timer_init(&pc->br[i].tm);
    }
    txn_owner_set(st, pc); /* the context's first reference is the server transaction's */
    sv_ref(pc);
    for (unsigned i = 0; i < n; i++) {
        forward_branch(pc, &pc->br[i], i, req, &pl);
        /* the caller's texts are gone after this call */
        pc->br[i].tgt.ruri = pc->br[i].tgt.route = (struct sv_slice){0};
        memset(pc->br[i].tgt.add, 0, sizeof(pc->br[i].tgt.add));
        memset(pc->br[i].tgt.del, 0, sizeof(pc->br[i].tgt.del));
    }
    sv_deref(pc);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Requests the node originates                                                               */

void proxy__origin_answer(struct origin *o, uint16_t code, const struct sip_msg *resp)
{
    if (o->reported)
        return;
    o->reported = true;
    o->done(o->arg, code, resp);
}

void proxy__origin_end(struct origin *o)
{
    proxy__origin_answer(o, 408, NULL);
    *o->pprev = o->next;
    if (o->next)
        o->next->pprev = o->pprev;
    sv_free(o);
}

int proxy_originate(struct proxy *p, const char *buf, size_t len, enum net_tp tp,
                    const struct net_addr *dst, proxy_origin_h *done, void *arg)
{
    struct origin *o;
    struct txn *ct;
    int err;

    if (!p || !buf || !len || !dst || !done)
        return EINVAL;
    if (!(o = sv_calloc(1, sizeof(*o))))
        return ENOMEM;
    o->kind = OWNER_ORIGIN;
    o->done = done;
    o->arg = arg;
    const struct proxy_listener *lo = lsn_for(p, tp, dst->ss.ss_family, -1);
    struct txn_req_opts opt = {.src_listener = tp != NET_UDP || !lo || lo->tp != NET_UDP ? -1
                                               : lo->via.len ? lo->via_index
                                                             : lo->index};
    if ((err = txn_request_ex(&ct, p->l, buf, len, tp, dst, &opt, o))) {
        sv_free(o);
        return err;
    }
    o->next = p->origins;
    if (p->origins)
        p->origins->pprev = &o->next;
    p->origins = o;
    o->pprev = &p->origins;
    return 0;
}

const char *proxy_via_hostport(const struct proxy *p, enum net_tp tp, const struct net_addr *dst)
{
    const struct proxy_listener *lo = dst ? lsn_for(p, tp, dst->ss.ss_family, -1) : NULL;

    return lo ? ltext(p, lo)->via_hp : NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Transaction-user callbacks                                                                 */

/* The node's route hook decides: an answer of its own, its targets, or the static routes with
 * its additions. */
static void route_by_hook(struct proxy *p, struct txn *st, const struct sip_msg *req,
                          const struct net_flow *flow, const struct plan *pl)
{
    /* Room for a subscriber's profile (struct store_profile, 9.5 KiB), which the S-CSCF and
     * I-CSCF route hooks read into this arena for every REGISTER: on the stack rather than a
     * 19 KiB heap chunk each time (bench/register). */
    _Alignas(16) char blk[16384];
    struct sv_arena a;
    struct proxy_route_res res;
    struct proxy_req_info info = {.ruri = &pl->ruri,
                                  .ruri_is_us = proxy_uri_is_us(p, &pl->ruri),
                                  .has_route = pl->has_route,
                                  .top_route = pl->has_route ? &pl->top.uri : NULL,
                                  .routed_to_us = pl->ours,
                                  .our_route_params = pl->our_params};
    const char *why = NULL;
    int err = 0;

    sv_arena_init(&a, blk, sizeof(blk));
    memset(&res, 0, sizeof(res));
    switch (p->route_h(p->route_arg, st, req, flow, &info, &a, &res)) {
    case PROXY_ROUTE_ANSWER:
        if (res.code < 200 || res.code > 699)
            res.code = 500;
        proxy__answer_tag(p, st, res.code, res.reason ? res.reason : "Refused",
                          res.hdrs ? res.hdrs : "", res.totag);
        break;
    case PROXY_ROUTE_FORK:
        if (res.n < 1 || res.n > PROXY_MAX_TARGETS)
            err = EINVAL;
        else
            err = proxy_fork(p, st, res.tgt, res.n);
        break;
    case PROXY_ROUTE_DEFAULT:
    default: {
        struct proxy_target t = res.tgt[0];
        if (select_target(p, req, pl, &t, &why)) {
            proxy__answer(p, st, 404, why, "");
            break;
        }
        /* select_target set tp and dst; the hook's additions stay */
        t.ruri = res.tgt[0].ruri;
        t.route = res.tgt[0].route;
        memcpy(t.add, res.tgt[0].add, sizeof(t.add));
        memcpy(t.del, res.tgt[0].del, sizeof(t.del));
        err = proxy_fork(p, st, &t, 1);
        break;
    }
    }
    if (err)
        proxy__answer(p, st, 500, "Server Internal Error", "");
    sv_arena_close(&a);
}

static void tu_request(struct txn *st, const struct sip_msg *req, const struct net_flow *flow,
                       void *arg)
{
    static const struct sip_check_opts opts = {SIP_CHECK_PROXY, supported_tags};
    struct proxy *p = arg;
    struct sip_status sst;
    struct plan pl;
    struct proxy_target t = {0};
    const char *why = NULL;

    (void)flow;
    p->stats.req_in[req->mid < SIP_METHOD__N ? req->mid : SIP_METHOD_OTHER]++;
    if (txn_stats_get(p->l)->live > p->max_txns) {
        p->stats.overload_503++;
        proxy__answer(p, st, 503, "Service Unavailable (overload)", "Retry-After: 5\r\n");
        return;
    }
    if (p->draining) {
        p->stats.overload_503++;
        proxy__answer(p, st, 503, "Service Unavailable (shutting down)", "Retry-After: 5\r\n");
        return;
    }
    if (sip_msg_check(req, &opts, &sst)) {
        char extra[160] = "";
        /* §11: OPTIONS with Max-Forwards 0 to ourselves is ours to answer */
        if (sst.code == 483 && req->mid == SIP_METHOD_OPTIONS && proxy_uri_is_us(p, &req->ruri) &&
            !sip_msg_hdr(req, SIP_HDR_ROUTE)) {
            proxy__answer(p, st, 200, "OK", OPTIONS_EXTRA);
            return;
        }
        if (sst.code == 420 && sst.unsupported.p)
            snprintf(extra, sizeof(extra), "Unsupported: %.*s\r\n", SV_FMT(sst.unsupported));
        sv_log(SV_LOG_INFO, MOD, "node %s: %.*s cid %08x refused: %u %s", p->name,
               SV_FMT(req->method), proxy__cid_hash(req), sst.code, sst.reason);
        proxy__answer(p, st, sst.code, sst.reason, extra);
        return;
    }
    if (loop_detected(p, req)) {
        sv_log(SV_LOG_INFO, MOD, "node %s: %.*s cid %08x: loop", p->name, SV_FMT(req->method),
               proxy__cid_hash(req));
        proxy__answer(p, st, 482, "Loop Detected", "");
        return;
    }
    if (plan_build(p, req, &pl)) {
        proxy__answer(p, st, 400, "Bad Request (Route)", "");
        return;
    }
    if (req->mid == SIP_METHOD_OPTIONS && !pl.has_route &&
        (proxy_uri_is_us(p, &pl.ruri) ||
         (p->domain[0] && !pl.ruri.user.p && sv_slice_caseeq_cstr(pl.ruri.host, p->domain)))) {
        proxy__answer(p, st, 200, "OK", OPTIONS_EXTRA);
        return;
    }
    if (p->route_h) {
        route_by_hook(p, st, req, flow, &pl);
        return;
    }
    if (select_target(p, req, &pl, &t, &why)) {
        proxy__answer(p, st, 404, why, "");
        return;
    }
    /* an INVITE's 100 (Trying) is proxy_fork's: in 200 ms unless a response went up before */
    if (proxy_fork(p, st, &t, 1))
        proxy__answer(p, st, 500, "Server Internal Error", "");
}

/*
 * Stateless forwarding (§16.11) of an ACK for a 2xx (§16.7 step 10 / RFC 6026) or of a CANCEL
 * that matches no response context (§16.10): routed like any request, with a branch derived
 * from the request's own, and @p kind after it, so that its retransmissions get the same one.
 * Not 0 when it was not sent: no route, Max-Forwards 0, refused by a hook, or an error.
 */
static int forward_stateless(struct proxy *p, const struct sip_msg *m, const struct net_flow *flow,
                             char kind)
{
    char blk[4096], branch[48], *out, *heap = NULL;
    struct sv_arena a;
    struct sip_edits ed;
    struct plan pl;
    struct proxy_target t = {0};
    const char *why;
    size_t n;
    int err;

    if (!m->via.raw.p || (m->has_max_forwards && m->max_forwards == 0) || plan_build(p, m, &pl) ||
        select_target(p, m, &pl, &t, &why))
        return EINVAL;
    memcpy(branch, BRANCH_PREFIX, sizeof(BRANCH_PREFIX) - 1);
    size_t bl = sizeof(BRANCH_PREFIX) - 1;
    bl += sv_fmt_hex64(branch + bl, req_hash(m, m->via.branch));
    branch[bl++] = kind;
    branch[bl] = '\0';
    sv_arena_init(&a, blk, sizeof(blk));
    sip_edits_init(&ed, m, &a);
    int face = -1;
    err = 0;
    if (p->hooks.request) {
        uint16_t code;
        const char *reason;
        struct proxy_hop hop;
        proxy__hop_init(&hop, flow, &t);
        if (p->hooks.request(p->hooks.arg, m, &hop, &ed, &code, &reason)) {
            p->stats.hook_drops++;
            err = EPERM; /* an ACK gets no answer: refused means dropped */
        }
        face = hop.out_face;
    }
    const struct proxy_listener *lo = lsn_for(p, t.tp, t.dst.ss.ss_family, face);
    if (!err)
        err = plan_apply(&pl, &(struct proxy_target){0}, &ed);
    if (!err)
        err = edit_max_forwards(m, &ed);
    if (!err)
        err = edit_received(&ed, m, flow);
    if (!err)
        err = edit_via(p, &ed, lo, t.tp, sv_slice_make(branch, bl));
    struct net_flow src = {.tp = NET_UDP, .listener = lo->via.len ? lo->via_index : lo->index};
    if (!err && !(err = proxy__print_msg(p, m, &ed, &out, &n, &heap))) {
        if ((err = p->send(p->send_ctx, t.tp, &t.dst,
                           t.tp == NET_UDP && lo->tp == NET_UDP ? &src : NULL, out, n)))
            p->stats.send_errors++;
        else
            p->stats.stateless++;
        sv_free(heap);
    }
    sv_arena_close(&a);
    return err;
}

static void tu_stray(const struct sip_msg *msg, const struct net_flow *flow, void *arg)
{
    struct proxy *p = arg;

    if (msg->req && msg->mid == SIP_METHOD_ACK) {
        p->stats.req_in[SIP_METHOD_ACK]++;
        forward_stateless(p, msg, flow, 'a');
    } else if (!msg->req) {
        p->stats.resp_in[proxy__cls(msg->scode)]++;
        proxy__stray_resp(p, msg, flow);
    }
}

/* §16.10: a CANCEL with no response context to apply it to is forwarded statelessly; one
 * that cannot be is answered 481 by the transaction layer. */
static int tu_cancel_unmatched(const struct sip_msg *msg, const struct net_flow *flow, void *arg)
{
    struct proxy *p = arg;

    p->stats.req_in[SIP_METHOD_CANCEL]++;
    return forward_stateless(p, msg, flow, 'c');
}

static const struct txn_tu proxy_tu = {
    .request = tu_request,
    .stray = tu_stray,
    .cancel_unmatched = tu_cancel_unmatched,
    .cancel = proxy__tu_cancel,
    .response = proxy__tu_response,
    .failed = proxy__tu_failed,
    .terminated = proxy__tu_terminated,
};

/* ---------------------------------------------------------------------------------------- */
/* Life cycle                                                                                 */

/**
 * Make a proxy and its transaction layer.
 * @param pp        out: the proxy
 * @param wheel     the event loop's timing wheel
 * @param tm        T1, T2, T4 (NULL: the defaults)
 * @param send      how to send; @p send_ctx is its first argument
 * @param send_ctx  passed to @p send
 * @param conf      the node: listeners (at least one), routes, options (copied)
 * @return 0, EINVAL or ENOMEM
 */
/* The text of listener @p l that every forwarded request carries, written once. */
static void ltext_make(struct lsn_text *lt, const struct proxy_listener *l)
{
    net_addr_str(&l->addr, lt->hp, sizeof(lt->hp));
    lt->hp_len = strlen(lt->hp);
    net_addr_str(l->via.len ? &l->via : &l->addr, lt->via_hp, sizeof(lt->via_hp));
    lt->via_hp_len = strlen(lt->via_hp);
}

int proxy_alloc(struct proxy **pp, struct sv_wheel *wheel, const struct txn_timers *tm,
                txn_send_h *send, void *send_ctx, const struct proxy_conf *conf)
{
    struct proxy *p;
    int err = ENOMEM;

    if (!pp || !wheel || !send || !conf || !conf->nlisteners || !conf->listeners)
        return EINVAL;
    if (!(p = sv_calloc(1, sizeof(*p))))
        return ENOMEM;
    p->wheel = wheel;
    p->tm = tm ? *tm : txn_timers_default;
    p->send = send;
    p->send_ctx = send_ctx;
    p->name = conf->name ? conf->name : "proxy";
    p->domain = conf->domain ? conf->domain : "";
    p->rr = conf->record_route;
    p->timer_c_ms = conf->timer_c_ms ? conf->timer_c_ms : TIMER_C_DEFAULT_MS;
    p->max_txns = conf->max_txns ? conf->max_txns : MAX_TXNS_DEFAULT;
    p->outsz = (conf->max_msg ? conf->max_msg : 65536) + 4096;
    p->nlsn = conf->nlisteners;
    p->nroutes = conf->nroutes;
    if (!(p->out = sv_malloc(p->outsz)) || !(p->lsn = sv_calloc(p->nlsn, sizeof(*p->lsn))) ||
        (p->nroutes && !(p->routes = sv_calloc(p->nroutes, sizeof(*p->routes)))))
        goto fail;
    memcpy(p->lsn, conf->listeners, p->nlsn * sizeof(*p->lsn));
    if (!(p->ltext = sv_calloc(p->nlsn, sizeof(*p->ltext))))
        goto fail;
    for (size_t i = 0; i < p->nlsn; i++)
        ltext_make(&p->ltext[i], &p->lsn[i]);
    if (p->nroutes)
        memcpy(p->routes, conf->routes, p->nroutes * sizeof(*p->routes));
    if ((err = txn_layer_alloc(&p->l, wheel, &p->tm, send, send_ctx, &proxy_tu, p)))
        goto fail;
    txn_layer_send_flow_set(p->l, conf->send_flow);
    *pp = p;
    return 0;
fail:
    sv_free(p->out);
    sv_free(p->ltext);
    sv_free(p->lsn);
    sv_free(p->routes);
    sv_free(p);
    return err;
}

/**
 * A reload: take the routes, Record-Route choice, timer C, transaction bound and message cap
 * of @p conf; its name, domain and listeners are ignored (they need a restart). Transactions
 * in progress keep the targets they have.
 * @return 0, EINVAL or ENOMEM (then nothing changed)
 */
int proxy_conf_update(struct proxy *p, const struct proxy_conf *conf)
{
    struct proxy_route *routes = NULL;
    size_t outsz;
    char *out = NULL;

    if (!p || !conf || (conf->nroutes && !conf->routes))
        return EINVAL;
    outsz = (conf->max_msg ? conf->max_msg : 65536) + 4096;
    if (conf->nroutes && !(routes = sv_calloc(conf->nroutes, sizeof(*routes))))
        return ENOMEM;
    if (outsz != p->outsz && !(out = sv_malloc(outsz))) {
        sv_free(routes);
        return ENOMEM;
    }
    if (conf->nroutes)
        memcpy(routes, conf->routes, conf->nroutes * sizeof(*routes));
    sv_free(p->routes);
    p->routes = routes;
    p->nroutes = conf->nroutes;
    if (out) {
        sv_free(p->out);
        p->out = out;
        p->outsz = outsz;
    }
    p->rr = conf->record_route;
    p->timer_c_ms = conf->timer_c_ms ? conf->timer_c_ms : TIMER_C_DEFAULT_MS;
    p->max_txns = conf->max_txns ? conf->max_txns : MAX_TXNS_DEFAULT;
    return 0;
}

/** A reload: new T1, T2, T4 for what starts from now on. @return 0 or EINVAL (unchanged). */
int proxy_timers_set(struct proxy *p, const struct txn_timers *tm)
{
    int err = txn_layer_timers_set(p->l, tm);

    if (!err)
        p->tm = *tm;
    return err;
}

/** Free @p p (NULL is fine): its transactions end silently first. */
void proxy_free(struct proxy *p)
{
    if (!p)
        return;
    /* the layer ends its transactions without tu->terminated: drop their references here */
    txn_layer_free(p->l);
    while (p->origins) { /* their callers are going too: code 0 lets them free their arg */
        struct origin *o = p->origins;
        p->origins = o->next;
        if (!o->reported)
            o->done(o->arg, 0, NULL);
        sv_free(o);
    }
    while (p->live) {
        struct pctx *pc = p->live;
        while (sv_nrefs(pc) > 1)
            sv_deref(pc);
        sv_deref(pc); /* the destructor unlinks it */
    }
    sv_free(p->out);
    sv_free(p->ltext);
    sv_free(p->lsn);
    sv_free(p->routes);
    sv_free(p);
}

/** Install the pipeline's hooks (NULL: none). */
void proxy_route_hook_set(struct proxy *p, proxy_route_h *h, void *arg)
{
    p->route_h = h;
    p->route_arg = arg;
}

void proxy_hooks_set(struct proxy *p, const struct proxy_hooks *h)
{
    if (h)
        p->hooks = *h;
    else
        memset(&p->hooks, 0, sizeof(p->hooks));
}

/**
 * Feed one received message to the proxy's transaction layer.
 * @param p     the proxy
 * @param msg   parsed
 * @param flow  where it came from
 */
void proxy_recv(struct proxy *p, const struct sip_msg *msg, const struct net_flow *flow)
{
    txn_layer_recv(p->l, msg, flow);
}

/**
 * Stop taking new work: from now on a new request gets 503 with Retry-After, while
 * transactions in progress, their retransmissions, CANCELs and ACKs carry on (SIGTERM).
 */
void proxy_drain(struct proxy *p)
{
    p->draining = true;
}

/**
 * A connection of the node's transport closed: fail the branches waiting on it.
 * @param p     the proxy
 * @param conn  the connection (compared only)
 * @param err   why; 0 for an orderly close, which changes nothing
 */
void proxy_conn_closed(struct proxy *p, const struct net_conn *conn, int err)
{
    if (p)
        txn_layer_conn_closed(p->l, conn, err);
}

struct sv_wheel *proxy_wheel(const struct proxy *p)
{
    return p->wheel;
}

struct txn_layer *proxy_txn_layer(const struct proxy *p)
{
    return p->l;
}

const struct proxy_stats *proxy_stats_get(const struct proxy *p)
{
    return &p->stats;
}
