/**
 * @file milenage.c  The Milenage algorithm set f1, f1*, f2, f3, f4, f5, f5* (3GPP TS 35.206 §4).
 *
 * Every function is AES-128 under K (the "kernel" E_K) applied to the challenge RAND mixed with
 * the operator variant OPc:
 *
 *     TEMP = E_K(RAND ^ OPc)
 *     OUT1 = E_K(TEMP ^ rot(IN1 ^ OPc, r1) ^ c1) ^ OPc     IN1 = SQN || AMF || SQN || AMF
 *     OUTi = E_K(rot(TEMP ^ OPc, ri) ^ ci) ^ OPc          i = 2..5
 *
 * with r1..r5 = 64, 0, 32, 64, 96 bits and c1..c5 = 0, 1, 2, 4, 8 (in the last octet).
 * f1 = MAC-A is OUT1[0..63], f1* = MAC-S is OUT1[64..127]; f5 = AK is OUT2[0..47] and
 * f2 = RES is OUT2[64..127]; f3 = CK = OUT3; f4 = IK = OUT4; f5* = AK* = OUT5[0..47].
 * The rotations are all whole octets, so rot() moves bytes.
 *
 * One cipher context keyed with K serves every block of a call; intermediate values are
 * wiped before returning, since TEMP and the OUTs are as secret as the keys they yield.
 */
#include <openssl/crypto.h>

#include "auth_int.h"

enum { BLK = 16 };

/* E_K, one block at a time. */
struct kernel {
    EVP_CIPHER_CTX *ctx;
};

static int kernel_open(struct kernel *kn, const uint8_t k[AUTH_K_LEN])
{
    kn->ctx = EVP_CIPHER_CTX_new();
    if (!kn->ctx)
        return ENOMEM;
    if (EVP_EncryptInit_ex(kn->ctx, EVP_aes_128_ecb(), NULL, k, NULL) != 1) {
        EVP_CIPHER_CTX_free(kn->ctx);
        kn->ctx = NULL;
        return EIO;
    }
    EVP_CIPHER_CTX_set_padding(kn->ctx, 0);
    return 0;
}

static void kernel_close(struct kernel *kn)
{
    EVP_CIPHER_CTX_free(kn->ctx); /* clears the key schedule */
    kn->ctx = NULL;
}

static int kernel_block(struct kernel *kn, const uint8_t in[BLK], uint8_t out[BLK])
{
    int n = 0;

    if (EVP_EncryptUpdate(kn->ctx, out, &n, in, BLK) != 1 || n != BLK)
        return EIO;
    return 0;
}

static void xor_block(uint8_t *dst, const uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < BLK; i++)
        dst[i] = a[i] ^ b[i];
}

/* Cyclic rotation of a 128-bit string towards the most significant end by @p r octets. */
static void rot_block(uint8_t dst[BLK], const uint8_t src[BLK], int r)
{
    for (int i = 0; i < BLK; i++)
        dst[i] = src[(i + r) % BLK];
}

/*
 * OUTi = E_K(rot(x ^ OPc, r) ^ c) ^ OPc, with c a constant whose only non-zero octet is the
 * last: the common shape of OUT1..OUT5 (for OUT1, TEMP is folded in by the caller).
 */
static int out_block(struct kernel *kn, const uint8_t opc[BLK], const uint8_t x[BLK], int r,
                     uint8_t c, const uint8_t *temp, uint8_t out[BLK])
{
    uint8_t t[BLK], u[BLK];
    int err;

    xor_block(t, x, opc);
    rot_block(u, t, r);
    u[BLK - 1] ^= c;
    if (temp)
        xor_block(u, u, temp);
    err = kernel_block(kn, u, t);
    if (!err)
        xor_block(out, t, opc);
    OPENSSL_cleanse(t, sizeof(t));
    OPENSSL_cleanse(u, sizeof(u));
    return err;
}

/* TEMP = E_K(RAND ^ OPc). */
static int temp_block(struct kernel *kn, const uint8_t opc[BLK], const uint8_t rand[BLK],
                      uint8_t temp[BLK])
{
    uint8_t t[BLK];
    int err;

    xor_block(t, rand, opc);
    err = kernel_block(kn, t, temp);
    OPENSSL_cleanse(t, sizeof(t));
    return err;
}

/**
 * Derive OPc = OP ^ E_K(OP) and keep K and OPc (TS 35.206 §4.1).
 *
 * @param m   out: the subscriber's key material.
 * @param k   the subscriber key K.
 * @param op  the operator variant OP.
 * @return 0, ENOMEM or EIO (OpenSSL failure).
 */
int auth_milenage_init(struct auth_milenage *m, const uint8_t k[AUTH_K_LEN],
                       const uint8_t op[AUTH_OP_LEN])
{
    struct kernel kn;
    uint8_t e[BLK];
    int err;

    if (!m || !k || !op)
        return EINVAL;
    err = kernel_open(&kn, k);
    if (err)
        return err;
    err = kernel_block(&kn, op, e);
    kernel_close(&kn);
    if (err)
        goto out;
    memcpy(m->k, k, AUTH_K_LEN);
    xor_block(m->opc, e, op);
out:
    OPENSSL_cleanse(e, sizeof(e));
    return err;
}

/**
 * Keep K and an OPc computed elsewhere (the usual case: the HSS stores OPc, not OP).
 *
 * @param m    out: the subscriber's key material.
 * @param k    the subscriber key K.
 * @param opc  the operator variant OPc.
 */
void auth_milenage_init_opc(struct auth_milenage *m, const uint8_t k[AUTH_K_LEN],
                            const uint8_t opc[AUTH_OP_LEN])
{
    memcpy(m->k, k, AUTH_K_LEN);
    memcpy(m->opc, opc, AUTH_OP_LEN);
}

/**
 * f1 and f1*: the network and the resynchronisation authentication codes (TS 35.206 §4.1).
 *
 * @param m      K and OPc.
 * @param rand   RAND.
 * @param sqn    SQN (for f1*, SQN_MS).
 * @param amf    AMF (for f1* in a resync, 0x0000: TS 33.102 §6.3.3).
 * @param mac_a  out: MAC-A = f1; NULL when not wanted.
 * @param mac_s  out: MAC-S = f1*; NULL when not wanted.
 * @return 0, EINVAL, ENOMEM or EIO.
 */
int auth_milenage_f1(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                     const uint8_t sqn[AUTH_SQN_LEN], const uint8_t amf[AUTH_AMF_LEN],
                     uint8_t mac_a[AUTH_MAC_LEN], uint8_t mac_s[AUTH_MAC_LEN])
{
    struct kernel kn;
    uint8_t temp[BLK], in1[BLK], out1[BLK];
    int err;

    if (!m || !rand || !sqn || !amf)
        return EINVAL;
    for (int i = 0; i < 2; i++) {
        memcpy(in1 + 8 * i, sqn, AUTH_SQN_LEN);
        memcpy(in1 + 8 * i + AUTH_SQN_LEN, amf, AUTH_AMF_LEN);
    }
    err = kernel_open(&kn, m->k);
    if (err)
        return err;
    err = temp_block(&kn, m->opc, rand, temp);
    if (!err)
        err = out_block(&kn, m->opc, in1, 8, 0x00, temp, out1);
    kernel_close(&kn);
    if (err)
        goto out;
    if (mac_a)
        memcpy(mac_a, out1, AUTH_MAC_LEN);
    if (mac_s)
        memcpy(mac_s, out1 + AUTH_MAC_LEN, AUTH_MAC_LEN);
out:
    OPENSSL_cleanse(temp, sizeof(temp));
    OPENSSL_cleanse(out1, sizeof(out1));
    return err;
}

/* The four OUT blocks of f2..f5*: rotation (octets) and constant of each. */
static const struct {
    int r;
    uint8_t c;
} outs[4] = {{0, 1}, {4, 2}, {8, 4}, {12, 8}};

/**
 * f2, f3, f4, f5 and f5*: RES, CK, IK, AK and AK* (TS 35.206 §4.1).
 *
 * @param m        K and OPc.
 * @param rand     RAND.
 * @param res      out: RES = f2, 8 octets; any output may be NULL when not wanted.
 * @param ck       out: CK = f3.
 * @param ik       out: IK = f4.
 * @param ak       out: AK = f5.
 * @param ak_star  out: AK* = f5*, the anonymity key of a resync.
 * @return 0, EINVAL, ENOMEM or EIO.
 */
int auth_milenage_f2345(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                        uint8_t res[AUTH_RES_LEN], uint8_t ck[AUTH_CK_LEN], uint8_t ik[AUTH_IK_LEN],
                        uint8_t ak[AUTH_AK_LEN], uint8_t ak_star[AUTH_AK_LEN])
{
    struct kernel kn;
    uint8_t temp[BLK], o[4][BLK];
    int err;

    if (!m || !rand)
        return EINVAL;
    err = kernel_open(&kn, m->k);
    if (err)
        return err;
    err = temp_block(&kn, m->opc, rand, temp);
    for (int i = 0; i < 4 && !err; i++)
        err = out_block(&kn, m->opc, temp, outs[i].r, outs[i].c, NULL, o[i]);
    kernel_close(&kn);
    if (err)
        goto out;
    if (res)
        memcpy(res, o[0] + 8, AUTH_RES_LEN);
    if (ak)
        memcpy(ak, o[0], AUTH_AK_LEN);
    if (ck)
        memcpy(ck, o[1], AUTH_CK_LEN);
    if (ik)
        memcpy(ik, o[2], AUTH_IK_LEN);
    if (ak_star)
        memcpy(ak_star, o[3], AUTH_AK_LEN);
out:
    OPENSSL_cleanse(temp, sizeof(temp));
    OPENSSL_cleanse(o, sizeof(o));
    return err;
}
