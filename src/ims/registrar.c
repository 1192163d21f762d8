/**
 * @file registrar.c  The S-CSCF's registrar (RFC 3261 §10.3, RFC 3327, RFC 3608,
 * TS 24.229 §5.4.1): REGISTER is authenticated with Digest (MD5, SHA-256) or IMS AKA
 * (AKAv1-MD5), then the contacts of the implicit registration set are bound, persisted, and the
 * 200 OK lists the set in P-Associated-URI (that set only, R82) with our Service-Route.
 *
 * What an attacker learns is kept equal: an unknown identity is challenged like a known one
 * and its answers fail like a wrong password's (401, then 403 after `auth_retries`), so that
 * REGISTER cannot enumerate subscribers. A pseudonym's REGISTER over an unprotected link is
 * refused before any challenge (R83): the pair IMPI-pseudonym must not cross it in clear.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ims_int.h"

/* What one REGISTER brings, decoded once. */
struct reg_req {
    char impu[STORE_URI_MAX]; /* To, canonical */
    struct sip_auth au;
    bool has_auth, answered; /* an Authorization for our realm; with a response in it */
    bool protected_link;     /* the P-CSCF says it came over TLS or IPsec */
    char impi[STORE_ID_MAX];
};

/* The Authorization for our realm (the first one if none names it). @return 0, ENOENT or
 * EBADMSG (one that does not decode: 400). */
static int find_auth(const struct ims_state *s, const struct sip_msg *req, struct sip_auth *out)
{
    bool found = false;

    for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_AUTHORIZATION); h;
         h = sip_msg_hdr_next(req, h)) {
        struct sip_auth au;
        if (sip_auth_decode(&au, h->value) || !sv_slice_caseeq_cstr(au.scheme, "Digest"))
            return EBADMSG;
        if (!found || sv_slice_eq(au.realm, sv_slice_cstr(s->c.realm))) {
            *out = au;
            found = true;
        }
    }
    return found ? 0 : ENOENT;
}

static int decode(const struct ims_state *s, const struct sip_msg *req, bool from_trusted,
                  struct reg_req *r)
{
    int err;

    memset(r, 0, sizeof(*r));
    if (ims_impu_canon(&req->to.uri, r->impu, sizeof(r->impu)))
        return EBADMSG;
    err = find_auth(s, req, &r->au);
    if (err == EBADMSG)
        return err;
    r->has_auth = err == 0;
    if (r->has_auth) {
        r->answered = r->au.nonce.l && (r->au.response.l || r->au.auts.l);
        if (r->au.username.l && !sv_slice_copy_fit(r->impi, sizeof(r->impi), r->au.username))
            return EBADMSG;
        /* only a P-CSCF of the trust domain can say how the UE's link was protected */
        r->protected_link = from_trusted && (sv_slice_eq(r->au.integrity_protected, SV_LIT("yes")) ||
                                             sv_slice_eq(r->au.integrity_protected, SV_LIT("tls-yes")) ||
                                             sv_slice_eq(r->au.integrity_protected,
                                                         SV_LIT("ip-assoc-yes")));
    }
    return 0;
}

static void answer(struct proxy_route_res *res, uint16_t code, const char *reason, const char *hdrs)
{
    res->code = code;
    res->reason = reason;
    res->hdrs = hdrs;
}

/* ---------------------------------------------------------------------------------------- */
/* Challenges                                                                                 */

static bool alg_on(const struct ims_state *s, enum auth_digest_alg a)
{
    return (s->c.digest_algs >> a) & 1u;
}

/* One WWW-Authenticate per algorithm offered (RFC 8760 §2.4). */
static const char *digest_challenge(const struct ims_state *s, bool stale, struct sv_arena *a)
{
    enum auth_digest_alg order[2] = {AUTH_DIGEST_MD5, AUTH_DIGEST_SHA256};
    char buf[512], *out = ims__astrdup(a, "");
    size_t n;

    if (s->c.sha256_first) {
        order[0] = AUTH_DIGEST_SHA256;
        order[1] = AUTH_DIGEST_MD5;
    }
    for (int i = 0; i < 2 && out; i++) {
        if (!alg_on(s, order[i]))
            continue;
        if (auth_digest_challenge_make(&s->nk, order[i], sv_slice_cstr(s->c.realm),
                                       (uint64_t)ims__now_s(), stale, buf, sizeof(buf), &n))
            return NULL;
        out = ims__afmt(a, "%sWWW-Authenticate: %.*s\r\n", out, (int)n, buf);
    }
    return out;
}

/* A fresh AKA vector at the subscriber's SQN; the store keeps the next one. */
static const char *aka_challenge(struct ims_state *s, struct store_cred *cred, struct sv_arena *a)
{
    struct auth_milenage m;
    struct auth_slot *slot;
    char buf[512];
    size_t n;
    const char *out = NULL;

    auth_milenage_init_opc(&m, cred->k, cred->opc);
    pthread_mutex_lock(&s->mu);
    slot = ims__slot(s, cred->impi, true);
    if (slot && auth_aka_vector_gen(&slot->av, &m, cred->sqn, cred->amf) == 0) {
        slot->has_av = true;
        slot->av_issued_s = slot->last_s = ims__now_s();
        if (auth_aka_challenge_print(&slot->av, sv_slice_cstr(s->c.realm), true, buf, sizeof(buf),
                                     &n) == 0)
            out = ims__afmt(a, "WWW-Authenticate: %.*s\r\n", (int)n, buf);
    }
    pthread_mutex_unlock(&s->mu);
    OPENSSL_cleanse(&m, sizeof(m));
    if (out && s->c.store->api->aka_sqn_set(s->c.store, cred->impi, auth_sqn_next(cred->sqn)))
        out = NULL; /* a vector whose SQN could be reused must not go out */
    return out;
}

static enum proxy_route_verdict challenge(struct ims_state *s, struct store_cred *cred, bool stale,
                                          struct sv_arena *a, struct proxy_route_res *res)
{
    const char *h = cred->aka ? aka_challenge(s, cred, a) : digest_challenge(s, stale, a);

    if (!h) {
        answer(res, 500, "Server Internal Error (no challenge could be made)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    pthread_mutex_lock(&s->mu);
    s->st.reg_challenged++;
    pthread_mutex_unlock(&s->mu);
    answer(res, 401, "Unauthorized", h);
    return PROXY_ROUTE_ANSWER;
}

/* A wrong answer: a new challenge, or 403 once the IMPI has failed auth_retries times. */
static enum proxy_route_verdict failed(struct ims_state *s, struct store_cred *cred,
                                       struct sv_arena *a, struct proxy_route_res *res)
{
    struct auth_slot *slot;
    bool forbid = false;

    pthread_mutex_lock(&s->mu);
    if ((slot = ims__slot(s, cred->impi, true))) {
        slot->last_s = ims__now_s();
        if (++slot->failures >= s->c.auth_retries) {
            slot->failures = 0;
            forbid = true;
        }
    }
    s->st.reg_failed++;
    pthread_mutex_unlock(&s->mu);
    if (forbid) {
        answer(res, 403, "Forbidden (authentication failed)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    return challenge(s, cred, false, a, res);
}

/* ---------------------------------------------------------------------------------------- */
/* Verification                                                                               */

enum verdict { V_OK, V_FAIL, V_STALE, V_MALFORMED, V_RESYNCED, V_RESYNC_FAIL };

static void resp_of(const struct sip_auth *au, struct auth_digest_resp *r)
{
    r->username = au->username;
    r->realm = au->realm;
    r->nonce = au->nonce;
    r->uri = au->uri;
    r->response = au->response;
    r->algorithm = au->algorithm;
    r->cnonce = au->cnonce;
    r->nc = au->nc;
    r->qop = au->qop;
}

static enum verdict verify_aka(struct ims_state *s, struct store_cred *cred,
                               const struct sip_auth *au)
{
    struct auth_digest_resp dr;
    enum auth_digest_result res = AUTH_DIGEST_BAD_NONCE;
    enum verdict v = V_FAIL;
    struct auth_slot *slot;

    resp_of(au, &dr);
    pthread_mutex_lock(&s->mu);
    slot = ims__slot(s, cred->impi, false);
    if (slot && slot->has_av && sv_slice_eq(au->nonce, sv_slice_cstr(slot->av.nonce))) {
        if (au->auts.l) {
            struct auth_milenage m;
            uint64_t sqn_ms;
            auth_milenage_init_opc(&m, cred->k, cred->opc);
            /* the UE's SQN is ahead of ours: go on from it (TS 33.102 §6.3.5) */
            if (auth_aka_resync(&m, slot->av.rand, au->auts, &sqn_ms) == 0) {
                cred->sqn = auth_sqn_next(sqn_ms);
                v = V_RESYNCED;
            } else {
                v = V_RESYNC_FAIL;
            }
            slot->has_av = false;
            OPENSSL_cleanse(&m, sizeof(m));
        } else if (auth_aka_verify(&slot->av, &dr, SV_LIT("REGISTER"), &res) == 0) {
            v = res == AUTH_DIGEST_OK ? V_OK : res == AUTH_DIGEST_MALFORMED ? V_MALFORMED : V_FAIL;
            if (v != V_OK)
                slot->has_av = false; /* one answer per vector */
        } else {
            v = V_MALFORMED;
        }
    } else if (slot && au->auts.l) {
        v = V_RESYNC_FAIL;
    }
    pthread_mutex_unlock(&s->mu);
    if (v == V_RESYNCED &&
        s->c.store->api->aka_sqn_set(s->c.store, cred->impi, cred->sqn))
        v = V_RESYNC_FAIL;
    return v;
}

static enum verdict verify_digest(struct ims_state *s, const struct store_cred *cred,
                                  const struct sip_auth *au)
{
    struct auth_digest_resp dr;
    enum auth_digest_alg alg = AUTH_DIGEST_MD5;
    enum auth_digest_result res;
    const char *ha1;

    resp_of(au, &dr);
    if (au->algorithm.l && auth_digest_alg_parse(au->algorithm, &alg))
        return V_FAIL;
    if (!alg_on(s, alg == AUTH_DIGEST_SHA256_SESS ? AUTH_DIGEST_SHA256
                   : alg == AUTH_DIGEST_MD5_SESS  ? AUTH_DIGEST_MD5
                                                  : alg))
        return V_FAIL;
    ha1 = alg == AUTH_DIGEST_SHA256 || alg == AUTH_DIGEST_SHA256_SESS ? cred->ha1_sha256
                                                                        : cred->ha1_md5;
    if (!*ha1 || alg == AUTH_DIGEST_AKAV1_MD5)
        return V_FAIL;
    if (auth_digest_verify(&s->nk, s->replay, &dr, SV_LIT("REGISTER"), sv_slice_cstr(ha1),
                           (uint64_t)ims__now_s(), &res))
        return V_MALFORMED;
    switch (res) {
    case AUTH_DIGEST_OK:
        return V_OK;
    case AUTH_DIGEST_STALE:
        return V_STALE;
    case AUTH_DIGEST_MALFORMED:
        return V_MALFORMED;
    default:
        return V_FAIL; /* wrong password, foreign nonce, replay, downgrade */
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Bindings                                                                                   */

#define MAX_CONTACTS 8

struct contact_req {
    char uri[STORE_CONTACT_MAX];
    uint32_t expires;
};

/* The contacts asked for, with their expiry (RFC 3261 §10.3 step 6). @return 0, EBADMSG, or
 * ERANGE with *@p brief set (423). */
static int contacts_of(const struct ims_state *s, const struct sip_msg *req,
                       struct contact_req *cr, size_t *n, bool *star)
{
    const struct sip_hdr *eh = sip_msg_hdr(req, SIP_HDR_EXPIRES);
    uint32_t dflt = s->c.default_expires;
    bool brief = false;

    *n = 0;
    *star = false;
    if (eh) {
        char tmp[16];
        char *end;
        if (!sv_slice_copy_fit(tmp, sizeof(tmp), eh->value))
            return EBADMSG;
        unsigned long v = strtoul(tmp, &end, 10);
        if (end == tmp)
            return EBADMSG;
        dflt = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_CONTACT); h;
         h = sip_msg_hdr_next(req, h)) {
        struct sv_slice cur = h->value;
        struct sip_contact c;
        int err;
        while ((err = sip_contact_next(&cur, &c)) == 0) {
            if (c.star) {
                *star = true;
                continue;
            }
            if (*n == MAX_CONTACTS ||
                !sv_slice_copy_fit(cr[*n].uri, sizeof(cr[*n].uri), c.addr.uri_s))
                return EBADMSG;
            uint32_t e = c.has_expires ? c.expires : dflt;
            if (e > s->c.max_expires)
                e = s->c.max_expires;
            if (e && e < s->c.min_expires)
                brief = true;
            cr[(*n)++].expires = e;
        }
        if (err != ENOENT)
            return EBADMSG;
    }
    /* "*" only alone and with Expires: 0 (§10.3 step 6) */
    if (*star && (*n || !eh || dflt != 0))
        return EBADMSG;
    return brief ? ERANGE : 0;
}

/* The Path values of the request, one comma-separated text. */
static const char *path_of(const struct sip_msg *req, struct sv_arena *a)
{
    char *out = ims__astrdup(a, "");

    for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_PATH); h && out;
         h = sip_msg_hdr_next(req, h))
        out = ims__afmt(a, "%s%s%.*s", out, *out ? ", " : "", SV_FMT(h->value));
    return out;
}

/* The 200's headers (RFC 3261 §10.3 item 8, TS 24.229 §5.4.1.2.2): every contact the set has
 * now with what is left of its time, the Path, the Service-Route and the P-Associated-URI of
 * the set (R82). Written once into a block sized for them, not formatted again per line. */
static const char *ok_headers(const struct ims_state *s, const struct loc_irs *irs,
                              const char *path, int64_t now, struct sv_arena *a)
{
    size_t cap = 96 + strlen(path) + strlen(s->c.uri), o = 0;
    char *out;

    for (const struct loc_binding *b = irs->b; b; b = b->next)
        cap += 48 + strlen(b->contact); /* with the longest int64 */
    for (size_t i = 0; i < irs->nids; i++)
        cap += 4 + strlen(irs->ids[i].uri);
    if (!(out = sv_arena_alloc(a, cap)))
        return NULL;
#define PUT(...) (void)(o < cap && (o += (size_t)snprintf(out + o, cap - o, __VA_ARGS__)))
    for (const struct loc_binding *b = irs->b; b; b = b->next)
        PUT("Contact: <%s>;expires=%" PRId64 "\r\n", b->contact, b->expires_at - now);
    if (*path)
        PUT("Path: %s\r\n", path);
    PUT("Service-Route: <%s;lr;orig>\r\nP-Associated-URI: ", s->c.uri);
    for (size_t i = 0; i < irs->nids; i++)
        PUT("%s<%s>", i ? ", " : "", irs->ids[i].uri);
    PUT("\r\n");
#undef PUT
    return o < cap ? out : NULL;
}

/* Apply the contacts to the set and the store; then the 200's header lines. */
static enum proxy_route_verdict bind_contacts(struct ims_state *s, const struct sip_msg *req,
                                     const struct store_profile *prof, const struct reg_req *r,
                                     struct sv_arena *a, struct proxy_route_res *res)
{
    struct contact_req cr[MAX_CONTACTS];
    size_t n;
    bool star;
    const char *path = path_of(req, a);
    char callid[STORE_URI_MAX] = "";
    int64_t now = ims__now_s();
    struct loc_irs *irs;
    const char *hdrs;
    int err = contacts_of(s, req, cr, &n, &star);

    if (err == ERANGE) {
        answer(res, 423, "Interval Too Brief",
               ims__afmt(a, "Min-Expires: %" PRIu32 "\r\n", s->c.min_expires));
        return PROXY_ROUTE_ANSWER;
    }
    if (err || !path) {
        answer(res, 400, "Bad Request (Contact or Expires)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    sv_slice_copy_fit(callid, sizeof(callid), req->callid);
    pthread_mutex_lock(&s->mu);
    irs = ims__irs_upsert(s, prof);
    if (!irs) {
        pthread_mutex_unlock(&s->mu);
        answer(res, 500, "Server Internal Error (out of memory)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    if (star) {
        ims__binding_del(s, irs, NULL);
        s->c.store->api->binding_del(s->c.store, irs->id, NULL);
        s->st.dereg++;
    }
    for (size_t i = 0; i < n && !err; i++) {
        if (!cr[i].expires) {
            ims__binding_del(s, irs, cr[i].uri);
            s->c.store->api->binding_del(s->c.store, irs->id, cr[i].uri);
            s->st.dereg++;
            continue;
        }
        struct store_binding b;
        memset(&b, 0, sizeof(b));
        b.irs_id = irs->id;
        sv_slice_copy_cut(b.impu, sizeof(b.impu), sv_slice_cstr(r->impu));
        sv_slice_copy_cut(b.contact, sizeof(b.contact), sv_slice_cstr(cr[i].uri));
        if (strlen(path) >= sizeof(b.path)) {
            err = EBADMSG;
            break;
        }
        sv_slice_copy_cut(b.path, sizeof(b.path), sv_slice_cstr(path));
        sv_slice_copy_cut(b.callid, sizeof(b.callid), sv_slice_cstr(callid));
        b.cseq = req->cseq.num;
        b.expires_at = now + cr[i].expires;
        if (!(err = ims__binding_set(s, irs, b.contact, b.path, b.callid, b.cseq, b.expires_at)))
            err = s->c.store->api->binding_put(s->c.store, &b);
    }
    hdrs = ok_headers(s, irs, path, now, a);
    if (!err)
        s->st.reg_ok++;
    ims__irs_drop_if_empty(s, irs);
    pthread_mutex_unlock(&s->mu);
    if (err || !hdrs) {
        sv_log(SV_LOG_WARN, MOD, "node %s: a registration could not be stored: %s", s->c.node,
               strerror(err ? err : ENOMEM));
        answer(res, 500, "Server Internal Error (the registration could not be stored)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    answer(res, 200, "OK", hdrs);
    return PROXY_ROUTE_ANSWER;
}

/* ---------------------------------------------------------------------------------------- */
/* REGISTER                                                                                   */

/* Credentials that nothing can answer: an unknown identity is challenged like any other. */
static void fake_cred(struct store_cred *c, const char *impi)
{
    uint8_t rnd[16];

    memset(c, 0, sizeof(*c));
    sv_slice_copy_cut(c->impi, sizeof(c->impi), sv_slice_cstr(impi));
    RAND_bytes(rnd, sizeof(rnd));
    for (int i = 0; i < 16; i++) {
        snprintf(c->ha1_md5 + 2 * i, 3, "%02x", rnd[i]);
        snprintf(c->ha1_sha256 + 4 * i, 5, "%02x%02x", rnd[i], rnd[15 - i]);
    }
}

enum proxy_route_verdict ims__register(struct ims_state *s, const struct sip_msg *req,
                                       const struct net_flow *flow, bool from_trusted,
                                       struct sv_arena *a, struct proxy_route_res *res)
{
    struct reg_req r;
    struct store_profile *prof = sv_arena_alloc(a, sizeof(*prof));
    struct store_cred cred;
    int64_t sub_id = -1;
    bool known;
    enum verdict v;

    (void)flow;
    if (!prof) {
        answer(res, 500, "Server Internal Error (out of memory)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    if (decode(s, req, from_trusted, &r)) {
        answer(res, 400, "Bad Request (To or Authorization)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    /* The challenge and its answer read the same profile and credentials: the store keeps
     * them for that long (its profile and credentials caches), so each REGISTER asks. */
    known = s->c.store->api->profile_get(s->c.store, r.impu, prof) == 0;
    if (known && prof->irs.impus[prof->index].pseudonym &&
        s->c.pseudonym_requires_protected_register && !r.protected_link) {
        /* R83, TC-25 (a): before any challenge, so that no IMPI crosses the link for it */
        pthread_mutex_lock(&s->mu);
        s->st.reg_forbidden++;
        pthread_mutex_unlock(&s->mu);
        answer(res, 403, "Forbidden (a pseudonym registers over a protected link only)", NULL);
        return PROXY_ROUTE_ANSWER;
    }
    if (!*r.impi) /* no username yet: the subscription's IMPI (or the IMPU's user part) */
        sv_slice_copy_cut(r.impi, sizeof(r.impi),
                          sv_slice_cstr(known ? prof->impi : r.impu + 4));
    if (!known || s->c.store->api->cred_get(s->c.store, r.impi, &cred, &sub_id) ||
        sub_id != prof->sub_id)
        fake_cred(&cred, r.impi); /* an IMPI not of this IMPU's subscription: as unknown */
    if (!r.answered) {
        enum proxy_route_verdict pv = challenge(s, &cred, false, a, res);
        OPENSSL_cleanse(&cred, sizeof(cred));
        return pv;
    }
    v = cred.aka ? verify_aka(s, &cred, &r.au) : verify_digest(s, &cred, &r.au);
    enum proxy_route_verdict pv;
    switch (v) {
    case V_OK:
        break;
    case V_STALE:
        pv = challenge(s, &cred, true, a, res);
        goto out;
    case V_RESYNCED:
        pv = challenge(s, &cred, false, a, res);
        goto out;
    case V_MALFORMED:
        answer(res, 400, "Bad Request (Authorization)", NULL);
        pv = PROXY_ROUTE_ANSWER;
        goto out;
    case V_RESYNC_FAIL:
    case V_FAIL:
    default:
        pv = failed(s, &cred, a, res);
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    struct auth_slot *slot = ims__slot(s, cred.impi, false);
    if (slot)
        slot->failures = 0;
    pthread_mutex_unlock(&s->mu);
    if (prof->irs.impus[prof->index].barred) {
        answer(res, 403, "Forbidden (barred identity)", NULL);
        pv = PROXY_ROUTE_ANSWER;
        goto out;
    }
    pv = bind_contacts(s, req, prof, &r, a, res);
out:
    OPENSSL_cleanse(&cred, sizeof(cred));
    return pv;
}
