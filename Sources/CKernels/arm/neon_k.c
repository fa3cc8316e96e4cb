// NEON kernels for the K types whose twins keep eight lanes (Q3_K...Q6_K): vec_dot, token tiles
// and the Q3_K/Q6_K row tiles, plain ARMv8-A (see neon.c for the conventions and the SDOT forms).
#if defined(__aarch64__)
#include "neon_k.h"

// Q3_K: codes = 2 low bits (32-byte runs of qs, shifts 0/2/4/6) - 4 unless the hmask bit is set,
// 16 groups of 16 with signed scales.
EK_NEON_INLINE void ek_dot_q3_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride,
                                const int nx, float *restrict s) {
    const ek_block_q3_K *restrict a = w;
    const uint8x16_t m3 = vdupq_n_u8(3), four = vdupq_n_u8(4);
    float32x4_t sums[EK_TILE_TOKENS][2];
    for (int t = 0; t < nx; ++t) sums[t][0] = sums[t][1] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        int16_t sc[16];
        ek_neon_q3_K_scales(a[i].scales, sc);
        const uint8x16_t hm0 = vld1q_u8(a[i].hmask), hm1 = vld1q_u8(a[i].hmask + 16);
        int8x16_t c[16];
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
            uint8x16_t q0 = vld1q_u8(a[i].qs + 32 * h), q1 = vld1q_u8(a[i].qs + 32 * h + 16);
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) {
                const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << (4 * h + k)));
                c[8 * h + 2 * k] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(q0, m3), vbicq_u8(four, vtstq_u8(hm0, bit))));
                c[8 * h + 2 * k + 1] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(q1, m3), vbicq_u8(four, vtstq_u8(hm1, bit))));
                q0 = vshrq_n_u8(q0, 2);
                q1 = vshrq_n_u8(q1, 2);
            }
        }
        const float dw = ek_neon_h2f(a[i].d);
        for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = ek_neon_q8K_row(x, stride, t) + i;
            int32x4_t l0 = vdupq_n_s32(0), l1 = vdupq_n_s32(0);
#pragma GCC unroll 16
            for (int g = 0; g < 16; ++g) ek_neon_lanes16(c[g], y->qs + 16 * g, sc[g], &l0, &l1);
            ek_neon_scale_lanes(sums[t], l0, l1, dw * y->d);
        }
    }
    for (int t = 0; t < nx; ++t) s[t] = ek_neon_fold_sums(0.0f, sums[t]);
}

// Q4_K/Q5_K: eight groups of 32 with 6-bit scales and mins; qs chunk c holds group 2c in its low
// nibbles and 2c+1 in its high nibbles. Q5_K's fifth bits: bit 2c of qh[l] for the low nibble,
// 2c+1 for the high one. The twins subtract dmin * mins from the row's sum block by block and add
// the eight lane sums at the end.
EK_NEON_INLINE void ek_dot_q45_K(const bool five, int64_t n, const void *restrict w, const void *restrict x,
                                 size_t stride, const int nx, float *restrict s) {
    const size_t bsize = five ? sizeof(ek_block_q5_K) : sizeof(ek_block_q4_K);
    const uint8x16_t m4 = vdupq_n_u8(0x0f), bit4 = vdupq_n_u8(0x10);
    float32x4_t sums[EK_TILE_TOKENS][2];
    float mins[EK_TILE_TOKENS];
    for (int t = 0; t < nx; ++t) { sums[t][0] = sums[t][1] = vdupq_n_f32(0.0f); mins[t] = 0.0f; }
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        const uint8_t *blk = (const uint8_t *)w + (size_t)i * bsize;
        // Both layouts start with d, dmin, scales; qs follows qh in Q5_K.
        const ek_block_q4_K *a = (const ek_block_q4_K *)blk;
        const uint8_t *qs = five ? ((const ek_block_q5_K *)blk)->qs : a->qs;
        const uint8x16_t sm = ek_neon_k4_scales(a->scales);
        int16_t sc[8];
        vst1q_s16(sc, vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(sm))));
        uint8x16_t h0 = vdupq_n_u8(0), h1 = vdupq_n_u8(0);
        if (five) {
            h0 = vld1q_u8(((const ek_block_q5_K *)blk)->qh);
            h1 = vld1q_u8(((const ek_block_q5_K *)blk)->qh + 16);
        }
        int8x16_t c[16];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
            const uint8x16_t q0 = vld1q_u8(qs + 32 * k), q1 = vld1q_u8(qs + 32 * k + 16);
            uint8x16_t l0 = vandq_u8(q0, m4), l1 = vandq_u8(q1, m4);
            uint8x16_t u0 = vshrq_n_u8(q0, 4), u1 = vshrq_n_u8(q1, 4);
            if (five) {
                l0 = vorrq_u8(l0, vandq_u8(vshlq_n_u8(h0, 4), bit4));
                l1 = vorrq_u8(l1, vandq_u8(vshlq_n_u8(h1, 4), bit4));
                u0 = vorrq_u8(u0, vandq_u8(vshlq_n_u8(h0, 3), bit4));
                u1 = vorrq_u8(u1, vandq_u8(vshlq_n_u8(h1, 3), bit4));
                h0 = vshrq_n_u8(h0, 2);
                h1 = vshrq_n_u8(h1, 2);
            }
            c[4 * k] = vreinterpretq_s8_u8(l0);
            c[4 * k + 1] = vreinterpretq_s8_u8(l1);
            c[4 * k + 2] = vreinterpretq_s8_u8(u0);
            c[4 * k + 3] = vreinterpretq_s8_u8(u1);
        }
        const float dw = ek_neon_h2f(a->d), mw = ek_neon_h2f(a->dmin);
        for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = ek_neon_q8K_row(x, stride, t) + i;
            int32x4_t l0 = vdupq_n_s32(0), l1 = vdupq_n_s32(0);
#pragma GCC unroll 8
            for (int g = 0; g < 8; ++g) ek_neon_lanes32(c[2 * g], c[2 * g + 1], y->qs + 32 * g, sc[g], &l0, &l1);
            ek_neon_scale_lanes(sums[t], l0, l1, dw * y->d);
            const float dmin = mw * y->d;
            mins[t] -= dmin * (float)ek_neon_k4_mins(y, sm);
        }
    }
    for (int t = 0; t < nx; ++t) s[t] = ek_neon_fold_sums(mins[t], sums[t]);
}

// Q6_K: 16 groups of 16 with int8 scales; codes = 6 bits - 32. Per 128-element half, ql holds the
// low nibbles (elements l and 32+l in the low nibbles, 64+l and 96+l in the high ones) and qh the
// top two bits at shifts 0/2/4/6.
EK_NEON_INLINE void ek_dot_q6_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride,
                                const int nx, float *restrict s) {
    const ek_block_q6_K *restrict a = w;
    const uint8x16_t m4 = vdupq_n_u8(0x0f), m2 = vdupq_n_u8(0x03), m2hi = vdupq_n_u8(0x30);
    const int8x16_t bias = vdupq_n_s8(32);
    float32x4_t sums[EK_TILE_TOKENS][2];
    for (int t = 0; t < nx; ++t) sums[t][0] = sums[t][1] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        const int8x16_t sc8 = vld1q_s8(a[i].scales);
        int16_t sc[16];
        vst1q_s16(sc, vmovl_s8(vget_low_s8(sc8)));
        vst1q_s16(sc + 8, vmovl_high_s8(sc8));
        int8x16_t c[16];
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
            const uint8_t *ql = a[i].ql + 64 * h;
            const uint8x16_t qh0 = vld1q_u8(a[i].qh + 32 * h), qh1 = vld1q_u8(a[i].qh + 32 * h + 16);
            const uint8x16_t ql0 = vld1q_u8(ql), ql1 = vld1q_u8(ql + 16), ql2 = vld1q_u8(ql + 32), ql3 = vld1q_u8(ql + 48);
            const uint8x16_t u[8] = {
                vorrq_u8(vandq_u8(ql0, m4), vshlq_n_u8(vandq_u8(qh0, m2), 4)),
                vorrq_u8(vandq_u8(ql1, m4), vshlq_n_u8(vandq_u8(qh1, m2), 4)),
                vorrq_u8(vandq_u8(ql2, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh0, 2), m2), 4)),
                vorrq_u8(vandq_u8(ql3, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh1, 2), m2), 4)),
                vorrq_u8(vshrq_n_u8(ql0, 4), vandq_u8(qh0, m2hi)),
                vorrq_u8(vshrq_n_u8(ql1, 4), vandq_u8(qh1, m2hi)),
                vorrq_u8(vshrq_n_u8(ql2, 4), vandq_u8(vshrq_n_u8(qh0, 2), m2hi)),
                vorrq_u8(vshrq_n_u8(ql3, 4), vandq_u8(vshrq_n_u8(qh1, 2), m2hi)),
            };
#pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) c[8 * h + k] = vsubq_s8(vreinterpretq_s8_u8(u[k]), bias);
        }
        const float dw = ek_neon_h2f(a[i].d);
        for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = ek_neon_q8K_row(x, stride, t) + i;
            int32x4_t l0 = vdupq_n_s32(0), l1 = vdupq_n_s32(0);
#pragma GCC unroll 16
            for (int g = 0; g < 16; ++g) ek_neon_lanes16(c[g], y->qs + 16 * g, sc[g], &l0, &l1);
            ek_neon_scale_lanes(sums[t], l0, l1, dw * y->d);
        }
    }
    for (int t = 0; t < nx; ++t) s[t] = ek_neon_fold_sums(0.0f, sums[t]);
}

// vec_dot and tile entry points of the K types; the tile kernel has a copy for full tiles, whose
// token loops unroll.
#define EK_NEON_K_ENTRIES(name, call)                                                                  \
    static float ek_vec_dot_##name##_neon(int64_t n, const void *restrict w, const void *restrict x) { \
        float s;                                                                                        \
        call(n, w, x, 0, 1, &s);                                                                        \
        return s;                                                                                       \
    }                                                                                                   \
    static void ek_vec_dot_tile_##name##_neon(int64_t n, const void *restrict w, const void *restrict x, \
                                              size_t stride, int nx, float *restrict s) {              \
        if (nx == EK_TILE_TOKENS) call(n, w, x, stride, EK_TILE_TOKENS, s);                             \
        else call(n, w, x, stride, nx, s);                                                              \
    }

#define EK_NEON_Q4_K(n, w, x, stride, nx, s) ek_dot_q45_K(false, n, w, x, stride, nx, s)
#define EK_NEON_Q5_K(n, w, x, stride, nx, s) ek_dot_q45_K(true, n, w, x, stride, nx, s)
EK_NEON_K_ENTRIES(q3_K_q8_K, ek_dot_q3_K)
EK_NEON_K_ENTRIES(q4_K_q8_K, EK_NEON_Q4_K)
EK_NEON_K_ENTRIES(q5_K_q8_K, EK_NEON_Q5_K)
EK_NEON_K_ENTRIES(q6_K_q8_K, ek_dot_q6_K)
#undef EK_NEON_Q4_K
#undef EK_NEON_Q5_K
#undef EK_NEON_K_ENTRIES

// ---- row kernels (decode steps): several weight rows, one activation row -----------------------
// Each row's arithmetic is exactly its vec_dot's. The activation's bytes are loaded once per group
// for every row, and the rows' accumulators are independent, so an in-order core (A55) gets
// interleaved chains from the compiler and an out-of-order one (A76) from its window. Q3_K and Q6_K
// groups hold 16 elements, two per twin lane: SDOT's four-byte lanes cannot keep their scales
// apart, so these two have only the SMULL/SMLAL form.


// Q3_K: per quarter super-block (four groups of 16), the activation's 64 bytes serve every row.
// The quarter loop stays rolled (its shifts and bits are vectors): unrolled as well, the compilers
// hoist four quarters' decoding for four rows and spill.
EK_NEON_INLINE void ek_rows_q3_K(int64_t n, const void *restrict w, size_t w_stride, const int nw,
                                 const void *restrict x, float *restrict s) {
    const ek_block_q8_K *restrict y = x;
    const uint8x16_t m3 = vdupq_n_u8(3), four = vdupq_n_u8(4);
    const int16x8_t zero = vdupq_n_s16(0);
    float32x4_t sums[EK_TILE_ROWS][2];
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) sums[r][0] = sums[r][1] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        // Every entry set, whatever nw: GCC cannot tell that the rolled loop reads only the first nw.
        const ek_block_q3_K *a[EK_TILE_ROWS] = { 0 };
        int16_t sc[EK_TILE_ROWS][16];
        int32x4_t l0[EK_TILE_ROWS], l1[EK_TILE_ROWS];
#pragma GCC unroll 4
        for (int r = 0; r < EK_TILE_ROWS; ++r) l0[r] = l1[r] = vdupq_n_s32(0);
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            a[r] = (const ek_block_q3_K *)ek_neon_row(w, w_stride, r) + i;
            ek_neon_q3_K_scales(a[r]->scales, sc[r]);
        }
        // Group 4u + m: bits at shift 2k of qs run h = u / 2 (its second 16 bytes for odd m), with
        // k = 2 (u & 1) + m / 2, and hmask bit 4h + k.
#pragma GCC unroll 1
        for (int u = 0; u < 4; ++u) {
            const int h = u >> 1, k0 = 2 * (u & 1);
            const int8_t *yq = y[i].qs + 64 * u;
            const int8x16_t y0 = vld1q_s8(yq), y1 = vld1q_s8(yq + 16), y2 = vld1q_s8(yq + 32), y3 = vld1q_s8(yq + 48);
            const int8x16_t sh0 = vdupq_n_s8((int8_t)(-2 * k0)), sh1 = vdupq_n_s8((int8_t)(-2 * k0 - 2));
            const uint8x16_t bit0 = vdupq_n_u8((uint8_t)(1u << (4 * h + k0))), bit1 = vdupq_n_u8((uint8_t)(2u << (4 * h + k0)));
#pragma GCC unroll 4
            for (int r = 0; r < nw; ++r) {
                const uint8x16_t q0 = vld1q_u8(a[r]->qs + 32 * h), q1 = vld1q_u8(a[r]->qs + 32 * h + 16);
                const uint8x16_t hm0 = vld1q_u8(a[r]->hmask), hm1 = vld1q_u8(a[r]->hmask + 16);
                const int8x16_t c0 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshlq_u8(q0, sh0), m3), vbicq_u8(four, vtstq_u8(hm0, bit0))));
                const int8x16_t c1 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshlq_u8(q1, sh0), m3), vbicq_u8(four, vtstq_u8(hm1, bit0))));
                const int8x16_t c2 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshlq_u8(q0, sh1), m3), vbicq_u8(four, vtstq_u8(hm0, bit1))));
                const int8x16_t c3 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshlq_u8(q1, sh1), m3), vbicq_u8(four, vtstq_u8(hm1, bit1))));
                const int16x4_t sv = vld1_s16(sc[r] + 4 * u);
                EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(zero, c0, y0), sv, 0);
                EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(zero, c1, y1), sv, 1);
                EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(zero, c2, y2), sv, 2);
                EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(zero, c3, y3), sv, 3);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) ek_neon_scale_lanes(sums[r], l0[r], l1[r], ek_neon_h2f(a[r]->d) * y[i].d);
    }
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) s[r] = ek_neon_fold_sums(0.0f, sums[r]);
}

// One quarter of a Q6_K super-block for every row: elements 64u.. (u = 2h + high), from half h of
// ql/qh. The codes are taken unsigned (0..63) and the offset 32 enters as the 16-bit lanes' start
// value, -32 * (x[l] + x[l+8]): an activation term computed once for every row instead of a
// subtraction per row. Shift-inserts (SLI/SRI) put ql's nibble and qh's bits together in one
// instruction where masks and shifts took three.
EK_NEON_INLINE void ek_rows_q6_K_quarter(const bool high, const int h, const int8_t *yq, const ek_block_q6_K *const *a,
                                         int16_t (*sc)[16], const int nw, int32x4_t *l0, int32x4_t *l1) {
    const uint8x16_t m6 = vdupq_n_u8(0x3f);
    int8x16_t yv[4];
    int16x8_t start[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
        yv[k] = vld1q_s8(yq + 16 * k);
        start[k] = vmulq_n_s16(vaddl_s8(vget_low_s8(yv[k]), vget_high_s8(yv[k])), -32);
    }
    const int u = 2 * h + high;
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) {
        const uint8_t *ql = a[r]->ql + 64 * h;
        const uint8x16_t qh0 = vld1q_u8(a[r]->qh + 32 * h), qh1 = vld1q_u8(a[r]->qh + 32 * h + 16);
        const uint8x16_t ql0 = vld1q_u8(ql), ql1 = vld1q_u8(ql + 16), ql2 = vld1q_u8(ql + 32), ql3 = vld1q_u8(ql + 48);
        uint8x16_t c0, c1, c2, c3;
        if (!high) {   // low nibbles under qh bits 0-1 (elements 0..31), 2-3 (32..63); top bits cleared
            c0 = vandq_u8(vsliq_n_u8(ql0, qh0, 4), m6);
            c1 = vandq_u8(vsliq_n_u8(ql1, qh1, 4), m6);
            c2 = vandq_u8(vsliq_n_u8(ql2, vshrq_n_u8(qh0, 2), 4), m6);
            c3 = vandq_u8(vsliq_n_u8(ql3, vshrq_n_u8(qh1, 2), 4), m6);
        } else {       // high nibbles under bits 4-5 and 6-7 (qh >> 2 has no bits 6-7 to clear)
            c0 = vandq_u8(vsriq_n_u8(qh0, ql0, 4), m6);
            c1 = vandq_u8(vsriq_n_u8(qh1, ql1, 4), m6);
            c2 = vsriq_n_u8(vshrq_n_u8(qh0, 2), ql2, 4);
            c3 = vsriq_n_u8(vshrq_n_u8(qh1, 2), ql3, 4);
        }
        const int16x4_t sv = vld1_s16(sc[r] + 4 * u);
        EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(start[0], vreinterpretq_s8_u8(c0), yv[0]), sv, 0);
        EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(start[1], vreinterpretq_s8_u8(c1), yv[1]), sv, 1);
        EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(start[2], vreinterpretq_s8_u8(c2), yv[2]), sv, 2);
        EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs16(start[3], vreinterpretq_s8_u8(c3), yv[3]), sv, 3);
    }
}

// Q6_K: the quarter loop stays rolled, as in Q3_K. Its two quarters of a half read the same ql and
// qh bytes: in one loop body, GCC keeps those loads of four rows live from one to the other, and
// spills.
EK_NEON_INLINE void ek_rows_q6_K(int64_t n, const void *restrict w, size_t w_stride, const int nw,
                                 const void *restrict x, float *restrict s) {
    const ek_block_q8_K *restrict y = x;
    float32x4_t sums[EK_TILE_ROWS][2];
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) sums[r][0] = sums[r][1] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        // Every entry set, whatever nw: GCC cannot tell that the rolled loop reads only the first nw.
        const ek_block_q6_K *a[EK_TILE_ROWS] = { 0 };
        int16_t sc[EK_TILE_ROWS][16];
        int32x4_t l0[EK_TILE_ROWS], l1[EK_TILE_ROWS];
#pragma GCC unroll 4
        for (int r = 0; r < EK_TILE_ROWS; ++r) l0[r] = l1[r] = vdupq_n_s32(0);
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            a[r] = (const ek_block_q6_K *)ek_neon_row(w, w_stride, r) + i;
            const int8x16_t sc8 = vld1q_s8(a[r]->scales);
            vst1q_s16(sc[r], vmovl_s8(vget_low_s8(sc8)));
            vst1q_s16(sc[r] + 8, vmovl_high_s8(sc8));
        }
#pragma GCC unroll 1
        for (int u = 0; u < 4; ++u) {
            if (u & 1) ek_rows_q6_K_quarter(true, u >> 1, y[i].qs + 64 * u, a, sc, nw, l0, l1);
            else ek_rows_q6_K_quarter(false, u >> 1, y[i].qs + 64 * u, a, sc, nw, l0, l1);
        }
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) ek_neon_scale_lanes(sums[r], l0[r], l1[r], ek_neon_h2f(a[r]->d) * y[i].d);
    }
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) s[r] = ek_neon_fold_sums(0.0f, sums[r]);
}

// Row entry points; a copy for full groups of rows, whose row loops unroll.
#define EK_NEON_ROWS_ENTRY(name, call)                                                                  \
    static void ek_vec_dot_rows_##name##_neon(int64_t n, const void *restrict w, size_t w_stride, int nw, \
                                              const void *restrict x, float *restrict s) {              \
        if (nw == EK_TILE_ROWS) call(n, w, w_stride, EK_TILE_ROWS, x, s);                               \
        else call(n, w, w_stride, nw, x, s);                                                            \
    }
EK_NEON_ROWS_ENTRY(q3_K_q8_K, ek_rows_q3_K)
EK_NEON_ROWS_ENTRY(q6_K_q8_K, ek_rows_q6_K)
#undef EK_NEON_ROWS_ENTRY

void ek_patch_neon_k(ek_type_traits *types) {
#define EK_SET(type, name)                                              \
    do {                                                                \
        types[type].vec_dot = ek_vec_dot_##name##_neon;                 \
        types[type].vec_dot_tile = ek_vec_dot_tile_##name##_neon;       \
        types[type].vec_dot_rows = ek_vec_dot_rows_##name##_neon;       \
    } while (0)
    EK_SET(EK_Q3_K, q3_K_q8_K);
    EK_SET(EK_Q6_K, q6_K_q8_K);
#undef EK_SET
    // Q4_K/Q5_K row kernels have an SDOT form, so neon.c's integer-total kernels provide them.
    types[EK_Q4_K].vec_dot = ek_vec_dot_q4_K_q8_K_neon;
    types[EK_Q4_K].vec_dot_tile = ek_vec_dot_tile_q4_K_q8_K_neon;
    types[EK_Q5_K].vec_dot = ek_vec_dot_q5_K_q8_K_neon;
    types[EK_Q5_K].vec_dot_tile = ek_vec_dot_tile_q5_K_q8_K_neon;
}

#endif  // __aarch64__
