/**
 * @file pidf.c  PIDF documents (RFC 3863, RFC 4479): validation of a publication, the
 * composition of a presentity's publications, and rendering per watcher.
 *
 * A publication is kept as its libxml2 tree, validated once. The composition is a list of
 * publications in arrival order, each with its ETag; a rendering copies the elements that
 * survive the watcher's transformations into a fresh document, so the stored trees are never
 * edited and one publication can never reach into another's tuples (R90).
 */
#include <errno.h>

#include <libxml/parser.h>

#include <sipveil/sip.h>

#include "pres_int.h"

struct pres_pidf {
    xmlDoc *doc; /* owned */
    xmlNode *root;
    struct sv_slice entity; /* into doc */
    xmlNode **tuples;       /* owned array of nodes of doc, document order */
    size_t ntuples;
};

static void pidf_destroy(void *obj)
{
    struct pres_pidf *d = obj;

    sv_free(d->tuples);
    pres_xml_free(d->doc);
}

/* ---- entity check ------------------------------------------------------------------------ */

/* The user and host of a URI, for comparing a pres: or im: URI (RFC 3859, RFC 3860) with a
 * sip: one. @return false when the URI has no user@host. */
static bool user_host(struct sv_slice uri, struct sv_slice *user, struct sv_slice *host)
{
    struct sip_uri u;
    const char *colon, *at, *end;

    if (sip_uri_decode(&u, uri) == 0 && u.scheme != SIP_URI_OTHER) {
        if (u.scheme == SIP_URI_TEL || !u.user.l || !u.host.l)
            return false;
        *user = u.user;
        *host = u.host;
        return true;
    }
    colon = sv_slice_chr(uri, ':');
    if (!colon)
        return false;
    end = uri.p + uri.l;
    at = memchr(colon + 1, '@', (size_t)(end - colon - 1));
    if (!at || at == colon + 1)
        return false;
    *user = sv_slice_make(colon + 1, (size_t)(at - colon - 1));
    *host = sv_slice_make(at + 1, (size_t)(end - at - 1));
    for (const char *p = host->p; p < end; p++)
        if (*p == ';' || *p == '?') {
            host->l = (size_t)(p - host->p);
            break;
        }
    return host->l > 0;
}

/* Whether the entity @p e names the AOR @p aor. Two SIP or tel URIs compare by RFC 3261
 * §19.1.4 / RFC 3966; a pres: URI and a sip: URI name the same presentity when user and host
 * agree (the host case-insensitively, the user exactly). */
static bool entity_matches(struct sv_slice e, struct sv_slice aor)
{
    struct sip_uri ue, ua;
    struct sv_slice u1, h1, u2, h2;

    if (sip_uri_decode(&ue, e) == 0 && sip_uri_decode(&ua, aor) == 0 &&
        ue.scheme != SIP_URI_OTHER && ua.scheme != SIP_URI_OTHER)
        return sip_uri_equal(&ue, &ua);
    if (!user_host(e, &u1, &h1) || !user_host(aor, &u2, &h2))
        return false;
    return sv_slice_eq(u1, u2) && sv_slice_caseeq(h1, h2);
}

/* ---- validation -------------------------------------------------------------------------- */

/* Remember an xs:ID, refusing a duplicate. Ids of tuples, persons and devices share one
 * space, as XML IDs of one document do. */
static int id_add(struct sv_slice *ids, size_t *n, size_t cap, struct sv_slice id)
{
    if (!id.p || id.l == 0)
        return EBADMSG;
    for (size_t i = 0; i < *n; i++)
        if (sv_slice_eq(ids[i], id))
            return EBADMSG;
    if (*n >= cap)
        return EBADMSG;
    ids[(*n)++] = id;
    return 0;
}

static int check_timestamp(const xmlNode *n)
{
    struct sv_slice t;
    int64_t v;

    if (pres__text(n, &t) || pres__datetime(t, &v))
        return EBADMSG;
    return 0;
}

static int check_status(const xmlNode *st)
{
    unsigned nbasic = 0;

    for (xmlNode *c = pres__elem(st->children); c; c = pres__elem(c->next)) {
        struct sv_slice v;

        if (!pres__in_ns(c, PRES_NS_PIDF))
            continue; /* extensions of status are kept */
        if (!pres__is(c, PRES_NS_PIDF, "basic") || ++nbasic > 1)
            return EBADMSG;
        if (pres__text(c, &v) || !(pres__eq(v, "open") || pres__eq(v, "closed")))
            return EBADMSG;
    }
    return 0;
}

static int check_tuple(const xmlNode *t)
{
    unsigned nstatus = 0, ncontact = 0, nts = 0;
    int err;

    for (xmlNode *c = pres__elem(t->children); c; c = pres__elem(c->next)) {
        struct sv_slice v;

        if (!pres__in_ns(c, PRES_NS_PIDF)) {
            if (pres__is(c, PRES_NS_DM, "timestamp") && check_timestamp(c))
                return EBADMSG;
            continue;
        }
        if (pres__is(c, PRES_NS_PIDF, "status")) {
            nstatus++;
            if ((err = check_status(c)) != 0)
                return err;
        } else if (pres__is(c, PRES_NS_PIDF, "contact")) {
            ncontact++;
            if (pres__text(c, &v) || v.l == 0)
                return EBADMSG;
        } else if (pres__is(c, PRES_NS_PIDF, "timestamp")) {
            nts++;
            if (check_timestamp(c))
                return EBADMSG;
        } else if (pres__is(c, PRES_NS_PIDF, "note")) {
            if (pres__text(c, &v))
                return EBADMSG;
        } else {
            return EBADMSG; /* not an element of the PIDF schema */
        }
    }
    return nstatus == 1 && ncontact <= 1 && nts <= 1 ? 0 : EBADMSG;
}

/* Persons and devices (RFC 4479): an id, and for a device its deviceID. */
static int check_dm(const xmlNode *n, bool device)
{
    for (xmlNode *c = pres__elem(n->children); c; c = pres__elem(c->next))
        if (pres__is(c, PRES_NS_DM, "timestamp") && check_timestamp(c))
            return EBADMSG;
    if (device && !pres__child(n, PRES_NS_DM, "deviceID"))
        return EBADMSG;
    return 0;
}

/*
 * Validate the tree and index its tuples. The checks are those of the RFC 3863 schema that
 * matter to us, plus unique ids; anything in another namespace is an extension and is kept.
 */
static int pidf_index(struct pres_pidf *d, const struct sv_slice *aors, size_t naors)
{
    enum { MAX_IDS = 256 };
    struct sv_slice ids[MAX_IDS];
    size_t nids = 0, ntuples = 0, k = 0;
    bool match = false;
    int err;

    if (!pres__is(d->root, PRES_NS_PIDF, "presence"))
        return EBADMSG;
    d->entity = sv_slice_trim(pres__attr(d->root, "entity"));
    if (!d->entity.p || d->entity.l == 0)
        return EBADMSG;
    for (xmlNode *c = pres__elem(d->root->children); c; c = pres__elem(c->next)) {
        struct sv_slice v;

        if (pres__is(c, PRES_NS_PIDF, "tuple")) {
            if ((err = check_tuple(c)) || (err = id_add(ids, &nids, MAX_IDS, pres__attr(c, "id"))))
                return err;
            ntuples++;
        } else if (pres__is(c, PRES_NS_PIDF, "note")) {
            if (pres__text(c, &v))
                return EBADMSG;
        } else if (pres__in_ns(c, PRES_NS_PIDF)) {
            return EBADMSG;
        } else if (pres__is(c, PRES_NS_DM, "person") || pres__is(c, PRES_NS_DM, "device")) {
            if ((err = check_dm(c, pres__is(c, PRES_NS_DM, "device"))) ||
                (err = id_add(ids, &nids, MAX_IDS, pres__attr(c, "id"))))
                return err;
        }
    }
    for (size_t i = 0; i < naors && !match; i++)
        match = entity_matches(d->entity, aors[i]);
    if (!match)
        return EPERM; /* R90: checked last, so that EPERM means "valid, but not yours" */
    if (ntuples) {
        d->tuples = sv_calloc(ntuples, sizeof(*d->tuples));
        if (!d->tuples)
            return ENOMEM;
    }
    for (xmlNode *c = pres__elem(d->root->children); c; c = pres__elem(c->next))
        if (pres__is(c, PRES_NS_PIDF, "tuple"))
            d->tuples[k++] = c;
    d->ntuples = ntuples;
    return 0;
}

/**
 * @param pp receives the document
 * @param body the PIDF body
 * @param aors the presentity's URIs
 * @param naors how many
 * @return 0, EBADMSG, EPERM, EMSGSIZE, EINVAL, ENOMEM
 */
int pres_pidf_parse(struct pres_pidf **pp, struct sv_slice body, const struct sv_slice *aors,
                    size_t naors)
{
    struct pres_pidf *d;
    int err;

    if (!pp || (naors && !aors))
        return EINVAL;
    d = sv_zalloc(sizeof(*d), pidf_destroy);
    if (!d)
        return ENOMEM;
    if ((err = pres_xml_parse(body, &d->doc)) != 0)
        goto out;
    d->root = xmlDocGetRootElement(d->doc);
    if ((err = pidf_index(d, aors, naors)) != 0)
        goto out;
    *pp = d;
    d = NULL;
out:
    sv_deref(d);
    return err;
}

struct sv_slice pres_pidf_entity(const struct pres_pidf *d)
{
    return d->entity;
}

size_t pres_pidf_tuple_count(const struct pres_pidf *d)
{
    return d->ntuples;
}

/**
 * @param d the document
 * @param i the tuple's index, document order
 * @param ti receives what the tuple says (slices into @p d)
 * @return 0 or ENOENT
 */
int pres_pidf_tuple(const struct pres_pidf *d, size_t i, struct pres_tuple_info *ti)
{
    const xmlNode *t, *st, *b, *c;
    struct sv_slice v;

    if (i >= d->ntuples)
        return ENOENT;
    t = d->tuples[i];
    memset(ti, 0, sizeof(*ti));
    ti->id = pres__attr(t, "id");
    st = pres__child(t, PRES_NS_PIDF, "status");
    b = st ? pres__child(st, PRES_NS_PIDF, "basic") : NULL;
    if (b && pres__text(b, &v) == 0)
        ti->basic = pres__eq(v, "open") ? PRES_BASIC_OPEN : PRES_BASIC_CLOSED;
    if ((c = pres__child(t, PRES_NS_PIDF, "contact")) && pres__text(c, &v) == 0)
        ti->contact = v;
    if ((c = pres__child(t, PRES_NS_PIDF, "timestamp")) && pres__text(c, &v) == 0)
        ti->timestamp = v;
    ti->nnotes = pres__count(t, PRES_NS_PIDF, "note");
    return 0;
}

/* ---- composition ------------------------------------------------------------------------- */

struct pub {
    char *etag; /* owned, NUL-terminated */
    size_t etag_l;
    struct pres_pidf *doc; /* one reference */
};

struct pres_compose {
    char *entity; /* owned, NUL-terminated */
    struct pub *pubs;
    size_t n, cap;
};

static void compose_destroy(void *obj)
{
    struct pres_compose *c = obj;

    for (size_t i = 0; i < c->n; i++) {
        sv_free(c->pubs[i].etag);
        sv_deref(c->pubs[i].doc);
    }
    sv_free(c->pubs);
    sv_free(c->entity);
}

static char *cstr_dup(struct sv_slice s)
{
    char *p = sv_malloc(s.l + 1);

    if (p) {
        memcpy(p, s.p, s.l);
        p[s.l] = '\0';
    }
    return p;
}

/**
 * @param cp receives the composition (one reference)
 * @param entity the entity of rendered documents (copied)
 * @return 0, EINVAL, ENOMEM
 */
int pres_compose_alloc(struct pres_compose **cp, struct sv_slice entity)
{
    struct pres_compose *c;

    if (!cp || !entity.p || entity.l == 0 || memchr(entity.p, '\0', entity.l))
        return EINVAL;
    c = sv_zalloc(sizeof(*c), compose_destroy);
    if (!c)
        return ENOMEM;
    c->entity = cstr_dup(entity);
    if (!c->entity) {
        sv_deref(c);
        return ENOMEM;
    }
    *cp = c;
    return 0;
}

static struct pub *pub_find(const struct pres_compose *c, struct sv_slice etag)
{
    for (size_t i = 0; i < c->n; i++)
        if (sv_slice_eq(sv_slice_make(c->pubs[i].etag, c->pubs[i].etag_l), etag))
            return &c->pubs[i];
    return NULL;
}

/**
 * @param c the composition
 * @param etag the publication's entity-tag (copied)
 * @param doc the validated document (a new reference is taken)
 * @return 0, EINVAL, ENOMEM
 */
int pres_compose_put(struct pres_compose *c, struct sv_slice etag, struct pres_pidf *doc)
{
    struct pub *p;

    if (!c || !doc || !etag.p || etag.l == 0)
        return EINVAL;
    if ((p = pub_find(c, etag)) != NULL) {
        sv_deref(p->doc);
        p->doc = sv_ref(doc);
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        struct pub *np = sv_realloc(c->pubs, cap * sizeof(*np));

        if (!np)
            return ENOMEM;
        c->pubs = np;
        c->cap = cap;
    }
    p = &c->pubs[c->n];
    p->etag = cstr_dup(etag);
    if (!p->etag)
        return ENOMEM;
    p->etag_l = etag.l;
    p->doc = sv_ref(doc);
    c->n++;
    return 0;
}

/**
 * @param c the composition
 * @param old_etag the publication's tag so far
 * @param new_etag its tag from now on (copied)
 * @return 0, EINVAL, ENOENT, ENOMEM
 */
int pres_compose_retag(struct pres_compose *c, struct sv_slice old_etag, struct sv_slice new_etag)
{
    struct pub *p;
    char *e;

    if (!c || !new_etag.p || new_etag.l == 0)
        return EINVAL;
    if (!(p = pub_find(c, old_etag)))
        return ENOENT;
    if (!(e = cstr_dup(new_etag)))
        return ENOMEM;
    sv_free(p->etag);
    p->etag = e;
    p->etag_l = new_etag.l;
    return 0;
}

/**
 * @param c the composition
 * @param etag the publication to drop with all its tuples
 * @return 0, EINVAL, ENOENT
 */
int pres_compose_remove(struct pres_compose *c, struct sv_slice etag)
{
    struct pub *p;
    size_t i;

    if (!c)
        return EINVAL;
    if (!(p = pub_find(c, etag)))
        return ENOENT;
    i = (size_t)(p - c->pubs);
    sv_free(p->etag);
    sv_deref(p->doc);
    memmove(&c->pubs[i], &c->pubs[i + 1], (c->n - i - 1) * sizeof(*p));
    c->n--;
    return 0;
}

size_t pres_compose_count(const struct pres_compose *c)
{
    return c ? c->n : 0;
}

/**
 * @param c the composition
 * @param tuple_id a tuple id
 * @param etag receives the ETag of the oldest publication with that tuple (owned by @p c)
 * @return 0 or ENOENT
 */
int pres_compose_source(const struct pres_compose *c, struct sv_slice tuple_id,
                        struct sv_slice *etag)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct pres_pidf *d = c->pubs[i].doc;

        for (size_t k = 0; k < d->ntuples; k++)
            if (sv_slice_eq(pres__attr(d->tuples[k], "id"), tuple_id)) {
                *etag = sv_slice_make(c->pubs[i].etag, c->pubs[i].etag_l);
                return 0;
            }
    }
    return ENOENT;
}

/* ---- rendering --------------------------------------------------------------------------- */

/* Whether a child of a provided tuple, person or device is part of the element's identity or
 * state that goes wherever the element goes (RFC 5025 §3.3 filters attributes, not these). */
static bool always_kept(const xmlNode *ch, enum pres__kind kind)
{
    if (kind == PRES__TUPLE)
        return pres__is(ch, PRES_NS_PIDF, "status") || pres__is(ch, PRES_NS_PIDF, "contact") ||
               pres__is(ch, PRES_NS_PIDF, "timestamp");
    if (kind == PRES__DEVICE && pres__is(ch, PRES_NS_DM, "deviceID"))
        return true;
    return pres__is(ch, PRES_NS_DM, "timestamp");
}

static void drop(xmlNode *n)
{
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

/* Remove from the copy @p n every attribute element the watcher may not see. */
static void filter_children(xmlNode *n, enum pres__kind kind, const struct pres_rules *rs,
                            const struct pres_decision *d)
{
    xmlNode *ch = pres__elem(n->children);

    while (ch) {
        xmlNode *next = pres__elem(ch->next);

        if (kind == PRES__TUPLE && pres__is(ch, PRES_NS_PIDF, "status")) {
            /* basic stays; extensions of status (e.g. RPID in status) are attributes. */
            xmlNode *s = pres__elem(ch->children);

            while (s) {
                xmlNode *snext = pres__elem(s->next);

                if (!pres__is(s, PRES_NS_PIDF, "basic") && !pres__provide_attr(rs, d, s))
                    drop(s);
                s = snext;
            }
        } else if (!always_kept(ch, kind) && !pres__provide_attr(rs, d, ch)) {
            drop(ch);
        }
        ch = next;
    }
}

/* Whether @p id was already emitted under @p root (an element with that id). */
static bool id_emitted(const xmlNode *root, struct sv_slice id)
{
    for (xmlNode *c = pres__elem(root->children); c; c = pres__elem(c->next))
        if (sv_slice_eq(pres__attr(c, "id"), id))
            return true;
    return false;
}

static xmlDoc *doc_new(const char *entity, xmlNode **rootp)
{
    xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *root;
    xmlNs *ns;

    if (!doc)
        return NULL;
    root = xmlNewDocNode(doc, NULL, (const xmlChar *)"presence", NULL);
    if (!root) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    ns = xmlNewNs(root, (const xmlChar *)PRES_NS_PIDF, NULL);
    if (!ns || !xmlSetProp(root, (const xmlChar *)"entity", (const xmlChar *)entity)) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlSetNs(root, ns);
    *rootp = root;
    return doc;
}

static int copy_in(xmlDoc *doc, xmlNode *root, const xmlNode *src, enum pres__kind kind,
                   bool filter, const struct pres_rules *rs, const struct pres_decision *d)
{
    xmlNode *cp = xmlDocCopyNode((xmlNode *)src, doc, 1);

    if (!cp)
        return ENOMEM;
    if (filter)
        filter_children(cp, kind, rs, d);
    if (!xmlAddChild(root, cp)) {
        xmlFreeNode(cp);
        return ENOMEM;
    }
    return 0;
}

/*
 * The PIDF schema orders a document as tuples, then notes, then extensions; the composed
 * document keeps that order, publications in arrival order within each part.
 */
int pres_compose_render(const struct pres_compose *c, const struct pres_rules *rs,
                        const struct pres_decision *d, struct sv_arena *a, struct sv_slice *out)
{
    xmlNode *root;
    xmlDoc *doc;
    int err = 0;

    if (!c || !a || !out || (rs && !d))
        return EINVAL;
    if (!(doc = doc_new(c->entity, &root)))
        return ENOMEM;
    for (int pass = 0; pass < 3 && !err; pass++) {
        for (size_t i = 0; i < c->n && !err; i++) {
            const xmlNode *proot = c->pubs[i].doc->root;

            for (xmlNode *e = pres__elem(proot->children); e && !err; e = pres__elem(e->next)) {
                bool tuple = pres__is(e, PRES_NS_PIDF, "tuple");
                bool note = pres__is(e, PRES_NS_PIDF, "note");
                bool person = pres__is(e, PRES_NS_DM, "person");
                bool device = pres__is(e, PRES_NS_DM, "device");
                enum pres__kind kind = person ? PRES__PERSON : device ? PRES__DEVICE : PRES__TUPLE;

                if (pass != (tuple ? 0 : note ? 1 : 2))
                    continue;
                if ((tuple || person || device) && id_emitted(root, pres__attr(e, "id")))
                    continue; /* R90: the older publication keeps the id */
                if (rs && (tuple || person || device) && !pres__provide_elem(rs, d, kind, e))
                    continue;
                if (rs && !(tuple || person || device) && !pres__provide_attr(rs, d, e))
                    continue;
                err = copy_in(doc, root, e, kind, rs && (tuple || person || device), rs, d);
            }
        }
    }
    if (!err)
        err = pres__dump(doc, a, out);
    xmlFreeDoc(doc);
    return err;
}

/**
 * @param entity the presentity, as in its documents
 * @param a the arena the document goes to
 * @param out receives the document
 * @return 0, EINVAL, ENOMEM, or sv_random's errno
 */
int pres_pidf_polite_block(struct sv_slice entity, struct sv_arena *a, struct sv_slice *out)
{
    char id[PRES_WINFO_ID_LEN + 1], *ent = NULL;
    xmlNode *root, *t, *st;
    xmlDoc *doc = NULL;
    int err;

    if (!entity.p || entity.l == 0 || memchr(entity.p, '\0', entity.l) || !a || !out)
        return EINVAL;
    /* A random id: a fixed one would tell the watcher "you are polite-blocked". */
    if ((err = pres_winfo_id_make(id)) != 0)
        return err;
    err = ENOMEM;
    if (!(ent = cstr_dup(entity)) || !(doc = doc_new(ent, &root)))
        goto out;
    t = xmlNewChild(root, root->ns, (const xmlChar *)"tuple", NULL);
    if (!t || !xmlSetProp(t, (const xmlChar *)"id", (const xmlChar *)id))
        goto out;
    st = xmlNewChild(t, root->ns, (const xmlChar *)"status", NULL);
    if (!st || !xmlNewChild(st, root->ns, (const xmlChar *)"basic", (const xmlChar *)"closed"))
        goto out;
    err = pres__dump(doc, a, out);
out:
    if (doc)
        xmlFreeDoc(doc);
    sv_free(ent);
    return err;
}
