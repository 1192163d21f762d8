/**
 * @file policy.c  The privacy policy as data: the Spec(T) defaults, the priv-value x face
 * table, and the table that re-applies a dialog's stored privacy to its later messages.
 *
 * Everything the engine decides about a Privacy header is read from these tables; decide.c
 * only works out the face, runs the look-ups and turns the actions into edits. A reviewer
 * checks the policy here against the requirement numbers, on one screen.
 */
#include "privacy_int.h"

/* Requirements §0.5, the defaults marked [d]. docs/privacy.md explains each. */
const struct privacy_knobs privacy_knobs_default = {
    .pai_when_no_privacy_to_ue = PRIVACY_PAI_INCLUDE,
    .pai_when_no_privacy_to_untrusted_net = PRIVACY_PAI_REMOVE,
    .user_implies_id_toward_untrusted = true,
    .strip_performed_priv_values = true,
    .performable_priv_values = SIP_PRIV_NONE | SIP_PRIV_ID | SIP_PRIV_USER | SIP_PRIV_CRITICAL,
    .reject_nonperformable_without_critical = false,
    .li_reject_policy = PRIVACY_LI_OFF,
    .ppi_mismatch_reject = false,
};

/*                                     name        strip  critical edit */
const struct privacy__face_props privacy__faces[PRIVACY__F_N] = {
    [PRIVACY__F_ORIG_UE] = {"orig-ue", false, false, false}, /* R26 */
    [PRIVACY__F_INSIDE] = {"inside", false, false, true},    /* R19, R59 */
    [PRIVACY__F_LAST_HOP] = {"last-hop", true, true, true},  /* R32-R39, R64 */
    [PRIVACY__F_SIDE] = {"side", false, true, true},         /* R49, R64 */
    [PRIVACY__F_AS_TERM] = {"as-term", false, true, true},   /* R53, R64 */
    [PRIVACY__F_RESP_OUT] = {"resp-out", true, false, true}, /* R25, R31, R67 */
};

/* Short names, so that a table row fits a line. */
#define W PRIVACY__A_DEL_PAI    /* withhold: delete every PAI */
#define WK PRIVACY__A_DEL_PAI_K /* withhold if user_implies_id_toward_untrusted */
#define NP PRIVACY__A_NOPRIV    /* PAI as the no-Privacy knob of the role says */
#define U PRIVACY__A_USER       /* anonymous From + the six user headers */
#define UH PRIVACY__A_USER_HDRS /* the six user headers only */
#define AI PRIVACY__A_ADD_ID    /* add `id` */
#define OK PRIVACY__A_DONE      /* performed: stripped by a stripping face */
#define NO PRIVACY__A_UNPERF    /* not performed: fatal with `critical` at a critical face */

/*
 * The policy: what each priv-value makes each face do. `none` rows are empty and lock the
 * header (R3, R35, R41); a header holding `none` and a withholding value runs the withholding
 * rows but stays byte for byte (R60). Faces toward T do nothing: an identity that does not
 * leave T needs no hiding (R19, R59), and `critical` there is not theirs to enforce (OP-7).
 * The ABSENT row also runs for a Privacy holding only `critical` or unknown tokens.
 */
/* clang-format off */
static const unsigned rules[PRIVACY__R_N][PRIVACY__F_N] = {
/*                      ORIG_UE INSIDE LAST_HOP   SIDE       AS_TERM  RESP_OUT       requirements */
[PRIVACY__R_ABSENT]  = {0,      0,     NP,        NP,        0,       NP},        /* R36 R40 R31 */
[PRIVACY__R_NONE]    = {0,      0,     0,         0,         0,       0},         /* R3 R35 R41 */
[PRIVACY__R_ID]      = {0,      0,     W|OK,      W|OK,      0,       W|OK},      /* R19 R33 R49 */
[PRIVACY__R_USER]    = {0,      0,     U|WK|OK,   U|WK|OK,   U|OK,    UH|WK|OK},  /* R20 R34 R53 */
[PRIVACY__R_HEADER]  = {0,      0,     W|NO,      W|NO,      AI|NO,   W},         /* R21 R37 R53 */
[PRIVACY__R_SESSION] = {0,      0,     NO,        NO,        NO,      0},         /* R22 R37 R67 */
[PRIVACY__R_OTHER]   = {0,      0,     NO,        NO,        NO,      0},         /* R1 OP-19 */
};

/*
 * The dialog memory (R74-R79): a function performed on the dialog-creating request is
 * performed again on every later message the anonymous party sends, requests (BYE, ACK,
 * re-INVITE, refreshing SUBSCRIBE...) and responses alike, with or without a Privacy header.
 * What the other party sends is left alone: its To names the anonymous party by the anonymous
 * URI already and is never "restored" (R75). Applied only toward untrusted hops.
 */
static const unsigned dialog_rules[2][PRIVACY__S_N] = {
/*             REQ_FROM_ANON  RESP_FROM_ANON  OTHER */
/* id   */    {W,             W,              0},      /* R74 R78 */
/* user */    {U|WK,          UH|WK,          0},      /* R74 R77 R79 */
};
/* clang-format on */

#undef W
#undef WK
#undef NP
#undef U
#undef UH
#undef AI
#undef OK
#undef NO

unsigned privacy__rule(enum privacy__row row, enum privacy__face face)
{
    if ((unsigned)row >= PRIVACY__R_N || (unsigned)face >= PRIVACY__F_N)
        return 0;
    return rules[row][face];
}

unsigned privacy__dialog_rule(unsigned func, enum privacy__side side)
{
    if ((unsigned)side >= PRIVACY__S_N)
        return 0;
    if (func == SIP_PRIV_ID)
        return dialog_rules[0][side];
    if (func == SIP_PRIV_USER)
        return dialog_rules[1][side];
    return 0;
}

/**
 * Printable name of a role, for logs and test names.
 *
 * @param role  a role; the I-CSCF is the edge.
 * @return "pcscf", "edge", "scscf", "as", "ps", or "?" for a value out of range.
 */
const char *privacy_role_name(enum privacy_role role)
{
    static const char *const names[] = {"pcscf", "edge", "scscf", "as", "ps"};

    if ((unsigned)role >= SV_ARRAY_SIZE(names))
        return "?";
    return names[role];
}
