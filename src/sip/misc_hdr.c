/**
 * @file misc_hdr.c  Security-Client/-Server/-Verify (RFC 3329 §2.2, TS 33.203) and the opaque
 * value-with-parameters headers of IMS (P-Access-Network-Info, P-Charging-Vector,
 * P-Visited-Network-ID, P-Charging-Function-Addresses; RFC 7315, RFC 7913).
 */
#include "decode_int.h"

/**
 * Next sec-mechanism of a Security-Client, -Server or -Verify value:
 * mechanism-name *(";" mech-parameters), e.g.
 * "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064".
 *
 * @param cur  in/out: the rest of the list; moves past the mechanism and its comma.
 * @param sm   out: the whole element, the mechanism name and its parameters (may be empty).
 * @return 0; ENOENT at the end; EBADMSG (@p cur untouched).
 */
int sip_secmech_next(struct sv_slice *cur, struct sip_secmech *sm)
{
    return sip__token_elem_next(cur, &sm->raw, &sm->mech, &sm->params);
}

/* Every '"' in [p, end) opens a quoted-string that closes. */
static bool quotes_ok(const char *p, const char *end)
{
    while (p < end) {
        if (*p == '"') {
            p = sip__quoted_end(p, end);
            if (!p)
                return false;
        } else {
            p++;
        }
    }
    return true;
}

/* The parameters of an opaque value: ';'-separated, none of them empty. A parameter may be a
 * bare quoted-string (RFC 7315 extension-access-info = gen-value), so sip_param_next's
 * name=value shape is not required here. */
static bool opaque_params_ok(const char *p, const char *end)
{
    while (p < end) {
        /* p is at a ';' */
        const char *s = sip__skip_lws(p + 1, end);
        if (s >= end || *s == ';')
            return false;
        p = sip__find_unquoted(s, end, ';');
    }
    return true;
}

/**
 * Next element of a comma list of values with parameters. The value runs to the first ';'
 * outside quotes and is opaque: it may be a token, a quoted string, or "name=value" as in
 * P-Charging-Vector's icid-value. Commas inside quotes do not split elements.
 *
 * @param cur  in/out: the rest of the list; moves past the element and its comma.
 * @param pv   out: the element, its value (trimmed, may be empty) and its parameters from the
 *             first ';' (empty if none).
 * @return 0; ENOENT at the end; EBADMSG for an empty element or parameter or an unterminated
 *         quoted string (@p cur untouched).
 */
int sip_pvalue_next(struct sv_slice *cur, struct sip_pvalue *pv)
{
    struct sv_slice c = *cur, elem;
    const char *end, *semi;
    int err;

    err = sip__list_next(&c, &elem);
    if (err)
        return err;
    end = elem.p + elem.l;
    if (!quotes_ok(elem.p, end))
        return EBADMSG;
    semi = sip__find_unquoted(elem.p, end, ';');
    if (!opaque_params_ok(semi, end))
        return EBADMSG;
    pv->raw = elem;
    pv->value = sv_slice_trim(sip__span(elem.p, semi));
    pv->params = sip__span(semi, end);
    *cur = c;
    return 0;
}
