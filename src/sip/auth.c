/**
 * @file auth.c  Authorization, Proxy-Authorization, WWW-Authenticate and Proxy-Authenticate
 * (RFC 3261 §25.1, RFC 7616 for Digest, RFC 3310 and TS 24.229 for AKA and
 * integrity-protected).
 */
#include "decode_int.h"

/**
 * Next auth-param of a comma list: name "=" (token / quoted-string), LWS allowed around '='
 * and the commas.
 *
 * @param cur  in/out: the rest of the list; moves past the parameter and its comma.
 * @param prm  out: the name, and the value without its quotes (escapes kept).
 * @return 0; ENOENT at the end; EBADMSG for an empty element, a missing '=', a value that is
 *         neither token nor terminated quoted-string, or a trailing comma (@p cur untouched).
 */
int sip_auth_param_next(struct sv_slice *cur, struct sip_param *prm)
{
    const char *p, *end, *ns, *ne, *vs, *ve;

    if (!sip__cursor_begin(cur, &p, &end))
        return ENOENT;
    ns = p;
    ne = sip__token_end(ns, end);
    if (ne == ns)
        return EBADMSG;
    p = sip__skip_lws(ne, end);
    if (p >= end || *p != '=')
        return EBADMSG;
    p = sip__skip_lws(p + 1, end);
    if (p < end && *p == '"') {
        const char *q = sip__quoted_end(p, end);
        if (!q)
            return EBADMSG;
        vs = p + 1;
        ve = q - 1;
        p = q;
    } else {
        vs = p;
        ve = p = sip__token_end(p, end);
        if (ve == vs)
            return EBADMSG;
    }
    p = sip__skip_lws(p, end);
    if (p < end) {
        if (*p != ',')
            return EBADMSG;
        p = sip__skip_lws(p + 1, end);
        if (p >= end || *p == ',')
            return EBADMSG;
    }
    prm->name = sip__span(ns, ne);
    prm->value = sip__span(vs, ve);
    *cur = sip__span(p, end);
    return 0;
}

/* Where each Digest parameter goes. Each may occur once (RFC 7616 §3.4 lists every
 * directive at most once): a second realm or response would let two readers disagree. */
static struct sv_slice *digest_field(struct sip_auth *au, struct sv_slice name)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"username", offsetof(struct sip_auth, username)},
        {"realm", offsetof(struct sip_auth, realm)},
        {"nonce", offsetof(struct sip_auth, nonce)},
        {"uri", offsetof(struct sip_auth, uri)},
        {"response", offsetof(struct sip_auth, response)},
        {"algorithm", offsetof(struct sip_auth, algorithm)},
        {"cnonce", offsetof(struct sip_auth, cnonce)},
        {"opaque", offsetof(struct sip_auth, opaque)},
        {"qop", offsetof(struct sip_auth, qop)},
        {"nc", offsetof(struct sip_auth, nc)},
        {"stale", offsetof(struct sip_auth, stale)},
        {"domain", offsetof(struct sip_auth, domain)},
        {"auts", offsetof(struct sip_auth, auts)},
        {"integrity-protected", offsetof(struct sip_auth, integrity_protected)},
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(fields); i++) {
        if (sv_slice_caseeq_cstr(name, fields[i].name))
            return (struct sv_slice *)(void *)((char *)au + fields[i].off);
    }
    return NULL;
}

/**
 * Decode a credentials or challenge value: auth-scheme LWS auth-params.
 *
 * For Digest, every parameter must be well formed and the known ones fill the fields of
 * @p au, without their quotes. Any other scheme (RFC 4475 regaut01; Bearer tokens of
 * RFC 8898) is taken as it comes: scheme and raw params only, the fields unset.
 *
 * @param au  out: the decoded header; slices point into @p s.
 * @param s   the header value.
 * @return 0 or EBADMSG.
 */
int sip_auth_decode(struct sip_auth *au, struct sv_slice s)
{
    const char *p, *end, *se;
    struct sv_slice cur;
    struct sip_param prm;
    int err;

    memset(au, 0, sizeof(*au));
    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    p = s.p;
    end = s.p + s.l;
    se = sip__token_end(p, end);
    if (se == p)
        return EBADMSG;
    p = sip__skip_lws(se, end);
    if (p == se || p >= end) /* the scheme needs LWS and at least one parameter */
        return EBADMSG;
    au->scheme = sip__span(s.p, se);
    au->params = sip__span(p, end);
    if (!sv_slice_caseeq_cstr(au->scheme, "Digest"))
        return 0;

    cur = au->params;
    while ((err = sip_auth_param_next(&cur, &prm)) == 0) {
        struct sv_slice *f = digest_field(au, prm.name);
        if (!f)
            continue; /* an extension auth-param */
        if (f->p)
            return EBADMSG;
        *f = prm.value;
    }
    return err == ENOENT ? 0 : EBADMSG;
}
