/**
 * @file test_decide.c  The privacy engine against the black-box cases TC-01..TC-24 of the
 * requirements digest, then the R-numbers of §1.3-§1.8 those cases leave out, then bad input.
 *
 * Every forwarding case prints the edited message with sip_msg_print and compares it with the
 * whole expected message, so each assertion shows exactly which header lines were added,
 * removed and kept. The messages are built from the line macros below; a case's input and its
 * expected output differ only in the lines the requirement is about.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "svtest_privacy.h"

/* ---- lines ------------------------------------------------------------------------------ */

#define RL_INVITE "INVITE sip:bob@home2.net SIP/2.0\r\n"
#define RL_INVITE_UE "INVITE sip:bob@192.0.2.20:5060 SIP/2.0\r\n"
#define RL_MESSAGE "MESSAGE sip:bob@home2.net SIP/2.0\r\n"
#define RL_CAROL "INVITE sip:carol@example.org SIP/2.0\r\n"
#define VIA "Via: SIP/2.0/UDP node.home2.net;branch=z9hG4bK1\r\n"
#define MF "Max-Forwards: 70\r\n"
#define CID "Call-ID: c1@anonymous.invalid\r\n"
#define CSEQ_INVITE "CSeq: 1 INVITE\r\n"
#define CL "Content-Length: 0\r\n"
#define END "\r\n"

#define FROM_ANON "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n"
#define FROM_ALICE "From: \"Alice\" <sip:alice@home1.net>;tag=a1\r\n"
#define FROM_CAROL "From: <sip:carol@example.org>;tag=c1\r\n"
#define TO_BOB "To: <sip:bob@home2.net>\r\n"
#define TO_CAROL "To: <sip:carol@example.org>\r\n"

#define PAI_A "P-Asserted-Identity: <sip:alice@home1.net>\r\n"
#define PAI_A_TEL "P-Asserted-Identity: <tel:+4930111001>\r\n"
#define PAI_A2 PAI_A PAI_A_TEL
#define PAI_B "P-Asserted-Identity: <sip:bob@home2.net>\r\n"
#define PAI_B_TEL "P-Asserted-Identity: <tel:+4930222002>\r\n"
#define PPI_A "P-Preferred-Identity: <sip:alice@home1.net>\r\n"
#define PCV "P-Charging-Vector: icid-value=abc123\r\n"
#define PANI "P-Access-Network-Info: 3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=2620100000000001\r\n"

/* The identifying headers of TC-07, in and out. */
#define FROM_SMITH "From: \"Alice Smith\" <sip:alice@home1.net>;tag=a1;x-extra=1\r\n"
#define FROM_SMITH_ANON "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1;x-extra=1\r\n"
#define USER_HDRS                                                                                  \
    "Subject: salary\r\n"                                                                          \
    "Call-Info: <http://home1.net/alice.jpg>;purpose=icon\r\n"                                     \
    "Organization: ACME\r\n"                                                                       \
    "User-Agent: PhoneX/1.0\r\n"                                                                   \
    "Reply-To: <sip:alice@home1.net>\r\n"                                                          \
    "In-Reply-To: 70710@home1.net\r\n"

/* An INVITE from @p from to Bob with the @p extra lines. */
#define INV(from, extra) RL_INVITE VIA MF from TO_BOB CID CSEQ_INVITE extra CL END
/* The same, with @p tail inserted at the end of the headers. */
#define INV_T(from, extra, tail) RL_INVITE VIA MF from TO_BOB CID CSEQ_INVITE extra CL tail END
/* An INVITE arriving at the terminating P-CSCF, for UE-B's contact. */
#define INV_UE(from, extra) RL_INVITE_UE VIA MF from TO_BOB CID CSEQ_INVITE extra CL END
#define INV_CAROL(from, extra) RL_CAROL VIA MF from TO_CAROL CID CSEQ_INVITE extra CL END
/* A response to an INVITE with the @p extra lines. */
#define RESP(sl, extra)                                                                            \
    sl VIA FROM_ALICE "To: <sip:bob@home2.net>;tag=b1\r\n" CID CSEQ_INVITE extra CL END

/* ---- fixtures (requirements §0.4) -------------------------------------------------------- */

static const struct sv_slice alice_impus[] = {SV_LIT("sip:alice@home1.net"),
                                              SV_LIT("tel:+4930111001")};
static const struct privacy_subscriber alice = {
    .impus = alice_impus,
    .nimpus = 2,
    .default_impu = SV_LIT("sip:alice@home1.net"),
    .alias = SV_LIT("tel:+4930111001"),
};
/* Alice with permanent identity restriction and the "add user" policy (TC-04). */
static const struct privacy_subscriber alice_oir = {
    .impus = alice_impus,
    .nimpus = 2,
    .default_impu = SV_LIT("sip:alice@home1.net"),
    .identity_blocking = true,
    .user_by_policy = true,
};
static const struct sv_slice bob_impus[] = {SV_LIT("sip:bob@home2.net"), SV_LIT("tel:+4930222002")};
static const struct privacy_subscriber bob = {
    .impus = bob_impus,
    .nimpus = 2,
    .default_impu = SV_LIT("sip:bob@home2.net"),
};

static const struct pctx pcscf_o = {CTX(PRIVACY_ROLE_PCSCF, PRIVACY_DIR_ORIG, false, true),
                                    .sub = &alice};
static const struct pctx pcscf_t = {CTX(PRIVACY_ROLE_PCSCF, PRIVACY_DIR_TERM, true, false)};
static const struct pctx scscf_o = {CTX(PRIVACY_ROLE_SCSCF, PRIVACY_DIR_ORIG, true, true),
                                    .sub = &alice};
static const struct pctx scscf_t = {CTX(PRIVACY_ROLE_SCSCF, PRIVACY_DIR_TERM, true, true)};
static const struct pctx as_o = {CTX(PRIVACY_ROLE_AS, PRIVACY_DIR_ORIG, true, true),
                                 .sub = &alice_oir};
static const struct pctx edge_out = {CTX(PRIVACY_ROLE_EDGE, PRIVACY_DIR_TERM, true, false)};
static const struct pctx edge_in = {CTX(PRIVACY_ROLE_EDGE, PRIVACY_DIR_ORIG, false, true)};

/* ---- 2.1 P-CSCF, originating side --------------------------------------------------------- */

static void tc01a_pcscf_orig_ppi_registered(void **state)
{
    struct privacy_verdict v = expect_fwd(&pcscf_o, INV(FROM_ANON, PPI_A "Privacy: id\r\n"),
                                          INV(FROM_ANON, PAI_A "Privacy: id\r\n"));
    assert_true(v.flags & PRIVACY_F_PAI_ASSERTED);
}

static void tc01b_pcscf_orig_ppi_unregistered(void **state)
{
    struct privacy_knobs strict = privacy_knobs_default;
    struct pctx c = pcscf_o;

    expect_fwd(&c, INV(FROM_ANON, "P-Preferred-Identity: <sip:mallory@home1.net>\r\n"),
               INV(FROM_ANON, PAI_A));
    strict.ppi_mismatch_reject = true; /* R28, OP-13 */
    c.knobs = &strict;
    expect_answer(&c, INV(FROM_ANON, "P-Preferred-Identity: <sip:mallory@home1.net>\r\n"), 403,
                  "Forbidden");
}

static void tc01c_pcscf_orig_ue_pai_replaced(void **state)
{
    struct privacy_verdict v = expect_fwd(&pcscf_o, INV(FROM_ANON, PAI_B), INV(FROM_ANON, PAI_A));
    assert_true(v.flags & PRIVACY_F_PAI_UNTRUSTED);
}

static void tc02_pcscf_orig_no_privacy_enforcement(void **state)
{
#define TC02                                                                                       \
    "Subject: lunch\r\nUser-Agent: PhoneX/1.0\r\nPrivacy: header;critical\r\n"                     \
    "Proxy-Require: privacy\r\n"
    struct privacy_verdict v =
        expect_fwd(&pcscf_o, INV(FROM_ALICE, TC02), INV_T(FROM_ALICE, TC02, PAI_A));
    assert_int_equal(v.performed, 0);
#undef TC02
}

/* ---- 2.2 S-CSCF and AS -------------------------------------------------------------------- */

static void tc03_scscf_orig_second_pai(void **state)
{
    expect_fwd(&scscf_o, INV(FROM_ANON, PAI_A "Privacy: id\r\n"),
               INV(FROM_ANON, PAI_A PAI_A_TEL "Privacy: id\r\n"));
}

static void tc04a_as_oir_adds_id_user(void **state)
{
    expect_fwd(&as_o, INV(FROM_ALICE, PAI_A2), INV_T(FROM_ALICE, PAI_A2, "Privacy: user;id\r\n"));
}

static void tc04b_as_oir_none_untouched(void **state)
{
    expect_fwd(&as_o, INV(FROM_ALICE, PAI_A2 "Privacy: none\r\n"),
               INV(FROM_ALICE, PAI_A2 "Privacy: none\r\n"));
}

#define MSG_ALICE(extra) RL_MESSAGE VIA MF FROM_ALICE TO_BOB CID "CSeq: 1 MESSAGE\r\n" extra CL END

static void tc05_scscf_untrusted_as_side_branch(void **state)
{
    struct pctx c = scscf_o;
    struct privacy_verdict v;

    c.egress_trusted = false;
    v = expect_fwd(&c, MSG_ALICE(PAI_A2 "Privacy: id\r\n"), MSG_ALICE("Privacy: id\r\n"));
    assert_int_equal(v.performed, SIP_PRIV_ID);
    /* Back from the AS (untrusted ingress): the served user's identity is asserted again. */
    c.egress_trusted = true;
    c.ingress_trusted = false;
    expect_fwd(&c, MSG_ALICE("Privacy: id\r\n"),
               RL_MESSAGE VIA MF FROM_ALICE TO_BOB CID
               "CSeq: 1 MESSAGE\r\nPrivacy: id\r\n" CL PAI_A PAI_A_TEL END);
}

/* ---- 2.3 P-CSCF, terminating side --------------------------------------------------------- */

static void tc06_pcscf_term_id(void **state)
{
    struct pctx c = pcscf_t;
    struct privacy_verdict v;

    c.li_target = true;
    v = expect_fwd(&c, INV_UE(FROM_ANON, PAI_A2 "Privacy: id\r\n" PCV), INV_UE(FROM_ANON, ""));
    assert_int_equal(v.performed, SIP_PRIV_ID);
    assert_true(v.flags & PRIVACY_F_LI_EVENT); /* R62: before the PAI goes */
}

static void tc07_pcscf_term_user_id(void **state)
{
    struct privacy_verdict v =
        expect_fwd(&pcscf_t, INV_UE(FROM_SMITH, USER_HDRS PAI_A2 "Privacy: user;id\r\n"),
                   INV_UE(FROM_SMITH_ANON, ""));
    assert_int_equal(v.performed, SIP_PRIV_ID | SIP_PRIV_USER);
    assert_false(v.flags & PRIVACY_F_LI_EVENT); /* not an LI target */
}

static void tc08_pcscf_term_user_alone(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = pcscf_t;

    expect_fwd(&c, INV_UE(FROM_SMITH, USER_HDRS PAI_A2 "Privacy: user\r\n"),
               INV_UE(FROM_SMITH_ANON, ""));
    k.user_implies_id_toward_untrusted = false; /* OP-4, RFC-literal */
    c.knobs = &k;
    expect_fwd(&c, INV_UE(FROM_SMITH, USER_HDRS PAI_A2 "Privacy: user\r\n"),
               INV_UE(FROM_SMITH_ANON, PAI_A2));
}

static void tc09a_pcscf_term_none(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_ALICE, PAI_A2 "Privacy: none\r\n"),
               INV_UE(FROM_ALICE, PAI_A2 "Privacy: none\r\n"));
}

static void tc09b_pcscf_term_absent(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_ALICE, PAI_A2), INV_UE(FROM_ALICE, PAI_A2));
}

static void tc10_pcscf_term_critical_unperformable(void **state)
{
    expect_answer(&pcscf_t, INV_UE(FROM_ANON, PAI_A2 "Privacy: header;critical\r\n"), 500,
                  "Privacy Unavailable: header");
    expect_answer(&pcscf_t, INV_UE(FROM_ANON, PAI_A2 "Privacy: id;session;critical\r\n"), 500,
                  "Privacy Unavailable: session");
    expect_answer(&pcscf_t, INV_UE(FROM_ANON, PAI_A2 "Privacy: id;foo;critical\r\n"), 500,
                  "Privacy Unavailable: foo");
}

static void tc11_pcscf_term_header_without_critical(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = pcscf_t;

    expect_fwd(&c, INV_UE(FROM_ANON, PAI_A2 "Privacy: header\r\n"),
               INV_UE(FROM_ANON, "Privacy: header\r\n"));
    k.reject_nonperformable_without_critical = true; /* R66 */
    c.knobs = &k;
    expect_answer(&c, INV_UE(FROM_ANON, PAI_A2 "Privacy: header\r\n"), 500,
                  "Privacy Unavailable: header");
}

static void tc12_pcscf_term_id_critical(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_ANON, PAI_A2 "Privacy: id;critical\r\n"),
               INV_UE(FROM_ANON, ""));
}

static void tc13_pcscf_term_message(void **state)
{
#define TC13(extra)                                                                                \
    "MESSAGE sip:bob@home2.net SIP/2.0\r\n" VIA MF                                                 \
    "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=m1\r\n" TO_BOB CID                  \
    "CSeq: 1 MESSAGE\r\n" extra "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    expect_fwd(&pcscf_t, TC13(PAI_A "Privacy: id\r\n"), TC13(""));
#undef TC13
}

static void tc14_pcscf_term_none_id_nonconformant(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_ANON, PAI_A2 "Privacy: none;id\r\n"),
               INV_UE(FROM_ANON, "Privacy: none;id\r\n"));
}

static void tc15_pcscf_term_proxy_require_cleanup(void **state)
{
    static const char *const supported[] = {"privacy", NULL};
    const struct sip_check_opts opts = {SIP_CHECK_PROXY, supported};
    struct sip_status st;

    expect_fwd(&pcscf_t, INV_UE(FROM_ANON, PAI_A "Privacy: id\r\nProxy-Require: privacy\r\n"),
               INV_UE(FROM_ANON, ""));
    /* privacy is supported; foo-ext is not (the proxy core's check, before the engine) */
    assert_int_equal(
        sip_msg_check(sv_test_parse(INV_UE(FROM_ANON, "Proxy-Require: privacy\r\n")), &opts, &st),
        0);
    assert_int_equal(
        sip_msg_check(sv_test_parse(INV_UE(FROM_ANON, "Proxy-Require: privacy, foo-ext\r\n")),
                      &opts, &st),
        EPROTO);
    assert_int_equal(st.code, 420);
    assert_slice_equal(st.unsupported, "foo-ext");
    /* A second tag stays when privacy goes. */
    expect_fwd(&pcscf_t, INV_UE(FROM_ANON, "Privacy: id\r\nProxy-Require: foo, privacy\r\n"),
               INV_UE(FROM_ANON, "Proxy-Require: foo\r\n"));
}

/* ---- 2.4 Responses ------------------------------------------------------------------------ */

/* PCSCF-O forwarding a response to UE-A: the response's own Privacy decides (R25, R31). */
static const struct pctx pcscf_o_resp = {CTX(PRIVACY_ROLE_PCSCF, PRIVACY_DIR_ORIG, true, false)};

static void tc16a_response_id(void **state)
{
    expect_fwd(&pcscf_o_resp, RESP("SIP/2.0 200 OK\r\n", PAI_B PAI_B_TEL "Privacy: id\r\n"),
               RESP("SIP/2.0 200 OK\r\n", ""));
}

static void tc16b_response_no_privacy(void **state)
{
    expect_fwd(&pcscf_o_resp, RESP("SIP/2.0 180 Ringing\r\n", PAI_B PAI_B_TEL),
               RESP("SIP/2.0 180 Ringing\r\n", PAI_B PAI_B_TEL));
}

static void tc16c_response_critical_ignored(void **state)
{
    expect_fwd(&pcscf_o_resp,
               RESP("SIP/2.0 200 OK\r\n", PAI_B PAI_B_TEL "Privacy: id;critical\r\n"),
               RESP("SIP/2.0 200 OK\r\n", ""));
    /* Not even an unperformable value makes a response fail (R67). */
    expect_fwd(&pcscf_o_resp, RESP("SIP/2.0 200 OK\r\n", PAI_B "Privacy: session;critical\r\n"),
               RESP("SIP/2.0 200 OK\r\n", PAI_B "Privacy: session;critical\r\n"));
}

/* ---- 2.5 Edge ----------------------------------------------------------------------------- */

static void tc17_edge_egress_id(void **state)
{
    expect_fwd(&edge_out, INV_CAROL(FROM_ANON, PAI_A2 "Privacy: id\r\n" PANI PCV),
               INV_CAROL(FROM_ANON, ""));
}

static void tc18a_edge_egress_no_privacy(void **state)
{
    expect_fwd(&edge_out, INV_CAROL(FROM_ALICE, PAI_A2), INV_CAROL(FROM_ALICE, ""));
}

static void tc18b_edge_egress_none(void **state)
{
    expect_fwd(&edge_out, INV_CAROL(FROM_ALICE, PAI_A2 "Privacy: none\r\n" PANI),
               INV_CAROL(FROM_ALICE, PAI_A2 "Privacy: none\r\n"));
}

static void tc19_edge_user_critical_not_performable(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = edge_out;

    k.performable_priv_values = SIP_PRIV_NONE | SIP_PRIV_ID | SIP_PRIV_CRITICAL;
    c.knobs = &k;
    expect_answer(&c, INV_CAROL(FROM_ALICE, "Privacy: user;critical\r\n"), 500,
                  "Privacy Unavailable: user");
}

static void tc20_edge_ingress_untrusted_pai(void **state)
{
    struct privacy_verdict v =
        expect_fwd(&edge_in,
                   INV(FROM_CAROL, "P-Asserted-Identity: <sip:ceo@home2.net>\r\nPrivacy: none\r\n"
                                   "P-Preferred-Identity: <sip:carol@example.org>\r\n"),
                   INV(FROM_CAROL, "Privacy: none\r\n"));
    assert_true(v.flags & PRIVACY_F_PAI_UNTRUSTED);
}

static void tc21_edge_ingress_li_policy(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = edge_in;

    c.knobs = &k;
    k.li_reject_policy = PRIVACY_LI_ANONYMOUS;
    expect_answer(
        &c,
        INV("From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=c2\r\n", "Privacy: id\r\n"),
        433, "Anonymity Disallowed");
    k.li_reject_policy = PRIVACY_LI_UNIDENTIFIED;
    expect_answer(&c, INV("From: <sip:carol@example.org>;tag=c3\r\n", ""), 403, "Forbidden");
    k.li_reject_policy = PRIVACY_LI_OFF;
    expect_fwd(
        &c,
        INV("From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=c2\r\n", "Privacy: id\r\n"),
        INV("From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=c2\r\n", "Privacy: id\r\n"));
}

/* ---- 2.6 S-CSCF LI policy ----------------------------------------------------------------- */

static void tc22_scscf_term_li_both(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = scscf_t;

    k.li_reject_policy = PRIVACY_LI_BOTH;
    c.knobs = &k;
    expect_answer(
        &c,
        INV("From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=c2\r\n", "Privacy: id\r\n"),
        433, "Anonymity Disallowed");
    expect_fwd(&c, INV(FROM_ANON, PAI_A "Privacy: id\r\n"),
               INV(FROM_ANON, PAI_A "Privacy: id\r\n"));
}

/* ---- 2.7 Dialog consistency --------------------------------------------------------------- */

static const struct privacy_dialog dlg_user_id = {SIP_PRIV_ID | SIP_PRIV_USER, SV_LIT("a1")};

#define BYE_ALICE(from, extra)                                                                     \
    "BYE sip:bob@192.0.2.20:5060 SIP/2.0\r\n" VIA MF from "To: <sip:bob@home2.net>;tag=b1\r\n" CID \
    "CSeq: 2 BYE\r\n" extra CL END

static void tc23a_dialog_bye_from_anonymous_party(void **state)
{
    struct pctx c = pcscf_t;
    struct privacy_verdict v;

    c.dialog = &dlg_user_id;
    v = expect_fwd(&c,
                   BYE_ALICE("From: \"Alice Smith\" <sip:alice@home1.net>;tag=a1\r\n",
                             "User-Agent: PhoneX/1.0\r\n" PAI_A),
                   BYE_ALICE(FROM_ANON, ""));
    assert_int_equal(v.performed, SIP_PRIV_ID | SIP_PRIV_USER);
}

static void tc23b_dialog_bye_from_other_party(void **state)
{
#define BYE_BOB(extra, tail)                                                                       \
    "BYE sip:alice@192.0.2.10:5060 SIP/2.0\r\n" VIA MF                                             \
    "To: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n"                               \
    "From: <sip:bob@home2.net>;tag=b1\r\n" CID "CSeq: 7 BYE\r\n" extra CL tail END
    struct pctx c = pcscf_o;

    c.sub = &bob;
    c.dialog = &dlg_user_id;
    expect_fwd(&c, BYE_BOB("", ""), BYE_BOB("", PAI_B));
#undef BYE_BOB
}

static void tc23c_dialog_ack_from_anonymous_party(void **state)
{
#define ACK(from)                                                                                  \
    "ACK sip:bob@192.0.2.20:5060 SIP/2.0\r\n" VIA MF from "To: <sip:bob@home2.net>;tag=b1\r\n" CID \
    "CSeq: 1 ACK\r\n" CL END
    struct pctx c = pcscf_t;

    c.dialog = &dlg_user_id;
    expect_fwd(&c, ACK("From: \"Alice Smith\" <sip:alice@home1.net>;tag=a1\r\n"), ACK(FROM_ANON));
#undef ACK
}

static void tc24_dialog_response_from_anonymous_party(void **state)
{
#define RESP_ALICE(extra)                                                                          \
    "SIP/2.0 200 OK\r\n" VIA "From: <sip:bob@home2.net>;tag=b1\r\n"                                \
    "To: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n" CID                           \
    "CSeq: 8 INVITE\r\n" extra CL END
    struct pctx c = pcscf_o_resp;

    c.dialog = &dlg_user_id;
    expect_fwd(&c, RESP_ALICE(PAI_A), RESP_ALICE(""));
    /* Without the stored state the knob INCLUDE would have let it through. */
    c.dialog = NULL;
    expect_fwd(&c, RESP_ALICE(PAI_A), RESP_ALICE(PAI_A));
#undef RESP_ALICE
}

/* ---- R-numbers the cases leave out ------------------------------------------------------- */

static void r1_unknown_token_preserved_after_strip(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_ANON, PAI_A "Privacy: id;foo\r\n"),
               INV_UE(FROM_ANON, "Privacy: foo\r\n"));
    expect_fwd(&pcscf_t, INV_UE(FROM_ANON, PAI_A "Privacy: history\r\n"),
               INV_UE(FROM_ANON, PAI_A "Privacy: history\r\n")); /* OP-19 */
}

static void r2_added_value_before_critical(void **state)
{
    expect_fwd(&as_o, INV(FROM_ALICE, PAI_A "Privacy: user;critical\r\n"),
               INV(FROM_ALICE, PAI_A "Privacy: user;id;critical\r\n"));
}

static void r4_lines_commas_case_canonical(void **state)
{
    expect_fwd(&scscf_t, INV(FROM_ANON, PAI_A "Privacy: ID\r\nPrivacy: user , critical\r\n"),
               INV(FROM_ANON, PAI_A "Privacy: id;user;critical\r\n"));
}

static void r4_empty_or_illegal_privacy_400(void **state)
{
    expect_answer(&pcscf_t, INV_UE(FROM_ANON, PAI_A "Privacy: \r\n"), 400, "Bad Request");
    expect_answer(&pcscf_t, INV_UE(FROM_ANON, PAI_A "Privacy: id;;user\r\n"), 400, "Bad Request");
    expect_answer(&edge_out, INV_CAROL(FROM_ANON, PAI_A "Privacy: i@d\r\n"), 400, "Bad Request");
    expect_answer(&scscf_t, INV(FROM_ANON, PAI_A "Privacy: id\r\nPrivacy: ,\r\n"), 400,
                  "Bad Request");
}

static void r4_bad_privacy_in_response_withholds(void **state)
{
    struct privacy_verdict v =
        expect_fwd(&pcscf_o_resp, RESP("SIP/2.0 200 OK\r\n", PAI_B "Privacy: i d\r\n"),
                   RESP("SIP/2.0 200 OK\r\n", "Privacy: i d\r\n"));
    assert_true(v.flags & PRIVACY_F_BAD_PRIVACY);
}

static void r5_three_pai_from_trusted_removed(void **state)
{
    struct privacy_verdict v = expect_fwd(
        &scscf_t, INV(FROM_ANON, PAI_A2 "P-Asserted-Identity: <sip:alice2@home1.net>\r\n"),
        INV(FROM_ANON, ""));
    assert_true(v.flags & PRIVACY_F_PAI_INVALID);
}

static void r5_two_of_a_family_or_other_scheme_removed(void **state)
{
    expect_fwd(&scscf_t, INV(FROM_ANON, PAI_A "P-Asserted-Identity: <sips:a@home1.net>\r\n"),
               INV(FROM_ANON, ""));
    expect_fwd(&scscf_t, INV(FROM_ANON, "P-Asserted-Identity: <mailto:a@home1.net>\r\n"),
               INV(FROM_ANON, ""));
    /* one sip and one tel on one line is valid */
    expect_fwd(&scscf_t,
               INV(FROM_ANON, "P-Asserted-Identity: <sip:alice@home1.net>, <tel:+4930111001>\r\n"),
               INV(FROM_ANON, "P-Asserted-Identity: <sip:alice@home1.net>, <tel:+4930111001>\r\n"));
}

static void r6_no_pai_synthesised_on_register(void **state)
{
#define REG(extra)                                                                                 \
    "REGISTER sip:home1.net SIP/2.0\r\n" VIA MF FROM_ALICE "To: <sip:alice@home1.net>\r\n" CID     \
    "CSeq: 1 REGISTER\r\n" extra CL END
    expect_fwd(&pcscf_o, REG(PPI_A), REG(""));
#undef REG
}

static void r19_id_removes_every_pai_value(void **state)
{
    expect_fwd(&pcscf_t,
               INV_UE(FROM_ANON, "P-Asserted-Identity: <sip:alice@home1.net>, <tel:+4930111001>\r\n"
                                 "Privacy: id\r\n"),
               INV_UE(FROM_ANON, ""));
}

static void r20_from_addr_spec_and_already_anonymous(void **state)
{
    expect_fwd(&pcscf_t, INV_UE("From: sip:alice@home1.net;tag=a1\r\n", "Privacy: user\r\n"),
               INV_UE(FROM_ANON, ""));
    expect_fwd(&pcscf_t, INV_UE(FROM_ANON, "Privacy: user\r\n"), INV_UE(FROM_ANON, ""));
}

static void r20_unparseable_from_with_user_400(void **state)
{
    const char *in = INV_UE("From: \"Alice <sip:alice@home1.net>;tag=a1\r\n", "Privacy: user\r\n");
    struct sip_msg *m = NULL;
    struct sip_perr perr = {0};
    struct sv_slice buf = sv_test_heap(in);
    struct privacy_verdict v;
    struct sip_edits ed;
    struct privacy_input pin = {0};

    assert_int_equal(sip_msg_parse(&m, sv_test_arena(), buf.p, buf.l, SIP_DGRAM, NULL, &perr),
                     EBADMSG);
    assert_non_null(m);
    sip_edits_init(&ed, m, NULL);
    pin.msg = m;
    pin.role = PRIVACY_ROLE_PCSCF;
    pin.dir = PRIVACY_DIR_TERM;
    pin.ingress_trusted = true;
    assert_int_equal(privacy_decide(&pin, &ed, &v), 0);
    assert_int_equal(v.code, 400);
    assert_int_equal(ed.n, 0);
    /* Without `user` the From is not the engine's business. */
    m = NULL;
    in = INV_UE("From: \"Alice <sip:alice@home1.net>;tag=a1\r\n", "Privacy: id\r\n");
    buf = sv_test_heap(in);
    assert_int_equal(sip_msg_parse(&m, sv_test_arena(), buf.p, buf.l, SIP_DGRAM, NULL, &perr),
                     EBADMSG);
    sip_edits_init(&ed, m, NULL);
    pin.msg = m;
    assert_int_equal(privacy_decide(&pin, &ed, &v), 0);
    assert_int_equal(v.code, 0);
}

static void r23_strip_knob_off_keeps_values(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = pcscf_t;

    k.strip_performed_priv_values = false;
    c.knobs = &k;
    expect_fwd(&c, INV_UE(FROM_ANON, PAI_A "Privacy: id\r\nProxy-Require: privacy\r\n"),
               INV_UE(FROM_ANON, "Privacy: id\r\nProxy-Require: privacy\r\n"));
}

static void r23_proxy_require_kept_with_unperformed_value(void **state)
{
    expect_fwd(&pcscf_t,
               INV_UE(FROM_ANON, PAI_A "Privacy: id;header\r\nProxy-Require: privacy\r\n"),
               INV_UE(FROM_ANON, "Privacy: header\r\nProxy-Require: privacy\r\n")); /* OP-22 */
}

static void r36_knob_remove_toward_ue(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = pcscf_t;

    k.pai_when_no_privacy_to_ue = PRIVACY_PAI_REMOVE;
    c.knobs = &k;
    expect_fwd(&c, INV_UE(FROM_ALICE, PAI_A2), INV_UE(FROM_ALICE, ""));
}

static void r37_session_without_critical_forwarded(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_ALICE, PAI_A2 "Privacy: session\r\n"),
               INV_UE(FROM_ALICE, PAI_A2 "Privacy: session\r\n"));
}

static void r39_edge_response_to_untrusted(void **state)
{
    const struct pctx c = {CTX(PRIVACY_ROLE_EDGE, PRIVACY_DIR_TERM, true, false)};

    expect_fwd(&c, RESP("SIP/2.0 200 OK\r\n", PAI_B PCV "Privacy: id\r\n"),
               RESP("SIP/2.0 200 OK\r\n", ""));
    expect_fwd(&c, RESP("SIP/2.0 200 OK\r\n", PAI_B), RESP("SIP/2.0 200 OK\r\n", "")); /* R40 */
}

static void r40_edge_knob_include(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = edge_out;

    k.pai_when_no_privacy_to_untrusted_net = PRIVACY_PAI_INCLUDE;
    c.knobs = &k;
    expect_fwd(&c, INV_CAROL(FROM_ALICE, PAI_A2), INV_CAROL(FROM_ALICE, PAI_A2));
}

static void r43_untrusted_response_pai_removed(void **state)
{
    const struct pctx c = {CTX(PRIVACY_ROLE_EDGE, PRIVACY_DIR_ORIG, false, true)};

    expect_fwd(&c, RESP("SIP/2.0 200 OK\r\n", PAI_B "Privacy: none\r\n"),
               RESP("SIP/2.0 200 OK\r\n", "Privacy: none\r\n"));
}

static void r46_scscf_blocks_on_behalf(void **state)
{
    struct pctx c = scscf_o;
    struct privacy_subscriber s = alice;

    s.identity_blocking = true;
    s.alias = sv_slice_make(NULL, 0);
    c.sub = &s;
    expect_fwd(&c, INV(FROM_ALICE, PAI_A), INV_T(FROM_ALICE, PAI_A, "Privacy: id\r\n"));
}

static void r52_not_restricted_adds_user_when_asked(void **state)
{
    struct pctx c = as_o;
    struct privacy_subscriber s = alice_oir;

    s.identity_blocking = false;
    c.sub = &s;
    expect_fwd(&c, INV(FROM_ALICE, PAI_A "Privacy: id\r\n"),
               INV(FROM_ALICE, PAI_A "Privacy: id;user\r\n"));
    expect_fwd(&c, INV(FROM_ALICE, PAI_A), INV(FROM_ALICE, PAI_A)); /* nothing asked */
}

static void r53_terminating_as(void **state)
{
    const struct pctx c = {CTX(PRIVACY_ROLE_AS, PRIVACY_DIR_TERM, true, true)};

    expect_fwd(&c, INV(FROM_ALICE, PAI_A "Privacy: header\r\n"),
               INV(FROM_ALICE, PAI_A "Privacy: header;id\r\n"));
    /* `user` performed, and kept for the last hop, which keeps the dialog state (R74) */
    expect_fwd(&c, INV(FROM_SMITH, USER_HDRS PAI_A "Privacy: user\r\n"),
               INV(FROM_SMITH_ANON, PAI_A "Privacy: user\r\n"));
    expect_answer(&c, INV(FROM_ALICE, PAI_A "Privacy: header;critical\r\n"), 500,
                  "Privacy Unavailable: header");
}

static void r54_as_li_reject(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = {CTX(PRIVACY_ROLE_AS, PRIVACY_DIR_TERM, true, true)};

    k.li_reject_policy = PRIVACY_LI_ANONYMOUS;
    c.knobs = &k;
    expect_answer(&c, INV("From: \"Anonymous\" <sip:x@home1.net>;tag=z\r\n", ""), 433,
                  "Anonymity Disallowed"); /* R69: the display name alone says anonymous */
}

static void r58_ppi_removed_everywhere(void **state)
{
    expect_fwd(&scscf_t, INV(FROM_ALICE, PAI_A PPI_A), INV(FROM_ALICE, PAI_A));
}

static void r59_trusted_next_hop_keeps_pai(void **state)
{
    struct privacy_verdict v = expect_fwd(&scscf_t, INV(FROM_ANON, PAI_A2 "Privacy: id;user\r\n"),
                                          INV(FROM_ANON, PAI_A2 "Privacy: id;user\r\n"));
    assert_int_equal(v.performed, 0);
}

static void r62_li_event_only_when_identity_leaves(void **state)
{
    struct pctx c = pcscf_t;
    struct privacy_verdict v;

    c.li_target = true;
    v = expect_fwd(&c, INV_UE(FROM_ALICE, PAI_A2), INV_UE(FROM_ALICE, PAI_A2));
    assert_false(v.flags & PRIVACY_F_LI_EVENT);
    v = expect_fwd(&c, INV_UE(FROM_ALICE, "Privacy: user\r\n"), INV_UE(FROM_ANON, ""));
    assert_true(v.flags & PRIVACY_F_LI_EVENT);
}

static void r63_phrase_lists_values_in_received_order(void **state)
{
    expect_answer(&edge_out, INV_CAROL(FROM_ANON, "Privacy: session;bar;header;critical\r\n"), 500,
                  "Privacy Unavailable: session;bar;header");
}

static void r64_inside_nodes_never_reject_critical(void **state)
{
    expect_fwd(&scscf_t, INV(FROM_ANON, PAI_A "Privacy: header;critical\r\n"),
               INV(FROM_ANON, PAI_A "Privacy: header;critical\r\n"));
    expect_fwd(&edge_in, INV(FROM_CAROL, "Privacy: session;critical\r\n"),
               INV(FROM_CAROL, "Privacy: session;critical\r\n"));
}

static void r65_none_critical_never_rejected(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_ALICE, PAI_A "Privacy: none;critical\r\n"),
               INV_UE(FROM_ALICE, PAI_A "Privacy: none;critical\r\n"));
}

static void r71_li_policy_inside_with_identity(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = pcscf_o;

    k.li_reject_policy = PRIVACY_LI_BOTH;
    c.knobs = &k;
    /* The P-CSCF asserts the identity itself, so an anonymous From is no reason to refuse. */
    expect_fwd(&c, INV(FROM_ANON, "Privacy: id\r\n"), INV_T(FROM_ANON, "Privacy: id\r\n", PAI_A));
}

static void r72_li_policy_spares_in_dialog_requests(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = edge_in;

    k.li_reject_policy = PRIVACY_LI_BOTH;
    c.knobs = &k;
    expect_fwd(&c, BYE_ALICE(FROM_ANON, ""), BYE_ALICE(FROM_ANON, ""));
}

static void r75_other_party_request_untouched(void **state)
{
#define BYE_BOB_TO_ALICE(extra)                                                                    \
    "BYE sip:alice@192.0.2.10:5060 SIP/2.0\r\n" VIA MF                                             \
    "To: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n"                               \
    "From: <sip:bob@home2.net>;tag=b1\r\n" CID "CSeq: 7 BYE\r\n" extra CL END
    struct pctx c = pcscf_t; /* Alice's P-CSCF, delivering Bob's BYE to her */

    c.dialog = &dlg_user_id;
    expect_fwd(&c, BYE_BOB_TO_ALICE(PAI_B "User-Agent: B/1\r\n"),
               BYE_BOB_TO_ALICE(PAI_B "User-Agent: B/1\r\n"));
#undef BYE_BOB_TO_ALICE
}

static void r77_retransmission_identical(void **state)
{
    const char *in = INV_UE(FROM_SMITH, USER_HDRS PAI_A2 "Privacy: user;id\r\n");

    expect_fwd(&pcscf_t, in, INV_UE(FROM_SMITH_ANON, ""));
    expect_fwd(&pcscf_t, in, INV_UE(FROM_SMITH_ANON, ""));
}

static void r79_refresh_subscribe_from_anonymous_watcher(void **state)
{
#define SUB(from, extra)                                                                           \
    "SUBSCRIBE sip:bob@192.0.2.20:5060 SIP/2.0\r\n" VIA MF from                                    \
    "To: <sip:bob@home2.net>;tag=b1\r\n" CID                                                       \
    "CSeq: 3 SUBSCRIBE\r\nEvent: presence\r\n" extra CL END
    struct pctx c = pcscf_t;

    c.dialog = &dlg_user_id;
    expect_fwd(&c, SUB(FROM_ALICE, PAI_A), SUB(FROM_ANON, ""));
#undef SUB
}

static void r25_user_in_response(void **state)
{
    expect_fwd(&pcscf_o_resp,
               RESP("SIP/2.0 200 OK\r\n", PAI_B "Organization: ACME\r\nPrivacy: user\r\n"),
               RESP("SIP/2.0 200 OK\r\n", ""));
}

static void r26_bad_privacy_at_pcscf_orig_forwarded(void **state)
{
    struct privacy_verdict v = expect_fwd(&pcscf_o, INV(FROM_ALICE, "Privacy: id;;x\r\n"),
                                          INV_T(FROM_ALICE, "Privacy: id;;x\r\n", PAI_A));
    assert_true(v.flags & PRIVACY_F_BAD_PRIVACY);
}

static void r30_unknown_subscriber_asserts_nothing(void **state)
{
    struct pctx c = pcscf_o;

    c.sub = NULL;
    expect_fwd(&c, INV(FROM_ALICE, PAI_B PPI_A), INV(FROM_ALICE, ""));
}

static void r31_knob_remove_on_response_to_ue(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = pcscf_o_resp;

    k.pai_when_no_privacy_to_ue = PRIVACY_PAI_REMOVE;
    c.knobs = &k;
    expect_fwd(&c, RESP("SIP/2.0 180 Ringing\r\n", PAI_B PAI_B_TEL),
               RESP("SIP/2.0 180 Ringing\r\n", ""));
}

static void r21_edge_header_withholds_pai(void **state)
{
    expect_fwd(&edge_out, INV_CAROL(FROM_ANON, PAI_A2 "Privacy: header\r\n"),
               INV_CAROL(FROM_ANON, "Privacy: header\r\n"));
}

static void r42_edge_removes_trust_domain_headers(void **state)
{
#define TD                                                                                         \
    "P-Served-User: <sip:alice@home1.net>\r\nP-Asserted-Service: urn:urn-7:3gpp-service.ims\r\n"   \
    "P-Profile-Key: <sip:x@home1.net>\r\nP-Visited-Network-ID: visited1.net\r\n"                   \
    "P-Charging-Function-Addresses: ccf=192.0.2.1\r\n"
    expect_fwd(&edge_out, INV_CAROL(FROM_ALICE, TD "Privacy: none\r\n"),
               INV_CAROL(FROM_ALICE, "Privacy: none\r\n"));
    expect_fwd(&scscf_t, INV(FROM_ALICE, TD), INV(FROM_ALICE, TD)); /* kept inside T */
#undef TD
}

static void r47_sip_alias_before_tel(void **state)
{
    struct pctx c = scscf_o;
    struct privacy_subscriber s = alice;

    s.alias = SV_LIT("sip:alice@home1.net");
    c.sub = &s;
    expect_fwd(&c, INV(FROM_ANON, PAI_A_TEL "Privacy: id\r\n"),
               INV(FROM_ANON, PAI_A PAI_A_TEL "Privacy: id\r\n"));
    /* two values already: nothing added */
    expect_fwd(&scscf_o, INV(FROM_ANON, PAI_A2), INV(FROM_ANON, PAI_A2));
}

static void r49_side_branch_enforces_critical(void **state)
{
    struct pctx c = scscf_o;

    c.egress_trusted = false;
    expect_answer(&c, MSG_ALICE(PAI_A "Privacy: header;critical\r\n"), 500,
                  "Privacy Unavailable: header");
}

static void r57_invalid_pai_in_response_removed(void **state)
{
    const struct pctx c = {CTX(PRIVACY_ROLE_SCSCF, PRIVACY_DIR_ORIG, true, true)};
    struct privacy_verdict v = expect_fwd(
        &c, RESP("SIP/2.0 200 OK\r\n", PAI_B "P-Asserted-Identity: <sip:bob2@home2.net>\r\n"),
        RESP("SIP/2.0 200 OK\r\n", ""));
    assert_true(v.flags & PRIVACY_F_PAI_INVALID);
}

static void r60_none_with_user_performs_but_keeps_header(void **state)
{
    expect_fwd(&pcscf_t, INV_UE(FROM_SMITH, USER_HDRS PAI_A "Privacy: none;user\r\n"),
               INV_UE(FROM_SMITH_ANON, "Privacy: none;user\r\n"));
}

static void r70_unidentified_policy_lets_anonymous_through(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = edge_in;

    k.li_reject_policy = PRIVACY_LI_UNIDENTIFIED;
    c.knobs = &k;
    expect_fwd(&c, INV(FROM_ANON, "Privacy: id\r\n"), INV(FROM_ANON, "Privacy: id\r\n"));
    k.li_reject_policy = PRIVACY_LI_ANONYMOUS;
    expect_fwd(&c, INV(FROM_CAROL, ""), INV(FROM_CAROL, ""));
}

static void r78_pcscf_asserts_in_response_from_ue(void **state)
{
    const struct pctx c = {CTX(PRIVACY_ROLE_PCSCF, PRIVACY_DIR_TERM, false, true), .sub = &bob};

    expect_fwd(&c, RESP("SIP/2.0 200 OK\r\n", "P-Preferred-Identity: <tel:+4930222002>\r\n"),
               RESP("SIP/2.0 200 OK\r\n", PAI_B_TEL));
}

/* Every allocation the engine makes may fail: only ENOMEM comes back, never a crash. */
static void oom_sweep(void **state)
{
    const char *in = INV_UE(FROM_SMITH, USER_HDRS PAI_A2 PCV "Privacy: user;id;critical\r\n"
                                                             "Proxy-Require: privacy\r\n");
    const struct sip_msg *m = sv_test_parse(in);
    struct privacy_input pin = {
        .msg = m, .role = PRIVACY_ROLE_PCSCF, .dir = PRIVACY_DIR_TERM, .ingress_trusted = true};
    struct privacy_verdict v;
    unsigned failures = 0;
    int e = ENOMEM;

    for (long n = 0; e == ENOMEM && n < 1000; n++) {
        struct sv_arena a;
        struct sip_edits ed;

        sv_arena_init(&a, NULL, 0);
        sip_edits_init(&ed, m, &a);
        sv_mem_fail_after(n);
        e = privacy_decide(&pin, &ed, &v);
        sv_mem_fail_after(-1);
        assert_true(e == 0 || e == ENOMEM);
        failures += e == ENOMEM;
        sv_arena_close(&a);
    }
    assert_int_equal(e, 0);
    assert_true(failures > 0); /* the sweep did reach the engine's allocations */
}

static void r18_mandatory_values_performable_by_default(void **state)
{
    const unsigned must = SIP_PRIV_NONE | SIP_PRIV_ID | SIP_PRIV_USER | SIP_PRIV_CRITICAL;

    assert_int_equal(privacy_knobs_default.performable_priv_values & must, must);
    expect_fwd(&edge_out, INV_CAROL(FROM_ALICE, USER_HDRS "Privacy: user;id;critical\r\n"),
               INV_CAROL(FROM_ANON, ""));
}

static void r23_only_stripping_faces_drop_the_header(void **state)
{
    /* Inside T nothing was performed: a lone `critical` and its option tag stay. */
    expect_fwd(&scscf_t, INV(FROM_ANON, PAI_A "Privacy: critical\r\nProxy-Require: privacy\r\n"),
               INV(FROM_ANON, PAI_A "Privacy: critical\r\nProxy-Require: privacy\r\n"));
}

static void r55_zero_context_is_untrusted(void **state)
{
    const struct sip_msg *m = sv_test_parse(INV(FROM_ALICE, PAI_A));
    struct privacy_input in = {.msg = m, .role = PRIVACY_ROLE_EDGE};
    struct privacy_verdict v;
    struct sip_edits ed;
    static char out[4096];
    size_t n;

    sip_edits_init(&ed, m, NULL);
    assert_int_equal(privacy_decide(&in, &ed, &v), 0);
    assert_int_equal(v.code, 0);
    assert_true(v.flags & PRIVACY_F_PAI_UNTRUSTED);
    assert_int_equal(sip_msg_print(m, &ed, out, sizeof(out), &n), 0);
    sv_test_expect_bytes(out, n, INV(FROM_ALICE, ""));
}

static void r68_every_role_may_reject(void **state)
{
    static const enum privacy_role roles[] = {PRIVACY_ROLE_PCSCF, PRIVACY_ROLE_EDGE,
                                              PRIVACY_ROLE_SCSCF, PRIVACY_ROLE_AS, PRIVACY_ROLE_PS};
    struct privacy_knobs k = privacy_knobs_default;

    k.li_reject_policy = PRIVACY_LI_BOTH;
    for (size_t i = 0; i < SV_ARRAY_SIZE(roles); i++) {
        const struct pctx c = {CTX(roles[i], PRIVACY_DIR_TERM, true, false), .knobs = &k};
        expect_answer(&c, INV(FROM_ANON, "Privacy: id\r\n"), 433, "Anonymity Disallowed");
        expect_answer(&c, INV(FROM_CAROL, ""), 403, "Forbidden");
    }
}

static void r73_rejection_echoes_no_identity(void **state)
{
    struct privacy_knobs k = privacy_knobs_default;
    struct pctx c = edge_in;
    struct sip_edits ed;
    struct privacy_verdict v;

    k.li_reject_policy = PRIVACY_LI_BOTH;
    c.knobs = &k;
    v = sv_test_privacy_run(&c, INV(FROM_CAROL, "P-Asserted-Identity: <sip:ceo@home2.net>\r\n"),
                            &ed);
    assert_int_equal(v.code, 403);
    assert_null(strstr(v.reason, "@"));
    assert_null(strstr(v.reason, "carol"));
    assert_int_equal(ed.n, 0);
}

static void api_bad_arguments(void **state)
{
    const struct sip_msg *m = sv_test_parse(INV(FROM_ALICE, ""));
    const struct sip_msg *m2 = sv_test_parse(INV(FROM_ANON, ""));
    struct privacy_input in = {.msg = m};
    struct privacy_verdict v;
    struct sip_edits ed;

    sip_edits_init(&ed, m2, NULL);
    assert_int_equal(privacy_decide(&in, &ed, &v), EINVAL);
    assert_int_equal(privacy_decide(NULL, &ed, &v), EINVAL);
    assert_string_equal(privacy_role_name(PRIVACY_ROLE_ICSCF), "edge");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(tc01a_pcscf_orig_ppi_registered, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc01b_pcscf_orig_ppi_unregistered, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc01c_pcscf_orig_ue_pai_replaced, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc02_pcscf_orig_no_privacy_enforcement, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc03_scscf_orig_second_pai, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc04a_as_oir_adds_id_user, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc04b_as_oir_none_untouched, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc05_scscf_untrusted_as_side_branch, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc06_pcscf_term_id, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc07_pcscf_term_user_id, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc08_pcscf_term_user_alone, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc09a_pcscf_term_none, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc09b_pcscf_term_absent, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc10_pcscf_term_critical_unperformable, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc11_pcscf_term_header_without_critical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc12_pcscf_term_id_critical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc13_pcscf_term_message, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc14_pcscf_term_none_id_nonconformant, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc15_pcscf_term_proxy_require_cleanup, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc16a_response_id, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc16b_response_no_privacy, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc16c_response_critical_ignored, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc17_edge_egress_id, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc18a_edge_egress_no_privacy, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc18b_edge_egress_none, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc19_edge_user_critical_not_performable, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc20_edge_ingress_untrusted_pai, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc21_edge_ingress_li_policy, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc22_scscf_term_li_both, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc23a_dialog_bye_from_anonymous_party, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc23b_dialog_bye_from_other_party, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc23c_dialog_ack_from_anonymous_party, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(tc24_dialog_response_from_anonymous_party, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r1_unknown_token_preserved_after_strip, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r2_added_value_before_critical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r4_lines_commas_case_canonical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r4_empty_or_illegal_privacy_400, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r4_bad_privacy_in_response_withholds, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r5_three_pai_from_trusted_removed, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r5_two_of_a_family_or_other_scheme_removed, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r6_no_pai_synthesised_on_register, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r19_id_removes_every_pai_value, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r20_from_addr_spec_and_already_anonymous, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r20_unparseable_from_with_user_400, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r23_strip_knob_off_keeps_values, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r23_proxy_require_kept_with_unperformed_value,
                                    sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r36_knob_remove_toward_ue, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r37_session_without_critical_forwarded, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r39_edge_response_to_untrusted, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r40_edge_knob_include, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r43_untrusted_response_pai_removed, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r46_scscf_blocks_on_behalf, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r52_not_restricted_adds_user_when_asked, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r53_terminating_as, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r54_as_li_reject, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r58_ppi_removed_everywhere, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r59_trusted_next_hop_keeps_pai, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r62_li_event_only_when_identity_leaves, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r63_phrase_lists_values_in_received_order, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r64_inside_nodes_never_reject_critical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r65_none_critical_never_rejected, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r71_li_policy_inside_with_identity, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r72_li_policy_spares_in_dialog_requests, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r75_other_party_request_untouched, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r77_retransmission_identical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r79_refresh_subscribe_from_anonymous_watcher,
                                    sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r25_user_in_response, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r26_bad_privacy_at_pcscf_orig_forwarded, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r30_unknown_subscriber_asserts_nothing, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r31_knob_remove_on_response_to_ue, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r21_edge_header_withholds_pai, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r42_edge_removes_trust_domain_headers, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r47_sip_alias_before_tel, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r49_side_branch_enforces_critical, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r57_invalid_pai_in_response_removed, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r60_none_with_user_performs_but_keeps_header,
                                    sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r70_unidentified_policy_lets_anonymous_through,
                                    sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r78_pcscf_asserts_in_response_from_ue, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(oom_sweep, sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r18_mandatory_values_performable_by_default,
                                    sv_test_arena_setup, sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r23_only_stripping_faces_drop_the_header, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r55_zero_context_is_untrusted, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r68_every_role_may_reject, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(r73_rejection_echoes_no_identity, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(api_bad_arguments, sv_test_arena_setup, sv_test_arena_teardown),
};

SV_TEST_MAIN(tests)
