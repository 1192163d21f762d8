/**
 * @file service.c  The privacy service of one node in the proxy pipeline (privacy_service.h).
 *
 * The engine (decide.c, policy.c) decides; this file finds out what it needs and carries out
 * what it says. Per request and target: the trust of the ingress peer and of the next hop,
 * the session case, the dialog's stored rules, the served subscriber, whether LI is
 * concerned; then the LI record (before anything is removed), the edits or the refusal, and
 * the dialog's rules stored or ended. Per response: the same with the request's context,
 * which the request hook leaves in the branch's cookie.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sipveil/privacy_dialog.h>
#include <sipveil/privacy_li.h>
#include <sipveil/privacy_service.h>

#define MOD "privacy"

/* The cookie a request leaves for the responses of its branch. */
enum {
    CK_SET = 1u << 0,
    CK_TERM = 1u << 1,       /* terminating session case */
    CK_IN_TRUSTED = 1u << 2, /* the request came from a trusted peer: its responses go there */
    CK_CREATES = 1u << 3,    /* a dialog-creating request */
    CK_PERF_SHIFT = 8,       /* SIP_PRIV_ID/USER performed on the request */
    /* The request's dialog rules, so that its responses need no lookup in the shared store:
       they carry the same Call-ID and tags. */
    CK_DLG = 1u << 4,     /* the request belongs to a private dialog (found or created) */
    CK_ANON_TO = 1u << 5, /* ... whose anonymous party's tag is the To tag (else From) */
    CK_LI = 1u << 6,      /* ... of an LI target */
    CK_DLG_SHIFT = 16,    /* ... whose functions (SIP_PRIV_ID/USER) are here */
};

/* Stored with a dialog's functions: the dialog is an LI target's, whatever later messages say
 * (their headers may no longer name the target). */
#define DLG_LI (1u << 15)

struct privsvc {
    struct privsvc_conf c;
    struct privsvc_stats st;
    struct privsvc_lookup lk; /* registrations (issue 5); zero: none */
    struct privacy_subscriber found; /* what the last lookup found, valid for one hook call */
    char reason[96]; /* the last refusal's reason: the proxy copies it at once */
};

void privsvc_lookup_set(struct privsvc *s, const struct privsvc_lookup *l)
{
    if (l)
        s->lk = *l;
    else
        memset(&s->lk, 0, sizeof(s->lk));
}

/* ---------------------------------------------------------------------------------------- */
/* Trust                                                                                      */

int privsvc_cidr_parse(const char *s, struct privsvc_peer *peer)
{
    char host[64], hp[80];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    long prefix = -1;

    if (!hl || hl >= sizeof(host))
        return EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:0" : "%s:0", host);
    if (net_addr_parse(&peer->net, hp))
        return EINVAL;
    int max = peer->net.ss.ss_family == AF_INET ? 32 : 128;
    if (slash) {
        char *end;
        prefix = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || prefix < 0 || prefix > max)
            return EINVAL;
    }
    peer->prefix = (uint8_t)(prefix < 0 ? max : prefix);
    return 0;
}

static const uint8_t *addr_bytes(const struct net_addr *a, size_t *n)
{
    if (a->ss.ss_family == AF_INET) {
        *n = 4;
        return (const uint8_t *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
    }
    *n = 16;
    return (const uint8_t *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
}

static bool cidr_match(const struct privsvc_peer *p, const struct net_addr *a)
{
    size_t na, nb;
    const uint8_t *x, *y;
    unsigned bits = p->prefix;

    if (p->net.ss.ss_family != a->ss.ss_family)
        return false;
    x = addr_bytes(&p->net, &na);
    y = addr_bytes(a, &nb);
    for (size_t i = 0; bits && i < na; i++) {
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if ((x[i] ^ y[i]) & mask)
            return false;
        bits = bits >= 8 ? bits - 8 : 0;
    }
    return true;
}

bool privsvc_trusts(const struct privsvc *s, enum net_tp tp, const struct net_addr *a, int listener,
                    const struct net_conn *conn)
{
    if (listener >= 0 && (size_t)listener < s->c.nfaces && s->c.untrusted_face[listener])
        return false;
    for (size_t i = 0; i < s->c.npeers; i++) {
        const struct privsvc_peer *p = &s->c.peers[i];
        if (!cidr_match(p, a) || (p->port && p->port != net_addr_port(a)) ||
            (p->transport >= 0 && p->transport != (int)tp))
            continue;
        if (p->subject && *p->subject) {
            const char *subj = conn ? net_conn_peer_subject(conn) : NULL;
            if (!subj || !strstr(subj, p->subject))
                continue;
        }
        return p->trusted;
    }
    return false; /* R55: unknown peers are untrusted */
}

/* ---------------------------------------------------------------------------------------- */
/* What the engine needs                                                                      */

/* The session case of a request at an S-CSCF or AS: `orig` on the top Route (3GPP TS 24.229
 * puts it in the Service-Route the P-CSCF uses). At the P-CSCF: originating when it comes from
 * an untrusted peer (its UE) and goes into T. R26 spares only such UE -> network requests; one
 * that leaves toward an untrusted hop as well must meet the last-hop privacy service (R59 is
 * per branch). It happens inside a dialog: when the UE listener comes first, the node's only
 * Record-Route names it, so the core sends its in-dialog requests there, and taking them for
 * the UE's own would forward a `user` request's identity headers to the UE untouched. */
static enum privacy_dir session_case(const struct privsvc *s, const struct sip_msg *m,
                                     bool in_trusted, bool out_trusted)
{
    const struct sip_hdr *h;
    struct sv_slice cur, pcur;
    struct sip_addr ad;
    struct sip_param prm;

    if (s->c.role == PRIVACY_ROLE_PCSCF)
        return in_trusted || !out_trusted ? PRIVACY_DIR_TERM : PRIVACY_DIR_ORIG;
    if (!(h = sip_msg_hdr(m, SIP_HDR_ROUTE)))
        return PRIVACY_DIR_TERM;
    cur = h->value;
    if (sip_addr_next(&cur, &ad))
        return PRIVACY_DIR_TERM;
    pcur = ad.uri.params;
    while (sip_param_next(&pcur, &prm) == 0)
        if (sv_slice_caseeq_cstr(prm.name, "orig"))
            return PRIVACY_DIR_ORIG;
    return PRIVACY_DIR_TERM;
}

/* The statically served subscriber at the UE's address, for the originating P-CSCF. */
static const struct privacy_subscriber *subscriber(struct privsvc *s, enum net_tp tp,
                                                   const struct net_addr *ue, struct sv_arena *ar)
{
    if (s->lk.by_flow && s->lk.by_flow(s->lk.arg, tp, ue, ar, &s->found) == 0)
        return &s->found;
    for (size_t i = 0; i < s->c.nsubs; i++) {
        const struct privsvc_subscriber *e = &s->c.subs[i];
        struct net_addr a = *ue;
        if (!net_addr_port(&e->flow)) {
            if (a.ss.ss_family == AF_INET)
                ((struct sockaddr_in *)&a.ss)->sin_port = 0;
            else
                ((struct sockaddr_in6 *)&a.ss)->sin6_port = 0;
        }
        if (net_addr_eq(&e->flow, &a))
            return &e->sub;
    }
    return NULL;
}

/* The served user of an originating request at an S-CSCF, AS or PS: the subscriber one of whose
 * identities the (trusted) P-Asserted-Identity names (R46, R51: identity blocking on its
 * behalf). Only an asserted identity counts: From is whatever the UE wrote. */
static const struct privacy_subscriber *served_user(struct privsvc *s, const struct sip_msg *m,
                                                    struct sv_arena *a)
{
    for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY); h;
         h = sip_msg_hdr_next(m, h)) {
        struct sv_slice cur = h->value;
        struct sip_addr ad;
        while (sip_addr_next(&cur, &ad) == 0) {
            if (s->lk.by_impu && s->lk.by_impu(s->lk.arg, &ad.uri, a, &s->found) == 0)
                return &s->found;
            for (size_t i = 0; i < s->c.nsubs; i++) {
                const struct privacy_subscriber *sub = &s->c.subs[i].sub;
                for (size_t k = 0; k < sub->nimpus; k++) {
                    struct sip_uri u;
                    if (sip_uri_decode(&u, sub->impus[k]) == 0 && sip_uri_equal(&u, &ad.uri))
                        return sub;
                }
            }
        }
    }
    return NULL;
}

static bool creates_dialog(const struct sip_msg *m)
{
    return m->req && !sv_slice_isset(m->to.tag) &&
           (m->mid == SIP_METHOD_INVITE || m->mid == SIP_METHOD_SUBSCRIBE ||
            m->mid == SIP_METHOD_REFER);
}

/* A SUBSCRIBE with Expires: 0, or a NOTIFY whose subscription is terminated. */
static bool ends_subscription(const struct sip_msg *m)
{
    const struct sip_hdr *h;

    if (m->mid == SIP_METHOD_SUBSCRIBE && (h = sip_msg_hdr(m, SIP_HDR_EXPIRES)))
        return h->value.l == 1 && h->value.p[0] == '0';
    if (m->mid == SIP_METHOD_NOTIFY && (h = sip_msg_hdr(m, SIP_HDR_SUBSCRIPTION_STATE)))
        return h->value.l >= 10 && strncasecmp(h->value.p, "terminated", 10) == 0;
    return false;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The LI record of @p m before any edit. @return 0, or an errno: then nothing may go on. */
static int li_record(struct privsvc *s, const struct sip_msg *m, const struct net_addr *src,
                     unsigned performed)
{
    struct li_record r;
    char where[80];
    int err;

    memset(&r, 0, sizeof(r));
    r.node = s->c.node;
    r.msg = m;
    r.source = src ? net_addr_str(src, where, sizeof(where)) : NULL;
    r.performed = performed;
    r.time_ms = wall_ms();
    /* LI keeps no counter here, not even in the service's stats: a count would tell whoever
       reads the metrics that a target is active. The sink raises the alarm itself (the path
       and the error, at most once a second, never record content). */
    err = li_sink_write(s->c.li, &r);
    return err;
}

int privsvc_li_local(struct privsvc *s, const struct sip_msg *m, const struct net_addr *src,
                     unsigned performed)
{
    if (!s || !m || !s->c.li || !s->c.li_targets || !li_targets_match(s->c.li_targets, m))
        return 0;
    return li_record(s, m, src, performed);
}

/* Ask the engine about @p m and carry out what does not depend on the direction. The dialog's
 * rules come from the shared store when @p lookup is set, into the caller's @p dlg, which
 * in->dialog then points to: the caller reads them after this returns (the cookie), so they
 * must outlive this frame (they once lived in it: a dangling pointer that a call in between
 * could overwrite, and a response then lost its dialog's rules, seen as a rare privacy/leak
 * failure under TSan). Without @p lookup the caller has set in->dialog (and in->li_target)
 * itself, or knows there are none. */
static int decide(struct privsvc *s, struct privacy_input *in, const struct net_addr *src,
                  struct sip_edits *ed, struct privacy_verdict *v, bool lookup,
                  struct privacy_dialog *dlg)
{
    const struct sip_msg *m = in->msg;
    struct privdlg_found found;
    int err;

    if (lookup && s->c.dialogs && sv_slice_isset(m->callid) &&
        privdlg_find(s->c.dialogs, m->callid, m->from.tag, m->to.tag, sv_now_ms(), &found)) {
        *dlg = privdlg_found_dialog(&found, m->from.tag, m->to.tag);
        dlg->funcs &= SIP_PRIV_ID | SIP_PRIV_USER;
        in->dialog = dlg;
        in->li_target = s->c.li && (found.funcs & DLG_LI);
        s->st.dialog_hits++;
    }
    if (s->c.li && s->c.li_targets && !in->li_target)
        in->li_target = li_targets_match(s->c.li_targets, m);
    s->st.decided++;
    err = privacy_decide(in, ed, v);
    if (err)
        return err;
    if (v->flags & PRIVACY_F_PAI_UNTRUSTED)
        s->st.pai_removed_untrusted++;
    if (v->flags & PRIVACY_F_PAI_INVALID) {
        s->st.pai_invalid++;
        sv_log(SV_LOG_NOTICE, MOD, "node %s: an invalid P-Asserted-Identity set was removed",
               s->c.node);
    }
    if (v->code) {
        s->st.refused++;
        return 0;
    }
    if (v->performed & SIP_PRIV_ID)
        s->st.performed_id++;
    if (v->performed & SIP_PRIV_USER)
        s->st.performed_user++;
    if ((v->flags & PRIVACY_F_LI_EVENT) && s->c.li && li_record(s, m, src, v->performed)) {
        v->code = 500;
        snprintf(v->reason, sizeof(v->reason), "Server Internal Error");
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Hooks                                                                                      */

static int on_request(void *arg, const struct sip_msg *req, struct proxy_hop *hop,
                      struct sip_edits *ed, uint16_t *code, const char **reason)
{
    struct privsvc *s = arg;
    struct privacy_input in;
    struct privacy_verdict v;
    bool in_trusted = privsvc_trusts(s, hop->in_tp, &hop->in_addr, hop->in_listener, hop->in_conn);
    int err;

    memset(&in, 0, sizeof(in));
    in.msg = req;
    in.role = s->c.role;
    in.ingress_trusted = in_trusted;
    in.egress_trusted = privsvc_trusts(s, hop->out_tp, &hop->out_addr, -1, NULL);
    in.dir = session_case(s, req, in_trusted, in.egress_trusted);
    /* leave toward an untrusted hop from a listener facing it, toward T from a core one, so
       that each side's Record-Route and Via name the listener facing it (RFC 5658) and its
       in-dialog requests arrive on the right face */
    hop->out_face = in.egress_trusted ? 0 : 1;
    in.knobs = &s->c.knobs;
    struct privacy_knobs face_knobs;
    if (s->c.face_policy && hop->in_listener >= 0 && (size_t)hop->in_listener < s->c.nfaces &&
        s->c.face_policy[hop->in_listener] >= 0) {
        face_knobs = s->c.knobs; /* R68-R72: the edge's policy per ingress face */
        face_knobs.li_reject_policy = (enum privacy_li_policy)s->c.face_policy[hop->in_listener];
        in.knobs = &face_knobs;
    }
    if (s->c.role == PRIVACY_ROLE_PCSCF && in.dir == PRIVACY_DIR_ORIG)
        in.sub = subscriber(s, hop->in_tp, &hop->in_addr, ed->arena);
    else if (s->c.role != PRIVACY_ROLE_PCSCF && s->c.role != PRIVACY_ROLE_EDGE &&
             in.dir == PRIVACY_DIR_ORIG && in_trusted)
        in.sub = served_user(s, req, ed->arena);
    /* only a request inside a dialog (To tag) can find rules stored for it */
    struct privacy_dialog dlg;
    err = decide(s, &in, &hop->in_addr, ed, &v, sv_slice_isset(req->to.tag), &dlg);
    if (err) {
        /* never forward what could not be decided */
        *code = 500;
        *reason = "Server Internal Error (privacy could not be decided)";
        return 1;
    }
    if (v.code) {
        memcpy(s->reason, v.reason, sizeof(s->reason));
        s->reason[sizeof(s->reason) - 1] = '\0';
        *code = v.code;
        *reason = s->reason;
        return 1;
    }
    hop->cookie = CK_SET | (in.dir == PRIVACY_DIR_TERM ? CK_TERM : 0) |
                  (in_trusted ? CK_IN_TRUSTED : 0) | (creates_dialog(req) ? CK_CREATES : 0) |
                  (v.performed & (SIP_PRIV_ID | SIP_PRIV_USER)) << CK_PERF_SHIFT;
    if (in.dialog) { /* found: its responses get the same rules */
        hop->cookie |= CK_DLG | (in.li_target ? CK_LI : 0) | in.dialog->funcs << CK_DLG_SHIFT |
                       (in.dialog->anon_tag.p == req->to.tag.p ? CK_ANON_TO : 0);
    } else if (creates_dialog(req) && (v.performed & (SIP_PRIV_ID | SIP_PRIV_USER))) {
        hop->cookie |= CK_DLG | (in.li_target ? CK_LI : 0) |
                       (v.performed & (SIP_PRIV_ID | SIP_PRIV_USER)) << CK_DLG_SHIFT;
    }
    sv_log(SV_LOG_DEBUG, MOD, "node %s: %.*s %s, %s, dialog rules %s, performed %#x", s->c.node,
           SV_FMT(req->method), in.dir == PRIVACY_DIR_TERM ? "terminating" : "originating",
           in_trusted ? "from trusted" : "from untrusted",
           in.dialog ? "found" : creates_dialog(req) ? "new" : "none", v.performed);
    if (s->c.dialogs && creates_dialog(req) && (v.performed & (SIP_PRIV_ID | SIP_PRIV_USER))) {
        unsigned funcs =
            (v.performed & (SIP_PRIV_ID | SIP_PRIV_USER)) | (in.li_target ? DLG_LI : 0);
        err = privdlg_put(s->c.dialogs, req->callid, req->from.tag, funcs, sv_now_ms());
        if (err) {
            /* later messages of the dialog could not get the rules: do not start it */
            s->st.dialog_full++;
            *code = 503;
            *reason = "Service Unavailable (privacy dialog table full)";
            return 1;
        }
        s->st.dialogs_stored++;
    }
    if (s->c.dialogs && req->mid == SIP_METHOD_BYE)
        privdlg_end(s->c.dialogs, req->callid, req->from.tag, req->to.tag, sv_now_ms());
    else if (s->c.dialogs && ends_subscription(req))
        privdlg_end(s->c.dialogs, req->callid, req->from.tag, req->to.tag, sv_now_ms());
    return 0;
}

static int on_response(void *arg, const struct sip_msg *resp, const struct proxy_hop *hop,
                       struct sip_edits *ed)
{
    struct privsvc *s = arg;
    struct privacy_input in;
    struct privacy_verdict v;
    bool out_trusted;

    /* the response goes back where the request came from: the cookie knows how trusted that
       was; a response without a transaction is judged by its upstream address */
    out_trusted = (hop->cookie & CK_SET) ? (hop->cookie & CK_IN_TRUSTED) != 0
                                         : privsvc_trusts(s, hop->out_tp, &hop->out_addr, -1, NULL);
    memset(&in, 0, sizeof(in));
    in.msg = resp;
    in.role = s->c.role;
    if (hop->cookie & CK_SET)
        in.dir = (hop->cookie & CK_TERM) ? PRIVACY_DIR_TERM : PRIVACY_DIR_ORIG;
    else
        in.dir =
            s->c.role == PRIVACY_ROLE_PCSCF && !out_trusted ? PRIVACY_DIR_ORIG : PRIVACY_DIR_TERM;
    in.ingress_trusted = privsvc_trusts(s, hop->in_tp, &hop->in_addr, -1, NULL);
    in.egress_trusted = out_trusted;
    in.knobs = &s->c.knobs;
    /* R78: a response of the P-CSCF's own UE carries the identity the P-CSCF asserts for it,
       as its requests do (R27); the engine asserts only when it knows the subscriber */
    if (s->c.role == PRIVACY_ROLE_PCSCF && !in.ingress_trusted)
        in.sub = subscriber(s, hop->in_tp, &hop->in_addr, ed->arena);
    /* The dialog's rules: those its request found or created (the cookie); the store only for
       a response forwarded without a transaction. */
    struct privacy_dialog dlg;
    if ((hop->cookie & (CK_SET | CK_DLG)) == (CK_SET | CK_DLG)) {
        dlg.funcs = (hop->cookie >> CK_DLG_SHIFT) & (SIP_PRIV_ID | SIP_PRIV_USER);
        dlg.anon_tag = (hop->cookie & CK_ANON_TO) ? resp->to.tag : resp->from.tag;
        in.dialog = &dlg;
        in.li_target = s->c.li && (hop->cookie & CK_LI);
    }
    if (decide(s, &in, &hop->in_addr, ed, &v, !(hop->cookie & CK_SET), &dlg) || v.code)
        return 1; /* a response cannot be answered: it is not forwarded */
    sv_log(SV_LOG_DEBUG, MOD, "node %s: %u to %.*s %s, %s, dialog rules %s, performed %#x",
           s->c.node, resp->scode, SV_FMT(resp->cseq.method),
           (hop->cookie & CK_SET) ? "in its transaction" : "without a transaction",
           out_trusted ? "to trusted" : "to untrusted", in.dialog ? "applied" : "none",
           v.performed);
    /* The creating request's final answer: a 2xx confirms the dialog's rules; a failure
       (from any branch of a fork) starts their linger, unless a 2xx confirmed them already:
       the 487 of a cancelled branch must not end the answered branch's rules. */
    unsigned perf = (hop->cookie >> CK_PERF_SHIFT) & (SIP_PRIV_ID | SIP_PRIV_USER);
    if (s->c.dialogs && (hop->cookie & CK_CREATES) && perf && resp->scode >= 200) {
        if (resp->scode < 300)
            privdlg_confirm(s->c.dialogs, resp->callid, resp->from.tag, perf, sv_now_ms());
        else
            privdlg_fail(s->c.dialogs, resp->callid, resp->from.tag, sv_now_ms());
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Life cycle                                                                                 */

int privsvc_alloc(struct privsvc **sp, const struct privsvc_conf *c)
{
    struct privsvc *s;

    if (!sp || !c || c->role > PRIVACY_ROLE_PS || (c->npeers && !c->peers) ||
        (c->nfaces && !c->untrusted_face) || (c->nsubs && !c->subs))
        return EINVAL;
    if (!(s = sv_calloc(1, sizeof(*s))))
        return ENOMEM;
    s->c = *c;
    if (!s->c.node)
        s->c.node = "-";
    if (!s->c.dialogs) /* R76: without dialog state, `user` cannot be kept for the dialog */
        s->c.knobs.performable_priv_values &= ~(unsigned)SIP_PRIV_USER;
    *sp = s;
    return 0;
}

void privsvc_free(struct privsvc *s)
{
    sv_free(s);
}

int privsvc_conf_update(struct privsvc *s, const struct privsvc_conf *c)
{
    if (!s || !c || c->role != s->c.role || (c->npeers && !c->peers) ||
        (c->nfaces && !c->untrusted_face) || (c->nsubs && !c->subs))
        return EINVAL;
    struct privdlg_store *dialogs = s->c.dialogs;
    struct li_sink *li = s->c.li;
    const char *node = s->c.node;
    s->c = *c;
    s->c.node = node;
    s->c.dialogs = dialogs;
    s->c.li = li;
    if (!s->c.dialogs)
        s->c.knobs.performable_priv_values &= ~(unsigned)SIP_PRIV_USER;
    return 0;
}

void privsvc_hooks(struct privsvc *s, struct proxy_hooks *h)
{
    memset(h, 0, sizeof(*h));
    h->request = on_request;
    h->response = on_response;
    h->arg = s;
}

const struct privsvc_stats *privsvc_stats_get(const struct privsvc *s)
{
    return &s->st;
}
