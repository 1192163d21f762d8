/**
 * @file test_cfg.c  The generic config loader (core/cfg.c) on small YAML texts: every type,
 * bounds, unknown keys, wrong types, FILE:LINE:COL in errors, lists of structs, defaults,
 * print-then-reload, the Markdown reference, and an out-of-memory sweep.
 */
#include "svtest.h"
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sipveil/cfg.h>

/* ---- a small schema that uses every type ---- */

struct t_tls {
    char *cert;
    bool on;
};

struct t_item {
    char *name;
    uint32_t port;
    struct t_tls tls;
};

struct t_sub {
    uint32_t a;
    uint32_t wait;
};

struct t_conf {
    bool flag;
    uint32_t count;
    uint32_t wait;
    char *label;
    unsigned color;
    char *addr;
    char *opt_addr;
    struct t_sub sub;
    struct t_item *items;
    size_t nitems;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

static const struct sv_cfg_item tls_t[] = {
    SV_CFG_STRING(struct t_tls, cert, "", 0, 0, 0, "Certificate file."),
    SV_CFG_BOOL(struct t_tls, on, "false", 0, "Whether TLS is on."),
    SV_CFG_END,
};

static const struct sv_cfg_item item_t[] = {
    SV_CFG_STRING(struct t_item, name, NULL, 1, 8, 0, "The item's name."),
    SV_CFG_UINT(struct t_item, port, "5060", 1, 65535, SV_CFG_RELOAD, "A port."),
    SV_CFG_STRUCT(struct t_item, tls, tls_t, 0, "TLS | material."),
    SV_CFG_END,
};

static const struct sv_cfg_item sub_t[] = {
    SV_CFG_UINT(struct t_sub, a, "7", 0, 0, 0, "Unbounded."),
    SV_CFG_DURATION(struct t_sub, wait, "1m", 0, 0, 0, "Unbounded duration."),
    SV_CFG_END,
};

static const struct sv_cfg_item conf_t[] = {
    SV_CFG_BOOL(struct t_conf, flag, "true", SV_CFG_RELOAD, "A flag."),
    SV_CFG_UINT(struct t_conf, count, "4", 0, 256, 0, "A count."),
    SV_CFG_DURATION(struct t_conf, wait, "500ms", 10, 60000, SV_CFG_RELOAD, "A wait."),
    SV_CFG_STRING(struct t_conf, label, "none", 0, 0, 0, "A label."),
    SV_CFG_ENUM(struct t_conf, color, colors, "green", 0, "A color."),
    SV_CFG_ADDRESS(struct t_conf, addr, NULL, 0, "Required address."),
    SV_CFG_ADDRESS(struct t_conf, opt_addr, "", 0, "Optional address."),
    SV_CFG_STRUCT(struct t_conf, sub, sub_t, 0, "A mapping."),
    SV_CFG_LIST(struct t_conf, items, nitems, struct t_item, item_t, 0, 3, 0, "Items."),
    SV_CFG_END,
};

/* ---- helpers ---- */

struct fx {
    struct t_conf c;
    struct sv_cfg_diag d;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    sv_cfg_diag_init(&f->d, 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    sv_cfg_free(conf_t, &f->c);
    sv_cfg_diag_close(&f->d);
    free(f);
    return 0;
}

/* Load @p yaml as "t.yaml"; on an unexpected result, print the errors. */
static int load(struct fx *f, const char *yaml)
{
    sv_cfg_free(conf_t, &f->c);
    sv_cfg_diag_close(&f->d);
    int e = sv_cfg_load_mem(conf_t, &f->c, "t.yaml", yaml, strlen(yaml), &f->d);
    for (unsigned i = 0; i < f->d.nkept; i++)
        print_message("  %s\n", f->d.errv[i]);
    return e;
}

static void expect_ok(struct fx *f, const char *yaml)
{
    assert_int_equal(load(f, yaml), 0);
    assert_int_equal(f->d.nerr, 0);
}

/* Expect exactly one error, and that it is @p msg. */
static void expect_error(struct fx *f, const char *yaml, const char *msg)
{
    assert_int_equal(load(f, yaml), EINVAL);
    assert_int_equal(f->d.nerr, 1);
    if (strcmp(f->d.errv[0], msg) != 0)
        print_error("got:    %s\nwanted: %s\n", f->d.errv[0], msg);
    assert_string_equal(f->d.errv[0], msg);
    /* a failed load leaves nothing behind */
    assert_null(f->c.label);
    assert_null(f->c.items);
}

/* Expect exactly one error containing @p part. */
static void expect_error_has(struct fx *f, const char *yaml, const char *part)
{
    assert_int_equal(load(f, yaml), EINVAL);
    assert_int_equal(f->d.nerr, 1);
    if (!strstr(f->d.errv[0], part))
        print_error("error '%s' lacks '%s'\n", f->d.errv[0], part);
    assert_non_null(strstr(f->d.errv[0], part));
}

#define ADDR "addr: 127.0.0.1:5060\n"

/* ---- defaults ---- */

static void defaults_fill_every_absent_key(void **state)
{
    struct fx *f = *state;

    expect_ok(f, ADDR);
    assert_true(f->c.flag);
    assert_int_equal(f->c.count, 4);
    assert_int_equal(f->c.wait, 500);
    assert_string_equal(f->c.label, "none");
    assert_int_equal(f->c.color, 1);
    assert_string_equal(f->c.addr, "127.0.0.1:5060");
    assert_string_equal(f->c.opt_addr, "");
    assert_int_equal(f->c.sub.a, 7);
    assert_int_equal(f->c.sub.wait, 60000);
    assert_null(f->c.items);
    assert_int_equal(f->c.nitems, 0);
}

static void missing_required_key_is_an_error(void **state)
{
    struct fx *f = *state;

    expect_error(f, "flag: false\n",
                 "t.yaml:1:1: addr: missing (required: expected host:port, IPv6 as "
                 "[addr]:port)");
    /* an empty file is an empty mapping: the same error, at 1:1 */
    expect_error(f, "",
                 "t.yaml:1:1: addr: missing (required: expected host:port, IPv6 as "
                 "[addr]:port)");
}

/* ---- each type ---- */

static void bool_accepts_true_false_and_yaml11_words(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v;
        bool want;
    } ok[] = {{"true", true}, {"false", false}, {"True", true}, {"FALSE", false},
              {"yes", true},  {"no", false},    {"on", true},   {"off", false}};
    char y[128];

    for (size_t i = 0; i < SV_ARRAY_SIZE(ok); i++) {
        snprintf(y, sizeof(y), ADDR "flag: %s\n", ok[i].v);
        expect_ok(f, y);
        assert_int_equal(f->c.flag, ok[i].want);
    }
    expect_error(f, ADDR "flag: maybe\n",
                 "t.yaml:2:7: flag: 'maybe' is not valid (expected true or false)");
    expect_error(f, ADDR "flag:\n", "t.yaml:2:6: flag: no value (expected true or false)");
}

static void uint_checks_digits_and_bounds(void **state)
{
    struct fx *f = *state;

    expect_ok(f, ADDR "count: 0\n");
    assert_int_equal(f->c.count, 0);
    expect_ok(f, ADDR "count: 256\n");
    assert_int_equal(f->c.count, 256);
    expect_error(f, ADDR "count: 257\n",
                 "t.yaml:2:8: count: 257 is out of bounds (expected an unsigned integer in "
                 "0..256)");
    expect_error_has(f, ADDR "count: 99999999999\n", "99999999999 is out of bounds");
    expect_error_has(f, ADDR "count: -1\n", "'-1' is not valid");
    expect_error_has(f, ADDR "count: 1.5\n", "'1.5' is not valid");
    expect_error_has(f, ADDR "count: 0x10\n", "'0x10' is not valid");
    /* min == max == 0: no bounds */
    expect_ok(f, ADDR "sub: {a: 4294967295}\n");
    assert_int_equal(f->c.sub.a, UINT32_MAX);
}

static void duration_units_and_bare_milliseconds(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v;
        uint32_t ms;
    } ok[] = {{"500ms", 500}, {"32s", 32000}, {"1m", 60000}, {"250", 250}, {"10ms", 10}};
    char y[128];

    for (size_t i = 0; i < SV_ARRAY_SIZE(ok); i++) {
        snprintf(y, sizeof(y), ADDR "wait: %s\n", ok[i].v);
        expect_ok(f, y);
        assert_int_equal(f->c.wait, ok[i].ms);
    }
    expect_ok(f, ADDR "sub: {wait: 2h}\n");
    assert_int_equal(f->c.sub.wait, 7200000);
    expect_error(f, ADDR "wait: 2m\n",
                 "t.yaml:2:7: wait: 2m is out of bounds (expected a duration such as 500ms, "
                 "32s, 5m or a number of milliseconds, in 10ms..1m)");
    expect_error_has(f, ADDR "wait: 9ms\n", "9ms is out of bounds");
    expect_error_has(f, ADDR "wait: 5x\n", "'5x' is not valid");
    expect_error_has(f, ADDR "wait: ms\n", "'ms' is not valid");
    expect_error_has(f, ADDR "wait: 1.5s\n", "'1.5s' is not valid");
    expect_error_has(f, ADDR "sub: {wait: 5000000h}\n", "5000000h is out of bounds");
}

static void duration_parse_and_format_agree(void **state)
{
    static const uint32_t v[] = {0, 1, 999, 1000, 1500, 60000, 90000, 3600000, 7200000, UINT32_MAX};
    char b[16];
    uint32_t ms;

    for (size_t i = 0; i < SV_ARRAY_SIZE(v); i++) {
        assert_int_equal(sv_cfg_duration_parse(sv_cfg_duration_str(v[i], b, sizeof(b)), &ms), 0);
        assert_int_equal(ms, v[i]);
    }
    assert_string_equal(sv_cfg_duration_str(500, b, sizeof(b)), "500ms");
    assert_string_equal(sv_cfg_duration_str(4000, b, sizeof(b)), "4s");
    assert_string_equal(sv_cfg_duration_str(300000, b, sizeof(b)), "5m");
    assert_string_equal(sv_cfg_duration_str(0, b, sizeof(b)), "0s");
    assert_int_equal(sv_cfg_duration_parse("4294967296", &ms), ERANGE);
    assert_int_equal(sv_cfg_duration_parse("1193h", &ms), 0); /* 4294800000 ms */
    assert_int_equal(ms, 4294800000u);
    assert_int_equal(sv_cfg_duration_parse("1194h", &ms), ERANGE);
    assert_int_equal(sv_cfg_duration_parse("", &ms), EINVAL);
    assert_int_equal(sv_cfg_duration_parse("5 s", &ms), EINVAL);
}

static void string_is_copied_and_bounded(void **state)
{
    struct fx *f = *state;
    char y[128];

    snprintf(y, sizeof(y), ADDR "label: \"a \\\"quoted\\\" \\\\ one\"\n");
    expect_ok(f, y);
    assert_string_equal(f->c.label, "a \"quoted\" \\ one");
    assert_true(f->c.label < y || f->c.label >= y + sizeof(y)); /* a copy, not the input */
    /* null and empty are "" */
    expect_ok(f, ADDR "label:\n");
    assert_string_equal(f->c.label, "");
    expect_ok(f, ADDR "label: ~\n");
    assert_string_equal(f->c.label, "");
    expect_ok(f, ADDR "label: 'null'\n");
    assert_string_equal(f->c.label, "null");
    /* a plain number is still text for a string */
    expect_ok(f, ADDR "label: 42\n");
    assert_string_equal(f->c.label, "42");
    /* items[].name is 1..8 characters */
    expect_error(f, ADDR "items: [{name: abcdefghi}]\n",
                 "t.yaml:2:16: items[0].name: 9 characters are out of bounds (expected a string "
                 "of 1..8 characters)");
    expect_error_has(f, ADDR "items: [{name: ''}]\n", "items[0].name: 0 characters");
    expect_error_has(f, ADDR "label: \"a\\0b\"\n", "label: 'a\\x00b' is not valid");
    expect_error(f, ADDR "label: [a, b]\n", "t.yaml:2:8: label: got a list (expected a string)");
}

static void enum_takes_only_its_names(void **state)
{
    struct fx *f = *state;

    expect_ok(f, ADDR "color: blue\n");
    assert_int_equal(f->c.color, 2);
    expect_ok(f, ADDR "color: red\n");
    assert_int_equal(f->c.color, 0);
    expect_error(f, ADDR "color: Blue\n",
                 "t.yaml:2:8: color: 'Blue' is not valid (expected one of: red, green, blue)");
}

static void address_syntax(void **state)
{
    struct fx *f = *state;
    static const char *const good[] = {"127.0.0.1:5060", "[::1]:5060", "[2001:db8::1]:0",
                                       "edge.ims.example:5061", "h_1:65535"};
    static const char *const bad[] = {"::1:5060",  "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                                      "[::1]5060", "[zz::]:5",  "a b:5",      ":5060",
                                      "h:+5",      "h:123456",  "[::1]:",     "x:5:6"};
    char y[160];

    for (size_t i = 0; i < SV_ARRAY_SIZE(good); i++) {
        snprintf(y, sizeof(y), "addr: \"%s\"\n", good[i]);
        expect_ok(f, y);
        assert_string_equal(f->c.addr, good[i]);
    }
    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        snprintf(y, sizeof(y), "addr: \"%s\"\n", bad[i]);
        expect_error_has(f, y, "is not valid (expected host:port, IPv6 as [addr]:port)");
    }
    /* only an address whose default is "" may be empty */
    expect_ok(f, ADDR "opt_addr: \"\"\n");
    assert_string_equal(f->c.opt_addr, "");
    expect_error_has(f, "addr: \"\"\n", "addr: '' is not valid");
    expect_error_has(f, "addr:\n", "addr: '' is not valid");
}

static void addr_split_gives_host_and_port(void **state)
{
    char host[64];
    uint16_t port;

    assert_int_equal(sv_cfg_addr_split("[::1]:5061", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 5061);
    assert_int_equal(sv_cfg_addr_split("10.0.0.1:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "10.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(sv_cfg_addr_split("very-long-host-name:1", host, 8, &port), ENOSPC);
    assert_int_equal(sv_cfg_addr_split("[::1]", host, sizeof(host), &port), EINVAL);
}

/* ---- structure errors ---- */

static void unknown_key_is_an_error_with_a_hint(void **state)
{
    struct fx *f = *state;

    expect_error(f, ADDR "coutn: 5\n",
                 "t.yaml:2:1: coutn: unknown key; did you mean 'count'? (expected one of: flag, "
                 "count, wait, label, color, addr, opt_addr, sub, items)");
    expect_error(f, ADDR "sub:\n  a: 1\n  zzz: 2\n",
                 "t.yaml:4:3: sub.zzz: unknown key (expected one of: a, wait)");
}

static void wrong_node_kinds_are_errors(void **state)
{
    struct fx *f = *state;

    expect_error(f, ADDR "count: {a: 1}\n",
                 "t.yaml:2:8: count: got a mapping (expected an unsigned integer in 0..256)");
    expect_error(f, ADDR "sub: 5\n", "t.yaml:2:6: sub: got a scalar (expected a mapping)");
    expect_error(f, ADDR "items: {name: x}\n",
                 "t.yaml:2:8: items: got a mapping (expected a list of mappings, 0..3 items)");
    expect_error(f, ADDR "items: [5]\n", "t.yaml:2:9: items[0]: got a scalar (expected a mapping)");
    expect_error(f, "- a\n- b\n", "t.yaml:1:1: (top level): got a list (expected a mapping)");
    expect_error_has(f, ADDR "[a]: 1\n", "got a list as a key");
}

static void duplicate_key_is_an_error(void **state)
{
    struct fx *f = *state;

    expect_error(f, ADDR "count: 1\ncount: 2\n",
                 "t.yaml:3:1: count: duplicate key (first given at line 2, column 1)");
}

static void errors_name_file_line_and_column(void **state)
{
    struct fx *f = *state;

    assert_int_equal(load(f, "# comment\n"
                             "addr: 127.0.0.1:5060\n"
                             "items:\n"
                             "  - name: one\n"
                             "    port: 0\n"
                             "  - name: two\n"
                             "    tls:\n"
                             "      on: perhaps\n"),
                     EINVAL);
    assert_int_equal(f->d.nerr, 2);
    assert_string_equal(f->d.errv[0], "t.yaml:5:11: items[0].port: 0 is out of bounds "
                                      "(expected an unsigned integer in 1..65535)");
    assert_string_equal(f->d.errv[1], "t.yaml:8:11: items[1].tls.on: 'perhaps' is not valid "
                                      "(expected true or false)");
}

static void errors_are_collected_up_to_the_maximum(void **state)
{
    struct fx *f = *state;
    const char *y = "count: x\nwait: y\ncolor: z\nflag: w\nbogus: 1\n"; /* and addr missing */
    char *out = NULL;
    size_t outlen = 0;

    sv_cfg_diag_close(&f->d);
    sv_cfg_diag_init(&f->d, 3);
    assert_int_equal(sv_cfg_load_mem(conf_t, &f->c, "t.yaml", y, strlen(y), &f->d), EINVAL);
    assert_int_equal(f->d.nerr, 6);
    assert_int_equal(f->d.nkept, 3);
    assert_non_null(strstr(f->d.errv[0], "t.yaml:1:8: count:"));
    assert_non_null(strstr(f->d.errv[2], "t.yaml:3:8: color:"));
    FILE *o = open_memstream(&out, &outlen);
    assert_non_null(o);
    sv_cfg_diag_print(&f->d, o);
    fclose(o);
    assert_non_null(strstr(out, "t.yaml: 3 more errors not shown\n"));
    free(out);
}

static void yaml_syntax_error_has_a_position(void **state)
{
    struct fx *f = *state;

    assert_int_equal(load(f, ADDR "sub:\n  a: 1\n b: 2\n"), EINVAL);
    assert_int_equal(f->d.nerr, 1);
    assert_non_null(strstr(f->d.errv[0], "t.yaml:4:2: yaml: "));
    assert_int_equal(load(f, ADDR "label: \"unterminated\n"), EINVAL);
    assert_non_null(strstr(f->d.errv[0], "t.yaml:3:1: yaml: "));
}

static void a_second_document_is_an_error(void **state)
{
    struct fx *f = *state;

    expect_error(f, ADDR "---\n" ADDR,
                 "t.yaml:3:1: yaml: a second document (expected one document per file)");
}

static void aliases_are_followed(void **state)
{
    struct fx *f = *state;

    expect_ok(f, ADDR "label: &l shared\nitems:\n  - name: *l\n  - name: *l\n");
    assert_int_equal(f->c.nitems, 2);
    assert_string_equal(f->c.items[1].name, "shared");
    assert_ptr_not_equal(f->c.items[0].name, f->c.items[1].name);
}

/* ---- lists of structs ---- */

static void list_of_structs_with_defaults_and_nesting(void **state)
{
    struct fx *f = *state;

    expect_ok(f, ADDR "items:\n"
                      "  - name: a\n"
                      "  - name: b\n"
                      "    port: 5061\n"
                      "    tls: {cert: /etc/b.pem, on: true}\n"
                      "  - {name: c, tls: ~}\n");
    assert_int_equal(f->c.nitems, 3);
    assert_string_equal(f->c.items[0].name, "a");
    assert_int_equal(f->c.items[0].port, 5060);
    assert_string_equal(f->c.items[0].tls.cert, "");
    assert_false(f->c.items[0].tls.on);
    assert_int_equal(f->c.items[1].port, 5061);
    assert_string_equal(f->c.items[1].tls.cert, "/etc/b.pem");
    assert_true(f->c.items[1].tls.on);
    assert_string_equal(f->c.items[2].name, "c");
    assert_string_equal(f->c.items[2].tls.cert, "");
    /* an empty list, in either spelling */
    expect_ok(f, ADDR "items: []\n");
    assert_int_equal(f->c.nitems, 0);
    expect_ok(f, ADDR "items:\n");
    assert_int_equal(f->c.nitems, 0);
}

static void list_element_missing_required_key(void **state)
{
    struct fx *f = *state;

    expect_error(f, ADDR "items:\n  - port: 5\n",
                 "t.yaml:3:5: items[0].name: missing (required: expected a string of 1..8 "
                 "characters)");
}

static void list_length_is_bounded(void **state)
{
    struct fx *f = *state;

    expect_error(f, ADDR "items: [{name: a}, {name: b}, {name: c}, {name: d}]\n",
                 "t.yaml:2:8: items: 4 items (expected a list of mappings, 0..3 items)");
}

/* ---- positions for the caller's own checks ---- */

static void errorf_reports_at_the_key_or_its_nearest_ancestor(void **state)
{
    struct fx *f = *state;
    unsigned line, col;

    expect_ok(f, ADDR "items:\n  - name: a\n  - name: b\n    tls:\n      on: true\n");
    assert_int_equal(sv_cfg_pos_find(&f->d, "items[1].name", &line, &col), 0);
    assert_int_equal(line, 4);
    assert_int_equal(col, 11);
    /* absent: items[1].tls.cert is reported where items[1].tls is */
    sv_cfg_errorf(&f->d, "items[1].tls.cert", "missing (expected %s)", "a file");
    assert_int_equal(f->d.nerr, 1);
    assert_string_equal(f->d.errv[0], "t.yaml:6:7: items[1].tls.cert: missing (expected a file)");
    /* items[0] has no tls: its element */
    sv_cfg_errorf(&f->d, "items[0].tls.cert", "x");
    assert_string_equal(f->d.errv[1], "t.yaml:3:5: items[0].tls.cert: x");
    /* unknown altogether: the document */
    sv_cfg_errorf(&f->d, "nothing.here", "y");
    assert_string_equal(f->d.errv[2], "t.yaml:1:1: nothing.here: y");
}

/* ---- files ---- */

static void load_file_reads_the_file_and_names_it(void **state)
{
    struct fx *f = *state;
    char path[] = "/tmp/sv_test_cfg_XXXXXX";
    int fd = mkstemp(path);
    const char *y = ADDR "count: 300\n";

    assert_true(fd >= 0);
    assert_int_equal(write(fd, y, strlen(y)), (ssize_t)strlen(y));
    close(fd);
    assert_int_equal(sv_cfg_load_file(conf_t, &f->c, path, &f->d), EINVAL);
    char want[128];
    snprintf(want, sizeof(want), "%s:2:8: count: 300 is out of bounds", path);
    assert_non_null(strstr(f->d.errv[0], want));
    unlink(path);

    sv_cfg_diag_close(&f->d);
    assert_int_equal(sv_cfg_load_file(conf_t, &f->c, path, &f->d), ENOENT);
    snprintf(want, sizeof(want), "%s: cannot read: %s", path, strerror(ENOENT));
    assert_string_equal(f->d.errv[0], want);
}

/* ---- printing ---- */

static char *print_to_string(const struct t_conf *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&out, &len);

    assert_non_null(o);
    assert_int_equal(sv_cfg_print(conf_t, c, o), 0);
    fclose(o);
    return out;
}

static void print_shows_every_value(void **state)
{
    struct fx *f = *state;

    expect_ok(f, ADDR "items:\n  - name: a\n");
    char *out = print_to_string(&f->c);
    sv_test_expect_bytes(out, strlen(out),
                         "flag: true\n"
                         "count: 4\n"
                         "wait: 500ms\n"
                         "label: \"none\"\n"
                         "color: green\n"
                         "addr: \"127.0.0.1:5060\"\n"
                         "opt_addr: \"\"\n"
                         "sub:\n"
                         "  a: 7\n"
                         "  wait: 1m\n"
                         "items:\n"
                         "  - name: \"a\"\n"
                         "    port: 5060\n"
                         "    tls:\n"
                         "      cert: \"\"\n"
                         "      on: false\n");
    free(out);
}

static void print_then_reload_gives_the_same_config(void **state)
{
    struct fx *f = *state;
    struct t_conf again;
    struct sv_cfg_diag d2;

    expect_ok(f, "addr: \"[::1]:5060\"\n"
                 "flag: off\n"
                 "count: 256\n"
                 "wait: 1500\n"
                 "label: \"yes # not a comment: [x] {y} \\\"q\\\" \\\\ \\t tab \\u00e9\"\n"
                 "color: blue\n"
                 "opt_addr: h.example:1\n"
                 "sub: {a: 0, wait: 0}\n"
                 "items:\n"
                 "  - name: '- x'\n"
                 "    tls: {cert: \"a'b\", on: yes}\n"
                 "  - name: 'true'\n"
                 "    port: 1\n");
    char *out = print_to_string(&f->c);
    memset(&again, 0, sizeof(again));
    sv_cfg_diag_init(&d2, 0);
    int e = sv_cfg_load_mem(conf_t, &again, "printed", out, strlen(out), &d2);
    if (e)
        print_error("reload failed:\n%s\n%s\n", out, d2.nkept ? d2.errv[0] : "");
    assert_int_equal(e, 0);
    assert_true(sv_cfg_equal(conf_t, &f->c, &again));
    /* and printing it again gives the same text */
    char *out2 = print_to_string(&again);
    assert_string_equal(out, out2);
    free(out);
    free(out2);
    sv_cfg_free(conf_t, &again);
    sv_cfg_diag_close(&d2);
}

/* A reload may change what has SV_CFG_RELOAD and nothing else; the first fixed key that
 * changed is named with its path, list elements included. */
static void fixed_diff_names_the_first_key_a_reload_may_not_change(void **state)
{
    struct fx *f = *state;
    struct t_conf b;
    struct sv_cfg_diag d2;
    const char *y = ADDR "items: [{name: a}, {name: b}]\n";
    char path[128];

    expect_ok(f, y);
    memset(&b, 0, sizeof(b));
    sv_cfg_diag_init(&d2, 0);
    assert_int_equal(sv_cfg_load_mem(conf_t, &b, "b", y, strlen(y), &d2), 0);
    assert_false(sv_cfg_fixed_diff(conf_t, &f->c, &b, path, sizeof(path)));
    assert_string_equal(path, "");
    b.flag = !b.flag; /* reloadable */
    b.wait++;
    b.items[1].port++;
    assert_false(sv_cfg_fixed_diff(conf_t, &f->c, &b, path, sizeof(path)));
    b.items[1].tls.on = true; /* fixed, inside a list element */
    assert_true(sv_cfg_fixed_diff(conf_t, &f->c, &b, path, sizeof(path)));
    assert_string_equal(path, "items[1].tls.on");
    b.items[1].tls.on = false;
    b.sub.a++;
    assert_true(sv_cfg_fixed_diff(conf_t, &f->c, &b, path, sizeof(path)));
    assert_string_equal(path, "sub.a");
    b.sub.a--;
    b.nitems = 1; /* a fixed list may not change its length */
    assert_true(sv_cfg_fixed_diff(conf_t, &f->c, &b, path, sizeof(path)));
    assert_string_equal(path, "items");
    b.nitems = 2;
    sv_cfg_free(conf_t, &b);
    sv_cfg_diag_close(&d2);
}

static void equal_sees_a_difference_anywhere(void **state)
{
    struct fx *f = *state;
    struct t_conf b;
    struct sv_cfg_diag d2;
    const char *y = ADDR "items: [{name: a}, {name: b}]\n";

    expect_ok(f, y);
    memset(&b, 0, sizeof(b));
    sv_cfg_diag_init(&d2, 0);
    assert_int_equal(sv_cfg_load_mem(conf_t, &b, "b", y, strlen(y), &d2), 0);
    assert_true(sv_cfg_equal(conf_t, &f->c, &b));
    b.items[1].tls.on = true;
    assert_false(sv_cfg_equal(conf_t, &f->c, &b));
    b.items[1].tls.on = false;
    b.sub.wait++;
    assert_false(sv_cfg_equal(conf_t, &f->c, &b));
    b.sub.wait--;
    b.nitems = 1;
    assert_false(sv_cfg_equal(conf_t, &f->c, &b));
    b.nitems = 2;
    sv_cfg_free(conf_t, &b);
    assert_null(b.items);
    assert_null(b.addr);
    sv_cfg_diag_close(&d2);
}

/* ---- the reference ---- */

static void markdown_has_one_row_per_key(void **state)
{
    char *out = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&out, &len);

    assert_non_null(o);
    assert_int_equal(sv_cfg_markdown(conf_t, o), 0);
    fclose(o);
    sv_test_expect_bytes(
        out, strlen(out),
        "| key | type | default | bounds | reload | description |\n"
        "|---|---|---|---|---|---|\n"
        "| `flag` | bool | `true` |  | yes | A flag. |\n"
        "| `count` | uint | `4` | 0..256 | no | A count. |\n"
        "| `wait` | duration | `500ms` | 10ms..1m | yes | A wait. |\n"
        "| `label` | string | `\"none\"` |  | no | A label. |\n"
        "| `color` | enum | `green` | `red`, `green`, `blue` | no | A color. |\n"
        "| `addr` | address | *required* | `host:port`, `[v6]:port` | no | Required address. |\n"
        "| `opt_addr` | address | `\"\"` | `host:port`, `[v6]:port` | no | Optional address. |\n"
        "| `sub` | mapping |  |  | no | A mapping. |\n"
        "| `sub.a` | uint | `7` |  | no | Unbounded. |\n"
        "| `sub.wait` | duration | `1m` |  | no | Unbounded duration. |\n"
        "| `items` | list of mappings | `[]` | 0..3 items | no | Items. |\n"
        "| `items[].name` | string | *required* | 1..8 characters | no | The item's name. |\n"
        "| `items[].port` | uint | `5060` | 1..65535 | yes | A port. |\n"
        "| `items[].tls` | mapping |  |  | no | TLS \\| material. |\n"
        "| `items[].tls.cert` | string | `\"\"` |  | no | Certificate file. |\n"
        "| `items[].tls.on` | bool | `false` |  | no | Whether TLS is on. |\n");
    free(out);
}

/* ---- out of memory ---- */

/* STYLE.md: fail allocation N = 0, 1, 2... until the load succeeds; only ENOMEM may come
 * back before, and nothing may leak (LeakSanitizer checks at exit). */
static void oom_sweep_fails_cleanly(void **state)
{
    const char *y = ADDR "label: x\nitems:\n  - name: a\n    tls: {cert: c}\n  - name: b\n";
    int e = ENOMEM;

    for (long n = 0; e == ENOMEM && n < 10000; n++) {
        struct t_conf c;
        struct sv_cfg_diag d;
        memset(&c, 0, sizeof(c));
        sv_cfg_diag_init(&d, 0);
        sv_mem_fail_after(n);
        e = sv_cfg_load_mem(conf_t, &c, "t.yaml", y, strlen(y), &d);
        sv_mem_fail_after(-1);
        if (e == 0) {
            assert_string_equal(c.items[1].name, "b");
            assert_true(n > 5);
        } else {
            assert_int_equal(e, ENOMEM);
            assert_null(c.items);
            assert_null(c.label);
        }
        sv_cfg_free(conf_t, &c);
        sv_cfg_diag_close(&d);
    }
    assert_int_equal(e, 0);

    /* and the error path: a file with errors, under the same sweep */
    y = ADDR "count: 999\nbogus: 1\n";
    e = ENOMEM;
    for (long n = 0; e == ENOMEM && n < 10000; n++) {
        struct t_conf c;
        struct sv_cfg_diag d;
        memset(&c, 0, sizeof(c));
        sv_cfg_diag_init(&d, 0);
        sv_mem_fail_after(n);
        e = sv_cfg_load_mem(conf_t, &c, "t.yaml", y, strlen(y), &d);
        sv_mem_fail_after(-1);
        assert_true(e == ENOMEM || e == EINVAL);
        sv_cfg_diag_close(&d);
    }
    assert_int_equal(e, EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(defaults_fill_every_absent_key, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(missing_required_key_is_an_error, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(bool_accepts_true_false_and_yaml11_words, fx_setup,
                                    fx_teardown),
    cmocka_unit_test_setup_teardown(uint_checks_digits_and_bounds, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(duration_units_and_bare_milliseconds, fx_setup, fx_teardown),
    cmocka_unit_test(duration_parse_and_format_agree),
    cmocka_unit_test_setup_teardown(string_is_copied_and_bounded, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(enum_takes_only_its_names, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(address_syntax, fx_setup, fx_teardown),
    cmocka_unit_test(addr_split_gives_host_and_port),
    cmocka_unit_test_setup_teardown(unknown_key_is_an_error_with_a_hint, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(wrong_node_kinds_are_errors, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(duplicate_key_is_an_error, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(errors_name_file_line_and_column, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(errors_are_collected_up_to_the_maximum, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(yaml_syntax_error_has_a_position, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(a_second_document_is_an_error, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(aliases_are_followed, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(list_of_structs_with_defaults_and_nesting, fx_setup,
                                    fx_teardown),
    cmocka_unit_test_setup_teardown(list_element_missing_required_key, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(list_length_is_bounded, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(errorf_reports_at_the_key_or_its_nearest_ancestor, fx_setup,
                                    fx_teardown),
    cmocka_unit_test_setup_teardown(load_file_reads_the_file_and_names_it, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(print_shows_every_value, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(print_then_reload_gives_the_same_config, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(equal_sees_a_difference_anywhere, fx_setup, fx_teardown),
    cmocka_unit_test_setup_teardown(fixed_diff_names_the_first_key_a_reload_may_not_change,
                                    fx_setup, fx_teardown),
    cmocka_unit_test(markdown_has_one_row_per_key),
    cmocka_unit_test(oom_sweep_fails_cleanly),
};

SV_TEST_MAIN(tests)
