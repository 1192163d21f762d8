/**
 * @file test_rules.c  pres-rules evaluation, table-driven: one row per case, each naming the
 * requirement or the Kamailio pitfall it pins (R92-R97, R100, R102, R103, TC-29..TC-33).
 */
#include "svtest_pres.h"

/* ---- documents --------------------------------------------------------------------------- */

/* Kamailio takes the first matching rule: here it would answer "confirm" to Bob. */
#define DOC_ORDER                                                                                  \
    RULESET(RULE("dom", "<cp:identity><cp:many domain=\"home2.net\"/></cp:identity>",              \
                 SH("confirm"), "") RULE("bob", ONE("sip:bob@home2.net"), SH("allow"), ""))
#define DOC_ORDER_REV                                                                              \
    RULESET(RULE("bob", ONE("sip:bob@home2.net"), SH("allow"), "") RULE(                           \
        "dom", "<cp:identity><cp:many domain=\"home2.net\"/></cp:identity>", SH("confirm"), ""))
/* A block rule never lowers what another rule allows: the maximum wins. */
#define DOC_BLOCK_AND_ALLOW                                                                        \
    RULESET(RULE("blk", ONE("sip:bob@home2.net"), SH("block"), "") RULE("all", "", SH("allow"), ""))
#define DOC_DOMAIN                                                                                 \
    RULESET(RULE("d", "<cp:identity><cp:many domain=\"example.com\"/></cp:identity>", SH("allow"), \
                 ""))
#define DOC_EXCEPT                                                                                 \
    RULESET(RULE("d",                                                                              \
                 "<cp:identity><cp:many domain=\"example.com\">"                                   \
                 "<cp:except id=\"sip:eve@example.com\"/></cp:many></cp:identity>",                \
                 SH("allow"), ""))
#define DOC_EXCEPT_DOMAIN                                                                          \
    RULESET(RULE("any",                                                                            \
                 "<cp:identity><cp:many><cp:except domain=\"example.com\"/>"                       \
                 "<cp:except id=\"sip:mallory@home2.net\"/></cp:many></cp:identity>",              \
                 SH("allow"), ""))
#define DOC_MANY /* TC-30: r2 replaced by "many" */                                                \
    RULESET(RULE("r1", ONE("sip:bob@home2.net"), SH("allow"), "")                                  \
                RULE("r2", "<cp:identity><cp:many/></cp:identity>", SH("allow"), "")               \
                    RULE("r3", ONE("sip:dave@home2.net"), SH("polite-block"), ""))
#define DOC_VALIDITY                                                                               \
    RULESET(RULE("v",                                                                              \
                 ONE("sip:bob@home2.net") "<cp:validity><cp:from>2026-01-01T00:00:00Z</cp:from>"   \
                                          "<cp:until>2026-01-02T01:00:00+01:00</cp:until>"         \
                                          "<cp:from>2026-06-01T00:00:00Z</cp:from>"                \
                                          "<cp:until>2026-06-01T00:00:10Z</cp:until>"              \
                                          "</cp:validity>",                                        \
                 SH("allow"), ""))
#define T_FROM 1767225600  /* 2026-01-01T00:00:00Z */
#define T_UNTIL 1767312000 /* 2026-01-02T00:00:00Z */
#define T_JUNE 1780272000  /* 2026-06-01T00:00:00Z */
#define DOC_OMA            /* the OMA default set: block anonymous, confirm the unlisted */        \
    RULESET(RULE("anon", "<ocp:anonymous-request/>", SH("block"), "")                              \
                RULE("other", "<ocp:other-identity/>", SH("confirm"), "")                          \
                    RULE("bob", ONE("sip:bob@home2.net"), SH("allow"), ""))
#define DOC_SPHERE                                                                                 \
    RULESET(RULE("s", "<cp:sphere value=\"work  home\"/>", SH("allow"), "")                        \
                RULE("base", "", SH("confirm"), ""))
#define DOC_NOCOND RULESET(RULE("all", "", SH("polite-block"), ""))
#define DOC_NOSH                                                                                   \
    RULESET(RULE("t", ONE("sip:bob@home2.net"), "", "<pr:provide-note>true</pr:provide-note>"))
#define DOC_UNKNOWN_COND                                                                           \
    RULESET(RULE("u", "<x:moon-phase xmlns:x=\"urn:x\">full</x:moon-phase>", SH("allow"), "")      \
                RULE("ok", "", SH("confirm"), ""))
#define HA1 "6a1fd1c3e6ff6e9a1c3f17b0f1e65b8e0f3c04b5d7c4a8a7a3b4c1d2e3f40516"
#define HA1_OTHER "0000000000000000000000000000000000000000000000000000000000000000"
/* TC-33: r1 carries a password for Bob. */
#define DOC_PASSWORD                                                                               \
    RULESET(RULE("r1", ONE("sip:bob@home2.net") "<wa:password>" HA1 "</wa:password>", SH("allow"), \
                 "") RULE("r2", "<ocp:anonymous-request/>", SH("confirm"), "")                     \
                RULE("low", ONE("sip:bob@home2.net") "<wa:password>" HA1_OTHER "</wa:password>",   \
                     SH("confirm"), ""))
#define KEY_B64 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define DOC_GRANT                                                                                  \
    RULESET(RULE("g", "<wa:grant-key>" KEY_B64 "</wa:grant-key>", SH("allow"), "")                 \
                RULE("base", "", SH("block"), ""))

/* ---- the table ------------------------------------------------------------------------- */

/* The proof callbacks: a row says which HA1 and which key the watcher "proved". */
struct proof {
    const char *ha1;
    bool grant;
};

static bool password_h(void *arg, struct sv_slice ha1)
{
    const struct proof *p = arg;

    return p->ha1 && ha1.l == strlen(p->ha1) && memcmp(ha1.p, p->ha1, ha1.l) == 0;
}

static bool grant_h(void *arg, const uint8_t key[PRES_GRANT_KEY_LEN])
{
    const struct proof *p = arg;
    uint8_t want[PRES_GRANT_KEY_LEN];
    size_t n;

    assert_int_equal(pres_b64_decode(SV_LIT(KEY_B64), false, want, sizeof(want), &n), 0);
    return p->grant && memcmp(key, want, sizeof(want)) == 0;
}

struct row {
    const char *name; /* the requirement or pitfall */
    const char *doc;  /* NULL: the presentity has no rules */
    const char *who;  /* asserted identity; NULL: unauthenticated */
    bool anon;
    enum pres_anon_matching am;
    int64_t now;
    const char *sphere;
    const char *pw; /* the HA1 the watcher's Digest answer matches; NULL: no Authorization */
    bool pw_presented;
    bool grant;
    enum pres_sub_handling dflt;
    enum pres_sub_handling sh;
    uint64_t rules; /* bits of the rules that matched */
    unsigned need;
};

#define BOB "sip:bob@home2.net"
#define DAVE "sip:dave@home2.net"
#define CAROL "sip:carol@example.org"
#define BL PRES_SH_BLOCK
#define CO PRES_SH_CONFIRM
#define PB PRES_SH_POLITE_BLOCK
#define AL PRES_SH_ALLOW

static const struct row rows[] = {
    /* The fixture of §2.9 (TC-29..TC-31). */
    {"tc29 anonymous Bob, AS_ANONYMOUS: r2 confirm, r1 unused", TC_RULES, BOB, true,
     PRES_ANON_AS_ANONYMOUS, .dflt = BL, .sh = CO, .rules = 0x2},
    {"tc29 anonymous Bob, BY_ASSERTED_ID: r1 allow and r2 confirm, max allow", TC_RULES, BOB, true,
     PRES_ANON_BY_ASSERTED_ID, .dflt = BL, .sh = AL, .rules = 0x3},
    {"tc29 anonymous and unauthenticated", TC_RULES, NULL, true, .dflt = BL, .sh = CO,
     .rules = 0x2},
    {"r95 Bob identified: allow", TC_RULES, BOB, .dflt = BL, .sh = AL, .rules = 0x1},
    {"tc31 Dave: polite-block", TC_RULES, DAVE, .dflt = BL, .sh = PB, .rules = 0x4},
    {"r93 Carol, no rule: block by default", TC_RULES, CAROL, .dflt = BL, .sh = BL},
    {"r93 Carol, no rule: the deployment's default", TC_RULES, CAROL, .dflt = CO, .sh = CO},
    {"r93 no rules document at all", NULL, BOB, .dflt = BL, .sh = BL},
    {"tc30 unauthenticated, many is for the authenticated", DOC_MANY, NULL, .dflt = BL, .sh = BL},
    {"tc30 authenticated stranger, many allows", DOC_MANY, CAROL, .dflt = BL, .sh = AL,
     .rules = 0x2},
    {"r94 many with an anonymous request (OP-9)", DOC_MANY, CAROL, true, .dflt = BL, .sh = BL},
    /* Combination: maximum, not first match. */
    {"kamailio first-match: domain confirm then Bob allow", DOC_ORDER, BOB, .dflt = BL, .sh = AL,
     .rules = 0x3},
    {"kamailio first-match: order does not matter", DOC_ORDER_REV, BOB, .dflt = BL, .sh = AL,
     .rules = 0x3},
    {"combination: other home2 user gets confirm", DOC_ORDER, "sip:zed@home2.net", .dflt = BL,
     .sh = CO, .rules = 0x1},
    {"combination: block does not lower allow", DOC_BLOCK_AND_ALLOW, BOB, .dflt = BL, .sh = AL,
     .rules = 0x3},
    /* Identity matching. */
    {"one: host case-insensitive", TC_RULES, "sip:bob@HOME2.NET", .dflt = BL, .sh = AL,
     .rules = 0x1},
    {"one: user case-sensitive", TC_RULES, "sip:Bob@home2.net", .dflt = BL, .sh = BL},
    {"one: sips is another identity", TC_RULES, "sips:bob@home2.net", .dflt = BL, .sh = BL},
    {"one: a prefix is another identity", TC_RULES, "sip:bo@home2.net", .dflt = BL, .sh = BL},
    {"one: undecodable identity compares as text", TC_RULES, "bob", .dflt = BL, .sh = BL},
    {"kamailio domain suffix: evil-example.com", DOC_DOMAIN, "sip:x@evil-example.com", .dflt = BL,
     .sh = BL},
    {"domain: a subdomain is another domain", DOC_DOMAIN, "sip:x@a.example.com", .dflt = BL,
     .sh = BL},
    {"domain: example.com.evil", DOC_DOMAIN, "sip:x@example.com.evil", .dflt = BL, .sh = BL},
    {"domain: exact, any case", DOC_DOMAIN, "sip:x@EXAMPLE.com", .dflt = BL, .sh = AL,
     .rules = 0x1},
    {"domain: tel has none", DOC_DOMAIN, "tel:+4930111001", .dflt = BL, .sh = BL},
    {"except: the excepted id", DOC_EXCEPT, "sip:eve@example.com", .dflt = BL, .sh = BL},
    {"except off-by-one: eve2 is not eve", DOC_EXCEPT, "sip:eve2@example.com", .dflt = BL, .sh = AL,
     .rules = 0x1},
    {"except off-by-one: ev is not eve", DOC_EXCEPT, "sip:ev@example.com", .dflt = BL, .sh = AL,
     .rules = 0x1},
    {"except domain: excepted", DOC_EXCEPT_DOMAIN, "sip:x@example.com", .dflt = BL, .sh = BL},
    {"except domain: longer domain not excepted", DOC_EXCEPT_DOMAIN, "sip:x@notexample.com",
     .dflt = BL, .sh = AL, .rules = 0x1},
    {"except id inside many without domain", DOC_EXCEPT_DOMAIN, "sip:mallory@home2.net", .dflt = BL,
     .sh = BL},
    /* Validity: [from, until), any interval, time zones. */
    {"validity: before from", DOC_VALIDITY, BOB, .now = T_FROM - 1, .dflt = BL, .sh = BL},
    {"validity: at from", DOC_VALIDITY, BOB, .now = T_FROM, .dflt = BL, .sh = AL, .rules = 1},
    {"validity: just before until", DOC_VALIDITY, BOB, .now = T_UNTIL - 1, .dflt = BL, .sh = AL,
     .rules = 1},
    {"validity: at until (+01:00 zone)", DOC_VALIDITY, BOB, .now = T_UNTIL, .dflt = BL, .sh = BL},
    {"validity: second interval", DOC_VALIDITY, BOB, .now = T_JUNE + 9, .dflt = BL, .sh = AL,
     .rules = 1},
    {"validity: after second interval", DOC_VALIDITY, BOB, .now = T_JUNE + 10, .dflt = BL,
     .sh = BL},
    /* OMA conditions (R96). */
    {"oma: anonymous blocked", DOC_OMA, BOB, true, .dflt = AL, .sh = BL, .rules = 0x1},
    {"oma: unlisted confirmed", DOC_OMA, CAROL, .dflt = BL, .sh = CO, .rules = 0x2},
    {"oma: listed allowed, other-identity not matching", DOC_OMA, BOB, .dflt = BL, .sh = AL,
     .rules = 0x4},
    {"oma: unauthenticated is not other-identity", DOC_OMA, NULL, .dflt = BL, .sh = BL},
    {"oma: anonymous, BY_ASSERTED_ID: still anonymous-request", DOC_OMA, BOB, true,
     PRES_ANON_BY_ASSERTED_ID, .dflt = BL, .sh = AL, .rules = 0x5},
    /* Sphere. */
    {"sphere: in the list", DOC_SPHERE, BOB, .sphere = "home", .dflt = BL, .sh = AL, .rules = 0x3},
    {"sphere: any case", DOC_SPHERE, BOB, .sphere = "WORK", .dflt = BL, .sh = AL, .rules = 0x3},
    {"sphere: not in the list", DOC_SPHERE, BOB, .sphere = "party", .dflt = BL, .sh = CO,
     .rules = 0x2},
    {"sphere: a prefix of a token", DOC_SPHERE, BOB, .sphere = "wor", .dflt = BL, .sh = CO,
     .rules = 0x2},
    {"sphere: unknown", DOC_SPHERE, BOB, .dflt = BL, .sh = CO, .rules = 0x2},
    /* Rules without conditions or without sub-handling; unknown conditions. */
    {"r94 no conditions: everybody, even anonymous", DOC_NOCOND, NULL, true, .dflt = BL, .sh = PB,
     .rules = 0x1},
    {"r93 matching rule without sub-handling: default", DOC_NOSH, BOB, .dflt = CO, .sh = CO,
     .rules = 0x1},
    {"rfc4745 unknown condition: rule does not match", DOC_UNKNOWN_COND, BOB, .dflt = BL, .sh = CO,
     .rules = 0x2},
    /* Watcher password (R102, TC-33). */
    {"tc33 no Authorization: challenge", DOC_PASSWORD, BOB, .dflt = BL, .sh = BL,
     .need = PRES_NEED_PASSWORD},
    {"tc33 wrong answer: r1 does not match", DOC_PASSWORD, BOB, .pw = HA1_OTHER,
     .pw_presented = true, .dflt = BL, .sh = CO, .rules = 0x4, .need = PRES_NEED_PASSWORD},
    {"tc33 right answer: allow", DOC_PASSWORD, BOB, .pw = HA1, .pw_presented = true, .dflt = BL,
     .sh = AL, .rules = 0x1},
    {"r102 password rules of others never ask", DOC_PASSWORD, CAROL, .dflt = BL, .sh = BL},
    {"r102 anonymous: r2 confirm, no identity to prove", DOC_PASSWORD, BOB, true, .dflt = BL,
     .sh = CO, .rules = 0x2},
    /* Watcher grant (R103). */
    {"r103 no grant: block, ask for one", DOC_GRANT, BOB, .dflt = BL, .sh = BL, .rules = 0x2,
     .need = PRES_NEED_GRANT},
    {"r103 valid grant: allow", DOC_GRANT, BOB, .grant = true, .dflt = BL, .sh = AL, .rules = 0x3},
    {"r103 grant with anonymous request", DOC_GRANT, NULL, true, .grant = true, .dflt = BL,
     .sh = AL, .rules = 0x3},
};

static void run_row(const struct row *r)
{
    struct pres_rules *rs = r->doc ? rules_ok(r->doc) : NULL;
    struct proof pf = {r->pw, r->grant};
    struct pres_watcher w = {
        .identity = r->who ? sv_slice_cstr(r->who) : sv_slice_make(NULL, 0),
        .anonymous = r->anon,
        .anon_matching = r->am,
        .now = r->now ? r->now : T_FROM,
        .sphere = r->sphere ? sv_slice_cstr(r->sphere) : sv_slice_make(NULL, 0),
        .password_h = r->pw_presented ? password_h : NULL,
        .grant_h = r->grant ? grant_h : NULL,
        .arg = &pf,
    };
    struct pres_decision d;

    assert_int_equal(pres_rules_eval(rs, &w, r->dflt, &d), 0);
    if (d.sh != r->sh || d.rules != r->rules || d.need != r->need) {
        print_error("%s: sh %s (want %s), rules %#llx (want %#llx), need %u (want %u)\n", r->name,
                    pres_sub_handling_name(d.sh), pres_sub_handling_name(r->sh),
                    (unsigned long long)d.rules, (unsigned long long)r->rules, d.need, r->need);
        fail();
    }
    if (d.rules == 0)
        assert_true(d.sh_default);
    sv_deref(rs);
}

static void r93_rules_table(void **state)
{
    for (size_t i = 0; i < SV_ARRAY_SIZE(rows); i++)
        run_row(&rows[i]);
}

/* The same table with the rules of every document reversed would give the same answers; the
 * two order cases above pin that. Here: transformations are a union of bits. */
static void rfc4745_provide_bits_union(void **state)
{
    struct pres_rules *rs = rules_ok(
        RULESET(RULE("a", "", SH("confirm"), "<pr:provide-note>true</pr:provide-note>")
                    RULE("b", ONE(BOB), SH("allow"),
                         "<pr:provide-activities>true</pr:provide-activities>"
                         "<pr:provide-mood>false</pr:provide-mood>"
                         "<pr:provide-services><pr:all-services/></pr:provide-services>")));
    struct pres_watcher w = {.identity = SV_LIT(BOB)};
    struct pres_decision d;

    assert_int_equal(pres_rules_eval(rs, &w, PRES_SH_BLOCK, &d), 0);
    assert_int_equal(d.sh, PRES_SH_ALLOW);
    assert_int_equal(d.provide,
                     PRES_PROVIDE_NOTE | PRES_PROVIDE_ACTIVITIES | PRES_PROVIDE_ALL_SERVICES);
    w.identity = SV_LIT(CAROL);
    assert_int_equal(pres_rules_eval(rs, &w, PRES_SH_BLOCK, &d), 0);
    assert_int_equal(d.sh, PRES_SH_CONFIRM);
    assert_int_equal(d.provide, PRES_PROVIDE_NOTE);
    assert_int_equal(pres_rules_count(rs), 2);
    assert_slice_equal(pres_rules_id(rs, 1), "b");
    assert_slice_unset(pres_rules_id(rs, 2));
    sv_deref(rs);
}

/* R92, R105: what XCAP must refuse with 409 (and the PS never stores). */
static void r92_invalid_rulesets(void **state)
{
    static const char *const bad[] = {
        "<ruleset/>",                                                    /* no namespace */
        "<cp:rules xmlns:cp=\"urn:ietf:params:xml:ns:common-policy\"/>", /* wrong root */
        RULESET("<cp:rule/>"),                                           /* no id */
        RULESET("<cp:rule id=\"\"/>"),
        RULESET(RULE("a", "", "", "") RULE("a", "", "", "")), /* duplicate id */
        RULESET("<cp:other/>"),
        RULESET(RULE("a", "", SH("maybe"), "")),
        RULESET(RULE("a", "", SH("allow") SH("block"), "")),
        RULESET(RULE("a", "", SH(" allow"),
                     "x") "<cp:rule id=\"b\"><cp:actions/><cp:actions/></cp:rule>"),
        RULESET(RULE("a", "<cp:identity><cp:except id=\"sip:a@b\"/></cp:identity>", "", "")),
        RULESET(RULE("a", "<cp:identity><cp:one/></cp:identity>", "", "")),
        RULESET(RULE("a", "<cp:identity><cp:many domain=\"\"/></cp:identity>", "", "")),
        RULESET(RULE("a", "<cp:identity><cp:many><cp:except/></cp:many></cp:identity>", "", "")),
        RULESET(RULE("a",
                     "<cp:identity><cp:many><cp:except id=\"sip:a@b\" domain=\"b\"/>"
                     "</cp:many></cp:identity>",
                     "", "")),
        RULESET(RULE("a", "<cp:validity><cp:from>2026-01-01T00:00:00Z</cp:from></cp:validity>", "",
                     "")),
        RULESET(RULE("a", "<cp:validity><cp:until>2026-01-01T00:00:00Z</cp:until></cp:validity>",
                     "", "")),
        RULESET(RULE("a",
                     "<cp:validity><cp:from>tomorrow</cp:from><cp:until>2026-01-01T00:00:00Z"
                     "</cp:until></cp:validity>",
                     "", "")),
        RULESET(RULE("a", "<cp:sphere/>", "", "")),
        RULESET(RULE("a", "<wa:password>secret</wa:password>", "", "")), /* clear text */
        RULESET(RULE("a", "<wa:password>" HA1 "0</wa:password>", "", "")),
        RULESET(RULE("a", "<wa:password>" HA1 "</wa:password><wa:password>" HA1 "</wa:password>",
                     "", "")),
        RULESET(RULE("a", "<wa:grant-key>AAAA</wa:grant-key>", "", "")), /* 3 octets */
        RULESET(RULE("a", "<wa:grant-key>not base64!</wa:grant-key>", "", "")),
        RULESET(RULE("a", "<wa:colour/>", "", "")), /* our namespace, unknown element */
        RULESET(RULE("a", "", "",
                     "<pr:provide-unknown-attribute name=\"x\">true"
                     "</pr:provide-unknown-attribute>")),
        RULESET(
            RULE("a", "", "", "<pr:provide-services><pr:occurrence-id/></pr:provide-services>")),
        "<!DOCTYPE r [<!ENTITY x \"y\">]>" RULESET(""),
        RULESET("<cp:rule id=\"a\">"),
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        struct pres_rules *rs = NULL;
        int err = pres_rules_parse(&rs, sv_test_heap(bad[i]));

        if (err != EBADMSG)
            print_error("row %zu: %d\n%s\n", i, err, bad[i]);
        assert_int_equal(err, EBADMSG);
        assert_null(rs);
    }
}

static void r92_rule_count_cap(void **state)
{
    size_t sz = 64 * 1024, o;
    char *doc = malloc(sz);
    struct pres_rules *rs = NULL;

    assert_non_null(doc);
    for (int n = PRES_RULES_MAX; n <= PRES_RULES_MAX + 1; n++) {
        o = (size_t)snprintf(doc, sz, "%s",
                             "<ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\">");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(doc + o, sz - o, "<rule id=\"r%d\"/>", i);
        snprintf(doc + o, sz - o, "</ruleset>");
        rs = NULL;
        assert_int_equal(pres_rules_parse(&rs, sv_test_heap(doc)),
                         n <= PRES_RULES_MAX ? 0 : EBADMSG);
        sv_deref(rs);
    }
    free(doc);
}

/* An empty ruleset and one with foreign extensions at the usual extension points are valid. */
static void r92_valid_edges(void **state)
{
    struct pres_rules *rs = rules_ok(RULESET(""));
    struct pres_watcher w = {.identity = SV_LIT(BOB)};
    struct pres_decision d;

    assert_int_equal(pres_rules_count(rs), 0);
    assert_int_equal(pres_rules_eval(rs, &w, PRES_SH_CONFIRM, &d), 0);
    assert_int_equal(d.sh, PRES_SH_CONFIRM);
    assert_true(d.sh_default);
    sv_deref(rs);
    rs = rules_ok(RULESET("<cp:rule id=\"x\"><cp:actions><x:forward xmlns:x=\"urn:x\"/>" SH(
        "allow") "</cp:actions><cp:transformations><x:t xmlns:x=\"urn:x\"/><pr:provide-future/>"
                 "</cp:transformations></cp:rule>"));
    assert_int_equal(pres_rules_eval(rs, &w, PRES_SH_BLOCK, &d), 0);
    assert_int_equal(d.sh, PRES_SH_ALLOW);
    assert_int_equal(d.provide, 0);
    sv_deref(rs);
    /* Sub-handling names are exact, and there are four. */
    assert_string_equal(pres_sub_handling_name(PRES_SH_POLITE_BLOCK), "polite-block");
    assert_true(PRES_SH_BLOCK < PRES_SH_CONFIRM && PRES_SH_CONFIRM < PRES_SH_POLITE_BLOCK &&
                PRES_SH_POLITE_BLOCK < PRES_SH_ALLOW);
}

static void rules_api_bad_arguments(void **state)
{
    struct pres_watcher w = {.identity = sv_slice_make(NULL, 3)};
    struct pres_decision d;
    struct pres_rules *rs = NULL;

    assert_int_equal(pres_rules_eval(NULL, &w, PRES_SH_BLOCK, &d), EINVAL);
    assert_int_equal(pres_rules_eval(NULL, NULL, PRES_SH_BLOCK, &d), EINVAL);
    assert_int_equal(pres_rules_parse(NULL, SV_LIT("<a/>")), EINVAL);
    assert_int_equal(pres_rules_parse(&rs, sv_slice_make("<a/>", PRES_XML_MAX_SIZE + 1)), EMSGSIZE);
    assert_int_equal(pres_rules_count(NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(r93_rules_table),      cmocka_unit_test(rfc4745_provide_bits_union),
    cmocka_unit_test(r92_invalid_rulesets), cmocka_unit_test(r92_rule_count_cap),
    cmocka_unit_test(r92_valid_edges),      cmocka_unit_test(rules_api_bad_arguments),
};

SV_TEST_MAIN(tests)
