/**
 * @file test_store.c  The SQLite store: subscriptions, profiles (R82), credentials (R80: no
 * clear password anywhere), AKA SQN, bindings, the file's mode and its schema version. Each
 * case runs on a fresh database in a temp directory under /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include <sipveil/auth.h>

#include "svtest_store.h"

static const char *const alice_uris[] = {"sip:alice@ims.example", "tel:+15551000001"};
static const char *const bob_uris[] = {"sip:bob@ims.example", "tel:+15551000002"};
static const char *const fox_uris[] = {"sip:blue-fox@ims.example"};

static void alice(struct store_sub *s)
{
    sub_make(s, "alice@ims.example", "alice-pw", alice_uris, 2);
    snprintf(s->sets[0].impus[0].display, STORE_NAME_MAX, "Alice Liddell");
    s->nifc = 2;
    s->ifc[0] = (struct store_ifc){.priority = 2,
                                   .method = "SUBSCRIBE",
                                   .event = "presence",
                                   .scase = STORE_CASE_TERM,
                                   .as = "sip:127.0.0.1:5065"};
    s->ifc[1] = (struct store_ifc){
        .priority = 1, .method = "MESSAGE", .scase = STORE_CASE_ORIG, .as = "sip:127.0.0.1:7060"};
}

static void bob(struct store_sub *s)
{
    sub_make(s, "bob@ims.example", "bob-pw", bob_uris, 2);
    sub_add_set(s, fox_uris, 1);
    s->sets[1].impus[0].pseudonym = true;
}

/* An AKA subscriber: K, OPc and AMF of its one IMPI, SQN 0. */
static void dave(struct store_sub *d)
{
    static const char *const dave_uris[] = {"sip:dave@ims.example"};

    memset(d, 0, sizeof(*d));
    d->nimpis = 1;
    snprintf(d->impis[0].impi, STORE_ID_MAX, "dave@ims.example");
    d->impis[0].aka = true;
    memset(d->impis[0].k, 0x46, 16);
    memset(d->impis[0].opc, 0xcd, 16);
    d->impis[0].amf[0] = 0x80;
    sub_add_set(d, dave_uris, 1);
}

static struct store *st_of(void **state)
{
    return ((struct store_fixture *)*state)->st;
}

static void sub_put_get_round_trip(void **state)
{
    struct store *st = st_of(state);
    struct store_sub in, out;

    alice(&in);
    in.identity_blocking = true;
    snprintf(in.scscf, sizeof(in.scscf), "sip:127.0.0.1:6060");
    assert_int_equal(st->api->sub_put(st, &in), 0);
    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &out), 0);
    assert_true(out.id > 0);
    assert_int_equal(out.nimpis, 1);
    assert_string_equal(out.impis[0].impi, "alice@ims.example");
    assert_string_equal(out.impis[0].realm, "ims.example"); /* taken from the IMPI */
    assert_string_equal(out.impis[0].ha1_md5, in.impis[0].ha1_md5);
    assert_string_equal(out.impis[0].ha1_sha256, in.impis[0].ha1_sha256);
    assert_false(out.impis[0].aka);
    assert_int_equal(out.nsets, 1);
    assert_int_equal(out.sets[0].nimpus, 2);
    assert_true(out.sets[0].id > 0);
    assert_string_equal(out.sets[0].impus[0].uri, "sip:alice@ims.example");
    assert_string_equal(out.sets[0].impus[0].display, "Alice Liddell");
    assert_string_equal(out.sets[0].impus[1].uri, "tel:+15551000001");
    assert_true(out.identity_blocking);
    assert_false(out.user_by_policy);
    assert_string_equal(out.scscf, "sip:127.0.0.1:6060");
    assert_int_equal(out.nifc, 2);
    assert_string_equal(out.ifc[0].method, "MESSAGE"); /* by priority */
    assert_string_equal(out.ifc[1].event, "presence");
    assert_int_equal(out.ifc[1].scase, STORE_CASE_TERM);
    assert_int_equal(st->api->sub_get(st, "nobody@ims.example", &out), ENOENT);
}

/* An IMPU held by another subscription: EEXIST, and nothing of the new one is written. */
static void sub_put_eexist_writes_nothing(void **state)
{
    static const char *const thief[] = {"sip:mallory@ims.example", "tel:+15551000001"};
    struct store *st = st_of(state);
    struct store_sub a, m, out;
    struct store_profile p;

    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    sub_make(&m, "mallory@ims.example", "m-pw", thief, 2);
    assert_int_equal(st->api->sub_put(st, &m), EEXIST);
    assert_int_equal(st->api->sub_get(st, "mallory@ims.example", &out), ENOENT);
    assert_int_equal(st->api->profile_get(st, "sip:mallory@ims.example", &p), ENOENT);
    assert_int_equal(st->api->profile_get(st, "tel:+15551000001", &p), 0);
    assert_string_equal(p.impi, "alice@ims.example");
    /* The same IMPU twice in one subscription is a provisioning error. */
    sub_make(&m, "mallory@ims.example", "m-pw", thief, 1);
    sub_add_set(&m, thief, 1);
    assert_int_equal(st->api->sub_put(st, &m), EINVAL);
}

static void sub_put_replaces(void **state)
{
    static const char *const only[] = {"sip:alice2@ims.example"};
    struct store *st = st_of(state);
    struct store_sub a, out;
    struct store_profile p;

    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    sub_make(&a, "alice@ims.example", "new-pw", only, 1);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &out), 0);
    assert_int_equal(out.nsets, 1);
    assert_int_equal(out.sets[0].nimpus, 1);
    assert_string_equal(out.sets[0].impus[0].uri, "sip:alice2@ims.example");
    assert_int_equal(out.nifc, 0);
    assert_string_equal(out.impis[0].ha1_md5, a.impis[0].ha1_md5);
    assert_int_equal(st->api->profile_get(st, "tel:+15551000001", &p), ENOENT);
}

/* Lookups are cached for a moment (store_int.h, PCACHE_TTL_MS); this process's provisioning
 * is seen at once: an unknown IMPU provisioned, a barring set, a subscription deleted. */
static void profile_cache_follows_provisioning(void **state)
{
    struct store *st = st_of(state);
    struct store_sub a, b;
    struct store_profile p;

    alice(&a);
    bob(&b);
    assert_int_equal(st->api->profile_get(st, "sip:bob@ims.example", &p), ENOENT);
    assert_int_equal(st->api->sub_put(st, &b), 0);
    assert_int_equal(st->api->profile_get(st, "sip:bob@ims.example", &p), 0);
    assert_string_equal(p.impi, "bob@ims.example");
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->profile_get(st, "sip:alice@ims.example", &p), 0);
    assert_false(p.irs.impus[p.index].barred);
    a.sets[0].impus[0].barred = true;
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->profile_get(st, "sip:alice@ims.example", &p), 0);
    assert_true(p.irs.impus[p.index].barred);
    assert_int_equal(st->api->sub_del(st, "alice@ims.example"), 0);
    assert_int_equal(st->api->profile_get(st, "sip:alice@ims.example", &p), ENOENT);
    assert_int_equal(st->api->profile_get(st, "sip:bob@ims.example", &p), 0);
}

static int count_cb(void *arg, const struct store_binding *b)
{
    (void)b;
    ++*(size_t *)arg;
    return 0;
}

static struct store_binding binding(int64_t irs, const char *contact)
{
    struct store_binding b = {.irs_id = irs, .cseq = 7, .expires_at = 1800000000};
    snprintf(b.contact, sizeof(b.contact), "%s", contact);
    snprintf(b.impu, sizeof(b.impu), "sip:alice@ims.example");
    snprintf(b.path, sizeof(b.path), "<sip:term@127.0.0.1:5060;lr>");
    snprintf(b.callid, sizeof(b.callid), "c1@ue");
    snprintf(b.flow, sizeof(b.flow), "udp:127.0.0.1:5060");
    return b;
}

/* cred_get answers from what a profile read met (the S-CSCF's read right after the I-CSCF's),
 * follows provisioning, and never keeps AKA credentials: their SQN moves. */
static void cred_cache_follows_provisioning(void **state)
{
    struct store *st = st_of(state);
    struct store_sub a, d;
    struct store_profile p;
    struct store_cred c1, c2;
    int64_t id1 = 0, id2 = 0;

    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->cred_get(st, "alice@ims.example", &c1, &id1), 0);
    assert_int_equal(st->api->profile_get(st, "sip:alice@ims.example", &p), 0);
    assert_int_equal(st->api->cred_get(st, "alice@ims.example", &c2, &id2), 0);
    assert_memory_equal(&c1, &c2, sizeof(c1));
    assert_int_equal(id1, id2);
    assert_int_equal(id2, p.sub_id);
    /* a new password is seen at once, through the cache or not */
    sub_make(&a, "alice@ims.example", "alice-new-pw", alice_uris, 2);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->profile_get(st, "sip:alice@ims.example", &p), 0);
    assert_int_equal(st->api->cred_get(st, "alice@ims.example", &c2, NULL), 0);
    assert_string_not_equal(c1.ha1_md5, c2.ha1_md5);
    assert_int_equal(st->api->sub_del(st, "alice@ims.example"), 0);
    assert_int_equal(st->api->cred_get(st, "alice@ims.example", &c2, NULL), ENOENT);

    dave(&d);
    assert_int_equal(st->api->sub_put(st, &d), 0);
    assert_int_equal(st->api->profile_get(st, "sip:dave@ims.example", &p), 0);
    assert_int_equal(st->api->aka_sqn_set(st, "dave@ims.example", 42), 0);
    assert_int_equal(st->api->cred_get(st, "dave@ims.example", &c2, NULL), 0);
    assert_int_equal(c2.sqn, 42);
}

static void sub_del_cascades(void **state)
{
    struct store *st = st_of(state);
    struct store_sub a, out;
    struct store_binding b;
    struct store_cred c;
    size_t n = 0;

    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &out), 0);
    b = binding(out.sets[0].id, "sip:alice@192.0.2.1:5060");
    assert_int_equal(st->api->binding_put(st, &b), 0);
    assert_int_equal(st->api->sub_del(st, "alice@ims.example"), 0);
    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &out), ENOENT);
    assert_int_equal(st->api->cred_get(st, "alice@ims.example", &c, NULL), ENOENT);
    assert_int_equal(st->api->binding_each(st, count_cb, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(st->api->sub_del(st, "alice@ims.example"), ENOENT);
    /* Its IMPUs are free for another subscription now. */
    sub_make(&a, "alice2@ims.example", "pw", alice_uris, 2);
    assert_int_equal(st->api->sub_put(st, &a), 0);
}

/* R82: a pseudonym's profile holds its own set only, never bob's public identities. */
static void profile_pseudonym_own_set_only_r82(void **state)
{
    struct store *st = st_of(state);
    struct store_sub b;
    struct store_profile p;

    bob(&b);
    assert_int_equal(st->api->sub_put(st, &b), 0);
    assert_int_equal(st->api->profile_get(st, "sip:blue-fox@ims.example", &p), 0);
    assert_int_equal(p.irs.nimpus, 1);
    assert_string_equal(p.irs.impus[0].uri, "sip:blue-fox@ims.example");
    assert_true(p.irs.impus[0].pseudonym);
    assert_int_equal(p.index, 0);
    assert_string_equal(p.impi, "bob@ims.example");
    assert_int_equal(st->api->profile_get(st, "sip:bob@ims.example", &p), 0);
    assert_int_equal(p.irs.nimpus, 2);
    for (size_t i = 0; i < p.irs.nimpus; i++)
        assert_string_not_equal(p.irs.impus[i].uri, "sip:blue-fox@ims.example");
}

/* R82: alice's tel URI gives her set, the default IMPU first, and the tel URI's index. */
static void profile_tel_default_first_r82(void **state)
{
    struct store *st = st_of(state);
    struct store_sub a;
    struct store_profile p;

    alice(&a);
    a.identity_blocking = true;
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->profile_get(st, "tel:+15551000001", &p), 0);
    assert_int_equal(p.irs.nimpus, 2);
    assert_string_equal(p.irs.impus[0].uri, "sip:alice@ims.example");
    assert_string_equal(p.irs.impus[0].display, "Alice Liddell");
    assert_int_equal(p.index, 1);
    assert_true(p.identity_blocking);
    assert_int_equal(p.nifc, 2);
    assert_int_equal(p.ifc[0].priority, 1);
    assert_int_equal(st->api->profile_get(st, "sip:nobody@ims.example", &p), ENOENT);
}

static void cred_ha1_is_auth_digest_ha1(void **state)
{
    struct store *st = st_of(state);
    char md5[AUTH_DIGEST_HEX_MAX + 1], sha[AUTH_DIGEST_HEX_MAX + 1];
    struct store_sub a;
    struct store_cred c;
    int64_t sub_id = 0;

    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->cred_get(st, "alice@ims.example", &c, &sub_id), 0);
    assert_true(sub_id > 0);
    assert_int_equal(auth_digest_ha1(AUTH_DIGEST_MD5, SV_LIT("alice@ims.example"),
                                     SV_LIT("ims.example"), SV_LIT("alice-pw"), md5),
                     0);
    assert_int_equal(auth_digest_ha1(AUTH_DIGEST_SHA256, SV_LIT("alice@ims.example"),
                                     SV_LIT("ims.example"), SV_LIT("alice-pw"), sha),
                     0);
    assert_string_equal(c.ha1_md5, md5);
    assert_string_equal(c.ha1_sha256, sha);
    assert_false(c.aka);
    /* An explicit realm wins over the IMPI's domain. */
    memset(&c, 0, sizeof(c));
    snprintf(c.impi, sizeof(c.impi), "alice@ims.example");
    snprintf(c.realm, sizeof(c.realm), "other.example");
    assert_int_equal(store_cred_set_password(&c, "alice-pw"), 0);
    assert_string_not_equal(c.ha1_md5, md5);
    assert_int_equal(store_cred_set_password(&c, ""), EINVAL);
}

static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0, cap = 1 << 16, l = strlen(needle);
    char *buf = malloc(cap);
    bool found = false;
    assert_non_null(buf);
    if (!f) {
        free(buf);
        return false;
    }
    for (size_t r; (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            assert_non_null(p);
            buf = p;
        }
    }
    fclose(f);
    for (size_t i = 0; i + l <= n && !found; i++)
        found = memcmp(buf + i, needle, l) == 0;
    free(buf);
    return found;
}

/* R80: the password is nowhere in the file, nor in its WAL; the HA1 is (so the search works). */
static void no_clear_password_in_file_r80(void **state)
{
    struct store_fixture *f = *state;
    struct store_sub a;
    char wal[128];

    alice(&a);
    snprintf(a.impis[0].impi, STORE_ID_MAX, "alice@ims.example");
    assert_int_equal(f->st->api->sub_put(f->st, &a), 0);
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    assert_true(file_has(f->path, "alice-pw") == false);
    assert_true(file_has(wal, "alice-pw") == false);
    assert_true(file_has(f->path, a.impis[0].ha1_md5) || file_has(wal, a.impis[0].ha1_md5));
}

static void file_mode_0600(void **state)
{
    struct store_fixture *f = *state;
    struct store *st2 = NULL;
    struct store_sub a;
    struct stat sb;
    char p[128], err[256];

    alice(&a);
    assert_int_equal(f->st->api->sub_put(f->st, &a), 0);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(p, sizeof(p), "%s-wal", f->path);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);
    /* A file made by hand with wider rights is narrowed at open. */
    snprintf(p, sizeof(p), "%s/wide.db", f->dir);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(store_open_sqlite(&st2, p, err, sizeof(err)), 0);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    store_close(st2);
}

struct kv_seen {
    unsigned n, bad;
};

static int kv_count(void *arg, const char *key, int64_t exp, const void *val, size_t len)
{
    struct kv_seen *k = arg;
    char want[32];

    snprintf(want, sizeof(want), "v-%s", key);
    k->n++;
    k->bad += exp != 100 || len != strlen(want) || memcmp(val, want, len) != 0;
    return 0;
}

/* The nodes' state (the PS's subscriptions): put, replace, delete, and a walk over more than
 * one page of 256, each value read back with its key and expiry. */
static void kv_put_each_del(void **state)
{
    struct store_fixture *f = *state;
    struct kv_seen k = {0};
    char key[16], val[32];

    for (int i = 0; i < 600; i++) {
        snprintf(key, sizeof(key), "k%04d", i);
        snprintf(val, sizeof(val), "v-%s", key);
        assert_int_equal(f->st->api->kv_put(f->st, "ps.sub", key, 100, val, strlen(val)), 0);
    }
    assert_int_equal(f->st->api->kv_put(f->st, "other", "k0001", 1, "x", 1), 0);
    assert_int_equal(f->st->api->kv_put(f->st, "ps.sub", "k0000", 100, "v-k0000", 7), 0);
    assert_int_equal(f->st->api->kv_del(f->st, "ps.sub", "k0599"), 0);
    assert_int_equal(f->st->api->kv_del(f->st, "ps.sub", "nothing"), 0);
    assert_int_equal(f->st->api->kv_each(f->st, "ps.sub", kv_count, &k), 0);
    assert_int_equal(k.n, 599);
    assert_int_equal(k.bad, 0);
    assert_int_equal(f->st->api->kv_put(f->st, "ps.sub", "big", 1, "x", STORE_KV_MAX + 1),
                     EFBIG);
}

static void aka_sqn_set_get(void **state)
{
    struct store *st = st_of(state);
    struct store_sub d;
    struct store_cred c;

    dave(&d);
    assert_int_equal(st->api->sub_put(st, &d), 0);
    assert_int_equal(st->api->cred_get(st, "dave@ims.example", &c, NULL), 0);
    assert_true(c.aka);
    assert_memory_equal(c.k, d.impis[0].k, 16);
    assert_memory_equal(c.opc, d.impis[0].opc, 16);
    assert_int_equal(c.amf[0], 0x80);
    assert_int_equal(c.sqn, 0);
    assert_string_equal(c.ha1_md5, "");
    assert_int_equal(st->api->aka_sqn_set(st, "dave@ims.example", 0xffffffffffffu), 0);
    assert_int_equal(st->api->cred_get(st, "dave@ims.example", &c, NULL), 0);
    assert_int_equal(c.sqn, 0xffffffffffffu);
    assert_int_equal(st->api->aka_sqn_set(st, "dave@ims.example", UINT64_C(1) << 48), EINVAL);
    assert_int_equal(st->api->aka_sqn_set(st, "nobody@ims.example", 1), ENOENT);
    /* A digest IMPI is not an AKA IMPI. */
    alice(&d);
    assert_int_equal(st->api->sub_put(st, &d), 0);
    assert_int_equal(st->api->aka_sqn_set(st, "alice@ims.example", 1), ENOENT);
}

struct collect {
    struct store_binding b[4];
    size_t n;
};

static int collect_cb(void *arg, const struct store_binding *b)
{
    struct collect *c = arg;
    if (c->n == 4)
        return E2BIG;
    c->b[c->n++] = *b;
    return 0;
}

static void bindings_put_replace_del_each(void **state)
{
    struct store *st = st_of(state);
    struct store_sub a, out;
    struct store_binding b;
    struct collect c = {.n = 0};
    int64_t irs;

    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &out), 0);
    irs = out.sets[0].id;
    b = binding(irs, "sip:alice@192.0.2.1:5060");
    assert_int_equal(st->api->binding_put(st, &b), 0);
    b.cseq = 8;
    b.expires_at = 1800003600;
    assert_int_equal(st->api->binding_put(st, &b), 0); /* a refresh replaces */
    b = binding(irs, "sip:alice@192.0.2.2:5060");
    assert_int_equal(st->api->binding_put(st, &b), 0);
    assert_int_equal(st->api->binding_each(st, collect_cb, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.b[0].contact, "sip:alice@192.0.2.1:5060");
    assert_int_equal(c.b[0].cseq, 8);
    assert_int_equal(c.b[0].expires_at, 1800003600);
    assert_string_equal(c.b[0].path, "<sip:term@127.0.0.1:5060;lr>");
    assert_string_equal(c.b[0].flow, "udp:127.0.0.1:5060");
    assert_string_equal(c.b[0].callid, "c1@ue");
    assert_int_equal(c.b[0].irs_id, irs);

    assert_int_equal(st->api->binding_del(st, irs, "sip:alice@192.0.2.1:5060"), 0);
    c.n = 0;
    assert_int_equal(st->api->binding_each(st, collect_cb, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.b[0].contact, "sip:alice@192.0.2.2:5060");
    assert_int_equal(st->api->binding_del(st, irs, NULL), 0);
    c.n = 0;
    assert_int_equal(st->api->binding_each(st, collect_cb, &c), 0);
    assert_int_equal(c.n, 0);
    /* A set that does not exist: ENOENT. A callback's nonzero return stops the walk. */
    b = binding(irs + 1000, "sip:x@192.0.2.3");
    assert_int_equal(st->api->binding_put(st, &b), ENOENT);
    for (int i = 0; i < 6; i++) {
        char ct[64];
        snprintf(ct, sizeof(ct), "sip:alice@192.0.2.%d", 10 + i);
        b = binding(irs, ct);
        assert_int_equal(st->api->binding_put(st, &b), 0);
    }
    c.n = 0;
    assert_int_equal(st->api->binding_each(st, collect_cb, &c), E2BIG);
    /* A value too long for its field is refused, never cut. */
    memset(b.flow, 'x', sizeof(b.flow));
    assert_int_equal(st->api->binding_put(st, &b), ENAMETOOLONG);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sum {
    size_t n;
    uint64_t cseq;
};

static int sum_cb(void *arg, const struct store_binding *b)
{
    struct sum *s = arg;
    s->n++;
    s->cseq += b->cseq;
    return 0;
}

/* A restart reloads every registration: 100k bindings must come back well under a second. */
static void bindings_100k_timed(void **state)
{
    struct store_fixture *f = *state;
    struct store *st = f->st;
    struct store_sub a, out;
    struct store_binding b;
    struct sum s = {0, 0};
    sqlite3 *db;
    double t0, t1, t2;
    int64_t irs[2];
    const size_t n = 100000;

    alice(&a);
    sub_add_set(&a, fox_uris, 1);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &out), 0);
    irs[0] = out.sets[0].id;
    irs[1] = out.sets[1].id;
    b = binding(irs[0], "x");
    /* Bulk insert inside one transaction, through a second connection: the store API puts
     * one binding per transaction, as a registrar does, which is not what is timed here. */
    t0 = now_s();
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    {
        sqlite3_stmt *ins;
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "INSERT INTO binding VALUES (?1, ?2, ?3, ?4, ?5, "
                                            "?6, ?7, ?8)",
                                            -1, &ins, NULL),
                         SQLITE_OK);
        for (size_t i = 0; i < n; i++) {
            char ct[64];
            snprintf(ct, sizeof(ct), "sip:ue%zu@192.0.2.1:5060;transport=tcp", i);
            sqlite3_bind_int64(ins, 1, irs[i % 2]);
            sqlite3_bind_text(ins, 2, ct, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 3, b.impu, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, b.path, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, b.callid, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 6, (int64_t)(i % 1000));
            sqlite3_bind_int64(ins, 7, b.expires_at);
            sqlite3_bind_text(ins, 8, b.flow, -1, SQLITE_STATIC);
            assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
        }
        sqlite3_finalize(ins);
    }
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    t1 = now_s();
    assert_int_equal(st->api->binding_each(st, sum_cb, &s), 0);
    t2 = now_s();
    printf("100k bindings: insert %.3f s, binding_each %.3f s\n", t1 - t0, t2 - t1);
    assert_int_equal(s.n, n);
    assert_int_equal(s.cseq, (uint64_t)(n / 1000) * (999 * 1000 / 2));
    assert_true(t2 - t1 < 1.0);
    /* A few through the API too, and sub_del drops them all with the sets. */
    b = binding(irs[0], "sip:alice@192.0.2.1");
    assert_int_equal(st->api->binding_put(st, &b), 0);
    assert_int_equal(st->api->sub_del(st, "alice@ims.example"), 0);
    s.n = 0;
    assert_int_equal(st->api->binding_each(st, sum_cb, &s), 0);
    assert_int_equal(s.n, 0);
}

static void schema_version_set(void **state)
{
    struct store_fixture *f = *state;
    sqlite3 *db;
    sqlite3_stmt *s;

    assert_true(store_schema_version() >= 1);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), store_schema_version());
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Whether SQLite plans @p sql with a temporary b-tree (a sort of its own). */
static bool plan_sorts(sqlite3 *db, const char *sql)
{
    char q[512];
    sqlite3_stmt *s;
    bool sorts = false;

    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
        sorts |= strstr((const char *)sqlite3_column_text(s, 3), "TEMP B-TREE") != NULL;
    sqlite3_finalize(s);
    return sorts;
}

/* The ordered reads of a profile (every REGISTER makes one) walk an index, in a new file and
 * in one migrated from version 3, which had indexes on the parent column only. */
static void profile_reads_sort_nothing(void **state)
{
    static const char *const reads[] = {
        ("SELECT impi.impi FROM impi LEFT JOIN aka ON aka.impi_id = impi.id "
         "WHERE impi.subscription_id = 1 ORDER BY impi.position"),
        "SELECT id FROM irs WHERE subscription_id = 1 ORDER BY position",
        "SELECT uri FROM impu WHERE irs_id = 1 ORDER BY position",
        "SELECT as_uri FROM ifc WHERE subscription_id = 1 ORDER BY priority, position",
        /* the profile's head with its set's IMPUs (ST_IMPU_FIND, c9c6e93) */
        ("SELECT me.irs_id, sub.scscf, sib.uri FROM impu AS me JOIN irs ON irs.id = me.irs_id "
         "JOIN subscription AS sub ON sub.id = irs.subscription_id "
         "JOIN impu AS sib ON sib.irs_id = me.irs_id "
         "WHERE me.uri = 'sip:alice@ims.example' ORDER BY sib.position"),
    };
    struct store_fixture *f = *state;
    char err[256] = "";
    sqlite3 *db;

    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        for (size_t i = 0; i < SV_ARRAY_SIZE(reads); i++)
            assert_false(plan_sorts(db, reads[i]));
        if (pass == 0) { /* back to version 3's indexes, and open again to migrate */
            store_close(f->st);
            f->st = NULL;
            assert_int_equal(
                sqlite3_exec(db,
                             "DROP INDEX impi_sub_pos; CREATE INDEX impi_sub ON impi(subscription_id);"
                             "DROP INDEX irs_sub_pos; CREATE INDEX irs_sub ON irs(subscription_id);"
                             "DROP INDEX impu_irs_pos; CREATE INDEX impu_irs ON impu(irs_id);"
                             "DROP INDEX ifc_sub_prio; CREATE INDEX ifc_sub ON ifc(subscription_id);"
                             "PRAGMA user_version = 3;",
                             NULL, NULL, NULL),
                SQLITE_OK);
            assert_true(plan_sorts(db, reads[2])); /* the test sees a sort when there is one */
            assert_int_equal(store_open_sqlite(&f->st, f->path, err, sizeof(err)), 0);
        }
        sqlite3_close(db);
    }
}

/* A file from a newer sipveil is refused, not misread; so is a file that is not a database. */
static void newer_schema_eproto(void **state)
{
    struct store_fixture *f = *state;
    struct store *st2 = NULL;
    char sql[64], err[256] = "", p[128];
    sqlite3 *db;
    FILE *fp;

    store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_version() + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open_sqlite(&st2, f->path, err, sizeof(err)), EPROTO);
    assert_null(st2);
    assert_non_null(strstr(err, "newer"));

    snprintf(p, sizeof(p), "%s/junk.db", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database file at all. ", fp);
    fclose(fp);
    assert_int_equal(store_open_sqlite(&st2, p, err, sizeof(err)), EIO);
}

struct impis {
    char v[3][STORE_ID_MAX];
    size_t n;
};

static int impis_cb(void *arg, const struct store_sub *sub)
{
    struct impis *c = arg;
    if (c->n == 3)
        return E2BIG;
    snprintf(c->v[c->n++], STORE_ID_MAX, "%s", sub->impis[0].impi);
    return 0;
}

static void sub_each_in_impi_order(void **state)
{
    struct store *st = st_of(state);
    struct store_sub a;
    struct impis c = {.n = 0};

    bob(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->sub_each(st, impis_cb, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0], "alice@ims.example");
    assert_string_equal(c.v[1], "bob@ims.example");
}

static void too_long_refused(void **state)
{
    struct store *st = st_of(state);
    struct store_sub a;

    alice(&a);
    memset(a.sets[0].impus[1].display, 'x', STORE_NAME_MAX);
    assert_int_equal(st->api->sub_put(st, &a), ENAMETOOLONG);
    alice(&a);
    a.nsets = 0;
    assert_int_equal(st->api->sub_put(st, &a), EINVAL);
}

struct worker_arg {
    struct store *st;
    int64_t irs;
    int id;
    int err;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    for (int i = 0; i < 200 && !a->err; i++) {
        struct store_profile prof;
        struct store_binding b;
        char ct[64];
        snprintf(ct, sizeof(ct), "sip:w%d-%d@192.0.2.1", a->id, i);
        b = binding(a->irs, ct);
        a->err = a->st->api->binding_put(a->st, &b);
        if (!a->err)
            a->err = a->st->api->profile_get(a->st, "tel:+15551000001", &prof);
        if (!a->err && (prof.index != 1 || prof.irs.nimpus != 2))
            a->err = EIO;
    }
    return NULL;
}

/* The store is called from several worker threads at once: one connection, one mutex. */
static void threads_share_one_store(void **state)
{
    struct store *st = st_of(state);
    struct worker_arg args[4];
    pthread_t t[4];
    struct store_sub a, out;
    size_t n = 0;

    alice(&a);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(st->api->sub_get(st, "alice@ims.example", &out), 0);
    for (int i = 0; i < 4; i++) {
        args[i] = (struct worker_arg){.st = st, .irs = out.sets[0].id, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].err, 0);
    }
    assert_int_equal(st->api->binding_each(st, count_cb, &n), 0);
    assert_int_equal(n, 800);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(sub_put_get_round_trip, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(sub_put_eexist_writes_nothing, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(sub_put_replaces, store_fixture_setup, store_fixture_teardown),
    cmocka_unit_test_setup_teardown(sub_del_cascades, store_fixture_setup, store_fixture_teardown),
    cmocka_unit_test_setup_teardown(profile_cache_follows_provisioning, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(cred_cache_follows_provisioning, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(profile_pseudonym_own_set_only_r82, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(profile_tel_default_first_r82, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(cred_ha1_is_auth_digest_ha1, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(no_clear_password_in_file_r80, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(file_mode_0600, store_fixture_setup, store_fixture_teardown),
    cmocka_unit_test_setup_teardown(aka_sqn_set_get, store_fixture_setup, store_fixture_teardown),
    cmocka_unit_test_setup_teardown(kv_put_each_del, store_fixture_setup, store_fixture_teardown),
    cmocka_unit_test_setup_teardown(bindings_put_replace_del_each, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(bindings_100k_timed, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(profile_reads_sort_nothing, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(schema_version_set, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(newer_schema_eproto, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(sub_each_in_impi_order, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(too_long_refused, store_fixture_setup, store_fixture_teardown),
    cmocka_unit_test_setup_teardown(threads_share_one_store, store_fixture_setup,
                                    store_fixture_teardown),
};

SV_TEST_MAIN(tests)
