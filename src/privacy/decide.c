/**
 * @file decide.c  The privacy engine: from a parsed message and its context to a verdict.
 *
 * One pass, in the order of the node pipeline (docs/architecture.md):
 *   1. Privacy: decode every line (R1-R4); a malformed one is 400 on a request.
 *   2. Identity: PAI from an untrusted peer goes (R43, R57), an invalid PAI set goes (R5, R57),
 *      PPI always goes (R58); where this node may assert, it asserts (R27-R29, R47, OP-18).
 *   3. Anonymity policy: refuse requests without usable identity if LI policy says so (R68-R72).
 *   4. Home network on behalf of the user: add `id`/`user` per subscription (R46, R51-R53).
 *   5. Privacy functions: look the requested values up in the policy table for this face,
 *      add the dialog's stored functions (R74-R79), enforce `critical` (R63-R66).
 *   6. Emit edits: PAI, From, user headers, trust-domain headers, Privacy, Proxy-Require.
 * Nothing is written before step 6, so an answer (steps 1-5) leaves the edit list untouched.
 */
#include <errno.h>
#include <stdio.h>

#include "privacy_int.h"

#define ANON_NAME_ADDR "\"Anonymous\" <sip:anonymous@anonymous.invalid>" /* R8 */
#define MAX_PAI 2

struct plan {
    const struct privacy_input *in;
    const struct privacy_knobs *k;
    const struct sip_msg *msg;
    enum sip_method mid; /* the request's method; for a response, its CSeq method */
    enum privacy__face face;

    struct sip_privacy pv;
    bool has_priv;
    bool priv_locked;    /* `none` present (R3) or a face that must not touch it (R26) */
    unsigned add_bits;   /* values this node adds on the user's behalf (R24) */
    unsigned strip_bits; /* values performed here, removed when stripping (R23) */

    /* identity */
    unsigned pai_values;            /* received values that survive step 2 */
    unsigned pai_family;            /* 1 sip/sips, 2 tel: of the single surviving value */
    const struct sip_hdr *pai_line; /* its line */
    bool del_rx_pai;                /* delete every received PAI line */
    struct sv_slice ins[MAX_PAI];   /* PAI values to insert, "<uri>", sip first */
    unsigned ins_family[MAX_PAI];
    unsigned nins;
    const struct sip_hdr *ins_before; /* where inserted PAI lines go; NULL: end of headers */
    bool ins_after_pai;               /* R47 alias of the tel family: after pai_line */

    unsigned acts;
    char unperf[64]; /* the values that cannot be performed, ';'-joined */
    size_t unperf_l;
};

static unsigned family(const struct sip_uri *u)
{
    switch (u->scheme) {
    case SIP_URI_SIP:
    case SIP_URI_SIPS:
        return 1;
    case SIP_URI_TEL:
        return 2;
    default:
        return 0;
    }
}

/* R6: PAI is not applicable to these methods; never synthesise it there. */
static bool pai_applicable(enum sip_method m)
{
    switch (m) {
    case SIP_METHOD_REGISTER:
    case SIP_METHOD_ACK:
    case SIP_METHOD_CANCEL:
    case SIP_METHOD_PRACK:
    case SIP_METHOD_INFO:
    case SIP_METHOD_UPDATE:
        return false;
    default:
        return true;
    }
}

static bool to_has_tag(const struct sip_msg *msg)
{
    return msg->to.tag.p != NULL;
}

static enum privacy__face face_of(const struct privacy_input *in)
{
    const struct sip_msg *msg = in->msg;

    if (!msg->req)
        return in->egress_trusted ? PRIVACY__F_INSIDE : PRIVACY__F_RESP_OUT;
    switch (in->role) {
    case PRIVACY_ROLE_PCSCF:
        if (in->dir == PRIVACY_DIR_ORIG)
            return PRIVACY__F_ORIG_UE;
        return in->egress_trusted ? PRIVACY__F_INSIDE : PRIVACY__F_LAST_HOP;
    case PRIVACY_ROLE_EDGE:
        return in->egress_trusted ? PRIVACY__F_INSIDE : PRIVACY__F_LAST_HOP;
    case PRIVACY_ROLE_SCSCF:
        return in->egress_trusted ? PRIVACY__F_INSIDE : PRIVACY__F_SIDE;
    case PRIVACY_ROLE_AS:
    case PRIVACY_ROLE_PS:
    default:
        if (!in->egress_trusted)
            return PRIVACY__F_SIDE;
        return in->dir == PRIVACY_DIR_TERM ? PRIVACY__F_AS_TERM : PRIVACY__F_INSIDE;
    }
}

static void answer(struct privacy_verdict *v, uint16_t code, const char *reason)
{
    v->code = code;
    snprintf(v->reason, sizeof(v->reason), "%s", reason);
    v->performed = 0;
}

/* The canonical spelling of a known priv-value. */
static const char *value_name(unsigned bit)
{
    switch (bit) {
    case SIP_PRIV_NONE:
        return "none";
    case SIP_PRIV_HEADER:
        return "header";
    case SIP_PRIV_SESSION:
        return "session";
    case SIP_PRIV_USER:
        return "user";
    case SIP_PRIV_ID:
        return "id";
    case SIP_PRIV_HISTORY:
        return "history";
    default:
        return "critical";
    }
}

/* ---- step 2: identity --------------------------------------------------------------- */

/*
 * Look at the received PAI lines: R5 allows one sip/sips value, one tel value, or one of each.
 * Anything else (a third value, two of a family, another scheme, an element that does not
 * decode) makes the whole set invalid: it is removed, never repaired (R57).
 */
static void pai_scan(struct plan *pl, struct privacy_verdict *v)
{
    const struct sip_msg *msg = pl->msg;
    unsigned n = 0, nsip = 0, ntel = 0, fam = 0;
    const struct sip_hdr *line = NULL;
    bool bad = false;

    for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY); h;
         h = sip_msg_hdr_next(msg, h)) {
        struct sv_slice cur = h->value;
        struct sip_addr a;
        int e;

        while ((e = sip_addr_next(&cur, &a)) == 0) {
            unsigned f = family(&a.uri);
            n++;
            nsip += f == 1;
            ntel += f == 2;
            bad |= f == 0;
            fam = f;
            line = h;
        }
        bad |= e != ENOENT;
    }
    if (!sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY))
        return;
    if (!pl->in->ingress_trusted) {
        pl->del_rx_pai = true;
        v->flags |= PRIVACY_F_PAI_UNTRUSTED;
        return;
    }
    if (bad || n > MAX_PAI || nsip > 1 || ntel > 1) {
        pl->del_rx_pai = true;
        v->flags |= PRIVACY_F_PAI_INVALID;
        return;
    }
    pl->pai_values = n;
    if (n == 1) {
        pl->pai_family = fam;
        pl->pai_line = line;
    }
}

static void ins_add(struct plan *pl, struct sv_slice uri, unsigned fam)
{
    if (pl->nins >= MAX_PAI)
        return;
    if (pl->nins == 1 && fam == 1 && pl->ins_family[0] != 1) { /* sip first (R5) */
        pl->ins[1] = pl->ins[0];
        pl->ins_family[1] = pl->ins_family[0];
        pl->ins[0] = uri;
        pl->ins_family[0] = fam;
    } else {
        pl->ins[pl->nins] = uri;
        pl->ins_family[pl->nins] = fam;
    }
    pl->nins++;
}

/* The registered identity that @p uri names, or an unset slice (R27). */
static struct sv_slice registered(const struct privacy_subscriber *sub, const struct sip_uri *uri)
{
    for (size_t i = 0; i < sub->nimpus; i++) {
        struct sip_uri r;
        if (!sip_uri_decode(&r, sub->impus[i]) && sip_uri_equal(&r, uri))
            return sub->impus[i];
    }
    return sv_slice_make(NULL, 0);
}

/*
 * R27-R29 at the P-CSCF for a message from its UE, and OP-18 at the S-CSCF for a request
 * coming back from an untrusted AS: the received PAI is gone (step 2, untrusted peer); assert
 * the identity the PPI names if it is registered, else the default identity.
 * @return 0, or 403 under ppi_mismatch_reject (R28).
 */
static uint16_t pai_assert(struct plan *pl, struct privacy_verdict *v)
{
    const struct privacy_input *in = pl->in;
    const struct privacy_subscriber *sub = in->sub;
    const struct sip_msg *msg = pl->msg;
    struct sv_slice chosen = sv_slice_make(NULL, 0);
    bool ppi_seen = false;

    if (in->ingress_trusted || !sub || !sub->default_impu.p || !pai_applicable(pl->mid))
        return 0;
    if (in->role != PRIVACY_ROLE_PCSCF &&
        (in->role != PRIVACY_ROLE_SCSCF || in->dir != PRIVACY_DIR_ORIG))
        return 0;
    if (in->role == PRIVACY_ROLE_PCSCF) {
        for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_P_PREFERRED_IDENTITY);
             h && !chosen.p; h = sip_msg_hdr_next(msg, h)) {
            struct sv_slice cur = h->value;
            struct sip_addr a;
            while (!chosen.p && sip_addr_next(&cur, &a) == 0) {
                ppi_seen = true;
                chosen = registered(sub, &a.uri);
            }
            ppi_seen |= h->value.l > 0;
        }
        if (ppi_seen && !chosen.p && pl->k->ppi_mismatch_reject)
            return 403;
    }
    if (!chosen.p)
        chosen = sub->default_impu;

    struct sip_uri u;
    if (sip_uri_decode(&u, chosen))
        return 0; /* a provisioning error; assert nothing rather than garbage */
    pl->del_rx_pai = true;
    v->flags |= PRIVACY_F_PAI_ASSERTED;
    ins_add(pl, chosen, family(&u));
    return 0;
}

/* R47: the originating S-CSCF adds the alias of the other family as a second PAI. */
static void pai_alias(struct plan *pl, struct privacy_verdict *v)
{
    const struct privacy_input *in = pl->in;
    const struct privacy_subscriber *sub = in->sub;
    struct sip_uri u;
    unsigned fam;

    if (in->role != PRIVACY_ROLE_SCSCF || in->dir != PRIVACY_DIR_ORIG || !pl->msg->req)
        return;
    if (!sub || !sub->alias.p || sip_uri_decode(&u, sub->alias) || !pai_applicable(pl->mid))
        return;
    fam = family(&u);
    if (!fam)
        return;
    if (pl->nins == 1 && pl->ins_family[0] != fam) {
        ins_add(pl, sub->alias, fam);
    } else if (!pl->nins && !pl->del_rx_pai && pl->pai_values == 1 && pl->pai_family &&
               pl->pai_family != fam) {
        ins_add(pl, sub->alias, fam);
        pl->ins_after_pai = fam == 2;
        pl->ins_before = pl->pai_line;
    } else {
        return;
    }
    v->flags |= PRIVACY_F_PAI_ASSERTED;
}

/* ---- step 3: anonymity policy ------------------------------------------------------- */

/* R69: the originator deliberately withheld identity. */
static bool is_anonymous(const struct plan *pl)
{
    const struct sip_addr *f = &pl->msg->from;

    if (pl->has_priv && (pl->pv.bits & (SIP_PRIV_ID | SIP_PRIV_USER)))
        return true;
    if (!f->raw.p)
        return false;
    if (f->uri.host.p && sv_slice_caseeq_cstr(f->uri.host, "anonymous.invalid"))
        return true;
    return f->dname.p && sv_slice_caseeq_cstr(f->dname, "Anonymous");
}

static uint16_t li_policy(struct plan *pl, struct privacy_verdict *v)
{
    enum privacy_li_policy pol = pl->k->li_reject_policy;
    const struct sip_msg *msg = pl->msg;
    bool anon;

    /* Only a request that opens something new is judged: refusing a BYE or an ACK would
     * strand a dialog that was let in already (R72 applies at dialog creation). */
    if (pol == PRIVACY_LI_OFF || !msg->req || to_has_tag(msg) || msg->mid == SIP_METHOD_ACK ||
        msg->mid == SIP_METHOD_CANCEL || msg->mid == SIP_METHOD_REGISTER)
        return 0;
    if (pl->nins || (!pl->del_rx_pai && pl->pai_values)) /* R71: identity available to LI */
        return 0;
    anon = is_anonymous(pl);
    if (anon && (pol == PRIVACY_LI_ANONYMOUS || pol == PRIVACY_LI_BOTH)) {
        answer(v, 433, "Anonymity Disallowed"); /* R69 */
        return 433;
    }
    if (!anon && (pol == PRIVACY_LI_UNIDENTIFIED || pol == PRIVACY_LI_BOTH)) {
        answer(v, 403, "Forbidden"); /* R70 */
        return 403;
    }
    return 0;
}

/* ---- step 4: on behalf of the user -------------------------------------------------- */

static void on_behalf(struct plan *pl)
{
    const struct privacy_input *in = pl->in;
    const struct privacy_subscriber *sub = in->sub;
    unsigned bits = pl->has_priv ? pl->pv.bits : 0;

    if (!sub || !pl->msg->req || in->dir != PRIVACY_DIR_ORIG)
        return;
    if (in->role != PRIVACY_ROLE_SCSCF && in->role != PRIVACY_ROLE_AS &&
        in->role != PRIVACY_ROLE_PS)
        return;
    if (pl->mid == SIP_METHOD_ACK || pl->mid == SIP_METHOD_CANCEL)
        return;
    if (bits & SIP_PRIV_NONE) /* R3, R24: never extend a header holding `none` */
        return;
    if (sub->identity_blocking) { /* R46, R51: restricted by default */
        if (!(bits & (SIP_PRIV_ID | SIP_PRIV_HEADER)))
            pl->add_bits |= SIP_PRIV_ID;
        if (sub->user_by_policy && !(bits & SIP_PRIV_USER))
            pl->add_bits |= SIP_PRIV_USER;
    } else if ((bits & (SIP_PRIV_ID | SIP_PRIV_HEADER)) && sub->user_by_policy &&
               !(bits & SIP_PRIV_USER)) {
        pl->add_bits |= SIP_PRIV_USER; /* R52: not restricted by default, but asked for */
    }
}

/* ---- step 5: the tables ------------------------------------------------------------- */

static void unperf_add(struct plan *pl, struct sv_slice name)
{
    size_t need = name.l + (pl->unperf_l ? 1 : 0);

    if (pl->unperf_l + need >= sizeof(pl->unperf))
        return; /* the phrase is informative; the code is what matters (OP-6) */
    if (pl->unperf_l)
        pl->unperf[pl->unperf_l++] = ';';
    memcpy(pl->unperf + pl->unperf_l, name.p, name.l);
    pl->unperf_l += name.l;
    pl->unperf[pl->unperf_l] = '\0';
}

static enum privacy__row row_of(unsigned bit)
{
    switch (bit) {
    case SIP_PRIV_NONE:
        return PRIVACY__R_NONE;
    case SIP_PRIV_ID:
        return PRIVACY__R_ID;
    case SIP_PRIV_USER:
        return PRIVACY__R_USER;
    case SIP_PRIV_HEADER:
        return PRIVACY__R_HEADER;
    case SIP_PRIV_SESSION:
        return PRIVACY__R_SESSION;
    default:
        return PRIVACY__R_OTHER;
    }
}

/* The cell for one value, with the knob that says what this node can perform (R65). */
static unsigned cell(struct plan *pl, unsigned bit)
{
    unsigned a = privacy__rule(row_of(bit), pl->face);
    unsigned can = pl->k->performable_priv_values & (SIP_PRIV_ID | SIP_PRIV_USER);

    if ((bit == SIP_PRIV_ID || bit == SIP_PRIV_USER) && !(can & bit) && (a & PRIVACY__A_DONE)) {
        /* Not performable here: still withhold what can be withheld (leak least), but the
         * value is neither performed nor stripped, and `critical` makes it fatal (TC-19). */
        a &= ~(unsigned)(PRIVACY__A_DONE | PRIVACY__A_USER | PRIVACY__A_USER_HDRS);
        a |= PRIVACY__A_UNPERF;
    }
    return a;
}

static void run_tables(struct plan *pl, struct privacy_verdict *v)
{
    const struct sip_privacy *pv = &pl->pv;
    unsigned bits = (pl->has_priv ? pv->bits : 0) | pl->add_bits;
    const unsigned say = SIP_PRIV_NONE | SIP_PRIV_ID | SIP_PRIV_USER | SIP_PRIV_HEADER;

    /* Values as received, so the 500 phrase lists them in received order (R63). */
    for (unsigned i = 0; pl->has_priv && i < pv->ntok; i++) {
        unsigned bit = pv->tok_bit[i];
        if (bit == SIP_PRIV_CRITICAL)
            continue;
        unsigned a = cell(pl, bit);
        pl->acts |= a;
        if (a & PRIVACY__A_DONE)
            pl->strip_bits |= bit;
        if (a & PRIVACY__A_UNPERF)
            unperf_add(pl, bit ? sv_slice_cstr(value_name(bit)) : pv->tok[i]);
    }
    /* R53: a terminating AS asked for `header` adds `id`, which the last hop performs. */
    if ((pl->acts & PRIVACY__A_ADD_ID) && !(bits & SIP_PRIV_ID) && !(bits & SIP_PRIV_NONE))
        pl->add_bits |= SIP_PRIV_ID;
    /* Values this node added: performed downstream, so only their table actions count. */
    for (unsigned b = 1; b <= SIP_PRIV_HISTORY; b <<= 1) {
        if (pl->add_bits & b)
            pl->acts |= cell(pl, b) & ~(unsigned)(PRIVACY__A_DONE | PRIVACY__A_UNPERF);
    }
    if (!(bits & say))
        pl->acts |= privacy__rule(PRIVACY__R_ABSENT, pl->face);

    /* The dialog's stored functions (R74), toward untrusted hops only. */
    const struct privacy_dialog *d = pl->in->dialog;
    if (d && d->funcs && !pl->in->egress_trusted && d->anon_tag.p) {
        const struct sip_msg *msg = pl->msg;
        struct sv_slice tag = msg->req ? msg->from.tag : msg->to.tag;
        enum privacy__side side = PRIVACY__S_OTHER;
        /* tags are tokens: case-insensitive (RFC 3261 §7.3.1), as the dialog store compares */
        if (tag.p && sv_slice_caseeq(tag, d->anon_tag))
            side = msg->req ? PRIVACY__S_REQ_FROM_ANON : PRIVACY__S_RESP_FROM_ANON;
        for (unsigned f = SIP_PRIV_USER; f <= SIP_PRIV_ID; f <<= 1) {
            if (d->funcs & f)
                pl->acts |= privacy__dialog_rule(f, side);
        }
        if (side != PRIVACY__S_OTHER)
            v->performed |= d->funcs & (SIP_PRIV_ID | SIP_PRIV_USER);
    }
}

/*
 * Resolve the knob-dependent PAI actions into one decision: 0 keep, 1 withhold because the
 * message (or its dialog) asked for it, 2 withhold by Spec(T) policy for messages without
 * Privacy (R36, R40). Only the first counts as performing `id` for the dialog state.
 */
static int pai_withheld(const struct plan *pl)
{
    const struct privacy_knobs *k = pl->k;
    enum privacy_pai_default dflt = pl->in->role == PRIVACY_ROLE_PCSCF
                                        ? k->pai_when_no_privacy_to_ue
                                        : k->pai_when_no_privacy_to_untrusted_net;

    if (pl->acts & PRIVACY__A_DEL_PAI)
        return 1;
    if ((pl->acts & PRIVACY__A_DEL_PAI_K) && k->user_implies_id_toward_untrusted)
        return 1;
    return (pl->acts & PRIVACY__A_NOPRIV) && dflt == PRIVACY_PAI_REMOVE ? 2 : 0;
}

/* ---- step 6: edits ------------------------------------------------------------------ */

static int del_flagged(struct sip_edits *ed, unsigned flag, unsigned *n)
{
    const struct sip_msg *msg = ed->msg;

    for (unsigned i = 0; i < msg->hdrc; i++) {
        if (sip_hdr_flags((enum sip_hdr_id)msg->hdrv[i].id) & flag) {
            int e = sip_edit_hdr_del(ed, &msg->hdrv[i]);
            if (e)
                return e;
            ++*n;
        }
    }
    return 0;
}

/* R23: `privacy` leaves Proxy-Require with the last function value it asked for. */
static int proxy_require_strip(struct sip_edits *ed)
{
    const struct sip_msg *msg = ed->msg;

    for (const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_PROXY_REQUIRE); h;
         h = sip_msg_hdr_next(msg, h)) {
        struct sv_slice cur = h->value, tok;
        while (sip_token_next(&cur, &tok) == 0) {
            if (sv_slice_caseeq_cstr(sv_slice_trim(tok), "privacy")) {
                int e = sip_edit_elem_del(ed, h, tok);
                if (e)
                    return e;
            }
        }
    }
    return 0;
}

static int privacy_hdr_edit(struct plan *pl, struct sip_edits *ed, struct privacy_verdict *v)
{
    const struct sip_msg *msg = pl->msg;
    const struct sip_hdr *first = sip_msg_hdr(msg, SIP_HDR_PRIVACY);
    struct sip_privacy npv = pl->pv;
    const unsigned func =
        SIP_PRIV_HEADER | SIP_PRIV_SESSION | SIP_PRIV_USER | SIP_PRIV_ID | SIP_PRIV_HISTORY;
    char buf[256];
    size_t n;
    int e;

    if (pl->priv_locked || !privacy__faces[pl->face].edit || (!pl->has_priv && !pl->add_bits))
        return 0;
    bool strip = privacy__faces[pl->face].strip && pl->k->strip_performed_priv_values;

    npv.bits |= pl->add_bits;
    if (strip)
        npv.bits &= ~pl->strip_bits;
    if (strip && pl->has_priv && !(npv.bits & func) && !npv.nunknown) {
        /* Nothing that asks for a function is left (only `critical`, or nothing). */
        v->flags |= PRIVACY_F_PRIVACY_EDITED;
        e = sip_edit_hdr_del_all(ed, SIP_HDR_PRIVACY);
        return e ? e : proxy_require_strip(ed);
    }
    if (sip_privacy_print(&npv, buf, sizeof(buf), &n))
        return 0; /* cannot happen with SIP_PRIV_MAX_TOKENS tokens; leave it as received */
    struct sv_slice canon = sv_slice_make(buf, n);
    if (!first) {
        v->flags |= PRIVACY_F_PRIVACY_EDITED;
        return sip_edit_hdr_insert(ed, NULL, "Privacy", canon);
    }
    /* R4: one line, canonical form; bytes already canonical stay untouched. */
    if (msg->count[SIP_HDR_PRIVACY] == 1 && sv_slice_eq(first->value, canon))
        return 0;
    v->flags |= PRIVACY_F_PRIVACY_EDITED;
    e = sip_edit_hdr_set(ed, first, canon);
    for (const struct sip_hdr *h = sip_msg_hdr_next(msg, first); h && !e;
         h = sip_msg_hdr_next(msg, h))
        e = sip_edit_hdr_del(ed, h);
    return e;
}

static int pai_edit(struct plan *pl, struct sip_edits *ed, bool withhold)
{
    const struct sip_msg *msg = pl->msg;
    const struct sip_hdr *before = pl->ins_before;
    int e = 0;

    if (withhold || pl->del_rx_pai) {
        e = sip_edit_hdr_del_all(ed, SIP_HDR_P_ASSERTED_IDENTITY);
        if (e || withhold)
            return e;
    }
    if (!pl->nins)
        return 0;
    if (pl->ins_after_pai) {
        unsigned idx = (unsigned)(pl->pai_line - msg->hdrv);
        before = idx + 1 < msg->hdrc ? &msg->hdrv[idx + 1] : NULL;
    } else if (!before) {
        /* In place of the lines the assertion replaces: the first PAI, else the first PPI. */
        before = sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY);
        if (!before)
            before = sip_msg_hdr(msg, SIP_HDR_P_PREFERRED_IDENTITY);
    }
    for (unsigned i = 0; i < pl->nins && !e; i++) {
        const struct sv_slice parts[] = {SV_LIT("<"), pl->ins[i], SV_LIT(">")};
        char buf[512];
        size_t l = 0;
        for (size_t j = 0; j < SV_ARRAY_SIZE(parts); j++) {
            if (l + parts[j].l > sizeof(buf))
                return EINVAL;
            memcpy(buf + l, parts[j].p, parts[j].l);
            l += parts[j].l;
        }
        e = sip_edit_hdr_insert(ed, before, "P-Asserted-Identity", sv_slice_make(buf, l));
    }
    return e;
}

static int emit(struct plan *pl, struct sip_edits *ed, struct privacy_verdict *v)
{
    const struct privacy_input *in = pl->in;
    const struct sip_msg *msg = pl->msg;
    int why = pai_withheld(pl);
    bool withhold = why != 0;
    bool had_pai = sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY) != NULL;
    unsigned nuser = 0, ntrust = 0;
    int e;

    if (why == 1)
        v->performed |= SIP_PRIV_ID;
    e = pai_edit(pl, ed, withhold);
    if (!e)
        e = sip_edit_hdr_del_all(ed, SIP_HDR_P_PREFERRED_IDENTITY); /* R58 */
    if (!e && (pl->acts & PRIVACY__A_USER) && msg->req) {
        const struct sip_hdr *fh = sip_msg_hdr(msg, SIP_HDR_FROM);
        struct sv_slice na = SV_LIT(ANON_NAME_ADDR);
        const char *pe =
            msg->from.params.l ? msg->from.params.p : msg->from.raw.p + msg->from.raw.l;
        /* An already anonymous From stays byte for byte (R77: identical retransmissions). */
        if (!sv_slice_eq(sv_slice_make(msg->from.raw.p, (size_t)(pe - msg->from.raw.p)), na))
            e = sip_edit_addr_set(ed, fh, &msg->from, na);
        v->performed |= SIP_PRIV_USER;
    }
    if (!e && (pl->acts & (PRIVACY__A_USER | PRIVACY__A_USER_HDRS))) {
        e = del_flagged(ed, SIP_HF_PRIV_USER, &nuser); /* R20 (b) */
        v->performed |= SIP_PRIV_USER;
    }
    if (!e && !in->egress_trusted)
        e = del_flagged(ed, SIP_HF_TRUST_ONLY, &ntrust); /* R38, R42 */
    if (!e)
        e = privacy_hdr_edit(pl, ed, v);
    if (e)
        return e;
    /* R62: the identities leave the message here; LI must see them first. */
    if (in->li_target && ((withhold && had_pai) || (pl->acts & PRIVACY__A_USER) || nuser))
        v->flags |= PRIVACY_F_LI_EVENT;
    return 0;
}

/* ---- the entry point ---------------------------------------------------------------- */

/**
 * Decide what privacy requires of one message at this node, for one next hop.
 *
 * @param in  the message and its context.
 * @param ed  edits of in->msg; only added to, and only when the verdict is "forward".
 * @param v   out: the verdict (code 0: forward), the functions performed and the flags.
 * @return 0; EINVAL for missing arguments or an edit list of another message; ENOMEM.
 */
int privacy_decide(const struct privacy_input *in, struct sip_edits *ed, struct privacy_verdict *v)
{
    struct plan pl;
    int perr;

    if (!in || !in->msg || !ed || !v || ed->msg != in->msg)
        return EINVAL;
    memset(v, 0, sizeof(*v));
    memset(&pl, 0, sizeof(pl));
    pl.in = in;
    pl.k = in->knobs ? in->knobs : &privacy_knobs_default;
    pl.msg = in->msg;
    pl.mid = in->msg->req ? in->msg->mid : in->msg->cseq.mid;
    pl.face = face_of(in);

    /* 1. Privacy (R1-R4). Ignored on REGISTER (OP-16). */
    if (pl.mid != SIP_METHOD_REGISTER) {
        perr = sip_privacy_get(&pl.pv, in->msg);
        pl.has_priv = perr != ENOENT;
        if (perr == EBADMSG) {
            if (in->msg->req && pl.mid != SIP_METHOD_ACK && pl.face != PRIVACY__F_ORIG_UE) {
                answer(v, 400, "Bad Request"); /* R4 */
                return 0;
            }
            /* Nothing to answer (a response, an ACK) or not ours to judge (R26): withhold,
             * which leaks least, and leave the header as it came. */
            sip_privacy_init(&pl.pv);
            pl.add_bits = SIP_PRIV_ID;
            pl.priv_locked = true;
            v->flags |= PRIVACY_F_BAD_PRIVACY;
        }
    } else {
        sip_privacy_init(&pl.pv);
    }
    pl.priv_locked |= pl.has_priv && (pl.pv.bits & SIP_PRIV_NONE);

    /* 2. Identity. */
    pai_scan(&pl, v);
    uint16_t c = pai_assert(&pl, v);
    if (c) {
        answer(v, c, "Forbidden"); /* R28 */
        return 0;
    }
    pai_alias(&pl, v);

    /* 3. Anonymity policy. */
    if (li_policy(&pl, v))
        return 0;

    /* 4, 5. */
    if (pl.mid != SIP_METHOD_REGISTER) {
        on_behalf(&pl);
        if (pl.face != PRIVACY__F_ORIG_UE)
            run_tables(&pl, v);
    }
    if (pl.unperf_l && in->msg->req && pl.mid != SIP_METHOD_ACK &&
        privacy__faces[pl.face].critical &&
        ((pl.pv.bits & SIP_PRIV_CRITICAL) || pl.k->reject_nonperformable_without_critical)) {
        /* R63, R66: the phrase lists what cannot be performed, in received order. */
        snprintf(v->reason, sizeof(v->reason), "Privacy Unavailable: %s", pl.unperf);
        v->code = 500;
        v->performed = 0;
        return 0;
    }
    /* R20: `user` needs a From to rewrite; an unparseable one cannot be anonymised safely. */
    if ((pl.acts & PRIVACY__A_USER) && in->msg->req && !in->msg->from.raw.p) {
        answer(v, 400, "Bad Request"); /* an ACK cannot be answered: the caller drops it */
        return 0;
    }
    return emit(&pl, ed, v);
}
