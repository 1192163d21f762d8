/**
 * @file privacy_dialog.h  The dialog privacy store: what a node performed on a dialog-creating
 * request, kept so that every later message of that dialog gets the same rules (R74-R79).
 *
 * The node that performs privacy on a dialog-creating request (INVITE, SUBSCRIBE, REFER)
 * Record-Routes it (R76) and stores {Call-ID, the From tag of that request, the functions
 * performed}. Every later request, response and 2xx ACK of the dialog, in both directions and
 * with or without a Privacy header, is looked up here by its Call-ID and tags, and the caller
 * hands the result to privacy_decide() as `struct privacy_dialog`. Only tags identify the
 * dialog, never URIs: the anonymous party's From is rewritten but its tag is kept, and the
 * other party's requests carry the anonymous URI in To, which is never "restored" (R75).
 *
 * The state ends with the dialog: a BYE or a terminated subscription (privdlg_end), or a final
 * non-2xx answer to the creating request (privdlg_fail). The entry then lingers for
 * `linger_ms` (64*T1 by default) so the BYE's 200, retransmissions and the ACK of a failure
 * still get the rules; a retransmission is then processed exactly as the first copy was
 * (R77). An entry that never sees an end goes after `lifetime_ms` without traffic.
 *
 * Forking makes the failure case subtle: a final non-2xx from one branch is no end while
 * another branch may still answer 2xx, and the branches a proxy CANCELs after a 2xx answer
 * 487. So a 2xx to the creating request confirms the entry (privdlg_confirm), after which a
 * branch's failure is ignored; and a confirm after a branch's failure revives the entry, or
 * makes it again if its linger ran out while another branch was still ringing.
 *
 * Why one store shared by the workers. Each worker of `sipveil run` has its own event loop,
 * and the kernel spreads datagrams by 4-tuple, so the callee's requests (another address)
 * and a TCP flow accepted by another worker arrive anywhere. The alternative, encoding the
 * owner worker (or the stored functions themselves) in a parameter of our own Record-Route
 * URI and handing messages over, breaks when a peer strips or rewrites that parameter, which
 * would silently fail open: the message would be forwarded with the real identity. A lookup
 * by Call-ID and tags needs nothing from the peer but what RFC 3261 §12 makes it keep, and
 * works for any flow on any worker. So this is the one structure on the message path that
 * threads share, and it is built so that sharing costs nearly nothing:
 *   - a hash table keyed by Call-ID, split into PRIVDLG_STRIPES stripes, each with its own
 *     mutex and its own fixed bucket array (one chain per dialog at max_dialogs, at most
 *     PRIVDLG_MAX_CHAINS chains in all: it never grows, so no rehash ever runs under a lock). There is no global lock; two workers contend only when
 *     their Call-IDs fall in the same stripe, 1 in 256, and then for a few hundred ns;
 *   - the hash is SipHash with a key drawn from the kernel at alloc, so a peer cannot aim
 *     Call-IDs at one stripe or one chain;
 *   - the entry is allocated before the lock is taken and freed after it is released;
 *   - nothing that points into the store leaves a lock: a lookup copies the state out;
 *   - expired entries are reclaimed by privdlg_sweep(), stripe by stripe, so no lock is held
 *     for more than one stripe's worth of chains (at most PRIVDLG_MAX_CHAINS / 256).
 *
 * The cap on chains keeps a sweep cheap and the table's memory small when max_dialogs is set
 * far above the live set (10 million dialogs would otherwise be 128 MiB of chain heads, all
 * touched by each sweep every 5 s): past 2^20 dialogs chains grow past one entry on average,
 * and only in-dialog requests walk them.
 *
 * Matching. Call-IDs compare byte by byte (RFC 3261 §8.1.1.4, §20.8). Tags are tokens, and
 * tokens compare case-insensitively (RFC 3261 §7.3.1, as the transaction layer also does), so
 * a lookup finds the dialog whatever case the peer uses. Because privacy_decide() compares
 * the anonymous tag with the message's tag byte by byte, build the `struct privacy_dialog`
 * with privdlg_found_dialog(), which names the tag as the message spells it.
 *
 * Thread-safety: every function may be called from any thread at once, except
 * privdlg_store_free(), which must be the last call.
 */
#ifndef SIPVEIL_PRIVACY_DIALOG_H
#define SIPVEIL_PRIVACY_DIALOG_H

#include <sipveil/privacy.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Number of independently locked stripes of the store. */
#define PRIVDLG_STRIPES 256
/** The most chain heads the store allocates, over all stripes (8 MiB of pointers). */
#define PRIVDLG_MAX_CHAINS (1u << 20)
/** Longest tag that can be stored (octets). Real tags are 8-40 octets. */
#define PRIVDLG_TAG_MAX 128
/** Longest Call-ID that can be stored (octets). */
#define PRIVDLG_CALLID_MAX 1024
/**
 * Most dialogs stored under one Call-ID (different anonymous tags). Forks of one request share
 * its From tag and so one entry; more than one is rare, more than this is a peer filling a
 * chain that every message of that Call-ID would walk.
 */
#define PRIVDLG_PER_CALLID_MAX 16

struct privdlg_store;

/** Limits of a store. A field left 0 takes its default. */
struct privdlg_conf {
    size_t max_dialogs;   /* entries at most, ended ones included; beyond: ENOSPC.
                             Default 100000 */
    uint32_t lifetime_ms; /* an entry without any put or find for this long goes: the bound
                             for dialogs that never end cleanly. Default 12 h */
    uint32_t linger_ms;   /* after an end event the entry stays this long, so the BYE's 200,
                             retransmissions and the ACK still get the rules. Default 32 s
                             (64*T1) */
};

/** The defaults: 100000 dialogs, 12 h, 32 s. */
extern const struct privdlg_conf privdlg_conf_default;

/** Which tag of a looked-up message is the anonymous party's. */
enum privdlg_side {
    PRIVDLG_SIDE_FROM = 0, /* its From tag: a request from, or a response to, that party */
    PRIVDLG_SIDE_TO,       /* its To tag: a request to, or a response from, that party */
};

/** What privdlg_find() copies out of the store. */
struct privdlg_found {
    unsigned funcs;         /* SIP_PRIV_ID and/or SIP_PRIV_USER performed on the creating
                               request, ORed over its puts */
    enum privdlg_side side; /* which tag of the message matched */
    size_t tag_len;
    char tag_buf[PRIVDLG_TAG_MAX]; /* the anonymous tag as stored (the first put's case);
                                      not NUL-terminated */
};

/**
 * Make a store.
 * @param sp  out: the store, set only on success.
 * @param c   limits; NULL: privdlg_conf_default.
 * @return 0, EINVAL, ENOMEM, or the error of the kernel's random source.
 */
int privdlg_store_alloc(struct privdlg_store **sp, const struct privdlg_conf *c);

/** Free a store and every entry in it. No other call may run on it now or later. NULL: no-op. */
void privdlg_store_free(struct privdlg_store *s);

/**
 * Store the privacy state of a dialog-creating request whose verdict performed something.
 * Call it before forwarding the request: on an error the node cannot keep the dialog's rules,
 * so it must not forward the request as if it could (answer 500 or 503 instead; R76).
 *
 * A second put for the same Call-ID and anonymous tag (a retransmission, a fork, or the
 * request re-sent with credentials after a 401/407 ended the first one) keeps the entry: it
 * ORs @p funcs in, revives it if it was ended, and restarts its lifetime.
 *
 * @param s         the store
 * @param call_id   the request's Call-ID; copied
 * @param anon_tag  the request's From tag, the anonymous party; copied
 * @param funcs     privacy_verdict.performed
 * @param now_ms    the current time (sv_now_ms())
 * @return 0; EINVAL for a NULL store or an absent or empty Call-ID or tag; EMSGSIZE for a
 *         Call-ID above PRIVDLG_CALLID_MAX or a tag above PRIVDLG_TAG_MAX; ENOSPC when
 *         max_dialogs entries exist, or PRIVDLG_PER_CALLID_MAX under this Call-ID; ENOMEM.
 */
int privdlg_put(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice anon_tag,
                unsigned funcs, uint64_t now_ms);

/**
 * A 2xx response to the dialog-creating request (from any branch): as privdlg_put(), and the
 * entry is marked confirmed, so that privdlg_fail() no longer ends it. If a branch's failure
 * had ended it, it is revived; if its linger had run out, it is made again from @p funcs.
 * @param s         the store
 * @param call_id   the response's Call-ID; copied if the entry is made again
 * @param anon_tag  the response's From tag (the creating request's); copied likewise
 * @param funcs     the functions performed on the creating request (as given to the put)
 * @param now_ms    the current time
 * @return as privdlg_put().
 */
int privdlg_confirm(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice anon_tag,
                    unsigned funcs, uint64_t now_ms);

/**
 * Find the dialog of a message: same Call-ID, and a stored anonymous tag equal to the
 * message's From tag or its To tag (the From tag wins if both name a stored dialog). A hit
 * that has not ended restarts the entry's lifetime. Expired entries are never found.
 *
 * @param s         the store
 * @param call_id   the message's Call-ID
 * @param from_tag  the message's From tag (unset: none)
 * @param to_tag    the message's To tag (unset: none)
 * @param now_ms    the current time
 * @param out       out: the state, copied (no pointer into the store escapes); may be NULL
 * @return whether the dialog was found; false for bad arguments too.
 */
bool privdlg_find(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice from_tag,
                  struct sv_slice to_tag, uint64_t now_ms, struct privdlg_found *out);

/**
 * The end of the dialog of a message (a BYE, a NOTIFY or SUBSCRIBE that terminates the
 * subscription): the entry matched as in privdlg_find() lingers linger_ms, then goes, even if
 * confirmed. A repeated end (a retransmitted BYE) does not extend the linger. Unknown dialogs
 * are ignored.
 *
 * Forked INVITEs: all dialogs of one request share its From tag and so one entry; the first
 * of them to end starts the linger for all. Answer extra 2xx with a BYE, as UAs do.
 *
 * @return whether an entry was found.
 */
bool privdlg_end(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice from_tag,
                 struct sv_slice to_tag, uint64_t now_ms);

/**
 * A final non-2xx response to the dialog-creating request, from any branch (call it for each;
 * the proxy need not know whether it is the one that goes upstream): the entry lingers as
 * after privdlg_end(), unless a 2xx confirmed it (privdlg_confirm), in which case this is a
 * losing or CANCELled branch and changes nothing.
 * @param s         the store
 * @param call_id   the response's Call-ID
 * @param anon_tag  the response's From tag (the creating request's)
 * @param now_ms    the current time
 * @return whether an entry was found.
 */
bool privdlg_fail(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice anon_tag,
                  uint64_t now_ms);

/**
 * Remove the entries expired at @p now_ms. Call it every few seconds from one thread (the
 * process thread); it locks one stripe at a time and frees outside the locks.
 * @return how many entries went.
 */
size_t privdlg_sweep(struct privdlg_store *s, uint64_t now_ms);

/** Entries in the store, expired ones not yet swept included (a relaxed atomic read). */
size_t privdlg_count(const struct privdlg_store *s);

/**
 * The `struct privacy_dialog` to pass to privacy_decide() for a message that privdlg_find()
 * matched: the stored functions, and as anon_tag the matching tag of the message itself, so
 * that the engine's byte comparison agrees with the store's case-insensitive one.
 * @param f         what privdlg_find() returned for the message
 * @param from_tag  the message's From tag, as given to privdlg_find()
 * @param to_tag    the message's To tag, as given to privdlg_find()
 * @return the dialog state; its anon_tag borrows from the message.
 */
static inline struct privacy_dialog privdlg_found_dialog(const struct privdlg_found *f,
                                                         struct sv_slice from_tag,
                                                         struct sv_slice to_tag)
{
    struct privacy_dialog d;

    d.funcs = f->funcs;
    d.anon_tag = f->side == PRIVDLG_SIDE_FROM ? from_tag : to_tag;
    return d;
}

#ifdef __cplusplus
}
#endif
#endif
