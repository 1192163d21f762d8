/**
 * @file codec.c  base64 and hex for nonces, AUTS and digests.
 *
 * OpenSSL's EVP_DecodeBlock accepts white space and reports padding as zero octets, so a
 * nonce or an auts parameter could decode from more than one text. Ours decodes one canonical
 * text only: anything else in a security parameter is a forgery or a bug, never a spelling.
 */
#include "auth_int.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int auth__b64_encode(const uint8_t *in, size_t n, char *out, size_t sz)
{
    size_t o = 0;

    if (sz < AUTH__B64_LEN(n) + 1)
        return ENOSPC;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = n - i;

        if (left > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode one group of four characters; @p last allows padding. @return octets, or -1. */
static int b64_group(const char *g, bool last, uint8_t o[3])
{
    int pad = 0;
    uint32_t v = 0;

    if (last && g[3] == '=')
        pad = g[2] == '=' ? 2 : 1;
    for (int j = 0; j < 4 - pad; j++) {
        int d = b64_value(g[j]);
        if (d < 0)
            return -1;
        v = v << 6 | (uint32_t)d;
    }
    v <<= 6 * pad;
    if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
        return -1; /* non-zero unused bits: not the canonical text */
    o[0] = (uint8_t)(v >> 16);
    o[1] = (uint8_t)(v >> 8);
    o[2] = (uint8_t)v;
    return 3 - pad;
}

int auth__b64_decode(struct sv_slice s, uint8_t *out, size_t sz, size_t *olen)
{
    size_t n = 0;

    if (!s.p || s.l % 4)
        return EBADMSG;
    for (size_t i = 0; i < s.l; i += 4) {
        uint8_t o[3];
        int k = b64_group(s.p + i, i + 4 == s.l, o);
        if (k < 0)
            return EBADMSG;
        if (n + (size_t)k > sz)
            return ENOSPC;
        memcpy(out + n, o, (size_t)k);
        n += (size_t)k;
    }
    *olen = n;
    return 0;
}

void auth__hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool auth__is_hex(struct sv_slice s, size_t len)
{
    if (!s.p || s.l != len)
        return false;
    for (size_t i = 0; i < s.l; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}
