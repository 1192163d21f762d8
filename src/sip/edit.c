/**
 * @file edit.c  Edits of a received message, and the serializer that applies them.
 *
 * Every edit replaces one byte range of the original message with new text: a deletion has
 * empty text, an insertion an empty range. The serializer sorts the edits by position and
 * copies the original bytes between them, so a message without edits comes out byte for byte
 * as it came in, and an edit can never disturb bytes it does not name. When two edits
 * overlap, the one that starts first wins and the other is dropped; insertions at the start
 * of a deleted range are kept, so "delete this line, insert that one here" works.
 */
#include <stdio.h>
#include "sip_int.h"

#define EDITS_INITIAL 8u

void sip_edits_init(struct sip_edits *ed, const struct sip_msg *msg, struct sv_arena *arena)
{
    memset(ed, 0, sizeof(*ed));
    ed->msg = msg;
    ed->arena = arena ? arena : msg->arena;
}

static uint32_t off_of(const struct sip_edits *ed, const char *p)
{
    return (uint32_t)(p - ed->msg->raw.p);
}

static bool in_msg(const struct sip_edits *ed, struct sv_slice s)
{
    const struct sv_slice raw = ed->msg->raw;
    return s.p >= raw.p && s.p + s.l <= raw.p + raw.l;
}

static int push(struct sip_edits *ed, uint32_t off, uint32_t len, struct sv_slice text)
{
    if (ed->n == ed->cap) {
        unsigned ncap = ed->cap ? ed->cap * 2 : EDITS_INITIAL;
        struct sip_edit *nv = sv_arena_alloc(ed->arena, ncap * sizeof(*nv));
        if (!nv)
            return ENOMEM;
        if (ed->n)
            memcpy(nv, ed->v, ed->n * sizeof(*nv));
        ed->v = nv;
        ed->cap = ncap;
    }
    ed->v[ed->n] = (struct sip_edit){off, len, text, ed->n};
    ed->n++;
    return 0;
}

/** Copy the pieces into one arena string. */
static struct sv_slice concat(struct sip_edits *ed, const struct sv_slice *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += parts[i].l;
    char *p = sv_arena_alloc(ed->arena, len);
    if (!p)
        return sv_slice_make(NULL, 0);
    char *q = p;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].l)
            memcpy(q, parts[i].p, parts[i].l);
        q += parts[i].l;
    }
    return sv_slice_make(p, len);
}

/**
 * Replace the bytes @p orig of the original message with @p text (copied).
 * @return 0, EINVAL if @p orig is not inside the message, ENOMEM.
 */
int sip_edit_range(struct sip_edits *ed, struct sv_slice orig, struct sv_slice text)
{
    if (!in_msg(ed, orig))
        return EINVAL;
    struct sv_slice t = text.l ? sv_arena_dup(ed->arena, text) : SV_LIT("");
    if (!t.p)
        return ENOMEM;
    return push(ed, off_of(ed, orig.p), (uint32_t)orig.l, t);
}

int sip_edit_hdr_del(struct sip_edits *ed, const struct sip_hdr *h)
{
    return push(ed, h->off, h->len, SV_LIT(""));
}

int sip_edit_hdr_del_all(struct sip_edits *ed, enum sip_hdr_id id)
{
    int e = 0;
    for (const struct sip_hdr *h = sip_msg_hdr(ed->msg, id); h && !e;
         h = sip_msg_hdr_next(ed->msg, h))
        e = sip_edit_hdr_del(ed, h);
    return e;
}

int sip_edit_hdr_set(struct sip_edits *ed, const struct sip_hdr *h, struct sv_slice value)
{
    return sip_edit_range(ed, h->value, value);
}

/* Does an edit recorded so far delete all of [a, b)? */
static bool is_deleted(const struct sip_edits *ed, const char *a, const char *b)
{
    uint32_t o = off_of(ed, a), e = off_of(ed, b);

    for (unsigned i = 0; i < ed->n; i++) {
        const struct sip_edit *x = &ed->v[i];
        if (x->len && !x->text.l && x->off <= o && x->off + x->len >= e)
            return true;
    }
    return false;
}

/**
 * Delete one element of a comma-list header line, with the comma that separated it.
 *
 * Elements deleted earlier count as gone: the range runs from the element to the next
 * element still present, or else from the end of the previous one still present, so that
 * deleting several elements one by one leaves no stray comma and never lets a deleted element
 * through (a later range covers an earlier one, and the serializer drops covered edits).
 * When no other element is left, the line goes.
 *
 * @param elem  the element, pointing into @p h's value.
 * @return 0, EINVAL, ENOMEM.
 */
int sip_edit_elem_del(struct sip_edits *ed, const struct sip_hdr *h, struct sv_slice elem)
{
    const char *vs = h->value.p, *ve = h->value.p + h->value.l;
    const char *a = elem.p, *b = elem.p + elem.l;
    const char *prev_end = NULL, *next = NULL;

    if (!a || a < vs || b > ve)
        return EINVAL;
    for (const char *p = vs; p < ve;) {
        const char *c = sip__find_unquoted(p, ve, ',');
        struct sv_slice el = sv_slice_trim(sip__span(p, c));
        const char *ee = el.p + el.l;
        if (el.l && !is_deleted(ed, el.p, ee)) {
            if (ee <= a)
                prev_end = ee;
            else if (el.p >= b && !next)
                next = el.p;
        }
        p = c < ve ? c + 1 : ve;
    }
    if (next)
        return push(ed, off_of(ed, a), (uint32_t)(next - a), SV_LIT(""));
    if (prev_end)
        return push(ed, off_of(ed, prev_end), (uint32_t)(b - prev_end), SV_LIT(""));
    return sip_edit_hdr_del(ed, h); /* no other element left */
}

static int insert_at(struct sip_edits *ed, uint32_t off, const char *name, struct sv_slice value)
{
    const struct sv_slice parts[] = {sv_slice_cstr(name), SV_LIT(": "), value, SV_LIT("\r\n")};
    struct sv_slice t = concat(ed, parts, SV_ARRAY_SIZE(parts));
    if (!t.p)
        return ENOMEM;
    return push(ed, off, 0, t);
}

int sip_edit_hdr_insert(struct sip_edits *ed, const struct sip_hdr *before, const char *name,
                        struct sv_slice value)
{
    return insert_at(ed, before ? before->off : ed->msg->hdr_end, name, value);
}

int sip_edit_hdr_prepend(struct sip_edits *ed, const char *name, struct sv_slice value)
{
    const struct sip_msg *msg = ed->msg;
    uint32_t off = msg->hdrc ? msg->hdrv[0].off : msg->hdr_end;
    return insert_at(ed, off, name, value);
}

int sip_edit_start_set(struct sip_edits *ed, struct sv_slice line)
{
    return sip_edit_range(ed, ed->msg->start, line);
}

int sip_edit_ruri_set(struct sip_edits *ed, struct sv_slice uri)
{
    if (!ed->msg->req)
        return EINVAL;
    return sip_edit_range(ed, ed->msg->ruri_s, uri);
}

/**
 * Replace display name and URI of an address, keeping its header parameters.
 * @param addr       decoded from @p h (its slices point into the message).
 * @param name_addr  the new `"Display" <uri>` text.
 */
int sip_edit_addr_set(struct sip_edits *ed, const struct sip_hdr *h, const struct sip_addr *addr,
                      struct sv_slice name_addr)
{
    const char *a = addr->raw.p;
    const char *b = (addr->params.p && addr->params.l) ? addr->params.p : addr->raw.p + addr->raw.l;

    (void)h;
    return sip_edit_range(ed, sip__span(a, b), name_addr);
}

int sip_edit_body_set(struct sip_edits *ed, struct sv_slice body)
{
    const struct sip_msg *msg = ed->msg;
    char num[16];
    int e;

    if (ed->body_set) {
        /* A second body replaces the first. The first call recorded two edits in a row, the
         * body and then Content-Length; make both no-ops, or the first body would win over
         * this one (or, at an empty original body, both would be inserted). */
        for (unsigned i = ed->n - 1; i-- > 0;) {
            struct sip_edit *x = &ed->v[i];
            if (x->text.p == ed->body.p && x->off == off_of(ed, msg->body.p) &&
                x->len == msg->body.l) {
                x[0].len = x[1].len = 0;
                x[0].text = x[1].text = SV_LIT("");
                break;
            }
        }
    }
    e = sip_edit_range(ed, msg->body, body);
    if (e)
        return e;
    ed->body_set = true;
    ed->body = ed->v[ed->n - 1].text;
    int nl = snprintf(num, sizeof(num), "%zu", body.l);
    struct sv_slice n = sv_slice_make(num, (size_t)nl);
    const struct sip_hdr *cl = sip_msg_hdr(msg, SIP_HDR_CONTENT_LENGTH);
    return cl ? sip_edit_hdr_set(ed, cl, n) : sip_edit_hdr_insert(ed, NULL, "Content-Length", n);
}

int sip_edit_via_push(struct sip_edits *ed, const char *transport, struct sv_slice hostport,
                      struct sv_slice branch)
{
    const struct sv_slice parts[] = {SV_LIT("SIP/2.0/"), sv_slice_cstr(transport), SV_LIT(" "),
                                     hostport,           SV_LIT(";branch="),       branch};
    struct sv_slice v = concat(ed, parts, SV_ARRAY_SIZE(parts));
    if (!v.p)
        return ENOMEM;
    return sip_edit_hdr_prepend(ed, "Via", v);
}

/* Order: position, insertions before replacements at the same position, then recording. */
static bool edit_before(const struct sip_edit *a, const struct sip_edit *b)
{
    if (a->off != b->off)
        return a->off < b->off;
    if ((a->len == 0) != (b->len == 0))
        return a->len == 0;
    return a->seq < b->seq;
}

/**
 * Serialize @p msg with the edits @p ed applied.
 *
 * @param ed   the edits, or NULL.
 * @param buf  output; @p sz its size.
 * @param n    out: bytes written, or on ENOSPC the bytes needed.
 * @return 0 or ENOSPC.
 */
int sip_msg_print(const struct sip_msg *msg, const struct sip_edits *ed, char *buf, size_t sz,
                  size_t *n)
{
    const char *raw = msg->raw.p;
    unsigned ne = ed ? ed->n : 0;
    const struct sip_edit *order[64];
    const struct sip_edit **ov = order;
    size_t need = 0, pos = 0, o = 0;

    if (ne > SV_ARRAY_SIZE(order)) {
        ov = sv_arena_alloc(ed->arena, ne * sizeof(*ov));
        if (!ov)
            return ENOMEM;
    }
    /* insertion sort: edit lists are short */
    for (unsigned i = 0; i < ne; i++) {
        unsigned j = i;
        while (j > 0 && edit_before(&ed->v[i], ov[j - 1])) {
            ov[j] = ov[j - 1];
            j--;
        }
        ov[j] = &ed->v[i];
    }
    /* pass 1: size */
    for (unsigned i = 0; i < ne; i++) {
        const struct sip_edit *e = ov[i];
        if (e->off < pos)
            continue;
        need += (e->off - pos) + e->text.l;
        pos = e->off + e->len;
    }
    need += msg->raw.l - pos;
    *n = need;
    if (need > sz)
        return ENOSPC;
    /* pass 2: copy */
    pos = 0;
    for (unsigned i = 0; i < ne; i++) {
        const struct sip_edit *e = ov[i];
        if (e->off < pos)
            continue;
        memcpy(buf + o, raw + pos, e->off - pos);
        o += e->off - pos;
        if (e->text.l)
            memcpy(buf + o, e->text.p, e->text.l);
        o += e->text.l;
        pos = e->off + e->len;
    }
    memcpy(buf + o, raw + pos, msg->raw.l - pos);
    return 0;
}
