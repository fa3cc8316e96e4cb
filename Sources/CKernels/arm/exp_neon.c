// NEON versions of the op kernels that call ek_expf (exp_shift_sum and silu_mul), bit-identical
// to the scalar twins in ops.c: ek_expf's fast path (exp.h) evaluated in two double lanes with the
// same five fused multiply-adds (FMLA). Lanes outside the fast range that do not simply round to 0
// (NaN, overflow, the least subnormal) take the scalar ek_expf. Installed by ek_patch_neon.
#if defined(__aarch64__)
#include "../dispatch.h"
#include "../exp.h"
#include <arm_neon.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define EK_NEON_INLINE static inline __attribute__((always_inline))

// ek_expf_fast of two floats widened to double (lanes outside the fast range give garbage).
EK_NEON_INLINE float64x2_t exp2_fast(float64x2_t xd) {
    const float64x2_t inv_ln2_n = vdupq_n_f64(EK_EXP_INV_LN2_N), shift = vdupq_n_f64(EK_EXP_SHIFT);
    const float64x2_t shifted = vfmaq_f64(shift, inv_ln2_n, xd);
    const uint64x2_t ki = vreinterpretq_u64_f64(shifted);
    const float64x2_t kd = vsubq_f64(shifted, shift);
    const float64x2_t r = vfmaq_f64(vnegq_f64(kd), inv_ln2_n, xd);
    const uint64x2_t t = vcombine_u64(vcreate_u64(ek_exp2_table[vgetq_lane_u64(ki, 0) % EK_EXP_N]),
                                      vcreate_u64(ek_exp2_table[vgetq_lane_u64(ki, 1) % EK_EXP_N]));
    const float64x2_t s = vreinterpretq_f64_u64(vaddq_u64(t, vshlq_n_u64(ki, 52 - EK_EXP_TABLE_BITS)));
    const float64x2_t p = vfmaq_f64(vdupq_n_f64(EK_EXP_C1), vdupq_n_f64(EK_EXP_C0), r);
    const float64x2_t r2 = vmulq_f64(r, r);
    float64x2_t y = vfmaq_f64(vdupq_n_f64(1.0), vdupq_n_f64(EK_EXP_C2), r);
    y = vfmaq_f64(y, p, r2);
    return vmulq_f64(y, s);
}

// ek_expf of four floats.
EK_NEON_INLINE float32x4_t exp4(float32x4_t x) {
    const float64x2_t lo = exp2_fast(vcvt_f64_f32(vget_low_f32(x))), hi = exp2_fast(vcvt_high_f64_f32(x));
    const uint32x4_t fast = vandq_u32(vcgeq_f32(x, vdupq_n_f32(EK_EXP_FAST_LO)), vcleq_f32(x, vdupq_n_f32(EK_EXP_FAST_HI)));
    const uint32x4_t zero = vcltq_f32(x, vdupq_n_f32(EK_EXP_ZERO_BELOW));   // -inf too
    float32x4_t y = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(vcvt_high_f32_f64(vcvt_f32_f64(lo), hi)), zero));
    const uint32x4_t ok = vorrq_u32(fast, zero);
    if (__builtin_expect(vminvq_u32(ok) == 0, 0)) {
        float xs[4], ys[4];
        uint32_t oks[4];
        vst1q_f32(xs, x);
        vst1q_f32(ys, y);
        vst1q_u32(oks, ok);
        for (int l = 0; l < 4; ++l) if (!oks[l]) ys[l] = ek_expf_inline(xs[l]);
        y = vld1q_f32(ys);
    }
    return y;
}

// x[i] = ek_expf(x[i] - max); the sum of the results taken in double in element order.
double ek_exp_shift_sum_neon(float *x, int64_t n, float max) {
    const float32x4_t vmax = vdupq_n_f32(max);
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i), vmax));
        vst1q_f32(x + i, e);
        const float64x2_t lo = vcvt_f64_f32(vget_low_f32(e)), hi = vcvt_high_f64_f32(e);
        sum += vgetq_lane_f64(lo, 0);
        sum += vgetq_lane_f64(lo, 1);
        sum += vgetq_lane_f64(hi, 0);
        sum += vgetq_lane_f64(hi, 1);
    }
    for (; i < n; i++) { x[i] = ek_expf_inline(x[i] - max); sum += (double)x[i]; }
    return sum;
}

// out = g / (1 + ek_expf(-g)) * up, rounded step by step as the twin does.
void ek_silu_mul_neon(const float *gate, const float *up, float *out, int64_t n) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t g = vld1q_f32(gate + i);
        const float32x4_t e = exp4(vnegq_f32(g));
        vst1q_f32(out + i, vmulq_f32(vdivq_f32(g, vaddq_f32(one, e)), vld1q_f32(up + i)));
    }
    for (; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + ek_expf_inline(-g)) * up[i];
    }
}
#endif
