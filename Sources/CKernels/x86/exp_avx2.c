// AVX2 + FMA versions of the op kernels that call ek_expf (exp_shift_sum and silu_mul),
// bit-identical to the scalar twins in ops.c: ek_expf's fast path (exp.h) evaluated in four double
// lanes with the same five fused multiply-adds, the table read by a gather. Lanes outside the fast
// range that do not simply round to 0 (NaN, overflow, the least subnormal) take the scalar
// ek_expf. Installed by ek_patch_avx2 (and so by ek_patch_avx512 too).
#if defined(__x86_64__)
#include "exp_avx2.h"

// x[i] = ek_expf(x[i] - max); the sum of the results taken in double in element order.
EK_AVX2 double ek_exp_shift_sum_avx2(float *x, int64_t n, float max) {
    const __m256 vmax = _mm256_set1_ps(max);
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, e);
        double d[8];
        _mm256_storeu_pd(d, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        _mm256_storeu_pd(d + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
        for (int k = 0; k < 8; ++k) sum += d[k];
    }
    for (; i < n; i++) { x[i] = ek_expf_inline(x[i] - max); sum += (double)x[i]; }
    return sum;
}

// out = g / (1 + ek_expf(-g)) * up, rounded step by step as the twin does.
EK_AVX2 void ek_silu_mul_avx2(const float *gate, const float *up, float *out, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp8(_mm256_xor_ps(g, sign));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + ek_expf_inline(-g)) * up[i];
    }
}
#endif
