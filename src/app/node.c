/**
 * @file node.c  The node runtime: the event loop, the timing wheel, the transport and one
 * stateful proxy per node.
 *
 * The wheel is driven by one libevent timer, re-armed after every run and every received
 * message from sv_wheel_next_ms() (capped at 100 ms, so a stop request is noticed quickly).
 * Each received message is parsed into a per-message arena on a stack block; a malformed
 * request that can still be addressed is answered 400 here (the proxy only ever sees messages
 * that parse), a malformed response is dropped.
 *
 * Stopping: SIGINT or SIGTERM marks the runtime as stopping; the loop goes on serving what is
 * in flight until no transaction is live or two seconds have passed, then everything closes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <sipveil/net.h>
#include <sipveil/sip.h>
#include <sipveil/txn.h>
#include "app.h"
#include "node.h"

#define MOD "node"
#define STOP_GRACE_MS 2000u
#define TICK_CAP_MS 100u

struct rt;

struct rnode {
    struct rt *rt;
    const struct app_node *conf;
    struct proxy *px;
    struct proxy_listener *lsn; /* nlsn, owned */
    size_t nlsn;
    struct proxy_route *routes; /* nroutes, owned */
    size_t nroutes;
};

struct rt {
    struct event_base *base;
    struct sv_wheel *wheel;
    struct event *tick, *sint, *sterm;
    struct net *net;
    struct rnode *nodes; /* nnodes, owned */
    size_t nnodes;
    int lsn_node[256]; /* net listener index -> node index */
    struct sip_limits lim;
    bool trace;
    bool stopping;
    uint64_t stop_at;
    unsigned long ndropped; /* malformed messages not answered */
    char arena_block[16384];
};

/* The framing function has no context argument: the limits are the process's. */
static struct sip_limits frame_lim;

static int frame(const char *buf, size_t len, bool stream, size_t *msg_len, const char **reason)
{
    struct sip_perr perr = {0};
    int err = sip_frame(buf, len, stream ? SIP_STREAM : SIP_DGRAM, &frame_lim, msg_len, &perr);

    if (err && err != ENODATA && reason)
        *reason = perr.reason;
    return err;
}

static void trace(const struct rt *rt, const char *dir, enum net_tp tp, const struct net_addr *a,
                  const char *buf, size_t len)
{
    char where[80];

    if (rt->trace)
        sv_log_write(SV_LOG_DEBUG, "trace", "%s %s %s (%zu octets)\n%.*s", dir, net_tp_name(tp),
                     net_addr_str(a, where, sizeof(where)), len, (int)len, buf);
}

/* The proxy's send function: what it originates over UDP leaves from its node's socket. */
static int node_send(void *ctx, enum net_tp tp, const struct net_addr *dst,
                     const struct net_flow *flow, const char *buf, size_t len)
{
    struct rnode *n = ctx;
    struct net_flow own;

    if (!flow && tp == NET_UDP) {
        for (size_t i = 0; i < n->nlsn; i++) {
            if (n->lsn[i].tp == NET_UDP && n->lsn[i].addr.ss.ss_family == dst->ss.ss_family) {
                memset(&own, 0, sizeof(own));
                own.tp = NET_UDP;
                own.listener = n->lsn[i].index;
                flow = &own;
                break;
            }
        }
    }
    trace(n->rt, "tx to", tp, dst, buf, len);
    return net_send(n->rt->net, tp, dst, flow, buf, len, NULL);
}

static void arm(struct rt *rt)
{
    uint64_t ms = sv_wheel_next_ms(rt->wheel);
    struct timeval tv;

    if (ms > TICK_CAP_MS)
        ms = TICK_CAP_MS;
    tv.tv_sec = 0;
    tv.tv_usec = (suseconds_t)(ms * 1000);
    evtimer_add(rt->tick, &tv);
}

static size_t live_txns(const struct rt *rt)
{
    size_t n = 0;

    for (size_t i = 0; i < rt->nnodes; i++)
        n += txn_stats_get(proxy_txn_layer(rt->nodes[i].px))->live;
    return n;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct rt *rt = arg;

    (void)fd;
    (void)what;
    sv_wheel_run(rt->wheel, sv_now_ms());
    if (rt->stopping && (live_txns(rt) == 0 || sv_now_ms() >= rt->stop_at)) {
        event_base_loopbreak(rt->base);
        return;
    }
    arm(rt);
}

/* Which node a message on @p flow is for: the receiving listener's; on a connection we opened,
 * the node whose listener the top Via (responses) or top Route (requests) names. */
static struct rnode *node_of(struct rt *rt, const struct sip_msg *m, const struct net_flow *flow)
{
    if (flow->listener >= 0 && (size_t)flow->listener < SV_ARRAY_SIZE(rt->lsn_node))
        return &rt->nodes[rt->lsn_node[flow->listener]];
    for (size_t i = 0; i < rt->nnodes && rt->nnodes > 1; i++) {
        struct rnode *n = &rt->nodes[i];
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
    return &rt->nodes[0];
}

static void answer_400(struct rt *rt, const struct net_flow *flow, const struct sip_msg *msg,
                       const char *why)
{
    char reason[160], tag[20], buf[8192];
    size_t n;

    snprintf(reason, sizeof(reason), "Bad Request (%s)", why);
    sip_tag_gen(tag, sizeof(tag));
    if (sip_resp_build(msg, 400, reason, sv_slice_cstr(tag), SV_LIT(""), buf, sizeof(buf), &n))
        return;
    trace(rt, "tx to", flow->tp, &flow->peer, buf, n);
    net_send(rt->net, flow->tp, &flow->peer, flow, buf, n, NULL);
}

static void on_recv(const struct net_flow *flow, const char *buf, size_t len, void *arg)
{
    struct rt *rt = arg;
    struct sv_arena arena;
    struct sip_msg *msg = NULL;
    struct sip_perr perr = {0};
    char where[80];

    trace(rt, "rx from", flow->tp, &flow->peer, buf, len);
    sv_arena_init(&arena, rt->arena_block, sizeof(rt->arena_block));
    int e = sip_msg_parse(&msg, &arena, buf, len, flow->tp == NET_UDP ? SIP_DGRAM : SIP_STREAM,
                          &rt->lim, &perr);
    if (e) {
        bool can_answer = e == EBADMSG && msg && msg->req && msg->via.raw.p && msg->callid.p &&
                          msg->cseq.method.p && msg->mid != SIP_METHOD_ACK;
        sv_log(SV_LOG_INFO, MOD, "%s %s: malformed (%s); %s", net_tp_name(flow->tp),
               net_addr_str(&flow->peer, where, sizeof(where)),
               perr.reason ? perr.reason : strerror(e), can_answer ? "answering 400" : "dropped");
        if (can_answer)
            answer_400(rt, flow, msg, perr.reason ? perr.reason : "malformed");
        else
            rt->ndropped++;
    } else {
        proxy_recv(node_of(rt, msg, flow)->px, msg, flow);
    }
    sv_arena_close(&arena);
    arm(rt);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct rt *rt = arg;

    (void)what;
    if (rt->stopping) {
        event_base_loopbreak(rt->base); /* a second signal: now */
        return;
    }
    const struct net_stats *ns = net_stats_get(rt->net);
    unsigned long dropped = rt->ndropped + ns->dropped_malformed + ns->dropped_oversize;
    for (size_t i = 0; i < rt->nnodes; i++)
        dropped += txn_stats_get(proxy_txn_layer(rt->nodes[i].px))->dropped;
    sv_log(SV_LOG_NOTICE, MOD,
           "signal %d: stopping (%lu received, %lu sent, %lu dropped) once %zu live "
           "transaction%s end (at most %u ms)",
           (int)sig, ns->rx_msgs, ns->tx_msgs, dropped, live_txns(rt),
           live_txns(rt) == 1 ? "" : "s", STOP_GRACE_MS);
    rt->stopping = true;
    rt->stop_at = sv_now_ms() + STOP_GRACE_MS;
    event_active(rt->tick, EV_TIMEOUT, 0);
}

/* "udp:127.0.0.1:5080" into a proxy target; names are refused (no DNS yet). */
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

/* Bind node @p ni's listeners. @return an APP_EX_ status. */
static int node_listen(struct rt *rt, size_t ni)
{
    struct rnode *n = &rt->nodes[ni];
    const struct app_node *nc = n->conf;

    n->lsn = calloc(nc->nlisteners, sizeof(*n->lsn));
    if (!n->lsn)
        return APP_EX_OSERR;
    for (size_t j = 0; j < nc->nlisteners; j++) {
        const struct app_listener *l = &nc->listeners[j];
        struct net_addr a, bound;
        struct net_tls_conf tls = {
            .cert_file = l->tls.cert,
            .key_file = l->tls.key,
            .ca_file = *l->tls.ca ? l->tls.ca : NULL,
            .verify_peer = l->tls.verify_peer,
            .require_client_cert = l->tls.require_client_cert,
        };
        if (net_addr_parse(&a, l->address)) {
            sv_log(SV_LOG_ERR, MOD, "%s %s: not an IP address and port", app_tp_names[l->transport],
                   l->address);
            return APP_EX_CONFIG;
        }
        int idx = net_listen(rt->net, (enum net_tp)l->transport, &a,
                             l->transport == APP_TP_TLS ? &tls : NULL, &bound);
        if (idx < 0) {
            sv_log(SV_LOG_ERR, MOD, "cannot bind %s %s of node %s: %s",
                   app_tp_names[l->transport], l->address, nc->name, strerror(-idx));
            return APP_EX_UNAVAILABLE;
        }
        if ((size_t)idx >= SV_ARRAY_SIZE(rt->lsn_node)) {
            sv_log(SV_LOG_ERR, MOD, "too many listeners (at most %zu)",
                   SV_ARRAY_SIZE(rt->lsn_node));
            return APP_EX_CONFIG;
        }
        rt->lsn_node[idx] = (int)ni;
        n->lsn[j].tp = (enum net_tp)l->transport;
        n->lsn[j].addr = bound;
        n->lsn[j].index = idx;
    }
    n->nlsn = nc->nlisteners;
    return APP_EX_OK;
}

static int node_start(struct rt *rt, size_t ni, const struct app_config *cfg)
{
    struct rnode *n = &rt->nodes[ni];
    const struct app_node *nc = n->conf;
    struct txn_timers tm = {cfg->timers.t1, cfg->timers.t2, cfg->timers.t4};
    struct proxy_conf pc;

    if (nc->nroutes) {
        n->routes = calloc(nc->nroutes, sizeof(*n->routes));
        if (!n->routes)
            return APP_EX_OSERR;
        for (size_t i = 0; i < nc->nroutes; i++)
            if (route_target(nc, i, &n->routes[i]))
                return APP_EX_CONFIG;
        n->nroutes = nc->nroutes;
    }
    memset(&pc, 0, sizeof(pc));
    pc.name = nc->name;
    pc.domain = nc->domain;
    pc.listeners = n->lsn;
    pc.nlisteners = n->nlsn;
    pc.routes = n->routes;
    pc.nroutes = n->nroutes;
    pc.record_route = nc->record_route;
    pc.timer_c_ms = cfg->timers.timer_c;
    pc.max_txns = cfg->limits.max_transactions;
    pc.max_msg = cfg->limits.max_msg;
    if (proxy_alloc(&n->px, rt->wheel, &tm, node_send, n, &pc))
        return APP_EX_OSERR;
    return APP_EX_OK;
}

static void announce(const struct rt *rt, bool show_node)
{
    for (size_t i = 0; i < rt->nnodes; i++) {
        const struct rnode *n = &rt->nodes[i];
        for (size_t j = 0; j < n->nlsn; j++) {
            char where[80];
            const char *tp = app_tp_names[n->lsn[j].tp];
            net_addr_str(&n->lsn[j].addr, where, sizeof(where));
            sv_log(SV_LOG_NOTICE, MOD, "node %s: proxy listening on %s %s", n->conf->name, tp,
                   where);
            if (show_node)
                printf("ready %s %s node %s\n", tp, where, n->conf->name);
            else
                printf("ready %s %s\n", tp, where);
        }
    }
    fflush(stdout);
}

int app_nodes_run(const struct app_config *cfg, bool show_node)
{
    struct rt *rt = calloc(1, sizeof(*rt));
    struct net_limits nl;
    int rc = APP_EX_OK;

    if (!rt)
        return APP_EX_OSERR;
    rt->lim.max_msg = cfg->limits.max_msg;
    rt->lim.max_headers = cfg->limits.max_headers;
    rt->lim.max_start_line = cfg->limits.max_start_line;
    rt->lim.max_header = cfg->limits.max_header;
    frame_lim = rt->lim;
    rt->trace = cfg->log.trace;
    memset(&nl, 0, sizeof(nl));
    nl.max_conns = cfg->limits.max_conns;
    nl.max_conns_per_ip = cfg->limits.max_conns_per_ip;
    nl.idle_timeout_ms = cfg->limits.idle_timeout;
    nl.header_timeout_ms = cfg->limits.header_timeout;
    nl.max_msg = cfg->limits.max_msg;
    if (rt->trace)
        sv_log(SV_LOG_WARN, MOD, "log.trace is on: whole messages, identities included, go to "
                                 "the log");
    if (cfg->workers != 1)
        sv_log(SV_LOG_NOTICE, MOD,
               "workers %u: sharding across workers comes in a later release; running 1",
               cfg->workers);
    if (*cfg->metrics.listen)
        sv_log(SV_LOG_NOTICE, MOD, "metrics.listen %s: metrics are not served yet",
               cfg->metrics.listen);

    rt->nnodes = cfg->nnodes;
    rt->nodes = calloc(rt->nnodes, sizeof(*rt->nodes));
    rt->base = event_base_new();
    if (!rt->nodes || !rt->base || sv_wheel_alloc(&rt->wheel, sv_now_ms()) ||
        !(rt->tick = evtimer_new(rt->base, on_tick, rt)) ||
        net_alloc(&rt->net, rt->base, &nl, frame, on_recv, NULL, rt)) {
        rc = APP_EX_OSERR;
        goto out;
    }
    for (size_t i = 0; i < rt->nnodes; i++) {
        rt->nodes[i].rt = rt;
        rt->nodes[i].conf = &cfg->nodes[i];
    }
    for (size_t i = 0; i < rt->nnodes && rc == APP_EX_OK; i++)
        rc = node_listen(rt, i);
    for (size_t i = 0; i < rt->nnodes && rc == APP_EX_OK; i++)
        rc = node_start(rt, i, cfg);
    if (rc != APP_EX_OK)
        goto out;
    rt->sint = evsignal_new(rt->base, SIGINT, on_signal, rt);
    rt->sterm = evsignal_new(rt->base, SIGTERM, on_signal, rt);
    if (!rt->sint || !rt->sterm || event_add(rt->sint, NULL) || event_add(rt->sterm, NULL)) {
        rc = APP_EX_OSERR;
        goto out;
    }
    announce(rt, show_node);
    arm(rt);
    event_base_dispatch(rt->base);
    sv_log(SV_LOG_NOTICE, MOD, "stopped (%zu transaction%s still live)", live_txns(rt),
           live_txns(rt) == 1 ? "" : "s");
out:
    if (rt->nodes) {
        for (size_t i = 0; i < rt->nnodes; i++)
            proxy_free(rt->nodes[i].px);
    }
    if (rt->net)
        net_free(rt->net);
    if (rt->nodes) {
        for (size_t i = 0; i < rt->nnodes; i++) {
            free(rt->nodes[i].lsn);
            free(rt->nodes[i].routes);
        }
    }
    free(rt->nodes);
    if (rt->tick)
        event_free(rt->tick);
    if (rt->sint)
        event_free(rt->sint);
    if (rt->sterm)
        event_free(rt->sterm);
    if (rt->wheel)
        sv_wheel_free(rt->wheel);
    if (rt->base)
        event_base_free(rt->base);
    free(rt);
    return rc;
}
