// Shared pieces of the NEON kernels for the K types (neon.c's integer-total kernels, neon_k.c):
// twin lanes, scale unpacking, row pointers.
#ifndef EDGELM_CKERNELS_NEON_K_H
#define EDGELM_CKERNELS_NEON_K_H
#if defined(__aarch64__)
#include "neon.h"

// ---- K types with lane sums ---------------------------------------------------------------------
// The twins accumulate a super-block's products into eight integer lanes (element index mod 8),
// each scaled by its group's scale, and add d * lane to eight float sums. SMULL/SMLAL of 8-byte
// halves give exactly those lanes; a group's 16-bit lane sums are then scaled into two int32x4
// (lanes 0-3, 4-7) with SMLAL by the group's scale.

// Lanes of one group of 16 elements scaled by s into (l0, l1). Codes times activations, two
// products per 16-bit lane: |code| <= 64 keeps them in range.
EK_NEON_INLINE void ek_neon_lanes16(int8x16_t c, const int8_t *y, int16_t s, int32x4_t *l0, int32x4_t *l1) {
    const int8x16_t q = vld1q_s8(y);
    const int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(c), vget_low_s8(q)), c, q);
    *l0 = vmlal_n_s16(*l0, vget_low_s16(p), s);
    *l1 = vmlal_high_n_s16(*l1, p, s);
}

// The 16-bit lanes of a group of 32 elements (codes c0: elements 0..15, c1: 16..31; activations
// q0, q1): four products per lane, |code| <= 32.
EK_NEON_INLINE int16x8_t ek_neon_pairs32(int8x16_t c0, int8x16_t c1, int8x16_t q0, int8x16_t q1) {
    int16x8_t p = vmull_s8(vget_low_s8(c0), vget_low_s8(q0));
    p = vmlal_high_s8(p, c0, q0);
    p = vmlal_s8(p, vget_low_s8(c1), vget_low_s8(q1));
    return vmlal_high_s8(p, c1, q1);
}

// The same for a group of 32 elements, scaled by s into (l0, l1).
EK_NEON_INLINE void ek_neon_lanes32(int8x16_t c0, int8x16_t c1, const int8_t *y, int16_t s, int32x4_t *l0, int32x4_t *l1) {
    const int16x8_t p = ek_neon_pairs32(c0, c1, vld1q_s8(y), vld1q_s8(y + 16));
    *l0 = vmlal_n_s16(*l0, vget_low_s16(p), s);
    *l1 = vmlal_high_n_s16(*l1, p, s);
}

// The 16-bit lanes of a group of 16 from `start` (the row kernels fold a code offset into it).
EK_NEON_INLINE int16x8_t ek_neon_pairs16(int16x8_t start, int8x16_t c, int8x16_t q) {
    return vmlal_high_s8(vmlal_s8(start, vget_low_s8(c), vget_low_s8(q)), c, q);
}

// (l0, l1) += 16-bit lanes p times lane `lane` of sv (a literal): SMLAL by element, so the row
// kernels take their group scales from a vector loaded from the scale array instead of moving
// each scale from a general register.
#define EK_NEON_SCALE_LANE(l0, l1, p, sv, lane)                   \
    do {                                                         \
        (l0) = vmlal_lane_s16((l0), vget_low_s16(p), (sv), lane); \
        (l1) = vmlal_high_lane_s16((l1), (p), (sv), lane);        \
    } while (0)

// 32 bytes (lo: 0..15, hi: 16..31) reordered so that 4-byte lane l of *a holds bytes l, l+16, l+8,
// l+24 and lane l of *b bytes 4+l, 20+l, 12+l, 28+l: each lane one of the twins' K-type lanes
// (element index mod 8), so SDOT of two operands in this order gives lanes 0-3 and 4-7 of a group
// of 32. Four ZIPs cost what two two-register TBLs do, and leave the register allocator free.
EK_NEON_INLINE void ek_neon_residue_order(uint8x16_t lo, uint8x16_t hi, uint8x16_t *a, uint8x16_t *b) {
    const uint16x8_t z1 = vreinterpretq_u16_u8(vzip1q_u8(lo, hi)), z2 = vreinterpretq_u16_u8(vzip2q_u8(lo, hi));
    *a = vreinterpretq_u8_u16(vzip1q_u16(z1, z2));
    *b = vreinterpretq_u8_u16(vzip2q_u16(z1, z2));
}

// sums += d * lanes, per lane (the twins' `sums[l] += d * (float)lanes[l]`).
EK_NEON_INLINE void ek_neon_scale_lanes(float32x4_t sums[2], int32x4_t l0, int32x4_t l1, float d) {
    sums[0] = vaddq_f32(sums[0], vmulq_n_f32(vcvtq_f32_s32(l0), d));
    sums[1] = vaddq_f32(sums[1], vmulq_n_f32(vcvtq_f32_s32(l1), d));
}

EK_NEON_INLINE const ek_block_q8_K *ek_neon_q8K_row(const void *x, size_t stride, int t) {
    return (const ek_block_q8_K *)((const uint8_t *)x + (size_t)t * stride);
}

// Q3_K scales: 12 bytes to sixteen signed scales (6 bits, biased by 32).
EK_NEON_INLINE void ek_neon_q3_K_scales(const uint8_t q[12], int16_t out[16]) {
    uint32_t s[4];
    memcpy(s, q, 12);
    const uint32_t low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    const uint32_t top = s[2];
    s[2] = ((s[0] >> 4) & low4) | (((top >> 4) & low2) << 4);
    s[3] = ((s[1] >> 4) & low4) | (((top >> 6) & low2) << 4);
    s[0] = (s[0] & low4) | ((top & low2) << 4);
    s[1] = (s[1] & low4) | (((top >> 2) & low2) << 4);
    const int8x16_t sc = vsubq_s8(vld1q_s8((const int8_t *)s), vdupq_n_s8(32));
    vst1q_s16(out, vmovl_s8(vget_low_s8(sc)));
    vst1q_s16(out + 8, vmovl_high_s8(sc));
}

// Q4_K/Q5_K scales: 12 bytes to eight 6-bit scales (bytes 0..7) and eight mins (bytes 8..15).
EK_NEON_INLINE uint8x16_t ek_neon_k4_scales(const uint8_t q[EK_K_SCALE_SIZE]) {
    uint32_t s[4];
    memcpy(s, q, EK_K_SCALE_SIZE);
    const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    s[3] = ((s[2] >> 4) & low4) | (((s[1] >> 6) & low2) << 4);   // mins 4..7
    const uint32_t mins = s[1] & low6;                            // mins 0..3
    s[1] = (s[2] & low4) | (((s[0] >> 6) & low2) << 4);          // scales 4..7
    s[0] &= low6;                                                 // scales 0..3
    s[2] = mins;
    return vld1q_u8((const uint8_t *)s);
}

// Q4_K/Q5_K min term: sum over groups of 32 of min * (sum of the group's activations).
EK_NEON_INLINE int32_t ek_neon_k4_mins(const ek_block_q8_K *y, uint8x16_t sm) {
    const int16x8_t bs = vpaddq_s16(vld1q_s16(y->bsums), vld1q_s16(y->bsums + 8));
    const int16x8_t mn = vreinterpretq_s16_u16(vmovl_high_u8(sm));
    return vaddvq_s32(vmlal_high_s16(vmull_s16(vget_low_s16(bs), vget_low_s16(mn)), bs, mn));
}

// 0 + sums[0] + ... + sums[7] from `start`, left to right.
EK_NEON_INLINE float ek_neon_fold_sums(float start, const float32x4_t sums[2]) {
    return ek_neon_add_lanes(ek_neon_add_lanes(start, sums[0]), sums[1]);
}

EK_NEON_INLINE const uint8_t *ek_neon_row(const void *w, size_t w_stride, int r) {
    return (const uint8_t *)w + (size_t)r * w_stride;
}

#endif
#endif
