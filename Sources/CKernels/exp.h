// The engine's own expf (exp.c), and the pieces its SIMD versions share (x86/exp_avx2.c,
// arm/exp_neon.c), which must round exactly as the scalar one does.
//
// The algorithm is that of ARM's optimized-routines expf, which glibc ships: x / ln2 * 32 = k + r
// with |r| <= 1/2 (k rounded to nearest by the 1.5 * 2^52 shift); exp(x) = 2^(k/32) * 2^(r/32),
// the first factor from a table of 2^(i/32) with k / 32 added to its exponent bits, the second a
// cubic in r, all in double precision, rounded once to float at the end. It is written with the
// five fused multiply-adds of glibc's x86-64 FMA build: the shifted product k + 1.5 * 2^52,
// r = x * 32/ln2 - k, and the three steps of the polynomial; it returns the same bits as that
// build's expf for every float (checked exhaustively). glibc's aarch64 build rounds x * 32/ln2
// before taking k and r, and differs at two floats. Every other operation here is unfused, and
// nothing else has a product to fuse, so -ffp-contract cannot change the result.
#ifndef EDGELM_CKERNELS_EXP_H
#define EDGELM_CKERNELS_EXP_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#define EK_EXP_TABLE_BITS 5
#define EK_EXP_N (1 << EK_EXP_TABLE_BITS)

// ek_exp2_table[i] = bits(2^(i/32)) - (i << (52 - 5)), so that adding k << 47 to entry k % 32 gives
// the bits of 2^(k/32) for any k the fast path produces.
extern const uint64_t ek_exp2_table[EK_EXP_N];

#define EK_EXP_INV_LN2_N 0x1.71547652b82fep+5    // 32 / ln 2
#define EK_EXP_SHIFT 0x1.8p+52                   // adding it rounds to an integer (ties to even)
#define EK_EXP_C0 0x1.c6af84b912394p-20          // 2^(r/32) ~ ((C0 r + C1) r^2) + (C2 r + 1)
#define EK_EXP_C1 0x1.ebfce50fac4f3p-13
#define EK_EXP_C2 0x1.62e42ff0c52d6p-6

// The fast path covers exactly [EK_EXP_FAST_LO, EK_EXP_FAST_HI]; above it exp overflows to +inf,
// below EK_EXP_ZERO_BELOW it rounds to +0, between the two it rounds to the least subnormal.
#define EK_EXP_FAST_HI 0x1.62e42ep+6f            // ~88.72, ln(2^128) rounded down
#define EK_EXP_FAST_LO (-0x1.9d1d9ep+6f)         // ~-103.28, ln(2^-149)
#define EK_EXP_ZERO_BELOW (-0x1.9fe368p+6f)      // ~-103.97, ln(2^-150)

// The fast path, for x in [EK_EXP_FAST_LO, EK_EXP_FAST_HI].
static inline __attribute__((always_inline)) float ek_expf_fast(float x) {
    const double xd = (double)x;
    const double shifted = fma(EK_EXP_INV_LN2_N, xd, EK_EXP_SHIFT);   // 1.5 * 2^52 + k
    uint64_t ki;
    memcpy(&ki, &shifted, sizeof ki);                                   // k in the low bits
    const double kd = shifted - EK_EXP_SHIFT;
    const double r = fma(EK_EXP_INV_LN2_N, xd, -kd);
    const uint64_t sbits = ek_exp2_table[ki % EK_EXP_N] + (ki << (52 - EK_EXP_TABLE_BITS));
    double s;
    memcpy(&s, &sbits, sizeof s);
    const double p = fma(EK_EXP_C0, r, EK_EXP_C1);
    const double r2 = r * r;
    double y = fma(EK_EXP_C2, r, 1.0);
    y = fma(p, r2, y);
    return (float)(y * s);
}

// exp(x) for every float x, as glibc's expf returns it (x + x for NaN).
static inline __attribute__((always_inline)) float ek_expf_inline(float x) {
    uint32_t ix;
    memcpy(&ix, &x, sizeof ix);
    const uint32_t abstop = (ix >> 20) & 0x7ff;
    if (__builtin_expect(abstop >= 0x42b, 0)) {   // |x| >= 88, inf or NaN
        if (ix == 0xff800000u) return 0.0f;       // -inf
        if (abstop >= 0x7f8) return x + x;        // +inf, NaN
        if (x > EK_EXP_FAST_HI) return INFINITY;
        if (x < EK_EXP_ZERO_BELOW) return 0.0f;
        if (x < EK_EXP_FAST_LO) return 0x1p-149f;
    }
    return ek_expf_fast(x);
}

// The out-of-line scalar version (exp.c).
float ek_expf(float x);

#endif
