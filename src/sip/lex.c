/**
 * @file lex.c  Character classes, quoted strings, parameter lists and hosts: the lexing
 * pieces every decoder shares.
 */
#include "sip_int.h"

#define T SIP__C_TOKEN
#define W SIP__C_WS
#define A (SIP__C_ALNUM | SIP__C_UNRESERVED | SIP__C_USER | SIP__C_PARAM | SIP__C_TOKEN)
#define D (A | SIP__C_DIGIT | SIP__C_HEX)
#define H (A | SIP__C_HEX)
#define M (SIP__C_UNRESERVED | SIP__C_USER | SIP__C_PARAM) /* mark */

/* Built by hand from RFC 3261 §25.1. */
// clang-format off
const uint8_t sip__ctype[256] = {
    ['\t'] = W,
    [' '] = W,
    ['!'] = T | M,
    ['$'] = SIP__C_USER | SIP__C_PARAM,
    ['%'] = T,
    ['&'] = SIP__C_USER | SIP__C_PARAM,
    ['\''] = T | M,
    ['('] = M,
    [')'] = M,
    ['*'] = T | M,
    ['+'] = T | SIP__C_USER | SIP__C_PARAM,
    [','] = SIP__C_USER,
    ['-'] = T | M,
    ['.'] = T | M,
    ['/'] = SIP__C_USER | SIP__C_PARAM,
    ['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D,
    ['5'] = D, ['6'] = D, ['7'] = D, ['8'] = D, ['9'] = D,
    [':'] = SIP__C_PARAM,
    [';'] = SIP__C_USER,
    ['='] = SIP__C_USER,
    ['?'] = SIP__C_USER,
    ['A'] = H, ['B'] = H, ['C'] = H, ['D'] = H, ['E'] = H, ['F'] = H,
    ['G'] = A, ['H'] = A, ['I'] = A, ['J'] = A, ['K'] = A, ['L'] = A, ['M'] = A, ['N'] = A,
    ['O'] = A, ['P'] = A, ['Q'] = A, ['R'] = A, ['S'] = A, ['T'] = A, ['U'] = A, ['V'] = A,
    ['W'] = A, ['X'] = A, ['Y'] = A, ['Z'] = A,
    ['['] = SIP__C_PARAM,
    [']'] = SIP__C_PARAM,
    ['_'] = T | M,
    ['`'] = T,
    ['a'] = H, ['b'] = H, ['c'] = H, ['d'] = H, ['e'] = H, ['f'] = H,
    ['g'] = A, ['h'] = A, ['i'] = A, ['j'] = A, ['k'] = A, ['l'] = A, ['m'] = A, ['n'] = A,
    ['o'] = A, ['p'] = A, ['q'] = A, ['r'] = A, ['s'] = A, ['t'] = A, ['u'] = A, ['v'] = A,
    ['w'] = A, ['x'] = A, ['y'] = A, ['z'] = A,
    ['~'] = T | M,
};
// clang-format on

const char *sip__quoted_end(const char *p, const char *end)
{
    p++; /* the opening quote */
    while (p < end) {
        char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (p + 1 >= end || p[1] == '\r' || p[1] == '\n')
                return NULL;
            p += 2;
            continue;
        }
        /* a folded line end is LWS; a bare one ends the header */
        if ((c == '\r' || c == '\n') && !(p + 1 < end && (sip__is_lws(p[1]))))
            return NULL;
        p++;
    }
    return NULL;
}

/* The octets sip__find_unquoted stops at: quotes, angle brackets, and the separators it is
 * asked for (',' and ';'); everything else is skipped with one test. */
static const bool unquoted_stop[256] = {['"'] = 1, ['<'] = 1, ['>'] = 1, [','] = 1, [';'] = 1};

const char *sip__find_unquoted(const char *p, const char *end, char c)
{
    const bool skip = unquoted_stop[(uint8_t)c]; /* else: look at every octet */
    int angle = 0;

    while (p < end) {
        while (skip && !unquoted_stop[(uint8_t)*p])
            if (++p == end)
                return end;
        char ch = *p;
        if (ch == '"') {
            const char *q = sip__quoted_end(p, end);
            if (!q)
                return end;
            p = q;
            continue;
        }
        if (ch == '<')
            angle++;
        else if (ch == '>' && angle > 0)
            angle--;
        else if (ch == c && angle == 0)
            return p;
        p++;
    }
    return end;
}

int sip_param_next(struct sv_slice *cur, struct sip_param *prm)
{
    const char *p = cur->p, *end = cur->p + cur->l;
    const char *ns, *ne, *vs = NULL, *ve = NULL;

    p = sip__skip_lws(p, end);
    if (p < end && *p == ';')
        p = sip__skip_lws(p + 1, end);
    if (p >= end)
        return ENOENT;
    ns = p;
    while (p < end && *p != '=' && *p != ';' && !sip__is_lws(*p))
        p++;
    ne = p;
    if (ne == ns)
        return EBADMSG;
    p = sip__skip_lws(p, end);
    if (p < end && *p == '=') {
        p = sip__skip_lws(p + 1, end);
        vs = p;
        if (p < end && *p == '"') {
            p = sip__quoted_end(p, end);
            if (!p)
                return EBADMSG;
        } else {
            while (p < end && *p != ';' && !sip__is_lws(*p))
                p++;
        }
        ve = p;
        p = sip__skip_lws(p, end);
    }
    if (p < end && *p != ';')
        return EBADMSG;
    prm->name = sip__span(ns, ne);
    prm->value = vs ? sip__span(vs, ve) : sv_slice_make(NULL, 0);
    cur->p = p;
    cur->l = (size_t)(end - p);
    return 0;
}

bool sip_param_get(struct sv_slice params, const char *name, struct sv_slice *val)
{
    struct sip_param prm;
    struct sv_slice cur = params;

    if (!params.p)
        return false;
    while (sip_param_next(&cur, &prm) == 0) {
        if (sv_slice_caseeq_cstr(prm.name, name)) {
            if (val)
                *val = prm.value;
            return true;
        }
    }
    return false;
}

static int ipv4_len(const char *p, const char *end, size_t *n)
{
    const char *s = p;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return EBADMSG;
        if (part < 3) {
            if (p >= end || *p != '.')
                return EBADMSG;
            p++;
        }
    }
    *n = (size_t)(p - s);
    return 0;
}

/* IPv6reference = "[" IPv6address "]" (RFC 3261 §25.1, as corrected by RFC 5954):
 * hex groups of at most four digits, at most one "::", an optional IPv4 tail. */
static int ipv6_len(const char *p, const char *end, size_t *n)
{
    const char *s = p;
    int groups = 0;
    bool dcolon = false;

    p++; /* '[' */
    if (p + 1 < end && p[0] == ':' && p[1] == ':') {
        dcolon = true;
        p += 2;
    }
    while (p < end && *p != ']') {
        const char *g = p;
        while (p < end && sip__is(*p, SIP__C_HEX) && p - g < 5)
            p++;
        if (p < end && *p == '.') { /* IPv4 tail */
            size_t l4;
            if (ipv4_len(g, end, &l4))
                return EBADMSG;
            p = g + l4;
            groups += 2;
            break;
        }
        if (p == g || p - g > 4)
            return EBADMSG;
        groups++;
        if (p < end && *p == ':') {
            p++;
            if (p < end && *p == ':') {
                if (dcolon)
                    return EBADMSG;
                dcolon = true;
                p++;
            } else if (p < end && *p == ']') {
                return EBADMSG;
            }
        }
    }
    if (p >= end || *p != ']')
        return EBADMSG;
    if (groups > 8 || (!dcolon && groups != 8) || (dcolon && groups > 7))
        return EBADMSG;
    *n = (size_t)(p + 1 - s);
    return 0;
}

int sip__host_decode(struct sv_slice s, enum sip_host_type *type, size_t *n)
{
    const char *p = s.p, *end = s.p + s.l;

    if (p >= end)
        return EBADMSG;
    if (*p == '[') {
        *type = SIP_HOST_IPV6;
        return ipv6_len(p, end, n);
    }
    /* hostname = *( domainlabel "." ) toplabel [ "." ]; IPv4 is all digits and dots. */
    const char *q = p;
    bool alldig = true;
    while (q < end && (sip__is(*q, SIP__C_ALNUM) || *q == '-' || *q == '.' || *q == '_')) {
        if (!(*q >= '0' && *q <= '9') && *q != '.')
            alldig = false;
        q++;
    }
    if (q == p)
        return EBADMSG;
    if (alldig) {
        size_t l4;
        if (ipv4_len(p, end, &l4) == 0 && l4 == (size_t)(q - p)) {
            *type = SIP_HOST_IPV4;
            *n = l4;
            return 0;
        }
    }
    if (*p == '-' || *p == '.')
        return EBADMSG;
    *type = SIP_HOST_DOMAIN;
    *n = (size_t)(q - p);
    return 0;
}
