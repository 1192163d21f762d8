/**
 * @file import.c  store_import_yaml: subscriptions from a YAML file (docs/subscribers.md).
 *
 * libyaml loads the whole document into a node tree; a small walker turns each entry of
 * `subscribers` into a struct store_sub and writes it with sub_put before reading the next,
 * so an error leaves the entries before it written and nothing after it. Every error names
 * the line and the key. Unknown keys are errors: a misspelt `identity_blocking` silently
 * ignored would publish an identity its owner wanted hidden.
 *
 * A clear-text password becomes its HA1 values here and is not kept; an AKA OP becomes OPc.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include <sipveil/auth.h>
#include <sipveil/store.h>

struct walker {
    yaml_document_t *doc;
    char *err;
    size_t errsz;
};

static int fail(struct walker *w, const yaml_node_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct walker *w, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (!w->err || !w->errsz)
        return EINVAL;
    k = snprintf(w->err, w->errsz, "line %zu: %s: ", n ? (size_t)n->start_mark.line + 1 : 1, key);
    if (k < 0 || (size_t)k >= w->errsz)
        return EINVAL;
    va_start(ap, fmt);
    vsnprintf(w->err + k, w->errsz - (size_t)k, fmt, ap);
    va_end(ap);
    return EINVAL;
}

static yaml_node_t *node(struct walker *w, int id)
{
    return yaml_document_get_node(w->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar copied into a fixed field: EINVAL naming @p key when not a scalar or too long. */
static int get_str(struct walker *w, const yaml_node_t *n, const char *key, char *dst, size_t sz)
{
    const char *s = scalar(n);
    if (!s)
        return fail(w, n, key, "expected a string");
    if (strlen(s) >= sz)
        return fail(w, n, key, "longer than %zu characters", sz - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int get_bool(struct walker *w, const yaml_node_t *n, const char *key, bool *v)
{
    const char *s = scalar(n);
    if (s && strcmp(s, "true") == 0)
        *v = true;
    else if (s && strcmp(s, "false") == 0)
        *v = false;
    else
        return fail(w, n, key, "expected true or false");
    return 0;
}

static int get_uint(struct walker *w, const yaml_node_t *n, const char *key, uint64_t max,
                    uint64_t *v)
{
    const char *s = scalar(n);
    char *end;
    unsigned long long x;
    if (!s || !*s || *s < '0' || *s > '9')
        return fail(w, n, key, "expected a number from 0 to %llu", (unsigned long long)max);
    errno = 0;
    x = strtoull(s, &end, 10);
    if (*end || errno || x > max)
        return fail(w, n, key, "expected a number from 0 to %llu", (unsigned long long)max);
    *v = x;
    return 0;
}

/* Exactly 2 * @p len hex digits into @p out. */
static int get_hex(struct walker *w, const yaml_node_t *n, const char *key, uint8_t *out,
                   size_t len)
{
    const char *s = scalar(n);
    if (!s || strlen(s) != 2 * len)
        return fail(w, n, key, "expected %zu hex digits", 2 * len);
    for (size_t i = 0; i < 2 * len; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return fail(w, n, key, "expected %zu hex digits", 2 * len);
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(d << 4);
        else
            out[i / 2] |= (uint8_t)d;
    }
    return 0;
}

/* A hex HA1 of @p digits digits, stored lower-case. */
static int get_ha1(struct walker *w, const yaml_node_t *n, const char *key, char *dst,
                   size_t digits)
{
    const char *s = scalar(n);
    if (!s || strlen(s) != digits || strspn(s, "0123456789abcdefABCDEF") != digits)
        return fail(w, n, key, "expected %zu hex digits", digits);
    for (size_t i = 0; i <= digits; i++)
        dst[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    return 0;
}

/*
 * Walk the pairs of mapping @p n, whose keys must be among @p keys (NULL-terminated); @p vals
 * receives each key's value node (NULL when absent). Duplicates and unknown keys are errors.
 */
static int mapping(struct walker *w, const yaml_node_t *n, const char *what,
                   const char *const *keys, yaml_node_t **vals)
{
    size_t nk = 0;
    while (keys[nk])
        vals[nk++] = NULL;
    if (!n || n->type != YAML_MAPPING_NODE)
        return fail(w, n, what, "expected a mapping");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(w, p->key);
        const char *ks = scalar(k);
        size_t i;
        if (!ks)
            return fail(w, k, what, "keys must be strings");
        for (i = 0; i < nk && strcmp(keys[i], ks) != 0; i++)
            ;
        if (i == nk)
            return fail(w, k, ks, "unknown key in %s", what);
        if (vals[i])
            return fail(w, k, ks, "given twice");
        vals[i] = node(w, p->value);
    }
    return 0;
}

static int seq_check(struct walker *w, const yaml_node_t *n, const char *key)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(w, n, key, "expected a list");
    return 0;
}
#define SEQ_LEN(n) ((size_t)((n)->data.sequence.items.top - (n)->data.sequence.items.start))
#define SEQ_AT(w, n, i) node((w), (n)->data.sequence.items.start[i])

static int impu_entry(struct walker *w, yaml_node_t *n, struct store_impu *u)
{
    static const char *const keys[] = {"uri", "display", "barred", "pseudonym", NULL};
    yaml_node_t *v[4];
    int err;

    memset(u, 0, sizeof(*u));
    if (n->type == YAML_SCALAR_NODE) { /* a bare string is {uri: ...} */
        v[0] = n;
        v[1] = v[2] = v[3] = NULL;
    } else if ((err = mapping(w, n, "impus", keys, v))) {
        return err;
    }
    if (!v[0])
        return fail(w, n, "uri", "missing");
    if ((err = get_str(w, v[0], "uri", u->uri, sizeof(u->uri))) ||
        (v[1] && (err = get_str(w, v[1], "display", u->display, sizeof(u->display)))) ||
        (v[2] && (err = get_bool(w, v[2], "barred", &u->barred))) ||
        (v[3] && (err = get_bool(w, v[3], "pseudonym", &u->pseudonym))))
        return err;
    if (strncmp(u->uri, "sip:", 4) != 0 && strncmp(u->uri, "sips:", 5) != 0 &&
        strncmp(u->uri, "tel:", 4) != 0)
        return fail(w, v[0], "uri", "expected a sip:, sips: or tel: URI");
    return 0;
}

static int sets(struct walker *w, yaml_node_t *n, struct store_sub *sub)
{
    static const char *const keys[] = {"impus", NULL};
    int err;

    if ((err = seq_check(w, n, "sets")))
        return err;
    if (SEQ_LEN(n) == 0 || SEQ_LEN(n) > STORE_SETS_MAX)
        return fail(w, n, "sets", "expected 1 to %d sets", STORE_SETS_MAX);
    for (size_t i = 0; i < SEQ_LEN(n); i++) {
        yaml_node_t *v[1], *set = SEQ_AT(w, n, i);
        struct store_irs *irs = &sub->sets[i];
        if ((err = mapping(w, set, "sets", keys, v)))
            return err;
        if (!v[0])
            return fail(w, set, "impus", "missing");
        if ((err = seq_check(w, v[0], "impus")))
            return err;
        if (SEQ_LEN(v[0]) == 0 || SEQ_LEN(v[0]) > STORE_IRS_MAX)
            return fail(w, v[0], "impus", "expected 1 to %d IMPUs", STORE_IRS_MAX);
        for (size_t j = 0; j < SEQ_LEN(v[0]); j++)
            if ((err = impu_entry(w, SEQ_AT(w, v[0], j), &irs->impus[j])))
                return err;
        irs->nimpus = SEQ_LEN(v[0]);
    }
    sub->nsets = SEQ_LEN(n);
    return 0;
}

static int barred(struct walker *w, yaml_node_t *n, struct store_sub *sub)
{
    int err;
    if ((err = seq_check(w, n, "barred")))
        return err;
    for (size_t i = 0; i < SEQ_LEN(n); i++) {
        yaml_node_t *e = SEQ_AT(w, n, i);
        const char *uri = scalar(e);
        bool found = false;
        if (!uri)
            return fail(w, e, "barred", "expected a URI");
        for (size_t a = 0; a < sub->nsets; a++)
            for (size_t b = 0; b < sub->sets[a].nimpus; b++)
                if (strcmp(sub->sets[a].impus[b].uri, uri) == 0) {
                    sub->sets[a].impus[b].barred = true;
                    found = true;
                }
        if (!found)
            return fail(w, e, "barred", "not one of the subscriber's IMPUs");
    }
    return 0;
}

static int ifcs(struct walker *w, yaml_node_t *n, struct store_sub *sub)
{
    static const char *const keys[] = {"method", "event", "case", "as", "priority", NULL};
    int err;

    if ((err = seq_check(w, n, "ifc")))
        return err;
    if (SEQ_LEN(n) > STORE_IFC_MAX)
        return fail(w, n, "ifc", "at most %d filter criteria", STORE_IFC_MAX);
    for (size_t i = 0; i < SEQ_LEN(n); i++) {
        yaml_node_t *v[5], *e = SEQ_AT(w, n, i);
        struct store_ifc *f = &sub->ifc[i];
        uint64_t prio = 0;
        const char *c;
        memset(f, 0, sizeof(*f));
        if ((err = mapping(w, e, "ifc", keys, v)))
            return err;
        if (!v[3])
            return fail(w, e, "as", "missing");
        if ((v[0] && (err = get_str(w, v[0], "method", f->method, sizeof(f->method)))) ||
            (v[1] && (err = get_str(w, v[1], "event", f->event, sizeof(f->event)))) ||
            (err = get_str(w, v[3], "as", f->as, sizeof(f->as))) ||
            (v[4] && (err = get_uint(w, v[4], "priority", 1000000, &prio))))
            return err;
        f->priority = (int)prio;
        c = v[2] ? scalar(v[2]) : "orig";
        if (c && strcmp(c, "orig") == 0)
            f->scase = STORE_CASE_ORIG;
        else if (c && strcmp(c, "term") == 0)
            f->scase = STORE_CASE_TERM;
        else if (c && strcmp(c, "both") == 0)
            f->scase = STORE_CASE_BOTH;
        else
            return fail(w, v[2], "case", "expected orig, term or both");
    }
    sub->nifc = SEQ_LEN(n);
    return 0;
}

static int aka(struct walker *w, yaml_node_t *n, struct store_cred *c)
{
    static const char *const keys[] = {"k", "op", "opc", "amf", "sqn", NULL};
    yaml_node_t *v[5];
    int err;

    if ((err = mapping(w, n, "aka", keys, v)))
        return err;
    if (!v[0])
        return fail(w, n, "k", "missing");
    if (!v[1] == !v[2])
        return fail(w, n, "aka", "give exactly one of op and opc");
    if ((err = get_hex(w, v[0], "k", c->k, sizeof(c->k))) ||
        (v[3] && (err = get_hex(w, v[3], "amf", c->amf, sizeof(c->amf)))) ||
        (v[4] && (err = get_uint(w, v[4], "sqn", (UINT64_C(1) << 48) - 1, &c->sqn))))
        return err;
    if (v[2]) {
        err = get_hex(w, v[2], "opc", c->opc, sizeof(c->opc));
    } else {
        uint8_t op[AUTH_OP_LEN];
        struct auth_milenage m;
        if (!(err = get_hex(w, v[1], "op", op, sizeof(op))) && auth_milenage_init(&m, c->k, op))
            err = fail(w, v[1], "op", "cannot derive OPc");
        if (!err)
            memcpy(c->opc, m.opc, sizeof(c->opc));
        explicit_bzero(op, sizeof(op));
        explicit_bzero(&m, sizeof(m));
    }
    c->aka = !err;
    return err;
}

enum {
    K_IMPI,
    K_PASSWORD,
    K_HA1_MD5,
    K_HA1_SHA256,
    K_AKA,
    K_REALM,
    K_IB,
    K_UBP,
    K_SCSCF,
    K_SETS,
    K_BARRED,
    K_IFC,
    K_N
};

static int subscriber(struct walker *w, yaml_node_t *n, struct store_sub *sub)
{
    static const char *const keys[K_N + 1] = {
        "impi",           "password", "ha1_md5", "ha1_sha256", "aka", "realm", "identity_blocking",
        "user_by_policy", "scscf",    "sets",    "barred",     "ifc", NULL};
    struct store_cred *c = &sub->impis[0];
    yaml_node_t *v[K_N];
    int err;

    memset(sub, 0, sizeof(*sub));
    sub->nimpis = 1;
    if ((err = mapping(w, n, "subscribers", keys, v)))
        return err;
    if (!v[K_IMPI])
        return fail(w, n, "impi", "missing");
    if (!v[K_SETS])
        return fail(w, n, "sets", "missing");
    if ((err = get_str(w, v[K_IMPI], "impi", c->impi, sizeof(c->impi))))
        return err;
    if (!c->impi[0] || !strchr(c->impi, '@'))
        return fail(w, v[K_IMPI], "impi", "expected user@realm");
    if ((v[K_REALM] && (err = get_str(w, v[K_REALM], "realm", c->realm, sizeof(c->realm)))) ||
        (v[K_IB] && (err = get_bool(w, v[K_IB], "identity_blocking", &sub->identity_blocking))) ||
        (v[K_UBP] && (err = get_bool(w, v[K_UBP], "user_by_policy", &sub->user_by_policy))) ||
        (v[K_SCSCF] && (err = get_str(w, v[K_SCSCF], "scscf", sub->scscf, sizeof(sub->scscf)))))
        return err;
    if (!v[K_PASSWORD] && !v[K_HA1_MD5] && !v[K_HA1_SHA256] && !v[K_AKA])
        return fail(w, n, "impi", "no credentials: give password, ha1_md5/ha1_sha256 or aka");
    if (v[K_PASSWORD] && (v[K_HA1_MD5] || v[K_HA1_SHA256]))
        return fail(w, v[K_PASSWORD], "password", "give either password or the HA1 values");
    if (v[K_PASSWORD]) {
        const char *pw = scalar(v[K_PASSWORD]);
        if (!pw || !*pw)
            return fail(w, v[K_PASSWORD], "password", "expected a non-empty string");
        if (store_cred_set_password(c, pw))
            return fail(w, v[K_PASSWORD], "password", "cannot compute the HA1 values");
    }
    if ((v[K_HA1_MD5] && (err = get_ha1(w, v[K_HA1_MD5], "ha1_md5", c->ha1_md5, 32))) ||
        (v[K_HA1_SHA256] && (err = get_ha1(w, v[K_HA1_SHA256], "ha1_sha256", c->ha1_sha256, 64))) ||
        (v[K_AKA] && (err = aka(w, v[K_AKA], c))) || (err = sets(w, v[K_SETS], sub)) ||
        (v[K_BARRED] && (err = barred(w, v[K_BARRED], sub))) ||
        (v[K_IFC] && (err = ifcs(w, v[K_IFC], sub))))
        return err;
    return 0;
}

/* The store's refusal of one entry, in words that name the entry. */
static int put_failed(struct walker *w, yaml_node_t *n, const char *impi, int e)
{
    switch (e) {
    case EEXIST:
        return fail(w, n, "impi", "%s: an IMPU or IMPI belongs to another subscription", impi);
    case EINVAL:
        return fail(w, n, "impi", "%s: an IMPU is listed twice", impi);
    case ENAMETOOLONG:
        return fail(w, n, "impi", "%s: a value is too long", impi);
    default:
        fail(w, n, "impi", "%s: the store refused it: %s", impi, strerror(e));
        return e;
    }
}

/**
 * Import the subscribers of a YAML document (docs/subscribers.md).
 * @param st     the store
 * @param buf    the YAML text
 * @param len    its length
 * @param count  the number of subscriptions written, may be NULL
 * @param err    on failure "line N: key: what is wrong", may be NULL
 * @param errsz  its size
 * @return 0, EINVAL (the text), ENOMEM, or the store's errno
 */
int store_import_yaml(struct store *st, const char *buf, size_t len, size_t *count, char *err,
                      size_t errsz)
{
    static const char *const top_keys[] = {"subscribers", NULL};
    struct walker w = {.err = err, .errsz = errsz};
    struct store_sub *sub = NULL;
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_node_t *root, *v[1];
    size_t n = 0;
    int e = 0;

    if (count)
        *count = 0;
    if (err && errsz)
        err[0] = '\0';
    if (!st || (!buf && len))
        return EINVAL;
    if (!yaml_parser_initialize(&p))
        return ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)(buf ? buf : ""), len);
    if (!yaml_parser_load(&p, &doc)) {
        if (err && errsz)
            snprintf(err, errsz, "line %zu: %s", (size_t)p.problem_mark.line + 1,
                     p.problem ? p.problem : "YAML syntax error");
        yaml_parser_delete(&p);
        return EINVAL;
    }
    w.doc = &doc;
    root = yaml_document_get_root_node(&doc);
    if (!root) { /* an empty file: nothing to import */
        goto out;
    }
    if ((e = mapping(&w, root, "the top level", top_keys, v)))
        goto out;
    if (!v[0]) {
        e = fail(&w, root, "subscribers", "missing");
        goto out;
    }
    if (v[0]->type == YAML_SCALAR_NODE && !*scalar(v[0]))
        goto out; /* `subscribers:` with nothing under it */
    if ((e = seq_check(&w, v[0], "subscribers")))
        goto out;
    if (!(sub = malloc(sizeof(*sub)))) {
        e = ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < SEQ_LEN(v[0]); i++) {
        yaml_node_t *en = SEQ_AT(&w, v[0], i);
        int pe;
        if ((e = subscriber(&w, en, sub)))
            break;
        if ((pe = st->api->sub_put(st, sub))) {
            e = put_failed(&w, en, sub->impis[0].impi, pe);
            break;
        }
        n++;
    }
out:
    if (sub) {
        explicit_bzero(sub, sizeof(*sub));
        free(sub);
    }
    if (count)
        *count = n;
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return e;
}
