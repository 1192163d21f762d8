/**
 * @file ua_xcap.c  `sipveil ua rules`: the user's pres-rules document over XCAP (RFC 4825),
 * with a small HTTP/1.1 client on a plain TCP socket. One request per connection
 * (Connection: close), so a response ends where the server closes or its Content-Length
 * does. HTTP Digest (RFC 7616) is answered with the same code as SIP's (ua_auth_answer): the
 * syntax of the challenge and of the answer is the same, the Digest uri is the request's
 * path, and the server's first challenge it can answer (SHA-256 before MD5, in the order the
 * server sends them) wins. TLS is not offered: the lab's XCAP server is plain HTTP on the
 * loopback; against one that requires TLS, use curl.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "app.h"
#include "ua.h"

#define PRES_DOC_MAX (64 * 1024)        /* docs/xcap.md: a document is at most 64 KiB */
#define RESP_MAX (PRES_DOC_MAX + 16384) /* the largest document plus the headers */
#define CHAL_MAX 4

/* A response, parsed in place in its buffer. */
struct http_resp {
    unsigned status;
    struct sv_slice status_line, etag, body;
    struct sv_slice chal[CHAL_MAX]; /* the WWW-Authenticate values, in order */
    size_t nchal;
};

/* The server of --xcap: "http://HOST:PORT" (PORT defaults to 80), and its Host header. */
struct xcap_srv {
    char host[256], port[8], hostport[272];
};

static int srv_parse(const char *url, struct xcap_srv *s)
{
    const char *p;
    size_t l;

    if (strncasecmp(url, "https://", 8) == 0) {
        fprintf(stderr, "sipveil ua: rules: this client speaks plain HTTP only; for an XCAP "
                        "server over TLS use curl (docs/xcap.md)\n");
        return APP_EX_USAGE;
    }
    if (strncasecmp(url, "http://", 7) != 0)
        goto bad;
    p = url + 7;
    l = strcspn(p, "/");
    if (!l || l >= sizeof(s->hostport) - 1 || (p[l] && strcmp(p + l, "/") != 0))
        goto bad; /* the paths are fixed (/xcap-root/...): no prefix of our own */
    memcpy(s->hostport, p, l);
    s->hostport[l] = '\0';
    const char *colon = strrchr(s->hostport, ':');
    const char *bracket = strrchr(s->hostport, ']');
    if (colon && (!bracket || colon > bracket)) {
        if (strlen(colon + 1) >= sizeof(s->port) || !colon[1])
            goto bad;
        snprintf(s->port, sizeof(s->port), "%s", colon + 1);
        l = (size_t)(colon - s->hostport);
    } else {
        snprintf(s->port, sizeof(s->port), "80");
        l = strlen(s->hostport);
    }
    if (s->hostport[0] == '[' && l > 2 && s->hostport[l - 1] == ']')
        snprintf(s->host, sizeof(s->host), "%.*s", (int)(l - 2), s->hostport + 1);
    else
        snprintf(s->host, sizeof(s->host), "%.*s", (int)l, s->hostport);
    if (!s->host[0])
        goto bad;
    return -1;
bad:
    fprintf(stderr, "sipveil ua: --xcap '%s' is not http://HOST:PORT; see 'sipveil help ua'\n",
            url);
    return APP_EX_USAGE;
}

/* Connect to the server, with send and receive timeouts of @p ms. @return the socket, -1. */
static int srv_connect(const struct xcap_srv *s, unsigned ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000 * 1000)};
    int fd = -1, err;

    if ((err = getaddrinfo(s->host, s->port, &hints, &res))) {
        fprintf(stderr, "sipveil ua: rules: %s: %s\n", s->hostport, gai_strerror(err));
        return -1;
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            close(fd);
            fd = -1;
            errno = err;
        }
    }
    if (fd < 0)
        fprintf(stderr, "sipveil ua: rules: cannot connect to %s: %s\n", s->hostport,
                strerror(errno));
    freeaddrinfo(res);
    return fd;
}

/* The value of header @p name in the header block [p, end), or NULL; one after another with
   @p from (NULL: the first). */
static const char *hdr_find(const char *p, const char *end, const char *name, const char *from,
                            struct sv_slice *val)
{
    size_t nl = strlen(name);

    for (p = from ? from : p; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *ve = eol ? eol : end;
        if (ve > p && ve[-1] == '\r')
            ve--;
        if ((size_t)(ve - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            *val = sv_slice_trim(sv_slice_make(p + nl + 1, (size_t)(ve - p - nl - 1)));
            return next;
        }
        p = next;
    }
    return NULL;
}

/* Parse the response in @p buf (@p n octets read until the server closed). @return 0 or
   EBADMSG. */
static int resp_parse(const char *buf, size_t n, struct http_resp *r)
{
    const char *end = n >= 4 ? memmem(buf, n, "\r\n\r\n", 4) : NULL;
    const char *eol, *hp, *next;
    struct sv_slice v;
    unsigned long cl;

    memset(r, 0, sizeof(*r));
    if (!end || n < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
        return EBADMSG;
    eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
    r->status_line = sv_slice_make(buf, (size_t)(eol - buf));
    if (sscanf(buf + 8, " %3u", &r->status) != 1 || r->status < 100 || r->status > 599)
        return EBADMSG;
    hp = eol + 2;
    if (hdr_find(hp, end + 2, "ETag", NULL, &v))
        r->etag = v;
    for (next = NULL;
         r->nchal < CHAL_MAX && (next = hdr_find(hp, end + 2, "WWW-Authenticate", next, &v));)
        r->chal[r->nchal++] = v;
    r->body = sv_slice_make(end + 4, n - (size_t)(end + 4 - buf));
    /* The server sends whole documents with a Content-Length: a chunked body is not one of
       its answers, and printing its chunk sizes as the document would mislead. */
    if (hdr_find(hp, end + 2, "Transfer-Encoding", NULL, &v))
        return EBADMSG;
    if (hdr_find(hp, end + 2, "Content-Length", NULL, &v)) {
        char num[24];
        char *e;
        if (v.l == 0 || v.l >= sizeof(num))
            return EBADMSG;
        memcpy(num, v.p, v.l);
        num[v.l] = '\0';
        cl = strtoul(num, &e, 10);
        if (*e || cl > r->body.l)
            return EBADMSG; /* cut short */
        r->body.l = cl;
    }
    return 0;
}

/* One request on a connection of its own; the response into @p buf (RESP_MAX + 1 octets).
   @return APP_EX_OK, or an exit status (said on stderr). */
static int http_do(const struct xcap_srv *s, unsigned ms, const char *method, const char *path,
                   const char *auth, const char *body, size_t blen, char *buf, struct http_resp *r)
{
    char head[4096], ctl[112] = "";
    int fd, hl, serr = 0;
    size_t n = 0;
    ssize_t w = 0;

    if (body)
        snprintf(ctl, sizeof(ctl),
                 "Content-Type: application/auth-policy+xml\r\nContent-Length: %zu\r\n", blen);
    hl = snprintf(head, sizeof(head),
                  "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sipveil-ua/%s\r\n"
                  "Accept: application/auth-policy+xml, application/xcap-error+xml\r\n"
                  "%s%s%s%sConnection: close\r\n\r\n",
                  method, path, s->hostport, SIPVEIL_VERSION, auth ? "Authorization: " : "",
                  auth ? auth : "", auth ? "\r\n" : "", ctl);
    if (hl < 0 || (size_t)hl >= sizeof(head)) {
        fprintf(stderr, "sipveil ua: rules: the request does not fit\n");
        return APP_EX_SOFTWARE;
    }
    if ((fd = srv_connect(s, ms)) < 0)
        return APP_EX_UNAVAILABLE;
    /* A server may answer (401, 413) and close before it read the whole body: a failed send
       is an error only when no answer can be read after it. */
    for (size_t off = 0; off < (size_t)hl && !serr; off += (size_t)w)
        if ((w = send(fd, head + off, (size_t)hl - off, MSG_NOSIGNAL)) <= 0)
            serr = errno ? errno : EPIPE;
    for (size_t off = 0; body && off < blen && !serr; off += (size_t)w)
        if ((w = send(fd, body + off, blen - off, MSG_NOSIGNAL)) <= 0)
            serr = errno ? errno : EPIPE;
    while (n < RESP_MAX && (w = recv(fd, buf + n, RESP_MAX - n, 0)) > 0)
        n += (size_t)w;
    if ((w < 0 && n < RESP_MAX && !serr) || (serr && !n)) {
        if (serr)
            errno = serr;
        goto io;
    }
    close(fd);
    buf[n] = '\0'; /* the status line is read with sscanf */
    if (resp_parse(buf, n, r)) {
        fprintf(stderr, "sipveil ua: rules: the server's answer is not an HTTP response%s\n",
                n >= RESP_MAX ? " (or is too large)" : "");
        return APP_EX_UNAVAILABLE;
    }
    return APP_EX_OK;
io:
    fprintf(stderr, "sipveil ua: rules: %s: %s\n", s->hostport,
            errno == EAGAIN ? "no answer within the timeout" : strerror(errno));
    close(fd);
    return APP_EX_UNAVAILABLE;
}

/* Read the document of @p file (at most PRES_DOC_MAX octets). @return an exit status. */
static int file_read(const char *file, char **docp, size_t *np)
{
    FILE *f = fopen(file, "rb");
    char *doc = malloc(PRES_DOC_MAX + 1);
    size_t n = 0;
    int rc = APP_EX_OK;

    if (!f || !doc) {
        fprintf(stderr, "sipveil ua: rules: cannot read %s: %s\n", file, strerror(errno));
        rc = doc ? APP_EX_NOINPUT : APP_EX_OSERR;
        goto out;
    }
    n = fread(doc, 1, PRES_DOC_MAX + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "sipveil ua: rules: cannot read %s\n", file);
        rc = APP_EX_NOINPUT;
    } else if (n > PRES_DOC_MAX) {
        fprintf(stderr, "sipveil ua: rules: %s is larger than 64 KiB\n", file);
        rc = APP_EX_NOINPUT;
    }
out:
    if (f)
        fclose(f);
    if (rc) {
        free(doc);
        return rc;
    }
    *docp = doc;
    *np = n;
    return rc;
}

/**
 * PUT @p file as the user's pres-rules document, or print the current one (@p file NULL).
 * The first request goes without credentials; a 401 is answered once with Digest as the
 * user's IMPI and password. "> METHOD PATH" and "< STATUS-LINE" (and the new ETag) go to
 * stdout for a PUT; a GET prints only the document, as stored, so that it can be redirected
 * to a file.
 * @return APP_EX_OK on 2xx; UA_EX_FAILED for another status (printed on stderr for a GET);
 *         APP_EX_UNAVAILABLE, APP_EX_NOINPUT, APP_EX_USAGE, APP_EX_OSERR.
 */
int ua_rules(const struct ua_conf *c, const char *xcap, const char *file)
{
    struct xcap_srv srv;
    struct http_resp r;
    char path[1024], auth[1536], cnonce[20];
    const char *method = file ? "PUT" : "GET";
    char *doc = NULL, *buf = NULL;
    size_t dlen = 0;
    int rc;

    if ((rc = srv_parse(xcap, &srv)) >= 0)
        return rc;
    if (!c->cred.password) {
        fprintf(stderr, "sipveil ua: rules: XCAP needs --password (HTTP Digest)\n");
        return APP_EX_USAGE;
    }
    if (ua_xcap_path(c->impu, path, sizeof(path))) {
        fprintf(stderr, "sipveil ua: rules: the IMPU is too long\n");
        return APP_EX_USAGE;
    }
    if (file && (rc = file_read(file, &doc, &dlen)))
        return rc;
    if (!(buf = malloc(RESP_MAX + 1))) {
        rc = APP_EX_OSERR;
        goto out;
    }
    if (file)
        printf("> %s %s\n", method, path);
    if ((rc = http_do(&srv, c->timeout_ms, method, path, NULL, doc, dlen, buf, &r)))
        goto out;
    if (r.status == 401) {
        enum ua_auth_verdict v = UA_AUTH_UNSUPPORTED;
        sip_tag_gen(cnonce, sizeof(cnonce));
        for (size_t i = 0; i < r.nchal && v != UA_AUTH_ANSWERED; i++) {
            struct sip_auth ch;
            if (sip_auth_decode(&ch, r.chal[i]) ||
                ua_auth_answer(&ch, &c->cred, method, path, cnonce, 1, auth, sizeof(auth), &v))
                v = UA_AUTH_UNSUPPORTED;
        }
        if (v != UA_AUTH_ANSWERED) {
            fprintf(stderr, "sipveil ua: rules: no challenge this client can answer\n");
            rc = UA_EX_FAILED;
            goto out;
        }
        if ((rc = http_do(&srv, c->timeout_ms, method, path, auth, doc, dlen, buf, &r)))
            goto out;
    }
    rc = r.status / 100 == 2 ? APP_EX_OK : UA_EX_FAILED;
    if (file || rc) {
        FILE *o = file ? stdout : stderr;
        fprintf(o, "%s%.*s\n", file ? "< " : "sipveil ua: rules: ", SV_FMT(r.status_line));
        if (sv_slice_isset(r.etag) && !rc)
            fprintf(o, "  ETag: %.*s\n", SV_FMT(r.etag));
        if (r.status == 401)
            fprintf(stderr, "sipveil ua: rules: the credentials were refused\n");
        else if (rc && r.body.l) /* an xcap-error document says why (RFC 4825 §11) */
            fprintf(stderr, "%.*s%s", SV_FMT(r.body), r.body.p[r.body.l - 1] == '\n' ? "" : "\n");
    } else {
        fwrite(r.body.p, 1, r.body.l, stdout);
    }
out:
    free(doc);
    free(buf);
    return rc;
}
