/**
 * @file core.h  Core layer: slices, the per-message arena, refcounted objects, logging.
 *
 * A slice (`struct sv_slice`) is a pointer and a length into memory that somebody else owns,
 * usually the receive buffer of a SIP message. Slices never own and are never NUL-terminated:
 * the parser hands out slices instead of copies, so parsing a message allocates nothing but
 * its header index. Anything that must outlive the buffer is copied by its owner.
 *
 * The arena (`struct sv_arena`) is the scratch memory of one message: a bump allocator over a
 * caller-supplied block, with heap overflow chunks only when that block is exhausted. Reset
 * it between messages and the parse path makes no heap allocation at all.
 *
 * Refcounted objects (`sv_zalloc`, `sv_ref`, `sv_deref`) carry a destructor that runs when
 * the last reference goes. All heap memory goes through `sv_malloc`, so tests can make the
 * N-th allocation fail (`sv_mem_fail_after`) and sweep every out-of-memory path.
 */
#ifndef SIPVEIL_CORE_H
#define SIPVEIL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Slices                                                                                     */

struct sv_slice {
    const char *p; /* not owned; not NUL-terminated; NULL when absent */
    size_t l;
};

/** A slice over a string literal. */
#define SV_LIT(s) ((struct sv_slice){(s), sizeof(s) - 1})
/** printf arguments for "%.*s". */
#define SV_FMT(s) (int)(s).l, (s).p

static inline struct sv_slice sv_slice_make(const char *p, size_t l)
{
    struct sv_slice s = {p, l};
    return s;
}

static inline struct sv_slice sv_slice_cstr(const char *s)
{
    return sv_slice_make(s, s ? strlen(s) : 0);
}

static inline bool sv_slice_isset(struct sv_slice s)
{
    return s.p != NULL;
}

bool sv_slice_eq(struct sv_slice a, struct sv_slice b);
/** ASCII case-insensitive equality, as SIP tokens compare. */
bool sv_slice_caseeq(struct sv_slice a, struct sv_slice b);
static inline bool sv_slice_caseeq_cstr(struct sv_slice a, const char *s)
{
    /* inline: at the many call sites with a literal, strlen folds to a constant and a length
     * that differs answers without a call (the parser's and the auth decoder's hot path) */
    size_t n = s ? strlen(s) : 0;
    return a.l == n && sv_slice_caseeq(a, sv_slice_make(s, n));
}
/** Strip SP, HT, CR and LF at both ends. */
struct sv_slice sv_slice_trim(struct sv_slice s);
/** Position of the first @p c in @p s, or NULL. */
const char *sv_slice_chr(struct sv_slice s, char c);
/**
 * Decode an unsigned decimal that fills the whole slice.
 * @return 0, EINVAL when not all digits or empty, ERANGE when above @p max.
 */
int sv_slice_u32(struct sv_slice s, uint32_t max, uint32_t *out);
/** Copy @p s into @p dst (@p sz > 0 octets) as a C string, cut to fit. @return octets copied */
size_t sv_slice_copy_cut(char *dst, size_t sz, struct sv_slice s);
/** Copy @p s into @p dst (@p sz octets) as a C string when it fits whole. @return whether it
    did; @p dst is untouched otherwise. */
bool sv_slice_copy_fit(char *dst, size_t sz, struct sv_slice s);

/* Number formatting for the message path, where snprintf's format parsing costs more than the
 * work. No terminating NUL is written; each returns the octets written. */
#define SV_U32_DIGITS 10
/** @p v in decimal into @p buf (room for SV_U32_DIGITS). */
size_t sv_fmt_u32(char *buf, uint32_t v);
/** @p v in lower-case hex without leading zeros into @p buf (room for 8). */
size_t sv_fmt_hex32(char *buf, uint32_t v);
/** @p v in 16 lower-case hex digits, leading zeros kept, into @p buf. @return 16 */
size_t sv_fmt_hex64(char *buf, uint64_t v);

/* ---------------------------------------------------------------------------------------- */
/* Memory                                                                                     */

/** malloc/calloc/realloc/free that honour the fault injector. */
void *sv_malloc(size_t sz);
void *sv_calloc(size_t n, size_t sz);
void *sv_realloc(void *p, size_t sz);
void sv_free(void *p);

/**
 * Make the allocation after @p n more successful ones fail (n = 0: the very next one).
 * A negative @p n turns the injector off. Test-only; not thread-safe.
 */
void sv_mem_fail_after(long n);
/** Number of sv_malloc family calls that succeeded since the process started. */
unsigned long sv_mem_count(void);

typedef void(sv_dtor_h)(void *obj);

/** Allocate a zeroed refcounted object (refcount 1). @return NULL on ENOMEM. */
void *sv_zalloc(size_t sz, sv_dtor_h *dtor);
/** Take a reference. @return @p obj. */
void *sv_ref(void *obj);
/** Drop a reference; runs the destructor and frees at zero. @return NULL, always. */
void *sv_deref(void *obj);
unsigned sv_nrefs(const void *obj);

struct sv_arena_chunk;

/** Per-message bump allocator. Treat as opaque. */
struct sv_arena {
    char *cur, *end;
    char *first;
    size_t first_sz;
    struct sv_arena_chunk *chunks; /* heap overflow, owned */
    size_t used;                   /* bytes handed out since the last reset */
};

/** Start an arena on the caller's block @p buf (may be NULL with @p sz 0). */
void sv_arena_init(struct sv_arena *a, void *buf, size_t sz);
/** Uninitialised, 16-byte aligned memory valid until reset or close. @return NULL on ENOMEM. */
void *sv_arena_alloc(struct sv_arena *a, size_t sz);
void *sv_arena_zalloc(struct sv_arena *a, size_t sz);
/** Copy @p s into the arena. @return the copy, or an unset slice on ENOMEM. */
struct sv_slice sv_arena_dup(struct sv_arena *a, struct sv_slice s);
/** Free the overflow chunks and rewind to the caller's block. */
void sv_arena_reset(struct sv_arena *a);
void sv_arena_close(struct sv_arena *a);

/* ---------------------------------------------------------------------------------------- */
/* Logging                                                                                    */
/*                                                                                            */
/* One line per event: `2026-12-04T17:00:00.123Z notice proxy  [w1 pcscf call=1a2b3c4d        */
/* txn=00ff] message`. The bracket holds the calling thread's context (worker, node, Call-ID  */
/* hash, transaction id), each field only when set, and is left out when none is. Workers set */
/* the context as they pick up a message or a timer and clear it when done, so that every     */
/* line written on the way carries it without being passed down the layers. Each line is     */
/* formatted on the caller's stack and written with one write(2), so lines from concurrent    */
/* threads never interleave. To syslog instead (sv_log_open_syslog) the line is the module,   */
/* the context and the message; syslog adds its own time and the level as the priority.       */

enum sv_log_level {
    SV_LOG_ERR = 0,
    SV_LOG_WARN,
    SV_LOG_NOTICE,
    SV_LOG_INFO,
    SV_LOG_DEBUG,
};

/**
 * The current threshold; messages above it cost one comparison. Worker threads read it while
 * a reload may change it, so read it through sv_log_enabled (a relaxed atomic load, a plain
 * load on every target we build for) and change it with sv_log_set_level.
 */
extern enum sv_log_level sv_log_threshold;

/** Whether a line at @p lvl would be written. */
static inline bool sv_log_enabled(enum sv_log_level lvl)
{
    return lvl <= __atomic_load_n(&sv_log_threshold, __ATOMIC_RELAXED);
}

void sv_log_set_level(enum sv_log_level lvl);
/** Parse "err", "warn", "notice", "info" or "debug". @return 0 or EINVAL. */
int sv_log_level_parse(const char *s, enum sv_log_level *lvl);
/** Write one line (no level test: the sv_log macro does it). errno is left as it was. */
void sv_log_write(enum sv_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * Set the calling thread's context: @p node (borrowed until the next set or clear; NULL:
 * none) and @p callid_hash, an opaque hash of the Call-ID (0: none). The Call-ID itself never
 * goes in: it may carry host names. Resets the transaction id.
 */
void sv_log_ctx_set(const char *node, uint32_t callid_hash);
/** Set the calling thread's transaction id (0: none). */
void sv_log_ctx_txn(uint32_t txn_id);
/** Set the calling thread's worker number, printed `w<n>` (negative: none). */
void sv_log_ctx_worker(int worker);
/** Clear node, Call-ID hash and transaction id of the calling thread; the worker stays. */
void sv_log_ctx_clear(void);

/**
 * Send the log to syslog, with @p ident (copied; at most 63 octets kept, NULL: the program
 * name) and @p facility (LOG_DAEMON, LOG_USER, LOG_LOCAL0..7 of <syslog.h>). Levels become
 * LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO and LOG_DEBUG. Switch targets before the worker
 * threads start: a line written during the switch may go to either.
 * @return 0, EINVAL for a value that is not a facility, or ENOENT when the system has no
 *         syslog socket (/dev/log): the log then stays on standard error.
 */
int sv_log_open_syslog(const char *ident, int facility);
/** Send the log to standard error again (the default), closing syslog if it was open. */
void sv_log_open_stderr(void);

/**
 * Log at @p lvl for module @p mod. The level is checked before the arguments are evaluated.
 * Privacy rule: never pass a URI, display name or body above SV_LOG_DEBUG.
 */
#define sv_log(lvl, mod, ...)                                                                      \
    do {                                                                                           \
        if (sv_log_enabled(lvl))                                                                   \
            sv_log_write((lvl), (mod), __VA_ARGS__);                                               \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Timers: a hierarchical timing wheel                                                        */
/*                                                                                            */
/* Transactions, connections and registrations each carry timers; at 100k live transactions  */
/* every start, cancel and expiry must be O(1). The wheel has millisecond ticks in levels of  */
/* 256 slots (2^32 ms reach); a timer is an intrusive node embedded in its owner, so starting  */
/* one allocates nothing. One wheel per event loop; it is not thread-safe. The loop calls     */
/* sv_wheel_run() with the monotonic time and sleeps at most sv_wheel_next_ms().             */

typedef void(sv_timer_h)(void *arg);

struct sv_timer {
    struct sv_timer *next, **pprev; /* slot list; pprev NULL when idle */
    uint64_t expires;               /* absolute, ms */
    sv_timer_h *h;
    void *arg;
};

struct sv_wheel;

/** Milliseconds of CLOCK_MONOTONIC. */
uint64_t sv_now_ms(void);
/** A wheel whose time starts at @p now_ms. @return 0 or ENOMEM. */
int sv_wheel_alloc(struct sv_wheel **wp, uint64_t now_ms);
/** Free the wheel; timers still on it are detached (they become idle, no handler runs). */
void sv_wheel_free(struct sv_wheel *w);
void sv_timer_init(struct sv_timer *t);
/**
 * (Re)start @p t to call @p h(@p arg) @p delay_ms after the wheel's current time.
 * A timer that is already running is moved. O(1).
 */
void sv_timer_start(struct sv_wheel *w, struct sv_timer *t, uint64_t delay_ms, sv_timer_h *h,
                    void *arg);
/** Stop @p t if it runs. O(1); safe on an idle timer and from inside any handler. */
void sv_timer_cancel(struct sv_timer *t);
bool sv_timer_active(const struct sv_timer *t);
/**
 * Advance the wheel to @p now_ms and run every timer due by then, earliest first. Handlers may
 * start and cancel timers (including their own and ones due in this same run).
 * @return the number of handlers run.
 */
unsigned sv_wheel_run(struct sv_wheel *w, uint64_t now_ms);
/** Milliseconds until the next timer may be due (0 if overdue), or UINT64_MAX if none. */
uint64_t sv_wheel_next_ms(const struct sv_wheel *w);
/**
 * The earliest expiry (absolute, wheel time) of the timers started since the previous call,
 * or UINT64_MAX if none was; the next call counts afresh. A loop that sleeps until a deadline
 * it got from sv_wheel_next_ms need not ask that again (it walks lists) while this stays at or
 * after the deadline: cancelling and running timers never bring the next expiry earlier.
 */
uint64_t sv_wheel_take_started_min(struct sv_wheel *w);
/** Timers currently running. */
size_t sv_wheel_count(const struct sv_wheel *w);
/** The wheel's time: the now_ms of its last run (or of its alloc); timers count from it. */
uint64_t sv_wheel_time(const struct sv_wheel *w);

/* ---------------------------------------------------------------------------------------- */
/* Misc                                                                                       */

/** Fill @p buf with @p n cryptographically random bytes (getrandom). @return 0 or errno. */
int sv_random(void *buf, size_t n);

#define SV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifdef __cplusplus
}
#endif
#endif
