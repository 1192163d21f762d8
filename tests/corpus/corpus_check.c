/**
 * @file corpus_check.c  Corpus driver: runs one check on one message file, for ctest.
 *
 * Usage: corpus_check <mode> <file> [args] [--lf-to-crlf]
 *
 *   expect <file> <expectation>     parse as a datagram, run the proxy checks, compare
 *   expect-stream <file> <token>    parse as a stream: parse, enodata or malformed
 *   roundtrip <file>                serialize without edits (and with identity edits): same bytes;
 *                                   sip_msg_copy equals a fresh parse of the copied bytes
 *   truncate <file>                 every prefix on a guard page: ENODATA (stream), EBADMSG (dgram)
 *   field <file> <what> <value>     one decoded field against a value (see field_get)
 *
 * An expectation is one token or several joined by '|' (any may match):
 *   parse           sip_msg_parse succeeds and sip_msg_check passes
 *   malformed       sip_msg_parse refuses the message (EBADMSG or EMSGSIZE)
 *   malformed:NNN   the same, and struct sip_perr carries status NNN
 *   status:NNN      the message parses and sip_msg_check answers NNN
 *
 * --lf-to-crlf turns a file written with bare LF line ends (the RFC 5118 archive) into wire
 * form before anything else: every LF becomes CRLF, a missing empty line after the headers is
 * added, and Content-Length is recounted to the real body length (tests/data/README.md).
 *
 * Every mode prints one line saying what happened and exits 0 only when it matched, so a failing
 * ctest entry shows the parser's reason in its output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sipveil/sip.h>

static const char *const supported_tags[] = {"privacy", NULL};

/* ---------------------------------------------------------------------------------------- */
/* Input                                                                                      */

struct input {
    char *p;
    size_t l;
};

static int read_file(const char *path, struct input *in)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *p;

    if (!f) {
        perror(path);
        return errno ? errno : EIO;
    }
    p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *q = realloc(p, cap * 2);
        if (!q)
            free(p);
        p = q;
        cap *= 2;
    }
    fclose(f);
    if (!p)
        return ENOMEM;
    in->p = p;
    in->l = n;
    return 0;
}

static bool name_is_clen(const char *a, size_t n)
{
    while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
        n--;
    if (n == 1)
        return a[0] == 'l' || a[0] == 'L';
    return n == 14 && strncasecmp(a, "content-length", 14) == 0;
}

/*
 * Wire form of an RFC 5118 archive file. The archive stores bare LF line ends, two files lack
 * the empty line that closes the headers, and two Content-Length values do not match their
 * bodies; a conforming sender would have sent CRLF, the empty line and the right length.
 */
static int lf_to_crlf(struct input *in)
{
    size_t nlf = 0;
    for (size_t i = 0; i < in->l; i++)
        if (in->p[i] == '\n' && (i == 0 || in->p[i - 1] != '\r'))
            nlf++;
    /* room for the CRs, a closing CRLF CRLF, and a longer Content-Length value */
    size_t cap = in->l + nlf + 4 + 32;
    char *o = malloc(cap);
    size_t n = 0;
    if (!o)
        return ENOMEM;
    for (size_t i = 0; i < in->l; i++) {
        if (in->p[i] == '\n' && (i == 0 || in->p[i - 1] != '\r'))
            o[n++] = '\r';
        o[n++] = in->p[i];
    }

    /* close the header section */
    char *hend = memmem(o, n, "\r\n\r\n", 4);
    if (!hend) {
        if (n >= 2 && o[n - 2] == '\r' && o[n - 1] == '\n') {
            o[n++] = '\r';
            o[n++] = '\n';
        } else {
            memcpy(o + n, "\r\n\r\n", 4);
            n += 4;
        }
        hend = o + n - 4;
    }
    size_t body_off = (size_t)(hend - o) + 4;
    size_t body_len = n - body_off;

    /* recount Content-Length: rewrite the value of the first Content-Length (or l) line */
    char *line = memmem(o, n, "\r\n", 2);
    while (line && line < hend) {
        char *ls = line + 2;
        char *le = memmem(ls, (size_t)(o + n - ls), "\r\n", 2);
        char *colon = memchr(ls, ':', (size_t)(le - ls));
        if (colon && name_is_clen(ls, (size_t)(colon - ls))) {
            char num[24];
            int k = snprintf(num, sizeof(num), " %zu", body_len);
            size_t old = (size_t)(le - (colon + 1));
            size_t tail = (size_t)(o + n - le);
            memmove(colon + 1 + k, le, tail);
            memcpy(colon + 1, num, (size_t)k);
            n = n - old + (size_t)k;
            break;
        }
        line = le;
    }
    free(in->p);
    in->p = o;
    in->l = n;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                    */

static const char *errname(int err)
{
    switch (err) {
    case 0:
        return "0";
    case ENODATA:
        return "ENODATA";
    case EBADMSG:
        return "EBADMSG";
    case EMSGSIZE:
        return "EMSGSIZE";
    case ENOMEM:
        return "ENOMEM";
    case ENOENT:
        return "ENOENT";
    case ENOSPC:
        return "ENOSPC";
    case EPROTO:
        return "EPROTO";
    default:
        return "E?";
    }
}

/* Print a slice with non-printable octets escaped, so a NUL or CR in a value stays visible. */
static void put_slice(FILE *f, struct sv_slice s)
{
    if (!s.p) {
        fputs("(unset)", f);
        return;
    }
    for (size_t i = 0; i < s.l; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
}

struct ctx {
    struct sv_arena arena;
    char block[8192];
};

static int parse(struct ctx *cx, const char *buf, size_t len, enum sip_transport_kind mode,
                 struct sip_msg **msg, struct sip_perr *perr)
{
    memset(perr, 0, sizeof(*perr));
    *msg = NULL;
    sv_arena_reset(&cx->arena);
    return sip_msg_parse(msg, &cx->arena, buf, len, mode, &sip_limits_default, perr);
}

static void describe_perr(int err, const struct sip_perr *perr)
{
    printf("malformed err=%s status=%u off=%zu reason=\"%s\"", errname(err), perr->status,
           perr->off, perr->reason ? perr->reason : "(none)");
}

/* ---------------------------------------------------------------------------------------- */
/* expect                                                                                     */

struct outcome {
    int err;              /* sip_msg_parse */
    struct sip_perr perr; /* when err != 0 */
    int cerr;             /* sip_msg_check */
    struct sip_status st;
};

static bool token_matches(const char *tok, size_t tl, const struct outcome *o)
{
    char t[64];
    unsigned code = 0;

    if (tl >= sizeof(t))
        return false;
    memcpy(t, tok, tl);
    t[tl] = 0;
    if (strcmp(t, "parse") == 0)
        return o->err == 0 && o->cerr == 0 && o->st.code == 0;
    if (strcmp(t, "malformed") == 0)
        return o->err == EBADMSG || o->err == EMSGSIZE;
    if (sscanf(t, "malformed:%u", &code) == 1)
        return (o->err == EBADMSG || o->err == EMSGSIZE) && o->perr.status == code;
    if (sscanf(t, "status:%u", &code) == 1) {
        /* "status:420=tag": the first unsupported option tag must be tag, too */
        const char *eq = strchr(t, '=');
        if (eq && !sv_slice_eq(o->st.unsupported, sv_slice_cstr(eq + 1)))
            return false;
        return o->err == 0 && o->cerr == EPROTO && o->st.code == code;
    }
    fprintf(stderr, "unknown expectation token '%s'\n", t);
    return false;
}

static bool expectation_matches(const char *exp, const struct outcome *o)
{
    const char *p = exp;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t tl = bar ? (size_t)(bar - p) : strlen(p);
        if (token_matches(p, tl, o))
            return true;
        if (!bar)
            return false;
        p = bar + 1;
    }
}

static int cmd_expect(struct ctx *cx, const struct input *in, const char *exp)
{
    struct outcome o;
    struct sip_msg *msg;
    struct sip_check_opts opts = {SIP_CHECK_PROXY, supported_tags};

    memset(&o, 0, sizeof(o));
    o.err = parse(cx, in->p, in->l, SIP_DGRAM, &msg, &o.perr);
    if (o.err == 0) {
        o.cerr = sip_msg_check(msg, &opts, &o.st);
        if (o.cerr == 0 && o.st.code == 0) {
            printf("parse (%s, %u header lines, body %zu octets)",
                   msg->req ? "request" : "response", msg->hdrc, msg->body.l);
        } else {
            printf("status:%u cerr=%s reason=\"%s\"", o.st.code, errname(o.cerr),
                   o.st.reason ? o.st.reason : "(none)");
            if (o.st.unsupported.p) {
                printf(" unsupported=");
                put_slice(stdout, o.st.unsupported);
            }
        }
    } else {
        describe_perr(o.err, &o.perr);
        /* a request refused after the scan comes back partly decoded, for the 400 */
        if (o.err == EBADMSG && msg && msg->req) {
            static char resp[8192];
            size_t n = 0;
            int rc = sip_resp_build(msg, o.perr.status, "Bad Request", SV_LIT("corpus"), SV_LIT(""),
                                    resp, sizeof(resp), &n);
            if (rc == 0)
                printf(" (kept for the answer: %u response built, %zu octets)", o.perr.status, n);
            else
                printf(" (kept, but no response can be built: %s)", errname(rc));
        }
    }
    bool ok = expectation_matches(exp, &o);
    printf(" | expected %s: %s\n", exp, ok ? "ok" : "MISMATCH");
    return ok ? 0 : 1;
}

static int cmd_expect_stream(struct ctx *cx, const struct input *in, const char *exp)
{
    struct sip_msg *msg;
    struct sip_perr perr;
    int err = parse(cx, in->p, in->l, SIP_STREAM, &msg, &perr);
    bool ok;

    if (err == 0)
        printf("parse (stream, %zu octets consumed)", msg->raw.l);
    else if (err == ENODATA)
        printf("enodata (stream wants more)");
    else
        describe_perr(err, &perr);
    if (strcmp(exp, "parse") == 0)
        ok = err == 0;
    else if (strcmp(exp, "enodata") == 0)
        ok = err == ENODATA;
    else if (strcmp(exp, "malformed") == 0)
        ok = err == EBADMSG || err == EMSGSIZE;
    else
        ok = false;
    printf(" | expected %s: %s\n", exp, ok ? "ok" : "MISMATCH");
    return ok ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------- */
/* roundtrip                                                                                  */

/* Serialize with @p ed and compare with the received bytes. */
static int print_same(const struct sip_msg *msg, const struct sip_edits *ed, const char *what)
{
    size_t n = 0, need = 0;
    int err = sip_msg_print(msg, ed, NULL, 0, &need);

    if (msg->raw.l > 0 && err != ENOSPC) {
        printf("%s: print into a 0-octet buffer returned %s, not ENOSPC\n", what, errname(err));
        return 1;
    }
    if (need != msg->raw.l) {
        printf("%s: print says it needs %zu octets, message has %zu\n", what, need, msg->raw.l);
        return 1;
    }
    char *buf = malloc(need + 1);
    if (!buf)
        return 1;
    if (need > 0) {
        err = sip_msg_print(msg, ed, buf, need - 1, &n);
        if (err != ENOSPC) {
            printf("%s: print one octet short returned %s, not ENOSPC\n", what, errname(err));
            free(buf);
            return 1;
        }
    }
    err = sip_msg_print(msg, ed, buf, need, &n);
    if (err || n != msg->raw.l || memcmp(buf, msg->raw.p, n) != 0) {
        size_t i = 0;
        while (i < n && i < msg->raw.l && buf[i] == msg->raw.p[i])
            i++;
        printf("%s: print returned %s, %zu octets; first difference at offset %zu of %zu\n", what,
               errname(err), n, i, msg->raw.l);
        free(buf);
        return 1;
    }
    free(buf);
    return 0;
}

/* ---- sip_msg_copy against a fresh parse ---- */

struct same {
    const char *mname;
    int bad;
};

static void same_slice(struct same *sm, const char *field, struct sv_slice a, struct sv_slice b)
{
    if (a.p != b.p || a.l != b.l) {
        printf("%s: sip_msg_copy: %s differs from a fresh parse\n", sm->mname, field);
        sm->bad = 1;
    }
}

static void same_uri(struct same *sm, const char *f, const struct sip_uri *a,
                     const struct sip_uri *b)
{
    same_slice(sm, f, a->raw, b->raw);
    same_slice(sm, f, a->scheme_s, b->scheme_s);
    same_slice(sm, f, a->user, b->user);
    same_slice(sm, f, a->password, b->password);
    same_slice(sm, f, a->host, b->host);
    same_slice(sm, f, a->params, b->params);
    same_slice(sm, f, a->headers, b->headers);
    if (a->scheme != b->scheme || a->host_type != b->host_type || a->port != b->port ||
        a->has_port != b->has_port)
        same_slice(sm, f, SV_LIT("scalars"), SV_LIT("differ"));
}

static void same_addr(struct same *sm, const char *f, const struct sip_addr *a,
                      const struct sip_addr *b)
{
    same_slice(sm, f, a->raw, b->raw);
    same_slice(sm, f, a->dname, b->dname);
    same_slice(sm, f, a->uri_s, b->uri_s);
    same_uri(sm, f, &a->uri, &b->uri);
    same_slice(sm, f, a->params, b->params);
    same_slice(sm, f, a->tag, b->tag);
    if (a->dname_quoted != b->dname_quoted || a->angle != b->angle)
        same_slice(sm, f, SV_LIT("flags"), SV_LIT("differ"));
}

static void same_via(struct same *sm, const struct sip_via *a, const struct sip_via *b)
{
    same_slice(sm, "via", a->raw, b->raw);
    same_slice(sm, "via", a->proto, b->proto);
    same_slice(sm, "via", a->version, b->version);
    same_slice(sm, "via", a->transport, b->transport);
    same_slice(sm, "via", a->host, b->host);
    same_slice(sm, "via", a->params, b->params);
    same_slice(sm, "via", a->branch, b->branch);
    same_slice(sm, "via", a->received, b->received);
    same_slice(sm, "via", a->maddr, b->maddr);
    if (a->host_type != b->host_type || a->port != b->port || a->has_port != b->has_port ||
        a->rport != b->rport || a->rport_val != b->rport_val || a->ttl != b->ttl)
        same_slice(sm, "via", SV_LIT("scalars"), SV_LIT("differ"));
}

/*
 * sip_msg_copy of @p msg for a second copy of its bytes must equal a fresh parse of that copy:
 * every slice at the same place, every scalar and the header index the same. A slice field
 * that sip_msg_copy forgot would still point into the first copy and differ here.
 */
static int copy_same(const struct sip_msg *msg, enum sip_transport_kind mode, const char *mname)
{
    struct same sm = {mname, 0};
    struct ctx cx2; /* the fresh parse must not reset the arena that holds @p msg */
    struct sip_msg *fresh, copy;
    struct sip_perr perr;
    char *bytes = malloc(msg->raw.l + 1);
    struct sip_hdr *hv = malloc((msg->hdrc + 1) * sizeof(*hv));

    if (!bytes || !hv) {
        free(bytes);
        free(hv);
        return 1;
    }
    memcpy(bytes, msg->raw.p, msg->raw.l);
    sip_msg_copy(&copy, hv, msg, bytes);
    sv_arena_init(&cx2.arena, cx2.block, sizeof(cx2.block));
    if (parse(&cx2, bytes, msg->raw.l, mode, &fresh, &perr)) {
        printf("%s: the copied bytes do not parse\n", mname);
        sm.bad = 1;
    } else {
        same_slice(&sm, "raw", copy.raw, fresh->raw);
        same_slice(&sm, "start", copy.start, fresh->start);
        same_slice(&sm, "method", copy.method, fresh->method);
        same_slice(&sm, "ruri_s", copy.ruri_s, fresh->ruri_s);
        same_uri(&sm, "ruri", &copy.ruri, &fresh->ruri);
        same_slice(&sm, "reason", copy.reason, fresh->reason);
        same_slice(&sm, "version", copy.version, fresh->version);
        same_slice(&sm, "body", copy.body, fresh->body);
        same_via(&sm, &copy.via, &fresh->via);
        same_addr(&sm, "from", &copy.from, &fresh->from);
        same_addr(&sm, "to", &copy.to, &fresh->to);
        same_slice(&sm, "cseq", copy.cseq.method, fresh->cseq.method);
        same_slice(&sm, "callid", copy.callid, fresh->callid);
        for (unsigned i = 0; i < copy.hdrc && i < fresh->hdrc; i++) {
            same_slice(&sm, "header name", hv[i].name, fresh->hdrv[i].name);
            same_slice(&sm, "header value", hv[i].value, fresh->hdrv[i].value);
            if (memcmp(&hv[i].off, &fresh->hdrv[i].off,
                       sizeof(*hv) - offsetof(struct sip_hdr, off)) != 0)
                same_slice(&sm, "header index", SV_LIT("entries"), SV_LIT("differ"));
        }
        if (copy.arena || copy.req != fresh->req || copy.mid != fresh->mid ||
            copy.scode != fresh->scode || copy.hdrc != fresh->hdrc ||
            memcmp(copy.first, fresh->first, sizeof(copy.first)) ||
            memcmp(copy.count, fresh->count, sizeof(copy.count)) ||
            copy.hdr_end != fresh->hdr_end || copy.cseq.num != fresh->cseq.num ||
            copy.cseq.mid != fresh->cseq.mid || copy.max_forwards != fresh->max_forwards ||
            copy.has_max_forwards != fresh->has_max_forwards || copy.clen != fresh->clen ||
            copy.has_clen != fresh->has_clen)
            same_slice(&sm, "scalars", SV_LIT("scalars"), SV_LIT("differ"));
    }
    sv_arena_close(&cx2.arena);
    free(bytes);
    free(hv);
    return sm.bad;
}

static int roundtrip_mode(struct ctx *cx, const struct input *in, enum sip_transport_kind mode)
{
    const char *mname = mode == SIP_DGRAM ? "dgram" : "stream";
    struct sip_msg *msg;
    struct sip_perr perr;
    struct sip_edits ed;
    int err = parse(cx, in->p, in->l, mode, &msg, &perr);

    if (err) {
        printf("%s: ", mname);
        describe_perr(err, &perr);
        printf("\n");
        return 1;
    }
    if (msg->raw.p != in->p) {
        printf("%s: msg->raw does not start at the input\n", mname);
        return 1;
    }
    if (print_same(msg, NULL, mname) || copy_same(msg, mode, mname))
        return 1;

    /*
     * Identity edits: replace the start line and every header value by the very same bytes.
     * The output must still be the input, octet for octet, which checks that the serializer
     * splices edits at exactly the recorded offsets.
     */
    sip_edits_init(&ed, msg, &cx->arena);
    err = sip_edit_range(&ed, msg->start, msg->start);
    for (unsigned i = 0; i < msg->hdrc && !err; i++)
        err = sip_edit_range(&ed, msg->hdrv[i].value, msg->hdrv[i].value);
    if (err) {
        printf("%s: sip_edit_range returned %s\n", mname, errname(err));
        return 1;
    }
    char what[64];
    snprintf(what, sizeof(what), "%s, %u identity edits", mname, ed.n);
    return print_same(msg, &ed, what);
}

static int cmd_roundtrip(struct ctx *cx, const struct input *in)
{
    struct sip_msg *msg;
    struct sip_perr perr;
    int rc = roundtrip_mode(cx, in, SIP_DGRAM);

    /* A message without Content-Length has no stream form; everything else must have one. */
    int err = parse(cx, in->p, in->l, SIP_DGRAM, &msg, &perr);
    if (err == 0 && msg->has_clen)
        rc |= roundtrip_mode(cx, in, SIP_STREAM);
    if (rc == 0)
        printf("roundtrip ok (%zu octets)\n", in->l);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* truncate                                                                                   */

/*
 * A data area between two PROT_NONE pages. A prefix placed to end at the upper guard makes any
 * read past its end fault; one placed to start at the lower guard catches reads before it.
 */
struct guard {
    char *map;
    size_t maplen;
    char *lo, *hi; /* the accessible area [lo, hi) */
};

static int guard_init(struct guard *g, size_t cap)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (cap + pg - 1) / pg * pg;

    memset(g, 0, sizeof(*g));
    if (data == 0)
        data = pg;
    g->maplen = data + 2 * pg;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED)
        return errno;
    g->lo = g->map + pg;
    g->hi = g->lo + data;
    if (mprotect(g->map, pg, PROT_NONE) || mprotect(g->hi, pg, PROT_NONE))
        return errno;
    return 0;
}

static void guard_close(struct guard *g)
{
    munmap(g->map, g->maplen);
}

/* Parse with sip_frame and with sip_msg_parse; both must give @p want. */
static int check_prefix(struct ctx *cx, const char *p, size_t len, enum sip_transport_kind mode,
                        int want, size_t want_len, const char *where)
{
    struct sip_perr perr;
    struct sip_msg *msg;
    size_t ml = 0;
    const char *mname = mode == SIP_DGRAM ? "dgram" : "stream";

    memset(&perr, 0, sizeof(perr));
    int ferr = sip_frame(p, len, mode, &sip_limits_default, &ml, &perr);
    int perr_rc = parse(cx, p, len, mode, &msg, &perr);
    if (ferr != want || perr_rc != want) {
        printf("prefix %zu (%s, %s): sip_frame %s, sip_msg_parse %s, want %s", len, mname, where,
               errname(ferr), errname(perr_rc), errname(want));
        if (perr_rc == EBADMSG || perr_rc == EMSGSIZE)
            printf(" (reason \"%s\", off %zu)", perr.reason ? perr.reason : "(none)", perr.off);
        printf("\n");
        return 1;
    }
    if (want == 0 && (ml != want_len || msg->raw.l != want_len)) {
        printf("prefix %zu (%s, %s): framed %zu / parsed %zu octets, want %zu\n", len, mname, where,
               ml, msg->raw.l, want_len);
        return 1;
    }
    if (want == 0) {
        /* the complete message sits against the guard: the later passes must not overread */
        struct sip_check_opts opts = {SIP_CHECK_PROXY, supported_tags};
        struct sip_status st;
        size_t n;
        char *buf = malloc(want_len + 1);
        (void)sip_msg_check(msg, &opts, &st);
        if (!buf || sip_msg_print(msg, NULL, buf, want_len + 1, &n) || n != want_len ||
            memcmp(buf, p, n) != 0) {
            printf("prefix %zu (%s, %s): print of the guarded message differs\n", len, mname,
                   where);
            free(buf);
            return 1;
        }
        free(buf);
    }
    return 0;
}

static int cmd_truncate(struct ctx *cx, const struct input *in)
{
    struct sip_msg *msg;
    struct sip_perr perr;
    struct guard g;
    size_t dlen, slen = 0, body_off;
    bool has_clen;
    int serr, rc = 0;

    int err = parse(cx, in->p, in->l, SIP_DGRAM, &msg, &perr);
    if (err) {
        describe_perr(err, &perr);
        printf(" | truncate needs a message that parses\n");
        return 1;
    }
    dlen = msg->raw.l;
    has_clen = msg->has_clen;
    body_off = (size_t)(msg->body.p - msg->raw.p);

    serr = parse(cx, in->p, in->l, SIP_STREAM, &msg, &perr);
    if (serr == 0)
        slen = msg->raw.l;
    else if (has_clen) {
        printf("stream: ");
        describe_perr(serr, &perr);
        printf(" | the message has Content-Length, the stream parse must succeed\n");
        return 1;
    }

    if ((err = guard_init(&g, dlen > slen ? dlen : slen)) != 0) {
        printf("guard pages: %s\n", strerror(err));
        return 1;
    }
    for (int place = 0; place < 2 && rc == 0; place++) {
        const char *where = place == 0 ? "end on guard" : "start on guard";
        /* datagram: every proper prefix is an incomplete message */
        for (size_t len = 0; len <= dlen && rc == 0; len++) {
            char *p = place == 0 ? g.hi - len : g.lo;
            memcpy(p, in->p, len);
            int want = EBADMSG;
            size_t want_len = 0;
            /* Without Content-Length a datagram's body is the rest of the datagram: any cut
             * after the empty line is a complete, shorter message. */
            if (len == dlen || (!has_clen && len >= body_off)) {
                want = 0;
                want_len = len;
            }
            rc = check_prefix(cx, p, len, SIP_DGRAM, want, want_len, where);
        }
        /* stream: every proper prefix needs more data, the whole message parses */
        for (size_t len = 0; len <= slen && serr == 0 && rc == 0; len++) {
            char *p = place == 0 ? g.hi - len : g.lo;
            memcpy(p, in->p, len);
            rc = check_prefix(cx, p, len, SIP_STREAM, len == slen ? 0 : ENODATA, slen, where);
        }
        /* stream without Content-Length: the parser refused the whole message (RFC 3261
         * §18.3 makes Content-Length mandatory on streams); cuts before the header end must
         * still ask for more */
        for (size_t len = 0; len < body_off && serr != 0 && rc == 0; len++) {
            char *p = place == 0 ? g.hi - len : g.lo;
            memcpy(p, in->p, len);
            rc = check_prefix(cx, p, len, SIP_STREAM, ENODATA, 0, where);
        }
    }
    guard_close(&g);
    if (rc == 0)
        printf("truncate ok: %zu dgram prefixes, %zu stream prefixes, both placements%s\n",
               dlen + 1, serr == 0 ? slen + 1 : body_off,
               serr == 0 ? "" : " (stream refuses it whole: no Content-Length)");
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* field                                                                                      */

static const char *scheme_name(enum sip_uri_scheme s)
{
    switch (s) {
    case SIP_URI_SIP:
        return "sip";
    case SIP_URI_SIPS:
        return "sips";
    case SIP_URI_TEL:
        return "tel";
    default:
        return "other";
    }
}

/* A field's value as text: either a slice into the message or a number printed in @p num. */
struct fval {
    struct sv_slice s;
    char num[32];
};

static void fval_num(struct fval *v, unsigned long long x)
{
    snprintf(v->num, sizeof(v->num), "%llu", x);
    v->s = sv_slice_cstr(v->num);
}

static void fval_str(struct fval *v, const char *s)
{
    snprintf(v->num, sizeof(v->num), "%s", s);
    v->s = sv_slice_cstr(v->num);
}

/* Fields of a URI: "user", "host", "port", "params", "headers", "scheme", "uparam.NAME". */
static int uri_field(const struct sip_uri *u, const char *f, struct fval *v)
{
    if (strcmp(f, "user") == 0)
        v->s = u->user;
    else if (strcmp(f, "host") == 0)
        v->s = u->host;
    else if (strcmp(f, "port") == 0) {
        if (u->has_port)
            fval_num(v, u->port);
        else
            fval_str(v, "none");
    } else if (strcmp(f, "params") == 0)
        v->s = u->params;
    else if (strcmp(f, "headers") == 0)
        v->s = u->headers;
    else if (strcmp(f, "scheme") == 0)
        fval_str(v, scheme_name(u->scheme));
    else if (strcmp(f, "user.unescaped.len") == 0) {
        char tmp[1024];
        size_t n = 0;
        int err = sip_unescape(u->user, tmp, sizeof(tmp), &n);
        if (err)
            fval_str(v, errname(err));
        else
            fval_num(v, n);
    } else if (strncmp(f, "param.", 6) == 0) {
        struct sv_slice val = {NULL, 0};
        if (!sip_param_get(u->params, f + 6, &val))
            fval_str(v, "(absent)");
        else if (!val.p)
            fval_str(v, "(novalue)");
        else
            v->s = val;
    } else
        return EINVAL;
    return 0;
}

/* Fields of an address: "dname", "tag", "params", "hparam.NAME", "uri.<uri field>". */
static int addr_field(const struct sip_addr *a, const char *f, struct fval *v)
{
    if (strcmp(f, "dname") == 0)
        v->s = a->dname;
    else if (strcmp(f, "tag") == 0)
        v->s = a->tag;
    else if (strcmp(f, "params") == 0)
        v->s = a->params;
    else if (strncmp(f, "hparam.", 7) == 0) {
        struct sv_slice val = {NULL, 0};
        if (!sip_param_get(a->params, f + 7, &val))
            fval_str(v, "(absent)");
        else if (!val.p)
            fval_str(v, "(novalue)");
        else
            v->s = val;
    } else if (strncmp(f, "uri.", 4) == 0)
        return uri_field(&a->uri, f + 4, v);
    else
        return EINVAL;
    return 0;
}

/* The @p idx-th element of every line of @p id, through @p next; counts them into *@p count. */
static int nth_contact(const struct sip_msg *msg, unsigned idx, struct sip_contact *out,
                       unsigned *count)
{
    unsigned k = 0;
    int found = ENOENT;
    for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT); h;
         h = sip_msg_hdr_next(msg, h)) {
        struct sv_slice cur = h->value;
        struct sip_contact c;
        int err;
        while ((err = sip_contact_next(&cur, &c)) == 0) {
            if (k == idx) {
                *out = c;
                found = 0;
            }
            k++;
        }
        if (err != ENOENT)
            return err;
    }
    *count = k;
    return found;
}

static int nth_via(const struct sip_msg *msg, unsigned idx, struct sip_via *out, unsigned *count)
{
    unsigned k = 0;
    int found = ENOENT;
    for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_VIA); h; h = sip_msg_hdr_next(msg, h)) {
        struct sv_slice cur = h->value;
        struct sip_via via;
        int err;
        while ((err = sip_via_next(&cur, &via)) == 0) {
            if (k == idx) {
                *out = via;
                found = 0;
            }
            k++;
        }
        if (err != ENOENT)
            return err;
    }
    *count = k;
    return found;
}

static int via_field(const struct sip_via *via, const char *f, struct fval *v)
{
    if (strcmp(f, "host") == 0)
        v->s = via->host;
    else if (strcmp(f, "port") == 0) {
        if (via->has_port)
            fval_num(v, via->port);
        else
            fval_str(v, "none");
    } else if (strcmp(f, "transport") == 0)
        v->s = via->transport;
    else if (strcmp(f, "branch") == 0)
        v->s = via->branch;
    else if (strcmp(f, "received") == 0)
        v->s = via->received;
    else if (strcmp(f, "rfc3261") == 0)
        fval_str(v, sip_via_branch_is_rfc3261(via) ? "true" : "false");
    else
        return EINVAL;
    return 0;
}

/* Parse "name<N>.rest": *@p idx gets N, *@p rest the part after the dot. */
static bool indexed(const char *what, const char *name, unsigned *idx, const char **rest)
{
    size_t nl = strlen(name);
    char *end;
    if (strncmp(what, name, nl) != 0 || what[nl] < '0' || what[nl] > '9')
        return false;
    *idx = (unsigned)strtoul(what + nl, &end, 10);
    if (*end != '.')
        return false;
    *rest = end + 1;
    return true;
}

/*
 * Look field @p what up in @p msg. Names:
 *   raw.len body.len clen method mid scode reason callid cseq.num cseq.method max_forwards
 *   ruri.<uri field>  to.<addr field>  from.<addr field>
 *   hdr.count.<Header-Name>  (any spelling; unknown names are counted by exact name)
 *   via.count  via<N>.<host|port|transport|branch|received|rfc3261>
 *   contact.count  contact<N>.<addr field|q|expires|star>
 * A special "eq" form compares URIs: `to.uri.eq` / `from.uri.eq` / `ruri.eq` with the value
 * decoded as a URI, by sip_uri_equal; the field reads "true" or "false".
 */
static int field_get(const struct sip_msg *msg, const char *what, const char *value, struct fval *v)
{
    unsigned idx, count = 0;
    const char *rest;

    memset(v, 0, sizeof(*v));
    if (strcmp(what, "raw.len") == 0)
        fval_num(v, msg->raw.l);
    else if (strcmp(what, "body.len") == 0)
        fval_num(v, msg->body.l);
    else if (strcmp(what, "clen") == 0) {
        if (msg->has_clen)
            fval_num(v, msg->clen);
        else
            fval_str(v, "none");
    } else if (strcmp(what, "method") == 0)
        v->s = msg->method;
    else if (strcmp(what, "mid") == 0)
        fval_str(v, msg->mid == SIP_METHOD_OTHER ? "OTHER" : sip_method_name(msg->mid));
    else if (strcmp(what, "scode") == 0)
        fval_num(v, msg->scode);
    else if (strcmp(what, "reason") == 0)
        v->s = msg->reason;
    else if (strcmp(what, "callid") == 0)
        v->s = msg->callid;
    else if (strcmp(what, "cseq.num") == 0)
        fval_num(v, msg->cseq.num);
    else if (strcmp(what, "cseq.method") == 0)
        v->s = msg->cseq.method;
    else if (strcmp(what, "max_forwards") == 0) {
        if (msg->has_max_forwards)
            fval_num(v, msg->max_forwards);
        else
            fval_str(v, "none");
    } else if (strcmp(what, "ruri.eq") == 0 || strcmp(what, "to.uri.eq") == 0 ||
               strcmp(what, "from.uri.eq") == 0) {
        const struct sip_uri *u = what[0] == 'r'   ? &msg->ruri
                                  : what[0] == 't' ? &msg->to.uri
                                                   : &msg->from.uri;
        struct sip_uri other;
        if (sip_uri_decode(&other, sv_slice_cstr(value)))
            fval_str(v, "(value is no URI)");
        else
            fval_str(v, sip_uri_equal(u, &other) ? "true" : "false");
    } else if (strncmp(what, "ruri.", 5) == 0)
        return uri_field(&msg->ruri, what + 5, v);
    else if (strncmp(what, "to.", 3) == 0)
        return addr_field(&msg->to, what + 3, v);
    else if (strncmp(what, "from.", 5) == 0)
        return addr_field(&msg->from, what + 5, v);
    else if (strncmp(what, "hdr.count.", 10) == 0) {
        struct sv_slice name = sv_slice_cstr(what + 10);
        enum sip_hdr_id id = sip_hdr_lookup(name);
        unsigned n = 0;
        for (unsigned i = 0; i < msg->hdrc; i++)
            if (id != SIP_HDR_OTHER ? msg->hdrv[i].id == id : sv_slice_eq(msg->hdrv[i].name, name))
                n++;
        fval_num(v, n);
    } else if (strcmp(what, "via.count") == 0) {
        struct sip_via via;
        int err = nth_via(msg, ~0u, &via, &count);
        if (err != ENOENT)
            fval_str(v, errname(err));
        else
            fval_num(v, count);
    } else if (indexed(what, "via", &idx, &rest)) {
        struct sip_via via;
        int err = nth_via(msg, idx, &via, &count);
        if (err)
            fval_str(v, errname(err));
        else
            return via_field(&via, rest, v);
    } else if (strcmp(what, "contact.count") == 0) {
        struct sip_contact c;
        int err = nth_contact(msg, ~0u, &c, &count);
        if (err != ENOENT)
            fval_str(v, errname(err));
        else
            fval_num(v, count);
    } else if (indexed(what, "contact", &idx, &rest)) {
        struct sip_contact c;
        int err = nth_contact(msg, idx, &c, &count);
        if (err)
            fval_str(v, errname(err));
        else if (strcmp(rest, "star") == 0)
            fval_str(v, c.star ? "true" : "false");
        else if (strcmp(rest, "q") == 0) {
            if (c.has_q)
                fval_num(v, c.q);
            else
                fval_str(v, "none");
        } else if (strcmp(rest, "expires") == 0) {
            if (c.has_expires)
                fval_num(v, c.expires);
            else
                fval_str(v, "none");
        } else
            return addr_field(&c.addr, rest, v);
    } else
        return EINVAL;
    return 0;
}

/*
 * Expected values come through CMake, where ';' separates list items and an empty argument
 * vanishes: "\xHH" stands for any octet and "(empty)" for a set, empty slice.
 */
static size_t unescape_value(const char *s, char *out, size_t sz)
{
    size_t n = 0;
    unsigned x;
    while (*s && n + 1 < sz) {
        if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &x) == 1) {
            out[n++] = (char)x;
            s += 4;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = 0;
    return n;
}

static int cmd_field(struct ctx *cx, const struct input *in, const char *what, const char *value)
{
    struct sip_msg *msg;
    struct sip_perr perr;
    struct fval v;
    int err = parse(cx, in->p, in->l, SIP_DGRAM, &msg, &perr);

    if (err) {
        describe_perr(err, &perr);
        printf(" | field %s needs a message that parses\n", what);
        return 1;
    }
    char uri[1024];
    unescape_value(value, uri, sizeof(uri));
    if (field_get(msg, what, uri, &v)) {
        printf("unknown field '%s'\n", what);
        return 1;
    }
    bool ok;
    char want[1024];
    size_t wl = unescape_value(value, want, sizeof(want));
    if (strstr(what, ".eq"))
        ok = strcmp(v.num, "true") == 0;
    else if (strcmp(value, "(unset)") == 0)
        ok = v.s.p == NULL;
    else if (strcmp(value, "(empty)") == 0)
        ok = v.s.p && v.s.l == 0;
    else
        ok = v.s.p && v.s.l == wl && memcmp(v.s.p, want, wl) == 0;
    printf("%s = ", what);
    put_slice(stdout, v.s);
    printf(" | expected ");
    if (strstr(what, ".eq"))
        printf("equal to %s", value);
    else
        put_slice(stdout, sv_slice_make(want, wl));
    printf(": %s\n", ok ? "ok" : "MISMATCH");
    return ok ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: corpus_check expect <file> <expectation> [--lf-to-crlf]\n"
                    "       corpus_check expect-stream <file> <parse|enodata|malformed> "
                    "[--lf-to-crlf]\n"
                    "       corpus_check roundtrip|truncate <file> [--lf-to-crlf]\n"
                    "       corpus_check field <file> <what> <value> [--lf-to-crlf]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static struct ctx cx;
    struct input in;
    const char *args[4];
    int nargs = 0, rc;
    bool crlf = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lf-to-crlf") == 0)
            crlf = true;
        else if (nargs < 4)
            args[nargs++] = argv[i];
        else
            return usage();
    }
    if (nargs < 2)
        return usage();
    if (read_file(args[1], &in))
        return 2;
    if (crlf && lf_to_crlf(&in)) {
        free(in.p);
        return 2;
    }
    sv_arena_init(&cx.arena, cx.block, sizeof(cx.block));

    if (strcmp(args[0], "expect") == 0 && nargs == 3)
        rc = cmd_expect(&cx, &in, args[2]);
    else if (strcmp(args[0], "expect-stream") == 0 && nargs == 3)
        rc = cmd_expect_stream(&cx, &in, args[2]);
    else if (strcmp(args[0], "roundtrip") == 0 && nargs == 2)
        rc = cmd_roundtrip(&cx, &in);
    else if (strcmp(args[0], "truncate") == 0 && nargs == 2)
        rc = cmd_truncate(&cx, &in);
    else if (strcmp(args[0], "field") == 0 && nargs == 4)
        rc = cmd_field(&cx, &in, args[2], args[3]);
    else
        rc = usage();

    sv_arena_close(&cx.arena);
    free(in.p);
    return rc;
}
