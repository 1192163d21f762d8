/**
 * @file xcap_node.c  XCAP node operations (RFC 4825 §§6.3, 7.4-7.6, 8.2.3): GET, PUT and
 * DELETE of one element or attribute of a stored document, each turned into a new whole
 * document that the server stores with the same compare-and-set as a whole-document write.
 *
 * A node selector is resolved step by step from the root: each step must select exactly one
 * element, otherwise the node does not exist (404). Unprefixed names are in the application
 * usage's default namespace, common-policy for pres-rules (RFC 5025 §9.7); prefixed ones are
 * bound by the request's xmlns() query. A write must leave the selector selecting exactly
 * what was written (§8.2.3 "idempotency"), and the document must still pass the pres-rules
 * checks; otherwise 409 and nothing is stored. New elements are parsed in the context of
 * their parent (xmlParseInNodeContext), so that they see its namespace declarations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <sipveil/xcap.h>

#include "xcap_int.h"

/* The selector and the document it works on. */
struct nodeop {
    xmlDoc *doc;
    struct xcap_selector sel;
    struct xcap_ns_bindings ns;
    bool bad_prefix; /* a prefix the query does not bind */
};

static bool slice_is(struct sv_slice s, const xmlChar *c)
{
    size_t n = c ? strlen((const char *)c) : 0;

    return c && s.l == n && memcmp(s.p, c, n) == 0;
}

/* The namespace URI of a name with @p prefix (unset: the default namespace). */
static bool ns_uri(struct nodeop *op, struct sv_slice prefix, struct sv_slice *uri)
{
    if (!prefix.p) {
        *uri = SV_LIT(XCAP_NS_COMMON_POLICY);
        return true;
    }
    for (size_t i = 0; i < op->ns.n; i++) {
        if (sv_slice_eq(op->ns.prefix[i], prefix)) {
            *uri = op->ns.uri[i];
            return true;
        }
    }
    op->bad_prefix = true;
    return false;
}

static bool name_matches(struct nodeop *op, const xmlNode *n, const struct xcap_step *st)
{
    struct sv_slice uri;

    if (n->type != XML_ELEMENT_NODE)
        return false;
    if (st->name.l == 1 && st->name.p[0] == '*')
        return true;
    if (!slice_is(st->name, n->name) || !ns_uri(op, st->prefix, &uri))
        return false;
    return n->ns && slice_is(uri, n->ns->href);
}

static bool attr_matches(const xmlNode *n, const struct xcap_step *st)
{
    char name[128];
    xmlChar *v;
    bool ok;

    if (!st->attr.p)
        return true;
    if (st->attr.l >= sizeof(name))
        return false;
    memcpy(name, st->attr.p, st->attr.l);
    name[st->attr.l] = '\0';
    v = xmlGetNoNsProp(n, BAD_CAST name);
    ok = v && slice_is(st->value, v);
    xmlFree(v);
    return ok;
}

/*
 * The one child of @p parent (the document node for the first step) that step @p st selects.
 * @return 0 (found), ENOENT (none), EEXIST (several)
 */
static int step_select(struct nodeop *op, xmlNode *first, const struct xcap_step *st, xmlNode **out)
{
    unsigned pos = 0;
    xmlNode *hit = NULL;

    for (xmlNode *n = first; n; n = n->next) {
        if (!name_matches(op, n, st))
            continue;
        pos++;
        if (st->pos && pos != st->pos)
            continue;
        if (!attr_matches(n, st))
            continue;
        if (hit)
            return EEXIST;
        hit = n;
    }
    *out = hit;
    return hit ? 0 : ENOENT;
}

/* Resolve the first @p nsteps steps. @return 0, ENOENT, EEXIST; *at counts steps resolved. */
static int locate(struct nodeop *op, size_t nsteps, xmlNode **node, size_t *at)
{
    xmlNode *cur = NULL;
    int err;

    *at = 0;
    for (size_t i = 0; i < nsteps; i++) {
        xmlNode *first = i == 0 ? op->doc->children : cur->children;
        if ((err = step_select(op, first, &op->sel.steps[i], &cur)))
            return err;
        *at = i + 1;
    }
    *node = cur;
    return 0;
}

static char *cstr_of(struct sv_slice s)
{
    char *c = malloc(s.l + 1);

    if (c) {
        memcpy(c, s.p, s.l);
        c[s.l] = '\0';
    }
    return c;
}

/* Parse the document and the selector; set @p res to 400 or 404 when they do not parse. */
static int op_open(struct nodeop *op, const char *doc, size_t len, const char *node,
                   struct sv_slice query, struct xcap_node_res *res)
{
    enum xcap_error e;

    memset(op, 0, sizeof(*op));
    *res = (struct xcap_node_res){.status = 400};
    if (xcap_selector_parse(sv_slice_cstr(node), &op->sel))
        return 0;
    if (query.p && query.l && xcap_ns_bindings_parse(query, &op->ns))
        return 0;
    if (!(op->doc = xcap__parse(doc, len, &e))) {
        res->status = 500; /* the stored document passed these checks when it was written */
        return 0;
    }
    res->status = 0;
    return 0;
}

/* The status of a failed locate: 400 for an unbound prefix, else 404. */
static int miss_status(const struct nodeop *op)
{
    return op->bad_prefix ? 400 : 404;
}

/* Copy @p len octets into a malloc'd, NUL-terminated *@p out. @return 0 or ENOMEM */
static int copy_out(const void *p, size_t len, char **out, size_t *outlen)
{
    if (!(*out = malloc(len + 1)))
        return ENOMEM;
    memcpy(*out, p, len);
    (*out)[len] = '\0';
    *outlen = len;
    return 0;
}

/*
 * The namespace bindings in scope at @p n (RFC 4825 §7.10): an element of n's qualified name
 * that declares every one of them, the default namespace included, and holds nothing else.
 * @return 0 or ENOMEM
 */
static int ns_bindings_dump(xmlDoc *doc, const xmlNode *n, char **out, size_t *outlen)
{
    xmlNs **all = xmlGetNsList(doc, n);
    xmlNode *e = xmlNewNode(NULL, n->name);
    xmlBuffer *b = xmlBufferCreate();
    int err = e && b ? 0 : ENOMEM;

    for (size_t i = 0; !err && all && all[i]; i++) {
        xmlNs *d = xmlNewNs(e, all[i]->href, all[i]->prefix);
        if (!d)
            err = ENOMEM;
        else if (n->ns && xmlStrEqual(all[i]->prefix, n->ns->prefix))
            xmlSetNs(e, d);
    }
    if (!err && xmlNodeDump(b, doc, e, 0, 0) < 0)
        err = ENOMEM;
    if (!err)
        err = copy_out(xmlBufferContent(b), (size_t)xmlBufferLength(b), out, outlen);
    if (b)
        xmlBufferFree(b);
    if (e)
        xmlFreeNode(e);
    xmlFree(all);
    return err;
}

/**
 * GET an element, an attribute, or the namespace bindings at an element.
 * @return 0 or ENOMEM
 */
int xcap_node_get(const char *doc, size_t len, const char *node, struct sv_slice query, char **out,
                  size_t *outlen, struct xcap_node_res *res)
{
    struct nodeop op;
    xmlNode *n = NULL;
    size_t at;
    int err = 0;

    if (!doc || !node || !out || !outlen || !res)
        return EINVAL;
    *out = NULL;
    *outlen = 0;
    if ((err = op_open(&op, doc, len, node, query, res)) || res->status)
        goto out;
    if (locate(&op, op.sel.nsteps, &n, &at)) {
        res->status = miss_status(&op);
        goto out;
    }
    if (op.sel.ns) {
        err = ns_bindings_dump(op.doc, n, out, outlen);
        res->mime = XCAP_MIME_NAMESPACES;
    } else if (op.sel.attr.p) {
        char *an = cstr_of(op.sel.attr);
        xmlChar *v = an && !op.sel.attr_prefix.p ? xmlGetNoNsProp(n, BAD_CAST an) : NULL;
        xmlChar *esc = v ? xmlEncodeSpecialChars(op.doc, v) : NULL;
        free(an);
        xmlFree(v);
        if (!esc) {
            res->status = 404;
            goto out;
        }
        err = copy_out(esc, strlen((const char *)esc), out, outlen);
        xmlFree(esc);
        res->mime = XCAP_MIME_ATTRIBUTE;
    } else {
        xmlBuffer *b = xmlBufferCreate();
        if (!b || xmlNodeDump(b, op.doc, n, 0, 0) < 0)
            err = ENOMEM;
        else
            err = copy_out(xmlBufferContent(b), (size_t)xmlBufferLength(b), out, outlen);
        if (b)
            xmlBufferFree(b);
        res->mime = XCAP_MIME_ELEMENT;
    }
    if (!err)
        res->status = 200;
out:
    if (op.doc)
        xmlFreeDoc(op.doc);
    return err;
}

/* The one element of a parsed fragment, whitespace around it allowed; NULL if not so. */
static xmlNode *single_element(xmlNode *list)
{
    xmlNode *el = NULL;

    for (xmlNode *n = list; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            if (el)
                return NULL;
            el = n;
        } else if (n->type != XML_TEXT_NODE || !xmlIsBlankNode(n)) {
            return NULL;
        }
    }
    return el;
}

/* Decode an attribute value body: the five predefined entities and character references
 * are not supported beyond those; '<' and a bare '&' are not an AttValue. */
static char *att_value(const char *b, size_t n)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    char *v = malloc(n + 1), *w = v;

    if (!v)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (b[i] == '<' || b[i] == '\0') {
            free(v);
            return (char *)-1;
        }
        if (b[i] == '&') {
            size_t k;
            for (k = 0; k < SV_ARRAY_SIZE(ents); k++) {
                size_t el = strlen(ents[k].ent);
                if (n - i >= el && memcmp(b + i, ents[k].ent, el) == 0) {
                    *w++ = ents[k].c;
                    i += el;
                    break;
                }
            }
            if (k == SV_ARRAY_SIZE(ents)) {
                free(v);
                return (char *)-1;
            }
            continue;
        }
        *w++ = b[i++];
    }
    *w = '\0';
    return v;
}

/* Attribute PUT or DELETE on element @p n. @return 0 or ENOMEM; res set. */
static int attr_write(struct nodeop *op, xmlNode *n, const char *body, size_t blen,
                      struct xcap_node_res *res)
{
    char *an = cstr_of(op->sel.attr);
    int err = 0;

    if (!an)
        return ENOMEM;
    if (op->sel.attr_prefix.p) {
        res->status = 404; /* pres-rules has no namespaced attributes */
    } else if (!body) {
        if (!xmlHasNsProp(n, BAD_CAST an, NULL))
            res->status = 404;
        else {
            xmlUnsetNsProp(n, NULL, BAD_CAST an);
            res->status = 200;
        }
    } else {
        char *v = att_value(body, blen);
        bool existed = xmlHasNsProp(n, BAD_CAST an, NULL) != NULL;
        if (!v)
            err = ENOMEM;
        else if (v == (char *)-1)
            *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_NOT_XML_ATT_VALUE};
        else if (!xmlSetProp(n, BAD_CAST an, BAD_CAST v))
            err = ENOMEM;
        else
            res->status = existed ? 200 : 201;
        if (v && v != (char *)-1)
            free(v);
    }
    free(an);
    return err;
}

/* Element PUT: replace @p old (NULL: insert under @p parent). @return 0 or ENOMEM; res set. */
static int elem_put(struct nodeop *op, xmlNode *parent, xmlNode *old, const char *body, size_t blen,
                    struct xcap_node_res *res)
{
    xmlNode *list = NULL, *el;
    const struct xcap_step *last = &op->sel.steps[op->sel.nsteps - 1];

    if (blen > (size_t)INT32_MAX)
        return EINVAL;
    if (op->sel.nsteps == 1) {
        /* The root element: the body is the whole document's element. */
        enum xcap_error e;
        xmlDoc *nd = xcap__parse(body, blen, &e);
        if (!nd) {
            *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_NOT_XML_FRAG};
            return 0;
        }
        xmlFreeDoc(op->doc);
        op->doc = nd;
        res->status = 200;
        return 0;
    }
    if (!parent) {
        *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_NO_PARENT};
        return 0;
    }
    if (xmlParseInNodeContext(parent, body, (int)blen, XCAP_XML_OPTIONS, &list) != XML_ERR_OK ||
        !(el = single_element(list))) {
        xmlFreeNodeList(list);
        *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_NOT_XML_FRAG};
        return 0;
    }
    if (list == el)
        list = el->next;
    xmlUnlinkNode(el);
    xmlFreeNodeList(list);
    if (old) {
        xmlReplaceNode(old, el);
        xmlFreeNode(old);
        res->status = 200;
        return 0;
    }
    /* Insert after the last sibling of the same name, or last (RFC 4825 §8.2.3); a position
     * predicate must then name the next free place. */
    xmlNode *after = NULL;
    unsigned count = 0;
    for (xmlNode *n = parent->children; n; n = n->next) {
        if (name_matches(op, n, last)) {
            after = n;
            count++;
        }
    }
    if (last->pos && last->pos != count + 1) {
        xmlFreeNode(el);
        *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_CANNOT_INSERT};
        return 0;
    }
    if (after ? !xmlAddNextSibling(after, el) : !xmlAddChild(parent, el)) {
        xmlFreeNode(el);
        return ENOMEM;
    }
    res->status = 201;
    return 0;
}

/**
 * PUT or DELETE an element or attribute, giving the new document.
 * @return 0 or ENOMEM
 */
int xcap_node_write(const char *doc, size_t len, const char *node, struct sv_slice query,
                    const char *body, size_t blen, char **out, size_t *outlen,
                    struct xcap_node_res *res)
{
    struct nodeop op;
    xmlNode *n = NULL, *parent = NULL;
    size_t at = 0;
    int err = 0, lerr;

    if (!doc || !node || !out || !outlen || !res || (!body && blen))
        return EINVAL;
    *out = NULL;
    *outlen = 0;
    if ((err = op_open(&op, doc, len, node, query, res)) || res->status)
        goto out;
    if (op.sel.ns) { /* RFC 4825: namespace bindings are only read; PUT, DELETE get 405 */
        res->status = 405;
        goto out;
    }
    lerr = locate(&op, op.sel.nsteps, &n, &at);
    if (op.bad_prefix) {
        res->status = 400;
        goto out;
    }
    if (op.sel.attr.p) {
        if (lerr) {
            /* No element to hold the attribute: nowhere to put it, nothing to delete. */
            bool nowhere = body && lerr == ENOENT;
            *res = (struct xcap_node_res){.status = nowhere ? 409 : 404,
                                          .e = nowhere ? XCAP_ERR_NO_PARENT : XCAP_ERR_NONE};
            goto out;
        }
        if ((err = attr_write(&op, n, body, blen, res)) ||
            (res->status != 200 && res->status != 201))
            goto out;
    } else if (!body) {
        if (lerr) {
            res->status = 404;
            goto out;
        }
        if (op.sel.nsteps == 1) {
            *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_CANNOT_DELETE};
            goto out;
        }
        xmlUnlinkNode(n);
        xmlFreeNode(n);
        res->status = 200;
    } else {
        if (lerr == EEXIST || (lerr == ENOENT && at + 1 < op.sel.nsteps)) {
            /* Ambiguous, or a missing ancestor: there is nowhere to put it. */
            *res = lerr == EEXIST ? (struct xcap_node_res){.status = 404, .e = XCAP_ERR_NONE}
                                  : (struct xcap_node_res){.status = 409, .e = XCAP_ERR_NO_PARENT};
            goto out;
        }
        if (op.sel.nsteps > 1 && locate(&op, op.sel.nsteps - 1, &parent, &at))
            parent = NULL;
        if ((err = elem_put(&op, parent, lerr ? NULL : n, body, blen, res)) ||
            (res->status != 200 && res->status != 201))
            goto out;
    }
    /* The selector must now select what was written, and no element once deleted. */
    lerr = locate(&op, op.sel.nsteps, &n, &at);
    if (body) {
        bool ok = lerr == 0;
        if (ok && op.sel.attr.p) {
            char *an = cstr_of(op.sel.attr);
            ok = an && xmlHasNsProp(n, BAD_CAST an, NULL) != NULL;
            free(an);
        }
        if (!ok) {
            *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_CANNOT_INSERT};
            goto out;
        }
    } else if (!op.sel.attr.p && lerr == 0) {
        *res = (struct xcap_node_res){.status = 409, .e = XCAP_ERR_CANNOT_DELETE};
        goto out;
    }
    enum xcap_error e = xcap__tree_check(op.doc);
    if (e != XCAP_ERR_NONE) {
        *res = (struct xcap_node_res){.status = 409, .e = e};
        goto out;
    }
    xmlChar *mem = NULL;
    int sz = 0;
    xmlDocDumpMemoryEnc(op.doc, &mem, &sz, "UTF-8");
    if (!mem || sz < 0) {
        err = ENOMEM;
    } else if (!(*out = malloc((size_t)sz + 1))) {
        err = ENOMEM;
    } else {
        memcpy(*out, mem, (size_t)sz + 1);
        *outlen = (size_t)sz;
    }
    xmlFree(mem);
out:
    if (op.doc)
        xmlFreeDoc(op.doc);
    return err;
}
