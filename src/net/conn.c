/**
 * @file conn.c  TCP and TLS: listeners, connections, stream framing, keep-alives, timeouts.
 *
 * A connection is a libevent bufferevent (a socket one for TCP, an OpenSSL one for TLS). Its
 * input buffer accumulates what the peer sends; after each read, conn_input() cuts it into
 * messages: keep-alive CRLFs at a message boundary are stripped (a "\r\n\r\n" ping answered
 * with a "\r\n" pong, RFC 5626 §4.4.1), the framing function of the layer above is asked for
 * the length of the first message, and each complete message is handed up, as long as more
 * are complete. The framing looks at the first chunk of the buffer in place; only when that
 * is not enough is the head pulled up into one contiguous block, and never beyond max_msg.
 *
 * Bounds on what a peer can make us hold (RFC 3261 §18 leaves them to us):
 * - a message (or an unterminated head) longer than max_msg closes the connection;
 * - malformed framing closes it: a stream cannot resynchronise;
 * - a message that has started must be complete within header_timeout_ms (slowloris), and the
 *   same bound covers a TCP connect and a TLS handshake, in both directions;
 * - a connection with no traffic either way for idle_timeout_ms is closed;
 * - max_conns connections in all, max_conns_per_ip accepted from one IP; an accept beyond
 *   either is closed at once (conns_refused);
 * - at most 16 * max_msg (1 MiB at least) queued for a peer that does not read (ENOBUFS).
 *
 * Errors reported through closeh: 0 for an orderly close by the peer, ETIMEDOUT for either
 * timeout, EBADMSG for malformed framing, EMSGSIZE for oversize, EACCES for a TLS certificate
 * that did not verify (or that we required and did not get), EPROTO for another TLS failure,
 * else the socket's errno
 * (ECONNREFUSED, ECONNRESET...).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include "net_int.h"

static const char *const MODULE = "net";

/* How long a listener pauses after an accept error (EMFILE...) instead of spinning. */
#define ACCEPT_PAUSE_MS 100

static void timer_start(struct event *ev, uint64_t ms)
{
    struct timeval tv = {
        .tv_sec = (time_t)(ms / 1000),
        .tv_usec = (suseconds_t)(ms % 1000) * 1000,
    };

    event_add(ev, &tv);
}

static size_t outq_max(const struct net *net)
{
    size_t m = net->lim.max_msg * 16;

    return m < (1u << 20) ? (1u << 20) : m;
}

static void set_nodelay(evutil_socket_t fd)
{
    int one = 1;

    /* Messages are written whole; Nagle would only hold back the last segment of each. */
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void set_local(struct net_conn *c, evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        net__addr_set(&c->flow.local, (const struct sockaddr *)&ss, sl);
}

static void log_conn(const struct net_conn *c, const char *what, int err)
{
    char a[64];

    if (sv_log_enabled(SV_LOG_DEBUG)) {
        sv_log_write(SV_LOG_DEBUG, MODULE, "%s %s %s%s%s", net_tp_name(c->flow.tp),
                     net_addr_str(&c->flow.peer, a, sizeof(a)), what, err ? ": " : "",
                     err ? strerror(err) : "");
    }
}

/* ---- closing ---- */

static void conn_destroy(void *obj)
{
    struct net_conn *c = obj;

    sv_free(c->subject);
}

/**
 * Close @p c: unlink it, free its bufferevent (which closes the socket and frees the SSL) and
 * timers, tell the layer above when @p notify (and the instance is not being freed), and drop
 * the instance's reference. The object itself lives on while flows hold it.
 */
void net__conn_close(struct net_conn *c, int err, bool notify)
{
    struct net *net = c->net;

    if (!c->alive)
        return;
    c->alive = false;
    c->connecting = false;
    net__conn_unlink(net, c);
    if (c->inbound)
        net__ip_dec(net, &c->flow.peer);
    net->stats.conns_open--;
    event_free(c->idle_ev);
    event_free(c->hdr_ev);
    c->idle_ev = NULL;
    c->hdr_ev = NULL;
    bufferevent_free(c->bev);
    c->bev = NULL;
    c->net = NULL;
    log_conn(c, "closed", err);
    if (notify && !net->closed && net->closeh) {
        sv_ref(net); /* closeh may call net_free() */
        net->closeh(c, err, net->arg);
        sv_deref(net);
    }
    sv_deref(c);
}

/** @return the verified peer certificate's subject (RFC 2253), or NULL */
const char *net_conn_peer_subject(const struct net_conn *c)
{
    return c ? c->subject : NULL;
}

/** @return whether @p c is still open (a held flow may outlive its connection) */
bool net_conn_alive(const struct net_conn *c)
{
    return c && c->alive;
}

/**
 * @param c  a connection (held through a flow).
 * @param a  out: its local address, once up.
 * @return 0, EINPROGRESS (connect or handshake not finished) or ENOTCONN (closed).
 */
int net_conn_local(const struct net_conn *c, struct net_addr *a)
{
    if (!c || !c->alive || !a)
        return ENOTCONN;
    if (c->connecting)
        return EINPROGRESS;
    *a = c->flow.local;
    return 0;
}

/* ---- timers ---- */

static void conn_idle(evutil_socket_t fd, short what, void *arg)
{
    struct net_conn *c = arg;
    struct net *net = c->net;
    uint64_t now = net__now_ms(), quiet = now - c->last_ms;

    if (quiet < net->lim.idle_timeout_ms) {
        /* Traffic since the timer started: wait for the rest of the period from then on.
           Rearming here rather than on every read keeps the read path free of timer work. */
        timer_start(c->idle_ev, net->lim.idle_timeout_ms - quiet);
        return;
    }
    net->stats.conns_timed_out++;
    net__conn_close(c, ETIMEDOUT, true);
}

static void conn_hdr_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct net_conn *c = arg;

    log_conn(c, c->connecting ? "handshake too slow" : "message too slow", 0);
    c->net->stats.conns_timed_out++;
    net__conn_close(c, ETIMEDOUT, true);
}

static void hdr_timer_stop(struct net_conn *c)
{
    if (c->hdr_armed || c->connecting)
        event_del(c->hdr_ev);
    c->hdr_armed = false;
}

/* ---- reading ---- */

/*
 * Strip the CR and LF octets at a message boundary. Each complete "\r\n\r\n" is a ping and
 * gets a "\r\n" pong; a lone "\r\n" (a pong to a ping of the peer's) is dropped. How much of a
 * ping has been seen survives across reads, so a ping split between segments is still one.
 */
static void conn_keepalives(struct net_conn *c, struct evbuffer *in)
{
    static const char ping[] = "\r\n\r\n";
    struct net *net = c->net;

    while (evbuffer_get_length(in)) {
        struct evbuffer_iovec v;
        const char *p;
        size_t i;

        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || !v.iov_len) {
            v.iov_base = evbuffer_pullup(in, 1);
            v.iov_len = 1;
            if (!v.iov_base)
                return;
        }
        p = v.iov_base;
        for (i = 0; i < v.iov_len && (p[i] == '\r' || p[i] == '\n'); i++) {
            if (p[i] == ping[c->ka]) {
                if (++c->ka == 4) {
                    c->ka = 0;
                    net->stats.keepalives++;
                    /* A peer that pings and never reads gets no more than the output cap. */
                    if (evbuffer_get_length(bufferevent_get_output(c->bev)) < outq_max(net) &&
                        bufferevent_write(c->bev, "\r\n", 2) == 0)
                        net->stats.tx_bytes += 2;
                }
            } else {
                c->ka = p[i] == '\r' ? 1 : 0;
            }
        }
        evbuffer_drain(in, i);
        if (i < v.iov_len) {
            c->ka = 0; /* a message starts */
            return;
        }
    }
}

static void conn_event(struct bufferevent *bev, short what, void *arg);

static void conn_flushed(struct bufferevent *bev, void *arg)
{
    struct net_conn *c = arg;

    (void)bev;
    if (c->closing && c->alive)
        net__conn_close(c, c->closing, true);
}

/*
 * A framing error: nothing more is read (where the next message starts is unknown), but the
 * answers to the messages before it, already queued, still go out; then the connection closes
 * with @p err. The idle timer bounds a peer that never reads them.
 */
static void conn_close_after_flush(struct net_conn *c, int err)
{
    c->closing = err;
    bufferevent_disable(c->bev, EV_READ);
    hdr_timer_stop(c);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        net__conn_close(c, err, true);
        return;
    }
    bufferevent_setcb(c->bev, NULL, conn_flushed, conn_event, c);
}

/*
 * Frame and deliver the message at the head of @p in.
 * @return true when one was delivered and the caller may look for the next
 */
static bool conn_message(struct net_conn *c, struct evbuffer *in)
{
    struct net *net = c->net;
    size_t avail = evbuffer_get_length(in);
    size_t want = avail < net->lim.max_msg ? avail : net->lim.max_msg;
    size_t n, mlen = 0;
    const char *buf, *reason = NULL;
    struct evbuffer_iovec v;
    int err;

    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
        v.iov_base = NULL;
        v.iov_len = 0;
    }
    buf = v.iov_base;
    n = v.iov_len < want ? v.iov_len : want;
    err = n ? net->frame(buf, n, true, &mlen, &reason) : ENODATA;
    if (err == ENODATA && n < want) {
        buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
        if (!buf) {
            net__conn_close(c, ENOMEM, true);
            return false;
        }
        n = want;
        err = net->frame(buf, n, true, &mlen, &reason);
    }
    if (err == ENODATA) {
        if (n < net->lim.max_msg) {
            if (!c->hdr_armed) {
                c->hdr_armed = true;
                timer_start(c->hdr_ev, net->lim.header_timeout_ms);
            }
            return false;
        }
        err = EMSGSIZE; /* max_msg octets and still no end */
        reason = "message exceeds max_msg";
    }
    if (!err && (mlen == 0 || mlen > n))
        err = EBADMSG; /* a framing function that contradicts itself */
    if (err) {
        if (err == EMSGSIZE) {
            net->stats.dropped_oversize++;
        } else {
            net->stats.dropped_malformed++;
            err = EBADMSG;
        }
        if (sv_log_enabled(SV_LOG_DEBUG))
            log_conn(c, reason ? reason : "malformed framing", 0);
        conn_close_after_flush(c, err);
        return false;
    }
    hdr_timer_stop(c);
    net->stats.rx_msgs++;
    net->recvh(&c->flow, buf, mlen, net->arg);
    if (!c->alive || net->closed)
        return false;
    evbuffer_drain(in, mlen);
    return true;
}

static void conn_input(struct net_conn *c)
{
    struct net *net = c->net;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t avail = evbuffer_get_length(in);

    if (avail > c->in_left)
        net->stats.rx_bytes += avail - c->in_left;
    c->last_ms = net__now_ms();
    /* recvh may send, or free the instance: hold both until the loop is done. */
    sv_ref(c);
    sv_ref(net);
    while (c->alive && !net->closed) {
        conn_keepalives(c, in);
        if (!evbuffer_get_length(in) || !conn_message(c, in))
            break;
    }
    if (c->alive)
        c->in_left = evbuffer_get_length(in);
    sv_deref(net);
    sv_deref(c);
}

static void conn_readable(struct bufferevent *bev, void *arg)
{
    conn_input(arg);
}

/* ---- connection events ---- */

/* The errno to report for BEV_EVENT_ERROR. */
static int conn_error(struct net_conn *c)
{
    int err = EVUTIL_SOCKET_ERROR();

    if (c->flow.tp == NET_TLS) {
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        unsigned long e;
        bool tls = false, cert = ssl && SSL_get_verify_result(ssl) != X509_V_OK;
        char buf[256];

        while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
            tls = true;
            /* Our side refused the peer's certificate, or the peer sent none we required. */
            if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
                (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED ||
                 ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE))
                cert = true;
            if (sv_log_enabled(SV_LOG_DEBUG)) {
                ERR_error_string_n(e, buf, sizeof(buf));
                sv_log_write(SV_LOG_DEBUG, MODULE, "tls: %s", buf);
            }
        }
        if (tls)
            return cert ? EACCES : EPROTO;
    }
    return err ? err : ECONNRESET;
}

/*
 * The end of a connection before its TLS handshake finished. With dirty shutdowns allowed,
 * libevent reports a socket that failed under the handshake as EOF, a refused connect
 * included: that is no orderly close, so find the socket's error.
 */
static int conn_early_eof(struct net_conn *c)
{
    int err = EVUTIL_SOCKET_ERROR(), so = 0;
    socklen_t sl = sizeof(so);
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so)
        return so;
    return err && err != EAGAIN && err != EINTR ? err : ECONNRESET;
}

/* Connected (outbound TCP) or handshake done (TLS, both ways). */
static void conn_up(struct net_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    hdr_timer_stop(c);
    c->connecting = false;
    if (!c->inbound) {
        set_nodelay(fd);
        set_local(c, fd);
    }
    if (c->flow.tp == NET_TLS) {
        sv_free(c->subject);
        c->subject = net__tls_subject(bufferevent_openssl_get_ssl(c->bev));
    }
    log_conn(c, "up", 0);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct net_conn *c = arg;
    int err = 0;

    if (what & BEV_EVENT_CONNECTED) {
        conn_up(c);
        return;
    }
    if (what & BEV_EVENT_ERROR)
        err = conn_error(c);
    else if (c->connecting)
        err = conn_early_eof(c);
    net__conn_close(c, err, true);
}

/* ---- creating connections ---- */

static struct net_conn *conn_new(struct net *net, enum net_tp tp, const struct net_addr *peer)
{
    struct net_conn *c = sv_zalloc(sizeof(*c), conn_destroy);

    if (!c)
        return NULL;
    c->net = net;
    c->flow.tp = tp;
    c->flow.peer = *peer;
    c->flow.listener = -1;
    c->flow.conn = c;
    c->idle_ev = evtimer_new(net->base, conn_idle, c);
    c->hdr_ev = evtimer_new(net->base, conn_hdr_timeout, c);
    if (!c->idle_ev || !c->hdr_ev) {
        if (c->idle_ev)
            event_free(c->idle_ev);
        if (c->hdr_ev)
            event_free(c->hdr_ev);
        sv_deref(c);
        return NULL;
    }
    return c;
}

/* Free what conn_new() made, for a connection that never went live. */
static void conn_discard(struct net_conn *c)
{
    event_free(c->idle_ev);
    event_free(c->hdr_ev);
    if (c->bev)
        bufferevent_free(c->bev);
    sv_deref(c);
}

/*
 * The bufferevent of @p c over @p fd (-1: connect later).
 * @return 0 or ENOMEM. On failure the caller still owns @p fd, except for a TLS bufferevent
 * that libevent failed to set up, after which neither the socket nor the SSL is touched again
 * (libevent may have released them: leaking beats closing twice).
 */
static int conn_bev(struct net_conn *c, evutil_socket_t fd, SSL_CTX *ctx, bool accepting,
                    bool *fd_lost)
{
    struct net *net = c->net;

    *fd_lost = false;
    if (c->flow.tp == NET_TLS) {
        SSL *ssl = SSL_new(ctx);
        if (!ssl) {
            net__tls_log_errors(SV_LOG_WARN, "SSL_new");
            return ENOMEM;
        }
        c->bev = bufferevent_openssl_socket_new(
            net->base, fd, ssl, accepting ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
            BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev) {
            *fd_lost = true;
            return ENOMEM;
        }
        /* Most SIP peers close without a close_notify; that is an end, not an attack. */
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    } else {
        c->bev = bufferevent_socket_new(net->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev)
            return ENOMEM;
    }
    bufferevent_setcb(c->bev, conn_readable, NULL, conn_event, c);
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE))
        return ENOMEM;
    return 0;
}

/* Make @p c live: on the list and in the hash, with its timers running. */
static void conn_go_live(struct net_conn *c)
{
    struct net *net = c->net;

    c->alive = true;
    c->last_ms = net__now_ms();
    net__conn_link(net, c);
    net->stats.conns_open++;
    timer_start(c->idle_ev, net->lim.idle_timeout_ms);
    if (c->connecting)
        timer_start(c->hdr_ev, net->lim.header_timeout_ms);
}

static void conn_accepted(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa,
                          int salen, void *arg)
{
    struct net_lsn *l = arg;
    struct net *net = l->net;
    struct net_addr peer;
    struct net_conn *c;
    bool fd_lost;

    net__addr_set(&peer, sa, (socklen_t)salen);
    if (net->stats.conns_open >= net->lim.max_conns ||
        net__ip_count(net, &peer) >= net->lim.max_conns_per_ip) {
        net->stats.conns_refused++;
        close(fd);
        return;
    }
    c = conn_new(net, l->tp, &peer);
    if (!c) {
        close(fd);
        return;
    }
    c->inbound = true;
    c->connecting = l->tp == NET_TLS;
    c->flow.listener = l->idx;
    set_local(c, fd);
    set_nodelay(fd);
    if (net__ip_inc(net, &peer)) {
        close(fd);
        conn_discard(c);
        return;
    }
    if (conn_bev(c, fd, l->ctx, true, &fd_lost)) {
        net__ip_dec(net, &peer);
        if (!fd_lost)
            close(fd);
        conn_discard(c);
        return;
    }
    net->stats.conns_accepted++;
    conn_go_live(c);
    log_conn(c, "accepted", 0);
}

/**
 * Open a connection to @p dst (non-blocking). Data written before it is up is queued; a
 * failure to connect is reported through closeh. The instance holds the only reference.
 * @return 0, ENOBUFS (max_conns), ENOMEM, EINVAL (no usable TLS context), or the errno of a
 *         connect that failed at once
 */
int net__conn_connect(struct net_conn **cp, struct net *net, enum net_tp tp,
                      const struct net_addr *dst)
{
    struct net_conn *c;
    bool fd_lost;
    int err;

    if (net->stats.conns_open >= net->lim.max_conns)
        return ENOBUFS;
    if (tp == NET_TLS && !net->client_ctx) {
        err = net__tls_client_ctx(&net->client_ctx, NULL);
        if (err)
            return err;
    }
    c = conn_new(net, tp, dst);
    if (!c)
        return ENOMEM;
    c->connecting = true;
    err = conn_bev(c, -1, net->client_ctx, false, &fd_lost);
    if (err) {
        conn_discard(c);
        return err;
    }
    errno = 0;
    if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&dst->ss, (int)dst->len)) {
        err = errno ? errno : ECONNREFUSED;
        conn_discard(c);
        return err;
    }
    conn_go_live(c);
    log_conn(c, "connecting", 0);
    *cp = c;
    return 0;
}

/**
 * Queue @p buf on @p c.
 * @return 0, ENOBUFS when too much is already queued, ENOMEM
 */
int net__conn_send(struct net_conn *c, const char *buf, size_t len)
{
    struct net *net = c->net;
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (evbuffer_get_length(out) + len > outq_max(net))
        return ENOBUFS;
    if (bufferevent_write(c->bev, buf, len))
        return ENOMEM;
    c->last_ms = net__now_ms();
    net->stats.tx_msgs++;
    net->stats.tx_bytes += len;
    return 0;
}

/* ---- listeners ---- */

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct net_lsn *l = arg;

    evconnlistener_enable(l->el);
}

static void accept_error(struct evconnlistener *el, void *arg)
{
    struct net_lsn *l = arg;
    int err = EVUTIL_SOCKET_ERROR();

    /* Out of descriptors (EMFILE, ENFILE) or buffers: the pending connection stays in the
       backlog and the socket stays readable, so pause rather than spin. */
    sv_log(SV_LOG_WARN, MODULE, "%s listener: accept: %s", net_tp_name(l->tp), strerror(err));
    evconnlistener_disable(el);
    timer_start(l->pause_ev, ACCEPT_PAUSE_MS);
}

/**
 * Bind and listen for listener @p l (TCP or TLS; a TLS listener has its context already).
 * @return 0 or an errno
 */
int net__stream_listen(struct net_lsn *l, const struct net_addr *addr)
{
    int fd, err;

    err = net__sock_bind(&fd, SOCK_STREAM, addr, l->net->lim.reuseport, &l->local);
    if (err)
        return err;
    l->pause_ev = evtimer_new(l->net->base, accept_resume, l);
    if (!l->pause_ev) {
        close(fd);
        return ENOMEM;
    }
    l->el = evconnlistener_new(l->net->base, conn_accepted, l,
                               LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, SOMAXCONN, fd);
    if (!l->el) {
        err = errno ? errno : ENOMEM;
        close(fd);
        event_free(l->pause_ev);
        l->pause_ev = NULL;
        return err;
    }
    evconnlistener_set_error_cb(l->el, accept_error);
    return 0;
}

void net__stream_close(struct net_lsn *l)
{
    if (l->el)
        evconnlistener_free(l->el);
    l->el = NULL;
    if (l->pause_ev)
        event_free(l->pause_ev);
    l->pause_ev = NULL;
    SSL_CTX_free(l->ctx);
    l->ctx = NULL;
}
