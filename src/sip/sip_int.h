/**
 * @file sip_int.h  Private to the message layer: character classes and small lexing helpers
 * shared by the scanner and the decoders.
 */
#ifndef SIP_INT_H
#define SIP_INT_H

#include <errno.h>
#include <sipveil/sip.h>

/* Character classes of RFC 3261 §25.1, one table lookup each. */
enum {
    SIP__C_TOKEN = 1 << 0, /* token: alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'" "~" */
    SIP__C_WS = 1 << 1,    /* SP / HTAB */
    SIP__C_ALNUM = 1 << 2,
    SIP__C_DIGIT = 1 << 3,
    SIP__C_HEX = 1 << 4,
    SIP__C_UNRESERVED = 1 << 5, /* alphanum / mark */
    SIP__C_USER = 1 << 6,       /* unreserved / user-unreserved ("&=+$,;?/") */
    SIP__C_PARAM = 1 << 7,      /* unreserved / param-unreserved ("[]/:&+$") */
};

extern const uint8_t sip__ctype[256];

static inline bool sip__is(char c, unsigned cls)
{
    return (sip__ctype[(unsigned char)c] & cls) != 0;
}

static inline bool sip__is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/** LWS includes folded line ends inside a header value (CR, LF followed by WS). */
static inline bool sip__is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/** Advance @p p past linear white space, up to @p end. */
static inline const char *sip__skip_lws(const char *p, const char *end)
{
    while (p < end && sip__is_lws(*p))
        p++;
    return p;
}

/** Length of the empty line at @p p (2 for CRLF, 1 for a bare LF), or 0 if it is not one. */
static inline size_t sip__empty_line(const char *p, const char *end)
{
    if (p < end && *p == '\n')
        return 1;
    if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
        return 2;
    return 0;
}

/**
 * Start walking a list cursor: skip LWS. @return false when the cursor is empty or holds
 * nothing but LWS (then it is emptied), so the caller answers ENOENT; else true with
 * [*@p p, *@p end) to scan.
 */
static inline bool sip__cursor_begin(struct sv_slice *cur, const char **p, const char **end)
{
    if (!cur->l) /* cur->p may be NULL: no arithmetic on it */
        return false;
    *end = cur->p + cur->l;
    *p = sip__skip_lws(cur->p, *end);
    if (*p >= *end) {
        *cur = sv_slice_make(*end, 0);
        return false;
    }
    return true;
}

/** Slice from @p a to @p b. */
static inline struct sv_slice sip__span(const char *a, const char *b)
{
    return sv_slice_make(a, (size_t)(b - a));
}

/**
 * Scan a quoted-string starting at the opening quote @p p. @return the position after the
 * closing quote, or NULL when it is unterminated or holds a bare CR/LF.
 */
const char *sip__quoted_end(const char *p, const char *end);

/**
 * Find the next unquoted, un-angled occurrence of @p c in [p, end). Used to split comma lists
 * and to find parameter boundaries. @return the position, or @p end.
 */
const char *sip__find_unquoted(const char *p, const char *end, char c);

/** Parse a host (domain, IPv4, [IPv6]) at the start of @p s; sets *@p n to its length. */
int sip__host_decode(struct sv_slice s, enum sip_host_type *type, size_t *n);

/** Decode a Content-Length value (digits within LWS). @return 0 or EBADMSG. */
int sip__frame_clen(struct sv_slice value, uint32_t *clen);

#endif
