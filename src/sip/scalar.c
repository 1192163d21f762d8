/**
 * @file scalar.c  Single-value headers (CSeq, Call-ID, numbers, Content-Type, SIP-ETag), the
 * token lists (Require, Supported, Allow...), and the list and parameter helpers of
 * decode_int.h that every value decoder shares.
 */
#include "decode_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Shared helpers (decode_int.h)                                                              */

int sip__list_next(struct sv_slice *cur, struct sv_slice *elem)
{
    const char *p, *end, *e, *next;

    if (!sip__cursor_begin(cur, &p, &end))
        return ENOENT;
    if (*p == ',')
        return EBADMSG;
    e = sip__find_unquoted(p, end, ',');
    next = e;
    if (e < end) {
        /* Checked here rather than on the next call, which could not tell "a," from "a". */
        next = sip__skip_lws(e + 1, end);
        if (next >= end || *next == ',')
            return EBADMSG;
    }
    *elem = sv_slice_trim(sip__span(p, e));
    *cur = sip__span(next, end);
    return 0;
}

/* gen-value = token / host / quoted-string (RFC 3261 §25.1). sip_param_next has already
 * checked that a quoted value is terminated and followed by LWS, ';' or the end. */
static bool gen_value_ok(struct sv_slice v)
{
    if (v.l && v.p[0] == '"')
        return true;
    if (!v.l)
        return false;
    for (size_t i = 0; i < v.l; i++) {
        char c = v.p[i];
        if (!sip__is(c, SIP__C_TOKEN) && c != '[' && c != ']' && c != ':')
            return false;
    }
    return true;
}

int sip__param_next(struct sv_slice *cur, struct sip_param *prm)
{
    const char *p, *end;
    struct sv_slice c;

    if (!sip__cursor_begin(cur, &p, &end))
        return ENOENT;
    if (*p != ';')
        return EBADMSG;
    /* sip_param_next takes a trailing ';' for the end of the list; a header may not end so */
    if (sip__skip_lws(p + 1, end) >= end)
        return EBADMSG;
    c = sip__span(p, end);
    if (sip_param_next(&c, prm))
        return EBADMSG;
    if (!sip__is_token(prm->name))
        return EBADMSG;
    if (prm->value.p && !gen_value_ok(prm->value))
        return EBADMSG;
    *cur = c;
    return 0;
}

int sip__params_check(struct sv_slice params)
{
    struct sip_param prm;
    int err;

    while ((err = sip__param_next(&params, &prm)) == 0)
        ;
    return err == ENOENT ? 0 : EBADMSG;
}

int sip__params_span(const char *p, const char *end, struct sv_slice *params)
{
    p = sip__skip_lws(p, end);
    if (p >= end) {
        *params = sv_slice_make(end, 0);
        return 0;
    }
    if (*p != ';')
        return EBADMSG;
    *params = sip__span(p, end);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* CSeq, Call-ID, numbers                                                                     */

/**
 * Decode a CSeq value: a sequence number below 2**31 (RFC 3261 §8.1.1.5), LWS, a method.
 *
 * @param cs  out: number, method as written, and its id (SIP_METHOD_OTHER if unknown).
 * @param s   the header value; folded line ends count as LWS.
 * @return 0, or EBADMSG (@p cs untouched).
 */
int sip_cseq_decode(struct sip_cseq *cs, struct sv_slice s)
{
    const char *p, *end, *digits, *m;
    uint64_t v = 0;

    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    p = s.p;
    end = s.p + s.l;
    digits = p;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > 0x7fffffffu) /* stops the loop too, so v cannot wrap on long inputs */
            return EBADMSG;
        p++;
    }
    if (p == digits)
        return EBADMSG;
    m = sip__skip_lws(p, end);
    if (m == p || m >= end)
        return EBADMSG;
    if (sip__token_end(m, end) != end)
        return EBADMSG;
    cs->num = (uint32_t)v;
    cs->method = sip__span(m, end);
    cs->mid = sip_method_lookup(cs->method);
    return 0;
}

/* word (RFC 3261 §25.1): token characters plus ( ) < > : \ " / [ ] ? { } */
static bool word_char(char c)
{
    static const char extra[] = "()<>:\\\"/[]?{}";

    return sip__is(c, SIP__C_TOKEN) || memchr(extra, c, sizeof(extra) - 1) != NULL;
}

/**
 * Decode a Call-ID: word ["@" word].
 *
 * @param out  out: the Call-ID, trimmed; compare it byte for byte (RFC 3261 §20.8).
 * @param s    the header value.
 * @return 0 or EBADMSG.
 */
int sip_callid_decode(struct sv_slice *out, struct sv_slice s)
{
    size_t at = 0, n_at = 0;

    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    for (size_t i = 0; i < s.l; i++) {
        if (s.p[i] == '@') {
            at = i;
            n_at++;
        } else if (!word_char(s.p[i])) {
            return EBADMSG;
        }
    }
    if (n_at > 1 || (n_at == 1 && (at == 0 || at == s.l - 1)))
        return EBADMSG;
    *out = s;
    return 0;
}

/**
 * Decode an unsigned decimal header value (Max-Forwards, Content-Length, Expires...).
 *
 * A value above @p max is malformed, not merely out of range: RFC 4475 scalar02 expects a
 * 400 for Max-Forwards 300 and for CSeq and Expires values that overflow.
 *
 * @param out  out: the value; untouched on error.
 * @param s    the header value; surrounding LWS is ignored.
 * @param max  the largest value allowed (255 for Max-Forwards).
 * @return 0 or EBADMSG (empty, a non-digit, a sign, or above @p max).
 */
int sip_uint_decode(uint32_t *out, struct sv_slice s, uint32_t max)
{
    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    return sv_slice_u32(s, max, out) ? EBADMSG : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Content-Type                                                                               */

/**
 * Decode a media type: type "/" subtype *(";" parameter) (RFC 3261 §20.15), LWS allowed
 * around the slash.
 *
 * @param ct  out: type and subtype as written; params from the first ';', or empty.
 * @param s   the header value.
 * @return 0 or EBADMSG.
 */
int sip_ctype_decode(struct sip_ctype *ct, struct sv_slice s)
{
    const char *p, *end, *ts, *te, *ss, *se;
    struct sv_slice params;

    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    p = s.p;
    end = s.p + s.l;
    ts = p;
    te = sip__token_end(ts, end);
    if (te == ts)
        return EBADMSG;
    p = sip__skip_lws(te, end);
    if (p >= end || *p != '/')
        return EBADMSG;
    ss = sip__skip_lws(p + 1, end);
    se = sip__token_end(ss, end);
    if (se == ss)
        return EBADMSG;
    if (sip__params_span(se, end, &params) || sip__params_check(params))
        return EBADMSG;
    ct->type = sip__span(ts, te);
    ct->subtype = sip__span(ss, se);
    ct->params = params;
    return 0;
}

/**
 * @param ct       a decoded Content-Type.
 * @param type     e.g. "application".
 * @param subtype  e.g. "sdp".
 * @return true if @p ct is type/subtype, compared case-insensitively (RFC 2045 §5.1).
 */
bool sip_ctype_is(const struct sip_ctype *ct, const char *type, const char *subtype)
{
    return ct->type.p && ct->subtype.p && sv_slice_caseeq_cstr(ct->type, type) &&
           sv_slice_caseeq_cstr(ct->subtype, subtype);
}

/* ---------------------------------------------------------------------------------------- */
/* Token lists and ETags                                                                      */

/**
 * Next element of a comma list of tokens (Require, Supported, Allow, Allow-Events...).
 *
 * @param cur  in/out: the rest of the list; moves past the element and its comma.
 * @param tok  out: the token with any ";params" after it, trimmed.
 * @return 0; ENOENT at the end; EBADMSG for an empty element or a non-token (@p cur untouched).
 */
int sip_token_next(struct sv_slice *cur, struct sv_slice *tok)
{
    struct sv_slice name, params;
    return sip__token_elem_next(cur, tok, &name, &params);
}

/**
 * Next element "token *(;param)" of a comma list: the shape Require, Supported and the
 * Security-* mechanisms share.
 * @return 0; ENOENT at the end; EBADMSG (@p cur untouched).
 */
int sip__token_elem_next(struct sv_slice *cur, struct sv_slice *elem, struct sv_slice *name,
                         struct sv_slice *params)
{
    struct sv_slice c = *cur, el;
    const char *end, *te;
    int err;

    err = sip__list_next(&c, &el);
    if (err)
        return err;
    end = el.p + el.l;
    te = sip__token_end(el.p, end);
    if (te == el.p)
        return EBADMSG;
    if (sip__params_span(te, end, params) || sip__params_check(*params))
        return EBADMSG;
    *elem = el;
    *name = sip__span(el.p, te);
    *cur = c;
    return 0;
}

/**
 * Decode SIP-ETag or SIP-If-Match (RFC 3903 §11.3): one token.
 *
 * @param tag  out: the entity-tag, trimmed; compare it byte for byte.
 * @param s    the header value.
 * @return 0 or EBADMSG.
 */
int sip_etag_decode(struct sv_slice *tag, struct sv_slice s)
{
    s = sv_slice_trim(s);
    if (!sip__is_token(s))
        return EBADMSG;
    *tag = s;
    return 0;
}
