/**
 * @file auth_int.h  Internals of the auth layer: base64, hex, hashing and HMAC over parts.
 */
#ifndef SIPVEIL_AUTH_INT_H
#define SIPVEIL_AUTH_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <sipveil/auth.h>
#include <sipveil/core.h>

/** Characters of the base64 of @p n octets, with padding, without the NUL. */
#define AUTH__B64_LEN(n) ((((n) + 2) / 3) * 4)

/**
 * Standard base64 (RFC 4648 §4) with padding, NUL-terminated.
 * @return 0 or ENOSPC when @p sz cannot hold the text and its NUL.
 */
int auth__b64_encode(const uint8_t *in, size_t n, char *out, size_t sz);
/**
 * Strict base64 decoding: the standard alphabet, padded to a multiple of four, '=' only at
 * the end, unused bits zero, no white space. @return 0, EBADMSG, or ENOSPC when the octets
 * do not fit in @p sz.
 */
int auth__b64_decode(struct sv_slice s, uint8_t *out, size_t sz, size_t *olen);
/** Lower-case hex of @p n octets into @p out (2n characters and a NUL). */
void auth__hex(const uint8_t *in, size_t n, char *out);
/** Whether @p s is exactly @p len hex digits (either case). */
bool auth__is_hex(struct sv_slice s, size_t len);

/** The hash function of a Digest algorithm. */
const EVP_MD *auth__digest_md(enum auth_digest_alg alg);
/**
 * Hex of H(p[0] ":" p[1] ":" ... ":" p[n-1]), the shape of every Digest hash.
 * @return 0 or EIO when OpenSSL fails.
 */
int auth__hash_join(const EVP_MD *md, const struct sv_slice *p, size_t n,
                    char out[AUTH_DIGEST_HEX_MAX + 1]);
/** HMAC-SHA-256 under @p key over the concatenation of @p p[0..n). @return 0 or EIO. */
int auth__hmac_sha256(const uint8_t *key, size_t klen, const struct sv_slice *p, size_t n,
                      uint8_t out[32]);
/**
 * Check the parts of a Digest answer that do not depend on the nonce: every parameter present,
 * qop=auth, nc of eight hex digits (not zero), a cnonce, a response of the algorithm's length.
 * @return true when well formed; @p nc gets the nonce count.
 */
bool auth__digest_form_ok(const struct auth_digest_resp *cred, enum auth_digest_alg alg,
                          uint32_t *nc);
/**
 * Compare the received response with the one computed from @p ha1, in constant time.
 * @return 0 with @p match set, or an errno from the hashing.
 */
int auth__digest_response_ok(enum auth_digest_alg alg, struct sv_slice ha1,
                             const struct auth_digest_resp *cred, struct sv_slice method,
                             bool *match);
/** Print one challenge: realm, nonce, algorithm, qop, then @p extra (may be empty). */
int auth__challenge_print(struct sv_slice realm, struct sv_slice nonce, enum auth_digest_alg alg,
                          const char *extra, char *buf, size_t sz, size_t *n);

#endif
