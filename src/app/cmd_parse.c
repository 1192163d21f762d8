/**
 * @file cmd_parse.c  `sipveil parse`: one message in, a canonical dump (or the reason) out.
 *
 * The dump decodes every header the table knows, not only the ones the scanner decodes, so
 * `sipveil parse` is stricter than the forwarding path: a header that would fail to decode
 * when some layer needs it makes the message malformed here. That is what corpus tests and
 * an engineer debugging a trace want to see.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sipveil/sip.h>
#include "app.h"

static const char *const hdr_ids[SIP_HDR__N] = {
    [SIP_HDR_OTHER] = "OTHER",
#define X(id, name, compact, flags) [SIP_HDR_##id] = #id,
#include <sipveil/sip_hdr.def>
#undef X
};

void app_usage_parse(FILE *f)
{
    fprintf(f,
            "Usage: sipveil parse [--role proxy|uas] [--stream] [FILE]\n"
            "\n"
            "Parse one SIP message from FILE (standard input when FILE is absent or '-') and\n"
            "print a canonical dump: the start line, then each header with its table id and\n"
            "decoded fields, then the body length.\n"
            "\n"
            "Options:\n"
            "  --role proxy|uas  Check the message as a proxy (default: Max-Forwards 0 is 483,\n"
            "                    Proxy-Require is checked) or as a user agent server (Require\n"
            "                    is checked).\n"
            "  --stream          Frame as on TCP/TLS: Content-Length is required and octets\n"
            "                    after the message are reported. Default: as one UDP datagram,\n"
            "                    where octets after Content-Length are ignored (RFC 4475 dblreq).\n"
            "\n"
            "Exit status:\n"
            "  0   the message is valid; the dump is on standard output\n"
            "  65  malformed: one line 'malformed: <reason>' (a server answers 400 or drops it)\n"
            "  66  well-formed but refused: one line 'refused: <code> <reason>', e.g. 505, 416,\n"
            "      420, 483, or 400 for a CSeq that does not match the method\n"
            "  64  usage error; 74 the input could not be read\n"
            "\n"
            "Supported option tags (for 420): privacy.\n");
}

int app_read_all(const char *path, char **bufp, size_t *lenp, size_t max)
{
    FILE *f = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    size_t cap = 4096, len = 0;
    char *buf;

    if (!f)
        return errno;
    buf = malloc(cap);
    if (!buf)
        goto nomem;
    for (;;) {
        if (len == cap) {
            if (cap >= max) {
                free(buf);
                if (f != stdin)
                    fclose(f);
                return EFBIG;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                goto nomem;
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    *bufp = buf;
    *lenp = len;
    return 0;
nomem:
    free(buf);
    if (f != stdin)
        fclose(f);
    return ENOMEM;
}

/* ---- the dump ---- */

static void p_sl(FILE *o, const char *key, struct sv_slice s)
{
    if (s.p)
        fprintf(o, " %s=%.*s", key, SV_FMT(s));
}

static const char *host_type(enum sip_host_type t)
{
    switch (t) {
    case SIP_HOST_DOMAIN:
        return "domain";
    case SIP_HOST_IPV4:
        return "ipv4";
    case SIP_HOST_IPV6:
        return "ipv6";
    default:
        return "none";
    }
}

static void p_uri(FILE *o, const char *pfx, const struct sip_uri *u)
{
    static const char *const schemes[] = {"sip", "sips", "tel", "other"};
    fprintf(o, " %sscheme=%s", pfx, schemes[u->scheme]);
    if (u->scheme == SIP_URI_OTHER) {
        p_sl(o, "raw", u->raw);
        return;
    }
    p_sl(o, "user", u->user);
    p_sl(o, "password", u->password);
    if (u->host.l)
        fprintf(o, " host=%.*s host_type=%s", SV_FMT(u->host), host_type(u->host_type));
    if (u->has_port)
        fprintf(o, " port=%u", u->port);
    if (u->params.l)
        p_sl(o, "uri_params", u->params);
    p_sl(o, "uri_headers", u->headers);
}

static void p_addr(FILE *o, const struct sip_addr *a)
{
    if (a->dname.p)
        fprintf(o, " display=%s%.*s%s", a->dname_quoted ? "\"" : "", SV_FMT(a->dname),
                a->dname_quoted ? "\"" : "");
    p_uri(o, "", &a->uri);
    if (a->params.l)
        p_sl(o, "params", a->params);
    p_sl(o, "tag", a->tag);
}

/* Decode and print one header's fields. @return 0 or the decoder's error. */
static int dump_fields(FILE *o, const struct sip_hdr *h)
{
    struct sv_slice cur = h->value;
    int e = 0, n = 0;

    switch ((enum sip_hdr_id)h->id) {
    case SIP_HDR_VIA: {
        struct sip_via v;
        while ((e = sip_via_next(&cur, &v)) == 0) {
            fprintf(o, "    via[%d]: proto=%.*s/%.*s/%.*s host=%.*s host_type=%s", n++,
                    SV_FMT(v.proto), SV_FMT(v.version), SV_FMT(v.transport), SV_FMT(v.host),
                    host_type(v.host_type));
            if (v.has_port)
                fprintf(o, " port=%u", v.port);
            p_sl(o, "branch", v.branch);
            p_sl(o, "received", v.received);
            p_sl(o, "maddr", v.maddr);
            if (v.rport)
                fprintf(o, v.rport_val ? " rport=%u" : " rport", v.rport_val);
            if (v.ttl >= 0)
                fprintf(o, " ttl=%d", v.ttl);
            fputc('\n', o);
        }
        return e == ENOENT ? 0 : e;
    }
    case SIP_HDR_FROM:
    case SIP_HDR_TO:
    case SIP_HDR_REPLY_TO:
    case SIP_HDR_P_CALLED_PARTY_ID:
    case SIP_HDR_P_SERVED_USER:
    case SIP_HDR_REFER_TO:
    case SIP_HDR_REFERRED_BY: {
        struct sip_addr a;
        if ((e = sip_addr_decode(&a, h->value)))
            return e;
        fprintf(o, "    addr:");
        p_addr(o, &a);
        fputc('\n', o);
        return 0;
    }
    case SIP_HDR_ROUTE:
    case SIP_HDR_RECORD_ROUTE:
    case SIP_HDR_PATH:
    case SIP_HDR_SERVICE_ROUTE:
    case SIP_HDR_P_ASSERTED_IDENTITY:
    case SIP_HDR_P_PREFERRED_IDENTITY:
    case SIP_HDR_P_ASSOCIATED_URI: {
        struct sip_addr a;
        while ((e = sip_addr_next(&cur, &a)) == 0) {
            fprintf(o, "    addr[%d]:", n++);
            p_addr(o, &a);
            fputc('\n', o);
        }
        return e == ENOENT ? 0 : e;
    }
    case SIP_HDR_CONTACT: {
        struct sip_contact c;
        while ((e = sip_contact_next(&cur, &c)) == 0) {
            fprintf(o, "    contact[%d]:", n++);
            if (c.star) {
                fprintf(o, " star\n");
                continue;
            }
            p_addr(o, &c.addr);
            if (c.has_expires)
                fprintf(o, " expires=%u", c.expires);
            if (c.has_q)
                fprintf(o, " q=%u.%03u", c.q / 1000, c.q % 1000);
            fputc('\n', o);
        }
        return e == ENOENT ? 0 : e;
    }
    case SIP_HDR_CSEQ: {
        struct sip_cseq cs;
        if ((e = sip_cseq_decode(&cs, h->value)))
            return e;
        fprintf(o, "    cseq: num=%u method=%.*s\n", cs.num, SV_FMT(cs.method));
        return 0;
    }
    case SIP_HDR_CALL_ID: {
        struct sv_slice id;
        if ((e = sip_callid_decode(&id, h->value)))
            return e;
        fprintf(o, "    call-id: %.*s\n", SV_FMT(id));
        return 0;
    }
    case SIP_HDR_MAX_FORWARDS:
    case SIP_HDR_CONTENT_LENGTH:
    case SIP_HDR_EXPIRES:
    case SIP_HDR_MIN_EXPIRES: {
        uint32_t v;
        if ((e = sip_uint_decode(&v, h->value, UINT32_MAX - 1)))
            return e;
        fprintf(o, "    uint: %u\n", v);
        return 0;
    }
    case SIP_HDR_CONTENT_TYPE: {
        struct sip_ctype ct;
        if ((e = sip_ctype_decode(&ct, h->value)))
            return e;
        fprintf(o, "    media: type=%.*s subtype=%.*s", SV_FMT(ct.type), SV_FMT(ct.subtype));
        if (ct.params.l)
            p_sl(o, "params", ct.params);
        fputc('\n', o);
        return 0;
    }
    case SIP_HDR_REQUIRE:
    case SIP_HDR_PROXY_REQUIRE:
    case SIP_HDR_SUPPORTED:
    case SIP_HDR_UNSUPPORTED:
    case SIP_HDR_ALLOW:
    case SIP_HDR_ALLOW_EVENTS: {
        struct sv_slice tok;
        fprintf(o, "    tokens:");
        while ((e = sip_token_next(&cur, &tok)) == 0)
            fprintf(o, " %.*s", SV_FMT(tok));
        fputc('\n', o);
        return e == ENOENT ? 0 : e;
    }
    case SIP_HDR_PRIVACY: {
        struct sip_privacy pv;
        char canon[256];
        size_t cn;
        sip_privacy_init(&pv);
        if ((e = sip_privacy_decode(&pv, h->value)))
            return e;
        if (sip_privacy_print(&pv, canon, sizeof(canon), &cn))
            cn = 0;
        fprintf(o, "    privacy: canonical=%.*s unknown=%u\n", (int)cn, canon, pv.nunknown);
        return 0;
    }
    case SIP_HDR_AUTHORIZATION:
    case SIP_HDR_PROXY_AUTHORIZATION:
    case SIP_HDR_WWW_AUTHENTICATE:
    case SIP_HDR_PROXY_AUTHENTICATE: {
        struct sip_auth au;
        struct sip_param prm;
        if ((e = sip_auth_decode(&au, h->value)))
            return e;
        fprintf(o, "    auth: scheme=%.*s", SV_FMT(au.scheme));
        cur = au.params;
        while ((e = sip_auth_param_next(&cur, &prm)) == 0) {
            fprintf(o, " %.*s", SV_FMT(prm.name));
            if (prm.value.p)
                fprintf(o, "=%.*s", SV_FMT(prm.value));
        }
        fputc('\n', o);
        return e == ENOENT ? 0 : e;
    }
    case SIP_HDR_EVENT: {
        struct sip_event ev;
        if ((e = sip_event_decode(&ev, h->value)))
            return e;
        fprintf(o, "    event: package=%.*s", SV_FMT(ev.package));
        if (ev.templ.l)
            p_sl(o, "template", ev.templ);
        p_sl(o, "id", ev.id);
        fputc('\n', o);
        return 0;
    }
    case SIP_HDR_SUBSCRIPTION_STATE: {
        struct sip_substate ss;
        if ((e = sip_substate_decode(&ss, h->value)))
            return e;
        fprintf(o, "    substate: value=%.*s", SV_FMT(ss.value));
        p_sl(o, "reason", ss.reason);
        if (ss.has_expires)
            fprintf(o, " expires=%u", ss.expires);
        if (ss.has_retry_after)
            fprintf(o, " retry-after=%u", ss.retry_after);
        fputc('\n', o);
        return 0;
    }
    case SIP_HDR_SIP_ETAG:
    case SIP_HDR_SIP_IF_MATCH: {
        struct sv_slice tag;
        if ((e = sip_etag_decode(&tag, h->value)))
            return e;
        fprintf(o, "    etag: %.*s\n", SV_FMT(tag));
        return 0;
    }
    case SIP_HDR_SECURITY_CLIENT:
    case SIP_HDR_SECURITY_SERVER:
    case SIP_HDR_SECURITY_VERIFY: {
        struct sip_secmech sm;
        while ((e = sip_secmech_next(&cur, &sm)) == 0) {
            fprintf(o, "    mech[%d]: %.*s", n++, SV_FMT(sm.mech));
            if (sm.params.l)
                p_sl(o, "params", sm.params);
            fputc('\n', o);
        }
        return e == ENOENT ? 0 : e;
    }
    case SIP_HDR_P_ACCESS_NETWORK_INFO:
    case SIP_HDR_P_CHARGING_VECTOR:
    case SIP_HDR_P_CHARGING_FUNCTION_ADDRESSES:
    case SIP_HDR_P_VISITED_NETWORK_ID: {
        struct sip_pvalue pv;
        while ((e = sip_pvalue_next(&cur, &pv)) == 0) {
            fprintf(o, "    value[%d]: %.*s", n++, SV_FMT(pv.value));
            if (pv.params.l)
                p_sl(o, "params", pv.params);
            fputc('\n', o);
        }
        return e == ENOENT ? 0 : e;
    }
    default:
        return 0; /* kept as an opaque value */
    }
}

static int dump(FILE *o, const struct sip_msg *msg, const struct sip_hdr **bad)
{
    if (msg->req) {
        fprintf(o, "request method=%.*s version=%.*s\n", SV_FMT(msg->method), SV_FMT(msg->version));
        fprintf(o, "  ruri: %.*s\n  ", SV_FMT(msg->ruri_s));
        p_uri(o, "", &msg->ruri);
        fputc('\n', o);
    } else {
        fprintf(o, "response version=%.*s status=%u reason=%.*s\n", SV_FMT(msg->version),
                msg->scode, SV_FMT(msg->reason));
    }
    for (unsigned i = 0; i < msg->hdrc; i++) {
        const struct sip_hdr *h = &msg->hdrv[i];
        fprintf(o, "header %u %s name=%.*s: %.*s\n", i, hdr_ids[h->id], SV_FMT(h->name),
                SV_FMT(h->value));
        if (dump_fields(o, h)) {
            *bad = h;
            return EBADMSG;
        }
    }
    fprintf(o, "body %zu octets\n", msg->body.l);
    return 0;
}

int app_cmd_parse(int argc, char **argv)
{
    static const char *const supported[] = {"privacy", NULL};
    struct sip_check_opts opts = {SIP_CHECK_PROXY, supported};
    enum sip_transport_kind mode = SIP_DGRAM;
    const char *path = NULL;
    char *buf = NULL, *out = NULL;
    size_t len, outlen = 0;
    struct sv_arena arena;
    struct sip_msg *msg;
    struct sip_perr perr = {0};
    struct sip_status st;
    const struct sip_hdr *bad = NULL;
    int rc, e;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            app_usage_parse(stdout);
            return APP_EX_OK;
        } else if (strcmp(argv[i], "--stream") == 0) {
            mode = SIP_STREAM;
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            const char *r = argv[++i];
            if (strcmp(r, "proxy") == 0)
                opts.role = SIP_CHECK_PROXY;
            else if (strcmp(r, "uas") == 0)
                opts.role = SIP_CHECK_UAS;
            else {
                fprintf(stderr, "sipveil parse: --role must be proxy or uas, not '%s'\n", r);
                return APP_EX_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "sipveil parse: unknown option '%s'; see 'sipveil help parse'\n",
                    argv[i]);
            return APP_EX_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "sipveil parse: one FILE at most\n");
            return APP_EX_USAGE;
        }
    }

    e = app_read_all(path, &buf, &len, 16u << 20);
    if (e) {
        fprintf(stderr, "sipveil parse: cannot read %s: %s\n", path ? path : "stdin", strerror(e));
        return APP_EX_IOERR;
    }
    sv_arena_init(&arena, NULL, 0);
    e = sip_msg_parse(&msg, &arena, buf, len, mode, NULL, &perr);
    if (e == ENODATA) {
        printf("malformed: incomplete message (stream framing needs more bytes)\n");
        rc = APP_EX_DATAERR;
        goto out;
    }
    if (e) {
        printf("malformed: %s (at octet %zu)\n", perr.reason ? perr.reason : strerror(e), perr.off);
        rc = APP_EX_DATAERR;
        goto out;
    }
    FILE *o = open_memstream(&out, &outlen);
    if (!o) {
        rc = APP_EX_OSERR;
        goto out;
    }
    e = dump(o, msg, &bad);
    fclose(o);
    if (e) {
        const char *nm = sip_hdr_name((enum sip_hdr_id)bad->id);
        if (nm)
            printf("malformed: %s: malformed (header %u)\n", nm, (unsigned)(bad - msg->hdrv));
        else
            printf("malformed: header %u: malformed\n", (unsigned)(bad - msg->hdrv));
        rc = APP_EX_DATAERR;
        goto out;
    }
    if (sip_msg_check(msg, &opts, &st)) {
        printf("refused: %u %s", st.code, st.reason);
        if (st.unsupported.p)
            printf(" (Unsupported: %.*s)", SV_FMT(st.unsupported));
        printf("\n");
        rc = APP_EX_SEMANTIC;
        goto out;
    }
    fwrite(out, 1, outlen, stdout);
    if (mode == SIP_STREAM && msg->raw.l < len)
        printf("trailing %zu octets after the message\n", len - msg->raw.l);
    rc = APP_EX_OK;
out:
    free(out);
    free(buf);
    sv_arena_close(&arena);
    return rc;
}
