/**
 * @file privacy_int.h  Internals of the privacy layer: the faces a message can present at a
 * node, the actions the policy tables name, and the two table look-ups (policy.c) that the
 * engine (decide.c) runs.
 */
#ifndef SIPVEIL_PRIVACY_INT_H
#define SIPVEIL_PRIVACY_INT_H

#include <sipveil/privacy.h>

/*
 * A face is what a node is to one message for one next hop, derived from role, session case,
 * request/response and the two trust flags (decide.c, face_of). The tables are indexed by it.
 */
enum privacy__face {
    PRIVACY__F_ORIG_UE = 0, /* P-CSCF, request from its UE: no privacy at all (R26) */
    PRIVACY__F_INSIDE,      /* next hop inside T: the identity does not leave T (R19, R59) */
    PRIVACY__F_LAST_HOP,    /* P-CSCF toward its UE, edge egress: the privacy service (R32-R42) */
    PRIVACY__F_SIDE,        /* S-CSCF/AS toward an untrusted AS or network: withhold, keep the
                               Privacy header for the rest of the path (R49) */
    PRIVACY__F_AS_TERM,     /* terminating AS, next hop inside T (R53) */
    PRIVACY__F_RESP_OUT,    /* a response leaving toward an untrusted hop (R25, R31, R39) */
    PRIVACY__F_N
};

/* The rows of the policy table: what a Privacy header asks for. */
enum privacy__row {
    PRIVACY__R_ABSENT = 0, /* no Privacy, or nothing in it that says withhold or present */
    PRIVACY__R_NONE,
    PRIVACY__R_ID,
    PRIVACY__R_USER,
    PRIVACY__R_HEADER,
    PRIVACY__R_SESSION,
    PRIVACY__R_OTHER, /* `history` (OP-19) and unknown tokens */
    PRIVACY__R_N
};

/* Actions, combined in a table cell. */
enum privacy__act {
    PRIVACY__A_DEL_PAI = 1u << 0,   /* delete every P-Asserted-Identity (R19) */
    PRIVACY__A_DEL_PAI_K = 1u << 1, /* ... if user_implies_id_toward_untrusted (OP-4) */
    PRIVACY__A_NOPRIV = 1u << 2,    /* ... if the no-Privacy knob of this role says REMOVE */
    PRIVACY__A_USER = 1u << 3,      /* anonymous From + the six user headers (R20) */
    PRIVACY__A_USER_HDRS = 1u << 4, /* the six user headers only (responses) */
    PRIVACY__A_ADD_ID = 1u << 5,    /* add `id` when absent (R53) */
    PRIVACY__A_DONE = 1u << 6,      /* the value counts as performed: strippable (R23) */
    PRIVACY__A_UNPERF = 1u << 7,    /* requested but not performed here: 500 if critical */
};

struct privacy__face_props {
    const char *name;
    bool strip;    /* this face is the final privacy service: strip performed values (R23) */
    bool critical; /* this face enforces `critical` (R63, R64) */
    bool edit;     /* this face may rewrite the Privacy header at all (not so R26) */
};

extern const struct privacy__face_props privacy__faces[PRIVACY__F_N];

/** The policy table: actions for what @p row asks, at @p face. */
unsigned privacy__rule(enum privacy__row row, enum privacy__face face);

/* Which party of a dialog a later message comes from (R74-R78). */
enum privacy__side {
    PRIVACY__S_REQ_FROM_ANON = 0, /* a request the anonymous party sent (From tag = anon) */
    PRIVACY__S_RESP_FROM_ANON,    /* a response the anonymous party sent (To tag = anon) */
    PRIVACY__S_OTHER,             /* anything the other party sent: nothing to hide (R75) */
    PRIVACY__S_N
};

/** The dialog table: actions for stored function @p func (SIP_PRIV_ID or _USER) on @p side. */
unsigned privacy__dialog_rule(unsigned func, enum privacy__side side);

#endif
