// NEON kernels that need only a block's integer total (the 32-element types and Q2_K): vec_dot,
// token tiles and row tiles. Not a standalone header: arm/neon.c includes it twice, with
// EK_NEON_INT_PASS 1 (SMULL/SMLAL, any ARMv8-A) and 2 (SDOT, under the dotprod target attribute);
// EK_INT(name) names this pass's copy and EK_INT_TARGET is its function attribute.
#if defined(__aarch64__) && defined(EK_NEON_INT_PASS)

// Four lane sums of the 16 products a[k]*b[k]. Without SDOT each 16-bit lane holds two products,
// which fits for |a| <= 128 since quantized activations stay within -127..127.
EK_INT_TARGET EK_NEON_INLINE int32x4_t EK_INT(ek_dot16)(int8x16_t a, int8x16_t b) {
#if EK_NEON_INT_PASS == 2
    return vdotq_s32(vdupq_n_s32(0), a, b);
#else
    return vpaddlq_s16(vmlal_high_s8(vmull_s8(vget_low_s8(a), vget_low_s8(b)), a, b));
#endif
}

// Four lane sums of the 32 products a0*b0 and a1*b1. Without SDOT: four products per 16-bit lane
// for codes |a| <= 64, two for full-range int8 weights (wide).
EK_INT_TARGET EK_NEON_INLINE int32x4_t EK_INT(ek_dot32)(const bool wide, int8x16_t a0, int8x16_t b0, int8x16_t a1, int8x16_t b1) {
#if EK_NEON_INT_PASS == 2
    (void)wide;
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a0, b0), a1, b1);
#else
    if (wide) {
        const int16x8_t p0 = vmlal_high_s8(vmull_s8(vget_low_s8(a0), vget_low_s8(b0)), a0, b0);
        const int16x8_t p1 = vmlal_high_s8(vmull_s8(vget_low_s8(a1), vget_low_s8(b1)), a1, b1);
        return vpadalq_s16(vpaddlq_s16(p0), p1);
    }
    int16x8_t p = vmull_s8(vget_low_s8(a0), vget_low_s8(b0));
    p = vmlal_high_s8(p, a0, b0);
    p = vmlal_s8(p, vget_low_s8(a1), vget_low_s8(b1));
    p = vmlal_high_s8(p, a1, b1);
    return vpaddlq_s16(p);
#endif
}

// 32-element types: four blocks per step. Their integer sums are folded into one vector, turned
// into the four blocks' float terms with vector multiplies, and added to the token's sum one block
// after the other, as the twins do.
EK_INT_TARGET EK_NEON_INLINE void EK_INT(ek_dot_b32)(const int kind, int64_t n, const void *restrict w, const void *restrict x,
                                                      size_t stride, const int nx, float *restrict s) {
    const bool offset = ek_b32_has_offset(kind), wide = kind == EK_B32_Q8_0;
    const size_t ws = ek_b32_size(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const size_t xq = offset ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    const int64_t nb = n / 32;
    const uint8_t *restrict wb = w;
    float sum[EK_TILE_TOKENS];
    for (int t = 0; t < nx; ++t) sum[t] = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *blk = wb + (size_t)i * ws;
        int8x16_t lo[4], hi[4];
        for (int k = 0; k < 4; ++k) ek_b32_decode(kind, blk + (size_t)k * ws, &lo[k], &hi[k]);
        float32x4_t dw, mw;   // m follows d in Q4_1/Q5_1 blocks
        if (offset) ek_neon_h2f_pairs_x4(blk, ws, &dw, &mw);
        else dw = mw = ek_neon_h2f_x4(blk, ws);
        for (int t = 0; t < nx; ++t) {
            const uint8_t *yb = (const uint8_t *)x + (size_t)t * stride + (size_t)i * xs;
            int32x4_t p[4];
            for (int k = 0; k < 4; ++k) {
                const int8_t *q = (const int8_t *)(yb + (size_t)k * xs + xq);
                p[k] = EK_INT(ek_dot32)(wide, lo[k], vld1q_s8(q), hi[k], vld1q_s8(q + 16));
            }
            const float32x4_t isum = vcvtq_f32_s32(ek_neon_sum4(p[0], p[1], p[2], p[3]));
            float32x4_t dx, sx;   // s follows d in Q8_1 blocks
            if (offset) ek_neon_h2f_pairs_x4(yb, xs, &dx, &sx);
            else dx = sx = ek_neon_h2f_x4(yb, xs);
            sum[t] = ek_neon_add_lanes(sum[t], ek_b32_terms(kind, isum, dw, mw, dx, sx));
        }
    }
    for (; i < nb; ++i) {
        const uint8_t *blk = wb + (size_t)i * ws;
        int8x16_t lo, hi;
        ek_b32_decode(kind, blk, &lo, &hi);
        const float dw = ek_neon_h2f(((const ek_block_q4_0 *)blk)->d);
        const float mw = offset ? ek_neon_h2f(((const ek_block_q4_1 *)blk)->m) : 0.0f;
        for (int t = 0; t < nx; ++t) {
            const uint8_t *yb = (const uint8_t *)x + (size_t)t * stride + (size_t)i * xs;
            const int8_t *q = (const int8_t *)(yb + xq);
            const int32_t isum = vaddvq_s32(EK_INT(ek_dot32)(wide, lo, vld1q_s8(q), hi, vld1q_s8(q + 16)));
            const float dx = ek_neon_h2f(((const ek_block_q8_0 *)yb)->d);
            const float sx = offset ? ek_neon_h2f(((const ek_block_q8_1 *)yb)->s) : 0.0f;
            sum[t] += ek_b32_term(kind, (float)isum, dw, mw, dx, sx);
        }
    }
    for (int t = 0; t < nx; ++t) s[t] = sum[t];
}

// Q2_K: 16 groups of 16, codes 0..3 (32-byte runs of qs at shifts 0/2/4/6), 4-bit scales and mins.
// The twin needs the integer totals of scale * products and of min * bsums per super-block.
EK_INT_TARGET EK_NEON_INLINE void EK_INT(ek_dot_q2_K)(int64_t n, const void *restrict w, const void *restrict x,
                                                       size_t stride, const int nx, float *restrict s) {
    const ek_block_q2_K *restrict a = w;
    const uint8x16_t m3 = vdupq_n_u8(3), m4 = vdupq_n_u8(0x0f);
    float sum[EK_TILE_TOKENS];
    for (int t = 0; t < nx; ++t) sum[t] = 0.0f;
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        const uint8x16_t sc = vld1q_u8(a[i].scales);
        const uint16x8_t sl = vmovl_u8(vget_low_u8(vandq_u8(sc, m4))), sh = vmovl_high_u8(vandq_u8(sc, m4));
        const int32x4_t scale[4] = {
            vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sl))), vreinterpretq_s32_u32(vmovl_high_u16(sl)),
            vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sh))), vreinterpretq_s32_u32(vmovl_high_u16(sh)),
        };
        const uint8x16_t mn = vshrq_n_u8(sc, 4);
        const int16x8_t mn0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mn)));
        const int16x8_t mn1 = vreinterpretq_s16_u16(vmovl_high_u8(mn));
        int8x16_t c[16];
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
            uint8x16_t q0 = vld1q_u8(a[i].qs + 32 * h), q1 = vld1q_u8(a[i].qs + 32 * h + 16);
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) {
                c[8 * h + 2 * k] = vreinterpretq_s8_u8(vandq_u8(q0, m3));
                c[8 * h + 2 * k + 1] = vreinterpretq_s8_u8(vandq_u8(q1, m3));
                q0 = vshrq_n_u8(q0, 2);
                q1 = vshrq_n_u8(q1, 2);
            }
        }
        const float dw = ek_neon_h2f(a[i].d), mw = ek_neon_h2f(a[i].dmin);
        for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = ek_neon_q8K_row(x, stride, t) + i;
            int32x4_t acc = vdupq_n_s32(0);
#pragma GCC unroll 4
            for (int g = 0; g < 16; g += 4) {
                const int32x4_t p0 = EK_INT(ek_dot16)(c[g], vld1q_s8(y->qs + 16 * g));
                const int32x4_t p1 = EK_INT(ek_dot16)(c[g + 1], vld1q_s8(y->qs + 16 * g + 16));
                const int32x4_t p2 = EK_INT(ek_dot16)(c[g + 2], vld1q_s8(y->qs + 16 * g + 32));
                const int32x4_t p3 = EK_INT(ek_dot16)(c[g + 3], vld1q_s8(y->qs + 16 * g + 48));
                acc = vmlaq_s32(acc, ek_neon_sum4(p0, p1, p2, p3), scale[g / 4]);
            }
            const int16x8_t b0 = vld1q_s16(y->bsums), b1 = vld1q_s16(y->bsums + 8);
            int32x4_t m = vmull_s16(vget_low_s16(b0), vget_low_s16(mn0));
            m = vmlal_high_s16(m, b0, mn0);
            m = vmlal_s16(m, vget_low_s16(b1), vget_low_s16(mn1));
            m = vmlal_high_s16(m, b1, mn1);
            const float dall = y->d * dw, dmin = y->d * mw;
            sum[t] += dall * (float)vaddvq_s32(acc) - dmin * (float)vaddvq_s32(m);
        }
    }
    for (int t = 0; t < nx; ++t) s[t] = sum[t];
}

// ---- row kernels (decode steps) -----------------------------------------------------------------
// Several weight rows against one activation row: the activation's codes are loaded and its scales
// converted once per step for every row; each row's arithmetic is its vec_dot's, and the rows'
// chains are independent, so they overlap.

// Four lane sums of the 32 values a, b (an activation block's total, for Q4_0's offset).
EK_INT_TARGET EK_NEON_INLINE int32x4_t EK_INT(ek_sum32)(int8x16_t a, int8x16_t b) {
#if EK_NEON_INT_PASS == 2
    const int8x16_t one = vdupq_n_s8(1);
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a, one), b, one);
#else
    return vpaddlq_s16(vpadalq_s8(vpaddlq_s8(a), b));
#endif
}

// 32-element types, four blocks per step. Q4_0 codes are read as the bare nibbles (0..15) and
// 8 * (the activation block's total) is taken off the integer sum: the same integer, with the
// correction computed once for every row instead of a subtraction per weight vector.
EK_INT_TARGET EK_NEON_INLINE void EK_INT(ek_rows_b32)(const int kind, int64_t n, const void *restrict w, size_t w_stride,
                                                       const int nw, const void *restrict x, float *restrict s) {
    const bool offset = ek_b32_has_offset(kind), wide = kind == EK_B32_Q8_0, q4_0 = kind == EK_B32_Q4_0;
    const size_t ws = ek_b32_size(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const size_t xq = offset ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    const int64_t nb = n / 32;
    const uint8_t *restrict xb = x;
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    float sum[EK_TILE_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) sum[r] = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *yb = xb + (size_t)i * xs;
        int8x16_t ylo[4], yhi[4];
        for (int k = 0; k < 4; ++k) {
            ylo[k] = vld1q_s8((const int8_t *)(yb + (size_t)k * xs + xq));
            yhi[k] = vld1q_s8((const int8_t *)(yb + (size_t)k * xs + xq + 16));
        }
        float32x4_t dx, sx;   // s follows d in Q8_1 blocks
        if (offset) ek_neon_h2f_pairs_x4(yb, xs, &dx, &sx);
        else dx = sx = ek_neon_h2f_x4(yb, xs);
        int32x4_t corr = vdupq_n_s32(0);
        if (q4_0) {
            corr = vshlq_n_s32(ek_neon_sum4(EK_INT(ek_sum32)(ylo[0], yhi[0]), EK_INT(ek_sum32)(ylo[1], yhi[1]),
                                            EK_INT(ek_sum32)(ylo[2], yhi[2]), EK_INT(ek_sum32)(ylo[3], yhi[3])), 3);
        }
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            const uint8_t *blk = ek_neon_row(w, w_stride, r) + (size_t)i * ws;
            int32x4_t p[4];
            for (int k = 0; k < 4; ++k) {
                const uint8_t *b = blk + (size_t)k * ws;
                int8x16_t lo, hi;
                if (q4_0) {
                    const uint8x16_t q = vld1q_u8(((const ek_block_q4_0 *)b)->qs);
                    lo = vreinterpretq_s8_u8(vandq_u8(q, m4));
                    hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
                } else {
                    ek_b32_decode(kind, b, &lo, &hi);
                }
                p[k] = EK_INT(ek_dot32)(wide, lo, ylo[k], hi, yhi[k]);
            }
            int32x4_t itot = ek_neon_sum4(p[0], p[1], p[2], p[3]);
            if (q4_0) itot = vsubq_s32(itot, corr);
            float32x4_t dw, mw;   // m follows d in Q4_1/Q5_1 blocks
            if (offset) ek_neon_h2f_pairs_x4(blk, ws, &dw, &mw);
            else dw = mw = ek_neon_h2f_x4(blk, ws);
            sum[r] = ek_neon_add_lanes(sum[r], ek_b32_terms(kind, vcvtq_f32_s32(itot), dw, mw, dx, sx));
        }
    }
    for (; i < nb; ++i) {
        const uint8_t *yb = xb + (size_t)i * xs;
        const int8x16_t ylo = vld1q_s8((const int8_t *)(yb + xq)), yhi = vld1q_s8((const int8_t *)(yb + xq + 16));
        const float dx = ek_neon_h2f(((const ek_block_q8_0 *)yb)->d);
        const float sx = offset ? ek_neon_h2f(((const ek_block_q8_1 *)yb)->s) : 0.0f;
        const int32_t corr = q4_0 ? 8 * vaddvq_s32(EK_INT(ek_sum32)(ylo, yhi)) : 0;
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            const uint8_t *blk = ek_neon_row(w, w_stride, r) + (size_t)i * ws;
            int8x16_t lo, hi;
            if (q4_0) {
                const uint8x16_t q = vld1q_u8(((const ek_block_q4_0 *)blk)->qs);
                lo = vreinterpretq_s8_u8(vandq_u8(q, m4));
                hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
            } else {
                ek_b32_decode(kind, blk, &lo, &hi);
            }
            const int32_t isum = vaddvq_s32(EK_INT(ek_dot32)(wide, lo, ylo, hi, yhi)) - corr;
            const float dw = ek_neon_h2f(((const ek_block_q4_0 *)blk)->d);
            const float mw = offset ? ek_neon_h2f(((const ek_block_q4_1 *)blk)->m) : 0.0f;
            sum[r] += ek_b32_term(kind, (float)isum, dw, mw, dx, sx);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) s[r] = sum[r];
}

// Q2_K, per quarter super-block (four groups of 16): the activation's 64 bytes serve every row.
// A row's four group scales are picked from its scale bytes with one TBL (index >= 16 gives 0).
EK_INT_TARGET EK_NEON_INLINE void EK_INT(ek_rows_q2_K)(int64_t n, const void *restrict w, size_t w_stride, const int nw,
                                                        const void *restrict x, float *restrict s) {
    static const uint8_t pick[64] = {
        0, 255, 255, 255, 1, 255, 255, 255, 2, 255, 255, 255, 3, 255, 255, 255,
        4, 255, 255, 255, 5, 255, 255, 255, 6, 255, 255, 255, 7, 255, 255, 255,
        8, 255, 255, 255, 9, 255, 255, 255, 10, 255, 255, 255, 11, 255, 255, 255,
        12, 255, 255, 255, 13, 255, 255, 255, 14, 255, 255, 255, 15, 255, 255, 255,
    };
    const ek_block_q8_K *restrict y = x;
    const uint8x16_t m3 = vdupq_n_u8(3), m4 = vdupq_n_u8(0x0f);
    float sum[EK_TILE_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) sum[r] = 0.0f;
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        // Every entry set, whatever nw: GCC cannot tell that the rolled loop reads only the first nw.
        const ek_block_q2_K *a[EK_TILE_ROWS] = { 0 };
        uint8x16_t sc[EK_TILE_ROWS];
        int32x4_t acc[EK_TILE_ROWS];
#pragma GCC unroll 4
        for (int r = 0; r < EK_TILE_ROWS; ++r) sc[r] = vdupq_n_u8(0), acc[r] = vdupq_n_s32(0);
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            a[r] = (const ek_block_q2_K *)ek_neon_row(w, w_stride, r) + i;
            sc[r] = vandq_u8(vld1q_u8(a[r]->scales), m4);
        }
        // Group 4u + m: qs run h = u / 2 at shift 2k, k = 2 (u & 1) + m / 2 (the run's second 16
        // bytes for odd m). The quarter loop stays rolled: unrolled too, the compilers hoist four
        // quarters of decoding for four rows and spill.
#pragma GCC unroll 1
        for (int u = 0; u < 4; ++u) {
            const int h = u >> 1;
            const int8_t *yq = y[i].qs + 64 * u;
            const int8x16_t y0 = vld1q_s8(yq), y1 = vld1q_s8(yq + 16), y2 = vld1q_s8(yq + 32), y3 = vld1q_s8(yq + 48);
            const int8x16_t sh0 = vdupq_n_s8((int8_t)(-4 * (u & 1))), sh1 = vdupq_n_s8((int8_t)(-4 * (u & 1) - 2));
            const uint8x16_t idx = vld1q_u8(pick + 16 * u);
#pragma GCC unroll 4
            for (int r = 0; r < nw; ++r) {
                const uint8x16_t q0 = vld1q_u8(a[r]->qs + 32 * h), q1 = vld1q_u8(a[r]->qs + 32 * h + 16);
                const int32x4_t p0 = EK_INT(ek_dot16)(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q0, sh0), m3)), y0);
                const int32x4_t p1 = EK_INT(ek_dot16)(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q1, sh0), m3)), y1);
                const int32x4_t p2 = EK_INT(ek_dot16)(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q0, sh1), m3)), y2);
                const int32x4_t p3 = EK_INT(ek_dot16)(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q1, sh1), m3)), y3);
                const int32x4_t scale = vreinterpretq_s32_u8(vqtbl1q_u8(sc[r], idx));
                acc[r] = vmlaq_s32(acc[r], ek_neon_sum4(p0, p1, p2, p3), scale);
            }
        }
        const int16x8_t b0 = vld1q_s16(y[i].bsums), b1 = vld1q_s16(y[i].bsums + 8);
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            const uint8x16_t mn = vshrq_n_u8(vld1q_u8(a[r]->scales), 4);
            const int16x8_t mn0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mn)));
            const int16x8_t mn1 = vreinterpretq_s16_u16(vmovl_high_u8(mn));
            int32x4_t m = vmull_s16(vget_low_s16(b0), vget_low_s16(mn0));
            m = vmlal_high_s16(m, b0, mn0);
            m = vmlal_s16(m, vget_low_s16(b1), vget_low_s16(mn1));
            m = vmlal_high_s16(m, b1, mn1);
            const float dall = y[i].d * ek_neon_h2f(a[r]->d), dmin = y[i].d * ek_neon_h2f(a[r]->dmin);
            sum[r] += dall * (float)vaddvq_s32(acc[r]) - dmin * (float)vaddvq_s32(m);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) s[r] = sum[r];
}

// Q4_K/Q5_K, per 32-byte chunk of qs (groups 2c and 2c+1): the activation's 64 bytes serve every
// row. Without SDOT the lanes come from SMULL/SMLAL as in vec_dot. With SDOT, both operands are put
// in residue order (ek_neon_residue_order) so that each int32 lane is one of the twins' lanes: the
// activation once for every row, a row's qs once for both groups (the two nibbles of a byte are
// the same element of groups 2c and 2c+1) and its qh once per super-block. The scales are applied
// by parts: the SDOTs chain into running totals P_g = D_0 + ... + D_g (no zeroed accumulator per
// group) and the lanes take (s_g - s_{g+1}) * P_g (s_8 = 0), which sums to s_0 D_0 + ... + s_7 D_7
// exactly in the integers. Two SDOTs and two MLAs per group then replace four widening multiplies
// and two SMLALs, and leave the multiply pipe free (on A76 SMULL/SMLAL issue on one pipe only).
// The chunk loop stays rolled; scales are lanes of a vector loaded from the row's scale array.
EK_INT_TARGET EK_NEON_INLINE void EK_INT(ek_rows_q45_K)(const bool five, int64_t n, const void *restrict w, size_t w_stride,
                                                         const int nw, const void *restrict x, float *restrict s) {
    const size_t bsize = five ? sizeof(ek_block_q5_K) : sizeof(ek_block_q4_K);
    const size_t qs_at = five ? offsetof(ek_block_q5_K, qs) : offsetof(ek_block_q4_K, qs);
    const ek_block_q8_K *restrict y = x;
    const uint8x16_t m4 = vdupq_n_u8(0x0f), bit4 = vdupq_n_u8(0x10);
    float32x4_t sums[EK_TILE_ROWS][2];
    float mins[EK_TILE_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) { sums[r][0] = sums[r][1] = vdupq_n_f32(0.0f); mins[r] = 0.0f; }
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        // Every entry set, whatever nw: GCC cannot tell that the rolled loop reads only the first nw.
        const uint8_t *blk[EK_TILE_ROWS] = { 0 };
        uint8x16_t sm[EK_TILE_ROWS], h0[EK_TILE_ROWS], h1[EK_TILE_ROWS];
#if EK_NEON_INT_PASS == 2
        int32_t sc[EK_TILE_ROWS][8];    // s_g - s_{g+1} (MLA by element takes 32-bit lanes)
        int32x4_t p0[EK_TILE_ROWS], p1[EK_TILE_ROWS];
#else
        int16_t sc[EK_TILE_ROWS][16];   // scales, then mins (so that 4-lane loads stay inside)
#endif
        int32x4_t l0[EK_TILE_ROWS], l1[EK_TILE_ROWS];
#pragma GCC unroll 4
        for (int r = 0; r < EK_TILE_ROWS; ++r) {
            l0[r] = l1[r] = vdupq_n_s32(0);
            h0[r] = h1[r] = vdupq_n_u8(0);
#if EK_NEON_INT_PASS == 2
            p0[r] = p1[r] = vdupq_n_s32(0);
#endif
        }
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            blk[r] = ek_neon_row(w, w_stride, r) + (size_t)i * bsize;
            sm[r] = ek_neon_k4_scales(((const ek_block_q4_K *)blk[r])->scales);
            const uint16x8_t s16 = vmovl_u8(vget_low_u8(sm[r]));
#if EK_NEON_INT_PASS == 2
            const int16x8_t s = vreinterpretq_s16_u16(s16);
            const int16x8_t ds = vsubq_s16(s, vextq_s16(s, vdupq_n_s16(0), 1));
            vst1q_s32(sc[r], vmovl_s16(vget_low_s16(ds)));
            vst1q_s32(sc[r] + 4, vmovl_high_s16(ds));
#else
            vst1q_s16(sc[r], vreinterpretq_s16_u16(s16));
            vst1q_s16(sc[r] + 8, vreinterpretq_s16_u16(vmovl_high_u8(sm[r])));
#endif
            if (five) {
                const uint8_t *qh = ((const ek_block_q5_K *)blk[r])->qh;
#if EK_NEON_INT_PASS == 2
                ek_neon_residue_order(vld1q_u8(qh), vld1q_u8(qh + 16), &h0[r], &h1[r]);
#else
                h0[r] = vld1q_u8(qh);
                h1[r] = vld1q_u8(qh + 16);
#endif
            }
        }
#pragma GCC unroll 1
        for (int c = 0; c < 4; ++c) {
            const int8_t *yq = y[i].qs + 64 * c;
#if EK_NEON_INT_PASS == 2
            uint8x16_t u0, u1, u2, u3;
            ek_neon_residue_order(vld1q_u8((const uint8_t *)yq), vld1q_u8((const uint8_t *)yq + 16), &u0, &u1);
            ek_neon_residue_order(vld1q_u8((const uint8_t *)yq + 32), vld1q_u8((const uint8_t *)yq + 48), &u2, &u3);
            const int8x16_t y0 = vreinterpretq_s8_u8(u0), y1 = vreinterpretq_s8_u8(u1);
            const int8x16_t y2 = vreinterpretq_s8_u8(u2), y3 = vreinterpretq_s8_u8(u3);
#else
            const int8x16_t y0 = vld1q_s8(yq), y1 = vld1q_s8(yq + 16), y2 = vld1q_s8(yq + 32), y3 = vld1q_s8(yq + 48);
#endif
            // Q5_K: bit 2c of qh to bit 4 for group 2c, bit 2c+1 for 2c+1 (negative counts shift right).
            const int8x16_t shlo = vdupq_n_s8((int8_t)(4 - 2 * c)), shhi = vdupq_n_s8((int8_t)(3 - 2 * c));
#pragma GCC unroll 4
            for (int r = 0; r < nw; ++r) {
                const uint8_t *qs = blk[r] + qs_at + 32 * c;
                uint8x16_t q0 = vld1q_u8(qs), q1 = vld1q_u8(qs + 16);
#if EK_NEON_INT_PASS == 2
                ek_neon_residue_order(q0, q1, &q0, &q1);
#endif
                uint8x16_t lo0 = vandq_u8(q0, m4), lo1 = vandq_u8(q1, m4);
                uint8x16_t hi0 = vshrq_n_u8(q0, 4), hi1 = vshrq_n_u8(q1, 4);
                if (five) {
                    lo0 = vorrq_u8(lo0, vandq_u8(vshlq_u8(h0[r], shlo), bit4));
                    lo1 = vorrq_u8(lo1, vandq_u8(vshlq_u8(h1[r], shlo), bit4));
                    hi0 = vorrq_u8(hi0, vandq_u8(vshlq_u8(h0[r], shhi), bit4));
                    hi1 = vorrq_u8(hi1, vandq_u8(vshlq_u8(h1[r], shhi), bit4));
                }
#if EK_NEON_INT_PASS == 2
                const int32x2_t sv = vld1_s32(sc[r] + 2 * c);
                p0[r] = vdotq_s32(p0[r], vreinterpretq_s8_u8(lo0), y0);
                p1[r] = vdotq_s32(p1[r], vreinterpretq_s8_u8(lo1), y1);
                l0[r] = vmlaq_lane_s32(l0[r], p0[r], sv, 0);
                l1[r] = vmlaq_lane_s32(l1[r], p1[r], sv, 0);
                p0[r] = vdotq_s32(p0[r], vreinterpretq_s8_u8(hi0), y2);
                p1[r] = vdotq_s32(p1[r], vreinterpretq_s8_u8(hi1), y3);
                l0[r] = vmlaq_lane_s32(l0[r], p0[r], sv, 1);
                l1[r] = vmlaq_lane_s32(l1[r], p1[r], sv, 1);
#else
                const int16x4_t sv = vld1_s16(sc[r] + 2 * c);
                EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs32(vreinterpretq_s8_u8(lo0), vreinterpretq_s8_u8(lo1), y0, y1), sv, 0);
                EK_NEON_SCALE_LANE(l0[r], l1[r], ek_neon_pairs32(vreinterpretq_s8_u8(hi0), vreinterpretq_s8_u8(hi1), y2, y3), sv, 1);
#endif
            }
        }
        const float dy = y[i].d;
        const int16x8_t bs = vpaddq_s16(vld1q_s16(y[i].bsums), vld1q_s16(y[i].bsums + 8));
#pragma GCC unroll 4
        for (int r = 0; r < nw; ++r) {
            const ek_block_q4_K *a = (const ek_block_q4_K *)blk[r];
            ek_neon_scale_lanes(sums[r], l0[r], l1[r], ek_neon_h2f(a->d) * dy);
            const int16x8_t mn = vreinterpretq_s16_u16(vmovl_high_u8(sm[r]));
            const int32_t summs = vaddvq_s32(vmlal_high_s16(vmull_s16(vget_low_s16(bs), vget_low_s16(mn)), bs, mn));
            mins[r] -= (ek_neon_h2f(a->dmin) * dy) * (float)summs;
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < nw; ++r) s[r] = ek_neon_fold_sums(mins[r], sums[r]);
}

// Row entry points; a copy for full groups of rows, whose row loops unroll.
#define EK_INT_ROWS(name, call)                                                                          \
    EK_INT_TARGET static void EK_INT(ek_vec_dot_rows_##name)(int64_t n, const void *restrict w, size_t w_stride, int nw, \
                                                              const void *restrict x, float *restrict s) { \
        if (nw == EK_TILE_ROWS) call(n, w, w_stride, EK_TILE_ROWS, x, s);                                 \
        else call(n, w, w_stride, nw, x, s);                                                              \
    }
#define EK_INT_ROWS_Q4_0(n, w, ws, nw, x, s) EK_INT(ek_rows_b32)(EK_B32_Q4_0, n, w, ws, nw, x, s)
#define EK_INT_ROWS_Q4_1(n, w, ws, nw, x, s) EK_INT(ek_rows_b32)(EK_B32_Q4_1, n, w, ws, nw, x, s)
#define EK_INT_ROWS_Q5_0(n, w, ws, nw, x, s) EK_INT(ek_rows_b32)(EK_B32_Q5_0, n, w, ws, nw, x, s)
#define EK_INT_ROWS_Q5_1(n, w, ws, nw, x, s) EK_INT(ek_rows_b32)(EK_B32_Q5_1, n, w, ws, nw, x, s)
#define EK_INT_ROWS_Q8_0(n, w, ws, nw, x, s) EK_INT(ek_rows_b32)(EK_B32_Q8_0, n, w, ws, nw, x, s)
#define EK_INT_ROWS_Q4_K(n, w, ws, nw, x, s) EK_INT(ek_rows_q45_K)(false, n, w, ws, nw, x, s)
#define EK_INT_ROWS_Q5_K(n, w, ws, nw, x, s) EK_INT(ek_rows_q45_K)(true, n, w, ws, nw, x, s)
EK_INT_ROWS(q4_0_q8_0, EK_INT_ROWS_Q4_0)
EK_INT_ROWS(q4_1_q8_1, EK_INT_ROWS_Q4_1)
EK_INT_ROWS(q5_0_q8_0, EK_INT_ROWS_Q5_0)
EK_INT_ROWS(q5_1_q8_1, EK_INT_ROWS_Q5_1)
EK_INT_ROWS(q8_0_q8_0, EK_INT_ROWS_Q8_0)
EK_INT_ROWS(q2_K_q8_K, EK_INT(ek_rows_q2_K))
EK_INT_ROWS(q4_K_q8_K, EK_INT_ROWS_Q4_K)
EK_INT_ROWS(q5_K_q8_K, EK_INT_ROWS_Q5_K)
#undef EK_INT_ROWS_Q4_0
#undef EK_INT_ROWS_Q4_1
#undef EK_INT_ROWS_Q5_0
#undef EK_INT_ROWS_Q5_1
#undef EK_INT_ROWS_Q8_0
#undef EK_INT_ROWS_Q4_K
#undef EK_INT_ROWS_Q5_K
#undef EK_INT_ROWS

// vec_dot and tile entry points; the tile kernel has a copy for full tiles, whose token loops unroll.
#define EK_INT_ENTRIES(name, call)                                                                       \
    EK_INT_TARGET static float EK_INT(ek_vec_dot_##name)(int64_t n, const void *restrict w, const void *restrict x) { \
        float s;                                                                                          \
        call(n, w, x, 0, 1, &s);                                                                          \
        return s;                                                                                         \
    }                                                                                                     \
    EK_INT_TARGET static void EK_INT(ek_vec_dot_tile_##name)(int64_t n, const void *restrict w, const void *restrict x, \
                                                              size_t stride, int nx, float *restrict s) { \
        if (nx == EK_TILE_TOKENS) call(n, w, x, stride, EK_TILE_TOKENS, s);                               \
        else call(n, w, x, stride, nx, s);                                                                \
    }

#define EK_INT_Q4_0(n, w, x, stride, nx, s) EK_INT(ek_dot_b32)(EK_B32_Q4_0, n, w, x, stride, nx, s)
#define EK_INT_Q4_1(n, w, x, stride, nx, s) EK_INT(ek_dot_b32)(EK_B32_Q4_1, n, w, x, stride, nx, s)
#define EK_INT_Q5_0(n, w, x, stride, nx, s) EK_INT(ek_dot_b32)(EK_B32_Q5_0, n, w, x, stride, nx, s)
#define EK_INT_Q5_1(n, w, x, stride, nx, s) EK_INT(ek_dot_b32)(EK_B32_Q5_1, n, w, x, stride, nx, s)
#define EK_INT_Q8_0(n, w, x, stride, nx, s) EK_INT(ek_dot_b32)(EK_B32_Q8_0, n, w, x, stride, nx, s)
EK_INT_ENTRIES(q4_0_q8_0, EK_INT_Q4_0)
EK_INT_ENTRIES(q4_1_q8_1, EK_INT_Q4_1)
EK_INT_ENTRIES(q5_0_q8_0, EK_INT_Q5_0)
EK_INT_ENTRIES(q5_1_q8_1, EK_INT_Q5_1)
EK_INT_ENTRIES(q8_0_q8_0, EK_INT_Q8_0)
EK_INT_ENTRIES(q2_K_q8_K, EK_INT(ek_dot_q2_K))
#undef EK_INT_Q4_0
#undef EK_INT_Q4_1
#undef EK_INT_Q5_0
#undef EK_INT_Q5_1
#undef EK_INT_Q8_0
#undef EK_INT_ENTRIES

#endif
