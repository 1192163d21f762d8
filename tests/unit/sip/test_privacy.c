/**
 * @file test_privacy.c  The Privacy header: decoding, all lines of a message, canonical print
 * (requirements R1-R4; RFC 3323 §4.2, RFC 3325 §9.3, RFC 7044).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

/* Decode one line into a fresh set; expects success. */
static void dec(struct sip_privacy *pv, const char *s)
{
    sip_privacy_init(pv);
    assert_int_equal(sip_privacy_decode(pv, sv_test_heap(s)), 0);
}

/* The canonical print of @p pv must be @p want. */
static void print_is(const struct sip_privacy *pv, const char *want)
{
    char buf[256];
    size_t n = 999;

    assert_int_equal(sip_privacy_print(pv, buf, sizeof(buf), &n), 0);
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

static void bad(const char *s)
{
    struct sip_privacy pv;

    sip_privacy_init(&pv);
    if (sip_privacy_decode(&pv, sv_test_heap(s)) != EBADMSG) {
        print_error("accepted \"%s\"\n", s);
        fail();
    }
}

/* R1: every registered priv-value maps to its bit */
static void privacy_known_values(void **state)
{
    static const struct {
        const char *s;
        unsigned bit;
    } in[] = {
        {"none", SIP_PRIV_NONE},       {"header", SIP_PRIV_HEADER}, {"session", SIP_PRIV_SESSION},
        {"user", SIP_PRIV_USER},       {"id", SIP_PRIV_ID},         {"critical", SIP_PRIV_CRITICAL},
        {"history", SIP_PRIV_HISTORY},
    };
    struct sip_privacy pv;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        dec(&pv, in[i].s);
        assert_int_equal(pv.bits, in[i].bit);
        assert_int_equal(pv.ntok, 1);
        assert_slice_equal(pv.tok[0], in[i].s);
        assert_int_equal(pv.tok_bit[0], in[i].bit);
        assert_int_equal(pv.nunknown, 0);
        assert_false(pv.duplicate);
        print_is(&pv, in[i].s);
    }
}

/* R1: "Privacy: user;id;critical" */
static void privacy_r1_user_id_critical(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "user;id;critical");
    assert_int_equal(pv.bits, SIP_PRIV_USER | SIP_PRIV_ID | SIP_PRIV_CRITICAL);
    assert_int_equal(pv.ntok, 3);
    assert_slice_equal(pv.tok[0], "user");
    assert_slice_equal(pv.tok[1], "id");
    assert_slice_equal(pv.tok[2], "critical");
    assert_int_equal(pv.tok_bit[0], SIP_PRIV_USER);
    assert_int_equal(pv.tok_bit[1], SIP_PRIV_ID);
    assert_int_equal(pv.tok_bit[2], SIP_PRIV_CRITICAL);
    assert_int_equal(pv.nunknown, 0);
    assert_false(pv.duplicate);
    print_is(&pv, "user;id;critical");
}

/* R4: tokens compare case-insensitively, LWS around ';'; print is lower case without spaces */
static void privacy_r4_case_and_lws(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "Id ; USER");
    assert_int_equal(pv.bits, SIP_PRIV_ID | SIP_PRIV_USER);
    assert_int_equal(pv.ntok, 2);
    assert_slice_equal(pv.tok[0], "Id");
    assert_slice_equal(pv.tok[1], "USER");
    print_is(&pv, "id;user");

    dec(&pv, "  HEADER;Session;CriTical\t");
    print_is(&pv, "header;session;critical");
}

/* R4, RFC 3323 erratum 5184: ',' separates values too */
static void privacy_r4_comma_separator(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "id,user");
    assert_int_equal(pv.bits, SIP_PRIV_ID | SIP_PRIV_USER);
    assert_int_equal(pv.ntok, 2);
    print_is(&pv, "id;user");
    dec(&pv, "id , user");
    print_is(&pv, "id;user");
    dec(&pv, "user, id ; critical");
    assert_int_equal(pv.bits, SIP_PRIV_USER | SIP_PRIV_ID | SIP_PRIV_CRITICAL);
    print_is(&pv, "user;id;critical");
}

/* A folded line end is LWS */
static void privacy_folded_line(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "id;\r\n user\r\n\t;critical");
    assert_int_equal(pv.ntok, 3);
    print_is(&pv, "id;user;critical");
}

/* R4: several Privacy lines add up, in order */
static void privacy_r4_two_lines(void **state)
{
    struct sip_privacy pv;

    sip_privacy_init(&pv);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("id")), 0);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("user;critical")), 0);
    assert_int_equal(pv.bits, SIP_PRIV_ID | SIP_PRIV_USER | SIP_PRIV_CRITICAL);
    assert_int_equal(pv.ntok, 3);
    assert_false(pv.duplicate);
    print_is(&pv, "id;user;critical");
}

/* Build a message holding just the given header lines, linked as the scanner links them. */
static struct sip_msg *msg_build(struct sip_hdr *hv, unsigned n)
{
    struct sip_msg *m = calloc(1, sizeof(*m));
    uint16_t last[SIP_HDR__N];

    assert_non_null(m);
    for (unsigned i = 0; i < SIP_HDR__N; i++)
        m->first[i] = last[i] = SIP_HDR_END;
    m->hdrv = hv;
    m->hdrc = n;
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = hv[i].id;
        hv[i].next = SIP_HDR_END;
        if (m->first[id] == SIP_HDR_END)
            m->first[id] = (uint16_t)i;
        else
            hv[last[id]].next = (uint16_t)i;
        last[id] = (uint16_t)i;
        m->count[id]++;
    }
    return m;
}

static struct sip_hdr hdr(enum sip_hdr_id id, const char *name, const char *value)
{
    struct sip_hdr h;

    memset(&h, 0, sizeof(h));
    h.id = (uint16_t)id;
    h.name = sv_slice_cstr(name);
    h.value = sv_test_heap(value);
    return h;
}

/* R4: sip_privacy_get reads every Privacy line of a message */
static void privacy_get_every_line(void **state)
{
    struct sip_hdr hv[4];
    struct sip_msg *m;
    struct sip_privacy pv;

    hv[0] = hdr(SIP_HDR_PRIVACY, "Privacy", "id");
    hv[1] = hdr(SIP_HDR_OTHER, "X-Foo", "user");
    hv[2] = hdr(SIP_HDR_PRIVACY, "Privacy", "User , foo");
    hv[3] = hdr(SIP_HDR_PRIVACY, "privacy", "critical;id");
    m = msg_build(hv, 4);
    assert_int_equal(sip_privacy_get(&pv, m), 0);
    assert_int_equal(pv.bits, SIP_PRIV_ID | SIP_PRIV_USER | SIP_PRIV_CRITICAL);
    assert_int_equal(pv.ntok, 4);
    assert_int_equal(pv.nunknown, 1);
    assert_true(pv.duplicate);
    print_is(&pv, "id;user;foo;critical");
    free(m);
}

static void privacy_get_absent(void **state)
{
    struct sip_hdr hv[1];
    struct sip_msg *m;
    struct sip_privacy pv;

    hv[0] = hdr(SIP_HDR_OTHER, "X-Privacy", "id");
    m = msg_build(hv, 1);
    memset(&pv, 0xa5, sizeof(pv));
    assert_int_equal(sip_privacy_get(&pv, m), ENOENT);
    assert_int_equal(pv.bits, 0);
    assert_int_equal(pv.ntok, 0);
    free(m);
}

/* R4: one bad line makes the whole header bad (400) */
static void privacy_get_bad_line(void **state)
{
    struct sip_hdr hv[2];
    struct sip_msg *m;
    struct sip_privacy pv;

    hv[0] = hdr(SIP_HDR_PRIVACY, "Privacy", "id");
    hv[1] = hdr(SIP_HDR_PRIVACY, "Privacy", "");
    m = msg_build(hv, 2);
    assert_int_equal(sip_privacy_get(&pv, m), EBADMSG);
    free(m);
}

/* R1, TC-10(c): an unknown token is kept, in place and as spelt */
static void privacy_r1_unknown_preserved(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "id;foo;critical");
    assert_int_equal(pv.bits, SIP_PRIV_ID | SIP_PRIV_CRITICAL);
    assert_int_equal(pv.ntok, 3);
    assert_slice_equal(pv.tok[1], "foo");
    assert_int_equal(pv.tok_bit[1], 0);
    assert_int_equal(pv.nunknown, 1);
    print_is(&pv, "id;foo;critical");

    dec(&pv, "FooBar;ID;x-ext.1");
    assert_int_equal(pv.nunknown, 2);
    print_is(&pv, "FooBar;id;x-ext.1");
}

/* R3: `none` decodes to its bit alone and prints as itself */
static void privacy_r3_none(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "none");
    assert_int_equal(pv.bits, SIP_PRIV_NONE);
    print_is(&pv, "none");
    dec(&pv, "NONE");
    print_is(&pv, "none");
}

/* R3, R60: `none` with another value is non-conformant; both are reported, the caller
 * decides (withhold, forward the bytes untouched) */
static void privacy_r3_none_with_other(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "none;id");
    assert_int_equal(pv.bits, SIP_PRIV_NONE | SIP_PRIV_ID);
    assert_int_equal(pv.ntok, 2);
    dec(&pv, "none;critical");
    assert_int_equal(pv.bits, SIP_PRIV_NONE | SIP_PRIV_CRITICAL);
}

/* R2: a known value is stored once and flagged */
static void privacy_r2_duplicates(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "id;id");
    assert_true(pv.duplicate);
    assert_int_equal(pv.ntok, 1);
    assert_int_equal(pv.bits, SIP_PRIV_ID);
    print_is(&pv, "id");

    dec(&pv, "id;user;ID;critical;Critical");
    assert_true(pv.duplicate);
    assert_int_equal(pv.ntok, 3);
    print_is(&pv, "id;user;critical");

    /* across lines */
    sip_privacy_init(&pv);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("user")), 0);
    assert_false(pv.duplicate);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("user")), 0);
    assert_true(pv.duplicate);
    assert_int_equal(pv.ntok, 1);
}

/* R1: unknown tokens are never dropped, even twice; the repeat is still flagged */
static void privacy_duplicate_unknown_kept(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "foo;FOO");
    assert_true(pv.duplicate);
    assert_int_equal(pv.ntok, 2);
    assert_int_equal(pv.nunknown, 2);
    print_is(&pv, "foo;FOO");
}

/* RFC 7044 `history`: a known bit, not an unknown token; the caller treats it as unperformed */
static void privacy_history_is_extension(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "history;critical");
    assert_int_equal(pv.bits, SIP_PRIV_HISTORY | SIP_PRIV_CRITICAL);
    assert_int_equal(pv.tok_bit[0], SIP_PRIV_HISTORY);
    assert_int_equal(pv.nunknown, 0);
    print_is(&pv, "history;critical");
}

/* R4: an empty value or element is a 400 */
static void privacy_r4_empty_rejected(void **state)
{
    bad("");
    bad("   ");
    bad("\r\n ");
    bad(";");
    bad(",");
    bad("id;");
    bad("id ; ");
    bad(";id");
    bad("id;;user");
    bad("id,,user");
    bad("id;,user");
    bad("id; ;user");
}

/* R4: a character outside token is a 400 */
static void privacy_r4_illegal_char_rejected(void **state)
{
    bad("id@");
    bad("user id");
    bad("\"id\"");
    bad("id;us=er");
    bad("id/user");
    bad("id\x01");
    bad("id:user");
    bad("<id>");
    bad("id;user(comment)");
    bad("\xc3\xa9");
}

/* R4: more than SIP_PRIV_MAX_TOKENS values is a 400 */
static void privacy_r4_too_many_values(void **state)
{
    char s[256] = "";
    struct sip_privacy pv;

    for (int i = 0; i < SIP_PRIV_MAX_TOKENS; i++)
        snprintf(s + strlen(s), sizeof(s) - strlen(s), "%sx%d", i ? ";" : "", i);
    dec(&pv, s);
    assert_int_equal(pv.ntok, SIP_PRIV_MAX_TOKENS);
    assert_int_equal(pv.nunknown, SIP_PRIV_MAX_TOKENS);
    strcat(s, ";x99");
    bad(s);

    /* also repeats: a line of 17 `id` is refused, not folded */
    s[0] = '\0';
    for (int i = 0; i <= SIP_PRIV_MAX_TOKENS; i++)
        strcat(s, i ? ";id" : "id");
    bad(s);

    /* and across lines */
    sip_privacy_init(&pv);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("a;b;c;d;e;f;g;h;i;j")), 0);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("k;l;m;n;o;p")), 0);
    assert_int_equal(pv.ntok, 16);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("id")), EBADMSG);
    assert_int_equal(pv.ntok, 16);
}

/* A bad line leaves the set as it was */
static void privacy_error_leaves_set_untouched(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "id");
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("user;foo;;")), EBADMSG);
    assert_int_equal(pv.bits, SIP_PRIV_ID);
    assert_int_equal(pv.ntok, 1);
    assert_int_equal(pv.nunknown, 0);
    assert_false(pv.duplicate);
}

/* R2: critical is printed last whatever its place on input */
static void privacy_r2_print_critical_last(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "critical;id");
    print_is(&pv, "id;critical");
    dec(&pv, "critical;foo;user");
    print_is(&pv, "foo;user;critical");
    sip_privacy_init(&pv);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("critical")), 0);
    assert_int_equal(sip_privacy_decode(&pv, sv_test_heap("header")), 0);
    print_is(&pv, "header;critical");
}

/* R2: "user;critical" + added id => "user;id;critical" */
static void privacy_r2_print_added_value(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "user;critical");
    pv.bits |= SIP_PRIV_ID;
    print_is(&pv, "user;id;critical");
}

/* A value the caller performed and cleared is not printed */
static void privacy_print_cleared_value(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "id;user;foo;critical");
    pv.bits &= ~(unsigned)SIP_PRIV_USER;
    print_is(&pv, "id;foo;critical");
    pv.bits &= ~(unsigned)(SIP_PRIV_ID | SIP_PRIV_CRITICAL);
    print_is(&pv, "foo");
}

static void privacy_print_enospc(void **state)
{
    struct sip_privacy pv;
    char buf[32];
    size_t n = 0;

    dec(&pv, "user;id;critical"); /* 16 octets, 17 with the NUL */
    assert_int_equal(sip_privacy_print(&pv, buf, 16, &n), ENOSPC);
    assert_int_equal(n, 16);
    assert_int_equal(sip_privacy_print(&pv, buf, 5, &n), ENOSPC);
    assert_int_equal(n, 16);
    assert_int_equal(sip_privacy_print(&pv, NULL, 0, &n), ENOSPC);
    assert_int_equal(n, 16);
    assert_int_equal(sip_privacy_print(&pv, buf, 17, &n), 0);
    assert_string_equal(buf, "user;id;critical");
}

static void privacy_print_empty(void **state)
{
    struct sip_privacy pv;

    sip_privacy_init(&pv);
    print_is(&pv, "");
}

/* R1, R2: every value at once, in received order, each once, critical last */
static void privacy_print_all_values(void **state)
{
    struct sip_privacy pv;

    dec(&pv, "CRITICAL, Session;HEADER ,x-a;user;id;Id;history;none");
    assert_true(pv.duplicate);
    print_is(&pv, "session;header;x-a;user;id;history;none;critical");
}

static void privacy_prefix(struct sv_slice in, bool whole, void *ctx)
{
    struct sip_privacy pv;
    int err;

    sip_privacy_init(&pv);
    err = sip_privacy_decode(&pv, in);
    assert_true(err == 0 || err == EBADMSG);
}

/* Every prefix of a line, in exact-size heap blocks: no read past the end. */
static void privacy_every_prefix_stays_in_bounds(void **state)
{
    sv_test_every_prefix(" Id ;\r\n USER , foo;critical ", privacy_prefix, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(privacy_known_values),
    cmocka_unit_test(privacy_r1_user_id_critical),
    cmocka_unit_test(privacy_r4_case_and_lws),
    cmocka_unit_test(privacy_r4_comma_separator),
    cmocka_unit_test(privacy_folded_line),
    cmocka_unit_test(privacy_r4_two_lines),
    cmocka_unit_test(privacy_get_every_line),
    cmocka_unit_test(privacy_get_absent),
    cmocka_unit_test(privacy_get_bad_line),
    cmocka_unit_test(privacy_r1_unknown_preserved),
    cmocka_unit_test(privacy_r3_none),
    cmocka_unit_test(privacy_r3_none_with_other),
    cmocka_unit_test(privacy_r2_duplicates),
    cmocka_unit_test(privacy_duplicate_unknown_kept),
    cmocka_unit_test(privacy_history_is_extension),
    cmocka_unit_test(privacy_r4_empty_rejected),
    cmocka_unit_test(privacy_r4_illegal_char_rejected),
    cmocka_unit_test(privacy_r4_too_many_values),
    cmocka_unit_test(privacy_error_leaves_set_untouched),
    cmocka_unit_test(privacy_r2_print_critical_last),
    cmocka_unit_test(privacy_r2_print_added_value),
    cmocka_unit_test(privacy_print_cleared_value),
    cmocka_unit_test(privacy_print_enospc),
    cmocka_unit_test(privacy_print_empty),
    cmocka_unit_test(privacy_print_all_values),
    cmocka_unit_test(privacy_every_prefix_stays_in_bounds),
};

SV_TEST_MAIN(tests)
