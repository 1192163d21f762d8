/**
 * @file check.c  Semantic checks of RFC 3261 §8.2 and §16.3, in the order a server answers.
 *
 * The message parsed, so its syntax is sound; these checks decide whether it makes sense.
 * The function only reports: the caller chooses to answer, to drop (responses) or to go on.
 */
#include "sip_int.h"

static int verdict(struct sip_status *st, uint16_t code, const char *reason)
{
    st->code = code;
    st->reason = reason;
    return EPROTO;
}

static bool tag_supported(struct sv_slice tag, const char *const *supported)
{
    for (; supported && *supported; supported++) {
        if (sv_slice_caseeq_cstr(tag, *supported))
            return true;
    }
    return false;
}

/* First option tag of the @p id lines that is not in @p supported, if any. */
static bool find_unsupported(const struct sip_msg *msg, enum sip_hdr_id id,
                             const char *const *supported, struct sv_slice *bad)
{
    for (const struct sip_hdr *h = sip_msg_hdr(msg, id); h; h = sip_msg_hdr_next(msg, h)) {
        struct sv_slice cur = h->value, tok;
        while (sip_token_next(&cur, &tok) == 0) {
            if (!tag_supported(tok, supported)) {
                *bad = tok;
                return true;
            }
        }
    }
    return false;
}

static const char *const single_reason[SIP_HDR__N] = {
    [SIP_HDR_FROM] = "Bad Request (multiple From)",
    [SIP_HDR_TO] = "Bad Request (multiple To)",
    [SIP_HDR_CALL_ID] = "Bad Request (multiple Call-ID)",
    [SIP_HDR_CSEQ] = "Bad Request (multiple CSeq)",
    [SIP_HDR_MAX_FORWARDS] = "Bad Request (multiple Max-Forwards)",
    [SIP_HDR_CONTENT_TYPE] = "Bad Request (multiple Content-Type)",
    [SIP_HDR_EXPIRES] = "Bad Request (multiple Expires)",
};

static int check_single_values(const struct sip_msg *msg, struct sip_status *st)
{
    for (unsigned id = 1; id < SIP_HDR__N; id++) {
        if (msg->count[id] > 1 && (sip_hdr_flags((enum sip_hdr_id)id) & SIP_HF_SINGLE))
            return verdict(st, 400,
                           single_reason[id] ? single_reason[id]
                                             : "Bad Request (single-value header repeated)");
    }
    return 0;
}

static int check_mandatory(const struct sip_msg *msg, struct sip_status *st)
{
    static const struct {
        enum sip_hdr_id id;
        const char *reason;
    } mand[] = {
        {SIP_HDR_VIA, "Bad Request (missing Via)"},
        {SIP_HDR_FROM, "Bad Request (missing From)"},
        {SIP_HDR_TO, "Bad Request (missing To)"},
        {SIP_HDR_CALL_ID, "Bad Request (missing Call-ID)"},
        {SIP_HDR_CSEQ, "Bad Request (missing CSeq)"},
    };
    for (size_t i = 0; i < SV_ARRAY_SIZE(mand); i++) {
        if (!msg->count[mand[i].id])
            return verdict(st, 400, mand[i].reason);
    }
    return 0;
}

/**
 * Check @p msg as a server of role @p opts->role would before acting on it.
 *
 * @param msg   a parsed message.
 * @param opts  role and supported option tags; NULL means a UAS supporting nothing.
 * @param st    out: code 0 when the message passes, else the code and reason to answer with
 *              (for a response: the reason to drop it).
 * @return 0 when it passes, EPROTO otherwise.
 */
int sip_msg_check(const struct sip_msg *msg, const struct sip_check_opts *opts,
                  struct sip_status *st)
{
    static const struct sip_check_opts uas = {SIP_CHECK_UAS, NULL};
    int e;

    if (!opts)
        opts = &uas;
    st->code = 0;
    st->reason = NULL;
    st->unsupported = sv_slice_make(NULL, 0);

    if (!sv_slice_caseeq_cstr(msg->version, "SIP/2.0"))
        return verdict(st, 505, "Version Not Supported");
    if ((e = check_mandatory(msg, st)) || (e = check_single_values(msg, st)))
        return e;
    if (!msg->req)
        return 0;

    /* RFC 3261 §8.2.2.x order; RFC 4475 mismatch02: the CSeq test comes before 501. */
    if (!sv_slice_eq(msg->cseq.method, msg->method))
        return verdict(st, 400, "Bad Request (CSeq method does not match the request)");
    if (msg->ruri.scheme == SIP_URI_OTHER)
        return verdict(st, 416, "Unsupported URI Scheme");
    if (sv_slice_isset(msg->ruri.headers))
        return verdict(st, 400, "Bad Request (headers in the Request-URI)");
    /* A Contact we cannot decode would be forwarded as a target nobody can reach, or bound
     * by a registrar to garbage: refuse it here (RFC 4475 regbadct, strict side). */
    for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT); h;
         h = sip_msg_hdr_next(msg, h)) {
        struct sv_slice cur = h->value;
        struct sip_contact c;
        int ce;
        while ((ce = sip_contact_next(&cur, &c)) == 0)
            ;
        if (ce != ENOENT)
            return verdict(st, 400, "Bad Request (malformed Contact)");
    }
    if (sip_msg_hdr(msg, SIP_HDR_PRIVACY)) {
        struct sip_privacy pv;
        if (sip_privacy_get(&pv, msg) == EBADMSG)
            return verdict(st, 400, "Bad Request (malformed Privacy)");
    }

    /* §8.2.2.3: Require and Proxy-Require in CANCEL or ACK are ignored, whatever the role. */
    bool ext = msg->mid != SIP_METHOD_ACK && msg->mid != SIP_METHOD_CANCEL;
    if (opts->role == SIP_CHECK_PROXY) {
        /* §16.3: Max-Forwards, then Proxy-Require. A proxy may still answer an OPTIONS
         * with Max-Forwards 0 addressed to itself (§11); that is the caller's choice. */
        if (msg->has_max_forwards && msg->max_forwards == 0)
            return verdict(st, 483, "Too Many Hops");
        if (ext && find_unsupported(msg, SIP_HDR_PROXY_REQUIRE, opts->supported, &st->unsupported))
            return verdict(st, 420, "Bad Extension");
    } else if (ext && find_unsupported(msg, SIP_HDR_REQUIRE, opts->supported, &st->unsupported)) {
        return verdict(st, 420, "Bad Extension");
    }
    return 0;
}
