/**
 * @file xcap_doc.c  The pure pieces of the XCAP server: request paths and node selectors
 * (RFC 4825 §6), entity tags and preconditions (RFC 7232), the check of a whole pres-rules
 * document, and xcap-error bodies (RFC 4825 §11). No I/O and no clock: unit-tested alone.
 *
 * Documents are parsed by libxml2 with XML_PARSE_NONET and without XML_PARSE_NOENT, so that
 * neither the network nor a file is read and no entity is ever substituted into the tree. A
 * document that declares a DTD at all is refused before it is looked at further: pres-rules
 * has none, and every entity-expansion bomb needs one. libxml2's own depth limit (256 without
 * XML_PARSE_HUGE) bounds nesting, and the caller's 64 KiB cap bounds the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <sipveil/xcap.h>

#include "xcap_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Paths                                                                                      */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/**
 * Percent-decode @p s into @p dst of @p sz bytes, NUL-terminated.
 * @return 0, EINVAL (a bad escape, or a NUL), ENAMETOOLONG
 */
int xcap__pct_decode(struct sv_slice s, char *dst, size_t sz)
{
    size_t n = 0;

    for (size_t i = 0; i < s.l; i++) {
        char c = s.p[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= s.l)
                return EINVAL;
            hi = hexval(s.p[i + 1]);
            lo = hexval(s.p[i + 2]);
            if (hi < 0 || lo < 0)
                return EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return EINVAL;
        if (n + 1 >= sz)
            return ENAMETOOLONG;
        dst[n++] = c;
    }
    dst[n] = '\0';
    return 0;
}

/* The next '/'-separated segment of @p rest (which starts after a '/'); false at the end. */
static bool next_segment(struct sv_slice *rest, struct sv_slice *seg)
{
    const char *slash;

    if (!rest->p || !rest->l)
        return false;
    slash = sv_slice_chr(*rest, '/');
    if (!slash) {
        *seg = *rest;
        *rest = sv_slice_make(rest->p + rest->l, 0);
        rest->p = NULL;
        return true;
    }
    *seg = sv_slice_make(rest->p, (size_t)(slash - rest->p));
    *rest = sv_slice_make(slash + 1, rest->l - (size_t)(slash + 1 - rest->p));
    return true;
}

/* A decoded name segment (AUID, document name): not empty, no '/'. */
static int name_segment(struct sv_slice seg, char *dst, size_t sz)
{
    int err = xcap__pct_decode(seg, dst, sz);

    if (err)
        return err;
    if (!*dst || strchr(dst, '/'))
        return ENOENT;
    return 0;
}

/**
 * Decode a request path.
 * @param path  the path of the request-target
 * @param root  the XCAP root, "/xcap-root"
 * @param out   out: AUID, XUI, document name and node selector
 * @return 0, ENOENT, EINVAL, ENAMETOOLONG
 */
int xcap_path_parse(struct sv_slice path, const char *root, struct xcap_path *out)
{
    size_t rl = root ? strlen(root) : 0;
    struct sv_slice rest, seg;
    const char *sep = NULL;
    int err;

    if (!out || !path.p)
        return EINVAL;
    memset(out, 0, sizeof(*out));
    if (path.l < rl + 1 || memcmp(path.p, root, rl) != 0 || path.p[rl] != '/')
        return ENOENT;
    rest = sv_slice_make(path.p + rl + 1, path.l - rl - 1);
    /* The node selector separator is the segment "~~" (RFC 4825 §6): everything after it is
     * the selector, slashes included. */
    for (size_t i = 0; i + 2 <= rest.l; i++) {
        if (rest.p[i] == '~' && rest.p[i + 1] == '~' && (i == 0 || rest.p[i - 1] == '/') &&
            (i + 2 == rest.l || rest.p[i + 2] == '/')) {
            sep = rest.p + i;
            break;
        }
    }
    if (sep) {
        struct sv_slice node = sv_slice_make(sep + 2, rest.l - (size_t)(sep + 2 - rest.p));
        if (node.l < 2 || node.p[0] != '/' || sep == rest.p)
            return ENOENT;
        node.p++;
        node.l--;
        if ((err = xcap__pct_decode(node, out->node, sizeof(out->node))))
            return err;
        rest.l = (size_t)(sep - 1 - rest.p); /* without the '/' before "~~" */
    }
    if (!next_segment(&rest, &seg))
        return ENOENT;
    if ((err = name_segment(seg, out->auid, sizeof(out->auid))))
        return err;
    if (!next_segment(&rest, &seg) || seg.l != 5 || memcmp(seg.p, "users", 5) != 0)
        return ENOENT; /* the global tree holds no pres-rules documents */
    if (!next_segment(&rest, &seg) || !seg.l)
        return ENOENT;
    if ((err = xcap__pct_decode(seg, out->xui, sizeof(out->xui))))
        return err;
    if (!next_segment(&rest, &seg))
        return ENOENT;
    if ((err = name_segment(seg, out->doc, sizeof(out->doc))))
        return err;
    if (rest.p) /* a nested document name: no application usage here has one */
        return ENOENT;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Node selectors                                                                             */

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (unsigned char)c >= 0x80;
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* An NCName at *p; @return its end, or @p p when there is none. */
static const char *ncname_end(const char *p, const char *end)
{
    if (p >= end || !name_start(*p))
        return p;
    while (p < end && name_char(*p))
        p++;
    return p;
}

/* A QName at *pp into @p prefix and @p name; false if none. */
static bool qname(const char **pp, const char *end, struct sv_slice *prefix, struct sv_slice *name)
{
    const char *p = *pp, *e = ncname_end(p, end);

    if (e == p)
        return false;
    *prefix = (struct sv_slice){0};
    if (e < end && *e == ':') {
        const char *e2 = ncname_end(e + 1, end);
        if (e2 == e + 1)
            return false;
        *prefix = sv_slice_make(p, (size_t)(e - p));
        p = e + 1;
        e = e2;
    }
    *name = sv_slice_make(p, (size_t)(e - p));
    *pp = e;
    return true;
}

/* A predicate "[n]" or "[@att="v"]" at *pp, filling @p st. */
static int predicate(const char **pp, const char *end, struct xcap_step *st)
{
    const char *p = *pp + 1;

    if (p < end && *p >= '1' && *p <= '9') {
        unsigned v = 0;
        if (st->pos || st->attr.p)
            return EBADMSG; /* by-pos-attr: the position comes first, once */
        while (p < end && *p >= '0' && *p <= '9') {
            if (v > 100000)
                return EBADMSG;
            v = v * 10 + (unsigned)(*p++ - '0');
        }
        st->pos = v;
    } else if (p < end && *p == '@') {
        struct sv_slice pf;
        char q;
        const char *vs;
        if (st->attr.p)
            return EBADMSG;
        p++;
        if (!qname(&p, end, &pf, &st->attr) || pf.p)
            return EBADMSG; /* attributes in a namespace: not in pres-rules */
        if (p >= end || *p != '=')
            return EBADMSG;
        p++;
        if (p >= end || (*p != '"' && *p != '\''))
            return EBADMSG;
        q = *p++;
        vs = p;
        while (p < end && *p != q)
            p++;
        if (p >= end)
            return EBADMSG;
        st->value = sv_slice_make(vs, (size_t)(p - vs));
        p++;
    } else {
        return EBADMSG;
    }
    if (p >= end || *p != ']')
        return EBADMSG;
    *pp = p + 1;
    return 0;
}

/**
 * Parse a node selector.
 * @param s    the selector, after "~~/", percent-decoded
 * @param sel  out: its steps and terminal attribute selector
 * @return 0, EBADMSG, ENOTSUP, E2BIG
 */
int xcap_selector_parse(struct sv_slice s, struct xcap_selector *sel)
{
    const char *p = s.p, *end = s.p + s.l;

    if (!sel || !s.p || !s.l)
        return EBADMSG;
    memset(sel, 0, sizeof(*sel));
    for (;;) {
        struct xcap_step *st;
        if (p < end && *p == '@') {
            p++;
            if (!qname(&p, end, &sel->attr_prefix, &sel->attr) || p != end || !sel->nsteps)
                return EBADMSG;
            return 0;
        }
        if (end - p >= 11 && memcmp(p, "namespace::", 11) == 0) {
            if (!sel->nsteps || end - p != 12 || p[11] != '*')
                return EBADMSG; /* namespace-selector = "namespace::*", after an element */
            sel->ns = true;
            return 0;
        }
        if (sel->nsteps == XCAP_STEPS_MAX)
            return E2BIG;
        st = &sel->steps[sel->nsteps];
        memset(st, 0, sizeof(*st));
        if (p < end && *p == '*') {
            st->name = sv_slice_make(p, 1);
            p++;
        } else if (!qname(&p, end, &st->prefix, &st->name)) {
            return EBADMSG;
        }
        while (p < end && *p == '[') {
            int err = predicate(&p, end, st);
            if (err)
                return err;
        }
        if (p < end && *p == ':')
            return ENOTSUP; /* an extension selector */
        sel->nsteps++;
        if (p == end)
            return 0;
        if (*p != '/' || p + 1 == end)
            return EBADMSG;
        p++;
    }
}

/**
 * Parse xmlns() bindings: "xmlns(p=urn:x)xmlns(q=urn:y)".
 * @return 0, EBADMSG, E2BIG
 */
int xcap_ns_bindings_parse(struct sv_slice query, struct xcap_ns_bindings *b)
{
    const char *p = query.p, *end = query.p + query.l;

    if (!b)
        return EBADMSG;
    memset(b, 0, sizeof(*b));
    while (p && p < end) {
        const char *pe, *ue;
        if (end - p < 6 || memcmp(p, "xmlns(", 6) != 0)
            return EBADMSG;
        p += 6;
        pe = ncname_end(p, end);
        if (pe == p || pe >= end || *pe != '=')
            return EBADMSG;
        ue = pe + 1;
        while (ue < end && *ue != ')')
            ue++;
        if (ue >= end || ue == pe + 1)
            return EBADMSG;
        if (b->n == XCAP_NS_BINDINGS_MAX)
            return E2BIG;
        b->prefix[b->n] = sv_slice_make(p, (size_t)(pe - p));
        b->uri[b->n] = sv_slice_make(pe + 1, (size_t)(ue - pe - 1));
        b->n++;
        p = ue + 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Entity tags                                                                                */

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

/**
 * Whether an If-Match or If-None-Match list names @p etag.
 * @return 0 or EBADMSG
 */
int xcap_etag_match(struct sv_slice list, const char *etag, bool strong, bool *match)
{
    const char *p = list.p, *end = list.p + list.l;
    size_t el = etag ? strlen(etag) : 0;
    bool any = false;

    if (!match || !list.p)
        return EBADMSG;
    *match = false;
    while (p < end && ows(*p))
        p++;
    if (p < end && *p == '*') {
        p++;
        while (p < end && ows(*p))
            p++;
        if (p != end)
            return EBADMSG;
        *match = etag != NULL;
        return 0;
    }
    while (p < end) {
        bool weak = false;
        const char *ts;
        if (*p == ',' || ows(*p)) {
            p++;
            continue;
        }
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
            weak = true;
            p += 2;
        }
        if (p >= end || *p != '"')
            return EBADMSG;
        ts = ++p;
        while (p < end && *p != '"') {
            /* etagc: %x21 / %x23-7E / obs-text; no spaces, no quotes */
            if ((unsigned char)*p < 0x21 || *p == 0x7f)
                return EBADMSG;
            p++;
        }
        if (p >= end)
            return EBADMSG;
        if (etag && (size_t)(p - ts) == el && memcmp(ts, etag, el) == 0 && !(strong && weak))
            *match = true;
        p++;
        any = true;
        while (p < end && ows(*p))
            p++;
        if (p < end && *p != ',')
            return EBADMSG;
    }
    return any ? 0 : EBADMSG;
}

/**
 * Evaluate If-Match and If-None-Match against the current document.
 * @return 0 or EBADMSG
 */
int xcap_precond_eval(struct sv_slice if_match, struct sv_slice if_none_match, const char *etag,
                      bool safe, enum xcap_precond *res)
{
    bool m;
    int err;

    if (!res)
        return EINVAL;
    *res = XCAP_PRECOND_OK;
    if (if_match.p) {
        if ((err = xcap_etag_match(if_match, etag, true, &m)))
            return err;
        if (!m) {
            *res = XCAP_PRECOND_FAILED;
            return 0;
        }
    }
    if (if_none_match.p) {
        if ((err = xcap_etag_match(if_none_match, etag, false, &m)))
            return err;
        if (m)
            *res = safe ? XCAP_PRECOND_NOT_MODIFIED : XCAP_PRECOND_FAILED;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Documents                                                                                  */

/* Whether @p n is an element named @p name in namespace @p ns. */
bool xcap__is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

/**
 * Parse a document as the server does: no network, no entity substitution, no messages on
 * standard error.
 * @return the tree, or NULL with *e set (not well-formed; a DTD is a constraint failure)
 */
xmlDoc *xcap__parse(const char *body, size_t len, enum xcap_error *e)
{
    xmlDoc *d;

    *e = XCAP_ERR_NOT_WELL_FORMED;
    if (len > STORE_XCAP_DOC_MAX || len > (size_t)INT32_MAX)
        return NULL;
    d = xmlReadMemory(body, (int)len, "xcap.xml", NULL, XCAP_XML_OPTIONS);
    if (!d)
        return NULL;
    if (d->intSubset || d->extSubset) {
        *e = XCAP_ERR_CONSTRAINT;
        xmlFreeDoc(d);
        return NULL;
    }
    /* RFC 4825 §6: documents are UTF-8. libxml2 has already converted another declared
     * encoding; refuse it rather than store bytes in it. */
    if (d->encoding && xmlStrcasecmp(d->encoding, BAD_CAST "UTF-8") != 0) {
        *e = XCAP_ERR_NOT_UTF8;
        xmlFreeDoc(d);
        return NULL;
    }
    *e = XCAP_ERR_NONE;
    return d;
}

/**
 * The schema checks this server makes on a parsed pres-rules document: the root is
 * cp:ruleset, its element children are cp:rule, each with an id, ids unique.
 * @return XCAP_ERR_NONE, XCAP_ERR_SCHEMA or XCAP_ERR_UNIQUENESS
 */
enum xcap_error xcap__tree_check(const xmlDoc *d)
{
    const xmlNode *root = xmlDocGetRootElement(d);

    if (!xcap__is_elem(root, XCAP_NS_COMMON_POLICY, "ruleset"))
        return XCAP_ERR_SCHEMA;
    for (const xmlNode *r = root->children; r; r = r->next) {
        xmlChar *id;
        if (r->type == XML_TEXT_NODE || r->type == XML_COMMENT_NODE || r->type == XML_PI_NODE)
            continue;
        if (!xcap__is_elem(r, XCAP_NS_COMMON_POLICY, "rule"))
            return XCAP_ERR_SCHEMA;
        if (!(id = xmlGetNoNsProp(r, BAD_CAST "id")))
            return XCAP_ERR_SCHEMA;
        for (const xmlNode *o = root->children; o != r; o = o->next) {
            xmlChar *oid;
            if (o->type != XML_ELEMENT_NODE)
                continue;
            oid = xmlGetNoNsProp(o, BAD_CAST "id");
            bool same = oid && xmlStrEqual(oid, id);
            xmlFree(oid);
            if (same) {
                xmlFree(id);
                return XCAP_ERR_UNIQUENESS;
            }
        }
        xmlFree(id);
    }
    return XCAP_ERR_NONE;
}

/**
 * Check a whole pres-rules document.
 * @return 0 or ENOMEM (never: libxml2 reports its allocation failures as a failed parse)
 */
int xcap_doc_check(const char *body, size_t len, enum xcap_error *e)
{
    xmlDoc *d;

    if (!e || (!body && len))
        return EINVAL;
    if (!(d = xcap__parse(body, len, e)))
        return 0;
    *e = xcap__tree_check(d);
    xmlFreeDoc(d);
    return 0;
}

/**
 * Write an xcap-error body.
 * @return 0, EINVAL, ENOSPC
 */
int xcap_error_body(enum xcap_error e, char *buf, size_t sz, size_t *n)
{
    static const char *const elem[] = {
        [XCAP_ERR_NOT_WELL_FORMED] = "<not-well-formed/>",
        [XCAP_ERR_NOT_XML_FRAG] = "<not-xml-frag/>",
        [XCAP_ERR_NOT_XML_ATT_VALUE] = "<not-xml-att-value/>",
        [XCAP_ERR_SCHEMA] = "<schema-validation-error/>",
        [XCAP_ERR_NOT_UTF8] = "<not-utf-8/>",
        [XCAP_ERR_NO_PARENT] = "<no-parent/>",
        [XCAP_ERR_CANNOT_INSERT] = "<cannot-insert/>",
        [XCAP_ERR_CANNOT_DELETE] = "<cannot-delete/>",
        [XCAP_ERR_UNIQUENESS] = "<uniqueness-failure><exists field=\"rule/@id\"/>"
                                "</uniqueness-failure>",
        [XCAP_ERR_CONSTRAINT] = "<constraint-failure phrase=\"document type declarations are "
                                "not accepted\"/>",
    };
    int w;

    if ((unsigned)e >= SV_ARRAY_SIZE(elem) || !elem[e] || !buf)
        return EINVAL;
    w = snprintf(buf, sz,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<xcap-error xmlns=\"" XCAP_NS_ERROR "\">%s</xcap-error>\n",
                 elem[e]);
    if (w < 0 || (size_t)w >= sz)
        return ENOSPC;
    if (n)
        *n = (size_t)w;
    return 0;
}
