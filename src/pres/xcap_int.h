/**
 * @file xcap_int.h  Private to the XCAP server's files (xcap.c, xcap_doc.c, xcap_node.c): the
 * libxml2 options every parse uses, and the helpers they share.
 */
#ifndef SIPVEIL_PRES_XCAP_INT_H
#define SIPVEIL_PRES_XCAP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <sipveil/xcap.h>

/* No network, no entity substitution (XML_PARSE_NOENT is deliberately absent), no DTD
 * loading, no messages on standard error, no CDATA nodes kept apart. */
#define XCAP_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/** Percent-decode @p s into @p dst (NUL-terminated). @return 0, EINVAL, ENAMETOOLONG. */
int xcap__pct_decode(struct sv_slice s, char *dst, size_t sz);
/** Whether @p n is the element {@p ns}@p name. */
bool xcap__is_elem(const xmlNode *n, const char *ns, const char *name);
/** Parse a whole document safely; NULL with *e set when refused. */
xmlDoc *xcap__parse(const char *body, size_t len, enum xcap_error *e);
/** The pres-rules checks on a parsed document. */
enum xcap_error xcap__tree_check(const xmlDoc *d);

#endif
