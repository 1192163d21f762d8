/**
 * @file ua_msg.c  The pure half of `sipveil ua`: Privacy values, the identity-bearing header
 * values of a private request (R9-R15), the Authorization answer to Digest and AKA challenges,
 * the SDP offer, and the assembly of requests and responses. No socket, no clock: the unit
 * tests (tests/unit/app/test_ua_msg.c) compare the bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include "ua.h"

/* An output buffer that counts what did not fit, so that ENOSPC can say the size needed. */
struct out {
    char *buf;
    size_t sz, n;
};

static void put(struct out *o, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *f, ...)
{
    va_list ap;
    int w;

    va_start(ap, f);
    w = vsnprintf(o->n < o->sz ? o->buf + o->n : NULL, o->n < o->sz ? o->sz - o->n : 0, f, ap);
    va_end(ap);
    if (w > 0)
        o->n += (size_t)w;
}

/* ---------------------------------------------------------------------------------------- */
/* Privacy                                                                                    */

/* The canonical order of R1/R2: the values first, critical last. */
static const struct {
    const char *name;
    unsigned bit;
} priv_order[] = {
    {"none", SIP_PRIV_NONE}, {"header", SIP_PRIV_HEADER},     {"user", SIP_PRIV_USER},
    {"id", SIP_PRIV_ID},     {"critical", SIP_PRIV_CRITICAL},
};

/**
 * Parse a --privacy list.
 * @param s     "id,critical", "user;id", "none" ...
 * @param bits  out: SIP_PRIV_* bits.
 * @return 0, or EINVAL (empty or unknown value, none combined with another, R3).
 */
int ua_privacy_parse(const char *s, unsigned *bits)
{
    unsigned b = 0;

    if (!s || !bits)
        return EINVAL;
    for (const char *p = s;;) {
        size_t l = strcspn(p, ",;");
        struct sv_slice tok = sv_slice_trim(sv_slice_make(p, l));
        unsigned bit = 0;

        for (size_t i = 0; i < SV_ARRAY_SIZE(priv_order); i++)
            if (sv_slice_caseeq_cstr(tok, priv_order[i].name))
                bit = priv_order[i].bit;
        if (!bit)
            return EINVAL;
        b |= bit;
        if (!p[l])
            break;
        p += l + 1;
    }
    if ((b & SIP_PRIV_NONE) && b != SIP_PRIV_NONE)
        return EINVAL;
    *bits = b;
    return 0;
}

/**
 * The Privacy header value in canonical order.
 * @param bits  SIP_PRIV_* bits.
 * @param buf   out: NUL-terminated.
 * @param sz    its size.
 * @return the length, or 0 (no bits, or no room).
 */
size_t ua_privacy_print(unsigned bits, char *buf, size_t sz)
{
    size_t n = 0;

    if (!sz)
        return 0;
    buf[0] = '\0';
    for (size_t i = 0; i < SV_ARRAY_SIZE(priv_order); i++) {
        if (!(bits & priv_order[i].bit))
            continue;
        int w = snprintf(buf + n, sz - n, "%s%s", n ? ";" : "", priv_order[i].name);
        if (w < 0 || (size_t)w >= sz - n) {
            buf[0] = '\0';
            return 0;
        }
        n += (size_t)w;
    }
    return n;
}

/**
 * Whether the user asked to be hidden: any value but none. `critical` alone asks for nothing
 * to be withheld, but it still says the user cares, so it hides too.
 * @param bits  SIP_PRIV_* bits.
 * @return true when the UA must send the anonymous From, Call-ID and Contact.
 */
bool ua_privacy_hides(unsigned bits)
{
    return (bits & ~(unsigned)SIP_PRIV_NONE) != 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Identity-bearing values                                                                    */

static int fmt(char *buf, size_t sz, const char *f, ...) __attribute__((format(printf, 3, 4)));

static int fmt(char *buf, size_t sz, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(buf, sz, f, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= sz ? ENOSPC : 0;
}

/**
 * The From value.
 * @param impu  the public identity, "sip:alice@ims.example".
 * @param hide  send the anonymous From of R8/R10 instead.
 * @param tag   the tag, fresh for each dialog.
 * @return 0 or ENOSPC.
 */
int ua_from_print(const char *impu, bool hide, const char *tag, char *buf, size_t sz)
{
    if (hide)
        return fmt(buf, sz, "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=%s", tag);
    return fmt(buf, sz, "<%s>;tag=%s", impu, tag);
}

/**
 * The Contact value.
 * @param user      the user part, or NULL.
 * @param hostport  "127.0.0.1:5062" or "[::1]:5062".
 * @param tp        the transport, named by a parameter unless UDP.
 * @param hide      leave the user part out (R81).
 * @return 0 or ENOSPC.
 */
int ua_contact_print(const char *user, const char *hostport, enum net_tp tp, bool hide, char *buf,
                     size_t sz)
{
    const char *tpp = tp == NET_TCP ? ";transport=tcp" : tp == NET_TLS ? ";transport=tls" : "";

    if (hide || !user || !*user)
        return fmt(buf, sz, "<sip:%s%s>", hostport, tpp);
    return fmt(buf, sz, "<sip:%s@%s%s>", user, hostport, tpp);
}

/**
 * A new Call-ID.
 * @param host  our host, appended unless @p hide.
 * @param hide  a private request: no host (R12).
 * @return 0, ENOSPC, or the errno of sv_random.
 */
int ua_callid_gen(const char *host, bool hide, char *buf, size_t sz)
{
    uint8_t r[12];
    char hex[25];
    int err = sv_random(r, sizeof(r));

    if (err)
        return err;
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    if (hide || !host || !*host)
        return fmt(buf, sz, "%s", hex);
    return fmt(buf, sz, "%s@%s", hex, host);
}

/**
 * The user part of a SIP URI.
 * @param uri  "sip:alice@ims.example" (a scheme is skipped, parameters ignored).
 * @param buf  out: "alice", or "" when the URI has no user part.
 */
void ua_uri_user(const char *uri, char *buf, size_t sz)
{
    const char *p = strchr(uri, ':'), *at;

    if (sz)
        buf[0] = '\0';
    p = p ? p + 1 : uri;
    at = strchr(p, '@');
    if (at && (size_t)(at - p) < sz) {
        memcpy(buf, p, (size_t)(at - p));
        buf[at - p] = '\0';
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Authentication                                                                             */

/**
 * The first REGISTER's Authorization (TS 24.229 §5.1.1.2.1): it tells the registrar which
 * private identity registers before any challenge.
 * @return 0 or ENOSPC.
 */
int ua_auth_initial(const char *impi, const char *realm, const char *uri, char *buf, size_t sz)
{
    return fmt(buf, sz,
               "Digest username=\"%s\", realm=\"%s\", nonce=\"\", uri=\"%s\", response=\"\"", impi,
               realm, uri);
}

/* Lower-case hex of the hash of the parts joined by ':', for the answers without qop
   (RFC 2617 §3.2.2.1 compatibility), which the auth layer does not compute. */
static int hash_join(bool sha256, const struct sv_slice *p, size_t n, char *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    int ok;

    if (!c)
        return ENOMEM;
    ok = EVP_DigestInit_ex(c, sha256 ? EVP_sha256() : EVP_md5(), NULL);
    for (size_t i = 0; ok && i < n; i++) {
        if (i)
            ok = EVP_DigestUpdate(c, ":", 1);
        if (ok && p[i].l)
            ok = EVP_DigestUpdate(c, p[i].p, p[i].l);
    }
    if (ok)
        ok = EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    if (!ok)
        return EIO;
    for (unsigned i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Whether the qop list of a challenge ("auth", "auth,auth-int") offers auth. */
static bool qop_offers_auth(struct sv_slice qop)
{
    struct sv_slice cur = qop, tok;

    while (sip_token_next(&cur, &tok) == 0)
        if (sv_slice_caseeq_cstr(sv_slice_trim(tok), "auth"))
            return true;
    return false;
}

/*
 * The Digest response for @p ha1 (hex). With qop=auth the auth layer computes it; without,
 * it is H(HA1 ":" nonce ":" H(method ":" uri)).
 */
static int digest_response(enum auth_digest_alg alg, const char *ha1, struct auth_digest_resp *r,
                           const char *method, char out[AUTH_DIGEST_HEX_MAX + 1])
{
    bool sha = alg == AUTH_DIGEST_SHA256 || alg == AUTH_DIGEST_SHA256_SESS;
    char ha2[AUTH_DIGEST_HEX_MAX + 1];
    int err;

    if (sv_slice_isset(r->qop))
        return auth_digest_response(alg, sv_slice_cstr(ha1), r, sv_slice_cstr(method), out);
    struct sv_slice h2[2] = {sv_slice_cstr(method), r->uri};
    if ((err = hash_join(sha, h2, 2, ha2)))
        return err;
    struct sv_slice h[3] = {sv_slice_cstr(ha1), r->nonce, sv_slice_cstr(ha2)};
    return hash_join(sha, h, 3, out);
}

/**
 * Answer a challenge.
 * @param ch      the decoded challenge.
 * @param cr      the UE's credentials.
 * @param method  the method of the request to authenticate.
 * @param uri     its Request-URI (the Digest uri).
 * @param cnonce  the client nonce, used with qop=auth.
 * @param nc      the nonce count.
 * @param buf     out: the Authorization value, for ANSWERED and RESYNC.
 * @param v       out: the verdict.
 * @return 0 whatever the verdict; ENOSPC; EINVAL; an errno of the auth layer.
 */
int ua_auth_answer(const struct sip_auth *ch, const struct ua_cred *cr, const char *method,
                   const char *uri, const char *cnonce, uint32_t nc, char *buf, size_t sz,
                   enum ua_auth_verdict *v)
{
    enum auth_digest_alg alg = AUTH_DIGEST_MD5;
    struct auth_digest_resp r = {0};
    char ha1[AUTH_DIGEST_HEX_MAX + 1], resp[AUTH_DIGEST_HEX_MAX + 1], ncs[9];
    char auts[AUTH_AKA_AUTS_B64_LEN + 1] = "";
    uint8_t res[AUTH_RES_LEN];
    int err = 0;

    if (!ch || !cr || !cr->impi || !method || !uri || !buf || !v)
        return EINVAL;
    *v = UA_AUTH_UNSUPPORTED;
    if (!sv_slice_caseeq_cstr(ch->scheme, "Digest") || !sv_slice_isset(ch->nonce))
        return 0;
    if (sv_slice_isset(ch->algorithm) && auth_digest_alg_parse(ch->algorithm, &alg))
        return 0;
    if ((alg == AUTH_DIGEST_AKAV1_MD5) != cr->aka || (!cr->aka && !cr->password))
        return 0;
    if (alg == AUTH_DIGEST_MD5_SESS || alg == AUTH_DIGEST_SHA256_SESS)
        if (!sv_slice_isset(ch->qop))
            return 0; /* -sess needs a cnonce, which only qop brings */

    snprintf(ncs, sizeof(ncs), "%08x", nc);
    r.username = sv_slice_cstr(cr->impi);
    r.realm = ch->realm.p ? ch->realm : SV_LIT("");
    r.nonce = ch->nonce;
    r.uri = sv_slice_cstr(uri);
    if (sv_slice_isset(ch->qop)) {
        if (!qop_offers_auth(ch->qop))
            return 0; /* auth-int only: not supported */
        r.qop = SV_LIT("auth");
        r.cnonce = sv_slice_cstr(cnonce);
        r.nc = sv_slice_cstr(ncs);
    }

    if (cr->aka) {
        uint64_t sqn = 0;
        uint8_t rand[AUTH_RAND_LEN], autn[AUTH_AUTN_LEN];

        err = auth_aka_ue_check(&cr->mil, ch->nonce, &sqn, res, NULL, NULL);
        if (err == EACCES || err == EBADMSG) {
            *v = UA_AUTH_MAC_FAILED;
            return 0;
        }
        if (err)
            return err;
        /* The simplest USIM range check (TS 33.102 Annex C): a SQN must be newer than the
           highest one accepted. Without a known SQN_MS every SQN is fresh. */
        if (cr->have_sqn_ms && sqn <= cr->sqn_ms) {
            if ((err = auth_aka_nonce_decode(ch->nonce, rand, autn)) ||
                (err = auth_aka_ue_auts(&cr->mil, rand, cr->sqn_ms, auts)))
                return err;
            /* RFC 3310 §3.4: the answer that carries auts is computed with an empty
               password. */
            err = auth_digest_ha1(AUTH_DIGEST_AKAV1_MD5, r.username, r.realm, SV_LIT(""), ha1);
            *v = UA_AUTH_RESYNC;
        } else {
            err = auth_aka_ha1(r.username, r.realm, res, sizeof(res), ha1);
            *v = UA_AUTH_ANSWERED;
        }
    } else {
        err = auth_digest_ha1(alg, r.username, r.realm, sv_slice_cstr(cr->password), ha1);
        *v = UA_AUTH_ANSWERED;
    }
    if (!err)
        err = digest_response(alg, ha1, &r, method, resp);
    if (err) {
        *v = UA_AUTH_UNSUPPORTED;
        return err;
    }
    struct out o = {buf, sz, 0};
    put(&o,
        "Digest username=\"%s\", realm=\"%.*s\", nonce=\"%.*s\", uri=\"%s\", response=\"%s\", "
        "algorithm=%s",
        cr->impi, SV_FMT(r.realm), SV_FMT(r.nonce), uri, resp, auth_digest_alg_name(alg));
    if (sv_slice_isset(r.qop))
        put(&o, ", qop=auth, nc=%s, cnonce=\"%s\"", ncs, cnonce);
    if (sv_slice_isset(ch->opaque))
        put(&o, ", opaque=\"%.*s\"", SV_FMT(ch->opaque));
    if (*auts)
        put(&o, ", auts=\"%s\"", auts);
    err = o.n < sz ? 0 : ENOSPC;
    if (err)
        *v = UA_AUTH_UNSUPPORTED;
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                   */

static void hdr(struct out *o, const char *name, const char *value)
{
    if (value && *value)
        put(o, "%s: %s\r\n", name, value);
}

/**
 * Write a request from its parts.
 * @return 0, or ENOSPC with *@p n the size needed.
 */
int ua_req_print(const struct ua_req *r, char *buf, size_t sz, size_t *n)
{
    struct out o = {buf, sz, 0};
    size_t blen = r->body ? strlen(r->body) : 0;

    put(&o, "%s %s SIP/2.0\r\n", r->method, r->ruri);
    put(&o, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", r->via_tp, r->via_hostport, r->branch);
    hdr(&o, "Route", r->route);
    put(&o, "Max-Forwards: 70\r\n");
    hdr(&o, "From", r->from);
    hdr(&o, "To", r->to);
    hdr(&o, "Call-ID", r->callid);
    put(&o, "CSeq: %u %s\r\n", r->cseq, r->method);
    hdr(&o, "Contact", r->contact);
    hdr(&o, "Expires", r->expires);
    if (r->auth_hdr)
        hdr(&o, r->auth_hdr, r->auth);
    hdr(&o, "P-Preferred-Identity", r->ppi);
    hdr(&o, "Privacy", r->privacy);
    if (r->proxy_require_privacy)
        put(&o, "Proxy-Require: privacy\r\n");
    hdr(&o, "User-Agent", r->user_agent);
    if (r->extra)
        put(&o, "%s", r->extra);
    if (blen)
        hdr(&o, "Content-Type", r->ctype);
    put(&o, "Content-Length: %zu\r\n\r\n%s", blen, blen ? r->body : "");
    *n = o.n;
    if (o.n >= sz)
        return ENOSPC;
    return 0;
}

/**
 * A response to @p req with extra header lines and an optional body. sip_resp_build writes
 * Content-Length: 0 last; with a body that line is replaced by the real one.
 * @return 0 or ENOSPC.
 */
int ua_resp_print(const struct sip_msg *req, uint16_t code, const char *reason, const char *totag,
                  const char *extra, const char *ctype, const char *body, char *buf, size_t sz,
                  size_t *n)
{
    static const char cl0[] = "Content-Length: 0\r\n\r\n";
    char ex[1024];
    size_t blen = body ? strlen(body) : 0;
    int err;

    if (fmt(ex, sizeof(ex), "%s%s%s%s", extra ? extra : "", blen ? "Content-Type: " : "",
            blen ? ctype : "", blen ? "\r\n" : ""))
        return ENOSPC;
    err = sip_resp_build(req, code, reason, sv_slice_cstr(totag), sv_slice_cstr(ex), buf, sz, n);
    if (err || !blen)
        return err;
    if (*n < sizeof(cl0) - 1 || memcmp(buf + *n - (sizeof(cl0) - 1), cl0, sizeof(cl0) - 1))
        return EINVAL;
    *n -= sizeof(cl0) - 1;
    int w = snprintf(buf + *n, sz - *n, "Content-Length: %zu\r\n\r\n%s", blen, body);
    if (w < 0 || (size_t)w >= sz - *n)
        return ENOSPC;
    *n += (size_t)w;
    return 0;
}

/**
 * A one-stream audio SDP (PCMU, telephone-event). The o= user name is "-": it must not name
 * the user (R81).
 * @return 0 or ENOSPC.
 */
int ua_sdp_print(const char *ip, uint16_t port, uint64_t sess, char *buf, size_t sz)
{
    const char *af = strchr(ip, ':') ? "IP6" : "IP4";
    size_t l = strlen(ip);

    if (l > 2 && ip[0] == '[' && ip[l - 1] == ']') { /* SDP has no brackets (RFC 4566) */
        ip++;
        l -= 2;
    }
    return fmt(buf, sz,
               "v=0\r\no=- %llu %llu IN %s %.*s\r\ns=-\r\nc=IN %s %.*s\r\nt=0 0\r\n"
               "m=audio %u RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
               "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
               (unsigned long long)sess, (unsigned long long)sess, af, (int)l, ip, af, (int)l, ip,
               (unsigned)port);
}

/* ---------------------------------------------------------------------------------------- */
/* Presence documents and XCAP paths                                                          */

/* Append @p s with the five XML special characters escaped, for text and attribute values. */
static void put_xml(struct out *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            put(o, "&lt;");
            break;
        case '>':
            put(o, "&gt;");
            break;
        case '&':
            put(o, "&amp;");
            break;
        case '"':
            put(o, "&quot;");
            break;
        case '\'':
            put(o, "&apos;");
            break;
        default:
            put(o, "%c", *s);
            break;
        }
    }
}

/**
 * A PIDF document (RFC 3863) of one tuple.
 * @param entity  the presentity, the IMPU that publishes it (R89: the PS refuses another).
 * @param open    the tuple's basic status: open or closed.
 * @param note    the tuple's note, or NULL for none; XML-escaped here.
 * @return 0, EINVAL (a control character in @p note or @p entity, which XML 1.0 cannot carry
 *         and a note has no use for), or ENOSPC.
 */
int ua_pidf_print(const char *entity, bool open, const char *note, char *buf, size_t sz)
{
    struct out o = {buf, sz, 0};

    for (const char *p = entity; *p; p++)
        if ((unsigned char)*p < 0x20)
            return EINVAL;
    for (const char *p = note ? note : ""; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n')
            return EINVAL;
    put(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"");
    put_xml(&o, entity);
    put(&o, "\">\n<tuple id=\"ua\"><status><basic>%s</basic></status>", open ? "open" : "closed");
    if (note && *note) {
        put(&o, "<note>");
        put_xml(&o, note);
        put(&o, "</note>");
    }
    put(&o, "</tuple>\n</presence>\n");
    return o.n < sz ? 0 : ENOSPC;
}

/**
 * The XCAP path of a user's pres-rules document (docs/xcap.md): the XUI is the IMPU,
 * percent-encoded except for the unreserved characters of RFC 3986 §2.3, as clients send it.
 * @param impu  "sip:alice@ims.example" gives
 *              "/xcap-root/pres-rules/users/sip%3Aalice%40ims.example/index".
 * @return 0 or ENOSPC.
 */
int ua_xcap_path(const char *impu, char *buf, size_t sz)
{
    static const char hex[] = "0123456789ABCDEF";
    struct out o = {buf, sz, 0};

    put(&o, "/xcap-root/pres-rules/users/");
    for (const unsigned char *p = (const unsigned char *)impu; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            put(&o, "%c", *p);
        else
            put(&o, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    put(&o, "/index");
    return o.n < sz ? 0 : ENOSPC;
}

/**
 * Base64 (RFC 4648 §4, with padding) of @p n octets, as a rule's <wa:grant-key> and the key
 * file of `grant` hold them.
 * @return 0 or ENOSPC (@p sz below 4 * ceil(n / 3) + 1).
 */
int ua_b64_encode(const uint8_t *in, size_t n, char *buf, size_t sz)
{
    if (sz < 4 * ((n + 2) / 3) + 1 || n > INT32_MAX)
        return ENOSPC;
    EVP_EncodeBlock((unsigned char *)buf, in, (int)n);
    return 0;
}
