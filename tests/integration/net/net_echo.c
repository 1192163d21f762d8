/**
 * @file net_echo.c  A transport instance that echoes every framed message back on its flow:
 * the peer of tls_python.py, which drives it with another TLS stack.
 *
 * Usage: net_echo --listen udp|tcp|tls:ADDR [--listen ...] [--cert F --key F] [--ca F]
 *                 [--require-client-cert] [--idle-ms N] [--header-ms N]
 *
 * Standard output, one line each, flushed: "ready <tp> <addr>" once per listener after all
 * are bound; "msg <TP> <len> subject=<RFC 2253 subject or ->" per message; "close <errno>"
 * per closed connection; "stats ..." at the end. SIGTERM or SIGINT stops it with status 0;
 * status 64 is a usage error, 69 a listener that could not be set up.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <sipveil/net.h>
#include <sipveil/sip.h>

#define MAX_LISTEN 8

struct echo {
    struct event_base *base;
    struct net *net;
};

static int frame(const char *buf, size_t len, bool stream, size_t *msg_len, const char **reason)
{
    struct sip_perr pe = {0};
    int err = sip_frame(buf, len, stream ? SIP_STREAM : SIP_DGRAM, NULL, msg_len, &pe);

    if (err && err != ENODATA && reason)
        *reason = pe.reason;
    return err;
}

static void on_recv(const struct net_flow *flow, const char *buf, size_t len, void *arg)
{
    struct echo *e = arg;
    const char *subject = flow->conn ? net_conn_peer_subject(flow->conn) : NULL;
    int err = net_send(e->net, flow->tp, &flow->peer, flow, buf, len, NULL);

    printf("msg %s %zu subject=%s\n", net_tp_name(flow->tp), len, subject ? subject : "-");
    if (err)
        printf("echo-failed %d\n", err);
    fflush(stdout);
}

static void on_close(struct net_conn *conn, int err, void *arg)
{
    printf("close %d\n", err);
    fflush(stdout);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static int usage(const char *why)
{
    fprintf(stderr, "net_echo: %s\n", why);
    return 64;
}

int main(int argc, char **argv)
{
    struct net_tls_conf tls = {.verify_peer = true};
    struct net_limits lim = net_limits_default;
    const char *listen[MAX_LISTEN];
    unsigned nlisten = 0;
    struct net_addr bound[MAX_LISTEN];
    enum net_tp tps[MAX_LISTEN];
    struct echo e = {0};
    struct event *sint, *sterm;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--require-client-cert")) {
            tls.require_client_cert = true;
            continue;
        }
        if (!v)
            return usage("an option lacks its value");
        i++;
        if (!strcmp(a, "--listen") && nlisten < MAX_LISTEN)
            listen[nlisten++] = v;
        else if (!strcmp(a, "--cert"))
            tls.cert_file = v;
        else if (!strcmp(a, "--key"))
            tls.key_file = v;
        else if (!strcmp(a, "--ca"))
            tls.ca_file = v;
        else if (!strcmp(a, "--idle-ms"))
            lim.idle_timeout_ms = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--header-ms"))
            lim.header_timeout_ms = (unsigned)strtoul(v, NULL, 10);
        else
            return usage("unknown option");
    }
    if (!nlisten)
        return usage("nothing to listen on");

    e.base = event_base_new();
    if (!e.base || net_alloc(&e.net, e.base, &lim, frame, on_recv, on_close, &e))
        return 70;
    for (unsigned i = 0; i < nlisten; i++) {
        struct net_addr a;
        const char *s = listen[i];
        int idx;

        if (!strncmp(s, "udp:", 4))
            tps[i] = NET_UDP;
        else if (!strncmp(s, "tcp:", 4))
            tps[i] = NET_TCP;
        else if (!strncmp(s, "tls:", 4))
            tps[i] = NET_TLS;
        else
            return usage("--listen wants udp:, tcp: or tls:ADDR");
        if (net_addr_parse(&a, s + 4))
            return usage("--listen: not an address with a port");
        idx = net_listen(e.net, tps[i], &a, tps[i] == NET_TLS ? &tls : NULL, &bound[i]);
        if (idx < 0) {
            fprintf(stderr, "net_echo: cannot listen on %s: %s\n", s, strerror(-idx));
            net_free(e.net);
            event_base_free(e.base);
            return 69;
        }
    }
    for (unsigned i = 0; i < nlisten; i++) {
        char buf[64];
        const char *tp = tps[i] == NET_UDP ? "udp" : tps[i] == NET_TCP ? "tcp" : "tls";
        printf("ready %s %s\n", tp, net_addr_str(&bound[i], buf, sizeof(buf)));
    }
    fflush(stdout);

    sint = evsignal_new(e.base, SIGINT, on_signal, e.base);
    sterm = evsignal_new(e.base, SIGTERM, on_signal, e.base);
    if (!sint || !sterm || event_add(sint, NULL) || event_add(sterm, NULL))
        rc = 70;
    else
        event_base_dispatch(e.base);

    const struct net_stats *st = net_stats_get(e.net);
    printf("stats rx_msgs=%lu tx_msgs=%lu keepalives=%lu dropped_malformed=%lu "
           "conns_accepted=%lu conns_open=%lu\n",
           st->rx_msgs, st->tx_msgs, st->keepalives, st->dropped_malformed, st->conns_accepted,
           st->conns_open);
    fflush(stdout);
    net_free(e.net);
    if (sint)
        event_free(sint);
    if (sterm)
        event_free(sterm);
    event_base_free(e.base);
    return rc;
}
