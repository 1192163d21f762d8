/**
 * @file test_addr.c  name-addr / addr-spec decoding, address lists and Contact.
 *
 * Inputs marked with an RFC 4475 or RFC 5118 name are taken from the torture messages in
 * /work/shared/corpus (rfc4475/<name>.dat, rfc5118/<name>.dat).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest.h"
#include "sip_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                    */

static struct sip_addr addr_ok_at(const char *s, int line)
{
    struct sip_addr a;
    int err = sip_addr_decode(&a, sv_slice_cstr(s));
    if (err) {
        print_error("line %d: sip_addr_decode(\"%s\") = %d, expected 0\n", line, s, err);
        fail();
    }
    return a;
}

static void addr_bad_at(const char *s, int line)
{
    struct sip_addr a;
    int err = sip_addr_decode(&a, sv_slice_cstr(s));
    if (err != EBADMSG) {
        print_error("line %d: sip_addr_decode(\"%s\") = %d, expected EBADMSG\n", line, s, err);
        fail();
    }
}

/* Decode the single Contact element of @p s. */
static struct sip_contact contact_ok_at(const char *s, int line)
{
    struct sip_contact c;
    struct sv_slice cur = sv_slice_cstr(s);
    int err = sip_contact_next(&cur, &c);
    if (err) {
        print_error("line %d: sip_contact_next(\"%s\") = %d, expected 0\n", line, s, err);
        fail();
    }
    err = sip_contact_next(&cur, &c);
    if (err != ENOENT) {
        print_error("line %d: \"%s\": second sip_contact_next = %d, expected ENOENT\n", line, s,
                    err);
        fail();
    }
    return c;
}

static void contact_bad_at(const char *s, int line)
{
    struct sip_contact c;
    struct sv_slice cur = sv_slice_cstr(s);
    int err = sip_contact_next(&cur, &c);
    if (err != EBADMSG) {
        print_error("line %d: sip_contact_next(\"%s\") = %d, expected EBADMSG\n", line, s, err);
        fail();
    }
}

#define ADDR_OK(s) addr_ok_at((s), __LINE__)
#define ADDR_BAD(s) addr_bad_at((s), __LINE__)
#define CONTACT_OK(s) contact_ok_at((s), __LINE__)
#define CONTACT_BAD(s) contact_bad_at((s), __LINE__)

/* ---------------------------------------------------------------------------------------- */
/* addr-spec                                                                                  */

static void addr_spec_plain(void **state)
{
    struct sip_addr a = ADDR_OK("  sip:alice@atlanta.com \r\n");

    assert_slice_equal(a.raw, "sip:alice@atlanta.com");
    assert_slice_unset(a.dname);
    assert_false(a.dname_quoted);
    assert_false(a.angle);
    assert_slice_equal(a.uri_s, "sip:alice@atlanta.com");
    assert_int_equal(a.uri.scheme, SIP_URI_SIP);
    assert_slice_equal(a.uri.user, "alice");
    assert_slice_equal(a.uri.host, "atlanta.com");
    assert_slice_empty(a.params);
    assert_slice_unset(a.tag);
}

/* RFC 4475 §3.1.1.9 semiuri: From: sip:caller@example.org;tag=33242 */
static void addr_spec_with_tag(void **state)
{
    struct sip_addr a = ADDR_OK("sip:caller@example.org;tag=33242");

    assert_slice_equal(a.uri_s, "sip:caller@example.org");
    assert_slice_empty(a.uri.params);
    assert_slice_equal(a.params, ";tag=33242");
    assert_slice_equal(a.tag, "33242");
}

/* RFC 3261 §20.10 and RFC 4475 §3.3.12 cparam01: without angle brackets every ';' parameter
 * is a header parameter, not a URI parameter. */
static void addr_spec_params_belong_to_header_cparam01(void **state)
{
    struct sip_addr a = ADDR_OK("sip:+19725552222@gw1.example.net;unknownparam");

    assert_false(a.angle);
    assert_slice_equal(a.uri_s, "sip:+19725552222@gw1.example.net");
    assert_slice_empty(a.uri.params);
    assert_slice_equal(a.params, ";unknownparam");
}

/* RFC 4475 §3.3.13 cparam02: inside angle brackets the parameter stays in the URI. */
static void name_addr_params_belong_to_uri_cparam02(void **state)
{
    struct sip_addr a = ADDR_OK("<sip:+19725552222@gw1.example.net;unknownparam>");

    assert_true(a.angle);
    assert_slice_equal(a.uri_s, "sip:+19725552222@gw1.example.net;unknownparam");
    assert_slice_equal(a.uri.params, ";unknownparam");
    assert_slice_empty(a.params);
}

/* RFC 4475 §3.1.1.1 wsinv: LWS between the URI and its parameters, and around '='. */
static void addr_spec_lws_before_params_wsinv(void **state)
{
    struct sip_addr a = ADDR_OK("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");

    assert_slice_equal(a.uri_s, "sip:vivekg@chair-dnrc.example.com");
    assert_slice_equal(a.uri.host, "chair-dnrc.example.com");
    assert_slice_equal(a.tag, "1918181833n");
}

/* RFC 3261 §20: a URI with ',', '?' or ';' must be in angle brackets. */
static void addr_spec_reserved_needs_brackets(void **state)
{
    ADDR_BAD("sip:a,b@example.com");
    ADDR_BAD("sip:alice@atlanta.com?subject=x");
    /* RFC 4475 semiuri's user part, unbracketed: the ';' starts header parameters */
    ADDR_BAD("sip:user;par=u%40example.net@example.com");
    ADDR_OK("<sip:a,b@example.com>");
    ADDR_OK("<sip:alice@atlanta.com?subject=x>");
    ADDR_OK("<sip:user;par=u%40example.net@example.com>");
}

/* A '<' inside a quoted parameter value does not make an addr-spec a name-addr. */
static void addr_spec_quoted_laquot_in_param(void **state)
{
    struct sip_addr a = ADDR_OK("sip:a@example.com;x=\"<y>\";tag=7");

    assert_false(a.angle);
    assert_slice_unset(a.dname);
    assert_slice_equal(a.uri_s, "sip:a@example.com");
    assert_slice_equal(a.params, ";x=\"<y>\";tag=7");
    assert_slice_equal(a.tag, "7");
}

/* ---------------------------------------------------------------------------------------- */
/* name-addr                                                                                  */

/* RFC 4475 §3.1.2.14 badaspec's From: a quoted display name holding a comma. */
static void name_addr_quoted_dname(void **state)
{
    struct sip_addr a = ADDR_OK("\"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423");

    assert_slice_equal(a.raw, "\"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423");
    assert_slice_equal(a.dname, "Bell, Alexander");
    assert_true(a.dname_quoted);
    assert_true(a.angle);
    assert_slice_equal(a.uri_s, "sip:a.g.bell@example.com");
    assert_slice_equal(a.uri.user, "a.g.bell");
    assert_slice_equal(a.params, ";tag=433423");
    assert_slice_equal(a.tag, "433423");
}

static void name_addr_token_dname(void **state)
{
    struct sip_addr a = ADDR_OK("Bob <sip:bob@biloxi.com>;tag=a6c85cf");
    assert_slice_equal(a.dname, "Bob");
    assert_false(a.dname_quoted);
    assert_slice_equal(a.uri_s, "sip:bob@biloxi.com");
    assert_slice_equal(a.tag, "a6c85cf");

    a = ADDR_OK("Alice  Liddell\t<sip:alice@example.com>");
    assert_slice_equal(a.dname, "Alice  Liddell");
    assert_false(a.dname_quoted);

    a = ADDR_OK("A.b-c!%*_+`'~ <sip:x@example.com>");
    assert_slice_equal(a.dname, "A.b-c!%*_+`'~");
}

/* RFC 4475 §3.1.1.6 lwsdisp: no LWS between the display name and '<'. */
static void name_addr_no_lws_before_laquot_lwsdisp(void **state)
{
    struct sip_addr a = ADDR_OK("caller<sip:caller@example.com>;tag=323");

    assert_slice_equal(a.dname, "caller");
    assert_slice_equal(a.uri_s, "sip:caller@example.com");
    assert_slice_equal(a.tag, "323");
}

/* RFC 4475 §3.1.1.1 wsinv: escaped quotes in the display name, folded lines before the
 * parameters. The display name keeps its escapes. */
static void name_addr_escaped_quotes_wsinv(void **state)
{
    struct sip_addr a = ADDR_OK("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
                                "  ;\r\n  tag = 98asjd8");

    assert_slice_equal(a.dname, "J Rosenberg \\\\\\\"");
    assert_true(a.dname_quoted);
    assert_slice_equal(a.uri_s, "sip:jdrosen@example.com");
    assert_slice_equal(a.tag, "98asjd8");
}

/* RFC 4475 §3.1.1.5 esc02: '%' in a display name is just a character. */
static void name_addr_percent_in_dname_esc02(void **state)
{
    struct sip_addr a = ADDR_OK("\"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23");

    assert_slice_equal(a.dname, "%Z%45");
    assert_slice_equal(a.uri.user, "resource");
}

static void name_addr_empty_and_absent_dname(void **state)
{
    struct sip_addr a = ADDR_OK("\"\" <sip:a@example.com>");
    assert_slice_empty(a.dname);
    assert_true(a.dname_quoted);

    a = ADDR_OK("<sip:a@example.com>");
    assert_slice_unset(a.dname);
    assert_false(a.dname_quoted);
    assert_true(a.angle);

    a = ADDR_OK("\"Anonymous\"<sip:anonymous@anonymous.invalid>;tag=1928301774");
    assert_slice_equal(a.dname, "Anonymous");
    assert_slice_equal(a.uri.host, "anonymous.invalid");

    a = ADDR_OK("\"caf\xc3\xa9 <\xe2\x98\x8e>\" <sip:a@example.com>"); /* UTF-8, '<' quoted */
    assert_slice_equal(a.dname, "caf\xc3\xa9 <\xe2\x98\x8e>");
}

/* RFC 4475 §3.1.1.3 esc01, §3.1.1.4 escnull. */
static void name_addr_escaped_uris(void **state)
{
    struct sip_addr a = ADDR_OK("<sip:I%20have%20spaces@example.net>;tag=938");
    assert_slice_equal(a.uri.user, "I%20have%20spaces");
    assert_slice_equal(a.tag, "938");

    a = ADDR_OK("sip:null-%00-null@example.com;tag=839923423");
    assert_slice_equal(a.uri.user, "null-%00-null");
    assert_slice_equal(a.tag, "839923423");

    a = ADDR_OK("sip:%75se%72@example.com");
    assert_slice_equal(a.uri.user, "%75se%72");
}

/* RFC 4475 §3.3.4 unksm2: unknown schemes decode as SIP_URI_OTHER, in or out of brackets. */
static void name_addr_other_scheme_unksm2(void **state)
{
    struct sip_addr a = ADDR_OK("isbn:2983792873");
    assert_int_equal(a.uri.scheme, SIP_URI_OTHER);
    assert_slice_equal(a.uri.scheme_s, "isbn");

    a = ADDR_OK("<http://www.example.com>;tag=3234233");
    assert_int_equal(a.uri.scheme, SIP_URI_OTHER);
    assert_slice_equal(a.uri_s, "http://www.example.com");
    assert_slice_equal(a.tag, "3234233");

    a = ADDR_OK("<name:John_Smith>");
    assert_int_equal(a.uri.scheme, SIP_URI_OTHER);
    assert_slice_equal(a.uri.raw, "name:John_Smith");
}

static void name_addr_tel_uri(void **state)
{
    struct sip_addr a = ADDR_OK("<tel:+4930111001>");
    assert_int_equal(a.uri.scheme, SIP_URI_TEL);
    assert_slice_equal(a.uri.user, "+4930111001");

    /* bare: ";ext=1" is a header parameter here */
    a = ADDR_OK("tel:+1-201-555-0123;ext=1");
    assert_slice_equal(a.uri_s, "tel:+1-201-555-0123");
    assert_slice_equal(a.params, ";ext=1");

    a = ADDR_OK("<tel:7042;phone-context=example.com>;tag=x1");
    assert_slice_equal(a.uri.params, ";phone-context=example.com");
    assert_slice_equal(a.tag, "x1");
}

/* RFC 5118 §4.9 ipv4-mapped-ipv6 and §4.1 ipv6-good Contacts. */
static void name_addr_ipv6_rfc5118(void **state)
{
    struct sip_addr a = ADDR_OK("\"T. desk phone\" <sip:ted@[::ffff:192.0.2.2]>");
    assert_slice_equal(a.dname, "T. desk phone");
    assert_slice_equal(a.uri.host, "[::ffff:192.0.2.2]");
    assert_int_equal(a.uri.host_type, SIP_HOST_IPV6);

    a = ADDR_OK("\"Caller\" <sip:caller@[2001:db8::1]>");
    assert_slice_equal(a.uri.host, "[2001:db8::1]");

    a = ADDR_OK("sip:user@[2001:db8::10]:5070;tag=1");
    assert_slice_equal(a.uri.host, "[2001:db8::10]");
    assert_int_equal(a.uri.port, 5070);
    assert_slice_equal(a.tag, "1");
}

/* generic-param = token [ EQUAL gen-value ], gen-value = token / host / quoted-string. */
static void name_addr_header_params(void **state)
{
    struct sip_addr a = ADDR_OK("<sip:a@example.com> ; tag = x ; foo=\"quoted;,>\" ; bar ;"
                                " received=[2001:db8::1]");
    struct sv_slice v;

    assert_slice_equal(a.params, "; tag = x ; foo=\"quoted;,>\" ; bar ; received=[2001:db8::1]");
    assert_slice_equal(a.tag, "x");
    assert_true(sip_param_get(a.params, "foo", &v));
    assert_slice_equal(v, "\"quoted;,>\"");
    assert_true(sip_param_get(a.params, "bar", &v));
    assert_slice_unset(v);

    a = ADDR_OK("<sip:a@example.com>;tag=first;TAG=second");
    assert_slice_equal(a.tag, "first");
}

/* ---------------------------------------------------------------------------------------- */
/* Malformed addresses                                                                        */

/* RFC 4475 §3.1.2.6 quotbal: an unterminated quoted display name. */
static void bad_unbalanced_quote_quotbal(void **state)
{
    ADDR_BAD("\"Mr. J. User <sip:j.user@example.com>");
    ADDR_BAD("\"Mr. J. User\\\" <sip:j.user@example.com>");
    ADDR_BAD("\"");
}

/* RFC 4475 §3.1.2.15 baddn: a display name with a comma must be quoted. */
static void bad_unquoted_dname_baddn(void **state)
{
    ADDR_BAD("Bell, Alexander <sip:a.g.bell@example.com>;tag=43");
    ADDR_BAD("Watson, Thomas <sip:t.watson@example.org>");
    ADDR_BAD("Bell \"Alexander\" <sip:a.g.bell@example.com>");
    ADDR_BAD("Bell@home <sip:a.g.bell@example.com>");
    ADDR_BAD("Bell: <sip:a.g.bell@example.com>");
}

/* RFC 4475 §3.1.2.14 badaspec: LWS inside the angle brackets. */
static void bad_spaces_in_addr_spec_badaspec(void **state)
{
    ADDR_BAD("\"Watson, Thomas\" < sip:t.watson@example.org >");
    ADDR_BAD("<sip:t.watson@example.org >");
    ADDR_BAD("< sip:t.watson@example.org>");
    ADDR_BAD("<sip:t.watson @example.org>");
    ADDR_BAD("sip:t.watson @example.org");
}

static void bad_angle_brackets(void **state)
{
    ADDR_BAD("<sip:a@example.com");
    ADDR_BAD("<sip:a@example.com;tag=1");
    ADDR_BAD("\"A\" <sip:a@example.com");
    ADDR_BAD("<>");
    ADDR_BAD("<sip:a@example.com>>");
    ADDR_BAD("<<sip:a@example.com>>");
    ADDR_BAD("sip:a@example.com>");
    ADDR_BAD("<sip:a@example.com> x");
    ADDR_BAD("<sip:a@example.com> <sip:b@example.com>");
}

static void bad_structure(void **state)
{
    ADDR_BAD("");
    ADDR_BAD("   \r\n ");
    ADDR_BAD("\"A\" sip:a@example.com"); /* a display name needs <...> */
    ADDR_BAD("\"A\"");
    ADDR_BAD("Alice");
    ADDR_BAD("*");
    ADDR_BAD("<sip:a@example.com>, <sip:b@example.com>"); /* a list, not one address */
    ADDR_BAD("sip:a@example.com;tag=1, sip:b@example.com");
    ADDR_BAD("<sip:a@example.com:99999>");
    ADDR_BAD("<sip:a@>");

    struct sip_addr a;
    assert_int_equal(sip_addr_decode(&a, sv_slice_make(NULL, 0)), EBADMSG);
}

static void bad_header_params(void **state)
{
    ADDR_BAD("<sip:a@example.com>;");
    ADDR_BAD("<sip:a@example.com>;;tag=1");
    ADDR_BAD("<sip:a@example.com>;=x");
    ADDR_BAD("<sip:a@example.com>;a=b c");
    ADDR_BAD("<sip:a@example.com>;a=\"unterminated");
    ADDR_BAD("<sip:a@example.com>;a=\"x\"y");
    ADDR_BAD("<sip:a@example.com>;a=b/c");
    ADDR_BAD("<sip:a@example.com>;a@b=c");
    ADDR_BAD("sip:a@example.com;");
    /* tag = "tag" EQUAL token */
    ADDR_BAD("<sip:a@example.com>;tag");
    ADDR_BAD("<sip:a@example.com>;tag=");
    ADDR_BAD("<sip:a@example.com>;tag=\"x\"");
    ADDR_BAD("<sip:a@example.com>;tag=[::1]");
}

static void decode_failure_leaves_output(void **state)
{
    struct sip_addr a;

    memset(&a, 0x5a, sizeof(a));
    assert_int_equal(sip_addr_decode(&a, SV_LIT("\"x\" <sip:a@example.com>;tag")), EBADMSG);
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(((unsigned char *)&a)[i], 0x5a);
}

/* ---------------------------------------------------------------------------------------- */
/* Address lists                                                                              */

static void list_route_set(void **state)
{
    struct sv_slice cur = SV_LIT("<sip:p1.example.com;lr>, <sip:p2.example.com;lr>,\r\n "
                                 "<sip:[2001:db8::9:1]:5070;lr>");
    struct sip_addr a;

    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_slice_equal(a.raw, "<sip:p1.example.com;lr>");
    assert_slice_equal(a.uri.host, "p1.example.com");
    assert_slice_equal(a.uri.params, ";lr");
    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_slice_equal(a.uri.host, "p2.example.com");
    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_slice_equal(a.uri.host, "[2001:db8::9:1]");
    assert_int_equal(a.uri.port, 5070);
    assert_int_equal(sip_addr_next(&cur, &a), ENOENT);
    assert_int_equal(sip_addr_next(&cur, &a), ENOENT);
}

/* Commas inside quoted strings, inside <...> and inside quoted parameters do not split. */
static void list_commas_in_quotes_and_angles(void **state)
{
    struct sv_slice cur = SV_LIT("\"Bell, Alexander\" <sip:a,b@example.com>;p=\"x,y\" , "
                                 "sip:c@example.com;tag=9,<tel:+4930111001>");
    struct sip_addr a;
    struct sv_slice v;

    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_slice_equal(a.raw, "\"Bell, Alexander\" <sip:a,b@example.com>;p=\"x,y\"");
    assert_slice_equal(a.dname, "Bell, Alexander");
    assert_slice_equal(a.uri.user, "a,b");
    assert_true(sip_param_get(a.params, "p", &v));
    assert_slice_equal(v, "\"x,y\"");
    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_slice_equal(a.uri.user, "c");
    assert_slice_equal(a.tag, "9");
    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_int_equal(a.uri.scheme, SIP_URI_TEL);
    assert_int_equal(sip_addr_next(&cur, &a), ENOENT);
}

/* RFC 3325 §9.1: two P-Asserted-Identity values, one sip and one tel. */
static void list_pai_two_values(void **state)
{
    struct sv_slice cur = SV_LIT("\"Alice\" <sip:alice@home1.net>, <tel:+4930111001>");
    struct sip_addr a;

    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_int_equal(a.uri.scheme, SIP_URI_SIP);
    assert_slice_equal(a.dname, "Alice");
    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_int_equal(a.uri.scheme, SIP_URI_TEL);
    assert_int_equal(sip_addr_next(&cur, &a), ENOENT);
}

static void list_empty_is_enoent(void **state)
{
    struct sv_slice cur = SV_LIT("");
    struct sip_addr a;

    assert_int_equal(sip_addr_next(&cur, &a), ENOENT);
    cur = SV_LIT(" \t\r\n ");
    assert_int_equal(sip_addr_next(&cur, &a), ENOENT);
    cur = sv_slice_make(NULL, 0);
    assert_int_equal(sip_addr_next(&cur, &a), ENOENT);
}

/* An empty element is malformed wherever it is; the cursor stays where it was. */
static void list_empty_element(void **state)
{
    static const char *const v[] = {
        ", <sip:a@example.com>",
        "<sip:a@example.com>,, <sip:b@example.com>",
        "<sip:a@example.com>, ,<sip:b@example.com>",
        "<sip:a@example.com>,",
        "<sip:a@example.com> , \r\n ",
        ",",
    };
    struct sip_addr a;

    for (size_t i = 0; i < SV_ARRAY_SIZE(v); i++) {
        struct sv_slice cur = sv_slice_cstr(v[i]), before;
        int err;
        while ((err = sip_addr_next(&cur, &a)) == 0)
            ;
        assert_int_equal(err, EBADMSG);
        before = cur;
        assert_int_equal(sip_addr_next(&cur, &a), EBADMSG);
        assert_ptr_equal(cur.p, before.p);
        assert_int_equal(cur.l, before.l);
    }
}

static void list_bad_element(void **state)
{
    struct sv_slice cur = SV_LIT("<sip:a@example.com>, Bell Alexander, <sip:b@example.com>");
    struct sip_addr a;

    assert_int_equal(sip_addr_next(&cur, &a), 0);
    assert_int_equal(sip_addr_next(&cur, &a), EBADMSG);
    assert_slice_equal(cur, "Bell Alexander, <sip:b@example.com>");

    /* RFC 4475 quotbal inside a list: the open quote swallows the rest */
    cur = SV_LIT("\"Mr. J. User <sip:j.user@example.com>, <sip:b@example.com>");
    assert_int_equal(sip_addr_next(&cur, &a), EBADMSG);
}

/* ---------------------------------------------------------------------------------------- */
/* Contact                                                                                    */

/* RFC 3261 §10.2.2: "Contact: *" removes every binding. */
static void contact_star(void **state)
{
    struct sip_contact c = CONTACT_OK("*");
    assert_true(c.star);
    assert_slice_unset(c.addr.raw);
    assert_slice_unset(c.addr.uri_s);
    assert_false(c.has_expires);
    assert_false(c.has_q);

    c = CONTACT_OK("  *\r\n ");
    assert_true(c.star);
}

/* RFC 3261 §20.10: STAR / ( contact-param *(COMMA contact-param) ): star is alone. */
static void contact_star_not_alone(void **state)
{
    struct sip_contact c;
    struct sv_slice cur;

    CONTACT_BAD("*, <sip:a@example.com>");
    CONTACT_BAD("*,*");
    CONTACT_BAD("<sip:a@example.com>, *");
    CONTACT_BAD("<sip:a@example.com> , * ");
    CONTACT_BAD("*;expires=0");
    CONTACT_BAD("**");

    cur = SV_LIT("<sip:a@example.com>, <sip:b@example.com>, *");
    assert_int_equal(sip_contact_next(&cur, &c), 0);
    assert_false(c.star);
    assert_int_equal(sip_contact_next(&cur, &c), EBADMSG);

    /* "*x" is a malformed element, not a star */
    cur = SV_LIT("<sip:a@example.com>, *x");
    assert_int_equal(sip_contact_next(&cur, &c), 0);
    assert_int_equal(sip_contact_next(&cur, &c), EBADMSG);
}

static void contact_plain(void **state)
{
    struct sip_contact c = CONTACT_OK("<sip:alice@pc33.atlanta.com>");

    assert_false(c.star);
    assert_slice_equal(c.addr.uri.host, "pc33.atlanta.com");
    assert_false(c.has_expires);
    assert_int_equal(c.expires, 0);
    assert_false(c.has_q);
    assert_int_equal(c.q, 0);
}

static void contact_expires(void **state)
{
    struct sip_contact c = CONTACT_OK("<sip:a@example.com>;expires=3600");
    assert_true(c.has_expires);
    assert_int_equal(c.expires, 3600);

    c = CONTACT_OK("<sip:a@example.com>;EXPIRES=0");
    assert_true(c.has_expires);
    assert_int_equal(c.expires, 0);

    c = CONTACT_OK("<sip:a@example.com>;expires=4294967295");
    assert_int_equal(c.expires, 4294967295u);

    c = CONTACT_OK("sip:a@example.com;expires=60"); /* bare: a contact param, not a URI one */
    assert_int_equal(c.expires, 60);
    assert_slice_empty(c.addr.uri.params);

    c = CONTACT_OK("<sip:a@example.com;expires=60>"); /* a URI param is not the contact's */
    assert_false(c.has_expires);
}

static void contact_expires_malformed(void **state)
{
    CONTACT_BAD("<sip:a@example.com>;expires=4294967296");
    CONTACT_BAD("<sip:a@example.com>;expires=99999999999999999999");
    CONTACT_BAD("<sip:a@example.com>;expires");
    CONTACT_BAD("<sip:a@example.com>;expires=");
    CONTACT_BAD("<sip:a@example.com>;expires=-1");
    CONTACT_BAD("<sip:a@example.com>;expires=1h");
    CONTACT_BAD("<sip:a@example.com>;expires=\"3600\"");
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static void contact_q(void **state)
{
    static const struct {
        const char *q;
        unsigned v;
    } ok[] = {
        {"0", 0},       {"0.", 0},       {"0.5", 500}, {"0.33", 330}, {"0.123", 123},
        {"0.001", 1},   {"0.000", 0},    {"1", 1000},  {"1.", 1000},  {"1.0", 1000},
        {"1.00", 1000}, {"1.000", 1000}, {"0.7", 700}, {"0.10", 100}, {"0.999", 999},
    };
    char buf[64];

    for (size_t i = 0; i < SV_ARRAY_SIZE(ok); i++) {
        snprintf(buf, sizeof(buf), "<sip:a@example.com>;q=%s", ok[i].q);
        struct sip_contact c = CONTACT_OK(buf);
        assert_true(c.has_q);
        assert_int_equal(c.q, ok[i].v);
    }
}

static void contact_q_malformed(void **state)
{
    static const char *const bad[] = {"1.5",    "1.001", "2",       "0.1234", ".5",
                                      "",       "a",     "-0.1",    "00.5",   "01",
                                      "1.0000", "0.5x",  "\"0.5\"", "0.5.",   "1.01"};
    char buf[64];

    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        snprintf(buf, sizeof(buf), "<sip:a@example.com>;q=%s", bad[i]);
        CONTACT_BAD(buf);
    }
    CONTACT_BAD("<sip:a@example.com>;q");
}

/* RFC 4475 §3.1.1.1 wsinv: Contact with LWS and folded lines around its parameters. */
static void contact_wsinv(void **state)
{
    struct sip_contact c = CONTACT_OK("\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; "
                                      "newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33");
    struct sv_slice v;

    assert_slice_equal(c.addr.dname, "Quoted string \\\"\\\"");
    assert_true(c.has_q);
    assert_int_equal(c.q, 330);
    assert_true(sip_param_get(c.addr.params, "newparam", &v));
    assert_slice_equal(v, "newvalue");
    assert_true(sip_param_get(c.addr.params, "secondparam", NULL));
}

/* RFC 3261 §20.10 example: two contacts with q and expires. */
static void contact_list(void **state)
{
    struct sv_slice cur = SV_LIT("\"Mr. Watson\" <sip:watson@worcester.bell-telephone.com>"
                                 ";q=0.7; expires=3600, \"Mr. Watson\" "
                                 "<mailto:watson@bell-telephone.com> ;q=0.1");
    struct sip_contact c;

    assert_int_equal(sip_contact_next(&cur, &c), 0);
    assert_slice_equal(c.addr.dname, "Mr. Watson");
    assert_int_equal(c.addr.uri.scheme, SIP_URI_SIP);
    assert_int_equal(c.q, 700);
    assert_true(c.has_expires);
    assert_int_equal(c.expires, 3600);
    assert_int_equal(sip_contact_next(&cur, &c), 0);
    assert_int_equal(c.addr.uri.scheme, SIP_URI_OTHER);
    assert_int_equal(c.q, 100);
    assert_false(c.has_expires);
    assert_int_equal(sip_contact_next(&cur, &c), ENOENT);
}

/* RFC 4475 §3.3.12 cparam01, §3.3.13 cparam02, §3.3.14 regescrt, §3.1.1.4 escnull. */
static void contact_rfc4475(void **state)
{
    struct sip_contact c = CONTACT_OK("sip:+19725552222@gw1.example.net;unknownparam");
    assert_slice_equal(c.addr.params, ";unknownparam");
    assert_slice_empty(c.addr.uri.params);

    c = CONTACT_OK("<sip:+19725552222@gw1.example.net;unknownparam>");
    assert_slice_empty(c.addr.params);
    assert_slice_equal(c.addr.uri.params, ";unknownparam");

    c = CONTACT_OK("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>");
    assert_slice_equal(c.addr.uri.headers, "Route=%3Csip:sip.example.com%3E");

    c = CONTACT_OK("<sip:%00@host5.example.com>");
    assert_slice_equal(c.addr.uri.user, "%00");
    c = CONTACT_OK("<sip:%00%00@host5.example.com>");
    assert_slice_equal(c.addr.uri.user, "%00%00");

    c = CONTACT_OK("\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>");
    assert_slice_equal(c.addr.uri.user, "cal%6Cer");

    c = CONTACT_OK("<name:John_Smith>");
    assert_int_equal(c.addr.uri.scheme, SIP_URI_OTHER);
}

/* IMS registration contact (TS 24.229): feature tags with quoted values and an IPv6 host. */
static void contact_ims_feature_tags(void **state)
{
    struct sip_contact c =
        CONTACT_OK("<sip:alice@[2001:db8::1]:5060;transport=tcp>;expires=600000;q=1.0;reg-id=1;"
                   "+sip.instance=\"<urn:gsma:imei:35209900-176148-1>\";"
                   "+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel\";audio;video");

    assert_slice_equal(c.addr.uri.host, "[2001:db8::1]");
    assert_int_equal(c.addr.uri.port, 5060);
    assert_int_equal(c.expires, 600000);
    assert_int_equal(c.q, 1000);
    assert_true(sip_param_get(c.addr.params, "+sip.instance", NULL));
    assert_true(sip_param_get(c.addr.params, "video", NULL));
}

static void contact_cursor_unchanged_on_error(void **state)
{
    struct sv_slice cur = SV_LIT("<sip:a@example.com>;q=0.5, <sip:b@example.com>;q=7"), before;
    struct sip_contact c;

    assert_int_equal(sip_contact_next(&cur, &c), 0);
    assert_int_equal(c.q, 500);
    before = cur;
    memset(&c, 0x33, sizeof(c));
    assert_int_equal(sip_contact_next(&cur, &c), EBADMSG);
    assert_ptr_equal(cur.p, before.p);
    assert_int_equal(cur.l, before.l);
    assert_int_equal(c.q, 0x3333);
}

/* ---------------------------------------------------------------------------------------- */
/* Reading past the slice                                                                     */

/* Every decoder of this file on one prefix; the results do not matter here, only the reads. */
static void addr_prefix(struct sv_slice in, bool whole, void *ctx)
{
    struct sip_addr a;
    struct sip_contact c;
    struct sv_slice cur;

    (void)sip_addr_decode(&a, in);
    cur = in;
    for (int k = 0; k < 16 && sip_addr_next(&cur, &a) == 0; k++)
        ;
    cur = in;
    for (int k = 0; k < 16 && sip_contact_next(&cur, &c) == 0; k++)
        ;
}

/*
 * Decode every prefix of each input from a heap block of exactly that size, with every
 * decoder of this file, so that ASan reports any read past the slice end.
 */
static void no_read_past_end(void **state)
{
    static const char *const v[] = {
        "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        "\"Bell, Alexander\" <sip:a,b@example.com>;p=\"x,y\" , sip:c@example.com;tag=9,<tel:+1>",
        "caller<sip:caller@example.com>;tag=323",
        "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        "\"Mr. J. User <sip:j.user@example.com>",
        "\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; q = 0.33",
        "<sip:a@example.com>;q=0.5;expires=4294967295, *",
        "*",
        "<sip:[2001:db8::10]:5070;lr>,<sip:[::ffff:192.0.2.2]>",
        "<http://www.example.com>;tag=3234233",
        "<sip:a@example.com>;p=\"\\",
        "A B <",
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(v); i++)
        sv_test_every_prefix(v[i], addr_prefix, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(addr_spec_plain),
    cmocka_unit_test(addr_spec_with_tag),
    cmocka_unit_test(addr_spec_params_belong_to_header_cparam01),
    cmocka_unit_test(name_addr_params_belong_to_uri_cparam02),
    cmocka_unit_test(addr_spec_lws_before_params_wsinv),
    cmocka_unit_test(addr_spec_reserved_needs_brackets),
    cmocka_unit_test(addr_spec_quoted_laquot_in_param),
    cmocka_unit_test(name_addr_quoted_dname),
    cmocka_unit_test(name_addr_token_dname),
    cmocka_unit_test(name_addr_no_lws_before_laquot_lwsdisp),
    cmocka_unit_test(name_addr_escaped_quotes_wsinv),
    cmocka_unit_test(name_addr_percent_in_dname_esc02),
    cmocka_unit_test(name_addr_empty_and_absent_dname),
    cmocka_unit_test(name_addr_escaped_uris),
    cmocka_unit_test(name_addr_other_scheme_unksm2),
    cmocka_unit_test(name_addr_tel_uri),
    cmocka_unit_test(name_addr_ipv6_rfc5118),
    cmocka_unit_test(name_addr_header_params),
    cmocka_unit_test(bad_unbalanced_quote_quotbal),
    cmocka_unit_test(bad_unquoted_dname_baddn),
    cmocka_unit_test(bad_spaces_in_addr_spec_badaspec),
    cmocka_unit_test(bad_angle_brackets),
    cmocka_unit_test(bad_structure),
    cmocka_unit_test(bad_header_params),
    cmocka_unit_test(decode_failure_leaves_output),
    cmocka_unit_test(list_route_set),
    cmocka_unit_test(list_commas_in_quotes_and_angles),
    cmocka_unit_test(list_pai_two_values),
    cmocka_unit_test(list_empty_is_enoent),
    cmocka_unit_test(list_empty_element),
    cmocka_unit_test(list_bad_element),
    cmocka_unit_test(contact_star),
    cmocka_unit_test(contact_star_not_alone),
    cmocka_unit_test(contact_plain),
    cmocka_unit_test(contact_expires),
    cmocka_unit_test(contact_expires_malformed),
    cmocka_unit_test(contact_q),
    cmocka_unit_test(contact_q_malformed),
    cmocka_unit_test(contact_wsinv),
    cmocka_unit_test(contact_list),
    cmocka_unit_test(contact_rfc4475),
    cmocka_unit_test(contact_ims_feature_tags),
    cmocka_unit_test(contact_cursor_unchanged_on_error),
    cmocka_unit_test(no_read_past_end),
};

SV_TEST_MAIN(tests)
