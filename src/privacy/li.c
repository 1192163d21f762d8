/**
 * @file li.c  Lawful interception: the target set, the record format and the sink file.
 *
 * Targets are kept as normalised keys in one sorted array, so matching a message is a binary
 * search per identity it carries and the set is read-only (thread-safe) once built. A key is
 * "s" user "@" host for sip/sips, "t" number [";" phone-context] for telephone numbers.
 *
 * The sink appends one JSON line per record. The reasoning behind its write path is in
 * privacy_li.h (li_sink_write); in short: format outside any lock, append under a mutex (so a
 * short write can be completed or cut back before anyone else appends), sync outside it.
 * Nothing of a record ever reaches the log: alarms name the file and the error only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sipveil/privacy_li.h>

#define MOD "li"
#define KEY_MAX (LI_TARGET_MAX + 2) /* the tag letter and the '@' */
#define ALARM_INTERVAL_MS 1000u     /* at most one alarm line a second */
#define TAIL_CHUNK 4096             /* read size when looking for the last complete line */
#define FMT_STACK 4096              /* most records fit: no heap on the forwarding path */

/* ---------------------------------------------------------------------------------------- */
/* Keys                                                                                       */

struct key {
    char p[KEY_MAX];
    size_t l;
};

static bool key_put(struct key *k, const char *p, size_t l)
{
    if (l > KEY_MAX - k->l)
        return false;
    memcpy(k->p + k->l, p, l);
    k->l += l;
    return true;
}

static bool key_putc(struct key *k, char c)
{
    return key_put(k, &c, 1);
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_vsep(char c)
{
    return c == '-' || c == '.' || c == '(' || c == ')';
}

/*
 * The host part of a sip key: IP addresses in the one textual form inet_ntop gives (so that
 * ::1 and 0:0::1 are one host, RFC 5954 §4), names in lower case.
 */
static bool key_host(struct key *k, const struct sip_uri *u)
{
    char in[64], out[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    struct sv_slice h = u->host;

    if (u->host_type == SIP_HOST_IPV6 && h.l >= 2) {
        h = sv_slice_make(h.p + 1, h.l - 2);
        if (h.l < sizeof(in)) {
            memcpy(in, h.p, h.l);
            in[h.l] = '\0';
            if (inet_pton(AF_INET6, in, bin) == 1 && inet_ntop(AF_INET6, bin, out, sizeof(out)))
                return key_putc(k, '[') && key_put(k, out, strlen(out)) && key_putc(k, ']');
        }
    } else if (u->host_type == SIP_HOST_IPV4 && h.l < sizeof(in)) {
        memcpy(in, h.p, h.l);
        in[h.l] = '\0';
        if (inet_pton(AF_INET, in, bin) == 1 && inet_ntop(AF_INET, bin, out, sizeof(out)))
            return key_put(k, out, strlen(out));
    }
    for (size_t i = 0; i < h.l; i++) {
        if (!key_putc(k, lower(h.p[i])))
            return false;
    }
    return true;
}

/*
 * A telephone number key (RFC 3966 §4): "t", then the digits of @p num without visual
 * separators, then for a local number ";" and its phone-context (a domain in lower case, or a
 * global number's digits). @return 0; EBADMSG for a number that is not one; ENAMETOOLONG.
 */
static int key_tel(struct key *k, struct sv_slice num, struct sv_slice params)
{
    struct sv_slice ctx;
    bool global = num.l && num.p[0] == '+', digit = false;

    k->l = 0;
    key_putc(k, 't');
    for (size_t i = 0; i < num.l; i++) {
        char c = lower(num.p[i]);
        if (is_vsep(c) || (global && i == 0))
            ;
        else if ((c >= '0' && c <= '9') ||
                 (!global && ((c >= 'a' && c <= 'f') || c == '*' || c == '#')))
            digit = true;
        else
            return EBADMSG;
        if (!is_vsep(c) && !key_putc(k, c))
            return ENAMETOOLONG;
    }
    if (!digit)
        return EBADMSG;
    if (global)
        return 0;
    if (!sip_param_get(params, "phone-context", &ctx) || !ctx.p || !ctx.l)
        return EBADMSG; /* a local number means nothing without its context */
    if (!key_putc(k, ';'))
        return ENAMETOOLONG;
    for (size_t i = 0; i < ctx.l; i++) {
        char c = lower(ctx.p[i]);
        if (ctx.p[0] == '+' && is_vsep(c))
            continue;
        if (!key_putc(k, c))
            return ENAMETOOLONG;
    }
    return 0;
}

/*
 * The keys of one URI: @p ks[0] always, @p ks[1] too for a sip URI with user=phone (its
 * telephone number). @return the number of keys (0 when the URI names no identity we key).
 * *@p err says why not: EBADMSG (no identity: another scheme, no user part, a bad escape) or
 * ENAMETOOLONG.
 */
static unsigned uri_keys(const struct sip_uri *u, struct key ks[2], int *err)
{
    char user[LI_TARGET_MAX];
    size_t ul = 0;
    struct sv_slice up;
    int e;

    *err = EBADMSG;
    if (u->scheme == SIP_URI_TEL) {
        e = key_tel(&ks[0], u->user, u->params);
        *err = e;
        return e ? 0 : 1;
    }
    if ((u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS) || !u->user.l)
        return 0;
    e = sip_unescape(u->user, user, sizeof(user), &ul);
    if (e) {
        *err = e == ENOSPC ? ENAMETOOLONG : EBADMSG;
        return 0;
    }
    ks[0].l = 0;
    key_putc(&ks[0], 's');
    if (!key_put(&ks[0], user, ul) || !key_putc(&ks[0], '@') || !key_host(&ks[0], u)) {
        *err = ENAMETOOLONG;
        return 0;
    }
    *err = 0;

    struct sv_slice userp;
    if (!sip_param_get(u->params, "user", &userp) || !userp.p ||
        !sv_slice_caseeq_cstr(userp, "phone"))
        return 1;
    /* telephone-subscriber in the user part: the number, then its own ";" parameters */
    up = sv_slice_make(user, ul);
    const char *semi = sv_slice_chr(up, ';');
    struct sv_slice num = semi ? sv_slice_make(user, (size_t)(semi - user)) : up;
    struct sv_slice tpar = semi ? sv_slice_make(semi, ul - (size_t)(semi - user)) : SV_LIT("");
    return key_tel(&ks[1], num, tpar) == 0 ? 2 : 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Targets                                                                                    */

struct li_targets {
    struct sv_slice *keys; /* sorted, distinct; point into blob */
    size_t n;
    char *blob;
};

static int key_cmp(const void *a, const void *b)
{
    const struct sv_slice *x = a, *y = b;
    size_t l = x->l < y->l ? x->l : y->l;
    int c = memcmp(x->p, y->p, l);

    if (c)
        return c;
    return x->l < y->l ? -1 : x->l > y->l;
}

/* The keys of configured identity @p id. @return the number of keys, 0 with *@p err set. */
static unsigned id_keys(const char *id, struct key ks[2], int *err)
{
    struct sip_uri u;
    unsigned nk;

    *err = EINVAL;
    if (!id || sip_uri_decode(&u, sv_slice_cstr(id)))
        return 0;
    nk = uri_keys(&u, ks, err);
    if (!nk)
        *err = EINVAL;
    return nk;
}

/**
 * Build a target set; see privacy_li.h.
 * @param tp   out: the set, on success only.
 * @param ids  @p n identities as URI texts.
 * @param n    their number.
 * @param bad  out (may be NULL): the index of the identity refused, on EINVAL.
 * @return 0, EINVAL or ENOMEM.
 */
int li_targets_alloc(struct li_targets **tp, const char *const *ids, size_t n, size_t *bad)
{
    struct key ks[2];
    struct li_targets *t = NULL;
    size_t total = 0, nkeys = 0, off = 0;
    int err = 0;

    if (!tp || (n && !ids))
        return EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned nk = id_keys(ids[i], ks, &err);
        if (!nk) {
            if (bad)
                *bad = i;
            return EINVAL;
        }
        for (unsigned j = 0; j < nk; j++)
            total += ks[j].l;
        nkeys += nk;
    }
    t = sv_calloc(1, sizeof(*t));
    if (!t)
        return ENOMEM;
    if (nkeys) {
        t->keys = sv_calloc(nkeys, sizeof(*t->keys));
        t->blob = sv_malloc(total);
        if (!t->keys || !t->blob) {
            err = ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        unsigned nk = id_keys(ids[i], ks, &err);
        for (unsigned j = 0; j < nk; j++) {
            memcpy(t->blob + off, ks[j].p, ks[j].l);
            t->keys[t->n++] = sv_slice_make(t->blob + off, ks[j].l);
            off += ks[j].l;
        }
    }
    if (t->n)
        qsort(t->keys, t->n, sizeof(*t->keys), key_cmp);
    /* drop duplicates: an identity given twice, or a number given as tel and user=phone */
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (w == 0 || key_cmp(&t->keys[w - 1], &t->keys[i]) != 0)
            t->keys[w++] = t->keys[i];
    }
    t->n = w;
    err = 0;
    *tp = t;
    t = NULL;
out:
    li_targets_free(t);
    return err;
}

/** Free a target set (NULL is fine). */
void li_targets_free(struct li_targets *t)
{
    if (!t)
        return;
    sv_free(t->keys);
    sv_free(t->blob);
    sv_free(t);
}

/** @return the number of distinct identities of @p t; 0 for NULL. */
size_t li_targets_count(const struct li_targets *t)
{
    return t ? t->n : 0;
}

static bool has_key(const struct li_targets *t, const struct key *k)
{
    struct sv_slice s = sv_slice_make(k->p, k->l);

    return bsearch(&s, t->keys, t->n, sizeof(*t->keys), key_cmp) != NULL;
}

static bool has_uri(const struct li_targets *t, const struct sip_uri *u)
{
    struct key ks[2];
    int err;
    unsigned nk = uri_keys(u, ks, &err);

    for (unsigned i = 0; i < nk; i++) {
        if (has_key(t, &ks[i]))
            return true;
    }
    return false;
}

/**
 * Whether the URI text @p uri names a target.
 * @param t    the set.
 * @param uri  a URI, without angle brackets.
 * @return true when it does; false also for NULL, an empty set or an undecodable URI.
 */
bool li_targets_has(const struct li_targets *t, struct sv_slice uri)
{
    struct sip_uri u;

    if (!t || !t->n || !uri.p || sip_uri_decode(&u, uri))
        return false;
    return has_uri(t, &u);
}

/* Any element of any line of @p id (an address list) names a target. */
static bool list_has(const struct li_targets *t, const struct sip_msg *m, enum sip_hdr_id id)
{
    for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
        struct sv_slice cur = h->value;
        struct sip_addr a;
        while (sip_addr_next(&cur, &a) == 0) {
            if (has_uri(t, &a.uri))
                return true;
        }
    }
    return false;
}

static bool single_has(const struct li_targets *t, const struct sip_msg *m, enum sip_hdr_id id)
{
    const struct sip_hdr *h = sip_msg_hdr(m, id);
    struct sip_addr a;

    return h && sip_addr_decode(&a, h->value) == 0 && has_uri(t, &a.uri);
}

/**
 * Whether a message concerns a target; see privacy_li.h for the headers consulted.
 * @param t  the set.
 * @param m  a parsed request or response.
 * @return true when one of its identities is a target.
 */
bool li_targets_match(const struct li_targets *t, const struct sip_msg *m)
{
    if (!t || !m || !t->n)
        return false;
    if (m->req && has_uri(t, &m->ruri))
        return true;
    if ((m->from.uri.raw.p && has_uri(t, &m->from.uri)) ||
        (m->to.uri.raw.p && has_uri(t, &m->to.uri)))
        return true;
    return list_has(t, m, SIP_HDR_P_ASSERTED_IDENTITY) ||
           list_has(t, m, SIP_HDR_P_PREFERRED_IDENTITY) ||
           single_has(t, m, SIP_HDR_P_CALLED_PARTY_ID) || single_has(t, m, SIP_HDR_P_SERVED_USER);
}

/* ---------------------------------------------------------------------------------------- */
/* Formatting a record                                                                        */

/*
 * An output buffer over a caller's block that moves to the heap when the block is too small.
 * With @p fixed set it never moves: it counts what would have been written instead, for
 * li_record_format's ENOSPC.
 */
struct jbuf {
    char *p;
    size_t len, cap;
    bool heap, fixed;
    int err; /* ENOMEM once an append failed; later appends do nothing */
};

static void jb_put(struct jbuf *b, const char *s, size_t l)
{
    if (b->err)
        return;
    if (l > b->cap - b->len && !b->fixed) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < l)
            cap *= 2;
        char *np = b->heap ? sv_realloc(b->p, cap) : sv_malloc(cap);
        if (!np) {
            b->err = ENOMEM;
            return;
        }
        if (!b->heap)
            memcpy(np, b->p, b->len);
        b->p = np;
        b->cap = cap;
        b->heap = true;
    }
    if (b->len < b->cap)
        memcpy(b->p + b->len, s, l <= b->cap - b->len ? l : b->cap - b->len);
    b->len += l;
}

static void jb_lit(struct jbuf *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at @p p (RFC 3629 §4), or 0 if there is none. */
static size_t utf8_len(const unsigned char *p, size_t l)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t n;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (l < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return n;
}

/* A JSON string of any bytes; see privacy_li.h for the escaping. */
static void jb_str(struct jbuf *b, struct sv_slice s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, run = 0;

    jb_put(b, "\"", 1);
    while (i < s.l) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char u[7];
        size_t n;

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            run++;
            continue;
        }
        if (c >= 0x80 && (n = utf8_len(p + i, s.l - i)) != 0) {
            i += n;
            run += n;
            continue;
        }
        /* flush the plain run before this byte, then its escape */
        jb_put(b, (const char *)p + i - run, run);
        run = 0;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        }
        jb_lit(b, esc);
        i++;
    }
    jb_put(b, (const char *)p + i - run, run);
    jb_put(b, "\"", 1);
}

static void jb_str_or_null(struct jbuf *b, struct sv_slice s)
{
    if (s.p)
        jb_str(b, s);
    else
        jb_lit(b, "null");
}

/* "time": RFC 3339, UTC, milliseconds. */
static void jb_time(struct jbuf *b, uint64_t ms)
{
    char out[40];
    struct tm tm;
    time_t sec = (time_t)(ms / 1000);
    int n;

    if (!gmtime_r(&sec, &tm)) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_mday = 1;
        tm.tm_year = 70;
    }
    n = snprintf(out, sizeof(out), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (unsigned)(ms % 1000));
    jb_put(b, out, n > 0 ? (size_t)n : 0);
}

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "pai": every element of every line, as received; an undecodable rest as one element. */
static void jb_pai(struct jbuf *b, const struct sip_msg *m)
{
    bool first = true;

    jb_put(b, "[", 1);
    for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY); h;
         h = sip_msg_hdr_next(m, h)) {
        struct sv_slice cur = h->value;
        struct sip_addr a;
        int e;
        while ((e = sip_addr_next(&cur, &a)) != ENOENT) {
            struct sv_slice el = a.raw;
            if (e) {
                /* LI wants what was there, decodable or not */
                el = cur;
                while (el.l && (el.p[0] == ',' || el.p[0] == ' ' || el.p[0] == '\t')) {
                    el.p++;
                    el.l--;
                }
                el = sv_slice_trim(el);
                if (!el.l)
                    break;
            }
            if (!first)
                jb_put(b, ",", 1);
            jb_str(b, el);
            first = false;
            if (e)
                break;
        }
    }
    jb_put(b, "]", 1);
}

static void jb_performed(struct jbuf *b, unsigned bits)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {SIP_PRIV_ID, "id"},
        {SIP_PRIV_USER, "user"},
        {SIP_PRIV_HEADER, "header"},
        {SIP_PRIV_SESSION, "session"},
        {SIP_PRIV_CRITICAL, "critical"},
        {SIP_PRIV_HISTORY, "history"},
        {SIP_PRIV_NONE, "none"},
    };
    bool first = true;

    jb_put(b, "[", 1);
    for (size_t i = 0; i < SV_ARRAY_SIZE(names); i++) {
        if (!(bits & names[i].bit))
            continue;
        if (!first)
            jb_put(b, ",", 1);
        jb_put(b, "\"", 1);
        jb_lit(b, names[i].name);
        jb_put(b, "\"", 1);
        first = false;
    }
    jb_put(b, "]", 1);
}

static void record_build(struct jbuf *b, const struct li_record *r)
{
    const struct sip_msg *m = r->msg;
    const struct sip_hdr *from = sip_msg_hdr(m, SIP_HDR_FROM);
    char num[16];

    jb_lit(b, "{\"v\":1,\"time\":");
    jb_time(b, r->time_ms ? r->time_ms : wall_ms());
    jb_lit(b, ",\"node\":");
    jb_str(b, sv_slice_cstr(r->node ? r->node : ""));
    if (m->req) {
        jb_lit(b, ",\"kind\":\"request\",\"method\":");
        jb_str(b, m->method);
    } else {
        snprintf(num, sizeof(num), "%u", (unsigned)m->scode);
        jb_lit(b, ",\"kind\":\"response\",\"status\":");
        jb_lit(b, num);
        jb_lit(b, ",\"method\":");
        jb_str(b, m->cseq.method.p ? m->cseq.method : SV_LIT(""));
    }
    jb_lit(b, ",\"call_id\":");
    jb_str_or_null(b, m->callid);
    jb_lit(b, ",\"pai\":");
    jb_pai(b, m);
    jb_lit(b, ",\"from\":");
    jb_str_or_null(b, from ? from->value : (struct sv_slice){NULL, 0});
    if (m->req) {
        jb_lit(b, ",\"ruri\":");
        jb_str(b, m->ruri_s.p ? m->ruri_s : SV_LIT(""));
    }
    jb_lit(b, ",\"source\":");
    jb_str_or_null(b, r->source ? sv_slice_cstr(r->source) : (struct sv_slice){NULL, 0});
    jb_lit(b, ",\"performed\":");
    jb_performed(b, r->performed);
    jb_lit(b, "}\n");
}

/**
 * Format one record as li_sink_write() writes it.
 * @param r    the record.
 * @param buf  output, @p sz octets; NUL-terminated when there is room.
 * @param sz   its size.
 * @param n    out: the record's length, "\n" included, NUL not.
 * @return 0, ENOSPC (*@p n is the length needed) or EINVAL.
 */
int li_record_format(const struct li_record *r, char *buf, size_t sz, size_t *n)
{
    struct jbuf b = {.p = buf, .cap = buf ? sz : 0, .fixed = true};

    if (!r || !r->msg || !n)
        return EINVAL;
    record_build(&b, r);
    *n = b.len;
    if (b.len >= b.cap) {
        if (b.len == b.cap && b.cap)
            return 0; /* fits exactly, without the NUL */
        return ENOSPC;
    }
    buf[b.len] = '\0';
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The sink                                                                                   */

struct li_sink {
    int fd;
    char *path;
    pthread_mutex_t mu;
    bool torn;         /* under mu: a failed append could not be cut back; good_end holds */
    off_t good_end;    /* under mu, when torn: the length of the file's complete records */
    uint64_t alarm_ms; /* atomic: when the last alarm was logged (monotonic ms) */
};

/* Whether an alarm may be logged now: one a second at most, whichever thread asks. */
static bool alarm_due(struct li_sink *s)
{
    uint64_t now = sv_now_ms(), last = __atomic_load_n(&s->alarm_ms, __ATOMIC_RELAXED);

    if (last && now - last < ALARM_INTERVAL_MS)
        return false;
    return __atomic_compare_exchange_n(&s->alarm_ms, &last, now ? now : 1, false, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED);
}

/* Sync the directory holding @p path, so that a file just created survives a crash. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd, err = 0;

    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return ENOMEM;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        err = errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    return err;
}

/*
 * Cut an incomplete last line (a writer killed mid-record, or a crash before the data reached
 * the disk) back to the end of the last complete record. @return 0 or errno.
 */
static int repair_tail(int fd, const char *path, off_t size)
{
    char buf[TAIL_CHUNK];
    off_t end = size, cut = 0;
    ssize_t r;

    if (size == 0)
        return 0;
    r = pread(fd, buf, 1, size - 1);
    if (r < 0)
        return errno;
    if (r == 1 && buf[0] == '\n')
        return 0;
    while (end > 0) {
        off_t start = end > TAIL_CHUNK ? end - TAIL_CHUNK : 0;
        r = pread(fd, buf, (size_t)(end - start), start);
        if (r < 0)
            return errno;
        if (r != end - start)
            return EIO; /* the file shrank under us: someone else writes it */
        const char *nl = memrchr(buf, '\n', (size_t)r);
        if (nl) {
            cut = start + (nl - buf) + 1;
            break;
        }
        end = start;
    }
    if (ftruncate(fd, cut) != 0 || fdatasync(fd) != 0)
        return errno;
    sv_log(SV_LOG_WARN, MOD,
           "LI sink %s: cut %" PRIdMAX " octets of an incomplete record at its end", path,
           (intmax_t)(size - cut));
    return 0;
}

/**
 * Open or create a sink file; see privacy_li.h for what is refused and why.
 * @param sp    out: the sink, on success only.
 * @param path  the file.
 * @return 0 or errno.
 */
int li_sink_open(struct li_sink **sp, const char *path)
{
    struct li_sink *s = NULL;
    struct stat st;
    bool created = true;
    int fd, err = 0;

    if (!sp || !path || !*path)
        return EINVAL;
    /* O_NONBLOCK: a FIFO must be refused below, not block the open */
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
              0600);
    if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    }
    if (fd < 0) {
        err = errno;
        sv_log(SV_LOG_ERR, MOD, "LI sink %s: cannot open: %s", path, strerror(err));
        return err;
    }
    if (fstat(fd, &st) != 0) {
        err = errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = EINVAL;
        sv_log(SV_LOG_ERR, MOD, "LI sink %s: not a regular file; refused", path);
        goto out;
    }
    if (st.st_uid != geteuid() || (!created && (st.st_mode & 077))) {
        err = EPERM;
        sv_log(SV_LOG_ERR, MOD,
               "LI sink %s: mode %04o, owner %u: refused, it must be mode 0600 and owned by uid %u",
               path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    if (created) {
        /* the umask may have taken the owner's bits too; and the new name must be durable */
        if (fchmod(fd, 0600) != 0 || fsync(fd) != 0 || (err = sync_dir(path)) != 0) {
            err = err ? err : errno;
            goto out;
        }
    } else if ((err = repair_tail(fd, path, st.st_size)) != 0) {
        sv_log(SV_LOG_ERR, MOD, "LI sink %s: cannot repair an incomplete last record: %s", path,
               strerror(err));
        goto out;
    }
    s = sv_calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(path))) {
        err = ENOMEM;
        goto out;
    }
    if ((err = pthread_mutex_init(&s->mu, NULL)) != 0)
        goto out;
    s->fd = fd;
    *sp = s;
    return 0;
out:
    if (err && err != EPERM && err != EINVAL && err != ENOMEM)
        sv_log(SV_LOG_ERR, MOD, "LI sink %s: cannot open: %s", path, strerror(err));
    if (s)
        free(s->path);
    sv_free(s);
    close(fd);
    return err;
}

/*
 * Append @p len octets as one record, under the mutex. A short write is continued; a failed
 * one is cut back so that no partial line stays. @return 0 or errno.
 */
static int append_locked(struct li_sink *s, const char *p, size_t len)
{
    struct stat st;
    size_t done = 0;
    int err = 0;

    if (s->torn) {
        if (ftruncate(s->fd, s->good_end) != 0)
            return errno;
        s->torn = false;
    }
    if (fstat(s->fd, &st) != 0)
        return errno;
    while (done < len) {
        ssize_t w = write(s->fd, p + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        if (w == 0) {
            err = EIO;
            break;
        }
        done += (size_t)w;
    }
    if (err && done && ftruncate(s->fd, st.st_size) != 0) {
        /* the partial line stays for now; cut it before the next record goes on */
        s->torn = true;
        s->good_end = st.st_size;
    }
    return err;
}

/**
 * Append one record and sync it; see privacy_li.h for the guarantees.
 * @param s  the sink.
 * @param r  the record; r->msg the message before privacy edits.
 * @return 0 (forward the message) or errno (answer 500).
 */
int li_sink_write(struct li_sink *s, const struct li_record *r)
{
    char stackbuf[FMT_STACK];
    struct jbuf b = {.p = stackbuf, .cap = sizeof(stackbuf)};
    const char *what = "append";
    int err;

    if (!s || !r || !r->msg)
        return EINVAL;
    record_build(&b, r);
    if ((err = b.err) != 0) {
        what = "format";
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    err = append_locked(s, b.p, b.len);
    pthread_mutex_unlock(&s->mu);
    /* fdatasync flushes every append before it too, so threads need not sync under the lock */
    if (!err && fdatasync(s->fd) != 0) {
        err = errno;
        what = "sync";
    }
out:
    if (err && alarm_due(s))
        sv_log(SV_LOG_ERR, MOD, "ALARM: LI sink %s: %s failed: %s; the message is not forwarded",
               s->path, what, strerror(err));
    if (b.heap)
        sv_free(b.p);
    return err;
}

/** @return the path @p s was opened with. */
const char *li_sink_path(const struct li_sink *s)
{
    return s ? s->path : NULL;
}

/** Close @p s (NULL is fine). */
void li_sink_close(struct li_sink *s)
{
    if (!s)
        return;
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    sv_free(s);
}
