/**
 * @file xcap.h  The XCAP server (RFC 4825) for the `pres-rules` application usage (RFC 5025),
 * on libevent's HTTP server, with the pure pieces it is made of.
 *
 * A user's presence authorisation rules are one document,
 * `<root>/pres-rules/users/<XUI>/index`, where the XUI is one of the user's IMPUs
 * (`sip:alice@ims.example`, percent-encoded or not). The server answers whole-document GET, PUT
 * and DELETE, and the same on one element or attribute of it through a node selector
 * (`.../index/~~/ruleset/rule[@id="a"]`, `.../~~/ruleset/rule[1]/@id`).
 *
 * The security model (R104): every request is authenticated with HTTP Digest (RFC 7616;
 * SHA-256 offered first, then MD5) against the HA1 values of the subscriber store, the
 * username being the IMPI; the authenticated IMPI may touch only the documents of the IMPUs of
 * its own subscription, anything else is 403. TLS is served when the listener has a
 * certificate, and `require_tls` refuses to run without one. Documents are parsed by libxml2
 * with network access and entity substitution off, a DTD refused outright, and a 64 KiB cap,
 * so that an XML bomb costs no more than its own bytes; a document that is not well-formed, or
 * whose root is not common-policy's `ruleset`, is 409 with an `application/xcap-error+xml`
 * body (R105), and the stored document stays as it was.
 *
 * Writes are compare-and-set on the document's strong ETag in the store (store_api.xcap_put),
 * so that If-Match, If-None-Match and node-level read-modify-write cannot lose an update. After
 * every successful PUT or DELETE the server calls the configured write callback with the AUID
 * and XUI, so that the presence server re-evaluates that presentity's subscriptions (R105).
 */
#ifndef SIPVEIL_XCAP_H
#define SIPVEIL_XCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sipveil/core.h>
#include <sipveil/store.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XCAP_AUID_PRES_RULES "pres-rules"
#define XCAP_NS_COMMON_POLICY "urn:ietf:params:xml:ns:common-policy"
#define XCAP_NS_PRES_RULES "urn:ietf:params:xml:ns:pres-rules"
#define XCAP_NS_ERROR "urn:ietf:params:xml:ns:xcap-error"
#define XCAP_MIME_PRES_RULES "application/auth-policy+xml"
#define XCAP_MIME_ELEMENT "application/xcap-el+xml"
#define XCAP_MIME_ATTRIBUTE "application/xcap-att+xml"
#define XCAP_MIME_ERROR "application/xcap-error+xml"
#define XCAP_MIME_NAMESPACES "application/xcap-ns+xml"

/* ---------------------------------------------------------------------------------------- */
/* Request paths                                                                              */

#define XCAP_NODE_MAX 1024 /* a node selector, decoded, with its NUL */
#define XCAP_STEPS_MAX 16  /* steps of one node selector */
#define XCAP_NS_BINDINGS_MAX 4

/** A request's target, decoded. Every field is NUL-terminated. */
struct xcap_path {
    char auid[STORE_XCAP_NAME_MAX]; /* "pres-rules" */
    char xui[STORE_URI_MAX];        /* "sip:alice@ims.example" */
    char doc[STORE_XCAP_NAME_MAX];  /* "index" */
    char node[XCAP_NODE_MAX];       /* after "~~/", percent-decoded; "" for the document */
};

/**
 * Decode a request path: @p root, the AUID, "users", the XUI, the document name, and
 * optionally "~~" and a node selector. Each segment is percent-decoded.
 * @param path  the path of the request-target, without the query
 * @param root  the XCAP root path, e.g. "/xcap-root" (no trailing slash)
 * @param out   out: the parts
 * @return 0; ENOENT for a path of another shape (the global tree, a nested document name, not
 *         under @p root); EINVAL for a bad percent-escape or a NUL; ENAMETOOLONG
 */
int xcap_path_parse(struct sv_slice path, const char *root, struct xcap_path *out);

/** One step of a node selector: NameorAny, then [position] and/or [@att="value"]. */
struct xcap_step {
    struct sv_slice prefix; /* unset: no prefix */
    struct sv_slice name;   /* "*" for any element */
    unsigned pos;           /* 1-based; 0: no position predicate */
    struct sv_slice attr;   /* unset: no attribute predicate */
    struct sv_slice value;  /* its value, without the quotes */
};

/** A parsed node selector. Slices point into the string parsed. */
struct xcap_selector {
    struct xcap_step steps[XCAP_STEPS_MAX];
    size_t nsteps;
    struct sv_slice attr_prefix, attr; /* a terminal "@name" attribute selector; unset: none */
    bool ns;                           /* a terminal "namespace::*" namespace selector */
};

/**
 * Parse a node selector (RFC 4825 §6.3) without its "~~/": element steps and an optional
 * terminal attribute selector ("@name") or namespace selector ("namespace::*"). Extension
 * selectors are not supported: no application usage served here defines one.
 * @return 0, EBADMSG (not a node selector), ENOTSUP (an extension selector),
 *         E2BIG (more than XCAP_STEPS_MAX steps)
 */
int xcap_selector_parse(struct sv_slice s, struct xcap_selector *sel);

/** The namespace prefixes of a query's xmlns() bindings (RFC 4825 §6.4). Slices, not owned. */
struct xcap_ns_bindings {
    struct sv_slice prefix[XCAP_NS_BINDINGS_MAX], uri[XCAP_NS_BINDINGS_MAX];
    size_t n;
};

/**
 * Parse a query of xmlns(p=uri) bindings, already percent-decoded.
 * @return 0, EBADMSG, E2BIG
 */
int xcap_ns_bindings_parse(struct sv_slice query, struct xcap_ns_bindings *b);

/* ---------------------------------------------------------------------------------------- */
/* Entity tags and preconditions (RFC 7232, RFC 4825 §7.11)                                   */

enum xcap_precond {
    XCAP_PRECOND_OK = 0,
    XCAP_PRECOND_FAILED,       /* 412 Precondition Failed */
    XCAP_PRECOND_NOT_MODIFIED, /* 304 Not Modified (GET and HEAD only) */
};

/**
 * Whether an If-Match or If-None-Match list names @p etag.
 * @param list    the header value: "*" or a comma-separated list of entity tags
 * @param etag    the current ETag, unquoted; NULL when there is no current document
 * @param strong  strong comparison (If-Match): a weak tag W/"..." never matches
 * @param match   out: the verdict
 * @return 0 or EBADMSG (the list is not entity tags)
 */
int xcap_etag_match(struct sv_slice list, const char *etag, bool strong, bool *match);

/**
 * Evaluate If-Match and If-None-Match (RFC 7232 §6, steps 1 and 3).
 * @param if_match       the If-Match value; unset: absent
 * @param if_none_match  the If-None-Match value; unset: absent
 * @param etag           the document's current ETag, unquoted; NULL: no document
 * @param safe           GET or HEAD (a failed If-None-Match is then 304, not 412)
 * @param res            out: the verdict
 * @return 0 or EBADMSG (a malformed list: 400)
 */
int xcap_precond_eval(struct sv_slice if_match, struct sv_slice if_none_match, const char *etag,
                      bool safe, enum xcap_precond *res);

/* ---------------------------------------------------------------------------------------- */
/* Documents and error bodies                                                                 */

/** The error conditions of RFC 4825 §11.2 this server reports. */
enum xcap_error {
    XCAP_ERR_NONE = 0,
    XCAP_ERR_NOT_WELL_FORMED,   /* <not-well-formed/> */
    XCAP_ERR_NOT_XML_FRAG,      /* <not-xml-frag/> */
    XCAP_ERR_NOT_XML_ATT_VALUE, /* <not-xml-att-value/> */
    XCAP_ERR_SCHEMA,            /* <schema-validation-error/> */
    XCAP_ERR_NOT_UTF8,          /* <not-utf-8/> */
    XCAP_ERR_NO_PARENT,         /* <no-parent/> */
    XCAP_ERR_CANNOT_INSERT,     /* <cannot-insert/> */
    XCAP_ERR_CANNOT_DELETE,     /* <cannot-delete/> */
    XCAP_ERR_UNIQUENESS,        /* <uniqueness-failure/> */
    XCAP_ERR_CONSTRAINT,        /* <constraint-failure/> */
};

/**
 * Check a whole pres-rules document: UTF-8, well-formed, no DTD, at most STORE_XCAP_DOC_MAX
 * octets, root `ruleset` in the common-policy namespace whose children are `rule` elements
 * with unique `id` attributes. Parsed with XML_PARSE_NONET and no entity substitution.
 * @param body  the bytes
 * @param len   how many
 * @param e     out: XCAP_ERR_NONE or what is wrong
 * @return 0 whatever the verdict, or ENOMEM
 */
int xcap_doc_check(const char *body, size_t len, enum xcap_error *e);

/**
 * Write the application/xcap-error+xml body of @p e.
 * @return 0, EINVAL (XCAP_ERR_NONE) or ENOSPC
 */
int xcap_error_body(enum xcap_error e, char *buf, size_t sz, size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* Node operations on a document (xcap_node.c)                                                */

/** The outcome of a node operation: an HTTP status, and the XCAP error of a 409. */
struct xcap_node_res {
    int status;        /* 200, 201, 400, 404, 405, 409, 415, 500 */
    enum xcap_error e; /* for 409 */
    const char *mime;  /* GET, 200: XCAP_MIME_ELEMENT, _ATTRIBUTE or _NAMESPACES */
};

/**
 * GET the element or attribute a node selector names in a stored document, or with a
 * namespace selector the namespace bindings in scope at the element (RFC 4825 §7.10): an
 * element of the same qualified name that declares them all and holds nothing else.
 * @param doc    the document's bytes
 * @param len    how many
 * @param node   the node selector (struct xcap_path.node)
 * @param query  the xmlns() bindings of the request, decoded; unset: none
 * @param out    out: a malloc'd copy of the element or the attribute value (caller frees)
 * @param outlen out: its length
 * @param res    out: the status (200, 400, 404) and, for 200, the MIME type of @p out
 * @return 0 or ENOMEM
 */
int xcap_node_get(const char *doc, size_t len, const char *node, struct sv_slice query, char **out,
                  size_t *outlen, struct xcap_node_res *res);

/**
 * PUT (create or replace) or DELETE (@p body NULL) the element or attribute a node selector
 * names, giving the new document.
 * @param doc     the current document's bytes
 * @param len     how many
 * @param node    the node selector
 * @param query   the xmlns() bindings, decoded; unset: none
 * @param body    the new element or attribute value; NULL: delete
 * @param blen    its length
 * @param out     out: the new whole document, malloc'd (caller frees), when res->status is 200
 *                or 201
 * @param outlen  out: its length
 * @param res     out: 200 (replaced or deleted), 201 (created), 400, 404, 405 (a namespace
 *                selector: bindings are only read), 409 (res->e)
 * @return 0 or ENOMEM
 */
int xcap_node_write(const char *doc, size_t len, const char *node, struct sv_slice query,
                    const char *body, size_t blen, char **out, size_t *outlen,
                    struct xcap_node_res *res);

/* ---------------------------------------------------------------------------------------- */
/* The server                                                                                 */

/**
 * Called after each successful PUT or DELETE, on the server's event loop, with the AUID and
 * the XUI of the document written (NUL-terminated, valid during the call).
 */
typedef void(xcap_write_h)(void *arg, const char *auid, const char *xui);

struct xcap_conf {
    const char *listen;        /* "127.0.0.1:8080", "[::1]:0"; port 0 picks one */
    const char *root;          /* the XCAP root path; NULL: "/xcap-root" */
    const char *cert;          /* PEM certificate (chain); NULL or "": plain HTTP */
    const char *key;           /* its private key */
    bool require_tls;          /* refuse to start without a certificate, and plain requests */
    const char *realm;         /* the Digest realm: the IMPIs' realm */
    struct store *store;       /* borrowed; must outlive the server */
    uint32_t nonce_lifetime_s; /* 0: 300 */
    xcap_write_h *on_write;    /* may be NULL */
    void *arg;                 /* for on_write */
};

struct xcap_server;
struct event_base;

/**
 * Start an XCAP server on @p base.
 * @param xp      out: the server, on success only
 * @param base    the event loop it runs on (and on_write is called on)
 * @param conf    its settings; copied, except the store
 * @param bound   out (may be NULL): the address bound, "127.0.0.1:8080", "[::1]:8080"
 * @param boundsz its size (64 suffices)
 * @return 0; EINVAL (a bad listen address, no realm or store, require_tls without a
 *         certificate); EPROTO (the certificate or key is refused by OpenSSL); ENOMEM; or
 *         the errno of socket, bind or listen
 */
int xcap_server_alloc(struct xcap_server **xp, struct event_base *base,
                      const struct xcap_conf *conf, char *bound, size_t boundsz);
/** Close the listener and its connections. Safe with NULL. */
void xcap_server_free(struct xcap_server *x);

#ifdef __cplusplus
}
#endif
#endif
