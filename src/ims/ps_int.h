/**
 * @file ps_int.h  Private to the Presence Server (ps.c, ps_sub.c): a subscription, its
 * memory layout and the form the store keeps it in.
 */
#ifndef SIPVEIL_IMS_PS_INT_H
#define SIPVEIL_IMS_PS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sipveil/pres.h>
#include <sipveil/store.h>

enum ps_sub_state { PS_PENDING, PS_ACTIVE };

/* The strings of a subscription, kept in one block after its struct (sub_new): a watcher
 * costs what its strings are long, not their maximum (issue 6 §8, memory per subscription). */
enum ps_sub_str {
    PS_S_PRESENTITY, /* canonical */
    PS_S_WATCHER,    /* its asserted identity, canonical (never shown when anon) */
    PS_S_WFROM,      /* the From URI of its SUBSCRIBE, NOTIFY's To */
    PS_S_WTAG,       /* its From tag */
    PS_S_CALLID,
    PS_S_TARGET, /* its Contact: NOTIFY's Request-URI */
    PS_S_ROUTE,  /* its SUBSCRIBE's Record-Route: NOTIFY's Route */
    PS_S__N
};

/* The longest each string may be (the longer are cut, as the fixed fields of old did). */
extern const size_t ps_sub_str_max[PS_S__N];

struct ps_sub {
    struct ps_sub *next;
    struct ps_sub *hnext; /* chain of ps_state.idx, by dialog (Call-ID, our tag) */
    bool winfo;           /* presence.winfo */
    bool anon;            /* the watcher asked for anonymity (R98) */
    bool self;            /* the watcher is one of the presentity's identities */
    enum ps_sub_state state;
    struct pres_decision d; /* the rules' decision (not for self) */
    char mytag[24], id[PRES_WINFO_ID_LEN + 1];
    uint32_t cseq, winfo_version;
    int64_t expires_at;
    /* what the watcher proved when it subscribed (R102, R103), so that a rules change judges
       it again with the same proofs: the HA1 its Digest answer matched, the key its grant
       was signed with */
    char proved_ha1[PRES_HA1_HEX_LEN + 1];
    uint8_t proved_key[PRES_GRANT_KEY_LEN];
    bool has_key;
    uint64_t last_notify_ms; /* monotonic */
    bool pending;            /* a change waits for its NOTIFY (throttled) */
    bool ending;             /* being terminated: winfo shows it so, with end_ev (RFC 3857) */
    enum pres_winfo_event end_ev;
    const char *presentity, *watcher, *wfrom, *wtag, *callid, *target, *route; /* into str */
    char str[];
};

/** Version 1 of the record, the previous release's: "PSS1", then this struct as that build
    laid it out (its pointers meaningless). Read at start; written as version 2 at the
    subscription's next refresh. */
struct ps_sub_v1 {
    void *next, *hnext;
    char presentity[STORE_URI_MAX];
    bool winfo, anon, self;
    enum ps_sub_state state;
    struct pres_decision d;
    char watcher[STORE_URI_MAX], wfrom[STORE_URI_MAX];
    char wtag[64], mytag[24], id[PRES_WINFO_ID_LEN + 1];
    char callid[STORE_URI_MAX], target[STORE_CONTACT_MAX], route[STORE_PATH_MAX];
    uint32_t cseq, winfo_version;
    int64_t expires_at;
    char proved_ha1[PRES_HA1_HEX_LEN + 1];
    uint8_t proved_key[PRES_GRANT_KEY_LEN];
    bool has_key;
    uint64_t last_notify_ms;
    bool pending;
};

/** A subscription whose strings are @p v (cut to their maxima), everything else zero.
    @return it (sv_free it), or NULL (ENOMEM). */
struct ps_sub *ps__sub_new(const struct sv_slice v[PS_S__N]);

/** The largest record ps__sub_encode writes. */
#define PS_SUB_REC_MAX (4 + STORE_URI_MAX * 4 + 64 + STORE_CONTACT_MAX + STORE_PATH_MAX + 256)

/** @p x as the store keeps it (version 2, text). @return 0 or ENOSPC. */
int ps__sub_encode(const struct ps_sub *x, char *buf, size_t sz, size_t *n);

/** A stored subscription (version 2, or version 1 of the previous release), its list links
    and decision zero. @return it, or NULL: malformed, another format, or ENOMEM. */
struct ps_sub *ps__sub_decode(const void *val, size_t len);

#endif
