/**
 * @file test_lex.c  The character classes of src/sip/lex.c against RFC 3261 §25.1, spelled
 * out here independently, and the shared lexing helpers.
 */
#include "svtest.h"
#include "sip_int.h"

static bool in(const char *set, int c)
{
    return c != 0 && strchr(set, c) != NULL;
}

static bool alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Each class compared with its ABNF definition for all 256 octets. */
static void lex_classes_match_abnf(void **state)
{
    for (int c = 0; c < 256; c++) {
        char ch = (char)c;
        bool token = alnum(c) || in("-.!%*_+`'~", c);
        bool mark = in("-_.!~*'()", c);
        bool unreserved = alnum(c) || mark;
        bool user = unreserved || in("&=+$,;?/", c);
        bool param = unreserved || in("[]/:&+$", c);
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

        if (sip__is(ch, SIP__C_TOKEN) != token || sip__is(ch, SIP__C_UNRESERVED) != unreserved ||
            sip__is(ch, SIP__C_USER) != user || sip__is(ch, SIP__C_PARAM) != param ||
            sip__is(ch, SIP__C_HEX) != hex || sip__is(ch, SIP__C_ALNUM) != alnum(c) ||
            sip__is(ch, SIP__C_DIGIT) != (c >= '0' && c <= '9') ||
            sip__is(ch, SIP__C_WS) != (c == ' ' || c == '\t')) {
            print_error("octet 0x%02x is in the wrong class\n", c);
            fail();
        }
    }
}

static void lex_quoted_end(void **state)
{
    const char *s = "\"a\\\"b\" rest";
    assert_ptr_equal(sip__quoted_end(s, s + strlen(s)), s + 6);
    s = "\"unterminated";
    assert_null(sip__quoted_end(s, s + strlen(s)));
    s = "\"bare\r\nline\"";
    assert_null(sip__quoted_end(s, s + strlen(s)));
    s = "\"folded\r\n line\"";
    assert_ptr_equal(sip__quoted_end(s, s + strlen(s)), s + strlen(s));
    s = "\"escape at end\\";
    assert_null(sip__quoted_end(s, s + strlen(s)));
}

/* Commas inside quotes and angle brackets do not split a list. */
static void lex_find_unquoted(void **state)
{
    const char *s = "\"a,b\" <sip:x@y;p=a,b>, next";
    const char *end = s + strlen(s);
    assert_ptr_equal(sip__find_unquoted(s, end, ','), strstr(s, ", next"));
    s = "no comma";
    assert_ptr_equal(sip__find_unquoted(s, s + strlen(s), ','), s + strlen(s));
}

static void lex_param_get(void **state)
{
    struct sv_slice v;
    struct sv_slice p = sv_test_heap(";tag=abc;lr;Q=\"0.5\"");
    assert_true(sip_param_get(p, "tag", &v));
    assert_slice_equal(v, "abc");
    assert_true(sip_param_get(p, "lr", &v));
    assert_slice_unset(v);
    assert_true(sip_param_get(p, "q", &v));
    assert_slice_equal(v, "\"0.5\"");
    assert_false(sip_param_get(p, "maddr", NULL));
}

/* RFC 5954 IPv6 references, RFC 3261 hostnames and IPv4. */
static void lex_host_decode(void **state)
{
    static const struct {
        const char *in;
        enum sip_host_type type;
        size_t len; /* 0: malformed */
    } cases[] = {
        {"example.com", SIP_HOST_DOMAIN, 11},
        {"192.0.2.1:5060", SIP_HOST_IPV4, 9},
        {"192.0.2.256", SIP_HOST_DOMAIN, 11}, /* not IPv4; a numeric toplabel, accepted liberally */
        {"[2001:db8::1]:5060", SIP_HOST_IPV6, 13},
        {"[::ffff:192.0.2.1]", SIP_HOST_IPV6, 18},
        {"[2001:db8::10:5070]", SIP_HOST_IPV6, 19},
        {"[2001:db8:::192.0.2.1]", SIP_HOST_IPV6, 0}, /* RFC 5118 §4.10, three colons */
        {"[1:2:3:4:5:6:7:8:9]", SIP_HOST_IPV6, 0},
        {"[2001:db8::1", SIP_HOST_IPV6, 0},
        {"-bad.example.com", SIP_HOST_DOMAIN, 0},
        {"", SIP_HOST_NONE, 0},
    };
    for (size_t i = 0; i < SV_ARRAY_SIZE(cases); i++) {
        enum sip_host_type t = SIP_HOST_NONE;
        size_t n = 0;
        int e = sip__host_decode(sv_test_heap(cases[i].in), &t, &n);
        if (cases[i].len == 0) {
            if (e != EBADMSG)
                print_error("\"%s\" should be malformed\n", cases[i].in);
            assert_int_equal(e, EBADMSG);
            continue;
        }
        if (e || t != cases[i].type || n != cases[i].len)
            print_error("\"%s\": e=%d type=%d len=%zu\n", cases[i].in, e, t, n);
        assert_int_equal(e, 0);
        assert_int_equal(t, cases[i].type);
        assert_int_equal(n, cases[i].len);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lex_classes_match_abnf), cmocka_unit_test(lex_quoted_end),
    cmocka_unit_test(lex_find_unquoted),      cmocka_unit_test(lex_param_get),
    cmocka_unit_test(lex_host_decode),
};

SV_TEST_MAIN(tests)
