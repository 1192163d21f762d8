/**
 * @file rules.c  Presence authorization rules: common-policy (RFC 4745) with pres-rules
 * (RFC 5025), the OMA conditions, and the watcher-auth extension (R102, R103).
 *
 * Combination (RFC 4745 §10, R93). Every rule whose conditions all hold matches, not only the
 * first: the sub-handling is the maximum over the matching rules that name one, the
 * transformations are the union of theirs. Taking the first match instead (Kamailio) makes
 * the answer depend on the order of rules in the document, which the standard says is
 * meaningless, and lets an early "confirm" hide a later "allow".
 *
 * Identity (R87, R94, R100). Identity conditions see only the asserted identity the PS was
 * given, never From. A watcher that asked for anonymity is evaluated as anonymous by default:
 * identity conditions and `other-identity` do not match it, `anonymous-request` does. Matching
 * its real identity would let a presentity learn who watches by writing a rule per suspect.
 *
 * Domains compare whole: `many domain="example.com"` is the host example.com, never
 * evil-example.com or a.example.com (a suffix match is the classic mistake).
 *
 * A condition we do not understand makes its rule not match: conditions are a conjunction,
 * and guessing true would grant what the presentity never wrote.
 *
 * Watcher authentication. `<wa:password>` holds a SHA-256 HA1 (never the password) and
 * `<wa:grant-key>` an Ed25519 public key (base64 of 32 octets), in the namespace
 * urn:sipveil:params:xml:ns:watcher-auth. They are conditions like the others: the rule
 * matches only when the watcher proved the password or presented a grant signed by the key.
 * They are checked last, so a watcher is asked for a proof only for rules that concern it.
 */
#include <errno.h>
#include <strings.h>

#include <sipveil/sip.h>

#include "pres_int.h"

#define MAX_KEYS 4
#define MAX_VALIDITY 16

struct rule {
    xmlNode *node;
    xmlNode *cond, *actions, *trans; /* NULL when absent */
    struct sv_slice id;
    int sh;            /* enum pres_sub_handling, or -1 when the rule names none */
    unsigned provide;  /* simple provide-* bits */
    bool unknown_cond; /* a condition we do not understand: never matches */
    struct sv_slice password;
    uint8_t keys[MAX_KEYS][PRES_GRANT_KEY_LEN];
    unsigned nkeys;
    int64_t from[MAX_VALIDITY], until[MAX_VALIDITY];
    unsigned nvalid; /* 0: no validity condition */
};

struct pres_rules {
    xmlDoc *doc; /* owned */
    struct rule *rules;
    size_t n;
};

static void rules_destroy(void *obj)
{
    struct pres_rules *rs = obj;

    sv_free(rs->rules);
    pres_xml_free(rs->doc);
}

const char *pres_sub_handling_name(enum pres_sub_handling sh)
{
    switch (sh) {
    case PRES_SH_BLOCK:
        return "block";
    case PRES_SH_CONFIRM:
        return "confirm";
    case PRES_SH_POLITE_BLOCK:
        return "polite-block";
    case PRES_SH_ALLOW:
        return "allow";
    }
    return "?";
}

/* ---- parsing ------------------------------------------------------------------------------ */

/* The boolean provide-* elements (RFC 5025 §3.3) and the attribute elements they let through. */
static const struct {
    const char *elem; /* pr:provide-... */
    unsigned bit;
    const char *ns, *attr; /* the PIDF element it governs */
    const char *ns2;       /* a second namespace where the same name is governed */
} provides[] = {
    {"provide-activities", PRES_PROVIDE_ACTIVITIES, PRES_NS_RPID, "activities", NULL},
    {"provide-class", PRES_PROVIDE_CLASS, PRES_NS_RPID, "class", NULL},
    {"provide-deviceID", PRES_PROVIDE_DEVICEID, PRES_NS_DM, "deviceID", NULL},
    {"provide-mood", PRES_PROVIDE_MOOD, PRES_NS_RPID, "mood", NULL},
    {"provide-place-is", PRES_PROVIDE_PLACE_IS, PRES_NS_RPID, "place-is", NULL},
    {"provide-place-type", PRES_PROVIDE_PLACE_TYPE, PRES_NS_RPID, "place-type", NULL},
    {"provide-privacy", PRES_PROVIDE_PRIVACY, PRES_NS_RPID, "privacy", NULL},
    {"provide-relationship", PRES_PROVIDE_RELATIONSHIP, PRES_NS_RPID, "relationship", NULL},
    {"provide-status-icon", PRES_PROVIDE_STATUS_ICON, PRES_NS_RPID, "status-icon", NULL},
    {"provide-sphere", PRES_PROVIDE_SPHERE, PRES_NS_RPID, "sphere", NULL},
    {"provide-time-offset", PRES_PROVIDE_TIME_OFFSET, PRES_NS_RPID, "time-offset", NULL},
    {"provide-user-input", PRES_PROVIDE_USER_INPUT, PRES_NS_RPID, "user-input", NULL},
    {"provide-note", PRES_PROVIDE_NOTE, PRES_NS_PIDF, "note", PRES_NS_DM},
};

/* The value of a boolean provide-* element: absent text counts as true (lenient), "false"
 * and "0" as false; provide-user-input's levels other than "false" count as true. */
static int bool_value(const xmlNode *n, bool *v)
{
    struct sv_slice t;

    if (pres__text(n, &t))
        return EBADMSG;
    *v = !(pres__eq(t, "false") || pres__eq(t, "0"));
    return 0;
}

static bool is_hex(struct sv_slice s)
{
    for (size_t i = 0; i < s.l; i++)
        if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f') ||
              (s.p[i] >= 'A' && s.p[i] <= 'F')))
            return false;
    return true;
}

static int parse_identity(const xmlNode *id)
{
    for (xmlNode *c = pres__elem(id->children); c; c = pres__elem(c->next)) {
        struct sv_slice v;

        if (pres__is(c, PRES_NS_CP, "one")) {
            v = pres__attr(c, "id");
            if (!v.p || v.l == 0)
                return EBADMSG;
        } else if (pres__is(c, PRES_NS_CP, "many")) {
            v = pres__attr(c, "domain");
            if (v.p && v.l == 0)
                return EBADMSG;
            for (xmlNode *e = pres__elem(c->children); e; e = pres__elem(e->next)) {
                struct sv_slice eid = pres__attr(e, "id"), edom = pres__attr(e, "domain");

                if (!pres__in_ns(e, PRES_NS_CP))
                    continue;
                /* except names exactly one of id or domain */
                if (!pres__is(e, PRES_NS_CP, "except") || (eid.p != NULL) == (edom.p != NULL) ||
                    (eid.p && eid.l == 0) || (edom.p && edom.l == 0))
                    return EBADMSG;
            }
        } else if (pres__in_ns(c, PRES_NS_CP)) {
            return EBADMSG; /* e.g. an except directly under identity */
        }
    }
    return 0;
}

static int parse_validity(struct rule *r, const xmlNode *v)
{
    unsigned nf = 0, nu = 0;

    for (xmlNode *c = pres__elem(v->children); c; c = pres__elem(c->next)) {
        struct sv_slice t;
        int64_t x;

        if (pres__text(c, &t) || pres__datetime(t, &x))
            return EBADMSG;
        if (pres__is(c, PRES_NS_CP, "from") && nf < MAX_VALIDITY && nf == nu)
            r->from[nf++] = x;
        else if (pres__is(c, PRES_NS_CP, "until") && nu < MAX_VALIDITY && nu + 1 == nf)
            r->until[nu++] = x;
        else
            return EBADMSG; /* from and until come in pairs, in that order */
    }
    if (nf == 0 || nf != nu)
        return EBADMSG;
    r->nvalid = nf;
    return 0;
}

static int parse_conditions(struct rule *r, const xmlNode *cond)
{
    unsigned nsphere = 0, nvalidity = 0, npw = 0;
    int err;

    for (xmlNode *c = pres__elem(cond->children); c; c = pres__elem(c->next)) {
        if (pres__is(c, PRES_NS_CP, "identity")) {
            if ((err = parse_identity(c)) != 0)
                return err;
        } else if (pres__is(c, PRES_NS_CP, "sphere")) {
            struct sv_slice v = pres__attr(c, "value");

            if (++nsphere > 1 || !v.p || sv_slice_trim(v).l == 0)
                return EBADMSG;
        } else if (pres__is(c, PRES_NS_CP, "validity")) {
            if (++nvalidity > 1 || (err = parse_validity(r, c)) != 0)
                return EBADMSG;
        } else if (pres__is(c, PRES_NS_OCP, "anonymous-request") ||
                   pres__is(c, PRES_NS_OCP, "other-identity")) {
            continue;
        } else if (pres__is(c, PRES_NS_WAUTH, "password")) {
            struct sv_slice v;

            /* An HA1, never a clear-text password: refuse anything else, so a presentity
             * that typed its password here learns it at once (409) instead of storing it. */
            if (++npw > 1 || pres__text(c, &v) || v.l != PRES_HA1_HEX_LEN || !is_hex(v))
                return EBADMSG;
            r->password = v;
        } else if (pres__is(c, PRES_NS_WAUTH, "grant-key")) {
            struct sv_slice v;
            size_t n;

            if (r->nkeys >= MAX_KEYS || pres__text(c, &v) ||
                pres_b64_decode(v, false, r->keys[r->nkeys], PRES_GRANT_KEY_LEN, &n) ||
                n != PRES_GRANT_KEY_LEN)
                return EBADMSG;
            r->nkeys++;
        } else if (pres__in_ns(c, PRES_NS_CP) || pres__in_ns(c, PRES_NS_WAUTH)) {
            return EBADMSG;
        } else {
            r->unknown_cond = true; /* e.g. OMA external-list: not supported */
        }
    }
    return 0;
}

static int parse_actions(struct rule *r, const xmlNode *act)
{
    static const struct {
        const char *name;
        enum pres_sub_handling sh;
    } shs[] = {{"block", PRES_SH_BLOCK},
               {"confirm", PRES_SH_CONFIRM},
               {"polite-block", PRES_SH_POLITE_BLOCK},
               {"allow", PRES_SH_ALLOW}};
    unsigned nsh = 0;

    for (xmlNode *c = pres__elem(act->children); c; c = pres__elem(c->next)) {
        struct sv_slice v;
        size_t i;

        if (!pres__is(c, PRES_NS_PR, "sub-handling"))
            continue; /* actions we do not know do nothing (RFC 4745 §10.2) */
        if (++nsh > 1 || pres__text(c, &v))
            return EBADMSG;
        for (i = 0; i < SV_ARRAY_SIZE(shs); i++)
            if (pres__eq(v, shs[i].name))
                break;
        if (i == SV_ARRAY_SIZE(shs))
            return EBADMSG;
        r->sh = (int)shs[i].sh;
    }
    return 0;
}

static int parse_selector(const xmlNode *p, const char *all, unsigned allbit, unsigned *bits)
{
    for (xmlNode *c = pres__elem(p->children); c; c = pres__elem(c->next)) {
        struct sv_slice v;

        if (pres__is(c, PRES_NS_PR, all)) {
            *bits |= allbit;
        } else if (pres__in_ns(c, PRES_NS_PR)) {
            if (pres__text(c, &v) || v.l == 0)
                return EBADMSG;
        }
    }
    return 0;
}

static int parse_transformations(struct rule *r, const xmlNode *tr)
{
    for (xmlNode *c = pres__elem(tr->children); c; c = pres__elem(c->next)) {
        const char *name = (const char *)c->name;
        bool on;
        size_t i;

        if (!pres__in_ns(c, PRES_NS_PR))
            continue;
        if (strcmp(name, "provide-services") == 0) {
            if (parse_selector(c, "all-services", PRES_PROVIDE_ALL_SERVICES, &r->provide))
                return EBADMSG;
        } else if (strcmp(name, "provide-persons") == 0) {
            if (parse_selector(c, "all-persons", PRES_PROVIDE_ALL_PERSONS, &r->provide))
                return EBADMSG;
        } else if (strcmp(name, "provide-devices") == 0) {
            if (parse_selector(c, "all-devices", PRES_PROVIDE_ALL_DEVICES, &r->provide))
                return EBADMSG;
        } else if (strcmp(name, "provide-all-attributes") == 0) {
            r->provide |= PRES_PROVIDE_ALL_ATTRIBUTES;
        } else if (strcmp(name, "provide-unknown-attribute") == 0) {
            struct sv_slice n = pres__attr(c, "name"), ns = pres__attr(c, "ns");

            if (!n.p || n.l == 0 || !ns.p || bool_value(c, &on))
                return EBADMSG;
        } else {
            for (i = 0; i < SV_ARRAY_SIZE(provides); i++)
                if (strcmp(name, provides[i].elem) == 0)
                    break;
            if (i == SV_ARRAY_SIZE(provides))
                continue; /* a transformation we do not know gives nothing */
            if (bool_value(c, &on))
                return EBADMSG;
            if (on)
                r->provide |= provides[i].bit;
        }
    }
    return 0;
}

static int parse_rule(struct rule *r, xmlNode *node)
{
    unsigned ncond = 0, nact = 0, ntr = 0;
    int err;

    r->node = node;
    r->sh = -1;
    r->id = pres__attr(node, "id");
    if (!r->id.p || r->id.l == 0)
        return EBADMSG;
    for (xmlNode *c = pres__elem(node->children); c; c = pres__elem(c->next)) {
        if (pres__is(c, PRES_NS_CP, "conditions")) {
            r->cond = c;
            ncond++;
        } else if (pres__is(c, PRES_NS_CP, "actions")) {
            r->actions = c;
            nact++;
        } else if (pres__is(c, PRES_NS_CP, "transformations")) {
            r->trans = c;
            ntr++;
        } else if (pres__in_ns(c, PRES_NS_CP)) {
            return EBADMSG;
        }
    }
    if (ncond > 1 || nact > 1 || ntr > 1)
        return EBADMSG;
    if (r->cond && (err = parse_conditions(r, r->cond)) != 0)
        return err;
    if (r->actions && (err = parse_actions(r, r->actions)) != 0)
        return err;
    if (r->trans && (err = parse_transformations(r, r->trans)) != 0)
        return err;
    return 0;
}

/**
 * @param rp receives the ruleset
 * @param body an application/auth-policy+xml document
 * @return 0, EBADMSG, EMSGSIZE, EINVAL, ENOMEM
 */
int pres_rules_parse(struct pres_rules **rp, struct sv_slice body)
{
    struct pres_rules *rs;
    xmlNode *root;
    size_t n = 0;
    int err;

    if (!rp)
        return EINVAL;
    rs = sv_zalloc(sizeof(*rs), rules_destroy);
    if (!rs)
        return ENOMEM;
    if ((err = pres_xml_parse(body, &rs->doc)) != 0)
        goto out;
    root = xmlDocGetRootElement(rs->doc);
    err = EBADMSG;
    if (!pres__is(root, PRES_NS_CP, "ruleset"))
        goto out;
    for (xmlNode *c = pres__elem(root->children); c; c = pres__elem(c->next)) {
        if (!pres__is(c, PRES_NS_CP, "rule"))
            goto out; /* a ruleset holds rules and nothing else */
        n++;
    }
    if (n > PRES_RULES_MAX)
        goto out;
    if (n && !(rs->rules = sv_calloc(n, sizeof(*rs->rules)))) {
        err = ENOMEM;
        goto out;
    }
    for (xmlNode *c = pres__elem(root->children); c; c = pres__elem(c->next)) {
        struct rule *r = &rs->rules[rs->n];

        if ((err = parse_rule(r, c)) != 0)
            goto out;
        for (size_t i = 0; i < rs->n; i++)
            if (sv_slice_eq(rs->rules[i].id, r->id)) {
                err = EBADMSG;
                goto out;
            }
        rs->n++;
    }
    *rp = rs;
    rs = NULL;
    err = 0;
out:
    sv_deref(rs);
    return err;
}

size_t pres_rules_count(const struct pres_rules *rs)
{
    return rs ? rs->n : 0;
}

struct sv_slice pres_rules_id(const struct pres_rules *rs, size_t i)
{
    return rs && i < rs->n ? rs->rules[i].id : sv_slice_make(NULL, 0);
}

/* ---- evaluation ---------------------------------------------------------------------------- */

/* The watcher, decoded once per evaluation. */
struct who {
    const struct pres_watcher *w;
    bool use_identity; /* identity conditions may look at w->identity */
    bool decoded;
    struct sip_uri uri;
};

/* Whether identity @p who is @p id (a `one id=` or `except id=`). */
static bool same_identity(const struct who *who, struct sv_slice id)
{
    struct sip_uri u;

    id = sv_slice_trim(id);
    if (who->decoded && who->uri.scheme != SIP_URI_OTHER && sip_uri_decode(&u, id) == 0 &&
        u.scheme != SIP_URI_OTHER)
        return sip_uri_equal(&who->uri, &u);
    return sv_slice_eq(sv_slice_trim(who->w->identity), id);
}

/* Whether the identity's domain is exactly @p dom (case-insensitive, no suffix match). */
static bool in_domain(const struct who *who, struct sv_slice dom)
{
    if (!who->decoded || (who->uri.scheme != SIP_URI_SIP && who->uri.scheme != SIP_URI_SIPS))
        return false;
    return sv_slice_caseeq(who->uri.host, sv_slice_trim(dom));
}

static bool many_matches(const struct who *who, const xmlNode *many)
{
    struct sv_slice dom = pres__attr(many, "domain");

    if (dom.p && !in_domain(who, dom))
        return false;
    for (xmlNode *e = pres__elem(many->children); e; e = pres__elem(e->next)) {
        struct sv_slice v;

        if (!pres__is(e, PRES_NS_CP, "except"))
            continue;
        if ((v = pres__attr(e, "id")).p && same_identity(who, v))
            return false;
        if ((v = pres__attr(e, "domain")).p && in_domain(who, v))
            return false;
    }
    return true;
}

/* An <identity> element: true when one of its <one>/<many> children matches (R94: only an
 * authenticated, non-anonymous identity can). */
static bool identity_matches(const struct who *who, const xmlNode *id)
{
    if (!who->use_identity)
        return false;
    for (xmlNode *c = pres__elem(id->children); c; c = pres__elem(c->next)) {
        if (pres__is(c, PRES_NS_CP, "one") && same_identity(who, pres__attr(c, "id")))
            return true;
        if (pres__is(c, PRES_NS_CP, "many") && many_matches(who, c))
            return true;
    }
    return false;
}

/* Whether every <identity> of rule @p r matches; false when it has none. */
static bool rule_identity_matches(const struct who *who, const struct rule *r)
{
    unsigned n = 0;

    if (!r->cond)
        return false;
    for (xmlNode *c = pres__elem(r->cond->children); c; c = pres__elem(c->next)) {
        if (!pres__is(c, PRES_NS_CP, "identity"))
            continue;
        if (!identity_matches(who, c))
            return false;
        n++;
    }
    return n > 0;
}

static bool sphere_matches(struct sv_slice cur, struct sv_slice list)
{
    size_t i = 0;

    if (!cur.p || cur.l == 0)
        return false;
    while (i < list.l) {
        size_t j;

        while (i < list.l &&
               (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == '\n' || list.p[i] == '\r'))
            i++;
        j = i;
        while (j < list.l &&
               !(list.p[j] == ' ' || list.p[j] == '\t' || list.p[j] == '\n' || list.p[j] == '\r'))
            j++;
        if (j > i && sv_slice_caseeq(sv_slice_make(list.p + i, j - i), cur))
            return true;
        i = j;
    }
    return false;
}

/* Validity intervals are half-open, [from, until): at `until` the rule has expired. */
static bool valid_now(const struct rule *r, int64_t now)
{
    for (unsigned i = 0; i < r->nvalid; i++)
        if (r->from[i] <= now && now < r->until[i])
            return true;
    return false;
}

/* Every condition but the proofs. */
static bool conditions_hold(const struct who *who, const struct rule *r, bool any_identity)
{
    const struct pres_watcher *w = who->w;

    if (r->unknown_cond)
        return false;
    if (!r->cond)
        return true; /* no conditions: everybody (R94) */
    for (xmlNode *c = pres__elem(r->cond->children); c; c = pres__elem(c->next)) {
        bool ok = true;

        if (pres__is(c, PRES_NS_CP, "identity"))
            ok = identity_matches(who, c);
        else if (pres__is(c, PRES_NS_CP, "sphere"))
            ok = sphere_matches(w->sphere, pres__attr(c, "value"));
        else if (pres__is(c, PRES_NS_CP, "validity"))
            ok = valid_now(r, w->now);
        else if (pres__is(c, PRES_NS_OCP, "anonymous-request"))
            ok = w->anonymous;
        else if (pres__is(c, PRES_NS_OCP, "other-identity"))
            /* OMA: an authenticated identity that no identity condition of the set names.
             * Never an anonymous request: "block anonymous, confirm the rest" must hold. */
            ok = who->use_identity && !any_identity;
        if (!ok)
            return false;
    }
    return true;
}

/* The proofs a rule asks for that the watcher has not given: enum pres_need bits. */
static unsigned missing_proofs(const struct pres_watcher *w, const struct rule *r)
{
    unsigned miss = 0;

    if (r->password.p && !(w->password_h && w->password_h(w->arg, r->password)))
        miss |= PRES_NEED_PASSWORD;
    if (r->nkeys) {
        bool ok = false;

        for (unsigned k = 0; k < r->nkeys && !ok && w->grant_h; k++)
            ok = w->grant_h(w->arg, r->keys[k]);
        if (!ok)
            miss |= PRES_NEED_GRANT;
    }
    return miss;
}

/**
 * @param rs the ruleset, or NULL
 * @param w the watcher
 * @param dflt sub-handling when no matching rule gives one
 * @param d receives the decision
 * @return 0 or EINVAL
 */
int pres_rules_eval(const struct pres_rules *rs, const struct pres_watcher *w,
                    enum pres_sub_handling dflt, struct pres_decision *d)
{
    struct who who = {.w = w};
    unsigned pending_need[PRES_RULES_MAX] = {0};
    bool any_identity = false;
    int best = -1;

    if (!w || !d || (w->identity.p == NULL && w->identity.l))
        return EINVAL;
    memset(d, 0, sizeof(*d));
    who.use_identity = w->identity.p && w->identity.l &&
                       !(w->anonymous && w->anon_matching == PRES_ANON_AS_ANONYMOUS);
    who.decoded = who.use_identity && sip_uri_decode(&who.uri, sv_slice_trim(w->identity)) == 0;
    for (size_t i = 0; rs && i < rs->n && !any_identity; i++)
        any_identity = rule_identity_matches(&who, &rs->rules[i]);

    for (size_t i = 0; rs && i < rs->n; i++) {
        const struct rule *r = &rs->rules[i];
        unsigned miss;

        if (!conditions_hold(&who, r, any_identity))
            continue;
        if ((miss = missing_proofs(w, r)) != 0) {
            pending_need[i] = miss;
            continue;
        }
        d->rules |= UINT64_C(1) << i;
        d->provide |= r->provide;
        if (r->sh > best)
            best = r->sh;
    }
    d->sh_default = best < 0;
    d->sh = best < 0 ? dflt : (enum pres_sub_handling)best;
    /* Ask for a proof only where it would change the answer. */
    for (size_t i = 0; rs && i < rs->n; i++)
        if (pending_need[i] && rs->rules[i].sh > (int)d->sh)
            d->need |= pending_need[i];
    return 0;
}

/* ---- transformations, for pidf.c ------------------------------------------------------ */

#define FOR_MATCHED(rs, d, r)                                                                      \
    for (size_t i__ = 0; i__ < (rs)->n; i__++)                                                     \
        if (((d)->rules >> i__) & 1 && ((r) = &(rs)->rules[i__])->trans)

/* The text of @p n's child @p ns:@p name, or an unset slice. */
static struct sv_slice child_text(const xmlNode *n, const char *ns, const char *name)
{
    const xmlNode *c = pres__child(n, ns, name);
    struct sv_slice v = {NULL, 0};

    if (c && pres__text(c, &v))
        v = sv_slice_make(NULL, 0);
    return v;
}

/* Whether one selector of provide-services/persons/devices names element @p n. */
static bool selector_matches(const xmlNode *sel, enum pres__kind kind, const xmlNode *n)
{
    struct sv_slice want, have;
    const char *colon;

    if (pres__text(sel, &want) || want.l == 0)
        return false;
    if (pres__is(sel, PRES_NS_PR, "occurrence-id"))
        return sv_slice_eq(pres__attr(n, "id"), want);
    if (pres__is(sel, PRES_NS_PR, "class")) {
        have = child_text(n, PRES_NS_RPID, "class");
        return have.p && sv_slice_eq(have, want);
    }
    if (kind == PRES__TUPLE && pres__is(sel, PRES_NS_PR, "service-uri")) {
        have = child_text(n, PRES_NS_PIDF, "contact");
        return have.p && sv_slice_eq(have, want);
    }
    if (kind == PRES__TUPLE && pres__is(sel, PRES_NS_PR, "service-uri-scheme")) {
        have = child_text(n, PRES_NS_PIDF, "contact");
        colon = have.p ? sv_slice_chr(have, ':') : NULL;
        return colon && sv_slice_caseeq(sv_slice_make(have.p, (size_t)(colon - have.p)), want);
    }
    if (kind == PRES__DEVICE && pres__is(sel, PRES_NS_PR, "deviceID")) {
        have = child_text(n, PRES_NS_DM, "deviceID");
        return have.p && sv_slice_eq(have, want);
    }
    return false;
}

bool pres__provide_elem(const struct pres_rules *rs, const struct pres_decision *d,
                        enum pres__kind kind, const xmlNode *n)
{
    static const char *const elems[] = {"provide-services", "provide-persons", "provide-devices"};
    static const unsigned all[] = {PRES_PROVIDE_ALL_SERVICES, PRES_PROVIDE_ALL_PERSONS,
                                   PRES_PROVIDE_ALL_DEVICES};
    const struct rule *r;

    if (d->provide & all[kind])
        return true;
    FOR_MATCHED(rs, d, r)
    {
        const xmlNode *p = pres__child(r->trans, PRES_NS_PR, elems[kind]);

        for (xmlNode *s = p ? pres__elem(p->children) : NULL; s; s = pres__elem(s->next))
            if (selector_matches(s, kind, n))
                return true;
    }
    return false;
}

bool pres__provide_attr(const struct pres_rules *rs, const struct pres_decision *d,
                        const xmlNode *n)
{
    const char *ns = pres__ns(n), *name = (const char *)n->name;
    const struct rule *r;

    if (d->provide & PRES_PROVIDE_ALL_ATTRIBUTES)
        return true;
    for (size_t i = 0; i < SV_ARRAY_SIZE(provides); i++)
        if (strcmp(name, provides[i].attr) == 0 &&
            (strcmp(ns, provides[i].ns) == 0 || (provides[i].ns2 && !strcmp(ns, provides[i].ns2))))
            return (d->provide & provides[i].bit) != 0;
    /* Not an attribute RFC 5025 names: only provide-unknown-attribute lets it through. */
    FOR_MATCHED(rs, d, r)
    {
        for (xmlNode *c = pres__elem(r->trans->children); c; c = pres__elem(c->next)) {
            bool on;

            if (pres__is(c, PRES_NS_PR, "provide-unknown-attribute") &&
                pres__eq(pres__attr(c, "name"), name) && pres__eq(pres__attr(c, "ns"), ns) &&
                bool_value(c, &on) == 0 && on)
                return true;
        }
    }
    return false;
}
