// ek_expf over AVX2 lanes (exp_avx2.c, avx2_attention.c): its fast path (exp.h) evaluated in four
// double lanes with the same five fused multiply-adds, the table read by a gather. Lanes outside
// the fast range that do not simply round to 0 (NaN, overflow, the least subnormal) take the
// scalar ek_expf.
#ifndef EDGELM_CKERNELS_EXP_AVX2_H
#define EDGELM_CKERNELS_EXP_AVX2_H
#if defined(__x86_64__)
#include "avx2.h"
#include "../exp.h"

// ek_expf_fast of four floats (any value: lanes outside the fast range give garbage, not traps).
EK_AVX2_INLINE __m128 exp4_fast(__m128 x) {
    const __m256d xd = _mm256_cvtps_pd(x);
    const __m256d inv_ln2_n = _mm256_set1_pd(EK_EXP_INV_LN2_N), shift = _mm256_set1_pd(EK_EXP_SHIFT);
    const __m256d shifted = _mm256_fmadd_pd(inv_ln2_n, xd, shift);
    const __m256i ki = _mm256_castpd_si256(shifted);
    const __m256d kd = _mm256_sub_pd(shifted, shift);
    const __m256d r = _mm256_fmsub_pd(inv_ln2_n, xd, kd);
    const __m256i idx = _mm256_and_si256(ki, _mm256_set1_epi64x(EK_EXP_N - 1));
    const __m256i t = _mm256_i64gather_epi64((const long long *)ek_exp2_table, idx, 8);
    const __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64(ki, 52 - EK_EXP_TABLE_BITS)));
    const __m256d p = _mm256_fmadd_pd(_mm256_set1_pd(EK_EXP_C0), r, _mm256_set1_pd(EK_EXP_C1));
    const __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_fmadd_pd(_mm256_set1_pd(EK_EXP_C2), r, _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(p, r2, y);
    return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}

// ek_expf of eight floats.
EK_AVX2_INLINE __m256 exp8(__m256 x) {
    __m256 y = _mm256_set_m128(exp4_fast(_mm256_extractf128_ps(x, 1)), exp4_fast(_mm256_castps256_ps128(x)));
    const __m256 fast = _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(EK_EXP_FAST_LO), _CMP_GE_OQ),
                                      _mm256_cmp_ps(x, _mm256_set1_ps(EK_EXP_FAST_HI), _CMP_LE_OQ));
    const __m256 zero = _mm256_cmp_ps(x, _mm256_set1_ps(EK_EXP_ZERO_BELOW), _CMP_LT_OQ);   // -inf too
    y = _mm256_andnot_ps(zero, y);
    const int rest = ~_mm256_movemask_ps(_mm256_or_ps(fast, zero)) & 0xff;
    if (__builtin_expect(rest != 0, 0)) {
        float xs[8], ys[8];
        _mm256_storeu_ps(xs, x);
        _mm256_storeu_ps(ys, y);
        for (int l = 0; l < 8; ++l) if (rest >> l & 1) ys[l] = ek_expf_inline(xs[l]);
        y = _mm256_loadu_ps(ys);
    }
    return y;
}

#endif
#endif
