/**
 * @file test_hash.c  The layer's hash calls: HMAC-SHA-256 against RFC 4231's test cases
 * (the nonce seal, auth/nonce.c, rests on it), and the Digest hash of joined parts.
 */
#include <stdio.h>
#include <string.h>

#include "svtest.h"

#include "auth_int.h"

static void hex_of(const uint8_t *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

/* RFC 4231 §4.3 (test case 2) and §4.7 (test case 6: a key longer than the block). */
static void hmac_sha256_rfc4231(void **state)
{
    uint8_t tag[32], key[131];
    char hex[65];
    const struct sv_slice two[] = {SV_LIT("what do ya "), SV_LIT("want for nothing?")};
    const struct sv_slice six[] = {SV_LIT("Test Using Larger Than Block-Size Key - Hash Key First")};

    (void)state;
    assert_int_equal(auth__hmac_sha256((const uint8_t *)"Jefe", 4, two, 2, tag), 0);
    hex_of(tag, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof(key));
    assert_int_equal(auth__hmac_sha256(key, sizeof(key), six, 1, tag), 0);
    hex_of(tag, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* H("a:b") and H(":"), MD5 and SHA-256 (values of coreutils' md5sum and sha256sum). */
static void hash_join_feeds_colons(void **state)
{
    const struct sv_slice ab[] = {SV_LIT("a"), SV_LIT("b")};
    const struct sv_slice empty[] = {{NULL, 0}, {NULL, 0}};
    char out[AUTH_DIGEST_HEX_MAX + 1];

    (void)state;
    assert_int_equal(auth__hash_join(auth__digest_md(AUTH_DIGEST_MD5), ab, 2, out), 0);
    assert_string_equal(out, "d8160c9b3dc20d4e931aeb4f45262155");
    assert_int_equal(auth__hash_join(auth__digest_md(AUTH_DIGEST_SHA256), ab, 2, out), 0);
    assert_string_equal(out, "6783a31eabf68ccc0660f935c0826282bdd2241f3a80a9f2d10d59aea9ebb5d8");
    assert_int_equal(auth__hash_join(auth__digest_md(AUTH_DIGEST_MD5), empty, 2, out), 0);
    assert_string_equal(out, "853ae90f0351324bd73ea615e6487517");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hmac_sha256_rfc4231),
        cmocka_unit_test(hash_join_feeds_colons),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
