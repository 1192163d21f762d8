/**
 * @file fuzz_msg.c  libFuzzer target for the whole message layer.
 *
 * One input is treated as a datagram and as stream bytes. Whatever parses is checked, every
 * header line goes through the decoder that fits its id, the Request-URI is compared with itself,
 * and the message is serialized without edits (it must come back octet for octet) and with a few
 * edits (it must parse again, the From tag intact). The whole input is also fed to every
 * single-slice decoder directly, since those see header values the scanner never produced.
 *
 * Besides the sanitizers, the target checks the contract of sip.h and aborts on a breach:
 * decoders return only their documented codes, every slice they hand out lies inside their input,
 * list iterators always make progress, a refused message says why in one line, a response built
 * from a parsed request parses.
 *
 * The same function runs without libFuzzer in fuzz_replay (fuzz_replay.c), over the seeds and
 * tests/fuzz/regressions/ in every build.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipveil/sip.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_msg: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A slice handed out by a decoder is unset or lies within the decoder's input. */
#define FUZZ_INSIDE(x, in)                                                                         \
    FUZZ_CHECK((x).p == NULL || ((x).p >= (in).p && (x).l <= (size_t)((in).p + (in).l - (x).p)))

/* A decoder returns 0 or one of the codes it documents. */
#define FUZZ_RC(rc) FUZZ_CHECK((rc) == 0 || (rc) == EBADMSG || (rc) == ENOENT)

static const char *const supported_tags[] = {"privacy", "sec-agree", NULL};

static char arena_block[16384];
static char out_buf[1 << 17];

/* ---------------------------------------------------------------------------------------- */
/* Single-slice decoders                                                                      */

static void check_uri(const struct sip_uri *u, struct sv_slice in)
{
    FUZZ_INSIDE(u->raw, in);
    FUZZ_INSIDE(u->scheme_s, in);
    FUZZ_INSIDE(u->user, in);
    FUZZ_INSIDE(u->password, in);
    FUZZ_INSIDE(u->host, in);
    FUZZ_INSIDE(u->params, in);
    FUZZ_INSIDE(u->headers, in);
    FUZZ_CHECK(u->has_port || u->port == 0);
}

static void check_addr(const struct sip_addr *a, struct sv_slice in)
{
    FUZZ_INSIDE(a->raw, in);
    FUZZ_INSIDE(a->dname, in);
    FUZZ_INSIDE(a->uri_s, in);
    FUZZ_INSIDE(a->params, in);
    FUZZ_INSIDE(a->tag, in);
    check_uri(&a->uri, in);
}

static void do_uri(struct sv_slice s)
{
    struct sip_uri u, v;
    char tmp[256];
    size_t n;

    memset(&u, 0, sizeof(u));
    int rc = sip_uri_decode(&u, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0) {
        check_uri(&u, s);
        (void)sip_uri_equal(&u, &u);
        /* decoding the same text twice gives the same URI */
        FUZZ_CHECK(sip_uri_decode(&v, s) == 0);
        FUZZ_CHECK(sip_uri_equal(&u, &v) == sip_uri_equal(&u, &u));
        rc = sip_unescape(u.user, tmp, sizeof(tmp), &n);
        FUZZ_CHECK(rc == 0 || rc == EBADMSG || rc == ENOSPC);
        FUZZ_CHECK(rc != 0 || n <= u.user.l);
    }
}

static void do_addr(struct sv_slice s)
{
    struct sip_addr a;
    int rc = sip_addr_decode(&a, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0)
        check_addr(&a, s);
}

/* Run a list iterator to its end, checking that each element advances the cursor. */
#define FUZZ_ITERATE(next, cur0, elem, check)                                                      \
    do {                                                                                           \
        struct sv_slice cur_ = (cur0);                                                             \
        int rc_;                                                                                   \
        size_t guard_ = cur_.l + 2;                                                                \
        while ((rc_ = next(&cur_, &(elem))) == 0) {                                                \
            check;                                                                                 \
            FUZZ_INSIDE(cur_, (cur0));                                                             \
            FUZZ_CHECK(guard_-- > 0);                                                              \
        }                                                                                          \
        FUZZ_RC(rc_);                                                                              \
    } while (0)

static void do_addr_list(struct sv_slice s)
{
    struct sip_addr a;
    FUZZ_ITERATE(sip_addr_next, s, a, check_addr(&a, s));
}

static void do_contact_list(struct sv_slice s)
{
    struct sip_contact c;
    FUZZ_ITERATE(sip_contact_next, s, c, {
        if (!c.star)
            check_addr(&c.addr, s);
        FUZZ_CHECK(!c.has_q || c.q <= 1000);
    });
}

static void do_via_list(struct sv_slice s)
{
    struct sip_via v;
    FUZZ_ITERATE(sip_via_next, s, v, {
        FUZZ_INSIDE(v.raw, s);
        FUZZ_INSIDE(v.proto, s);
        FUZZ_INSIDE(v.version, s);
        FUZZ_INSIDE(v.transport, s);
        FUZZ_INSIDE(v.host, s);
        FUZZ_INSIDE(v.params, s);
        FUZZ_INSIDE(v.branch, s);
        FUZZ_INSIDE(v.received, s);
        FUZZ_INSIDE(v.maddr, s);
        (void)sip_via_branch_is_rfc3261(&v);
    });
}

static void do_token_list(struct sv_slice s)
{
    struct sv_slice t;
    FUZZ_ITERATE(sip_token_next, s, t, FUZZ_INSIDE(t, s));
}

static void do_param_list(struct sv_slice s)
{
    struct sip_param p;
    FUZZ_ITERATE(sip_param_next, s, p, {
        FUZZ_INSIDE(p.name, s);
        FUZZ_INSIDE(p.value, s);
    });
    (void)sip_param_get(s, "tag", NULL);
}

static void do_auth_params(struct sv_slice s)
{
    struct sip_param p;
    FUZZ_ITERATE(sip_auth_param_next, s, p, {
        FUZZ_INSIDE(p.name, s);
        FUZZ_INSIDE(p.value, s);
    });
}

static void do_secmech_list(struct sv_slice s)
{
    struct sip_secmech m;
    FUZZ_ITERATE(sip_secmech_next, s, m, {
        FUZZ_INSIDE(m.raw, s);
        FUZZ_INSIDE(m.mech, s);
        FUZZ_INSIDE(m.params, s);
    });
}

static void do_pvalue_list(struct sv_slice s)
{
    struct sip_pvalue v;
    FUZZ_ITERATE(sip_pvalue_next, s, v, {
        FUZZ_INSIDE(v.raw, s);
        FUZZ_INSIDE(v.value, s);
        FUZZ_INSIDE(v.params, s);
    });
}

static void do_cseq(struct sv_slice s)
{
    struct sip_cseq cs;
    int rc = sip_cseq_decode(&cs, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0) {
        FUZZ_INSIDE(cs.method, s);
        FUZZ_CHECK(cs.num < 0x80000000u);
    }
}

static void do_scalars(struct sv_slice s)
{
    struct sv_slice out;
    uint32_t u;
    int rc;

    rc = sip_callid_decode(&out, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0)
        FUZZ_INSIDE(out, s);
    rc = sip_uint_decode(&u, s, 255);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    FUZZ_CHECK(rc != 0 || u <= 255);
    rc = sip_uint_decode(&u, s, UINT32_MAX);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    rc = sip_etag_decode(&out, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0)
        FUZZ_INSIDE(out, s);
}

static void do_ctype(struct sv_slice s)
{
    struct sip_ctype ct;
    int rc = sip_ctype_decode(&ct, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0) {
        FUZZ_INSIDE(ct.type, s);
        FUZZ_INSIDE(ct.subtype, s);
        FUZZ_INSIDE(ct.params, s);
        (void)sip_ctype_is(&ct, "application", "sdp");
    }
}

static void do_privacy(struct sv_slice s)
{
    struct sip_privacy pv;
    char buf[512];
    size_t n = 0;

    sip_privacy_init(&pv);
    int rc = sip_privacy_decode(&pv, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    FUZZ_CHECK(pv.ntok <= SIP_PRIV_MAX_TOKENS);
    for (unsigned i = 0; i < pv.ntok; i++)
        FUZZ_INSIDE(pv.tok[i], s);
    rc = sip_privacy_print(&pv, buf, sizeof(buf), &n);
    FUZZ_CHECK(rc == 0 || rc == ENOSPC);
    FUZZ_CHECK(rc != 0 || n <= sizeof(buf));
    /* a tiny buffer must be refused, not overrun */
    rc = sip_privacy_print(&pv, buf, 1, &n);
    FUZZ_CHECK(rc == 0 || rc == ENOSPC);
}

static void do_auth(struct sv_slice s)
{
    struct sip_auth au;
    int rc = sip_auth_decode(&au, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0) {
        FUZZ_INSIDE(au.scheme, s);
        FUZZ_INSIDE(au.params, s);
        FUZZ_INSIDE(au.username, s);
        FUZZ_INSIDE(au.realm, s);
        FUZZ_INSIDE(au.nonce, s);
        FUZZ_INSIDE(au.uri, s);
        FUZZ_INSIDE(au.response, s);
        FUZZ_INSIDE(au.opaque, s);
        FUZZ_INSIDE(au.auts, s);
        FUZZ_INSIDE(au.integrity_protected, s);
    }
    do_auth_params(s);
}

static void do_event(struct sv_slice s)
{
    struct sip_event ev;
    struct sip_substate ss;
    int rc = sip_event_decode(&ev, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0) {
        FUZZ_INSIDE(ev.type, s);
        FUZZ_INSIDE(ev.package, s);
        FUZZ_INSIDE(ev.templ, s);
        FUZZ_INSIDE(ev.id, s);
        FUZZ_INSIDE(ev.params, s);
    }
    rc = sip_substate_decode(&ss, s);
    FUZZ_CHECK(rc == 0 || rc == EBADMSG);
    if (rc == 0) {
        FUZZ_INSIDE(ss.value, s);
        FUZZ_INSIDE(ss.reason, s);
        FUZZ_INSIDE(ss.params, s);
    }
}

/* Every single-slice decoder, whatever the slice is. */
static void decode_all(struct sv_slice s)
{
    do_uri(s);
    do_addr(s);
    do_addr_list(s);
    do_contact_list(s);
    do_via_list(s);
    do_cseq(s);
    do_scalars(s);
    do_ctype(s);
    do_token_list(s);
    do_param_list(s);
    do_privacy(s);
    do_auth(s);
    do_event(s);
    do_secmech_list(s);
    do_pvalue_list(s);
    (void)sip_hdr_lookup(s);
    (void)sip_method_lookup(s);
}

/* The decoder that fits header @p id. */
static void decode_hdr(enum sip_hdr_id id, struct sv_slice v)
{
    uint32_t u;
    struct sv_slice out;

    switch (id) {
    case SIP_HDR_VIA:
        do_via_list(v);
        break;
    case SIP_HDR_FROM:
    case SIP_HDR_TO:
    case SIP_HDR_REPLY_TO:
    case SIP_HDR_P_CALLED_PARTY_ID:
    case SIP_HDR_P_SERVED_USER:
    case SIP_HDR_REFER_TO:
    case SIP_HDR_REFERRED_BY:
        do_addr(v);
        break;
    case SIP_HDR_ROUTE:
    case SIP_HDR_RECORD_ROUTE:
    case SIP_HDR_PATH:
    case SIP_HDR_SERVICE_ROUTE:
    case SIP_HDR_P_ASSERTED_IDENTITY:
    case SIP_HDR_P_PREFERRED_IDENTITY:
    case SIP_HDR_P_ASSOCIATED_URI:
    case SIP_HDR_HISTORY_INFO:
        do_addr_list(v);
        break;
    case SIP_HDR_CONTACT:
        do_contact_list(v);
        break;
    case SIP_HDR_CSEQ:
        do_cseq(v);
        break;
    case SIP_HDR_CALL_ID:
        FUZZ_CHECK(sip_callid_decode(&out, v) != ENOENT);
        break;
    case SIP_HDR_MAX_FORWARDS:
        (void)sip_uint_decode(&u, v, 255);
        break;
    case SIP_HDR_CONTENT_LENGTH:
    case SIP_HDR_EXPIRES:
    case SIP_HDR_MIN_EXPIRES:
    case SIP_HDR_MIN_SE:
    case SIP_HDR_RSEQ:
        (void)sip_uint_decode(&u, v, UINT32_MAX);
        break;
    case SIP_HDR_CONTENT_TYPE:
        do_ctype(v);
        break;
    case SIP_HDR_REQUIRE:
    case SIP_HDR_PROXY_REQUIRE:
    case SIP_HDR_SUPPORTED:
    case SIP_HDR_UNSUPPORTED:
    case SIP_HDR_ALLOW:
    case SIP_HDR_ALLOW_EVENTS:
    case SIP_HDR_ACCEPT:
    case SIP_HDR_CONTENT_ENCODING:
        do_token_list(v);
        break;
    case SIP_HDR_PRIVACY:
        do_privacy(v);
        break;
    case SIP_HDR_AUTHORIZATION:
    case SIP_HDR_PROXY_AUTHORIZATION:
    case SIP_HDR_WWW_AUTHENTICATE:
    case SIP_HDR_PROXY_AUTHENTICATE:
    case SIP_HDR_AUTHENTICATION_INFO:
        do_auth(v);
        break;
    case SIP_HDR_EVENT:
    case SIP_HDR_SUBSCRIPTION_STATE:
        do_event(v);
        break;
    case SIP_HDR_SIP_ETAG:
    case SIP_HDR_SIP_IF_MATCH:
        (void)sip_etag_decode(&out, v);
        break;
    case SIP_HDR_SECURITY_CLIENT:
    case SIP_HDR_SECURITY_SERVER:
    case SIP_HDR_SECURITY_VERIFY:
        do_secmech_list(v);
        break;
    default:
        do_pvalue_list(v);
        break;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                   */

static void check_index(const struct sip_msg *msg)
{
    FUZZ_CHECK(msg->hdrc <= sip_limits_default.max_headers);
    for (unsigned i = 0; i < msg->hdrc; i++) {
        const struct sip_hdr *h = &msg->hdrv[i];
        FUZZ_CHECK(h->id < SIP_HDR__N);
        FUZZ_CHECK((size_t)h->off + h->len <= msg->raw.l);
        FUZZ_INSIDE(h->name, msg->raw);
        FUZZ_INSIDE(h->value, msg->raw);
        FUZZ_CHECK(h->name.p == msg->raw.p + h->off);
        /* the id is what the table says for the name */
        FUZZ_CHECK(sip_hdr_lookup(h->name) == (enum sip_hdr_id)h->id);
    }
    /* first/next chains visit exactly count[id] lines, in order */
    for (unsigned id = 0; id < SIP_HDR__N; id++) {
        unsigned n = 0;
        uint32_t last = 0;
        for (const struct sip_hdr *h = sip_msg_hdr(msg, (enum sip_hdr_id)id); h;
             h = sip_msg_hdr_next(msg, h)) {
            FUZZ_CHECK(h->id == id);
            FUZZ_CHECK(n == 0 || h->off > last);
            last = h->off;
            FUZZ_CHECK(++n <= msg->hdrc);
        }
        if (id != SIP_HDR_OTHER)
            FUZZ_CHECK(n == msg->count[id]);
    }
    FUZZ_CHECK(msg->hdr_end <= msg->raw.l);
    FUZZ_INSIDE(msg->body, msg->raw);
    FUZZ_INSIDE(msg->start, msg->raw);
    FUZZ_CHECK(!msg->has_clen || msg->body.l == msg->clen);
}

/* Serialize with @p ed into out_buf, checking the ENOSPC protocol. @return the length. */
static size_t print_msg(const struct sip_msg *msg, const struct sip_edits *ed)
{
    size_t need = 0, n = 0;
    int rc = sip_msg_print(msg, ed, NULL, 0, &need);
    FUZZ_CHECK(rc == ENOSPC || (rc == 0 && need == 0));
    FUZZ_CHECK(need <= sizeof(out_buf));
    rc = sip_msg_print(msg, ed, out_buf, need, &n);
    FUZZ_CHECK(rc == 0 && n == need);
    return n;
}

/* Parse @p len octets of out_buf as a datagram into a fresh arena. */
static int reparse(struct sv_arena *a, size_t len, struct sip_msg **msg)
{
    struct sip_perr perr;
    sv_arena_reset(a);
    return sip_msg_parse(msg, a, out_buf, len, SIP_DGRAM, &sip_limits_default, &perr);
}

static void edits(const struct sip_msg *msg)
{
    struct sv_arena ea, pa;
    static char eblock[8192], pblock[8192];
    struct sip_edits ed;
    struct sip_msg *m2;
    const struct sip_hdr *via = sip_msg_hdr(msg, SIP_HDR_VIA);
    const struct sip_hdr *from = sip_msg_hdr(msg, SIP_HDR_FROM);
    static const struct sv_slice anon = SV_LIT("\"Anonymous\" <sip:anonymous@anonymous.invalid>");

    sv_arena_init(&ea, eblock, sizeof(eblock));
    sv_arena_init(&pa, pblock, sizeof(pblock));

    /* 1. delete the top Via line, replace From: serializes consistently */
    sip_edits_init(&ed, msg, &ea);
    if (via)
        FUZZ_CHECK(sip_edit_hdr_del(&ed, via) == 0);
    if (from)
        FUZZ_CHECK(sip_edit_addr_set(&ed, from, &msg->from, anon) == 0);
    size_t n = print_msg(msg, &ed);
    if (via && !from)
        FUZZ_CHECK(n == msg->raw.l - via->len);

    /* 2. replace From only: the result parses and keeps the tag, byte for byte */
    if (from && sip_msg_hdr_next(msg, from) == NULL) {
        sv_arena_reset(&ea);
        sip_edits_init(&ed, msg, &ea);
        FUZZ_CHECK(sip_edit_addr_set(&ed, from, &msg->from, anon) == 0);
        n = print_msg(msg, &ed);
        int rc = reparse(&pa, n, &m2);
        if (rc) {
            fprintf(stderr, "fuzz_msg: From replaced, the message no longer parses\n");
            abort();
        }
        FUZZ_CHECK(sv_slice_eq(m2->from.tag, msg->from.tag));
        FUZZ_CHECK(m2->from.uri.scheme == SIP_URI_SIP);
    }

    /* 3. push a Via, prepend a header, new body: still parses, Content-Length follows */
    sv_arena_reset(&ea);
    sip_edits_init(&ed, msg, &ea);
    FUZZ_CHECK(sip_edit_via_push(&ed, "UDP", SV_LIT("192.0.2.1:5060"),
                                 SV_LIT("z9hG4bKfuzzfuzzfuzz")) == 0);
    FUZZ_CHECK(sip_edit_hdr_prepend(&ed, "Record-Route", SV_LIT("<sip:192.0.2.1;lr>")) == 0);
    FUZZ_CHECK(sip_edit_hdr_insert(&ed, NULL, "P-Fuzz", SV_LIT("yes")) == 0);
    FUZZ_CHECK(sip_edit_body_set(&ed, SV_LIT("hello")) == 0);
    if (msg->req)
        FUZZ_CHECK(sip_edit_ruri_set(&ed, SV_LIT("sip:fuzz@example.com")) == 0);
    n = print_msg(msg, &ed);
    (void)reparse(&pa, n, &m2);

    sv_arena_close(&pa);
    sv_arena_close(&ea);
}

static void built(const struct sip_msg *msg)
{
    struct sv_arena pa;
    static char pblock[8192];
    struct sip_msg *m2;
    size_t n = 0;

    if (!msg->req || msg->mid == SIP_METHOD_ACK)
        return;
    sv_arena_init(&pa, pblock, sizeof(pblock));
    int rc = sip_resp_build(msg, 400, "Bad Request", SV_LIT("fuzztag"), SV_LIT(""), out_buf,
                            sizeof(out_buf), &n);
    FUZZ_CHECK(rc == 0 || rc == ENOSPC);
    if (rc == 0) {
        FUZZ_CHECK(n <= sizeof(out_buf));
        rc = reparse(&pa, n, &m2);
        if (rc == 0)
            FUZZ_CHECK(!m2->req && m2->scode == 400);
    }
    if (msg->mid == SIP_METHOD_INVITE) {
        rc = sip_cancel_build(msg, out_buf, sizeof(out_buf), &n);
        FUZZ_CHECK(rc == 0 || rc == ENOSPC || rc == EINVAL);
    }
    sv_arena_close(&pa);
}

static void one_message(const struct sip_msg *msg, const char *buf)
{
    struct sip_check_opts opts = {SIP_CHECK_PROXY, supported_tags};
    struct sip_status st;
    struct sip_privacy pv;

    FUZZ_CHECK(msg->raw.p == buf);
    check_index(msg);

    int rc = sip_msg_check(msg, &opts, &st);
    FUZZ_CHECK(rc == 0 || rc == EPROTO);
    FUZZ_CHECK(rc == 0 || (st.code >= 400 && st.code <= 599 && st.reason != NULL));
    opts.role = SIP_CHECK_UAS;
    opts.supported = NULL;
    rc = sip_msg_check(msg, &opts, &st);
    FUZZ_CHECK(rc == 0 || rc == EPROTO);

    for (unsigned i = 0; i < msg->hdrc; i++)
        decode_hdr((enum sip_hdr_id)msg->hdrv[i].id, msg->hdrv[i].value);
    rc = sip_privacy_get(&pv, msg);
    FUZZ_CHECK(rc == 0 || rc == ENOENT || rc == EBADMSG);

    if (msg->req) {
        struct sip_uri u;
        if (sip_uri_decode(&u, msg->ruri_s) == 0) {
            (void)sip_uri_equal(&u, &u);
            (void)sip_uri_equal(&u, &msg->ruri);
        }
        (void)sip_uri_equal(&msg->ruri, &msg->ruri);
    }

    /* no edits: the received octets, exactly */
    size_t n = print_msg(msg, NULL);
    if (n != msg->raw.l || memcmp(out_buf, msg->raw.p, n) != 0) {
        fprintf(stderr, "fuzz_msg: sip_msg_print without edits differs from the input\n");
        abort();
    }
    edits(msg);
    built(msg);
}

/*
 * A request the parser refused after the scan comes back anyway, partly decoded, so that the
 * server can answer 400 (sip.h, sip_msg_parse). Answering must be safe whatever is missing.
 */
static void refused(const struct sip_msg *msg, const char *buf)
{
    size_t n = 0;

    FUZZ_CHECK(msg->raw.p == buf);
    check_index(msg);
    int rc = sip_resp_build(msg, 400, "Bad Request", SV_LIT("fuzztag"), SV_LIT(""), out_buf,
                            sizeof(out_buf), &n);
    FUZZ_CHECK(rc == 0 || rc == ENOSPC || rc == EINVAL);
    n = print_msg(msg, NULL);
    FUZZ_CHECK(n == msg->raw.l && memcmp(out_buf, msg->raw.p, n) == 0);
}

/*
 * A message of @p mlen octets parsed at @p p. Cut short, it is incomplete: a stream asks for more
 * (ENODATA) and a datagram with Content-Length is malformed. Framed alone, it has the same length,
 * and a datagram with Content-Length frames the same way on a stream.
 */
static void cuts(const char *p, size_t mlen, enum sip_transport_kind mode, bool has_clen,
                 const struct sip_limits *lim, struct sv_arena *arena)
{
    struct sip_perr perr;
    struct sip_msg *m;
    size_t cut[3] = {mlen - 1, mlen / 2, mlen};

    for (int i = 0; i < 3; i++) {
        sv_arena_reset(arena);
        int err = sip_msg_parse(&m, arena, p, cut[i], mode, lim, &perr);
        if (cut[i] == mlen)
            FUZZ_CHECK(err == 0 && m->raw.l == mlen);
        else if (mode == SIP_STREAM)
            FUZZ_CHECK(err == ENODATA);
        else if (has_clen)
            FUZZ_CHECK(err == EBADMSG);
    }
    if (mode == SIP_DGRAM && has_clen && mlen > 0 && p[0] != '\r' && p[0] != '\n') {
        sv_arena_reset(arena);
        int err = sip_msg_parse(&m, arena, p, mlen, SIP_STREAM, lim, &perr);
        FUZZ_CHECK(err == 0 && m->raw.l == mlen);
    }
}

static void parse_as(const char *buf, size_t len, enum sip_transport_kind mode,
                     const struct sip_limits *lim)
{
    struct sv_arena arena;
    struct sip_perr perr;
    struct sip_msg *msg = NULL;
    size_t off = 0, ml = 0;

    sv_arena_init(&arena, arena_block, sizeof(arena_block));
    /* a stream may carry keep-alives and several messages back to back */
    for (int k = 0; k < 8 && off <= len; k++) {
        if (mode == SIP_STREAM)
            off += sip_frame_skip_crlf(buf + off, len - off);
        const char *p = buf + off;
        size_t l = len - off;

        memset(&perr, 0, sizeof(perr));
        int ferr = sip_frame(p, l, mode, lim, &ml, &perr);
        FUZZ_CHECK(ferr == 0 || ferr == EBADMSG || ferr == EMSGSIZE ||
                   (ferr == ENODATA && mode == SIP_STREAM));
        sv_arena_reset(&arena);
        memset(&perr, 0, sizeof(perr));
        msg = NULL;
        int err = sip_msg_parse(&msg, &arena, p, l, mode, lim, &perr);
        FUZZ_CHECK(err == 0 || err == EBADMSG || err == EMSGSIZE || err == ENOMEM ||
                   (err == ENODATA && mode == SIP_STREAM));
        /*
         * Framing and parsing agree on incomplete input and on refusal. Which of EBADMSG and
         * EMSGSIZE a refused datagram gets may differ: the scan can meet a malformed line
         * before the framer's cap check would have reached an oversized one.
         */
        if (ferr == ENODATA)
            FUZZ_CHECK(err == ENODATA);
        else if (ferr)
            FUZZ_CHECK(err == EBADMSG || err == EMSGSIZE);
        if (err == EBADMSG || err == EMSGSIZE) {
            FUZZ_CHECK(perr.reason != NULL && strchr(perr.reason, '\n') == NULL);
            FUZZ_CHECK(perr.status >= 400 && perr.status <= 599);
        }
        if (err == EBADMSG && msg)
            refused(msg, p);
        if (err)
            break;
        FUZZ_CHECK(ml == msg->raw.l && msg->raw.l <= l && msg->raw.l > 0);
        size_t mlen = msg->raw.l;
        bool has_clen = msg->has_clen;
        one_message(msg, p);
        cuts(p, mlen, mode, has_clen, lim, &arena);
        if (mode == SIP_DGRAM)
            break;
        off += mlen;
    }
    sv_arena_close(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct sv_slice all = sv_slice_make(buf, size);

    /* small caps, so that every cap is crossed somewhere in the corpus */
    static const struct sip_limits tight = {
        .max_msg = 600, .max_headers = 12, .max_start_line = 80, .max_header = 120};

    parse_as(buf, size, SIP_DGRAM, &sip_limits_default);
    parse_as(buf, size, SIP_STREAM, &sip_limits_default);
    parse_as(buf, size, SIP_DGRAM, &tight);
    parse_as(buf, size, SIP_STREAM, &tight);
    decode_all(all);
    decode_all(sv_slice_trim(all));
    return 0;
}
