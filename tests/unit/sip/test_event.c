/**
 * @file test_event.c  Event and Subscription-State (RFC 6665 §8.4, §4.1.3; RFC 3680 reg,
 * RFC 3857 winfo).
 */
#include <errno.h>
#include <stdlib.h>

#include "svtest.h"
#include <sipveil/sip.h>

/* ---------------------------------------------------------------------------------------- */
/* Event                                                                                      */

static void event_package_only(void **state)
{
    struct sip_event ev;

    assert_int_equal(sip_event_decode(&ev, sv_test_heap("presence")), 0);
    assert_slice_equal(ev.type, "presence");
    assert_slice_equal(ev.package, "presence");
    assert_non_null(ev.templ.p);
    assert_int_equal(ev.templ.l, 0);
    assert_slice_unset(ev.id);
    assert_non_null(ev.params.p);
    assert_int_equal(ev.params.l, 0);
}

/* RFC 3857: the winfo template package */
static void event_template(void **state)
{
    struct sip_event ev;

    assert_int_equal(sip_event_decode(&ev, sv_test_heap("presence.winfo")), 0);
    assert_slice_equal(ev.type, "presence.winfo");
    assert_slice_equal(ev.package, "presence");
    assert_slice_equal(ev.templ, "winfo");
}

/* event-type = package *("." template): templates can be stacked */
static void event_stacked_templates(void **state)
{
    struct sip_event ev;

    assert_int_equal(sip_event_decode(&ev, sv_test_heap("presence.winfo.winfo")), 0);
    assert_slice_equal(ev.package, "presence");
    assert_slice_equal(ev.templ, "winfo.winfo");
}

/* RFC 6665 §8.2.3 / RFC 3515: the id parameter (refer;id=...) */
static void event_id(void **state)
{
    struct sip_event ev;
    struct sv_slice v;

    assert_int_equal(sip_event_decode(&ev, sv_test_heap("refer;id=93809824")), 0);
    assert_slice_equal(ev.type, "refer");
    assert_slice_equal(ev.id, "93809824");
    assert_slice_equal(ev.params, ";id=93809824");

    assert_int_equal(sip_event_decode(&ev, sv_test_heap("dialog;foo=bar;ID=x.y-z;flag")), 0);
    assert_slice_equal(ev.id, "x.y-z");
    assert_slice_equal(ev.params, ";foo=bar;ID=x.y-z;flag");
    assert_true(sip_param_get(ev.params, "foo", &v));
    assert_slice_equal(v, "bar");
}

/* TS 24.229 §5.1.1.3: the IMS reg event package */
static void event_ims_reg(void **state)
{
    struct sip_event ev;

    assert_int_equal(sip_event_decode(&ev, sv_test_heap("reg")), 0);
    assert_slice_equal(ev.package, "reg");
    assert_slice_unset(ev.id);
}

static void event_lws_folded(void **state)
{
    struct sip_event ev;

    assert_int_equal(sip_event_decode(&ev, sv_test_heap("  presence ;\r\n id = 1 ; x=\"a;b\"  ")),
                     0);
    assert_slice_equal(ev.type, "presence");
    assert_slice_equal(ev.id, "1");
    assert_slice_equal(ev.params, ";\r\n id = 1 ; x=\"a;b\"");
}

static void event_malformed(void **state)
{
    static const char *const in[] = {
        "",
        "  ",
        ".presence",
        "presence.",
        "presence..winfo",
        "presence;",
        "presence;;id=1",
        "pres ence",
        "presence,dialog",
        "presence/winfo",
        "\"presence\"",
        "presence;x=\"unterminated",
        ";id=1",
    };
    struct sip_event ev;

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        if (sip_event_decode(&ev, sv_test_heap(in[i])) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
}

/* The id tells subscriptions apart: it must be one token, given once */
static void event_id_malformed(void **state)
{
    static const char *const in[] = {
        "presence;id",        "presence;id=",       "presence;id=\"1\"",
        "presence;id=1;id=2", "presence;id=1;ID=1", "presence;id=[::1]",
    };
    struct sip_event ev = {.type = SV_LIT("kept")};

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        if (sip_event_decode(&ev, sv_test_heap(in[i])) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
    assert_slice_equal(ev.type, "kept");
}

/* ---------------------------------------------------------------------------------------- */
/* Subscription-State                                                                         */

static void substate_active_expires(void **state)
{
    struct sip_substate ss;

    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("active;expires=3600")), 0);
    assert_slice_equal(ss.value, "active");
    assert_int_equal(ss.state, SIP_SUBSTATE_ACTIVE);
    assert_true(ss.has_expires);
    assert_int_equal(ss.expires, 3600);
    assert_false(ss.has_retry_after);
    assert_slice_unset(ss.reason);
    assert_slice_equal(ss.params, ";expires=3600");
}

static void substate_pending(void **state)
{
    struct sip_substate ss;

    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("pending")), 0);
    assert_int_equal(ss.state, SIP_SUBSTATE_PENDING);
    assert_false(ss.has_expires);
    assert_non_null(ss.params.p);
    assert_int_equal(ss.params.l, 0);
}

/* RFC 6665 §4.1.3: terminated with reason and retry-after */
static void substate_terminated_reason(void **state)
{
    struct sip_substate ss;

    assert_int_equal(
        sip_substate_decode(&ss, sv_test_heap("terminated;reason=timeout;retry-after=120")), 0);
    assert_int_equal(ss.state, SIP_SUBSTATE_TERMINATED);
    assert_slice_equal(ss.reason, "timeout");
    assert_true(ss.has_retry_after);
    assert_int_equal(ss.retry_after, 120);
    assert_false(ss.has_expires);

    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("terminated;reason=deactivated")), 0);
    assert_slice_equal(ss.reason, "deactivated");
    assert_int_equal(
        sip_substate_decode(&ss, sv_test_heap("terminated;reason=my-extension.reason")), 0);
    assert_slice_equal(ss.reason, "my-extension.reason");
}

/* extension-substate = token; unknown params are generic-params */
static void substate_extension(void **state)
{
    struct sip_substate ss;
    struct sv_slice v;

    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("waiting;foo=bar;expires=10")), 0);
    assert_slice_equal(ss.value, "waiting");
    assert_int_equal(ss.state, SIP_SUBSTATE_OTHER);
    assert_int_equal(ss.expires, 10);
    assert_true(sip_param_get(ss.params, "foo", &v));
    assert_slice_equal(v, "bar");
}

static void substate_case_and_lws(void **state)
{
    struct sip_substate ss;

    assert_int_equal(
        sip_substate_decode(&ss, sv_test_heap(" ACTIVE ;\r\n Expires = 10 ;REASON=x ")), 0);
    assert_int_equal(ss.state, SIP_SUBSTATE_ACTIVE);
    assert_slice_equal(ss.value, "ACTIVE");
    assert_int_equal(ss.expires, 10);
    assert_slice_equal(ss.reason, "x");
}

/* delta-seconds must fit 32 bits */
static void substate_expires_boundary(void **state)
{
    struct sip_substate ss;

    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("active;expires=0")), 0);
    assert_int_equal(ss.expires, 0);
    assert_true(ss.has_expires);
    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("active;expires=4294967295")), 0);
    assert_int_equal(ss.expires, UINT32_MAX);
    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("active;expires=4294967296")), EBADMSG);
    assert_int_equal(
        sip_substate_decode(&ss, sv_test_heap("active;expires=99999999999999999999999")), EBADMSG);
    assert_int_equal(sip_substate_decode(&ss, sv_test_heap("terminated;retry-after=4294967296")),
                     EBADMSG);
}

static void substate_malformed(void **state)
{
    static const char *const in[] = {
        "",
        ";expires=1",
        "active;",
        "active expires=1",
        "active;expires",
        "active;expires=",
        "active;expires=-1",
        "active;expires=1.5",
        "active;expires=\"10\"",
        "active;expires=1;expires=2",
        "terminated;reason",
        "terminated;reason=\"timeout\"",
        "terminated;reason=a;reason=b",
        "terminated;retry-after=x",
        "terminated;retry-after=1;retry-after=1",
        "act ive",
        "active,pending",
    };
    struct sip_substate ss = {.value = SV_LIT("kept")};

    for (size_t i = 0; i < SV_ARRAY_SIZE(in); i++) {
        if (sip_substate_decode(&ss, sv_test_heap(in[i])) != EBADMSG) {
            print_error("accepted \"%s\"\n", in[i]);
            fail();
        }
    }
    assert_slice_equal(ss.value, "kept");
}

/* Both decoders on one prefix of full[*k]; the whole of full[0] is an Event, of full[1] a
 * Subscription-State. */
static void event_prefix(struct sv_slice in, bool whole, void *ctx)
{
    const size_t *k = ctx;
    struct sip_event ev;
    struct sip_substate ss;
    int e1 = sip_event_decode(&ev, in), e2 = sip_substate_decode(&ss, in);

    assert_true(e1 == 0 || e1 == EBADMSG);
    assert_true(e2 == 0 || e2 == EBADMSG);
    if (whole) {
        assert_int_equal(*k == 0 ? e1 : e2, 0);
    }
}

/* Every prefix, in exact-size heap blocks: no read past the end. */
static void event_every_prefix_stays_in_bounds(void **state)
{
    static const char *const full[] = {
        " presence.winfo ;\r\n id = 1 ; x=\"a;b\";y ",
        "terminated ; reason=timeout;retry-after=4294967295 ;expires=1",
    };

    for (size_t k = 0; k < SV_ARRAY_SIZE(full); k++)
        sv_test_every_prefix(full[k], event_prefix, &k);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(event_package_only),
    cmocka_unit_test(event_template),
    cmocka_unit_test(event_stacked_templates),
    cmocka_unit_test(event_id),
    cmocka_unit_test(event_ims_reg),
    cmocka_unit_test(event_lws_folded),
    cmocka_unit_test(event_malformed),
    cmocka_unit_test(event_id_malformed),
    cmocka_unit_test(substate_active_expires),
    cmocka_unit_test(substate_pending),
    cmocka_unit_test(substate_terminated_reason),
    cmocka_unit_test(substate_extension),
    cmocka_unit_test(substate_case_and_lws),
    cmocka_unit_test(substate_expires_boundary),
    cmocka_unit_test(substate_malformed),
    cmocka_unit_test(event_every_prefix_stays_in_bounds),
};

SV_TEST_MAIN(tests)
