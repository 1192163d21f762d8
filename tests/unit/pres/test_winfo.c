/**
 * @file test_winfo.c  watcherinfo documents (RFC 3858): TC-29's anonymous watcher (R99),
 * states, events, versions, escaping, and the random ids.
 */
#include "svtest_pres.h"

#define WINFO_HEAD(ver, state)                                                                     \
    XML_DECL "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"" ver            \
             "\" state=\"" state "\">"
#define LIST_HEAD "<watcher-list resource=\"sip:alice@home1.net\" package=\"presence\">"

static struct sv_slice render(uint32_t version, bool full, const struct pres_winfo_watcher *w,
                              size_t n)
{
    struct pres_winfo_list l = {SV_LIT("sip:alice@home1.net"), SV_LIT("presence"), w, n};
    struct sv_slice out = {NULL, 0};
    struct _xmlDoc *doc = NULL;

    assert_int_equal(pres_winfo_render(version, full, &l, 1, sv_test_arena(), &out), 0);
    assert_int_equal(pres_xml_parse(out, &doc), 0); /* well-formed, within our own caps */
    pres_xml_free(doc);
    return out;
}

/* TC-29, R99: the presentity sees the anonymous URI, the random id, no display name, and no
 * trace of who Bob is, whatever the caller put in the struct. */
static void tc29_anonymous_watcher(void **state)
{
    char id[PRES_WINFO_ID_LEN + 1], want[1024];
    struct pres_winfo_watcher w = {
        .uri = SV_LIT("sip:bob@home2.net"),
        .display_name = SV_LIT("Bob Smith"),
        .anonymous = true,
        .status = PRES_WINFO_PENDING,
        .event = PRES_WINFO_EV_SUBSCRIBE,
        .duration_s = 0,
    };
    struct sv_slice out;

    assert_int_equal(pres_winfo_id_make(id), 0);
    w.id = sv_slice_cstr(id);
    out = render(0, true, &w, 1);
    snprintf(want, sizeof(want),
             WINFO_HEAD("0", "full") LIST_HEAD "<watcher id=\"%s\" status=\"pending\" "
                                               "event=\"subscribe\">sip:anonymous@anonymous."
                                               "invalid</watcher></watcher-list></watcherinfo>\n",
             id);
    sv_test_expect_bytes(out.p, out.l, want);
    assert_false(slice_has(out, "bob"));
    assert_false(slice_has(out, "Bob"));
    assert_false(slice_has(out, "display-name"));
}

/* R99: an anonymous watcher is told apart by its id only, so it must have one. */
static void r99_anonymous_needs_id(void **state)
{
    struct pres_winfo_watcher w = {.anonymous = true};
    struct pres_winfo_list l = {SV_LIT("sip:alice@home1.net"), SV_LIT("presence"), &w, 1};
    struct sv_slice out;

    assert_int_equal(pres_winfo_render(0, true, &l, 1, sv_test_arena(), &out), EINVAL);
}

static void winfo_states_events_and_partial(void **state)
{
    static const char *const st[] = {"pending", "active", "waiting", "terminated"};
    static const char *const ev[] = {"subscribe", "approved", "deactivated", "probation",
                                     "rejected",  "timeout",  "giveup",      "noresource"};
    struct pres_winfo_watcher w[8];
    char attr[64];
    struct sv_slice out;

    for (size_t i = 0; i < 8; i++) {
        w[i] = (struct pres_winfo_watcher){
            .id = SV_LIT("w"),
            .uri = SV_LIT("sip:carol@example.org"),
            .status = (enum pres_winfo_status)(i % 4),
            .event = (enum pres_winfo_event)i,
        };
    }
    out = render(7, false, w, 8);
    assert_true(slice_has(out, "version=\"7\" state=\"partial\""));
    for (size_t i = 0; i < 8; i++) {
        snprintf(attr, sizeof(attr), "status=\"%s\" event=\"%s\"", st[i % 4], ev[i]);
        assert_true(slice_has(out, attr));
    }
    w[0].event = (enum pres_winfo_event)8;
    {
        struct pres_winfo_list l = {SV_LIT("sip:a@b"), SV_LIT("presence"), w, 1};

        assert_int_equal(pres_winfo_render(0, true, &l, 1, sv_test_arena(), &out), EINVAL);
        w[0].event = PRES_WINFO_EV_SUBSCRIBE;
        w[0].status = (enum pres_winfo_status)4;
        assert_int_equal(pres_winfo_render(0, true, &l, 1, sv_test_arena(), &out), EINVAL);
    }
}

/* A named watcher: display name and URI are escaped, duration is written when known. */
static void winfo_named_watcher_escaped(void **state)
{
    struct pres_winfo_watcher w = {
        .id = SV_LIT("c1"),
        .uri = SV_LIT("sip:carol@example.org;x=<&>"),
        .display_name = SV_LIT("Carol \"&\" <Co>"),
        .status = PRES_WINFO_ACTIVE,
        .event = PRES_WINFO_EV_APPROVED,
        .duration_s = 3600,
    };
    struct sv_slice out = render(1, true, &w, 1);

    sv_test_expect_bytes(out.p, out.l,
                         WINFO_HEAD("1", "full") LIST_HEAD
                         "<watcher id=\"c1\" status=\"active\" event=\"approved\" "
                         "display-name=\"Carol &quot;&amp;&quot; &lt;Co&gt;\" "
                         "duration-subscribed=\"3600\">sip:carol@example.org;x=&lt;&amp;&gt;"
                         "</watcher></watcher-list></watcherinfo>\n");
}

/* Several lists, and an empty one (a full state with no watchers). */
static void winfo_lists(void **state)
{
    struct pres_winfo_watcher w = {.id = SV_LIT("i"), .uri = SV_LIT("sip:a@b")};
    struct pres_winfo_list l[2] = {
        {SV_LIT("sip:alice@home1.net"), SV_LIT("presence"), NULL, 0},
        {SV_LIT("sip:alice@home1.net"), SV_LIT("presence.winfo"), &w, 1},
    };
    struct sv_slice out;

    assert_int_equal(pres_winfo_render(2, true, l, 2, sv_test_arena(), &out), 0);
    assert_true(slice_has(out, LIST_HEAD "</watcher-list>") ||
                slice_has(out, "<watcher-list resource=\"sip:alice@home1.net\" "
                               "package=\"presence\"/>"));
    assert_true(slice_has(out, "package=\"presence.winfo\"><watcher id=\"i\""));
    assert_int_equal(pres_winfo_render(0, true, NULL, 0, sv_test_arena(), &out), 0);
    assert_true(slice_has(out, "state=\"full\"/>"));
    l[0].resource = sv_slice_make(NULL, 0);
    assert_int_equal(pres_winfo_render(0, true, l, 2, sv_test_arena(), &out), EINVAL);
    assert_int_equal(pres_winfo_render(0, true, l, 2, NULL, &out), EINVAL);
}

/* R99: ids are random, of the documented shape, and differ between subscriptions. */
static void r99_random_ids(void **state)
{
    char seen[64][PRES_WINFO_ID_LEN + 1];

    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(pres_winfo_id_make(seen[i]), 0);
        assert_int_equal(strlen(seen[i]), PRES_WINFO_ID_LEN);
        assert_true(seen[i][0] >= 'a' && seen[i][0] <= 'z');
        for (size_t k = 1; k < PRES_WINFO_ID_LEN; k++)
            assert_true((seen[i][k] >= 'a' && seen[i][k] <= 'z') ||
                        (seen[i][k] >= '0' && seen[i][k] <= '9'));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(tc29_anonymous_watcher, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r99_anonymous_needs_id, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(winfo_states_events_and_partial, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(winfo_named_watcher_escaped, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(winfo_lists, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test(r99_random_ids),
};

SV_TEST_MAIN(tests)
