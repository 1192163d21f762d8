/**
 * @file table.c  Header-name and method lookup.
 *
 * Header names map to ids through sip_hdr.def. The index is a small open-addressing hash of
 * the lower-cased name, built once (pthread_once) from the table; compact forms are a direct
 * 26-entry array. A lookup hashes the name once and usually compares one candidate.
 */
#include <pthread.h>
#include "sip_int.h"

struct hdr_def {
    const char *name;
    char compact;
    unsigned flags;
};

static const struct hdr_def hdr_defs[SIP_HDR__N] = {
    [SIP_HDR_OTHER] = {NULL, 0, 0},
#define X(id, nm, cp, fl) [SIP_HDR_##id] = {nm, cp, fl},
#include <sipveil/sip_hdr.def>
#undef X
};

#define HDR_HASH_SIZE 512u /* power of two, well above 2 x SIP_HDR__N */

static uint8_t hdr_hash[HDR_HASH_SIZE];  /* id, 0 = empty */
static uint8_t hdr_compact[26];          /* id by compact letter */
static pthread_once_t hdr_once = PTHREAD_ONCE_INIT;

_Static_assert(SIP_HDR__N < 256, "header ids must fit the uint8_t index");

static inline uint32_t name_hash(const char *p, size_t l)
{
    uint32_t h = (uint32_t)l * 2654435761u;
    for (size_t i = 0; i < l; i++)
        h = (h ^ ((unsigned char)p[i] | 0x20u)) * 16777619u;
    return h;
}

static void hdr_index_build(void)
{
    for (unsigned id = 1; id < SIP_HDR__N; id++) {
        const struct hdr_def *d = &hdr_defs[id];
        uint32_t h = name_hash(d->name, strlen(d->name)) & (HDR_HASH_SIZE - 1);
        while (hdr_hash[h])
            h = (h + 1) & (HDR_HASH_SIZE - 1);
        hdr_hash[h] = (uint8_t)id;
        if (d->compact)
            hdr_compact[d->compact - 'a'] = (uint8_t)id;
    }
}

enum sip_hdr_id sip_hdr_lookup(struct sv_slice name)
{
    pthread_once(&hdr_once, hdr_index_build);
    if (name.l == 1) {
        unsigned c = (unsigned char)name.p[0] | 0x20u;
        return (c >= 'a' && c <= 'z') ? (enum sip_hdr_id)hdr_compact[c - 'a'] : SIP_HDR_OTHER;
    }
    uint32_t h = name_hash(name.p, name.l) & (HDR_HASH_SIZE - 1);
    while (hdr_hash[h]) {
        unsigned id = hdr_hash[h];
        if (sv_slice_caseeq_cstr(name, hdr_defs[id].name))
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
    [SIP_METHOD_OTHER] = NULL,         [SIP_METHOD_INVITE] = "INVITE",
    [SIP_METHOD_ACK] = "ACK",          [SIP_METHOD_BYE] = "BYE",
    [SIP_METHOD_CANCEL] = "CANCEL",    [SIP_METHOD_OPTIONS] = "OPTIONS",
    [SIP_METHOD_REGISTER] = "REGISTER", [SIP_METHOD_PRACK] = "PRACK",
    [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE", [SIP_METHOD_NOTIFY] = "NOTIFY",
    [SIP_METHOD_PUBLISH] = "PUBLISH",  [SIP_METHOD_INFO] = "INFO",
    [SIP_METHOD_REFER] = "REFER",      [SIP_METHOD_MESSAGE] = "MESSAGE",
    [SIP_METHOD_UPDATE] = "UPDATE",
};

enum sip_method sip_method_lookup(struct sv_slice name)
{
    for (unsigned m = 1; m < SIP_METHOD__N; m++) {
        const char *s = method_names[m];
        if (name.l == strlen(s) && memcmp(name.p, s, name.l) == 0)
            return (enum sip_method)m;
    }
    return SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
    return (unsigned)m < SIP_METHOD__N ? method_names[m] : NULL;
}
