/**
 * @file privacy.c  The Privacy header (RFC 3323 §4.2, RFC 3325 §9.3): decoding every line of a
 * message into one set of values, and printing the canonical form (requirements R1-R4).
 */
#include "decode_int.h"

static const struct {
    const char *name;
    unsigned bit;
} priv_names[] = {
    /* also the order in which print emits values that have no token (added by a caller) */
    {"none", SIP_PRIV_NONE},         /* RFC 3323 §4.2 */
    {"header", SIP_PRIV_HEADER},     /* RFC 3323 §4.2 */
    {"session", SIP_PRIV_SESSION},   /* RFC 3323 §4.2 */
    {"user", SIP_PRIV_USER},         /* RFC 3323 §4.2 */
    {"id", SIP_PRIV_ID},             /* RFC 3325 §9.3 */
    {"history", SIP_PRIV_HISTORY},   /* RFC 7044 §4 */
    {"critical", SIP_PRIV_CRITICAL}, /* RFC 3323 §4.2 */
};

static unsigned priv_lookup(struct sv_slice tok)
{
    for (size_t i = 0; i < SV_ARRAY_SIZE(priv_names); i++) {
        if (sv_slice_caseeq_cstr(tok, priv_names[i].name))
            return priv_names[i].bit;
    }
    return 0;
}

static const char *priv_name(unsigned bit)
{
    for (size_t i = 0; i < SV_ARRAY_SIZE(priv_names); i++) {
        if (priv_names[i].bit == bit)
            return priv_names[i].name;
    }
    return NULL;
}

/**
 * Start an empty set of privacy values.
 *
 * @param pv  the set to clear.
 */
void sip_privacy_init(struct sip_privacy *pv)
{
    memset(pv, 0, sizeof(*pv));
}

/* Record one value in @p pv. A known value is kept once (R2); unknown tokens are all kept, in
 * order and as spelt (R1), since a downstream element may understand them. */
static int priv_add(struct sip_privacy *pv, struct sv_slice tok)
{
    unsigned bit = priv_lookup(tok);

    if (bit && (pv->bits & bit)) {
        pv->duplicate = true;
        return 0;
    }
    if (!bit) {
        for (unsigned i = 0; i < pv->ntok; i++) {
            if (!pv->tok_bit[i] && sv_slice_caseeq(pv->tok[i], tok))
                pv->duplicate = true;
        }
    }
    if (pv->ntok >= SIP_PRIV_MAX_TOKENS)
        return EBADMSG;
    pv->tok[pv->ntok] = tok;
    pv->tok_bit[pv->ntok] = bit;
    pv->ntok++;
    pv->bits |= bit;
    if (!bit)
        pv->nunknown++;
    return 0;
}

/**
 * Add the values of one Privacy header line to @p pv.
 *
 * priv-values are tokens separated by ';' or, on input, ',' (R4), with LWS around either.
 * Known values (`history` included: it sets SIP_PRIV_HISTORY, and the caller decides that it
 * is not performed) are compared case-insensitively. The line is all or nothing: on error
 * @p pv is left as it was.
 *
 * @param pv  the set, from sip_privacy_init or earlier lines of the same message.
 * @param s   one header value.
 * @return 0; EBADMSG for an empty value or element, a character outside token, or more than
 *         SIP_PRIV_MAX_TOKENS values (R4: the caller answers 400).
 */
int sip_privacy_decode(struct sip_privacy *pv, struct sv_slice s)
{
    struct sip_privacy nv = *pv;
    const char *p, *end, *ts, *te;
    unsigned nvalues = 0;

    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    p = s.p;
    end = s.p + s.l;
    for (;;) {
        p = sip__skip_lws(p, end);
        ts = p;
        te = sip__token_end(ts, end);
        if (te == ts) /* ";;", a leading or trailing separator, or a non-token character */
            return EBADMSG;
        if (++nvalues > SIP_PRIV_MAX_TOKENS || priv_add(&nv, sip__span(ts, te)))
            return EBADMSG;
        p = sip__skip_lws(te, end);
        if (p >= end)
            break;
        if (*p != ';' && *p != ',')
            return EBADMSG;
        p++;
    }
    *pv = nv;
    return 0;
}

/**
 * Decode every Privacy line of @p msg into @p pv (which is initialised here).
 *
 * @param pv   out: the values of all lines together.
 * @param msg  a parsed message.
 * @return 0; ENOENT when there is no Privacy header; EBADMSG when any line is malformed.
 */
int sip_privacy_get(struct sip_privacy *pv, const struct sip_msg *msg)
{
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_PRIVACY);

    sip_privacy_init(pv);
    if (!h)
        return ENOENT;
    for (; h; h = sip_msg_hdr_next(msg, h)) {
        if (sip_privacy_decode(pv, h->value))
            return EBADMSG;
    }
    return 0;
}

static void put(char *buf, size_t sz, size_t *len, const char *s, size_t l)
{
    if (*len)
        l++; /* the ';' before it */
    if (*len + l < sz) {
        if (*len) {
            buf[*len] = ';';
            memcpy(buf + *len + 1, s, l - 1);
        } else {
            memcpy(buf, s, l);
        }
    }
    *len += l;
}

/**
 * Write the canonical Privacy value (R1, R2): lower case, joined by ';' without spaces, each
 * known value once, unknown tokens as received, `critical` last.
 *
 * Values come in received order. The printed set is pv->bits, so a caller that performs a
 * value clears its bit and it is not printed; a bit set without a token (a value the caller
 * adds, such as `id`) is printed after the received values and before `critical`.
 *
 * @param pv   the values.
 * @param buf  out: the text, NUL-terminated when it fits.
 * @param sz   size of @p buf; the text needs *@p n + 1 octets.
 * @param n    out: length of the text without the NUL, also on ENOSPC.
 * @return 0 or ENOSPC.
 */
int sip_privacy_print(const struct sip_privacy *pv, char *buf, size_t sz, size_t *n)
{
    unsigned done = 0;
    size_t len = 0;

    for (unsigned i = 0; i < pv->ntok && i < SIP_PRIV_MAX_TOKENS; i++) {
        unsigned bit = pv->tok_bit[i];
        if (!bit) {
            put(buf, sz, &len, pv->tok[i].p, pv->tok[i].l);
        } else if (bit != SIP_PRIV_CRITICAL && (pv->bits & bit) && !(done & bit)) {
            const char *name = priv_name(bit);
            if (name)
                put(buf, sz, &len, name, strlen(name));
            done |= bit;
        }
    }
    for (size_t i = 0; i < SV_ARRAY_SIZE(priv_names); i++) {
        unsigned bit = priv_names[i].bit;
        if (bit != SIP_PRIV_CRITICAL && (pv->bits & bit) && !(done & bit))
            put(buf, sz, &len, priv_names[i].name, strlen(priv_names[i].name));
    }
    if (pv->bits & SIP_PRIV_CRITICAL)
        put(buf, sz, &len, "critical", 8);

    *n = len;
    if (len >= sz)
        return ENOSPC;
    buf[len] = '\0';
    return 0;
}
