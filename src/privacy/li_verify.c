/**
 * @file li_verify.c  The LI sink file's verifier: is every line one complete version-1 record?
 *
 * Kept apart from li.c so that the writer, which runs on the forwarding path, needs no JSON
 * library: it only writes a fixed shape. Reading arbitrary JSON is a parser's job, and the
 * verifier uses jansson's, strictly (UTF-8 checked, duplicate keys refused, nothing after the
 * object on its line).
 *
 * Every complaint is a fixed sentence, with at most a column number or a key from the record
 * schema: never text of the line, since an operator may paste the output into a ticket and LI
 * content must not travel with it. jansson's own error text quotes the input, so only its error
 * code is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include <sipveil/privacy_li.h>

/* The keys of a version-1 record. */
enum vkey {
    K_V,
    K_TIME,
    K_NODE,
    K_KIND,
    K_STATUS,
    K_METHOD,
    K_CALL_ID,
    K_PAI,
    K_FROM,
    K_RURI,
    K_SOURCE,
    K_PERFORMED,
    K__N
};

static const char *const key_names[K__N] = {
    [K_V] = "v",
    [K_TIME] = "time",
    [K_NODE] = "node",
    [K_KIND] = "kind",
    [K_STATUS] = "status",
    [K_METHOD] = "method",
    [K_CALL_ID] = "call_id",
    [K_PAI] = "pai",
    [K_FROM] = "from",
    [K_RURI] = "ruri",
    [K_SOURCE] = "source",
    [K_PERFORMED] = "performed",
};

static const char *const performed_names[] = {"id",       "user",    "header", "session",
                                              "critical", "history", "none"};

static void say(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;

    if (!why || !whysz)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whysz, fmt, ap);
    va_end(ap);
}

/* jansson's error codes, in words that quote nothing of the input. */
static const char *json_why(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        return "out of memory";
    case json_error_stack_overflow:
        return "nested too deeply";
    case json_error_invalid_utf8:
        return "invalid UTF-8";
    case json_error_premature_end_of_input:
        return "the record ends early (truncated)";
    case json_error_end_of_input_expected:
        return "text after the end of the record";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "a NUL character";
    case json_error_duplicate_key:
        return "a key given twice";
    case json_error_numeric_overflow:
        return "a number out of range";
    default:
        return "invalid syntax";
    }
}

static bool is_dig(char c)
{
    return c >= '0' && c <= '9';
}

/* "YYYY-MM-DDThh:mm:ss.mmmZ" with plausible fields, as the writer makes it. */
static bool time_ok(const char *s, size_t l)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    int mon, day, hh, mm, ss;

    if (l != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; i < l; i++) {
        if (shape[i] == 'd' ? !is_dig(s[i]) : s[i] != shape[i])
            return false;
    }
    mon = (s[5] - '0') * 10 + (s[6] - '0');
    day = (s[8] - '0') * 10 + (s[9] - '0');
    hh = (s[11] - '0') * 10 + (s[12] - '0');
    mm = (s[14] - '0') * 10 + (s[15] - '0');
    ss = (s[17] - '0') * 10 + (s[18] - '0');
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hh < 24 && mm < 60 && ss <= 60;
}

static bool str_array(const json_t *a, bool names_only)
{
    size_t i;
    json_t *el;

    if (!json_is_array(a))
        return false;
    json_array_foreach(a, i, el)
    {
        if (!json_is_string(el))
            return false;
        if (!names_only)
            continue;
        bool known = false;
        for (size_t k = 0; k < SV_ARRAY_SIZE(performed_names); k++)
            known = known || strcmp(json_string_value(el), performed_names[k]) == 0;
        if (!known)
            return false;
    }
    return true;
}

/* Check one parsed line against the version-1 schema. @return true, or false with @p why. */
static bool record_ok(json_t *o, char *why, size_t whysz)
{
    const json_t *k[K__N] = {0};
    const char *key;
    json_t *val;

    if (!json_is_object(o)) {
        say(why, whysz, "not a JSON object");
        return false;
    }
    json_object_foreach(o, key, val)
    {
        size_t i;
        for (i = 0; i < K__N && strcmp(key, key_names[i]) != 0; i++)
            ;
        if (i == K__N) {
            say(why, whysz, "a key that version 1 does not have");
            return false;
        }
        k[i] = val;
    }
    if (!k[K_V] || !json_is_integer(k[K_V])) {
        say(why, whysz, "\"v\" missing or not an integer");
        return false;
    }
    if (json_integer_value(k[K_V]) != 1) {
        say(why, whysz, "record version %" JSON_INTEGER_FORMAT " is not supported (only 1)",
            json_integer_value(k[K_V]));
        return false;
    }
    if (!k[K_TIME] || !json_is_string(k[K_TIME]) ||
        !time_ok(json_string_value(k[K_TIME]), json_string_length(k[K_TIME]))) {
        say(why, whysz, "\"time\" missing or not YYYY-MM-DDThh:mm:ss.mmmZ");
        return false;
    }
    if (!k[K_NODE] || !json_is_string(k[K_NODE])) {
        say(why, whysz, "\"node\" missing or not a string");
        return false;
    }
    const char *kind = k[K_KIND] && json_is_string(k[K_KIND]) ? json_string_value(k[K_KIND]) : "";
    bool req = strcmp(kind, "request") == 0;
    if (!req && strcmp(kind, "response") != 0) {
        say(why, whysz, "\"kind\" missing or neither \"request\" nor \"response\"");
        return false;
    }
    if (req && (!k[K_RURI] || !json_is_string(k[K_RURI]))) {
        say(why, whysz, "a request without a \"ruri\" string");
        return false;
    }
    if (req && k[K_STATUS]) {
        say(why, whysz, "a request with a \"status\"");
        return false;
    }
    if (!req && (!k[K_STATUS] || !json_is_integer(k[K_STATUS]) ||
                 json_integer_value(k[K_STATUS]) < 100 || json_integer_value(k[K_STATUS]) > 699)) {
        say(why, whysz, "a response without a \"status\" from 100 to 699");
        return false;
    }
    if (!req && k[K_RURI]) {
        say(why, whysz, "a response with a \"ruri\"");
        return false;
    }
    if (!k[K_METHOD] || !json_is_string(k[K_METHOD]) || !json_string_length(k[K_METHOD])) {
        say(why, whysz, "\"method\" missing or not a non-empty string");
        return false;
    }
    static const enum vkey nullable[] = {K_CALL_ID, K_FROM, K_SOURCE};
    for (size_t i = 0; i < SV_ARRAY_SIZE(nullable); i++) {
        const json_t *v = k[nullable[i]];
        if (!v || !(json_is_string(v) || json_is_null(v))) {
            say(why, whysz, "\"%s\" missing or neither a string nor null", key_names[nullable[i]]);
            return false;
        }
    }
    if (!k[K_PAI] || !str_array(k[K_PAI], false)) {
        say(why, whysz, "\"pai\" missing or not an array of strings");
        return false;
    }
    if (!k[K_PERFORMED] || !str_array(k[K_PERFORMED], true)) {
        say(why, whysz, "\"performed\" missing or not an array of privacy function names");
        return false;
    }
    return true;
}

/**
 * Verify a sink file; see privacy_li.h.
 * @param path      the file.
 * @param nrecords  out: complete records (before the bad line).
 * @param bad_line  out (may be NULL): the first bad line, 1-based, on EBADMSG.
 * @param why       out (may be NULL): what is wrong with it.
 * @param whysz     size of @p why.
 * @return 0, EBADMSG, EINVAL, ENOMEM or the errno of open/read.
 */
int li_verify_file(const char *path, size_t *nrecords, size_t *bad_line, char *why, size_t whysz)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0, n = 0, lineno = 0;
    ssize_t len;
    int err = 0;

    if (!path || !nrecords)
        return EINVAL;
    *nrecords = 0;
    if (why && whysz)
        why[0] = '\0';
    f = fopen(path, "re");
    if (!f)
        return errno;
    while ((errno = 0, len = getline(&line, &cap, f)) >= 0) {
        json_error_t je;
        json_t *o;

        lineno++;
        if (len == 0 || line[len - 1] != '\n') {
            say(why, whysz, "incomplete last record: no newline at the end of the file");
            err = EBADMSG;
            break;
        }
        if (--len == 0) {
            say(why, whysz, "an empty line");
            err = EBADMSG;
            break;
        }
        /* JSON never holds a raw NUL (a string escapes it); jansson would stop reading there
         * and call the record truncated, which misleads */
        const char *nul = memchr(line, '\0', (size_t)len);
        if (nul) {
            say(why, whysz, "not a JSON record: a NUL byte at column %zu",
                (size_t)(nul - line) + 1);
            err = EBADMSG;
            break;
        }
        o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        if (!o) {
            if (json_error_code(&je) == json_error_out_of_memory) {
                err = ENOMEM;
                break;
            }
            say(why, whysz, "not a JSON record: %s at column %d", json_why(&je), je.column);
            err = EBADMSG;
            break;
        }
        bool ok = record_ok(o, why, whysz);
        json_decref(o);
        if (!ok) {
            err = EBADMSG;
            break;
        }
        n++;
    }
    if (!err && errno && ferror(f))
        err = errno;
    else if (!err && ferror(f))
        err = EIO;
    if (err == EBADMSG && bad_line)
        *bad_line = lineno;
    *nrecords = n;
    free(line);
    fclose(f);
    return err;
}
