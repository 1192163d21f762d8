/**
 * @file svtest_privacy.h  Test helpers of the privacy layer, on top of svtest_sip.h: run the
 * engine on a message in a given context and compare the printed result, or the answer.
 */
#ifndef SVTEST_PRIVACY_H
#define SVTEST_PRIVACY_H

#include "sip/svtest_sip.h"
#include <sipveil/privacy.h>

/** The context of one call, written as a table row in the tests. */
struct pctx {
    enum privacy_role role;
    enum privacy_dir dir;
    bool ingress_trusted;
    bool egress_trusted;
    const struct privacy_subscriber *sub;
    const struct privacy_knobs *knobs;
    const struct privacy_dialog *dialog;
    bool li_target;
};

/** A designated initialiser of the four context fields every row sets. */
#define CTX(r, d, in, out) .role = (r), .dir = (d), .ingress_trusted = (in), .egress_trusted = (out)

/* Run the engine on @p in in context @p c; the edits go to @p ed. */
static inline struct privacy_verdict sv_test_privacy_run(const struct pctx *c, const char *in,
                                                         struct sip_edits *ed)
{
    const struct sip_msg *m = sv_test_parse(in);
    struct privacy_input pin = {
        .msg = m,
        .role = c->role,
        .dir = c->dir,
        .ingress_trusted = c->ingress_trusted,
        .egress_trusted = c->egress_trusted,
        .dialog = c->dialog,
        .sub = c->sub,
        .knobs = c->knobs,
        .li_target = c->li_target,
    };
    struct privacy_verdict v;

    sip_edits_init(ed, m, NULL);
    assert_int_equal(privacy_decide(&pin, ed, &v), 0);
    return v;
}

/**
 * The engine must forward @p in, edited into exactly @p want.
 * @return the verdict, for assertions on performed functions and flags.
 */
static inline struct privacy_verdict expect_fwd(const struct pctx *c, const char *in,
                                                const char *want)
{
    static char out[16384];
    struct sip_edits ed;
    struct privacy_verdict v = sv_test_privacy_run(c, in, &ed);
    size_t n = 0;

    if (v.code)
        print_error("answered %u %s to:\n%s\n", v.code, v.reason, in);
    assert_int_equal(v.code, 0);
    assert_int_equal(sip_msg_print(ed.msg, &ed, out, sizeof(out), &n), 0);
    sv_test_expect_bytes(out, n, want);
    return v;
}

/** The engine must answer @p in with @p code and @p reason, and record no edit. */
static inline void expect_answer(const struct pctx *c, const char *in, unsigned code,
                                 const char *reason)
{
    struct sip_edits ed;
    struct privacy_verdict v = sv_test_privacy_run(c, in, &ed);

    if (v.code != code)
        print_error("got %u %s, wanted %u %s, for:\n%s\n", v.code, v.reason, code,
                    reason, in);
    assert_int_equal(v.code, code);
    assert_string_equal(v.reason, reason);
    assert_int_equal(ed.n, 0);
    assert_int_equal(v.performed, 0);
}

#endif
