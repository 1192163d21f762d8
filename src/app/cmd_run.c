/**
 * @file cmd_run.c  `sipveil run`: load the configuration; today, start the message-core
 * responder.
 *
 * Until the transaction layer and the proxy core exist, `run` starts what exists: a stateless
 * UDP responder built on the message layer. It answers OPTIONS with 200 (the readiness probe
 * the later nodes keep), a request that fails the semantic checks with their code, a
 * malformed request with 400 when enough of it is sound to address a response (otherwise it
 * drops it, as RFC 3261 §16.3 and RFC 4475 allow), any other request with 501, and it drops
 * responses. The log never carries identities: only addresses, methods, codes and reasons.
 *
 * It listens on one address (--listen) or, with --config, on every UDP listener of every node
 * of the file, all in one event loop. --check-config only loads, checks and prints the file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include <sipveil/cfg.h>
#include <sipveil/sip.h>
#include "app.h"
#include "config.h"

#define MOD "run"
#define RX_MAX 65536

struct responder;

/* One bound UDP socket. */
struct rsock {
    struct responder *r;
    int fd;
    struct event *ev;
    const char *node; /* the node's name, owned by the config; NULL with --listen */
    char where[INET6_ADDRSTRLEN + 16]; /* the bound address, "127.0.0.1:5060" */
};

struct responder {
    struct event_base *base;
    struct rsock *socks; /* nsocks, owned */
    size_t nsocks;
    const struct sip_limits *lim; /* NULL: the message layer's defaults */
    struct sip_limits lim_conf;
    bool trace;
    char rx[RX_MAX];
    char tx[RX_MAX];
    char arena_block[16384];
    unsigned long nrx, ntx, ndropped;
};

/* What to listen on: an address, and the node it belongs to. */
struct rspec {
    const char *addr;
    const char *node;
};

static const char *const supported_tags[] = {"privacy", NULL};

void app_usage_run(FILE *f)
{
    fprintf(f, "Usage: sipveil run [--config FILE [--check-config]] [--listen ADDR:PORT]\n"
               "                   [--log-level LEVEL]\n"
               "\n"
               "Start sipveil. In this release `run` starts the message-core responder, a\n"
               "stateless UDP endpoint that exercises the parser and the semantic checks:\n"
               "  OPTIONS                       200 OK with Allow, Supported and Accept\n"
               "  a request a server must refuse  its code: 505, 416, 420, 483, 400 ...\n"
               "  a malformed request           400 with the reason, when Via, Call-ID and CSeq\n"
               "                                are sound; otherwise dropped\n"
               "  any other request             501 Not Implemented\n"
               "  responses                     dropped\n"
               "The proxy engine, the IMS roles and the all-in-one lab replace it in later\n"
               "releases; see README.md.\n"
               "\n"
               "Options:\n"
               "  --config FILE        Load the YAML configuration FILE and run the responder\n"
               "                       on every UDP listener of every node in it. TCP and TLS\n"
               "                       listeners, routes and metrics are checked but not\n"
               "                       served yet. 'sipveil help config' lists every key.\n"
               "  --check-config       With --config: load and check FILE, print the effective\n"
               "                       configuration (every default included) as YAML on\n"
               "                       standard output, and exit 0; or print the errors, each\n"
               "                       'FILE:LINE:COL: key: what is wrong (expected ...)', on\n"
               "                       standard error and exit 78. Nothing is started.\n"
               "  --listen ADDR:PORT   Without --config: the UDP address to listen on; IPv6 as\n"
               "                       [ADDR]:PORT. Default 127.0.0.1:5060. Port 0 picks a\n"
               "                       free port.\n"
               "  --log-level LEVEL    err, warn, notice (default), info or debug; overrides the\n"
               "                       file's log.level.\n"
               "\n"
               "Readiness: once every socket is bound, one line per socket is printed on\n"
               "standard output: 'ready udp <addr>:<port>', followed by ' node <name>' with\n"
               "--config. SIGINT or SIGTERM stops it cleanly.\n"
               "\n"
               "Exit status: 0 stopped by a signal, or --check-config found no error; 64 usage\n"
               "error; 69 a socket cannot be bound, or the file has no UDP listener; 71 system\n"
               "error; 78 the configuration has errors or cannot be read.\n");
}

static void send_to(struct rsock *s, const struct sockaddr *sa, socklen_t salen, const char *buf,
                    size_t n)
{
    struct responder *r = s->r;

    if (sendto(s->fd, buf, n, 0, sa, salen) < 0) {
        sv_log(SV_LOG_WARN, MOD, "sendto failed: %s", strerror(errno));
        return;
    }
    r->ntx++;
    if (r->trace) {
        char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
        getnameinfo(sa, salen, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
        sv_log_write(SV_LOG_DEBUG, "trace", "tx udp %s to %s:%s (%zu octets)\n%.*s", s->where, host,
                     port, n, (int)n, buf);
    }
}

static void answer(struct rsock *s, const struct sip_msg *msg, uint16_t code, const char *reason,
                   struct sv_slice extra, const struct sockaddr *sa, socklen_t salen)
{
    struct responder *r = s->r;
    char tag[17];
    size_t n;

    sip_tag_gen(tag, sizeof(tag));
    if (sip_resp_build(msg, code, reason, sv_slice_cstr(tag), extra, r->tx, sizeof(r->tx), &n)) {
        sv_log(SV_LOG_WARN, MOD, "response %u too large to build; dropped", code);
        return;
    }
    send_to(s, sa, salen, r->tx, n);
}

static void handle(struct rsock *s, size_t len, const struct sockaddr *sa, socklen_t salen)
{
    static const struct sip_check_opts opts = {SIP_CHECK_PROXY, supported_tags};
    struct responder *r = s->r;
    struct sv_arena arena;
    struct sip_msg *msg = NULL;
    struct sip_perr perr = {0};
    struct sip_status st;
    char host[INET6_ADDRSTRLEN + 8] = "?", port[8] = "?";

    getnameinfo(sa, salen, host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
    if (r->trace)
        sv_log_write(SV_LOG_DEBUG, "trace", "rx udp %s from %s:%s (%zu octets)\n%.*s", s->where,
                     host, port, len, (int)len, r->rx);
    sv_arena_init(&arena, r->arena_block, sizeof(r->arena_block));
    int e = sip_msg_parse(&msg, &arena, r->rx, len, SIP_DGRAM, r->lim, &perr);
    if (e) {
        bool can_answer = e == EBADMSG && msg && msg->req && msg->via.raw.p && msg->callid.p &&
                          msg->cseq.method.p;
        sv_log(SV_LOG_INFO, MOD, "%s:%s: malformed (%s); %s", host, port,
               perr.reason ? perr.reason : strerror(e), can_answer ? "answering 400" : "dropped");
        if (can_answer) {
            char reason[160];
            snprintf(reason, sizeof(reason), "Bad Request (%s)", perr.reason);
            answer(s, msg, 400, reason, SV_LIT(""), sa, salen);
        } else {
            r->ndropped++;
        }
        goto out;
    }
    if (!msg->req) {
        r->ndropped++;
        goto out;
    }
    if (sip_msg_check(msg, &opts, &st)) {
        char extra[160] = "";
        if (st.code == 420 && st.unsupported.p)
            snprintf(extra, sizeof(extra), "Unsupported: %.*s\r\n", SV_FMT(st.unsupported));
        sv_log(SV_LOG_INFO, MOD, "%s:%s: %.*s refused: %u %s", host, port, SV_FMT(msg->method),
               st.code, st.reason);
        if (msg->mid != SIP_METHOD_ACK)
            answer(s, msg, st.code, st.reason, sv_slice_cstr(extra), sa, salen);
        goto out;
    }
    switch (msg->mid) {
    case SIP_METHOD_OPTIONS:
        answer(s, msg, 200, "OK",
               SV_LIT("Allow: OPTIONS\r\nSupported: privacy\r\nAccept: application/sdp\r\n"), sa,
               salen);
        break;
    case SIP_METHOD_ACK:
        break;
    default:
        answer(s, msg, 501, "Not Implemented", SV_LIT("Allow: OPTIONS\r\n"), sa, salen);
        break;
    }
    sv_log(SV_LOG_DEBUG, MOD, "%s:%s: %.*s handled", host, port, SV_FMT(msg->method));
out:
    sv_arena_close(&arena);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct rsock *s = arg;
    struct responder *r = s->r;
    (void)what;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, r->rx, sizeof(r->rx), 0, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                sv_log(SV_LOG_WARN, MOD, "recvfrom failed: %s", strerror(errno));
            return;
        }
        r->nrx++;
        handle(s, (size_t)n, (struct sockaddr *)&ss, sl);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct responder *r = arg;
    (void)what;
    sv_log(SV_LOG_NOTICE, MOD, "signal %d: stopping (%lu received, %lu sent, %lu dropped)",
           (int)sig, r->nrx, r->ntx, r->ndropped);
    event_base_loopbreak(r->base);
}

/* "127.0.0.1:5060", "[::1]:5060": IP addresses only, since the socket binds. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[INET6_ADDRSTRLEN + 1];
    uint16_t port;

    if (sv_cfg_addr_split(s, host, sizeof(host), &port))
        return EINVAL;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (*s != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *sl = sizeof(*in4);
        return 0;
    }
    if (*s == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *sl = sizeof(*in6);
        return 0;
    }
    return EINVAL;
}

/* Bind one UDP socket on @p addr into @p s. @return 0 or an APP_EX_ status. */
static int bind_udp(struct rsock *s, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

    if (parse_listen(addr, &ss, &sl)) {
        sv_log(SV_LOG_ERR, MOD, "udp %s: not an IP address and port", addr);
        return APP_EX_CONFIG;
    }
    s->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&ss, sl) < 0) {
        sv_log(SV_LOG_ERR, MOD, "cannot bind udp %s%s%s: %s", addr, s->node ? " of node " : "",
               s->node ? s->node : "", strerror(errno));
        return APP_EX_UNAVAILABLE;
    }
    sl = sizeof(ss);
    getsockname(s->fd, (struct sockaddr *)&ss, &sl);
    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(s->where, sizeof(s->where), "%s%s%s:%s", ss.ss_family == AF_INET6 ? "[" : "", host,
             ss.ss_family == AF_INET6 ? "]" : "", port);
    return 0;
}

/*
 * Bind every address of @p specs, then print the readiness lines and run the loop until a
 * signal. Nothing is announced unless every socket is bound.
 * @return an APP_EX_ status
 */
static int responder_run(struct responder *r, const struct rspec *specs, size_t n)
{
    struct event *sint = NULL, *sterm = NULL;
    int rc = APP_EX_OK;

    r->socks = calloc(n, sizeof(*r->socks));
    if (!r->socks)
        return APP_EX_OSERR;
    for (size_t i = 0; i < n; i++)
        r->socks[i].fd = -1;
    r->nsocks = n;
    for (size_t i = 0; i < n && rc == APP_EX_OK; i++) {
        r->socks[i].r = r;
        r->socks[i].node = specs[i].node;
        rc = bind_udp(&r->socks[i], specs[i].addr);
    }
    if (rc != APP_EX_OK)
        goto out;
    r->base = event_base_new();
    if (!r->base) {
        rc = APP_EX_OSERR;
        goto out;
    }
    for (size_t i = 0; i < n && rc == APP_EX_OK; i++) {
        struct rsock *s = &r->socks[i];
        s->ev = event_new(r->base, s->fd, EV_READ | EV_PERSIST, on_readable, s);
        if (!s->ev || event_add(s->ev, NULL))
            rc = APP_EX_OSERR;
    }
    sint = evsignal_new(r->base, SIGINT, on_signal, r);
    sterm = evsignal_new(r->base, SIGTERM, on_signal, r);
    if (rc != APP_EX_OK || !sint || !sterm || event_add(sint, NULL) || event_add(sterm, NULL)) {
        rc = APP_EX_OSERR;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct rsock *s = &r->socks[i];
        if (s->node) {
            sv_log(SV_LOG_NOTICE, MOD, "node %s: message-core responder listening on udp %s",
                   s->node, s->where);
            printf("ready udp %s node %s\n", s->where, s->node);
        } else {
            sv_log(SV_LOG_NOTICE, MOD, "message-core responder listening on udp %s", s->where);
            printf("ready udp %s\n", s->where);
        }
    }
    fflush(stdout);
    event_base_dispatch(r->base);
out:
    if (sint)
        event_free(sint);
    if (sterm)
        event_free(sterm);
    for (size_t i = 0; i < r->nsocks; i++) {
        if (r->socks[i].ev)
            event_free(r->socks[i].ev);
        if (r->socks[i].fd >= 0)
            close(r->socks[i].fd);
    }
    if (r->base)
        event_base_free(r->base);
    free(r->socks);
    return rc;
}

/* --check-config and the config half of run: load, report, and say what will be served. */
static int load_config(const char *path, struct app_config *cfg)
{
    struct sv_cfg_diag d;
    int err;

    sv_cfg_diag_init(&d, 0);
    err = app_config_load(cfg, path, &d);
    if (err) {
        sv_cfg_diag_print(&d, stderr);
        if (err == ENOMEM)
            fprintf(stderr, "sipveil run: %s: out of memory\n", path);
        else if (d.nerr)
            fprintf(stderr, "sipveil run: %s: %u error%s; nothing started\n", path, d.nerr,
                    d.nerr == 1 ? "" : "s");
    }
    sv_cfg_diag_close(&d);
    return err;
}

/* Collect the UDP listeners of @p cfg; log what this release does not serve yet. */
static size_t udp_specs(const struct app_config *cfg, struct rspec *specs)
{
    size_t n = 0;

    sv_log(SV_LOG_NOTICE, MOD,
           "%zu node%s configured; until the proxy engine lands, every UDP listener runs the "
           "message-core responder (OPTIONS 200, other requests 501) whatever the node's role",
           cfg->nnodes, cfg->nnodes == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->nnodes; i++) {
        const struct app_node *node = &cfg->nodes[i];
        for (size_t j = 0; j < node->nlisteners; j++) {
            const struct app_listener *l = &node->listeners[j];
            if (l->transport == APP_TP_UDP) {
                specs[n].addr = l->address;
                specs[n].node = node->name;
                n++;
            } else {
                sv_log(SV_LOG_NOTICE, MOD,
                       "node %s: %s listener %s not served yet (needs the "
                       "transport layer)",
                       node->name, app_tp_names[l->transport], l->address);
            }
        }
        if (node->nroutes)
            sv_log(SV_LOG_NOTICE, MOD,
                   "node %s: %zu route%s not used yet (needs the proxy "
                   "engine)",
                   node->name, node->nroutes, node->nroutes == 1 ? "" : "s");
    }
    if (*cfg->metrics.listen)
        sv_log(SV_LOG_NOTICE, MOD, "metrics.listen %s: metrics are not served yet",
               cfg->metrics.listen);
    if (cfg->workers != 1)
        sv_log(SV_LOG_INFO, MOD, "workers %u: the responder runs one event loop", cfg->workers);
    return n;
}

int app_cmd_run(int argc, char **argv)
{
    const char *listen_s = NULL, *config = NULL;
    bool check_only = false, level_given = false;
    struct app_config cfg;
    struct responder *r = NULL;
    struct rspec one, *specs = &one;
    size_t nspecs = 1;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            app_usage_run(stdout);
            return APP_EX_OK;
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_s = argv[++i];
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = true;
        } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            enum sv_log_level lvl;
            if (sv_log_level_parse(argv[++i], &lvl)) {
                fprintf(stderr, "sipveil run: --log-level must be err, warn, notice, info or "
                                "debug\n");
                return APP_EX_USAGE;
            }
            sv_log_set_level(lvl);
            level_given = true;
        } else {
            fprintf(stderr, "sipveil run: unknown argument '%s'; see 'sipveil help run'\n",
                    argv[i]);
            return APP_EX_USAGE;
        }
    }
    if (check_only && !config) {
        fprintf(stderr, "sipveil run: --check-config needs --config FILE\n");
        return APP_EX_USAGE;
    }
    if (config && listen_s) {
        fprintf(stderr, "sipveil run: --listen and --config exclude each other; the listeners "
                        "of --config are its nodes'\n");
        return APP_EX_USAGE;
    }
    if (!config) {
        struct sockaddr_storage ss;
        socklen_t sl;
        if (!listen_s)
            listen_s = "127.0.0.1:5060";
        if (parse_listen(listen_s, &ss, &sl)) {
            fprintf(stderr, "sipveil run: --listen '%s' is not ADDR:PORT (IPv6: [ADDR]:PORT)\n",
                    listen_s);
            return APP_EX_USAGE;
        }
        one.addr = listen_s;
        one.node = NULL;
    } else {
        if (load_config(config, &cfg))
            return APP_EX_CONFIG;
        if (check_only) {
            rc =
                app_config_print(&cfg, config, stdout) || fflush(stdout) ? APP_EX_IOERR : APP_EX_OK;
            app_config_free(&cfg);
            return rc;
        }
        if (!level_given)
            sv_log_set_level((enum sv_log_level)cfg.log.level);
        nspecs = 0;
        for (size_t i = 0; i < cfg.nnodes; i++)
            nspecs += cfg.nodes[i].nlisteners;
        specs = calloc(nspecs, sizeof(*specs));
        if (!specs) {
            rc = APP_EX_OSERR;
            goto out;
        }
        nspecs = udp_specs(&cfg, specs);
        if (nspecs == 0) {
            sv_log(SV_LOG_ERR, MOD, "%s has no udp listener: nothing this release can serve",
                   config);
            rc = APP_EX_UNAVAILABLE;
            goto out;
        }
    }

    r = calloc(1, sizeof(*r));
    if (!r) {
        rc = APP_EX_OSERR;
        goto out;
    }
    if (config) {
        r->lim_conf.max_msg = cfg.limits.max_msg;
        r->lim_conf.max_headers = cfg.limits.max_headers;
        r->lim_conf.max_start_line = cfg.limits.max_start_line;
        r->lim_conf.max_header = cfg.limits.max_header;
        r->lim = &r->lim_conf;
        r->trace = cfg.log.trace;
        if (r->trace)
            sv_log(SV_LOG_WARN, MOD,
                   "log.trace is on: whole messages, identities included, go "
                   "to the log");
    }
    rc = responder_run(r, specs, nspecs);
out:
    free(r);
    if (specs != &one)
        free(specs);
    app_config_free(&cfg);
    return rc;
}
