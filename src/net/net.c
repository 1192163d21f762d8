/**
 * @file net.c  The transport instance: listeners, the connection tables, send routing, flows.
 *
 * Routing follows RFC 3261 §18: a response or request to a peer goes back over the
 * connection the caller names when it is still open and leads to that peer, else over any
 * open connection to that address and transport (the peer hash below), else over a new one.
 * UDP leaves from the listener the message came in on, so that the source address the peer
 * sees is the one it sent to.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <event2/event.h>
#include "net_int.h"

const struct net_limits net_limits_default = {
    .max_conns = 10000,
    .max_conns_per_ip = 100,
    .idle_timeout_ms = 300000,
    .header_timeout_ms = 10000,
    .max_msg = 65536,
};

#define HASH_MIN 64

uint64_t net__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the connection table: open connections by (peer, transport) ---- */

static size_t conn_bucket(const struct net *net, enum net_tp tp, const struct net_addr *peer,
                          size_t sz)
{
    return (size_t)net__addr_hash(peer, true, net->seed + (uint64_t)tp) & (sz - 1);
}

static void conn_hash_insert(struct net_conn **tab, size_t b, struct net_conn *c)
{
    c->hnext = tab[b];
    if (c->hnext)
        c->hnext->hpprev = &c->hnext;
    tab[b] = c;
    c->hpprev = &tab[b];
}

/* Double the table when it is full; on ENOMEM keep the old one (longer chains, same answers). */
static void conn_hash_grow(struct net *net)
{
    size_t sz = net->chash_sz ? net->chash_sz * 2 : HASH_MIN;
    struct net_conn **tab;

    if (net->nconns < net->chash_sz)
        return;
    tab = sv_calloc(sz, sizeof(*tab));
    if (!tab)
        return;
    for (struct net_conn *c = net->conns; c; c = c->next)
        conn_hash_insert(tab, conn_bucket(net, c->flow.tp, &c->flow.peer, sz), c);
    sv_free(net->chash);
    net->chash = tab;
    net->chash_sz = sz;
}

/** Link @p c on the connection list and in the peer hash; the list takes over its reference. */
void net__conn_link(struct net *net, struct net_conn *c)
{
    conn_hash_grow(net); /* before linking: it rehashes every connection on the list */
    c->next = net->conns;
    if (c->next)
        c->next->pprev = &c->next;
    net->conns = c;
    c->pprev = &net->conns;
    if (net->chash) {
        conn_hash_insert(net->chash, conn_bucket(net, c->flow.tp, &c->flow.peer, net->chash_sz), c);
    }
    net->nconns++;
}

void net__conn_unlink(struct net *net, struct net_conn *c)
{
    if (c->pprev) {
        *c->pprev = c->next;
        if (c->next)
            c->next->pprev = c->pprev;
        c->pprev = NULL;
        c->next = NULL;
        net->nconns--;
    }
    if (c->hpprev) {
        *c->hpprev = c->hnext;
        if (c->hnext)
            c->hnext->hpprev = c->hpprev;
        c->hpprev = NULL;
        c->hnext = NULL;
    }
}

struct net_conn *net__conn_find(struct net *net, enum net_tp tp, const struct net_addr *peer)
{
    if (!net->chash)
        return NULL;
    for (struct net_conn *c = net->chash[conn_bucket(net, tp, peer, net->chash_sz)]; c;
         c = c->hnext) {
        if (c->alive && c->flow.tp == tp && net_addr_eq(&c->flow.peer, peer))
            return c;
    }
    return NULL;
}

/* ---- accepted connections per peer IP ---- */

static size_t ip_bucket(const struct net *net, const struct net_addr *a, size_t sz)
{
    return (size_t)net__addr_hash(a, false, ~net->seed) & (sz - 1);
}

static struct net_ipcnt **ip_slot(struct net *net, const struct net_addr *peer)
{
    struct net_ipcnt **pp;

    if (!net->iphash)
        return NULL;
    for (pp = &net->iphash[ip_bucket(net, peer, net->iphash_sz)]; *pp; pp = &(*pp)->next) {
        if (net__addr_ip_eq(&(*pp)->ip, peer))
            return pp;
    }
    return pp;
}

unsigned net__ip_count(struct net *net, const struct net_addr *peer)
{
    struct net_ipcnt **pp = ip_slot(net, peer);

    return pp && *pp ? (*pp)->n : 0;
}

static void ip_hash_grow(struct net *net)
{
    size_t sz = net->iphash_sz ? net->iphash_sz * 2 : HASH_MIN;
    struct net_ipcnt **tab;

    if (net->nips < net->iphash_sz)
        return;
    tab = sv_calloc(sz, sizeof(*tab));
    if (!tab)
        return;
    for (size_t i = 0; i < net->iphash_sz; i++) {
        struct net_ipcnt *e, *next;
        for (e = net->iphash[i]; e; e = next) {
            size_t b = ip_bucket(net, &e->ip, sz);
            next = e->next;
            e->next = tab[b];
            tab[b] = e;
        }
    }
    sv_free(net->iphash);
    net->iphash = tab;
    net->iphash_sz = sz;
}

/** One more accepted connection from @p peer's IP. @return 0 or ENOMEM. */
int net__ip_inc(struct net *net, const struct net_addr *peer)
{
    struct net_ipcnt **pp, *e;

    ip_hash_grow(net);
    pp = ip_slot(net, peer);
    if (!pp)
        return ENOMEM;
    if (*pp) {
        (*pp)->n++;
        return 0;
    }
    e = sv_calloc(1, sizeof(*e));
    if (!e)
        return ENOMEM;
    e->ip = *peer;
    e->n = 1;
    *pp = e;
    net->nips++;
    return 0;
}

void net__ip_dec(struct net *net, const struct net_addr *peer)
{
    struct net_ipcnt **pp = ip_slot(net, peer), *e;

    if (!pp || !*pp)
        return;
    e = *pp;
    if (--e->n == 0) {
        *pp = e->next;
        sv_free(e);
        net->nips--;
    }
}

/* ---- the instance ---- */

static void net_destroy(void *obj)
{
    struct net *net = obj;

    /* net_free() closed every listener and connection; only memory is left. */
    for (size_t i = 0; i < net->iphash_sz; i++) {
        struct net_ipcnt *e, *next;
        for (e = net->iphash[i]; e; e = next) {
            next = e->next;
            sv_free(e);
        }
    }
    sv_free(net->iphash);
    sv_free(net->chash);
    for (unsigned i = 0; i < net->nlsn; i++)
        sv_free(net->lsn[i]);
    sv_free(net->lsn);
    sv_free(net->udp_buf);
    sv_free(net->held);
    sv_free(net->held_buf);
    sv_free(net->udp_mm);
    sv_free(net->udp_iov);
    sv_free(net->udp_from);
}

/*
 * A write to a connection the peer has reset raises SIGPIPE, whose default kills the process,
 * and neither libevent's writev nor OpenSSL's socket writes can ask the kernel not to. Ignore
 * it, unless the application has a handler of its own; the write then fails with EPIPE and
 * the connection closes like any other.
 */
static void ignore_sigpipe(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
        !(sa.sa_flags & SA_SIGINFO)) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
}

/**
 * Change the limits of a running instance (a reload); 0 fields take their defaults, and
 * reuseport keeps the value the instance was made with. Connections already open keep
 * running and meet the new bounds from their next event.
 */
void net_limits_set(struct net *net, const struct net_limits *lim)
{
    bool reuseport = net->lim.reuseport;

    net->lim = lim ? *lim : net_limits_default;
    net->lim.reuseport = reuseport;
    if (!net->lim.max_conns)
        net->lim.max_conns = net_limits_default.max_conns;
    if (!net->lim.max_conns_per_ip)
        net->lim.max_conns_per_ip = net_limits_default.max_conns_per_ip;
    if (!net->lim.idle_timeout_ms)
        net->lim.idle_timeout_ms = net_limits_default.idle_timeout_ms;
    if (!net->lim.header_timeout_ms)
        net->lim.header_timeout_ms = net_limits_default.header_timeout_ms;
    if (!net->lim.max_msg)
        net->lim.max_msg = net_limits_default.max_msg;
}

/**
 * A transport instance on @p base. Each field of @p lim left 0 takes its default. SIGPIPE is
 * ignored from now on if it was at its default disposition.
 * @param netp    out: the instance, set only on success
 * @param base    the event loop it runs on (not owned)
 * @param lim     limits, or NULL for net_limits_default
 * @param frame   the framing function of the layer above
 * @param recvh   called for every framed message
 * @param closeh  called when a connection closes; may be NULL
 * @param arg     passed to the three handlers
 * @return 0, EINVAL or ENOMEM
 */
int net_alloc(struct net **netp, struct event_base *base, const struct net_limits *lim,
              net_frame_h *frame, net_recv_h *recvh, net_close_h *closeh, void *arg)
{
    struct net *net;
    int err;

    if (!netp || !base || !frame || !recvh)
        return EINVAL;
    net = sv_zalloc(sizeof(*net), net_destroy);
    if (!net)
        return ENOMEM;
    net->base = base;
    net->lim.reuseport = lim && lim->reuseport;
    net_limits_set(net, lim);
    net->frame = frame;
    net->recvh = recvh;
    net->closeh = closeh;
    net->arg = arg;
    err = sv_random(&net->seed, sizeof(net->seed));
    if (err) {
        sv_deref(net);
        return err;
    }
    ignore_sigpipe();
    *netp = net;
    return 0;
}

void net_set_pass_hooks(struct net *net, void (*begin)(void *arg), void (*end)(void *arg),
                        void *arg)
{
    if (!net)
        return;
    net->pass_begin = begin;
    net->pass_end = end;
    net->pass_arg = arg;
}

void net_hold(struct net *net)
{
    if (net && !net->closed)
        net->udp_hold = true;
}

unsigned net_release(struct net *net)
{
    if (!net)
        return 0;
    net->udp_hold = false;
    if (net->closed) { /* nothing leaves a closed instance */
        unsigned n = net->nheld;
        net->nheld = 0;
        net->held_used = 0;
        return n;
    }
    return net__udp_release(net);
}

/**
 * Close every listener and connection. No callback runs after this returns, and none runs
 * from inside it. Flows still held keep their (dead) connections allocated.
 * @param net  the instance, or NULL
 */
void net_free(struct net *net)
{
    if (!net || net->closed)
        return;
    net->closed = true;
    net->udp_hold = false;
    net->nheld = 0;
    net->held_used = 0;
    for (unsigned i = 0; i < net->nlsn; i++) {
        struct net_lsn *l = net->lsn[i];
        if (l->tp == NET_UDP)
            net__udp_close(l);
        else
            net__stream_close(l);
    }
    while (net->conns)
        net__conn_close(net->conns, 0, false);
    SSL_CTX_free(net->client_ctx);
    net->client_ctx = NULL;
    sv_deref(net);
}

/**
 * Listen on @p addr.
 * @param net    the instance
 * @param tp     the transport
 * @param addr   where; port 0 takes any free port
 * @param tls    NET_TLS: certificate, key and client policy (required). The conf of the first
 *               TLS listener is also the client conf of outbound TLS connections.
 * @param bound  out (may be NULL): the address actually bound
 * @return the listener index (>= 0), or -EINVAL, -ENOMEM, -EADDRINUSE, ...
 */
int net_listen(struct net *net, enum net_tp tp, const struct net_addr *addr,
               const struct net_tls_conf *tls, struct net_addr *bound)
{
    struct net_lsn *l, **v;
    SSL_CTX *cctx = NULL;
    int err;

    if (!net || net->closed || !addr || (tp != NET_UDP && tp != NET_TCP && tp != NET_TLS))
        return -EINVAL;
    if (tp == NET_TLS && (!tls || !tls->cert_file || !tls->key_file))
        return -EINVAL;
    v = sv_realloc(net->lsn, (net->nlsn + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    net->lsn = v;
    l = sv_calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->net = net;
    l->tp = tp;
    l->idx = (int)net->nlsn;
    l->fd = -1;
    if (tp == NET_TLS) {
        err = net__tls_server_ctx(&l->ctx, tls);
        if (!err && !net->client_ctx_conf)
            err = net__tls_client_ctx(&cctx, tls);
        if (err)
            goto fail;
    }
    err = tp == NET_UDP ? net__udp_listen(l, addr) : net__stream_listen(l, addr);
    if (err)
        goto fail;
    if (cctx) {
        /* Connections already open keep their own reference to the old context. */
        SSL_CTX_free(net->client_ctx);
        net->client_ctx = cctx;
        net->client_ctx_conf = true;
    }
    net->lsn[net->nlsn++] = l;
    if (bound)
        *bound = l->local;
    return l->idx;

fail:
    SSL_CTX_free(cctx);
    SSL_CTX_free(l->ctx);
    sv_free(l);
    return -err;
}

/**
 * Outbound TLS settings without a TLS listener (see net.h).
 * @param net  the instance.
 * @param tls  ca_file, verify_peer, and cert_file/key_file for mutual TLS.
 * @return 0, EINVAL or ENOMEM.
 */
int net_tls_client_set(struct net *net, const struct net_tls_conf *tls)
{
    SSL_CTX *cctx = NULL;
    int err;

    if (!net || net->closed || !tls)
        return EINVAL;
    if ((err = net__tls_client_ctx(&cctx, tls)))
        return err;
    SSL_CTX_free(net->client_ctx); /* open connections keep a reference of their own */
    net->client_ctx = cctx;
    net->client_ctx_conf = true;
    return 0;
}

void net_accept_stop(struct net *net)
{
    if (!net || net->closed)
        return;
    for (unsigned i = 0; i < net->nlsn; i++)
        if (net->lsn[i]->tp != NET_UDP)
            net__stream_close(net->lsn[i]);
}

/* The UDP listener to send from: the flow's, else the first of the destination's family. */
static const struct net_lsn *udp_lsn(const struct net *net, const struct net_addr *dst,
                                     const struct net_flow *flow)
{
    if (flow && flow->tp == NET_UDP && flow->listener >= 0 &&
        (unsigned)flow->listener < net->nlsn) {
        const struct net_lsn *l = net->lsn[flow->listener];
        if (l->tp == NET_UDP && l->local.ss.ss_family == dst->ss.ss_family)
            return l;
    }
    for (unsigned i = 0; i < net->nlsn; i++) {
        const struct net_lsn *l = net->lsn[i];
        if (l->tp == NET_UDP && l->local.ss.ss_family == dst->ss.ss_family)
            return l;
    }
    return NULL;
}

/**
 * Send @p buf to @p dst over @p tp (see net.h for the routing).
 * @param net   the instance
 * @param tp    the transport
 * @param dst   the peer
 * @param flow  the flow to prefer; may be NULL
 * @param buf   one whole message (copied before return)
 * @param len   its length
 * @param used  out (may be NULL): the flow used, with a reference to release
 * @return 0, EINVAL, EHOSTUNREACH (no UDP listener of that family), ENOBUFS (too much queued
 *         or too many connections), EMSGSIZE, ENOMEM, or the errno of sendto/connect
 */
int net_send(struct net *net, enum net_tp tp, const struct net_addr *dst,
             const struct net_flow *flow, const char *buf, size_t len, struct net_flow *used)
{
    struct net_conn *c = NULL;
    int err;

    if (!net || net->closed || !dst || (!buf && len))
        return EINVAL;
    if (dst->ss.ss_family != AF_INET && dst->ss.ss_family != AF_INET6)
        return EAFNOSUPPORT;

    if (tp == NET_UDP) {
        const struct net_lsn *l = udp_lsn(net, dst, flow);
        if (!l)
            return EHOSTUNREACH;
        err = net__udp_send(net, l, dst, buf, len);
        if (err)
            return err;
        if (used) {
            memset(used, 0, sizeof(*used));
            used->tp = NET_UDP;
            used->peer = *dst;
            used->local = l->local;
            used->listener = l->idx;
        }
        return 0;
    }
    if (tp != NET_TCP && tp != NET_TLS)
        return EINVAL;

    if (flow && flow->conn && flow->conn->alive && flow->conn->net == net &&
        flow->conn->flow.tp == tp && net_addr_eq(&flow->conn->flow.peer, dst))
        c = flow->conn;
    if (!c)
        c = net__conn_find(net, tp, dst);
    if (c) {
        err = net__conn_send(c, buf, len);
        if (err)
            return err;
    } else {
        err = net__conn_connect(&c, net, tp, dst);
        if (err)
            return err;
        err = net__conn_send(c, buf, len);
        if (err) {
            net__conn_close(c, err, false); /* nobody has seen it: no callback */
            return err;
        }
    }
    if (used)
        net_flow_hold(used, &c->flow);
    return 0;
}

/**
 * Copy @p src into @p dst and take a reference on its connection, so that the flow may be
 * kept beyond the callback that handed it out.
 */
void net_flow_hold(struct net_flow *dst, const struct net_flow *src)
{
    if (!dst || !src)
        return;
    *dst = *src;
    sv_ref(dst->conn);
}

/** Drop the reference net_flow_hold() (or net_send's @p used) took. Safe twice. */
void net_flow_release(struct net_flow *f)
{
    if (!f)
        return;
    f->conn = sv_deref(f->conn);
}

/** @return the counters of @p net */
const struct net_stats *net_stats_get(const struct net *net)
{
    return &net->stats;
}
