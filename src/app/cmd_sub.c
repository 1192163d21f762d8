/**
 * @file cmd_sub.c  `sipveil sub`: provisioning of the subscriber store (add, del, list, show,
 * import).
 *
 * Secrets go one way only: a password is turned into its HA1 values at once and AKA keys are
 * written, but nothing here ever prints an HA1, K or OPc back; `show` names the credential
 * kinds only. The password may come from standard input (--password -) so that it stays out
 * of the process list and the shell history.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sipveil/auth.h>
#include <sipveil/store.h>

#include "app.h"

#define SUB_DB_DEFAULT "var/sipveil.db"

void app_usage_sub(FILE *f)
{
    fprintf(f, "Usage: sipveil sub [--db PATH] add --impi IMPI (--password PW | --aka-k HEX ...)\n"
               "                                --impu URI[,URI...] [options]\n"
               "       sipveil sub [--db PATH] del IMPI\n"
               "       sipveil sub [--db PATH] list\n"
               "       sipveil sub [--db PATH] show IMPI\n"
               "       sipveil sub [--db PATH] import FILE\n"
               "\n"
               "Provision the subscriber store, the home network's record of who may register\n"
               "and with which identities (the HSS's role). A subscription has a private\n"
               "identity (IMPI, user@realm) with its credentials, and public identities (IMPUs,\n"
               "sip: and tel: URIs) grouped in implicit registration sets: registering one IMPU\n"
               "registers its whole set, and the network only ever reveals a set to the peers\n"
               "of that set (R82). The first IMPU of the first set is the default identity.\n"
               "\n"
               "Commands:\n"
               "  add      Create the subscription of --impi, or replace it whole if it exists.\n"
               "           Refused (exit 65) if one of its IMPUs belongs to another subscription.\n"
               "  del      Delete the subscription of IMPI, its registrations included.\n"
               "  list     One line per subscription: IMPI, default IMPU, number of IMPUs, flags.\n"
               "  show     The subscription of IMPI: identities set by set with their flags, the\n"
               "           filter criteria, the S-CSCF and the kinds of credentials it has. Never\n"
               "           an HA1 value or a key.\n"
               "  import   Add every subscriber of the YAML FILE (format: docs/subscribers.md),\n"
               "           in order, replacing existing ones. On an error the subscribers before\n"
               "           it are written, none after it, and the error names its line and key.\n"
               "\n"
               "Options:\n"
               "  --db PATH              The store (SQLite). Default var/sipveil.db; the file and\n"
               "                         a missing parent directory are created private (0600,\n"
               "                         0700).\n"
               "Options of add:\n"
               "  --impi IMPI            The private identity, user@realm.\n"
               "  --password PW          The Digest password; '-' reads one line from standard\n"
               "                         input (better: a password on the command line is seen\n"
               "                         by every user of the machine). Only the HA1 values,\n"
               "                         MD5 and SHA-256 of IMPI:realm:PW, are stored.\n"
               "  --realm R              The Digest realm; default: the part of IMPI after '@'.\n"
               "  --impu URI[,URI...]    One implicit registration set; repeat for more sets.\n"
               "                         The first URI of the first --impu is the default IMPU.\n"
               "  --pseudonym URI        A pseudonym, in an implicit registration set of its own.\n"
               "  --display NAME         The display name of the default IMPU.\n"
               "  --barred URI           Mark one of the IMPUs barred: it may register but not\n"
               "                         originate or receive requests. Repeatable.\n"
               "  --identity-blocking    The subscriber has agreed with the home network that\n"
               "                         her identity is withheld by default (R46, R51).\n"
               "  --user-by-policy       And her user-level identity too (R51, R52).\n"
               "  --scscf URI            The S-CSCF assigned to her; default: the I-CSCF's.\n"
               "  --aka-k HEX            IMS AKA: K, 32 hex digits; with --aka-op HEX (OP, from\n"
               "  --aka-op HEX           which OPc is derived and stored) or --aka-opc HEX,\n"
               "  --aka-opc HEX          --aka-amf HEX (4 hex digits, default 8000) and\n"
               "  --aka-amf HEX          --aka-sqn N (the next sequence number, default 0).\n"
               "  --aka-sqn N\n"
               "  -h, --help             Show this help and exit.\n"
               "\n"
               "Examples:\n"
               "  sipveil sub add --impi alice@ims.example --password - \\\n"
               "      --impu sip:alice@ims.example,tel:+15551000001 --display 'Alice Liddell'\n"
               "  sipveil sub show alice@ims.example\n"
               "  sipveil sub import subscribers.yaml\n"
               "\n"
               "Exit status: 0 success; 64 usage error (the message names the argument);\n"
               "65 refused data (an IMPU held by another subscription, a YAML error);\n"
               "67 no such subscriber; 73 the store cannot be created; 74 I/O error (a file\n"
               "that cannot be read, a store that cannot be opened or written).\n");
}

/* Create every missing directory above @p path, mode 0700: the store's directory holds
 * secrets, and so do its neighbours (var/li.jsonl, var/tls/). */
static int make_parents(const char *path)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof(dir))
        return ENAMETOOLONG;
    memcpy(dir, path, n + 1);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    return 0;
}

static int open_store(const char *db, struct store **st)
{
    char err[256] = "";
    int e = make_parents(db);
    if (e) {
        fprintf(stderr, "sipveil sub: cannot create the directory of %s: %s\n", db, strerror(e));
        return APP_EX_CANTCREAT;
    }
    e = store_open_sqlite(st, db, err, sizeof(err));
    if (e) {
        fprintf(stderr, "sipveil sub: cannot open the store: %s\n", err[0] ? err : strerror(e));
        return e == EACCES || e == ENOENT || e == ENOTDIR ? APP_EX_CANTCREAT : APP_EX_IOERR;
    }
    return APP_EX_OK;
}

/* ---- add ------------------------------------------------------------------------------- */

struct add_opts {
    const char *impi, *password, *realm, *display, *scscf;
    const char *impu[STORE_SETS_MAX];
    size_t nimpu;
    const char *pseudonym[STORE_SETS_MAX];
    size_t npseudonym;
    const char *barred[STORE_SETS_MAX * STORE_IRS_MAX];
    size_t nbarred;
    const char *aka_k, *aka_op, *aka_opc, *aka_amf, *aka_sqn;
    bool identity_blocking, user_by_policy;
};

static int hex_arg(const char *opt, const char *s, uint8_t *out, size_t len)
{
    if (strlen(s) != 2 * len || strspn(s, "0123456789abcdefABCDEF") != 2 * len) {
        fprintf(stderr, "sipveil sub add: %s wants %zu hex digits\n", opt, 2 * len);
        return APP_EX_USAGE;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return APP_EX_OK;
}

static int copy_arg(const char *opt, const char *s, char *dst, size_t sz)
{
    if (strlen(s) >= sz) {
        fprintf(stderr, "sipveil sub add: %s is longer than %zu characters\n", opt, sz - 1);
        return APP_EX_USAGE;
    }
    memcpy(dst, s, strlen(s) + 1);
    return APP_EX_OK;
}

static bool uri_ok(const char *u)
{
    return (strncmp(u, "sip:", 4) == 0 && u[4]) || (strncmp(u, "sips:", 5) == 0 && u[5]) ||
           (strncmp(u, "tel:", 4) == 0 && u[4]);
}

/* Split a comma-separated --impu into set @p set. */
static int add_set(struct store_sub *sub, const char *list, bool pseudonym)
{
    struct store_irs *set;
    const char *p = list;

    if (sub->nsets == STORE_SETS_MAX) {
        fprintf(stderr, "sipveil sub add: at most %d sets (--impu and --pseudonym)\n",
                STORE_SETS_MAX);
        return APP_EX_USAGE;
    }
    set = &sub->sets[sub->nsets++];
    while (*p) {
        size_t n = strcspn(p, ",");
        struct store_impu *u;
        if (set->nimpus == STORE_IRS_MAX) {
            fprintf(stderr, "sipveil sub add: at most %d IMPUs in one --impu\n", STORE_IRS_MAX);
            return APP_EX_USAGE;
        }
        u = &set->impus[set->nimpus++];
        if (n >= sizeof(u->uri)) {
            fprintf(stderr, "sipveil sub add: an IMPU is longer than %d characters\n",
                    STORE_URI_MAX - 1);
            return APP_EX_USAGE;
        }
        memcpy(u->uri, p, n);
        u->uri[n] = '\0';
        u->pseudonym = pseudonym;
        if (!uri_ok(u->uri)) {
            fprintf(stderr, "sipveil sub add: '%s' is not a sip:, sips: or tel: URI\n", u->uri);
            return APP_EX_USAGE;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!set->nimpus) {
        fprintf(stderr, "sipveil sub add: an empty --impu\n");
        return APP_EX_USAGE;
    }
    return APP_EX_OK;
}

/* One line of standard input, without its line end; the buffer is wiped by the caller. */
static int read_password(char *buf, size_t sz)
{
    size_t n;
    if (!fgets(buf, (int)sz, stdin)) {
        fprintf(stderr, "sipveil sub add: --password -: nothing on standard input\n");
        return APP_EX_USAGE;
    }
    n = strcspn(buf, "\r\n");
    if (n == strlen(buf) && n == sz - 1) {
        fprintf(stderr, "sipveil sub add: --password -: longer than %zu characters\n", sz - 2);
        return APP_EX_USAGE;
    }
    buf[n] = '\0';
    return APP_EX_OK;
}

static int build_sub(const struct add_opts *o, struct store_sub *sub)
{
    struct store_cred *c = &sub->impis[0];
    int rc;

    memset(sub, 0, sizeof(*sub));
    sub->nimpis = 1;
    sub->identity_blocking = o->identity_blocking;
    sub->user_by_policy = o->user_by_policy;
    if ((rc = copy_arg("--impi", o->impi, c->impi, sizeof(c->impi))))
        return rc;
    if (!strchr(c->impi, '@') || c->impi[0] == '@') {
        fprintf(stderr, "sipveil sub add: --impi wants user@realm\n");
        return APP_EX_USAGE;
    }
    if ((o->realm && (rc = copy_arg("--realm", o->realm, c->realm, sizeof(c->realm)))) ||
        (o->scscf && (rc = copy_arg("--scscf", o->scscf, sub->scscf, sizeof(sub->scscf)))))
        return rc;
    for (size_t i = 0; i < o->nimpu; i++)
        if ((rc = add_set(sub, o->impu[i], false)))
            return rc;
    for (size_t i = 0; i < o->npseudonym; i++)
        if ((rc = add_set(sub, o->pseudonym[i], true)))
            return rc;
    if (o->display &&
        (rc = copy_arg("--display", o->display, sub->sets[0].impus[0].display, STORE_NAME_MAX)))
        return rc;
    for (size_t i = 0; i < o->nbarred; i++) {
        bool found = false;
        for (size_t a = 0; a < sub->nsets; a++)
            for (size_t b = 0; b < sub->sets[a].nimpus; b++)
                if (strcmp(sub->sets[a].impus[b].uri, o->barred[i]) == 0)
                    found = sub->sets[a].impus[b].barred = true;
        if (!found) {
            fprintf(stderr, "sipveil sub add: --barred %s is not one of the IMPUs\n", o->barred[i]);
            return APP_EX_USAGE;
        }
    }
    if (o->aka_k) {
        struct auth_milenage m;
        uint8_t op[AUTH_OP_LEN];
        unsigned long long sqn = 0;
        char *end;
        if (!o->aka_op == !o->aka_opc) {
            fprintf(stderr, "sipveil sub add: --aka-k wants one of --aka-op and --aka-opc\n");
            return APP_EX_USAGE;
        }
        c->amf[0] = 0x80;
        if ((rc = hex_arg("--aka-k", o->aka_k, c->k, sizeof(c->k))) ||
            (o->aka_amf && (rc = hex_arg("--aka-amf", o->aka_amf, c->amf, sizeof(c->amf)))) ||
            (o->aka_opc && (rc = hex_arg("--aka-opc", o->aka_opc, c->opc, sizeof(c->opc)))) ||
            (o->aka_op && (rc = hex_arg("--aka-op", o->aka_op, op, sizeof(op)))))
            return rc;
        if (o->aka_sqn) {
            errno = 0;
            sqn = strtoull(o->aka_sqn, &end, 10);
            if (!*o->aka_sqn || *end || errno || *o->aka_sqn == '-' || sqn >> 48) {
                fprintf(stderr, "sipveil sub add: --aka-sqn wants a number below 2^48\n");
                return APP_EX_USAGE;
            }
        }
        c->sqn = sqn;
        if (o->aka_op) {
            if (auth_milenage_init(&m, c->k, op)) {
                fprintf(stderr, "sipveil sub add: cannot derive OPc from --aka-op\n");
                return APP_EX_SOFTWARE;
            }
            memcpy(c->opc, m.opc, sizeof(c->opc));
            explicit_bzero(&m, sizeof(m));
            explicit_bzero(op, sizeof(op));
        }
        c->aka = true;
    } else if (o->aka_op || o->aka_opc || o->aka_amf || o->aka_sqn) {
        fprintf(stderr, "sipveil sub add: the --aka-* options want --aka-k\n");
        return APP_EX_USAGE;
    }
    if (o->password) {
        char line[512];
        const char *pw = o->password;
        if (strcmp(pw, "-") == 0) {
            if ((rc = read_password(line, sizeof(line))))
                return rc;
            pw = line;
        }
        rc = *pw && store_cred_set_password(c, pw) == 0 ? APP_EX_OK : APP_EX_USAGE;
        explicit_bzero(line, sizeof(line));
        if (rc) {
            fprintf(stderr, "sipveil sub add: the password is empty\n");
            return rc;
        }
    }
    return APP_EX_OK;
}

static int cmd_add(const char *db, int argc, char **argv)
{
    struct add_opts o = {0};
    struct store_sub *sub = NULL;
    struct store *st = NULL;
    int rc, e;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
#define OPT(name) (strcmp(a, name) == 0 && more)
        if (OPT("--impi"))
            o.impi = argv[++i];
        else if (OPT("--password"))
            o.password = argv[++i];
        else if (OPT("--realm"))
            o.realm = argv[++i];
        else if (OPT("--display"))
            o.display = argv[++i];
        else if (OPT("--scscf"))
            o.scscf = argv[++i];
        else if (OPT("--impu") && o.nimpu < STORE_SETS_MAX)
            o.impu[o.nimpu++] = argv[++i];
        else if (OPT("--pseudonym") && o.npseudonym < STORE_SETS_MAX)
            o.pseudonym[o.npseudonym++] = argv[++i];
        else if (OPT("--barred") && o.nbarred < sizeof(o.barred) / sizeof(o.barred[0]))
            o.barred[o.nbarred++] = argv[++i];
        else if (OPT("--aka-k"))
            o.aka_k = argv[++i];
        else if (OPT("--aka-op"))
            o.aka_op = argv[++i];
        else if (OPT("--aka-opc"))
            o.aka_opc = argv[++i];
        else if (OPT("--aka-amf"))
            o.aka_amf = argv[++i];
        else if (OPT("--aka-sqn"))
            o.aka_sqn = argv[++i];
        else if (OPT("--db"))
            db = argv[++i];
        else if (strcmp(a, "--identity-blocking") == 0)
            o.identity_blocking = true;
        else if (strcmp(a, "--user-by-policy") == 0)
            o.user_by_policy = true;
        else {
            fprintf(stderr, "sipveil sub add: %s '%s'; see 'sipveil help sub'\n",
                    a[0] == '-' ? "unknown option, missing value or too many of" : "unexpected", a);
            return APP_EX_USAGE;
        }
#undef OPT
    }
    if (!o.impi || !o.nimpu || (!o.password && !o.aka_k)) {
        fprintf(stderr, "sipveil sub add: %s is required; see 'sipveil help sub'\n",
                !o.impi    ? "--impi"
                : !o.nimpu ? "--impu"
                           : "--password or --aka-k");
        return APP_EX_USAGE;
    }
    if (!(sub = calloc(1, sizeof(*sub)))) {
        fprintf(stderr, "sipveil sub add: out of memory\n");
        return APP_EX_OSERR;
    }
    if ((rc = build_sub(&o, sub)) || (rc = open_store(db, &st)))
        goto out;
    e = st->api->sub_put(st, sub);
    switch (e) {
    case 0:
        rc = APP_EX_OK;
        break;
    case EEXIST:
        fprintf(stderr, "sipveil sub add: an IMPU of %s belongs to another subscription\n",
                sub->impis[0].impi);
        rc = APP_EX_DATAERR;
        break;
    case EINVAL:
        fprintf(stderr, "sipveil sub add: an IMPU is given twice\n");
        rc = APP_EX_USAGE;
        break;
    default:
        fprintf(stderr, "sipveil sub add: cannot write the store: %s\n", strerror(e));
        rc = APP_EX_IOERR;
    }
out:
    store_close(st);
    explicit_bzero(sub, sizeof(*sub));
    free(sub);
    return rc;
}

/* ---- list, show, del, import ----------------------------------------------------------- */

static size_t nimpus_of(const struct store_sub *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nsets; i++)
        n += s->sets[i].nimpus;
    return n;
}

static void cred_kinds(const struct store_cred *c, char *buf, size_t sz)
{
    const char *md5 = c->ha1_md5[0] ? "md5" : "";
    const char *sha = c->ha1_sha256[0] ? "sha-256" : "";
    size_t k = 0;
    buf[0] = '\0';
    if (*md5 || *sha)
        k = (size_t)snprintf(buf, sz, "digest (%s%s%s)", md5, *md5 && *sha ? ", " : "", sha);
    if (c->aka && k < sz)
        snprintf(buf + k, sz - k, "%saka (sqn %llu)", k ? ", " : "", (unsigned long long)c->sqn);
    if (!buf[0])
        snprintf(buf, sz, "none");
}

static int list_cb(void *arg, const struct store_sub *s)
{
    char flags[128] = "";
    bool barred = false;
    (void)arg;
    for (size_t i = 0; i < s->nsets; i++)
        for (size_t j = 0; j < s->sets[i].nimpus; j++)
            barred |= s->sets[i].impus[j].barred;
    snprintf(flags, sizeof(flags), "%s%s%s%s%s", s->impis[0].ha1_md5[0] ? "digest," : "",
             s->impis[0].aka ? "aka," : "", s->identity_blocking ? "identity-blocking," : "",
             s->user_by_policy ? "user-by-policy," : "", barred ? "barred," : "");
    if (flags[0])
        flags[strlen(flags) - 1] = '\0';
    printf("%-28s %-32s %2zu  %s\n", s->impis[0].impi, s->nsets ? s->sets[0].impus[0].uri : "-",
           nimpus_of(s), flags[0] ? flags : "-");
    return ferror(stdout) ? EIO : 0;
}

static const char *case_name(unsigned c)
{
    return c == STORE_CASE_ORIG ? "orig" : c == STORE_CASE_TERM ? "term" : "both";
}

static void show(const struct store_sub *s)
{
    char kinds[128];
    for (size_t i = 0; i < s->nimpis; i++) {
        cred_kinds(&s->impis[i], kinds, sizeof(kinds));
        printf("impi %s\n  realm %s\n  credentials: %s\n", s->impis[i].impi, s->impis[i].realm,
               kinds);
    }
    for (size_t i = 0; i < s->nsets; i++) {
        printf("implicit registration set %zu\n", i + 1);
        for (size_t j = 0; j < s->sets[i].nimpus; j++) {
            const struct store_impu *u = &s->sets[i].impus[j];
            printf("  %s", u->uri);
            if (u->display[0])
                printf(" \"%s\"", u->display);
            if (i == 0 && j == 0)
                printf(" [default]");
            if (u->pseudonym)
                printf(" [pseudonym]");
            if (u->barred)
                printf(" [barred]");
            printf("\n");
        }
    }
    printf("identity blocking: %s\n", s->identity_blocking ? "yes" : "no");
    printf("user by policy: %s\n", s->user_by_policy ? "yes" : "no");
    printf("scscf: %s\n", s->scscf[0] ? s->scscf : "(the I-CSCF's default)");
    if (!s->nifc)
        printf("ifc: none\n");
    for (size_t i = 0; i < s->nifc; i++) {
        const struct store_ifc *f = &s->ifc[i];
        printf("ifc %d: %s%s%s %s -> %s\n", f->priority, f->method[0] ? f->method : "any method",
               f->event[0] ? " event " : "", f->event, case_name(f->scase), f->as);
    }
}

/* The single IMPI argument of del and show (and --db among them). */
static int one_arg(const char *verb, int argc, char **argv, const char **db, const char **arg)
{
    *arg = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            *db = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "sipveil sub %s: unknown option '%s'; see 'sipveil help sub'\n", verb,
                    argv[i]);
            return APP_EX_USAGE;
        } else if (!*arg) {
            *arg = argv[i];
        } else {
            fprintf(stderr, "sipveil sub %s: one argument only\n", verb);
            return APP_EX_USAGE;
        }
    }
    if (!*arg && strcmp(verb, "list") != 0) {
        fprintf(stderr, "sipveil sub %s: which %s?\n", verb,
                strcmp(verb, "import") == 0 ? "FILE" : "IMPI");
        return APP_EX_USAGE;
    }
    if (*arg && strcmp(verb, "list") == 0) {
        fprintf(stderr, "sipveil sub list: no argument expected\n");
        return APP_EX_USAGE;
    }
    return APP_EX_OK;
}

static int cmd_simple(const char *verb, const char *db, int argc, char **argv)
{
    struct store_sub *sub = NULL;
    struct store *st = NULL;
    const char *arg;
    char *buf = NULL, err[256] = "";
    size_t len = 0, n = 0;
    int rc, e = 0;

    if ((rc = one_arg(verb, argc, argv, &db, &arg)))
        return rc;
    if (strcmp(verb, "import") == 0 && (e = app_read_all(arg, &buf, &len, 64u << 20))) {
        fprintf(stderr, "sipveil sub import: cannot read %s: %s\n", arg, strerror(e));
        return APP_EX_IOERR;
    }
    if ((rc = open_store(db, &st)))
        goto out;
    if (strcmp(verb, "list") == 0) {
        e = st->api->sub_each(st, list_cb, NULL);
    } else if (strcmp(verb, "del") == 0) {
        e = st->api->sub_del(st, arg);
    } else if (strcmp(verb, "show") == 0) {
        if (!(sub = malloc(sizeof(*sub))))
            e = ENOMEM;
        else if (!(e = st->api->sub_get(st, arg, sub)))
            show(sub);
    } else {
        e = store_import_yaml(st, buf, len, &n, err, sizeof(err));
        if (e == EINVAL) {
            fprintf(stderr, "sipveil sub import: %s:%s (%zu subscribers written before it)\n", arg,
                    err, n);
            rc = APP_EX_DATAERR;
            goto out;
        }
        if (!e)
            printf("imported %zu subscriber%s\n", n, n == 1 ? "" : "s");
    }
    if (e == ENOENT) {
        fprintf(stderr, "sipveil sub %s: no subscriber %s\n", verb, arg);
        rc = APP_EX_NOUSER;
    } else if (e) {
        fprintf(stderr, "sipveil sub %s: %s\n", verb, err[0] ? err : strerror(e));
        rc = APP_EX_IOERR;
    } else if (fflush(stdout) != 0) {
        rc = APP_EX_IOERR;
    }
out:
    free(sub);
    free(buf);
    store_close(st);
    return rc;
}

/**
 * `sipveil sub`: @p argv[0] is "sub".
 * @return an exit status of app.h
 */
int app_cmd_sub(int argc, char **argv)
{
    const char *db = SUB_DB_DEFAULT;
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            app_usage_sub(stdout);
            return APP_EX_OK;
        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else {
            fprintf(stderr, "sipveil sub: unknown option '%s'; see 'sipveil help sub'\n", argv[i]);
            return APP_EX_USAGE;
        }
    }
    if (i == argc) {
        app_usage_sub(stderr);
        return APP_EX_USAGE;
    }
    for (int j = i + 1; j < argc; j++)
        if (strcmp(argv[j], "-h") == 0 || strcmp(argv[j], "--help") == 0) {
            app_usage_sub(stdout);
            return APP_EX_OK;
        }
    if (strcmp(argv[i], "add") == 0)
        return cmd_add(db, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "del") == 0 || strcmp(argv[i], "list") == 0 ||
        strcmp(argv[i], "show") == 0 || strcmp(argv[i], "import") == 0)
        return cmd_simple(argv[i], db, argc - i - 1, argv + i + 1);
    fprintf(stderr, "sipveil sub: unknown command '%s'; see 'sipveil help sub'\n", argv[i]);
    return APP_EX_USAGE;
}
