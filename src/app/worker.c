/**
 * @file worker.c  One worker of `sipveil run`: an event loop, a timing wheel, a transport
 * instance and a stateful proxy per node, in a thread of its own (see worker.h).
 *
 * The wheel is driven by one libevent timer, re-armed after every run and every received
 * message from sv_wheel_next_ms() (capped at 250 ms, so that the once-a-second publication of
 * counters is never much late; requests of the process thread come by an eventfd and need no
 * tick). The tick's deadline is rounded up to
 * a TICK_GRAIN_MS boundary: the wheel counts milliseconds, but a transaction timer a few ms
 * late changes nothing (T1 is 500 ms), while waking once per ms to expire transactions one by
 * one was a fifth of the CPU of a proxied call. Between ticks the wheel is brought to the
 * present before each received message anyway. Each received message is parsed into
 * a per-message arena on a block of the worker; a malformed request that can still be
 * addressed is answered 400 here (the proxy only ever sees messages that parse), a malformed
 * response is dropped.
 *
 * The event base is made without locks: only this thread touches it. The process thread asks
 * for things by setting bits in `req` and writing to an eventfd the loop watches.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <event2/event.h>
#include <sipveil/ims.h>
#include <sipveil/net.h>
#include <sipveil/privacy_service.h>
#include <sipveil/sip.h>
#include <sipveil/store.h>
#include <sipveil/txn.h>
#include "app.h"
#include "worker.h"

#define MOD "worker"
#define STOP_GRACE_MS 2000u
#define TICK_CAP_MS 250u
#define TICK_GRAIN_MS 16u /* Kamailio's timer ticks at 1/16 s; we stay finer */
/* Finished transactions end on 256 ms boundaries (struct txn_timers): after a busy second a
 * worker wakes 4 times a second to expire them in batches, not 60 times. */
#define LINGER_GRAIN_MS 256u
#define PUBLISH_MS 1000u
#define MAX_LSN 256

struct rnode {
    struct worker *w;
    const struct app_node *conf;
    struct proxy *px;
    struct proxy_listener *lsn; /* nlsn, owned: the configured listeners as bound */
    size_t nlsn;
    int *priv; /* nlsn, owned: net index of the private UDP socket of a UDP listener, or -1 */
    struct proxy_route *routes; /* nroutes, owned */
    size_t nroutes;
    struct privsvc *ps; /* NULL for role proxy */
    struct ims_node *ims; /* NULL unless an IMS role */
    struct privacy_tables {
        struct privsvc_peer *peers; /* owned */
        bool *faces;                /* by net listener index, owned */
        int8_t *face_policy;        /* by net listener index, owned */
        size_t nfaces;
        struct privsvc_subscriber *subs; /* owned */
        struct sv_slice *impus;          /* owned; the subscribers' identities */
    } pt;
};

struct worker {
    unsigned id, nworkers;
    const struct app_config *cfg; /* the one applied */
    pthread_t thread;
    bool started;
    void (*done)(void *arg);
    void *done_arg;

    struct event_base *base;
    struct sv_wheel *wheel;
    struct event *tick, *ctl;
    int ctl_fd;
    atomic_uint req; /* enum worker_req bits */
    struct net *net;
    struct rnode *nodes; /* nnodes, owned */
    size_t nnodes;
    int lsn_node[MAX_LSN]; /* net listener index -> node index */
    struct sip_limits lim;
    bool trace, stopping, drained;
    struct store *store; /* *sh.store at worker_start; NULL: none */
    bool holding;        /* net_hold(): this read pass wrote to the store, its answers wait */
    bool armed;        /* the tick event is pending */
    uint64_t armed_at; /* then: when it fires (monotonic ms) */
    uint64_t stop_at, next_publish;
    unsigned long unanswered;

    struct worker_shared sh;

    pthread_mutex_t mu; /* guards what follows */
    const struct app_config *reload_cfg;
    const struct li_targets *reload_targets;
    struct worker_counters pub;
    struct worker_node_counters *pub_nodes; /* nnodes */

    char arena_block[16384];
};

/* The framing function has no context argument: each worker thread has its own limits. */
static _Thread_local struct sip_limits frame_lim;

static int frame(const char *buf, size_t len, bool stream, size_t *msg_len, const char **reason)
{
    struct sip_perr perr = {0};
    int err = sip_frame(buf, len, stream ? SIP_STREAM : SIP_DGRAM, &frame_lim, msg_len, &perr);

    /* A datagram is one message whatever its Content-Length says: let the parser see it all,
       so that a request it can address gets 400 with the cause instead of silence. */
    if (err == EBADMSG && !stream) {
        *msg_len = len;
        return 0;
    }
    if (err && err != ENODATA && reason)
        *reason = perr.reason;
    return err;
}

static void trace(const struct worker *w, const char *dir, enum net_tp tp, const struct net_addr *a,
                  const char *buf, size_t len)
{
    char where[80];

    if (w->trace)
        sv_log_write(SV_LOG_DEBUG, "trace", "%s %s %s (%zu octets)\n%.*s", dir, net_tp_name(tp),
                     net_addr_str(a, where, sizeof(where)), len, (int)len, buf);
}

/* ---------------------------------------------------------------------------------------- */
/* Configuration                                                                              */

static void limits_from(const struct app_config *cfg, struct sip_limits *sl, struct net_limits *nl)
{
    memset(sl, 0, sizeof(*sl));
    sl->max_msg = cfg->limits.max_msg;
    sl->max_headers = cfg->limits.max_headers;
    sl->max_start_line = cfg->limits.max_start_line;
    sl->max_header = cfg->limits.max_header;
    memset(nl, 0, sizeof(*nl));
    nl->max_conns = cfg->limits.max_conns;
    nl->max_conns_per_ip = cfg->limits.max_conns_per_ip;
    nl->idle_timeout_ms = cfg->limits.idle_timeout;
    nl->header_timeout_ms = cfg->limits.header_timeout;
    nl->max_msg = cfg->limits.max_msg;
}

/* "udp:127.0.0.1:5080" into a proxy route; names are refused (no DNS yet). */
static int route_target(const struct app_node *nc, size_t i, struct proxy_route *r)
{
    const struct app_route *ar = &nc->routes[i];
    enum app_tp tp;
    char host[256], hp[300];
    uint16_t port;

    if (app_next_hop_parse(ar->next_hop, &tp, host, sizeof(host), &port))
        return EINVAL;
    snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
    if (net_addr_parse(&r->next_hop.dst, hp)) {
        sv_log(SV_LOG_ERR, MOD,
               "node %s: route %zu: next hop '%s' is not an IP address (names are not "
               "resolved in this release)",
               nc->name, i, ar->next_hop);
        return EINVAL;
    }
    r->next_hop.tp = (enum net_tp)tp;
    r->match = (enum proxy_match)ar->match; /* same order */
    r->value = ar->value;
    return 0;
}

/* The routes of @p nc into a new array. @return an APP_EX_ status. */
static int routes_build(const struct app_node *nc, struct proxy_route **rp)
{
    struct proxy_route *r = NULL;

    *rp = NULL;
    if (!nc->nroutes)
        return APP_EX_OK;
    if (!(r = calloc(nc->nroutes, sizeof(*r))))
        return APP_EX_OSERR;
    for (size_t i = 0; i < nc->nroutes; i++) {
        if (route_target(nc, i, &r[i])) {
            free(r);
            return APP_EX_CONFIG;
        }
    }
    *rp = r;
    return APP_EX_OK;
}

int worker_routes_check(const struct app_node *nc)
{
    struct proxy_route *r;
    int rc = routes_build(nc, &r);

    free(r);
    return rc == APP_EX_OK ? 0 : EINVAL;
}

static txn_send_flow_h node_send_flow;

static void proxy_conf_of(const struct rnode *n, const struct app_config *cfg,
                          struct proxy_conf *pc)
{
    const struct app_node *nc = n->conf;

    memset(pc, 0, sizeof(*pc));
    pc->name = nc->name;
    pc->domain = nc->domain;
    pc->listeners = n->lsn;
    pc->nlisteners = n->nlsn;
    pc->routes = n->routes;
    pc->nroutes = n->nroutes;
    pc->record_route = nc->record_route;
    pc->timer_c_ms = cfg->timers.timer_c;
    pc->max_txns = cfg->limits.max_transactions;
    pc->max_msg = cfg->limits.max_msg;
    pc->send_flow = node_send_flow;
}

/* ---------------------------------------------------------------------------------------- */
/* Privacy                                                                                    */

static bool privacy_role(unsigned role, enum privacy_role *pr)
{
    static const int map[] = {
        [APP_ROLE_PCSCF] = PRIVACY_ROLE_PCSCF, [APP_ROLE_ICSCF] = PRIVACY_ROLE_EDGE,
        [APP_ROLE_SCSCF] = PRIVACY_ROLE_SCSCF, [APP_ROLE_AS] = PRIVACY_ROLE_AS,
        [APP_ROLE_PS] = PRIVACY_ROLE_PS,       [APP_ROLE_PROXY] = -1,
    };

    if (role >= SV_ARRAY_SIZE(map) || map[role] < 0)
        return false;
    *pr = (enum privacy_role)map[role];
    return true;
}

static void privacy_tables_free(struct privacy_tables *t)
{
    free(t->peers);
    free(t->faces);
    free(t->face_policy);
    free(t->subs);
    free(t->impus);
    memset(t, 0, sizeof(*t));
}

/* The service's tables from the node's config: peers, faces by listener, subscribers. */
static int privacy_tables_build(const struct rnode *n, const struct app_node *nc,
                                struct privacy_tables *t)
{
    size_t nimpus = 0;

    memset(t, 0, sizeof(*t));
    for (size_t j = 0; j < n->nlsn; j++) {
        size_t hi = (size_t)(n->priv[j] > n->lsn[j].index ? n->priv[j] : n->lsn[j].index) + 1;
        if (hi > t->nfaces)
            t->nfaces = hi;
    }
    if (!(t->faces = calloc(t->nfaces ? t->nfaces : 1, sizeof(*t->faces))) ||
        !(t->face_policy = malloc(t->nfaces ? t->nfaces : 1)) ||
        !(t->peers = calloc(nc->npeers ? nc->npeers : 1, sizeof(*t->peers))) ||
        !(t->subs = calloc(nc->nsubscribers ? nc->nsubscribers : 1, sizeof(*t->subs))) ||
        !(t->impus = calloc(nc->nsubscribers * 16 + 1, sizeof(*t->impus))))
        goto fail;
    memset(t->face_policy, -1, t->nfaces ? t->nfaces : 1);
    for (size_t j = 0; j < n->nlsn; j++) {
        bool untrusted = nc->listeners[j].face != APP_FACE_CORE;
        int8_t pol = (int8_t)((int)nc->listeners[j].anonymity_policy - 1);
        t->faces[n->lsn[j].index] = untrusted;
        t->face_policy[n->lsn[j].index] = pol;
        if (n->priv[j] >= 0) {
            t->faces[n->priv[j]] = untrusted;
            t->face_policy[n->priv[j]] = pol;
        }
    }
    for (size_t i = 0; i < nc->npeers; i++) {
        const struct app_peer *ap = &nc->peers[i];
        struct privsvc_peer *p = &t->peers[i];
        if (privsvc_cidr_parse(ap->address, p))
            goto fail; /* checked at load */
        p->port = (uint16_t)ap->port;
        p->transport = ap->transport == 0 ? -1 : (int)ap->transport - 1; /* any, udp.. */
        p->subject = ap->subject;
        p->trusted = ap->trusted;
    }
    for (size_t i = 0; i < nc->nsubscribers; i++) {
        const struct app_subscriber *as = &nc->subscribers[i];
        struct privsvc_subscriber *e = &t->subs[i];
        size_t k = app_list_split(as->impus, t->impus + nimpus, 16);
        if ((*as->flow && net_addr_parse(&e->flow, as->flow)) || !k)
            goto fail;
        e->sub.impus = t->impus + nimpus;
        e->sub.nimpus = k;
        e->sub.default_impu = t->impus[nimpus];
        e->sub.alias = sv_slice_cstr(as->alias);
        e->sub.identity_blocking = as->identity_blocking;
        e->sub.user_by_policy = as->user_by_policy;
        nimpus += k;
    }
    return 0;
fail:
    privacy_tables_free(t);
    return EINVAL;
}

static void privacy_conf_of(const struct worker *w, const struct app_node *nc,
                            const struct privacy_tables *t, struct privsvc_conf *pc)
{
    const struct app_privacy *ap = &nc->privacy;

    memset(pc, 0, sizeof(*pc));
    pc->node = nc->name;
    privacy_role(nc->role, &pc->role);
    pc->knobs = privacy_knobs_default;
    pc->knobs.pai_when_no_privacy_to_ue = (enum privacy_pai_default)ap->pai_when_no_privacy_to_ue;
    pc->knobs.pai_when_no_privacy_to_untrusted_net =
        (enum privacy_pai_default)ap->pai_when_no_privacy_to_untrusted_net;
    pc->knobs.user_implies_id_toward_untrusted = ap->user_implies_id_toward_untrusted;
    pc->knobs.strip_performed_priv_values = ap->strip_performed_priv_values;
    pc->knobs.reject_nonperformable_without_critical = ap->reject_nonperformable_without_critical;
    pc->knobs.li_reject_policy = (enum privacy_li_policy)ap->anonymity_policy;
    pc->knobs.ppi_mismatch_reject = ap->ppi_mismatch_reject;
    if (!ap->perform_user || !nc->record_route) /* R76: `user` needs the node in the dialog */
        pc->knobs.performable_priv_values &= ~(unsigned)SIP_PRIV_USER;
    pc->peers = t->peers;
    pc->npeers = nc->npeers;
    pc->untrusted_face = t->faces;
    pc->face_policy = t->face_policy;
    pc->nfaces = t->nfaces;
    pc->subs = t->subs;
    pc->nsubs = nc->nsubscribers;
    pc->dialogs = w->sh.dialogs;
    pc->li = w->sh.li;
    pc->li_targets = w->sh.li_targets;
}

/* The node's privacy service and its hooks; role proxy has none. @return an APP_EX_ status. */
static int privacy_start(struct worker *w, struct rnode *n)
{
    struct privsvc_conf pc;
    struct proxy_hooks h;
    enum privacy_role role;

    if (!privacy_role(n->conf->role, &role))
        return APP_EX_OK;
    if (privacy_tables_build(n, n->conf, &n->pt))
        return APP_EX_CONFIG;
    privacy_conf_of(w, n->conf, &n->pt, &pc);
    if (privsvc_alloc(&n->ps, &pc))
        return APP_EX_OSERR;
    privsvc_hooks(n->ps, &h);
    proxy_hooks_set(n->px, &h);
    return APP_EX_OK;
}

/* A reload of the privacy tables (same thread as the hooks: the old ones go at once). */
static int privacy_reload(struct worker *w, struct rnode *n)
{
    struct privacy_tables t;
    struct privsvc_conf pc;

    if (!n->ps)
        return 0;
    if (privacy_tables_build(n, n->conf, &t))
        return EINVAL;
    privacy_conf_of(w, n->conf, &t, &pc);
    if (privsvc_conf_update(n->ps, &pc)) {
        privacy_tables_free(&t);
        return EINVAL;
    }
    privacy_tables_free(&n->pt);
    n->pt = t;
    return 0;
}

/* A reload: what may change, changes; the process thread has checked that nothing else did. */
static void apply_reload(struct worker *w, const struct app_config *cfg,
                         const struct li_targets *targets)
{
    struct txn_timers tm = {cfg->timers.t1, cfg->timers.t2, cfg->timers.t4, LINGER_GRAIN_MS};
    struct net_limits nl;
    size_t ok = 0;

    limits_from(cfg, &w->lim, &nl);
    frame_lim = w->lim;
    net_limits_set(w->net, &nl);
    w->sh.li_targets = targets;
    w->trace = cfg->log.trace;
    for (size_t i = 0; i < w->nnodes; i++) {
        struct rnode *n = &w->nodes[i];
        struct proxy_route *routes;
        struct proxy_conf pc;

        n->conf = &cfg->nodes[i];
        if (routes_build(n->conf, &routes) != APP_EX_OK)
            continue; /* the process thread checked them: only memory can fail here */
        free(n->routes);
        n->routes = routes;
        n->nroutes = n->conf->nroutes;
        proxy_conf_of(n, cfg, &pc);
        if (proxy_conf_update(n->px, &pc) == 0 && proxy_timers_set(n->px, &tm) == 0 &&
            privacy_reload(w, n) == 0)
            ok++;
    }
    w->cfg = cfg;
    sv_log(ok == w->nnodes ? SV_LOG_INFO : SV_LOG_ERR, MOD, "worker %u: reloaded %zu of %zu node%s",
           w->id, ok, w->nnodes, w->nnodes == 1 ? "" : "s");
}

/* ---------------------------------------------------------------------------------------- */
/* The loop                                                                                   */

static size_t live_txns(const struct worker *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->nnodes; i++)
        n += txn_stats_get(proxy_txn_layer(w->nodes[i].px))->live;
    return n;
}

static void publish(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->pub.net = *net_stats_get(w->net);
    w->pub.unanswered = w->unanswered;
    w->pub.live = live_txns(w);
    for (size_t i = 0; i < w->nnodes; i++) {
        w->pub_nodes[i].px = *proxy_stats_get(w->nodes[i].px);
        w->pub_nodes[i].txn = *txn_stats_get(proxy_txn_layer(w->nodes[i].px));
        if (w->nodes[i].ps)
            w->pub_nodes[i].priv = *privsvc_stats_get(w->nodes[i].ps);
    }
    pthread_mutex_unlock(&w->mu);
}

/* Bring the wheel to the present: run what is due, so that timers started next count from
 * now (sv_timer_start counts from the wheel's time). Called before each message. */
static void wheel_now(struct worker *w, uint64_t now)
{
    sv_wheel_run(w->wheel, now);
}

/*
 * Make sure the tick fires by the wheel's next deadline (at most TICK_CAP_MS away), rounded up
 * to a multiple of TICK_GRAIN_MS so that the timers due in one grain run in one wakeup; a
 * timer due now (delay 0: work deferred out of a callback) fires at once. The tick is only
 * ever moved earlier: re-arming it after every message with a delay counted from the present
 * would push it out for as long as messages keep coming, and no timer would run. While it is
 * armed, only a timer started since can be due before it, so the wheel is asked for its next
 * deadline (a walk of its lists: 0.8% of bench/register's CPU when asked after every message)
 * only when one was started earlier than the tick.
 */
static void arm(struct worker *w, uint64_t now)
{
    uint64_t first = sv_wheel_take_started_min(w->wheel), ms, at;
    struct timeval tv;

    if (w->armed && first >= w->armed_at)
        return;
    ms = sv_wheel_next_ms(w->wheel);
    if (ms > TICK_CAP_MS)
        ms = TICK_CAP_MS;
    at = now + ms;
    if (ms)
        at = (at + TICK_GRAIN_MS - 1) / TICK_GRAIN_MS * TICK_GRAIN_MS;
    if (w->armed && w->armed_at <= at)
        return;
    ms = at - now;
    tv.tv_sec = 0;
    tv.tv_usec = (suseconds_t)(ms * 1000);
    evtimer_add(w->tick, &tv);
    w->armed = true;
    w->armed_at = at;
}

/*
 * Whether a stopping worker may leave its loop. Not as soon as its own transactions are over:
 * its sockets stay in the SO_REUSEPORT group until the process exits, so the kernel keeps
 * handing it its share of new requests, which must get their 503, not silence. It leaves once
 * every worker has drained, or at the grace's end.
 */
static bool stop_now(struct worker *w, uint64_t now)
{
    if (now >= w->stop_at)
        return true;
    if (live_txns(w) != 0)
        return false;
    if (!w->sh.drained)
        return true;
    if (!w->drained) {
        w->drained = true;
        atomic_fetch_add(w->sh.drained, 1u);
    }
    return atomic_load(w->sh.drained) >= w->nworkers;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t now = sv_now_ms();

    (void)fd;
    (void)what;
    w->armed = false;
    wheel_now(w, now);
    if (now >= w->next_publish) {
        publish(w);
        w->next_publish = now + PUBLISH_MS;
    }
    if (w->stopping && stop_now(w, now)) {
        event_base_loopbreak(w->base);
        return;
    }
    arm(w, now);
}

static void stop(struct worker *w)
{
    if (w->stopping) {
        event_base_loopbreak(w->base); /* asked twice: now */
        return;
    }
    w->stopping = true;
    w->stop_at = sv_now_ms() + STOP_GRACE_MS;
    net_accept_stop(w->net);
    for (size_t i = 0; i < w->nnodes; i++)
        proxy_drain(w->nodes[i].px);
    sv_log(SV_LOG_INFO, MOD, "worker %u: stopping once %zu live transaction%s end", w->id,
           live_txns(w), live_txns(w) == 1 ? "" : "s");
    event_active(w->tick, EV_TIMEOUT, 0);
}

static void on_ctl(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t v;
    unsigned req;
    const struct app_config *cfg;
    const struct li_targets *targets;

    (void)what;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        sv_log(SV_LOG_WARN, MOD, "worker %u: control read: %s", w->id, strerror(errno));
    req = atomic_exchange(&w->req, 0u);
    if (req & WORKER_RELOAD) {
        pthread_mutex_lock(&w->mu);
        cfg = w->reload_cfg;
        targets = w->reload_targets;
        w->reload_cfg = NULL;
        pthread_mutex_unlock(&w->mu);
        if (cfg)
            apply_reload(w, cfg, targets);
    }
    if (req & WORKER_STOP)
        stop(w);
}

/*
 * A UDP read pass is one group commit of the store (store_api.defer): the S-CSCF's binding
 * and the P-CSCF's flow of each REGISTER in the pass go into one transaction. Once the pass
 * has written, what it sends out of the process waits (net_hold) until the commit at its
 * end: no 200 leaves before the registration it confirms is on disk. (TCP and TLS need no
 * holding: libevent writes their buffers from the loop, after the pass.)
 */
static void pass_begin(void *arg)
{
    struct worker *w = arg;

    w->store->api->defer(w->store, true);
}

static void pass_end(void *arg)
{
    struct worker *w = arg;
    int err = w->store->api->defer(w->store, false);

    if (err)
        sv_log(SV_LOG_ERR, MOD,
               "store: the commit of a read pass failed (%s): its registrations and flows are "
               "served from memory but would not survive a restart",
               strerror(err));
    if (w->holding) {
        w->holding = false;
        net_release(w->net);
    }
}

/* Before a send: once the pass has written to the store, hold what leaves the process. */
static void hold_if_written(struct worker *w)
{
    if (!w->holding && w->store && w->store->api->deferred(w->store)) {
        net_hold(w->net);
        w->holding = true;
    }
}

/* The proxy's send function: what it originates over UDP leaves from the worker's private
 * socket when it has one (the Via names it), else from the node's listener. */
static int node_send(void *ctx, enum net_tp tp, const struct net_addr *dst,
                     const struct net_flow *flow, const char *buf, size_t len)
{
    struct rnode *n = ctx;
    struct net_flow own;

    hold_if_written(n->w);
    if (!flow && tp == NET_UDP) {
        for (size_t i = 0; i < n->nlsn; i++) {
            if (n->lsn[i].tp == NET_UDP && n->lsn[i].addr.ss.ss_family == dst->ss.ss_family) {
                memset(&own, 0, sizeof(own));
                own.tp = NET_UDP;
                own.listener = n->priv[i] >= 0 ? n->priv[i] : n->lsn[i].index;
                flow = &own;
                break;
            }
        }
    }
    trace(n->w, "tx to", tp, dst, buf, len);
    return net_send(n->w->net, tp, dst, flow, buf, len, NULL);
}

/* Client transactions send through this one: net_send's used flow tells the transaction
 * layer which TCP/TLS connection each request left on (see on_close). */
static int node_send_flow(void *ctx, enum net_tp tp, const struct net_addr *dst,
                          const struct net_flow *flow, const char *buf, size_t len,
                          struct net_flow *used)
{
    struct rnode *n = ctx;

    if (tp == NET_UDP)
        return node_send(ctx, tp, dst, flow, buf, len);
    trace(n->w, "tx to", tp, dst, buf, len);
    return net_send(n->w->net, tp, dst, flow, buf, len, used);
}

/* A connection closed: a failed connect fails the branches waiting on it (503 at once). */
static void on_close(struct net_conn *conn, int err, void *arg)
{
    struct worker *w = arg;

    for (size_t i = 0; i < w->nnodes; i++)
        proxy_conn_closed(w->nodes[i].px, conn, err);
}

/* Which node a message on @p flow is for: the receiving listener's; on a connection we opened,
 * the node whose listener the top Via (responses) or top Route (requests) names. */
static struct rnode *node_of(struct worker *w, const struct sip_msg *m, const struct net_flow *flow)
{
    if (flow->listener >= 0 && flow->listener < MAX_LSN)
        return &w->nodes[w->lsn_node[flow->listener]];
    for (size_t i = 0; i < w->nnodes && w->nnodes > 1; i++) {
        struct rnode *n = &w->nodes[i];
        if (!m->req) {
            char hp[300];
            struct net_addr a;
            snprintf(hp, sizeof(hp), "%.*s:%u", SV_FMT(m->via.host),
                     m->via.has_port ? m->via.port : 5060u);
            if (net_addr_parse(&a, hp) == 0)
                for (size_t j = 0; j < n->nlsn; j++)
                    if (net_addr_eq(&n->lsn[j].addr, &a))
                        return n;
        } else {
            const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE);
            struct sv_slice cur;
            struct sip_addr ad;
            if (h && (cur = h->value, sip_addr_next(&cur, &ad) == 0) &&
                proxy_uri_is_us(n->px, &ad.uri))
                return n;
        }
    }
    return &w->nodes[0];
}

static void answer_400(struct worker *w, const struct net_flow *flow, const struct sip_msg *msg,
                       const char *why)
{
    char reason[160], tag[20], buf[8192];
    size_t n;

    snprintf(reason, sizeof(reason), "Bad Request (%s)", why);
    sip_tag_gen(tag, sizeof(tag));
    if (sip_resp_build(msg, 400, reason, sv_slice_cstr(tag), SV_LIT(""), buf, sizeof(buf), &n))
        return;
    trace(w, "tx to", flow->tp, &flow->peer, buf, n);
    net_send(w->net, flow->tp, &flow->peer, flow, buf, n, NULL);
}

static void on_recv(const struct net_flow *flow, const char *buf, size_t len, void *arg)
{
    struct worker *w = arg;
    struct sv_arena arena;
    struct sip_msg *msg = NULL;
    struct sip_perr perr = {0};
    char where[80];

    trace(w, "rx from", flow->tp, &flow->peer, buf, len);
    uint64_t now = sv_now_ms(); /* one clock read serves the wheel and the re-arm */
    wheel_now(w, now);
    sv_arena_init(&arena, w->arena_block, sizeof(w->arena_block));
    int e = sip_msg_parse(&msg, &arena, buf, len, flow->tp == NET_UDP ? SIP_DGRAM : SIP_STREAM,
                          &w->lim, &perr);
    if (e) {
        bool can_answer = e == EBADMSG && msg && msg->req && msg->via.raw.p && msg->callid.p &&
                          msg->cseq.method.p && msg->mid != SIP_METHOD_ACK;
        sv_log(SV_LOG_INFO, MOD, "%s %s: malformed (%s); %s", net_tp_name(flow->tp),
               net_addr_str(&flow->peer, where, sizeof(where)),
               perr.reason ? perr.reason : strerror(e), can_answer ? "answering 400" : "dropped");
        if (can_answer)
            answer_400(w, flow, msg, perr.reason ? perr.reason : "malformed");
        else
            w->unanswered++;
    } else {
        struct rnode *n = node_of(w, msg, flow);
        sv_log_ctx_set(n->conf->name, proxy_callid_hash(msg));
        proxy_recv(n->px, msg, flow);
        sv_log_ctx_clear();
    }
    sv_arena_close(&arena);
    arm(w, now);
}

/* ---------------------------------------------------------------------------------------- */
/* Life cycle                                                                                 */

int worker_alloc(struct worker **wp, unsigned id, unsigned nworkers, const struct app_config *cfg,
                 const struct worker_shared *sh)
{
    struct worker *w = calloc(1, sizeof(*w));
    struct event_config *ec = NULL;
    struct net_limits nl;
    int err = ENOMEM;

    if (!w)
        return ENOMEM;
    w->id = id;
    w->nworkers = nworkers;
    if (sh)
        w->sh = *sh;
    w->cfg = cfg;
    w->ctl_fd = -1;
    atomic_init(&w->req, 0u);
    pthread_mutex_init(&w->mu, NULL);
    limits_from(cfg, &w->lim, &nl);
    nl.reuseport = nworkers > 1;
    w->trace = cfg->log.trace;
    w->nnodes = cfg->nnodes;
    w->nodes = calloc(w->nnodes, sizeof(*w->nodes));
    w->pub_nodes = calloc(w->nnodes, sizeof(*w->pub_nodes));
    if (!w->nodes || !w->pub_nodes || !(ec = event_config_new()))
        goto fail;
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    if (!(w->base = event_base_new_with_config(ec)))
        goto fail;
    if ((w->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        err = errno;
        goto fail;
    }
    if ((err = sv_wheel_alloc(&w->wheel, sv_now_ms())) ||
        (err = net_alloc(&w->net, w->base, &nl, frame, on_recv, on_close, w)))
        goto fail;
    err = ENOMEM;
    if (!(w->tick = evtimer_new(w->base, on_tick, w)) ||
        !(w->ctl = event_new(w->base, w->ctl_fd, EV_READ | EV_PERSIST, on_ctl, w)) ||
        event_add(w->ctl, NULL))
        goto fail;
    for (size_t i = 0; i < w->nnodes; i++) {
        w->nodes[i].w = w;
        w->nodes[i].conf = &cfg->nodes[i];
    }
    event_config_free(ec);
    *wp = w;
    return 0;

fail:
    if (ec)
        event_config_free(ec);
    worker_free(w);
    return err;
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->nodes && i < w->nnodes; i++) {
        ims_node_free(w->nodes[i].ims);
        proxy_free(w->nodes[i].px);
        privsvc_free(w->nodes[i].ps);
        privacy_tables_free(&w->nodes[i].pt);
    }
    if (w->net)
        net_free(w->net);
    for (size_t i = 0; w->nodes && i < w->nnodes; i++) {
        free(w->nodes[i].lsn);
        free(w->nodes[i].priv);
        free(w->nodes[i].routes);
    }
    free(w->nodes);
    free(w->pub_nodes);
    if (w->tick)
        event_free(w->tick);
    if (w->ctl)
        event_free(w->ctl);
    if (w->ctl_fd >= 0)
        close(w->ctl_fd);
    if (w->wheel)
        sv_wheel_free(w->wheel);
    if (w->base)
        event_base_free(w->base);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static int bind_one(struct worker *w, size_t ni, enum net_tp tp, const struct net_addr *a,
                    const struct net_tls_conf *tls, struct net_addr *bound)
{
    const struct app_node *nc = w->nodes[ni].conf;
    char where[80];
    int idx = net_listen(w->net, tp, a, tls, bound);

    if (idx < 0) {
        sv_log(SV_LOG_ERR, MOD, "cannot bind %s %s of node %s: %s", net_tp_name(tp),
               net_addr_str(a, where, sizeof(where)), nc->name, strerror(-idx));
        return -1;
    }
    if (idx >= MAX_LSN) {
        sv_log(SV_LOG_ERR, MOD, "too many listeners (at most %d)", MAX_LSN);
        return -1;
    }
    w->lsn_node[idx] = (int)ni;
    return idx;
}

/* The private UDP socket of @p w for listener @p l: the same IP, a port of its own. */
static int bind_private(struct worker *w, size_t ni, const struct proxy_listener *l,
                        struct net_addr *bound)
{
    struct net_addr a = l->addr;

    if (a.ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&a.ss)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&a.ss)->sin6_port = 0;
    return bind_one(w, ni, NET_UDP, &a, NULL, bound);
}

static int node_listen(struct worker *w, size_t ni, const struct worker *w0)
{
    struct rnode *n = &w->nodes[ni];
    const struct app_node *nc = n->conf;

    n->lsn = calloc(nc->nlisteners, sizeof(*n->lsn));
    n->priv = calloc(nc->nlisteners, sizeof(*n->priv));
    if (!n->lsn || !n->priv)
        return APP_EX_OSERR;
    for (size_t j = 0; j < nc->nlisteners; j++) {
        const struct app_listener *l = &nc->listeners[j];
        enum net_tp tp = (enum net_tp)l->transport;
        struct net_addr a, bound;
        struct net_tls_conf tls = {
            .cert_file = l->tls.cert,
            .key_file = l->tls.key,
            .ca_file = *l->tls.ca ? l->tls.ca : NULL,
            .verify_peer = l->tls.verify_peer,
            .require_client_cert = l->tls.require_client_cert,
        };
        int idx;

        if (w0) {
            a = w0->nodes[ni].lsn[j].addr;
        } else if (net_addr_parse(&a, l->address)) {
            sv_log(SV_LOG_ERR, MOD, "%s %s: not an IP address and port", app_tp_names[tp],
                   l->address);
            return APP_EX_CONFIG;
        } else if (w->nworkers > 1 && net_addr_probe(tp, &a)) {
            /* bound with SO_REUSEPORT, a busy port would be shared, not refused */
            sv_log(SV_LOG_ERR, MOD, "cannot bind %s %s of node %s: %s", app_tp_names[tp],
                   l->address, nc->name, strerror(net_addr_probe(tp, &a)));
            return APP_EX_UNAVAILABLE;
        }
        idx = bind_one(w, ni, tp, &a, tp == NET_TLS ? &tls : NULL, &bound);
        if (idx < 0)
            return APP_EX_UNAVAILABLE;
        n->lsn[j].tp = tp;
        n->lsn[j].addr = bound;
        n->lsn[j].index = idx;
        n->lsn[j].untrusted_face = l->face != APP_FACE_CORE;
        n->priv[j] = -1;
        n->nlsn = j + 1;
    }
    /* the private sockets come after the shared ones, so listener indices agree across
       workers */
    for (size_t j = 0; j < n->nlsn && w->nworkers > 1; j++) {
        struct net_addr bound;
        if (n->lsn[j].tp != NET_UDP)
            continue;
        if ((n->priv[j] = bind_private(w, ni, &n->lsn[j], &bound)) < 0)
            return APP_EX_UNAVAILABLE;
        n->lsn[j].via = bound;
        n->lsn[j].via_index = n->priv[j];
    }
    return APP_EX_OK;
}

int worker_listen(struct worker *w, const struct worker *w0)
{
    int rc = APP_EX_OK;

    for (size_t i = 0; i < w->nnodes && rc == APP_EX_OK; i++)
        rc = node_listen(w, i, w0);
    return rc;
}

const struct net_addr *worker_listener_addr(const struct worker *w, size_t n, size_t j)
{
    return &w->nodes[n].lsn[j].addr;
}

int worker_start(struct worker *w)
{
    struct txn_timers tm = {w->cfg->timers.t1, w->cfg->timers.t2, w->cfg->timers.t4,
                            LINGER_GRAIN_MS};

    for (size_t i = 0; i < w->nnodes; i++) {
        struct rnode *n = &w->nodes[i];
        struct proxy_conf pc;
        int rc = routes_build(n->conf, &n->routes);

        if (rc != APP_EX_OK)
            return rc;
        n->nroutes = n->conf->nroutes;
        proxy_conf_of(n, w->cfg, &pc);
        if (proxy_alloc(&n->px, w->wheel, &tm, node_send, n, &pc))
            return APP_EX_OSERR;
        if ((rc = privacy_start(w, n)) != APP_EX_OK)
            return rc;
        if (w->sh.ims && w->sh.ims[i] && ims_node_alloc(&n->ims, w->sh.ims[i], n->px, n->ps))
            return APP_EX_OSERR;
    }
    if (w->sh.store && (w->store = *w->sh.store))
        net_set_pass_hooks(w->net, pass_begin, pass_end, w);
    return APP_EX_OK;
}

/* The scheduling policy of `scheduling:` for the calling thread; a refusal is logged. */
static void sched_apply(const struct worker *w)
{
    struct sched_param sp = {.sched_priority = 0};
    int policy = w->cfg->scheduling == APP_SCHED_BATCH ? SCHED_BATCH : SCHED_OTHER;

    if (sched_setscheduler(0, policy, &sp)) /* 0: this thread, on Linux */
        sv_log(SV_LOG_WARN, MOD, "worker %u: could not set scheduling %s: %s", w->id,
               app_sched_names[w->cfg->scheduling], strerror(errno));
}

static void *thread_main(void *arg)
{
    struct worker *w = arg;
    char name[16];

    snprintf(name, sizeof(name), "sv-w%u", w->id); /* top -H, ps -L and /proc show it */
    pthread_setname_np(pthread_self(), name);
    sched_apply(w);
    frame_lim = w->lim;
    sv_log_ctx_worker((int)w->id);
    w->next_publish = sv_now_ms() + PUBLISH_MS;
    arm(w, sv_now_ms());
    event_base_dispatch(w->base);
    publish(w);
    pthread_mutex_lock(&w->mu);
    w->pub.stopped = true;
    pthread_mutex_unlock(&w->mu);
    sv_log(SV_LOG_INFO, MOD, "worker %u: stopped (%zu transaction%s still live)", w->id,
           live_txns(w), live_txns(w) == 1 ? "" : "s");
    w->done(w->done_arg);
    return NULL;
}

int worker_run(struct worker *w, void (*done)(void *arg), void *arg)
{
    int err;

    w->done = done;
    w->done_arg = arg;
    err = pthread_create(&w->thread, NULL, thread_main, w);
    if (err)
        return err;
    w->started = true;
    return 0;
}

void worker_join(struct worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
}

void worker_post(struct worker *w, enum worker_req req, const struct app_config *cfg,
                 const struct li_targets *targets)
{
    uint64_t one = 1;

    if (req & WORKER_RELOAD) {
        pthread_mutex_lock(&w->mu);
        w->reload_cfg = cfg;
        w->reload_targets = targets;
        pthread_mutex_unlock(&w->mu);
    }
    atomic_fetch_or(&w->req, (unsigned)req);
    if (write(w->ctl_fd, &one, sizeof(one)) < 0)
        sv_log(SV_LOG_WARN, MOD, "worker %u: control write: %s", w->id, strerror(errno));
}

void worker_counters(struct worker *w, struct worker_counters *c,
                     struct worker_node_counters *nodes)
{
    pthread_mutex_lock(&w->mu);
    *c = w->pub;
    if (nodes)
        memcpy(nodes, w->pub_nodes, w->nnodes * sizeof(*nodes));
    pthread_mutex_unlock(&w->mu);
}
