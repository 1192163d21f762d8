/**
 * @file store.c  What every store backend shares: turning a password into HA1 values.
 */
#include <errno.h>
#include <string.h>

#include <sipveil/auth.h>
#include <sipveil/store.h>

/**
 * Fill @p c's HA1 values from a clear-text password. The realm is c->realm, or the domain of
 * the IMPI (the part after '@') when c->realm is empty, which is what a UE answers with when
 * the registrar challenges with the home domain.
 * @param c         the credentials; impi must be set
 * @param password  the clear text, not kept
 * @return 0, or EINVAL (no IMPI, no realm, no password)
 */
int store_cred_set_password(struct store_cred *c, const char *password)
{
    char md5[AUTH_DIGEST_HEX_MAX + 1], sha[AUTH_DIGEST_HEX_MAX + 1];
    const char *realm;
    int err;

    if (!c || !password || !*password || !c->impi[0])
        return EINVAL;
    realm = c->realm;
    if (!*realm) {
        const char *at = strchr(c->impi, '@');
        if (!at || !at[1])
            return EINVAL;
        realm = at + 1;
    }
    err = auth_digest_ha1(AUTH_DIGEST_MD5, sv_slice_cstr(c->impi), sv_slice_cstr(realm),
                          sv_slice_cstr(password), md5);
    if (!err)
        err = auth_digest_ha1(AUTH_DIGEST_SHA256, sv_slice_cstr(c->impi), sv_slice_cstr(realm),
                              sv_slice_cstr(password), sha);
    if (err)
        goto out;
    if (strlen(md5) != 32 || strlen(sha) != 64) {
        err = EINVAL;
        goto out;
    }
    memcpy(c->ha1_md5, md5, sizeof(c->ha1_md5));
    memcpy(c->ha1_sha256, sha, sizeof(c->ha1_sha256));
out:
    /* The HA1 is as good as the password for this realm: leave no copy on the stack. */
    explicit_bzero(md5, sizeof(md5));
    explicit_bzero(sha, sizeof(sha));
    return err;
}
