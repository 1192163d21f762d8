/**
 * @file timer.c  Timers: a hierarchical timing wheel with 1 ms ticks.
 *
 * Four levels of 256 slots. Level L holds the timers whose expiry falls in the same
 * 2^(8(L+1)) ms block as the wheel's cursor but not in the same 2^(8L) ms block, at slot
 * (expires >> 8L) & 255; level 3 holds everything farther. So a level-0 slot holds the timers
 * of exactly one millisecond, and when the cursor enters a new block of level L (L >= 1), that
 * level's slot for the block is moved down ("cascaded") to the levels below. Each timer moves
 * at most three times, plus once per 2^32 ms it lies beyond the top level's reach (see below),
 * so expiry is O(1) amortised; start and cancel are O(1) outright.
 *
 * Placing by the blocks the expiry shares with the cursor, rather than by the distance to it,
 * is what keeps timers of the same millisecond in start order: all of them are always in one
 * slot list, appended in the order they were started, and a cascade moves a list in order
 * into slots that cannot yet hold timers of that millisecond.
 *
 * Slot lists are circular and doubly linked through the timer's next/pprev, each around a
 * sentinel timer owned by the wheel. That lets sv_timer_cancel, which is given no wheel,
 * unlink in O(1), and lets it notice when it empties a slot: the sentinel is the only node
 * whose next points to itself, and it carries the wheel and the slot number, so the occupancy
 * bitmaps stay exact. Those bitmaps let sv_wheel_run jump straight to the next non-empty slot
 * instead of stepping through idle milliseconds.
 *
 * Time: the wheel's time `now` is the latest time given to sv_wheel_alloc or sv_wheel_run,
 * and every start, including one from a handler, counts its delay from it. The cursor `cur`
 * is the millisecond whose level-0 slot fires next; it equals `now` between runs and walks
 * from the old time up to `now` during a run. The timers of one millisecond are detached into
 * the wheel's `batch` list before their handlers run, so a timer a handler starts for that
 * same millisecond (delay 0 while the run is at its last millisecond) waits for the next run
 * instead of looping forever.
 *
 * Beyond reach: a delay is at most 2^32 - 1 ms, but during a run the cursor may be far behind
 * `now` (a long jump), so an expiry can lie more than 2^32 ms past the cursor. Level 3 indexes
 * its slots modulo 256 and a cascade of a level-3 slot puts the timers that belong to a later
 * lap straight back into that slot, in order; nothing is lost, nothing fires early.
 *
 * Times are milliseconds of a monotonic clock (sv_now_ms), so far below 2^63 that the block
 * arithmetic here never overflows.
 */
#include <assert.h>
#include <errno.h>
#include <time.h>
#include <sipveil/core.h>

#define LEVELS 4
#define SLOT_BITS 8
#define SLOTS (1u << SLOT_BITS)
#define SLOT_MASK (SLOTS - 1)
#define WORDS (SLOTS / 64)
/* The longest list sv_wheel_next_ms scans for the exact minimum; above it, a lower bound. */
#define NEXT_SCAN_MAX 64
/* The sentinel of w->batch: not a slot, so emptying it clears no bit. */
#define BATCH_ID UINT64_MAX

struct sv_wheel {
    uint64_t now;                 /* the wheel's time: what delays count from */
    uint64_t cur;                 /* the millisecond whose level-0 slot fires next; cur <= now */
    bool running;                 /* inside sv_wheel_run */
    uint64_t started_min;         /* earliest expiry started since sv_wheel_take_started_min */
    uint64_t bits[LEVELS][WORDS]; /* bit set: that slot's list is not empty */
    /* Sentinels: h NULL, arg the wheel, expires the slot number (level * 256 + index). */
    struct sv_timer slot[LEVELS][SLOTS];
    struct sv_timer batch; /* the millisecond being fired, detached from its slot */
};

/* ---- lists ---- */

static void list_init(struct sv_timer *s, struct sv_wheel *w, uint64_t id)
{
    s->next = s;
    s->pprev = &s->next;
    s->expires = id;
    s->h = NULL;
    s->arg = w;
}

static bool list_empty(const struct sv_timer *s)
{
    return s->next == s;
}

/* The last node's next field is where s->pprev points. */
static void list_append(struct sv_timer *s, struct sv_timer *t)
{
    t->next = s;
    t->pprev = s->pprev;
    *s->pprev = t;
    s->pprev = &t->next;
}

/* ---- occupancy bitmaps ---- */

static void bit_set(struct sv_wheel *w, unsigned level, unsigned idx)
{
    w->bits[level][idx >> 6] |= UINT64_C(1) << (idx & 63);
}

static void bit_clear(struct sv_wheel *w, unsigned level, unsigned idx)
{
    w->bits[level][idx >> 6] &= ~(UINT64_C(1) << (idx & 63));
}

/* The first set bit of @p level at an index in [from, 256), or -1. */
static int bit_next(const struct sv_wheel *w, unsigned level, unsigned from)
{
    for (unsigned i = from >> 6; from < SLOTS && i < WORDS; i++) {
        uint64_t m = w->bits[level][i];

        if (i == from >> 6)
            m &= ~UINT64_C(0) << (from & 63);
        if (m)
            return (int)(i * 64 + (unsigned)__builtin_ctzll(m));
    }
    return -1;
}

/* ---- placement ---- */

/* The level of expiry @p e seen from cursor @p cur (e >= cur): the lowest level whose parent
 * block holds both. */
static unsigned level_of(uint64_t e, uint64_t cur)
{
    uint64_t x = e ^ cur;

    if (x < (UINT64_C(1) << 8))
        return 0;
    if (x < (UINT64_C(1) << 16))
        return 1;
    if (x < (UINT64_C(1) << 24))
        return 2;
    return 3;
}

static void place(struct sv_wheel *w, struct sv_timer *t)
{
    unsigned level = level_of(t->expires, w->cur);
    unsigned idx = (unsigned)(t->expires >> (level * SLOT_BITS)) & SLOT_MASK;

    list_append(&w->slot[level][idx], t);
    bit_set(w, level, idx);
}

/* ---- public: timers ---- */

/**
 * The monotonic clock in milliseconds.
 * @return milliseconds of CLOCK_MONOTONIC
 */
uint64_t sv_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/**
 * Make a timer idle. A timer must be initialised (or zeroed) once before its first start.
 * @param t the timer
 */
void sv_timer_init(struct sv_timer *t)
{
    t->next = NULL;
    t->pprev = NULL;
    t->expires = 0;
    t->h = NULL;
    t->arg = NULL;
}

/**
 * Whether @p t is waiting to fire. False inside its own handler (it is idle by then).
 * @param t the timer
 * @return true if started and neither fired nor cancelled since
 */
bool sv_timer_active(const struct sv_timer *t)
{
    return t->pprev != NULL;
}

/**
 * Stop @p t if it runs; no wheel needed, O(1). Safe on an idle timer and from any handler,
 * also on a timer due in the same millisecond as the one whose handler is running.
 * @param t the timer
 */
void sv_timer_cancel(struct sv_timer *t)
{
    struct sv_timer *nx = t->next;

    if (!t->pprev)
        return;
    *t->pprev = nx;
    nx->pprev = t->pprev;
    t->next = NULL;
    t->pprev = NULL;
    /* Only a sentinel can point to itself: t was alone in its slot, whose bit goes. */
    if (nx->next == nx && nx->expires != BATCH_ID) {
        struct sv_wheel *w = nx->arg;

        bit_clear(w, (unsigned)(nx->expires >> SLOT_BITS), (unsigned)nx->expires & SLOT_MASK);
    }
}

/**
 * (Re)start @p t to call @p h(@p arg) once, @p delay_ms after the wheel's time (the last time
 * given to sv_wheel_run). A running timer is moved, and goes after every timer already due in
 * the same millisecond. O(1); allocates nothing.
 * @param w the wheel
 * @param t the timer, initialised; it must stay in place until it fires or is cancelled
 * @param delay_ms delay in ms; values above 2^32 - 1 are clamped to it
 * @param h the handler; runs inside sv_wheel_run with @p t already idle
 * @param arg the handler's argument
 */
void sv_timer_start(struct sv_wheel *w, struct sv_timer *t, uint64_t delay_ms, sv_timer_h *h,
                    void *arg)
{
    sv_timer_cancel(t);
    if (delay_ms > UINT32_MAX)
        delay_ms = UINT32_MAX;
    t->expires = w->now > UINT64_MAX - delay_ms ? UINT64_MAX : w->now + delay_ms;
    t->h = h;
    t->arg = arg;
    if (t->expires < w->started_min)
        w->started_min = t->expires;
    place(w, t);
}

/* ---- public: the wheel ---- */

/**
 * Allocate a wheel whose time starts at @p now_ms (usually sv_now_ms()).
 * @param wp receives the wheel on success
 * @param now_ms the starting time, ms
 * @return 0, EINVAL without @p wp, or ENOMEM
 */
int sv_wheel_alloc(struct sv_wheel **wp, uint64_t now_ms)
{
    struct sv_wheel *w;

    if (!wp)
        return EINVAL;
    w = sv_calloc(1, sizeof(*w));
    if (!w)
        return ENOMEM;
    for (unsigned l = 0; l < LEVELS; l++)
        for (unsigned i = 0; i < SLOTS; i++)
            list_init(&w->slot[l][i], w, l * SLOTS + i);
    list_init(&w->batch, w, BATCH_ID);
    w->now = now_ms;
    w->cur = now_ms;
    w->started_min = UINT64_MAX;
    *wp = w;
    return 0;
}

/* Make every timer of list @p s idle, without running it. */
static void list_detach_all(struct sv_timer *s)
{
    struct sv_timer *t = s->next;

    while (t != s) {
        struct sv_timer *nx = t->next;

        t->next = NULL;
        t->pprev = NULL;
        t = nx;
    }
    s->next = s;
    s->pprev = &s->next;
}

/**
 * Free the wheel. Timers still on it become idle and their handlers never run, so their
 * owners may free them afterwards. Not from inside one of its handlers.
 * @param w the wheel, or NULL
 */
void sv_wheel_free(struct sv_wheel *w)
{
    if (!w)
        return;
    assert(!w->running);
    for (unsigned l = 0; l < LEVELS; l++)
        for (unsigned i = 0; i < SLOTS; i++)
            list_detach_all(&w->slot[l][i]);
    list_detach_all(&w->batch);
    sv_free(w);
}

/* Move the timers of slot (level, idx) to where they belong now that the cursor entered its
 * block, in list order. A level-3 timer of a later lap lands back in the same slot. */
static void cascade(struct sv_wheel *w, unsigned level, unsigned idx)
{
    struct sv_timer *s = &w->slot[level][idx];
    struct sv_timer *t = s->next;

    if (t == s)
        return;
    s->next = s;
    s->pprev = &s->next;
    bit_clear(w, level, idx);
    /* The old chain still ends at s; each node is relinked before we look at the next. */
    while (t != s) {
        struct sv_timer *nx = t->next;

        place(w, t);
        t = nx;
    }
}

/* Run the timers of millisecond w->cur, in start order. @return how many ran. */
static unsigned fire(struct sv_wheel *w)
{
    unsigned idx = (unsigned)w->cur & SLOT_MASK;
    struct sv_timer *s = &w->slot[0][idx], *b = &w->batch;
    unsigned n = 0;

    if (list_empty(s))
        return 0;
    /* Splice the whole slot into the batch: handlers may cancel any of them meanwhile. */
    b->next = s->next;
    b->next->pprev = &b->next;
    b->pprev = s->pprev;
    *b->pprev = b;
    s->next = s;
    s->pprev = &s->next;
    bit_clear(w, 0, idx);

    while (!list_empty(b)) {
        struct sv_timer *t = b->next;

        sv_timer_cancel(t); /* idle before its handler, so the handler may restart it */
        t->h(t->arg);
        n++;
    }
    return n;
}

/*
 * The next millisecond after w->cur at which something is to do: a non-empty level-0 slot,
 * or the first millisecond of the block of a non-empty slot above. The lower level always
 * wins: its candidates lie in the current block of the level above. Sets *levelp and *idxp to
 * the slot found. Returns the millisecond, or UINT64_MAX when the wheel is empty.
 */
static uint64_t next_tick(const struct sv_wheel *w, unsigned *levelp, unsigned *idxp)
{
    uint64_t cur = w->cur;
    int i;

    for (unsigned l = 0; l < LEVELS - 1; l++) {
        unsigned shift = l * SLOT_BITS;

        i = bit_next(w, l, ((unsigned)(cur >> shift) & SLOT_MASK) + 1);
        if (i >= 0) {
            *levelp = l;
            *idxp = (unsigned)i;
            return (cur >> (shift + SLOT_BITS) << (shift + SLOT_BITS)) | ((uint64_t)i << shift);
        }
    }
    /* Level 3 wraps: the next slot after the cursor's, up to and including the cursor's own
     * (which can only hold timers of a later lap). */
    unsigned c3 = (unsigned)(cur >> 24) & SLOT_MASK;

    i = bit_next(w, 3, c3 + 1);
    if (i < 0)
        i = bit_next(w, 3, 0);
    if (i < 0)
        return UINT64_MAX;
    *levelp = 3;
    *idxp = (unsigned)i;
    unsigned k = ((unsigned)i - c3 - 1) % SLOTS + 1; /* 1..256 blocks ahead */
    return ((cur >> 24) + k) << 24;
}

/**
 * Advance the wheel to @p now_ms and run, earliest first, every timer due by then; timers of
 * the same millisecond run in the order they were started. Empty stretches are skipped in one
 * step, so a long idle jump is cheap. Handlers may start and cancel any timer; a timer they
 * start with delay 0 while the run is at @p now_ms runs in the next call. Calling this from a
 * handler does nothing.
 * @param w the wheel
 * @param now_ms the current time, ms; an earlier time than the wheel's counts as the wheel's
 * @return the number of handlers run
 */
unsigned sv_wheel_run(struct sv_wheel *w, uint64_t now_ms)
{
    unsigned n = 0;

    if (w->running)
        return 0;
    w->running = true;
    if (now_ms > w->now)
        w->now = now_ms;
    for (;;) {
        unsigned level, idx;
        uint64_t next;

        n += fire(w);
        if (w->cur >= w->now)
            break;
        next = next_tick(w, &level, &idx);
        if (next > w->now) {
            /* Nothing due up to now: no slot between here and there needs a cascade. */
            w->cur = w->now;
            break;
        }
        w->cur = next;
        /* The cursor entered the block of slot (level, idx). The levels below are empty (their
         * candidates would have come first), and placing never fills the current slot of
         * level 1 or 2, so this one cascade is all the boundary needs. (Level 3's current
         * slot can hold later laps; next_tick counts those 256 blocks ahead.) */
        if (level > 0)
            cascade(w, level, idx);
    }
    w->running = false;
    return n;
}

/* The smallest expiry on list @p s if it has at most NEXT_SCAN_MAX timers, else @p bound. */
static uint64_t list_min(const struct sv_timer *s, uint64_t bound)
{
    uint64_t m = UINT64_MAX;
    unsigned n = 0;

    for (const struct sv_timer *t = s->next; t != s; t = t->next) {
        if (++n > NEXT_SCAN_MAX)
            return bound;
        if (t->expires < m)
            m = t->expires;
    }
    return m;
}

/**
 * How long the event loop may sleep: the time from the wheel's time to the earliest expiry.
 * Exact when that expiry is within 256 ms or its slot holds at most 64 timers; otherwise the
 * start of its slot's block (the loop wakes early, and the next call is exact). Never late.
 * @param w the wheel
 * @return ms until the next timer is due, 0 if one is due already, UINT64_MAX if none runs
 */
uint64_t sv_wheel_next_ms(const struct sv_wheel *w)
{
    unsigned c0 = (unsigned)w->cur & SLOT_MASK, level = 0, idx = 0;
    uint64_t e;
    int i;

    if (!list_empty(&w->batch))
        return 0; /* called from a handler: the rest of this millisecond is due */
    i = bit_next(w, 0, c0);
    if (i >= 0) {
        e = (w->cur & ~(uint64_t)SLOT_MASK) | (uint64_t)i;
    } else {
        e = next_tick(w, &level, &idx);
        if (e == UINT64_MAX)
            return UINT64_MAX;
        e = list_min(&w->slot[level][idx], e);
    }
    return e <= w->now ? 0 : e - w->now;
}

uint64_t sv_wheel_take_started_min(struct sv_wheel *w)
{
    uint64_t m = w->started_min;

    w->started_min = UINT64_MAX;
    return m;
}

uint64_t sv_wheel_time(const struct sv_wheel *w)
{
    return w->now;
}

/**
 * The number of timers on the wheel. Cancelling does not tell the wheel (sv_timer_cancel
 * gets no wheel), so this counts the lists: O(live timers), for tests and statistics.
 * @param w the wheel
 * @return timers started and neither fired nor cancelled
 */
size_t sv_wheel_count(const struct sv_wheel *w)
{
    size_t n = 0;

    for (unsigned l = 0; l < LEVELS; l++) {
        for (unsigned i = 0; i < SLOTS; i++) {
            const struct sv_timer *s = &w->slot[l][i];

            if (!(w->bits[l][i >> 6] & (UINT64_C(1) << (i & 63))))
                continue;
            for (const struct sv_timer *t = s->next; t != s; t = t->next)
                n++;
        }
    }
    for (const struct sv_timer *t = w->batch.next; t != &w->batch; t = t->next)
        n++;
    return n;
}
