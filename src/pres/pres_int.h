/**
 * @file pres_int.h  Internals of the presence documents: tree helpers over libxml2, the
 * transformation look-ups the PIDF filter asks the rules for, and xs:dateTime.
 *
 * The XCAP server (xcap.c) has its own needs and does not use this header.
 */
#ifndef SIPVEIL_PRES_INT_H
#define SIPVEIL_PRES_INT_H

#include <libxml/tree.h>

#include <sipveil/pres.h>

/* ---- xml.c ----------------------------------------------------------------------------- */

/** Whether @p n is an element named @p name in namespace @p ns. */
bool pres__is(const xmlNode *n, const char *ns, const char *name);
/** Whether @p n is an element in namespace @p ns (any name). */
bool pres__in_ns(const xmlNode *n, const char *ns);
/** The namespace URI of element @p n, or "" when it has none. */
const char *pres__ns(const xmlNode *n);
/** The next element sibling at or after @p n, or NULL. */
xmlNode *pres__elem(xmlNode *n);
/** The first child element of @p n that pres__is(@p ns, @p name), or NULL. */
xmlNode *pres__child(const xmlNode *n, const char *ns, const char *name);
/** How many child elements of @p n are @p ns:@p name. */
unsigned pres__count(const xmlNode *n, const char *ns, const char *name);
/**
 * The value of the un-namespaced attribute @p name of @p n, as a slice into the tree, or an
 * unset slice. An attribute with entity references (which we never substitute) is unset.
 */
struct sv_slice pres__attr(const xmlNode *n, const char *name);
/**
 * The text of a simple element (text and CDATA children only), trimmed, as a slice into the
 * tree. @return 0, or EBADMSG when it has element children or more than one text node
 * (libxml2 merges adjacent text, so this only refuses mixed content).
 */
int pres__text(const xmlNode *n, struct sv_slice *out);
/** Whether a slice equals a C string exactly. */
bool pres__eq(struct sv_slice s, const char *c);

/**
 * Dump @p doc (without XML declaration formatting games) into @p a.
 * @return 0 or ENOMEM
 */
int pres__dump(xmlDoc *doc, struct sv_arena *a, struct sv_slice *out);

/**
 * Parse an xs:dateTime with a mandatory time zone ("Z" or "+hh:mm"), fractions of a second
 * ignored, into Unix seconds. @return 0 or EBADMSG
 */
int pres__datetime(struct sv_slice s, int64_t *t);

/* ---- rules.c: transformations, for pidf.c ----------------------------------------------- */

enum pres__kind {
    PRES__TUPLE = 0, /* a service (RFC 5025 provide-services) */
    PRES__PERSON,
    PRES__DEVICE,
};

/** Whether the element @p n (tuple, person or device) is given to the watcher. */
bool pres__provide_elem(const struct pres_rules *rs, const struct pres_decision *d,
                        enum pres__kind kind, const xmlNode *n);
/**
 * Whether attribute element @p n (a child of a provided tuple, person or device, or a
 * top-level extension of the document) is given to the watcher.
 */
bool pres__provide_attr(const struct pres_rules *rs, const struct pres_decision *d,
                        const xmlNode *n);

/* ---- grant.c ----------------------------------------------------------------------------- */

/** base64url without padding of @p n octets into @p out (room for 4*ceil(n/3)+1). */
size_t pres__b64url_encode(const uint8_t *in, size_t n, char *out);

#endif
