/**
 * @file svtest_store.h  What the store tests share: a fresh database in a temp directory per
 * case, and the lab's subscribers built in C.
 */
#ifndef SVTEST_STORE_H
#define SVTEST_STORE_H

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include <sipveil/store.h>

#include "svtest.h"

struct store_fixture {
    char dir[64];
    char path[96];
    struct store *st;
};

static inline int store_fixture_setup(void **state)
{
    struct store_fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sv-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    if (store_open_sqlite(&f->st, f->path, err, sizeof(err)) != 0) {
        print_error("store_open_sqlite: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

/* Close the store and remove every file of the temp directory, then the directory. */
static inline void store_fixture_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline int store_fixture_teardown(void **state)
{
    struct store_fixture *f = *state;
    if (!f)
        return 0;
    store_close(f->st);
    store_fixture_rmdir(f->dir);
    free(f);
    return 0;
}

static inline void sub_add_set(struct store_sub *s, const char *const *uris, size_t n)
{
    struct store_irs *set = &s->sets[s->nsets++];
    for (size_t i = 0; i < n; i++)
        snprintf(set->impus[set->nimpus++].uri, STORE_URI_MAX, "%s", uris[i]);
}

/** A digest subscriber @p impi with @p password and one set of IMPUs. */
static inline void sub_make(struct store_sub *s, const char *impi, const char *password,
                            const char *const *uris, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->nimpis = 1;
    snprintf(s->impis[0].impi, STORE_ID_MAX, "%s", impi);
    assert_int_equal(store_cred_set_password(&s->impis[0], password), 0);
    sub_add_set(s, uris, n);
}

#endif
