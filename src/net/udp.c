/**
 * @file udp.c  UDP listeners: batched receive (recvmmsg), framing of datagrams, sendto.
 *
 * One wakeup reads up to NET__UDP_BATCH datagrams with one system call; under load that is
 * what keeps the cost per message down, and the loop being level-triggered, whatever is left
 * wakes it again at once. The receive slots are shared by every UDP listener of the instance
 * (one loop reads one socket at a time) and each is min(max_msg, 65535) octets, so that a
 * datagram longer than max_msg comes back flagged MSG_TRUNC and is dropped as oversize.
 *
 * Nodes of one process (the lab: P-CSCF, I-CSCF and S-CSCF on one worker) send each other
 * datagrams over loopback. The kernel queues such a datagram on the receiving socket before
 * sendto returns, so a read pass that sent one to a listener of its own reads that listener
 * before going back to the loop: a hop then costs a sendto and a recvmmsg, not an epoll_wait
 * and a turn of the loop besides. The datagram still crosses the kernel, as between machines.
 * Not with SO_REUSEPORT (several workers): the kernel may queue it on another worker's
 * socket, and the read would find nothing.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <event2/event.h>
#include "net_int.h"

#define UDP_RCVBUF (4 << 20) /* octets asked for each UDP socket's receive buffer */

static const char *const MODULE = "net";

/* Allocate the receive slots of the instance, once. */
static int udp_slots(struct net *net)
{
    size_t slot = net->lim.max_msg < NET__UDP_MAX ? net->lim.max_msg : NET__UDP_MAX;

    if (net->udp_buf)
        return 0;
    net->udp_buf = sv_malloc(slot * NET__UDP_BATCH);
    net->udp_mm = sv_calloc(NET__UDP_BATCH, sizeof(*net->udp_mm));
    net->udp_iov = sv_calloc(NET__UDP_BATCH, sizeof(*net->udp_iov));
    net->udp_from = sv_calloc(NET__UDP_BATCH, sizeof(*net->udp_from));
    if (!net->udp_buf || !net->udp_mm || !net->udp_iov || !net->udp_from) {
        sv_free(net->udp_buf);
        sv_free(net->udp_mm);
        sv_free(net->udp_iov);
        sv_free(net->udp_from);
        net->udp_buf = NULL;
        net->udp_mm = NULL;
        net->udp_iov = NULL;
        net->udp_from = NULL;
        return ENOMEM;
    }
    net->udp_slot = slot;
    /* the headers point at their slots for good: recvmmsg writes only the lengths back */
    for (unsigned i = 0; i < NET__UDP_BATCH; i++) {
        net->udp_iov[i].iov_base = net->udp_buf + i * slot;
        net->udp_iov[i].iov_len = slot;
        net->udp_mm[i].msg_hdr.msg_iov = &net->udp_iov[i];
        net->udp_mm[i].msg_hdr.msg_iovlen = 1;
        net->udp_mm[i].msg_hdr.msg_name = &net->udp_from[i];
        net->udp_mm[i].msg_hdr.msg_namelen = sizeof(net->udp_from[i]);
    }
    return 0;
}

/* One datagram: strip keep-alive CRLFs, frame, deliver. */
static void udp_datagram(struct net_lsn *l, char *buf, size_t len, int flags,
                         const struct sockaddr_storage *from, socklen_t fromlen)
{
    struct net *net = l->net;
    struct net_flow flow;
    const char *reason = NULL;
    size_t skip = 0, mlen = 0;
    int err;

    net->stats.rx_bytes += len;
    if (flags & MSG_TRUNC) {
        net->stats.dropped_oversize++;
        return;
    }
    while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
        skip++;
    if (skip == len) {
        /* CRLFs alone: a keep-alive some clients send over UDP too. Nothing to answer. */
        if (len)
            net->stats.keepalives++;
        else
            net->stats.dropped_malformed++;
        return;
    }
    buf += skip;
    len -= skip;
    err = net->frame(buf, len, false, &mlen, &reason);
    if (!err && (mlen == 0 || mlen > len))
        err = EBADMSG; /* a framing function that contradicts itself */
    if (err) {
        if (err == EMSGSIZE)
            net->stats.dropped_oversize++;
        else
            net->stats.dropped_malformed++;
        sv_log(SV_LOG_DEBUG, MODULE, "udp: dropped a datagram of %zu octets: %s", len,
               reason ? reason : "malformed");
        return;
    }
    memset(&flow, 0, sizeof(flow));
    flow.tp = NET_UDP;
    net__addr_set(&flow.peer, (const struct sockaddr *)from, fromlen);
    flow.local = l->local;
    flow.listener = l->idx;
    net->stats.rx_msgs++;
    net->recvh(&flow, buf, mlen, net->arg);
}

/* One batch from @p l's socket, each datagram delivered. The caller holds the instance. */
static void udp_read_batch(struct net_lsn *l)
{
    struct net *net = l->net;
    int n = recvmmsg(l->fd, net->udp_mm, NET__UDP_BATCH, MSG_DONTWAIT, NULL);

    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) /* EWOULDBLOCK is EAGAIN on Linux */
            sv_log(SV_LOG_WARN, MODULE, "udp: recvmmsg: %s", strerror(errno));
        return;
    }
    if (n > 0)
        net->stats.udp_recv_calls++;
    for (int i = 0; i < n && !net->closed; i++) {
        struct msghdr *h = &net->udp_mm[i].msg_hdr;
        socklen_t fromlen = h->msg_namelen;
        h->msg_namelen = sizeof(net->udp_from[i]); /* the one input recvmmsg overwrote */
        udp_datagram(l, net->udp_iov[i].iov_base, net->udp_mm[i].msg_len, h->msg_flags,
                     &net->udp_from[i], fromlen);
    }
}

/* The UDP listener of this instance that @p dst names, when a datagram sent there is sure to
 * be queued on its socket: not with SO_REUSEPORT, where another worker's socket may take it.
 * NULL otherwise. */
static struct net_lsn *udp_own(struct net *net, const struct net_addr *dst)
{
    if (net->lim.reuseport)
        return NULL;
    for (unsigned i = 0; i < net->nlsn; i++) {
        struct net_lsn *o = net->lsn[i];

        if (o && o->tp == NET_UDP && o->fd >= 0 && net_addr_eq(&o->local, dst))
            return o;
    }
    return NULL;
}

/* A datagram went to own listener @p o during a read pass: read it before the pass ends. */
static void udp_note_own(struct net *net, struct net_lsn *o)
{
    if (o->udp_pending || net->udp_npend == NET__UDP_PEND)
        return;
    o->udp_pending = true;
    net->udp_pend[net->udp_npend++] = o;
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
    struct net_lsn *l = arg;
    struct net *net = l->net;
    unsigned follow = 0;

    /* The layer above may call net_free() from recvh: hold the instance, stop when closed. */
    sv_ref(net);
    if (net->pass_begin)
        net->pass_begin(net->pass_arg);
    net->udp_reading = true;
    udp_read_batch(l);
    /* what the pass sent to its own listeners is queued there already; a bound keeps a
     * chain of hops from holding the loop */
    while (net->udp_npend && !net->closed && follow++ < 4 * NET__UDP_BATCH) {
        struct net_lsn *o = net->udp_pend[--net->udp_npend];

        o->udp_pending = false;
        net->stats.udp_local_reads++;
        udp_read_batch(o);
    }
    if (!net->closed) {
        while (net->udp_npend)
            net->udp_pend[--net->udp_npend]->udp_pending = false;
        net->udp_reading = false;
        if (net->pass_end)
            net->pass_end(net->pass_arg);
    }
    sv_deref(net);
}

/**
 * Bind a UDP socket for listener @p l and start reading it.
 * @return 0 or an errno
 */
int net__udp_listen(struct net_lsn *l, const struct net_addr *addr)
{
    int err = udp_slots(l->net);

    if (err)
        return err;
    err = net__sock_bind(&l->fd, SOCK_DGRAM, addr, l->net->lim.reuseport, &l->local);
    if (err)
        return err;
    /* A burst of datagrams must wait in the kernel, not be dropped there: the default
       receive buffer (about 200 KB, some 400 SIP messages) overflows under a burst that the
       loop drains in a millisecond. The kernel caps the request at net.core.rmem_max. */
    int rcvbuf = UDP_RCVBUF;
    if (setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
        sv_log(SV_LOG_INFO, MODULE, "UDP receive buffer: %s", strerror(errno));
    l->ev = event_new(l->net->base, l->fd, EV_READ | EV_PERSIST, udp_readable, l);
    if (!l->ev || event_add(l->ev, NULL)) {
        net__udp_close(l);
        return ENOMEM;
    }
    return 0;
}

void net__udp_close(struct net_lsn *l)
{
    struct net *net = l->net;

    for (unsigned i = 0; i < net->udp_npend; i++) {
        if (net->udp_pend[i] == l) { /* closed in a read pass that had sent to it */
            net->udp_pend[i] = net->udp_pend[--net->udp_npend];
            break;
        }
    }
    l->udp_pending = false;
    if (l->ev)
        event_free(l->ev);
    l->ev = NULL;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

/* sendto, counted. @return 0, ENOBUFS when the socket buffer is full, or the errno. */
static int udp_sendto(struct net *net, const struct net_lsn *l, const struct net_addr *dst,
                      const char *buf, size_t len)
{
    ssize_t n;

    do {
        n = sendto(l->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&dst->ss, dst->len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? ENOBUFS : errno; /* EWOULDBLOCK is EAGAIN on Linux */
    net->stats.tx_msgs++;
    net->stats.tx_bytes += (unsigned long)n;
    return 0;
}

/* Keep a copy of the datagram until net_release(). @return 0 or ENOMEM. */
static int udp_hold_one(struct net *net, const struct net_lsn *l, const struct net_addr *dst,
                        const char *buf, size_t len)
{
    if (net->nheld == net->held_cap) {
        unsigned cap = net->held_cap ? net->held_cap * 2 : 16;
        struct net_held *v = sv_realloc(net->held, cap * sizeof(*v));
        if (!v)
            return ENOMEM;
        net->held = v;
        net->held_cap = cap;
    }
    if (len > net->held_buf_cap - net->held_used) {
        size_t cap = net->held_buf_cap ? net->held_buf_cap : 16384;
        while (cap - net->held_used < len)
            cap *= 2;
        char *b = sv_realloc(net->held_buf, cap);
        if (!b)
            return ENOMEM;
        net->held_buf = b;
        net->held_buf_cap = cap;
    }
    memcpy(net->held_buf + net->held_used, buf, len);
    net->held[net->nheld++] = (struct net_held){l->idx, *dst, net->held_used, len};
    net->held_used += len;
    net->stats.udp_held++;
    return 0;
}

unsigned net__udp_release(struct net *net)
{
    unsigned failed = 0;

    for (unsigned i = 0; i < net->nheld; i++) {
        const struct net_held *h = &net->held[i];
        const struct net_lsn *l = h->lsn < (int)net->nlsn ? net->lsn[h->lsn] : NULL;
        int err = l && l->fd >= 0 ? udp_sendto(net, l, &h->dst, net->held_buf + h->off, h->len)
                                  : EBADF; /* its listener closed meanwhile */
        if (err) {
            failed++;
            sv_log(SV_LOG_INFO, MODULE, "udp: a datagram held for a commit could not be sent: %s",
                   strerror(err));
        }
    }
    net->nheld = 0;
    net->held_used = 0;
    return failed;
}

/**
 * One datagram out of @p l's socket, or into the held ones (net_hold) when it leaves the
 * instance.
 * @return 0, ENOBUFS when the socket buffer is full, ENOMEM, or the errno of sendto
 */
int net__udp_send(struct net *net, const struct net_lsn *l, const struct net_addr *dst,
                  const char *buf, size_t len)
{
    struct net_lsn *own = net->udp_reading || net->udp_hold ? udp_own(net, dst) : NULL;

    if (net->udp_hold && !own)
        return udp_hold_one(net, l, dst, buf, len);
    int err = udp_sendto(net, l, dst, buf, len);
    if (!err && own && net->udp_reading)
        udp_note_own(net, own);
    return err;
}
