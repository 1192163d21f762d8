/**
 * @file frame.c  Where does a message end? Framing of datagrams and streams.
 *
 * Framing looks only at line ends and at Content-Length, so that the net layer can cut a
 * TCP/TLS stream into messages before anything is scanned, and so that "need more bytes"
 * (ENODATA) is never confused with "malformed" (EBADMSG). Every cap is checked before the
 * bytes it bounds are examined: a peer that sends 1 MB without a line end costs us at most
 * max_start_line octets of searching.
 */
#include "sip_int.h"

const struct sip_limits sip_limits_default = {
    .max_msg = 64 * 1024,
    .max_headers = 256,
    .max_start_line = 8 * 1024,
    .max_header = 8 * 1024,
};

size_t sip_frame_skip_crlf(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i;
}

static int fail(struct sip_perr *err, int code, const char *reason, size_t off)
{
    if (err) {
        err->reason = reason;
        err->off = off;
        err->status = 400;
    }
    return code;
}

/* Length of the line [line, nl) without its line end (CRLF or a bare LF at @p nl). */
static size_t line_len(const char *line, const char *nl)
{
    return (size_t)(nl - line) - (nl > line && nl[-1] == '\r');
}

/* Is the header name at [p, colon) "Content-Length" or "l"? */
static bool is_clen_name(const char *p, const char *colon)
{
    while (colon > p && sip__is_ws(colon[-1]))
        colon--;
    struct sv_slice n = sip__span(p, colon);
    return (n.l == 1 && (n.p[0] | 0x20) == 'l') || sv_slice_caseeq_cstr(n, "Content-Length");
}

/**
 * Parse a Content-Length value: digits, surrounded by LWS. A sign or anything else is
 * malformed (RFC 4475 ncl).
 */
int sip__frame_clen(struct sv_slice value, uint32_t *clen)
{
    return sv_slice_u32(sv_slice_trim(value), UINT32_MAX - 1, clen) ? EBADMSG : 0;
}

int sip_frame(const char *buf, size_t len, enum sip_transport_kind mode,
              const struct sip_limits *lim, size_t *msg_len, struct sip_perr *err)
{
    const char *p = buf, *end;
    const char *nl;
    bool have_clen = false;
    uint32_t clen = 0;
    unsigned nhdr = 0;

    if (!lim)
        lim = &sip_limits_default;
    if (mode == SIP_DGRAM && len > lim->max_msg)
        return fail(err, EMSGSIZE, "message exceeds max_msg", lim->max_msg);
    /* A stream may hold several messages; look no further than one message may reach. */
    end = buf + (len < lim->max_msg ? len : lim->max_msg);

    size_t lmax = lim->max_start_line + 2;
    nl = memchr(p, '\n', (size_t)(end - p) < lmax ? (size_t)(end - p) : lmax);
    if (!nl) {
        if ((size_t)(end - p) >= lmax)
            return fail(err, EMSGSIZE, "start line exceeds max_start_line", 0);
        if (mode == SIP_STREAM && len < lim->max_msg)
            return ENODATA;
        return fail(err, EBADMSG, "no end of start line", (size_t)(end - buf));
    }
    /* The window allows for CRLF; a bare LF leaves room for one octet too many. */
    if (line_len(p, nl) > lim->max_start_line)
        return fail(err, EMSGSIZE, "start line exceeds max_start_line", 0);
    p = nl + 1;

    /* headers, up to the empty line */
    for (;;) {
        size_t el = sip__empty_line(p, end);
        if (el) {
            p += el;
            break;
        }
        if (p >= end || (p + 1 == end && *p == '\r'))
            goto incomplete;
        const char *line = p;
        size_t hmax = lim->max_header + 2;
        /* a header line ends at a line end not followed by SP/HT (folding) */
        for (;;) {
            size_t room = (size_t)(end - p);
            size_t cap = hmax - (size_t)(p - line);
            nl = memchr(p, '\n', room < cap ? room : cap);
            if (!nl) {
                if ((size_t)(end - line) >= hmax)
                    return fail(err, EMSGSIZE, "header exceeds max_header", (size_t)(line - buf));
                goto incomplete;
            }
            p = nl + 1;
            if (p >= end)
                goto incomplete; /* cannot tell yet whether the next line folds */
            if (!sip__is_ws(*p))
                break;
        }
        if (line_len(line, nl) > lim->max_header)
            return fail(err, EMSGSIZE, "header exceeds max_header", (size_t)(line - buf));
        if (++nhdr > lim->max_headers)
            return fail(err, EMSGSIZE, "header count exceeds max_headers", (size_t)(line - buf));
        const char *colon = memchr(line, ':', (size_t)(p - line));
        if (colon && is_clen_name(line, colon)) {
            uint32_t v;
            const char *ve = p - 1;
            if (ve > colon && ve[-1] == '\r')
                ve--;
            if (sip__frame_clen(sip__span(colon + 1, ve), &v))
                return fail(err, EBADMSG, "Content-Length: not a number", (size_t)(line - buf));
            if (have_clen && v != clen)
                return fail(err, EBADMSG, "Content-Length: conflicting values",
                            (size_t)(line - buf));
            have_clen = true;
            clen = v;
        }
    }

    size_t hlen = (size_t)(p - buf);
    if (mode == SIP_DGRAM) {
        size_t rest = len - hlen;
        if (!have_clen) {
            *msg_len = len; /* RFC 3261 §18.3: the body runs to the end of the datagram */
            return 0;
        }
        if (clen > rest)
            return fail(err, EBADMSG, "Content-Length exceeds the datagram", hlen);
        *msg_len = hlen + clen;
        return 0;
    }
    if (!have_clen)
        return fail(err, EBADMSG, "Content-Length missing on a stream transport", hlen);
    if (hlen + (size_t)clen > lim->max_msg)
        return fail(err, EMSGSIZE, "message exceeds max_msg", hlen);
    if (len - hlen < clen)
        return ENODATA;
    *msg_len = hlen + clen;
    return 0;

incomplete:
    if (mode == SIP_STREAM && len < lim->max_msg)
        return ENODATA;
    if (mode == SIP_STREAM)
        return fail(err, EMSGSIZE, "message exceeds max_msg", lim->max_msg);
    return fail(err, EBADMSG, "no end of headers", (size_t)(end - buf));
}
