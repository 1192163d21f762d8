/**
 * @file test_pidf.c  PIDF: validation of publications (R89, R90), composition with tuple
 * provenance, rendering through transformations (RFC 5025 §3.3), polite-block (R95, TC-31).
 */
#include "svtest_pres.h"

#define PIDF_HEAD(entity)                                                                          \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\""                                              \
    " xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\""                                         \
    " xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\""                                             \
    " xmlns:x=\"urn:example:ext\" entity=\"" entity "\">"
#define PIDF(entity, body) PIDF_HEAD(entity) body "</presence>"
#define ALICE_PIDF(body) PIDF("pres:alice@home1.net", body)

#define TUPLE(id, basic, extra)                                                                    \
    "<tuple id=\"" id "\"><status><basic>" basic "</basic></status>" extra "</tuple>"

static const struct sv_slice alice_aors[] = {SV_LIT("sip:alice@home1.net"),
                                             SV_LIT("tel:+4930111001")};

static int parse(const char *doc, struct pres_pidf **d)
{
    *d = NULL;
    return pres_pidf_parse(d, sv_test_heap(doc), alice_aors, SV_ARRAY_SIZE(alice_aors));
}

static struct pres_pidf *parse_ok(const char *doc)
{
    struct pres_pidf *d;
    int err = parse(doc, &d);

    if (err)
        print_error("pres_pidf_parse: %d for\n%s\n", err, doc);
    assert_int_equal(err, 0);
    return d;
}

/* ---- parsing ------------------------------------------------------------------------------ */

static void pidf_parse_tc28c_publication(void **state)
{
    struct pres_pidf *d = parse_ok(ALICE_PIDF(
        TUPLE("t1", "open",
              "<contact priority=\"0.8\">sip:alice@192.0.2.10</contact>"
              "<note xml:lang=\"en\">at work</note><timestamp>2026-12-04T17:00:00Z</timestamp>")
            TUPLE("t2", "closed", "") "<note>hello</note>"));
    struct pres_tuple_info ti;

    assert_slice_equal(pres_pidf_entity(d), "pres:alice@home1.net");
    assert_int_equal(pres_pidf_tuple_count(d), 2);
    assert_int_equal(pres_pidf_tuple(d, 0, &ti), 0);
    assert_slice_equal(ti.id, "t1");
    assert_int_equal(ti.basic, PRES_BASIC_OPEN);
    assert_slice_equal(ti.contact, "sip:alice@192.0.2.10");
    assert_slice_equal(ti.timestamp, "2026-12-04T17:00:00Z");
    assert_int_equal(ti.nnotes, 1);
    assert_int_equal(pres_pidf_tuple(d, 1, &ti), 0);
    assert_slice_equal(ti.id, "t2");
    assert_int_equal(ti.basic, PRES_BASIC_CLOSED);
    assert_slice_unset(ti.contact);
    assert_int_equal(pres_pidf_tuple(d, 2, &ti), ENOENT);
    sv_deref(d);
}

/* R90: the entity may name the presentity by any of its URIs, in pres:, sip: or tel: form. */
static void r90_entity_aliases(void **state)
{
    static const char *const good[] = {"pres:alice@home1.net", "sip:alice@home1.net",
                                       "sip:alice@HOME1.NET", "pres:alice@Home1.Net",
                                       "tel:+4930111001"};
    static const char *const bad[] = {
        "pres:bob@home1.net",        "sip:bob@home2.net",   "pres:Alice@home1.net",
        "pres:alice@home1.net.evil", "pres:alice@ome1.net", "tel:+4930111002",
        "sip:alice@home1.net:5070",  "pres:home1.net",      "urn:alice",
    };
    char doc[512];
    struct pres_pidf *d;

    for (size_t i = 0; i < SV_ARRAY_SIZE(good); i++) {
        snprintf(doc, sizeof(doc), PIDF_HEAD("%s") TUPLE("t", "open", "") "</presence>", good[i]);
        sv_deref(parse_ok(doc));
    }
    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        snprintf(doc, sizeof(doc), PIDF_HEAD("%s") TUPLE("t", "open", "") "</presence>", bad[i]);
        if (parse(doc, &d) != EPERM)
            print_error("entity %s\n", bad[i]);
        assert_int_equal(parse(doc, &d), EPERM);
        assert_null(d);
    }
}

static void r89_not_pidf_is_ebadmsg(void **state)
{
    static const char *const rows[] = {
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:alice@home1.net\">",
        "<presence entity=\"pres:alice@home1.net\"/>", /* no namespace */
        "<presence xmlns=\"urn:ietf:params:xml:ns:cpim-pidf\" entity=\"pres:alice@home1.net\"/>",
        "<tuple xmlns=\"urn:ietf:params:xml:ns:pidf\" id=\"a\"/>",
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>", /* no entity */
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"\"/>",
        ALICE_PIDF("<tuple><status><basic>open</basic></status></tuple>"), /* no id */
        ALICE_PIDF("<tuple id=\"\"><status/></tuple>"),
        ALICE_PIDF(TUPLE("a", "open", "") TUPLE("a", "closed", "")), /* duplicate id */
        ALICE_PIDF(TUPLE("a", "busy", "")),
        ALICE_PIDF(TUPLE("a", "OPEN", "")),
        ALICE_PIDF("<tuple id=\"a\"/>"), /* no status */
        ALICE_PIDF("<tuple id=\"a\"><status/><status/></tuple>"),
        ALICE_PIDF(
            "<tuple id=\"a\"><status><basic>open</basic><basic>open</basic></status></tuple>"),
        ALICE_PIDF(TUPLE("a", "open", "<timestamp>yesterday</timestamp>")),
        ALICE_PIDF(TUPLE("a", "open", "<contact></contact>")),
        ALICE_PIDF(TUPLE("a", "open", "<contact>sip:a@b</contact><contact>sip:c@d</contact>")),
        ALICE_PIDF(TUPLE("a", "open", "<color>red</color>")), /* not in the PIDF schema */
        ALICE_PIDF("<status/>"),
        ALICE_PIDF(TUPLE("a", "open", "<note><b>bold</b></note>")),
        ALICE_PIDF("<dm:person/>"),                                 /* person without id */
        ALICE_PIDF("<dm:device id=\"d1\"/>"),                       /* device without deviceID */
        ALICE_PIDF(TUPLE("a", "open", "") "<dm:person id=\"a\"/>"), /* ids share one space */
    };
    struct pres_pidf *d;

    for (size_t i = 0; i < SV_ARRAY_SIZE(rows); i++) {
        int err = parse(rows[i], &d);

        if (err != EBADMSG)
            print_error("row %zu: %d\n%s\n", i, err, rows[i]);
        assert_int_equal(err, EBADMSG);
        assert_null(d);
    }
}

/* A status with no basic, RFC 4479 persons and devices, and extensions: all valid. */
static void pidf_parse_accepts_extensions(void **state)
{
    struct pres_pidf *d = parse_ok(ALICE_PIDF(
        "<tuple id=\"a\"><status><x:im>busy</x:im></status><dm:deviceID>urn:uuid:1</dm:deviceID>"
        "<x:extra>kept</x:extra></tuple>"
        "<dm:person id=\"p1\"><rpid:activities><rpid:meeting/></rpid:activities>"
        "<dm:timestamp>2026-12-04T17:00:00Z</dm:timestamp></dm:person>"
        "<dm:device id=\"d1\"><dm:deviceID>urn:uuid:1</dm:deviceID></dm:device>"
        "<x:top>also kept</x:top>"));
    struct pres_tuple_info ti;

    assert_int_equal(pres_pidf_tuple(d, 0, &ti), 0);
    assert_int_equal(ti.basic, PRES_BASIC_NONE);
    sv_deref(d);
}

static void pidf_parse_refuses_bombs_and_size(void **state)
{
    struct pres_pidf *d;

    assert_int_equal(parse("<!DOCTYPE presence [<!ENTITY a \"aaaa\">]>" ALICE_PIDF("&a;"), &d),
                     EBADMSG);
    assert_int_equal(
        pres_pidf_parse(&d, sv_slice_make("<a/>", PRES_XML_MAX_SIZE + 1), alice_aors, 1), EMSGSIZE);
    assert_int_equal(pres_pidf_parse(NULL, SV_LIT("<a/>"), alice_aors, 1), EINVAL);
    /* No AOR at all: nothing can match. */
    assert_int_equal(pres_pidf_parse(&d, SV_LIT(ALICE_PIDF("")), NULL, 0), EPERM);
}

/* ---- composition ------------------------------------------------------------------------- */

static struct pres_compose *compose_new(void)
{
    struct pres_compose *c = NULL;

    assert_int_equal(pres_compose_alloc(&c, SV_LIT("pres:alice@home1.net")), 0);
    return c;
}

static void put(struct pres_compose *c, const char *etag, const char *doc)
{
    struct pres_pidf *d = parse_ok(doc);

    assert_int_equal(pres_compose_put(c, sv_slice_cstr(etag), d), 0);
    sv_deref(d);
}

static struct sv_slice render(struct pres_compose *c, const struct pres_rules *rs,
                              const struct pres_decision *dec)
{
    struct sv_slice out = {NULL, 0};
    struct pres_pidf *back;

    assert_int_equal(pres_compose_render(c, rs, dec, sv_test_arena(), &out), 0);
    /* Whatever we send must be a valid PIDF for the presentity. */
    assert_int_equal(pres_pidf_parse(&back, out, alice_aors, 1), 0);
    sv_deref(back);
    return out;
}

static void expect_source(struct pres_compose *c, const char *tuple, const char *etag)
{
    struct sv_slice e = {NULL, 0};

    if (!etag) {
        assert_int_equal(pres_compose_source(c, sv_slice_cstr(tuple), &e), ENOENT);
        return;
    }
    assert_int_equal(pres_compose_source(c, sv_slice_cstr(tuple), &e), 0);
    assert_slice_equal(e, etag);
}

/* R90: each publication's tuples stay its own; removing one removes exactly its tuples. */
static void r90_compose_tracks_provenance(void **state)
{
    struct pres_compose *c = compose_new();
    struct sv_slice out;

    put(c, "e1", ALICE_PIDF(TUPLE("phone", "open", "<note>on the phone</note>")));
    put(c, "e2", ALICE_PIDF(TUPLE("pc", "closed", "") "<note>from the pc</note>"));
    assert_int_equal(pres_compose_count(c), 2);
    expect_source(c, "phone", "e1");
    expect_source(c, "pc", "e2");
    out = render(c, NULL, NULL);
    assert_true(slice_has(out, "id=\"phone\""));
    assert_true(slice_has(out, "id=\"pc\""));
    assert_true(slice_has(out, "from the pc"));
    assert_true(slice_has(out, "entity=\"pres:alice@home1.net\""));

    /* A modification of e1 replaces e1's tuples only. */
    put(c, "e1", ALICE_PIDF(TUPLE("phone2", "open", "")));
    expect_source(c, "phone", NULL);
    expect_source(c, "phone2", "e1");
    expect_source(c, "pc", "e2");

    /* A refresh gives e2 a new tag; removal by the old one then fails. */
    assert_int_equal(pres_compose_retag(c, SV_LIT("e2"), SV_LIT("e3")), 0);
    assert_int_equal(pres_compose_remove(c, SV_LIT("e2")), ENOENT);
    expect_source(c, "pc", "e3");

    assert_int_equal(pres_compose_remove(c, SV_LIT("e1")), 0);
    out = render(c, NULL, NULL);
    assert_false(slice_has(out, "phone"));
    assert_true(slice_has(out, "id=\"pc\""));
    assert_int_equal(pres_compose_remove(c, SV_LIT("e3")), 0);
    assert_int_equal(pres_compose_count(c), 0);
    out = render(c, NULL, NULL);
    assert_false(slice_has(out, "<tuple"));
    assert_int_equal(pres_compose_retag(c, SV_LIT("x"), SV_LIT("y")), ENOENT);
    sv_deref(c);
}

/* R90: a second source cannot take over a tuple id the first one publishes. */
static void r90_compose_older_publication_keeps_tuple_id(void **state)
{
    struct pres_compose *c = compose_new();
    struct sv_slice out;

    put(c, "e1", ALICE_PIDF(TUPLE("t", "open", "<contact>sip:real@192.0.2.1</contact>")));
    put(c, "e2", ALICE_PIDF(TUPLE("t", "closed", "<contact>sip:fake@192.0.2.66</contact>")));
    expect_source(c, "t", "e1");
    out = render(c, NULL, NULL);
    assert_true(slice_has(out, "sip:real@192.0.2.1"));
    assert_false(slice_has(out, "sip:fake"));
    /* Once the first source goes, the other one's tuple shows. */
    assert_int_equal(pres_compose_remove(c, SV_LIT("e1")), 0);
    out = render(c, NULL, NULL);
    assert_true(slice_has(out, "sip:fake@192.0.2.66"));
    sv_deref(c);
}

/* The composition keeps the PIDF order (tuples, notes, extensions) across publications. */
static void pidf_compose_orders_parts(void **state)
{
    struct pres_compose *c = compose_new();
    struct sv_slice out;
    const char *t2, *note, *person;

    put(c, "e1", ALICE_PIDF(TUPLE("t1", "open", "") "<note>n1</note><dm:person id=\"p\"/>"));
    put(c, "e2", ALICE_PIDF(TUPLE("t2", "open", "")));
    out = render(c, NULL, NULL);
    t2 = strstr(out.p, "id=\"t2\"");
    note = strstr(out.p, ">n1<");
    person = strstr(out.p, "id=\"p\"");
    assert_non_null(t2);
    assert_non_null(note);
    assert_non_null(person);
    assert_true(t2 < note && note < person);
    sv_deref(c);
}

/* ---- transformations (RFC 5025 §3.3) -------------------------------------------------- */

#define RICH                                                                                       \
    ALICE_PIDF(                                                                                    \
        TUPLE("voice", "open",                                                                     \
              "<contact>sip:alice@192.0.2.10</contact><note>voice note</note>"                     \
              "<rpid:class>work</rpid:class><x:secret>s1</x:secret>")                              \
            TUPLE("im", "closed",                                                                  \
                  "<contact>im:alice@home1.net</contact>") "<note>top note</note>"                 \
                                                           "<dm:person "                           \
                                                           "id=\"p1\"><rpid:activities><rpid:"     \
                                                           "meeting/></rpid:activities>"           \
                                                           "<rpid:mood><rpid:happy/></"            \
                                                           "rpid:mood></dm:person>"                \
                                                           "<dm:device "                           \
                                                           "id=\"d1\"><dm:deviceID>urn:uuid:dev1<" \
                                                           "/dm:deviceID></dm:device>"             \
                                                           "<x:top>ext</x:top>")

struct filter_row {
    const char *tr; /* transformations of the one rule "allow everybody" */
    const char *present[6];
    const char *absent[6];
};

static void filter_case(const struct filter_row *row)
{
    char doc[2048];
    struct pres_compose *c = compose_new();
    struct pres_watcher w = {.identity = SV_LIT("sip:bob@home2.net")};
    struct pres_decision dec;
    struct pres_rules *rs;
    struct sv_slice out;

    snprintf(doc, sizeof(doc), RULESET(RULE("all", "", SH("allow"), "%s")), row->tr);
    rs = rules_ok(doc);
    put(c, "e1", RICH);
    assert_int_equal(pres_rules_eval(rs, &w, PRES_SH_BLOCK, &dec), 0);
    assert_int_equal(dec.sh, PRES_SH_ALLOW);
    out = render(c, rs, &dec);
    for (size_t i = 0; i < 6 && row->present[i]; i++)
        if (!slice_has(out, row->present[i])) {
            print_error("\"%s\" missing with %s:\n%.*s\n", row->present[i], row->tr, SV_FMT(out));
            fail();
        }
    for (size_t i = 0; i < 6 && row->absent[i]; i++)
        if (slice_has(out, row->absent[i])) {
            print_error("\"%s\" present with %s:\n%.*s\n", row->absent[i], row->tr, SV_FMT(out));
            fail();
        }
    sv_deref(rs);
    sv_deref(c);
}

static void rfc5025_provide_filters(void **state)
{
    static const struct filter_row rows[] = {
        /* No transformation at all: nothing is provided, only the entity shows. */
        {"", {"entity="}, {"<tuple", "note", "person", "device", "x:top"}},
        /* All services: tuples with status and contact, but no note, class or extension. */
        {"<pr:provide-services><pr:all-services/></pr:provide-services>",
         {"id=\"voice\"", "id=\"im\"", "sip:alice@192.0.2.10", "<basic>open</basic>"},
         {"voice note", "top note", "rpid:class", "secret", "person", "x:top"}},
        /* Selective services, each selector kind. */
        {"<pr:provide-services><pr:occurrence-id>im</pr:occurrence-id></pr:provide-services>",
         {"id=\"im\""},
         {"id=\"voice\""}},
        {"<pr:provide-services><pr:service-uri>sip:alice@192.0.2.10</pr:service-uri>"
         "</pr:provide-services>",
         {"id=\"voice\""},
         {"id=\"im\""}},
        {"<pr:provide-services><pr:service-uri-scheme>IM</pr:service-uri-scheme>"
         "</pr:provide-services>",
         {"id=\"im\""},
         {"id=\"voice\""}},
        {"<pr:provide-services><pr:class>work</pr:class></pr:provide-services>",
         {"id=\"voice\""},
         {"id=\"im\"", "rpid:class"}},
        /* Attributes: notes, RPID, unknown extensions, everything. */
        {"<pr:provide-services><pr:all-services/></pr:provide-services>"
         "<pr:provide-note>true</pr:provide-note><pr:provide-class>true</pr:provide-class>",
         {"voice note", "top note", "<rpid:class>work"},
         {"secret", "x:top"}},
        {"<pr:provide-services><pr:all-services/></pr:provide-services>"
         "<pr:provide-note>false</pr:provide-note>",
         {"id=\"voice\""},
         {"voice note", "top note"}},
        {"<pr:provide-services><pr:all-services/></pr:provide-services>"
         "<pr:provide-unknown-attribute ns=\"urn:example:ext\" name=\"secret\">true"
         "</pr:provide-unknown-attribute>",
         {"s1"},
         {"x:top", "voice note"}},
        {"<pr:provide-unknown-attribute ns=\"urn:example:ext\" name=\"top\">true"
         "</pr:provide-unknown-attribute>",
         {"x:top"},
         {"<tuple", "secret"}},
        {"<pr:provide-services><pr:all-services/></pr:provide-services>"
         "<pr:provide-all-attributes/>",
         {"voice note", "secret", "top note", "x:top"},
         {"person", "device"}},
        /* Persons and devices. */
        {"<pr:provide-persons><pr:all-persons/></pr:provide-persons>"
         "<pr:provide-activities>true</pr:provide-activities>",
         {"id=\"p1\"", "meeting"},
         {"mood", "<tuple", "device"}},
        {"<pr:provide-devices><pr:deviceID>urn:uuid:dev1</pr:deviceID></pr:provide-devices>",
         {"id=\"d1\"", "urn:uuid:dev1"},
         {"person", "<tuple"}},
        {"<pr:provide-devices><pr:deviceID>urn:uuid:other</pr:deviceID></pr:provide-devices>",
         {"entity="},
         {"id=\"d1\""}},
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(rows); i++)
        filter_case(&rows[i]);
}

/* Transformations are the union over matching rules (RFC 4745 §10.3). */
static void rfc4745_transformations_union(void **state)
{
    struct pres_rules *rs = rules_ok(
        RULESET(RULE("a", "", SH("allow"),
                     "<pr:provide-services><pr:occurrence-id>im"
                     "</pr:occurrence-id></pr:provide-services>")
                    RULE("b", ONE("sip:bob@home2.net"), "",
                         "<pr:provide-services><pr:occurrence-id>voice</pr:occurrence-id>"
                         "</pr:provide-services><pr:provide-note>true</pr:provide-note>")));
    struct pres_watcher bob = {.identity = SV_LIT("sip:bob@home2.net")};
    struct pres_watcher carol = {.identity = SV_LIT("sip:carol@home2.net")};
    struct pres_compose *c = compose_new();
    struct pres_decision dec;
    struct sv_slice out;

    put(c, "e1", RICH);
    assert_int_equal(pres_rules_eval(rs, &bob, PRES_SH_BLOCK, &dec), 0);
    out = render(c, rs, &dec);
    assert_true(slice_has(out, "id=\"im\""));
    assert_true(slice_has(out, "id=\"voice\""));
    assert_true(slice_has(out, "voice note"));
    assert_int_equal(pres_rules_eval(rs, &carol, PRES_SH_BLOCK, &dec), 0);
    out = render(c, rs, &dec);
    assert_true(slice_has(out, "id=\"im\""));
    assert_false(slice_has(out, "id=\"voice\""));
    assert_false(slice_has(out, "note"));
    sv_deref(c);
    sv_deref(rs);
}

/* ---- polite-block ------------------------------------------------------------------------ */

/* TC-31: one tuple, basic closed, no contact, no note, and a fresh id each time. */
static void tc31_polite_block_reveals_nothing(void **state)
{
    struct sv_slice a, b;
    struct pres_pidf *d;
    struct pres_tuple_info ti;

    assert_int_equal(pres_pidf_polite_block(SV_LIT("pres:alice@home1.net"), sv_test_arena(), &a),
                     0);
    assert_int_equal(pres_pidf_parse(&d, a, alice_aors, 1), 0);
    assert_int_equal(pres_pidf_tuple_count(d), 1);
    assert_int_equal(pres_pidf_tuple(d, 0, &ti), 0);
    assert_int_equal(ti.basic, PRES_BASIC_CLOSED);
    assert_slice_unset(ti.contact);
    assert_slice_unset(ti.timestamp);
    assert_int_equal(ti.nnotes, 0);
    assert_false(slice_has(a, "note"));
    assert_int_equal(ti.id.l, PRES_WINFO_ID_LEN);
    sv_deref(d);
    assert_int_equal(pres_pidf_polite_block(SV_LIT("pres:alice@home1.net"), sv_test_arena(), &b),
                     0);
    assert_false(a.l == b.l && memcmp(a.p, b.p, a.l) == 0);
    assert_int_equal(pres_pidf_polite_block(sv_slice_make(NULL, 0), sv_test_arena(), &b), EINVAL);
}

/* Entities with XML metacharacters are escaped, never injected. */
static void pidf_render_escapes_entity(void **state)
{
    struct pres_compose *c = NULL;
    struct sv_slice out;

    assert_int_equal(pres_compose_alloc(&c, SV_LIT("pres:a\"<b>&c@x")), 0);
    assert_int_equal(pres_compose_render(c, NULL, NULL, sv_test_arena(), &out), 0);
    assert_true(slice_has(out, "entity=\"pres:a&quot;&lt;b&gt;&amp;c@x\""));
    sv_deref(c);
    assert_int_equal(pres_compose_alloc(&c, sv_slice_make(NULL, 0)), EINVAL);
}

static void pidf_api_bad_arguments(void **state)
{
    struct pres_compose *c = compose_new();
    struct pres_pidf *d = parse_ok(ALICE_PIDF(""));
    struct sv_slice out;
    struct pres_decision dec = {0};
    struct pres_rules *rs = rules_ok(RULESET(""));

    assert_int_equal(pres_compose_put(c, sv_slice_make(NULL, 0), d), EINVAL);
    assert_int_equal(pres_compose_put(c, SV_LIT("e"), NULL), EINVAL);
    assert_int_equal(pres_compose_render(c, rs, NULL, sv_test_arena(), &out), EINVAL);
    assert_int_equal(pres_compose_render(c, rs, &dec, NULL, &out), EINVAL);
    sv_deref(rs);
    sv_deref(d);
    sv_deref(c);
}

/* Every sv_malloc on the way (objects, indexes, copies, arena chunks) may fail: each step
 * then answers ENOMEM and leaks nothing (ASan checks), and with enough memory all succeed.
 * libxml2's own allocations are not injected. */
static int pipeline(void)
{
    struct pres_compose *c = NULL;
    struct pres_pidf *d = NULL;
    struct pres_rules *rs = NULL;
    struct pres_watcher w = {.identity = SV_LIT("sip:bob@home2.net")};
    struct pres_winfo_watcher ww = {.id = SV_LIT("i"), .anonymous = true};
    struct pres_winfo_list wl = {SV_LIT("sip:alice@home1.net"), SV_LIT("presence"), &ww, 1};
    struct pres_decision dec;
    struct sv_arena a;
    struct sv_slice out;
    int err;

    sv_arena_init(&a, NULL, 0);
    if ((err = pres_compose_alloc(&c, SV_LIT("pres:alice@home1.net"))) || (err = parse(RICH, &d)) ||
        (err = pres_compose_put(c, SV_LIT("e1"), d)) ||
        (err = pres_compose_put(c, SV_LIT("e2"), d)) ||
        (err = pres_compose_retag(c, SV_LIT("e2"), SV_LIT("e3"))) ||
        (err = pres_rules_parse(&rs, SV_LIT(RULESET(RULE("a", "", SH("allow"),
                                                         "<pr:provide-services><pr:all-services/>"
                                                         "</pr:provide-services>"))))) ||
        (err = pres_rules_eval(rs, &w, PRES_SH_BLOCK, &dec)) ||
        (err = pres_compose_render(c, rs, &dec, &a, &out)) ||
        (err = pres_pidf_polite_block(SV_LIT("pres:alice@home1.net"), &a, &out)) ||
        (err = pres_winfo_render(0, true, &wl, 1, &a, &out)))
        goto out;
out:
    sv_deref(rs);
    sv_deref(d);
    sv_deref(c);
    sv_arena_close(&a);
    return err;
}

static void oom_sweep(void **state)
{
    unsigned failures = 0;
    int e = ENOMEM;

    for (long n = 0; e == ENOMEM && n < 1000; n++) {
        sv_mem_fail_after(n);
        e = pipeline();
        sv_mem_fail_after(-1);
        assert_true(e == 0 || e == ENOMEM);
        failures += e == ENOMEM;
    }
    assert_int_equal(e, 0);
    assert_true(failures > 5);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(pidf_parse_tc28c_publication, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r90_entity_aliases, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r89_not_pidf_is_ebadmsg, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(pidf_parse_accepts_extensions, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(pidf_parse_refuses_bombs_and_size, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r90_compose_tracks_provenance, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r90_compose_older_publication_keeps_tuple_id,
                                    sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(pidf_compose_orders_parts, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(rfc5025_provide_filters, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(rfc4745_transformations_union, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc31_polite_block_reveals_nothing, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(pidf_render_escapes_entity, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(pidf_api_bad_arguments, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test(oom_sweep),
};

SV_TEST_MAIN(tests)
