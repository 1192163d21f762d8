/**
 * @file table.c  Header-name and method lookup.
 *
 * Header names map to ids through sip_hdr.def. The index is a small open-addressing hash of
 * the lower-cased name, built once when the library loads; compact forms are a direct
 * 26-entry array. A lookup hashes the name once and usually compares one candidate, whose
 * length and lower-case spelling are stored, so the comparison is a length test and one
 * OR per byte (names are tokens: `c | 0x20` equals a lower-case letter or '-' only for that
 * letter in either case, or for '-' itself).
 */
#include "sip_int.h"

struct hdr_def {
    const char *name;
    uint8_t len;
    char compact;
    unsigned flags;
};

static const struct hdr_def hdr_defs[SIP_HDR__N] = {
    [SIP_HDR_OTHER] = {NULL, 0, 0, 0},
#define X(id, nm, cp, fl) [SIP_HDR_##id] = {nm, sizeof(nm) - 1, cp, fl},
#include <sipveil/sip_hdr.def>
#undef X
};

#define HDR_HASH_SIZE 512u /* power of two, well above 2 x SIP_HDR__N */
#define HDR_NAME_MAX 32u

static uint8_t hdr_hash[HDR_HASH_SIZE];          /* id, 0 = empty */
static uint8_t hdr_compact[26];                  /* id by compact letter */
static char hdr_lname[SIP_HDR__N][HDR_NAME_MAX]; /* lower-case names */

_Static_assert(SIP_HDR__N < 256, "header ids must fit the uint8_t index");
#define X(id, nm, cp, fl) _Static_assert(sizeof(nm) - 1 < HDR_NAME_MAX, "name too long: " nm);
#include <sipveil/sip_hdr.def>
#undef X

/* Hash of the length and three sampled octets, lower-cased: constant time, and distinct
 * enough across the table that a lookup almost always probes one slot. */
static inline uint32_t name_hash(const char *p, size_t l)
{
    uint32_t a = (unsigned char)p[0] | 0x20u, b = (unsigned char)p[l / 2] | 0x20u;
    uint32_t c = (unsigned char)p[l - 1] | 0x20u;
    uint32_t h = ((uint32_t)l << 24) ^ (a << 16) ^ (b << 8) ^ c;
    return (h * 2654435761u) >> 20;
}

/* Runs before main (and before any thread): the index is read-only afterwards. */
__attribute__((constructor)) static void hdr_index_build(void)
{
    for (unsigned id = 1; id < SIP_HDR__N; id++) {
        const struct hdr_def *d = &hdr_defs[id];
        for (unsigned i = 0; i < d->len && i < HDR_NAME_MAX; i++)
            hdr_lname[id][i] = (char)(d->name[i] | 0x20);
        uint32_t h = name_hash(d->name, d->len) & (HDR_HASH_SIZE - 1);
        while (hdr_hash[h])
            h = (h + 1) & (HDR_HASH_SIZE - 1);
        hdr_hash[h] = (uint8_t)id;
        if (d->compact)
            hdr_compact[d->compact - 'a'] = (uint8_t)id;
    }
}

/* Compare eight octets at a time: OR-ing 0x20 into every octet lower-cases a token. */
static inline bool name_is(struct sv_slice name, unsigned id)
{
    const char *ln = hdr_lname[id];
    size_t i = 0;

    if (name.l != hdr_defs[id].len)
        return false;
    for (; i + 8 <= name.l; i += 8) {
        uint64_t w, t;
        memcpy(&w, name.p + i, 8);
        memcpy(&t, ln + i, 8);
        if ((w | 0x2020202020202020ull) != t)
            return false;
    }
    for (; i < name.l; i++) {
        if (((unsigned char)name.p[i] | 0x20u) != (unsigned char)ln[i])
            return false;
    }
    return true;
}

/**
 * Map a header name to its id.
 * @param name  the name as on the wire (a token; any case; long or compact form).
 * @return the id, or SIP_HDR_OTHER.
 */
enum sip_hdr_id sip_hdr_lookup(struct sv_slice name)
{
    if (name.l == 1) {
        unsigned c = (unsigned char)name.p[0] | 0x20u;
        return (c >= 'a' && c <= 'z') ? (enum sip_hdr_id)hdr_compact[c - 'a'] : SIP_HDR_OTHER;
    }
    if (name.l == 0 || name.l >= HDR_NAME_MAX)
        return SIP_HDR_OTHER;
    uint32_t h = name_hash(name.p, name.l) & (HDR_HASH_SIZE - 1);
    while (hdr_hash[h]) {
        unsigned id = hdr_hash[h];
        if (name_is(name, id))
            return (enum sip_hdr_id)id;
        h = (h + 1) & (HDR_HASH_SIZE - 1);
    }
    return SIP_HDR_OTHER;
}

const char *sip_hdr_name(enum sip_hdr_id id)
{
    return (unsigned)id < SIP_HDR__N ? hdr_defs[id].name : NULL;
}

char sip_hdr_compact(enum sip_hdr_id id)
{
    return (unsigned)id < SIP_HDR__N ? hdr_defs[id].compact : 0;
}

unsigned sip_hdr_flags(enum sip_hdr_id id)
{
    return (unsigned)id < SIP_HDR__N ? hdr_defs[id].flags : 0;
}

/* ---- methods ---- */

static const char *const method_names[SIP_METHOD__N] = {
    [SIP_METHOD_OTHER] = NULL,
    [SIP_METHOD_INVITE] = "INVITE",
    [SIP_METHOD_ACK] = "ACK",
    [SIP_METHOD_BYE] = "BYE",
    [SIP_METHOD_CANCEL] = "CANCEL",
    [SIP_METHOD_OPTIONS] = "OPTIONS",
    [SIP_METHOD_REGISTER] = "REGISTER",
    [SIP_METHOD_PRACK] = "PRACK",
    [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
    [SIP_METHOD_NOTIFY] = "NOTIFY",
    [SIP_METHOD_PUBLISH] = "PUBLISH",
    [SIP_METHOD_INFO] = "INFO",
    [SIP_METHOD_REFER] = "REFER",
    [SIP_METHOD_MESSAGE] = "MESSAGE",
    [SIP_METHOD_UPDATE] = "UPDATE",
};

enum sip_method sip_method_lookup(struct sv_slice name)
{
    /* Methods are case-sensitive; compare the length and first octet before the rest. */
    for (unsigned m = 1; m < SIP_METHOD__N; m++) {
        const char *s = method_names[m];
        if (name.l && s[0] == name.p[0] && strlen(s) == name.l && memcmp(name.p, s, name.l) == 0)
            return (enum sip_method)m;
    }
    return SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
    return (unsigned)m < SIP_METHOD__N ? method_names[m] : NULL;
}
