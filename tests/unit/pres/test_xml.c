/**
 * @file test_xml.c  The safe XML parse: what it accepts, and the attacks it refuses (issue 6
 * "Bad input": entity bombs, external entities, deep nesting, size), plus xs:dateTime.
 */
#include "svtest_pres.h"

#include <libxml/tree.h>

#include "pres_int.h"

static int parse(const char *doc)
{
    struct _xmlDoc *d = NULL;
    int err = pres_xml_parse(sv_test_heap(doc), &d);

    if (err == 0)
        assert_non_null(d);
    else
        assert_null(d);
    pres_xml_free(d);
    return err;
}

static void xml_accepts_plain_document(void **state)
{
    assert_int_equal(parse("<a xmlns=\"urn:x\"><b c=\"d&amp;e\">text &lt;here&gt;</b></a>"), 0);
    assert_int_equal(parse(XML_DECL "<a/>"), 0);
    assert_int_equal(parse("<a><!-- a comment --><![CDATA[raw <text>]]></a>"), 0);
}

static void xml_refuses_not_well_formed(void **state)
{
    assert_int_equal(parse(""), EBADMSG);
    assert_int_equal(parse("<a>"), EBADMSG);
    assert_int_equal(parse("<a></b>"), EBADMSG);
    assert_int_equal(parse("<a/><b/>"), EBADMSG);
    assert_int_equal(parse("text"), EBADMSG);
    assert_int_equal(parse("<a>&undefined;</a>"), EBADMSG); /* no DTD declares it */
    assert_int_equal(parse("<a x=\"1\" x=\"2\"/>"), EBADMSG);
    assert_int_equal(parse("<p:a/>"), EBADMSG); /* undeclared prefix */
}

/* The classic "billion laughs": ten levels of ten references each. */
static void xml_refuses_billion_laughs(void **state)
{
    const char *bomb =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n"
        "<lolz>&lol9;</lolz>";

    assert_int_equal(parse(bomb), EBADMSG);
}

/* Quadratic blow-up: one big entity referenced many times (no nesting to detect). */
static void xml_refuses_quadratic_blowup(void **state)
{
    char doc[8192];
    size_t o = (size_t)snprintf(doc, sizeof(doc), "<!DOCTYPE a [<!ENTITY x \"%0512d\">]><a>", 0);

    while (o + 16 < sizeof(doc))
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, "&x;");
    snprintf(doc + o, sizeof(doc) - o, "</a>");
    assert_int_equal(parse(doc), EBADMSG);
}

static void xml_refuses_external_entity(void **state)
{
    /* XXE: a file read, a network fetch, a parameter entity, an external DTD. */
    assert_int_equal(parse("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>"),
                     EBADMSG);
    assert_int_equal(parse("<!DOCTYPE a [<!ENTITY x SYSTEM \"http://127.0.0.1:9/x\">]><a>&x;</a>"),
                     EBADMSG);
    assert_int_equal(parse("<!DOCTYPE a [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]><a/>"),
                     EBADMSG);
    assert_int_equal(parse("<!DOCTYPE a SYSTEM \"http://127.0.0.1:9/a.dtd\"><a/>"), EBADMSG);
    /* Any spelling of the keyword, and any DTD at all, even a harmless one. */
    assert_int_equal(parse("<!doctype a><a/>"), EBADMSG);
    assert_int_equal(parse("<?xml version=\"1.0\"?><!DOCTYPE a><a/>"), EBADMSG);
}

/* UTF-16 would hide "<!DOCTYPE" from an octet search: a NUL anywhere is refused. */
static void xml_refuses_utf16_and_nul(void **state)
{
    static const char u16[] = "\xff\xfe<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0a\0>\0<\0a\0/\0>\0";
    struct _xmlDoc *d = NULL;

    assert_int_equal(pres_xml_parse(sv_test_heap_n(u16, sizeof(u16) - 1), &d), EBADMSG);
    assert_int_equal(pres_xml_parse(sv_test_heap_n("<a>\0</a>", 8), &d), EBADMSG);
    assert_null(d);
}

static char *nested(unsigned depth)
{
    char *s = malloc(depth * 7 + 1);
    size_t o = 0;

    assert_non_null(s);
    for (unsigned i = 0; i < depth; i++)
        o += (size_t)sprintf(s + o, "<a>");
    for (unsigned i = 0; i < depth; i++)
        o += (size_t)sprintf(s + o, "</a>");
    return s;
}

static void xml_depth_cap(void **state)
{
    unsigned depths[] = {1, PRES_XML_MAX_DEPTH - 1, PRES_XML_MAX_DEPTH};
    unsigned deep[] = {PRES_XML_MAX_DEPTH + 1, 300, 5000};

    for (size_t i = 0; i < SV_ARRAY_SIZE(depths); i++) {
        char *s = nested(depths[i]);

        assert_int_equal(parse(s), 0);
        free(s);
    }
    for (size_t i = 0; i < SV_ARRAY_SIZE(deep); i++) {
        char *s = nested(deep[i]);

        assert_int_equal(parse(s), EBADMSG);
        free(s);
    }
}

/* Siblings do not add depth: a wide tree at the cap is fine. */
static void xml_depth_counts_nesting_not_width(void **state)
{
    char doc[4096];
    size_t o = (size_t)snprintf(doc, sizeof(doc), "<r>");

    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, "<b><c/></b>");
    snprintf(doc + o, sizeof(doc) - o, "</r>");
    assert_int_equal(parse(doc), 0);
}

static void xml_size_cap(void **state)
{
    size_t l = PRES_XML_MAX_SIZE;
    char *s = malloc(l + 2);
    struct _xmlDoc *d = NULL;

    assert_non_null(s);
    memset(s, ' ', l + 1);
    memcpy(s, "<a>", 3);
    memcpy(s + l - 4, "</a>", 4); /* exactly the cap */
    assert_int_equal(pres_xml_parse(sv_test_heap_n(s, l), &d), 0);
    pres_xml_free(d);
    d = NULL;
    memcpy(s + l - 3, "</a>", 4); /* one octet over */
    assert_int_equal(pres_xml_parse(sv_test_heap_n(s, l + 1), &d), EMSGSIZE);
    assert_null(d);
    free(s);
    assert_int_equal(pres_xml_parse(sv_slice_make(NULL, 0), &d), EBADMSG);
    assert_int_equal(pres_xml_parse(SV_LIT("<a/>"), NULL), EINVAL);
}

static void xml_datetime(void **state)
{
    static const struct {
        const char *s;
        int err;
        int64_t t;
    } rows[] = {
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2026-12-04T17:00:00Z", 0, 1796403600},
        {"2026-12-04T18:00:00+01:00", 0, 1796403600},
        {"2026-12-04T12:30:00-04:30", 0, 1796403600},
        {"2026-12-04T17:00:00.123Z", 0, 1796403600},
        {"2024-02-29T00:00:00Z", 0, 1709164800},
        {"1969-12-31T23:59:59Z", 0, -1},
        {"2025-02-29T00:00:00Z", EBADMSG, 0}, /* not a leap year */
        {"2026-12-04T17:00:00", EBADMSG, 0},  /* no zone: refused, not guessed */
        {"2026-12-04 17:00:00Z", EBADMSG, 0},
        {"2026-13-01T00:00:00Z", EBADMSG, 0},
        {"2026-12-04T24:00:00Z", EBADMSG, 0},
        {"2026-12-04T17:00:00.Z", EBADMSG, 0},
        {"2026-12-04T17:00:00+0100", EBADMSG, 0},
        {"2026-12-04T17:00:00ZZ", EBADMSG, 0},
        {"", EBADMSG, 0},
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(rows); i++) {
        int64_t t = 0;
        int err = pres__datetime(sv_test_heap(rows[i].s), &t);

        if (err != rows[i].err || (err == 0 && t != rows[i].t))
            print_error("row %zu \"%s\": err %d t %lld\n", i, rows[i].s, err, (long long)t);
        assert_int_equal(err, rows[i].err);
        if (err == 0)
            assert_int_equal(t, rows[i].t);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(xml_accepts_plain_document),
    cmocka_unit_test(xml_refuses_not_well_formed),
    cmocka_unit_test(xml_refuses_billion_laughs),
    cmocka_unit_test(xml_refuses_quadratic_blowup),
    cmocka_unit_test(xml_refuses_external_entity),
    cmocka_unit_test(xml_refuses_utf16_and_nul),
    cmocka_unit_test(xml_depth_cap),
    cmocka_unit_test(xml_depth_counts_nesting_not_width),
    cmocka_unit_test(xml_size_cap),
    cmocka_unit_test(xml_datetime),
};

SV_TEST_MAIN(tests)
