/**
 * @file ua_pres.c  The presence commands of `sipveil ua` on SIP: PUBLISH (RFC 3903) of the
 * user's own PIDF, SUBSCRIBE (RFC 6665, RFC 3856, RFC 3857 for presence.winfo) with every
 * NOTIFY printed, and the grant tokens a presentity hands to its watchers (R103). The
 * requests go through the same engine as the others (ua_core.c), so --privacy makes a
 * SUBSCRIBE anonymous exactly as it does a MESSAGE (R98): anonymous From, a Call-ID without a
 * host, Privacy, and a Contact without a user part.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sipveil/pres.h>
#include "app.h"
#include "ua.h"
#include "ua_int.h"

/* How long to wait for the NOTIFY terminated after the un-SUBSCRIBE's 2xx. */
#define UNSUB_WAIT_MS 2000u

/* ---------------------------------------------------------------------------------------- */
/* PUBLISH                                                                                    */

/**
 * PUBLISH the user's presence to its own IMPU: the entity of the PIDF is the IMPU, the only
 * one the Presence Server accepts from this user (R87-R89). A 423 is answered once with the
 * Min-Expires asked for (RFC 3903 §6.1), as REGISTER does.
 * @return APP_EX_OK on 2xx (and "etag ETAG" printed), UA_EX_FAILED, APP_EX_UNAVAILABLE.
 */
int ua_publish(struct ua *u, const struct ua_publication *p)
{
    struct creq *cr = ua__creq_new(u, "PUBLISH");
    int rc;

    if (!cr)
        return APP_EX_OSERR;
    if ((rc = ua__dialog_init(u, cr, u->c.impu)))
        return rc;
    snprintf(cr->expires, sizeof(cr->expires), "%u", p->unpublish ? 0u : (unsigned)p->expires);
    snprintf(cr->extra, sizeof(cr->extra), "Event: presence\r\n%s%s%s",
             p->etag ? "SIP-If-Match: " : "", p->etag ? p->etag : "", p->etag ? "\r\n" : "");
    if (p->body && !p->unpublish) {
        int err = ua_pidf_print(u->c.impu, p->open, p->note, cr->body, sizeof(cr->body));
        if (err) {
            fprintf(stderr, "sipveil ua: publish: %s\n",
                    err == EINVAL ? "the note has a control character" : "the note is too long");
            return APP_EX_USAGE;
        }
        cr->ctype = "application/pidf+xml";
    }
    rc = ua__transact(u, cr);
    if (rc == UA_EX_FAILED && cr->status == 423 && cr->min_expires > p->expires && !p->unpublish) {
        fprintf(stderr,
                "sipveil ua: the presence server wants at least %u s; publishing for "
                "that\n",
                (unsigned)cr->min_expires);
        snprintf(cr->expires, sizeof(cr->expires), "%u", (unsigned)cr->min_expires);
        cr->cseq++;
        cr->answered = false;
        rc = ua__transact(u, cr);
    }
    if (rc == APP_EX_OK && !p->unpublish) {
        if (cr->etag[0])
            printf("etag %s\n", cr->etag);
        else
            fprintf(stderr, "sipveil ua: publish: the 2xx carried no SIP-ETag\n");
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* SUBSCRIBE and NOTIFY                                                                       */

/* Print a header line of @p m exactly as received (without its line end). */
static void show_line(const struct sip_msg *m, enum sip_hdr_id id)
{
    for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
        struct sv_slice line = sv_slice_make(m->raw.p + h->off, h->len);
        while (line.l && (line.p[line.l - 1] == '\n' || line.p[line.l - 1] == '\r'))
            line.l--;
        printf("  %.*s\n", SV_FMT(line));
    }
}

/**
 * A NOTIFY was received and shown: print its Event, Subscription-State and Content-Type lines
 * and then its body, each line prefixed "  | " so that no body line reads as one of the UE's
 * own. A NOTIFY of the subscription (by Call-ID) whose state is terminated ends `subscribe`.
 */
void ua__notify_seen(struct ua *u, const struct sip_msg *req)
{
    const struct sip_hdr *ss = sip_msg_hdr(req, SIP_HDR_SUBSCRIPTION_STATE);
    struct sv_slice body = req->body;

    show_line(req, SIP_HDR_EVENT);
    show_line(req, SIP_HDR_SUBSCRIPTION_STATE);
    show_line(req, SIP_HDR_CONTENT_TYPE);
    while (body.l) {
        const char *nl = memchr(body.p, '\n', body.l);
        size_t l = nl ? (size_t)(nl - body.p) : body.l;
        size_t shown = l && body.p[l - 1] == '\r' ? l - 1 : l;
        printf("  | %.*s\n", (int)shown, body.p);
        body = sv_slice_make(body.p + (nl ? l + 1 : l), body.l - (nl ? l + 1 : l));
    }
    if (!u->sub_callid[0] || !sv_slice_eq(req->callid, sv_slice_cstr(u->sub_callid)))
        return;
    u->notifies++;
    if (ss) {
        struct sv_slice v = sv_slice_trim(ss->value);
        const char *semi = memchr(v.p, ';', v.l);
        size_t l = semi ? (size_t)(semi - v.p) : v.l;
        if (sv_slice_caseeq_cstr(sv_slice_trim(sv_slice_make(v.p, l)), "terminated"))
            u->sub_terminated = true;
    }
}

/* The header lines of a SUBSCRIBE for the event package, and the grant presented (RFC 8898
   style: a grant is single-use, so only the initial SUBSCRIBE carries it). */
static void sub_extra(struct creq *cr, bool winfo, const char *grant)
{
    snprintf(cr->extra, sizeof(cr->extra), "Event: %s\r\nAccept: %s\r\n%s%s%s",
             winfo ? "presence.winfo" : "presence",
             winfo ? "application/watcherinfo+xml" : "application/pidf+xml",
             grant ? "Authorization: Bearer " : "", grant ? grant : "", grant ? "\r\n" : "");
}

/**
 * SUBSCRIBE, then print the NOTIFYs for @p hold_ms, then un-SUBSCRIBE (Expires: 0) inside
 * the dialog and wait a little for the NOTIFY terminated that answers it (RFC 6665 §4.1.2.3).
 * The first NOTIFY may come before the 2xx: the Call-ID is known before the request leaves.
 * @return the exit status of the SUBSCRIBE; of the un-SUBSCRIBE when that one failed.
 */
int ua_subscribe(struct ua *u, const char *uri, bool winfo, const char *grant, unsigned hold_ms)
{
    struct creq *cr = ua__creq_new(u, "SUBSCRIBE"), *un;
    int rc;

    if (!cr)
        return APP_EX_OSERR;
    if ((rc = ua__dialog_init(u, cr, uri)))
        return rc;
    if (ua_contact_print(u->user, u->hostport, u->c.tp, ua_privacy_hides(u->c.privacy), cr->contact,
                         sizeof(cr->contact)))
        return APP_EX_SOFTWARE;
    snprintf(cr->expires, sizeof(cr->expires), "%u", (unsigned)u->c.expires);
    sub_extra(cr, winfo, grant);
    snprintf(u->sub_callid, sizeof(u->sub_callid), "%s", cr->callid);
    u->sub_terminated = false;
    u->notifies = 0;
    if ((rc = ua__transact(u, cr)))
        return rc;
    ua__run_until(u, &u->sub_terminated, sv_now_ms() + hold_ms);
    if (u->sub_terminated) {
        ua__run_until(u, NULL, sv_now_ms() + LINGER_MS); /* the 200 to that NOTIFY */
        return APP_EX_OK;
    }
    /* The un-SUBSCRIBE gets its own time: the hold may have used up the command's. */
    ua_deadline_extend(u, 5000);
    if (!(un = ua__creq_new(u, "SUBSCRIBE")))
        return APP_EX_OSERR;
    snprintf(un->ruri, sizeof(un->ruri), "%s", cr->rcontact[0] ? cr->rcontact : cr->ruri);
    snprintf(un->to, sizeof(un->to), "%s", cr->rto);
    snprintf(un->from, sizeof(un->from), "%s", cr->from);
    snprintf(un->callid, sizeof(un->callid), "%s", cr->callid);
    snprintf(un->route, sizeof(un->route), "%s", cr->rroute);
    snprintf(un->contact, sizeof(un->contact), "%s", cr->contact);
    snprintf(un->expires, sizeof(un->expires), "0");
    sub_extra(un, winfo, NULL);
    un->cseq = cr->cseq + 1;
    un->private_rules = true;
    rc = ua__transact(u, un);
    if (rc == APP_EX_OK)
        ua__run_until(u, &u->sub_terminated, sv_now_ms() + UNSUB_WAIT_MS);
    ua__run_until(u, NULL, sv_now_ms() + LINGER_MS);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Grants (R103)                                                                              */

/**
 * Make an Ed25519 key pair: the private key (the raw 32-octet seed, base64, one line) into
 * @p path, which must not exist yet and is made readable by its owner only; the public key,
 * base64, on stdout, for the <wa:grant-key> of a rule.
 * @return APP_EX_OK, APP_EX_CANTCREAT, APP_EX_SOFTWARE.
 */
int ua_grant_new_key(const char *path)
{
    uint8_t priv[PRES_GRANT_PRIV_LEN], pub[PRES_GRANT_KEY_LEN];
    char b64priv[64], b64pub[64];
    int rc = APP_EX_SOFTWARE, fd = -1;

    if (pres_grant_keypair(priv, pub) || ua_b64_encode(priv, sizeof(priv), b64priv, 64) ||
        ua_b64_encode(pub, sizeof(pub), b64pub, 64)) {
        fprintf(stderr, "sipveil ua: grant: cannot make a key pair\n");
        goto out;
    }
    /* O_EXCL: an existing key is never overwritten, since the grants it signed would die. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    size_t l = strlen(b64priv);
    b64priv[l++] = '\n';
    if (fd < 0 || write(fd, b64priv, l) != (ssize_t)l || close(fd) != 0) {
        fprintf(stderr, "sipveil ua: grant: cannot write the key file %s: %s\n", path,
                strerror(errno));
        if (fd >= 0)
            unlink(path);
        rc = APP_EX_CANTCREAT;
        goto out;
    }
    printf("%s\n", b64pub);
    rc = APP_EX_OK;
out:
    memset(priv, 0, sizeof(priv));
    memset(b64priv, 0, sizeof(b64priv));
    return rc;
}

/* Read the private key of @p path. @return APP_EX_OK or APP_EX_NOINPUT (said on stderr). */
static int key_read(const char *path, uint8_t priv[PRES_GRANT_PRIV_LEN])
{
    char text[256];
    size_t n = 0, got = 0;
    FILE *f = fopen(path, "r");
    int rc = APP_EX_NOINPUT;

    if (!f) {
        fprintf(stderr, "sipveil ua: grant: cannot open the key file %s: %s\n", path,
                strerror(errno));
        return rc;
    }
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    struct sv_slice s = sv_slice_trim(sv_slice_make(text, n));
    if (pres_b64_decode(s, false, priv, PRES_GRANT_PRIV_LEN, &got) || got != PRES_GRANT_PRIV_LEN)
        fprintf(stderr, "sipveil ua: grant: %s does not hold a private key (32 octets, base64)\n",
                path);
    else
        rc = APP_EX_OK;
    memset(text, 0, sizeof(text));
    return rc;
}

/**
 * Print a grant token: @p watcher may watch @p presentity until now + @p secs, signed with the
 * private key in @p keyfile (the format is pres.h's, checked by pres_grant_verify).
 * @return APP_EX_OK, APP_EX_NOINPUT (the key file), APP_EX_USAGE (a watcher with LF),
 *         APP_EX_SOFTWARE.
 */
int ua_grant(const char *keyfile, const char *watcher, const char *presentity, uint32_t secs)
{
    uint8_t priv[PRES_GRANT_PRIV_LEN];
    char tok[PRES_GRANT_MAX + 1];
    size_t n = 0;
    int rc, err;

    if ((rc = key_read(keyfile, priv)))
        return rc;
    err = pres_grant_make(priv, sv_slice_cstr(watcher), sv_slice_cstr(presentity),
                          (int64_t)time(NULL) + secs, tok, sizeof(tok), &n);
    memset(priv, 0, sizeof(priv));
    if (err) {
        fprintf(stderr, "sipveil ua: grant: cannot make the grant: %s\n",
                err == EINVAL ? "the watcher is not a URI" : strerror(err));
        return err == EINVAL ? APP_EX_USAGE : APP_EX_SOFTWARE;
    }
    printf("%s\n", tok);
    return APP_EX_OK;
}
