// Shared helpers of the NEON kernels (arm/neon*.c), all under the same exactness contract (see
// neon.c).
#ifndef EDGELM_CKERNELS_NEON_H
#define EDGELM_CKERNELS_NEON_H
#if defined(__aarch64__)
#include "../dispatch.h"
#include "../half.h"
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define EK_NEON_INLINE static inline __attribute__((always_inline))
#define EK_DOTPROD_TARGET __attribute__((target("arch=armv8.2-a+dotprod")))

// ---- helpers --------------------------------------------------------------------------------

// Scalar half conversion with the FPU's FCVT (round to nearest even, NaN payload kept, as ek_h2f
// and ek_f2h in generic.h).
EK_NEON_INLINE float ek_neon_h2f(ek_fp16 h) { __fp16 v; memcpy(&v, &h, 2); return (float)v; }
EK_NEON_INLINE ek_fp16 ek_neon_f2h(float f) { const __fp16 v = (__fp16)f; ek_fp16 h; memcpy(&h, &v, 2); return h; }

// The halves at p, p + step, p + 2 step, p + 3 step (bytes), widened.
EK_NEON_INLINE float32x4_t ek_neon_h2f_x4(const uint8_t *p, size_t step) {
    uint16x4_t h = vld1_dup_u16((const uint16_t *)p);
    h = vld1_lane_u16((const uint16_t *)(p + step), h, 1);
    h = vld1_lane_u16((const uint16_t *)(p + 2 * step), h, 2);
    h = vld1_lane_u16((const uint16_t *)(p + 3 * step), h, 3);
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

// The pairs of halves at p, p + step, p + 2 step, p + 3 step (bytes), widened: first halves to *lo,
// second ones to *hi. Four 32-bit lane loads split by XTN/SHRN, where eight 16-bit ones took more.
EK_NEON_INLINE void ek_neon_h2f_pairs_x4(const uint8_t *p, size_t step, float32x4_t *lo, float32x4_t *hi) {
    uint32x4_t v = vld1q_dup_u32((const uint32_t *)p);
    v = vld1q_lane_u32((const uint32_t *)(p + step), v, 1);
    v = vld1q_lane_u32((const uint32_t *)(p + 2 * step), v, 2);
    v = vld1q_lane_u32((const uint32_t *)(p + 3 * step), v, 3);
    *lo = vcvt_f32_f16(vreinterpret_f16_u16(vmovn_u32(v)));
    *hi = vcvt_f32_f16(vreinterpret_f16_u16(vshrn_n_u32(v, 16)));
}

// Eight halves widened to two float vectors.
EK_NEON_INLINE void ek_neon_load_h8(const ek_fp16 *p, float32x4_t *lo, float32x4_t *hi) {
    const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
    *lo = vcvt_f32_f16(vget_low_f16(h));
    *hi = vcvt_high_f32_f16(h);
}

// f32 -> f16 as ek_float_to_half (half.h): FCVTN rounds to nearest even the same way, but keeps a
// NaN's payload where the twin gives the plain quiet NaN, so NaN lanes are rewritten.
EK_NEON_INLINE uint16x4_t ek_neon_f2h4(float32x4_t x) {
    const uint16x4_t h = vreinterpret_u16_f16(vcvt_f16_f32(x));
    const uint16x4_t nan = vmovn_u32(vmvnq_u32(vceqq_f32(x, x)));
    return vbsl_u16(nan, vorr_u16(vand_u16(h, vdup_n_u16(0x8000)), vdup_n_u16(0x7e00)), h);
}

EK_NEON_INLINE void ek_neon_store_h8(ek_fp16 *p, float32x4_t lo, float32x4_t hi) {
    vst1q_u16(p, vcombine_u16(ek_neon_f2h4(lo), ek_neon_f2h4(hi)));
}

// Eight bfloat16 values widened to two float vectors (a bfloat16 is the top half of an f32).
EK_NEON_INLINE void ek_neon_load_b8(const ek_bf16 *p, float32x4_t *lo, float32x4_t *hi) {
    const uint16x8_t h = vld1q_u16(p);
    *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
}

// s + v[0] + v[1] + v[2] + v[3], left to right.
EK_NEON_INLINE float ek_neon_add_lanes(float s, float32x4_t v) {
    s += vgetq_lane_f32(v, 0);
    s += vgetq_lane_f32(v, 1);
    s += vgetq_lane_f32(v, 2);
    s += vgetq_lane_f32(v, 3);
    return s;
}

// Lane sums of four vectors: [sum a, sum b, sum c, sum d].
EK_NEON_INLINE int32x4_t ek_neon_sum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}


// Installs the float-row dot products, activation quantizers and op kernels (called by ek_patch_neon).
void ek_patch_neon_float(ek_type_traits *types, ek_op_kernels *ops);
void ek_patch_neon_k(ek_type_traits *types);          // neon_k.c: Q3_K...Q6_K, plain NEON
#endif
#endif
