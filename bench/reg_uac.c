/**
 * @file reg_uac.c  The REGISTER load of bench/register for Digest algorithms that SIPp 3.6.1
 * cannot answer (SHA-256, RFC 8760), written in C so that the load costs the machine about what
 * SIPp's does: bench/register sums CPU over the registrar's processes only, but a heavier client
 * still takes CPU time and wakeups on the cores the registrar runs on, and its rows would then
 * not be comparable with SIPp's. (bench/reg_uac.py, its Python predecessor, put sipveil's
 * MD5 figure at 0.62 of Kamailio's where SIPp's load gives 0.46.)
 *
 * The flow is scenarios/uac_register.xml's. One registration is REGISTER, the 401 with a
 * challenge for --alg, REGISTER with Digest (qop=auth, nc 00000001), then 200. Users come from
 * the harness's -inf CSV: "SEQUENTIAL", then one line per user, field 0 the user and field 1
 * the password. Every registration has its own Call-ID, From tag and branch. The Contact names
 * the user, as in the SIPp scenario.
 *
 * Timing follows SIPp's. Starts are paced at --rate per second on a fixed schedule (SIPp's -r
 * with -rp 1000). A request is retransmitted as with retrans="500": timer A from 0.5 s,
 * doubling, at most 4 s. A registration still without its answer --recv-timeout seconds after
 * a request fails (SIPp's -recv_timeout).
 *
 * --tick: SIPp does not start each call the moment it falls due. It starts the calls due at
 * each turn of its loop, about once a scheduler tick (3.5-3.9 ms on the 2-core VMs here,
 * counted with tshark), so at 500/s its first REGISTERs leave in pairs; the registrar's two
 * 401s then come back together and SIPp answers both at once. A registrar can take such a
 * pair in one wakeup, where a client that starts each call on time (--tick 0) sends one
 * datagram per wakeup. With --tick MS this client starts calls the same way, those due at
 * each turn of MS milliseconds, and still answers what arrives at once; bench/register
 * measures SIPp's turn and passes it, so that the SHA-256 rows meet the load the MD5 rows
 * meet.
 *
 * The statistics file (--stf) has SIPp's column names for the counters the harness reads and
 * one row a second (-fd 1), so bench/proxy's read_sipp_stats reads it unchanged. Exit status
 * as SIPp's: 0 when every registration succeeded, 1 when some failed, 2 on a usage error, 3
 * when the run could not start.
 *
 * One thread, one UDP socket, ppoll for the pacing and the timers; the digests come from
 * OpenSSL's EVP. Run it alone with --help.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REALM "ims.example"
#define MSG_MAX 2048
#define RTX_FIRST 0.5 /* SIPp's retrans="500" */
#define RTX_MAX 4.0   /* timer A stops doubling here, as SIPp's T2 */

struct user {
    char *name, *pw;
};

struct reg {
    unsigned long i;
    unsigned cseq; /* 1: waiting for the 401, 2: for the 200 */
    double rtx_at, rtx_gap, deadline;
    struct reg *prev, *next; /* the in-flight list */
    size_t len;
    char msg[MSG_MAX];
};

struct challenge {
    const char *realm, *nonce, *opaque;
    size_t realm_len, nonce_len, opaque_len;
};

/* What a run counts: SIPp's counters, under SIPp's column names in row(). */
struct counts {
    unsigned long created, ok, failed, unexpected, timeout, retrans;
};

static struct {
    /* options */
    const char *target, *inf, *alg, *stf, *local;
    unsigned long calls;
    double rate, recv_timeout, timeout, tick;
    /* state */
    const EVP_MD *md;
    struct user *users;
    size_t n_users;
    int fd;
    struct sockaddr_in dst;
    unsigned lport;
    long pid;
    struct reg **by_index; /* in flight, by registration number */
    struct reg *head;      /* in flight, oldest first */
    struct counts n;
} u = {.local = "127.0.0.1", .alg = "SHA-256", .recv_timeout = 10.0, .timeout = 3600.0};

static const char usage[] =
    "usage: bench_reg_uac HOST:PORT --inf CSV --calls N --rate R --stf FILE\n"
    "                     [--alg MD5|SHA-256] [--local ADDR] [--recv-timeout S] [--timeout S]\n"
    "                     [--tick MS]\n"
    "\n"
    "REGISTER load with Digest for bench/register: scenarios/uac_register.xml's flow, paced\n"
    "as SIPp's -r, with SIPp's statistics file.\n"
    "\n"
    "  HOST:PORT          the registrar (UDP, IPv4)\n"
    "  --inf CSV          the users: the harness's SIPp -inf file (field 0 user, field 1\n"
    "                     password)\n"
    "  --alg ALG          the Digest algorithm to answer: MD5 or SHA-256 (SHA-256)\n"
    "  --calls N          registrations to make\n"
    "  --rate R           registrations started a second\n"
    "  --stf FILE         the statistics file to write (SIPp's format, a row a second)\n"
    "  --local ADDR       the IPv4 address to send from (127.0.0.1)\n"
    "  --recv-timeout S   seconds a request waits for its answer before the registration\n"
    "                     fails (10)\n"
    "  --timeout S        seconds the whole run may take (3600)\n"
    "  --tick MS          start calls as SIPp's loop does: those due, together, once every\n"
    "                     MS milliseconds (0: each on time); answers still go at once\n"
    "\n"
    "exit status: 0 every registration succeeded, 1 some failed, 2 usage, 3 could not run\n";

__attribute__((noreturn, format(printf, 2, 3))) static void die(int status, const char *fmt, ...);

static void die(int status, const char *fmt, ...)
{
    va_list ap;

    fputs("bench_reg_uac: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------------------------ */
/* Setup */

static double num_arg(const char *opt, const char *v, double min)
{
    char *end;
    double d = strtod(v, &end);

    if (*v == '\0' || *end != '\0' || !(d >= min))
        die(2, "%s takes a number >= %g, not '%s'\n\n%s", opt, min, v, usage);
    return d;
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (a[0] != '-') {
            if (u.target)
                die(2, "one registrar only, not also '%s'\n\n%s", a, usage);
            u.target = a;
            continue;
        }
        if (!v)
            die(2, "%s needs a value\n\n%s", a, usage);
        i++;
        if (strcmp(a, "--inf") == 0)
            u.inf = v;
        else if (strcmp(a, "--alg") == 0)
            u.alg = v;
        else if (strcmp(a, "--stf") == 0)
            u.stf = v;
        else if (strcmp(a, "--local") == 0)
            u.local = v;
        else if (strcmp(a, "--calls") == 0)
            u.calls = (unsigned long)num_arg(a, v, 1);
        else if (strcmp(a, "--rate") == 0)
            u.rate = num_arg(a, v, 1e-3);
        else if (strcmp(a, "--recv-timeout") == 0)
            u.recv_timeout = num_arg(a, v, 1e-3);
        else if (strcmp(a, "--timeout") == 0)
            u.timeout = num_arg(a, v, 1e-3);
        else if (strcmp(a, "--tick") == 0)
            u.tick = num_arg(a, v, 0) / 1e3;
        else
            die(2, "unknown option %s\n\n%s", a, usage);
    }
    if (!u.target || !u.inf || !u.stf || !u.calls || u.rate <= 0)
        die(2, "HOST:PORT, --inf, --calls, --rate and --stf are needed\n\n%s", usage);
    if (strcmp(u.alg, "MD5") == 0)
        u.md = EVP_md5();
    else if (strcmp(u.alg, "SHA-256") == 0)
        u.md = EVP_sha256();
    else
        die(2, "--alg takes MD5 or SHA-256, not '%s'", u.alg);
}

static void read_users(void)
{
    FILE *f = fopen(u.inf, "r");
    char line[1024];
    size_t cap = 0;

    if (!f)
        die(3, "%s: %s", u.inf, strerror(errno));
    while (fgets(line, sizeof(line), f)) {
        char *semi, *pw, *end;

        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#' || strcmp(line, "SEQUENTIAL") == 0)
            continue;
        semi = strchr(line, ';');
        if (!semi)
            die(3, "%s: a user line without a password field", u.inf);
        *semi = '\0';
        pw = semi + 1;
        end = strchr(pw, ';');
        if (end)
            *end = '\0';
        if (u.n_users == cap) {
            cap = cap ? 2 * cap : 1024;
            u.users = realloc(u.users, cap * sizeof(*u.users));
            if (!u.users)
                die(3, "out of memory");
        }
        u.users[u.n_users].name = strdup(line);
        u.users[u.n_users].pw = strdup(pw);
        if (!u.users[u.n_users].name || !u.users[u.n_users].pw)
            die(3, "out of memory");
        u.n_users++;
    }
    fclose(f);
    if (!u.n_users)
        die(3, "%s: no users", u.inf);
}

static void open_socket(void)
{
    struct sockaddr_in me = {.sin_family = AF_INET};
    socklen_t len = sizeof(me);
    int rcvbuf = 4 << 20;
    char host[64];
    const char *colon = strrchr(u.target, ':');

    if (!colon || (size_t)(colon - u.target) >= sizeof(host))
        die(2, "the registrar is HOST:PORT, not '%s'", u.target);
    memcpy(host, u.target, (size_t)(colon - u.target));
    host[colon - u.target] = '\0';
    u.dst.sin_family = AF_INET;
    u.dst.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &u.dst.sin_addr) != 1 || !u.dst.sin_port)
        die(2, "the registrar is an IPv4 HOST:PORT, not '%s'", u.target);
    if (inet_pton(AF_INET, u.local, &me.sin_addr) != 1)
        die(2, "--local takes an IPv4 address, not '%s'", u.local);
    u.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u.fd < 0)
        die(3, "socket: %s", strerror(errno));
    setsockopt(u.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(u.fd, (struct sockaddr *)&me, sizeof(me)) || getsockname(u.fd, (struct sockaddr *)&me,
                                                                      &len))
        die(3, "bind %s: %s", u.local, strerror(errno));
    u.lport = ntohs(me.sin_port);
}

/* ------------------------------------------------------------------------------------------ */
/* Requests */

/* The hex digest of the @p n strings in @p parts, joined with ':'. */
static void digest_hex(char *out, const char *const *parts, const size_t *lens, int n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    static EVP_MD_CTX *ctx;

    if (!ctx && !(ctx = EVP_MD_CTX_new()))
        die(3, "out of memory");
    if (!EVP_DigestInit_ex(ctx, u.md, NULL))
        die(3, "EVP_DigestInit_ex failed");
    for (int k = 0; k < n; k++) {
        if ((k && !EVP_DigestUpdate(ctx, ":", 1)) || !EVP_DigestUpdate(ctx, parts[k], lens[k]))
            die(3, "EVP_DigestUpdate failed");
    }
    if (!EVP_DigestFinal_ex(ctx, md, &len))
        die(3, "EVP_DigestFinal_ex failed");
    for (unsigned k = 0; k < len; k++) {
        out[2 * k] = hex[md[k] >> 4];
        out[2 * k + 1] = hex[md[k] & 15];
    }
    out[2 * len] = '\0';
}

/* REGISTER number r->i, CSeq r->cseq, with @p auth (a whole header line, or "") into r->msg. */
static void build(struct reg *r, const char *auth)
{
    const struct user *us = &u.users[r->i % u.n_users];
    int n = snprintf(r->msg, sizeof(r->msg),
                     "REGISTER sip:" REALM " SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK%ldx%lux%u;rport\r\n"
                     "From: <sip:%s@" REALM ">;tag=%ldR%lu\r\n"
                     "To: <sip:%s@" REALM ">\r\n"
                     "Call-ID: %lu-%ld@reg_uac\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: <sip:%s@%s:%u>\r\n"
                     "%s"
                     "Expires: 3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                     u.local, u.lport, u.pid, r->i, r->cseq, us->name, u.pid, r->i, us->name,
                     r->i, u.pid, r->cseq, us->name, u.local, u.lport, auth);

    if (n < 0 || (size_t)n >= sizeof(r->msg))
        die(3, "a REGISTER longer than %d octets (user %s)", MSG_MAX, us->name);
    r->len = (size_t)n;
}

static void send_msg(struct reg *r, double now)
{
    if (sendto(u.fd, r->msg, r->len, 0, (struct sockaddr *)&u.dst, sizeof(u.dst)) < 0 &&
        errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
        die(3, "sendto: %s", strerror(errno));
    r->rtx_gap = RTX_FIRST;
    r->rtx_at = now + r->rtx_gap;
    r->deadline = now + u.recv_timeout;
}

static void start(double now)
{
    struct reg *r = malloc(sizeof(*r));

    if (!r)
        die(3, "out of memory");
    r->i = u.n.created++;
    r->cseq = 1;
    build(r, "");
    r->next = NULL;
    r->prev = NULL;
    if (u.head) { /* append: the list stays oldest first */
        struct reg *tail = u.head->prev;

        tail->next = r;
        r->prev = tail;
    } else {
        u.head = r;
    }
    u.head->prev = r; /* the head's prev is the tail */
    u.by_index[r->i] = r;
    send_msg(r, now);
}

/* Take @p r off the in-flight list and free it. */
static void finish(struct reg *r)
{
    if (r == u.head) {
        u.head = r->next;
        if (u.head)
            u.head->prev = r->prev;
    } else {
        r->prev->next = r->next;
        if (r->next)
            r->next->prev = r->prev;
        else
            u.head->prev = r->prev;
    }
    u.by_index[r->i] = NULL;
    free(r);
}

static void fail(struct reg *r, unsigned long *why)
{
    u.n.failed++;
    (*why)++;
    finish(r);
}

/* The REGISTER with credentials for the challenge @p c. */
static void answer(struct reg *r, const struct challenge *c, double now)
{
    const struct user *us = &u.users[r->i % u.n_users];
    char ha1[2 * EVP_MAX_MD_SIZE + 1], ha2[2 * EVP_MAX_MD_SIZE + 1],
        resp[2 * EVP_MAX_MD_SIZE + 1], impi[256], cnonce[64], opaque[512] = "", auth[MSG_MAX];
    int il = snprintf(impi, sizeof(impi), "%s@" REALM, us->name);
    int cl = snprintf(cnonce, sizeof(cnonce), "%ldR%luc", u.pid, r->i);

    if (il < 0 || (size_t)il >= sizeof(impi) || c->opaque_len > sizeof(opaque) - 16)
        die(3, "a user name or an opaque value too long");
    {
        const char *p1[] = {impi, c->realm, us->pw};
        const size_t l1[] = {(size_t)il, c->realm_len, strlen(us->pw)};
        const char *p2[] = {"REGISTER", "sip:" REALM};
        const size_t l2[] = {8, sizeof("sip:" REALM) - 1};

        digest_hex(ha1, p1, l1, 3);
        digest_hex(ha2, p2, l2, 2);
    }
    {
        const char *p[] = {ha1, c->nonce, "00000001", cnonce, "auth", ha2};
        const size_t l[] = {strlen(ha1), c->nonce_len, 8, (size_t)cl, 4, strlen(ha2)};

        digest_hex(resp, p, l, 6);
    }
    if (c->opaque)
        snprintf(opaque, sizeof(opaque), ", opaque=\"%.*s\"", (int)c->opaque_len, c->opaque);
    if ((size_t)snprintf(auth, sizeof(auth),
                         "Authorization: Digest username=\"%s\", realm=\"%.*s\", "
                         "nonce=\"%.*s\", uri=\"sip:" REALM "\", response=\"%s\", "
                         "algorithm=%s, cnonce=\"%s\", qop=auth, nc=00000001%s\r\n",
                         impi, (int)c->realm_len, c->realm, (int)c->nonce_len, c->nonce, resp,
                         u.alg, cnonce, opaque) >= sizeof(auth))
        die(3, "an Authorization header longer than %d octets", MSG_MAX);
    r->cseq = 2;
    build(r, auth);
    send_msg(r, now);
}

/* ------------------------------------------------------------------------------------------ */
/* Responses */

/* Is the line [p, end) header @p name (or its compact form @p compact)? @return the start of
 * its value, which runs to @p end, or NULL. */
static const char *header_value(const char *p, const char *end, const char *name,
                                const char *compact)
{
    const char *colon = memchr(p, ':', (size_t)(end - p)), *n;
    size_t len;

    if (!colon)
        return NULL;
    n = colon;
    while (n > p && (n[-1] == ' ' || n[-1] == '\t'))
        n--;
    len = (size_t)(n - p);
    if (!((len == strlen(name) && strncasecmp(p, name, len) == 0) ||
          (compact && len == strlen(compact) && strncasecmp(p, compact, len) == 0)))
        return NULL;
    colon++;
    while (colon < end && (*colon == ' ' || *colon == '\t'))
        colon++;
    return colon;
}

/* One Digest challenge's parameters (only realm, nonce, opaque and algorithm matter here).
 * @return true when it is a Digest challenge for --alg. */
static bool parse_challenge(const char *p, const char *end, struct challenge *c)
{
    bool alg_ok = strcmp(u.alg, "MD5") == 0; /* no algorithm parameter means MD5 */

    memset(c, 0, sizeof(*c));
    if (end - p < 7 || strncasecmp(p, "Digest", 6) != 0)
        return false;
    p += 6;
    while (p < end) {
        const char *k, *v;
        size_t kl, vl;

        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        k = p;
        while (p < end && *p != '=' && *p != ',' && *p != ' ')
            p++;
        kl = (size_t)(p - k);
        while (p < end && *p == ' ')
            p++;
        if (p >= end || *p != '=')
            continue;
        p++;
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p == '"') {
            v = ++p;
            while (p < end && *p != '"')
                p += *p == '\\' ? 2 : 1;
            vl = (size_t)((p < end ? p : end) - v);
            p++;
        } else {
            v = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            vl = (size_t)(p - v);
        }
        if (kl == 5 && strncasecmp(k, "realm", 5) == 0) {
            c->realm = v;
            c->realm_len = vl;
        } else if (kl == 5 && strncasecmp(k, "nonce", 5) == 0) {
            c->nonce = v;
            c->nonce_len = vl;
        } else if (kl == 6 && strncasecmp(k, "opaque", 6) == 0) {
            c->opaque = v;
            c->opaque_len = vl;
        } else if (kl == 9 && strncasecmp(k, "algorithm", 9) == 0) {
            alg_ok = vl == strlen(u.alg) && strncasecmp(v, u.alg, vl) == 0;
        }
    }
    return alg_ok && c->realm && c->nonce;
}

static void on_response(const char *buf, size_t len, double now)
{
    const char *p = buf, *end = buf + len, *callid = NULL, *cseq = NULL;
    struct challenge c, found = {0};
    bool have_chal = false;
    unsigned long i;
    struct reg *r;
    int code;

    if (len < 12 || memcmp(buf, "SIP/2.0 ", 8) != 0 || !isdigit((unsigned char)buf[8]))
        return;
    code = atoi(buf + 8);
    p = memchr(p, '\n', len);
    while (p && ++p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *le, *v;

        le = eol ? eol : end;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p)
            break; /* the end of the headers */
        if ((v = header_value(p, le, "call-id", "i")))
            callid = v;
        else if ((v = header_value(p, le, "cseq", NULL)))
            cseq = v;
        else if (!have_chal && (v = header_value(p, le, "www-authenticate", NULL)) &&
                 parse_challenge(v, le, &c)) {
            found = c;
            have_chal = true;
        }
        p = eol;
    }
    if (!callid || !cseq || !isdigit((unsigned char)*callid))
        return;
    i = strtoul(callid, NULL, 10);
    if (i >= u.calls || !(r = u.by_index[i]) || code < 200 ||
        strtoul(cseq, NULL, 10) != r->cseq)
        return; /* a provisional, a retransmitted final, or another's */
    if (r->cseq == 1 && code == 401) {
        if (have_chal)
            answer(r, &found, now);
        else
            fail(r, &u.n.unexpected);
    } else if (r->cseq == 2 && code == 200) {
        u.n.ok++;
        finish(r);
    } else {
        fail(r, &u.n.unexpected);
    }
}

static void read_all(double now)
{
    static char buf[65536];

    for (;;) {
        ssize_t n = recv(u.fd, buf, sizeof(buf) - 1, 0);

        if (n < 0) {
            if (errno == EAGAIN)
                return;
            if (errno == EINTR || errno == ECONNREFUSED)
                continue;
            die(3, "recv: %s", strerror(errno));
        }
        on_response(buf, (size_t)n, now);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The run */

/* Retransmit what is due, fail what has waited too long. @return the earliest next timer. */
static double timers(double now)
{
    double next = now + RTX_MAX;

    for (struct reg *r = u.head, *nx; r; r = nx) {
        nx = r->next;
        if (now >= r->deadline) {
            fail(r, &u.n.timeout);
            continue;
        }
        if (now >= r->rtx_at) {
            sendto(u.fd, r->msg, r->len, 0, (struct sockaddr *)&u.dst, sizeof(u.dst));
            u.n.retrans++;
            r->rtx_gap = r->rtx_gap * 2 < RTX_MAX ? r->rtx_gap * 2 : RTX_MAX;
            r->rtx_at = now + r->rtx_gap;
        }
        if (r->rtx_at < next)
            next = r->rtx_at;
        if (r->deadline < next)
            next = r->deadline;
    }
    return next;
}

static void row(FILE *st)
{
    struct timespec ts;
    struct tm tm;
    char day[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d\t%H:%M:%S", &tm);
    fprintf(st, "%s.%06ld\t%ld.%06ld;%lu;%lu;%lu;%lu;0;%lu;%lu\n", day, ts.tv_nsec / 1000,
            (long)ts.tv_sec, ts.tv_nsec / 1000, u.n.created, u.n.ok, u.n.failed, u.n.unexpected,
            u.n.timeout, u.n.retrans);
    fflush(st);
}

/* When the next start falls due: on the schedule, or with --tick at the first turn after. */
static double next_start(double t0)
{
    double due = t0 + (double)u.n.created / u.rate;

    return u.tick > 0 ? t0 + ceil((due - t0) / u.tick) * u.tick : due;
}

static void run(FILE *st)
{
    double t0 = now_mono(), stop = t0 + u.timeout, next_row = t0 + 1.0;
    struct pollfd pfd = {.fd = u.fd, .events = POLLIN};

    for (;;) {
        double now = now_mono(), wake, wait;
        struct timespec ts;

        if (now >= stop)
            break;
        while (u.n.created < u.calls && next_start(t0) <= now)
            start(now);
        if (u.n.created >= u.calls && !u.head)
            break;
        wake = timers(now);
        if (now >= next_row) {
            row(st);
            next_row += 1.0;
        }
        if (next_row < wake)
            wake = next_row;
        if (stop < wake)
            wake = stop;
        if (u.n.created < u.calls && next_start(t0) < wake)
            wake = next_start(t0);
        wait = wake - now_mono();
        if (wait < 0)
            wait = 0;
        ts.tv_sec = (time_t)wait;
        ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
        if (ppoll(&pfd, 1, &ts, NULL) > 0)
            read_all(now_mono());
    }
    while (u.head)
        fail(u.head, &u.n.timeout);
    row(st);
}

int main(int argc, char **argv)
{
    FILE *st;

    parse_args(argc, argv);
    read_users();
    open_socket();
    u.pid = (long)getpid();
    u.by_index = calloc(u.calls, sizeof(*u.by_index));
    if (!u.by_index)
        die(3, "out of memory for %lu registrations", u.calls);
    st = fopen(u.stf, "w");
    if (!st)
        die(3, "%s: %s", u.stf, strerror(errno));
    fputs("CurrentTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);"
          "FailedUnexpectedMessage(C);FailedMaxUDPRetrans(C);FailedTimeoutOnRecv(C);"
          "Retransmissions(C)\n",
          st);
    row(st);
    run(st);
    fclose(st);
    printf("bench_reg_uac: %lu registrations, %lu ok, %lu failed (%lu unexpected, %lu timed "
           "out), %lu retransmissions, Digest %s\n",
           u.n.created, u.n.ok, u.n.failed, u.n.unexpected, u.n.timeout, u.n.retrans, u.alg);
    return u.n.failed == 0 && u.n.ok == u.calls ? 0 : 1;
}
