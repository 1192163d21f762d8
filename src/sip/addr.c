/**
 * @file addr.c  Addresses: name-addr / addr-spec with header parameters (RFC 3261 §20.10,
 * §25.1), the comma-list iterator of Route, Path, P-Asserted-Identity..., and Contact.
 *
 * An address is either a name-addr, `[display-name] "<" URI ">" *(";" param)`, or a bare
 * addr-spec, `URI *(";" param)`. In the bare form every ';' starts a header parameter
 * (RFC 3261 §20), so a URI holding ';', '?' or ',' must come in angle brackets. The URI itself
 * is decoded by sip_uri_decode; the parameter list is checked by the shared helpers of
 * decode_int.h so that every header follows the same rules.
 */
#include "decode_int.h"

/* The first '<' outside quoted strings, or NULL. */
static const char *laquot_find(const char *p, const char *end)
{
    while (p < end) {
        if (*p == '"') {
            p = sip__quoted_end(p, end);
            if (!p)
                return NULL;
            continue;
        }
        if (*p == '<')
            return p;
        p++;
    }
    return NULL;
}

/* display-name = *( token LWS ): tokens separated by linear white space. */
static bool token_dname_ok(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (!sip__is(*p, SIP__C_TOKEN) && !sip__is_lws(*p))
            return false;
    }
    return true;
}

/**
 * Decode one name-addr or addr-spec: From, To, Reply-To, Referred-By, P-Called-Party-ID, one
 * element of a list.
 *
 * @param addr  out: display name, URI and header parameters as slices into @p s; the tag
 *              parameter's value in addr->tag. Written only on success.
 * @param s     the header value; surrounding LWS is ignored.
 * @return 0 or EBADMSG: an unbalanced quote (RFC 4475 quotbal), a display name that is not
 *         tokens (baddn), LWS or a bad character inside the URI (badaspec), a missing '>',
 *         text after the address, a bad parameter, a tag without a token value.
 */
int sip_addr_decode(struct sip_addr *addr, struct sv_slice s)
{
    struct sip_addr a;
    const char *p, *end;
    struct sv_slice tag;

    if (!s.p)
        return EBADMSG;
    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    memset(&a, 0, sizeof(a));
    a.raw = s;
    p = s.p;
    end = s.p + s.l;

    if (*p == '"') {
        const char *q = sip__quoted_end(p, end);
        if (!q)
            return EBADMSG;
        a.dname = sip__span(p + 1, q - 1);
        a.dname_quoted = true;
        p = sip__skip_lws(q, end);
        if (p >= end || *p != '<') /* a display name needs the angle brackets */
            return EBADMSG;
    } else {
        const char *la = laquot_find(p, end);
        if (la) {
            struct sv_slice dn = sv_slice_trim(sip__span(p, la));
            if (!token_dname_ok(p, la))
                return EBADMSG;
            if (dn.l)
                a.dname = dn;
            p = la;
        }
    }

    if (*p == '<') {
        const char *ra = memchr(p + 1, '>', (size_t)(end - (p + 1)));
        if (!ra)
            return EBADMSG;
        a.angle = true;
        a.uri_s = sip__span(p + 1, ra);
        if (sip__params_span(ra + 1, end, &a.params))
            return EBADMSG;
    } else {
        /* addr-spec: the URI ends at the first ';', which starts the header parameters */
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *ue = semi ? semi : end;
        a.uri_s = sv_slice_trim(sip__span(p, ue));
        if (sv_slice_chr(a.uri_s, ',') || sv_slice_chr(a.uri_s, '?'))
            return EBADMSG;
        a.params = sip__span(ue, end);
    }

    if (sip_uri_decode(&a.uri, a.uri_s) || sip__params_check(a.params))
        return EBADMSG;
    if (sip_param_get(a.params, "tag", &tag)) {
        if (!sip__is_token(tag)) /* tag = "tag" EQUAL token */
            return EBADMSG;
        a.tag = tag;
    }
    *addr = a;
    return 0;
}

/**
 * Next address of a comma list (Route, Record-Route, Path, Service-Route, P-Asserted-Identity,
 * P-Associated-URI...). Commas inside quoted strings and inside <...> do not split.
 *
 * @param cur   in/out: the rest of the header value; advanced past the element on success.
 * @param addr  out: the element, decoded as by sip_addr_decode.
 * @return 0; ENOENT when nothing is left; EBADMSG for an empty element (",,", a leading or
 *         trailing comma) or an element that does not decode (@p cur is then unchanged).
 */
int sip_addr_next(struct sv_slice *cur, struct sip_addr *addr)
{
    struct sv_slice c = *cur, el;
    int err;

    err = sip__list_next(&c, &el);
    if (err)
        return err;
    if (sip_addr_decode(addr, el))
        return EBADMSG;
    *cur = c;
    return 0;
}

/*
 * qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 3261 §25.1), as
 * thousandths.
 */
static int qvalue_decode(struct sv_slice v, uint16_t *q)
{
    const char *p = v.p, *end;
    unsigned val, scale = 100;

    if (!v.p || !v.l)
        return EBADMSG;
    end = p + v.l;
    if (*p != '0' && *p != '1')
        return EBADMSG;
    val = (unsigned)(*p++ - '0') * 1000;
    if (p < end) {
        if (*p++ != '.' || end - p > 3)
            return EBADMSG;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return EBADMSG;
            val += (unsigned)(*p - '0') * scale;
            scale /= 10;
        }
    }
    if (val > 1000)
        return EBADMSG;
    *q = (uint16_t)val;
    return 0;
}

/* "*" alone as the next element of a list, from @p p on. */
static bool star_next(const char *p, const char *end)
{
    p = sip__skip_lws(p, end);
    if (p >= end || *p != '*')
        return false;
    p = sip__skip_lws(p + 1, end);
    return p >= end || *p == ',';
}

/**
 * Next element of a Contact value: an address with its contact-params, or the "*" of a
 * REGISTER that removes every binding (RFC 3261 §10.2.2, §20.10).
 *
 * @param cur  in/out: the rest of the header value; advanced on success.
 * @param c    out: the address, or star. expires (delta-seconds, at most 2**32-1) and q
 *             (0..1000, the q-value times 1000) with their has_ flags.
 * @return 0; ENOENT at the end; EBADMSG for a malformed element, an expires that is not
 *         delta-seconds, a q that is not a qvalue, or a "*" that shares its list with another
 *         element. A "*" on a second Contact line is for the message checks to catch.
 */
int sip_contact_next(struct sv_slice *cur, struct sip_contact *c)
{
    struct sip_contact ct;
    struct sv_slice rest = *cur, el, v;
    int err;

    err = sip__list_next(&rest, &el);
    if (err)
        return err;
    memset(&ct, 0, sizeof(ct));

    if (el.l == 1 && el.p[0] == '*') {
        if (rest.l) /* "*" must be alone; a preceding element caught it below */
            return EBADMSG;
        ct.star = true;
    } else {
        if (sip_addr_decode(&ct.addr, el))
            return EBADMSG;
        if (rest.l && star_next(rest.p, rest.p + rest.l))
            return EBADMSG;
        if (sip_param_get(ct.addr.params, "expires", &v)) {
            if (!v.p || sv_slice_u32(v, UINT32_MAX, &ct.expires))
                return EBADMSG;
            ct.has_expires = true;
        }
        if (sip_param_get(ct.addr.params, "q", &v)) {
            if (qvalue_decode(v, &ct.q))
                return EBADMSG;
            ct.has_q = true;
        }
    }
    *c = ct;
    *cur = rest;
    return 0;
}
