/**
 * @file build.c  Messages we write ourselves: responses (RFC 3261 §8.2.6), CANCEL (§9.1),
 * the ACK of a non-2xx final response (§17.1.1.3), branches and tags.
 *
 * Builders copy header values from the request verbatim: whatever we echo back is exactly
 * what the peer sent, which is what its transaction matching expects.
 */
#include <stdio.h>
#include "sip_int.h"

/* An output cursor that keeps counting past the end, so callers learn the size needed. */
struct out {
    char *buf;
    size_t sz, n;
};

static void put(struct out *o, struct sv_slice s)
{
    if (o->n < o->sz && s.l)
        memcpy(o->buf + o->n, s.p, o->n + s.l <= o->sz ? s.l : o->sz - o->n);
    o->n += s.l;
}

static void puts_(struct out *o, const char *s)
{
    put(o, sv_slice_cstr(s));
}

static void put_hdr(struct out *o, const char *name, struct sv_slice value)
{
    puts_(o, name);
    puts_(o, ": ");
    put(o, value);
    puts_(o, "\r\n");
}

static void put_all(struct out *o, const struct sip_msg *msg, enum sip_hdr_id id)
{
    for (const struct sip_hdr *h = sip_msg_hdr(msg, id); h; h = sip_msg_hdr_next(msg, h))
        put_hdr(o, sip_hdr_name(id), h->value);
}

static void put_first(struct out *o, const struct sip_msg *msg, enum sip_hdr_id id)
{
    const struct sip_hdr *h = sip_msg_hdr(msg, id);
    if (h)
        put_hdr(o, sip_hdr_name(id), h->value);
}

static int finish(struct out *o, size_t *n)
{
    *n = o->n;
    return o->n <= o->sz ? 0 : ENOSPC;
}

/**
 * Build a response to @p req.
 * @param totag  the To-tag to add when To has none and @p code > 100; may be unset.
 * @param extra  complete header lines (each with CRLF) to add; may be empty.
 * @return 0 or ENOSPC (*@p n then holds the size needed).
 */
int sip_resp_build(const struct sip_msg *req, uint16_t code, const char *reason,
                   struct sv_slice totag, struct sv_slice extra, char *buf, size_t sz, size_t *n)
{
    struct out o = {buf, sz, 0};
    char line[16];

    /* "SIP/2.0 " and the three digits of a status code (100-699), then a space */
    memcpy(line, "SIP/2.0 ", 8);
    line[8] = (char)('0' + code / 100 % 10);
    line[9] = (char)('0' + code / 10 % 10);
    line[10] = (char)('0' + code % 10);
    line[11] = ' ';
    put(&o, sv_slice_make(line, 12));
    puts_(&o, reason ? reason : "");
    puts_(&o, "\r\n");
    put_all(&o, req, SIP_HDR_VIA);
    put_first(&o, req, SIP_HDR_FROM);
    const struct sip_hdr *to = sip_msg_hdr(req, SIP_HDR_TO);
    if (to) {
        puts_(&o, "To: ");
        put(&o, to->value);
        if (code > 100 && !req->to.tag.p && totag.l) {
            puts_(&o, ";tag=");
            put(&o, totag);
        }
        puts_(&o, "\r\n");
    }
    put_first(&o, req, SIP_HDR_CALL_ID);
    put_first(&o, req, SIP_HDR_CSEQ);
    put(&o, extra);
    puts_(&o, "Content-Length: 0\r\n\r\n");
    return finish(&o, n);
}

/* The common part of CANCEL and ACK (RFC 3261 §9.1, §17.1.1.3). */
static int build_hop(const struct sip_msg *req, const char *method, struct sv_slice to, char *buf,
                     size_t sz, size_t *n)
{
    struct out o = {buf, sz, 0};
    char cseq[16];

    if (!req->req || !req->via.raw.p)
        return EINVAL;
    puts_(&o, method);
    puts_(&o, " ");
    put(&o, req->ruri_s);
    puts_(&o, " SIP/2.0\r\n");
    put_hdr(&o, "Via", req->via.raw); /* only the top via-parm: ours */
    put_all(&o, req, SIP_HDR_ROUTE);
    put_first(&o, req, SIP_HDR_FROM);
    put_hdr(&o, "To", to);
    put_first(&o, req, SIP_HDR_CALL_ID);
    size_t l = sv_fmt_u32(cseq, req->cseq.num);
    cseq[l++] = ' ';
    puts_(&o, "CSeq: ");
    put(&o, sv_slice_make(cseq, l));
    puts_(&o, method);
    puts_(&o, "\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
    return finish(&o, n);
}

int sip_cancel_build(const struct sip_msg *req, char *buf, size_t sz, size_t *n)
{
    const struct sip_hdr *to = sip_msg_hdr(req, SIP_HDR_TO);
    if (!to)
        return EINVAL;
    return build_hop(req, "CANCEL", to->value, buf, sz, n);
}

int sip_ack_build(const struct sip_msg *req, const struct sip_msg *resp, char *buf, size_t sz,
                  size_t *n)
{
    const struct sip_hdr *to = sip_msg_hdr(resp, SIP_HDR_TO);
    if (!to || resp->req || resp->scode < 300)
        return EINVAL;
    return build_hop(req, "ACK", to->value, buf, sz, n);
}

/* Per-thread xorshift generator seeded from the kernel: branches and tags need to be unique
 * and unguessable enough to resist spoofed responses, and we make two per request. */
static _Thread_local uint64_t rng_state;

static uint64_t rng_next(void)
{
    if (!rng_state) {
        if (sv_random(&rng_state, sizeof(rng_state)) || !rng_state)
            rng_state = 0x9e3779b97f4a7c15ull;
    }
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static void rand_chars(char *p, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz012345";
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 12 == 0)
            r = rng_next();
        p[i] = alphabet[r & 31];
        r >>= 5;
    }
}

void sip_branch_gen(char *buf, size_t sz)
{
    static const char cookie[] = "z9hG4bK";
    const size_t total = sizeof(cookie) - 1 + 22;

    if (sz < total + 1) {
        if (sz)
            buf[0] = '\0';
        return;
    }
    memcpy(buf, cookie, sizeof(cookie) - 1);
    rand_chars(buf + sizeof(cookie) - 1, 22);
    buf[total] = '\0';
}

void sip_tag_gen(char *buf, size_t sz)
{
    if (sz < 17) {
        if (sz)
            buf[0] = '\0';
        return;
    }
    rand_chars(buf, 16);
    buf[16] = '\0';
}
