/**
 * @file slice.c  Slice helpers: comparison, trimming, number decoding.
 */
#include <errno.h>
#include <sipveil/core.h>

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

bool sv_slice_eq(struct sv_slice a, struct sv_slice b)
{
    return a.l == b.l && (a.l == 0 || memcmp(a.p, b.p, a.l) == 0);
}

bool sv_slice_caseeq(struct sv_slice a, struct sv_slice b)
{
    if (a.l != b.l)
        return false;
    for (size_t i = 0; i < a.l; i++) {
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    }
    return true;
}

static inline bool is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct sv_slice sv_slice_trim(struct sv_slice s)
{
    while (s.l && is_lws(s.p[0])) {
        s.p++;
        s.l--;
    }
    while (s.l && is_lws(s.p[s.l - 1]))
        s.l--;
    return s;
}

const char *sv_slice_chr(struct sv_slice s, char c)
{
    return s.l ? memchr(s.p, c, s.l) : NULL;
}

size_t sv_fmt_u32(char *buf, uint32_t v)
{
    char tmp[SV_U32_DIGITS];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

static const char hexdig[] = "0123456789abcdef";

size_t sv_fmt_hex32(char *buf, uint32_t v)
{
    size_t n = 1;

    for (uint32_t x = v >> 4; x; x >>= 4)
        n++;
    for (size_t i = n; i-- > 0; v >>= 4)
        buf[i] = hexdig[v & 15u];
    return n;
}

size_t sv_fmt_hex64(char *buf, uint64_t v)
{
    for (size_t i = 16; i-- > 0; v >>= 4)
        buf[i] = hexdig[v & 15u];
    return 16;
}

int sv_slice_u32(struct sv_slice s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;

    if (!s.l)
        return EINVAL;
    for (size_t i = 0; i < s.l; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < '0' || c > '9')
            return EINVAL;
        v = v * 10 + (c - '0');
        if (v > max)
            return ERANGE;
    }
    *out = (uint32_t)v;
    return 0;
}

bool sv_slice_copy_fit(char *dst, size_t sz, struct sv_slice s)
{
    if (s.l >= sz)
        return false;
    if (s.l)
        memcpy(dst, s.p, s.l);
    dst[s.l] = '\0';
    return true;
}

size_t sv_slice_copy_cut(char *dst, size_t sz, struct sv_slice s)
{
    size_t n = s.l < sz - 1 ? s.l : sz - 1;

    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
    return n;
}
