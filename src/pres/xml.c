/**
 * @file xml.c  The one way presence documents are parsed (libxml2 with safe options), and the
 * small tree helpers the PIDF and rules code share.
 *
 * Why refuse DTDs outright instead of trusting libxml2's entity limits: neither PIDF nor
 * pres-rules needs a DTD, and a document type declaration is the only door to entity bombs
 * (billion laughs), external entities (file or network reads) and attribute defaults that
 * change a document's meaning. The octets are checked for "<!DOCTYPE" before libxml2 sees
 * them; a NUL octet is refused too, because UTF-16 would hide the declaration from that check
 * (every ASCII character of UTF-16 text comes with a NUL). After the parse the tree is checked
 * again for an internal or external subset and for depth, so that a bug in the first check is
 * caught by the second rather than by a crash.
 */
#include <errno.h>
#include <pthread.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "pres_int.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* A PIDF from the network must never reach the log (it carries identities). The parse
 * options XML_PARSE_NOERROR and XML_PARSE_NOWARNING keep the parser quiet in every thread;
 * the generic handler, which libxml2 keeps per thread, is silenced here as well for the
 * tree functions of the thread that initialises the library. */
static void xml_quiet(void *ctx, const char *msg, ...) {}

static void xml_init(void)
{
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, xml_quiet);
}

/* Whether the octets contain a document type declaration or a NUL. */
static bool has_doctype_or_nul(struct sv_slice s)
{
    static const char decl[] = "<!DOCTYPE";
    const size_t dl = sizeof(decl) - 1;

    if (memchr(s.p, '\0', s.l))
        return true;
    for (const char *p = s.p; (p = memchr(p, '<', s.l - (size_t)(p - s.p))) != NULL; p++) {
        size_t left = s.l - (size_t)(p - s.p);

        /* The keyword is upper case in XML; any spelling is refused all the same. */
        if (left >= dl && strncasecmp(p, decl, dl) == 0)
            return true;
    }
    return false;
}

/* Depth of the element tree under @p root (root = 1), stopping once past @p max. Iterative: a
 * deep tree must not cost us stack. */
static unsigned tree_depth(const xmlNode *root, unsigned max)
{
    const xmlNode *n = root;
    unsigned d = 1, deepest = 1;

    while (n) {
        const xmlNode *c = n->children;

        while (c && c->type != XML_ELEMENT_NODE)
            c = c->next;
        if (c) {
            n = c;
            if (++d > deepest)
                deepest = d;
            if (deepest > max)
                return deepest;
            continue;
        }
        /* No child element: go to the next element sibling, climbing as needed. */
        while (n) {
            const xmlNode *s = n->next;

            while (s && s->type != XML_ELEMENT_NODE)
                s = s->next;
            if (s) {
                n = s;
                break;
            }
            if (n == root)
                return deepest;
            n = n->parent;
            d--;
            if (n == root)
                return deepest;
        }
    }
    return deepest;
}

/**
 * @param body the document (not owned)
 * @param docp receives the tree
 * @return 0, EMSGSIZE, EBADMSG, EINVAL, ENOMEM
 */
int pres_xml_parse(struct sv_slice body, struct _xmlDoc **docp)
{
    const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlParserCtxt *ctxt = NULL;
    xmlDoc *doc = NULL;
    xmlNode *root;
    int err = 0;

    if (!docp || (!body.p && body.l))
        return EINVAL;
    if (body.l > PRES_XML_MAX_SIZE)
        return EMSGSIZE;
    if (!body.p || body.l == 0 || has_doctype_or_nul(body))
        return EBADMSG;
    pthread_once(&xml_once, xml_init);

    /* No XML_PARSE_NOENT (substitution), XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR or
     * XML_PARSE_HUGE: each would widen what a hostile document can make us do. */
    if (!(ctxt = xmlNewParserCtxt()))
        return ENOMEM;
    doc = xmlCtxtReadMemory(ctxt, body.p, (int)body.l, NULL, NULL, opts);
    /* An undeclared prefix is only a namespace error to libxml2, which still builds a tree;
     * a document whose names cannot be resolved is not one we can validate: refused. */
    if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
        err = ctxt->errNo == XML_ERR_NO_MEMORY ? ENOMEM : EBADMSG;
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (!root || doc->intSubset || doc->extSubset ||
        tree_depth(root, PRES_XML_MAX_DEPTH) > PRES_XML_MAX_DEPTH) {
        err = EBADMSG;
        goto out;
    }
    *docp = doc;
    doc = NULL;
out:
    if (doc)
        xmlFreeDoc(doc);
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    return err;
}

void pres_xml_free(struct _xmlDoc *doc)
{
    if (doc)
        xmlFreeDoc(doc);
}

/* ---- tree helpers ------------------------------------------------------------------------ */

const char *pres__ns(const xmlNode *n)
{
    return n->ns && n->ns->href ? (const char *)n->ns->href : "";
}

bool pres__in_ns(const xmlNode *n, const char *ns)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp(pres__ns(n), ns) == 0;
}

bool pres__is(const xmlNode *n, const char *ns, const char *name)
{
    return pres__in_ns(n, ns) && strcmp((const char *)n->name, name) == 0;
}

xmlNode *pres__elem(xmlNode *n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

xmlNode *pres__child(const xmlNode *n, const char *ns, const char *name)
{
    for (xmlNode *c = pres__elem(n->children); c; c = pres__elem(c->next))
        if (pres__is(c, ns, name))
            return c;
    return NULL;
}

unsigned pres__count(const xmlNode *n, const char *ns, const char *name)
{
    unsigned k = 0;

    for (xmlNode *c = pres__elem(n->children); c; c = pres__elem(c->next))
        k += pres__is(c, ns, name);
    return k;
}

struct sv_slice pres__attr(const xmlNode *n, const char *name)
{
    const xmlAttr *at = xmlHasNsProp(n, (const xmlChar *)name, NULL);
    const xmlNode *t;

    if (!at || at->type != XML_ATTRIBUTE_NODE)
        return sv_slice_make(NULL, 0);
    t = at->children;
    if (!t)
        return sv_slice_make("", 0);
    if (t->type != XML_TEXT_NODE || t->next || !t->content)
        return sv_slice_make(NULL, 0);
    return sv_slice_cstr((const char *)t->content);
}

int pres__text(const xmlNode *n, struct sv_slice *out)
{
    const xmlNode *text = NULL;

    for (const xmlNode *c = n->children; c; c = c->next) {
        switch (c->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (text)
                return EBADMSG;
            text = c;
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            break;
        default:
            return EBADMSG;
        }
    }
    *out = text && text->content ? sv_slice_trim(sv_slice_cstr((const char *)text->content))
                                 : sv_slice_make("", 0);
    return 0;
}

bool pres__eq(struct sv_slice s, const char *c)
{
    return s.p && sv_slice_eq(s, sv_slice_cstr(c));
}

int pres__dump(xmlDoc *doc, struct sv_arena *a, struct sv_slice *out)
{
    xmlChar *mem = NULL;
    int size = 0;
    char *p;

    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (!mem || size <= 0) {
        xmlFree(mem);
        return ENOMEM;
    }
    p = sv_arena_alloc(a, (size_t)size);
    if (!p) {
        xmlFree(mem);
        return ENOMEM;
    }
    memcpy(p, mem, (size_t)size);
    xmlFree(mem);
    *out = sv_slice_make(p, (size_t)size);
    return 0;
}

/* ---- xs:dateTime ---------------------------------------------------------------------- */

static bool digits(const char *p, size_t n, int *v)
{
    int x = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return true;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. Years are counted from
 * March so that the leap day ends the year, in eras of 400 years (146097 days) so that the
 * arithmetic needs no table and works before 1970 too. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int pres__datetime(struct sv_slice s, int64_t *t)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s.p;
    size_t i = 19;
    int y, mo, d, h, mi, sec, tzh = 0, tzm = 0, sign = 0;

    /* YYYY-MM-DDThh:mm:ss, then optional .fraction, then Z or +hh:mm / -hh:mm. */
    if (!p || s.l < 20 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) ||
        p[7] != '-' || !digits(p + 8, 2, &d) || p[10] != 'T' || !digits(p + 11, 2, &h) ||
        p[13] != ':' || !digits(p + 14, 2, &mi) || p[16] != ':' || !digits(p + 17, 2, &sec))
        return EBADMSG;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
        return EBADMSG;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return EBADMSG;
    if (p[i] == '.') {
        size_t f = ++i;

        while (i < s.l && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == f)
            return EBADMSG;
    }
    if (i < s.l && p[i] == 'Z' && i + 1 == s.l) {
        sign = 0;
    } else if (i + 6 == s.l && (p[i] == '+' || p[i] == '-') && digits(p + i + 1, 2, &tzh) &&
               p[i + 3] == ':' && digits(p + i + 4, 2, &tzm) && tzh <= 14 && tzm <= 59) {
        sign = p[i] == '+' ? 1 : -1;
    } else {
        return EBADMSG;
    }
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
         sign * (int64_t)(tzh * 3600 + tzm * 60);
    return 0;
}
