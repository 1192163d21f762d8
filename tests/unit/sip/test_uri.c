/**
 * @file test_uri.c  URI decoding (sip, sips, tel, other schemes), %-unescaping and the
 * comparison rules of RFC 3261 §19.1.4 and RFC 3966 §4.
 *
 * Inputs marked with an RFC 4475 or RFC 5118 name are taken from the torture messages in
 * /work/shared/corpus (rfc4475/<name>.dat, rfc5118/<name>.dat).
 */
#include <errno.h>
#include <stdlib.h>

#include "svtest.h"
#include "sip_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                    */

static struct sip_uri uri_ok_at(const char *s, int line)
{
    struct sip_uri u;
    int err = sip_uri_decode(&u, sv_slice_cstr(s));
    if (err) {
        print_error("line %d: sip_uri_decode(\"%s\") = %d, expected 0\n", line, s, err);
        fail();
    }
    return u;
}

static void uri_bad_at(const char *s, int line)
{
    struct sip_uri u;
    int err = sip_uri_decode(&u, sv_slice_cstr(s));
    if (err != EBADMSG) {
        print_error("line %d: sip_uri_decode(\"%s\") = %d, expected EBADMSG\n", line, s, err);
        fail();
    }
}

static bool uri_eq(const char *a, const char *b, int line)
{
    struct sip_uri ua = uri_ok_at(a, line), ub = uri_ok_at(b, line);
    bool ab = sip_uri_equal(&ua, &ub), ba = sip_uri_equal(&ub, &ua);
    if (ab != ba) {
        print_error("line %d: sip_uri_equal is not symmetric for \"%s\" and \"%s\"\n", line, a, b);
        fail();
    }
    return ab;
}

static void eq_at(const char *a, const char *b, int line)
{
    if (!uri_eq(a, b, line)) {
        print_error("line %d: expected \"%s\" == \"%s\"\n", line, a, b);
        fail();
    }
}

static void ne_at(const char *a, const char *b, int line)
{
    if (uri_eq(a, b, line)) {
        print_error("line %d: expected \"%s\" != \"%s\"\n", line, a, b);
        fail();
    }
}

#define URI_OK(s) uri_ok_at((s), __LINE__)
#define URI_BAD(s) uri_bad_at((s), __LINE__)
#define URI_EQ(a, b) eq_at((a), (b), __LINE__)
#define URI_NE(a, b) ne_at((a), (b), __LINE__)

/* ---------------------------------------------------------------------------------------- */
/* sip: and sips:                                                                             */

static void sip_user_host_only(void **state)
{
    struct sip_uri u = URI_OK("sip:alice@atlanta.com");

    assert_int_equal(u.scheme, SIP_URI_SIP);
    assert_slice_equal(u.raw, "sip:alice@atlanta.com");
    assert_slice_equal(u.scheme_s, "sip");
    assert_slice_equal(u.user, "alice");
    assert_slice_unset(u.password);
    assert_slice_equal(u.host, "atlanta.com");
    assert_int_equal(u.host_type, SIP_HOST_DOMAIN);
    assert_false(u.has_port);
    assert_int_equal(u.port, 0);
    assert_slice_empty(u.params);
    assert_slice_unset(u.headers);
}

/* RFC 3261 §19.1.1: every component of a SIP URI at once. */
static void sip_every_field(void **state)
{
    struct sip_uri u = URI_OK("sip:alice:secretword@atlanta.com:5061;transport=tcp;lr"
                              "?subject=project%20x&priority=urgent");

    assert_int_equal(u.scheme, SIP_URI_SIP);
    assert_slice_equal(u.user, "alice");
    assert_slice_equal(u.password, "secretword");
    assert_slice_equal(u.host, "atlanta.com");
    assert_int_equal(u.host_type, SIP_HOST_DOMAIN);
    assert_true(u.has_port);
    assert_int_equal(u.port, 5061);
    assert_slice_equal(u.params, ";transport=tcp;lr");
    assert_slice_equal(u.headers, "subject=project%20x&priority=urgent");
    assert_true(sip_param_get(u.params, "lr", NULL));
}

static void sips_scheme(void **state)
{
    struct sip_uri u = URI_OK("sips:1212@gateway.com");

    assert_int_equal(u.scheme, SIP_URI_SIPS);
    assert_slice_equal(u.scheme_s, "sips");
    assert_slice_equal(u.user, "1212");
    assert_slice_equal(u.host, "gateway.com");
}

/* RFC 3261 §19.1.4 / RFC 3986 §3.1: scheme names compare case-insensitively. */
static void scheme_case_insensitive(void **state)
{
    struct sip_uri u = URI_OK("SIP:ALICE@AtLanTa.CoM;Transport=udp");
    assert_int_equal(u.scheme, SIP_URI_SIP);
    assert_slice_equal(u.scheme_s, "SIP");
    assert_slice_equal(u.user, "ALICE");
    assert_slice_equal(u.host, "AtLanTa.CoM");

    u = URI_OK("SiPs:bob@biloxi.com");
    assert_int_equal(u.scheme, SIP_URI_SIPS);
    u = URI_OK("TEL:+1-201-555-0123");
    assert_int_equal(u.scheme, SIP_URI_TEL);
}

static void sip_without_user(void **state)
{
    struct sip_uri u = URI_OK("sip:registrar.biloxi.com;lr");

    assert_slice_unset(u.user);
    assert_slice_unset(u.password);
    assert_slice_equal(u.host, "registrar.biloxi.com");
    assert_slice_equal(u.params, ";lr");
}

static void sip_ipv4_host_and_port(void **state)
{
    struct sip_uri u = URI_OK("sip:alice@192.0.2.4:5060");

    assert_slice_equal(u.host, "192.0.2.4");
    assert_int_equal(u.host_type, SIP_HOST_IPV4);
    assert_true(u.has_port);
    assert_int_equal(u.port, 5060);
}

static void sip_port_range(void **state)
{
    struct sip_uri u = URI_OK("sip:h.example.com:0");
    assert_true(u.has_port);
    assert_int_equal(u.port, 0);
    u = URI_OK("sip:h.example.com:65535");
    assert_int_equal(u.port, 65535);
    u = URI_OK("sip:h.example.com:05060;lr");
    assert_int_equal(u.port, 5060);
    assert_slice_equal(u.params, ";lr");

    URI_BAD("sip:h.example.com:65536");
    URI_BAD("sip:h.example.com:99999999999999999999");
    URI_BAD("sip:h.example.com:");
    URI_BAD("sip:h.example.com:;lr");
    URI_BAD("sip:h.example.com:-1");
    URI_BAD("sip:h.example.com:50a");
    URI_BAD("sip:h.example.com:5060:5061");
}

/* RFC 3261 §19.1.1: a telephone-subscriber user with a password-looking suffix. */
static void sip_telephone_user_with_password(void **state)
{
    struct sip_uri u = URI_OK("sip:+1-212-555-1212:1234@gateway.com;user=phone");
    struct sv_slice v;

    assert_slice_equal(u.user, "+1-212-555-1212");
    assert_slice_equal(u.password, "1234");
    assert_slice_equal(u.host, "gateway.com");
    assert_true(sip_param_get(u.params, "user", &v));
    assert_slice_equal(v, "phone");
}

static void sip_empty_password(void **state)
{
    struct sip_uri u = URI_OK("sip:alice:@atlanta.com");

    assert_slice_equal(u.user, "alice");
    assert_slice_empty(u.password);
}

/* RFC 4475 §3.1.1.9 semiuri: ';' belongs to the user part when an '@' follows. */
static void sip_semicolon_in_user_semiuri(void **state)
{
    struct sip_uri u = URI_OK("sip:user;par=u%40example.net@example.com");

    assert_slice_equal(u.user, "user;par=u%40example.net");
    assert_slice_equal(u.host, "example.com");
    assert_slice_empty(u.params);
    assert_slice_unset(u.headers);
}

/* user-unreserved holds '?' and '/' too: the userinfo ends at the '@', not at the '?'. */
static void sip_question_mark_in_user(void **state)
{
    struct sip_uri u = URI_OK("sip:a?b/c@example.com");
    assert_slice_equal(u.user, "a?b/c");
    assert_slice_unset(u.headers);

    u = URI_OK("sip:a?b@example.com;lr?x=1");
    assert_slice_equal(u.user, "a?b");
    assert_slice_equal(u.params, ";lr");
    assert_slice_equal(u.headers, "x=1");
}

/* RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ). */
static void sip_user_character_set(void **state)
{
    struct sip_uri u = URI_OK("sip:a-_.!~*'()&=+$,;?/z@example.com");
    assert_slice_equal(u.user, "a-_.!~*'()&=+$,;?/z");
    u = URI_OK("sip:u:-_.!~*'()&=+$,%41@example.com");
    assert_slice_equal(u.password, "-_.!~*'()&=+$,%41");

    URI_BAD("sip:a b@example.com");
    URI_BAD("sip:a<b@example.com");
    URI_BAD("sip:a>b@example.com");
    URI_BAD("sip:a\"b@example.com");
    URI_BAD("sip:a[b@example.com");
    URI_BAD("sip:a#b@example.com");
    URI_BAD("sip:a\tb@example.com");
    URI_BAD("sip:u:p;w@example.com"); /* ';' is user-unreserved, not allowed in a password */
    URI_BAD("sip:u:p:w@example.com");
    URI_BAD("sip:caf\xc3\xa9@example.com");
}

/* RFC 4475 §3.1.1.4 escnull: %00 is a valid escape and must not end the user part. */
static void sip_escaped_null_escnull(void **state)
{
    struct sip_uri u = URI_OK("sip:null-%00-null@example.com");
    char buf[32];
    size_t n = 0;

    assert_slice_equal(u.user, "null-%00-null");
    assert_slice_equal(u.host, "example.com");
    assert_int_equal(sip_unescape(u.user, buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(buf, "null-\0-null", 11);

    u = URI_OK("sip:%00@host5.example.com");
    assert_slice_equal(u.user, "%00");
    u = URI_OK("sip:%00%00@host5.example.com");
    assert_slice_equal(u.user, "%00%00");
}

/* RFC 4475 §3.1.1.3 esc01: escapes in the user part and in parameter names and values. */
static void sip_escapes_esc01(void **state)
{
    struct sip_uri u = URI_OK("sip:sips%3Auser%40example.com@example.net");
    assert_int_equal(u.scheme, SIP_URI_SIP);
    assert_slice_equal(u.user, "sips%3Auser%40example.com");
    assert_slice_equal(u.host, "example.net");

    u = URI_OK("sip:%75se%72@example.com");
    assert_slice_equal(u.user, "%75se%72");
    u = URI_OK("sip:I%20have%20spaces@example.net");
    assert_slice_equal(u.user, "I%20have%20spaces");

    u = URI_OK("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
    assert_slice_equal(u.user, "cal%6Cer");
    assert_slice_equal(u.host, "host5.example.net");
    assert_slice_equal(u.params, ";%6C%72;n%61me=v%61lue%25%34%31");
}

/* RFC 4475 §3.1.2.11 escruri, §3.3.14 regescrt: an escaped Route header inside the URI. */
static void sip_escaped_headers_escruri(void **state)
{
    struct sip_uri u = URI_OK("sip:user@example.com?Route=%3Csip:example.com%3E");
    assert_slice_equal(u.user, "user");
    assert_slice_equal(u.host, "example.com");
    assert_slice_empty(u.params);
    assert_slice_equal(u.headers, "Route=%3Csip:example.com%3E");

    u = URI_OK("sip:user@example.com?Route=%3Csip:sip.example.com%3E");
    assert_slice_equal(u.headers, "Route=%3Csip:sip.example.com%3E");
}

/* RFC 3261 §25.1 headers: hvalue may be empty, hname may not; '&' separates. */
static void sip_headers_forms(void **state)
{
    struct sip_uri u = URI_OK("sip:biloxi.com;transport=tcp;method=REGISTER"
                              "?to=sip:bob%40biloxi.com");
    assert_slice_equal(u.params, ";transport=tcp;method=REGISTER");
    assert_slice_equal(u.headers, "to=sip:bob%40biloxi.com");

    u = URI_OK("sip:h.example.com?body=&a=[1]/?:+$");
    assert_slice_equal(u.headers, "body=&a=[1]/?:+$");

    URI_BAD("sip:h.example.com?");
    URI_BAD("sip:h.example.com?subject");
    URI_BAD("sip:h.example.com?=x");
    URI_BAD("sip:h.example.com?a=1&");
    URI_BAD("sip:h.example.com?a=1&&b=2");
    URI_BAD("sip:h.example.com?a=%zz");
    URI_BAD("sip:h.example.com?a=b c");
    URI_BAD("sip:h.example.com?a=b;c");
    URI_BAD("sip:alice@atlanta.com?to=bob@biloxi.com"); /* '@' must be escaped in a header */
}

/* RFC 3261 §25.1 uri-parameters: pname and pvalue are 1*paramchar. */
static void sip_params_forms(void **state)
{
    struct sip_uri u = URI_OK("sip:h.example.com;maddr=[2001:db8::1];x=a/b:c&d+e$f;lr");
    struct sv_slice v;

    assert_slice_equal(u.params, ";maddr=[2001:db8::1];x=a/b:c&d+e$f;lr");
    assert_true(sip_param_get(u.params, "maddr", &v));
    assert_slice_equal(v, "[2001:db8::1]");

    URI_BAD("sip:h.example.com;");
    URI_BAD("sip:h.example.com;;lr");
    URI_BAD("sip:h.example.com;=x");
    URI_BAD("sip:h.example.com;x=");
    URI_BAD("sip:h.example.com;x=a=b");
    URI_BAD("sip:h.example.com;x=%4");
    URI_BAD("sip:h.example.com;x=%");
    URI_BAD("sip:h.example.com;x=a,b");
    URI_BAD("sip:h.example.com;x=\"a\"");
    URI_BAD("sip:user@example.com; lr"); /* RFC 4475 §3.1.2.8 lwsruri */
}

/* RFC 5118 §4.1 ipv6-good, §4.3 port-ambiguous, §4.4 port-unambiguous: the brackets are part
 * of the host, and ":5070" inside them is an address group, not a port. */
static void sip_ipv6_hosts_rfc5118(void **state)
{
    struct sip_uri u = URI_OK("sip:[2001:db8::10]");
    assert_slice_unset(u.user);
    assert_slice_equal(u.host, "[2001:db8::10]");
    assert_int_equal(u.host_type, SIP_HOST_IPV6);
    assert_false(u.has_port);

    u = URI_OK("sip:[2001:db8::10:5070]");
    assert_slice_equal(u.host, "[2001:db8::10:5070]");
    assert_false(u.has_port);

    u = URI_OK("sip:[2001:db8::10]:5070");
    assert_slice_equal(u.host, "[2001:db8::10]");
    assert_true(u.has_port);
    assert_int_equal(u.port, 5070);

    u = URI_OK("sip:caller@[2001:db8::1]");
    assert_slice_equal(u.user, "caller");
    assert_slice_equal(u.host, "[2001:db8::1]");

    u = URI_OK("sip:user@[2001:db8::10];transport=tcp");
    assert_slice_equal(u.host, "[2001:db8::10]");
    assert_slice_equal(u.params, ";transport=tcp");
}

/* RFC 5118 §4.9 ipv4-mapped-ipv6, §4.10 ipv6-correct-abnf-2-colons. */
static void sip_ipv6_with_ipv4_tail(void **state)
{
    struct sip_uri u = URI_OK("sip:ted@[::ffff:192.0.2.2]");
    assert_slice_equal(u.host, "[::ffff:192.0.2.2]");
    assert_int_equal(u.host_type, SIP_HOST_IPV6);

    u = URI_OK("sip:[::ffff:192.0.2.1]:5060");
    assert_slice_equal(u.host, "[::ffff:192.0.2.1]");
    assert_int_equal(u.port, 5060);

    u = URI_OK("sip:user@[2001:db8::192.0.2.1]");
    assert_slice_equal(u.host, "[2001:db8::192.0.2.1]");
}

/* RFC 5118 §4.2 ipv6-bad: an IPv6 address without brackets is refused. */
static void sip_ipv6_malformed(void **state)
{
    URI_BAD("sip:2001:db8::10");
    URI_BAD("sip:[2001:db8::10");
    URI_BAD("sip:[2001:db8::10]x");
    URI_BAD("sip:[2001:db8::10]:");
    URI_BAD("sip:[]");
    URI_BAD("sip:user@[2001:db8::g]");
    URI_BAD("sip:user@[1:2:3:4:5:6:7:8:9]");
}

static void sip_host_malformed(void **state)
{
    URI_BAD("sip:");
    URI_BAD("sips:");
    URI_BAD("sip:alice@");
    URI_BAD("sip:alice@;lr");
    URI_BAD("sip:alice@?x=1");
    URI_BAD("sip:@atlanta.com"); /* user = 1*(...) */
    URI_BAD("sip::pw@atlanta.com");
    URI_BAD("sip:alice@atlanta com");
    URI_BAD("sip:alice@atlanta.com/path");
    URI_BAD("sip:alice@bob@atlanta.com");
    URI_BAD("sip:alice@-atlanta.com");
    URI_BAD("sip:alice@%61tlanta.com"); /* no escapes in a host */
}

/* The slice must be exactly the URI: no whitespace, brackets or line ends around it. */
static void sip_not_trimmed(void **state)
{
    URI_BAD(" sip:alice@atlanta.com");
    URI_BAD("sip:alice@atlanta.com ");
    URI_BAD("sip:alice@atlanta.com\r\n");
    URI_BAD("<sip:user@example.com>"); /* RFC 4475 §3.1.2.7 ltgtruri */
    URI_BAD("");
}

static void decode_failure_leaves_output(void **state)
{
    struct sip_uri u;

    memset(&u, 0xa5, sizeof(u));
    assert_int_equal(sip_uri_decode(&u, SV_LIT("sip:alice@atlanta.com:99999")), EBADMSG);
    for (size_t i = 0; i < sizeof(u); i++)
        assert_int_equal(((unsigned char *)&u)[i], 0xa5);
    assert_int_equal(sip_uri_decode(&u, sv_slice_make(NULL, 0)), EBADMSG);
}

/* ---------------------------------------------------------------------------------------- */
/* tel: (RFC 3966)                                                                            */

static void tel_global_number(void **state)
{
    struct sip_uri u = URI_OK("tel:+1-201-555-0123");

    assert_int_equal(u.scheme, SIP_URI_TEL);
    assert_slice_equal(u.scheme_s, "tel");
    assert_slice_equal(u.user, "+1-201-555-0123");
    assert_slice_unset(u.password);
    assert_slice_unset(u.host);
    assert_int_equal(u.host_type, SIP_HOST_NONE);
    assert_false(u.has_port);
    assert_slice_empty(u.params);
    assert_slice_unset(u.headers);

    u = URI_OK("tel:+1(201)555.0123");
    assert_slice_equal(u.user, "+1(201)555.0123");
}

static void tel_params(void **state)
{
    struct sip_uri u = URI_OK("tel:+1-201-555-0123;ext=1234;isub=a1;x-foo=b%20c");
    struct sv_slice v;

    assert_slice_equal(u.user, "+1-201-555-0123");
    assert_slice_equal(u.params, ";ext=1234;isub=a1;x-foo=b%20c");
    assert_true(sip_param_get(u.params, "ext", &v));
    assert_slice_equal(v, "1234");
    assert_true(sip_param_get(u.params, "x-foo", &v));
    assert_slice_equal(v, "b%20c");
}

/* RFC 3966 §5.1.5: a local number carries its phone-context, a domain or a global number. */
static void tel_local_number(void **state)
{
    struct sip_uri u = URI_OK("tel:7042;phone-context=example.com");
    struct sv_slice v;

    assert_slice_equal(u.user, "7042");
    assert_slice_equal(u.params, ";phone-context=example.com");
    assert_true(sip_param_get(u.params, "phone-context", &v));
    assert_slice_equal(v, "example.com");

    u = URI_OK("tel:863-1234;phone-context=+1-914-555");
    assert_slice_equal(u.user, "863-1234");
    u = URI_OK("tel:*21#;phone-context=ims.example.com");
    assert_slice_equal(u.user, "*21#");
    u = URI_OK("tel:a1b;ext=2;phone-context=example.com");
    assert_slice_equal(u.user, "a1b");
}

static void tel_malformed(void **state)
{
    URI_BAD("tel:");
    URI_BAD("tel:+");
    URI_BAD("tel:+-()");
    URI_BAD("tel:+1 201");
    URI_BAD("tel:+12a"); /* hex digits only in local numbers */
    URI_BAD("tel:+1*2");
    URI_BAD("tel:1234"); /* a local number needs phone-context */
    URI_BAD("tel:1234;phone-context=");
    URI_BAD("tel:1234;phone-context=+");
    URI_BAD("tel:1234;phone-context=-bad");
    URI_BAD("tel:1234;phone-context=a.com;phone-context=b.com");
    URI_BAD("tel:+1;ext=");
    URI_BAD("tel:+1;ext");
    URI_BAD("tel:+1;ext=12a");
    URI_BAD("tel:+1;");
    URI_BAD("tel:+1;=x");
    URI_BAD("tel:+1;a_b=1");
    URI_BAD("tel:+1;x=");
    URI_BAD("tel:+1;x=%g0");
    URI_BAD("tel:+1?x=y");
    URI_BAD("tel:+1@example.com");
}

/* ---------------------------------------------------------------------------------------- */
/* Other schemes                                                                              */

/* RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc, §3.3.4 unksm2: any absoluteURI decodes. */
static void other_schemes(void **state)
{
    static const struct {
        const char *uri, *scheme;
    } v[] = {
        {"nobodyKnowsThisScheme:totallyopaquecontent", "nobodyKnowsThisScheme"},
        {"soap.beep://192.0.2.103:3002", "soap.beep"},
        {"isbn:2983792873", "isbn"},
        {"http://www.example.com", "http"},
        {"name:John_Smith", "name"},
        {"urn:service:sos", "urn"},
        {"mailto:alice@example.com?subject=hi%20there", "mailto"},
        {"x-a+b.c-9:[2001:db8::1]", "x-a+b.c-9"},
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(v); i++) {
        struct sip_uri u = URI_OK(v[i].uri);
        assert_int_equal(u.scheme, SIP_URI_OTHER);
        assert_slice_equal(u.raw, v[i].uri);
        assert_slice_equal(u.scheme_s, v[i].scheme);
        assert_slice_unset(u.user);
        assert_slice_unset(u.host);
        assert_int_equal(u.host_type, SIP_HOST_NONE);
        assert_slice_unset(u.params);
        assert_slice_unset(u.headers);
    }
}

static void other_schemes_malformed(void **state)
{
    URI_BAD("alice@atlanta.com"); /* no scheme */
    URI_BAD(":opaque");
    URI_BAD("1abc:opaque");
    URI_BAD("a_b:opaque");
    URI_BAD("isbn:");
    URI_BAD("http://www.example.com/a b");
    URI_BAD("http://www.example.com/<x>");
    URI_BAD("urn:\"x\"");
    URI_BAD("urn:a%2");
    URI_BAD("urn:a{b}");
}

/* ---------------------------------------------------------------------------------------- */
/* sip_unescape                                                                               */

static void unescape_basic(void **state)
{
    char buf[16];
    size_t n = 99;

    assert_int_equal(sip_unescape(SV_LIT("a%41%62c%6c%6C"), buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "aAbcll", 6);

    assert_int_equal(sip_unescape(SV_LIT("plain"), buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "plain", 5);

    assert_int_equal(sip_unescape(SV_LIT(""), buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sip_unescape(sv_slice_make(NULL, 0), buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sip_unescape(SV_LIT("%25%ff"), buf, sizeof(buf), NULL), 0);
    assert_memory_equal(buf, "%\xff", 2);
}

static void unescape_nospace(void **state)
{
    char buf[4];
    size_t n = 0;

    assert_int_equal(sip_unescape(SV_LIT("abc%20def"), buf, sizeof(buf), &n), ENOSPC);
    assert_int_equal(n, 7); /* the size needed */
    assert_memory_equal(buf, "abc ", 4);
    assert_int_equal(sip_unescape(SV_LIT("abc%20def"), NULL, 0, &n), ENOSPC);
    assert_int_equal(n, 7);
    assert_int_equal(sip_unescape(SV_LIT("abc%20"), buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 4);
}

static void unescape_bad_escape(void **state)
{
    static const char *const bad[] = {"%", "%4", "a%4", "%G1", "%1G", "ab%zz", "%%41"};
    char buf[16];
    size_t n = 42;

    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        assert_int_equal(sip_unescape(sv_slice_cstr(bad[i]), buf, sizeof(buf), &n), EBADMSG);
        assert_int_equal(n, 42);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Comparison: the examples of RFC 3261 §19.1.4                                               */

/* "sip:%61lice@atlanta.com;transport=TCP" == "sip:alice@AtLanTa.CoM;Transport=tcp" */
static void equal_rfc3261_escape_and_host_case(void **state)
{
    URI_EQ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp");
}

/* "sip:carol@chicago.com" == ";newparam=5" == ";security=on": parameters only on one side
 * are ignored. */
static void equal_rfc3261_param_on_one_side(void **state)
{
    URI_EQ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5");
    URI_EQ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on");
    URI_EQ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on");
}

/* Parameter order does not matter. */
static void equal_rfc3261_param_order(void **state)
{
    URI_EQ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
           "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com");
}

/* Header order does not matter. */
static void equal_rfc3261_header_order(void **state)
{
    URI_EQ("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
           "sip:alice@atlanta.com?priority=urgent&subject=project%20x");
}

/* "SIP:ALICE@AtLanTa.CoM;Transport=udp" != "sip:alice@AtLanTa.CoM;Transport=UDP": the user
 * part is case-sensitive. */
static void unequal_rfc3261_user_case(void **state)
{
    URI_NE("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP");
}

/* "sip:bob@biloxi.com" != "sip:bob@biloxi.com:5060": may resolve to different ports. */
static void unequal_rfc3261_port_absent(void **state)
{
    URI_NE("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060");
    URI_NE("sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:5061");
}

/* "sip:bob@biloxi.com" != "sip:bob@biloxi.com;transport=udp". */
static void unequal_rfc3261_transport_absent(void **state)
{
    URI_NE("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp");
}

/* "sip:bob@biloxi.com" != "sip:bob@biloxi.com:6000;transport=tcp". */
static void unequal_rfc3261_port_and_transport(void **state)
{
    URI_NE("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp");
}

/* "sip:carol@chicago.com" != "sip:carol@chicago.com?Subject=next%20meeting". */
static void unequal_rfc3261_header_absent(void **state)
{
    URI_NE("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting");
}

/* "sip:bob@phone21.boxesbybob.com" != "sip:bob@192.0.2.4", whatever DNS says. */
static void unequal_rfc3261_name_vs_address(void **state)
{
    URI_NE("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4");
}

/* Equality is not transitive: both equal "sip:carol@chicago.com", not each other. */
static void unequal_rfc3261_not_transitive(void **state)
{
    URI_EQ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on");
    URI_EQ("sip:carol@chicago.com", "sip:carol@chicago.com;security=off");
    URI_NE("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off");
}

/* ---------------------------------------------------------------------------------------- */
/* Comparison: the rest of RFC 3261 §19.1.4                                                   */

static void unequal_sip_vs_sips(void **state)
{
    URI_NE("sip:alice@atlanta.com", "sips:alice@atlanta.com");
    URI_EQ("sips:alice@atlanta.com", "SIPS:alice@ATLANTA.com");
}

static void unequal_user_or_password_absent(void **state)
{
    URI_NE("sip:atlanta.com", "sip:alice@atlanta.com");
    URI_NE("sip:alice@atlanta.com", "sip:alice:pw@atlanta.com");
    URI_NE("sip:alice:@atlanta.com", "sip:alice@atlanta.com");
    URI_NE("sip:alice:pw@atlanta.com", "sip:alice:PW@atlanta.com");
    URI_EQ("sip:alice:p%77@atlanta.com", "sip:alice:pw@atlanta.com");
}

/* user, ttl, method and maddr present on one side only never match, even with the default
 * value; nor does transport. */
static void unequal_param_on_one_side_strict(void **state)
{
    URI_NE("sip:h.example.com", "sip:h.example.com;user=ip");
    URI_NE("sip:h.example.com", "sip:h.example.com;ttl=1");
    URI_NE("sip:h.example.com", "sip:h.example.com;method=INVITE");
    URI_NE("sip:h.example.com", "sip:h.example.com;maddr=239.255.255.1");
    URI_NE("sip:h.example.com", "sip:h.example.com;TRANSPORT=udp");
    URI_NE("sip:h.example.com", "sip:h.example.com;%6daddr=239.255.255.1");
    URI_EQ("sip:h.example.com;lr", "sip:h.example.com");
}

/* Any parameter on both sides must match, case-insensitively and after unescaping. */
static void param_on_both_sides(void **state)
{
    URI_EQ("sip:h.example.com;foo=Bar", "sip:h.example.com;FOO=bar");
    URI_EQ("sip:h.example.com;foo=%42ar", "sip:h.example.com;foo=bar");
    URI_NE("sip:h.example.com;foo=1", "sip:h.example.com;foo=2");
    URI_NE("sip:h.example.com;foo", "sip:h.example.com;foo=1");
    URI_EQ("sip:h.example.com;maddr=192.0.2.1;ttl=15", "sip:h.example.com;ttl=15;maddr=192.0.2.1");
    URI_NE("sip:h.example.com;method=INVITE", "sip:h.example.com;method=BYE");
}

/* A repeated parameter compares the same whichever URI is on the left. */
static void param_repeated_symmetric(void **state)
{
    URI_NE("sip:h.example.com;x=1;x=2", "sip:h.example.com;x=1");
    URI_EQ("sip:h.example.com;x=1;x=1", "sip:h.example.com;x=1");
}

/* RFC 4475 §3.1.1.3 esc01: escaped parameter names compare by their value. */
static void equal_escaped_param_names_esc01(void **state)
{
    URI_EQ("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
           "sip:caller@host5.example.net;lr;name=value%2541");
    URI_EQ("sip:%75se%72@example.com", "sip:user@example.com");
    URI_NE("sip:sips%3Auser%40example.com@example.net", "sip:sips@example.net");
}

/* An escaped reserved character is not the plain one; an escaped unreserved one is. */
static void escaped_reserved_differs(void **state)
{
    URI_NE("sip:a%3Bb@example.com", "sip:a;b@example.com");
    URI_NE("sip:a%2Fb@example.com", "sip:a/b@example.com");
    URI_EQ("sip:a%3Bb@example.com", "sip:a%3bb@example.com");
    URI_EQ("sip:%41@example.com", "sip:A@example.com");
    URI_NE("sip:%41@example.com", "sip:a@example.com");
}

/* RFC 4475 §3.1.1.4 escnull: %00 compares as an octet like any other. */
static void equal_escaped_null(void **state)
{
    URI_EQ("sip:null-%00-null@example.com", "sip:null-%00-null@EXAMPLE.com");
    URI_NE("sip:null-%00-null@example.com", "sip:null-%00-nulL@example.com");
    URI_NE("sip:null-%00-null@example.com", "sip:null-@example.com");
    URI_NE("sip:%00@host5.example.com", "sip:%00%00@host5.example.com");
}

/* Headers: names case-insensitive, values after unescaping; the same multiset both sides. */
static void headers_compare(void **state)
{
    URI_EQ("sip:h.example.com?Subject=x", "sip:h.example.com?subject=x");
    URI_EQ("sip:h.example.com?subject=%41", "sip:h.example.com?subject=A");
    URI_NE("sip:h.example.com?subject=a", "sip:h.example.com?subject=b");
    URI_NE("sip:h.example.com?a=1&a=1", "sip:h.example.com?a=1");
    URI_NE("sip:h.example.com?a=1&a=1&b=2", "sip:h.example.com?a=1&b=2&b=2");
    URI_EQ("sip:h.example.com?a=1&b=&a=2", "sip:h.example.com?a=2&a=1&b=");
    URI_EQ("sip:user@example.com?Route=%3Csip:example.com%3E",
           "sip:user@example.com?route=%3csip:example.com%3e");
}

/* RFC 5954 §4: two spellings of one IP address match; RFC 5118 §4.3: a port inside the
 * brackets is part of the address. */
static void ipv6_compare(void **state)
{
    URI_EQ("sip:[2001:DB8::10]", "sip:[2001:db8::10]");
    URI_EQ("sip:alice@[2001:db8::10]:5070", "sip:alice@[2001:db8:0:0:0:0:0:10]:5070");
    URI_EQ("sip:[::ffff:192.0.2.1]", "sip:[::FFFF:c000:201]");
    URI_NE("sip:[2001:db8::10:5070]", "sip:[2001:db8::10]:5070");
    URI_NE("sip:[2001:db8::10]", "sip:[2001:db8::11]");
    URI_NE("sip:[::ffff:192.0.2.1]", "sip:192.0.2.1");
}

static void ipv4_compare(void **state)
{
    URI_EQ("sip:alice@192.0.2.1", "sip:alice@192.000.002.001");
    URI_NE("sip:alice@192.0.2.1", "sip:alice@192.0.2.10");
    URI_NE("sip:alice@192.0.2.1", "sip:alice@192.0.2.1:5060");
}

static void equal_is_reflexive(void **state)
{
    static const char *const v[] = {
        "sip:alice:secretword@atlanta.com:5061;transport=tcp;lr?subject=project%20x&p=u",
        "sip:user;par=u%40example.net@example.com",
        "sip:null-%00-null@example.com",
        "sip:[2001:db8::10:5070]",
        "sips:[::ffff:192.0.2.2]:5061;maddr=[2001:db8::1]",
        "tel:+1-201-555-0123;ext=12;isub=a",
        "tel:7042;phone-context=example.com",
        "urn:service:sos",
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(v); i++)
        URI_EQ(v[i], v[i]);
}

/* ---------------------------------------------------------------------------------------- */
/* Comparison: tel (RFC 3966 §4) and other schemes                                            */

static void tel_compare_numbers(void **state)
{
    URI_EQ("tel:+1-201-555-0123", "tel:+1(201)555.0123");
    URI_EQ("tel:+12015550123", "TEL:+1-201-555-0123");
    URI_NE("tel:+12015550123", "tel:+12015550124");
    URI_NE("tel:+12015550123", "tel:+120155501234");
    URI_NE("tel:7042;phone-context=+1", "tel:+17042");
    URI_EQ("tel:a1b;phone-context=example.com", "tel:A-1-B;phone-context=example.com");
}

static void tel_compare_params(void **state)
{
    URI_EQ("tel:7042;phone-context=example.com", "tel:7042;phone-context=EXAMPLE.com");
    URI_EQ("tel:863-1234;phone-context=+1-914-555", "tel:8631234;phone-context=+1914555");
    URI_NE("tel:7042;phone-context=a-b.com", "tel:7042;phone-context=ab.com");
    URI_NE("tel:7042;phone-context=example.com", "tel:7042;phone-context=example.net");
    URI_EQ("tel:+1234;ext=5;isub=ab", "tel:+1234;isub=AB;ext=5");
    URI_EQ("tel:+1234;ext=1-2", "tel:+1234;ext=12");
    /* unlike sip:, a parameter on one side only makes tel URIs differ */
    URI_NE("tel:+1234", "tel:+1234;ext=5");
    URI_NE("tel:+1234;foo", "tel:+1234");
    URI_NE("tel:+1234;foo=1", "tel:+1234;foo=2");
}

static void compare_across_schemes(void **state)
{
    URI_NE("tel:+12015550123", "sip:+12015550123@example.com;user=phone");
    URI_NE("sip:alice@atlanta.com", "urn:alice@atlanta.com");
    URI_NE("isbn:2983792873", "issn:2983792873");
}

static void other_scheme_compare(void **state)
{
    URI_EQ("isbn:2983792873", "ISBN:2983792873");
    URI_NE("isbn:2983792873", "isbn:2983792874");
    URI_NE("http://www.example.com", "http://WWW.example.com");
}

/* ---------------------------------------------------------------------------------------- */
/* Reading past the slice                                                                     */

/* Decode and unescape one prefix; the empty one is passed as a NULL slice. */
static void uri_prefix(struct sv_slice in, bool whole, void *ctx)
{
    struct sip_uri u;
    char out[128];
    size_t n;

    if (sip_uri_decode(&u, sv_slice_make(in.l ? in.p : NULL, in.l)) == 0) {
        assert_true(sip_uri_equal(&u, &u));
        (void)sip_unescape(u.user, out, sizeof(out), &n);
        (void)sip_unescape(u.params, out, sizeof(out), &n);
        (void)sip_unescape(u.headers, out, sizeof(out), &n);
    }
    (void)sip_unescape(in, out, sizeof(out), &n);
}

/*
 * Decode every prefix of each input from a heap block of exactly that size, so that ASan
 * reports any read past the slice end. The results do not matter here, only the reads.
 */
static void no_read_past_end(void **state)
{
    static const char *const v[] = {
        "sip:alice:secretword@atlanta.com:5061;transport=tcp;lr?subject=project%20x&p=u",
        "sip:user;par=u%40example.net@example.com",
        "sip:null-%00-null@example.com",
        "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
        "sip:user@example.com?Route=%3Csip:example.com%3E",
        "sip:[2001:db8::10:5070]",
        "sip:[2001:db8::10]:5070",
        "sips:ted@[::ffff:192.0.2.2]:5061;maddr=[2001:db8::1]",
        "sip:192.0.2.4:65535",
        "tel:+1-201-555-0123;ext=12;isub=a",
        "tel:863-1234;phone-context=+1-914-555",
        "tel:7042;phone-context=example.com",
        "soap.beep://192.0.2.103:3002",
        "sip:a%4",
        "sip:h;x=%4",
        "sip:h?x=%",
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(v); i++)
        sv_test_every_prefix(v[i], uri_prefix, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sip_user_host_only),
    cmocka_unit_test(sip_every_field),
    cmocka_unit_test(sips_scheme),
    cmocka_unit_test(scheme_case_insensitive),
    cmocka_unit_test(sip_without_user),
    cmocka_unit_test(sip_ipv4_host_and_port),
    cmocka_unit_test(sip_port_range),
    cmocka_unit_test(sip_telephone_user_with_password),
    cmocka_unit_test(sip_empty_password),
    cmocka_unit_test(sip_semicolon_in_user_semiuri),
    cmocka_unit_test(sip_question_mark_in_user),
    cmocka_unit_test(sip_user_character_set),
    cmocka_unit_test(sip_escaped_null_escnull),
    cmocka_unit_test(sip_escapes_esc01),
    cmocka_unit_test(sip_escaped_headers_escruri),
    cmocka_unit_test(sip_headers_forms),
    cmocka_unit_test(sip_params_forms),
    cmocka_unit_test(sip_ipv6_hosts_rfc5118),
    cmocka_unit_test(sip_ipv6_with_ipv4_tail),
    cmocka_unit_test(sip_ipv6_malformed),
    cmocka_unit_test(sip_host_malformed),
    cmocka_unit_test(sip_not_trimmed),
    cmocka_unit_test(decode_failure_leaves_output),
    cmocka_unit_test(tel_global_number),
    cmocka_unit_test(tel_params),
    cmocka_unit_test(tel_local_number),
    cmocka_unit_test(tel_malformed),
    cmocka_unit_test(other_schemes),
    cmocka_unit_test(other_schemes_malformed),
    cmocka_unit_test(unescape_basic),
    cmocka_unit_test(unescape_nospace),
    cmocka_unit_test(unescape_bad_escape),
    cmocka_unit_test(equal_rfc3261_escape_and_host_case),
    cmocka_unit_test(equal_rfc3261_param_on_one_side),
    cmocka_unit_test(equal_rfc3261_param_order),
    cmocka_unit_test(equal_rfc3261_header_order),
    cmocka_unit_test(unequal_rfc3261_user_case),
    cmocka_unit_test(unequal_rfc3261_port_absent),
    cmocka_unit_test(unequal_rfc3261_transport_absent),
    cmocka_unit_test(unequal_rfc3261_port_and_transport),
    cmocka_unit_test(unequal_rfc3261_header_absent),
    cmocka_unit_test(unequal_rfc3261_name_vs_address),
    cmocka_unit_test(unequal_rfc3261_not_transitive),
    cmocka_unit_test(unequal_sip_vs_sips),
    cmocka_unit_test(unequal_user_or_password_absent),
    cmocka_unit_test(unequal_param_on_one_side_strict),
    cmocka_unit_test(param_on_both_sides),
    cmocka_unit_test(param_repeated_symmetric),
    cmocka_unit_test(equal_escaped_param_names_esc01),
    cmocka_unit_test(escaped_reserved_differs),
    cmocka_unit_test(equal_escaped_null),
    cmocka_unit_test(headers_compare),
    cmocka_unit_test(ipv6_compare),
    cmocka_unit_test(ipv4_compare),
    cmocka_unit_test(equal_is_reflexive),
    cmocka_unit_test(tel_compare_numbers),
    cmocka_unit_test(tel_compare_params),
    cmocka_unit_test(compare_across_schemes),
    cmocka_unit_test(other_scheme_compare),
    cmocka_unit_test(no_read_past_end),
};

SV_TEST_MAIN(tests)
