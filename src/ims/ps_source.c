/**
 * @file ps_source.c  The PS's presence sources (R91; seed FFS 1-2): presence network agents
 * (Pen) and external sources (Pex) that publish a presentity's presence directly to the PS.
 *
 * A source is not a CSCF: nobody asserts its identity, so it must prove it itself, with the
 * client certificate of a mutually authenticated TLS connection. The node's configuration
 * lists each source by a relative distinguished name its verified certificate carries
 * (`CN=weather.example`), the presentities (or domains) it may publish for, and its rate.
 * Anything else that publishes without a trusted CSCF gets 403.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sipveil/net.h>
#include "ims_int.h"

int ims__ps_sources_init(struct ims_state *s)
{
    const struct ims_pres_source *c = s->c.sources;

    s->c.sources = NULL; /* borrowed from the caller: the copies below replace it */
    if (!s->c.nsources)
        return 0;
    if (!(s->sources = sv_calloc(s->c.nsources, sizeof(*s->sources))))
        return ENOMEM;
    for (size_t i = 0; i < s->c.nsources; i++) {
        struct ps_source *src = &s->sources[i];
        s->nsources = i + 1;
        src->name = ims__strdup(c[i].name && *c[i].name ? c[i].name : c[i].subject);
        src->subject = ims__strdup(c[i].subject ? c[i].subject : "");
        src->presentities = ims__strdup(c[i].presentities ? c[i].presentities : "");
        src->domains = ims__strdup(c[i].domains ? c[i].domains : "");
        src->rate = c[i].rate;
        if (!src->name || !src->subject || !src->presentities || !src->domains)
            return ENOMEM;
        if (!*src->subject)
            return EINVAL; /* a source without a certificate subject would be anyone */
    }
    return 0;
}

void ims__ps_sources_free(struct ims_state *s)
{
    for (size_t i = 0; i < s->nsources; i++) {
        sv_free(s->sources[i].name);
        sv_free(s->sources[i].subject);
        sv_free(s->sources[i].presentities);
        sv_free(s->sources[i].domains);
    }
    sv_free(s->sources);
    s->sources = NULL;
    s->nsources = 0;
}

/* The next element of a @p sep-separated list at *@p cur, trimmed of blanks; an escaped
 * separator ("\,", RFC 2253) does not end it. @return false at the end of the list. */
static bool next_item(const char **cur, char sep, struct sv_slice *item)
{
    const char *p = *cur, *e;

    if (!*p)
        return false;
    for (e = p; *e && *e != sep; e++)
        if (*e == '\\' && e[1])
            e++;
    *item = sv_slice_trim(sv_slice_make(p, (size_t)(e - p)));
    *cur = *e ? e + 1 : e;
    return true;
}

/* @p subject (RFC 2253) is @p want exactly, or one of its RDNs is. Attribute names compare
 * case-insensitively, values exactly: "CN=a" must not let "CN=ab" in. */
bool ims__ps_subject_has(const char *subject, const char *want)
{
    struct sv_slice w = sv_slice_trim(sv_slice_cstr(want)), rdn;
    const char *cur = subject;

    if (!w.l)
        return false;
    if (sv_slice_eq(sv_slice_trim(sv_slice_cstr(subject)), w))
        return true;
    const char *weq = memchr(w.p, '=', w.l);
    if (!weq)
        return false;
    size_t wn = (size_t)(weq - w.p);
    while (next_item(&cur, ',', &rdn)) {
        const char *eq = memchr(rdn.p, '=', rdn.l);
        if (!eq || (size_t)(eq - rdn.p) != wn || strncasecmp(rdn.p, w.p, wn) != 0)
            continue;
        if (sv_slice_eq(sv_slice_make(eq + 1, rdn.l - wn - 1),
                        sv_slice_make(weq + 1, w.l - wn - 1)))
            return true;
    }
    return false;
}

struct ps_source *ims__ps_source_of(struct ims_state *s, const struct net_flow *flow)
{
    const char *subject;

    if (!s->nsources || !flow || flow->tp != NET_TLS || !flow->conn ||
        !(subject = net_conn_peer_subject(flow->conn)))
        return NULL; /* only a verified client certificate names a source */
    for (size_t i = 0; i < s->nsources; i++)
        if (ims__ps_subject_has(subject, s->sources[i].subject))
            return &s->sources[i];
    return NULL;
}

const char *ims__ps_source_name(const struct ps_source *src)
{
    return src->name;
}

bool ims__ps_source_may(const struct ps_source *src, const char *presentity)
{
    struct sv_slice it, p = sv_slice_cstr(presentity);
    const char *cur = src->presentities;

    while (next_item(&cur, ',', &it)) {
        char canon[STORE_URI_MAX];
        struct sip_uri u;
        if (it.l && sip_uri_decode(&u, it) == 0 && ims_impu_canon(&u, canon, sizeof(canon)) == 0 &&
            strcmp(canon, presentity) == 0)
            return true;
    }
    /* the presentity's domain: the host of sip:user@host */
    const char *at = memchr(p.p, '@', p.l);
    if (!at)
        return false;
    struct sv_slice host = sv_slice_make(at + 1, p.l - (size_t)(at + 1 - p.p));
    for (cur = src->domains; next_item(&cur, ',', &it);)
        if (it.l && sv_slice_caseeq(it, host))
            return true;
    return false;
}

bool ims__ps_source_rate_ok(struct ps_source *src, uint64_t now_ms)
{
    return ims__bucket_take(&src->b, src->rate, now_ms);
}
