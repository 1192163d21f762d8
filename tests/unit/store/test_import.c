/**
 * @file test_import.c  store_import_yaml: the lab's subscribers (tests/data/store/lab.yaml),
 * and errors that name the line and the key.
 */
#include <errno.h>
#include <stdio.h>

#include <sipveil/auth.h>

#include "svtest_store.h"

static struct store *st_of(void **state)
{
    return ((struct store_fixture *)*state)->st;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void expect_ha1(const struct store_cred *c, const char *password)
{
    char md5[AUTH_DIGEST_HEX_MAX + 1], sha[AUTH_DIGEST_HEX_MAX + 1];
    assert_int_equal(auth_digest_ha1(AUTH_DIGEST_MD5, sv_slice_cstr(c->impi), SV_LIT("ims.example"),
                                     sv_slice_cstr(password), md5),
                     0);
    assert_int_equal(auth_digest_ha1(AUTH_DIGEST_SHA256, sv_slice_cstr(c->impi),
                                     SV_LIT("ims.example"), sv_slice_cstr(password), sha),
                     0);
    assert_string_equal(c->ha1_md5, md5);
    assert_string_equal(c->ha1_sha256, sha);
}

/* The lab of DESIGN.md, exactly; a second import of the same file is harmless. R80, R82. */
static void import_lab_file(void **state)
{
    static const uint8_t k[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
                                  0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
    static const uint8_t opc[16] = {0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
                                    0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf};
    struct store *st = st_of(state);
    struct store_sub s;
    struct store_profile p;
    char err[256] = "";
    size_t len, n = 0;
    char *text = read_file(SV_TEST_DATA "/store/lab.yaml", &len);

    assert_int_equal(store_import_yaml(st, text, len, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 4);

    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &s), 0);
    expect_ha1(&s.impis[0], "alice-pw");
    assert_int_equal(s.nsets, 1);
    assert_int_equal(s.sets[0].nimpus, 2);
    assert_string_equal(s.sets[0].impus[0].uri, "sip:alice@ims.example");
    assert_string_equal(s.sets[0].impus[0].display, "Alice Liddell");
    assert_string_equal(s.sets[0].impus[1].uri, "tel:+15551000001");
    assert_false(s.identity_blocking);

    assert_int_equal(st->api->sub_get(st, "bob@ims.example", &s), 0);
    expect_ha1(&s.impis[0], "bob-pw");
    assert_int_equal(s.nsets, 2);
    assert_string_equal(s.sets[0].impus[0].uri, "sip:bob@ims.example");
    assert_string_equal(s.sets[0].impus[1].uri, "tel:+15551000002");
    assert_int_equal(s.sets[1].nimpus, 1);
    assert_string_equal(s.sets[1].impus[0].uri, "sip:blue-fox@ims.example");
    assert_true(s.sets[1].impus[0].pseudonym);
    assert_false(s.sets[0].impus[0].pseudonym);
    assert_int_equal(st->api->profile_get(st, "sip:blue-fox@ims.example", &p), 0);
    assert_int_equal(p.irs.nimpus, 1); /* R82 */

    assert_int_equal(st->api->sub_get(st, "carol@ims.example", &s), 0);
    expect_ha1(&s.impis[0], "carol-pw");
    assert_true(s.identity_blocking);
    assert_string_equal(s.sets[0].impus[0].uri, "sip:carol@ims.example");

    assert_int_equal(st->api->sub_get(st, "dave@ims.example", &s), 0);
    assert_true(s.impis[0].aka);
    assert_memory_equal(s.impis[0].k, k, 16);
    assert_memory_equal(s.impis[0].opc, opc, 16); /* TS 35.208 test set 1 */
    assert_int_equal(s.impis[0].amf[0], 0x80);
    assert_int_equal(s.impis[0].amf[1], 0x00);
    assert_int_equal(s.impis[0].sqn, 0);
    assert_string_equal(s.impis[0].ha1_md5, "");
    assert_string_equal(s.sets[0].impus[0].uri, "sip:dave@ims.example");

    assert_int_equal(store_import_yaml(st, text, len, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 4);
    free(text);
}

struct bad {
    const char *yaml;
    const char *want; /* a substring of the error */
};

/* Every error names the line and the key; nothing of the bad entry is written. */
static void import_errors_name_line_and_key(void **state)
{
    static const struct bad cases[] = {
        {"subscribers:\n  - impi: a@x\n    pasword: p\n    sets: [{impus: [sip:a@x]}]\n",
         "line 3: pasword: unknown key"},
        {"subscribers:\n  - password: p\n    sets: [{impus: [sip:a@x]}]\n",
         "line 2: impi: missing"},
        {"subscribers:\n  - impi: a@x\n    password: p\n    identity_blocking: maybe\n"
         "    sets: [{impus: [sip:a@x]}]\n",
         "line 4: identity_blocking: expected true or false"},
        {"subscribers:\n  - impi: a@x\n    aka: {k: 0011, opc: 00112233445566778899aabbccddeeff}\n"
         "    sets: [{impus: [sip:a@x]}]\n",
         "line 3: k: expected 32 hex digits"},
        {"subscribers:\n  - impi: a@x\n    aka:\n      k: 00112233445566778899aabbccddeeff\n"
         "      op: 00112233445566778899aabbccddeeff\n"
         "      opc: 00112233445566778899aabbccddeeff\n    sets: [{impus: [sip:a@x]}]\n",
         "line 4: aka: give exactly one of op and opc"},
        {"subscribers:\n  - impi: a@x\n    password: p\n    sets: [{impus: [sip:a@x]}]\n"
         "    barred: [sip:b@x]\n",
         "line 5: barred: not one of"},
        {"subscribers:\n  - impi: a@x\n    password: p\n    password: q\n"
         "    sets: [{impus: [sip:a@x]}]\n",
         "line 4: password: given twice"},
        {"subscribers:\n  - impi: a@x\n    password: p\n    sets: [{impus: [sip:a@x]}]\n"
         "    ifc:\n      - {method: MESSAGE, case: sideways, as: sip:127.0.0.1:7060}\n",
         "line 6: case: expected orig, term or both"},
        {"subscribers:\n  - impi: a@x\n    password: p\n    sets: [{impus: [mailto:a@x]}]\n",
         "line 4: uri: expected a sip:"},
        {"subscribers:\n  - impi: a@x\n    sets: [{impus: [sip:a@x]}]\n",
         "line 2: impi: no credentials"},
        {"subscribers:\n  - impi: a@x\n    password: p\n    ha1_md5: 00\n"
         "    sets: [{impus: [sip:a@x]}]\n",
         "line 3: password: give either"},
        {"subscribers:\n  - impi: a@x\n    aka: {k: 00112233445566778899aabbccddeeff, opc: "
         "00112233445566778899aabbccddeeff, sqn: 281474976710656}\n"
         "    sets: [{impus: [sip:a@x]}]\n",
         "line 3: sqn: expected a number"},
        {"subscribers:\n  - impi: a@x\n    password: p\n    sets: [{impus: [sip:a@x]\n", "line "},
        {"subscriber:\n  - impi: a@x\n", "line 1: subscriber: unknown key"},
    };
    struct store *st = st_of(state);
    struct store_sub s;
    char err[256];
    size_t n;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = 99;
        err[0] = '\0';
        int e = store_import_yaml(st, cases[i].yaml, strlen(cases[i].yaml), &n, err, sizeof(err));
        if (e != EINVAL) {
            print_error("case %zu: returned %d, expected EINVAL\n", i, e);
            fail();
        }
        if (!strstr(err, cases[i].want)) {
            print_error("case %zu: error \"%s\" lacks \"%s\"\n", i, err, cases[i].want);
            fail();
        }
        assert_int_equal(n, 0);
        assert_int_equal(st->api->sub_get(st, "a@x", &s), ENOENT);
    }
}

/* The entries before a bad one are written, those after it are not. */
static void import_stops_at_failing_entry(void **state)
{
    static const char yaml[] = "subscribers:\n"
                               "  - impi: a@x\n    password: p\n    sets: [{impus: [sip:a@x]}]\n"
                               "  - impi: b@x\n    password: p\n    sets: [{impus: [sip:a@x]}]\n"
                               "  - impi: c@x\n    password: p\n    sets: [{impus: [sip:c@x]}]\n";
    struct store *st = st_of(state);
    struct store_sub s;
    char err[256] = "";
    size_t n = 0;

    assert_int_equal(store_import_yaml(st, yaml, strlen(yaml), &n, err, sizeof(err)), EINVAL);
    assert_int_equal(n, 1);
    assert_non_null(strstr(err, "line 5: impi: b@x: an IMPU or IMPI belongs to another"));
    assert_int_equal(st->api->sub_get(st, "a@x", &s), 0);
    assert_int_equal(st->api->sub_get(st, "b@x", &s), ENOENT);
    assert_int_equal(st->api->sub_get(st, "c@x", &s), ENOENT);
}

/* HA1 values given in hex (any case) are stored lower-case; OPc given as is; flags, S-CSCF,
 * barred and iFC come through. */
static void import_ha1_opc_flags_ifc(void **state)
{
    static const char yaml[] =
        "subscribers:\n"
        "  - impi: e@ims.example\n"
        "    ha1_md5: 0123456789ABCDEF0123456789abcdef\n"
        "    aka: {k: 00112233445566778899aabbccddeeff, opc: ffeeddccbbaa99887766554433221100,"
        " amf: \"8001\", sqn: 42}\n"
        "    realm: other.example\n"
        "    identity_blocking: true\n"
        "    user_by_policy: true\n"
        "    scscf: sip:127.0.0.1:6060\n"
        "    sets:\n"
        "      - impus: [sip:e@ims.example, {uri: tel:+15551000005, display: E}]\n"
        "    barred: [tel:+15551000005]\n"
        "    ifc:\n"
        "      - {method: SUBSCRIBE, event: presence, case: term, as: sip:127.0.0.1:5065,"
        " priority: 2}\n"
        "      - {method: MESSAGE, event: \"\", case: orig, as: sip:127.0.0.1:7060, priority: 1}\n";
    struct store *st = st_of(state);
    struct store_sub s;
    char err[256] = "";
    size_t n = 0;

    assert_int_equal(store_import_yaml(st, yaml, strlen(yaml), &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(st->api->sub_get(st, "e@ims.example", &s), 0);
    assert_string_equal(s.impis[0].ha1_md5, "0123456789abcdef0123456789abcdef");
    assert_string_equal(s.impis[0].ha1_sha256, "");
    assert_string_equal(s.impis[0].realm, "other.example");
    assert_true(s.impis[0].aka);
    assert_int_equal(s.impis[0].opc[0], 0xff);
    assert_int_equal(s.impis[0].amf[1], 0x01);
    assert_int_equal(s.impis[0].sqn, 42);
    assert_true(s.identity_blocking);
    assert_true(s.user_by_policy);
    assert_string_equal(s.scscf, "sip:127.0.0.1:6060");
    assert_false(s.sets[0].impus[0].barred);
    assert_true(s.sets[0].impus[1].barred);
    assert_string_equal(s.sets[0].impus[1].display, "E");
    assert_int_equal(s.nifc, 2);
    assert_string_equal(s.ifc[0].method, "MESSAGE");
    assert_int_equal(s.ifc[1].scase, STORE_CASE_TERM);
    assert_string_equal(s.ifc[1].event, "presence");
}

static void import_empty(void **state)
{
    struct store *st = st_of(state);
    size_t n = 9;
    char err[64];

    assert_int_equal(store_import_yaml(st, "", 0, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_import_yaml(st, "subscribers:\n", 13, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_import_yaml(st, "subscribers: []\n", 16, &n, NULL, 0), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(import_lab_file, store_fixture_setup, store_fixture_teardown),
    cmocka_unit_test_setup_teardown(import_errors_name_line_and_key, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(import_stops_at_failing_entry, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(import_ha1_opc_flags_ifc, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(import_empty, store_fixture_setup, store_fixture_teardown),
};

SV_TEST_MAIN(tests)
