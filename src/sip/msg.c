/**
 * @file msg.c  The scanner: one pass from bytes to a struct sip_msg of slices.
 *
 * A datagram is framed and scanned in the same pass; a stream message is framed first
 * (sip_frame) and then scanned as a complete unit, so the scanner itself never has to resume.
 * The header index (struct sip_hdr array) and the message live in the caller's arena.
 *
 * After the pass, the headers that every layer needs are decoded: the top Via, From, To,
 * Call-ID, CSeq and Max-Forwards (Content-Length was needed for framing already). A fault in
 * any of them makes the message malformed: nothing above this layer could handle it.
 */
#include "sip_int.h"

#define HDRV_INITIAL 48u

static int fail(struct sip_perr *err, int code, const char *reason, size_t off)
{
    if (err) {
        err->reason = reason;
        err->off = off;
        err->status = 400;
    }
    return code;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; "SIP" compares case-insensitively. Whether the
 * version is one we speak is a semantic question (505), answered by sip_msg_check. */
static bool version_ok(struct sv_slice v)
{
    size_t i = 4, d;

    if (v.l < 7 || !sv_slice_caseeq_cstr(sv_slice_make(v.p, 4), "SIP/"))
        return false;
    for (d = 0; i < v.l && sip__is(v.p[i], SIP__C_DIGIT); i++, d++)
        ;
    if (!d || i >= v.l || v.p[i] != '.')
        return false;
    for (i++, d = 0; i < v.l && sip__is(v.p[i], SIP__C_DIGIT); i++, d++)
        ;
    return d && i == v.l;
}

static int start_line_parse(struct sip_msg *msg, struct sv_slice sl, struct sip_perr *err)
{
    const char *p = sl.p, *end = sl.p + sl.l, *sp;

    msg->start = sl;
    /* A method is a token and cannot hold '/'; a status line starts with the version. */
    sp = memchr(p, ' ', sl.l);
    if (!sp)
        return fail(err, EBADMSG, "start line: no space", 0);
    if (memchr(p, '/', (size_t)(sp - p))) {
        msg->req = false;
        msg->version = sip__span(p, sp);
        if (!version_ok(msg->version))
            return fail(err, EBADMSG, "status line: malformed version", 0);
        p = sp + 1;
        if (end - p < 3 || !sip__is(p[0], SIP__C_DIGIT) || !sip__is(p[1], SIP__C_DIGIT) ||
            !sip__is(p[2], SIP__C_DIGIT) || (end - p > 3 && p[3] != ' '))
            return fail(err, EBADMSG, "status line: malformed status code", 0);
        msg->scode = (uint16_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
        if (msg->scode < 100 || msg->scode > 699)
            return fail(err, EBADMSG, "status line: status code out of range", 0);
        p += 3;
        msg->reason = p < end ? sip__span(p + 1, end) : sip__span(end, end);
        return 0;
    }

    msg->req = true;
    if (sp == p) /* Method = token, which is never empty */
        return fail(err, EBADMSG, "request line: method is not a token", 0);
    msg->method = sip__span(p, sp);
    for (const char *q = p; q < sp; q++) {
        if (!sip__is(*q, SIP__C_TOKEN))
            return fail(err, EBADMSG, "request line: method is not a token", 0);
    }
    msg->mid = sip_method_lookup(msg->method);
    p = sp + 1;
    sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp || sp == p)
        return fail(err, EBADMSG, "request line: malformed Request-URI", (size_t)(p - sl.p));
    msg->ruri_s = sip__span(p, sp);
    msg->version = sip__span(sp + 1, end);
    if (!version_ok(msg->version))
        return fail(err, EBADMSG, "request line: malformed version", (size_t)(sp + 1 - sl.p));
    if (sip_uri_decode(&msg->ruri, msg->ruri_s))
        return fail(err, EBADMSG, "request line: malformed Request-URI", (size_t)(p - sl.p));
    return 0;
}

/* Grow the header index; the old array stays in the arena until reset. */
static int hdrv_grow(struct sip_msg *msg, unsigned *cap, struct sv_arena *arena)
{
    unsigned ncap = *cap * 2;
    struct sip_hdr *nv = sv_arena_alloc(arena, ncap * sizeof(*nv));

    if (!nv)
        return ENOMEM;
    memcpy(nv, msg->hdrv, msg->hdrc * sizeof(*nv));
    msg->hdrv = nv;
    *cap = ncap;
    return 0;
}

/* Name and value of one header line [line, le) (le excludes the final line end). */
static int hdr_split(struct sip_hdr *h, const char *line, const char *le)
{
    const char *p = line;

    while (p < le && sip__is(*p, SIP__C_TOKEN))
        p++;
    if (p == line)
        return EBADMSG;
    h->name = sip__span(line, p);
    while (p < le && sip__is_ws(*p))
        p++;
    if (p >= le || *p != ':')
        return EBADMSG;
    p = sip__skip_lws(p + 1, le);
    while (le > p && sip__is_lws(le[-1]))
        le--;
    h->value = sip__span(p, le);
    return 0;
}

/* Decode the headers every layer needs. All are tried even after a failure, so that a
 * server answering 400 has Via, Call-ID and CSeq whenever they are sound; the first failure
 * is the one reported. */
static int eager_decode(struct sip_msg *msg, struct sip_perr *err)
{
    const struct sip_hdr *h;
    const char *why = NULL;
    uint32_t at = 0;

#define BAD(reason)                                                                                \
    do {                                                                                           \
        if (!why) {                                                                                \
            why = (reason);                                                                        \
            at = h->off;                                                                           \
        }                                                                                          \
    } while (0)
    if ((h = sip_msg_hdr(msg, SIP_HDR_VIA))) {
        struct sv_slice cur = h->value;
        if (sip_via_next(&cur, &msg->via)) {
            memset(&msg->via, 0, sizeof(msg->via));
            msg->via.ttl = -1;
            BAD("Via: malformed");
        }
    }
    if ((h = sip_msg_hdr(msg, SIP_HDR_FROM)) && sip_addr_decode(&msg->from, h->value))
        BAD("From: malformed");
    if ((h = sip_msg_hdr(msg, SIP_HDR_TO)) && sip_addr_decode(&msg->to, h->value))
        BAD("To: malformed");
    if ((h = sip_msg_hdr(msg, SIP_HDR_CALL_ID)) && sip_callid_decode(&msg->callid, h->value)) {
        msg->callid = sv_slice_make(NULL, 0);
        BAD("Call-ID: malformed");
    }
    if ((h = sip_msg_hdr(msg, SIP_HDR_CSEQ)) && sip_cseq_decode(&msg->cseq, h->value)) {
        memset(&msg->cseq, 0, sizeof(msg->cseq));
        BAD("CSeq: malformed");
    }
    if ((h = sip_msg_hdr(msg, SIP_HDR_MAX_FORWARDS))) {
        if (sip_uint_decode(&msg->max_forwards, h->value, 255))
            BAD("Max-Forwards: not a number from 0 to 255");
        else
            msg->has_max_forwards = true;
    }
#undef BAD
    return why ? fail(err, EBADMSG, why, at) : 0;
}

/**
 * Parse the first message in @p buf.
 *
 * @param msgp   out: the message, allocated in @p arena.
 * @param arena  per-message arena; holds the message and its header index.
 * @param buf    the received bytes; must outlive the message.
 * @param mode   SIP_DGRAM (octets past Content-Length ignored) or SIP_STREAM.
 * @param lim    caps, or NULL for sip_limits_default.
 * @param err    out: the reason when EBADMSG or EMSGSIZE is returned.
 * @return 0, ENODATA, EBADMSG, EMSGSIZE or ENOMEM. On EBADMSG from a request line or a
 *         header decoder (the message framed and scanned), *@p msgp is set anyway, with the
 *         fields decoded so far.
 */
int sip_msg_parse(struct sip_msg **msgp, struct sv_arena *arena, const char *buf, size_t len,
                  enum sip_transport_kind mode, const struct sip_limits *lim, struct sip_perr *err)
{
    struct sip_msg *msg;
    uint16_t last[SIP_HDR__N];
    const char *p, *end, *nl, *le;
    unsigned cap = HDRV_INITIAL;
    /* A datagram whose Content-Length is wrong is still scanned to its end, so that a server
     * can answer it 400 (RFC 4475 clerr, ncl, mcl01); on a stream sip_frame refused it. */
    const char *cl_reason = NULL;
    size_t cl_off = 0;
    int e;

    if (!lim)
        lim = &sip_limits_default;
    if (mode == SIP_STREAM) {
        size_t mlen;
        e = sip_frame(buf, len, SIP_STREAM, lim, &mlen, err);
        if (e)
            return e;
        len = mlen;
    } else if (len > lim->max_msg) {
        return fail(err, EMSGSIZE, "message exceeds max_msg", lim->max_msg);
    }
    end = buf + len;

    msg = sv_arena_alloc(arena, sizeof(*msg));
    if (!msg)
        return ENOMEM;
    memset(msg, 0, offsetof(struct sip_msg, first));
    memset(msg->first, 0xff, sizeof(msg->first));
    memset(msg->count, 0, sizeof(*msg) - offsetof(struct sip_msg, count));
    msg->arena = arena;
    msg->via.ttl = -1;
    msg->hdrv = sv_arena_alloc(arena, cap * sizeof(*msg->hdrv));
    if (!msg->hdrv)
        return ENOMEM;

    /* start line */
    size_t lmax = lim->max_start_line + 2;
    nl = memchr(buf, '\n', len < lmax ? len : lmax);
    if (!nl) {
        if (len >= lmax)
            return fail(err, EMSGSIZE, "start line exceeds max_start_line", 0);
        return fail(err, EBADMSG, "no end of start line", len);
    }
    le = (nl > buf && nl[-1] == '\r') ? nl - 1 : nl;
    /* The window allows for CRLF; a bare LF leaves room for one octet too many. */
    if ((size_t)(le - buf) > lim->max_start_line)
        return fail(err, EMSGSIZE, "start line exceeds max_start_line", 0);
    /* A request whose request line is malformed is still scanned, so that a server can
     * answer it with 400 (RFC 4475 lwsstart, trws, ltgtruri); a bad status line is final. */
    struct sip_perr sl_err = {0};
    int sl_e = start_line_parse(msg, sip__span(buf, le), &sl_err);
    if (sl_e && !(msg->req && msg->method.p)) {
        if (err)
            *err = sl_err;
        return sl_e;
    }
    p = nl + 1;

    /* header lines, up to the empty line */
    for (;;) {
        size_t el = sip__empty_line(p, end);
        if (el) {
            p += el;
            break;
        }
        if (p >= end)
            return fail(err, EBADMSG, "no end of headers", len);
        if (sip__is_ws(*p))
            return fail(err, EBADMSG, "header line starts with white space", (size_t)(p - buf));

        const char *line = p;
        size_t hmax = lim->max_header + 2;
        for (;;) {
            size_t room = (size_t)(end - p), lim_left = hmax - (size_t)(p - line);
            nl = memchr(p, '\n', room < lim_left ? room : lim_left);
            if (!nl) {
                if ((size_t)(end - line) >= hmax)
                    return fail(err, EMSGSIZE, "header exceeds max_header", (size_t)(line - buf));
                return fail(err, EBADMSG, "no end of headers", len);
            }
            p = nl + 1;
            if (p >= end || !sip__is_ws(*p))
                break;
        }
        le = (nl > line && nl[-1] == '\r') ? nl - 1 : nl;
        if ((size_t)(le - line) > lim->max_header)
            return fail(err, EMSGSIZE, "header exceeds max_header", (size_t)(line - buf));
        /* Indices are 16 bits and SIP_HDR_END is taken, whatever max_headers says. */
        if (msg->hdrc >= lim->max_headers || msg->hdrc >= SIP_HDR_END)
            return fail(err, EMSGSIZE, "header count exceeds max_headers", (size_t)(line - buf));
        if (msg->hdrc == cap && (e = hdrv_grow(msg, &cap, arena)))
            return e;

        struct sip_hdr *h = &msg->hdrv[msg->hdrc];
        if (hdr_split(h, line, le))
            return fail(err, EBADMSG, "header line: malformed name", (size_t)(line - buf));
        h->off = (uint32_t)(line - buf);
        h->len = (uint32_t)(p - line);
        h->id = (uint16_t)sip_hdr_lookup(h->name);
        h->next = SIP_HDR_END;
        if (msg->first[h->id] == SIP_HDR_END)
            msg->first[h->id] = (uint16_t)msg->hdrc;
        else
            msg->hdrv[last[h->id]].next = (uint16_t)msg->hdrc;
        last[h->id] = (uint16_t)msg->hdrc;
        msg->count[h->id]++;

        if (h->id == SIP_HDR_CONTENT_LENGTH && !cl_reason) {
            uint32_t v;
            if (sip__frame_clen(h->value, &v)) {
                cl_reason = "Content-Length: not a number";
                cl_off = h->off;
            } else if (msg->has_clen && v != msg->clen) {
                cl_reason = "Content-Length: conflicting values";
                cl_off = h->off;
            } else {
                msg->clen = v;
                msg->has_clen = true;
            }
        }
        msg->hdrc++;
    }

    msg->hdr_end = (uint32_t)(p - buf);
    size_t rest = (size_t)(end - p);
    if (!cl_reason && msg->has_clen && msg->clen > rest) {
        cl_reason = "Content-Length exceeds the message";
        cl_off = msg->hdr_end;
    }
    if (cl_reason) { /* the body is what the datagram holds; no Content-Length is believed */
        msg->has_clen = false;
        msg->clen = 0;
    } else if (msg->has_clen) {
        rest = msg->clen;
    }
    msg->body = sv_slice_make(p, rest);
    msg->raw = sv_slice_make(buf, (size_t)(p + rest - buf));
    /* hdr_end points at the empty line itself, for insertions at the end of the headers */
    msg->hdr_end -= (p[-2] == '\r') ? 2u : 1u;

    /* From here on the message is framed and scanned: even if a decoder fails, *msgp is set
     * so that a server can still answer 400 when Via, Call-ID and CSeq are usable. */
    *msgp = msg;
    e = eager_decode(msg, err);
    if (cl_reason)
        return fail(err, EBADMSG, cl_reason, cl_off);
    if (sl_e) {
        if (err)
            *err = sl_err;
        return sl_e;
    }
    return e;
}

/**
 * @return the first header line with id @p id, or NULL.
 */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id)
{
    uint16_t i = msg->first[id];
    return i == SIP_HDR_END ? NULL : &msg->hdrv[i];
}

const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *msg, const struct sip_hdr *h)
{
    return h->next == SIP_HDR_END ? NULL : &msg->hdrv[h->next];
}

const struct sip_hdr *sip_msg_hdr_byname(const struct sip_msg *msg, struct sv_slice name)
{
    enum sip_hdr_id id = sip_hdr_lookup(name);

    if (id != SIP_HDR_OTHER)
        return sip_msg_hdr(msg, id);
    for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_OTHER); h;
         h = sip_msg_hdr_next(msg, h)) {
        if (sv_slice_caseeq(h->name, name))
            return h;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Copies                                                                                     */

/* A field added to one of these structs must be rebased in sip_msg_copy (and compared in
 * tests/corpus/corpus_check.c): these sizes make the build say so. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct sip_msg) == 1280, "rebase the new field");
_Static_assert(sizeof(void *) != 8 || sizeof(struct sip_uri) == 128, "rebase the new field");
_Static_assert(sizeof(void *) != 8 || sizeof(struct sip_via) == 160, "rebase the new field");
_Static_assert(sizeof(void *) != 8 || sizeof(struct sip_addr) == 216, "rebase the new field");
_Static_assert(sizeof(void *) != 8 || sizeof(struct sip_hdr) == 48, "rebase the new field");
_Static_assert(sizeof(void *) != 8 || sizeof(struct sip_cseq) == 32, "rebase the new field");

/* The frame of a rebase: slices into [from, from + len] move to the same offset from to. */
struct rebase {
    uintptr_t from, end;
    const char *to;
};

/* Slices that are unset or point elsewhere (static text) stay as they are. */
static void rb_slice(const struct rebase *r, struct sv_slice *s)
{
    uintptr_t p = (uintptr_t)s->p;

    if (s->p && p >= r->from && p <= r->end)
        s->p = r->to + (p - r->from);
}

static void rb_uri(const struct rebase *r, struct sip_uri *u)
{
    rb_slice(r, &u->raw);
    rb_slice(r, &u->scheme_s);
    rb_slice(r, &u->user);
    rb_slice(r, &u->password);
    rb_slice(r, &u->host);
    rb_slice(r, &u->params);
    rb_slice(r, &u->headers);
}

static void rb_addr(const struct rebase *r, struct sip_addr *a)
{
    rb_slice(r, &a->raw);
    rb_slice(r, &a->dname);
    rb_slice(r, &a->uri_s);
    rb_uri(r, &a->uri);
    rb_slice(r, &a->params);
    rb_slice(r, &a->tag);
}

static void rb_via(const struct rebase *r, struct sip_via *v)
{
    rb_slice(r, &v->raw);
    rb_slice(r, &v->proto);
    rb_slice(r, &v->version);
    rb_slice(r, &v->transport);
    rb_slice(r, &v->host);
    rb_slice(r, &v->params);
    rb_slice(r, &v->branch);
    rb_slice(r, &v->received);
    rb_slice(r, &v->maddr);
}

void sip_via_copy(struct sip_via *dst, const struct sip_via *src, const char *bytes)
{
    const struct rebase r = {(uintptr_t)src->raw.p, (uintptr_t)src->raw.p + src->raw.l, bytes};

    *dst = *src;
    rb_via(&r, dst);
}

/**
 * Copy a parsed message for a copy of its bytes, without parsing them again: what a fresh
 * sip_msg_parse of @p bytes would give. A transaction that keeps the request it received
 * uses it (the parse is most of a message's CPU). Every slice field of struct sip_msg and of
 * the structs in it must be listed above: tests/corpus/corpus_check.c compares the copy
 * with a fresh parse over the whole torture corpus (roundtrip).
 *
 * @param dst    out: the message; dst->arena is NULL (nothing may be allocated with it)
 * @param hv     out: room for src->hdrc header lines; dst->hdrv points to it
 * @param src    the parsed message
 * @param bytes  src->raw.l octets, the same text as src->raw
 */
void sip_msg_copy(struct sip_msg *dst, struct sip_hdr *hv, const struct sip_msg *src,
                  const char *bytes)
{
    const struct rebase r = {(uintptr_t)src->raw.p, (uintptr_t)src->raw.p + src->raw.l, bytes};

    memcpy(dst, src, sizeof(*dst));
    dst->arena = NULL;
    dst->hdrv = hv;
    if (src->hdrc)
        memcpy(hv, src->hdrv, src->hdrc * sizeof(*hv));
    for (unsigned i = 0; i < dst->hdrc; i++) {
        rb_slice(&r, &hv[i].name);
        rb_slice(&r, &hv[i].value);
    }
    rb_slice(&r, &dst->raw);
    rb_slice(&r, &dst->start);
    rb_slice(&r, &dst->method);
    rb_slice(&r, &dst->ruri_s);
    rb_uri(&r, &dst->ruri);
    rb_slice(&r, &dst->reason);
    rb_slice(&r, &dst->version);
    rb_slice(&r, &dst->body);
    rb_via(&r, &dst->via);
    rb_addr(&r, &dst->from);
    rb_addr(&r, &dst->to);
    rb_slice(&r, &dst->cseq.method);
    rb_slice(&r, &dst->callid);
}
