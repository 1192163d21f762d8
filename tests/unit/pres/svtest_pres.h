/**
 * @file svtest_pres.h  Shared bits of the presence tests: namespaces and document builders.
 */
#ifndef SVTEST_PRES_H
#define SVTEST_PRES_H

#include <errno.h>
#include <stdio.h>

#include "svtest.h"

#include <sipveil/pres.h>

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* A ruleset document around @p rules. */
#define RULESET(rules)                                                                             \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<cp:ruleset xmlns:cp=\"urn:ietf:params:xml:ns:common-policy\""                                \
    " xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\""                                              \
    " xmlns:ocp=\"urn:oma:xml:xdm:common-policy\""                                                 \
    " xmlns:wa=\"urn:sipveil:params:xml:ns:watcher-auth\">" rules "</cp:ruleset>"

/* One rule: id, conditions, actions, transformations (each the inner XML, may be empty). */
#define RULE(id, cond, act, tr)                                                                    \
    "<cp:rule id=\"" id "\"><cp:conditions>" cond "</cp:conditions><cp:actions>" act               \
    "</cp:actions><cp:transformations>" tr "</cp:transformations></cp:rule>"

#define SH(v) "<pr:sub-handling>" v "</pr:sub-handling>"
#define ONE(id) "<cp:identity><cp:one id=\"" id "\"/></cp:identity>"

/* The fixture of requirements §2.9: Alice's rules r1 (Bob: allow), r2 (anonymous: confirm),
 * r3 (Dave: polite-block). */
#define TC_RULES                                                                                   \
    RULESET(RULE("r1", ONE("sip:bob@home2.net"), SH("allow"), "")                                  \
                RULE("r2", "<ocp:anonymous-request/>", SH("confirm"), "")                          \
                    RULE("r3", ONE("sip:dave@home2.net"), SH("polite-block"), ""))

/** Parse @p doc as rules, asserting success. */
static inline struct pres_rules *rules_ok(const char *doc)
{
    struct pres_rules *rs = NULL;
    int err = pres_rules_parse(&rs, sv_test_heap(doc));

    if (err)
        print_error("pres_rules_parse: %d for\n%s\n", err, doc);
    assert_int_equal(err, 0);
    assert_non_null(rs);
    return rs;
}

/** Whether @p s contains the C string @p needle. */
static inline bool slice_has(struct sv_slice s, const char *needle)
{
    size_t nl = strlen(needle);

    for (size_t i = 0; i + nl <= s.l; i++)
        if (memcmp(s.p + i, needle, nl) == 0)
            return true;
    return false;
}

#endif
