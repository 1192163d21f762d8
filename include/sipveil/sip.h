/**
 * @file sip.h  The SIP message layer: framing, scanning, decoders, checks, edits, serializing.
 *
 * The big idea: a received message is never copied and never written to. Framing finds where
 * it ends; one scan pass records a slice for the start-line parts and for each header's name
 * and value, and maps each name to an id through the header table (sip_hdr.def). The headers
 * every layer needs (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length) are decoded
 * during the scan; everything else is decoded on demand by small functions that take a slice
 * and fill a plain struct of slices.
 *
 * To forward a message, a layer records edits (delete this header line, replace that value,
 * insert a header here) in a `struct sip_edits`, and the serializer writes the original bytes
 * with the edits applied. A message with no edits serializes byte for byte as received, and
 * privacy stripping is a list of deletes that a reviewer can read.
 *
 * Return convention (everywhere in this header): 0 on success, or a positive errno:
 *   ENODATA  stream input is incomplete: read more bytes and call again;
 *   EBADMSG  malformed; the struct sip_perr says why, in one line;
 *   EMSGSIZE a configured cap was crossed; the sip_perr names the cap;
 *   ENOENT   a list or iterator has no more elements; a header is absent;
 *   ENOMEM   the arena could not grow;
 *   ENOSPC   an output buffer is too small.
 */
#ifndef SIPVEIL_SIP_H
#define SIPVEIL_SIP_H

#include <sipveil/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* The header table                                                                           */

enum sip_hdr_flag {
    SIP_HF_LIST = 1u << 0,
    SIP_HF_SINGLE = 1u << 1,
    SIP_HF_PRIV_USER = 1u << 2,
    SIP_HF_PRIV_ID = 1u << 3,
    SIP_HF_PRIV_HEADER = 1u << 4,
    SIP_HF_TRUST_ONLY = 1u << 5,
    SIP_HF_STRIP_FWD = 1u << 6,
    SIP_HF_QUOTED_COMMA = 1u << 7,
};

enum sip_hdr_id {
    SIP_HDR_OTHER = 0, /* a header the table does not name; kept byte for byte */
#define X(id, name, compact, flags) SIP_HDR_##id,
#include <sipveil/sip_hdr.def>
#undef X
    SIP_HDR__N
};

/** Look a header name up, case-insensitively, long or compact form. */
enum sip_hdr_id sip_hdr_lookup(struct sv_slice name);
/** Canonical spelling of @p id ("Via"), or NULL for SIP_HDR_OTHER. */
const char *sip_hdr_name(enum sip_hdr_id id);
/** Compact form letter, or 0. */
char sip_hdr_compact(enum sip_hdr_id id);
/** The SIP_HF_* flags of @p id. */
unsigned sip_hdr_flags(enum sip_hdr_id id);

/* ---------------------------------------------------------------------------------------- */
/* Methods                                                                                    */

enum sip_method {
    SIP_METHOD_OTHER = 0,
    SIP_METHOD_INVITE,
    SIP_METHOD_ACK,
    SIP_METHOD_BYE,
    SIP_METHOD_CANCEL,
    SIP_METHOD_OPTIONS,
    SIP_METHOD_REGISTER,
    SIP_METHOD_PRACK,
    SIP_METHOD_SUBSCRIBE,
    SIP_METHOD_NOTIFY,
    SIP_METHOD_PUBLISH,
    SIP_METHOD_INFO,
    SIP_METHOD_REFER,
    SIP_METHOD_MESSAGE,
    SIP_METHOD_UPDATE,
    SIP_METHOD__N
};

/** Methods are case-sensitive (RFC 3261 §7.1). */
enum sip_method sip_method_lookup(struct sv_slice name);
const char *sip_method_name(enum sip_method m);

/* ---------------------------------------------------------------------------------------- */
/* Limits and errors                                                                          */

/** Size caps, each checked before the work it bounds. */
struct sip_limits {
    size_t max_msg;        /* whole message, headers and body; default 64 KiB */
    unsigned max_headers;  /* header lines; default 256 */
    size_t max_start_line; /* default 8 KiB */
    size_t max_header;     /* one header line, folded lines included; default 8 KiB */
};

extern const struct sip_limits sip_limits_default;

/** Why a message was refused. Strings are static; they never contain message content. */
struct sip_perr {
    const char *reason; /* one line, e.g. "Content-Length: not a number" */
    size_t off;         /* byte offset of the fault in the input, where known */
    uint16_t status;    /* the response code a server would answer with (400, 505...) */
};

enum sip_transport_kind {
    SIP_DGRAM = 0, /* one datagram is one message; octets past Content-Length are ignored */
    SIP_STREAM,    /* TCP/TLS: the message ends where Content-Length says */
};

/**
 * Find the extent of the first message in @p buf.
 *
 * @param mode  SIP_DGRAM or SIP_STREAM.
 * @param msg_len  out: the message length, headers and body (stream: bytes to consume).
 * @return 0; ENODATA (stream only: incomplete, read more); EBADMSG; EMSGSIZE.
 * A datagram that is incomplete is EBADMSG: there is no more to come.
 * Leading CRLFs (keep-alives, RFC 5626 §4.4.1) are not part of a message: see sip_frame_skip_crlf.
 */
int sip_frame(const char *buf, size_t len, enum sip_transport_kind mode,
              const struct sip_limits *lim, size_t *msg_len, struct sip_perr *err);

/** Number of leading CR/LF octets in @p buf (stream keep-alives). */
size_t sip_frame_skip_crlf(const char *buf, size_t len);

/* ---------------------------------------------------------------------------------------- */
/* Parameters: ";name=value" lists, decoded on demand from a raw slice                        */

struct sip_param {
    struct sv_slice name;
    struct sv_slice value; /* unset (p == NULL) when the parameter has no "=value";
                              quoted values keep their quotes */
};

/**
 * Next parameter of a ";a=b;c" list. @p cur is advanced; it may start with or without ';'.
 * @return 0, ENOENT at the end, EBADMSG.
 */
int sip_param_next(struct sv_slice *cur, struct sip_param *prm);
/** Find parameter @p name (case-insensitive). @return true if present; @p val may be NULL. */
bool sip_param_get(struct sv_slice params, const char *name, struct sv_slice *val);

/* ---------------------------------------------------------------------------------------- */
/* URIs (RFC 3261 §19.1, RFC 3966)                                                            */

enum sip_uri_scheme {
    SIP_URI_SIP = 0,
    SIP_URI_SIPS,
    SIP_URI_TEL,
    SIP_URI_OTHER, /* an absoluteURI of another scheme; only scheme and raw are set */
};

enum sip_host_type {
    SIP_HOST_NONE = 0,
    SIP_HOST_DOMAIN,
    SIP_HOST_IPV4,
    SIP_HOST_IPV6, /* host holds the reference with its brackets, "[2001:db8::1]" */
};

struct sip_uri {
    struct sv_slice raw; /* the whole URI */
    enum sip_uri_scheme scheme;
    struct sv_slice scheme_s;
    struct sv_slice user;     /* still %-escaped; tel: the telephone-subscriber number */
    struct sv_slice password; /* unset if absent */
    struct sv_slice host;
    enum sip_host_type host_type;
    uint16_t port; /* 0 when absent */
    bool has_port;
    struct sv_slice params;  /* ";..." after hostport (tel: after the number); may be empty */
    struct sv_slice headers; /* after '?', without it; unset if absent */
};

/** Decode one URI; @p s must be exactly the URI. @return 0 or EBADMSG. */
int sip_uri_decode(struct sip_uri *uri, struct sv_slice s);
/**
 * Compare two URIs by the rules of RFC 3261 §19.1.4 (sip/sips) or RFC 3966 §4 (tel).
 * Different schemes never match. Undecodable escapes compare unequal.
 */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b);
/**
 * %-unescape @p s into @p dst (not NUL-terminated).
 * @return 0, ENOSPC, or EBADMSG on a bad escape. *@p n receives the decoded length.
 */
int sip_unescape(struct sv_slice s, char *dst, size_t dstsz, size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* Addresses: name-addr / addr-spec with header parameters                                    */

struct sip_addr {
    struct sv_slice raw;   /* the whole element, trimmed */
    struct sv_slice dname; /* display name without quotes (escapes kept); unset if absent */
    bool dname_quoted;
    bool angle;            /* the URI was in <...> */
    struct sv_slice uri_s; /* the URI text */
    struct sip_uri uri;
    struct sv_slice params; /* ";..." header parameters after the URI; may be empty */
    struct sv_slice tag;    /* the tag parameter's value; unset if absent */
};

/** Decode one name-addr or addr-spec (From, To, Reply-To, P-Called-Party-ID ...). */
int sip_addr_decode(struct sip_addr *addr, struct sv_slice s);
/**
 * Next element of a comma list of addresses (Route, Record-Route, Path, Service-Route,
 * P-Asserted-Identity, P-Preferred-Identity, P-Associated-URI). Commas inside quotes and
 * angle brackets do not split. @return 0, ENOENT at the end, EBADMSG.
 */
int sip_addr_next(struct sv_slice *cur, struct sip_addr *addr);

struct sip_contact {
    struct sip_addr addr; /* unset when star */
    bool star;            /* "Contact: *" */
    uint32_t expires;
    bool has_expires;
    uint16_t q; /* q-value times 1000 (0..1000) */
    bool has_q;
};

int sip_contact_next(struct sv_slice *cur, struct sip_contact *c);

/* ---------------------------------------------------------------------------------------- */
/* Via                                                                                        */

struct sip_via {
    struct sv_slice raw;
    struct sv_slice proto;     /* "SIP" */
    struct sv_slice version;   /* "2.0" */
    struct sv_slice transport; /* "UDP", "TCP", "TLS", "SCTP", "WS", or any token */
    struct sv_slice host;
    enum sip_host_type host_type;
    uint16_t port;
    bool has_port;
    struct sv_slice params;
    struct sv_slice branch;   /* unset if absent */
    struct sv_slice received; /* unset if absent */
    struct sv_slice maddr;    /* unset if absent */
    bool rport;               /* rport present, with or without value */
    uint16_t rport_val;       /* 0 when rport has no value */
    int ttl;                  /* -1 when absent */
};

/** Next via-parm of a Via value (several may share a line). @return 0, ENOENT, EBADMSG. */
int sip_via_next(struct sv_slice *cur, struct sip_via *via);
/** True if the branch starts with the RFC 3261 magic cookie "z9hG4bK". */
bool sip_via_branch_is_rfc3261(const struct sip_via *via);

/* ---------------------------------------------------------------------------------------- */
/* Scalars                                                                                    */

struct sip_cseq {
    uint32_t num; /* < 2**31 (RFC 3261 §8.1.1.5) */
    struct sv_slice method;
    enum sip_method mid;
};

int sip_cseq_decode(struct sip_cseq *cs, struct sv_slice s);
/** Call-ID: word ["@" word]. */
int sip_callid_decode(struct sv_slice *out, struct sv_slice s);
/** An unsigned decimal header value (Max-Forwards 255, Content-Length, Expires...). */
int sip_uint_decode(uint32_t *out, struct sv_slice s, uint32_t max);

struct sip_ctype {
    struct sv_slice type, subtype;
    struct sv_slice params;
};

int sip_ctype_decode(struct sip_ctype *ct, struct sv_slice s);
/** "type/subtype" comparison, case-insensitive. */
bool sip_ctype_is(const struct sip_ctype *ct, const char *type, const char *subtype);

/**
 * Next token of a comma list (Require, Proxy-Require, Supported, Unsupported, Allow,
 * Allow-Events, SIP-If-Match...). Parameters after a token, if any, are left in the token's
 * slice. @return 0, ENOENT, EBADMSG.
 */
int sip_token_next(struct sv_slice *cur, struct sv_slice *tok);

/* ---------------------------------------------------------------------------------------- */
/* Privacy (RFC 3323 §4.2, RFC 3325 §9.3; requirements R1-R4)                                  */

enum sip_priv {
    SIP_PRIV_NONE = 1u << 0,
    SIP_PRIV_HEADER = 1u << 1,
    SIP_PRIV_SESSION = 1u << 2,
    SIP_PRIV_USER = 1u << 3,
    SIP_PRIV_ID = 1u << 4,
    SIP_PRIV_CRITICAL = 1u << 5,
    SIP_PRIV_HISTORY = 1u << 6, /* RFC 7044; an extension this system does not perform */
};

#define SIP_PRIV_MAX_TOKENS 16

struct sip_privacy {
    unsigned bits; /* SIP_PRIV_* of the known values seen */
    unsigned ntok; /* all values, in received order */
    struct sv_slice tok[SIP_PRIV_MAX_TOKENS];
    unsigned tok_bit[SIP_PRIV_MAX_TOKENS]; /* the SIP_PRIV_* of tok[i], 0 when unknown */
    unsigned nunknown;
    bool duplicate; /* some value occurred twice */
};

void sip_privacy_init(struct sip_privacy *pv);
/**
 * Add the values of one Privacy header line to @p pv (call once per line). Values are split
 * on ';' and, as erratum 5184 allows, on ','. @return 0; EBADMSG for an empty value, an
 * illegal character or more than SIP_PRIV_MAX_TOKENS values (R4: answer 400).
 */
int sip_privacy_decode(struct sip_privacy *pv, struct sv_slice s);
/** Decode every Privacy line of @p msg. ENOENT if there is none. */
struct sip_msg;
int sip_privacy_get(struct sip_privacy *pv, const struct sip_msg *msg);
/**
 * Write the canonical form (R1, R2): lower case, ';' without spaces, each known value once,
 * unknown tokens preserved in order, `critical` last. @return 0 or ENOSPC.
 */
int sip_privacy_print(const struct sip_privacy *pv, char *buf, size_t sz, size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* Authentication headers (RFC 3261 §20.7/§20.27/§20.28/§20.44, RFC 3310, RFC 8760)           */

struct sip_auth {
    struct sv_slice scheme; /* "Digest", or any other scheme */
    struct sv_slice params; /* the raw auth-param list */
    /* Digest parameters, values without their quotes (escapes kept); unset if absent */
    struct sv_slice username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc;
    struct sv_slice stale, domain, auts, integrity_protected;
};

/** Decode Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate. */
int sip_auth_decode(struct sip_auth *au, struct sv_slice s);
/** Next auth-param (name=token or name="quoted"); the value keeps no quotes. */
int sip_auth_param_next(struct sv_slice *cur, struct sip_param *prm);

/* ---------------------------------------------------------------------------------------- */
/* Events (RFC 6665, RFC 3903)                                                                */

struct sip_event {
    struct sv_slice type;    /* "presence.winfo" */
    struct sv_slice package; /* "presence" */
    struct sv_slice templ;   /* "winfo"; empty if none */
    struct sv_slice id;      /* the id parameter; unset if absent */
    struct sv_slice params;
};

int sip_event_decode(struct sip_event *ev, struct sv_slice s);

enum sip_substate_value {
    SIP_SUBSTATE_OTHER = 0,
    SIP_SUBSTATE_ACTIVE,
    SIP_SUBSTATE_PENDING,
    SIP_SUBSTATE_TERMINATED,
};

struct sip_substate {
    struct sv_slice value;
    enum sip_substate_value state;
    struct sv_slice reason; /* unset if absent */
    uint32_t expires, retry_after;
    bool has_expires, has_retry_after;
    struct sv_slice params;
};

int sip_substate_decode(struct sip_substate *ss, struct sv_slice s);
/** SIP-ETag and SIP-If-Match: one token. */
int sip_etag_decode(struct sv_slice *tag, struct sv_slice s);

/* ---------------------------------------------------------------------------------------- */
/* Security agreement (RFC 3329, TS 33.203)                                                   */

struct sip_secmech {
    struct sv_slice raw;
    struct sv_slice mech;   /* "ipsec-3gpp", "tls", "digest", ... */
    struct sv_slice params; /* alg, ealg, spi-c, spi-s, port-c, port-s, prot, mod, q, d-alg... */
};

/** Next mechanism of Security-Client/Server/Verify. */
int sip_secmech_next(struct sv_slice *cur, struct sip_secmech *sm);

/* ---------------------------------------------------------------------------------------- */
/* Opaque values with parameters: P-Access-Network-Info, P-Charging-Vector,                   */
/* P-Visited-Network-ID, P-Charging-Function-Addresses ...                                    */

struct sip_pvalue {
    struct sv_slice raw;
    struct sv_slice value;  /* up to the first ';' outside quotes; may be empty */
    struct sv_slice params; /* the rest */
};

/** Next element of a comma list of values with parameters (a single value: call once). */
int sip_pvalue_next(struct sv_slice *cur, struct sip_pvalue *pv);

/* ---------------------------------------------------------------------------------------- */
/* The message                                                                                */

#define SIP_HDR_END 0xffffu

struct sip_hdr {
    struct sv_slice name;  /* as on the wire */
    struct sv_slice value; /* trimmed; may hold folded CRLF+WS */
    uint32_t off;          /* offset of the line in msg->raw */
    uint32_t len;          /* length of the line, its CRLF (or LF) included */
    uint16_t id;           /* enum sip_hdr_id */
    uint16_t next;         /* index of the next header with the same id, or SIP_HDR_END */
};

struct sip_msg {
    struct sv_slice raw; /* the framed message; slices below point into it */
    struct sv_arena *arena;

    bool req;
    struct sv_slice start; /* the start line without its line end */
    /* request line */
    struct sv_slice method;
    enum sip_method mid;
    struct sv_slice ruri_s;
    struct sip_uri ruri;
    /* response line */
    uint16_t scode;
    struct sv_slice reason;
    struct sv_slice version; /* "SIP/2.0" */

    struct sip_hdr *hdrv;
    unsigned hdrc;
    uint16_t first[SIP_HDR__N]; /* index of the first header of each id, or SIP_HDR_END */
    uint16_t count[SIP_HDR__N]; /* lines of each id */
    uint32_t hdr_end;           /* offset of the empty line that ends the headers */
    struct sv_slice body;

    /* decoded during the scan */
    struct sip_via via; /* the top Via */
    struct sip_addr from, to;
    struct sip_cseq cseq;
    struct sv_slice callid;
    uint32_t max_forwards;
    bool has_max_forwards;
    uint32_t clen;
    bool has_clen;
};

/**
 * Frame, scan and decode the first message of @p buf. The message and its header index
 * come from @p arena; the slices point into @p buf, which must outlive the message.
 *
 * @return 0 (*@p msgp set, msg->raw.l octets consumed); ENODATA (stream: need more);
 *         EBADMSG or EMSGSIZE with @p err filled; ENOMEM. When a request's request line or
 *         a header decoder fails after the scan (EBADMSG), *@p msgp is set anyway with what
 *         was decoded, so that a server can still answer 400 if Via, Call-ID and CSeq are
 *         usable; in every other case it is untouched.
 */
int sip_msg_parse(struct sip_msg **msgp, struct sv_arena *arena, const char *buf, size_t len,
                  enum sip_transport_kind mode, const struct sip_limits *lim, struct sip_perr *err);

/**
 * Copy parsed message @p src for @p bytes, a copy of its src->raw.l octets, without a parse:
 * *@p dst with its header index in @p hv (room for src->hdrc lines), every slice pointing
 * into @p bytes, dst->arena NULL. Equal to what sip_msg_parse of @p bytes gives.
 */
void sip_msg_copy(struct sip_msg *dst, struct sip_hdr *hv, const struct sip_msg *src,
                  const char *bytes);

/**
 * Copy parsed Via @p src for @p bytes, a copy of its src->raw.l octets, without a parse: every
 * slice of *@p dst points into @p bytes (all of a Via's slices lie within its raw).
 */
void sip_via_copy(struct sip_via *dst, const struct sip_via *src, const char *bytes);

/** First header line of @p id, or NULL. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id);
/** The next line with the same id as @p h, or NULL. */
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *msg, const struct sip_hdr *h);
/** First header line whose name equals @p name (any header, known or not), or NULL. */
const struct sip_hdr *sip_msg_hdr_byname(const struct sip_msg *msg, struct sv_slice name);

/* ---------------------------------------------------------------------------------------- */
/* Semantic checks (RFC 3261 §8.2, §16.3)                                                     */

enum sip_check_role {
    SIP_CHECK_UAS = 0, /* checks any SIP element makes */
    SIP_CHECK_PROXY,   /* plus Max-Forwards 0 (483) and Proxy-Require (420) */
};

struct sip_check_opts {
    enum sip_check_role role;
    const char *const *supported; /* NULL-terminated option tags we support; NULL: none */
};

struct sip_status {
    uint16_t code;      /* 0 when the message passes */
    const char *reason; /* static reason phrase, e.g. "Bad Request (CSeq method mismatch)" */
    struct sv_slice unsupported; /* for 420: the first unsupported option tag */
};

/**
 * Check a parsed message against RFC 3261 §8.2 and §16.3: version (505), mandatory headers,
 * single-value headers given twice, CSeq method vs request method, Request-URI scheme (416),
 * Content-Length vs body, and for proxies Max-Forwards (483) and Proxy-Require (420).
 * Only the caller decides whether to answer. @return 0 if it passes, else EPROTO and @p st.
 */
int sip_msg_check(const struct sip_msg *msg, const struct sip_check_opts *opts,
                  struct sip_status *st);

/* ---------------------------------------------------------------------------------------- */
/* Edits and serializing                                                                      */

struct sip_edit {
    uint32_t off;         /* byte range of the original message that this edit replaces */
    uint32_t len;         /* 0 for an insertion */
    struct sv_slice text; /* the replacement; may be empty (delete) */
    uint32_t seq;         /* order of recording, to keep insertions at one point stable */
};

struct sip_edits {
    const struct sip_msg *msg;
    struct sv_arena *arena; /* the edits and their texts live here */
    struct sip_edit *v;
    unsigned n, cap;
    bool body_set;
    struct sv_slice body; /* the new body when body_set */
};

void sip_edits_init(struct sip_edits *ed, const struct sip_msg *msg, struct sv_arena *arena);
/** Replace any byte range of the original message. The lowest-level edit. */
int sip_edit_range(struct sip_edits *ed, struct sv_slice orig, struct sv_slice text);
/** Delete a whole header line. */
int sip_edit_hdr_del(struct sip_edits *ed, const struct sip_hdr *h);
/** Delete every line of @p id. */
int sip_edit_hdr_del_all(struct sip_edits *ed, enum sip_hdr_id id);
/** Replace the value of a header line, keeping its name as written. */
int sip_edit_hdr_set(struct sip_edits *ed, const struct sip_hdr *h, struct sv_slice value);
/**
 * Delete one element of a comma-list line; @p elem must point into @p h's value (as the
 * list iterators return it). The comma that separated it goes too. Deleting the only element
 * deletes the line.
 */
int sip_edit_elem_del(struct sip_edits *ed, const struct sip_hdr *h, struct sv_slice elem);
/** Insert "Name: value\r\n" before line @p before, or at the end of the headers if NULL. */
int sip_edit_hdr_insert(struct sip_edits *ed, const struct sip_hdr *before, const char *name,
                        struct sv_slice value);
/** Insert "Name: value\r\n" directly after the start line (top Via, Record-Route...). */
int sip_edit_hdr_prepend(struct sip_edits *ed, const char *name, struct sv_slice value);
/** Replace the whole start line (without its line end). */
int sip_edit_start_set(struct sip_edits *ed, struct sv_slice line);
/** Replace the Request-URI. */
int sip_edit_ruri_set(struct sip_edits *ed, struct sv_slice uri);
/**
 * Replace the part of an address header before its parameters (display name and URI),
 * keeping every header parameter, the tag included, byte for byte. @p addr must come from
 * decoding line @p h.
 */
int sip_edit_addr_set(struct sip_edits *ed, const struct sip_hdr *h, const struct sip_addr *addr,
                      struct sv_slice name_addr);
/** Replace the body; Content-Length is rewritten (or added) on serializing. */
int sip_edit_body_set(struct sip_edits *ed, struct sv_slice body);
/** Insert "Via: SIP/2.0/<transport> <host>:<port>;branch=<branch>" on top. */
int sip_edit_via_push(struct sip_edits *ed, const char *transport, struct sv_slice hostport,
                      struct sv_slice branch);

/**
 * Write @p msg with @p ed applied (NULL: no edits) into @p buf.
 * Edits that fall inside a range another edit deletes or replaces are dropped: deletion wins.
 * @return 0, or ENOSPC (*@p n then holds the size needed).
 */
int sip_msg_print(const struct sip_msg *msg, const struct sip_edits *ed, char *buf, size_t sz,
                  size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* Building messages                                                                          */

/** RFC 3261 branch: "z9hG4bK" + 22 random base-32 characters. @p buf >= 32 octets. */
void sip_branch_gen(char *buf, size_t sz);
/** A random tag for To/From, 16 characters; @p buf >= 17 octets. */
void sip_tag_gen(char *buf, size_t sz);

/**
 * Build a response to @p req (RFC 3261 §8.2.6): copies every Via, From, To, Call-ID and CSeq,
 * adds @p totag to To when To has no tag and the code is above 100, then @p extra (complete
 * header lines, each ending in CRLF; may be empty), then Content-Length: 0.
 * @return 0 or ENOSPC (*@p n holds the size needed).
 */
int sip_resp_build(const struct sip_msg *req, uint16_t code, const char *reason,
                   struct sv_slice totag, struct sv_slice extra, char *buf, size_t sz, size_t *n);

/**
 * Build the CANCEL for a client transaction's request (RFC 3261 §9.1): same Request-URI,
 * top Via, From, To, Call-ID, CSeq number and Route set.
 */
int sip_cancel_build(const struct sip_msg *req, char *buf, size_t sz, size_t *n);
/**
 * Build the ACK for a non-2xx final response @p resp to INVITE @p req (RFC 3261 §17.1.1.3):
 * as CANCEL, with To taken from the response.
 */
int sip_ack_build(const struct sip_msg *req, const struct sip_msg *resp, char *buf, size_t sz,
                  size_t *n);

#ifdef __cplusplus
}
#endif
#endif
