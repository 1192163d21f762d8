/**
 * @file decode_int.h  Private to the header-value decoders: splitting comma lists, scanning
 * tokens and checking ";name=value" parameter lists. Defined in scalar.c.
 *
 * Every decoder that walks a comma list (Via, Require, Security-Client, P-* values) shares the
 * same rules, so they live in one place: an element is never empty (",," and a trailing comma
 * are malformed), commas inside quoted strings do not split, and parameter lists never end in
 * a bare ';'.
 */
#ifndef SIP_DECODE_INT_H
#define SIP_DECODE_INT_H

#include "sip_int.h"

/** Advance @p p past token characters, up to @p end. */
static inline const char *sip__token_end(const char *p, const char *end)
{
    while (p < end && sip__is(*p, SIP__C_TOKEN))
        p++;
    return p;
}

/** True if @p s is one non-empty token. */
static inline bool sip__is_token(struct sv_slice s)
{
    return s.l > 0 && sip__token_end(s.p, s.p + s.l) == s.p + s.l;
}

/**
 * Next element of a comma list. @p elem is the element, trimmed; @p cur moves past the comma
 * that ends it. @return 0; ENOENT when only LWS is left; EBADMSG for an empty element
 * (leading, doubled or trailing comma).
 */
int sip__list_next(struct sv_slice *cur, struct sv_slice *elem);

/**
 * Next parameter of a list that starts at ';' (LWS before it is fine). Stricter than
 * sip_param_next: the name must be a token, a value a token, host or quoted-string, and the
 * list may not end in ';'. @return 0, ENOENT at the end, EBADMSG.
 */
int sip__param_next(struct sv_slice *cur, struct sip_param *prm);

/** Check a whole parameter list with sip__param_next. @return 0 or EBADMSG. */
int sip__params_check(struct sv_slice params);

/**
 * The parameter part of a value: from the ';' at @p p (after LWS) to @p end. When @p p
 * reaches @p end the result is an empty slice at @p end. @return 0, or EBADMSG when
 * something other than ';' follows.
 */
int sip__params_span(const char *p, const char *end, struct sv_slice *params);

/** Next "token *(;param)" element of a comma list (Require, Security-Client...). */
int sip__token_elem_next(struct sv_slice *cur, struct sv_slice *elem, struct sv_slice *name,
                         struct sv_slice *params);

#endif
