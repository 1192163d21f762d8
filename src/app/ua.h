/**
 * @file ua.h  Private to `sipveil ua`, the command-line IMS UE (cmd_ua.c, ua_core.c,
 * ua_serve.c, ua_msg.c, ua_pres.c, ua_xcap.c).
 *
 * ua_msg.c holds what is pure: the Privacy header, the identity-bearing header values of a
 * private request (R10-R15), the Authorization answer to a Digest or AKA challenge, the SDP
 * offer, the PIDF and XCAP path of the presence commands, and the assembly of a request from
 * its parts. It touches no socket and no clock, so its unit tests
 * (tests/unit/app/test_ua_msg.c) check it byte for byte. ua_core.c drives the event loop, the
 * transport and the transaction layer and sends the UE's requests;
 * ua_serve.c answers the requests the UE receives (ua_int.h is what they share, with
 * ua_pres.c, the presence commands on SIP); ua_xcap.c is the XCAP client of `rules`; cmd_ua.c
 * reads the command line and runs the commands.
 */
#ifndef SIPVEIL_APP_UA_H
#define SIPVEIL_APP_UA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sipveil/auth.h>
#include <sipveil/net.h>
#include <sipveil/sip.h>

/* ---------------------------------------------------------------------------------------- */
/* Privacy (R9-R17)                                                                           */

/**
 * Parse the --privacy list: none, id, user, header, critical, separated by ',' or ';'.
 * @return 0 with the SIP_PRIV_* bits in *@p bits; EINVAL for an empty or unknown value, or
 *         for none with another value (R3: none is exclusive).
 */
int ua_privacy_parse(const char *s, unsigned *bits);
/**
 * The Privacy header value for @p bits in canonical order (R1, R2): none, header, user, id,
 * then critical last, joined by ';'. @return the length written (NUL-terminated), 0 when
 * @p bits is 0 or @p sz too small.
 */
size_t ua_privacy_print(unsigned bits, char *buf, size_t sz);
/** Whether @p bits hide the user: any value but none (R10). */
bool ua_privacy_hides(unsigned bits);

/* ---------------------------------------------------------------------------------------- */
/* Identity-bearing values                                                                    */

/**
 * The From value of a request: "<IMPU>;tag=TAG", or, when @p hide, the anonymous From of R8
 * and R10, `"Anonymous" <sip:anonymous@anonymous.invalid>;tag=TAG`.
 * @return 0 or ENOSPC.
 */
int ua_from_print(const char *impu, bool hide, const char *tag, char *buf, size_t sz);
/**
 * The Contact value: "<sip:USER@HOST:PORT;transport=tcp>" (no transport parameter for UDP);
 * without the user part when @p hide (R81, R85 spirit). @p user may be NULL or "".
 * @return 0 or ENOSPC.
 */
int ua_contact_print(const char *user, const char *hostport, enum net_tp tp, bool hide, char *buf,
                     size_t sz);
/**
 * A new Call-ID: 24 random hex digits, then "@HOST" unless @p hide (R12: a private request's
 * Call-ID carries no host). @p buf >= 96 octets. @return 0 or ENOSPC.
 */
int ua_callid_gen(const char *host, bool hide, char *buf, size_t sz);
/** The user part of a SIP URI ("alice" of "sip:alice@ims.example"), or "" (into @p buf). */
void ua_uri_user(const char *uri, char *buf, size_t sz);

/* ---------------------------------------------------------------------------------------- */
/* Authentication                                                                             */

/** What the UE authenticates with: a password, or a USIM's Milenage keys. */
struct ua_cred {
    const char *impi;     /* the Digest username */
    const char *password; /* Digest; NULL with AKA */
    bool aka;
    struct auth_milenage mil; /* AKA: K and OPc */
    bool have_sqn_ms;         /* AKA: the USIM's highest accepted SQN is known */
    uint64_t sqn_ms;
};

enum ua_auth_verdict {
    UA_AUTH_ANSWERED = 0, /* the Authorization value is in the buffer */
    UA_AUTH_RESYNC,       /* AKA: SQN out of range; the answer carries auts (RFC 3310 §3.4) */
    UA_AUTH_MAC_FAILED,   /* AKA: MAC-A wrong, the challenge is not from the home network */
    UA_AUTH_UNSUPPORTED,  /* another scheme or algorithm, or the wrong credentials for it */
};

/**
 * The first REGISTER's Authorization of an IMS UE (TS 24.229 §5.1.1.2): username, realm,
 * empty nonce, uri, empty response. @return 0 or ENOSPC.
 */
int ua_auth_initial(const char *impi, const char *realm, const char *uri, char *buf, size_t sz);

/**
 * Answer the challenge @p ch (a decoded WWW-Authenticate or Proxy-Authenticate) for a request
 * of @p method to @p uri: MD5, SHA-256 (with or without qop=auth) or AKAv1-MD5.
 * @param cnonce  the client nonce to use when the challenge offers qop=auth.
 * @param nc      the nonce count (1 for a new nonce).
 * @param v       out: the verdict; the header value is written only for ANSWERED and RESYNC.
 * @return 0 whatever the verdict; ENOSPC; or an errno of the auth layer.
 */
int ua_auth_answer(const struct sip_auth *ch, const struct ua_cred *cr, const char *method,
                   const char *uri, const char *cnonce, uint32_t nc, char *buf, size_t sz,
                   enum ua_auth_verdict *v);

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                   */

/** The parts of a request; NULL fields are left out. */
struct ua_req {
    const char *method, *ruri;
    const char *via_tp;       /* "UDP", "TCP", "TLS" */
    const char *via_hostport; /* our sent-by */
    const char *branch;
    const char *from, *to; /* whole values, tags included */
    const char *callid;
    uint32_t cseq;
    const char *contact;
    const char *route;           /* one Route line's value ("<a>, <b>"); NULL or "": none */
    const char *expires;         /* the Expires header */
    const char *auth_hdr, *auth; /* "Authorization" or "Proxy-Authorization", and its value */
    const char *privacy;         /* the Privacy value; NULL or "": none */
    bool proxy_require_privacy;  /* R15 */
    const char *ppi;             /* P-Preferred-Identity URI (R13) */
    const char *user_agent;      /* NULL under privacy (R11) */
    const char *extra;           /* complete header lines, each ending in CRLF */
    const char *ctype;           /* with a body */
    const char *body;
};

/** Write the request. @return 0 or ENOSPC (*@p n then holds the size needed). */
int ua_req_print(const struct ua_req *r, char *buf, size_t sz, size_t *n);

/**
 * A response to @p req, as sip_resp_build makes it, with @p extra header lines and, when
 * @p body is not NULL, that body and its Content-Type @p ctype. @return 0 or ENOSPC.
 */
int ua_resp_print(const struct sip_msg *req, uint16_t code, const char *reason, const char *totag,
                  const char *extra, const char *ctype, const char *body, char *buf, size_t sz,
                  size_t *n);

/** A small audio offer or answer from @p ip (IPv4 or IPv6 text), media port @p port. */
int ua_sdp_print(const char *ip, uint16_t port, uint64_t sess, char *buf, size_t sz);

/* ---------------------------------------------------------------------------------------- */
/* Presence documents (ua_msg.c)                                                              */

/**
 * A one-tuple PIDF (RFC 3863) for @p entity, basic status open or closed, with an optional
 * note (escaped). @return 0, EINVAL (a control character), ENOSPC.
 */
int ua_pidf_print(const char *entity, bool open, const char *note, char *buf, size_t sz);
/** The XCAP path of @p impu's pres-rules document, the XUI percent-encoded. 0 or ENOSPC. */
int ua_xcap_path(const char *impu, char *buf, size_t sz);
/** Base64 with padding, NUL-terminated. @return 0 or ENOSPC. */
int ua_b64_encode(const uint8_t *in, size_t n, char *buf, size_t sz);

/* ---------------------------------------------------------------------------------------- */
/* The UE (ua_core.c)                                                                         */

/** Everything the command line sets. Strings are borrowed from argv or the caller's stack. */
struct ua_conf {
    const char *impi, *impu, *domain;
    struct ua_cred cred;
    struct net_addr pcscf;
    enum net_tp tp;
    const char *ca; /* TLS: the CA bundle that verifies the P-CSCF; NULL: the system's */
    bool insecure;  /* TLS: do not verify the P-CSCF at all */
    struct net_addr local;
    uint32_t expires;
    unsigned timeout_ms; /* for the whole command */
    unsigned count;      /* listen: requests to answer; 0: until the timeout */
    unsigned privacy;    /* SIP_PRIV_* bits; 0: none asked */
    const char *ppi;
    const char *watcher_password; /* subscribe: for a presentity's password rule (R102) */
    bool no_register;
    const char *ready_file;
    unsigned hold_ms; /* call: between the ACK and the BYE */
};

struct ua;

/* Exit status of a command beyond those of app.h: a failure response was received. */
#define UA_EX_FAILED 1

/**
 * Bind the UE's socket (the listener on conf->local) and start the transport and the
 * transaction layer. @return 0 or an errno (message on stderr).
 */
int ua_alloc(struct ua **up, const struct ua_conf *conf);
void ua_free(struct ua *u);
/** Say "ready <ip>:<port>" on stdout and in the ready file. @return an exit status. */
int ua_ready(struct ua *u);
/**
 * REGISTER (answering challenges); @p all with Expires 0 removes every binding of the IMPU
 * ("Contact: *"). @return APP_EX_OK on 2xx, UA_EX_FAILED, APP_EX_UNAVAILABLE (timeout or
 * transport failure).
 */
int ua_register(struct ua *u, uint32_t expires, bool all);
/** Whether a registration of this run is in place (to undo it at the end). */
bool ua_registered(const struct ua *u);
int ua_message(struct ua *u, const char *uri, const char *text);
int ua_options(struct ua *u, const char *uri);
int ua_call(struct ua *u, const char *uri);
int ua_listen(struct ua *u);
/** Give the final de-registration some more time past the command's deadline. */
void ua_deadline_extend(struct ua *u, unsigned ms);

/* ---------------------------------------------------------------------------------------- */
/* Presence (ua_pres.c, ua_xcap.c)                                                            */

/** What `publish` sends. */
struct ua_publication {
    bool open;        /* the basic status */
    const char *note; /* NULL: none */
    uint32_t expires; /* the publication's lifetime, seconds */
    const char *etag; /* SIP-If-Match: refresh, modify or remove that publication; NULL: new */
    bool unpublish;   /* Expires: 0 (with etag) */
    bool body;        /* send the PIDF (false: a refresh without a body, RFC 3903 §4.3) */
};

/** PUBLISH the user's presence (RFC 3903); prints "etag ETAG". @return an exit status. */
int ua_publish(struct ua *u, const struct ua_publication *p);
/**
 * SUBSCRIBE to @p uri's presence (or its watcher information with @p winfo), print every
 * NOTIFY for @p hold_ms or until one ends the subscription, then un-SUBSCRIBE. @p grant: a
 * grant token the presentity issued (R103), sent as "Authorization: Bearer"; NULL: none.
 * @return the exit status of the SUBSCRIBE.
 */
int ua_subscribe(struct ua *u, const char *uri, bool winfo, const char *grant, unsigned hold_ms);
/**
 * PUT the pres-rules document in @p file (or GET it, @p file NULL) at the XCAP server
 * @p xcap ("http://HOST:PORT"), HTTP Digest as the user. Needs no UE. @return an exit status.
 */
int ua_rules(const struct ua_conf *c, const char *xcap, const char *file);
/** Make a key pair, the private key into the new file @p path, print the public key. */
int ua_grant_new_key(const char *path);
/** Print a grant for @p watcher to watch @p presentity, valid @p secs, signed with the key
    in @p keyfile. @return an exit status. */
int ua_grant(const char *keyfile, const char *watcher, const char *presentity, uint32_t secs);

#endif
