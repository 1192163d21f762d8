/**
 * @file cfg.h  Core layer: configuration files described by one declarative table.
 *
 * A program describes its configuration once, as a table of `struct sv_cfg_item`: each key's
 * name, type, where it lives in a C struct (offsetof), its default as YAML text, its bounds,
 * whether a reload may change it, and a sentence of documentation. Everything else derives
 * from that one table, so nothing can drift apart:
 *
 * - loading a YAML file (libyaml) into the struct, with every default applied first;
 * - the errors: unknown keys (a typo must not pass silently), wrong types, values out of
 *   bounds and missing required keys, each as "FILE:LINE:COL: key.path: what is wrong
 *   (expected ...)". Loading goes on after an error and collects up to a maximum, so one run
 *   shows every mistake in the file;
 * - printing the effective configuration (every value, defaults included) as YAML that loads
 *   back to the same thing;
 * - the Markdown reference, one row per key.
 *
 * Types and their C storage:
 *
 *   bool      `bool`       true / false
 *   uint      `uint32_t`   decimal; bounds min..max
 *   duration  `uint32_t`   milliseconds; YAML "500ms", "32s", "5m", "1h" or a bare number of ms
 *   string    `char *`     copied; owned by the config, freed by sv_cfg_free(); never NULL
 *                          after a load ("" when empty); min/max bound its length
 *   enum      `unsigned`   index into the item's NULL-terminated `names`
 *   address   `char *`     "host:port", IPv6 as "[addr]:port"; checked for syntax only and
 *                          kept as text for the caller to resolve (sv_cfg_addr_split). An
 *                          item whose default is "" may be empty (meaning "off").
 *   struct    embedded     a YAML mapping, described by the child table `sub`
 *   list      `T *` + `size_t` count
 *                          a YAML sequence of mappings; the array (sv_calloc'd, elements of
 *                          `elem_size`) is at `off`, its count at `count_off`; min/max bound
 *                          the number of elements
 *
 * For uint, duration, string and list, min == max == 0 means "no bounds".
 * A scalar item whose `def` is NULL is required. Structs are never required (their items'
 * defaults fill them); lists default to empty.
 *
 * Ownership: a loaded config owns its strings and arrays; sv_cfg_free() releases them. The
 * diagnostics (`struct sv_cfg_diag`) own their messages and the positions of every key seen,
 * so that a caller's own checks after loading can still name the file, line and column.
 *
 * Memory comes from sv_malloc, so the out-of-memory paths can be swept with the fault
 * injector (libyaml's own allocations are not injected).
 */
#ifndef SIPVEIL_CFG_H
#define SIPVEIL_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sv_cfg_type {
    SV_CFGT_BOOL = 0,
    SV_CFGT_UINT,
    SV_CFGT_DURATION,
    SV_CFGT_STRING,
    SV_CFGT_ENUM,
    SV_CFGT_ADDRESS,
    SV_CFGT_STRUCT,
    SV_CFGT_LIST,
};

/** The item may change on a reload; without it a changed value needs a restart. */
#define SV_CFG_RELOAD 0x1u

struct sv_cfg_item {
    const char *name; /* the YAML key; NULL ends a table */
    enum sv_cfg_type type;
    size_t off;                    /* offsetof the value in the parent struct */
    const char *def;               /* default as YAML text; NULL: required (scalars only) */
    uint32_t min, max;             /* see the type list above */
    const char *const *names;      /* enum: the values, NULL-terminated */
    const struct sv_cfg_item *sub; /* struct, list: the child table */
    size_t elem_size;              /* list: sizeof one element */
    size_t count_off;              /* list: offsetof the size_t count */
    unsigned flags;                /* SV_CFG_RELOAD */
    const char *doc;               /* one or two sentences for the reference */
};

/*
 * Table rows. The key is the field's name, so the C struct and the YAML file read alike.
 * Each macro checks at compile time that the field has the type its kind stores (a mismatch
 * is an incompatible-pointer diagnostic).
 */
#define SV_CFG__OFF(st, f, T) (offsetof(st, f) + 0 * sizeof((T *){&((st *)0)->f}))

#define SV_CFG_BOOL(st, f, dflt, fl, text)                                                         \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_BOOL, .off = SV_CFG__OFF(st, f, bool), .def = dflt,            \
        .flags = fl, .doc = text                                                                   \
    }
#define SV_CFG_UINT(st, f, dflt, lo, hi, fl, text)                                                 \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_UINT, .off = SV_CFG__OFF(st, f, uint32_t), .def = dflt,        \
        .min = lo, .max = hi, .flags = fl, .doc = text                                             \
    }
#define SV_CFG_DURATION(st, f, dflt, lo, hi, fl, text)                                             \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_DURATION, .off = SV_CFG__OFF(st, f, uint32_t), .def = dflt,    \
        .min = lo, .max = hi, .flags = fl, .doc = text                                             \
    }
/* @p lo and @p hi bound the length */
#define SV_CFG_STRING(st, f, dflt, lo, hi, fl, text)                                               \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_STRING, .off = SV_CFG__OFF(st, f, char *), .def = dflt,        \
        .min = lo, .max = hi, .flags = fl, .doc = text                                             \
    }
#define SV_CFG_ENUM(st, f, values, dflt, fl, text)                                                 \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_ENUM, .off = SV_CFG__OFF(st, f, unsigned), .def = dflt,        \
        .names = values, .flags = fl, .doc = text                                                  \
    }
#define SV_CFG_ADDRESS(st, f, dflt, fl, text)                                                      \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_ADDRESS, .off = SV_CFG__OFF(st, f, char *), .def = dflt,       \
        .flags = fl, .doc = text                                                                   \
    }
#define SV_CFG_STRUCT(st, f, table, fl, text)                                                      \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_STRUCT, .off = offsetof(st, f), .sub = table, .flags = fl,     \
        .doc = text                                                                                \
    }
/* @p f points to elements of type @p et, @p nf is their size_t count; @p lo and @p hi bound it */
#define SV_CFG_LIST(st, f, nf, et, table, lo, hi, fl, text)                                        \
    {                                                                                              \
        .name = #f, .type = SV_CFGT_LIST, .off = SV_CFG__OFF(st, f, et *), .min = lo, .max = hi,   \
        .sub = table, .elem_size = sizeof(et), .count_off = SV_CFG__OFF(st, nf, size_t),           \
        .flags = fl, .doc = text                                                                   \
    }
#define SV_CFG_END                                                                                 \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/** Errors kept when sv_cfg_diag_init() is given 0. */
#define SV_CFG_MAX_ERRORS 20

/** Where a key (or a list element) was seen: "nodes[1].listeners[0].tls". */
struct sv_cfg_pos {
    char *path;         /* owned */
    unsigned line, col; /* 1-based */
};

/** What loading found: error messages and the position of every key. Treat as read-only. */
struct sv_cfg_diag {
    char *file;    /* the name errors carry; owned */
    unsigned max;  /* messages kept */
    unsigned nerr; /* errors found, kept or not */
    unsigned nkept;
    char **errv;             /* nkept messages "FILE:LINE:COL: path: text", owned */
    struct sv_cfg_pos *posv; /* owned */
    size_t posc, poscap;
    bool oom; /* a message or a position could not be stored */
};

/** Start empty diagnostics that keep up to @p max messages (0: SV_CFG_MAX_ERRORS). */
void sv_cfg_diag_init(struct sv_cfg_diag *d, unsigned max);
void sv_cfg_diag_close(struct sv_cfg_diag *d);
/** Print the kept messages, one a line, and how many more were found but not kept. */
void sv_cfg_diag_print(const struct sv_cfg_diag *d, FILE *f);
/**
 * Record an error about @p path (e.g. "nodes[0].listeners[1].tls.cert") at the position the
 * loader saw it, or, when that key is absent, at its nearest present ancestor: for the
 * caller's own checks after a successful load.
 */
void sv_cfg_errorf(struct sv_cfg_diag *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** The position of @p path or its nearest present ancestor. @return 0 or ENOENT. */
int sv_cfg_pos_find(const struct sv_cfg_diag *d, const char *path, unsigned *line, unsigned *col);

/**
 * Load the YAML file @p path into @p obj, described by @p t.
 * @return 0; EINVAL when the file has errors (in @p d); ENOMEM; or the errno of reading it
 *         (also reported in @p d). On any failure @p obj holds nothing to free.
 */
int sv_cfg_load_file(const struct sv_cfg_item *t, void *obj, const char *path,
                     struct sv_cfg_diag *d);
/** Load YAML text; @p name is the file name errors carry. Same contract as sv_cfg_load_file. */
int sv_cfg_load_mem(const struct sv_cfg_item *t, void *obj, const char *name, const char *text,
                    size_t len, struct sv_cfg_diag *d);
/** Release what a load stored in @p obj and zero those fields. Safe on a zeroed struct. */
void sv_cfg_free(const struct sv_cfg_item *t, void *obj);
/** Whether two loaded configs hold the same values. */
bool sv_cfg_equal(const struct sv_cfg_item *t, const void *a, const void *b);
/**
 * Whether @p b changes a key of @p a that a reload may not change (no SV_CFG_RELOAD); the
 * first such key's path goes into @p path ("nodes[0].listeners[1].address").
 */
bool sv_cfg_fixed_diff(const struct sv_cfg_item *t, const void *a, const void *b, char *path,
                       size_t sz);

/** Print every value of @p obj as YAML that loads back to the same. @return 0 or EIO. */
int sv_cfg_print(const struct sv_cfg_item *t, const void *obj, FILE *f);
/** The Markdown reference table of @p t: one row per key. @return 0 or EIO. */
int sv_cfg_markdown(const struct sv_cfg_item *t, FILE *f);

/**
 * Split "host:port" or "[v6addr]:port" (the address type's syntax). @p host receives the host
 * without brackets.
 * @return 0, EINVAL when malformed, ENOSPC when @p host is too small.
 */
int sv_cfg_addr_split(const char *s, char *host, size_t hostsz, uint16_t *port);
/** Parse a duration ("500ms", "32s", "5m", "1h", "250"). @return 0, EINVAL or ERANGE. */
int sv_cfg_duration_parse(const char *s, uint32_t *ms);
/** Format @p ms in the largest unit that divides it exactly. @return @p buf. */
const char *sv_cfg_duration_str(uint32_t ms, char *buf, size_t sz);

#ifdef __cplusplus
}
#endif
#endif
