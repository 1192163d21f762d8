/**
 * @file ps_sub.c  A subscription of the Presence Server: one allocation, its strings after its
 * struct, and the record the store keeps it as.
 *
 * The record (version 2) is text: "PSS2", then every field followed by a NUL, in the order of
 * enum rec_field, numbers in decimal, the grant key in hex. No build's struct layout is part
 * of it. Version 1, the previous release's, was the struct itself; it is still read, so that
 * an upgrade keeps the subscriptions (they are written as version 2 at their next refresh).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "ims_int.h"
#include "ps_int.h"

const size_t ps_sub_str_max[PS_S__N] = {
    STORE_URI_MAX - 1, STORE_URI_MAX - 1, STORE_URI_MAX - 1, 63,
    STORE_URI_MAX - 1, STORE_CONTACT_MAX - 1, STORE_PATH_MAX - 1,
};

struct ps_sub *ps__sub_new(const struct sv_slice v[PS_S__N])
{
    size_t len[PS_S__N], total = 0;

    for (int i = 0; i < PS_S__N; i++) {
        len[i] = v[i].p ? (v[i].l < ps_sub_str_max[i] ? v[i].l : ps_sub_str_max[i]) : 0;
        total += len[i] + 1;
    }
    struct ps_sub *x = sv_calloc(1, sizeof(*x) + total);
    if (!x)
        return NULL;
    const char **dst[PS_S__N] = {&x->presentity, &x->watcher, &x->wfrom, &x->wtag,
                                 &x->callid,     &x->target,  &x->route};
    char *p = x->str;
    for (int i = 0; i < PS_S__N; i++) {
        if (len[i])
            memcpy(p, v[i].p, len[i]);
        p[len[i]] = '\0';
        *dst[i] = p;
        p += len[i] + 1;
    }
    return x;
}

#define SUB_MAGIC "PSS2"
enum rec_field {
    R_PRESENTITY, R_WATCHER, R_WFROM, R_WTAG, R_CALLID, R_TARGET, R_ROUTE, /* enum ps_sub_str */
    R_MYTAG, R_ID, R_HA1, R_KEY, /* R_KEY: hex, "" without */
    R_FLAGS,                     /* "w" winfo, "a" anon, "s" self, "p" pending state */
    R_CSEQ, R_WINFO_VERSION, R_EXPIRES,
    R__N
};
_Static_assert(R_PRESENTITY == (int)PS_S_PRESENTITY && R_ROUTE == (int)PS_S_ROUTE,
               "a record's first fields are the subscription's strings, in their order");

int ps__sub_encode(const struct ps_sub *x, char *buf, size_t sz, size_t *n)
{
    char hex[2 * PRES_GRANT_KEY_LEN + 1] = "";
    int w;

    if (x->has_key)
        for (size_t i = 0; i < PRES_GRANT_KEY_LEN; i++)
            snprintf(hex + 2 * i, 3, "%02x", x->proved_key[i]);
    w = snprintf(buf, sz,
                 "%s%s%c%s%c%s%c%s%c%s%c%s%c%s%c%s%c%s%c%s%c%s%c%s%s%s%s%c%" PRIu32 "%c%" PRIu32
                 "%c%" PRId64 "%c",
                 SUB_MAGIC, x->presentity, 0, x->watcher, 0, x->wfrom, 0, x->wtag, 0, x->callid,
                 0, x->target, 0, x->route, 0, x->mytag, 0, x->id, 0, x->proved_ha1, 0, hex, 0,
                 x->winfo ? "w" : "", x->anon ? "a" : "", x->self ? "s" : "",
                 x->state == PS_PENDING ? "p" : "", 0, x->cseq, 0, x->winfo_version, 0,
                 x->expires_at, 0);
    if (w < 0 || (size_t)w >= sz)
        return ENOSPC;
    *n = (size_t)w;
    return 0;
}

static struct ps_sub *decode_v1(const void *val, size_t len)
{
    struct ps_sub_v1 v;

    if (len != 4 + sizeof(v) || memcmp(val, "PSS1", 4) != 0)
        return NULL;
    memcpy(&v, (const uint8_t *)val + 4, sizeof(v));
    const char *f[PS_S__N] = {v.presentity, v.watcher, v.wfrom, v.wtag,
                              v.callid,     v.target,  v.route};
    struct sv_slice strs[PS_S__N];
    for (int i = 0; i < PS_S__N; i++)
        strs[i] = sv_slice_make(f[i], strnlen(f[i], ps_sub_str_max[i]));
    struct ps_sub *x = ps__sub_new(strs);
    if (!x)
        return NULL;
    x->winfo = v.winfo;
    x->anon = v.anon;
    x->self = v.self;
    x->state = v.state == PS_PENDING ? PS_PENDING : PS_ACTIVE;
    memcpy(x->mytag, v.mytag, sizeof(x->mytag));
    memcpy(x->id, v.id, sizeof(x->id));
    memcpy(x->proved_ha1, v.proved_ha1, sizeof(x->proved_ha1));
    memcpy(x->proved_key, v.proved_key, sizeof(x->proved_key));
    x->mytag[sizeof(x->mytag) - 1] = x->id[sizeof(x->id) - 1] = '\0';
    x->proved_ha1[sizeof(x->proved_ha1) - 1] = '\0';
    x->has_key = v.has_key;
    x->cseq = v.cseq;
    x->winfo_version = v.winfo_version;
    x->expires_at = v.expires_at;
    return x;
}

static bool field_u64(struct sv_slice f, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!f.l || f.l > 19)
        return false;
    for (size_t i = 0; i < f.l; i++) {
        if (f.p[i] < '0' || f.p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(f.p[i] - '0');
    }
    *out = v;
    return v <= max;
}

/* A version 2 record (ps__sub_encode). @return the subscription, or NULL: malformed (or
 * ENOMEM). */
static struct ps_sub *decode_v2(const void *val, size_t len)
{
    const char *p = val, *end = p + len;
    struct sv_slice f[R__N];
    uint64_t cseq, ver, exp;

    if (len < 4 || memcmp(p, SUB_MAGIC, 4) != 0)
        return NULL;
    p += 4;
    for (int i = 0; i < R__N; i++) { /* every field ends with a NUL; nothing follows the last */
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul)
            return NULL;
        f[i] = sv_slice_make(p, (size_t)(nul - p));
        p = nul + 1;
    }
    if (p != end || !field_u64(f[R_CSEQ], UINT32_MAX, &cseq) ||
        !field_u64(f[R_WINFO_VERSION], UINT32_MAX, &ver) ||
        !field_u64(f[R_EXPIRES], INT64_MAX, &exp) ||
        (f[R_KEY].l && f[R_KEY].l != 2 * PRES_GRANT_KEY_LEN))
        return NULL;
    for (int i = 0; i < PS_S__N; i++)
        if (f[i].l > ps_sub_str_max[i])
            return NULL;
    struct ps_sub *x = ps__sub_new(f); /* R_PRESENTITY..R_ROUTE are enum ps_sub_str's order */
    if (!x)
        return NULL;
    for (size_t i = 0; f[R_KEY].l && i < PRES_GRANT_KEY_LEN; i++) {
        unsigned b;
        if (sscanf(f[R_KEY].p + 2 * i, "%2x", &b) != 1) {
            sv_free(x);
            return NULL;
        }
        x->proved_key[i] = (uint8_t)b;
    }
    x->has_key = f[R_KEY].l != 0;
    struct sv_slice fl = f[R_FLAGS];
    x->winfo = memchr(fl.p, 'w', fl.l) != NULL;
    x->anon = memchr(fl.p, 'a', fl.l) != NULL;
    x->self = memchr(fl.p, 's', fl.l) != NULL;
    x->state = memchr(fl.p, 'p', fl.l) ? PS_PENDING : PS_ACTIVE;
    x->cseq = (uint32_t)cseq;
    x->winfo_version = (uint32_t)ver;
    x->expires_at = (int64_t)exp;
    if (!sv_slice_copy_fit(x->mytag, sizeof(x->mytag), f[R_MYTAG]) ||
        !sv_slice_copy_fit(x->id, sizeof(x->id), f[R_ID]) ||
        !sv_slice_copy_fit(x->proved_ha1, sizeof(x->proved_ha1), f[R_HA1])) {
        sv_free(x);
        return NULL;
    }
    return x;
}

struct ps_sub *ps__sub_decode(const void *val, size_t len)
{
    return len >= 4 && memcmp(val, "PSS1", 4) == 0 ? decode_v1(val, len) : decode_v2(val, len);
}
