/**
 * @file cmd_run.c  `sipveil run`: today, the message-core responder.
 *
 * Until the transaction layer and the proxy core exist, `run` starts what exists: a stateless
 * UDP responder built on the message layer. It answers OPTIONS with 200 (the readiness probe
 * the later nodes keep), a request that fails the semantic checks with their code, a
 * malformed request with 400 when enough of it is sound to address a response (otherwise it
 * drops it, as RFC 3261 §16.3 and RFC 4475 allow), any other request with 501, and it drops
 * responses. The log never carries identities: only addresses, methods, codes and reasons.
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
#include <sipveil/sip.h>
#include "app.h"

#define MOD "run"
#define RX_MAX 65536

struct responder {
    int fd;
    struct event_base *base;
    char rx[RX_MAX];
    char tx[RX_MAX];
    char arena_block[16384];
    unsigned long nrx, ntx, ndropped;
};

static const char *const supported_tags[] = {"privacy", NULL};

void app_usage_run(FILE *f)
{
    fprintf(f, "Usage: sipveil run [--listen ADDR:PORT] [--log-level LEVEL]\n"
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
               "  --listen ADDR:PORT   UDP address to listen on; IPv6 as [ADDR]:PORT.\n"
               "                       Default 127.0.0.1:5060. Port 0 picks a free port.\n"
               "  --log-level LEVEL    err, warn, notice (default), info or debug.\n"
               "\n"
               "Readiness: once the socket is bound, one line 'ready udp <addr>:<port>' is\n"
               "printed on standard output. SIGINT or SIGTERM stops it cleanly.\n");
}

static void send_to(struct responder *r, const struct sockaddr *sa, socklen_t salen,
                    const char *buf, size_t n)
{
    if (sendto(r->fd, buf, n, 0, sa, salen) < 0)
        sv_log(SV_LOG_WARN, MOD, "sendto failed: %s", strerror(errno));
    else
        r->ntx++;
}

static void answer(struct responder *r, const struct sip_msg *msg, uint16_t code,
                   const char *reason, struct sv_slice extra, const struct sockaddr *sa,
                   socklen_t salen)
{
    char tag[17];
    size_t n;

    sip_tag_gen(tag, sizeof(tag));
    if (sip_resp_build(msg, code, reason, sv_slice_cstr(tag), extra, r->tx, sizeof(r->tx), &n)) {
        sv_log(SV_LOG_WARN, MOD, "response %u too large to build; dropped", code);
        return;
    }
    send_to(r, sa, salen, r->tx, n);
}

static void handle(struct responder *r, size_t len, const struct sockaddr *sa, socklen_t salen)
{
    static const struct sip_check_opts opts = {SIP_CHECK_PROXY, supported_tags};
    struct sv_arena arena;
    struct sip_msg *msg = NULL;
    struct sip_perr perr = {0};
    struct sip_status st;
    char host[INET6_ADDRSTRLEN + 8] = "?", port[8] = "?";

    getnameinfo(sa, salen, host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
    sv_arena_init(&arena, r->arena_block, sizeof(r->arena_block));
    int e = sip_msg_parse(&msg, &arena, r->rx, len, SIP_DGRAM, NULL, &perr);
    if (e) {
        bool can_answer = e == EBADMSG && msg && msg->req && msg->via.raw.p && msg->callid.p &&
                          msg->cseq.method.p;
        sv_log(SV_LOG_INFO, MOD, "%s:%s: malformed (%s); %s", host, port,
               perr.reason ? perr.reason : strerror(e), can_answer ? "answering 400" : "dropped");
        if (can_answer) {
            char reason[160];
            snprintf(reason, sizeof(reason), "Bad Request (%s)", perr.reason);
            answer(r, msg, 400, reason, SV_LIT(""), sa, salen);
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
            answer(r, msg, st.code, st.reason, sv_slice_cstr(extra), sa, salen);
        goto out;
    }
    switch (msg->mid) {
    case SIP_METHOD_OPTIONS:
        answer(r, msg, 200, "OK",
               SV_LIT("Allow: OPTIONS\r\nSupported: privacy\r\nAccept: application/sdp\r\n"), sa,
               salen);
        break;
    case SIP_METHOD_ACK:
        break;
    default:
        answer(r, msg, 501, "Not Implemented", SV_LIT("Allow: OPTIONS\r\n"), sa, salen);
        break;
    }
    sv_log(SV_LOG_DEBUG, MOD, "%s:%s: %.*s handled", host, port, SV_FMT(msg->method));
out:
    sv_arena_close(&arena);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct responder *r = arg;
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
        handle(r, (size_t)n, (struct sockaddr *)&ss, sl);
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

/* "127.0.0.1:5060", "[::1]:5060" */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[128];
    const char *colon, *h = s;
    size_t hl;

    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return EINVAL;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return EINVAL;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof(host))
        return EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1)
        return EINVAL;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*in6);
        return 0;
    }
    return EINVAL;
}

int app_cmd_run(int argc, char **argv)
{
    const char *listen_s = "127.0.0.1:5060";
    struct sockaddr_storage ss;
    socklen_t sl;
    struct responder *r;
    int rc = APP_EX_OK;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            app_usage_run(stdout);
            return APP_EX_OK;
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_s = argv[++i];
        } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            enum sv_log_level lvl;
            if (sv_log_level_parse(argv[++i], &lvl)) {
                fprintf(stderr, "sipveil run: --log-level must be err, warn, notice, info or "
                                "debug\n");
                return APP_EX_USAGE;
            }
            sv_log_set_level(lvl);
        } else {
            fprintf(stderr, "sipveil run: unknown argument '%s'; see 'sipveil help run'\n",
                    argv[i]);
            return APP_EX_USAGE;
        }
    }
    if (parse_listen(listen_s, &ss, &sl)) {
        fprintf(stderr, "sipveil run: --listen '%s' is not ADDR:PORT (IPv6: [ADDR]:PORT)\n",
                listen_s);
        return APP_EX_USAGE;
    }
    r = calloc(1, sizeof(*r));
    if (!r)
        return APP_EX_OSERR;
    r->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&ss, sl) < 0) {
        sv_log(SV_LOG_ERR, MOD, "cannot bind udp %s: %s", listen_s, strerror(errno));
        rc = APP_EX_UNAVAILABLE;
        goto out;
    }
    sl = sizeof(ss);
    getsockname(r->fd, (struct sockaddr *)&ss, &sl);
    char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                NI_NUMERICHOST | NI_NUMERICSERV);

    r->base = event_base_new();
    if (!r->base) {
        rc = APP_EX_OSERR;
        goto out;
    }
    struct event *rev = event_new(r->base, r->fd, EV_READ | EV_PERSIST, on_readable, r);
    struct event *sint = evsignal_new(r->base, SIGINT, on_signal, r);
    struct event *sterm = evsignal_new(r->base, SIGTERM, on_signal, r);
    if (!rev || !sint || !sterm || event_add(rev, NULL) || event_add(sint, NULL) ||
        event_add(sterm, NULL)) {
        rc = APP_EX_OSERR;
    } else {
        sv_log(SV_LOG_NOTICE, MOD, "message-core responder listening on udp %s%s%s:%s",
               ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
               port);
        printf("ready udp %s%s%s:%s\n", ss.ss_family == AF_INET6 ? "[" : "", host,
               ss.ss_family == AF_INET6 ? "]" : "", port);
        fflush(stdout);
        event_base_dispatch(r->base);
    }
    if (rev)
        event_free(rev);
    if (sint)
        event_free(sint);
    if (sterm)
        event_free(sterm);
    event_base_free(r->base);
out:
    if (r->fd >= 0)
        close(r->fd);
    free(r);
    return rc;
}
