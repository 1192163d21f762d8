/**
 * @file event.c  Event and Subscription-State (RFC 6665 §8.4, which obsoletes RFC 3265).
 */
#include "decode_int.h"

/**
 * Decode an Event value: event-type *(";" event-param), where
 * event-type = package *("." template) and each part is a token without '.'.
 *
 * @param ev  out: type, its package and templates, the id parameter, all parameters.
 * @param s   the header value.
 * @return 0 or EBADMSG (also for a second id, or an id that is not a token).
 */
int sip_event_decode(struct sip_event *ev, struct sv_slice s)
{
    const char *p, *end, *te, *dot = NULL;
    struct sip_event e;
    struct sip_param prm;
    struct sv_slice cur;
    int err;

    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    p = s.p;
    end = s.p + s.l;
    te = sip__token_end(p, end);
    if (te == p)
        return EBADMSG;
    /* token-nodot parts: no leading, trailing or doubled dot */
    for (const char *q = p; q < te; q++) {
        if (*q != '.')
            continue;
        if (q == p || q + 1 == te || q[1] == '.')
            return EBADMSG;
        if (!dot)
            dot = q;
    }
    memset(&e, 0, sizeof(e));
    e.type = sip__span(p, te);
    e.package = sip__span(p, dot ? dot : te);
    e.templ = dot ? sip__span(dot + 1, te) : sv_slice_make(te, 0);
    if (sip__params_span(te, end, &e.params))
        return EBADMSG;

    cur = e.params;
    while ((err = sip__param_next(&cur, &prm)) == 0) {
        if (!sv_slice_caseeq_cstr(prm.name, "id"))
            continue;
        /* the id tells subscriptions of one dialog apart, so it must be unambiguous */
        if (e.id.p || !sip__is_token(prm.value))
            return EBADMSG;
        e.id = prm.value;
    }
    if (err != ENOENT)
        return EBADMSG;
    *ev = e;
    return 0;
}

static int delta_seconds(struct sv_slice v, uint32_t *out)
{
    if (!sip__is_token(v) || v.l > 10)
        return EBADMSG;
    return sv_slice_u32(v, UINT32_MAX, out) ? EBADMSG : 0;
}

/**
 * Decode a Subscription-State value: substate-value *(";" subexp-params).
 *
 * @param ss  out: the state (SIP_SUBSTATE_OTHER for an extension value), reason, expires and
 *            retry-after when present, all parameters.
 * @param s   the header value.
 * @return 0 or EBADMSG (also for a repeated reason, expires or retry-after, or a number that
 *         does not fit 32 bits).
 */
int sip_substate_decode(struct sip_substate *ss, struct sv_slice s)
{
    const char *p, *end, *te;
    struct sip_substate st;
    struct sip_param prm;
    struct sv_slice cur;
    int err;

    s = sv_slice_trim(s);
    if (!s.l)
        return EBADMSG;
    p = s.p;
    end = s.p + s.l;
    te = sip__token_end(p, end);
    if (te == p)
        return EBADMSG;
    memset(&st, 0, sizeof(st));
    st.value = sip__span(p, te);
    if (sv_slice_caseeq_cstr(st.value, "active"))
        st.state = SIP_SUBSTATE_ACTIVE;
    else if (sv_slice_caseeq_cstr(st.value, "pending"))
        st.state = SIP_SUBSTATE_PENDING;
    else if (sv_slice_caseeq_cstr(st.value, "terminated"))
        st.state = SIP_SUBSTATE_TERMINATED;
    else
        st.state = SIP_SUBSTATE_OTHER;
    if (sip__params_span(te, end, &st.params))
        return EBADMSG;

    cur = st.params;
    while ((err = sip__param_next(&cur, &prm)) == 0) {
        if (sv_slice_caseeq_cstr(prm.name, "reason")) {
            if (st.reason.p || !sip__is_token(prm.value))
                return EBADMSG;
            st.reason = prm.value;
        } else if (sv_slice_caseeq_cstr(prm.name, "expires")) {
            if (st.has_expires || delta_seconds(prm.value, &st.expires))
                return EBADMSG;
            st.has_expires = true;
        } else if (sv_slice_caseeq_cstr(prm.name, "retry-after")) {
            if (st.has_retry_after || delta_seconds(prm.value, &st.retry_after))
                return EBADMSG;
            st.has_retry_after = true;
        }
    }
    if (err != ENOENT)
        return EBADMSG;
    *ss = st;
    return 0;
}
