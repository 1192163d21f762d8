/**
 * @file privacy_li.h  Lawful interception (LI) in the privacy layer: the target set, the sink
 * that records what a node saw before it withheld an identity, and the sink file's verifier.
 *
 * The big idea: before a node removes or anonymises the identity of a message that concerns
 * an LI target (privacy_decide() says so with PRIVACY_F_LI_EVENT, R62), the caller writes one
 * record of the *unedited* message to the sink, and forwards only once li_sink_write() has
 * returned 0. The order is the whole guarantee: write, fsync, then forward. If the record
 * cannot be made durable the message is not forwarded (the caller answers 500), so every
 * message that left a node with an identity withheld has its record on disk, and a record
 * whose message never left is at worst a harmless extra.
 *
 * The sink file is JSON Lines: one record per line, each a JSON object ending in "\n", in a
 * regular file of mode 0600 owned by the process's user. Version 1 of a record has exactly
 * these keys, in this order:
 *
 *   "v"          1
 *   "time"       RFC 3339 UTC with milliseconds, "2026-12-04T17:00:00.123Z"
 *   "node"       the node name given by the caller
 *   "kind"       "request" or "response"
 *   "status"     responses only: the status code, a number
 *   "method"     the request method; for a response, the method of its CSeq
 *   "call_id"    the Call-ID, or null when the message has none
 *   "pai"        array: every P-Asserted-Identity element, as received (a line that does not
 *                decode contributes its remaining text as one element)
 *   "from"       the From header value as received (display name, URI, tag), or null
 *   "ruri"       requests only: the Request-URI as received
 *   "source"     the address the message came from, "ip:port" as given, or null
 *   "performed"  array of the privacy functions this node performs on the message: "id",
 *                "user", "header", "session", "critical", "history", "none"
 *
 * Strings are escaped as JSON requires ('"', '\\', control characters), DEL as \u007f, and
 * every byte that is not part of a well-formed UTF-8 sequence as \u00XX (XX the byte). Valid
 * UTF-8 is written as is, so the file is always valid UTF-8. The one ambiguity: a lone byte
 * 0xE9 and a well-formed "é" both decode to U+00E9 in a JSON parser; the file's text keeps them
 * apart (\u00e9 against the raw two bytes) for whoever needs the exact octets.
 *
 * LI content never goes to the ordinary log or to metrics: the sink logs its own failures
 * (an alarm, with the path and the error) and nothing of any record. Even a count of records
 * would tell a log reader that interception is active, so there is none.
 */
#ifndef SIPVEIL_PRIVACY_LI_H
#define SIPVEIL_PRIVACY_LI_H

#include <sipveil/sip.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Targets                                                                                    */

/**
 * A set of target identities, built once from configuration and then only read, so any
 * number of threads may match against one set without a lock.
 *
 * sip: and sips: URIs name one identity by user and host (RFC 3261 §19.1.4: the user part
 * case-sensitive after %-unescaping, the host case-insensitive, IP addresses by value); the
 * scheme, port and parameters do not matter, so sip:alice@home1.net and
 * sips:alice@HOME1.net;transport=tcp are one identity. tel: URIs (RFC 3966 §4) compare by their
 * digits with the visual separators - . ( ) ignored; a local number also by its phone-context.
 * A sip: URI with user=phone names the telephone number of its user part as well, on either
 * side, so sip:+4930111001@home1.net;user=phone and tel:+49-30-111-001 are one identity.
 */
struct li_targets;

/** The longest identity, in octets after normalising, that a target set accepts. */
#define LI_TARGET_MAX 256

/**
 * Build a target set.
 *
 * @param tp   out: the set; set only on success. Free it with li_targets_free().
 * @param ids  @p n URIs, "sip:user@host", "sips:...", or "tel:+number" (NUL-terminated,
 *             borrowed for the call). A sip/sips URI must have a user part.
 * @param n    how many; 0 gives an empty set that matches nothing.
 * @param bad  out, may be NULL: on EINVAL the index of the first identity refused.
 * @return 0; EINVAL for a NULL argument or an identity that is not such a URI, or longer than
 *         LI_TARGET_MAX once normalised (*@p bad says which); ENOMEM.
 */
int li_targets_alloc(struct li_targets **tp, const char *const *ids, size_t n, size_t *bad);

void li_targets_free(struct li_targets *t);

/** The number of distinct identities in @p t (duplicates count once). */
size_t li_targets_count(const struct li_targets *t);

/**
 * Whether one identity, as a URI text (no angle brackets), is in the set. A URI that does not
 * decode is in no set.
 */
bool li_targets_has(const struct li_targets *t, struct sv_slice uri);

/**
 * Whether @p m concerns a target: the Request-URI (requests), From, To, any element of any
 * P-Asserted-Identity or P-Preferred-Identity line, P-Called-Party-ID or P-Served-User names
 * one. Elements that do not decode are skipped. The caller decides this once for the
 * dialog-creating request and stores it with the dialog, so that every later request and
 * response of that dialog counts as the target's too (their headers may no longer say so).
 *
 * @return false also for a NULL argument.
 */
bool li_targets_match(const struct li_targets *t, const struct sip_msg *m);

/* ---------------------------------------------------------------------------------------- */
/* The sink                                                                                   */

/** What one record says. Every pointer is borrowed for the call. */
struct li_record {
    const char *node;          /* the node name; NULL is written as "" */
    const struct sip_msg *msg; /* the message as received, BEFORE any privacy edit */
    const char *source;        /* "ip:port" of the peer it came from; NULL: unknown (null) */
    unsigned performed;        /* SIP_PRIV_* this node performs: privacy_verdict.performed */
    uint64_t time_ms;          /* wall clock, ms since the Unix epoch; 0: now */
};

/**
 * One open sink file. Worker threads may share one sink: li_sink_write() takes a mutex only
 * around the append itself (and the repair of a failed one), and syncs outside it, so records
 * never interleave and one slow fsync does not hold the others' appends.
 *
 * One process writes a sink file, through one struct li_sink: a second writer (another process,
 * or a second li_sink_open of the same path) would defeat the repair of a short write below.
 */
struct li_sink;

/**
 * Open (or create) the sink file at @p path for appending.
 *
 * A new file is created with mode 0600 (whatever the umask) and its directory is synced, so
 * that it survives a crash. An existing file is refused with EPERM, and an alarm in the log,
 * when group or others may access it or another user owns it: records would already be
 * readable by whoever else can read it. A symbolic link as the last component is refused
 * (ELOOP), and anything but a regular file (EINVAL): fsync must mean "on disk".
 *
 * If the process that last wrote the file was killed in the middle of a record, the file ends
 * in an incomplete line. That record was never completed, so the message it describes was
 * never forwarded: the incomplete tail is cut off here (a warning with the number of octets),
 * and every line of the file is again a complete record.
 *
 * @param sp    out: the sink; set only on success.
 * @param path  the file; copied.
 * @return 0; EINVAL; EPERM; ELOOP; ENOMEM; or the errno of open/fstat/read/ftruncate/fsync.
 */
int li_sink_open(struct li_sink **sp, const char *path);

/**
 * Append one record and make it durable: the caller forwards the message only on 0.
 *
 * The record is formatted first, then appended with write(2) (O_APPEND; one call unless the
 * kernel writes less), then fdatasync(2)'d. A short write is continued under the mutex until
 * the record is whole; if the file refuses the rest (ENOSPC, EDQUOT, EFBIG, EIO), the file is
 * truncated back to its length before the record, so that no partial line is left for the next
 * record to be glued onto. Should even that truncation fail, the sink remembers it and retries
 * the truncation before its next record, refusing records (with the error) until it succeeds.
 *
 * @return 0 (the record is on disk); EINVAL for a NULL argument or a record without message;
 *         ENOMEM; or the errno of the failed write, truncate or sync (the message must not be
 *         forwarded: answer 500). Each failure is logged as an alarm, at most once a second,
 *         without any record content.
 */
int li_sink_write(struct li_sink *s, const struct li_record *r);

/** The path the sink was opened with (for the caller's own messages). */
const char *li_sink_path(const struct li_sink *s);

/** Close the sink (NULL is fine). Records already returned 0 for are on disk. */
void li_sink_close(struct li_sink *s);

/**
 * Format one record exactly as li_sink_write() would write it, "\n" included, for tests and
 * tools. @p buf receives at most @p sz octets and is NUL-terminated when there is room.
 *
 * @param n  out: the record's length without the NUL.
 * @return 0; ENOSPC (*@p n holds the length needed); EINVAL.
 */
int li_record_format(const struct li_record *r, char *buf, size_t sz, size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* The verifier (`sipveil li verify`)                                                         */

/**
 * Check that every line of the sink file @p path is one complete version-1 record: valid JSON
 * (UTF-8, no duplicate keys), an object with exactly the keys above, each of its type, "time"
 * in the form the writer uses, "status" 100-699 on responses, "performed" from the known names.
 * The last line must end in "\n": a file that does not is one whose writer was killed mid-record
 * and that no sink has reopened since.
 *
 * @param nrecords  out: the number of complete records (before the bad line, on EBADMSG).
 * @param bad_line  out, may be NULL: on EBADMSG the 1-based number of the first bad line.
 * @param why       out, may be NULL: on EBADMSG what is wrong with it, one line, never any of
 *                  the record's content (it may be shown in places LI content must not reach).
 * @param whysz     the size of @p why.
 * @return 0: well-formed; EBADMSG: a bad line; EINVAL; ENOMEM; or the errno of open/read.
 */
int li_verify_file(const char *path, size_t *nrecords, size_t *bad_line, char *why, size_t whysz);

#ifdef __cplusplus
}
#endif
#endif
