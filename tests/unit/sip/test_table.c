/**
 * @file test_table.c  The header table (sip_hdr.def) and method lookup.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

/* Names come from sv_test_heap: exact-size heap copies, so ASan sees any read past one. */

static const struct {
    enum sip_hdr_id id;
    const char *name;
    char compact;
    unsigned flags;
} defs[] = {
#define X(id, nm, cp, fl) {SIP_HDR_##id, nm, cp, fl},
#include <sipveil/sip_hdr.def>
#undef X
};

/* Every entry maps back from its canonical spelling, upper case and lower case. */
static void table_every_name_round_trips(void **state)
{
    char up[64], lo[64];

    assert_int_equal(SV_ARRAY_SIZE(defs), SIP_HDR__N - 1);
    for (size_t i = 0; i < SV_ARRAY_SIZE(defs); i++) {
        size_t l = strlen(defs[i].name);
        assert_true(l < sizeof(up));
        for (size_t k = 0; k < l; k++) {
            up[k] = (char)toupper((unsigned char)defs[i].name[k]);
            lo[k] = (char)tolower((unsigned char)defs[i].name[k]);
        }
        if (sip_hdr_lookup(sv_test_heap(defs[i].name)) != defs[i].id)
            print_error("lookup of \"%s\" failed\n", defs[i].name);
        assert_int_equal(sip_hdr_lookup(sv_test_heap(defs[i].name)), defs[i].id);
        assert_int_equal(sip_hdr_lookup(sv_test_heap_n(up, l)), defs[i].id);
        assert_int_equal(sip_hdr_lookup(sv_test_heap_n(lo, l)), defs[i].id);
        assert_string_equal(sip_hdr_name(defs[i].id), defs[i].name);
        assert_int_equal(sip_hdr_compact(defs[i].id), defs[i].compact);
        assert_int_equal(sip_hdr_flags(defs[i].id), defs[i].flags);
    }
}

/* RFC 3261 §7.3.3 and the extensions' compact forms, both cases. */
static void table_compact_forms(void **state)
{
    static const struct {
        char c;
        enum sip_hdr_id id;
    } cf[] = {
        {'v', SIP_HDR_VIA},
        {'f', SIP_HDR_FROM},
        {'t', SIP_HDR_TO},
        {'i', SIP_HDR_CALL_ID},
        {'m', SIP_HDR_CONTACT},
        {'l', SIP_HDR_CONTENT_LENGTH},
        {'c', SIP_HDR_CONTENT_TYPE},
        {'k', SIP_HDR_SUPPORTED},
        {'s', SIP_HDR_SUBJECT},
        {'e', SIP_HDR_CONTENT_ENCODING},
        {'o', SIP_HDR_EVENT},               /* RFC 6665 */
        {'u', SIP_HDR_ALLOW_EVENTS},        /* RFC 6665 */
        {'r', SIP_HDR_REFER_TO},            /* RFC 3515 */
        {'b', SIP_HDR_REFERRED_BY},         /* RFC 3892 */
        {'j', SIP_HDR_REJECT_CONTACT},      /* RFC 3841 */
        {'y', SIP_HDR_IDENTITY},            /* RFC 8224 */
        {'x', SIP_HDR_SESSION_EXPIRES},     /* RFC 4028 */
        {'a', SIP_HDR_ACCEPT_CONTACT},      /* RFC 3841 */
        {'d', SIP_HDR_REQUEST_DISPOSITION}, /* RFC 3841 */
        {'n', SIP_HDR_IDENTITY_INFO},       /* RFC 4474 */
    };
    for (size_t i = 0; i < SV_ARRAY_SIZE(cf); i++) {
        char up = (char)toupper((unsigned char)cf[i].c);
        assert_int_equal(sip_hdr_lookup(sv_test_heap_n(&cf[i].c, 1)), cf[i].id);
        assert_int_equal(sip_hdr_lookup(sv_test_heap_n(&up, 1)), cf[i].id);
        assert_int_equal(sip_hdr_compact(cf[i].id), cf[i].c);
    }
    /* and every compact letter of the table is one of those */
    for (size_t i = 0; i < SV_ARRAY_SIZE(defs); i++) {
        if (defs[i].compact)
            assert_int_equal(sip_hdr_lookup(sv_test_heap_n(&defs[i].compact, 1)), defs[i].id);
    }
}

static void table_unknown_names_are_other(void **state)
{
    static const char *const unknown[] = {
        "X-Custom",
        "Vias",
        "Vi",
        "Content-Lengt",
        "Content-Length2",
        "P-Asserted-Identity-X",
        "g",
        "h",
        "p",
        "q",
        "w",
        "z",
        "G",
        "Z",
        "1",
        "-",
        "@",
        "`",
        "[",
        "{",
        "From ",
        " From",
        "From:",
        "Call_ID",
    };
    for (size_t i = 0; i < SV_ARRAY_SIZE(unknown); i++) {
        if (sip_hdr_lookup(sv_test_heap(unknown[i])) != SIP_HDR_OTHER)
            print_error("\"%s\" was known\n", unknown[i]);
        assert_int_equal(sip_hdr_lookup(sv_test_heap(unknown[i])), SIP_HDR_OTHER);
    }
    assert_int_equal(sip_hdr_lookup(sv_test_heap("")), SIP_HDR_OTHER);
    assert_int_equal(sip_hdr_lookup(sv_slice_make(NULL, 0)), SIP_HDR_OTHER);
}

/* A byte with the high bit set must not index outside the compact table. */
static void table_high_bytes_are_other(void **state)
{
    for (unsigned c = 0x80; c <= 0xff; c++) {
        char ch = (char)c;
        assert_int_equal(sip_hdr_lookup(sv_test_heap_n(&ch, 1)), SIP_HDR_OTHER);
    }
    assert_int_equal(sip_hdr_lookup(sv_test_heap("Via\xc3\xa9")), SIP_HDR_OTHER);
}

static void table_other_has_no_name(void **state)
{
    assert_null(sip_hdr_name(SIP_HDR_OTHER));
    assert_int_equal(sip_hdr_compact(SIP_HDR_OTHER), 0);
    assert_int_equal(sip_hdr_flags(SIP_HDR_OTHER), 0);
    assert_null(sip_hdr_name(SIP_HDR__N));
    assert_int_equal(sip_hdr_flags(SIP_HDR__N), 0);
}

/* RFC 3325 §7 / R19: the `id` privacy function removes P-Asserted-Identity. */
static void table_pai_is_priv_id(void **state)
{
    assert_true(sip_hdr_flags(SIP_HDR_P_ASSERTED_IDENTITY) & SIP_HF_PRIV_ID);
    assert_true(sip_hdr_flags(SIP_HDR_P_ASSERTED_IDENTITY) & SIP_HF_LIST);
    assert_false(sip_hdr_flags(SIP_HDR_FROM) & SIP_HF_PRIV_ID);
    assert_false(sip_hdr_flags(SIP_HDR_P_PREFERRED_IDENTITY) & SIP_HF_PRIV_ID);
}

/* R20 (RFC 3323 §5.3): the `user` function deletes exactly these six headers; From is
 * rewritten, not deleted, and To and Call-ID are never touched. */
static void table_priv_user_set_is_r20(void **state)
{
    static const enum sip_hdr_id user[] = {
        SIP_HDR_SUBJECT,    SIP_HDR_CALL_INFO, SIP_HDR_ORGANIZATION,
        SIP_HDR_USER_AGENT, SIP_HDR_REPLY_TO,  SIP_HDR_IN_REPLY_TO,
    };
    unsigned n = 0;

    for (size_t i = 0; i < SV_ARRAY_SIZE(user); i++)
        assert_true(sip_hdr_flags(user[i]) & SIP_HF_PRIV_USER);
    for (unsigned id = 1; id < SIP_HDR__N; id++) {
        if (sip_hdr_flags((enum sip_hdr_id)id) & SIP_HF_PRIV_USER)
            n++;
    }
    assert_int_equal(n, SV_ARRAY_SIZE(user));
    assert_false(sip_hdr_flags(SIP_HDR_FROM) & SIP_HF_PRIV_USER);
    assert_false(sip_hdr_flags(SIP_HDR_TO) & SIP_HF_PRIV_USER);
    assert_false(sip_hdr_flags(SIP_HDR_CALL_ID) & SIP_HF_PRIV_USER);
}

/* RFC 3325 §6: a proxy forwarding a request removes P-Preferred-Identity. */
static void table_ppi_stripped_on_forward(void **state)
{
    assert_true(sip_hdr_flags(SIP_HDR_P_PREFERRED_IDENTITY) & SIP_HF_STRIP_FWD);
}

/* RFC 3261 §7.3.1: these appear at most once; the check layer relies on the flag. */
static void table_single_value_flags(void **state)
{
    static const enum sip_hdr_id single[] = {
        SIP_HDR_FROM,         SIP_HDR_TO,           SIP_HDR_CALL_ID,
        SIP_HDR_CSEQ,         SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH,
        SIP_HDR_CONTENT_TYPE,
    };
    for (size_t i = 0; i < SV_ARRAY_SIZE(single); i++) {
        assert_true(sip_hdr_flags(single[i]) & SIP_HF_SINGLE);
        assert_false(sip_hdr_flags(single[i]) & SIP_HF_LIST);
    }
    assert_true(sip_hdr_flags(SIP_HDR_VIA) & SIP_HF_LIST);
    assert_true(sip_hdr_flags(SIP_HDR_AUTHORIZATION) & SIP_HF_QUOTED_COMMA);
    assert_false(sip_hdr_flags(SIP_HDR_AUTHORIZATION) & SIP_HF_LIST);
}

static void method_known_round_trip(void **state)
{
    for (unsigned m = 1; m < SIP_METHOD__N; m++) {
        const char *name = sip_method_name((enum sip_method)m);
        assert_non_null(name);
        assert_int_equal(sip_method_lookup(sv_test_heap(name)), m);
    }
    assert_int_equal(sip_method_lookup(sv_test_heap("INVITE")), SIP_METHOD_INVITE);
    assert_int_equal(sip_method_lookup(sv_test_heap("UPDATE")), SIP_METHOD_UPDATE);
    assert_null(sip_method_name(SIP_METHOD_OTHER));
    assert_null(sip_method_name(SIP_METHOD__N));
}

/* RFC 3261 §7.1: the method is case-sensitive; "invite" is an unknown extension method. */
static void method_case_sensitive(void **state)
{
    assert_int_equal(sip_method_lookup(sv_test_heap("invite")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(sv_test_heap("Invite")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(sv_test_heap("ack")), SIP_METHOD_OTHER);
}

static void method_unknown_is_other(void **state)
{
    assert_int_equal(sip_method_lookup(sv_test_heap("NEWMETHOD")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(sv_test_heap("INVITES")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(sv_test_heap("INVIT")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(sv_test_heap("")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(sv_slice_make(NULL, 0)), SIP_METHOD_OTHER);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(table_every_name_round_trips),
    cmocka_unit_test(table_compact_forms),
    cmocka_unit_test(table_unknown_names_are_other),
    cmocka_unit_test(table_high_bytes_are_other),
    cmocka_unit_test(table_other_has_no_name),
    cmocka_unit_test(table_pai_is_priv_id),
    cmocka_unit_test(table_priv_user_set_is_r20),
    cmocka_unit_test(table_ppi_stripped_on_forward),
    cmocka_unit_test(table_single_value_flags),
    cmocka_unit_test(method_known_round_trip),
    cmocka_unit_test(method_case_sensitive),
    cmocka_unit_test(method_unknown_is_other),
};

SV_TEST_MAIN(tests)
