/**
 * @file test_xcap.c  The pure pieces of the XCAP server (src/pres/xcap_doc.c, xcap_node.c) and
 * the store's XCAP documents (src/store/sqlite_xcap.c): request paths, node selectors, entity
 * tags and preconditions (R105), the document checks that turn bad or hostile documents into
 * 409 (XML bombs included), node operations, and compare-and-set in the store.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <sqlite3.h>

#include <sipveil/store.h>
#include <sipveil/xcap.h>

#include "svtest.h"

#define RULES_HEAD                                                                                 \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<cr:ruleset xmlns=\"urn:ietf:params:xml:ns:pres-rules\" "                                     \
    "xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\">"
#define RULES_TAIL "</cr:ruleset>"

static const char doc_ab[] = RULES_HEAD
    "<cr:rule id=\"a\"><cr:actions><sub-handling>allow</sub-handling></cr:actions></cr:rule>"
    "<cr:rule "
    "id=\"b\"><cr:actions><sub-handling>block</sub-handling></cr:actions></cr:rule>" RULES_TAIL;

/* ---- paths ------------------------------------------------------------------------------ */

static void path_percent_encoded_xui(void **state)
{
    struct xcap_path p;

    (void)state;
    assert_int_equal(xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip%3Aalice%40ims."
                                            "example/index"),
                                     "/xcap-root", &p),
                     0);
    assert_string_equal(p.auid, "pres-rules");
    assert_string_equal(p.xui, "sip:alice@ims.example");
    assert_string_equal(p.doc, "index");
    assert_string_equal(p.node, "");
}

static void path_raw_xui_and_tel(void **state)
{
    struct xcap_path p;

    (void)state;
    assert_int_equal(xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/tel:+15551000001/index"),
                                     "/xcap-root", &p),
                     0);
    assert_string_equal(p.xui, "tel:+15551000001");
}

static void path_node_selector(void **state)
{
    struct xcap_path p;

    (void)state;
    assert_int_equal(xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip:a@b/index/~~/"
                                            "ruleset/rule%5b@id=%22x%22%5d/@id"),
                                     "/xcap-root", &p),
                     0);
    assert_string_equal(p.xui, "sip:a@b");
    assert_string_equal(p.doc, "index");
    assert_string_equal(p.node, "ruleset/rule[@id=\"x\"]/@id");
}

static void path_refused_shapes(void **state)
{
    struct xcap_path p;

    (void)state;
    /* the global tree, another root, a trailing slash, a nested name, nothing after ~~ */
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/global/index"), "/xcap-root", &p), ENOENT);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/other/pres-rules/users/sip:a@b/index"), "/xcap-root", &p), ENOENT);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-rootx/pres-rules/users/sip:a@b/index"), "/xcap-root", &p),
        ENOENT);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip:a@b/index/"), "/xcap-root", &p),
        ENOENT);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip:a@b/d/index"), "/xcap-root", &p),
        ENOENT);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip:a@b/index/~~"), "/xcap-root", &p),
        ENOENT);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users//index"), "/xcap-root", &p), ENOENT);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip:a@b"), "/xcap-root", &p), ENOENT);
}

static void path_bad_escapes(void **state)
{
    struct xcap_path p;
    char big[600];

    (void)state;
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip%3/index"), "/xcap-root", &p),
        EINVAL);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/sip%zzx/index"), "/xcap-root", &p),
        EINVAL);
    assert_int_equal(
        xcap_path_parse(SV_LIT("/xcap-root/pres-rules/users/a%00b/index"), "/xcap-root", &p),
        EINVAL);
    /* an escape cut at the end of the input is refused, not read past (sv_test_heap) */
    assert_int_equal(
        xcap_path_parse(sv_test_heap("/xcap-root/pres-rules/users/a/in%4"), "/xcap-root", &p),
        EINVAL);
    snprintf(big, sizeof(big), "/xcap-root/pres-rules/users/sip:%0400d/index", 0);
    assert_int_equal(xcap_path_parse(sv_slice_cstr(big), "/xcap-root", &p), ENAMETOOLONG);
}

/* ---- selectors -------------------------------------------------------------------------- */

static void selector_steps(void **state)
{
    struct xcap_selector s;

    (void)state;
    assert_int_equal(xcap_selector_parse(SV_LIT("ruleset/cr:rule[2][@id='x y']/*[1]/@id"), &s), 0);
    assert_int_equal(s.nsteps, 3);
    assert_slice_equal(s.steps[0].name, "ruleset");
    assert_slice_unset(s.steps[0].prefix);
    assert_slice_equal(s.steps[1].prefix, "cr");
    assert_slice_equal(s.steps[1].name, "rule");
    assert_int_equal(s.steps[1].pos, 2);
    assert_slice_equal(s.steps[1].attr, "id");
    assert_slice_equal(s.steps[1].value, "x y");
    assert_slice_equal(s.steps[2].name, "*");
    assert_int_equal(s.steps[2].pos, 1);
    assert_slice_equal(s.attr, "id");

    assert_int_equal(xcap_selector_parse(SV_LIT("ruleset/rule[@id=\"a\"]"), &s), 0);
    assert_int_equal(s.nsteps, 2);
    assert_slice_equal(s.steps[1].value, "a");
    assert_slice_unset(s.attr);
}

static void selector_refused(void **state)
{
    static const char *const bad[] = {
        "",          "/ruleset",      "ruleset/",        "ruleset//rule", "ruleset/rule[0]",
        "rule[@id]", "rule[@id=\"x]", "rule[@id=x]",     "rule[x]",       "@id",
        "rule]",     "rule[1][1]",    "rule[@a='1'][2]", "1rule",         "ruleset/@id/x",
    };
    struct xcap_selector s;
    char many[200] = "a";

    (void)state;
    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        int err = xcap_selector_parse(sv_test_heap(bad[i]), &s);
        if (err != EBADMSG)
            print_error("selector '%s': %d\n", bad[i], err);
        assert_int_equal(err, EBADMSG);
    }
    /* a namespace selector ends a selector that has an element step (RFC 4825 §6.3) */
    assert_int_equal(xcap_selector_parse(SV_LIT("ruleset/rule[1]/namespace::*"), &s), 0);
    assert_true(s.ns);
    assert_int_equal(s.nsteps, 2);
    assert_null(s.attr.p);
    assert_int_equal(xcap_selector_parse(SV_LIT("ruleset/rule[1]"), &s), 0);
    assert_false(s.ns);
    assert_int_equal(xcap_selector_parse(SV_LIT("namespace::*"), &s), EBADMSG);
    assert_int_equal(xcap_selector_parse(SV_LIT("ruleset/namespace::cr"), &s), EBADMSG);
    assert_int_equal(xcap_selector_parse(SV_LIT("ruleset/namespace::*/rule"), &s), EBADMSG);
    /* an extension selector: none is defined for pres-rules */
    assert_int_equal(xcap_selector_parse(SV_LIT("ruleset/rule[1]:ext"), &s), ENOTSUP);
    for (int i = 0; i < XCAP_STEPS_MAX; i++)
        strcat(many, "/a");
    assert_int_equal(xcap_selector_parse(sv_slice_cstr(many), &s), E2BIG);
}

static void ns_bindings(void **state)
{
    struct xcap_ns_bindings b;

    (void)state;
    assert_int_equal(xcap_ns_bindings_parse(SV_LIT("xmlns(cr=urn:ietf:params:xml:ns:common-"
                                                   "policy)xmlns(pr=urn:x)"),
                                            &b),
                     0);
    assert_int_equal(b.n, 2);
    assert_slice_equal(b.prefix[0], "cr");
    assert_slice_equal(b.uri[0], "urn:ietf:params:xml:ns:common-policy");
    assert_slice_equal(b.prefix[1], "pr");
    assert_int_equal(xcap_ns_bindings_parse(SV_LIT("xmlns(cr)"), &b), EBADMSG);
    assert_int_equal(xcap_ns_bindings_parse(SV_LIT("foo=bar"), &b), EBADMSG);
    assert_int_equal(xcap_ns_bindings_parse(SV_LIT("xmlns(a=b"), &b), EBADMSG);
}

/* ---- entity tags, R105 ------------------------------------------------------------------ */

static void etag_lists_r105(void **state)
{
    bool m;

    (void)state;
    assert_int_equal(xcap_etag_match(SV_LIT("\"abc\""), "abc", true, &m), 0);
    assert_true(m);
    assert_int_equal(xcap_etag_match(SV_LIT(" \"x\" , \"abc\" "), "abc", true, &m), 0);
    assert_true(m);
    assert_int_equal(xcap_etag_match(SV_LIT("\"abcd\""), "abc", true, &m), 0);
    assert_false(m);
    /* a weak tag never matches strongly (If-Match), and does weakly (If-None-Match) */
    assert_int_equal(xcap_etag_match(SV_LIT("W/\"abc\""), "abc", true, &m), 0);
    assert_false(m);
    assert_int_equal(xcap_etag_match(SV_LIT("W/\"abc\""), "abc", false, &m), 0);
    assert_true(m);
    assert_int_equal(xcap_etag_match(SV_LIT("*"), "abc", true, &m), 0);
    assert_true(m);
    assert_int_equal(xcap_etag_match(SV_LIT("*"), NULL, true, &m), 0);
    assert_false(m);
    assert_int_equal(xcap_etag_match(SV_LIT("\"abc\""), NULL, true, &m), 0);
    assert_false(m);
    assert_int_equal(xcap_etag_match(SV_LIT("abc"), "abc", true, &m), EBADMSG);
    assert_int_equal(xcap_etag_match(SV_LIT("\"abc"), "abc", true, &m), EBADMSG);
    assert_int_equal(xcap_etag_match(SV_LIT("\"a\" \"b\""), "a", true, &m), EBADMSG);
    assert_int_equal(xcap_etag_match(SV_LIT("\"a b\""), "a", true, &m), EBADMSG);
    assert_int_equal(xcap_etag_match(SV_LIT(""), "a", true, &m), EBADMSG);
    assert_int_equal(xcap_etag_match(SV_LIT("*, \"a\""), "a", true, &m), EBADMSG);
}

static void precond_table_r105(void **state)
{
    static const struct {
        const char *im, *inm, *etag;
        bool safe;
        enum xcap_precond want;
    } t[] = {
        {NULL, NULL, "e1", false, XCAP_PRECOND_OK},
        {NULL, NULL, NULL, false, XCAP_PRECOND_OK},
        {"\"e1\"", NULL, "e1", false, XCAP_PRECOND_OK},
        {"\"e0\"", NULL, "e1", false, XCAP_PRECOND_FAILED},
        {"\"e1\"", NULL, NULL, false, XCAP_PRECOND_FAILED}, /* no document: If-Match fails */
        {"*", NULL, NULL, false, XCAP_PRECOND_FAILED},
        {NULL, "*", NULL, false, XCAP_PRECOND_OK},     /* create only */
        {NULL, "*", "e1", false, XCAP_PRECOND_FAILED}, /* ... and it exists */
        {NULL, "\"e1\"", "e1", true, XCAP_PRECOND_NOT_MODIFIED},
        {NULL, "\"e1\"", "e1", false, XCAP_PRECOND_FAILED},
        {NULL, "\"e0\"", "e1", true, XCAP_PRECOND_OK},
        {"\"e1\"", "\"e1\"", "e1", true, XCAP_PRECOND_NOT_MODIFIED},
    };
    enum xcap_precond r;

    (void)state;
    for (size_t i = 0; i < SV_ARRAY_SIZE(t); i++) {
        struct sv_slice im = t[i].im ? sv_slice_cstr(t[i].im) : (struct sv_slice){0};
        struct sv_slice inm = t[i].inm ? sv_slice_cstr(t[i].inm) : (struct sv_slice){0};
        assert_int_equal(xcap_precond_eval(im, inm, t[i].etag, t[i].safe, &r), 0);
        if (r != t[i].want)
            print_error("row %zu: got %d, want %d\n", i, r, t[i].want);
        assert_int_equal(r, t[i].want);
    }
    assert_int_equal(xcap_precond_eval(SV_LIT("e1"), (struct sv_slice){0}, "e1", false, &r),
                     EBADMSG);
}

/* ---- documents -------------------------------------------------------------------------- */

static enum xcap_error check(const char *doc)
{
    enum xcap_error e = XCAP_ERR_NONE;

    assert_int_equal(xcap_doc_check(doc, strlen(doc), &e), 0);
    return e;
}

static void doc_good(void **state)
{
    (void)state;
    assert_int_equal(check(doc_ab), XCAP_ERR_NONE);
    assert_int_equal(check("<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"/>"),
                     XCAP_ERR_NONE);
    assert_int_equal(check("<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"><!-- c -->"
                           "<rule id=\"x\"/></ruleset>"),
                     XCAP_ERR_NONE);
}

static void doc_not_well_formed_409(void **state)
{
    (void)state;
    assert_int_equal(check("<ruleset"), XCAP_ERR_NOT_WELL_FORMED);
    assert_int_equal(check(""), XCAP_ERR_NOT_WELL_FORMED);
    assert_int_equal(check("<a></b>"), XCAP_ERR_NOT_WELL_FORMED);
    assert_int_equal(check("<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\">&undef;"
                           "</ruleset>"),
                     XCAP_ERR_NOT_WELL_FORMED);
}

static void doc_schema_409(void **state)
{
    (void)state;
    /* the wrong root, the right name in the wrong namespace, a stray child, a rule without id */
    assert_int_equal(check("<foo xmlns=\"urn:x\"/>"), XCAP_ERR_SCHEMA);
    assert_int_equal(check("<ruleset/>"), XCAP_ERR_SCHEMA);
    assert_int_equal(check("<ruleset xmlns=\"urn:ietf:params:xml:ns:pres-rules\"/>"),
                     XCAP_ERR_SCHEMA);
    assert_int_equal(check("<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"><x/>"
                           "</ruleset>"),
                     XCAP_ERR_SCHEMA);
    assert_int_equal(check("<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"><rule/>"
                           "</ruleset>"),
                     XCAP_ERR_SCHEMA);
    assert_int_equal(check("<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\">"
                           "<rule id=\"a\"/><rule id=\"a\"/></ruleset>"),
                     XCAP_ERR_UNIQUENESS);
    assert_int_equal(check("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                           "<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"/>"),
                     XCAP_ERR_NOT_UTF8);
}

/* Bad input: entity expansion, external entities and deep nesting are refused, fast. */
static void doc_xml_bombs_refused(void **state)
{
    static const char laughs[] =
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
        "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e "
        "\"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g "
        "\"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
        "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">]>"
        "<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"><rule id=\"&h;\"/></ruleset>";
    static const char xxe[] =
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"><rule id=\"&x;\"/></ruleset>";
    size_t depth = 5000, n = 0;
    char *deep = malloc(depth * 7 + 200);
    uint64_t t0 = sv_now_ms();

    (void)state;
    /* libxml2's own amplification check may stop the first before the DTD check does */
    enum xcap_error e = check(laughs);
    assert_true(e == XCAP_ERR_CONSTRAINT || e == XCAP_ERR_NOT_WELL_FORMED);
    e = check(xxe);
    assert_true(e == XCAP_ERR_CONSTRAINT || e == XCAP_ERR_NOT_WELL_FORMED);
    /* any DTD at all, even a harmless one */
    assert_int_equal(check("<!DOCTYPE ruleset [<!ENTITY x \"y\">]>"
                           "<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\">"
                           "<rule id=\"&x;\"/></ruleset>"),
                     XCAP_ERR_CONSTRAINT);
    assert_non_null(deep);
    n += (size_t)sprintf(deep, "<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\">"
                               "<rule id=\"x\">");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, "<a>");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, "</a>");
    sprintf(deep + n, "</rule></ruleset>");
    assert_int_equal(check(deep), XCAP_ERR_NOT_WELL_FORMED);
    free(deep);
    assert_true(sv_now_ms() - t0 < 2000);
}

static void doc_too_large_refused(void **state)
{
    enum xcap_error e;
    size_t len = STORE_XCAP_DOC_MAX + 1;
    char *big = malloc(len);

    (void)state;
    assert_non_null(big);
    memset(big, ' ', len);
    assert_int_equal(xcap_doc_check(big, len, &e), 0);
    assert_int_equal(e, XCAP_ERR_NOT_WELL_FORMED);
    free(big);
}

static void error_bodies(void **state)
{
    char buf[512];
    size_t n;

    (void)state;
    assert_int_equal(xcap_error_body(XCAP_ERR_NOT_WELL_FORMED, buf, sizeof(buf), &n), 0);
    sv_test_expect_bytes(buf, n,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                         "<xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\">"
                         "<not-well-formed/></xcap-error>\n");
    assert_int_equal(xcap_error_body(XCAP_ERR_SCHEMA, buf, sizeof(buf), &n), 0);
    assert_non_null(strstr(buf, "<schema-validation-error/>"));
    assert_int_equal(xcap_error_body(XCAP_ERR_NONE, buf, sizeof(buf), &n), EINVAL);
    assert_int_equal(xcap_error_body(XCAP_ERR_SCHEMA, buf, 20, &n), ENOSPC);
}

/* ---- node operations -------------------------------------------------------------------- */

static void node_get_element_and_attribute(void **state)
{
    struct xcap_node_res r;
    char *out;
    size_t n;

    (void)state;
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "ruleset/rule[@id=\"b\"]",
                                   (struct sv_slice){0}, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.mime, XCAP_MIME_ELEMENT);
    sv_test_expect_bytes(out, n,
                         "<cr:rule id=\"b\"><cr:actions><sub-handling>block</sub-handling>"
                         "</cr:actions></cr:rule>");
    free(out);
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "ruleset/rule[2]/@id",
                                   (struct sv_slice){0}, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.mime, XCAP_MIME_ATTRIBUTE);
    sv_test_expect_bytes(out, n, "b");
    free(out);
    /* prefixed names need a binding: 400 without, the element with */
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "x:ruleset", (struct sv_slice){0}, &out,
                                   &n, &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_null(out);
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "x:ruleset/x:rule[1]/@id",
                                   SV_LIT("xmlns(x=urn:ietf:params:xml:ns:common-policy)"), &out,
                                   &n, &r),
                     0);
    assert_int_equal(r.status, 200);
    sv_test_expect_bytes(out, n, "a");
    free(out);
    /* none, and ambiguous: 404 */
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "ruleset/rule[@id=\"c\"]",
                                   (struct sv_slice){0}, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 404);
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "ruleset/rule", (struct sv_slice){0},
                                   &out, &n, &r),
                     0);
    assert_int_equal(r.status, 404);
}

/* A namespace selector reads the bindings in scope at the element (RFC 4825 §7.10): an
 * element of its qualified name declaring them all, nothing else; PUT and DELETE of it are 405. */
static void node_namespace_bindings(void **state)
{
    struct xcap_node_res r;
    char *out;
    size_t n;

    (void)state;
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "ruleset/namespace::*",
                                   (struct sv_slice){0}, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.mime, XCAP_MIME_NAMESPACES);
    sv_test_expect_bytes(out, n,
                         "<cr:ruleset xmlns=\"urn:ietf:params:xml:ns:pres-rules\" "
                         "xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"/>");
    free(out);
    /* deeper down: the root's bindings are in scope, and the element keeps its prefix */
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "ruleset/rule[2]/actions/namespace::*",
                                   (struct sv_slice){0}, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 200);
    sv_test_expect_bytes(out, n,
                         "<cr:actions xmlns=\"urn:ietf:params:xml:ns:pres-rules\" "
                         "xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"/>");
    free(out);
    assert_int_equal(xcap_node_get(doc_ab, strlen(doc_ab), "ruleset/rule[3]/namespace::*",
                                   (struct sv_slice){0}, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 404);
    assert_null(out);
    assert_int_equal(xcap_node_write(doc_ab, strlen(doc_ab), "ruleset/namespace::*",
                                     (struct sv_slice){0}, "<x/>", 4, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 405);
    assert_null(out);
    assert_int_equal(xcap_node_write(doc_ab, strlen(doc_ab), "ruleset/namespace::*",
                                     (struct sv_slice){0}, NULL, 0, &out, &n, &r),
                     0);
    assert_int_equal(r.status, 405);
}

/* Apply a node write to doc_ab and return the status; the new document in *out. */
static int write_ab(const char *node, const char *body, char **out)
{
    struct xcap_node_res r;
    size_t n;

    assert_int_equal(xcap_node_write(doc_ab, strlen(doc_ab), node, (struct sv_slice){0}, body,
                                     body ? strlen(body) : 0, out, &n, &r),
                     0);
    if (r.status == 409)
        return 4090 + (int)r.e;
    return r.status;
}

static void node_put_insert_replace(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(write_ab("ruleset/rule[@id=\"c\"]", "<cr:rule id=\"c\"/>", &out), 201);
    assert_non_null(strstr(out, "<cr:rule id=\"b\">"));
    assert_non_null(strstr(out, "</cr:rule><cr:rule id=\"c\"/></cr:ruleset>"));
    free(out);
    out = NULL;
    /* the new element sees the parent's namespace bindings */
    assert_int_equal(write_ab("ruleset/rule[@id=\"a\"]",
                              "<cr:rule id=\"a\"><cr:actions><sub-handling>confirm"
                              "</sub-handling></cr:actions></cr:rule>",
                              &out),
                     200);
    assert_non_null(strstr(out, "confirm"));
    assert_null(strstr(out, "allow"));
    assert_int_equal(check(out), XCAP_ERR_NONE);
    free(out);
    out = NULL;
    /* an attribute, new then replaced */
    assert_int_equal(write_ab("ruleset/rule[@id=\"a\"]/@note", "x &amp; y", &out), 201);
    assert_non_null(strstr(out, "note=\"x &amp; y\""));
    free(out);
    out = NULL;
    assert_int_equal(write_ab("ruleset/rule[2]/@id", "z", &out), 200);
    assert_non_null(strstr(out, "<cr:rule id=\"z\">"));
    free(out);
}

static void node_put_conflicts_409(void **state)
{
    char *out = NULL;

    (void)state;
    /* the element does not match its selector; a duplicate id; not one element; no parent */
    assert_int_equal(write_ab("ruleset/rule[@id=\"c\"]", "<cr:rule id=\"d\"/>", &out),
                     4090 + XCAP_ERR_CANNOT_INSERT);
    assert_int_equal(write_ab("ruleset/rule[@id=\"b\"]", "<cr:rule id=\"a\"/>", &out),
                     4090 + XCAP_ERR_CANNOT_INSERT);
    assert_int_equal(write_ab("ruleset/rule[3]", "<cr:rule id=\"a\"/>", &out),
                     4090 + XCAP_ERR_UNIQUENESS);
    assert_int_equal(
        write_ab("ruleset/rule[@id=\"c\"]", "<cr:rule id=\"c\"/><cr:rule id=\"e\"/>", &out),
        4090 + XCAP_ERR_NOT_XML_FRAG);
    assert_int_equal(write_ab("ruleset/rule[@id=\"c\"]", "<cr:rule id=\"c\">", &out),
                     4090 + XCAP_ERR_NOT_XML_FRAG);
    assert_int_equal(write_ab("ruleset/rule[@id=\"c\"]", "<cr:rule id=\"c\">&x;</cr:rule>", &out),
                     4090 + XCAP_ERR_NOT_XML_FRAG);
    assert_int_equal(write_ab("ruleset/rule[@id=\"x\"]/conditions", "<cr:conditions/>", &out),
                     4090 + XCAP_ERR_NO_PARENT);
    assert_int_equal(write_ab("ruleset/rule[@id=\"a\"]/@id", "a<b", &out),
                     4090 + XCAP_ERR_NOT_XML_ATT_VALUE);
    assert_int_equal(write_ab("ruleset/rule[@id=\"a\"]/@id", "q", &out),
                     4090 + XCAP_ERR_CANNOT_INSERT);
    assert_int_equal(write_ab("ruleset/foo[@id=\"a\"]", "<cr:foo id=\"a\"/>", &out),
                     4090 + XCAP_ERR_SCHEMA);
    assert_int_equal(write_ab("ruleset/rule[5]", "<cr:rule id=\"q\"/>", &out),
                     4090 + XCAP_ERR_CANNOT_INSERT);
    assert_null(out);
}

static void node_delete(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(write_ab("ruleset/rule[@id=\"a\"]", NULL, &out), 200);
    assert_null(strstr(out, "id=\"a\""));
    assert_non_null(strstr(out, "id=\"b\""));
    free(out);
    out = NULL;
    assert_int_equal(write_ab("ruleset/rule[@id=\"q\"]", NULL, &out), 404);
    assert_int_equal(write_ab("ruleset", NULL, &out), 4090 + XCAP_ERR_CANNOT_DELETE);
    /* deleting rule[1] leaves b as rule[1]: the selector would still select something */
    assert_int_equal(write_ab("ruleset/rule[1]", NULL, &out), 4090 + XCAP_ERR_CANNOT_DELETE);
    assert_int_equal(write_ab("ruleset/rule[1]/@id", NULL, &out), 4090 + XCAP_ERR_SCHEMA);
    assert_int_equal(write_ab("ruleset/rule[1]/@nope", NULL, &out), 404);
    assert_null(out);
}

/* ---- the store: compare-and-set --------------------------------------------------------- */

struct fix {
    char dir[64], path[96];
    struct store *st;
    struct store_xcap_doc *d;
};

static int fix_setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    char err[256] = "";

    if (!f || !(f->d = malloc(sizeof(*f->d))))
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sv-xcap-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    if (store_open_sqlite(&f->st, f->path, err, sizeof(err))) {
        print_error("store_open_sqlite: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int fix_teardown(void **state)
{
    struct fix *f = *state;
    char p[128];

    store_close(f->st);
    for (const char *const *s = (const char *const[]){"", "-wal", "-shm", NULL}; *s; s++) {
        snprintf(p, sizeof(p), "%s%s", f->path, *s);
        unlink(p);
    }
    rmdir(f->dir);
    free(f->d);
    free(f);
    return 0;
}

#define XPUT(f, body, exp, etag, created)                                                          \
    (f)->st->api->xcap_put((f)->st, "pres-rules", "sip:alice@ims.example", "index", (body),        \
                           strlen(body), (exp), (etag), (created))

static void store_put_get_del_r105(void **state)
{
    struct fix *f = *state;
    char e1[STORE_XCAP_ETAG_MAX], e2[STORE_XCAP_ETAG_MAX];
    bool created = false;

    assert_int_equal(
        f->st->api->xcap_get(f->st, "pres-rules", "sip:alice@ims.example", "index", f->d), ENOENT);
    assert_int_equal(XPUT(f, doc_ab, NULL, e1, &created), 0);
    assert_true(created);
    assert_int_equal(strlen(e1), 32);
    assert_int_equal(
        f->st->api->xcap_get(f->st, "pres-rules", "sip:alice@ims.example", "index", f->d), 0);
    assert_string_equal(f->d->etag, e1);
    sv_test_expect_bytes(f->d->body, f->d->len, doc_ab);
    /* the same bytes again: still a new ETag (strong, per write) */
    assert_int_equal(XPUT(f, doc_ab, e1, e2, &created), 0);
    assert_false(created);
    assert_string_not_equal(e1, e2);
    /* others' documents are apart */
    assert_int_equal(
        f->st->api->xcap_get(f->st, "pres-rules", "sip:bob@ims.example", "index", f->d), ENOENT);
    assert_int_equal(
        f->st->api->xcap_del(f->st, "pres-rules", "sip:alice@ims.example", "index", e1), ECANCELED);
    assert_int_equal(
        f->st->api->xcap_del(f->st, "pres-rules", "sip:alice@ims.example", "index", e2), 0);
    assert_int_equal(
        f->st->api->xcap_del(f->st, "pres-rules", "sip:alice@ims.example", "index", NULL), ENOENT);
    assert_int_equal(
        f->st->api->xcap_del(f->st, "pres-rules", "sip:alice@ims.example", "index", "*"),
        ECANCELED);
}

static void store_compare_and_set(void **state)
{
    struct fix *f = *state;
    char e1[STORE_XCAP_ETAG_MAX], e2[STORE_XCAP_ETAG_MAX];

    /* "" = create only, "*" = must exist, a tag = must be current; a miss writes nothing */
    assert_int_equal(XPUT(f, "one", "*", e1, NULL), ECANCELED);
    assert_int_equal(XPUT(f, "one", "deadbeef", e1, NULL), ECANCELED);
    assert_int_equal(XPUT(f, "one", "", e1, NULL), 0);
    assert_int_equal(XPUT(f, "two", "", e2, NULL), ECANCELED);
    assert_int_equal(XPUT(f, "two", "deadbeef", e2, NULL), ECANCELED);
    assert_int_equal(
        f->st->api->xcap_get(f->st, "pres-rules", "sip:alice@ims.example", "index", f->d), 0);
    sv_test_expect_bytes(f->d->body, f->d->len, "one");
    assert_int_equal(XPUT(f, "two", "*", e2, NULL), 0);
    /* two clients that read e1: the second loses (no lost update) */
    assert_int_equal(XPUT(f, "three", e1, e2, NULL), ECANCELED);
}

static void store_limits(void **state)
{
    struct fix *f = *state;
    char e[STORE_XCAP_ETAG_MAX], xui[STORE_URI_MAX + 1];
    char *big = malloc(STORE_XCAP_DOC_MAX + 1);

    assert_non_null(big);
    memset(big, 'x', STORE_XCAP_DOC_MAX + 1);
    assert_int_equal(f->st->api->xcap_put(f->st, "pres-rules", "sip:a@b", "index", big,
                                          STORE_XCAP_DOC_MAX + 1, NULL, e, NULL),
                     EFBIG);
    assert_int_equal(f->st->api->xcap_put(f->st, "pres-rules", "sip:a@b", "index", big,
                                          STORE_XCAP_DOC_MAX, NULL, e, NULL),
                     0);
    assert_int_equal(f->st->api->xcap_get(f->st, "pres-rules", "sip:a@b", "index", f->d), 0);
    assert_int_equal(f->d->len, STORE_XCAP_DOC_MAX);
    free(big);
    memset(xui, 'a', sizeof(xui) - 1);
    xui[sizeof(xui) - 1] = '\0';
    assert_int_equal(f->st->api->xcap_get(f->st, "pres-rules", xui, "index", f->d), ENAMETOOLONG);
    assert_int_equal(f->st->api->xcap_get(f->st, "pres-rules", "", "index", f->d), EINVAL);
}

/* A version 1 file (before XCAP and the nodes' state) is migrated at open, its data kept. */
static void store_migrates_v1(void **state)
{
    struct fix *f = *state;
    char e[STORE_XCAP_ETAG_MAX], err[256] = "";
    sqlite3 *db;

    assert_int_equal(store_schema_version(), 4);
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "DROP TABLE kv; DROP TABLE xcap_doc; PRAGMA user_version = 1;", NULL,
                     NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open_sqlite(&f->st, f->path, err, sizeof(err)), 0);
    assert_int_equal(XPUT(f, doc_ab, NULL, e, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(path_percent_encoded_xui),
    cmocka_unit_test(path_raw_xui_and_tel),
    cmocka_unit_test(path_node_selector),
    cmocka_unit_test(path_refused_shapes),
    cmocka_unit_test(path_bad_escapes),
    cmocka_unit_test(selector_steps),
    cmocka_unit_test(selector_refused),
    cmocka_unit_test(ns_bindings),
    cmocka_unit_test(etag_lists_r105),
    cmocka_unit_test(precond_table_r105),
    cmocka_unit_test(doc_good),
    cmocka_unit_test(doc_not_well_formed_409),
    cmocka_unit_test(doc_schema_409),
    cmocka_unit_test(doc_xml_bombs_refused),
    cmocka_unit_test(doc_too_large_refused),
    cmocka_unit_test(error_bodies),
    cmocka_unit_test(node_get_element_and_attribute),
    cmocka_unit_test(node_namespace_bindings),
    cmocka_unit_test(node_put_insert_replace),
    cmocka_unit_test(node_put_conflicts_409),
    cmocka_unit_test(node_delete),
    cmocka_unit_test_setup_teardown(store_put_get_del_r105, fix_setup, fix_teardown),
    cmocka_unit_test_setup_teardown(store_compare_and_set, fix_setup, fix_teardown),
    cmocka_unit_test_setup_teardown(store_limits, fix_setup, fix_teardown),
    cmocka_unit_test_setup_teardown(store_migrates_v1, fix_setup, fix_teardown),
};

SV_TEST_MAIN(tests)
