/**
 * @file state.c  The state one IMS node's workers share: the S-CSCF's location service
 * (registered sets and their contacts, persisted through the store), the authentication
 * slots (failed answers, pending AKA vectors), and the P-CSCF's registrations learnt from
 * 200 OK responses. See ims_int.h for the locking rule.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <openssl/crypto.h>

#include "ims_int.h"

/* FNV-1a, 32 bits: these tables are keyed by what the network sent (URIs, addresses), and
 * a chain per bucket absorbs an unlucky spread; the lock is per node, not per bucket. */
uint32_t ims__hash(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 16777619u;
    return h;
}

char *ims__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sv_malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

int64_t ims__now_s(void)
{
    return (int64_t)time(NULL);
}

static uint32_t id_bucket(int64_t id)
{
    return ims__hash(&id, sizeof(id)) & ((1u << IMS_HASH_BITS) - 1);
}

static uint32_t str_bucket(const char *s)
{
    return ims__hash(s, strlen(s)) & ((1u << IMS_HASH_BITS) - 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Location service                                                                           */

struct loc_irs *ims__irs_find(struct ims_state *s, int64_t id)
{
    for (struct loc_irs *r = s->irs[id_bucket(id)]; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

struct loc_irs *ims__irs_by_impu(struct ims_state *s, const char *canon)
{
    for (struct loc_impu *e = s->impus[str_bucket(canon)]; e; e = e->next)
        if (strcmp(e->uri, canon) == 0)
            return e->irs;
    return NULL;
}

static void impu_unlink(struct ims_state *s, const struct loc_irs *irs)
{
    for (size_t i = 0; i < irs->nids; i++) {
        struct loc_impu **pp = &s->impus[str_bucket(irs->ids[i].uri)];
        while (*pp) {
            if ((*pp)->irs == irs) {
                struct loc_impu *dead = *pp;
                *pp = dead->next;
                sv_free(dead);
                break;
            }
            pp = &(*pp)->next;
        }
    }
}

static int impu_link(struct ims_state *s, struct loc_irs *irs)
{
    for (size_t i = 0; i < irs->nids; i++) {
        size_t n = strlen(irs->ids[i].uri);
        struct loc_impu *e = sv_malloc(sizeof(*e) + n + 1);
        if (!e)
            return ENOMEM;
        memcpy(e->uri, irs->ids[i].uri, n + 1);
        e->irs = irs;
        uint32_t b = str_bucket(e->uri);
        e->next = s->impus[b];
        s->impus[b] = e;
    }
    return 0;
}

/* One allocation: the struct, the identity array, the iFC array, then the texts. */
static struct loc_irs *irs_make(const struct store_profile *prof)
{
    size_t text = 0, n = prof->irs.nimpus;
    struct loc_irs *r;
    char *t;

    for (size_t i = 0; i < n; i++)
        text += strlen(prof->irs.impus[i].uri) + strlen(prof->irs.impus[i].display) + 2;
    r = sv_calloc(1, sizeof(*r) + n * sizeof(r->ids[0]) + prof->nifc * sizeof(r->ifc[0]) + text);
    if (!r)
        return NULL;
    r->id = prof->irs.id;
    r->sub_id = prof->sub_id;
    r->identity_blocking = prof->identity_blocking;
    r->user_by_policy = prof->user_by_policy;
    r->nids = n;
    r->ids = (struct loc_id *)(r + 1);
    r->nifc = prof->nifc;
    r->ifc = (struct store_ifc *)(r->ids + n);
    memcpy(r->ifc, prof->ifc, prof->nifc * sizeof(r->ifc[0]));
    t = (char *)(r->ifc + prof->nifc);
    for (size_t i = 0; i < n; i++) {
        const struct store_impu *u = &prof->irs.impus[i];
        size_t ul = strlen(u->uri) + 1, dl = strlen(u->display) + 1;
        memcpy(t, u->uri, ul);
        r->ids[i].uri = t;
        t += ul;
        memcpy(t, u->display, dl);
        r->ids[i].display = t;
        t += dl;
        r->ids[i].barred = u->barred;
        r->ids[i].pseudonym = u->pseudonym;
    }
    return r;
}

static void binding_free(struct loc_binding *b)
{
    sv_free(b->contact);
    sv_free(b->path);
    sv_free(b->callid);
    sv_free(b);
}

struct loc_irs *ims__irs_upsert(struct ims_state *s, const struct store_profile *prof)
{
    struct loc_irs *old = ims__irs_find(s, prof->irs.id), *r = irs_make(prof);
    uint32_t b = id_bucket(prof->irs.id);

    if (!r)
        return NULL;
    if (old) { /* a fresh profile: the contacts move over */
        r->b = old->b;
        r->nb = old->nb;
        old->b = NULL;
        impu_unlink(s, old);
        for (struct loc_irs **pp = &s->irs[b]; *pp; pp = &(*pp)->next)
            if (*pp == old) {
                *pp = old->next;
                break;
            }
        sv_free(old);
        s->nirs--;
    }
    if (impu_link(s, r)) {
        impu_unlink(s, r);
        while (r->b) {
            struct loc_binding *x = r->b;
            r->b = x->next;
            binding_free(x);
            s->nbindings--;
        }
        sv_free(r);
        return NULL;
    }
    r->next = s->irs[b];
    s->irs[b] = r;
    s->nirs++;
    return r;
}

void ims__irs_drop_if_empty(struct ims_state *s, struct loc_irs *irs)
{
    if (irs->b)
        return;
    impu_unlink(s, irs);
    for (struct loc_irs **pp = &s->irs[id_bucket(irs->id)]; *pp; pp = &(*pp)->next)
        if (*pp == irs) {
            *pp = irs->next;
            break;
        }
    sv_free(irs);
    s->nirs--;
}

int ims__binding_set(struct ims_state *s, struct loc_irs *irs, const char *contact,
                     const char *path, const char *callid, uint32_t cseq, int64_t expires_at)
{
    struct loc_binding *b;
    char *c = ims__strdup(contact), *p = ims__strdup(path ? path : ""), *ci = ims__strdup(callid ? callid : "");

    if (!c || !p || !ci) {
        sv_free(c);
        sv_free(p);
        sv_free(ci);
        return ENOMEM;
    }
    for (b = irs->b; b; b = b->next)
        if (strcmp(b->contact, contact) == 0)
            break;
    if (!b) {
        if (!(b = sv_calloc(1, sizeof(*b)))) {
            sv_free(c);
            sv_free(p);
            sv_free(ci);
            return ENOMEM;
        }
        b->next = irs->b;
        irs->b = b;
        irs->nb++;
        s->nbindings++;
    } else {
        sv_free(b->contact);
        sv_free(b->path);
        sv_free(b->callid);
    }
    b->contact = c;
    b->path = p;
    b->callid = ci;
    b->cseq = cseq;
    b->expires_at = expires_at;
    return 0;
}

void ims__binding_del(struct ims_state *s, struct loc_irs *irs, const char *contact)
{
    for (struct loc_binding **pp = &irs->b; *pp;) {
        if (!contact || strcmp((*pp)->contact, contact) == 0) {
            struct loc_binding *dead = *pp;
            *pp = dead->next;
            binding_free(dead);
            irs->nb--;
            s->nbindings--;
        } else {
            pp = &(*pp)->next;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Authentication slots                                                                       */

#define SLOT_BUCKETS (sizeof(((struct ims_state *)0)->slots) / sizeof(struct auth_slot *))
#define SLOT_IDLE_S 600 /* a slot untouched this long is forgotten (failures too) */

struct auth_slot *ims__slot(struct ims_state *s, const char *impi, bool create)
{
    uint32_t b = ims__hash(impi, strlen(impi)) % SLOT_BUCKETS;
    struct auth_slot *e;

    for (e = s->slots[b]; e; e = e->next)
        if (strcmp(e->impi, impi) == 0)
            return e;
    /* bounded: unknown identities get slots too (they are challenged like known ones), and
       a flood of them must not grow the table without end (the P-CSCF's rate per address
       and the idle sweep keep it far below this) */
    if (!create || strlen(impi) >= sizeof(e->impi) || s->nslots >= IMS_MAX_SLOTS ||
        !(e = sv_calloc(1, sizeof(*e))))
        return NULL;
    s->nslots++;
    strcpy(e->impi, impi);
    e->last_s = ims__now_s();
    e->next = s->slots[b];
    s->slots[b] = e;
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* P-CSCF registrations                                                                       */

static uint32_t flow_bucket(enum net_tp tp, const struct net_addr *a)
{
    char buf[80];
    net_addr_str(a, buf, sizeof(buf));
    return (ims__hash(buf, strlen(buf)) ^ (uint32_t)tp) & ((1u << IMS_HASH_BITS) - 1);
}

struct preg *ims__preg_find(struct ims_state *s, enum net_tp tp, const struct net_addr *flow,
                            bool create)
{
    uint32_t b = flow_bucket(tp, flow);
    struct preg *r;

    for (r = s->pregs[b]; r; r = r->next)
        if (r->tp == tp && net_addr_eq(&r->flow, flow))
            return r;
    if (!create || !(r = sv_calloc(1, sizeof(*r))))
        return NULL;
    r->tp = tp;
    r->flow = *flow;
    r->next = s->pregs[b];
    s->pregs[b] = r;
    s->npregs++;
    return r;
}

/* ---- the P-CSCF's registrations survive a restart too (kv "pcscf.flow") ---- */

static void preg_key(const struct preg *r, char *key, size_t sz)
{
    char a[80];

    net_addr_str(&r->flow, a, sizeof(a));
    snprintf(key, sz, "%s|%s", net_tp_name(r->tp), a);
}

void ims__preg_save(struct ims_state *s, const struct preg *r)
{
    char key[96], *val;

    if (!s->c.store || !r->confirmed)
        return;
    preg_key(r, key, sizeof(key));
    size_t n = strlen(r->impus) + strlen(r->service_route) + strlen(r->contact) + 3;
    if (!(val = sv_malloc(n)))
        return;
    snprintf(val, n, "%s\n%s\n%s", r->impus, r->service_route, r->contact);
    if (s->c.store->api->kv_put(s->c.store, "pcscf.flow", key, r->expires_at, val, n - 1))
        sv_log(SV_LOG_WARN, MOD, "node %s: a registration could not be stored", s->c.node);
    sv_free(val);
}

static int preg_load(void *arg, const char *key, int64_t exp, const void *val, size_t len)
{
    struct ims_state *s = arg;
    const char *bar = strchr(key, '|');
    char tp[8], *txt, *nl1, *nl2;
    struct net_addr a;
    enum net_tp t;

    if (exp <= ims__now_s() || !bar || (size_t)(bar - key) >= sizeof(tp) ||
        net_addr_parse(&a, bar + 1))
        return 0;
    memcpy(tp, key, (size_t)(bar - key));
    tp[bar - key] = '\0';
    t = strcmp(tp, "TCP") == 0 ? NET_TCP : strcmp(tp, "TLS") == 0 ? NET_TLS : NET_UDP;
    if (!(txt = sv_malloc(len + 1)))
        return ENOMEM;
    memcpy(txt, val, len);
    txt[len] = '\0';
    if ((nl1 = strchr(txt, '\n')) && (nl2 = strchr(nl1 + 1, '\n'))) {
        *nl1 = *nl2 = '\0';
        struct preg *r = ims__preg_find(s, t, &a, true);
        if (r) {
            r->impus = ims__strdup(txt);
            r->service_route = ims__strdup(nl1 + 1);
            snprintf(r->contact, sizeof(r->contact), "%s", nl2 + 1);
            r->confirmed = r->impus && r->service_route;
            r->expires_at = exp;
            r->want_expires = (uint32_t)(exp - ims__now_s());
        }
    }
    sv_free(txt);
    return 0;
}

void ims__preg_del(struct ims_state *s, struct preg *r)
{
    if (s->c.store && r->confirmed) {
        char key[96];
        preg_key(r, key, sizeof(key));
        s->c.store->api->kv_del(s->c.store, "pcscf.flow", key);
    }
    for (struct preg **pp = &s->pregs[flow_bucket(r->tp, &r->flow)]; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            sv_free(r->impus);
            sv_free(r->service_route);
            sv_free(r);
            s->npregs--;
            return;
        }
}

bool ims__bucket_take(struct ims_bucket *b, double rate, uint64_t now_ms)
{
    if (rate <= 0)
        return true;
    b->tokens = b->last_ms ? b->tokens + (double)(now_ms - b->last_ms) * rate / 1000.0
                           : 2 * rate;
    if (b->tokens > 2 * rate)
        b->tokens = 2 * rate;
    b->last_ms = now_ms;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

bool ims__rate_ok(struct ims_state *s, const struct net_addr *peer, int64_t now_ms)
{
    struct net_addr ip = *peer;
    char buf[80];
    struct rate_slot *r;
    double rate = s->c.register_rate;

    if (!rate)
        return true;
    if (ip.ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ip.ss)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&ip.ss)->sin6_port = 0;
    net_addr_str(&ip, buf, sizeof(buf));
    r = &s->rate[ims__hash(buf, strlen(buf)) % IMS_RATE_SLOTS];
    if (!net_addr_eq(&r->ip, &ip)) { /* a new address in this slot starts with a full bucket */
        r->ip = ip;
        r->b.last_ms = 0;
    }
    return ims__bucket_take(&r->b, rate, (uint64_t)now_ms);
}

/* ---------------------------------------------------------------------------------------- */
/* Life cycle                                                                                 */

struct reload {
    struct ims_state *s;
    size_t loaded, expired, failed;
};

/* A binding the store kept: its set's profile comes from the store again (it may have
 * changed while we were down); an expired one is deleted. */
static int reload_one(void *arg, const struct store_binding *b)
{
    struct reload *rl = arg;
    struct ims_state *s = rl->s;
    struct loc_irs *irs = ims__irs_find(s, b->irs_id);

    if (b->expires_at <= ims__now_s()) {
        rl->expired++;
        return 0;
    }
    if (!irs) {
        struct store_profile *prof = sv_malloc(sizeof(*prof));
        if (!prof)
            return ENOMEM;
        if (s->c.store->api->profile_get(s->c.store, b->impu, prof) || prof->irs.id != b->irs_id ||
            !(irs = ims__irs_upsert(s, prof))) {
            sv_free(prof);
            rl->failed++;
            return 0;
        }
        sv_free(prof);
    }
    if (ims__binding_set(s, irs, b->contact, b->path, b->callid, b->cseq, b->expires_at))
        return ENOMEM;
    rl->loaded++;
    return 0;
}

static char *dup_or(const char *s, const char *dflt)
{
    return ims__strdup(s && *s ? s : dflt ? dflt : "");
}

int ims_state_alloc(struct ims_state **sp, const struct ims_conf *c)
{
    struct ims_state *s;
    int err = ENOMEM;

    if (!sp || !c || !c->domain || !*c->domain || !c->uri || !*c->uri)
        return EINVAL;
    if ((c->role == IMS_ROLE_SCSCF || c->role == IMS_ROLE_ICSCF || c->role == IMS_ROLE_AS ||
         c->role == IMS_ROLE_PS) &&
        !c->store)
        return EINVAL;
    if (!(s = sv_calloc(1, sizeof(*s))))
        return ENOMEM;
    s->c = *c;
    s->domain = dup_or(c->domain, NULL);
    s->uri = dup_or(c->uri, NULL);
    s->realm = dup_or(c->realm, c->domain);
    s->default_scscf = dup_or(c->default_scscf, "");
    s->visited = dup_or(c->visited_network, c->domain);
    if (!s->domain || !s->uri || !s->realm || !s->default_scscf || !s->visited)
        goto fail;
    if ((err = ims__ps_sources_init(s)))
        goto fail;
    err = ENOMEM;
    s->c.domain = s->domain;
    s->c.uri = s->uri;
    s->c.realm = s->realm;
    s->c.default_scscf = s->default_scscf;
    s->c.visited_network = s->visited;
    if (!s->c.nonce_lifetime_s)
        s->c.nonce_lifetime_s = 300;
    if (!s->c.auth_retries)
        s->c.auth_retries = 3;
    if (!s->c.min_expires)
        s->c.min_expires = 60;
    if (!s->c.max_expires)
        s->c.max_expires = 7200;
    if (!s->c.default_expires)
        s->c.default_expires = 3600;
    if (!s->c.digest_algs)
        s->c.digest_algs = 1u << AUTH_DIGEST_MD5 | 1u << AUTH_DIGEST_SHA256;
    pthread_mutex_init(&s->mu, NULL);
    if (c->role == IMS_ROLE_SCSCF || c->role == IMS_ROLE_PS) /* the PS: watcher passwords */
        if ((err = auth_nonce_key_init(&s->nk, s->c.nonce_lifetime_s)) ||
            (err = auth_replay_alloc(&s->replay, 65536)))
            goto fail;
    if (c->role == IMS_ROLE_SCSCF) {
        struct reload rl = {.s = s};
        err = c->store->api->binding_each(c->store, reload_one, &rl);
        if (err)
            goto fail;
        sv_log(SV_LOG_INFO, MOD,
               "node %s: %zu registered contacts reloaded (%zu expired while down, %zu of "
               "identities no longer provisioned)",
               c->node, rl.loaded, rl.expired, rl.failed);
    }
    if (c->role == IMS_ROLE_PS && (err = ims__ps_load(s)))
        goto fail;
    if (c->role == IMS_ROLE_PCSCF && c->store) {
        if ((err = c->store->api->kv_each(c->store, "pcscf.flow", preg_load, s)))
            goto fail;
        sv_log(SV_LOG_INFO, MOD, "node %s: %zu registered UE flows reloaded", c->node, s->npregs);
    }
    *sp = s;
    return 0;
fail:
    ims_state_free(s);
    return err;
}

void ims_state_free(struct ims_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < (1u << IMS_HASH_BITS); i++) {
        while (s->irs[i]) {
            struct loc_irs *r = s->irs[i];
            ims__binding_del(s, r, NULL);
            s->irs[i] = r->next;
            impu_unlink(s, r);
            sv_free(r);
        }
        while (s->pregs[i]) {
            struct preg *r = s->pregs[i];
            s->pregs[i] = r->next;
            sv_free(r->impus);
            sv_free(r->service_route);
            sv_free(r);
        }
        while (s->memo[i]) {
            struct scscf_memo *m = s->memo[i];
            s->memo[i] = m->next;
            sv_free(m->scscf);
            sv_free(m);
            s->nmemo--;
        }
    }
    for (size_t i = 0; i < SLOT_BUCKETS; i++)
        while (s->slots[i]) {
            struct auth_slot *e = s->slots[i];
            s->slots[i] = e->next;
            OPENSSL_cleanse(e, sizeof(*e));
            sv_free(e);
        }
    if (s->replay)
        sv_deref(s->replay);
    ims__ps_free(s);
    ims__ps_sources_free(s);
    sv_free(s->domain);
    sv_free(s->uri);
    sv_free(s->realm);
    sv_free(s->default_scscf);
    sv_free(s->visited);
    pthread_mutex_destroy(&s->mu);
    sv_free(s);
}

/* The S-CSCF's expired bindings, and the sets they leave empty. Callers hold s->mu. */
static void sweep_bindings(struct ims_state *s, int64_t now)
{
    for (size_t i = 0; i < (1u << IMS_HASH_BITS); i++) {
        for (struct loc_irs *r = s->irs[i], *next; r; r = next) {
            next = r->next;
            for (struct loc_binding **pp = &r->b; *pp;) {
                if ((*pp)->expires_at <= now) {
                    struct loc_binding *dead = *pp;
                    if (s->c.store)
                        s->c.store->api->binding_del(s->c.store, r->id, dead->contact);
                    *pp = dead->next;
                    binding_free(dead);
                    r->nb--;
                    s->nbindings--;
                } else {
                    pp = &(*pp)->next;
                }
            }
            ims__irs_drop_if_empty(s, r);
        }
    }
}

/* The P-CSCF's expired UE registrations. Callers hold s->mu. */
static void sweep_pregs(struct ims_state *s, int64_t now)
{
    for (size_t i = 0; i < (1u << IMS_HASH_BITS); i++)
        for (struct preg *r = s->pregs[i], *next; r; r = next) {
            next = r->next;
            if (r->expires_at <= now)
                ims__preg_del(s, r);
        }
}

/* The I-CSCF's expired S-CSCF assignments. Callers hold s->mu. */
static void sweep_memo(struct ims_state *s, int64_t now)
{
    for (size_t i = 0; i < (1u << IMS_HASH_BITS); i++)
        for (struct scscf_memo **pp = &s->memo[i]; *pp;) {
            if ((*pp)->until <= now) {
                struct scscf_memo *dead = *pp;
                *pp = dead->next;
                sv_free(dead->scscf);
                sv_free(dead);
                s->nmemo--;
            } else {
                pp = &(*pp)->next;
            }
        }
}

/* The challenge slots idle for SLOT_IDLE_S. Callers hold s->mu. */
static void sweep_slots(struct ims_state *s, int64_t now)
{
    for (size_t i = 0; i < SLOT_BUCKETS; i++)
        for (struct auth_slot **pp = &s->slots[i]; *pp;) {
            if ((*pp)->last_s + SLOT_IDLE_S <= now) {
                struct auth_slot *dead = *pp;
                *pp = dead->next;
                OPENSSL_cleanse(dead, sizeof(*dead));
                sv_free(dead);
                s->nslots--;
            } else {
                pp = &(*pp)->next;
            }
        }
}

/*
 * Once a second, from the process thread. Each table is walked only when it holds something:
 * a node uses one or two of them (the S-CSCF bindings, the P-CSCF UE registrations, the
 * I-CSCF S-CSCF assignments), and walking the 65,536 empty buckets of the others, for every
 * node, was most of the sweep (0.6% of bench/register's CPU, with s->mu held throughout).
 */
void ims_state_sweep(struct ims_state *s, uint64_t now_ms)
{
    /* bindings carry wall-clock times (they are persisted): the monotonic @p now_ms only
       paces the calls */
    int64_t now = ims__now_s();

    (void)now_ms;
    pthread_mutex_lock(&s->mu);
    if (s->nirs)
        sweep_bindings(s, now);
    if (s->npregs)
        sweep_pregs(s, now);
    if (s->nmemo)
        sweep_memo(s, now);
    ims__ps_sweep(s, now);
    if (s->nslots)
        sweep_slots(s, now);
    pthread_mutex_unlock(&s->mu);
}

void ims_state_stats(struct ims_state *s, struct ims_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->bindings = s->nbindings;
    pthread_mutex_unlock(&s->mu);
}
