/**
 * @file xcap.c  The XCAP server (RFC 4825) for pres-rules on libevent's evhttp: the listener,
 * TLS, HTTP Digest against the subscriber store, the XUI check, and the document and node
 * operations on top of store_api's compare-and-set.
 *
 * Each request goes through the same gates, in an order that tells a stranger nothing:
 * TLS (when required) -> method (405) -> credentials (401) -> path (404) -> the XUI is one of
 * the authenticated subscription's IMPUs (403) -> the operation. Authentication comes before
 * the path, so that nobody learns which documents exist without a password, and an unknown
 * user is challenged exactly like a known one with a wrong password.
 *
 * Conditional requests are evaluated against the ETag read, then the write names that same
 * ETag as the one it expects (or "" for "no document"): if another client wrote in between,
 * the store refuses and the answer is 412, as if the condition had been checked atomically.
 *
 * The server runs on one event loop (the main thread's, in `sipveil run`). The store is
 * thread-safe and its calls are short; a document is at most 64 KiB.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sipveil/auth.h>
#include <sipveil/cfg.h>
#include <sipveil/sip.h>
#include <sipveil/xcap.h>

#include "xcap_int.h"

#define MOD "xcap"
#define REPLAY_CAPACITY 4096
#define DEFAULT_ROOT "/xcap-root"
#define DEFAULT_NONCE_S 300

struct xcap_server {
    struct evhttp *http; /* owns the listening socket and the connections */
    SSL_CTX *ssl;        /* NULL: plain HTTP */
    struct store *store; /* borrowed */
    char *root, *realm;
    bool require_tls;
    struct auth_nonce_key nk;
    struct auth_replay *rt; /* refcounted: sv_deref */
    xcap_write_h *on_write;
    void *arg;
};

/* What one request carries through the gates. */
struct xreq {
    struct evhttp_request *req;
    struct xcap_server *x;
    enum evhttp_cmd_type cmd;
    const char *method;
    struct xcap_path path;
    char query[XCAP_NODE_MAX]; /* decoded xmlns() bindings; "" none */
    char impi[STORE_ID_MAX];
};

/* ---------------------------------------------------------------------------------------- */
/* Replies                                                                                    */

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
                  const char *body, size_t len, const char *etag)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *b = NULL;
    char v[STORE_XCAP_ETAG_MAX + 2];

    if (etag && *etag) {
        snprintf(v, sizeof(v), "\"%s\"", etag);
        evhttp_add_header(h, "ETag", v);
    }
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* HEAD: the headers of GET, Content-Length included, and no body. */
        char cl[24];
        snprintf(cl, sizeof(cl), "%zu", len);
        evhttp_add_header(h, "Content-Length", cl);
    } else if (len && (b = evbuffer_new()) && evbuffer_add(b, body, len) != 0) {
        evbuffer_free(b);
        evhttp_send_error(req, 500, "Server Error");
        return;
    }
    evhttp_send_reply(req, code, reason, b);
    if (b)
        evbuffer_free(b);
}

static void reply_status(struct evhttp_request *req, int code, const char *reason)
{
    reply(req, code, reason, NULL, NULL, 0, NULL);
}

static void reply_xcap_error(struct evhttp_request *req, enum xcap_error e)
{
    char body[512];
    size_t n = 0;

    if (xcap_error_body(e, body, sizeof(body), &n)) {
        reply_status(req, 409, "Conflict");
        return;
    }
    reply(req, 409, "Conflict", XCAP_MIME_ERROR, body, n, NULL);
}

static const char *reason_of(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 415:
        return "Unsupported Media Type";
    default:
        return "Server Error";
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Authentication (RFC 7616) and authorisation (R104)                                         */

static void challenge(struct xreq *r, bool stale)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    uint64_t now = sv_now_ms() / 1000;
    char v[512];

    /* SHA-256 first: RFC 7616 §3.7 lists challenges by preference, and clients such as curl
     * answer the first one they know. */
    if (!auth_digest_challenge_make(&r->x->nk, AUTH_DIGEST_SHA256, sv_slice_cstr(r->x->realm), now,
                                    stale, v, sizeof(v), NULL))
        evhttp_add_header(h, "WWW-Authenticate", v);
    if (!auth_digest_challenge_make(&r->x->nk, AUTH_DIGEST_MD5, sv_slice_cstr(r->x->realm), now,
                                    stale, v, sizeof(v), NULL))
        evhttp_add_header(h, "WWW-Authenticate", v);
    reply_status(r->req, 401, "Unauthorized");
}

/* Copy a slice into a C string; false if it does not fit or holds a NUL or a backslash (an
 * escaped quoted-string, which no IMPI needs). */
static bool slice_copy(struct sv_slice s, char *dst, size_t sz)
{
    if (!s.p || !s.l || s.l >= sz || memchr(s.p, '\0', s.l) || memchr(s.p, '\\', s.l))
        return false;
    memcpy(dst, s.p, s.l);
    dst[s.l] = '\0';
    return true;
}

/*
 * Check the request's Digest credentials. @return true when they are good (r->impi set);
 * otherwise the 401 is sent.
 */
static bool authenticate(struct xreq *r)
{
    const char *hv = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    struct auth_digest_resp cred;
    enum auth_digest_result res = AUTH_DIGEST_MALFORMED;
    enum auth_digest_alg alg;
    struct store_cred sc;
    struct sip_auth au;
    const char *ha1;
    int64_t sub_id;
    int err;

    if (!hv || sip_auth_decode(&au, sv_slice_cstr(hv)) ||
        !sv_slice_caseeq_cstr(au.scheme, "Digest") ||
        !slice_copy(au.username, r->impi, sizeof(r->impi)))
        goto refuse;
    /* The digest-uri must be this request's target (RFC 7616 §3.4.6), or an answer captured
     * for one document would open another. */
    if (!sv_slice_eq(au.uri, sv_slice_cstr(evhttp_request_get_uri(r->req))))
        goto refuse;
    if (auth_digest_alg_parse(au.algorithm, &alg) ||
        (alg != AUTH_DIGEST_MD5 && alg != AUTH_DIGEST_SHA256))
        goto refuse;
    err = r->x->store->api->cred_get(r->x->store, r->impi, &sc, &sub_id);
    if (err) {
        if (err != ENOENT)
            sv_log(SV_LOG_WARN, MOD, "store: cannot read credentials: %s", strerror(err));
        goto refuse;
    }
    ha1 = alg == AUTH_DIGEST_SHA256 ? sc.ha1_sha256 : sc.ha1_md5;
    /* The HA1 was made with the IMPI's own realm; the nonce is sealed to the server's. */
    if (!*ha1 || !sv_slice_eq(au.realm, sv_slice_cstr(sc.realm)) ||
        strcmp(sc.realm, r->x->realm) != 0)
        goto refuse;
    cred = (struct auth_digest_resp){
        .username = au.username,
        .realm = au.realm,
        .nonce = au.nonce,
        .uri = au.uri,
        .response = au.response,
        .algorithm = au.algorithm,
        .cnonce = au.cnonce,
        .nc = au.nc,
        .qop = au.qop,
    };
    err = auth_digest_verify(&r->x->nk, r->x->rt, &cred, sv_slice_cstr(r->method),
                             sv_slice_cstr(ha1), sv_now_ms() / 1000, &res);
    explicit_bzero(&sc, sizeof(sc));
    if (!err && res == AUTH_DIGEST_OK)
        return true;
refuse:
    sv_log(SV_LOG_DEBUG, MOD, "401 (%s)", hv ? auth_digest_result_name(res) : "no credentials");
    challenge(r, res == AUTH_DIGEST_STALE);
    return false;
}

/* Whether the XUI is one of the IMPUs of the authenticated IMPI's subscription. */
static int authorised(struct xreq *r, bool *ok)
{
    struct store_sub *sub = sv_malloc(sizeof(*sub));
    int err;

    *ok = false;
    if (!sub)
        return ENOMEM;
    err = r->x->store->api->sub_get(r->x->store, r->impi, sub);
    if (err == ENOENT)
        err = 0; /* deleted since the credentials were read */
    else if (!err)
        for (size_t s = 0; s < sub->nsets && !*ok; s++)
            for (size_t i = 0; i < sub->sets[s].nimpus && !*ok; i++)
                *ok = strcmp(sub->sets[s].impus[i].uri, r->path.xui) == 0;
    explicit_bzero(sub->impis, sizeof(sub->impis));
    sv_free(sub);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Operations                                                                                 */

static struct sv_slice header(struct xreq *r, const char *name)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(r->req), name);

    return v ? sv_slice_cstr(v) : (struct sv_slice){0};
}

/* Whether the request's Content-Type is @p want, parameters aside. */
static bool ctype_is(struct xreq *r, const char *want)
{
    struct sv_slice v = header(r, "Content-Type");
    const char *semi;

    if (!v.p)
        return false;
    if ((semi = sv_slice_chr(v, ';')))
        v.l = (size_t)(semi - v.p);
    return sv_slice_caseeq_cstr(sv_slice_trim(v), want);
}

/*
 * Read the current document (@p cur, @p have) and evaluate the preconditions on it.
 * @return true to go on; otherwise the answer is sent.
 */
static bool fetch_and_check(struct xreq *r, struct store_xcap_doc *cur, bool *have)
{
    struct store *st = r->x->store;
    bool safe = r->cmd == EVHTTP_REQ_GET || r->cmd == EVHTTP_REQ_HEAD;
    enum xcap_precond pc;
    int err;

    err = st->api->xcap_get(st, r->path.auid, r->path.xui, r->path.doc, cur);
    if (err && err != ENOENT) {
        sv_log(SV_LOG_WARN, MOD, "store: cannot read a document: %s", strerror(err));
        reply_status(r->req, 500, "Server Error");
        return false;
    }
    *have = !err;
    if (xcap_precond_eval(header(r, "If-Match"), header(r, "If-None-Match"),
                          *have ? cur->etag : NULL, safe, &pc)) {
        reply_status(r->req, 400, "Bad Request");
        return false;
    }
    if (pc == XCAP_PRECOND_FAILED) {
        reply_status(r->req, 412, "Precondition Failed");
        return false;
    }
    if (pc == XCAP_PRECOND_NOT_MODIFIED) {
        reply(r->req, 304, "Not Modified", NULL, NULL, 0, cur->etag);
        return false;
    }
    return true;
}

/* Write @p body as the whole document, expecting the ETag read (or none); answer. A plain
 * whole-document PUT, without conditions, replaces whatever is there: the client asked for
 * nothing else, and a concurrent create is no reason for a 412. */
static void store_write(struct xreq *r, const struct store_xcap_doc *cur, bool have,
                        const char *body, size_t len, int ok_status)
{
    struct store *st = r->x->store;
    char etag[STORE_XCAP_ETAG_MAX];
    bool created = false;
    int err;

    const char *expect = have ? cur->etag : "";
    if (!r->path.node[0] && !header(r, "If-Match").p && !header(r, "If-None-Match").p)
        expect = NULL;
    err = st->api->xcap_put(st, r->path.auid, r->path.xui, r->path.doc, body, len, expect, etag,
                            &created);
    if (err == ECANCELED) { /* written by another client since it was read */
        reply_status(r->req, 412, "Precondition Failed");
        return;
    }
    if (err) {
        sv_log(SV_LOG_WARN, MOD, "store: cannot write a document: %s", strerror(err));
        reply_status(r->req, err == EFBIG ? 409 : 500, err == EFBIG ? "Conflict" : "Server Error");
        return;
    }
    if (ok_status == 0)
        ok_status = created ? 201 : 200;
    sv_log(SV_LOG_INFO, MOD, "%s: %d", r->method, ok_status);
    reply(r->req, ok_status, reason_of(ok_status), NULL, NULL, 0, etag);
    if (r->x->on_write)
        r->x->on_write(r->x->arg, r->path.auid, r->path.xui);
}

static void body_of(struct xreq *r, const char **p, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(r->req);

    *len = evbuffer_get_length(b);
    *p = *len ? (const char *)evbuffer_pullup(b, -1) : "";
    if (!*p)
        *len = 0;
}

/* A PUT or DELETE of namespace bindings: they are only read (RFC 4825). */
static void reply_405_get(struct evhttp_request *req)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    reply_status(req, 405, "Method Not Allowed");
}

static void doc_get(struct xreq *r, struct store_xcap_doc *cur)
{
    bool have;

    if (!fetch_and_check(r, cur, &have))
        return;
    if (!have) {
        reply_status(r->req, 404, "Not Found");
        return;
    }
    if (!r->path.node[0]) {
        reply(r->req, 200, "OK", XCAP_MIME_PRES_RULES, cur->body, cur->len, cur->etag);
        return;
    }
    char *out = NULL;
    size_t n = 0;
    struct xcap_node_res nr;
    if (xcap_node_get(cur->body, cur->len, r->path.node, sv_slice_cstr(r->query), &out, &n,
                      &nr)) {
        reply_status(r->req, 500, "Server Error");
        return;
    }
    if (nr.status == 200)
        reply(r->req, 200, "OK", nr.mime, out, n, cur->etag);
    else
        reply_status(r->req, nr.status, reason_of(nr.status));
    free(out);
}

static void doc_put(struct xreq *r, struct store_xcap_doc *cur)
{
    const char *body;
    size_t len;
    bool have;

    body_of(r, &body, &len);
    if (!r->path.node[0]) {
        enum xcap_error e;
        if (!ctype_is(r, XCAP_MIME_PRES_RULES)) {
            reply_status(r->req, 415, "Unsupported Media Type");
            return;
        }
        if (xcap_doc_check(body, len, &e)) {
            reply_status(r->req, 500, "Server Error");
            return;
        }
        if (e != XCAP_ERR_NONE) {
            sv_log(SV_LOG_INFO, MOD, "PUT: 409 (document refused)");
            reply_xcap_error(r->req, e);
            return;
        }
        if (fetch_and_check(r, cur, &have))
            store_write(r, cur, have, body, len, 0);
        return;
    }
    /* A node: the selector says which of the two bodies it takes (RFC 4825 §8.2.1). */
    struct xcap_selector sel;
    if (xcap_selector_parse(sv_slice_cstr(r->path.node), &sel)) {
        reply_status(r->req, 400, "Bad Request");
        return;
    }
    if (sel.ns) {
        reply_405_get(r->req);
        return;
    }
    if (!ctype_is(r, sel.attr.p ? XCAP_MIME_ATTRIBUTE : XCAP_MIME_ELEMENT)) {
        reply_status(r->req, 415, "Unsupported Media Type");
        return;
    }
    if (!fetch_and_check(r, cur, &have))
        return;
    if (!have) {
        reply_status(r->req, 404, "Not Found");
        return;
    }
    char *out = NULL;
    size_t n = 0;
    struct xcap_node_res nr;
    if (xcap_node_write(cur->body, cur->len, r->path.node, sv_slice_cstr(r->query), body, len, &out,
                        &n, &nr)) {
        reply_status(r->req, 500, "Server Error");
        return;
    }
    if (nr.status == 409)
        reply_xcap_error(r->req, nr.e);
    else if (nr.status != 200 && nr.status != 201)
        reply_status(r->req, nr.status, reason_of(nr.status));
    else
        store_write(r, cur, have, out, n, nr.status);
    free(out);
}

static void doc_delete(struct xreq *r, struct store_xcap_doc *cur)
{
    struct store *st = r->x->store;
    bool have;
    int err;

    if (!fetch_and_check(r, cur, &have))
        return;
    if (!have) {
        reply_status(r->req, 404, "Not Found");
        return;
    }
    if (r->path.node[0]) {
        char *out = NULL;
        size_t n = 0;
        struct xcap_node_res nr;
        if (xcap_node_write(cur->body, cur->len, r->path.node, sv_slice_cstr(r->query), NULL, 0,
                            &out, &n, &nr)) {
            reply_status(r->req, 500, "Server Error");
            return;
        }
        if (nr.status == 409)
            reply_xcap_error(r->req, nr.e);
        else if (nr.status == 405)
            reply_405_get(r->req);
        else if (nr.status != 200)
            reply_status(r->req, nr.status, reason_of(nr.status));
        else
            store_write(r, cur, have, out, n, 200);
        free(out);
        return;
    }
    err = st->api->xcap_del(st, r->path.auid, r->path.xui, r->path.doc, cur->etag);
    if (err == ECANCELED || err == ENOENT) {
        reply_status(r->req, 412, "Precondition Failed");
        return;
    }
    if (err) {
        sv_log(SV_LOG_WARN, MOD, "store: cannot delete a document: %s", strerror(err));
        reply_status(r->req, 500, "Server Error");
        return;
    }
    sv_log(SV_LOG_INFO, MOD, "DELETE: 200");
    reply_status(r->req, 200, "OK");
    if (r->x->on_write)
        r->x->on_write(r->x->arg, r->path.auid, r->path.xui);
}

/* ---------------------------------------------------------------------------------------- */
/* The request gates                                                                          */

static bool is_tls(struct evhttp_request *req)
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;

    return bev && bufferevent_openssl_get_ssl(bev) != NULL;
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return NULL;
    }
}

/* The path and query of the request into r->path and r->query. @return an HTTP status. */
static int target(struct xreq *r)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r->req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    const char *q = u ? evhttp_uri_get_query(u) : NULL;
    int err;

    if (!path)
        return 404;
    err = xcap_path_parse(sv_slice_cstr(path), r->x->root, &r->path);
    if (err)
        return err == ENOENT ? 404 : 400;
    if (strcmp(r->path.auid, XCAP_AUID_PRES_RULES) != 0)
        return 404; /* the only application usage served */
    if (q && *q && xcap__pct_decode(sv_slice_cstr(q), r->query, sizeof(r->query)))
        return 400;
    return 200;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct xreq *r = sv_calloc(1, sizeof(*r));
    struct store_xcap_doc *cur = sv_malloc(sizeof(*cur));
    bool ok = false;
    int status;

    if (!r || !cur) {
        evhttp_send_error(req, 503, "Service Unavailable");
        goto out;
    }
    r->req = req;
    r->x = arg;
    r->cmd = evhttp_request_get_command(req);
    if (r->x->require_tls && !is_tls(req)) {
        reply_status(req, 403, "Forbidden");
        goto out;
    }
    if (!(r->method = method_name(r->cmd))) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "GET, HEAD, PUT, DELETE");
        reply_status(req, 405, "Method Not Allowed");
        goto out;
    }
    if (!authenticate(r))
        goto out;
    if ((status = target(r)) != 200) {
        reply_status(req, status, reason_of(status));
        goto out;
    }
    if (authorised(r, &ok)) {
        reply_status(req, 500, "Server Error");
        goto out;
    }
    if (!ok) {
        sv_log(SV_LOG_INFO, MOD, "%s: 403 (not the user's own XUI)", r->method);
        reply_status(req, 403, "Forbidden");
        goto out;
    }
    sv_log(SV_LOG_DEBUG, MOD, "%s %s by %s", r->method, r->path.xui, r->impi);
    if (r->cmd == EVHTTP_REQ_PUT)
        doc_put(r, cur);
    else if (r->cmd == EVHTTP_REQ_DELETE)
        doc_delete(r, cur);
    else
        doc_get(r, cur);
out:
    sv_free(cur);
    sv_free(r);
}

/* ---------------------------------------------------------------------------------------- */
/* The listener                                                                               */

static struct bufferevent *on_tls_conn(struct event_base *base, void *arg)
{
    struct xcap_server *x = arg;
    SSL *ssl = SSL_new(x->ssl);

    if (!ssl)
        return NULL;
    /* evhttp sets the socket afterwards (bufferevent_setfd); the handshake starts then. */
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static int tls_make(struct xcap_server *x, const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int err = EPROTO;

    if (!ctx)
        return ENOMEM;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        unsigned long e = ERR_peek_error();
        sv_log(SV_LOG_ERR, MOD, "TLS material refused: %s",
               e ? ERR_reason_error_string(e) : "unknown reason");
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return err;
    }
    x->ssl = ctx;
    return 0;
}

static int listen_on(const char *where, int *fdp, char *bound, size_t boundsz)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char host[128], ip[INET6_ADDRSTRLEN];
    uint16_t port;
    int fd, one = 1, err;

    memset(&ss, 0, sizeof(ss));
    if (sv_cfg_addr_split(where, host, sizeof(host), &port))
        return EINVAL;
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
        sl = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
        sl = sizeof(struct sockaddr_in6);
    } else {
        return EINVAL;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0)
        goto fail;
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        goto fail;
    if (bound && boundsz) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
            snprintf(bound, boundsz, "%s:%u", ip, ntohs(a->sin_port));
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
            snprintf(bound, boundsz, "[%s]:%u", ip, ntohs(a->sin6_port));
        }
    }
    *fdp = fd;
    return 0;
fail:
    err = errno;
    close(fd);
    return err;
}

static char *dup_cstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sv_malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

/**
 * Start an XCAP server.
 * @param xp      out: the server, on success only
 * @param base    its event loop
 * @param conf    the settings
 * @param bound   out (may be NULL): the bound address as text
 * @param boundsz its size
 * @return 0, EINVAL, EPROTO, ENOMEM or the errno of socket, bind, listen
 */
int xcap_server_alloc(struct xcap_server **xp, struct event_base *base,
                      const struct xcap_conf *conf, char *bound, size_t boundsz)
{
    struct xcap_server *x;
    bool tls;
    int fd = -1, err;

    if (!xp || !base || !conf || !conf->listen || !conf->store || !conf->realm || !*conf->realm)
        return EINVAL;
    tls = conf->cert && *conf->cert;
    if (conf->require_tls && !tls)
        return EINVAL;
    if (tls && (!conf->key || !*conf->key))
        return EINVAL;
    if (!(x = sv_calloc(1, sizeof(*x))))
        return ENOMEM;
    x->store = conf->store;
    x->require_tls = conf->require_tls;
    x->on_write = conf->on_write;
    x->arg = conf->arg;
    x->root = dup_cstr(conf->root ? conf->root : DEFAULT_ROOT);
    x->realm = dup_cstr(conf->realm);
    if (!x->root || !x->realm) {
        err = ENOMEM;
        goto out;
    }
    xmlInitParser();
    if ((err = auth_nonce_key_init(&x->nk, conf->nonce_lifetime_s ? conf->nonce_lifetime_s
                                                                  : DEFAULT_NONCE_S)) ||
        (err = auth_replay_alloc(&x->rt, REPLAY_CAPACITY)))
        goto out;
    if (tls && (err = tls_make(x, conf->cert, conf->key)))
        goto out;
    if (!(x->http = evhttp_new(base))) {
        err = ENOMEM;
        goto out;
    }
    if ((err = listen_on(conf->listen, &fd, bound, boundsz)))
        goto out;
    if (!evhttp_accept_socket_with_handle(x->http, fd)) {
        err = ENOMEM;
        goto out;
    }
    fd = -1; /* the evhttp owns it */
    if (tls)
        evhttp_set_bevcb(x->http, on_tls_conn, x);
    /* A document is at most 64 KiB; headers are a few hundred octets; a client that dawdles
     * is dropped. */
    evhttp_set_max_headers_size(x->http, 16384);
    evhttp_set_max_body_size(x->http, STORE_XCAP_DOC_MAX);
    evhttp_set_timeout(x->http, 30);
    /* Every method reaches on_request, which answers 405 itself (evhttp would say 501). */
    evhttp_set_allowed_methods(x->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(x->http, on_request, x);
    *xp = x;
    return 0;
out:
    if (fd >= 0)
        close(fd);
    xcap_server_free(x);
    return err;
}

void xcap_server_free(struct xcap_server *x)
{
    if (!x)
        return;
    if (x->http)
        evhttp_free(x->http);
    if (x->ssl)
        SSL_CTX_free(x->ssl);
    sv_deref(x->rt);
    explicit_bzero(&x->nk, sizeof(x->nk));
    sv_free(x->root);
    sv_free(x->realm);
    sv_free(x);
}
