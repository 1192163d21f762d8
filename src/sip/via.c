/**
 * @file via.c  The Via header (RFC 3261 §20.42, §25.1; rport from RFC 3581).
 */
#include "decode_int.h"

/* Digits of @p s as a number no greater than @p max; at most 10 digits are read so a long
 * run cannot overflow. */
static int num_decode(struct sv_slice s, uint32_t max, uint32_t *out)
{
    if (!s.l || s.l > 10)
        return EBADMSG;
    return sv_slice_u32(s, max, out) ? EBADMSG : 0;
}

/* A parameter that carries a value: present, not empty and not quoted. */
static bool plain_value(const struct sip_param *prm)
{
    return prm->value.p && prm->value.l && prm->value.p[0] != '"';
}

/* The known via-params; each may occur once, so that no two layers can read different
 * branches or received addresses out of one header. */
static int param_apply(struct sip_via *via, const struct sip_param *prm, unsigned *seen)
{
    enum { BRANCH = 1, RECEIVED = 2, MADDR = 4, RPORT = 8, TTL = 16 };
    uint32_t v;
    unsigned bit;

    if (sv_slice_caseeq_cstr(prm->name, "branch"))
        bit = BRANCH;
    else if (sv_slice_caseeq_cstr(prm->name, "received"))
        bit = RECEIVED;
    else if (sv_slice_caseeq_cstr(prm->name, "maddr"))
        bit = MADDR;
    else if (sv_slice_caseeq_cstr(prm->name, "rport"))
        bit = RPORT;
    else if (sv_slice_caseeq_cstr(prm->name, "ttl"))
        bit = TTL;
    else
        return 0; /* via-extension: kept in params */
    if (*seen & bit)
        return EBADMSG;
    *seen |= bit;

    switch (bit) {
    case BRANCH:
        if (!plain_value(prm))
            return EBADMSG;
        via->branch = prm->value;
        break;
    case RECEIVED:
        /* IPv4 or IPv6, bracketed or not (RFC 5118 §4.5); a plain value is enough here */
        if (!plain_value(prm))
            return EBADMSG;
        via->received = prm->value;
        break;
    case MADDR: {
        enum sip_host_type ht;
        size_t n;
        if (!plain_value(prm) || sip__host_decode(prm->value, &ht, &n) || n != prm->value.l)
            return EBADMSG;
        via->maddr = prm->value;
        break;
    }
    case RPORT:
        via->rport = true;
        if (prm->value.p) {
            if (!plain_value(prm) || num_decode(prm->value, 65535, &v))
                return EBADMSG;
            via->rport_val = (uint16_t)v;
        }
        break;
    case TTL:
        if (!plain_value(prm) || prm->value.l > 3 || num_decode(prm->value, 255, &v))
            return EBADMSG;
        via->ttl = (int)v;
        break;
    }
    return 0;
}

/* Decode one via-parm; @p s is the element, trimmed. */
static int via_decode(struct sip_via *via, struct sv_slice s)
{
    const char *p = s.p, *end = s.p + s.l, *a, *b;
    struct sv_slice part[3], cur;
    struct sip_param prm;
    unsigned seen = 0;
    size_t n;
    int err;

    memset(via, 0, sizeof(*via));
    via->ttl = -1;
    via->raw = s;

    /* sent-protocol = protocol-name SLASH protocol-version SLASH transport, where SLASH
     * allows LWS on both sides (RFC 4475 wsinv folds lines there) */
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            p = sip__skip_lws(p, end);
            if (p >= end || *p != '/')
                return EBADMSG;
            p = sip__skip_lws(p + 1, end);
        }
        a = p;
        p = sip__token_end(p, end);
        if (p == a)
            return EBADMSG;
        part[i] = sip__span(a, p);
    }
    via->proto = part[0];
    via->version = part[1];
    via->transport = part[2];

    /* LWS sent-by */
    a = sip__skip_lws(p, end);
    if (a == p || a >= end)
        return EBADMSG;
    err = sip__host_decode(sip__span(a, end), &via->host_type, &n);
    if (err)
        return EBADMSG;
    via->host = sv_slice_make(a, n);
    p = a + n;

    /* [COLON port], COLON = SWS ":" SWS */
    a = sip__skip_lws(p, end);
    if (a < end && *a == ':') {
        uint32_t port;
        a = sip__skip_lws(a + 1, end);
        b = a;
        while (b < end && *b >= '0' && *b <= '9')
            b++;
        if (num_decode(sip__span(a, b), 65535, &port))
            return EBADMSG;
        via->port = (uint16_t)port;
        via->has_port = true;
        p = b;
    }

    if (sip__params_span(p, end, &via->params))
        return EBADMSG;
    cur = via->params;
    while ((err = sip__param_next(&cur, &prm)) == 0) {
        if (param_apply(via, &prm, &seen))
            return EBADMSG;
    }
    return err == ENOENT ? 0 : EBADMSG;
}

/**
 * Decode the next via-parm of a Via header value. One line may carry several, separated by
 * commas.
 *
 * @param cur  in/out: the rest of the value; moves past the via-parm and its comma.
 * @param via  out: the decoded via-parm; its slices point into @p cur's buffer.
 * @return 0; ENOENT when nothing is left; EBADMSG (@p cur untouched, @p via undefined).
 */
int sip_via_next(struct sv_slice *cur, struct sip_via *via)
{
    struct sv_slice c = *cur, elem;
    int err;

    err = sip__list_next(&c, &elem);
    if (err)
        return err;
    err = via_decode(via, elem);
    if (err)
        return err;
    *cur = c;
    return 0;
}

/**
 * @param via  a decoded via-parm.
 * @return true if its branch begins with the magic cookie "z9hG4bK" (case-sensitive,
 * RFC 3261 §8.1.1.7) and has something after it. A bare cookie (RFC 4475 badbranch) is no
 * unique transaction id, so such a request gets RFC 2543 matching, which RFC 4475 §3.2.1
 * allows.
 */
bool sip_via_branch_is_rfc3261(const struct sip_via *via)
{
    return via->branch.p && via->branch.l > 7 && memcmp(via->branch.p, "z9hG4bK", 7) == 0;
}
