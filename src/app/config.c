/**
 * @file config.c  The sipveil configuration: the schema as one table, and the checks that
 * span several keys.
 *
 * Types, defaults, bounds and unknown keys are the generic loader's business (core/cfg.c).
 * What is left here is what one key cannot know alone: node names are unique, no two
 * listeners claim the same address, a TLS listener has a certificate and a key that OpenSSL
 * accepts (so --check-config catches a missing or mismatched file before a restart does), a
 * next hop parses, routes after the default route could never match, T2 is not below T1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sipveil/core.h>
#include <sipveil/sip.h>
#include "config.h"

const char *const app_role_names[] = {"pcscf", "icscf", "scscf", "as", "ps", "proxy", NULL};
const char *const app_tp_names[] = {"udp", "tcp", "tls", NULL};
const char *const app_match_names[] = {"domain", "ruri", "route", "default", NULL};
/* the order of enum sv_log_level */
static const char *const log_level_names[] = {"err", "warn", "notice", "info", "debug", NULL};
const char *const app_sched_names[] = {"batch", "normal", NULL};
const char *const app_log_target_names[] = {"stderr", "syslog", NULL};
const char *const app_log_facility_names[] = {"daemon", "user",   "local0", "local1",
                                              "local2", "local3", "local4", "local5",
                                              "local6", "local7", NULL};

#define R SV_CFG_RELOAD

static const struct sv_cfg_item log_table[] = {
    SV_CFG_ENUM(struct app_log_conf, level, log_level_names, "notice", R,
                "Log threshold. Lines above `notice` add per-message detail; no identity, "
                "URI, display name or body is logged above `debug`. `sipveil run "
                "--log-level` overrides it."),
    SV_CFG_BOOL(struct app_log_conf, trace, "false", R,
                "Write every SIP message received and sent, in full, to the log whatever the "
                "level. The messages carry identities: for debugging on test systems only."),
    SV_CFG_ENUM(struct app_log_conf, target, app_log_target_names, "stderr", R,
                "Where log lines go: `stderr`, or `syslog` (the local syslog daemon, ident "
                "`sipveil`, levels as syslog priorities). `sipveil run --syslog` overrides it."),
    SV_CFG_ENUM(struct app_log_conf, facility, app_log_facility_names, "daemon", 0,
                "The syslog facility with `target: syslog`: `daemon`, `user`, or `local0` to "
                "`local7`."),
    SV_CFG_END,
};

static const struct sv_cfg_item timers_table[] = {
    SV_CFG_DURATION(struct app_timers, t1, "500ms", 10, 60000, R,
                    "RFC 3261 T1, the round-trip estimate: the first retransmission interval "
                    "over UDP and the unit of the transaction timeouts (64*T1)."),
    SV_CFG_DURATION(struct app_timers, t2, "4s", 100, 300000, R,
                    "RFC 3261 T2: the longest retransmission interval of non-INVITE requests "
                    "and INVITE responses. At least `t1`."),
    SV_CFG_DURATION(struct app_timers, t4, "5s", 100, 300000, R,
                    "RFC 3261 T4: how long a message may stay in the network; how long "
                    "completed transactions absorb retransmissions over UDP."),
    SV_CFG_DURATION(struct app_timers, timer_c, "3m", 1000, 3600000, R,
                    "RFC 3261 §16.8 timer C: how long a proxied INVITE may ring after its last "
                    "provisional response before the proxy cancels it."),
    SV_CFG_END,
};

static const struct sv_cfg_item limits_table[] = {
    SV_CFG_UINT(struct app_limits, max_msg, "65536", 512, 16777216, R,
                "Largest message in octets, headers and body. A UDP datagram is at most 65535 "
                "octets whatever this says."),
    SV_CFG_UINT(struct app_limits, max_headers, "256", 16, 4096, R,
                "Most header lines in one message; more is answered 400 or dropped."),
    SV_CFG_UINT(struct app_limits, max_start_line, "8192", 256, 65536, R,
                "Longest request or status line in octets."),
    SV_CFG_UINT(struct app_limits, max_header, "8192", 256, 65536, R,
                "Longest header line in octets, folded continuation lines included."),
    SV_CFG_UINT(struct app_limits, max_conns, "10000", 1, 1000000, R,
                "Most TCP and TLS connections open at once, inbound and outbound."),
    SV_CFG_UINT(struct app_limits, max_conns_per_ip, "100", 1, 1000000, R,
                "Most connections from one peer IP address. At most `max_conns`."),
    SV_CFG_DURATION(struct app_limits, idle_timeout, "5m", 1000, 86400000, R,
                    "Close a TCP or TLS connection that carried nothing for this long."),
    SV_CFG_DURATION(struct app_limits, header_timeout, "10s", 100, 600000, R,
                    "A message started on a connection must be complete within this time, "
                    "or the connection is closed (slow senders)."),
    SV_CFG_UINT(struct app_limits, max_transactions, "150000", 1, 10000000, R,
                "Most live SIP transactions per node and worker (server and client; about "
                "2.4 KB each). Beyond it new requests get 503 with Retry-After and no state; "
                "retransmissions of live transactions are still absorbed. The default holds "
                "2,000 INVITE calls/s per worker with the RFC retention times."),
    SV_CFG_END,
};

static const struct sv_cfg_item metrics_table[] = {
    SV_CFG_ADDRESS(struct app_metrics, listen, "", 0,
                   "IP address and port of the admin HTTP listener serving /metrics in "
                   "Prometheus text format; empty: off. Bind it to loopback or a management "
                   "network."),
    SV_CFG_END,
};

static const struct sv_cfg_item tls_table[] = {
    SV_CFG_STRING(struct app_tls, cert, "", 0, 4096, 0,
                  "PEM file with the certificate (chain) of the listener. Required for "
                  "`transport: tls`. Relative paths start at the working directory."),
    SV_CFG_STRING(struct app_tls, key, "", 0, 4096, 0,
                  "PEM file with the private key of `cert`. Required for `transport: tls`."),
    SV_CFG_STRING(struct app_tls, ca, "", 0, 4096, 0,
                  "PEM bundle of the CAs peers are verified with; empty: the system's."),
    SV_CFG_BOOL(struct app_tls, verify_peer, "true", 0,
                "Verify the certificate of servers this node connects to."),
    SV_CFG_BOOL(struct app_tls, require_client_cert, "false", 0,
                "Ask connecting clients for a certificate and refuse those without a valid "
                "one (mutual TLS)."),
    SV_CFG_END,
};

static const struct sv_cfg_item listener_table[] = {
    SV_CFG_ENUM(struct app_listener, transport, app_tp_names, NULL, 0,
                "The transport: `udp`, `tcp`, or `tls` (needs `tls.cert` and `tls.key`)."),
    SV_CFG_ENUM(struct app_listener, face, app_face_names, "core", 0,
                "What the listener faces: `core` (the trust domain's nodes; a peer there is "
                "trusted when `peers` says so), `ue` (subscribers' devices) or `external` "
                "(other networks). A message that arrives on a `ue` or `external` listener "
                "is untrusted whatever `peers` says."),
    SV_CFG_ENUM(struct app_listener, anonymity_policy, app_face_policy_names, "node", R,
                "The anonymity policy for requests arriving here: `node` (the node's "
                "`privacy.anonymity_policy`), or `off`, `reject-anonymous`, "
                "`reject-unidentified`, `both`, so that an edge can refuse anonymous calls "
                "from one network only (R68-R72)."),
    SV_CFG_ADDRESS(struct app_listener, address, NULL, 0,
                   "IP address and port to listen on; port 0 lets the kernel choose one. A "
                   "name is not accepted: listeners bind."),
    SV_CFG_STRUCT(struct app_listener, tls, tls_table, 0,
                  "TLS material, for `transport: tls` only."),
    SV_CFG_END,
};

static const struct sv_cfg_item route_table[] = {
    SV_CFG_ENUM(struct app_route, match, app_match_names, NULL, R,
                "What the route tests: `domain` (the Request-URI host equals `value`), `ruri` "
                "(the Request-URI equals the URI `value`, RFC 3261 §19.1.4), `route` (the top "
                "Route header, once the node's own is removed, names host `value`) or "
                "`default` (every request; no `value`)."),
    SV_CFG_STRING(struct app_route, value, "", 0, 1024, R,
                  "What `match` compares with; empty for `default`."),
    SV_CFG_STRING(struct app_route, next_hop, NULL, 1, 1024, R,
                  "Where matching requests go: `transport:host:port`, e.g. "
                  "`udp:127.0.0.1:5080` or `tls:[::1]:5061`."),
    SV_CFG_END,
};

static const struct sv_cfg_item node_table[] = {
    SV_CFG_STRING(struct app_node, name, NULL, 1, 64, 0,
                  "The node's name, unique in the file: letters, digits, `-` and `_`. Logs and "
                  "readiness lines carry it."),
    SV_CFG_ENUM(struct app_node, role, app_role_names, NULL, 0,
                "What the node is: `pcscf`, `icscf` (also the trust-domain edge), `scscf`, "
                "`as`, `ps` (presence server), or `proxy` (a plain RFC 3261 proxy)."),
    SV_CFG_STRING(struct app_node, domain, "", 0, 253, 0,
                  "The home domain the node serves, e.g. `ims.example`; empty for a proxy "
                  "that serves none."),
    SV_CFG_LIST(struct app_node, listeners, nlisteners, struct app_listener, listener_table, 1, 0,
                0, "Where the node receives SIP; at least one."),
    SV_CFG_LIST(struct app_node, routes, nroutes, struct app_route, route_table, 0, 0, R,
                "Static routes, tried in order; the first that matches decides the next hop."),
    SV_CFG_BOOL(struct app_node, record_route, "true", R,
                "Add a Record-Route header, so that the dialog's later requests pass this "
                "node too."),
    SV_CFG_LIST(struct app_node, peers, npeers, struct app_peer, app_peer_table, 0, 0, R,
                "The trust table (RFC 3324): peers tried in order, the first that matches "
                "decides whether a peer is in the trust domain. A peer no entry matches is "
                "untrusted. Ignored by role `proxy`."),
    SV_CFG_STRUCT(struct app_node, privacy, app_privacy_table, R,
                  "The privacy service's Spec(T) knobs (docs/privacy.md). Ignored by role "
                  "`proxy`, which performs no privacy."),
    SV_CFG_LIST(struct app_node, subscribers, nsubscribers, struct app_subscriber,
                app_subscriber_table, 0, 0, R,
                "The subscribers the node serves, until registration and the subscriber "
                "store provide them: at a P-CSCF found by the UE's address (`flow`), at an "
                "S-CSCF or AS by the asserted identity of an originating request."),
    SV_CFG_STRUCT(struct app_node, ims, app_ims_table, 0,
                  "The IMS role's settings (docs/ims.md): registrar, authentication, "
                  "Path and Service-Route. Used by roles `pcscf`, `icscf`, `scscf` and `as`."),
    SV_CFG_LIST(struct app_node, presence_sources, npresence_sources, struct app_pres_source,
                app_pres_source_table, 0, 0, 0,
                "PS: the presence network agents and external sources (R91) that may publish "
                "directly, over mutually authenticated TLS, for the presentities listed. A "
                "PUBLISH or SUBSCRIBE from outside the trust domain that is not one of theirs "
                "gets 403. Ignored by other roles."),
    SV_CFG_END,
};

const struct sv_cfg_item app_config_table[] = {
    SV_CFG_STRING(struct app_config, store, "var/sipveil.db", 1, 4096, 0,
                  "The subscriber store (SQLite; created 0600): subscriptions, credentials and "
                  "registrations. `sipveil sub` provisions it. Opened only when a node of "
                  "role `icscf`, `scscf` or `as` runs with `ims.enabled`, or `xcap.listen` "
                  "is set."),
    SV_CFG_STRUCT(struct app_config, log, log_table, R, "Logging."),
    SV_CFG_UINT(struct app_config, workers, "0", 0, 256, 0,
                "Worker threads, each with its own event loop; 0: one per CPU core."),
    SV_CFG_ENUM(struct app_config, scheduling, app_sched_names, "batch", 0,
                "How the kernel schedules the workers. `batch` (Linux SCHED_BATCH, same "
                "priority): a worker woken by a datagram does not preempt the task running on "
                "its core, so it reads what has queued in one batch when that task's slice "
                "ends or another core is idle: fewer context switches per message (10-15% less "
                "worker CPU for the same 10,000 MESSAGEs at 2,000/s, docs/performance.md), for "
                "a wait on a saturated machine until that slice ends (a few milliseconds by "
                "Linux's defaults; not measured here). `normal` (SCHED_OTHER): woken "
                "workers preempt at once, for the lowest latency."),
    SV_CFG_STRUCT(struct app_config, timers, timers_table, R,
                  "SIP transaction timers (RFC 3261 §17)."),
    SV_CFG_STRUCT(struct app_config, limits, limits_table, R,
                  "Size caps, checked before the work they bound, and connection limits."),
    SV_CFG_STRUCT(struct app_config, metrics, metrics_table, 0, "Metrics."),
    SV_CFG_STRUCT(struct app_config, li, app_li_table, 0,
                  "Lawful interception (docs/privacy.md): the record file and the targets."),
    SV_CFG_STRUCT(struct app_config, dialogs, app_dialogs_table, 0,
                  "The dialogs whose privacy rules the nodes keep (R74-R79)."),
    SV_CFG_STRUCT(struct app_config, xcap, app_xcap_table, 0,
                  "The XCAP server for the users' presence rules (docs/xcap.md)."),
    SV_CFG_LIST(struct app_config, nodes, nnodes, struct app_node, node_table, 1, 0, 0,
                "The nodes this process runs; at least one."),
    SV_CFG_END,
};

#undef R

/* ---------------------------------------------------------------------------------------- */
/* Checks across keys                                                                         */

/**
 * Parse a next hop.
 * @param s      "udp:127.0.0.1:5080", "tcp:scscf.ims.example:6060", "tls:[::1]:5061"
 * @param tp     out: the transport
 * @param host   out: the host, without brackets
 * @param hostsz its size
 * @param port   out: the port, never 0
 * @return 0 or EINVAL
 */
int app_next_hop_parse(const char *s, enum app_tp *tp, char *host, size_t hostsz, uint16_t *port)
{
    const char *colon = strchr(s, ':');
    size_t tl;

    if (!colon)
        return EINVAL;
    tl = (size_t)(colon - s);
    for (unsigned i = 0; app_tp_names[i]; i++) {
        if (strlen(app_tp_names[i]) == tl && memcmp(s, app_tp_names[i], tl) == 0) {
            if (sv_cfg_addr_split(colon + 1, host, hostsz, port) || *port == 0)
                return EINVAL;
            *tp = (enum app_tp)i;
            return 0;
        }
    }
    return EINVAL;
}

/**
 * The syslog facility of a `log.facility` value.
 * @param fac an enum app_log_facility, as the loader stores it
 * @return its LOG_ constant (LOG_DAEMON for a value out of range)
 */
int app_log_facility(unsigned fac)
{
    static const int codes[] = {LOG_DAEMON, LOG_USER,   LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2,
                                LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};

    _Static_assert(SV_ARRAY_SIZE(codes) + 1 ==
                       sizeof(app_log_facility_names) / sizeof(app_log_facility_names[0]),
                   "one code per facility name");
    return fac < SV_ARRAY_SIZE(codes) ? codes[fac] : LOG_DAEMON;
}

static bool is_ip(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* A DNS name as RFC 1035 spells it (letters, digits, '-'; dot-separated labels), or an IP. */
static bool is_domain(const char *s)
{
    size_t label = 0;

    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

static bool is_node_name(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* The first OpenSSL error of the queue as text; the queue is emptied. */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_error(); /* the first: the cause, not its consequences */
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return r ? r : "rejected by OpenSSL";
}

/* A file must be readable; @return false after reporting it. */
static bool readable(struct sv_cfg_diag *d, const char *path, const char *file)
{
    if (access(file, R_OK) == 0)
        return true;
    sv_cfg_errorf(d, path, "cannot read '%s': %s (expected a readable PEM file)", file,
                  strerror(errno));
    return false;
}

/* Load the listener's TLS material as the transport layer will, to report problems now. */
static void check_tls(struct sv_cfg_diag *d, const char *p, const struct app_tls *tls)
{
    char kp[192];
    bool cert_ok, key_ok;
    SSL_CTX *ctx;

    snprintf(kp, sizeof(kp), "%s.cert", p);
    if (!*tls->cert)
        sv_cfg_errorf(d, kp, "missing (required for a tls listener: expected a PEM file)");
    cert_ok = *tls->cert && readable(d, kp, tls->cert);
    snprintf(kp, sizeof(kp), "%s.key", p);
    if (!*tls->key)
        sv_cfg_errorf(d, kp, "missing (required for a tls listener: expected a PEM file)");
    key_ok = *tls->key && readable(d, kp, tls->key);
    snprintf(kp, sizeof(kp), "%s.ca", p);
    bool ca_ok = !*tls->ca || readable(d, kp, tls->ca);

    ctx = SSL_CTX_new(TLS_method());
    if (!ctx) {
        sv_cfg_errorf(d, p, "cannot check the TLS material: %s", ssl_reason());
        return;
    }
    /* the key first: OpenSSL refuses a key that does not match a certificate already set, with
     * a message about the key file; this order leaves the mismatch to the check below */
    if (key_ok && SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM) != 1) {
        snprintf(kp, sizeof(kp), "%s.key", p);
        sv_cfg_errorf(d, kp, "'%s': %s (expected a PEM private key)", tls->key, ssl_reason());
        key_ok = false;
    }
    if (cert_ok && SSL_CTX_use_certificate_chain_file(ctx, tls->cert) != 1) {
        snprintf(kp, sizeof(kp), "%s.cert", p);
        sv_cfg_errorf(d, kp, "'%s': %s (expected a PEM certificate)", tls->cert, ssl_reason());
        cert_ok = false;
    }
    if (cert_ok && key_ok && SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(kp, sizeof(kp), "%s.key", p);
        sv_cfg_errorf(d, kp, "does not match the certificate '%s' (expected its private key)",
                      tls->cert);
    }
    if (*tls->ca && ca_ok && SSL_CTX_load_verify_locations(ctx, tls->ca, NULL) != 1) {
        snprintf(kp, sizeof(kp), "%s.ca", p);
        sv_cfg_errorf(d, kp, "'%s': %s (expected PEM CA certificates)", tls->ca, ssl_reason());
    }
    SSL_CTX_free(ctx);
    ERR_clear_error();
}

static void check_listener(struct sv_cfg_diag *d, const char *p, const struct app_listener *l)
{
    char host[256], kp[160];
    uint16_t port;

    snprintf(kp, sizeof(kp), "%s.address", p);
    if (sv_cfg_addr_split(l->address, host, sizeof(host), &port) == 0 && !is_ip(host))
        sv_cfg_errorf(d, kp, "'%s' is a name (expected an IP address and port: listeners bind)",
                      l->address);
    snprintf(kp, sizeof(kp), "%s.tls", p);
    if (l->transport == APP_TP_TLS) {
        check_tls(d, kp, &l->tls);
    } else if (*l->tls.cert || *l->tls.key || *l->tls.ca) {
        sv_cfg_errorf(d, kp,
                      "TLS material on a %s listener (expected it only with transport "
                      "tls)",
                      app_tp_names[l->transport]);
    }
}

/* Two listeners on the same transport and address (port 0 excepted: the kernel picks). */
static void check_duplicate_listeners(const struct app_config *cfg, struct sv_cfg_diag *d)
{
    for (size_t n = 0; n < cfg->nnodes; n++) {
        for (size_t i = 0; i < cfg->nodes[n].nlisteners; i++) {
            const struct app_listener *a = &cfg->nodes[n].listeners[i];
            char host[256];
            uint16_t port;
            bool dup = false;
            if (sv_cfg_addr_split(a->address, host, sizeof(host), &port) || port == 0)
                continue;
            for (size_t m = 0; m <= n && !dup; m++) {
                size_t end = m == n ? i : cfg->nodes[m].nlisteners;
                for (size_t j = 0; j < end && !dup; j++) {
                    const struct app_listener *b = &cfg->nodes[m].listeners[j];
                    if (a->transport != b->transport || strcmp(a->address, b->address) != 0)
                        continue;
                    char kp[96];
                    snprintf(kp, sizeof(kp), "nodes[%zu].listeners[%zu].address", n, i);
                    sv_cfg_errorf(d, kp,
                                  "%s %s is already a listener of node '%s' (expected each "
                                  "address once per transport)",
                                  app_tp_names[a->transport], a->address, cfg->nodes[m].name);
                    dup = true;
                }
            }
        }
    }
}

static void check_route(struct sv_cfg_diag *d, const char *p, const struct app_route *r)
{
    char kp[160], host[256];
    enum app_tp tp;
    uint16_t port;

    snprintf(kp, sizeof(kp), "%s.next_hop", p);
    if (app_next_hop_parse(r->next_hop, &tp, host, sizeof(host), &port))
        sv_cfg_errorf(d, kp,
                      "'%s' is not a next hop (expected transport:host:port, e.g. "
                      "udp:127.0.0.1:5080; transport udp, tcp or tls; port 1..65535)",
                      r->next_hop);
    snprintf(kp, sizeof(kp), "%s.value", p);
    switch ((enum app_match)r->match) {
    case APP_MATCH_DEFAULT:
        if (*r->value)
            sv_cfg_errorf(d, kp, "set for match default (expected no value)");
        break;
    case APP_MATCH_DOMAIN:
    case APP_MATCH_ROUTE:
        if (!is_domain(r->value) && !is_ip(r->value))
            sv_cfg_errorf(d, kp, "'%s' is not a host (expected a domain name or IP address)",
                          r->value);
        break;
    case APP_MATCH_RURI: {
        struct sip_uri u;
        if (!*r->value || sip_uri_decode(&u, sv_slice_cstr(r->value)) || u.scheme == SIP_URI_OTHER)
            sv_cfg_errorf(d, kp,
                          "'%s' is not a SIP or tel URI (expected e.g. "
                          "sip:alice@ims.example)",
                          r->value);
        break;
    }
    }
}

static void check_node(const struct app_config *cfg, size_t n, struct sv_cfg_diag *d)
{
    const struct app_node *node = &cfg->nodes[n];
    char p[32], kp[128];
    size_t dflt = (size_t)-1;

    snprintf(p, sizeof(p), "nodes[%zu]", n);
    snprintf(kp, sizeof(kp), "%s.name", p);
    if (!is_node_name(node->name))
        sv_cfg_errorf(d, kp, "'%s' has other characters (expected letters, digits, - and _)",
                      node->name);
    for (size_t m = 0; m < n; m++) {
        if (strcmp(cfg->nodes[m].name, node->name) == 0) {
            sv_cfg_errorf(d, kp, "'%s' is already the name of nodes[%zu] (expected unique names)",
                          node->name, m);
            break;
        }
    }
    snprintf(kp, sizeof(kp), "%s.domain", p);
    if (*node->domain && !is_domain(node->domain))
        sv_cfg_errorf(d, kp, "'%s' is not a domain name (expected e.g. ims.example)", node->domain);
    for (size_t i = 0; i < node->nlisteners; i++) {
        snprintf(kp, sizeof(kp), "%s.listeners[%zu]", p, i);
        check_listener(d, kp, &node->listeners[i]);
    }
    app_config_check_privacy(cfg, n, d);
    for (size_t i = 0; i < node->nroutes; i++) {
        snprintf(kp, sizeof(kp), "%s.routes[%zu]", p, i);
        if (dflt != (size_t)-1) {
            sv_cfg_errorf(d, kp,
                          "can never match: routes[%zu] is the default route (expected the "
                          "default route last)",
                          dflt);
        }
        check_route(d, kp, &node->routes[i]);
        if (node->routes[i].match == APP_MATCH_DEFAULT && dflt == (size_t)-1)
            dflt = i;
    }
}

/**
 * The checks that span several keys.
 * @param cfg a config the loader accepted
 * @param d   its diagnostics: errors are added at the positions the loader recorded
 * @return 0 or EINVAL
 */
int app_config_validate(const struct app_config *cfg, struct sv_cfg_diag *d)
{
    unsigned before = d->nerr;

    if (cfg->timers.t2 < cfg->timers.t1)
        sv_cfg_errorf(d, "timers.t2", "below timers.t1 (expected t2 >= t1, RFC 3261 §17.1.2.2)");
    if (cfg->limits.max_conns_per_ip > cfg->limits.max_conns)
        sv_cfg_errorf(d, "limits.max_conns_per_ip",
                      "%u is above limits.max_conns %u (expected at most max_conns)",
                      cfg->limits.max_conns_per_ip, cfg->limits.max_conns);
    if (*cfg->metrics.listen) {
        char host[256];
        uint16_t port;
        if (sv_cfg_addr_split(cfg->metrics.listen, host, sizeof(host), &port) == 0 && !is_ip(host))
            sv_cfg_errorf(d, "metrics.listen",
                          "'%s' is a name (expected an IP address and port: it binds)",
                          cfg->metrics.listen);
    }
    for (size_t n = 0; n < cfg->nnodes; n++)
        check_node(cfg, n, d);
    check_duplicate_listeners(cfg, d);
    app_config_check_xcap(cfg, d);
    return d->nerr != before ? EINVAL : 0;
}

/**
 * Load and validate a config file.
 * @param cfg  out: the config; the caller frees it with app_config_free on success
 * @param path the file
 * @param d    diagnostics from sv_cfg_diag_init
 * @return 0, EINVAL (errors in @p d), ENOMEM, or the errno of reading the file
 */
int app_config_load(struct app_config *cfg, const char *path, struct sv_cfg_diag *d)
{
    int err;

    memset(cfg, 0, sizeof(*cfg));
    err = sv_cfg_load_file(app_config_table, cfg, path, d);
    if (err)
        return err;
    err = app_config_validate(cfg, d);
    if (err)
        app_config_free(cfg);
    return err;
}

void app_config_free(struct app_config *cfg)
{
    sv_cfg_free(app_config_table, cfg);
}

/**
 * Print the effective configuration.
 * @param cfg  the config
 * @param path the file it came from, named in a comment
 * @param f    where to
 * @return 0 or EIO
 */
int app_config_print(const struct app_config *cfg, const char *path, FILE *f)
{
    fprintf(f, "# sipveil %s: effective configuration of %s, every default included\n",
            SIPVEIL_VERSION, path);
    return sv_cfg_print(app_config_table, cfg, f);
}

/**
 * Write the configuration reference, docs/configuration.md.
 * @param f where to
 * @return 0 or EIO
 */
int app_config_reference(FILE *f)
{
    fputs("# Configuration reference\n"
          "\n"
          "<!-- Generated by `sipveil help config` from the table in src/app/config.c; do not\n"
          "     edit. The ctest config/reference fails when this file and the table differ:\n"
          "     regenerate with `sipveil help config > docs/configuration.md`. -->\n"
          "\n"
          "sipveil reads one YAML file, given with `sipveil run --config FILE`. One file\n"
          "describes one process: its logging, workers, timers and limits, and one or more\n"
          "**nodes**, each a network element with a role, its listeners, TLS material and\n"
          "routes. `examples/sipveil.yaml` is a commented example.\n"
          "\n"
          "```sh\n"
          "sipveil run --config sipveil.yaml --check-config   # validate, print the effective "
          "config\n"
          "sipveil run --config sipveil.yaml                  # start the nodes\n"
          "```\n"
          "\n"
          "`--check-config` loads and checks the file, prints every value (defaults included)\n"
          "as YAML that loads back to the same configuration, and exits 0; or it prints the\n"
          "errors on standard error and exits 78. Each error names the file, the line, the\n"
          "column and the key: `sipveil.yaml:12:15: nodes[0].listeners[1].address: '::1:5060'\n"
          "is not valid (expected host:port, IPv6 as [addr]:port)`. Loading does not stop at\n"
          "the first error; up to 20 are reported.\n"
          "\n"
          "Rules:\n"
          "\n"
          "- A key the table below does not list is an error, so a misspelt key cannot be\n"
          "  silently ignored. A key given twice in one mapping is an error too.\n"
          "- An absent key takes its default; *required* keys have none.\n"
          "- **Durations** are a number with a unit, `500ms`, `32s`, `5m`, `1h`, or a bare\n"
          "  number of milliseconds.\n"
          "- **Addresses** are `host:port`; IPv6 goes in brackets, `[::1]:5060`. Listeners\n"
          "  need an IP address, not a name.\n"
          "- **Booleans** are `true` or `false` (`yes`/`no` and `on`/`off` are accepted).\n"
          "- Beyond each key's own bounds, the file is checked as a whole: node names are\n"
          "  unique, no two listeners share a transport and address, a TLS listener has a\n"
          "  `cert` and `key` that exist, are PEM and match each other (a `ca` must load\n"
          "  too), a route's `next_hop` parses, no route follows the `default` route, `t2` is\n"
          "  at least `t1`.\n"
          "- *reload* says whether a configuration reload (SIGHUP) may change the key; the\n"
          "  others need a restart, and a reload that changes one is refused as a whole.\n"
          "\n"
          "`sipveil run --config` runs every node as a stateful proxy on all its listeners,\n"
          "in `workers` threads; nodes of the IMS roles also run the privacy service\n"
          "(docs/privacy.md) and, with `ims.enabled`, their role: registrar and routing\n"
          "(docs/ims.md), the Presence Server (docs/presence.md), XCAP (docs/xcap.md).\n"
          "\n"
          "## Keys\n"
          "\n"
          "Keys of list elements are written `nodes[].name`: the key `name` of each element\n"
          "of the list `nodes`.\n"
          "\n",
          f);
    return sv_cfg_markdown(app_config_table, f);
}
