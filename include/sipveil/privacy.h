/**
 * @file privacy.h  The privacy service: a pure decision engine over one parsed SIP message.
 *
 * The big idea: privacy is a function, not a process. Given a parsed message and the context
 * the caller knows (which node role runs it, which way the message goes, whether the peer it
 * came from and the hop it goes to are inside the trust domain T, the dialog's stored privacy
 * state, the served subscriber's policy and the Spec(T) knobs), privacy_decide() returns one
 * of two verdicts:
 *
 *   - forward: the edits that make the message fit to leave this node are recorded into the
 *     caller's `struct sip_edits` (deletes of PAI/PPI lines, the anonymous From, the Privacy
 *     header with performed values stripped...). The message itself is never written to.
 *   - answer: a status code and reason phrase (400, 403, 433, 500 Privacy Unavailable: ...).
 *     No edit is recorded then. For an ACK, which cannot be answered, a code means: drop it.
 *
 * It also reports which privacy functions it performed (to be stored as the dialog's state
 * and handed back for every later message of that dialog, R74-R79), and whether the caller
 * must hand the pre-privacy identities to lawful interception before forwarding (R62).
 *
 * The engine does no I/O, keeps no state and allocates only from the edit list's arena. The
 * policy itself is two tables in src/privacy/policy.c, readable on one screen each; the
 * requirement numbers (R-n) refer to the requirements digest, and docs/privacy.md lays the
 * tables out against them.
 */
#ifndef SIPVEIL_PRIVACY_H
#define SIPVEIL_PRIVACY_H

#include <sipveil/sip.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The node role running the engine (one process may host several, each calls with its own). */
enum privacy_role {
    PRIVACY_ROLE_PCSCF = 0,
    PRIVACY_ROLE_EDGE, /* the trust-domain edge: I-CSCF in the seed, IBCF later (OP-1) */
    PRIVACY_ROLE_SCSCF,
    PRIVACY_ROLE_AS,
    PRIVACY_ROLE_PS, /* the Presence Server: an AS as far as headers go */
};

/** The I-CSCF is this system's edge proxy. */
#define PRIVACY_ROLE_ICSCF PRIVACY_ROLE_EDGE

/**
 * The session case. For the P-CSCF, ORIG means a request from its served UE and TERM a
 * request toward it. For the S-CSCF and an AS it is the originating or terminating session
 * case of the served user. The edge ignores it: its faces follow from the two trust flags.
 * For a response, give the session case of the request it answers.
 */
enum privacy_dir {
    PRIVACY_DIR_ORIG = 0,
    PRIVACY_DIR_TERM,
};

/** What to do with P-Asserted-Identity toward an untrusted hop when there is no Privacy. */
enum privacy_pai_default {
    PRIVACY_PAI_INCLUDE = 0,
    PRIVACY_PAI_REMOVE,
};

/** li_reject_policy (R68-R72): which requests without a usable asserted identity to refuse. */
enum privacy_li_policy {
    PRIVACY_LI_OFF = 0,
    PRIVACY_LI_ANONYMOUS,    /* deliberately anonymous ones: 433 Anonymity Disallowed */
    PRIVACY_LI_UNIDENTIFIED, /* non-anonymous but unauthenticated ones: 403 Forbidden */
    PRIVACY_LI_BOTH,
};

/**
 * The Spec(T) knobs of requirements §0.5 that concern this engine. RFC 3325 §1 asks a trust
 * domain to document them; docs/privacy.md does, and privacy_knobs_default holds the defaults.
 */
struct privacy_knobs {
    /* PAI toward the own UE (P-CSCF) when the message has no Privacy header. R31, R36.
     * Default INCLUDE: ordinary calling line presentation. */
    enum privacy_pai_default pai_when_no_privacy_to_ue;
    /* PAI toward an untrusted network or AS when there is no Privacy header (edge egress,
     * S-CSCF/AS side branch). R40, R49. Default REMOVE. */
    enum privacy_pai_default pai_when_no_privacy_to_untrusted_net;
    /* `user` also withholds PAI toward untrusted hops (OP-4). R34, R59. Default true. */
    bool user_implies_id_toward_untrusted;
    /* Remove performed values from Privacy, and the header (and `privacy` from Proxy-Require)
     * when none that asks for a function is left. R23, OP-5. Default true. */
    bool strip_performed_priv_values;
    /* SIP_PRIV_* values this node can perform. R65. Default NONE|ID|USER|CRITICAL; `header`
     * and `session` are not performed in this release whatever is set here. Clear USER where
     * the node cannot keep dialog state (R76). */
    unsigned performable_priv_values;
    /* Refuse (500) non-performable values even without `critical`. R66. Default false. */
    bool reject_nonperformable_without_critical;
    /* R68-R72. Default OFF. Per ingress peer: the caller passes the knobs of the peer. */
    enum privacy_li_policy li_reject_policy;
    /* A P-Preferred-Identity naming no registered identity is refused with 403 instead of
     * replaced by the default identity. R28, OP-13. Default false. */
    bool ppi_mismatch_reject;
};

extern const struct privacy_knobs privacy_knobs_default;

/**
 * The served subscriber, as the caller knows it (registrar at the P-CSCF, profile at the
 * S-CSCF/AS). All slices are borrowed for the duration of the call.
 */
struct privacy_subscriber {
    const struct sv_slice *impus; /* registered, non-barred identities (URIs) */
    size_t nimpus;
    struct sv_slice default_impu; /* R29: the first P-Associated-URI; unset: none known */
    struct sv_slice alias;        /* R47: an identity of the other URI family in the same
                                     implicit registration set; unset when none */
    bool identity_blocking;       /* R46, R51: identity restricted by default (OIR) */
    bool user_by_policy;          /* R51, R52: ask for `user` too when blocking applies */
};

/**
 * The privacy state of a dialog, as stored by the caller after the dialog-creating request
 * (R74). Fill it from privacy_verdict.performed and the From tag of that request.
 */
struct privacy_dialog {
    unsigned funcs;           /* SIP_PRIV_ID and/or SIP_PRIV_USER performed on that request */
    struct sv_slice anon_tag; /* the From tag of that request: the party whose identity is
                                 withheld; borrowed */
};

struct privacy_input {
    const struct sip_msg *msg; /* request or response */
    enum privacy_role role;
    enum privacy_dir dir;
    bool ingress_trusted;                 /* the peer the message came from is in T */
    bool egress_trusted;                  /* the hop it goes to next is in T */
    const struct privacy_dialog *dialog;  /* NULL: none, or not stored by this node */
    const struct privacy_subscriber *sub; /* NULL: none known */
    const struct privacy_knobs *knobs;    /* NULL: privacy_knobs_default */
    bool li_target;                       /* the request concerns a lawful-interception target */
};

/* privacy_verdict.flags */
enum privacy_flag {
    PRIVACY_F_LI_EVENT = 1u << 0,       /* hand the unedited message's identities to LI first */
    PRIVACY_F_PAI_UNTRUSTED = 1u << 1,  /* PAI from an untrusted peer was removed (R43, R57) */
    PRIVACY_F_PAI_INVALID = 1u << 2,    /* an invalid PAI set was removed (R5, R57): log it */
    PRIVACY_F_PAI_ASSERTED = 1u << 3,   /* this node inserted a PAI (R27, R47, OP-18) */
    PRIVACY_F_BAD_PRIVACY = 1u << 4,    /* a response's Privacy did not decode: treated as `id` */
    PRIVACY_F_PRIVACY_EDITED = 1u << 5, /* the Privacy header was rewritten, added or removed */
};

struct privacy_verdict {
    uint16_t code;      /* 0: forward with the edits; otherwise answer with code and reason */
    char reason[96];    /* the reason phrase when code is not 0, e.g. "Privacy Unavailable: header";
                           never holds an identity (R73) */
    unsigned performed; /* SIP_PRIV_ID / SIP_PRIV_USER performed here: the dialog state */
    unsigned flags;     /* PRIVACY_F_* */
};

/**
 * Decide what privacy requires of one message at this node, for one next hop.
 *
 * @param in  the message and its context; see struct privacy_input.
 * @param ed  edits of in->msg (sip_edits_init'ed by the caller); the engine only adds to it.
 * @param v   out: the verdict.
 * @return 0 (read @p v); EINVAL for a NULL argument or an edit list of another message;
 *         ENOMEM when the edit arena is exhausted (the caller answers 503 or drops).
 */
int privacy_decide(const struct privacy_input *in, struct sip_edits *ed, struct privacy_verdict *v);

/** Printable name of a role ("pcscf"...), for logs and test names. */
const char *privacy_role_name(enum privacy_role role);

#ifdef __cplusplus
}
#endif
#endif
