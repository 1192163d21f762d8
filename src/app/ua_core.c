/**
 * @file ua_core.c  The engine of `sipveil ua`: one event loop, one transport instance and one
 * transaction layer, driven synchronously. A command runs the loop until the condition it
 * waits for (a final response, the end of a hold, the listen count) or until the command's
 * deadline, so that cmd_ua.c reads as the sequence of steps a UE takes.
 *
 * The UE's own address is one listener on --local: a UDP socket for UDP (requests leave from
 * it, so the P-CSCF sees the flow that registered), a TCP listener for TCP (requests go over
 * the connection net_send opens to the P-CSCF and keeps reusing; a P-CSCF that opens its own
 * connection to the Contact finds the listener). Over TLS there is no listener (a UE has no
 * server certificate): the UE's address is that of its connection to the P-CSCF, which
 * carries its requests both ways (see tls_connect).
 *
 * Output (stdout, line-buffered): "> START-LINE" for what the UE sends, "< START-LINE" and
 * the identity-bearing header lines, as received, for what it receives. Retransmissions are
 * absorbed by the transaction layer and never printed. Nothing identifying goes to the log
 * (stderr) above debug level.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <sipveil/txn.h>
#include "app.h"
#include "ua.h"
#include "ua_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Output                                                                                     */

static const enum sip_hdr_id shown[] = {
    SIP_HDR_FROM,
    SIP_HDR_TO,
    SIP_HDR_P_ASSERTED_IDENTITY,
    SIP_HDR_P_PREFERRED_IDENTITY,
    SIP_HDR_PRIVACY,
    SIP_HDR_P_ASSOCIATED_URI,
    SIP_HDR_SERVICE_ROUTE,
    SIP_HDR_CONTACT,
    SIP_HDR_CALL_ID,
};

/* A received message: its start line, then the identity-bearing lines exactly as received. */
void ua__show(const struct sip_msg *m)
{
    printf("< %.*s\n", SV_FMT(m->start));
    for (size_t i = 0; i < SV_ARRAY_SIZE(shown); i++) {
        for (const struct sip_hdr *h = sip_msg_hdr(m, shown[i]); h; h = sip_msg_hdr_next(m, h)) {
            struct sv_slice line = sv_slice_make(m->raw.p + h->off, h->len);
            while (line.l && (line.p[line.l - 1] == '\n' || line.p[line.l - 1] == '\r'))
                line.l--;
            printf("  %.*s\n", SV_FMT(line));
        }
    }
}

/* What the UE sends: "> METHOD URI" of a request (without the version), or the status line
   of a response. */
void ua__show_sent(const char *buf, size_t len)
{
    const char *e = memchr(buf, '\r', len);
    size_t l = e ? (size_t)(e - buf) : len;

    if (l > 8 && memcmp(buf + l - 8, " SIP/2.0", 8) == 0)
        l -= 8;
    printf("> %.*s\n", (int)l, buf);
}

/* ---------------------------------------------------------------------------------------- */
/* The loop                                                                                   */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg; /* it only wakes the loop, which runs the wheel */
}

/* Run the loop until *@p flag or @p until (monotonic ms). @return 0 or ETIMEDOUT. */
int ua__run_until(struct ua *u, const bool *flag, uint64_t until)
{
    if (until > u->deadline)
        until = u->deadline;
    while (!flag || !*flag) {
        uint64_t now = sv_now_ms(), ms;
        struct timeval tv;

        sv_wheel_run(u->wheel, now);
        if (flag && *flag)
            break;
        if (now >= until)
            return ETIMEDOUT;
        ms = sv_wheel_next_ms(u->wheel);
        if (ms > LOOP_CAP_MS)
            ms = LOOP_CAP_MS;
        if (ms > until - now)
            ms = until - now;
        tv.tv_sec = (time_t)(ms / 1000);
        tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
        evtimer_add(u->tick, &tv);
        event_base_loop(u->base, EVLOOP_ONCE);
    }
    return 0;
}

static int frame(const char *buf, size_t len, bool stream, size_t *msg_len, const char **reason)
{
    struct sip_perr perr = {0};
    int err =
        sip_frame(buf, len, stream ? SIP_STREAM : SIP_DGRAM, &sip_limits_default, msg_len, &perr);

    if (err && err != ENODATA && reason)
        *reason = perr.reason;
    return err;
}

static void on_recv(const struct net_flow *flow, const char *buf, size_t len, void *arg)
{
    struct ua *u = arg;
    struct sv_arena arena;
    struct sip_msg *msg = NULL;
    struct sip_perr perr = {0};

    sv_wheel_run(u->wheel, sv_now_ms()); /* timers started below count from now */
    sv_arena_init(&arena, u->arena_block, sizeof(u->arena_block));
    if (sip_msg_parse(&msg, &arena, buf, len, flow->tp == NET_UDP ? SIP_DGRAM : SIP_STREAM,
                      &sip_limits_default, &perr) == 0)
        txn_layer_recv(u->tl, msg, flow);
    else
        sv_log(SV_LOG_WARN, MOD, "dropped a malformed message (%s)",
               perr.reason ? perr.reason : "unparsable");
    sv_arena_close(&arena);
}

static void on_close(struct net_conn *conn, int err, void *arg)
{
    struct ua *u = arg;

    if (err) {
        u->conn_failed = true;
        u->conn_err = err;
    }
    txn_layer_conn_closed(u->tl, conn, err);
}

static int send_plain(void *ctx, enum net_tp tp, const struct net_addr *dst,
                      const struct net_flow *flow, const char *buf, size_t len)
{
    struct ua *u = ctx;

    return net_send(u->net, tp, dst, flow, buf, len, NULL);
}

static int send_flow(void *ctx, enum net_tp tp, const struct net_addr *dst,
                     const struct net_flow *flow, const char *buf, size_t len,
                     struct net_flow *used)
{
    struct ua *u = ctx;

    return net_send(u->net, tp, dst, flow, buf, len, used);
}

/* ---------------------------------------------------------------------------------------- */
/* Client requests                                                                            */

/* Copy a slice into a fixed buffer, cut to fit. */
void ua__scopy(char *dst, size_t sz, struct sv_slice s)
{
    size_t l = s.l < sz - 1 ? s.l : sz - 1;

    if (l)
        memcpy(dst, s.p, l);
    dst[l] = '\0';
}

/* Append @p s to the list in @p dst (", " between values), unless it does not fit. */
static void list_add(char *dst, size_t sz, struct sv_slice s)
{
    size_t n = strlen(dst);

    if (n + 2 + s.l + 1 > sz)
        return;
    if (n) {
        memcpy(dst + n, ", ", 2);
        n += 2;
    }
    memcpy(dst + n, s.p, s.l);
    dst[n + s.l] = '\0';
}

/* The final response of a request: what the next steps need from it. */
static void creq_take(struct creq *cr, const struct sip_msg *m)
{
    const struct sip_hdr *h;
    struct sip_addr ad;
    struct sv_slice cur;
    struct sv_slice rr[16];
    size_t nrr = 0;

    cr->status = m->scode;
    h = sip_msg_hdr(m, SIP_HDR_TO);
    ua__scopy(cr->rto, sizeof(cr->rto), h ? h->value : SV_LIT(""));
    cr->rcontact[0] = cr->rroute[0] = cr->service_route[0] = '\0';
    if ((h = sip_msg_hdr(m, SIP_HDR_CONTACT))) {
        struct sip_contact c;
        cur = h->value;
        if (sip_contact_next(&cur, &c) == 0 && !c.star)
            ua__scopy(cr->rcontact, sizeof(cr->rcontact), c.addr.uri_s);
    }
    /* The route set of a UAC is the Record-Route in reverse (RFC 3261 §12.1.2). */
    for (h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE); h; h = sip_msg_hdr_next(m, h))
        for (cur = h->value; nrr < SV_ARRAY_SIZE(rr) && sip_addr_next(&cur, &ad) == 0;)
            rr[nrr++] = ad.raw;
    while (nrr)
        list_add(cr->rroute, sizeof(cr->rroute), rr[--nrr]);
    for (h = sip_msg_hdr(m, SIP_HDR_SERVICE_ROUTE); h; h = sip_msg_hdr_next(m, h))
        for (cur = h->value; sip_addr_next(&cur, &ad) == 0;)
            list_add(cr->service_route, sizeof(cr->service_route), ad.raw);
    h = sip_msg_hdr(m, SIP_HDR_SIP_ETAG);
    ua__scopy(cr->etag, sizeof(cr->etag), h ? sv_slice_trim(h->value) : SV_LIT(""));
    cr->min_expires = 0;
    if ((h = sip_msg_hdr(m, SIP_HDR_MIN_EXPIRES)))
        (void)sip_uint_decode(&cr->min_expires, h->value, UINT32_MAX);
    cr->nchal = 0;
    cr->chal_proxy = m->scode == 407;
    for (h = sip_msg_hdr(m,
                         m->scode == 407 ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE);
         h && cr->nchal < MAX_CHAL; h = sip_msg_hdr_next(m, h))
        ua__scopy(cr->chal[cr->nchal++], sizeof(cr->chal[0]), h->value);
}

static void on_response(struct txn *ct, const struct sip_msg *m, void *owner)
{
    struct creq *cr = owner;
    struct ua *u;

    if (!cr || cr->ct != ct)
        return;
    if (cr->done) {
        /* A retransmitted 2xx to our INVITE: the ACK was lost (RFC 3261 §13.2.2.4). */
        if (m->scode / 100 == 2 && cr->ackn) {
            u = cr->u;
            net_send(u->net, u->c.tp, &u->c.pcscf, NULL, cr->ack, cr->ackn, NULL);
        }
        return;
    }
    ua__show(m);
    if (m->scode < 200)
        return;
    creq_take(cr, m);
    cr->done = true;
}

static void on_failed(struct txn *ct, int err, void *owner)
{
    struct creq *cr = owner;

    if (cr && cr->ct == ct && !cr->done) {
        cr->err = err;
        cr->done = true;
    }
}

static void on_terminated(struct txn *t, void *owner)
{
    struct creq *cr = owner;

    if (cr && cr->ct == t)
        cr->ct = NULL;
}

/* A new request of the UE, linked into its list: the UE owns it until ua_free, since its
   transaction may outlive the command. */
struct creq *ua__creq_new(struct ua *u, const char *method)
{
    struct creq *cr = calloc(1, sizeof(*cr));

    if (!cr)
        return NULL;
    cr->method = method;
    cr->u = u;
    cr->next = u->creqs;
    u->creqs = cr;
    return cr;
}

/* Write @p cr's request (a new branch each time; the privacy rules for all but REGISTER) and
   start its client transaction toward the P-CSCF. */
static int creq_send(struct ua *u, struct creq *cr)
{
    char branch[40], privacy[64], ppi[600];
    struct ua_req r = {0};
    size_t n = 0;
    int err;

    sip_branch_gen(branch, sizeof(branch));
    r.method = cr->method;
    r.ruri = cr->ruri;
    r.via_tp = u->via_tp;
    r.via_hostport = u->hostport;
    r.branch = branch;
    r.from = cr->from;
    r.to = cr->to;
    r.callid = cr->callid;
    r.cseq = cr->cseq;
    r.contact = cr->contact;
    r.route = cr->route;
    r.expires = cr->expires;
    r.auth_hdr = cr->auth_hdr;
    r.auth = cr->auth;
    r.extra = cr->extra;
    r.ctype = cr->ctype;
    r.body = cr->body;
    if (cr->private_rules) {
        if (ua_privacy_print(u->c.privacy, privacy, sizeof(privacy)))
            r.privacy = privacy;
        r.proxy_require_privacy = (u->c.privacy & SIP_PRIV_CRITICAL) != 0;
        if (u->c.ppi) {
            bool angle = u->c.ppi[0] == '<';
            snprintf(ppi, sizeof(ppi), "%s%s%s", angle ? "" : "<", u->c.ppi, angle ? "" : ">");
            r.ppi = ppi;
        }
        if (!ua_privacy_hides(u->c.privacy))
            r.user_agent = "sipveil-ua/" SIPVEIL_VERSION;
    } else {
        r.user_agent = "sipveil-ua/" SIPVEIL_VERSION;
    }
    if ((err = ua_req_print(&r, u->tx, sizeof(u->tx), &n)))
        return err;
    cr->done = false;
    cr->err = 0;
    cr->status = 0;
    cr->ct = NULL;
    if ((err = txn_request(&cr->ct, u->tl, u->tx, n, u->c.tp, &u->c.pcscf, cr)))
        return err;
    ua__show_sent(u->tx, n);
    return 0;
}

/*
 * The credentials for challenge @p ch of @p cr: the UE's own, except for a SUBSCRIBE's
 * challenge in the presentity's realm (the Request-URI), which a rule with a password sent
 * (R102): that one is answered as the user's IMPU with the watcher password, when given.
 */
static const struct ua_cred *creds_for(const struct ua *u, const struct creq *cr,
                                       const struct sip_auth *ch, struct ua_cred *watcher)
{
    if (!u->c.watcher_password || strcmp(cr->method, "SUBSCRIBE") != 0 ||
        !sv_slice_eq(ch->realm, sv_slice_cstr(cr->ruri)))
        return &u->c.cred;
    memset(watcher, 0, sizeof(*watcher));
    watcher->impi = u->c.impu;
    watcher->password = u->c.watcher_password;
    return watcher;
}

/* Answer the challenges of @p cr's last response. @return 0 (answered: send again) or an
   exit status. */
static int creq_authenticate(struct ua *u, struct creq *cr)
{
    struct ua_cred watcher;
    char cnonce[20];
    enum ua_auth_verdict v = UA_AUTH_UNSUPPORTED;
    bool mac_failed = false;

    sip_tag_gen(cnonce, sizeof(cnonce));
    for (unsigned i = 0; i < cr->nchal; i++) {
        struct sip_auth ch;
        if (sip_auth_decode(&ch, sv_slice_cstr(cr->chal[i])))
            continue;
        bool stale = sv_slice_isset(ch.stale) && sv_slice_caseeq_cstr(ch.stale, "true");
        /* Challenged again after an answer, and not because the nonce grew old: the
           credentials are wrong, and answering again would only repeat them. */
        if (cr->answered && !stale) {
            fprintf(stderr, "sipveil ua: %s: the credentials were refused\n", cr->method);
            return UA_EX_FAILED;
        }
        int err = ua_auth_answer(&ch, creds_for(u, cr, &ch, &watcher), cr->method, cr->ruri,
                                 cnonce, 1, cr->auth, sizeof(cr->auth), &v);
        if (err) {
            fprintf(stderr, "sipveil ua: cannot answer the challenge: %s\n", strerror(err));
            return APP_EX_SOFTWARE;
        }
        if (v == UA_AUTH_MAC_FAILED)
            mac_failed = true;
        if (v == UA_AUTH_ANSWERED || v == UA_AUTH_RESYNC) {
            ua__scopy(cr->nonce, sizeof(cr->nonce), ch.nonce);
            break;
        }
    }
    if (v == UA_AUTH_RESYNC)
        fprintf(stderr, "sipveil ua: AKA: sequence number out of range; resynchronising\n");
    if (v == UA_AUTH_ANSWERED || v == UA_AUTH_RESYNC) {
        cr->answered = v == UA_AUTH_ANSWERED;
        cr->auth_hdr = cr->chal_proxy ? "Proxy-Authorization" : "Authorization";
        cr->cseq++;
        return 0;
    }
    if (mac_failed)
        fprintf(stderr, "sipveil ua: AKA: authentication of the network failed (MAC-A does not "
                        "match): the challenge is not from the home network\n");
    else
        fprintf(stderr,
                "sipveil ua: %s: no challenge this UE can answer (scheme, algorithm or "
                "credentials)\n",
                cr->method);
    return UA_EX_FAILED;
}

/*
 * Send @p cr and wait for its final response, answering up to AUTH_ROUNDS challenges.
 * @return APP_EX_OK on 2xx, UA_EX_FAILED, APP_EX_UNAVAILABLE (timeout, transport failure).
 */
int ua__transact(struct ua *u, struct creq *cr)
{
    for (unsigned round = 0;; round++) {
        int err = creq_send(u, cr);
        if (err) {
            fprintf(stderr, "sipveil ua: cannot send %s: %s\n", cr->method, strerror(err));
            return err == ENOSPC ? APP_EX_SOFTWARE : APP_EX_UNAVAILABLE;
        }
        if (ua__run_until(u, &cr->done, UINT64_MAX)) {
            fprintf(stderr, "sipveil ua: %s: no final response within the timeout\n", cr->method);
            return APP_EX_UNAVAILABLE;
        }
        if (cr->err) {
            fprintf(stderr, "sipveil ua: %s failed: %s\n", cr->method,
                    cr->err == ETIMEDOUT ? "no response (transaction timeout)" : strerror(cr->err));
            return APP_EX_UNAVAILABLE;
        }
        if ((cr->status == 401 || cr->status == 407) && cr->nchal && round < AUTH_ROUNDS) {
            int rc = creq_authenticate(u, cr);
            if (rc)
                return rc;
            continue;
        }
        return cr->status / 100 == 2 ? APP_EX_OK : UA_EX_FAILED;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Life cycle                                                                                 */

/*
 * Over TLS the UE's address is that of its connection to the P-CSCF: open it (with a CRLF
 * keep-alive, RFC 5626 §4.4.1, which the P-CSCF answers and otherwise ignores) and wait for
 * the handshake, so that Via and Contact name the address the P-CSCF sees.
 */
static int tls_connect(struct ua *u)
{
    struct net_flow used = {0};
    int err = net_send(u->net, NET_TLS, &u->c.pcscf, NULL, "\r\n\r\n", 4, &used);

    if (!err) {
        while ((err = net_conn_local(used.conn, &u->bound)) == EINPROGRESS && !u->conn_failed)
            if (ua__run_until(u, NULL, sv_now_ms() + 20) && sv_now_ms() >= u->deadline)
                break;
        if (err == EINPROGRESS)
            err = ETIMEDOUT;
        if (u->conn_failed)
            err = u->conn_err;
        net_flow_release(&used);
    }
    if (err)
        fprintf(stderr, "sipveil ua: TLS connection to the P-CSCF failed: %s\n",
                err == EACCES ? "its certificate did not verify (--ca, --insecure)"
                              : strerror(err));
    return err;
}

/**
 * Start the UE: loop, wheel, transport, its listener, the transaction layer.
 * @param up    out: the UE.
 * @param conf  copied; its strings are borrowed.
 * @return 0, or an errno (said on stderr).
 */
int ua_alloc(struct ua **up, const struct ua_conf *conf)
{
    static const struct txn_tu tu = {
        .request = ua__on_request,
        .stray = ua__on_stray,
        .cancel = ua__on_cancel,
        .response = on_response,
        .failed = on_failed,
        .terminated = on_terminated,
    };
    struct ua *u = calloc(1, sizeof(*u));
    char where[80];
    int err = ENOMEM, idx;

    if (!u)
        return ENOMEM;
    u->c = *conf;
    u->deadline = sv_now_ms() + conf->timeout_ms;
    sv_timer_init(&u->pend_timer);
    u->via_tp = net_tp_name(conf->tp);
    ua_uri_user(conf->impu, u->user, sizeof(u->user));
    if (!(u->base = event_base_new()) || !(u->tick = evtimer_new(u->base, on_tick, u)))
        goto fail;
    if ((err = sv_wheel_alloc(&u->wheel, sv_now_ms())) ||
        (err = net_alloc(&u->net, u->base, NULL, frame, on_recv, on_close, u)) ||
        (err = txn_layer_alloc(&u->tl, u->wheel, &txn_timers_default, send_plain, u, &tu, u)))
        goto fail;
    txn_layer_send_flow_set(u->tl, send_flow);
    if (conf->tp == NET_TLS) {
        struct net_tls_conf tc = {.ca_file = conf->ca, .verify_peer = !conf->insecure};
        if ((err = net_tls_client_set(u->net, &tc))) {
            fprintf(stderr, "sipveil ua: TLS: cannot use the CA file %s\n",
                    conf->ca ? conf->ca : "(system store)");
            err = err == ENOMEM ? ENOMEM : ENOENT; /* the caller's exit status 66 */
            goto fail;
        }
        u->bound = conf->local; /* no listener: see the file comment */
    } else {
        idx = net_listen(u->net, conf->tp, &conf->local, NULL, &u->bound);
        if (idx < 0) {
            err = -idx;
            fprintf(stderr, "sipveil ua: cannot bind %s %s: %s\n", net_tp_name(conf->tp),
                    net_addr_str(&conf->local, where, sizeof(where)), strerror(err));
            goto fail;
        }
    }
    if (conf->tp == NET_TLS && (err = tls_connect(u)))
        goto fail;
    net_addr_str(&u->bound, u->hostport, sizeof(u->hostport));
    snprintf(u->host, sizeof(u->host), "%s", u->hostport);
    {
        char *colon = strrchr(u->host, ':');
        if (colon)
            *colon = '\0';
    }
    *up = u;
    return 0;

fail:
    ua_free(u);
    return err;
}

void ua_free(struct ua *u)
{
    if (!u)
        return;
    sv_timer_cancel(&u->pend_timer);
    if (u->tl)
        txn_layer_free(u->tl);
    if (u->pend_st)
        sv_deref(u->pend_st);
    free(u->pend_resp);
    if (u->net)
        net_free(u->net);
    if (u->wheel)
        sv_wheel_free(u->wheel);
    if (u->tick)
        event_free(u->tick);
    if (u->base)
        event_base_free(u->base);
    while (u->creqs) {
        struct creq *cr = u->creqs;
        u->creqs = cr->next;
        free(cr);
    }
    free(u);
}

void ua_deadline_extend(struct ua *u, unsigned ms)
{
    uint64_t now = sv_now_ms();

    u->deadline = (u->deadline > now ? u->deadline : now) + ms;
}

/**
 * Announce readiness: "ready <ip>:<port>" on stdout, and the same address in the ready file
 * (written whole under a temporary name, then renamed, so a reader never sees half of it).
 * @return APP_EX_OK or APP_EX_CANTCREAT.
 */
int ua_ready(struct ua *u)
{
    /* The file first: whoever reads the stdout line may look for the file at once. */
    if (u->c.ready_file) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", u->c.ready_file);
        FILE *f = fopen(tmp, "w");
        bool ok = f && fprintf(f, "%s\n", u->hostport) >= 0;
        if (f && fclose(f) != 0)
            ok = false;
        if (!ok || rename(tmp, u->c.ready_file) != 0) {
            fprintf(stderr, "sipveil ua: cannot write the ready file %s: %s\n", u->c.ready_file,
                    strerror(errno));
            return APP_EX_CANTCREAT;
        }
    }
    printf("ready %s\n", u->hostport);
    fflush(stdout);
    return APP_EX_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Commands                                                                                   */

bool ua_registered(const struct ua *u)
{
    return u->registered;
}

/**
 * REGISTER to sip:DOMAIN from the UE's socket. The Call-ID stays for every REGISTER of the
 * run and the CSeq grows (RFC 3261 §10.2.4). The 200's Service-Route is kept as the route of
 * the requests that follow (RFC 3608).
 * @return an exit status.
 */
int ua_register(struct ua *u, uint32_t expires, bool all)
{
    struct creq *cr = ua__creq_new(u, "REGISTER");
    int rc;

    if (!cr)
        return APP_EX_OSERR;
    if (!u->reg_callid[0]) {
        if (ua_callid_gen(u->host, false, u->reg_callid, sizeof(u->reg_callid)))
            return APP_EX_OSERR;
        sip_tag_gen(u->reg_tag, sizeof(u->reg_tag));
    }
    snprintf(cr->ruri, sizeof(cr->ruri), "sip:%s", u->c.domain);
    snprintf(cr->to, sizeof(cr->to), "<%s>", u->c.impu);
    snprintf(cr->from, sizeof(cr->from), "<%s>;tag=%s", u->c.impu, u->reg_tag);
    snprintf(cr->callid, sizeof(cr->callid), "%s", u->reg_callid);
    cr->cseq = ++u->reg_cseq;
    if (all)
        snprintf(cr->contact, sizeof(cr->contact), "*");
    else if (ua_contact_print(u->user, u->hostport, u->c.tp, ua_privacy_hides(u->c.privacy),
                              cr->contact, sizeof(cr->contact)))
        return APP_EX_SOFTWARE;
    snprintf(cr->expires, sizeof(cr->expires), "%u", (unsigned)expires);
    cr->auth_hdr = "Authorization";
    if (ua_auth_initial(u->c.impi, u->c.domain, cr->ruri, cr->auth, sizeof(cr->auth)))
        return APP_EX_SOFTWARE;
    snprintf(cr->extra, sizeof(cr->extra), "Supported: path\r\n");
    rc = ua__transact(u, cr);
    if (rc == UA_EX_FAILED && cr->status == 423 && cr->min_expires > expires && !all) {
        /* 423 Interval Too Brief: ask again for what the registrar allows (RFC 3261 §10.2.8),
           and keep asking for it on refreshes. */
        fprintf(stderr, "sipveil ua: the registrar wants at least %u s; registering for that\n",
                (unsigned)cr->min_expires);
        expires = u->c.expires = cr->min_expires;
        snprintf(cr->expires, sizeof(cr->expires), "%u", (unsigned)expires);
        cr->cseq++;
        cr->answered = false; /* the credentials passed: a new challenge is no refusal */
        rc = ua__transact(u, cr);
    }
    u->reg_cseq = cr->cseq;
    if (rc == APP_EX_OK) {
        u->reg_at = sv_now_ms();
        u->registered = expires > 0 && !all;
        snprintf(u->service_route, sizeof(u->service_route), "%s",
                 u->registered ? cr->service_route : "");
    }
    return rc;
}

/* The dialog-forming parts of a new request to @p uri: From (anonymous when asked), To,
   Call-ID (without host when private), CSeq 1, the Service-Route as Route. */
int ua__dialog_init(struct ua *u, struct creq *cr, const char *uri)
{
    char tag[24];
    bool hide = ua_privacy_hides(u->c.privacy);

    sip_tag_gen(tag, sizeof(tag));
    snprintf(cr->ruri, sizeof(cr->ruri), "%s", uri);
    snprintf(cr->to, sizeof(cr->to), "<%s>", uri);
    if (ua_from_print(u->c.impu, hide, tag, cr->from, sizeof(cr->from)) ||
        ua_callid_gen(u->host, hide, cr->callid, sizeof(cr->callid)))
        return APP_EX_SOFTWARE;
    cr->cseq = 1;
    snprintf(cr->route, sizeof(cr->route), "%s", u->service_route);
    cr->private_rules = true;
    return APP_EX_OK;
}

int ua_message(struct ua *u, const char *uri, const char *text)
{
    struct creq *cr = ua__creq_new(u, "MESSAGE");
    int rc;

    if (!cr)
        return APP_EX_OSERR;
    if ((rc = ua__dialog_init(u, cr, uri)))
        return rc;
    cr->ctype = "text/plain";
    snprintf(cr->body, sizeof(cr->body), "%s", text);
    return ua__transact(u, cr);
}

int ua_options(struct ua *u, const char *uri)
{
    struct creq *cr = ua__creq_new(u, "OPTIONS");
    int rc;

    if (!cr)
        return APP_EX_OSERR;
    if ((rc = ua__dialog_init(u, cr, uri)))
        return rc;
    snprintf(cr->extra, sizeof(cr->extra), "Accept: application/sdp\r\n");
    return ua__transact(u, cr);
}

/* The ACK of a 2xx to INVITE @p inv: a request of its own, sent without a transaction
   (RFC 3261 §13.2.2.4), kept for the 2xx retransmissions. */
static int send_ack(struct ua *u, struct creq *inv, const char *target)
{
    char branch[40], privacy[64];
    struct ua_req r = {0};
    size_t n = 0;
    int err;

    sip_branch_gen(branch, sizeof(branch));
    r.method = "ACK";
    r.ruri = target;
    r.via_tp = u->via_tp;
    r.via_hostport = u->hostport;
    r.branch = branch;
    r.from = inv->from;
    r.to = inv->rto;
    r.callid = inv->callid;
    r.cseq = inv->cseq;
    r.route = inv->rroute;
    if (ua_privacy_print(u->c.privacy, privacy, sizeof(privacy)))
        r.privacy = privacy;
    if ((err = ua_req_print(&r, inv->ack, sizeof(inv->ack), &n)))
        return err;
    inv->ackn = n;
    ua__show_sent(inv->ack, n);
    return net_send(u->net, u->c.tp, &u->c.pcscf, NULL, inv->ack, n, NULL);
}

/**
 * INVITE with an SDP offer; ACK the 2xx; hold for --hold; BYE.
 * @return APP_EX_OK when the BYE got a 2xx, else the status of the step that failed.
 */
int ua_call(struct ua *u, const char *uri)
{
    struct creq *inv = ua__creq_new(u, "INVITE"), *bye;
    const char *target;
    int rc, err;

    if (!inv)
        return APP_EX_OSERR;
    if ((rc = ua__dialog_init(u, inv, uri)))
        return rc;
    if (ua_contact_print(u->user, u->hostport, u->c.tp, ua_privacy_hides(u->c.privacy),
                         inv->contact, sizeof(inv->contact)) ||
        ua_sdp_print(u->host, MEDIA_PORT, (uint64_t)sv_now_ms(), inv->body, sizeof(inv->body)))
        return APP_EX_SOFTWARE;
    inv->ctype = "application/sdp";
    if ((rc = ua__transact(u, inv)))
        return rc;
    /* The dialog: the remote target is the 2xx's Contact, the route set its Record-Route. */
    target = inv->rcontact[0] ? inv->rcontact : inv->ruri;
    if ((err = send_ack(u, inv, target))) {
        fprintf(stderr, "sipveil ua: cannot send the ACK: %s\n", strerror(err));
        return APP_EX_UNAVAILABLE;
    }
    if (u->c.hold_ms)
        ua__run_until(u, NULL, sv_now_ms() + u->c.hold_ms);
    if (!(bye = ua__creq_new(u, "BYE")))
        return APP_EX_OSERR;
    snprintf(bye->ruri, sizeof(bye->ruri), "%s", target);
    snprintf(bye->to, sizeof(bye->to), "%s", inv->rto);
    snprintf(bye->from, sizeof(bye->from), "%s", inv->from);
    snprintf(bye->callid, sizeof(bye->callid), "%s", inv->callid);
    snprintf(bye->route, sizeof(bye->route), "%s", inv->rroute);
    bye->cseq = inv->cseq + 1;
    bye->private_rules = true;
    return ua__transact(u, bye);
}
