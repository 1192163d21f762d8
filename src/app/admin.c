/**
 * @file admin.c  The admin HTTP listener: GET /metrics (Prometheus text format 0.0.4) and
 * GET /health, on libevent's evhttp.
 *
 * A scrape asks the collector for a snapshot and formats it; nothing is cached between
 * scrapes. Counters are summed over the workers by the collector; every family has a HELP and
 * a TYPE line once, then its samples, one per node (or one for the process), with label values
 * escaped as the format requires. A node's families list every method, class and reject code
 * with zeros included, so that rate() and sums work from the first scrape.
 *
 * The listener serves scrapers, not the public: requests have a small header and body cap and
 * a read timeout, and the only methods are GET and HEAD (HEAD gets the headers of GET).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sipveil/core.h>
#include <sipveil/sip.h>
#include "admin.h"

#define MOD "admin"

struct app_admin {
    struct evhttp *http; /* owns the listening socket */
    app_collect_h *collect;
    void *arg;
};

/* ---------------------------------------------------------------------------------------- */
/* The exposition format                                                                      */

/* An evbuffer that remembers its first failure, so that formatting reads straight. */
struct out {
    struct evbuffer *b;
    int err;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    if (o->err)
        return;
    va_start(ap, fmt);
    if (evbuffer_add_vprintf(o->b, fmt, ap) < 0)
        o->err = ENOMEM;
    va_end(ap);
}

/* A label value: backslash, double quote and newline escaped, as the text format wants. */
static void put_value(struct out *o, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        if (!esc)
            continue;
        put(o, "%.*s%s", (int)(s - run), run, esc);
        run = s + 1;
    }
    put(o, "%s", run);
}

static void put_family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `name{node="n",role="r"` : the caller adds its own labels, then closes with put_sample_end. */
static void put_node_sample(struct out *o, const char *name, const struct app_node_counters *n)
{
    put(o, "%s{node=\"", name);
    put_value(o, n->name ? n->name : "");
    put(o, "\",role=\"");
    put_value(o, n->role ? n->role : "");
    put(o, "\"");
}

static void put_sample_end(struct out *o, unsigned long v)
{
    put(o, "} %lu\n", v);
}

/* The families with one plain value per node, and where each is in the node's counters. */
static const struct node_family {
    const char *name, *type, *help;
    size_t off; /* of an unsigned long in struct app_node_counters */
} node_families[] = {
#define NF(n, t, f, h)                                                                             \
    {                                                                                              \
        "sipveil_" n, t, h, offsetof(struct app_node_counters, f)                                  \
    }
    NF("transactions_created_total", "counter", txn.created,
       "SIP transactions created, server and client."),
    NF("transactions_live", "gauge", txn.live, "SIP transactions alive now."),
    NF("retransmissions_absorbed_total", "counter", txn.absorbed,
       "Retransmitted requests and responses absorbed by a live transaction."),
    NF("retransmissions_sent_total", "counter", txn.retransmitted,
       "Requests and responses retransmitted by the transaction timers."),
    NF("transaction_timeouts_total", "counter", txn.timeouts,
       "Transactions ended by a timeout (timer B, F or H)."),
    NF("transaction_transport_errors_total", "counter", txn.transport_errors,
       "Transactions ended by a transport error."),
    NF("transaction_dropped_messages_total", "counter", txn.dropped,
       "Messages the transaction layer discarded: stray responses, ACKs matching nothing, "
       "requests it had no memory for."),
    NF("branches_forwarded_total", "counter", px.forwarded,
       "Client transactions started by the proxy (forwarded branches)."),
    NF("stateless_forwards_total", "counter", px.stateless,
       "ACKs and 2xx responses forwarded statelessly."),
    NF("cancels_sent_total", "counter", px.cancels, "CANCEL requests sent downstream."),
    NF("overload_rejects_total", "counter", px.overload_503,
       "New requests answered 503 because limits.max_transactions were live."),
    NF("send_errors_total", "counter", px.send_errors, "Messages the proxy failed to send."),
    NF("pipeline_drops_total", "counter", px.hook_drops,
       "Responses and ACKs the node's pipeline (privacy) refused to forward."),
    NF("privacy_decisions_total", "counter", priv.decided,
       "Messages the privacy service decided on (one per request target and response)."),
    NF("privacy_refusals_total", "counter", priv.refused,
       "Messages the privacy service refused: 400, 403, 433, 500 Privacy Unavailable."),
    NF("privacy_id_performed_total", "counter", priv.performed_id,
       "Messages whose identity was withheld (Privacy: id, R19)."),
    NF("privacy_user_performed_total", "counter", priv.performed_user,
       "Messages anonymised (Privacy: user, R20)."),
    NF("privacy_pai_untrusted_removed_total", "counter", priv.pai_removed_untrusted,
       "P-Asserted-Identity removed because it came from an untrusted peer (R43, R57)."),
    NF("privacy_pai_invalid_total", "counter", priv.pai_invalid,
       "Invalid P-Asserted-Identity sets removed (R5, R57)."),
    NF("privacy_dialogs_stored_total", "counter", priv.dialogs_stored,
       "Dialogs whose privacy rules were stored for their later messages (R74)."),
    NF("privacy_dialog_hits_total", "counter", priv.dialog_hits,
       "Messages that found their dialog's stored privacy rules."),
    NF("privacy_dialog_table_full_total", "counter", priv.dialog_full,
       "Private dialogs refused (503) because dialogs.max were stored."),
    NF("ims_registrations_total", "counter", ims.reg_ok,
       "REGISTERs the S-CSCF accepted (200 OK), de-registrations included."),
    NF("ims_challenges_total", "counter", ims.reg_challenged,
       "401 challenges the S-CSCF sent (Digest or AKA)."),
    NF("ims_auth_failures_total", "counter", ims.reg_failed,
       "Wrong answers to a challenge (wrong password, replay, downgrade, bad AUTS)."),
    NF("ims_register_forbidden_total", "counter", ims.reg_forbidden,
       "REGISTERs refused with 403 before any challenge (a pseudonym over an unprotected "
       "link, R83)."),
    NF("ims_deregistrations_total", "counter", ims.dereg, "Contacts removed by Expires: 0."),
    NF("ims_bindings", "gauge", ims.bindings, "Registered contacts held by the S-CSCF now."),
    NF("ims_flow_refused_total", "counter", ims.flow_refused,
       "Requests the P-CSCF refused (403) from a flow that did not register (R30)."),
    NF("ims_register_rate_limited_total", "counter", ims.reg_rate_limited,
       "REGISTERs the P-CSCF refused (503) past ims.register_rate from one address."),
    NF("ims_location_found_total", "counter", ims.loc_found,
       "Terminating requests the S-CSCF forked to registered contacts."),
    NF("ims_location_missing_total", "counter", ims.loc_missing,
       "Terminating requests for a subscriber with no registered contact (480 or 404)."),
    NF("ps_subscriptions_total", "counter", ims.ps_subscriptions,
       "Subscriptions the presence server accepted (presence and presence.winfo)."),
    NF("ps_publications_total", "counter", ims.ps_publications,
       "PUBLISH requests the presence server accepted."),
    NF("ps_notifies_total", "counter", ims.ps_notifies, "NOTIFY requests the presence server sent."),
    NF("ps_refused_total", "counter", ims.ps_refused,
       "SUBSCRIBE and PUBLISH refused 403 (not the presentity's, R87, R88, R97)."),
    NF("ps_subscriptions_ended_by_notify_total", "counter", ims.ps_ended_by_notify,
       "Subscriptions ended because their NOTIFY failed (481, timeout, 5xx)."),
#undef NF
};

static const struct {
    const char *code, *reason;
} reject_labels[PROXY_REJ__N] = {
    [PROXY_REJ_400] = {"400", "bad_request"},
    [PROXY_REJ_404] = {"404", "not_found"},
    [PROXY_REJ_416] = {"416", "unsupported_uri_scheme"},
    [PROXY_REJ_420] = {"420", "bad_extension"},
    [PROXY_REJ_482] = {"482", "loop_detected"},
    [PROXY_REJ_483] = {"483", "too_many_hops"},
    [PROXY_REJ_OTHER] = {"other", "other"},
};

static unsigned long node_value(const struct app_node_counters *n, size_t off)
{
    unsigned long v;

    memcpy(&v, (const char *)n + off, sizeof(v));
    return v;
}

static void put_process(struct out *o, const struct app_counters *c)
{
    const struct net_stats *net = &c->net;
    static const struct {
        const char *name, *type, *help;
        size_t off; /* in struct net_stats */
    } net_families[] = {
#define NET(n, t, f, h) {"sipveil_" n, t, h, offsetof(struct net_stats, f)}
        NET("net_received_messages_total", "counter", rx_msgs,
            "SIP messages received, all transports."),
        NET("net_sent_messages_total", "counter", tx_msgs, "SIP messages sent, all transports."),
        NET("net_received_bytes_total", "counter", rx_bytes, "Octets of SIP messages received."),
        NET("net_sent_bytes_total", "counter", tx_bytes, "Octets of SIP messages sent."),
        NET("net_keepalives_total", "counter", keepalives,
            "Keep-alives (CRLF) received on connections and datagrams."),
        NET("net_udp_receive_calls_total", "counter", udp_recv_calls,
            "recvmmsg calls that returned datagrams: UDP datagrams over this is the mean batch."),
        NET("net_udp_local_reads_total", "counter", udp_local_reads,
            "Reads of an own UDP listener right after sending it a datagram, without a loop turn."),
        NET("net_udp_held_total", "counter", udp_held,
            "UDP datagrams held until the store committed what their read pass wrote."),
        NET("connections_open", "gauge", conns_open, "TCP and TLS connections open now."),
        NET("connections_accepted_total", "counter", conns_accepted,
            "TCP and TLS connections accepted."),
        NET("connections_refused_total", "counter", conns_refused,
            "Connections refused by limits.max_conns or limits.max_conns_per_ip."),
        NET("connections_timed_out_total", "counter", conns_timed_out,
            "Connections closed by limits.idle_timeout or limits.header_timeout."),
#undef NET
    };

    put_family(o, "sipveil_build_info", "gauge", "Always 1; the version of this process.");
    put(o, "sipveil_build_info{version=\"%s\"} 1\n", SIPVEIL_VERSION);
    put_family(o, "sipveil_workers", "gauge", "Worker threads, each with its own event loop.");
    put(o, "sipveil_workers %u\n", c->workers);
    for (size_t i = 0; i < SV_ARRAY_SIZE(net_families); i++) {
        unsigned long v;
        memcpy(&v, (const char *)net + net_families[i].off, sizeof(v));
        put_family(o, net_families[i].name, net_families[i].type, net_families[i].help);
        put(o, "%s %lu\n", net_families[i].name, v);
    }
    put_family(o, "sipveil_net_dropped_messages_total", "counter",
               "Messages dropped by the transport: above limits.max_msg (oversize) or not "
               "framed as SIP (malformed).");
    put(o, "sipveil_net_dropped_messages_total{reason=\"oversize\"} %lu\n", net->dropped_oversize);
    put(o, "sipveil_net_dropped_messages_total{reason=\"malformed\"} %lu\n",
        net->dropped_malformed);
    put_family(o, "sipveil_malformed_unanswered_total", "counter",
               "Malformed messages dropped without an answer (no sound Via, Call-ID and CSeq "
               "to answer to, or a response).");
    put(o, "sipveil_malformed_unanswered_total %lu\n", c->unanswered_malformed);
}

static void put_nodes(struct out *o, const struct app_counters *c)
{
    static const char *const classes[7] = {NULL, "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};

    put_family(o, "sipveil_requests_total", "counter",
               "New SIP requests received by the proxy, by method (OTHER: an unknown one).");
    for (size_t i = 0; i < c->nnodes; i++) {
        for (unsigned m = 0; m < SIP_METHOD__N; m++) {
            const char *name = sip_method_name((enum sip_method)m);
            put_node_sample(o, "sipveil_requests_total", &c->nodes[i]);
            put(o, ",method=\"%s\"", name ? name : "OTHER");
            put_sample_end(o, c->nodes[i].px.req_in[m]);
        }
    }
    put_family(o, "sipveil_responses_received_total", "counter",
               "SIP responses received from downstream, by class.");
    for (size_t i = 0; i < c->nnodes; i++) {
        for (unsigned k = 1; k < 7; k++) {
            put_node_sample(o, "sipveil_responses_received_total", &c->nodes[i]);
            put(o, ",class=\"%s\"", classes[k]);
            put_sample_end(o, c->nodes[i].px.resp_in[k]);
        }
    }
    put_family(o, "sipveil_responses_sent_total", "counter",
               "SIP responses sent upstream, relayed or local, by class.");
    for (size_t i = 0; i < c->nnodes; i++) {
        for (unsigned k = 1; k < 7; k++) {
            put_node_sample(o, "sipveil_responses_sent_total", &c->nodes[i]);
            put(o, ",class=\"%s\"", classes[k]);
            put_sample_end(o, c->nodes[i].px.resp_out[k]);
        }
    }
    put_family(o, "sipveil_rejects_total", "counter",
               "Final responses 400-699 sent upstream, local or relayed, by code (other: every "
               "code not listed, 503 overload and 505 included).");
    for (size_t i = 0; i < c->nnodes; i++) {
        for (unsigned r = 0; r < PROXY_REJ__N; r++) {
            put_node_sample(o, "sipveil_rejects_total", &c->nodes[i]);
            put(o, ",code=\"%s\",reason=\"%s\"", reject_labels[r].code, reject_labels[r].reason);
            put_sample_end(o, c->nodes[i].px.rejects[r]);
        }
    }
    for (size_t f = 0; f < SV_ARRAY_SIZE(node_families); f++) {
        const struct node_family *nf = &node_families[f];
        put_family(o, nf->name, nf->type, nf->help);
        for (size_t i = 0; i < c->nnodes; i++) {
            put_node_sample(o, nf->name, &c->nodes[i]);
            put_sample_end(o, node_value(&c->nodes[i], nf->off));
        }
    }
}

/**
 * Format a snapshot as Prometheus text (exposition format 0.0.4).
 * @param c   the counters
 * @param out appended to
 * @return 0, EINVAL (nodes missing), or ENOMEM
 */
int app_metrics_format(const struct app_counters *c, struct evbuffer *out)
{
    struct out o = {out, 0};

    if (!c || !out || (c->nnodes && !c->nodes))
        return EINVAL;
    put_process(&o, c);
    put_nodes(&o, c);
    return o.err;
}

/* ---------------------------------------------------------------------------------------- */
/* The HTTP listener                                                                          */

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evbuffer *b = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (b && evbuffer_add(b, text, strlen(text)) == 0)
        evhttp_send_reply(req, code, reason, b);
    else
        evhttp_send_reply(req, 500, "Internal Server Error", NULL);
    evbuffer_free(b);
}

static void serve_metrics(struct app_admin *a, struct evhttp_request *req)
{
    struct app_counters c;
    struct evbuffer *b = NULL;
    int err;

    memset(&c, 0, sizeof(c));
    err = a->collect(a->arg, &c);
    if (err) {
        sv_log(SV_LOG_WARN, MOD, "/metrics: cannot collect the counters: %s", strerror(err));
        reply_text(req, 500, "Internal Server Error", "cannot collect the counters\n");
        return;
    }
    b = evbuffer_new();
    err = b ? app_metrics_format(&c, b) : ENOMEM;
    if (err) {
        sv_log(SV_LOG_WARN, MOD, "/metrics: %s", strerror(err));
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        goto out;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", b);
out:
    if (b)
        evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct app_admin *a = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    bool metrics = path && strcmp(path, "/metrics") == 0;
    bool health = path && strcmp(path, "/health") == 0;

    if (!metrics && !health) {
        reply_text(req, 404, "Not Found", "not found; try /metrics or /health\n");
        return;
    }
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_text(req, 405, "Method Not Allowed", "method not allowed; use GET\n");
        return;
    }
    if (health)
        reply_text(req, 200, "OK", "ok\n");
    else
        serve_metrics(a, req);
}

/* A listening TCP socket on @p addr, non-blocking. @return 0 with *fdp set, or an errno. */
static int listen_on(const struct net_addr *addr, int *fdp)
{
    int one = 1, fd, err;

    fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 64) < 0) {
        err = errno;
        close(fd);
        return err;
    }
    *fdp = fd;
    return 0;
}

/**
 * Start the admin listener.
 * @param ap      out: the listener, on success only
 * @param base    its event loop
 * @param listen  "IP:port", IPv6 as "[IP]:port"; port 0 picks a free one
 * @param collect gives the counters at each scrape
 * @param arg     for @p collect
 * @param bound   out (may be NULL): the bound address
 * @return 0, EINVAL, ENOMEM or the errno of socket, bind or listen
 */
int app_admin_alloc(struct app_admin **ap, struct event_base *base, const char *listen,
                    app_collect_h *collect, void *arg, struct net_addr *bound)
{
    struct app_admin *a = NULL;
    struct net_addr addr;
    int fd = -1, err;

    if (!ap || !base || !listen || !collect)
        return EINVAL;
    if (net_addr_parse(&addr, listen))
        return EINVAL;
    a = sv_calloc(1, sizeof(*a));
    if (!a)
        return ENOMEM;
    a->collect = collect;
    a->arg = arg;
    a->http = evhttp_new(base);
    if (!a->http) {
        err = ENOMEM;
        goto out;
    }
    err = listen_on(&addr, &fd);
    if (err)
        goto out;
    if (bound) {
        bound->len = sizeof(bound->ss);
        if (getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len) < 0) {
            err = errno;
            goto out;
        }
    }
    if (!evhttp_accept_socket_with_handle(a->http, fd)) {
        err = ENOMEM;
        goto out;
    }
    fd = -1; /* the evhttp owns it now */
    /* Scrapers send small GETs; cap what a client may make the listener hold, and how long. */
    evhttp_set_max_headers_size(a->http, 8192);
    evhttp_set_max_body_size(a->http, 4096);
    evhttp_set_timeout(a->http, 10);
    /* Let every method through to on_request, which answers 405 rather than evhttp's 501. */
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(a->http, on_request, a);
    *ap = a;
    return 0;
out:
    if (fd >= 0)
        close(fd);
    app_admin_free(a);
    return err;
}

void app_admin_free(struct app_admin *a)
{
    if (!a)
        return;
    if (a->http)
        evhttp_free(a->http);
    sv_free(a);
}
