/**
 * @file uri.c  URIs: decoding sip:, sips: (RFC 3261 §19.1, §25.1), tel: (RFC 3966) and any
 * other absoluteURI; %-unescaping; and equality by RFC 3261 §19.1.4 and RFC 3966 §4.
 *
 * The decoder only checks characters against the ABNF and records slices; it never copies.
 * Escapes stay in the slices, so comparison walks both sides one decoded octet at a time,
 * remembering whether each octet was written as %XX: RFC 3261 §19.1.4 makes an escaped
 * character equal to the plain one unless the character is reserved (";" "/" "?" ":" "@"
 * "&" "=" "+" "$" ","), because escaping a reserved character changes what it means.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "sip_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Characters and escapes                                                                     */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "%" HEX HEX starting at p, all of it before end. */
static bool escape_ok(const char *p, const char *end)
{
    return end - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0;
}

static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL; /* set is our own literal, NUL-terminated */
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/*
 * Check that [p, end) holds only characters of class @p cls, characters of @p extra, and
 * well-formed escapes. @p nonempty: at least one character is required.
 */
static int check_chars(const char *p, const char *end, unsigned cls, const char *extra,
                       bool nonempty)
{
    if (nonempty && p >= end)
        return EBADMSG;
    while (p < end) {
        if (*p == '%') {
            if (!escape_ok(p, end))
                return EBADMSG;
            p += 3;
            continue;
        }
        if (!sip__is(*p, cls) && !(extra && in_set(*p, extra)))
            return EBADMSG;
        p++;
    }
    return 0;
}

/* RFC 3261 §25.1 character sets, as class plus extra characters. */
#define USER_CLS SIP__C_USER /* unreserved / user-unreserved */
#define PASS_CLS SIP__C_UNRESERVED
#define PASS_EXTRA "&=+$,"
#define PARAM_CLS SIP__C_PARAM /* unreserved / param-unreserved */
#define HNV_CLS SIP__C_UNRESERVED
#define HNV_EXTRA "[]/?:+$" /* hnv-unreserved */
/* RFC 2396 reserved, the set whose escaped form is not equal to the plain character */
#define RESERVED ";/?:@&=+$,"

/**
 * %-unescape a slice.
 *
 * @param s      the escaped text.
 * @param dst    out: the decoded octets, not NUL-terminated (may be NULL when @p dstsz is 0).
 * @param dstsz  size of @p dst.
 * @param n      out (may be NULL): the decoded length, also on ENOSPC, so a caller can size
 *               its buffer with a first call.
 * @return 0; ENOSPC when @p dst is too small (the first @p dstsz octets are written);
 *         EBADMSG when a '%' is not followed by two hex digits (*@p n untouched).
 */
int sip_unescape(struct sv_slice s, char *dst, size_t dstsz, size_t *n)
{
    const char *p = s.p, *end = s.p ? s.p + s.l : s.p; /* no arithmetic on NULL */
    size_t o = 0;

    while (p < end) {
        char c = *p;
        if (c == '%') {
            if (!escape_ok(p, end))
                return EBADMSG;
            c = (char)(hexval(p[1]) << 4 | hexval(p[2]));
            p += 3;
        } else {
            p++;
        }
        if (o < dstsz)
            dst[o] = c;
        o++;
    }
    if (n)
        *n = o;
    return o > dstsz ? ENOSPC : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                   */

/* uri-parameters: *( ";" pname [ "=" pvalue ] ), pname and pvalue 1*paramchar. @p p is at the
 * first ';' or at end. */
static int sip_params_check(const char *p, const char *end)
{
    while (p < end) {
        const char *s = ++p, *e, *eq;
        while (p < end && *p != ';')
            p++;
        e = p;
        eq = memchr(s, '=', (size_t)(e - s));
        if (check_chars(s, eq ? eq : e, PARAM_CLS, NULL, true))
            return EBADMSG;
        if (eq && check_chars(eq + 1, e, PARAM_CLS, NULL, true))
            return EBADMSG;
    }
    return 0;
}

/* headers: hname "=" hvalue *( "&" hname "=" hvalue ); hname non-empty, hvalue may be. */
static int sip_headers_check(const char *p, const char *end)
{
    for (;;) {
        const char *s = p, *e, *eq;
        while (p < end && *p != '&')
            p++;
        e = p;
        eq = memchr(s, '=', (size_t)(e - s));
        if (!eq || check_chars(s, eq, HNV_CLS, HNV_EXTRA, true) ||
            check_chars(eq + 1, e, HNV_CLS, HNV_EXTRA, false))
            return EBADMSG;
        if (p >= end)
            return 0;
        p++; /* '&' */
    }
}

/*
 * sip:/sips: after the scheme's colon:
 *   [ user [ ":" password ] "@" ] host [ ":" port ] *( ";" param ) [ "?" headers ]
 * A valid URI holds at most one unescaped '@' (user, password, params and headers all exclude
 * it), but the user part may hold ';' and '?' (user-unreserved, RFC 4475 semiuri), so the
 * userinfo cannot be cut at the first ';' or '?': it ends at the last '@'. Any other '@' is
 * then inside the userinfo and fails its character check.
 */
static int sip_body_decode(struct sip_uri *uri, const char *p, const char *end)
{
    const char *at = NULL, *q, *ps;
    enum sip_host_type ht;
    size_t hl;

    for (q = end; q > p; q--) {
        if (q[-1] == '@') {
            at = q - 1;
            break;
        }
    }
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p)); /* user excludes ':' */
        const char *ue = colon ? colon : at;
        if (check_chars(p, ue, USER_CLS, NULL, true))
            return EBADMSG;
        uri->user = sip__span(p, ue);
        if (colon) {
            if (check_chars(colon + 1, at, PASS_CLS, PASS_EXTRA, false))
                return EBADMSG;
            uri->password = sip__span(colon + 1, at);
        }
        p = at + 1;
    }

    if (sip__host_decode(sip__span(p, end), &ht, &hl))
        return EBADMSG;
    uri->host = sv_slice_make(p, hl);
    uri->host_type = ht;
    p += hl;

    if (p < end && *p == ':') {
        const char *ds = ++p;
        uint32_t v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            v = v * 10 + (uint32_t)(*p - '0');
            if (v > 65535)
                return EBADMSG;
            p++;
        }
        if (p == ds)
            return EBADMSG;
        uri->port = (uint16_t)v;
        uri->has_port = true;
    }
    if (p < end && *p != ';' && *p != '?')
        return EBADMSG;

    ps = p;
    while (p < end && *p != '?') /* paramchar excludes '?', so the first one starts headers */
        p++;
    if (sip_params_check(ps, p))
        return EBADMSG;
    uri->params = sip__span(ps, p);
    if (p < end) {
        if (sip_headers_check(p + 1, end))
            return EBADMSG;
        uri->headers = sip__span(p + 1, end);
    }
    return 0;
}

static bool is_vsep(char c)
{
    return c == '-' || c == '.' || c == '(' || c == ')';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* global-number-digits = "+" *phonedigit DIGIT *phonedigit (RFC 3966 §3) */
static bool global_digits_ok(const char *p, const char *end)
{
    bool digit = false;

    if (p >= end || *p != '+')
        return false;
    for (p++; p < end; p++) {
        if (is_digit(*p))
            digit = true;
        else if (!is_vsep(*p))
            return false;
    }
    return digit;
}

/* local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex */
static bool local_digits_ok(const char *p, const char *end)
{
    bool digit = false;

    for (; p < end; p++) {
        if (sip__is(*p, SIP__C_HEX) || *p == '*' || *p == '#')
            digit = true;
        else if (!is_vsep(*p))
            return false;
    }
    return digit;
}

/* domainname = *( domainlabel "." ) toplabel [ "." ], checked loosely: alphanum, '-', '.' */
static bool domain_ok(const char *p, const char *end)
{
    if (p >= end || !sip__is(*p, SIP__C_ALNUM))
        return false;
    for (; p < end; p++) {
        if (!sip__is(*p, SIP__C_ALNUM) && *p != '-' && *p != '.')
            return false;
    }
    return true;
}

/*
 * tel: after the scheme's colon (RFC 3966 §3):
 *   telephone-subscriber = global-number / local-number
 *   global-number = global-number-digits *par
 *   local-number  = local-number-digits *par context *par   (context = ";phone-context=")
 *   par = ";" pname [ "=" pvalue ], pname = 1*( alphanum / "-" ), pvalue = 1*paramchar
 * A local number without phone-context is refused: RFC 3966 makes the context mandatory so
 * that a local number is never taken for one of another network.
 */
static int tel_body_decode(struct sip_uri *uri, const char *p, const char *end)
{
    const char *ns = p, *ne;
    bool global, has_ctx = false;

    while (p < end && *p != ';')
        p++;
    ne = p;
    global = ne > ns && *ns == '+';
    if (global ? !global_digits_ok(ns, ne) : !local_digits_ok(ns, ne))
        return EBADMSG;
    uri->user = sip__span(ns, ne);
    uri->params = sip__span(ne, end);

    while (p < end) {
        const char *s = ++p, *e, *eq, *q;
        while (p < end && *p != ';')
            p++;
        e = p;
        eq = memchr(s, '=', (size_t)(e - s));
        struct sv_slice name = sip__span(s, eq ? eq : e);
        if (!name.l)
            return EBADMSG;
        for (q = s; q < name.p + name.l; q++) {
            if (!sip__is(*q, SIP__C_ALNUM) && *q != '-')
                return EBADMSG;
        }
        if (eq && check_chars(eq + 1, e, PARAM_CLS, NULL, true))
            return EBADMSG;
        if (sv_slice_caseeq_cstr(name, "phone-context")) {
            /* descriptor = domainname / global-number-digits */
            if (!eq || has_ctx)
                return EBADMSG;
            const char *vs = eq + 1;
            bool ok = (vs < e && *vs == '+') ? global_digits_ok(vs, e) : domain_ok(vs, e);
            if (!ok)
                return EBADMSG;
            has_ctx = true;
        } else if (sv_slice_caseeq_cstr(name, "ext")) {
            /* extension = ";ext=" 1*phonedigit */
            bool digit = false;
            if (!eq)
                return EBADMSG;
            for (q = eq + 1; q < e; q++) {
                if (is_digit(*q))
                    digit = true;
                else if (!is_vsep(*q))
                    return EBADMSG;
            }
            if (!digit)
                return EBADMSG;
        }
    }
    if (!global && !has_ctx)
        return EBADMSG;
    return 0;
}

/* Any other absoluteURI (RFC 3261 §25.1, RFC 2396 §3): the part after "scheme:" must be
 * non-empty uric characters (reserved / unreserved / escaped); "[" and "]" are allowed for
 * IPv6 literals (RFC 2732). */
static int other_body_check(const char *p, const char *end)
{
    return check_chars(p, end, SIP__C_UNRESERVED, RESERVED "[]", true);
}

/**
 * Decode one URI.
 *
 * @param uri  out: the parts, as slices into @p s; written only on success.
 * @param s    exactly the URI, without surrounding whitespace or angle brackets.
 * @return 0 or EBADMSG.
 */
int sip_uri_decode(struct sip_uri *uri, struct sv_slice s)
{
    struct sip_uri u;
    const char *p = s.p, *end, *colon;
    int err;

    if (!s.p || !s.l)
        return EBADMSG;
    end = p + s.l;
    memset(&u, 0, sizeof(u));
    u.raw = s;

    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (!sip__is(*p, SIP__C_ALNUM) || is_digit(*p))
        return EBADMSG;
    for (colon = p + 1; colon < end && *colon != ':'; colon++) {
        char c = *colon;
        if (!sip__is(c, SIP__C_ALNUM) && c != '+' && c != '-' && c != '.')
            return EBADMSG;
    }
    if (colon >= end)
        return EBADMSG;
    u.scheme_s = sip__span(p, colon);
    p = colon + 1;

    if (sv_slice_caseeq_cstr(u.scheme_s, "sip") || sv_slice_caseeq_cstr(u.scheme_s, "sips")) {
        u.scheme = u.scheme_s.l == 3 ? SIP_URI_SIP : SIP_URI_SIPS;
        err = sip_body_decode(&u, p, end);
    } else if (sv_slice_caseeq_cstr(u.scheme_s, "tel")) {
        u.scheme = SIP_URI_TEL;
        err = tel_body_decode(&u, p, end);
    } else {
        u.scheme = SIP_URI_OTHER;
        err = other_body_check(p, end);
    }
    if (err)
        return EBADMSG;
    *uri = u;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Comparison                                                                                 */

/* A reader of decoded octets. */
struct ucur {
    const char *p, *end;
};

/* @return 1 with the next octet in *c (*esc: it was written %XX), 0 at the end, -1 on a
 * broken escape. */
static int ucur_next(struct ucur *u, unsigned char *c, bool *esc)
{
    if (u->p >= u->end)
        return 0;
    if (*u->p == '%') {
        if (!escape_ok(u->p, u->end))
            return -1;
        *c = (unsigned char)(hexval(u->p[1]) << 4 | hexval(u->p[2]));
        *esc = true;
        u->p += 3;
        return 1;
    }
    *c = (unsigned char)*u->p++;
    *esc = false;
    return 1;
}

static struct ucur ucur_make(struct sv_slice s)
{
    struct ucur u = {s.p, s.p ? s.p + s.l : s.p};
    return u;
}

/*
 * Equality of two escaped texts: octet by octet after unescaping, where an escaped reserved
 * character differs from the plain one (RFC 3261 §19.1.4). @p icase folds ASCII case.
 * A broken escape on either side compares unequal.
 */
static bool esc_eq(struct sv_slice a, struct sv_slice b, bool icase)
{
    struct ucur ua = ucur_make(a), ub = ucur_make(b);

    for (;;) {
        unsigned char ca = 0, cb = 0;
        bool ea = false, eb = false;
        int ra = ucur_next(&ua, &ca, &ea), rb = ucur_next(&ub, &cb, &eb);
        if (ra < 0 || rb < 0)
            return false;
        if (ra == 0 || rb == 0)
            return ra == rb;
        if (icase) {
            ca = lower(ca);
            cb = lower(cb);
        }
        if (ca != cb)
            return false;
        if (ea != eb && in_set((char)ca, RESERVED))
            return false;
    }
}

static bool esc_eq_cstr(struct sv_slice a, const char *s)
{
    return esc_eq(a, sv_slice_cstr(s), true);
}

/* Both unset, or both set and equal. */
static bool opt_esc_eq(struct sv_slice a, struct sv_slice b, bool icase)
{
    if (!a.p || !b.p)
        return !a.p && !b.p;
    return esc_eq(a, b, icase);
}

/* Next ";name[=value]" of a decoded URI's params (validated: no empty element). */
static bool uparam_next(struct sv_slice *cur, struct sv_slice *name, struct sv_slice *val)
{
    const char *p = cur->p, *end, *s, *eq;

    if (!cur->p || !cur->l)
        return false;
    end = p + cur->l;
    if (*p == ';')
        p++;
    s = p;
    while (p < end && *p != ';')
        p++;
    eq = memchr(s, '=', (size_t)(p - s));
    *name = sip__span(s, eq ? eq : p);
    *val = eq ? sip__span(eq + 1, p) : sv_slice_make(NULL, 0);
    *cur = sip__span(p, end);
    return true;
}

/* The first parameter of @p params named @p name (escapes decoded, case folded). */
static bool uparam_find(struct sv_slice params, struct sv_slice name, struct sv_slice *val)
{
    struct sv_slice n, v;

    while (uparam_next(&params, &n, &v)) {
        if (esc_eq(n, name, true)) {
            *val = v;
            return true;
        }
    }
    return false;
}

/* Digits equal after removing visual separators (RFC 3966 §4), case-insensitive (local
 * numbers may hold hex digits). */
static bool phone_eq(struct sv_slice a, struct sv_slice b)
{
    size_t i = 0, j = 0;

    for (;;) {
        while (i < a.l && is_vsep(a.p[i]))
            i++;
        while (j < b.l && is_vsep(b.p[j]))
            j++;
        if (i == a.l || j == b.l)
            return i == a.l && j == b.l;
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[j]))
            return false;
        i++;
        j++;
    }
}

/* Values of a parameter present in both URIs. */
static bool param_val_eq(enum sip_uri_scheme sch, struct sv_slice name, struct sv_slice a,
                         struct sv_slice b)
{
    if (!a.p || !b.p)
        return !a.p && !b.p;
    if (sch == SIP_URI_TEL) {
        /* phone-context: digit by digit when global-number-digits, else as a host name */
        if (esc_eq_cstr(name, "phone-context") && a.l && b.l && (a.p[0] == '+' || b.p[0] == '+'))
            return phone_eq(a, b);
        if (esc_eq_cstr(name, "ext"))
            return phone_eq(a, b);
    }
    return esc_eq(a, b, true);
}

/* RFC 3261 §19.1.4: these must match even when only one URI has them. */
static bool param_always_compared(struct sv_slice name)
{
    return esc_eq_cstr(name, "user") || esc_eq_cstr(name, "ttl") || esc_eq_cstr(name, "method") ||
           esc_eq_cstr(name, "maddr") || esc_eq_cstr(name, "transport");
}

/*
 * Every parameter of @p a checked against the first of that name in @p b. Called both ways,
 * so the result does not depend on the order of the arguments. For tel: (RFC 3966 §4) a
 * parameter missing on one side makes the URIs differ; for sip: only the five of
 * param_always_compared do.
 */
static bool params_cover(enum sip_uri_scheme sch, struct sv_slice a, struct sv_slice b)
{
    struct sv_slice cur = a, n, v, bv;

    while (uparam_next(&cur, &n, &v)) {
        if (!uparam_find(b, n, &bv)) {
            if (sch == SIP_URI_TEL || param_always_compared(n))
                return false;
            continue;
        }
        if (!param_val_eq(sch, n, v, bv))
            return false;
    }
    return true;
}

/* Next "name=value" of a headers component (validated: each holds '='). The cursor becomes
 * unset after the last one, so an empty header is never produced. */
static bool uhdr_next(struct sv_slice *cur, struct sv_slice *name, struct sv_slice *val)
{
    const char *p = cur->p, *end, *s, *eq;

    if (!cur->p)
        return false;
    end = p + cur->l;
    s = p;
    while (p < end && *p != '&')
        p++;
    eq = memchr(s, '=', (size_t)(p - s));
    *name = sip__span(s, eq ? eq : p);
    *val = eq ? sip__span(eq + 1, p) : sv_slice_make(p, 0);
    *cur = p < end ? sip__span(p + 1, end) : sv_slice_make(NULL, 0);
    return true;
}

/* Header names are case-insensitive; values compare by the default rule of RFC 3261
 * §7.3.1 (case-insensitive), after unescaping. */
static unsigned uhdr_count(struct sv_slice hs, struct sv_slice name, struct sv_slice val)
{
    struct sv_slice n, v;
    unsigned k = 0;

    while (uhdr_next(&hs, &n, &v)) {
        if (esc_eq(n, name, true) && esc_eq(v, val, true))
            k++;
    }
    return k;
}

/* Headers are never ignored (RFC 3261 §19.1.4): the same multiset on both sides, in any
 * order. */
static bool headers_eq(struct sv_slice a, struct sv_slice b)
{
    struct sv_slice cur = b, n, v;
    unsigned na = 0, nb = 0;

    if (!a.p || !b.p)
        return !a.p && !b.p;
    while (uhdr_next(&cur, &n, &v))
        nb++;
    cur = a;
    while (uhdr_next(&cur, &n, &v)) {
        na++;
        if (uhdr_count(a, n, v) != uhdr_count(b, n, v))
            return false;
    }
    return na == nb;
}

static bool ipv4_bin(struct sv_slice s, uint8_t out[4])
{
    unsigned part = 0, v = 0, digits = 0;

    for (size_t i = 0; i <= s.l; i++) {
        if (i == s.l || s.p[i] == '.') {
            if (!digits || v > 255 || part > 3)
                return false;
            out[part++] = (uint8_t)v;
            v = 0;
            digits = 0;
        } else if (is_digit(s.p[i]) && digits < 3) {
            v = v * 10 + (unsigned)(s.p[i] - '0');
            digits++;
        } else {
            return false;
        }
    }
    return part == 4;
}

static bool ipv6_bin(struct sv_slice s, uint8_t out[16])
{
    char buf[64];

    if (s.l < 3 || s.l - 2 >= sizeof(buf) || s.p[0] != '[' || s.p[s.l - 1] != ']')
        return false;
    memcpy(buf, s.p + 1, s.l - 2);
    buf[s.l - 2] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1;
}

/* RFC 3261 §19.1.4 with RFC 5954 §4: hosts compare case-insensitively, and two textual forms
 * of the same IP address match. A host name never matches an address. */
static bool host_eq(const struct sip_uri *a, const struct sip_uri *b)
{
    uint8_t ba[16], bb[16];

    if (a->host_type != b->host_type)
        return false;
    if (a->host_type == SIP_HOST_IPV4 && ipv4_bin(a->host, ba) && ipv4_bin(b->host, bb))
        return memcmp(ba, bb, 4) == 0;
    if (a->host_type == SIP_HOST_IPV6 && ipv6_bin(a->host, ba) && ipv6_bin(b->host, bb))
        return memcmp(ba, bb, 16) == 0;
    return sv_slice_caseeq(a->host, b->host);
}

static bool sip_uri_equal_sip(const struct sip_uri *a, const struct sip_uri *b)
{
    /* userinfo is case-sensitive; a part present on one side only makes them differ */
    if (!opt_esc_eq(a->user, b->user, false) || !opt_esc_eq(a->password, b->password, false))
        return false;
    if (!host_eq(a, b))
        return false;
    if (a->has_port != b->has_port || a->port != b->port)
        return false;
    if (!params_cover(a->scheme, a->params, b->params) ||
        !params_cover(a->scheme, b->params, a->params))
        return false;
    return headers_eq(a->headers, b->headers);
}

static bool sip_uri_equal_tel(const struct sip_uri *a, const struct sip_uri *b)
{
    bool ga = a->user.l && a->user.p[0] == '+', gb = b->user.l && b->user.p[0] == '+';

    if (ga != gb || !phone_eq(a->user, b->user))
        return false;
    return params_cover(a->scheme, a->params, b->params) &&
           params_cover(a->scheme, b->params, a->params);
}

/**
 * Compare two decoded URIs.
 *
 * sip/sips follow RFC 3261 §19.1.4: userinfo case-sensitive, the rest case-insensitive,
 * escaped and plain unreserved characters equal, port/user/ttl/method/maddr/transport
 * present on one side only never equal, other parameters compared only when on both sides,
 * headers always compared. tel follows RFC 3966 §4. Other schemes compare the scheme
 * case-insensitively and the rest octet by octet.
 *
 * @param a, b  URIs filled by sip_uri_decode.
 * @return true when equal; false for different schemes or an undecodable escape.
 */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b)
{
    if (a->scheme != b->scheme)
        return false;
    switch (a->scheme) {
    case SIP_URI_SIP:
    case SIP_URI_SIPS:
        return sip_uri_equal_sip(a, b);
    case SIP_URI_TEL:
        return sip_uri_equal_tel(a, b);
    case SIP_URI_OTHER:
    default: {
        struct sv_slice ra = a->raw, rb = b->raw;
        size_t sa = a->scheme_s.l + 1, sb = b->scheme_s.l + 1;
        if (!sv_slice_caseeq(a->scheme_s, b->scheme_s) || ra.l < sa || rb.l < sb)
            return false;
        return sv_slice_eq(sv_slice_make(ra.p + sa, ra.l - sa),
                           sv_slice_make(rb.p + sb, rb.l - sb));
    }
    }
}
