/**
 * @file cfg.c  Configuration files: YAML through a declarative table into typed structs.
 *
 * The file is read with libyaml's document API: the whole tree is in memory before any value
 * is looked at, so a mapping can be checked for duplicate and missing keys after its last
 * pair, and every node carries its line and column for the errors. Config files are small;
 * the tree costs nothing that matters.
 *
 * The walk follows the table, not the document: a key the table does not know is an error,
 * and the recursion is only as deep as the table, whatever aliases the document holds.
 * Defaults are applied to a whole struct before its mapping is read, so a key that is absent
 * simply keeps its default, and the defaults go through the same parsers as the file's
 * values (a broken default in a table shows up in the first test that loads anything).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include <sipveil/cfg.h>
#include <sipveil/core.h>

#define PATH_MAX_LEN 512
#define TABLE_MAX 64 /* items in one table: the width of the "seen" mask */

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                              */

static char *str_dup(const char *s, size_t n)
{
    char *p = sv_malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* vsnprintf into an sv_malloc'd string. */
static char *str_vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *str_vfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *p;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    p = sv_malloc((size_t)n + 1);
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

static void *field(void *base, size_t off)
{
    return (char *)base + off;
}

static const void *cfield(const void *base, size_t off)
{
    return (const char *)base + off;
}

static size_t table_len(const struct sv_cfg_item *t)
{
    size_t n = 0;

    while (t[n].name)
        n++;
    return n;
}

/* A value quoted for an error message: at most 40 octets, non-printables as \xNN. */
static void quote_value(char *out, size_t sz, const char *v, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 8 < sz; i++) {
        unsigned char c = (unsigned char)v[i];
        if (i == 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '\\')
            o += (size_t)snprintf(out + o, sz - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

/* ---------------------------------------------------------------------------------------- */
/* Durations and addresses                                                                    */

/**
 * Parse a duration: digits, then optionally "ms", "s", "m" or "h"; bare digits are ms.
 * @param s  NUL-terminated text
 * @param ms out: the duration in milliseconds
 * @return 0, EINVAL when malformed, ERANGE when above UINT32_MAX ms
 */
int sv_cfg_duration_parse(const char *s, uint32_t *ms)
{
    uint64_t v = 0, mul;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return EINVAL;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return ERANGE;
        p++;
    }
    if (*p == '\0' || strcmp(p, "ms") == 0)
        mul = 1;
    else if (strcmp(p, "s") == 0)
        mul = 1000;
    else if (strcmp(p, "m") == 0)
        mul = 60000;
    else if (strcmp(p, "h") == 0)
        mul = 3600000;
    else
        return EINVAL;
    if (v * mul > UINT32_MAX)
        return ERANGE;
    *ms = (uint32_t)(v * mul);
    return 0;
}

/**
 * Format a duration in the largest unit that divides it exactly, so that it reads as it was
 * probably written ("500ms", "4s", "5m") and parses back to the same value.
 * @param ms  the duration in milliseconds
 * @param buf where to write (16 octets are enough)
 * @param sz  its size
 * @return @p buf
 */
const char *sv_cfg_duration_str(uint32_t ms, char *buf, size_t sz)
{
    if (ms == 0)
        snprintf(buf, sz, "0s");
    else if (ms % 3600000u == 0)
        snprintf(buf, sz, "%uh", ms / 3600000u);
    else if (ms % 60000u == 0)
        snprintf(buf, sz, "%um", ms / 60000u);
    else if (ms % 1000u == 0)
        snprintf(buf, sz, "%us", ms / 1000u);
    else
        snprintf(buf, sz, "%ums", ms);
    return buf;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/**
 * Split an address into host and port. The host is a name or IPv4 address of letters, digits,
 * '-', '.' and '_', or an IPv6 address in brackets (checked with inet_pton); the port is
 * required, 0..65535 (0: let the kernel choose, for listeners).
 * @param s      NUL-terminated text, e.g. "127.0.0.1:5060" or "[::1]:5061"
 * @param host   out: the host without brackets, NUL-terminated
 * @param hostsz its size
 * @param port   out: the port
 * @return 0, EINVAL when malformed, ENOSPC when @p host is too small
 */
int sv_cfg_addr_split(const char *s, char *host, size_t hostsz, uint16_t *port)
{
    const char *h = s, *colon;
    size_t hl;
    uint32_t v = 0;

    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return EINVAL;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
            return EINVAL; /* no port, or an IPv6 address without brackets */
        hl = (size_t)(colon - s);
        for (size_t i = 0; i < hl; i++) {
            if (!host_char(s[i]))
                return EINVAL;
        }
    }
    if (hl == 0)
        return EINVAL;
    if (hl >= hostsz)
        return ENOSPC;
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5)
        return EINVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return EINVAL;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    if (v > 65535)
        return EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (*s == '[') {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return EINVAL;
    }
    *port = (uint16_t)v;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Diagnostics                                                                                */

/**
 * Start empty diagnostics.
 * @param d   the diagnostics
 * @param max how many messages to keep (0: SV_CFG_MAX_ERRORS); the rest are only counted
 */
void sv_cfg_diag_init(struct sv_cfg_diag *d, unsigned max)
{
    memset(d, 0, sizeof(*d));
    d->max = max ? max : SV_CFG_MAX_ERRORS;
}

/**
 * Free the messages and positions.
 * @param d the diagnostics; left empty and reusable after sv_cfg_diag_init
 */
void sv_cfg_diag_close(struct sv_cfg_diag *d)
{
    for (unsigned i = 0; i < d->nkept; i++)
        sv_free(d->errv[i]);
    sv_free(d->errv);
    for (size_t i = 0; i < d->posc; i++)
        sv_free(d->posv[i].path);
    sv_free(d->posv);
    sv_free(d->file);
    unsigned max = d->max;
    memset(d, 0, sizeof(*d));
    d->max = max;
}

/**
 * Print the kept messages, one a line.
 * @param d the diagnostics
 * @param f where to
 */
void sv_cfg_diag_print(const struct sv_cfg_diag *d, FILE *f)
{
    for (unsigned i = 0; i < d->nkept; i++)
        fprintf(f, "%s\n", d->errv[i]);
    if (d->nerr > d->nkept)
        fprintf(f, "%s: %u more error%s not shown\n", d->file ? d->file : "config",
                d->nerr - d->nkept, d->nerr - d->nkept == 1 ? "" : "s");
    if (d->oom)
        fprintf(f, "%s: out of memory while recording errors\n", d->file ? d->file : "config");
}

/* Record one message; line 0 leaves out the position. */
static void diag_vadd(struct sv_cfg_diag *d, unsigned line, unsigned col, const char *path,
                      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void diag_vadd(struct sv_cfg_diag *d, unsigned line, unsigned col, const char *path,
                      const char *fmt, va_list ap)
{
    char *text, *msg;
    const char *file = d->file ? d->file : "config";

    d->nerr++;
    if (d->nkept >= d->max)
        return;
    text = str_vfmt(fmt, ap);
    if (!text) {
        d->oom = true;
        return;
    }
    size_t n = strlen(file) + strlen(path) + strlen(text) + 48;
    char **nv = sv_realloc(d->errv, (d->nkept + 1) * sizeof(*nv));
    msg = sv_malloc(n);
    if (!nv || !msg) {
        if (nv)
            d->errv = nv;
        sv_free(msg);
        sv_free(text);
        d->oom = true;
        return;
    }
    d->errv = nv;
    if (line)
        snprintf(msg, n, "%s:%u:%u: %s: %s", file, line, col, *path ? path : "(top level)", text);
    else
        snprintf(msg, n, "%s: %s", file, text);
    sv_free(text);
    d->errv[d->nkept++] = msg;
}

static void diag_add(struct sv_cfg_diag *d, unsigned line, unsigned col, const char *path,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void diag_add(struct sv_cfg_diag *d, unsigned line, unsigned col, const char *path,
                     const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(d, line, col, path, fmt, ap);
    va_end(ap);
}

static int pos_add(struct sv_cfg_diag *d, const char *path, unsigned line, unsigned col)
{
    if (d->posc == d->poscap) {
        size_t cap = d->poscap ? d->poscap * 2 : 32;
        struct sv_cfg_pos *nv = sv_realloc(d->posv, cap * sizeof(*nv));
        if (!nv)
            return ENOMEM;
        d->posv = nv;
        d->poscap = cap;
    }
    char *p = str_dup(path, strlen(path));
    if (!p)
        return ENOMEM;
    d->posv[d->posc].path = p;
    d->posv[d->posc].line = line;
    d->posv[d->posc].col = col;
    d->posc++;
    return 0;
}

/**
 * Find where @p path was given, or where its nearest given ancestor was: "a.b[2].c" is looked
 * up as itself, then "a.b[2]", "a.b", "a" and "" (the document).
 * @param d    diagnostics of a load
 * @param path the key path
 * @param line out: 1-based line
 * @param col  out: 1-based column
 * @return 0 or ENOENT
 */
int sv_cfg_pos_find(const struct sv_cfg_diag *d, const char *path, unsigned *line, unsigned *col)
{
    size_t len = strlen(path);

    for (;;) {
        for (size_t i = 0; i < d->posc; i++) {
            if (strlen(d->posv[i].path) == len && memcmp(d->posv[i].path, path, len) == 0) {
                *line = d->posv[i].line;
                *col = d->posv[i].col;
                return 0;
            }
        }
        if (len == 0)
            return ENOENT;
        while (len > 0 && path[len - 1] != '.' && path[len - 1] != '[')
            len--;
        if (len > 0)
            len--; /* the '.' or '[' itself */
    }
}

/**
 * Record an error found after loading, at the position of @p path (or its nearest ancestor).
 * @param d    diagnostics of the load
 * @param path the key path the error is about
 * @param fmt  printf format of "what is wrong (expected ...)"
 */
void sv_cfg_errorf(struct sv_cfg_diag *d, const char *path, const char *fmt, ...)
{
    unsigned line = 1, col = 1;
    va_list ap;

    sv_cfg_pos_find(d, path, &line, &col);
    va_start(ap, fmt);
    diag_vadd(d, line, col, path, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------- */
/* What each type expects, in words                                                           */

static void bounds_str(const struct sv_cfg_item *it, char *buf, size_t sz)
{
    char a[16], b[16];

    buf[0] = '\0';
    if (it->min == 0 && it->max == 0)
        return;
    switch (it->type) {
    case SV_CFGT_UINT:
        if (it->max)
            snprintf(buf, sz, "%u..%u", it->min, it->max);
        else
            snprintf(buf, sz, "at least %u", it->min);
        break;
    case SV_CFGT_DURATION:
        if (it->max)
            snprintf(buf, sz, "%s..%s", sv_cfg_duration_str(it->min, a, sizeof(a)),
                     sv_cfg_duration_str(it->max, b, sizeof(b)));
        else
            snprintf(buf, sz, "at least %s", sv_cfg_duration_str(it->min, a, sizeof(a)));
        break;
    case SV_CFGT_STRING:
        if (it->max)
            snprintf(buf, sz, "%u..%u characters", it->min, it->max);
        else
            snprintf(buf, sz, "at least %u character%s", it->min, it->min == 1 ? "" : "s");
        break;
    case SV_CFGT_LIST:
        if (it->max)
            snprintf(buf, sz, "%u..%u items", it->min, it->max);
        else
            snprintf(buf, sz, "at least %u item%s", it->min, it->min == 1 ? "" : "s");
        break;
    default:
        break;
    }
}

static void names_str(const struct sv_cfg_item *it, char *buf, size_t sz)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; it->names[i] && o < sz; i++)
        o += (size_t)snprintf(buf + o, sz - o, "%s%s", i ? ", " : "", it->names[i]);
}

static void expect_str(const struct sv_cfg_item *it, char *buf, size_t sz)
{
    char b[64], n[256];

    bounds_str(it, b, sizeof(b));
    switch (it->type) {
    case SV_CFGT_BOOL:
        snprintf(buf, sz, "true or false");
        break;
    case SV_CFGT_UINT:
        snprintf(buf, sz, "an unsigned integer%s%s", *b ? " in " : "", b);
        break;
    case SV_CFGT_DURATION:
        snprintf(buf, sz, "a duration such as 500ms, 32s, 5m or a number of milliseconds%s%s",
                 *b ? ", in " : "", b);
        break;
    case SV_CFGT_STRING:
        snprintf(buf, sz, "a string%s%s", *b ? " of " : "", b);
        break;
    case SV_CFGT_ENUM:
        names_str(it, n, sizeof(n));
        snprintf(buf, sz, "one of: %s", n);
        break;
    case SV_CFGT_ADDRESS:
        snprintf(buf, sz, "host:port, IPv6 as [addr]:port%s",
                 it->def && !*it->def ? ", or \"\" for none" : "");
        break;
    case SV_CFGT_STRUCT:
        snprintf(buf, sz, "a mapping");
        break;
    case SV_CFGT_LIST:
        snprintf(buf, sz, "a list of mappings%s%s", *b ? ", " : "", b);
        break;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Scalars: text to value                                                                     */

/* What a scalar parse found wrong; the caller words the message. */
enum scalar_err {
    SC_OK = 0,
    SC_BAD,   /* not of the type */
    SC_RANGE, /* of the type, out of bounds */
    SC_NOMEM,
};

static enum scalar_err parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};

    for (size_t i = 0; i < SV_ARRAY_SIZE(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return SC_OK;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return SC_OK;
        }
    }
    return SC_BAD;
}

static enum scalar_err parse_uint(const char *v, uint32_t *out)
{
    uint64_t n = 0;

    if (!*v)
        return SC_BAD;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return SC_BAD;
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > UINT32_MAX)
            return SC_RANGE;
    }
    *out = (uint32_t)n;
    return SC_OK;
}

static bool bounded(const struct sv_cfg_item *it, uint64_t v)
{
    if (it->min == 0 && it->max == 0)
        return true;
    return v >= it->min && (it->max == 0 || v <= it->max);
}

/*
 * Store the scalar @p v (NUL-terminated, @p len octets) into the item's field. @p is_null
 * says the YAML value was a plain null (empty, "~" or "null"), which a string takes as "".
 */
static enum scalar_err store_scalar(const struct sv_cfg_item *it, void *base, const char *v,
                                    size_t len, bool is_null)
{
    void *f = field(base, it->off);

    switch (it->type) {
    case SV_CFGT_BOOL:
        return parse_bool(v, f);
    case SV_CFGT_UINT: {
        uint32_t n;
        enum scalar_err e = parse_uint(v, &n);
        if (e)
            return e;
        if (!bounded(it, n))
            return SC_RANGE;
        *(uint32_t *)f = n;
        return SC_OK;
    }
    case SV_CFGT_DURATION: {
        uint32_t ms;
        int e = sv_cfg_duration_parse(v, &ms);
        if (e)
            return e == ERANGE ? SC_RANGE : SC_BAD;
        if (!bounded(it, ms))
            return SC_RANGE;
        *(uint32_t *)f = ms;
        return SC_OK;
    }
    case SV_CFGT_ENUM:
        for (unsigned i = 0; it->names[i]; i++) {
            if (strcmp(v, it->names[i]) == 0) {
                *(unsigned *)f = i;
                return SC_OK;
            }
        }
        return SC_BAD;
    case SV_CFGT_STRING:
    case SV_CFGT_ADDRESS: {
        if (is_null) {
            v = "";
            len = 0;
        }
        if (strlen(v) != len)
            return SC_BAD; /* an escaped NUL inside */
        if (it->type == SV_CFGT_STRING && !bounded(it, len))
            return SC_RANGE;
        if (it->type == SV_CFGT_ADDRESS) {
            char host[256];
            uint16_t port;
            bool may_be_empty = it->def && !*it->def;
            if (len == 0 ? !may_be_empty : sv_cfg_addr_split(v, host, sizeof(host), &port) != 0)
                return SC_BAD;
        }
        char *copy = str_dup(v, len);
        if (!copy)
            return SC_NOMEM;
        sv_free(*(char **)f);
        *(char **)f = copy;
        return SC_OK;
    }
    case SV_CFGT_STRUCT:
    case SV_CFGT_LIST:
        break;
    }
    return SC_BAD;
}

/* Apply every default of @p t to @p base. A required string starts out NULL. */
static int apply_defaults(const struct sv_cfg_item *t, void *base)
{
    for (const struct sv_cfg_item *it = t; it->name; it++) {
        switch (it->type) {
        case SV_CFGT_STRUCT: {
            int e = apply_defaults(it->sub, field(base, it->off));
            if (e)
                return e;
            break;
        }
        case SV_CFGT_LIST:
            *(void **)field(base, it->off) = NULL;
            *(size_t *)field(base, it->count_off) = 0;
            break;
        default:
            if (!it->def) {
                if (it->type == SV_CFGT_STRING || it->type == SV_CFGT_ADDRESS)
                    *(char **)field(base, it->off) = NULL;
                break;
            }
            switch (store_scalar(it, base, it->def, strlen(it->def), false)) {
            case SC_OK:
                break;
            case SC_NOMEM:
                return ENOMEM;
            default:
                return EINVAL; /* a broken table: the tests catch it */
            }
        }
    }
    return 0;
}

/**
 * Release the strings and arrays of a loaded config and zero those fields.
 * @param t   the table it was loaded with
 * @param obj the config
 */
void sv_cfg_free(const struct sv_cfg_item *t, void *obj)
{
    for (const struct sv_cfg_item *it = t; it->name; it++) {
        void *f = field(obj, it->off);
        switch (it->type) {
        case SV_CFGT_STRING:
        case SV_CFGT_ADDRESS:
            sv_free(*(char **)f);
            *(char **)f = NULL;
            break;
        case SV_CFGT_STRUCT:
            sv_cfg_free(it->sub, f);
            break;
        case SV_CFGT_LIST: {
            char *arr = *(char **)f;
            size_t n = *(size_t *)field(obj, it->count_off);
            for (size_t i = 0; arr && i < n; i++)
                sv_cfg_free(it->sub, arr + i * it->elem_size);
            sv_free(arr);
            *(char **)f = NULL;
            *(size_t *)field(obj, it->count_off) = 0;
            break;
        }
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The walk                                                                                   */

struct loader {
    struct sv_cfg_diag *d;
    yaml_document_t *doc;
    int err; /* ENOMEM, sticky */
    char path[PATH_MAX_LEN];
    size_t plen;
};

static size_t path_push(struct loader *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static size_t path_push(struct loader *L, const char *fmt, ...)
{
    size_t saved = L->plen;
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(L->path + L->plen, sizeof(L->path) - L->plen, fmt, ap);
    va_end(ap);
    if (n > 0)
        L->plen += (size_t)n;
    if (L->plen >= sizeof(L->path))
        L->plen = sizeof(L->path) - 1; /* truncated: still a usable message */
    return saved;
}

static void path_pop(struct loader *L, size_t saved)
{
    L->plen = saved;
    L->path[saved] = '\0';
}

static void err_at(struct loader *L, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void err_at(struct loader *L, const yaml_mark_t *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(L->d, (unsigned)m->line + 1, (unsigned)m->column + 1, L->path, fmt, ap);
    va_end(ap);
}

static void pos_here(struct loader *L, const yaml_mark_t *m)
{
    if (pos_add(L->d, L->path, (unsigned)m->line + 1, (unsigned)m->column + 1))
        L->err = ENOMEM;
}

static const char *kind_str(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static bool is_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

/* Levenshtein distance, capped: only "is it within 2" matters, for "did you mean". */
static unsigned edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned row[64];

    if (la >= SV_ARRAY_SIZE(row) || lb >= SV_ARRAY_SIZE(row))
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (up + 1 < best)
                best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void unknown_key(struct loader *L, const struct sv_cfg_item *t, const char *key,
                        const yaml_mark_t *m)
{
    char list[512], hint[96] = "";
    size_t o = 0;
    unsigned best = 3;

    list[0] = '\0';
    for (const struct sv_cfg_item *it = t; it->name; it++) {
        if (o < sizeof(list))
            o +=
                (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", it == t ? "" : ", ", it->name);
        unsigned dist = edit_distance(key, it->name);
        if (dist < best) {
            best = dist;
            snprintf(hint, sizeof(hint), "; did you mean '%s'?", it->name);
        }
    }
    err_at(L, m, "unknown key%s (expected one of: %s)", hint, list);
}

static void load_struct(struct loader *L, const struct sv_cfg_item *t, void *base,
                        yaml_node_t *node, const yaml_mark_t *where);

static void load_list(struct loader *L, const struct sv_cfg_item *it, void *base, yaml_node_t *node)
{
    char exp[128];
    size_t n;

    expect_str(it, exp, sizeof(exp));
    if (is_null(node))
        n = 0;
    else if (node->type != YAML_SEQUENCE_NODE) {
        err_at(L, &node->start_mark, "got %s (expected %s)", kind_str(node), exp);
        return;
    } else
        n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (!bounded(it, n)) {
        err_at(L, &node->start_mark, "%zu item%s (expected %s)", n, n == 1 ? "" : "s", exp);
        if (n == 0)
            return;
    }
    if (n == 0)
        return;
    char *arr = sv_calloc(n, it->elem_size);
    if (!arr) {
        L->err = ENOMEM;
        return;
    }
    /* stored before the elements are filled, so that sv_cfg_free finds them on any error */
    *(void **)field(base, it->off) = arr;
    *(size_t *)field(base, it->count_off) = n;
    for (size_t i = 0; i < n && !L->err; i++) {
        void *elem = arr + i * it->elem_size;
        yaml_node_t *en = yaml_document_get_node(L->doc, node->data.sequence.items.start[i]);
        size_t saved = path_push(L, "[%zu]", i);
        int e = apply_defaults(it->sub, elem);
        if (e) {
            L->err = e;
        } else if (en) {
            pos_here(L, &en->start_mark);
            load_struct(L, it->sub, elem, en, &en->start_mark);
        }
        path_pop(L, saved);
    }
}

static void load_item(struct loader *L, const struct sv_cfg_item *it, void *base, yaml_node_t *node)
{
    char exp[384], q[192];

    switch (it->type) {
    case SV_CFGT_STRUCT:
        load_struct(L, it->sub, field(base, it->off), node, &node->start_mark);
        return;
    case SV_CFGT_LIST:
        load_list(L, it, base, node);
        return;
    default:
        break;
    }
    expect_str(it, exp, sizeof(exp));
    if (node->type != YAML_SCALAR_NODE) {
        err_at(L, &node->start_mark, "got %s (expected %s)", kind_str(node), exp);
        return;
    }
    const char *v = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    bool null = is_null(node);
    if (null && it->type != SV_CFGT_STRING && it->type != SV_CFGT_ADDRESS) {
        err_at(L, &node->start_mark, "no value (expected %s)", exp);
        return;
    }
    quote_value(q, sizeof(q), v, len);
    switch (store_scalar(it, base, v, len, null)) {
    case SC_OK:
        break;
    case SC_BAD:
        err_at(L, &node->start_mark, "'%s' is not valid (expected %s)", q, exp);
        break;
    case SC_RANGE:
        if (it->type == SV_CFGT_STRING)
            err_at(L, &node->start_mark, "%zu characters are out of bounds (expected %s)", len,
                   exp);
        else
            err_at(L, &node->start_mark, "%s is out of bounds (expected %s)", q, exp);
        break;
    case SC_NOMEM:
        L->err = ENOMEM;
        break;
    }
}

/*
 * Read the mapping @p node (NULL or null: absent, every item keeps its default) into @p base.
 * @p where is the position missing keys are reported at.
 */
static void load_struct(struct loader *L, const struct sv_cfg_item *t, void *base,
                        yaml_node_t *node, const yaml_mark_t *where)
{
    yaml_mark_t first[TABLE_MAX];
    uint64_t seen = 0;
    size_t nt = table_len(t);

    if (nt > TABLE_MAX) {
        L->err = EINVAL; /* a table too wide: a programmer error the tests catch */
        return;
    }
    if (node && !is_null(node)) {
        if (node->type != YAML_MAPPING_NODE) {
            err_at(L, &node->start_mark, "got %s (expected a mapping)", kind_str(node));
            return;
        }
        for (yaml_node_pair_t *pr = node->data.mapping.pairs.start;
             pr < node->data.mapping.pairs.top && !L->err; pr++) {
            yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
            yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
            if (!k || !v)
                continue;
            if (k->type != YAML_SCALAR_NODE) {
                err_at(L, &k->start_mark, "got %s as a key (expected a key name)", kind_str(k));
                continue;
            }
            const char *key = (const char *)k->data.scalar.value;
            size_t i = 0;
            while (i < nt && strcmp(t[i].name, key) != 0)
                i++;
            char q[192];
            quote_value(q, sizeof(q), key, k->data.scalar.length);
            size_t saved = path_push(L, "%s%s", L->plen ? "." : "", q);
            if (i == nt) {
                unknown_key(L, t, key, &k->start_mark);
            } else if (seen & (1ull << i)) {
                err_at(L, &k->start_mark, "duplicate key (first given at line %u, column %u)",
                       (unsigned)first[i].line + 1, (unsigned)first[i].column + 1);
            } else {
                seen |= 1ull << i;
                first[i] = k->start_mark;
                pos_here(L, &v->start_mark);
                load_item(L, &t[i], base, v);
            }
            path_pop(L, saved);
        }
    }
    /* what was not given: required scalars are errors, absent structs check their own */
    for (size_t i = 0; i < nt && !L->err; i++) {
        const struct sv_cfg_item *it = &t[i];
        if (seen & (1ull << i))
            continue;
        size_t saved = path_push(L, "%s%s", L->plen ? "." : "", it->name);
        char exp[384];
        expect_str(it, exp, sizeof(exp));
        if (it->type == SV_CFGT_STRUCT)
            load_struct(L, it->sub, field(base, it->off), NULL, where);
        else if (it->type == SV_CFGT_LIST && it->min > 0)
            err_at(L, where, "missing (required: expected %s)", exp);
        else if (it->type != SV_CFGT_LIST && !it->def)
            err_at(L, where, "missing (required: expected %s)", exp);
        path_pop(L, saved);
    }
}

/* Read a parser's error into the diagnostics. */
static void syntax_error(struct sv_cfg_diag *d, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";

    if (p->error == YAML_READER_ERROR) {
        diag_add(d, 0, 0, "", "yaml: %s at octet %zu", problem, p->problem_offset);
        return;
    }
    if (p->error == YAML_MEMORY_ERROR) {
        diag_add(d, 0, 0, "", "yaml: out of memory");
        return;
    }
    if (p->context)
        diag_add(d, (unsigned)p->problem_mark.line + 1, (unsigned)p->problem_mark.column + 1,
                 "yaml", "%s (%s, which started at line %u, column %u)", problem, p->context,
                 (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
    else
        diag_add(d, (unsigned)p->problem_mark.line + 1, (unsigned)p->problem_mark.column + 1,
                 "yaml", "%s", problem);
}

/* The load shared by the file and memory entry points; @p p has its input set. */
static int load(const struct sv_cfg_item *t, void *obj, yaml_parser_t *p, struct sv_cfg_diag *d)
{
    yaml_document_t doc, next;
    struct loader L = {.d = d, .doc = &doc};
    unsigned nerr0 = d->nerr;
    int err;

    if (!yaml_parser_load(p, &doc)) {
        syntax_error(d, p);
        return p->error == YAML_MEMORY_ERROR ? ENOMEM : EINVAL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && yaml_parser_load(p, &next)) {
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        if (r2)
            diag_add(d, (unsigned)r2->start_mark.line + 1, (unsigned)r2->start_mark.column + 1,
                     "yaml", "a second document (expected one document per file)");
        yaml_document_delete(&next);
    } else if (root && p->error != YAML_NO_ERROR) {
        syntax_error(d, p);
    }
    err = apply_defaults(t, obj);
    if (err == 0) {
        yaml_mark_t top = {0, 0, 0};
        if (pos_add(d, "", root ? (unsigned)root->start_mark.line + 1 : 1,
                    root ? (unsigned)root->start_mark.column + 1 : 1))
            L.err = ENOMEM;
        else
            load_struct(&L, t, obj, root, root ? &root->start_mark : &top);
        err = L.err;
    }
    yaml_document_delete(&doc);
    if (err == 0 && (d->nerr != nerr0 || d->oom))
        err = d->oom ? ENOMEM : EINVAL;
    if (err)
        sv_cfg_free(t, obj);
    return err;
}

static int diag_set_file(struct sv_cfg_diag *d, const char *name)
{
    sv_free(d->file);
    d->file = str_dup(name, strlen(name));
    return d->file ? 0 : ENOMEM;
}

/**
 * Load YAML text into @p obj.
 * @param t    the table describing @p obj
 * @param obj  the struct to fill; every field the table names is overwritten
 * @param name the file name errors carry
 * @param text the YAML
 * @param len  its length
 * @param d    diagnostics, from sv_cfg_diag_init; errors are appended
 * @return 0, EINVAL (errors in @p d) or ENOMEM; on failure @p obj holds nothing to free
 */
int sv_cfg_load_mem(const struct sv_cfg_item *t, void *obj, const char *name, const char *text,
                    size_t len, struct sv_cfg_diag *d)
{
    yaml_parser_t p;
    int err;

    if (diag_set_file(d, name))
        return ENOMEM;
    if (!yaml_parser_initialize(&p))
        return ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    err = load(t, obj, &p, d);
    yaml_parser_delete(&p);
    return err;
}

/**
 * Load the YAML file @p path into @p obj.
 * @param t    the table describing @p obj
 * @param obj  the struct to fill
 * @param path the file; errors carry this name
 * @param d    diagnostics, from sv_cfg_diag_init; errors are appended
 * @return 0, EINVAL (errors in @p d), ENOMEM, or the errno of opening the file (also in @p d);
 *         on failure @p obj holds nothing to free
 */
int sv_cfg_load_file(const struct sv_cfg_item *t, void *obj, const char *path,
                     struct sv_cfg_diag *d)
{
    yaml_parser_t p;
    FILE *f;
    int err;

    if (diag_set_file(d, path))
        return ENOMEM;
    f = fopen(path, "rb");
    if (!f) {
        err = errno;
        diag_add(d, 0, 0, "", "cannot read: %s", strerror(err));
        return err;
    }
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        return ENOMEM;
    }
    yaml_parser_set_input_file(&p, f);
    err = load(t, obj, &p, d);
    if (err == EINVAL && ferror(f)) {
        diag_add(d, 0, 0, "", "read error");
        err = EIO;
    }
    yaml_parser_delete(&p);
    fclose(f);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Comparing                                                                                  */

/**
 * Whether two configs loaded with @p t hold the same values.
 * @param t the table
 * @param a one config
 * @param b the other
 * @return true when every value is equal
 */
bool sv_cfg_equal(const struct sv_cfg_item *t, const void *a, const void *b)
{
    for (const struct sv_cfg_item *it = t; it->name; it++) {
        const void *fa = cfield(a, it->off), *fb = cfield(b, it->off);
        switch (it->type) {
        case SV_CFGT_BOOL:
            if (*(const bool *)fa != *(const bool *)fb)
                return false;
            break;
        case SV_CFGT_UINT:
        case SV_CFGT_DURATION:
            if (*(const uint32_t *)fa != *(const uint32_t *)fb)
                return false;
            break;
        case SV_CFGT_ENUM:
            if (*(const unsigned *)fa != *(const unsigned *)fb)
                return false;
            break;
        case SV_CFGT_STRING:
        case SV_CFGT_ADDRESS: {
            const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
            if (strcmp(sa ? sa : "", sb ? sb : "") != 0)
                return false;
            break;
        }
        case SV_CFGT_STRUCT:
            if (!sv_cfg_equal(it->sub, fa, fb))
                return false;
            break;
        case SV_CFGT_LIST: {
            size_t na = *(const size_t *)cfield(a, it->count_off);
            size_t nb = *(const size_t *)cfield(b, it->count_off);
            const char *xa = *(char *const *)fa, *xb = *(char *const *)fb;
            if (na != nb)
                return false;
            for (size_t i = 0; i < na; i++) {
                if (!sv_cfg_equal(it->sub, xa + i * it->elem_size, xb + i * it->elem_size))
                    return false;
            }
            break;
        }
        }
    }
    return true;
}

/* The first key under @p t that differs between @p a and @p b although a reload may not
 * change it; its path (under @p prefix) goes into @p path. */
static bool fixed_diff(const struct sv_cfg_item *t, const void *a, const void *b,
                       const char *prefix, char *path, size_t sz)
{
    for (const struct sv_cfg_item *it = t; it->name; it++) {
        const void *fa = cfield(a, it->off), *fb = cfield(b, it->off);
        const struct sv_cfg_item one[2] = {*it, SV_CFG_END};
        char sub[300];

        if (it->flags & SV_CFG_RELOAD)
            continue;
        snprintf(sub, sizeof(sub), "%.255s%s%.40s", prefix, *prefix ? "." : "", it->name);
        if (it->type == SV_CFGT_STRUCT) {
            if (fixed_diff(it->sub, fa, fb, sub, path, sz))
                return true;
        } else if (it->type == SV_CFGT_LIST) {
            size_t na = *(const size_t *)cfield(a, it->count_off);
            size_t nb = *(const size_t *)cfield(b, it->count_off);
            const char *xa = *(char *const *)fa, *xb = *(char *const *)fb;
            if (na != nb) {
                snprintf(path, sz, "%s", sub);
                return true;
            }
            for (size_t i = 0; i < na; i++) {
                char el[300];
                snprintf(el, sizeof(el), "%.255s[%zu]", sub, i);
                if (fixed_diff(it->sub, xa + i * it->elem_size, xb + i * it->elem_size, el, path,
                               sz))
                    return true;
            }
        } else if (!sv_cfg_equal(one, a, b)) {
            snprintf(path, sz, "%s", sub);
            return true;
        }
    }
    return false;
}

/**
 * Whether @p b changes a key of @p a that has no SV_CFG_RELOAD flag (a list without the flag
 * must keep its length; its elements are compared key by key).
 * @param path  out: the first such key, e.g. "nodes[0].listeners[1].address"
 * @return true when a restart is needed for @p b
 */
bool sv_cfg_fixed_diff(const struct sv_cfg_item *t, const void *a, const void *b, char *path,
                       size_t sz)
{
    if (sz)
        *path = '\0';
    return fixed_diff(t, a, b, "", path, sz);
}

/* ---------------------------------------------------------------------------------------- */
/* Printing                                                                                   */

/* A YAML double-quoted string: always quoted, so "[::1]:5060", "yes" and "" stay strings. */
static void print_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void print_scalar(FILE *f, const struct sv_cfg_item *it, const void *base)
{
    const void *v = cfield(base, it->off);
    char b[16];

    switch (it->type) {
    case SV_CFGT_BOOL:
        fputs(*(const bool *)v ? "true" : "false", f);
        break;
    case SV_CFGT_UINT:
        fprintf(f, "%u", *(const uint32_t *)v);
        break;
    case SV_CFGT_DURATION:
        fputs(sv_cfg_duration_str(*(const uint32_t *)v, b, sizeof(b)), f);
        break;
    case SV_CFGT_ENUM:
        fputs(it->names[*(const unsigned *)v], f);
        break;
    case SV_CFGT_STRING:
    case SV_CFGT_ADDRESS:
        print_quoted(f, *(char *const *)v);
        break;
    default:
        break;
    }
}

/*
 * Print the items of @p t at @p indent. With @p dash the first key follows a "- " two
 * columns to the left: the element of a list.
 */
static void print_items(FILE *f, const struct sv_cfg_item *t, const void *base, int indent,
                        bool dash)
{
    for (const struct sv_cfg_item *it = t; it->name; it++) {
        if (dash && it == t)
            fprintf(f, "%*s- %s:", indent - 2, "", it->name);
        else
            fprintf(f, "%*s%s:", indent, "", it->name);
        switch (it->type) {
        case SV_CFGT_STRUCT:
            fputc('\n', f);
            print_items(f, it->sub, cfield(base, it->off), indent + 2, false);
            break;
        case SV_CFGT_LIST: {
            size_t n = *(const size_t *)cfield(base, it->count_off);
            const char *arr = *(char *const *)cfield(base, it->off);
            fputs(n ? "\n" : " []\n", f);
            for (size_t i = 0; i < n; i++)
                print_items(f, it->sub, arr + i * it->elem_size, indent + 4, true);
            break;
        }
        default:
            fputc(' ', f);
            print_scalar(f, it, base);
            fputc('\n', f);
        }
    }
}

/**
 * Print every value of a loaded config, defaults included, as YAML that loads back to the
 * same values (strings always double-quoted, durations in their largest exact unit).
 * @param t   the table
 * @param obj the config
 * @param f   where to
 * @return 0 or EIO
 */
int sv_cfg_print(const struct sv_cfg_item *t, const void *obj, FILE *f)
{
    print_items(f, t, obj, 0, false);
    return ferror(f) ? EIO : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The reference                                                                              */

/* Text for a Markdown table cell: '|' escaped, newlines as spaces. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static const char *type_name(const struct sv_cfg_item *it)
{
    static const char *const names[] = {
        [SV_CFGT_BOOL] = "bool",         [SV_CFGT_UINT] = "uint",
        [SV_CFGT_DURATION] = "duration", [SV_CFGT_STRING] = "string",
        [SV_CFGT_ENUM] = "enum",         [SV_CFGT_ADDRESS] = "address",
        [SV_CFGT_STRUCT] = "mapping",    [SV_CFGT_LIST] = "list of mappings",
    };
    return names[it->type];
}

static void md_rows(FILE *f, const struct sv_cfg_item *t, const char *prefix)
{
    for (const struct sv_cfg_item *it = t; it->name; it++) {
        char path[PATH_MAX_LEN], b[64], d[32];
        snprintf(path, sizeof(path), "%s%s", prefix, it->name);

        fprintf(f, "| `%s` | %s | ", path, type_name(it));
        /* default */
        if (it->type == SV_CFGT_STRUCT) {
            /* a mapping has no value of its own */
        } else if (it->type == SV_CFGT_LIST)
            fputs(it->min ? "*required*" : "`[]`", f);
        else if (!it->def)
            fputs("*required*", f);
        else if (it->type == SV_CFGT_STRING || it->type == SV_CFGT_ADDRESS)
            fprintf(f, "`\"%s\"`", it->def);
        else if (it->type == SV_CFGT_DURATION) {
            uint32_t ms = 0;
            sv_cfg_duration_parse(it->def, &ms);
            fprintf(f, "`%s`", sv_cfg_duration_str(ms, d, sizeof(d)));
        } else
            fprintf(f, "`%s`", it->def);
        fputs(" | ", f);
        /* bounds */
        if (it->type == SV_CFGT_ENUM) {
            for (size_t i = 0; it->names[i]; i++)
                fprintf(f, "%s`%s`", i ? ", " : "", it->names[i]);
        } else if (it->type == SV_CFGT_ADDRESS) {
            fputs("`host:port`, `[v6]:port`", f);
        } else {
            bounds_str(it, b, sizeof(b));
            md_cell(f, b);
        }
        fprintf(f, " | %s | ", it->flags & SV_CFG_RELOAD ? "yes" : "no");
        md_cell(f, it->doc ? it->doc : "");
        fputs(" |\n", f);

        if (it->type == SV_CFGT_STRUCT || it->type == SV_CFGT_LIST) {
            char sub[PATH_MAX_LEN + 4];
            snprintf(sub, sizeof(sub), "%s%s", path, it->type == SV_CFGT_LIST ? "[]." : ".");
            md_rows(f, it->sub, sub);
        }
    }
}

/**
 * Write the Markdown reference of @p t: one table row per key (nested keys as "a.b", list
 * elements as "a[].b") with its type, default, bounds, whether a reload may change it, and
 * its description.
 * @param t the table
 * @param f where to
 * @return 0 or EIO
 */
int sv_cfg_markdown(const struct sv_cfg_item *t, FILE *f)
{
    fputs("| key | type | default | bounds | reload | description |\n", f);
    fputs("|---|---|---|---|---|---|\n", f);
    md_rows(f, t, "");
    return ferror(f) ? EIO : 0;
}
