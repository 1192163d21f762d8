/**
 * @file winfo.c  Watcher information documents (RFC 3857, RFC 3858).
 *
 * The PS is the last node that can leak a watcher's identity to the presentity, and it would
 * leak it here, in a body, where no header privacy function looks (R99). So the anonymity
 * rule is applied in the renderer itself, not left to callers: an anonymous watcher's element
 * carries PRES_ANON_URI, no display-name and the id it was given, and the URI and display
 * name in its struct are never read.
 */
#include <errno.h>
#include <stdio.h>

#include <libxml/parser.h>

#include "pres_int.h"

static const char *const status_names[] = {"pending", "active", "waiting", "terminated"};
static const char *const event_names[] = {"subscribe", "approved", "deactivated", "probation",
                                          "rejected",  "timeout",  "giveup",      "noresource"};

/* A slice as a NUL-terminated string in @p a (libxml2 wants C strings). */
static const xmlChar *zs(struct sv_arena *a, struct sv_slice s)
{
    char *p = sv_arena_alloc(a, s.l + 1);

    if (!p)
        return NULL;
    memcpy(p, s.p, s.l);
    p[s.l] = '\0';
    return (const xmlChar *)p;
}

static bool has_nul(struct sv_slice s)
{
    return s.p && memchr(s.p, '\0', s.l) != NULL;
}

static int check_watcher(const struct pres_winfo_watcher *w)
{
    if ((unsigned)w->status >= SV_ARRAY_SIZE(status_names) ||
        (unsigned)w->event >= SV_ARRAY_SIZE(event_names))
        return EINVAL;
    if (!w->id.p || w->id.l == 0 || has_nul(w->id))
        return EINVAL; /* R99: an anonymous watcher is told apart only by its id */
    if (!w->anonymous &&
        (!w->uri.p || w->uri.l == 0 || has_nul(w->uri) || has_nul(w->display_name)))
        return EINVAL;
    return 0;
}

static int add_watcher(xmlNode *list, const struct pres_winfo_watcher *w, struct sv_arena *a)
{
    const xmlChar *id = zs(a, w->id), *uri, *dn = NULL;
    xmlNode *e;
    char dur[16];

    uri = w->anonymous ? (const xmlChar *)PRES_ANON_URI : zs(a, w->uri);
    if (!w->anonymous && w->display_name.p)
        dn = zs(a, w->display_name);
    if (!id || !uri || (!w->anonymous && w->display_name.p && !dn))
        return ENOMEM;
    e = xmlNewChild(list, list->ns, (const xmlChar *)"watcher", NULL);
    if (!e)
        return ENOMEM;
    /* xmlNewText escapes; xmlNewChild's content argument would not. */
    if (!xmlAddChild(e, xmlNewText(uri)) || !xmlSetProp(e, (const xmlChar *)"id", id) ||
        !xmlSetProp(e, (const xmlChar *)"status", (const xmlChar *)status_names[w->status]) ||
        !xmlSetProp(e, (const xmlChar *)"event", (const xmlChar *)event_names[w->event]))
        return ENOMEM;
    if (dn && !xmlSetProp(e, (const xmlChar *)"display-name", dn))
        return ENOMEM;
    if (w->duration_s) {
        snprintf(dur, sizeof(dur), "%u", (unsigned)w->duration_s);
        if (!xmlSetProp(e, (const xmlChar *)"duration-subscribed", (const xmlChar *)dur))
            return ENOMEM;
    }
    return 0;
}

/**
 * @param version the version counter of the winfo subscription
 * @param full full or partial state
 * @param lists the watcher lists
 * @param nlists how many
 * @param a the arena the document goes to
 * @param out receives it
 * @return 0, EINVAL, ENOMEM
 */
int pres_winfo_render(uint32_t version, bool full, const struct pres_winfo_list *lists,
                      size_t nlists, struct sv_arena *a, struct sv_slice *out)
{
    xmlDoc *doc = NULL;
    xmlNode *root;
    xmlNs *ns;
    char ver[16];
    int err = 0;

    if (!a || !out || (nlists && !lists))
        return EINVAL;
    for (size_t i = 0; i < nlists; i++) {
        const struct pres_winfo_list *l = &lists[i];

        if (!l->resource.p || !l->resource.l || has_nul(l->resource) || !l->package.p ||
            !l->package.l || has_nul(l->package) || (l->n && !l->w))
            return EINVAL;
        for (size_t k = 0; k < l->n; k++)
            if ((err = check_watcher(&l->w[k])) != 0)
                return err;
    }
    err = ENOMEM;
    if (!(doc = xmlNewDoc((const xmlChar *)"1.0")))
        goto out;
    if (!(root = xmlNewDocNode(doc, NULL, (const xmlChar *)"watcherinfo", NULL)))
        goto out;
    xmlDocSetRootElement(doc, root);
    if (!(ns = xmlNewNs(root, (const xmlChar *)PRES_NS_WINFO, NULL)))
        goto out;
    xmlSetNs(root, ns);
    snprintf(ver, sizeof(ver), "%u", (unsigned)version);
    if (!xmlSetProp(root, (const xmlChar *)"version", (const xmlChar *)ver) ||
        !xmlSetProp(root, (const xmlChar *)"state", (const xmlChar *)(full ? "full" : "partial")))
        goto out;
    for (size_t i = 0; i < nlists; i++) {
        const struct pres_winfo_list *l = &lists[i];
        const xmlChar *res = zs(a, l->resource), *pkg = zs(a, l->package);
        xmlNode *wl;

        if (!res || !pkg)
            goto out;
        wl = xmlNewChild(root, ns, (const xmlChar *)"watcher-list", NULL);
        if (!wl || !xmlSetProp(wl, (const xmlChar *)"resource", res) ||
            !xmlSetProp(wl, (const xmlChar *)"package", pkg))
            goto out;
        for (size_t k = 0; k < l->n; k++)
            if ((err = add_watcher(wl, &l->w[k], a)) != 0)
                goto out;
        err = ENOMEM;
    }
    err = pres__dump(doc, a, out);
out:
    if (doc)
        xmlFreeDoc(doc);
    return err;
}

/**
 * @param out receives PRES_WINFO_ID_LEN characters and a NUL
 * @return 0 or sv_random's errno
 */
int pres_winfo_id_make(char out[PRES_WINFO_ID_LEN + 1])
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t r[PRES_WINFO_ID_LEN];
    int err;

    if ((err = sv_random(r, sizeof(r))) != 0)
        return err;
    /* A letter first (an XML ID may not start with a digit), then 15 of 36 characters: the
     * modulo bias of 256 % 26 and 256 % 36 costs well under a bit of the ~80. */
    out[0] = alnum[r[0] % 26];
    for (size_t i = 1; i < PRES_WINFO_ID_LEN; i++)
        out[i] = alnum[r[i] % 36];
    out[PRES_WINFO_ID_LEN] = '\0';
    return 0;
}
